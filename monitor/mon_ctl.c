/*
 * Operating the running daemon: the control socket (ostpctl) and the
 * Prometheus endpoint, both answered by the monitor from its own state
 * and from the counters it asks the workers for (IPC_CMD_REPORT).
 *
 * The control socket is an AF_UNIX stream socket, mode 0600 in a
 * root-owned directory, and a client must also be uid 0 by
 * SO_PEERCRED.  It is made after the workers' channel conventions are
 * fixed: a worker is a fresh execution of the binary that closes every
 * descriptor above 4 (monitor.c), is chrooted to an empty directory and
 * may create only AF_INET/AF_INET6 sockets (sandbox.c), so it has no way
 * to the socket.  A request is one short line (ctl_req_parse); the
 * answer is "ok" or "error <why>", then key=value lines whose values
 * are escaped (ctl_escape), then the connection closes.  ostpctl makes
 * the human and the JSON output; the monitor links no JSON writer on
 * this path.
 *
 * /metrics is served here too, rather than by a worker: the monitor
 * holds the aggregate of every worker's counters, and what it reads of
 * a metrics client is at most one bounded request head, compared with
 * a fixed string and never parsed further.  A worker serving it would
 * need the same aggregate from the monitor, in more messages, for no
 * less exposure of the monitor.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "ctlproto.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "monitor.h"

#define CTL_CLIENTS_MAX		16	/* control and metrics, together */
#define CTL_CLIENT_SECS		5	/* to send a request, to take the answer */
#define CTL_QUERY_MS		2000	/* workers' reports */
#define CTL_HTTP_HEAD_MAX	2048
#define CTL_AGG_MAX		8192	/* names counted in one answer */
#define CTL_CONNS_MAX		100000	/* connection lines in one answer */

enum { CL_CTL, CL_METRICS };
enum { Q_STATUS, Q_CONNS, Q_METRICS };

struct ctl_client {
	TAILQ_ENTRY(ctl_client)	 entry;
	int			 kind;
	int			 fd;
	struct event		*ev;
	char			 in[CTL_HTTP_HEAD_MAX];
	size_t			 inlen;
	char			*out;
	size_t			 outlen;
	size_t			 outoff;
	int			 after;		/* what to do once it is sent */
	struct ctl_query	*q;
	struct timespec		 since;		/* accepted */
};

/* One name's counters, summed over the workers that reported it. */
struct ctl_agg {
	int			 type;		/* CTL_R_LIS, _OB, _USER */
	char			 name[CTL_NAME_MAX + 1];
	char			 proto[32];	/* listeners */
	char			 addr[80];
	unsigned int		 gen;		/* the newest reporting it */
	uint64_t		 c[CTL_C_N];
};

struct ctl_wpart {
	const struct mon_worker	*w;		/* compared, never followed */
	uint32_t		 seq;
	int			 done;
	int			 have;
	unsigned int		 id;
	unsigned int		 gen;
	pid_t			 pid;
	int			 state;
	long			 up;
	uint64_t		 wc[CTL_W_N];
};

struct ctl_query {
	TAILQ_ENTRY(ctl_query)	 entry;
	int			 kind;
	struct ctl_client	*cl;
	struct ctl_wpart	*wp;
	size_t			 nwp;
	size_t			 pending;
	struct ctl_agg		*ag;
	size_t			 nag;
	FILE			*conns;		/* CONNS: lines as they come */
	char			*ctext;
	size_t			 clen;
	size_t			 nconns;
	struct event		*tmo;
	const struct mon_worker	*cur;		/* in mon_ctl_report */
};

static struct {
	struct monitor		*mon;
	int			 fd;
	struct event		*ev;
	char			 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ino_t			 ino;		/* the path's, to remove only ours */
	int			 mfd;		/* metrics listener */
	struct event		*mev;
	char			*maddr;
	struct timespec		 started;
	size_t			 nclients;
	TAILQ_HEAD(, ctl_client) clients;
	TAILQ_HEAD(, ctl_query)	 queries;
} ctl = { .fd = -1, .mfd = -1 };

static void client_free(struct ctl_client *);
static void client_send(struct ctl_client *, char *text, size_t len,
    int after);

#define AFTER_CLOSE	0
#define AFTER_STOP	1

static long
secs_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t->tv_sec);
}

/* --- queries: ask every live worker, answer when all have --- */

static void query_done(struct ctl_query *);

static void
query_tmo_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	/* the workers that did not answer are left out */
	query_done(arg);
}

static void
query_free(struct ctl_query *q)
{
	TAILQ_REMOVE(&ctl.queries, q, entry);
	if (q->tmo != NULL)
		event_free(q->tmo);
	if (q->conns != NULL)
		fclose(q->conns);
	free(q->ctext);
	free(q->wp);
	free(q->ag);
	free(q);
}

static int
query_start(struct ctl_client *cl, int kind)
{
	struct monitor *mon = ctl.mon;
	struct timeval tv = { CTL_QUERY_MS / 1000,
	    (CTL_QUERY_MS % 1000) * 1000 };
	struct ctl_query *q;
	struct mon_gen *g;
	struct mon_worker *w;
	struct ctl_wpart *p;
	struct buf b;
	size_t n = 0;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	TAILQ_INSERT_TAIL(&ctl.queries, q, entry);
	q->kind = kind;
	q->cl = cl;
	cl->q = q;
	TAILQ_FOREACH(g, &mon->gens, entry)
		TAILQ_FOREACH(w, &g->workers, entry)
			n++;
	if ((q->wp = calloc(n + 1, sizeof(*q->wp))) == NULL ||
	    (q->tmo = evtimer_new(mon->base, query_tmo_cb, q)) == NULL)
		goto fail;
	if (kind == Q_CONNS && (q->conns = open_memstream(&q->ctext,
	    &q->clen)) == NULL)
		goto fail;
	buf_init(&b);
	if (buf_put_u8(&b, kind == Q_CONNS ? IPC_REPORT_CONNS :
	    IPC_REPORT_COUNTERS) != 0) {
		buf_release(&b);
		goto fail;
	}
	TAILQ_FOREACH(g, &mon->gens, entry) {
		TAILQ_FOREACH(w, &g->workers, entry) {
			p = &q->wp[q->nwp++];
			p->w = w;
			p->id = w->id;
			p->gen = g->num;
			p->pid = w->pid;
			p->state = w->pid > 0 ? w->state : 0;
			p->up = w->pid > 0 ? secs_since(&w->started) : 0;
			p->done = 1;
			if (w->sock == -1 || w->pid <= 0 ||
			    !(w->state & (MW_RUNNING | MW_DRAINING)))
				continue;
			p->seq = ++w->seq;
			if (ipc_send(w->sock, IPC_CMD_REPORT, p->seq, &b,
			    -1) != 0) {
				debug("worker %u: cannot ask for a report",
				    w->id);
				continue;
			}
			p->done = 0;
			q->pending++;
		}
	}
	buf_release(&b);
	if (q->pending == 0) {
		query_done(q);
		return 0;
	}
	evtimer_add(q->tmo, &tv);
	return 0;
 fail:
	cl->q = NULL;
	query_free(q);
	return -1;
}

static struct ctl_agg *
agg_get(struct ctl_query *q, int type, const char *name)
{
	struct ctl_agg *a;
	size_t i;

	for (i = 0; i < q->nag; i++)
		if (q->ag[i].type == type && strcmp(q->ag[i].name, name) == 0)
			return &q->ag[i];
	if (q->nag >= CTL_AGG_MAX)
		return NULL;
	if ((a = reallocarray(q->ag, q->nag + 1, sizeof(*a))) == NULL)
		return NULL;
	q->ag = a;
	a = &q->ag[q->nag++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	snprintf(a->name, sizeof(a->name), "%s", name);
	return a;
}

static void
agg_add(struct ctl_agg *a, const uint64_t *c)
{
	size_t i;

	for (i = 0; i < CTL_C_N; i++)
		a->c[i] += c[i];
}

static void
esc_put(FILE *f, const char *key, const char *val)
{
	char e[3 * CTL_HOST_MAX + 1];

	ctl_escape(val[0] != '\0' ? val : "-", e, sizeof(e));
	fprintf(f, " %s=%s", key, e);
}

static void
listener_addr(const struct listener_conf *l, char *out, size_t len)
{
	char h[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&l->addr;
	const struct sockaddr_in6 *sin6 =
	    (const struct sockaddr_in6 *)&l->addr;

	if (l->addr.ss_family == AF_INET &&
	    inet_ntop(AF_INET, &sin->sin_addr, h, sizeof(h)) != NULL)
		snprintf(out, len, "%s:%u", h, ntohs(sin->sin_port));
	else if (l->addr.ss_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &sin6->sin6_addr, h, sizeof(h)) != NULL)
		snprintf(out, len, "[%s]:%u", h, ntohs(sin6->sin6_port));
	else
		snprintf(out, len, "-");
}

static void
route_text(const struct conf *c, uint32_t rule, char *out, size_t len)
{
	(void)c;
	if (rule == CTL_NONE)
		snprintf(out, len, "-");
	else if (rule == CTL_RULE_DEFAULT)
		snprintf(out, len, "default");
	else
		snprintf(out, len, "rule%u", rule);
}

/* One record of worker w's report, checked against its configuration. */
static int
report_rec(void *arg, const struct ctl_rec *r)
{
	struct ctl_query *q = arg;
	const struct mon_worker *w = q->cur;
	const struct conf *c = &w->gen->conf;
	struct ctl_wpart *p = NULL;
	struct ctl_agg *a;
	const struct listener_conf *l;
	char route[32];
	size_t i;

	for (i = 0; i < q->nwp; i++)
		if (q->wp[i].w == w)
			p = &q->wp[i];
	switch (r->type) {
	case CTL_R_WORKER:
		if (p != NULL) {
			memcpy(p->wc, r->c, sizeof(p->wc));
			p->have = 1;
		}
		return 0;
	case CTL_R_LIS:
		if (r->idx >= c->nlis)
			return -1;
		l = &c->lis[r->idx];
		if ((a = agg_get(q, CTL_R_LIS, l->tag)) != NULL) {
			agg_add(a, r->c);
			if (a->gen <= w->gen->num) {
				a->gen = w->gen->num;
				snprintf(a->proto, sizeof(a->proto), "%s",
				    l->node->proto);
				listener_addr(l, a->addr, sizeof(a->addr));
			}
		}
		return 0;
	case CTL_R_OB:
		if (r->idx >= c->nobs)
			return -1;
		if ((a = agg_get(q, CTL_R_OB, c->obs[r->idx].tag)) != NULL)
			agg_add(a, r->c);
		return 0;
	case CTL_R_USER:
		if ((a = agg_get(q, CTL_R_USER, r->name)) != NULL)
			agg_add(a, r->c);
		return 0;
	case CTL_R_CONN:
		/* CTL_NONE: a client the relay counted (core/copy.c) */
		if ((r->idx != CTL_NONE && r->idx >= c->nlis) ||
		    (r->ob != CTL_NONE &&
		    r->ob >= c->nobs) || (r->rule != CTL_NONE &&
		    r->rule != CTL_RULE_DEFAULT && r->rule >= c->nrules))
			return -1;
		if (q->conns == NULL || q->nconns++ >= CTL_CONNS_MAX)
			return 0;
		route_text(c, r->rule, route, sizeof(route));
		fprintf(q->conns, "conn worker=%u gen=%u pid=%ld", w->id,
		    w->gen->num, (long)w->pid);
		esc_put(q->conns, "listener", r->idx == CTL_NONE ? "-" :
		    c->lis[r->idx].tag);
		esc_put(q->conns, "client", r->client);
		esc_put(q->conns, "user", r->user);
		esc_put(q->conns, "target", r->target);
		esc_put(q->conns, "route", route);
		esc_put(q->conns, "outbound", r->ob == CTL_NONE ? "" :
		    c->obs[r->ob].tag);
		fprintf(q->conns, " mode=%s in=%llu out=%llu age_ms=%llu\n",
		    r->mode == CTL_MODE_SPLICE ? "splice" :
		    r->mode == CTL_MODE_COPY ? "copy" : "-",
		    (unsigned long long)r->c[CTL_C_IN],
		    (unsigned long long)r->c[CTL_C_OUT],
		    (unsigned long long)r->age_ms);
		return 0;
	}
	return -1;
}

/*
 * IPC_CMD_REPORT_ANS (mon_dispatch.c).  An answer nobody waits for
 * any more (a query that timed out) is dropped; a malformed one costs
 * the worker its life, as any malformed message.
 */
int
mon_ctl_report(struct monitor *mon, struct mon_worker *w, struct ipc_msg *m)
{
	struct ctl_query *q;
	struct ctl_wpart *p = NULL;
	size_t i;
	int last;

	(void)mon;
	TAILQ_FOREACH(q, &ctl.queries, entry) {
		for (i = 0; i < q->nwp; i++)
			if (q->wp[i].w == w && q->wp[i].seq == m->hdr.seq &&
			    !q->wp[i].done)
				p = &q->wp[i];
		if (p != NULL)
			break;
	}
	if (q == NULL) {
		struct ctl_query tmp;

		/* still checked, against nothing */
		memset(&tmp, 0, sizeof(tmp));
		tmp.cur = w;
		if (ctl_report_dec(&m->payload, &last, report_rec, &tmp) != 0) {
			free(tmp.ag);
			error("worker %u: malformed REPORT_ANS", w->id);
			return -1;
		}
		free(tmp.ag);
		return 0;
	}
	q->cur = w;
	if (ctl_report_dec(&m->payload, &last, report_rec, q) != 0) {
		error("worker %u: malformed REPORT_ANS", w->id);
		p->done = 1;
		if (--q->pending == 0)
			query_done(q);
		return -1;
	}
	if (last) {
		p->done = 1;
		if (--q->pending == 0)
			query_done(q);
	}
	return 0;
}

/* --- answers --- */

static const char *
state_name(int s)
{
	switch (s) {
	case MW_NEW:		return "new";
	case MW_STARTING:	return "starting";
	case MW_RUNNING:	return "running";
	case MW_DRAINING:	return "draining";
	default:		return "down";
	}
}

static void
put_counters(FILE *f, const uint64_t *c)
{
	size_t i;

	fprintf(f, " conns=%llu active=%llu in=%llu out=%llu hs_fail=%llu "
	    "splice=%llu copy=%llu dial_ok=%llu",
	    (unsigned long long)c[CTL_C_CONNS],
	    (unsigned long long)c[CTL_C_ACTIVE],
	    (unsigned long long)c[CTL_C_IN], (unsigned long long)c[CTL_C_OUT],
	    (unsigned long long)c[CTL_C_HSFAIL],
	    (unsigned long long)c[CTL_C_SPLICE],
	    (unsigned long long)c[CTL_C_COPY],
	    (unsigned long long)c[CTL_C_DIAL_OK]);
	for (i = 0; ctl_dial_reasons[i] != NULL; i++)
		fprintf(f, " dial_fail_%s=%llu", ctl_dial_reasons[i],
		    (unsigned long long)c[CTL_C_DF_FIRST + i]);
	fprintf(f, " dns_hits=%llu dns_misses=%llu",
	    (unsigned long long)c[CTL_C_DNS_HITS],
	    (unsigned long long)c[CTL_C_DNS_MISSES]);
}

static void
render_status(struct ctl_query *q, FILE *f)
{
	struct monitor *mon = ctl.mon;
	struct mon_gen *g;
	struct mon_listener *ml;
	struct ctl_wpart *p;
	uint64_t hits = 0, misses = 0;
	size_t i, nlis = 0, nw;
	int t;

	TAILQ_FOREACH(ml, &mon->listeners, entry)
		nlis++;
	for (i = 0; i < q->nwp; i++) {
		hits += q->wp[i].wc[CTL_W_DNS_HITS];
		misses += q->wp[i].wc[CTL_W_DNS_MISSES];
	}
	fprintf(f, "daemon version=%s pid=%ld uptime=%ld log_level=%s "
	    "sockets=%zu dns_hits=%llu dns_misses=%llu", PACKAGE_VERSION,
	    (long)getpid(), secs_since(&ctl.started),
	    ctl_level_name(log_get_level()), nlis,
	    (unsigned long long)hits, (unsigned long long)misses);
	esc_put(f, "control", ctl.fd != -1 ? ctl.path : "");
	esc_put(f, "metrics", ctl.maddr != NULL ? ctl.maddr : "");
	esc_put(f, "config", mon->args.path != NULL ? mon->args.path : "");
	fputc('\n', f);
	TAILQ_FOREACH(g, &mon->gens, entry) {
		nw = 0;
		for (i = 0; i < q->nwp; i++)
			if (q->wp[i].gen == g->num && q->wp[i].pid > 0)
				nw++;
		fprintf(f, "generation num=%u state=%s workers=%zu "
		    "listeners=%zu\n", g->num, g->draining ? "draining" :
		    "running", nw, g->conf.nlis);
	}
	for (i = 0; i < q->nwp; i++) {
		p = &q->wp[i];
		fprintf(f, "worker id=%u gen=%u pid=%ld state=%s uptime=%ld "
		    "reported=%s active=%llu accepted=%llu in=%llu out=%llu\n",
		    p->id, p->gen, (long)p->pid, state_name(p->state), p->up,
		    p->have ? "yes" : "no",
		    (unsigned long long)p->wc[CTL_W_ACTIVE],
		    (unsigned long long)p->wc[CTL_W_ACCEPTED],
		    (unsigned long long)p->wc[CTL_W_IN],
		    (unsigned long long)p->wc[CTL_W_OUT]);
	}
	for (t = CTL_R_LIS; t <= CTL_R_USER; t++) {
		for (i = 0; i < q->nag; i++) {
			if (q->ag[i].type != t)
				continue;
			fprintf(f, "%s", t == CTL_R_LIS ? "listener" :
			    t == CTL_R_OB ? "outbound" : "user");
			esc_put(f, "name", q->ag[i].name);
			if (t == CTL_R_LIS) {
				esc_put(f, "proto", q->ag[i].proto);
				esc_put(f, "addr", q->ag[i].addr);
			}
			put_counters(f, q->ag[i].c);
			fputc('\n', f);
		}
	}
}

/* Prometheus label values: backslash, quote and newline escaped. */
static void
prom_label(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void
prom_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One family over listeners or outbounds (or users): counter k. */
static void
prom_per(FILE *f, struct ctl_query *q, int type, const char *name,
    const char *mtype, const char *help, int k)
{
	const char *lab = type == CTL_R_LIS ? "listener" : type == CTL_R_OB ?
	    "outbound" : "user";
	size_t i;

	prom_family(f, name, mtype, help);
	for (i = 0; i < q->nag; i++) {
		if (q->ag[i].type != type)
			continue;
		fprintf(f, "%s{%s=\"", name, lab);
		prom_label(f, q->ag[i].name);
		fprintf(f, "\"} %llu\n", (unsigned long long)q->ag[i].c[k]);
	}
}

static void
prom_dial_fail(FILE *f, struct ctl_query *q, int type, const char *name)
{
	const char *lab = type == CTL_R_LIS ? "listener" : "outbound";
	size_t i, r;

	prom_family(f, name, "counter", "Dials that failed, by reason.");
	for (i = 0; i < q->nag; i++) {
		if (q->ag[i].type != type)
			continue;
		for (r = 0; ctl_dial_reasons[r] != NULL; r++) {
			fprintf(f, "%s{%s=\"", name, lab);
			prom_label(f, q->ag[i].name);
			fprintf(f, "\",reason=\"%s\"} %llu\n",
			    ctl_dial_reasons[r], (unsigned long long)
			    q->ag[i].c[CTL_C_DF_FIRST + r]);
		}
	}
}

static void
prom_relay(FILE *f, struct ctl_query *q, int type, const char *name)
{
	const char *lab = type == CTL_R_LIS ? "listener" : "outbound";
	size_t i;

	prom_family(f, name, "counter", "Relays begun, by mode (splice(2) "
	    "between bare sockets, or a copy through a buffer).");
	for (i = 0; i < q->nag; i++) {
		if (q->ag[i].type != type)
			continue;
		fprintf(f, "%s{%s=\"", name, lab);
		prom_label(f, q->ag[i].name);
		fprintf(f, "\",mode=\"splice\"} %llu\n",
		    (unsigned long long)q->ag[i].c[CTL_C_SPLICE]);
		fprintf(f, "%s{%s=\"", name, lab);
		prom_label(f, q->ag[i].name);
		fprintf(f, "\",mode=\"copy\"} %llu\n",
		    (unsigned long long)q->ag[i].c[CTL_C_COPY]);
	}
}

static void
render_metrics(struct ctl_query *q, FILE *f)
{
	uint64_t hits = 0, misses = 0;
	size_t i, nw = 0;

	for (i = 0; i < q->nwp; i++) {
		hits += q->wp[i].wc[CTL_W_DNS_HITS];
		misses += q->wp[i].wc[CTL_W_DNS_MISSES];
		if (q->wp[i].pid > 0)
			nw++;
	}
	prom_family(f, "ostpd_build_info", "gauge", "The running version.");
	fprintf(f, "ostpd_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	prom_family(f, "ostpd_uptime_seconds", "gauge",
	    "Seconds since the daemon started.");
	fprintf(f, "ostpd_uptime_seconds %ld\n", secs_since(&ctl.started));
	prom_family(f, "ostpd_workers", "gauge", "Worker processes alive.");
	fprintf(f, "ostpd_workers %zu\n", nw);
	prom_family(f, "ostpd_dns_cache_hits_total", "counter",
	    "Names answered from the resolver's cache.");
	fprintf(f, "ostpd_dns_cache_hits_total %llu\n",
	    (unsigned long long)hits);
	prom_family(f, "ostpd_dns_cache_misses_total", "counter",
	    "Names the resolver had to ask for.");
	fprintf(f, "ostpd_dns_cache_misses_total %llu\n",
	    (unsigned long long)misses);

	prom_per(f, q, CTL_R_LIS, "ostpd_listener_connections_total",
	    "counter", "Client connections accepted.", CTL_C_CONNS);
	prom_per(f, q, CTL_R_LIS, "ostpd_listener_active_connections",
	    "gauge", "Client connections open.", CTL_C_ACTIVE);
	prom_per(f, q, CTL_R_LIS, "ostpd_listener_received_bytes_total",
	    "counter", "Bytes from clients.", CTL_C_IN);
	prom_per(f, q, CTL_R_LIS, "ostpd_listener_sent_bytes_total",
	    "counter", "Bytes to clients.", CTL_C_OUT);
	prom_per(f, q, CTL_R_LIS, "ostpd_listener_handshake_failures_total",
	    "counter", "Connections closed before a target was reached.",
	    CTL_C_HSFAIL);
	prom_per(f, q, CTL_R_LIS, "ostpd_listener_dials_total", "counter",
	    "Dials that reached their target.", CTL_C_DIAL_OK);
	prom_dial_fail(f, q, CTL_R_LIS, "ostpd_listener_dial_failures_total");
	prom_relay(f, q, CTL_R_LIS, "ostpd_listener_relays_total");
	prom_per(f, q, CTL_R_LIS, "ostpd_listener_dns_cache_hits_total",
	    "counter", "Names of the listener's dials answered from the "
	    "resolver's cache.", CTL_C_DNS_HITS);
	prom_per(f, q, CTL_R_LIS, "ostpd_listener_dns_cache_misses_total",
	    "counter", "Names of the listener's dials the resolver had to "
	    "ask for.", CTL_C_DNS_MISSES);

	prom_per(f, q, CTL_R_OB, "ostpd_outbound_connections_total",
	    "counter", "Connections relayed through the outbound.",
	    CTL_C_CONNS);
	prom_per(f, q, CTL_R_OB, "ostpd_outbound_active_connections",
	    "gauge", "Connections open through the outbound.", CTL_C_ACTIVE);
	prom_per(f, q, CTL_R_OB, "ostpd_outbound_received_bytes_total",
	    "counter", "Bytes from clients sent through the outbound.",
	    CTL_C_IN);
	prom_per(f, q, CTL_R_OB, "ostpd_outbound_sent_bytes_total",
	    "counter", "Bytes to clients from the outbound.", CTL_C_OUT);
	prom_per(f, q, CTL_R_OB, "ostpd_outbound_dials_total", "counter",
	    "Dials that reached their target.", CTL_C_DIAL_OK);
	prom_dial_fail(f, q, CTL_R_OB, "ostpd_outbound_dial_failures_total");
	prom_relay(f, q, CTL_R_OB, "ostpd_outbound_relays_total");

	prom_per(f, q, CTL_R_USER, "ostpd_user_connections_total", "counter",
	    "Connections of an authenticated user.", CTL_C_CONNS);
	prom_per(f, q, CTL_R_USER, "ostpd_user_received_bytes_total",
	    "counter", "Bytes from the user.", CTL_C_IN);
	prom_per(f, q, CTL_R_USER, "ostpd_user_sent_bytes_total", "counter",
	    "Bytes to the user.", CTL_C_OUT);
}

static void
query_done(struct ctl_query *q)
{
	struct ctl_client *cl = q->cl;
	char *text = NULL, *body = NULL;
	size_t len = 0, blen = 0;
	FILE *f;
	int ok = 0;

	if (cl == NULL) {
		query_free(q);
		return;
	}
	cl->q = NULL;
	if (q->kind == Q_METRICS) {
		if ((f = open_memstream(&body, &blen)) != NULL) {
			render_metrics(q, f);
			ok = fclose(f) == 0;
		}
		if (ok && (f = open_memstream(&text, &len)) != NULL) {
			fprintf(f, "HTTP/1.0 200 OK\r\nContent-Type: text/plain; "
			    "version=0.0.4; charset=utf-8\r\nContent-Length: "
			    "%zu\r\nConnection: close\r\n\r\n", blen);
			fwrite(body, 1, blen, f);
			ok = fclose(f) == 0;
		} else
			ok = 0;
		free(body);
	} else if ((f = open_memstream(&text, &len)) != NULL) {
		fputs("ok\n", f);
		if (q->kind == Q_STATUS)
			render_status(q, f);
		else if (q->conns != NULL) {
			fflush(q->conns);
			if (q->clen > 0)
				fwrite(q->ctext, 1, q->clen, f);
		}
		ok = fclose(f) == 0;
	}
	query_free(q);
	if (!ok) {
		free(text);
		client_free(cl);
		return;
	}
	client_send(cl, text, len, AFTER_CLOSE);
}

/* --- clients --- */

static void
client_free(struct ctl_client *cl)
{
	char sink[4096];
	size_t n = 0;
	ssize_t r;

	if (cl->q != NULL)
		cl->q->cl = NULL;	/* its answer goes nowhere */
	TAILQ_REMOVE(&ctl.clients, cl, entry);
	ctl.nclients--;
	if (cl->ev != NULL)
		event_free(cl->ev);
	/*
	 * What the client sent past its request (an oversized one) is read
	 * away, a little: closed unread, it would reset the connection and
	 * the client could lose the answer.
	 */
	while (n < 16 * sizeof(sink) && (r = recv(cl->fd, sink, sizeof(sink),
	    MSG_DONTWAIT)) > 0)
		n += (size_t)r;
	close(cl->fd);
	free(cl->out);
	free(cl);
}

static void
client_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_client *cl = arg;
	ssize_t n;
	int after;

	if (what & EV_TIMEOUT) {
		client_free(cl);
		return;
	}
	while (cl->outoff < cl->outlen) {
		n = send(fd, cl->out + cl->outoff, cl->outlen - cl->outoff,
		    MSG_NOSIGNAL);
		if (n > 0) {
			cl->outoff += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		break;
	}
	after = cl->after;
	client_free(cl);
	if (after == AFTER_STOP) {
		logit("stop requested on the control socket");
		kill(getpid(), SIGTERM);
	}
}

static void
client_send(struct ctl_client *cl, char *text, size_t len, int after)
{
	struct timeval tv = { CTL_CLIENT_SECS, 0 };

	free(cl->out);
	cl->out = text;
	cl->outlen = len;
	cl->outoff = 0;
	cl->after = after;
	if (cl->ev != NULL)
		event_free(cl->ev);
	cl->ev = event_new(ctl.mon->base, cl->fd, EV_WRITE | EV_PERSIST,
	    client_write_cb, cl);
	if (cl->ev == NULL) {
		client_free(cl);
		return;
	}
	event_add(cl->ev, &tv);
	client_write_cb(cl->fd, EV_WRITE, cl);
}

static void
client_say(struct ctl_client *cl, const char *line, int after)
{
	char *t;

	if ((t = strdup(line)) == NULL) {
		client_free(cl);
		return;
	}
	client_send(cl, t, strlen(t), after);
}

static void
ctl_request(struct ctl_client *cl, const char *line, size_t len)
{
	struct monitor *mon = ctl.mon;
	struct mon_gen *g;
	struct mon_worker *w;
	struct buf b;
	char msg[128];
	int cmd, level;

	if (ctl_req_parse(line, len, &cmd, &level) != 0) {
		debug("control: unknown request");
		client_say(cl, "error unknown request\n", AFTER_CLOSE);
		return;
	}
	switch (cmd) {
	case CTL_CMD_STATUS:
	case CTL_CMD_CONNECTIONS:
		if (query_start(cl, cmd == CTL_CMD_STATUS ? Q_STATUS :
		    Q_CONNS) != 0)
			client_say(cl, "error out of memory\n", AFTER_CLOSE);
		return;
	case CTL_CMD_RELOAD:
		logit("reload requested on the control socket");
		if (mon_reload(mon) != 0)
			client_say(cl, "error reload failed; the running "
			    "configuration stays (see the log)\n",
			    AFTER_CLOSE);
		else {
			snprintf(msg, sizeof(msg), "ok\ngeneration num=%u\n",
			    mon->next_gen);
			client_say(cl, msg, AFTER_CLOSE);
		}
		return;
	case CTL_CMD_STOP:
		client_say(cl, "ok\n", AFTER_STOP);
		return;
	case CTL_CMD_LOGLEVEL:
		logit("log level set to %s on the control socket",
		    ctl_level_name(level));
		log_set_level(level);
		buf_init(&b);
		if (buf_put_u8(&b, (uint8_t)level) == 0) {
			TAILQ_FOREACH(g, &mon->gens, entry)
				TAILQ_FOREACH(w, &g->workers, entry)
					if (w->sock != -1 && w->state &
					    (MW_RUNNING | MW_DRAINING))
						(void)ipc_send(w->sock,
						    IPC_CMD_LOGLEVEL, ++w->seq,
						    &b, -1);
		}
		buf_release(&b);
		client_say(cl, "ok\n", AFTER_CLOSE);
		return;
	}
}

/*
 * A metrics client's request head: only "GET /metrics" is answered; the
 * rest of the head is read (bounded) and ignored.
 */
static void
metrics_request(struct ctl_client *cl)
{
	static const char get[] = "GET /metrics";
	static const char notfound[] = "HTTP/1.0 404 Not Found\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 10\r\n"
	    "Connection: close\r\n\r\nnot found\n";
	size_t n = sizeof(get) - 1;

	if (cl->inlen > n && memcmp(cl->in, get, n) == 0 &&
	    (cl->in[n] == ' ' || cl->in[n] == '?')) {
		if (query_start(cl, Q_METRICS) != 0)
			client_free(cl);
		return;
	}
	client_say(cl, notfound, AFTER_CLOSE);
}

static void
client_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_client *cl = arg;
	size_t max = cl->kind == CL_CTL ? CTL_REQ_MAX : sizeof(cl->in);
	char *nl;
	ssize_t n;

	/* a request trickling in byte by byte has the same time */
	if ((what & EV_TIMEOUT) || secs_since(&cl->since) >= CTL_CLIENT_SECS) {
		client_free(cl);
		return;
	}
	n = recv(fd, cl->in + cl->inlen, max - cl->inlen, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_free(cl);
		return;
	}
	cl->inlen += (size_t)n;
	event_del(cl->ev);
	if (cl->kind == CL_CTL) {
		if ((nl = memchr(cl->in, '\n', cl->inlen)) != NULL) {
			ctl_request(cl, cl->in, (size_t)(nl - cl->in));
			return;
		}
		if (cl->inlen >= max) {
			debug("control: request too long");
			client_say(cl, "error request too long\n",
			    AFTER_CLOSE);
			return;
		}
	} else {
		if (memmem(cl->in, cl->inlen, "\r\n\r\n", 4) != NULL ||
		    memmem(cl->in, cl->inlen, "\n\n", 2) != NULL) {
			metrics_request(cl);
			return;
		}
		if (cl->inlen >= max) {
			client_free(cl);
			return;
		}
	}
	{
		struct timeval tv = { CTL_CLIENT_SECS, 0 };

		event_add(cl->ev, &tv);
	}
}

static struct event *
accept_event(int kind)
{
	return kind == CL_CTL ? ctl.ev : ctl.mev;
}

static void
accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct event *ev = accept_event((int)(intptr_t)arg);

	(void)fd;
	(void)what;
	/* the listener of now: the metrics one may have moved meanwhile */
	if (ev != NULL)
		event_add(ev, NULL);
}

/*
 * Out of descriptors (or memory): the pending connection stays in the
 * backlog and the socket readable, so the loop would spin; the
 * listener rests for a second instead, as other daemons do.
 */
static void
accept_pause(int kind)
{
	struct timeval tv = { 1, 0 };
	struct event *ev = accept_event(kind);

	if (ev == NULL)
		return;
	verbose("%s: accept: %s; pausing for a second",
	    kind == CL_CTL ? "control" : "metrics", strerror(errno));
	event_del(ev);
	if (event_base_once(ctl.mon->base, -1, EV_TIMEOUT, accept_resume_cb,
	    (void *)(intptr_t)kind, &tv) == -1)
		event_add(ev, NULL);
}

static void
accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct timeval tv = { CTL_CLIENT_SECS, 0 };
	int kind = (int)(intptr_t)arg;
	struct ctl_client *cl;
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	int fd;

	(void)what;
	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)
			accept_pause(kind);
		return;
	}
	if (kind == CL_CTL) {
		/* the socket's mode already says so; a second lock */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == -1 ||
		    cr.uid != 0) {
			static const char deny[] = "error permission denied\n";

			logit("control: refused a client with uid %ld",
			    (long)(crlen == sizeof(cr) ? (long)cr.uid : -1L));
			(void)!send(fd, deny, sizeof(deny) - 1, MSG_NOSIGNAL);
			close(fd);
			return;
		}
	}
	if (ctl.nclients >= CTL_CLIENTS_MAX ||
	    (cl = calloc(1, sizeof(*cl))) == NULL) {
		close(fd);
		return;
	}
	cl->kind = kind;
	cl->fd = fd;
	clock_gettime(CLOCK_MONOTONIC, &cl->since);
	TAILQ_INSERT_TAIL(&ctl.clients, cl, entry);
	ctl.nclients++;
	if ((cl->ev = event_new(ctl.mon->base, fd, EV_READ | EV_PERSIST,
	    client_read_cb, cl)) == NULL) {
		client_free(cl);
		return;
	}
	event_add(cl->ev, &tv);
}

/* --- the sockets --- */

/*
 * The directory must be root's and writable by nobody else, or another
 * user could put their own socket where ostpctl looks.
 */
static int
ctl_dir(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(ctl.path)], *sl;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((sl = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (sl == dir)
		sl[1] = '\0';
	else
		*sl = '\0';
	if (stat(dir, &st) == -1) {
		if (errno != ENOENT || mkdir(dir, 0755) == -1 ||
		    stat(dir, &st) == -1) {
			snprintf(err, errlen, "control socket directory %s: %s",
			    dir, strerror(errno));
			return -1;
		}
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(err, errlen, "control socket directory %s must be a "
		    "directory owned by root and not writable by group or "
		    "others", dir);
		return -1;
	}
	return 0;
}

/*
 * Two daemons starting at once over a stale socket must not both remove
 * it and bind: the check, the removal and the bind happen under a lock
 * on a file beside the socket.
 */
static int ctl_listen(const char *, char *, size_t);

static int
ctl_listen_locked(const char *path, char *err, size_t errlen)
{
	char lpath[sizeof(ctl.path) + 8];
	int lfd, fd;

	if (path[0] != '/' || strlen(path) >= sizeof(ctl.path)) {
		snprintf(err, errlen, "control socket %s: must be an absolute "
		    "path shorter than %zu bytes", path, sizeof(ctl.path));
		return -1;
	}
	if (ctl_dir(path, err, errlen) != 0)
		return -1;
	snprintf(lpath, sizeof(lpath), "%s.lock", path);
	if ((lfd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1) {
		snprintf(err, errlen, "control socket lock %s: %s", lpath,
		    strerror(errno));
		return -1;
	}
	while (flock(lfd, LOCK_EX) == -1 && errno == EINTR)
		;
	fd = ctl_listen(path, err, errlen);
	close(lfd);		/* and its lock */
	return fd;
}

static int
ctl_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;
	int fd, r, e;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path[0] != '/' || strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket %s: must be an absolute "
		    "path shorter than %zu bytes", path, sizeof(sun.sun_path));
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if (ctl_dir(path, err, errlen) != 0)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		return -1;
	}
	if (lstat(path, &st) == 0) {
		int t;

		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "control socket %s: exists and "
			    "is not a socket", path);
			close(fd);
			return -1;
		}
		/* a live daemon answers: leave it its socket */
		if ((t = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1) {
			r = connect(t, (struct sockaddr *)&sun, sizeof(sun));
			close(t);
			if (r == 0) {
				snprintf(err, errlen, "control socket %s is in "
				    "use by another ostpd", path);
				close(fd);
				return -2;
			}
		}
		unlink(path);
	}
	old = umask(077);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	e = errno;
	umask(old);
	if (r == -1 && e == EADDRINUSE) {
		snprintf(err, errlen, "control socket %s is in use by another "
		    "ostpd", path);
		close(fd);
		return -2;
	}
	if (r == -1 || chmod(path, 0600) == -1 || listen(fd, 16) == -1 ||
	    lstat(path, &st) == -1) {
		snprintf(err, errlen, "control socket %s: %s", path,
		    strerror(r == -1 ? e : errno));
		close(fd);
		return -1;
	}
	ctl.ino = st.st_ino;
	return fd;
}

static int
metrics_listen(const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	unsigned int sl;
	int fd, on = 1;

	if (ctl_addr_parse(addr, &ss, &sl) != 0) {
		snprintf(err, errlen, "metrics: bad address %s", addr);
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, (struct sockaddr *)&ss, sl) == -1 ||
	    listen(fd, 16) == -1) {
		snprintf(err, errlen, "metrics %s: %s", addr, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

static void
metrics_close(void)
{
	if (ctl.mev != NULL)
		event_free(ctl.mev);
	ctl.mev = NULL;
	if (ctl.mfd != -1)
		close(ctl.mfd);
	ctl.mfd = -1;
	free(ctl.maddr);
	ctl.maddr = NULL;
}

/* The newest generation's "metrics": opened, moved or closed. */
static int
metrics_update(char *err, size_t errlen)
{
	struct mon_gen *g, *last = NULL;
	const char *want;
	int fd;

	TAILQ_FOREACH(g, &ctl.mon->gens, entry)
		last = g;
	want = last != NULL ? last->conf.metrics : NULL;

	if (want == NULL) {
		metrics_close();
		return 0;
	}
	if (ctl.maddr != NULL && strcmp(ctl.maddr, want) == 0)
		return 0;
	metrics_close();
	if ((fd = metrics_listen(want, err, errlen)) == -1)
		return -1;
	ctl.mfd = fd;
	if ((ctl.maddr = strdup(want)) == NULL ||
	    (ctl.mev = event_new(ctl.mon->base, fd, EV_READ | EV_PERSIST,
	    accept_cb, (void *)(intptr_t)CL_METRICS)) == NULL) {
		metrics_close();
		snprintf(err, errlen, "metrics: out of memory");
		return -1;
	}
	event_add(ctl.mev, NULL);
	verbose("metrics on http://%s/metrics", want);
	return 0;
}

/*
 * Before the workers start (and before the monitor's capabilities go):
 * the control socket (path NULL: none) and the metrics listener.
 */
int
mon_ctl_start(struct monitor *mon, const char *path, char *err,
    size_t errlen)
{
	int fd;

	ctl.mon = mon;
	clock_gettime(CLOCK_MONOTONIC, &ctl.started);
	TAILQ_INIT(&ctl.clients);
	TAILQ_INIT(&ctl.queries);
	if (path != NULL) {
		fd = ctl_listen_locked(path, err, errlen);
		if (fd == -2) {
			/* tests and second instances: go on without one */
			logit("%s; running without a control socket", err);
		} else if (fd == -1)
			return -1;
		else {
			ctl.fd = fd;
			snprintf(ctl.path, sizeof(ctl.path), "%s", path);
			if ((ctl.ev = event_new(mon->base, fd, EV_READ |
			    EV_PERSIST, accept_cb, (void *)(intptr_t)CL_CTL)) ==
			    NULL) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			event_add(ctl.ev, NULL);
		}
	}
	return metrics_update(err, errlen);
}

/* A reload succeeded: the metrics address may have changed. */
void
mon_ctl_reloaded(struct monitor *mon)
{
	char err[256];

	(void)mon;
	if (ctl.mon != NULL && metrics_update(err, sizeof(err)) != 0)
		error("%s", err);
}

void
mon_ctl_stop(void)
{
	struct ctl_client *cl;
	struct ctl_query *q;

	if (ctl.mon == NULL)
		return;
	while ((q = TAILQ_FIRST(&ctl.queries)) != NULL)
		query_free(q);
	while ((cl = TAILQ_FIRST(&ctl.clients)) != NULL) {
		cl->q = NULL;
		client_free(cl);
	}
	metrics_close();
	if (ctl.ev != NULL)
		event_free(ctl.ev);
	ctl.ev = NULL;
	if (ctl.fd != -1) {
		struct stat st;

		close(ctl.fd);
		/* not a socket another daemon made there since */
		if (lstat(ctl.path, &st) == 0 && st.st_ino == ctl.ino)
			unlink(ctl.path);
	}
	ctl.fd = -1;
	ctl.mon = NULL;
}
