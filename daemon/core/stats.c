/*
 * A worker's counters and open connections (stats.h), reported to the
 * monitor on request as ctl records (common/ctlproto.h).  Counting is
 * a few additions on paths that already run per connection; the byte
 * counters are added to by the relays as the bytes go.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctlproto.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "worker.h"
#include "core/conn.h"
#include "core/dial.h"
#include "core/stats.h"

#define STATS_USERS_MAX		4096	/* distinct users counted */
#define STATS_CONNS_MAX		20000	/* connections a report lists */

struct stuser {
	TAILQ_ENTRY(stuser)	 entry;
	char			 name[CTL_USER_MAX + 1];
	uint64_t		 c[CTL_C_N];
};

struct stconn {
	TAILQ_ENTRY(stconn)	 entry;
	struct worker		*wk;
	size_t			 lis;
	uint32_t		 ob;
	uint32_t		 rule;
	int			 mode;
	int			 reached;	/* a dial succeeded */
	uint64_t		 bytes[2];
	struct timespec		 start;
	struct stuser		*u;
	char			 client[CTL_HOST_MAX + 1];
	char			 user[CTL_USER_MAX + 1];
	char			 target[CTL_HOST_MAX + 1];
};

uint64_t stats_dns_hits, stats_dns_misses;
static size_t dns_lis = STATS_LIS_NONE;

static uint64_t (*lis_c)[CTL_C_N];
static size_t nlis;
static uint64_t (*ob_c)[CTL_C_N];
static size_t nob;
static TAILQ_HEAD(, stuser) users = TAILQ_HEAD_INITIALIZER(users);
static size_t nusers;
static TAILQ_HEAD(, stconn) conns = TAILQ_HEAD_INITIALIZER(conns);

void
stats_init(struct worker *wk)
{
	conn_st_close = stconn_close;
	nlis = wk->conf->nlis;
	nob = wk->conf->nobs;
	if ((lis_c = calloc(nlis + 1, sizeof(*lis_c))) == NULL ||
	    (ob_c = calloc(nob + 1, sizeof(*ob_c))) == NULL)
		fatal_f("out of memory");
}

static uint64_t *
lisc(size_t i)
{
	static uint64_t none[CTL_C_N];

	return i < nlis ? lis_c[i] : none;
}

static uint64_t *
obc(uint32_t i)
{
	static uint64_t none[CTL_C_N];

	return i < nob ? ob_c[i] : none;
}

static void
addr_text(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char host[64];
	uint16_t port;

	sockaddr_host(ss, host, sizeof(host), &port);
	if (ss->ss_family == AF_INET6)
		snprintf(out, len, "[%s]:%u", host, port);
	else if (ss->ss_family == AF_INET)
		snprintf(out, len, "%s:%u", host, port);
	else
		snprintf(out, len, "-");
}

void
stats_dns_for(size_t lis)
{
	dns_lis = lis;
}

void
stats_dns(int hit)
{
	if (hit)
		stats_dns_hits++;
	else
		stats_dns_misses++;
	lisc(dns_lis)[hit ? CTL_C_DNS_HITS : CTL_C_DNS_MISSES]++;
}

struct stconn *
stconn_new(struct worker *wk, size_t lis, const struct sockaddr_storage *peer)
{
	struct stconn *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;	/* uncounted, not refused */
	st->wk = wk;
	st->lis = lis;
	st->ob = CTL_NONE;
	st->rule = CTL_NONE;
	clock_gettime(CLOCK_MONOTONIC, &st->start);
	stconn_client(st, peer);
	lisc(lis)[CTL_C_CONNS]++;
	lisc(lis)[CTL_C_ACTIVE]++;
	TAILQ_INSERT_TAIL(&conns, st, entry);
	return st;
}

struct stconn *
stconn_new_fd(struct worker *wk, size_t lis, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (fd == -1 || getpeername(fd, (struct sockaddr *)&ss, &sl) == -1)
		ss.ss_family = AF_UNSPEC;
	return stconn_new(wk, lis, &ss);
}

void
stconn_client(struct stconn *st, const struct sockaddr_storage *peer)
{
	if (st == NULL)
		return;
	if (peer == NULL)
		snprintf(st->client, sizeof(st->client), "-");
	else
		addr_text(peer, st->client, sizeof(st->client));
}

void
stconn_client_name(struct stconn *st, const char *host, uint16_t port)
{
	if (st == NULL)
		return;
	if (strchr(host, ':') != NULL)
		snprintf(st->client, sizeof(st->client), "[%s]:%u", host,
		    port);
	else
		snprintf(st->client, sizeof(st->client), "%s:%u", host, port);
}

void
stconn_attach(struct stconn *st, struct conn *c)
{
	if (st == NULL)
		return;
	if (c != NULL && conn_stats(c) == NULL)
		c->st = st;
	else
		stconn_close(st);
}

struct stconn *
stconn_open(struct worker *wk, size_t lis, struct conn *c)
{
	struct stconn *st;

	if (conn_stats(c) != NULL)
		return conn_stats(c);
	if ((st = stconn_new_fd(wk, lis, c->fd)) != NULL)
		c->st = st;
	return st;
}

struct stconn *
conn_stats(const struct conn *c)
{
	for (; c != NULL; c = c->lower)
		if (c->st != NULL)
			return c->st;
	return NULL;
}

struct stconn *
conn_stats_take(struct conn *c)
{
	struct stconn *st;

	for (; c != NULL; c = c->lower)
		if ((st = c->st) != NULL) {
			c->st = NULL;
			return st;
		}
	return NULL;
}

static struct stuser *
user_get(const char *name)
{
	struct stuser *u;

	TAILQ_FOREACH(u, &users, entry)
		if (strcmp(u->name, name) == 0)
			return u;
	if (nusers >= STATS_USERS_MAX || (u = calloc(1, sizeof(*u))) == NULL)
		return NULL;
	snprintf(u->name, sizeof(u->name), "%s", name);
	TAILQ_INSERT_TAIL(&users, u, entry);
	nusers++;
	return u;
}

void
stconn_user(struct stconn *st, const char *user)
{
	if (st == NULL || user == NULL || user[0] == '\0' || st->u != NULL)
		return;
	snprintf(st->user, sizeof(st->user), "%s", user);
	if ((st->u = user_get(st->user)) != NULL) {
		st->u->c[CTL_C_CONNS]++;
		st->u->c[CTL_C_ACTIVE]++;
	}
}

void
stconn_target(struct stconn *st, const char *host, uint16_t port)
{
	if (st == NULL)
		return;
	if (strchr(host, ':') != NULL)
		snprintf(st->target, sizeof(st->target), "[%s]:%u", host, port);
	else
		snprintf(st->target, sizeof(st->target), "%s:%u", host, port);
}

void
stconn_target_once(struct stconn *st, const char *host, uint16_t port)
{
	if (st != NULL && st->target[0] == '\0')
		stconn_target(st, host, port);
}

static int
dial_reason(int err, int dns)
{
	if (dns)
		return CTL_C_DF_DNS;
	switch (err) {
	case EACCES:
		return CTL_C_DF_DENIED;
	case ECONNREFUSED:
		return CTL_C_DF_REFUSED;
	case ETIMEDOUT:
		return CTL_C_DF_TIMEOUT;
	case ENETUNREACH:
	case EHOSTUNREACH:
		return CTL_C_DF_UNREACH;
	default:
		return CTL_C_DF_OTHER;
	}
}

void
stats_dial_done(struct worker *wk, size_t lis, uint32_t ob, uint32_t rule,
    int err, int dns, struct stconn *st)
{
	int k = err == 0 ? CTL_C_DIAL_OK : dial_reason(err, dns);

	(void)wk;
	lisc(lis)[k]++;
	obc(ob)[k]++;
	if (st == NULL)
		return;
	/* a kept-alive HTTP client's next request: the old one is over */
	if (err == 0 && st->reached && st->ob != CTL_NONE)
		obc(st->ob)[CTL_C_ACTIVE]--;
	if (err == 0 || !st->reached) {
		st->ob = ob;
		st->rule = rule;
	}
	if (err == 0) {
		st->reached = 1;
		obc(ob)[CTL_C_CONNS]++;
		obc(ob)[CTL_C_ACTIVE]++;
	}
}

void
stconn_served(struct stconn *st)
{
	if (st != NULL)
		st->reached = 1;
}

void
stconn_relay(struct stconn *st, int mode)
{
	int k = mode == CTL_MODE_SPLICE ? CTL_C_SPLICE : CTL_C_COPY;

	if (st == NULL)
		return;
	st->mode = mode;
	st->reached = 1;
	lisc(st->lis)[k]++;
	obc(st->ob)[k]++;
	if (st->u != NULL)
		st->u->c[k]++;
}

void
stconn_bytes(struct stconn *st, int dir, size_t n)
{
	int k = dir == 0 ? CTL_C_IN : CTL_C_OUT;

	if (st == NULL)
		return;
	st->bytes[dir != 0] += n;
	lisc(st->lis)[k] += n;
	obc(st->ob)[k] += n;
	if (st->u != NULL)
		st->u->c[k] += n;
}

void
stats_lis_bytes(size_t lis, int dir, size_t n)
{
	lisc(lis)[dir == 0 ? CTL_C_IN : CTL_C_OUT] += n;
}

void
stats_lis_dns(size_t lis, int hit)
{
	lisc(lis)[hit ? CTL_C_DNS_HITS : CTL_C_DNS_MISSES]++;
}

static uint64_t
age_ms(const struct stconn *st)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)((now.tv_sec - st->start.tv_sec) * 1000 +
	    (now.tv_nsec - st->start.tv_nsec) / 1000000);
}

static const char *
ob_name(const struct worker *wk, uint32_t ob)
{
	return ob < wk->conf->nobs ? wk->conf->obs[ob].tag : "-";
}

static void
route_name(uint32_t rule, char *out, size_t len)
{
	if (rule == CTL_NONE)
		snprintf(out, len, "-");
	else if (rule == CTL_RULE_DEFAULT)
		snprintf(out, len, "default");
	else
		snprintf(out, len, "rule%u", rule);
}

/* One line per connection, at its end (log.access, -A). */
static void
access_line(const struct stconn *st)
{
	const struct conf *c = st->wk->conf;
	char user[3 * CTL_USER_MAX + 1], target[3 * CTL_HOST_MAX + 1];
	char route[32];
	uint64_t ms = age_ms(st);

	ctl_escape(st->user[0] ? st->user : "-", user, sizeof(user));
	ctl_escape(st->target[0] ? st->target : "-", target, sizeof(target));
	route_name(st->rule, route, sizeof(route));
	logit("access: listener=%s client=%s user=%s target=%s route=%s "
	    "outbound=%s in=%llu out=%llu duration=%llu.%03llu%s",
	    st->lis < c->nlis ? c->lis[st->lis].tag : "-", st->client, user,
	    target, route, ob_name(st->wk, st->ob),
	    (unsigned long long)st->bytes[0],
	    (unsigned long long)st->bytes[1],
	    (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000),
	    st->reached ? "" : " failed=handshake");
}

void
stconn_close(struct stconn *st)
{
	if (st == NULL)
		return;
	TAILQ_REMOVE(&conns, st, entry);
	lisc(st->lis)[CTL_C_ACTIVE]--;
	if (!st->reached)
		lisc(st->lis)[CTL_C_HSFAIL]++;
	else if (st->ob != CTL_NONE)
		obc(st->ob)[CTL_C_ACTIVE]--;
	if (st->u != NULL)
		st->u->c[CTL_C_ACTIVE]--;
	if (st->wk->conf->access_log)
		access_line(st);
	free(st);
}

/* Records gathered into IPC_MAX_PAYLOAD-sized REPORT_ANS messages. */
struct report {
	struct worker	*wk;
	uint32_t	 seq;
	struct buf	 recs;
	int		 failed;
};

static void
report_flush(struct report *rp, int last)
{
	struct buf b;

	buf_init(&b);
	if (buf_put_u8(&b, (uint8_t)last) != 0 ||
	    buf_put(&b, buf_ptr(&rp->recs), buf_len(&rp->recs)) != 0 ||
	    ipc_send(rp->wk->sock, IPC_CMD_REPORT_ANS, rp->seq, &b, -1) != 0)
		rp->failed = 1;
	buf_release(&b);
	buf_reset(&rp->recs);
}

static void
report_add(struct report *rp, const struct ctl_rec *r)
{
	struct buf one;

	if (rp->failed)
		return;
	buf_init(&one);
	if (ctl_rec_enc(&one, r) != 0) {
		buf_release(&one);
		return;
	}
	if (1 + buf_len(&rp->recs) + buf_len(&one) > IPC_MAX_PAYLOAD)
		report_flush(rp, 0);
	if (buf_put(&rp->recs, buf_ptr(&one), buf_len(&one)) != 0)
		rp->failed = 1;
	buf_release(&one);
}

void
stats_report(struct worker *wk, struct ipc_msg *m)
{
	struct report rp;
	struct ctl_rec r;
	struct stuser *u;
	struct stconn *st;
	uint8_t what;
	size_t i, n = 0;
	int fl;

	if (buf_get_u8(&m->payload, &what) != 0 ||
	    buf_expect_end(&m->payload) != 0 ||
	    (what != IPC_REPORT_COUNTERS && what != IPC_REPORT_CONNS))
		fatal("malformed CMD_REPORT from the monitor");
	memset(&rp, 0, sizeof(rp));
	rp.wk = wk;
	rp.seq = m->hdr.seq;
	buf_init(&rp.recs);
	/*
	 * A long list is many messages: wait for room rather than lose
	 * its end (the monitor reads them as they come).
	 */
	fl = fcntl(wk->sock, F_GETFL);
	fcntl(wk->sock, F_SETFL, fl & ~O_NONBLOCK);

	memset(&r, 0, sizeof(r));
	r.type = CTL_R_WORKER;
	r.c[CTL_W_ACTIVE] = wk->stats.active;
	r.c[CTL_W_ACCEPTED] = wk->stats.accepted;
	r.c[CTL_W_IN] = wk->stats.bytes_in;
	r.c[CTL_W_OUT] = wk->stats.bytes_out;
	r.c[CTL_W_DNS_HITS] = stats_dns_hits;
	r.c[CTL_W_DNS_MISSES] = stats_dns_misses;
	report_add(&rp, &r);
	for (i = 0; i < nlis; i++) {
		memset(&r, 0, sizeof(r));
		r.type = CTL_R_LIS;
		r.idx = (uint32_t)i;
		memcpy(r.c, lis_c[i], sizeof(r.c));
		report_add(&rp, &r);
	}
	for (i = 0; i < nob; i++) {
		memset(&r, 0, sizeof(r));
		r.type = CTL_R_OB;
		r.idx = (uint32_t)i;
		memcpy(r.c, ob_c[i], sizeof(r.c));
		report_add(&rp, &r);
	}
	TAILQ_FOREACH(u, &users, entry) {
		memset(&r, 0, sizeof(r));
		r.type = CTL_R_USER;
		snprintf(r.name, sizeof(r.name), "%s", u->name);
		memcpy(r.c, u->c, sizeof(r.c));
		report_add(&rp, &r);
	}
	if (what == IPC_REPORT_CONNS) {
		TAILQ_FOREACH(st, &conns, entry) {
			if (n++ >= STATS_CONNS_MAX)
				break;
			memset(&r, 0, sizeof(r));
			r.type = CTL_R_CONN;
			r.idx = st->lis < nlis ? (uint32_t)st->lis : CTL_NONE;
			r.ob = st->ob;
			r.rule = st->rule;
			r.mode = (uint8_t)st->mode;
			r.age_ms = age_ms(st);
			r.c[CTL_C_IN] = st->bytes[0];
			r.c[CTL_C_OUT] = st->bytes[1];
			memcpy(r.client, st->client, sizeof(r.client));
			memcpy(r.user, st->user, sizeof(r.user));
			memcpy(r.target, st->target, sizeof(r.target));
			report_add(&rp, &r);
		}
	}
	if (!rp.failed)
		report_flush(&rp, 1);
	fcntl(wk->sock, F_SETFL, fl);
	buf_release(&rp.recs);
	if (rp.failed)
		debug_f("the report could not be sent");
}
