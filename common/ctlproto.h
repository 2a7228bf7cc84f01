/*
 * Operating a running daemon: what the workers report to the monitor
 * (counters and connections, as typed records over IPC_CMD_REPORT), the
 * control socket's request line (ostpctl -> monitor) and the escaping
 * of the monitor's key=value answer lines.  Shared by the worker, the
 * monitor and ostpctl; every decoder consumes exactly what it should.
 */
#ifndef OSTP_CTLPROTO_H
#define OSTP_CTLPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define CTL_SOCK_DEFAULT	"/run/ostpd/ostpd.sock"
#define CTL_REQ_MAX		128	/* one request line, newline included */
#define CTL_NAME_MAX		127	/* listener, outbound, user names */
#define CTL_HOST_MAX		255	/* a target or client, host:port */
#define CTL_USER_MAX		63

/* Counters of a listener, an outbound or a user (all u64). */
enum ctl_cnt {
	CTL_C_CONNS,		/* connections begun */
	CTL_C_ACTIVE,		/* still open (a gauge) */
	CTL_C_IN,		/* bytes from the client */
	CTL_C_OUT,		/* bytes to the client */
	CTL_C_HSFAIL,		/* closed before a target was reached */
	CTL_C_SPLICE,		/* relays by splice(2) */
	CTL_C_COPY,		/* relays through a buffer */
	CTL_C_DIAL_OK,
	CTL_C_DF_DENIED,	/* dial failures, by reason */
	CTL_C_DF_REFUSED,
	CTL_C_DF_TIMEOUT,
	CTL_C_DF_UNREACH,
	CTL_C_DF_DNS,
	CTL_C_DF_OTHER,
	CTL_C_DNS_HITS,		/* names answered from the cache */
	CTL_C_DNS_MISSES,	/* names the resolver had to ask for */
	CTL_C_N
};
#define CTL_C_DF_FIRST	CTL_C_DF_DENIED
extern const char *const ctl_dial_reasons[];	/* CTL_C_DF_* - FIRST */

/* A worker's own totals (CTL_R_WORKER): indexes into c[]. */
enum ctl_wcnt {
	CTL_W_ACTIVE,
	CTL_W_ACCEPTED,
	CTL_W_IN,
	CTL_W_OUT,
	CTL_W_DNS_HITS,
	CTL_W_DNS_MISSES,
	CTL_W_N
};

enum ctl_rtype {
	CTL_R_WORKER = 1,	/* c[CTL_W_N] */
	CTL_R_LIS = 2,		/* idx: listener index; c[CTL_C_N] */
	CTL_R_OB = 3,		/* idx: outbound index; c[CTL_C_N] */
	CTL_R_USER = 4,		/* name: the user; c[CTL_C_N] */
	CTL_R_CONN = 5,		/* one open connection */
};

#define CTL_NONE	0xffffffffU	/* no outbound or rule (yet) */
#define CTL_RULE_DEFAULT 0xfffffffeU	/* the default outbound */

enum ctl_mode { CTL_MODE_NONE, CTL_MODE_SPLICE, CTL_MODE_COPY };

struct ctl_rec {
	int		type;
	uint32_t	idx;		/* LIS, OB; CONN: the listener */
	uint32_t	ob;		/* CONN */
	uint32_t	rule;		/* CONN */
	uint8_t		mode;		/* CONN */
	uint64_t	age_ms;		/* CONN */
	uint64_t	c[CTL_C_N];	/* CONN: c[CTL_C_IN], c[CTL_C_OUT] */
	char		name[CTL_NAME_MAX + 1];	/* USER */
	char		client[CTL_HOST_MAX + 1];	/* CONN */
	char		user[CTL_USER_MAX + 1];		/* CONN, "" none */
	char		target[CTL_HOST_MAX + 1];	/* CONN, "" none */
};

/* One record, appended to b / taken from b (exactly its bytes). */
int	ctl_rec_enc(struct buf *, const struct ctl_rec *);
int	ctl_rec_dec(struct buf *, struct ctl_rec *);
/*
 * A REPORT_ANS payload: u8 last (0 or 1), then records to the end.
 * ctl_report_dec calls cb for each; -1 at the first bad byte.
 */
int	ctl_report_dec(struct buf *, int *last,
	    int (*cb)(void *, const struct ctl_rec *), void *arg);

/* Control requests (one line each). */
enum ctl_cmd {
	CTL_CMD_STATUS = 1,
	CTL_CMD_CONNECTIONS,
	CTL_CMD_RELOAD,
	CTL_CMD_STOP,
	CTL_CMD_LOGLEVEL,	/* arg: a level */
};
/*
 * A request line (without its newline): the command, and for log-level
 * its level (LOG_LEVEL_*).  -1 for anything else.
 */
int	ctl_req_parse(const char *line, size_t len, int *cmd, int *level);
/* The level named (error, info, verbose, debug, debug2, debug3), or -1. */
int	ctl_level_parse(const char *name);
const char *ctl_level_name(int level);

/*
 * Values in answer lines are escaped: bytes outside '!'..'~' and '%',
 * '=' become %XX, so a value is one token whatever a peer put in it.
 */
size_t	ctl_escape(const char *in, char *out, size_t outlen);
/* In place; -1 for a malformed escape. */
int	ctl_unescape(char *s);

struct sockaddr_storage;
/* "a.b.c.d:port" or "[v6]:port", a literal address (the metrics key). */
int	ctl_addr_parse(const char *, struct sockaddr_storage *,
	    unsigned int *len);

#endif
