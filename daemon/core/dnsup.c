/*
 * DNS exchanges with nameservers (see dnsup.h).  A request owns
 * everything it uses: its socket or connection, its timer and a
 * reference to the configuration it started with, so that a reloaded
 * resolver file or a cancelled caller leaves nothing behind.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "cfgfile.h"
#include "conf.h"
#include "log.h"
#include "ref.h"
#include "core/dial.h"
#include "core/dnsup.h"
#include "core/happy.h"
#include "core/resolve.h"
#include "proto/dns.h"
#include "worker.h"

#define DNSUP_TIMEOUT_MS	5000	/* per nameserver, gost's default */
#define DOH_REPLY_MAX		(DNS_MSG_MAX + 4096)

struct dnsup {
	struct worker			*wk;
	struct resolver_conf		*rc;	/* one reference */
	char				 who[128];
	int				 flags;
	size_t				 next;
	int				 has_egress;
	struct egress			 egress;	/* a route's */
};

struct dnsup_req {
	struct dnsup			*up;
	struct resolver_conf		*rc;	/* one reference */
	struct dns_query		 q;	/* with our id */
	unsigned char			*msg;
	size_t				 len;
	size_t				 ns;	/* nameserver being asked */
	size_t				 tries;
	int				 started;
	int				 tcp;	/* UDP answered TC: again */
	int				 err;
	int				 fd;	/* UDP */
	struct event			*ev;	/* its reads */
	struct event			*tmo;
	struct bufferevent		*bev;	/* stream */
	struct happy			*hc;	/* connecting */
	struct resolve_req		*rr;	/* a UDP server's name */
	char				 sni[300];
	dnsup_cb			 cb;
	void				*arg;
};

static SSL_CTX *tls_ctx;
static unsigned char pkt[DNS_MSG_MAX + 1];

int
dnsup_init(const struct conf *c)
{
	size_t i;
	int need = 0;

	/*
	 * Any listener with its own resolver may meet DoT or DoH, even
	 * later in a reloaded file: the CA store can only be read now.
	 */
	for (i = 0; i < c->nlis; i++)
		if (c->lis[i].dns_up != NULL || c->lis[i].dns != NULL ||
		    c->lis[i].dns_path != NULL)
			need = 1;
	if (!need || tls_ctx != NULL)
		return 0;
	if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1 ||
	    (tls_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return -1;
	SSL_CTX_set_min_proto_version(tls_ctx, TLS1_2_VERSION);
	if (SSL_CTX_load_verify_file(tls_ctx,
	    "/etc/ssl/certs/ca-certificates.crt") != 1)
		debug("dns: no system CA certificates; DoT/DoH nameservers "
		    "with a server name will fail");
	return 0;
}

struct dnsup *
dnsup_new(struct worker *wk, const struct resolver_conf *rc, const char *who,
    int flags)
{
	struct dnsup *up;

	if ((up = calloc(1, sizeof(*up))) == NULL)
		return NULL;
	up->wk = wk;
	up->rc = ref_get((void *)rc);
	up->flags = flags;
	snprintf(up->who, sizeof(up->who), "%s", who);
	return up;
}

void
dnsup_set_conf(struct dnsup *up, const struct resolver_conf *rc)
{
	ref_put(up->rc);
	up->rc = ref_get((void *)rc);
	up->next = 0;
}

void
dnsup_set_egress(struct dnsup *up, const struct egress *e)
{
	up->egress = *e;
	up->has_egress = 1;
}

const char *
dnsup_req_server(const struct dnsup_req *r)
{
	return r->rc != NULL && r->rc->nns > 0 ? r->rc->ns[r->ns].addr : "-";
}

/* Everything of the current attempt; the request stays. */
static void
req_drop(struct dnsup_req *r)
{
	happy_cancel(r->hc);
	r->hc = NULL;
	resolve_cancel(r->rr);
	r->rr = NULL;
	if (r->ev != NULL) {
		event_free(r->ev);
		r->ev = NULL;
	}
	if (r->fd != -1) {
		close(r->fd);
		r->fd = -1;
	}
	if (r->bev != NULL) {
		bufferevent_free(r->bev);
		r->bev = NULL;
	}
}

void
dnsup_cancel(struct dnsup_req *r)
{
	if (r == NULL)
		return;
	req_drop(r);
	if (r->tmo != NULL)
		event_free(r->tmo);
	ref_put(r->rc);
	free(r->msg);
	free(r);
}

static void
req_done(struct dnsup_req *r, unsigned char *msg, size_t len, int err)
{
	dnsup_cb cb = r->cb;
	void *arg = r->arg;
	struct dns_query q = r->q;

	dnsup_cancel(r);
	cb(arg, msg, len, &q, err);
}

static void req_send(struct dnsup_req *);

/* This nameserver will not answer: the next one, or the end. */
static void
req_next(struct dnsup_req *r, int err)
{
	req_drop(r);
	r->tcp = 0;
	if (err != 0)
		r->err = err;
	if (++r->tries >= r->rc->nns) {
		req_done(r, NULL, 0, r->err);
		return;
	}
	r->ns = (r->ns + 1) % r->rc->nns;
	req_send(r);
}

static void
tmo_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dnsup_req *r = arg;

	(void)fd;
	(void)what;
	if (r->rc == NULL || r->rc->nns == 0) {
		req_done(r, NULL, 0, EHOSTUNREACH);
		return;
	}
	if (!r->started) {
		r->started = 1;
		req_send(r);
		return;
	}
	debug("%s: nameserver %s: no answer for %s", r->up->who,
	    r->rc->ns[r->ns].addr, r->q.qname);
	req_next(r, ETIMEDOUT);
}

/* An answer: ours (id, question, form) or ignored as a forgery. */
static void
req_answer(struct dnsup_req *r, unsigned char *msg, size_t len)
{
	struct dns_answer_info ai;
	int e;

	if ((e = dns_parse_response(msg, len, &r->q, &ai)) != 0) {
		debug("%s: nameserver %s: bad answer for %s", r->up->who,
		    r->rc->ns[r->ns].addr, r->q.qname);
		if (r->bev != NULL)
			req_next(r, EIO);	/* a stream has one answer */
		return;
	}
	if (ai.truncated && r->fd != -1) {
		/* RFC 7766 5: the same server over TCP */
		debug("%s: nameserver %s: the answer for %s was cut short; "
		    "asking over TCP", r->up->who, r->rc->ns[r->ns].addr,
		    r->q.qname);
		req_drop(r);
		r->tcp = 1;
		req_send(r);
		return;
	}
	req_done(r, msg, len, 0);
}

static void
udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dnsup_req *r = arg;
	ssize_t n;

	(void)what;
	/* one datagram a call: an answer may end the request */
	if ((n = recv(fd, pkt, sizeof(pkt), 0)) < 0) {
		if (errno == ECONNREFUSED)
			req_next(r, EIO);
		return;
	}
	if (n >= DNS_HDR_LEN)
		req_answer(r, pkt, (size_t)n);
}

/* "host:port", "[v6]:port": the parts; host may be a name. */
static int
split_hostport(const char *addr, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon = strrchr(addr, ':');
	size_t hl;
	long p;
	char *end;

	if (colon == NULL || (hl = (size_t)(colon - addr)) >= hostlen ||
	    hl == 0)
		return -1;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p <= 0 || p > 65535)
		return -1;
	*port = (uint16_t)p;
	return 0;
}

/* https://host[:port]/path: host, port and path (default /dns-query). */
static int
doh_split(const char *url, char *host, size_t hostlen, uint16_t *port,
    const char **path)
{
	const char *h = url + 8, *slash, *end;
	char hp[320];
	size_t n;

	if (strncasecmp(url, "https://", 8) != 0)
		return -1;
	slash = strchr(h, '/');
	*path = slash != NULL ? slash : "/dns-query";
	end = slash != NULL ? slash : h + strlen(h);
	if ((n = (size_t)(end - h)) == 0 || n >= 300)
		return -1;
	memcpy(hp, h, n);
	hp[n] = '\0';
	/* no port: 443 */
	if (hp[n - 1] == ']' || strchr(hp, ':') == NULL ||
	    (hp[0] == '[' && strstr(hp, "]:") == NULL))
		snprintf(hp + n, sizeof(hp) - n, ":443");
	return split_hostport(hp, host, hostlen, port);
}

/*
 * The DoH reply: status 200, the body (Content-Length, or up to EOF) is
 * the message.  1 when it was handled, 0 when more is needed.
 */
static int
doh_reply(struct dnsup_req *r, int eof)
{
	struct evbuffer *in = bufferevent_get_input(r->bev);
	size_t len = evbuffer_get_length(in), hl, cl = SIZE_MAX;
	unsigned char *p, *e, *h;

	if (len == 0 || len > DOH_REPLY_MAX ||
	    (p = evbuffer_pullup(in, -1)) == NULL)
		goto bad;
	if ((e = memmem(p, len, "\r\n\r\n", 4)) == NULL)
		return eof ? (req_next(r, EIO), 1) : 0;
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
		return eof ? (req_next(r, EIO), 1) : 0;
	if (cl == SIZE_MAX)
		cl = len - hl;
	memcpy(pkt, p + hl, cl);
	req_answer(r, pkt, cl);
	return 1;
 bad:
	debug("%s: DoH nameserver %s: unusable reply", r->up->who,
	    r->rc->ns[r->ns].addr);
	req_next(r, EIO);
	return 1;
}

static void
stream_read_cb(struct bufferevent *bev, void *arg)
{
	struct dnsup_req *r = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	unsigned char lenb[2];
	size_t n;

	if (r->rc->ns[r->ns].proto == NS_PROTO_HTTPS && !r->tcp) {
		(void)doh_reply(r, 0);
		return;
	}
	if (evbuffer_copyout(in, lenb, 2) != 2)
		return;
	n = (size_t)lenb[0] << 8 | lenb[1];
	if (evbuffer_get_length(in) < 2 + n)
		return;
	evbuffer_drain(in, 2);
	evbuffer_remove(in, pkt, n);
	req_answer(r, pkt, n);
}

static void
stream_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct dnsup_req *r = arg;
	const struct nameserver *ns = &r->rc->ns[r->ns];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	if ((what & BEV_EVENT_EOF) && ns->proto == NS_PROTO_HTTPS &&
	    !r->tcp) {
		(void)doh_reply(r, 1);
		return;
	}
	debug("%s: nameserver %s: %s", r->up->who, ns->addr,
	    (what & BEV_EVENT_EOF) ? "closed" : "connection failed");
	req_next(r, EIO);
}

/* Connected to a stream nameserver: the query, framed for it. */
static void
stream_connected(void *arg, int fd, const struct sockaddr *sa,
    socklen_t salen, int err)
{
	struct dnsup_req *r = arg;
	const struct nameserver *ns = &r->rc->ns[r->ns];
	char host[300], head[800];
	const char *path = NULL;
	unsigned char lenb[2];
	uint16_t port;
	SSL *ssl = NULL;
	int n, dot = 0;

	(void)sa;
	(void)salen;
	r->hc = NULL;
	if (fd == -1) {
		debug("%s: nameserver %s: %s", r->up->who, ns->addr,
		    strerror(err));
		req_next(r, err == ETIMEDOUT ? ETIMEDOUT : EIO);
		return;
	}
	if (!r->tcp && (ns->proto == NS_PROTO_TLS ||
	    ns->proto == NS_PROTO_HTTPS))
		dot = 1;
	if (dot) {
		if (tls_ctx == NULL || (ssl = SSL_new(tls_ctx)) == NULL) {
			close(fd);
			req_next(r, EIO);
			return;
		}
		if (r->sni[0] != '\0') {
			SSL_set_tlsext_host_name(ssl, r->sni);
			SSL_set1_host(ssl, r->sni);
			SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
		}
		r->bev = bufferevent_openssl_socket_new(r->up->wk->base, fd,
		    ssl, BUFFEREVENT_SSL_CONNECTING,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	} else
		r->bev = bufferevent_socket_new(r->up->wk->base, fd,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (r->bev == NULL) {
		if (ssl != NULL)
			SSL_free(ssl);
		close(fd);
		req_next(r, EIO);
		return;
	}
	bufferevent_setcb(r->bev, stream_read_cb, NULL, stream_event_cb, r);
	bufferevent_enable(r->bev, EV_READ);
	if (ns->proto == NS_PROTO_HTTPS && !r->tcp) {
		(void)doh_split(ns->addr, host, sizeof(host), &port, &path);
		if (strchr(host, ':') != NULL)
			n = snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\n"
			    "Host: [%s]:%u\r\n", path, host, port);
		else if (port != 443)
			n = snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\n"
			    "Host: %s:%u\r\n", path, host, port);
		else
			n = snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\n"
			    "Host: %s\r\n", path, host);
		if (n < 0 || (size_t)n >= sizeof(head) - 200) {
			req_next(r, EIO);
			return;
		}
		n += snprintf(head + n, sizeof(head) - (size_t)n,
		    "Content-Type: application/dns-message\r\n"
		    "Accept: application/dns-message\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n", r->len);
		bufferevent_write(r->bev, head, (size_t)n);
	} else {
		lenb[0] = (unsigned char)(r->len >> 8);
		lenb[1] = (unsigned char)r->len;
		bufferevent_write(r->bev, lenb, 2);
	}
	bufferevent_write(r->bev, r->msg, r->len);
	if (ssl != NULL)
		bufferevent_openssl_set_allow_dirty_shutdown(r->bev, 1);
}

static void
udp_send(struct dnsup_req *r, const struct sockaddr *sa, socklen_t sl)
{
	struct worker *wk = r->up->wk;

	if ((r->fd = dial_socket_as(wk, r->up->has_egress ? &r->up->egress :
	    NULL, sa->sa_family, SOCK_DGRAM)) == -1) {
		req_next(r, EIO);
		return;
	}
	/* connected: the kernel drops datagrams from anyone else */
	if (connect(r->fd, sa, sl) == -1 ||
	    send(r->fd, r->msg, r->len, 0) == -1) {
		debug("%s: nameserver %s: %s", r->up->who,
		    r->rc->ns[r->ns].addr, strerror(errno));
		req_next(r, EIO);
		return;
	}
	if ((r->ev = event_new(wk->base, r->fd, EV_READ | EV_PERSIST, udp_cb,
	    r)) == NULL)
		fatal_f("out of memory");
	event_add(r->ev, NULL);
}

static void
udp_resolved(void *arg, const struct resolve_addrs *a, int err, int last)
{
	struct dnsup_req *r = arg;
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[300];
	uint16_t port;

	if (last)
		r->rr = NULL;
	if (err != 0) {
		if (last)
			req_next(r, EIO);
		return;
	}
	(void)split_hostport(r->rc->ns[r->ns].addr, host, sizeof(host),
	    &port);
	sockaddr_set(&ss, &sl, a->family, resolve_addr(a, 0), port);
	/* the first family to answer is used; the other is not waited for */
	resolve_cancel(r->rr);
	r->rr = NULL;
	udp_send(r, (struct sockaddr *)&ss, sl);
}

/* Ask the current nameserver. */
static void
req_send(struct dnsup_req *r)
{
	const struct nameserver *ns = &r->rc->ns[r->ns];
	struct resolver *sys;
	struct happy_opts ho;
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[300];
	const char *path;
	uint16_t port;
	unsigned long ms = r->rc->has_timeout && r->rc->timeout_ms > 0 ?
	    r->rc->timeout_ms : DNSUP_TIMEOUT_MS;
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(r->tmo, &tv);
	r->sni[0] = '\0';
	if (ns->chain) {
		debug("%s: nameserver %s: queries through the chain are not "
		    "supported in this build", r->up->who, ns->addr);
		req_next(r, EIO);
		return;
	}
	if (ns->proto == NS_PROTO_HTTPS) {
		if (doh_split(ns->addr, host, sizeof(host), &port,
		    &path) != 0) {
			req_next(r, EIO);
			return;
		}
		if (!r->tcp && sockaddr_literal(host, port, &ss, &sl) != 0)
			snprintf(r->sni, sizeof(r->sni), "%s", host);
	} else if (split_hostport(ns->addr, host, sizeof(host), &port) != 0) {
		req_next(r, EIO);
		return;
	}
	if (ns->hostname != NULL)
		snprintf(r->sni, sizeof(r->sni), "%s", ns->hostname);
	if (ns->proto == NS_PROTO_UDP && !r->tcp) {
		if (sockaddr_literal(host, port, &ss, &sl) == 0) {
			udp_send(r, (struct sockaddr *)&ss, sl);
			return;
		}
		/* a name: the system resolver's, never its own */
		if ((r->up->flags & DNSUP_SYSTEM) ||
		    (sys = resolver_system(r->up->wk)) == NULL ||
		    (r->rr = resolve_start(sys, host, RESOLVE_V4 | RESOLVE_V6,
		    udp_resolved, r)) == NULL)
			req_next(r, EIO);
		return;
	}
	/* a name: the system resolver's, never its own */
	sys = NULL;
	if (sockaddr_literal(host, port, &ss, &sl) != 0 &&
	    ((r->up->flags & DNSUP_SYSTEM) ||
	    (sys = resolver_system(r->up->wk)) == NULL)) {
		req_next(r, EIO);
		return;
	}
	memset(&ho, 0, sizeof(ho));
	ho.timeout_ms = ms;
	ho.prefer = AF_INET;
	if (r->up->has_egress)
		ho.egress = &r->up->egress;
	if ((r->hc = happy_connect(r->up->wk, sys, host, port, &ho,
	    stream_connected, r)) == NULL)
		req_next(r, EIO);
}

struct dnsup_req *
dnsup_query(struct dnsup *up, const unsigned char *msg, size_t len,
    dnsup_cb cb, void *arg)
{
	struct dnsup_req *r;
	struct timeval now = { 0, 0 };
	uint16_t id;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((r->msg = malloc(len)) == NULL ||
	    dns_parse_query(msg, len, &r->q) != 0) {
		free(r->msg);
		free(r);
		return NULL;
	}
	r->up = up;
	r->fd = -1;
	r->cb = cb;
	r->arg = arg;
	r->err = ETIMEDOUT;
	RAND_bytes((unsigned char *)&id, sizeof(id));
	memcpy(r->msg, msg, len);
	r->len = len;
	dns_set_id(r->msg, id);
	r->q.id = id;
	if ((r->tmo = evtimer_new(up->wk->base, tmo_cb, r)) == NULL)
		fatal_f("out of memory");
	r->rc = ref_get(up->rc);
	if (r->rc != NULL && r->rc->nns > 0)
		r->ns = (up->flags & DNSUP_ROTATE) ?
		    up->next++ % r->rc->nns : 0;
	/* started from the loop, so that cb never runs inside this call */
	evtimer_add(r->tmo, &now);
	return r;
}
