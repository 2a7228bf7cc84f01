/*
 * The resolver (see resolve.h).
 *
 * One entry per name and family holds both the cached answer and the
 * query under way for it; requests wait on entries.  An answer is given
 * to the waiters one at a time, each taken off the list before its
 * callback runs, so a callback may start or cancel any request.  An
 * entry with waiters or a query is never evicted.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "cfgfile.h"
#include "log.h"
#include "ref.h"
#include "core/dial.h"
#include "core/dnsup.h"
#include "core/resolve.h"
#include "core/stats.h"
#include "proto/dns.h"
#include "worker.h"

#define RES_BUCKETS	1024
#define RES_CACHE_MAX	4096		/* entries per resolver */
#define RES_TTL_MAX	86400		/* seconds an answer is kept at most */
#define RES_NEG_MAX	300		/* ... a negative one */
#define RES_EDNS_SIZE	1232		/* RFC 9715's safe UDP size */

struct resolve_req;

struct rwait {
	TAILQ_ENTRY(rwait)	 entry;
	struct resolve_req	*req;
	struct rentry		*re;	/* NULL: not waiting */
};

struct rentry {
	LIST_ENTRY(rentry)	 hash;
	TAILQ_ENTRY(rentry)	 lru;
	struct resolver		*r;
	char			 name[DNS_NAME_MAX + 2];
	int			 family;
	struct resolve_addrs	 addrs;
	int			 err;
	time_t			 expires;	/* monotonic seconds */
	int			 valid;		/* addrs/err are an answer */
	struct dnsup_req	*q;		/* under way */
	int			 hops;		/* aliases asked after */
	int			 busy;		/* giving out an answer */
	TAILQ_HEAD(, rwait)	 waiters;
};

struct resolver {
	struct worker		*wk;
	struct resolver_conf	*rc;		/* one reference */
	struct dnsup		*up;
	char			 who[128];
	LIST_HEAD(, rentry)	 buckets[RES_BUCKETS];
	TAILQ_HEAD(rlru, rentry) lru;
	size_t			 n;
};

/* An answer held back to be given from the event loop. */
struct ready {
	int			 set;
	struct resolve_addrs	 addrs;
	int			 err;
};

struct resolve_req {
	struct resolver		*r;
	struct rwait		 w[2];
	struct ready		 ready[2];
	int			 remaining;	/* callbacks still due */
	struct event		*ev;		/* gives ready answers */
	int			 in_cb;
	int			 cancelled;
	resolve_cb		 cb;
	void			*arg;
};

static struct resolver *sys_resolver;
static struct hosts *sys_hosts;

const char *
resolve_strerror(int err)
{
	switch (err) {
	case ENOENT:	return "no such name, or no address for it";
	case EINVAL:	return "not a name that can be resolved";
	case EIO:	return "the nameservers failed";
	case ETIMEDOUT:	return "no nameserver answered";
	default:	return strerror(err);
	}
}

static size_t
name_hash(const char *name, int family)
{
	uint32_t h = 2166136261U;

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 16777619U;
	h = (h ^ (uint32_t)family) * 16777619U;
	return h % RES_BUCKETS;
}

static void
hosts_init(struct worker *wk)
{
	static int done;
	char err[256], *data;
	size_t len;

	if (done++)
		return;
	if ((data = worker_read_small(wk, "/etc/hosts", &len)) == NULL)
		return;
	if (hosts_parse(data, len, "/etc/hosts", &sys_hosts, err,
	    sizeof(err)) != 0)
		debug("%s; not using /etc/hosts", err);
	free(data);
}

const struct hosts *
resolver_sys_hosts(struct worker *wk)
{
	hosts_init(wk);
	return sys_hosts;
}

static struct resolver *
resolver_make(struct worker *wk, const struct resolver_conf *rc,
    const char *who, int flags)
{
	struct resolver *r;
	size_t i;

	hosts_init(wk);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->wk = wk;
	r->rc = ref_get((void *)rc);
	snprintf(r->who, sizeof(r->who), "%s", who);
	for (i = 0; i < RES_BUCKETS; i++)
		LIST_INIT(&r->buckets[i]);
	TAILQ_INIT(&r->lru);
	if ((r->up = dnsup_new(wk, rc, r->who, flags)) == NULL) {
		ref_put(r->rc);
		free(r);
		return NULL;
	}
	return r;
}

struct resolver *
resolver_new(struct worker *wk, const struct resolver_conf *rc,
    const char *who)
{
	return resolver_make(wk, rc, who, 0);
}

struct resolver *
resolver_system(struct worker *wk)
{
	struct resolver_conf *rc = NULL;
	char err[256], *data;
	size_t len;

	if (sys_resolver != NULL)
		return sys_resolver;
	if ((data = worker_read_small(wk, "/etc/resolv.conf", &len)) != NULL) {
		if (resolver_conf_parse(data, len, "/etc/resolv.conf", &rc,
		    err, sizeof(err)) != 0)
			error("%s; names will not resolve", err);
		free(data);
	}
	sys_resolver = resolver_make(wk, rc, "resolver", DNSUP_SYSTEM);
	ref_put(rc);
	return sys_resolver;
}

struct dnsup *
resolver_dnsup(struct resolver *r)
{
	return r->up;
}

int
resolver_prefer(const struct resolver *r)
{
	return r->rc != NULL ? r->rc->prefer : 0;
}

static void
entry_free(struct rentry *re)
{
	LIST_REMOVE(re, hash);
	TAILQ_REMOVE(&re->r->lru, re, lru);
	re->r->n--;
	dnsup_cancel(re->q);
	free(re);
}

void
resolver_set_egress(struct resolver *r, const struct egress *e)
{
	dnsup_set_egress(r->up, e);
}

void
resolver_set_conf(struct resolver *r, const struct resolver_conf *rc)
{
	struct rentry *re, *next;

	ref_put(r->rc);
	r->rc = ref_get((void *)rc);
	dnsup_set_conf(r->up, rc);
	/* the new servers' answers from now on; queries under way finish */
	for (re = TAILQ_FIRST(&r->lru); re != NULL; re = next) {
		next = TAILQ_NEXT(re, lru);
		if (re->q == NULL && !re->busy && TAILQ_EMPTY(&re->waiters))
			entry_free(re);
		else
			re->expires = 0;
	}
}

static void
req_free(struct resolve_req *req)
{
	int i;

	for (i = 0; i < 2; i++)
		if (req->w[i].re != NULL) {
			TAILQ_REMOVE(&req->w[i].re->waiters, &req->w[i],
			    entry);
			req->w[i].re = NULL;
		}
	if (req->ev != NULL)
		event_free(req->ev);
	free(req);
}

void
resolve_cancel(struct resolve_req *req)
{
	if (req == NULL)
		return;
	if (req->in_cb) {
		req->cancelled = 1;	/* freed when the callback returns */
		return;
	}
	req_free(req);
}

/* One answer to req.  1 when req is gone after it. */
static int
deliver(struct resolve_req *req, const struct resolve_addrs *a, int err)
{
	int last = --req->remaining == 0;

	req->in_cb = 1;
	req->cb(req->arg, a, err, last);
	req->in_cb = 0;
	if (last || req->cancelled) {
		req_free(req);
		return 1;
	}
	return 0;
}

static void
ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolve_req *req = arg;
	struct ready rd;
	int i;

	(void)fd;
	(void)what;
	for (i = 0; i < 2; i++) {
		if (!req->ready[i].set)
			continue;
		rd = req->ready[i];
		req->ready[i].set = 0;
		if (deliver(req, &rd.addrs, rd.err))
			return;
	}
}

static void
ready_add(struct resolve_req *req, int i, const struct resolve_addrs *a,
    int err)
{
	struct timeval tv = { 0, 0 };

	req->ready[i].set = 1;
	req->ready[i].addrs = *a;
	req->ready[i].err = err;
	if (req->ev == NULL &&
	    (req->ev = evtimer_new(req->r->wk->base, ready_cb, req)) == NULL)
		fatal_f("out of memory");
	evtimer_add(req->ev, &tv);
}

/* The entry's answer to everyone waiting for it. */
static void
entry_answer(struct rentry *re)
{
	struct rwait *w;

	re->busy = 1;
	while ((w = TAILQ_FIRST(&re->waiters)) != NULL) {
		TAILQ_REMOVE(&re->waiters, w, entry);
		w->re = NULL;
		(void)deliver(w->req, &re->addrs, re->err);
	}
	re->busy = 0;
}

static void query_cb(void *, unsigned char *, size_t,
    const struct dns_query *, int);

/* Ask the nameservers for name, of the entry's family: 0 or -1. */
static int
entry_query(struct rentry *re, const char *name)
{
	unsigned char msg[DNS_HDR_LEN + DNS_NAME_MAX + 4 + 11 + 16];
	struct dns_query q;
	size_t len;
	const struct resolver_conf *rc = re->r->rc;

	if (dns_make_query(name, re->family == AF_INET ? DNS_TYPE_A :
	    DNS_TYPE_AAAA, 0, RES_EDNS_SIZE, msg, sizeof(msg), &len,
	    &q) != 0)
		return -1;
	/* ip= of a resolver file: the client subnet servers are told */
	if (rc != NULL && rc->has_ip)
		(void)dns_add_ecs(msg, &len, sizeof(msg), rc->ip_family,
		    rc->ip);
	if ((re->q = dnsup_query(re->r->up, msg, len, query_cb, re)) == NULL)
		return -1;
	return 0;
}

static void
query_cb(void *arg, unsigned char *msg, size_t len,
    const struct dns_query *q, int err)
{
	struct rentry *re = arg;
	const struct resolver_conf *rc = re->r->rc;
	struct dns_answer_info ai;
	struct dns_addrs da;
	uint32_t ttl = 0;
	size_t i;

	re->q = NULL;
	memset(&re->addrs, 0, sizeof(re->addrs));
	re->addrs.family = re->family;
	if (msg == NULL) {
		re->err = err == ETIMEDOUT ? ETIMEDOUT : EIO;
	} else if (dns_parse_response(msg, len, q, &ai) != 0 ||
	    dns_answer_addrs(msg, len, q, &da) != 0) {
		re->err = EIO;
	} else if (ai.rcode != DNS_RCODE_NOERROR &&
	    ai.rcode != DNS_RCODE_NXDOMAIN) {
		re->err = EIO;
	} else if (da.n == 0 && ai.rcode == DNS_RCODE_NOERROR &&
	    da.cname[0] != '\0' && re->hops < DNS_CNAME_MAX &&
	    entry_query(re, da.cname) == 0) {
		re->hops++;
		return;		/* only the alias: its target asked next */
	} else if (da.n == 0) {
		re->err = ENOENT;
		ttl = da.ttl < RES_NEG_MAX ? da.ttl : RES_NEG_MAX;
	} else {
		re->err = 0;
		re->addrs.n = da.n;
		for (i = 0; i < da.n; i++)
			memcpy(re->family == AF_INET ?
			    (void *)&re->addrs.u.v4[i] :
			    (void *)&re->addrs.u.v6[i], da.addr[i],
			    re->family == AF_INET ? 4 : 16);
		ttl = da.ttl < RES_TTL_MAX ? da.ttl : RES_TTL_MAX;
	}
	/* ttl= in the resolver's configuration: < 0 no cache, > 0 fixed */
	if (rc != NULL && rc->has_ttl && rc->ttl_ms != 0 &&
	    (re->err == 0 || re->err == ENOENT))
		ttl = rc->ttl_ms < 0 ? 0 : (uint32_t)(rc->ttl_ms / 1000);
	re->valid = 1;
	re->hops = 0;
	re->addrs.ttl = ttl;
	re->expires = mono_sec() + (time_t)ttl;
	if (ttl == 0)
		re->expires = 0;	/* for those waiting now only */
	debug("%s: %s %s: %s%s (%u s)", re->r->who, re->name,
	    re->family == AF_INET ? "A" : "AAAA", re->err == 0 ? "" :
	    resolve_strerror(re->err), re->err == 0 ? "answered" : "", ttl);
	entry_answer(re);
}

/* The entry for name and family, made (or reused) if need be. */
static struct rentry *
entry_get(struct resolver *r, const char *name, int family)
{
	size_t b = name_hash(name, family);
	struct rentry *re, *old;

	LIST_FOREACH(re, &r->buckets[b], hash)
		if (re->family == family && strcmp(re->name, name) == 0) {
			TAILQ_REMOVE(&r->lru, re, lru);
			TAILQ_INSERT_HEAD(&r->lru, re, lru);
			return re;
		}
	if (r->n >= RES_CACHE_MAX) {
		/* the least recently used entry nobody is waiting for */
		TAILQ_FOREACH_REVERSE(old, &r->lru, rlru, lru)
			if (old->q == NULL && !old->busy &&
			    TAILQ_EMPTY(&old->waiters))
				break;
		if (old != NULL)
			entry_free(old);
	}
	if ((re = calloc(1, sizeof(*re))) == NULL)
		return NULL;
	re->r = r;
	snprintf(re->name, sizeof(re->name), "%s", name);
	re->family = family;
	TAILQ_INIT(&re->waiters);
	LIST_INSERT_HEAD(&r->buckets[b], re, hash);
	TAILQ_INSERT_HEAD(&r->lru, re, lru);
	r->n++;
	return re;
}

/* One family of req: a cached answer, or a wait for the query. */
static int
want(struct resolve_req *req, int i, const char *name, int family)
{
	struct resolver *r = req->r;
	struct resolve_addrs none;
	struct rentry *re;

	if ((re = entry_get(r, name, family)) == NULL)
		return -1;
	if (re->valid && re->q == NULL && re->expires > mono_sec()) {
		stats_dns(1);
		re->addrs.ttl = (uint32_t)(re->expires - mono_sec());
		ready_add(req, i, &re->addrs, re->err);
		return 0;
	}
	stats_dns(0);
	req->w[i].req = req;
	req->w[i].re = re;
	TAILQ_INSERT_TAIL(&re->waiters, &req->w[i], entry);
	if (re->q != NULL)
		return 0;		/* asked already: share it */
	if (entry_query(re, name) != 0) {
		TAILQ_REMOVE(&re->waiters, &req->w[i], entry);
		req->w[i].re = NULL;
		memset(&none, 0, sizeof(none));
		none.family = family;
		ready_add(req, i, &none, EINVAL);
	}
	return 0;
}

/*
 * The name as asked: lower case, without a final dot ("name." is
 * "name", as gost and the C library take it), domain= appended.
 */
static int
name_norm(struct resolver *r, const char *in, char *out, size_t outlen)
{
	size_t n = strlen(in), i;

	if (n > 0 && in[n - 1] == '.')
		n--;
	if (n == 0 || n >= outlen)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = in[i] >= 'A' && in[i] <= 'Z' ?
		    (char)(in[i] - 'A' + 'a') : in[i];
	out[n] = '\0';
	/* gost: domain= is appended to names without a dot */
	if (memchr(out, '.', n) == NULL && r->rc != NULL &&
	    r->rc->domain != NULL && n + 1 + strlen(r->rc->domain) < outlen) {
		out[n] = '.';
		memcpy(out + n + 1, r->rc->domain, strlen(r->rc->domain) + 1);
	}
	return 0;
}

int
resolve_cached(struct resolver *r, const char *name, int family,
    struct resolve_addrs *a)
{
	char norm[DNS_NAME_MAX + 2];
	struct rentry *re;
	size_t b;

	if (hosts_lookup(sys_hosts, name) != NULL ||
	    name_norm(r, name, norm, sizeof(norm)) != 0)
		return -1;
	b = name_hash(norm, family);
	LIST_FOREACH(re, &r->buckets[b], hash)
		if (re->family == family && strcmp(re->name, norm) == 0)
			break;
	if (re == NULL || !re->valid || re->q != NULL ||
	    re->expires <= mono_sec())
		return -1;
	*a = re->addrs;
	a->ttl = (uint32_t)(re->expires - mono_sec());
	return re->err;
}

struct resolve_req *
resolve_start(struct resolver *r, const char *name, int fams, resolve_cb cb,
    void *arg)
{
	struct resolve_req *req;
	const struct hosts_entry *he;
	struct resolve_addrs a;
	char norm[DNS_NAME_MAX + 2];
	int i, fam[2] = { AF_INET6, AF_INET }, bit[2] = { RESOLVE_V6,
	    RESOLVE_V4 };

	if ((req = calloc(1, sizeof(*req))) == NULL)
		return NULL;
	req->r = r;
	req->cb = cb;
	req->arg = arg;
	for (i = 0; i < 2; i++)
		if (fams & bit[i])
			req->remaining++;
	he = hosts_lookup(sys_hosts, name);
	for (i = 0; i < 2; i++) {
		if (!(fams & bit[i]))
			continue;
		memset(&a, 0, sizeof(a));
		a.family = fam[i];
		if (he != NULL) {
			/* /etc/hosts: its address, none of the other family */
			if (he->family == fam[i]) {
				memcpy(fam[i] == AF_INET ? (void *)&a.u.v4[0] :
				    (void *)&a.u.v6[0], he->addr,
				    fam[i] == AF_INET ? 4 : 16);
				a.n = 1;
			}
			ready_add(req, i, &a, a.n ? 0 : ENOENT);
		} else if (name_norm(r, name, norm, sizeof(norm)) != 0)
			ready_add(req, i, &a, EINVAL);
		else if (want(req, i, norm, fam[i]) != 0) {
			req_free(req);
			return NULL;
		}
	}
	return req;
}
