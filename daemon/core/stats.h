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

/* DNS answers from the resolver's cache, and those it had to ask for. */
extern uint64_t stats_dns_hits, stats_dns_misses;

void	stats_init(struct worker *);
/* A client's connection on listener lis: its record, kept in c. */
struct stconn *stconn_open(struct worker *, size_t lis, struct conn *c);
/* The record of c's stack, or NULL; _take also detaches it. */
struct stconn *conn_stats(const struct conn *);
struct stconn *conn_stats_take(struct conn *);
void	stconn_user(struct stconn *, const char *user);
void	stconn_target(struct stconn *, const char *host, uint16_t port);
/* A dial of the record's listener ended (err 0: connected). */
void	stats_dial_done(struct worker *, size_t lis, uint32_t ob,
	    uint32_t rule, int err, int dns, struct stconn *);
/* Served without a dial of its own (SOCKS5 UDP ASSOCIATE). */
void	stconn_served(struct stconn *);
/* The relay began (CTL_MODE_*); bytes moved (dir 0: from the client). */
void	stconn_relay(struct stconn *, int mode);
void	stconn_bytes(struct stconn *, int dir, size_t n);
void	stconn_close(struct stconn *);

/* IPC_CMD_REPORT from the monitor: answered at once. */
void	stats_report(struct worker *, struct ipc_msg *);

#endif
