/*
 * dns://: a caching DNS proxy.  Queries arrive over UDP or TCP (RFC
 * 7766 framing); each is parsed first, and one that does not parse as a
 * standard query never reaches an upstream (FORMERR, or nothing for
 * what is not even a query).  Answers are cached by question for the
 * smallest TTL they carry (or ttl=), and served from the cache with the
 * TTLs counted down.  Upstreams (UDP, TCP, DoT, DoH) are asked through
 * the exchange the resolver uses too (core/dnsup.c), each in turn.
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
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "cfgfile.h"
#include "core/dial.h"
#include "core/dnsup.h"
#include "core/resolve.h"
#include "core/stats.h"
#include "err.h"
#include "log.h"
#include "match.h"
#include "proto/dns.h"
#include "worker.h"
#include "handler/handler.h"

#define DNSP_BUCKETS	4096
#define DNSP_CACHE_MAX	10000		/* answers kept per listener */
#define DNSP_PENDING	1024		/* queries in flight per listener */

struct dnsp;

struct centry {
	LIST_ENTRY(centry)	 hash;
	TAILQ_ENTRY(centry)	 lru;
	unsigned char		 key[DNS_NAME_MAX + 5];
	size_t			 keylen;
	unsigned char		*msg;
	size_t			 len;
	time_t			 stored;
	uint32_t		 ttl;
};

/* A TCP client: replies go out in the order they are ready. */
struct dtcp {
	struct dnsp		*dp;
	struct bufferevent	*bev;
	struct stconn		*st;		/* its record (core/stats.h) */
	unsigned int		 refs;		/* queries in flight */
	int			 closed;
};

struct dq {
	LIST_ENTRY(dq)		 entry;
	struct dnsp		*dp;
	struct sockaddr_storage	 peer;		/* a UDP client */
	socklen_t		 peerlen;
	struct dtcp		*tc;		/* or a TCP one */
	struct dns_query	 q;		/* the client's */
	unsigned char		*msg;		/* as it came */
	size_t			 len;
	struct dnsup_req	*up;
};

struct dnsp {
	struct worker			*wk;
	const struct listener_conf	*l;
	size_t				 idx;		/* the listener's */
	int				 fd;
	struct event			*ev;
	struct evconnlistener		*lev;
	struct dnsup			*up;
	size_t				 npending;
	LIST_HEAD(, dq)			 pending;
	LIST_HEAD(, centry)		 cache[DNSP_BUCKETS];
	TAILQ_HEAD(centry_lru, centry)	 lru;
	size_t				 ncache;
};

static unsigned char pkt[DNS_MSG_MAX + 1];

static size_t
cache_key(const struct dns_query *q, unsigned char *key)
{
	memcpy(key, q->qname_wire, q->qname_len);
	key[q->qname_len] = (unsigned char)(q->qtype >> 8);
	key[q->qname_len + 1] = (unsigned char)q->qtype;
	key[q->qname_len + 2] = (unsigned char)(q->qclass >> 8);
	key[q->qname_len + 3] = (unsigned char)q->qclass;
	key[q->qname_len + 4] = (unsigned char)q->do_bit;
	return q->qname_len + 5;
}

static size_t
key_hash(const unsigned char *k, size_t len)
{
	uint32_t h = 2166136261U;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ k[i]) * 16777619U;
	return h % DNSP_BUCKETS;
}

static void
centry_free(struct dnsp *dp, struct centry *e)
{
	LIST_REMOVE(e, hash);
	TAILQ_REMOVE(&dp->lru, e, lru);
	dp->ncache--;
	free(e->msg);
	free(e);
}

static struct centry *
cache_find(struct dnsp *dp, const struct dns_query *q)
{
	unsigned char key[DNS_NAME_MAX + 5];
	size_t kl = cache_key(q, key);
	struct centry *e;

	LIST_FOREACH(e, &dp->cache[key_hash(key, kl)], hash) {
		if (e->keylen != kl || memcmp(e->key, key, kl) != 0)
			continue;
		if (time(NULL) - e->stored >= (time_t)e->ttl) {
			centry_free(dp, e);
			return NULL;
		}
		TAILQ_REMOVE(&dp->lru, e, lru);
		TAILQ_INSERT_HEAD(&dp->lru, e, lru);
		return e;
	}
	return NULL;
}

static void
cache_store(struct dnsp *dp, const struct dns_query *q,
    const unsigned char *msg, size_t len, uint32_t ttl)
{
	struct centry *e;

	if ((e = cache_find(dp, q)) != NULL)
		centry_free(dp, e);
	if (dp->ncache >= DNSP_CACHE_MAX)
		centry_free(dp, TAILQ_LAST(&dp->lru, centry_lru));
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->msg = malloc(len)) == NULL) {
		free(e);
		return;
	}
	e->keylen = cache_key(q, e->key);
	memcpy(e->msg, msg, len);
	e->len = len;
	e->stored = time(NULL);
	e->ttl = ttl;
	LIST_INSERT_HEAD(&dp->cache[key_hash(e->key, e->keylen)], e, hash);
	TAILQ_INSERT_HEAD(&dp->lru, e, lru);
	dp->ncache++;
}

static void
dtcp_release(struct dtcp *tc)
{
	if (tc->refs > 0 || !tc->closed)
		return;
	bufferevent_free(tc->bev);
	stconn_close(tc->st);
	worker_conn_closed(tc->dp->wk);
	free(tc);
}

/* A reply to the client: UDP (truncated if too long for it) or TCP. */
static void
reply(struct dnsp *dp, const struct sockaddr_storage *peer,
    socklen_t peerlen, struct dtcp *tc, const struct dns_query *q,
    unsigned char *msg, size_t len)
{
	unsigned char lenb[2], cut[DNS_HDR_LEN + DNS_NAME_MAX + 4 + 11];

	if (tc != NULL) {
		if (tc->closed)
			return;
		lenb[0] = (unsigned char)(len >> 8);
		lenb[1] = (unsigned char)len;
		bufferevent_write(tc->bev, lenb, 2);
		bufferevent_write(tc->bev, msg, len);
		stconn_bytes(tc->st, 1, 2 + len);
		return;
	}
	if (q != NULL && len > q->udp_size) {
		/* RFC 1035 4.2.1: the header and question with TC set */
		if ((len = dns_truncate(msg, len, q->edns, cut,
		    sizeof(cut))) == 0)
			return;
		msg = cut;
	}
	if (sendto(dp->fd, msg, len, 0, (const struct sockaddr *)peer,
	    peerlen) != -1)
		stats_lis_bytes(dp->idx, 1, len);
}

static void
dq_free(struct dq *d)
{
	struct dnsp *dp = d->dp;

	LIST_REMOVE(d, entry);
	dp->npending--;
	dnsup_cancel(d->up);
	if (d->tc != NULL) {
		d->tc->refs--;
		dtcp_release(d->tc);
	}
	free(d->msg);
	free(d);
}

/* An upstream answered (checked against the question), or none did. */
static void
dq_answer(void *arg, unsigned char *msg, size_t len,
    const struct dns_query *uq, int err)
{
	struct dq *d = arg;
	struct dnsp *dp = d->dp;
	unsigned char out[DNS_HDR_LEN + DNS_NAME_MAX + 4];
	struct dns_answer_info ai;
	uint32_t ttl;
	size_t n;

	d->up = NULL;
	if (msg == NULL) {
		debug("%s: %s: %s", dp->l->node->url, d->q.qname,
		    resolve_strerror(err));
		if ((n = dns_make_error(d->msg, d->len, DNS_RCODE_SERVFAIL,
		    out, sizeof(out))) > 0)
			reply(dp, &d->peer, d->peerlen, d->tc, &d->q, out, n);
		dq_free(d);
		return;
	}
	(void)dns_parse_response(msg, len, uq, &ai);
	dns_set_id(msg, d->q.id);
	ttl = dp->l->ttl_ms > 0 ? (uint32_t)(dp->l->ttl_ms / 1000) :
	    ai.min_ttl;
	if (!ai.truncated && ttl > 0 && (ai.rcode == DNS_RCODE_NOERROR ||
	    ai.rcode == DNS_RCODE_NXDOMAIN))
		cache_store(dp, &d->q, msg, len, ttl);
	reply(dp, &d->peer, d->peerlen, d->tc, &d->q, msg, len);
	dq_free(d);
}

/* One query from a client. */
static void
dnsp_query(struct dnsp *dp, const unsigned char *p, size_t len,
    const struct sockaddr_storage *peer, socklen_t peerlen, struct dtcp *tc)
{
	unsigned char out[DNS_HDR_LEN + DNS_NAME_MAX + 4];
	struct dns_query q;
	struct centry *e;
	struct dq *d;
	size_t n;
	int r;

	if ((r = dns_parse_query(p, len, &q)) != 0) {
		debug("%s: malformed query: %s", dp->l->node->url, ostp_err(r));
		if ((n = dns_make_error(p, len, DNS_RCODE_FORMERR, out,
		    sizeof(out))) > 0)
			reply(dp, peer, peerlen, tc, NULL, out, n);
		return;
	}
	if (!access_allowed(dp->l->whitelist, dp->l->blacklist, "dns",
	    q.qname, 0)) {
		if ((n = dns_make_error(p, len, DNS_RCODE_REFUSED, out,
		    sizeof(out))) > 0)
			reply(dp, peer, peerlen, tc, &q, out, n);
		return;
	}
	if ((e = cache_find(dp, &q)) != NULL && e->len <= sizeof(pkt)) {
		memcpy(pkt, e->msg, e->len);
		dns_set_id(pkt, q.id);
		dns_rewrite_ttls(pkt, e->len, (uint32_t)(time(NULL) -
		    e->stored));
		debug("%s: %s from the cache", dp->l->node->url, q.qname);
		stats_lis_dns(dp->idx, 1);
		reply(dp, peer, peerlen, tc, &q, pkt, e->len);
		return;
	}
	if (dp->npending >= DNSP_PENDING) {
		if ((n = dns_make_error(p, len, DNS_RCODE_SERVFAIL, out,
		    sizeof(out))) > 0)
			reply(dp, peer, peerlen, tc, &q, out, n);
		return;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->msg = malloc(len)) == NULL) {
		free(d);
		return;
	}
	d->dp = dp;
	if (peer != NULL) {
		memcpy(&d->peer, peer, peerlen);
		d->peerlen = peerlen;
	}
	if ((d->tc = tc) != NULL)
		tc->refs++;
	memcpy(d->msg, p, len);
	d->len = len;
	d->q = q;
	LIST_INSERT_HEAD(&dp->pending, d, entry);
	dp->npending++;
	stats_lis_dns(dp->idx, 0);
	if ((d->up = dnsup_query(dp->up, p, len, dq_answer, d)) == NULL) {
		dq_free(d);
		return;
	}
	debug("%s: %s type %u to %s", dp->l->node->url, q.qname, q.qtype,
	    dnsup_req_server(d->up));
}

static void
dnsp_udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dnsp *dp = arg;
	struct sockaddr_storage peer;
	socklen_t pl;
	ssize_t n;
	int i;

	(void)what;
	for (i = 0; i < 64; i++) {
		pl = sizeof(peer);
		n = recvfrom(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&peer,
		    &pl);
		if (n < 0)
			return;
		stats_lis_bytes(dp->idx, 0, (size_t)n);
		dnsp_query(dp, pkt, (size_t)n, &peer, pl, NULL);
	}
}

static void
dtcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct dtcp *tc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	unsigned char lenb[2];
	static unsigned char q[DNS_MSG_MAX];
	size_t n;

	while (evbuffer_copyout(in, lenb, 2) == 2) {
		n = (size_t)lenb[0] << 8 | lenb[1];
		if (evbuffer_get_length(in) < 2 + n)
			return;
		evbuffer_drain(in, 2);
		evbuffer_remove(in, q, n);
		stconn_bytes(tc->st, 0, 2 + n);
		dnsp_query(tc->dp, q, n, NULL, 0, tc);
	}
}

static void
dtcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct dtcp *tc = arg;

	(void)bev;
	(void)what;
	tc->closed = 1;
	bufferevent_disable(tc->bev, EV_READ | EV_WRITE);
	dtcp_release(tc);
}

static void
dnsp_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct dnsp *dp = arg;
	struct timeval idle = { 30, 0 };
	struct dtcp *tc;

	(void)lev;
	(void)sa;
	(void)salen;
	dp->wk->stats.accepted++;
	dp->wk->stats.active++;
	if ((tc = calloc(1, sizeof(*tc))) == NULL ||
	    (tc->bev = bufferevent_socket_new(dp->wk->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(tc);
		close(fd);
		worker_conn_closed(dp->wk);
		return;
	}
	tc->dp = dp;
	/* a connection of the listener's: listed, counted, logged */
	tc->st = stconn_new_fd(dp->wk, dp->idx, fd);
	stconn_served(tc->st);
	bufferevent_setcb(tc->bev, dtcp_read_cb, NULL, dtcp_event_cb, tc);
	/* RFC 7766 6.2.3: idle connections are closed */
	bufferevent_set_timeouts(tc->bev, &idle, NULL);
	bufferevent_setwatermark(tc->bev, EV_READ, 0, 2 + DNS_MSG_MAX);
	bufferevent_enable(tc->bev, EV_READ);
}

int
dnsproxy_start(struct worker *wk, const struct listener_conf *l, size_t idx,
    int fd)
{
	struct evconnlistener **levp = &wk->listeners[idx];
	struct dnsp *dp;
	size_t i;

	if ((dp = calloc(1, sizeof(*dp))) == NULL)
		return -1;
	dp->wk = wk;
	dp->l = l;
	dp->idx = idx;
	dp->fd = fd;
	LIST_INIT(&dp->pending);
	if ((dp->up = dnsup_new(wk, l->dns_up, l->node->url,
	    DNSUP_ROTATE)) == NULL) {
		free(dp);
		return -1;
	}
	/* the upstreams are asked as the listener's route leaves */
	{
		struct egress e;

		conf_egress(wk->conf, l, &e);
		dnsup_set_egress(dp->up, &e);
	}
	for (i = 0; i < DNSP_BUCKETS; i++)
		LIST_INIT(&dp->cache[i]);
	TAILQ_INIT(&dp->lru);
	evutil_make_socket_nonblocking(fd);
	if (l->socktype == SOCK_STREAM) {
		return worker_listen(wk, fd, dnsp_accept_cb, dp, levp);
	}
	dp->ev = event_new(wk->base, fd, EV_READ | EV_PERSIST, dnsp_udp_cb,
	    dp);
	if (dp->ev == NULL)
		return -1;
	event_add(dp->ev, NULL);
	return 0;
}
