/*
 * What the capture's files share (capture.c: the device and the stack;
 * flow.c: TCP flows; udp.c: UDP sessions).  Only they see lwIP.
 */
#ifndef OSTP_CAPTURE_INT_H
#define OSTP_CAPTURE_INT_H

#include <sys/queue.h>
#include <stdint.h>
#include <time.h>

#include "lwip/netif.h"

#include "core/dial.h"
#include "proto/vnet.h"

#define CAP_BUF		65536
/*
 * A capture's device has IFF_VNET_HDR (the monitor's mon_tun.c): each
 * packet read or written is preceded by a struct virtio_net_hdr, in
 * the host's byte order, which says whether the kernel left the
 * checksum to us (TUN_F_CSUM) or handed over one TCP segment of many
 * packets' worth (TUN_F_TSO4, TUN_F_TSO6).
 */
#define CAP_VNET	VNET_HDR
#define CAP_READS	64		/* packets per wake-up */
/*
 * Flood limits, per capture (one stack per worker).  lwIP here
 * allocates its pcbs with malloc, without the pools' limits: these are
 * ours.  Flows are the connections handed on (each holds up to a
 * window received, 64 KiB, and CAP_SNDBUF to send); half-open ones cost a pcb each until lwIP's 20 s
 * SYN_RCVD timeout, so past the limit the oldest go first (a real
 * client completes its handshake in a round trip, a spoofed one never
 * does); TIME-WAIT pcbs are only kept for late segments.
 */
#define CAP_FLOWS_MAX	4096
#define CAP_SNDBUF	(256 * 1024)	/* a flow's send buffer */
#define CAP_HALFOPEN_MAX 1024
#define CAP_TW_MAX	1024

struct cap_usess;
#define CAP_USESS_BUCKETS	256
struct cap_dq;
struct cap_fake;
struct cap_sniff;
struct cap_pinger;

/* A token bucket (icmp.c): so many a second, as many at once. */
struct cap_rate {
	uint64_t	 ms;		/* when it was last filled */
	unsigned int	 tokens;
	time_t		 logged;
	uint64_t	 over;		/* refused since the last line */
};

struct capture {
	struct worker			*wk;
	const struct listener_conf	*l;
	struct dialer			 dl;
	int				 fd;
	struct event			*ev;
	struct netif			 netif;
	unsigned char			 tcp_ports[65536 / 8];
	unsigned char			 udp_ports[65536 / 8];
	/* UDP sessions: least recently used first, and by client */
	TAILQ_HEAD(, cap_usess)		 usess;
	LIST_HEAD(, cap_usess)		 ubucket[CAP_USESS_BUCKETS];
	size_t				 nusess;
	struct event			*ugc;		/* idle sessions */
	LIST_HEAD(, cap_dq)		 dqs;		/* DNS under way */
	size_t				 ndqs;
	struct cap_fake			*fake;		/* fake_ip= */
	LIST_HEAD(, cap_sniff)		 sniffs;	/* flows not dialed yet */
	size_t				 nsniffs;
	LIST_ENTRY(capture)		 entry;		/* the worker's */
	size_t				 nflows;	/* CAP_FLOWS_MAX */
	unsigned int			 syn_in;	/* since the last trim */
	time_t				 flood_logged;
	uint64_t			 dropped;
	struct cap_pinger		*ping[2];	/* icmp=: v4, v6 */
	struct cap_rate			 ping_rate;	/* echo requests on */
	struct cap_rate			 unreach_rate;	/* errors to clients */
	unsigned char			 buf[CAP_VNET + CAP_BUF]; /* read */
	/*
	 * Data segments of one TCP connection that lwIP sent one after
	 * the other, joined into one packet for the kernel to take as a
	 * whole (GSO): the cost of the device is per packet.
	 */
	unsigned char			 txb[CAP_VNET + CAP_BUF];
	struct vnet_gro			 tx;		/* in txb */
	struct event			*txev;		/* flush after */
	unsigned char			 obuf[CAP_BUF];	/* a chain, flat */
	unsigned char			 ubuf[CAP_BUF];	/* a datagram */
};

/* capture.c: a packet into the device (with its vnet header) */
void	cap_write(struct capture *, const unsigned char *, size_t);
/* capture.c: write what cap_output holds back to join */
void	cap_tx_flush(struct capture *);
/* capture.c: one line per 10 s of a flood */
void	cap_flood_log(struct capture *, const char *what, size_t limit,
	    size_t n);

/* icmp.c: echo requests as icmp= says (local: lwIP's own answer) */
int	cap_icmp_init(struct capture *);
/* The device went to a new worker: no more forwarding. */
void	cap_icmp_drain(struct capture *);
/*
 * A client's datagram will get no answer (err: ECONNREFUSED,
 * EHOSTUNREACH, ENETUNREACH, EACCES): an ICMP destination unreachable
 * for it, from where it went, quoting q (its IP and UDP headers as
 * ippkt_unreach takes them, at most CAP_QUOTE_HDR bytes) and what is
 * known of its payload; at most CAP_UNREACH_RATE a second.
 */
#define CAP_QUOTE_HDR	48
void	cap_icmp_unreach(struct capture *, int err, const unsigned char *q,
	    size_t ql, const unsigned char *p, size_t n);

/* udp.c */
int	cap_udp_port_ready(struct capture *, uint16_t port);
int	cap_udp_init(struct capture *);
/* A datagram to a client, from any address and port. */
void	cap_udp_send(struct capture *, const ip_addr_t *from, uint16_t fport,
	    const ip_addr_t *to, uint16_t tport, const unsigned char *p,
	    size_t n);

/* dns.c */
int	cap_dns_init(struct capture *);
/* 1 when the query was taken (dns_addr set): answered here. */
int	cap_dns_query(struct capture *, const ip_addr_t *client,
	    uint16_t cport, const ip_addr_t *server, const unsigned char *p,
	    size_t len);
/*
 * The name a fake address stands for, copied: 1; 0 for an address out
 * of the range; -1 for one of the range that stands for nothing (now).
 */
int	cap_fake_name(struct capture *, const ip_addr_t *dst, char *name,
	    size_t namelen);
/* The fake address name has now, if any: 0, or -1 (none given). */
int	cap_fake_addr(struct capture *, const char *name, ip_addr_t *);

#endif
