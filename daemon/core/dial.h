/*
 * Reaching a target for a listener: access control (bypass, whitelist/
 * blacklist, routing rules), the outbound the rules pick, name
 * resolution (hosts files, then the asynchronous resolver) and a
 * non-blocking connect over each address in turn, or the chain.
 */
#ifndef OSTP_DIAL_H
#define OSTP_DIAL_H

#include <sys/socket.h>
#include <stdint.h>

#include "conf.h"

struct worker;
struct listener_conf;
struct resolver;
struct resolver_conf;
struct matcher_set;
struct hosts;
struct hosts_entry;
struct conn;

/* Per listener; the live pointers follow their reloadable files. */
struct dialer {
	struct worker			*wk;
	const struct listener_conf	*l;
	size_t				 idx;
	struct resolver			*res;		/* dns=, or the system's */
	int				 own_res;	/* dns= given */
	struct resolver_conf		*dnsconf;	/* dns= file, live */
	struct matcher_set		*bypass_file;	/* live */
	struct hosts			*hosts;		/* live */
	int				 prefer;	/* AF_INET(6), 0: RFC 8305 */
	int				 direct;	/* no routing, no chain:
							   rtcp/rudp targets */
	struct egress			 egress;	/* the route's mark and
							   interface */
	int				 public_only;	/* no loopback, private,
							   link-local targets
							   (an OSTP server's
							   default) */
};

int	dialer_init(struct dialer *, struct worker *,
	    const struct listener_conf *, size_t idx);
struct resolver *dialer_resolver(const struct dialer *);
/* The listener's hosts file, then /etc/hosts. */
const struct hosts_entry *dialer_hosts(const struct dialer *, const char *);
/* family's address bytes (4 or 16) and port as a socket address */
void	sockaddr_set(struct sockaddr_storage *, socklen_t *, int family,
	    const void *addr, uint16_t port);
/* An IP literal and port as a socket address: 0, or -1 for a name. */
int	sockaddr_literal(const char *host, uint16_t port,
	    struct sockaddr_storage *, socklen_t *);
/*
 * Bypass and permissions (for action "tcp", "udp", ...) on what the
 * client named, and with sa the routing rules on where it resolved.
 * 0 = allowed.
 */
int	dialer_allowed(const struct dialer *, const char *action,
	    const char *host, uint16_t port, const struct sockaddr *sa);

/*
 * cb runs exactly once, from the event loop: the connection to the
 * target (a socket, or the stack of layers a chain built), or NULL and
 * an errno value: EACCES not permitted, EHOSTUNREACH no address,
 * ETIMEDOUT, ECONNREFUSED, ...
 */
typedef void (*dial_cb)(void *arg, struct conn *, int err);

#define DIAL_NOCHECK	0x02	/* an address the configuration named */

struct dial;

struct dial *dial_start(struct dialer *, const char *host, uint16_t port,
	    int flags, dial_cb, void *arg);
/*
 * The same for a name the client's traffic carried (a sniffed TLS SNI
 * or HTTP Host) on a flow to sa: the rules see the name and sa, a
 * chain is given the name (its far end resolves it), a direct dial
 * connects to sa, so that a name the client resolved otherwise than
 * we would still reaches the host the client chose.
 */
struct dial *dial_start_at(struct dialer *, const char *host,
	    const struct sockaddr *sa, socklen_t salen, uint16_t port,
	    int flags, dial_cb, void *arg);
void	dial_cancel(struct dial *);
struct stconn;
/* Whose dial it is: its route and outcome go in the record. */
void	dial_set_stats(struct dial *, struct stconn *);
/*
 * Datagram channels (udp.c): one client's datagrams to any destination,
 * routed per datagram (direct, UDP-over-TCP through a chain whose last
 * hop is SOCKS5, or Shadowsocks UDP); answers come to cb with their
 * source.
 */
struct proxy_target;
struct uchan;
typedef void (*uchan_cb)(void *arg, const struct proxy_target *src,
    const unsigned char *p, size_t n);
struct uchan *uchan_open(struct dialer *, uchan_cb, void *arg);
void	uchan_send(struct uchan *, const char *host, uint16_t port,
	    const unsigned char *p, size_t n);
void	uchan_close(struct uchan *);
/*
 * What became of a datagram for host:port that will get no answer:
 * ECONNREFUSED (the far end's port unreachable), EHOSTUNREACH,
 * ENETUNREACH (no way there, by the route or a router's word), EACCES
 * (refused by the rules or a router).  p holds what is known of the
 * datagram's payload (n may be 0): the datagram itself, or what a
 * router quoted of it.  A refusal by the rules comes whatever the
 * route; the rest for direct datagrams only (a chain's protocols
 * carry no such news).
 */
typedef void (*uchan_err_cb)(void *arg, const char *host, uint16_t port,
    int err, const unsigned char *p, size_t n);
void	uchan_set_errcb(struct uchan *, uchan_err_cb);
/*
 * on: a chain's UDP tunnel that fails or ends is dialed again only
 * after a back-off of 1 s doubling to 6 s (gost's tun client), reset
 * when a dial succeeds; datagrams meanwhile are dropped.  Off (the
 * default): the next datagram dials at once.
 */
void	uchan_set_backoff(struct uchan *, int on);

/* Read a file the monitor hands over, at most 64 KiB; NUL-terminated. */
char	*worker_read_small(struct worker *, const char *path, size_t *len);
/* 1 for loopback, private, link-local and other non-public addresses. */
int	sockaddr_local(const struct sockaddr *);
/* ::ffff:a.b.c.d as a.b.c.d, in place. */
void	sockaddr_unmap(struct sockaddr_storage *, socklen_t *);
/* The same IPv4 or IPv6 address and port (other families: never). */
int	sockaddr_same(const struct sockaddr_storage *,
	    const struct sockaddr_storage *);
/* The address and port of a sockaddr, as text (mapped IPv4 as IPv4). */
void	sockaddr_host(const struct sockaddr_storage *, char *host, size_t,
	    uint16_t *port);
/*
 * An outgoing socket for a listener (its route), marked or bound as the
 * route or -M/-I say (conf_egress); l NULL: as -M/-I say.
 */
int	dial_socket(struct worker *, const struct listener_conf *l,
	    int family, int type);
/* The same with the mark and interface given; e NULL: -M/-I. */
int	dial_socket_as(struct worker *, const struct egress *e, int family,
	    int type);
/* socks5 reply code for a dial errno */
int	dial_errno_rep(int err);

#endif
