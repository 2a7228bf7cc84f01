/*
 * A worker's counters for ostpctl and /metrics: per listener, per
 * outbound and per user, and a record of every open client connection
 * of the handlers that keep one (core/stats.c).  A record follows the
 * client's connection (struct conn's st): whoever frees the connection
 * (or the splice relay that took its descriptor) ends it, counts it
 * and writes its access log line.
 */
#ifndef OSTP_CORE_STATS_H
#define OSTP_CORE_STATS_H

#include <stddef.h>
#include <stdint.h>

struct worker;
struct conn;
struct ipc_msg;
struct stconn;
struct sockaddr_storage;

/* A record's listener when the relay opened it (core/copy.c). */
#define STATS_LIS_NONE	((size_t)-1)

/* DNS answers from the resolver's cache, and those it had to ask for. */
extern uint64_t stats_dns_hits, stats_dns_misses;
/*
 * Whose lookups they are: the resolver answers from its cache inside
 * resolve_start, so a dial names its listener around that call
 * (stats_dns_for(idx) ... stats_dns_for(STATS_LIS_NONE)).
 */
void	stats_dns_for(size_t lis);
void	stats_dns(int hit);

void	stats_init(struct worker *);
/*
 * A client's connection on listener lis: its record, kept in c (or the
 * record c's stack already has).  The core opens it for every
 * connection a listener's transport accepts (core/listen.c) and, for
 * any client the relay gets without one, when the relay starts
 * (core/copy.c); handlers whose clients are no connection of theirs
 * (datagram flows, a socket before its conn) use stconn_new.
 */
struct stconn *stconn_open(struct worker *, size_t lis, struct conn *c);
/* A record of its own, ended by stconn_close (or a conn it is given). */
struct stconn *stconn_new(struct worker *, size_t lis,
	    const struct sockaddr_storage *client);
/* The same, the client being the peer of socket fd. */
struct stconn *stconn_new_fd(struct worker *, size_t lis, int fd);
void	stconn_client(struct stconn *, const struct sockaddr_storage *);
void	stconn_client_name(struct stconn *, const char *host, uint16_t port);
/* c's record from now on (ended at once if c has one, or is NULL). */
void	stconn_attach(struct stconn *, struct conn *c);
/* The record of c's stack, or NULL; _take also detaches it. */
struct stconn *conn_stats(const struct conn *);
struct stconn *conn_stats_take(struct conn *);
void	stconn_user(struct stconn *, const char *user);
void	stconn_target(struct stconn *, const char *host, uint16_t port);
/* The same unless the record has a target already. */
void	stconn_target_once(struct stconn *, const char *host, uint16_t port);
/* A dial of the record's listener ended (err 0: connected). */
void	stats_dial_done(struct worker *, size_t lis, uint32_t ob,
	    uint32_t rule, int err, int dns, struct stconn *);
/* Served without a dial of its own (SOCKS5 UDP ASSOCIATE). */
void	stconn_served(struct stconn *);
/* The relay began (CTL_MODE_*); bytes moved (dir 0: from the client). */
void	stconn_relay(struct stconn *, int mode);
void	stconn_bytes(struct stconn *, int dir, size_t n);
/*
 * Bytes of a listener's datagrams that belong to no record (DNS
 * queries over UDP, tun/tap packets): its counters only.
 */
void	stats_lis_bytes(size_t lis, int dir, size_t n);
/* A dns:// listener's query answered from its own cache (hit) or not. */
void	stats_lis_dns(size_t lis, int hit);
void	stconn_close(struct stconn *);

/* IPC_CMD_REPORT from the monitor: answered at once. */
void	stats_report(struct worker *, struct ipc_msg *);

#endif
