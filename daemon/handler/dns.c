/*
 * dns://: a caching DNS proxy.  Queries arrive over UDP or TCP (RFC
 * 7766 framing); each is parsed first, and one that does not parse as a
 * standard query never reaches an upstream (FORMERR, or nothing for
 * what is not even a query).  Answers are cached by question for the
 * smallest TTL they carry (or ttl=), and served from the cache with the
 * TTLs counted down.  Upstreams are tried in turn: UDP, TCP, DNS over
 * TLS (RFC 7858) and DNS over HTTPS (RFC 8484, POST); the stream ones
 * use one connection per query.
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
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "cfgfile.h"
#include "core/dial.h"
#include "err.h"
#include "log.h"
#include "match.h"
#include "proto/dns.h"
#include "worker.h"
#include "handler/handler.h"

#define DNSP_BUCKETS	4096
#define DNSP_CACHE_MAX	10000		/* answers kept per listener */
#define DNSP_PENDING	1024		/* queries in flight per listener */
#define DNSP_TIMEOUT_MS	5000
#define DOH_REPLY_MAX	(DNS_MSG_MAX + 4096)

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
	unsigned int		 refs;		/* queries in flight */
	int			 closed;
};

struct dq {
	LIST_ENTRY(dq)		 entry;
	struct dnsp		*dp;
	struct sockaddr_storage	 peer;		/* a UDP client */
	socklen_t		 peerlen;
	struct dtcp		*tc;		/* or a TCP one */
	uint16_t		 cid;		/* the client's id */
	struct dns_query	 q;		/* with our id */
	unsigned char		*msg;
	size_t			 len;
	size_t			 up;		/* upstream being tried */
	size_t			 tries;
	struct event		*tmo;
	struct bufferevent	*bev;		/* stream upstream */
};

struct dnsp {
	struct worker			*wk;
	const struct listener_conf	*l;
	int				 fd;
	struct event			*ev;
	struct evconnlistener		*lev;
	int				 usock[2];	/* UDP upstreams */
	struct event			*uev[2];
	size_t				 next;
	size_t				 npending;
	LIST_HEAD(, dq)			 pending[256];
	LIST_HEAD(, centry)		 cache[DNSP_BUCKETS];
	TAILQ_HEAD(centry_lru, centry)	 lru;
	size_t				 ncache;
};

static SSL_CTX *tls_ctx;
static unsigned char pkt[DNS_MSG_MAX + 1];

/* Before the sandbox: OpenSSL reads its configuration and CA store. */
int
dnsproxy_init(const struct conf *c)
{
	size_t i, j;
	int need = 0, verify = 0;

	for (i = 0; i < c->nlis; i++) {
		const struct resolver_conf *rc = c->lis[i].dns_up;

		for (j = 0; rc != NULL && j < rc->nns; j++)
			if (rc->ns[j].proto == NS_PROTO_TLS ||
			    rc->ns[j].proto == NS_PROTO_HTTPS) {
				need = 1;
				verify |= rc->ns[j].hostname != NULL;
			}
	}
	if (!need || tls_ctx != NULL)
		return 0;
	if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1 ||
	    (tls_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return -1;
	SSL_CTX_set_min_proto_version(tls_ctx, TLS1_2_VERSION);
	if (verify && SSL_CTX_load_verify_file(tls_ctx,
	    "/etc/ssl/certs/ca-certificates.crt") != 1)
		error("dns: cannot load the system CA certificates; DoT/DoH "
		    "upstreams with a server name will fail");
	return 0;
}

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
	worker_conn_closed(tc->dp->wk);
	free(tc);
}

/* A reply to the client: UDP (truncated if too long for it) or TCP. */
static void
reply(struct dnsp *dp, const struct sockaddr_storage *peer,
    socklen_t peerlen, struct dtcp *tc, const struct dns_query *q,
    unsigned char *msg, size_t len)
{
	unsigned char lenb[2];

	if (tc != NULL) {
		if (tc->closed)
			return;
		lenb[0] = (unsigned char)(len >> 8);
		lenb[1] = (unsigned char)len;
		bufferevent_write(tc->bev, lenb, 2);
		bufferevent_write(tc->bev, msg, len);
		return;
	}
	if (q != NULL && len > q->udp_size) {
		/* RFC 1035: the header and question with TC set */
		memcpy(pkt, msg, 12);
		len = dns_make_error(msg, len, DNS_RCODE_NOERROR, pkt,
		    sizeof(pkt));
		if (len == 0)
			return;
		msg = pkt;
		msg[2] |= 0x02;
	}
	(void)sendto(dp->fd, msg, len, 0, (const struct sockaddr *)peer,
	    peerlen);
}

static void
dq_free(struct dq *d)
{
	struct dnsp *dp = d->dp;

	LIST_REMOVE(d, entry);
	dp->npending--;
	if (d->tmo != NULL)
		event_free(d->tmo);
	if (d->bev != NULL)
		bufferevent_free(d->bev);
	if (d->tc != NULL) {
		d->tc->refs--;
		dtcp_release(d->tc);
	}
	free(d->msg);
	free(d);
}

static void
dq_fail(struct dq *d)
{
	unsigned char out[DNS_HDR_LEN + DNS_NAME_MAX + 4];
	size_t n;

	dns_set_id(d->msg, d->cid);
	if ((n = dns_make_error(d->msg, d->len, DNS_RCODE_SERVFAIL, out,
	    sizeof(out))) > 0)
		reply(d->dp, &d->peer, d->peerlen, d->tc, &d->q, out, n);
	dq_free(d);
}

/* An upstream answered: check it against the question, cache, reply. */
static void
dq_answer(struct dq *d, unsigned char *msg, size_t len)
{
	struct dnsp *dp = d->dp;
	struct dns_answer_info ai;
	uint32_t ttl;
	int e;

	if ((e = dns_parse_response(msg, len, &d->q, &ai)) != 0) {
		debug("%s: bad answer for %s: %s", dp->l->node->url,
		    d->q.qname, ostp_err(e));
		return;		/* a forgery or garbage: keep waiting */
	}
	dns_set_id(msg, d->cid);
	ttl = dp->l->ttl_ms > 0 ? (uint32_t)(dp->l->ttl_ms / 1000) :
	    ai.min_ttl;
	if (!ai.truncated && ttl > 0 && (ai.rcode == DNS_RCODE_NOERROR ||
	    ai.rcode == DNS_RCODE_NXDOMAIN))
		cache_store(dp, &d->q, msg, len, ttl);
	reply(dp, &d->peer, d->peerlen, d->tc, &d->q, msg, len);
	dq_free(d);
}

static struct dq *
dq_find(struct dnsp *dp, uint16_t id)
{
	struct dq *d;

	LIST_FOREACH(d, &dp->pending[id & 0xff], entry)
		if (d->q.id == id)
			return d;
	return NULL;
}

static void dq_send(struct dq *);
static int doh_reply(struct dq *, int eof);

static void
dq_next(struct dq *d)
{
	if (d->bev != NULL) {
		bufferevent_free(d->bev);
		d->bev = NULL;
	}
	if (++d->tries >= d->dp->l->dns_up->nns) {
		dq_fail(d);
		return;
	}
	d->up = (d->up + 1) % d->dp->l->dns_up->nns;
	dq_send(d);
}

static void
dq_tmo_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dq *d = arg;

	(void)fd;
	(void)what;
	debug("%s: upstream %s: no answer for %s", d->dp->l->node->url,
	    d->dp->l->dns_up->ns[d->up].addr, d->q.qname);
	dq_next(d);
}

static void
udp_up_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dnsp *dp = arg;
	struct sockaddr_storage from;
	socklen_t fl;
	struct dq *d;
	ssize_t n;
	int i;

	(void)what;
	for (i = 0; i < 64; i++) {
		fl = sizeof(from);
		n = recvfrom(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&from,
		    &fl);
		if (n < 0)
			return;
		if (n < DNS_HDR_LEN ||
		    (d = dq_find(dp, (uint16_t)(pkt[0] << 8 | pkt[1]))) ==
		    NULL || d->bev != NULL)
			continue;
		dq_answer(d, pkt, (size_t)n);
	}
}

static int
sockaddr_of(const char *addr, struct sockaddr_storage *ss, socklen_t *sl)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	size_t hl;
	long port;

	if (colon == NULL || (hl = (size_t)(colon - addr)) >= sizeof(host))
		return -1;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	port = strtol(colon + 1, NULL, 10);
	if (port <= 0 || port > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*sl = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*sin6);
	} else
		return -1;
	return 0;
}

/* https://host[:port]/path, host an IP literal: address, host, path. */
static int
doh_target(const char *url, struct sockaddr_storage *ss, socklen_t *sl,
    char *host, size_t hostlen, const char **path)
{
	const char *h = url + 8, *slash, *end;
	char hp[320];
	size_t n;

	if (strncasecmp(url, "https://", 8) != 0)
		return -1;
	slash = strchr(h, '/');
	*path = slash != NULL ? slash : "/dns-query";
	end = slash != NULL ? slash : h + strlen(h);
	if ((n = (size_t)(end - h)) == 0 || n >= hostlen || n >= 300)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	/* no port: 443 */
	if (host[n - 1] == ']' || strchr(host, ':') == NULL ||
	    (host[0] == '[' && strstr(host, "]:") == NULL))
		snprintf(hp, sizeof(hp), "%s:443", host);
	else
		snprintf(hp, sizeof(hp), "%s", host);
	return sockaddr_of(hp, ss, sl);
}

static void
stream_read_cb(struct bufferevent *bev, void *arg)
{
	struct dq *d = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	const struct nameserver *ns = &d->dp->l->dns_up->ns[d->up];
	unsigned char lenb[2];
	size_t n;

	if (ns->proto == NS_PROTO_HTTPS) {
		(void)doh_reply(d, 0);
		return;
	}
	if (evbuffer_copyout(in, lenb, 2) != 2)
		return;
	n = (size_t)lenb[0] << 8 | lenb[1];
	if (evbuffer_get_length(in) < 2 + n)
		return;
	evbuffer_drain(in, 2);
	evbuffer_remove(in, pkt, n);
	dq_answer(d, pkt, n);
}

/*
 * The DoH reply: status 200, the body (Content-Length, or up to EOF) is
 * the message.  1 when it was handled, 0 when more is needed.
 */
static int
doh_reply(struct dq *d, int eof)
{
	struct evbuffer *in = bufferevent_get_input(d->bev);
	size_t len = evbuffer_get_length(in), hl, cl = SIZE_MAX;
	unsigned char *p, *e, *h;

	if (len == 0 || len > DOH_REPLY_MAX ||
	    (p = evbuffer_pullup(in, -1)) == NULL)
		goto bad;
	if ((e = memmem(p, len, "\r\n\r\n", 4)) == NULL)
		return eof ? (dq_next(d), 1) : 0;
	hl = (size_t)(e - p) + 4;
	if (len < 12 || (memcmp(p, "HTTP/1.1 200", 12) != 0 &&
	    memcmp(p, "HTTP/1.0 200", 12) != 0))
		goto bad;
	if (memmem(p, hl, "\r\nTransfer-Encoding:", 20) != NULL)
		goto bad;	/* a chunked body is not expected here */
	for (h = p; h != NULL && h < p + hl; ) {
		h = memmem(h, hl - (size_t)(h - p), "\r\n", 2);
		if (h == NULL)
			break;
		h += 2;
		if (strncasecmp((char *)h, "Content-Length:", 15) == 0)
			cl = strtoul((char *)h + 15, NULL, 10);
	}
	if (cl != SIZE_MAX && cl > DNS_MSG_MAX)
		goto bad;
	if (cl == SIZE_MAX ? !eof : len - hl < cl)
		return eof ? (dq_next(d), 1) : 0;
	if (cl == SIZE_MAX)
		cl = len - hl;
	memcpy(pkt, p + hl, cl);
	dq_answer(d, pkt, cl);
	return 1;
 bad:
	debug("%s: DoH upstream: unusable reply", d->dp->l->node->url);
	dq_next(d);
	return 1;
}

static void
stream_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct dq *d = arg;
	const struct nameserver *ns = &d->dp->l->dns_up->ns[d->up];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	if ((what & BEV_EVENT_EOF) && ns->proto == NS_PROTO_HTTPS) {
		(void)doh_reply(d, 1);
		return;
	}
	debug("%s: upstream %s: %s", d->dp->l->node->url, ns->addr,
	    (what & BEV_EVENT_EOF) ? "closed" : "connection failed");
	dq_next(d);
}

static void
dq_send_stream(struct dq *d, const struct nameserver *ns)
{
	struct dnsp *dp = d->dp;
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[300], head[800];
	const char *path = NULL;
	unsigned char lenb[2];
	SSL *ssl = NULL;
	int n, fd;

	if (ns->proto == NS_PROTO_HTTPS) {
		if (doh_target(ns->addr, &ss, &sl, host, sizeof(host),
		    &path) != 0) {
			debug("%s: DoH upstream %s: the host must be an IP "
			    "address in this build", dp->l->node->url,
			    ns->addr);
			dq_next(d);
			return;
		}
	} else if (sockaddr_of(ns->addr, &ss, &sl) != 0) {
		dq_next(d);
		return;
	}
	/* our socket, so that -M and -I apply to it */
	if ((fd = dial_socket(dp->wk, dp->l, ss.ss_family,
	    SOCK_STREAM)) == -1) {
		dq_next(d);
		return;
	}
	if (ns->proto == NS_PROTO_TLS || ns->proto == NS_PROTO_HTTPS) {
		if (tls_ctx == NULL || (ssl = SSL_new(tls_ctx)) == NULL) {
			close(fd);
			dq_next(d);
			return;
		}
		if (ns->hostname != NULL) {
			SSL_set_tlsext_host_name(ssl, ns->hostname);
			SSL_set1_host(ssl, ns->hostname);
			SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
		}
		d->bev = bufferevent_openssl_socket_new(dp->wk->base, fd, ssl,
		    BUFFEREVENT_SSL_CONNECTING,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	} else
		d->bev = bufferevent_socket_new(dp->wk->base, fd,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (d->bev == NULL) {
		if (ssl != NULL)
			SSL_free(ssl);
		close(fd);
		dq_next(d);
		return;
	}
	bufferevent_setcb(d->bev, stream_read_cb, NULL, stream_event_cb, d);
	bufferevent_enable(d->bev, EV_READ);
	if (ns->proto == NS_PROTO_HTTPS) {
		n = snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\n"
		    "Host: %s\r\nContent-Type: application/dns-message\r\n"
		    "Accept: application/dns-message\r\nContent-Length: %zu\r\n"
		    "Connection: close\r\n\r\n", path, host, d->len);
		if (n < 0 || (size_t)n >= sizeof(head)) {
			dq_next(d);
			return;
		}
		bufferevent_write(d->bev, head, (size_t)n);
	} else {
		lenb[0] = (unsigned char)(d->len >> 8);
		lenb[1] = (unsigned char)d->len;
		bufferevent_write(d->bev, lenb, 2);
	}
	bufferevent_write(d->bev, d->msg, d->len);
	if (ssl != NULL)
		bufferevent_openssl_set_allow_dirty_shutdown(d->bev, 1);
	/* callbacks are deferred: a failure here is ours to handle */
	if (bufferevent_socket_connect(d->bev, (struct sockaddr *)&ss,
	    (int)sl) != 0)
		dq_next(d);
}

static void
dq_send(struct dq *d)
{
	struct dnsp *dp = d->dp;
	const struct nameserver *ns = &dp->l->dns_up->ns[d->up];
	unsigned long ms = dp->l->dns_up->has_timeout ?
	    dp->l->dns_up->timeout_ms : DNSP_TIMEOUT_MS;
	struct timeval tv;
	struct sockaddr_storage ss;
	socklen_t sl;
	int i, fd;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(d->tmo, &tv);
	if (ns->proto != NS_PROTO_UDP) {
		dq_send_stream(d, ns);
		return;
	}
	if (sockaddr_of(ns->addr, &ss, &sl) != 0) {
		dq_next(d);
		return;
	}
	i = ss.ss_family == AF_INET6;
	if ((fd = dp->usock[i]) == -1) {
		fd = dial_socket(dp->wk, dp->l, ss.ss_family, SOCK_DGRAM);
		if (fd == -1) {
			dq_next(d);
			return;
		}
		dp->usock[i] = fd;
		dp->uev[i] = event_new(dp->wk->base, fd, EV_READ | EV_PERSIST,
		    udp_up_cb, dp);
		if (dp->uev[i] == NULL)
			fatal_f("out of memory");
		event_add(dp->uev[i], NULL);
	}
	(void)sendto(fd, d->msg, d->len, 0, (struct sockaddr *)&ss, sl);
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
	uint16_t id;
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
	d->cid = q.id;
	/* our own random id, unique among the queries in flight */
	do {
		RAND_bytes((unsigned char *)&id, sizeof(id));
	} while (dq_find(dp, id) != NULL);
	memcpy(d->msg, p, len);
	d->len = len;
	dns_set_id(d->msg, id);
	d->q = q;
	d->q.id = id;
	d->up = dp->next++ % dp->l->dns_up->nns;
	if ((d->tmo = evtimer_new(dp->wk->base, dq_tmo_cb, d)) == NULL)
		fatal_f("out of memory");
	LIST_INSERT_HEAD(&dp->pending[id & 0xff], d, entry);
	dp->npending++;
	debug("%s: %s type %u to %s", dp->l->node->url, q.qname, q.qtype,
	    dp->l->dns_up->ns[d->up].addr);
	dq_send(d);
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
	dp->fd = fd;
	dp->usock[0] = dp->usock[1] = -1;
	for (i = 0; i < 256; i++)
		LIST_INIT(&dp->pending[i]);
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
