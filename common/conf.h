/*
 * The configuration model every front end fills: listeners built from
 * serve nodes, the chain, and the settings the monitor checks worker
 * requests against.
 */
#ifndef OSTP_CONF_H
#define OSTP_CONF_H

#include <sys/socket.h>
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "node.h"

struct matcher_set;
struct permissions;
struct ss_method;
struct resolver_conf;

#define CONF_MAX_LISTENERS	1024
#define CONF_MAX_ROUTES		64
#define CONF_TUN_MTU_DEFAULT	1350
#define CONF_TIMEOUT_DEFAULT	5000	/* ms, gost's dial timeout */
#define CONF_TTL_DEFAULT	60000	/* ms, gost's UDP session idle time */
#define CONF_TAG_MAX		64
#define CONF_MAX_RULES		1024

enum listener_kind {
	LIS_TCP_FORWARD,
	LIS_PROXY,		/* auto, socks5, socks4(a), http */
	LIS_DIAG,		/* -P: counters over HTTP (PROFILING set) */
	LIS_TUN,
	LIS_TAP,
	LIS_SS,			/* Shadowsocks over TCP */
	LIS_UDP_FORWARD,	/* udp://: per-client sessions to a target */
	LIS_SSU,		/* Shadowsocks UDP */
	LIS_DNS,		/* dns://: a caching DNS proxy */
	LIS_SNI,		/* sni://: routed by TLS server name */
	LIS_RELAY,		/* relay://: gost's relay protocol */
	LIS_REDIRECT,		/* red://: TCP by SO_ORIGINAL_DST */
	LIS_REDU,		/* redu://: UDP by TPROXY */
	LIS_RTCP,		/* rtcp://: a port on the chain's last hop */
	LIS_RUDP,		/* rudp://: likewise for datagrams */
	LIS_OSTP,		/* ostp://: the OSTP tunnel's server */
	LIS_CAPTURE,		/* tun://?capture=true: flows from a device */
};

/* A listener that owns a device (the monitor creates it by name). */
#define LIS_HAS_DEV(k)	((k) == LIS_TUN || (k) == LIS_TAP || \
			 (k) == LIS_CAPTURE)

struct inet_prefix {
	int		family;		/* AF_INET or AF_INET6 */
	unsigned char	addr[16];
	int		plen;
};

struct route_conf {
	struct inet_prefix dst;
	int		has_gw;
	unsigned char	gw[16];
	uint32_t	table;		/* 0: main */
};

struct tun_conf {
	char		 name[IFNAMSIZ];
	int		 tap;
	int		 has_net;
	struct inet_prefix net;
	int		 has_net6;	/* a second address, IPv6 */
	struct inet_prefix net6;
	unsigned int	 mtu;
	struct route_conf *routes;
	size_t		 nroutes;
	int		 has_gw;
	unsigned char	 gw[16];
	int		 gw_family;
	int		 capture;	/* flows through the router */
	/* a capture's DNS: answered by the daemon, fake-IP names */
	int		 has_dns;
	struct inet_prefix dns;		/* the address (plen full) */
	int		 has_fake;
	struct inet_prefix fake;	/* IPv4 range for names */
	/*
	 * auto_route: the routes go into table, and policy rules send
	 * what does not carry rule_mark (the daemon's own sockets do)
	 * there, after the main table's routes but its default.
	 */
	int		 auto_route;
	uint32_t	 table;
	uint32_t	 rule_mark;
	/*
	 * sniff=false: a new flow to an address that is not a fake one
	 * is dialed at once, not after a look at its first bytes.
	 */
	int		 no_sniff;
	/*
	 * icmp=: what becomes of an ICMP echo request (ping) through the
	 * capture: answered by the stack (local), sent on to the real
	 * destination when the rules route it direct (direct), or
	 * dropped (drop).
	 */
	int		 icmp;
	/*
	 * exclude= (auto_route): what must not enter the device, as
	 * sing-box's route_exclude_address: a rule before the capture's
	 * own (CONF_CAPTURE_PRIO - 1) looks such addresses up in main.
	 */
	struct inet_prefix *excludes;
	size_t		 nexcludes;
	/*
	 * tcp=true (gost's, xtaci/tcpraw's "fake TCP"): the datagrams go
	 * as TCP segments of a connection the kernel opened and then no
	 * longer speaks on (daemon/transport/faketcp.c).  A server
	 * listens on TCP; a client has no socket of its own to listen on.
	 */
	int		 tcp;
};

#define CONF_ICMP_LOCAL		0
#define CONF_ICMP_DIRECT	1
#define CONF_ICMP_DROP		2

#define CONF_CAPTURE_TABLE	2022
#define CONF_CAPTURE_PRIO	9000	/* and the next one */
/*
 * Fake TCP (tcp=true): the kernel's own segments of a flow's
 * connection carry FTCP_TOS, and a policy rule of priority
 * CONF_FTCP_PRIO drops them (monitor/mon_ftcp.c).
 */
#define CONF_FTCP_PRIO		8990
#define FTCP_TOS		0x1c

/*
 * The transport a node's protocol rides on (gost's protocol+transport):
 * its layers over TCP.  The strings are the node's parameters.
 */
/* What secure=true verifies against without ca= (Debian's bundle). */
#define TLS_SYSTEM_CAS	"/etc/ssl/certs/ca-certificates.crt"

enum tp_kind {
	TP_TCP,
	TP_TLS,
	TP_OHTTP,		/* gost's obfs-http */
	TP_OTLS,		/* gost's obfs-tls */
	TP_WS,			/* WebSocket */
	TP_WSS,			/* WebSocket over TLS */
	TP_MTLS,		/* smux sessions over TLS */
	TP_MWS,			/* smux sessions over WebSocket */
	TP_MWSS,		/* smux sessions over WebSocket over TLS */
	TP_H2,			/* HTTP/2 streams over TLS (ALPN h2) */
	TP_H2C,			/* HTTP/2 streams, cleartext */
	TP_HTTP2,		/* gost's http2 proxy: TLS, ALPN h2 */
};

struct tp_conf {
	enum tp_kind		 kind;
	const char		*cert;		/* PEM; NULL: the default */
	const char		*key;
	const char		*ca;		/* listener: clients must show a
						   certificate it signed; hop:
						   the server's must chain to it */
	int			 secure;	/* hop: verify the server */
	const char		*sni;		/* hop: the name it asks for */
	const char		*path;		/* ws: the upgrade's path */
	const char		*agent;		/* ws, http2: the client's
						   User-Agent */
	char			 wshost[270];	/* ws: the client's Host */
	unsigned long		 ping_ms;	/* h2: PING period, 0: none */
	int			 sniff;		/* ostp: TLS only when the
						   first byte is a ClientHello */
};

/*
 * How outgoing sockets leave (gost's Mark and Interface): SO_MARK and
 * SO_BINDTODEVICE, which only the monitor may set.  0 and "": none.
 */
struct egress {
	uint32_t		 mark;
	char			 iface[IFNAMSIZ];
};

/* The protocols a proxy listener serves (auto: all). */
#define PROXY_SOCKS5	0x01
#define PROXY_SOCKS4	0x02
#define PROXY_SOCKS4A	0x04	/* with names */
#define PROXY_HTTP	0x08

/* An OSTP access key (spec/ostp.md §6: names and byte limits). */
struct ostp_key_conf {
	char			*key;
	char			*name;
	uint64_t		 limit_bytes;	/* 0: none */
	int			 from_file;	/* read from keys_path: a
						   reload replaces these */
};

/* The OSTP tunnel's parameters, server (listener) or client (hop). */
#define OSTP_CONF_MTU_CLIENT	1140
#define OSTP_CONF_MTU_SERVER	1350
struct ostp_conf {
	int			 version;	/* wire version: 5 */
	struct ostp_key_conf	*keys;		/* a client: keys[0] */
	size_t			 nkeys;
	char			*keys_path;	/* server: keys=, live
						   (absolute) */
	char			*stats_path;	/* server: stats=, the keys'
						   bytes kept (absolute) */
	unsigned int		 mtu;
	unsigned int		 sessions;	/* client: session mux */
	unsigned int		 max_sessions;	/* server: all keys */
	unsigned int		 max_sessions_key;
	unsigned int		 max_flows_key;
	unsigned int		 hs_rate;	/* server: trials/s overall */
	int			 local_access;	/* server: may reach
						   loopback and LANs */
	char			*fallback_host;	/* server: the decoy's
						   splice target, or NULL */
	uint16_t		 fallback_port;
	/* client: the carrier (spec/ostp.md §2.13) */
	int			 uot;		/* UDP-over-TCP */
	char			*path;		/* ws_path: HTTP upgrade */
	int			 tls;		/* UoT inside TLS */
	char			*sni;		/* NULL: the node's host */
	int			 insecure;	/* no certificate check */
	char			*ca;		/* the server's must chain to
						   it (else the system's) */
	/* client, UDP: a TURN relay on the one socket (RFC 5766) */
	struct sockaddr_storage	 turn;		/* ss_family 0: none */
	socklen_t		 turnlen;
	char			*turn_name;	/* a name, resolved at each
						   attempt (turnlen 0) */
	uint16_t		 turn_port;
	char			*turn_user;
	char			*turn_pass;
	/* client, plain UoT (§2.12): junk frames, the handshake in pieces */
	unsigned int		 junk_pc[2];	/* count: min, max */
	unsigned int		 junk_ps[2];	/* bytes: min, max */
	int			 frag;		/* tcp_fragmentation */
	unsigned int		 frag_chunk;	/* bytes */
	unsigned int		 frag_sleep;	/* ms */
	/* client, UDP: STUN discovery of the public address (RFC 5389) */
	struct sockaddr_storage	 stun;
	socklen_t		 stunlen;
	char			*stun_name;	/* as turn_name */
	uint16_t		 stun_port;
	/* client, UDP: decoys that die before the server (§2.12) */
	int			 ttl_desync;
	unsigned int		 ttl_desync_ttl;	/* 1..255 */
	unsigned int		 ttl_desync_count;
	int			 ttl_desync_auto;	/* hop probe */
};

/* an OSTP client's TURN relay or STUN server, as an address or a name */
#define OSTP_HAS_TURN(oc)	((oc)->turnlen != 0 || (oc)->turn_name != NULL)
#define OSTP_HAS_STUN(oc)	((oc)->stunlen != 0 || (oc)->stun_name != NULL)

struct listener_conf {
	char			 tag[CONF_TAG_MAX];
	struct node		*node;
	struct tp_conf		 tp;
	enum listener_kind	 kind;
	int			 socktype;	/* SOCK_STREAM, SOCK_DGRAM */
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	struct sockaddr_storage	*targets;
	socklen_t		*targetlens;
	size_t			 ntargets;
	char			**targetnames;	/* per target: NULL = IP */
	unsigned long		 timeout_ms;
	unsigned long		 ttl_ms;	/* datagram session idle time */
	struct tun_conf		 tun;
	struct egress		 egress;	/* its route's own; see
						   conf_egress() */
	/* access control (tcp forward) */
	char			*bypass_path;	/* reloadable bypass file */
	struct matcher_set	*bypass;	/* inline bypass list */
	char			*hosts_path;	/* reloadable hosts file */
	struct permissions	*whitelist;
	struct permissions	*blacklist;
	/* proxy handlers */
	char			*secrets_path;	/* reloadable secrets file */
	char			*user;		/* inline credentials */
	char			*pass;
	char			*proxy_agent;
	unsigned int		 accept;	/* PROXY_*: what it serves */
	int			 notls;		/* no gost TLS methods */
	int			 prefer;	/* prefer=: AF_INET(6), or 0 */
	struct resolver_conf	*dns;		/* dns= inline list */
	char			*dns_path;	/* dns= file */
	/* probe resistance: what a failed HTTP authentication gets */
	enum { PROBE_NONE, PROBE_CODE, PROBE_WEB, PROBE_HOST, PROBE_FILE }
				 probe;
	int			 probe_code;
	char			*probe_host;	/* web: and host: */
	uint16_t		 probe_port;
	char			*probe_arg;	/* web: path+host, file: path */
	char			*knock;
	/* dns proxy: its upstreams */
	struct resolver_conf	*dns_up;
	/* shadowsocks */
	const struct ss_method	*ss_method;
	unsigned char		 ss_key[32];
	/* ostp */
	struct ostp_conf	*ostp;
	int			 twin;		/* made by another listener
						   (ostp's TCP carriers) */
};

enum outbound_type {
	OB_DIRECT,
	OB_BLOCK,
	OB_CHAIN,
};

enum hop_kind {
	HOP_HTTP,		/* HTTP CONNECT (also gost's "auto") */
	HOP_SOCKS4,
	HOP_SOCKS4A,
	HOP_SOCKS5,
	HOP_SS,			/* Shadowsocks (a codec, no handshake) */
	HOP_RELAY,		/* gost relay */
	HOP_HTTP2,		/* a CONNECT stream of an HTTP/2 session */
	HOP_OSTP,		/* a flow of an OSTP session */
};

enum group_strategy {
	STRATEGY_ROUND,
	STRATEGY_RANDOM,
	STRATEGY_FIFO,
};

/*
 * One chain node: a connector over a transport.  The node of a chain
 * position is the base of a node group: ip= adds members that differ
 * only in address, a peer= file adds nodes of its own (in the worker,
 * live).
 */
struct hop_conf {
	struct node		*node;		/* NULL for ip= members */
	enum hop_kind		 kind;
	struct tp_conf		 tp;		/* ip= members: the base's */
	char			 host[256];
	uint16_t		 port;
	char			*user;		/* NULL: no credentials */
	char			*pass;
	unsigned long		 timeout_ms;
	struct sockaddr_storage	 addr;		/* first hop: where to dial */
	socklen_t		 addrlen;
	/* group: only on the base */
	struct hop_conf		*alts;
	size_t			 nalts;
	char			*peer_path;
	enum group_strategy	 strategy;
	int			 max_fails;	/* < 0: no fail filter */
	unsigned long		 fail_timeout_ms;
	struct matcher_set	*bypass;	/* targets that end the chain
						   before this hop */
	char			*bypass_path;	/* the same, live */
	char			*ip_path;	/* ip= members, live */
	unsigned int		 fastest_count;	/* 0: no latency probes */
	const struct ss_method	*ss_method;
	unsigned char		 ss_key[32];
	int			 mbind;		/* rtcp: gost's MBIND */
	int			 notls;		/* socks5: no 0x80/0x82 */
	int			 nodelay;	/* ss: header at once, not
						   with the first data */
	struct ostp_conf	*ostp;		/* ostp: key and carrier */
};

struct outbound_conf {
	char			 tag[CONF_TAG_MAX];
	enum outbound_type	 type;
	struct hop_conf		*hops;
	size_t			 nhops;
	unsigned int		 retries;	/* attempts; 0 = 1 */
};

struct port_range {
	uint16_t		 lo;
	uint16_t		 hi;
};

/* A routing rule: every non-empty list must match (lists are ORs). */
struct rule_conf {
	char			**domain_suffix;
	size_t			 ndomain_suffix;
	char			**domain;
	size_t			 ndomain;
	struct inet_prefix	*cidr;
	size_t			 ncidr;
	struct port_range	*ports;
	size_t			 nports;
	char			**inbound;
	size_t			 ninbound;
	size_t			 outbound;	/* index into conf.obs */
};

struct conf {
	char			*path;		/* -C file, NULL if none */
	int			 debug;		/* -D count */
	int			 log_level;	/* LOG_LEVEL_* */
	int			 have_mark;
	uint32_t		 mark;
	char			 iface[IFNAMSIZ];
	unsigned int		 retries;
	struct listener_conf	*lis;
	size_t			 nlis;
	struct node		**chain;
	size_t			 nchain;
	char			**files;	/* files a worker may open */
	size_t			 nfiles;
	struct outbound_conf	*obs;
	size_t			 nobs;
	struct rule_conf	*rules;
	size_t			 nrules;
	size_t			 default_ob;
	int			 obs_explicit;	/* outbounds came from a file */
	int			 mux_enabled;
	unsigned int		 mux_sessions;
	unsigned int		 workers;	/* 0: one per core */
	int			 access_log;	/* log.access, -A */
	char			*metrics;	/* "metrics", -m: host:port of
						   /metrics (the monitor's) */
};

/* Front-end scratch: node URLs with their tags, before they are built. */
/* One entry of gost's Routes: listeners with their own chain. */
struct conf_route {
	char			**serve;
	size_t			 nserve;
	char			**chain;
	size_t			 nchain;
	int			 has_retries;
	unsigned int		 retries;
	struct egress		 egress;	/* Mark, Interface */
};

struct conf_src {
	char			**serve;
	char			**tags;		/* NULL entries = default tag */
	struct egress		*egress;	/* NULL or one per serve */
	struct ostp_conf	**ostp;		/* NULL or one per serve (or
						   NULL): an ostp inbound's keys
						   beside its URL's */
	size_t			 nserve;
	char			**chain;
	size_t			 nchain;
	struct conf_route	*routes;
	size_t			 nroutes;
	size_t			 nerr;		/* lines a front end put in err
						   for parts it left out */
};

/* What the command line gave; conf_load() merges the -C file over it. */
struct conf_args {
	char		**serve;
	size_t		  nserve;
	char		**chain;
	size_t		  nchain;
	const char	 *path;
	const char	 *text;		/* file contents instead of reading path */
	size_t		  textlen;
	int		  debug;
	int		  have_mark;
	uint32_t	  mark;
	const char	 *iface;
	const char	 *profile;	/* -P address, when PROFILING is set */
	int		  have_workers;	/* -w: over the file's "workers" */
	unsigned int	  workers;	/* 0: one per core */
	int		  from_monitor;	/* a worker's copy: the files it names
					   were checked; do not read them */
	int		  access_log;	/* -A */
	const char	 *metrics;	/* -m */
};

int	conf_load(struct conf *, const struct conf_args *, char *err,
	    size_t errlen);
/* Print the effective configuration as native JSON (stable key order). */
int	conf_print_json(const struct conf *, FILE *);

/* confjson.c: the two JSON front ends */
int	conf_json_read(const char *path, void **rootp, char *err,
	    size_t errlen);
int	conf_json_parse(const char *data, size_t len, const char *name,
	    void **rootp, char *err, size_t errlen);
int	conf_json_is_native(const void *root);
/* An OSTP 0.4 file: "mode": "server" or "client" (spec/ostp.md §4). */
int	conf_json_is_ostp04(const void *root);
int	conf_json_ostp04(struct conf *, const void *root, const char *path,
	    struct conf_src *, char *err, size_t errlen);
int	conf_json_gost(struct conf *, const void *root, const char *path,
	    struct conf_src *, char *err, size_t errlen);
int	conf_json_native(struct conf *, const void *root, const char *path,
	    struct conf_src *, char *err, size_t errlen);
void	conf_json_free(void *root);
/* A regular file of at most 1 MiB, NUL-terminated. */
char	*conf_read_file(const char *path, size_t *lenp, char *err,
	    size_t errlen);
int	conf_src_push(char ***v, size_t *n, const char *s);
/* A parameter that takes a file or a list: 1 file (*path), 0 list. */
int	conf_param_file(struct node *, const char *key, int tilde,
	    const char **path);
/* Add a line to the error text (every mistake is named, one a line). */
void	conf_err_add(char *err, size_t errlen, size_t *nerr,
	    const char *line);
void	conf_src_free(struct conf_src *);
int	conf_valid_ifname(const char *);
size_t	conf_outbound_find(const struct conf *, const char *tag);
/* Parse a chain node URL into a hop; first = it is dialled directly. */
int	conf_hop_build(struct hop_conf *, const char *url, int first,
	    char *err, size_t errlen);
void	ostp_conf_free(struct ostp_conf *);
struct ostp_conf *ostp_conf_dup(const struct ostp_conf *);
void	conf_hop_free(struct hop_conf *);
/*
 * A member of base's group at address entry (host, host:port, [v6]:port;
 * without a port the base's), otherwise the base's copy.  A name is
 * resolved at each dial, as the base's own.
 */
int	conf_hop_alt(struct hop_conf *, const struct hop_conf *base,
	    const char *entry, char *err, size_t errlen);
int	resolver_supported(const struct resolver_conf *, char *err,
	    size_t errlen);

/*
 * What the outgoing sockets of a listener (its route) carry: the
 * route's own mark and interface, each by default the global one (-M,
 * -I, the top-level Mark and Interface).  l NULL: the global ones.
 * The one decision for every socket a worker asks for, and what the
 * monitor checks the request against.
 */
void	conf_egress(const struct conf *, const struct listener_conf *,
	    struct egress *);
/* Anything to set, i.e. the socket must come from the monitor. */
int	conf_egress_any(const struct egress *);
/* 1 if some listener (or the global setting) has exactly this egress. */
int	conf_egress_allowed(const struct conf *, const struct egress *);
/*
 * The egress of a chain outbound's own traffic (latency probes): that of
 * the listeners routed to it when they agree, else the global one.
 */
void	conf_outbound_egress(const struct conf *, size_t ob,
	    struct egress *);

/*
 * Datagrams to a Shadowsocks last hop of a chain of nhops: 1 as its UDP
 * packets (the hop is the whole chain and reached over plain TCP or
 * UDP, as shadowsocks-libev does), 0 as gost's UDP-over-TCP frames
 * inside its stream (gost's ssu over a stream transport, or a hop
 * behind others).
 */
int	conf_ss_packets(const struct hop_conf *last, size_t nhops);

/* router.c: pick an outbound for a connection */
/* dst may be NULL (a name not resolved yet): then port is used. */
size_t	router_pick(const struct conf *, size_t lis_idx,
	    const struct sockaddr *dst, const char *domain, uint16_t port);
/* The same, and which rule matched (SIZE_MAX: the default). */
size_t	router_pick_rule(const struct conf *, size_t lis_idx,
	    const struct sockaddr *dst, const char *domain, uint16_t port,
	    size_t *rule);
void	conf_free(struct conf *);
int	conf_file_allowed(const struct conf *, const char *path);
int	conf_tp_tls(const struct tp_conf *);
struct evp_pkey_st;
int	conf_tls_key_supported(const struct evp_pkey_st *);
const struct listener_conf *conf_tun_by_name(const struct conf *,
	    const char *name);
/* Same device parameters (so a reload may keep the device). */
int	conf_tun_equal(const struct tun_conf *, const struct tun_conf *);
/*
 * 1 when the device's packets carry a virtio_net_hdr (IFF_VNET_HDR) and
 * the kernel is asked for checksum and TCP segmentation offloads: a
 * capture's device and tun://'s (of an MTU of 576 or more), no tap
 * device.  The monitor opens the device so and the worker reads it so,
 * from this one answer.
 */
int	conf_tun_vnet(const struct tun_conf *);
int	inet_prefix_parse(const char *, struct inet_prefix *);
const char *sockaddr_ntop(const struct sockaddr *, char *, size_t);

#endif
