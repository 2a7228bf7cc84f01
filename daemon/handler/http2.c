/*
 * gost's http2 proxy handler (gost.md 2.12): TLS whose ALPN chose h2
 * carries an HTTP/2 session whose every request is a proxy request;
 * any other client of the listener (ALPN http/1.1, or none) gets the
 * ordinary HTTP proxy (proxy.c), CONNECT included.
 *
 * A CONNECT stream names its target in Gost-Target (gost's encoding)
 * or :authority (port 80 by default); authentication and probe
 * resistance are the HTTP proxy's; the answer is 200 with Proxy-Agent
 * once the target is reached, and the stream is then relayed as any
 * connection.  Another method is proxied as plain HTTP: the request
 * goes to the target as HTTP/1.0 with "Connection: close", so the
 * answer's body is whatever comes until the target closes (never
 * chunked), and its head becomes the stream's HEADERS.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#include "cbuf.h"
#include "conf.h"
#include "core/conn.h"
#include "core/tls.h"
#include "core/dial.h"
#include "core/stats.h"
#include "err.h"
#include "handler/http2.h"
#include "handler/proxy.h"
#include "log.h"
#include "mux/h2.h"
#include "proto/proto.h"
#include "proto/sni.h"
#include "worker.h"

#define HTTP2_SNIFF_SECS	10	/* gost's read timeout */
#define HTTP2_OUT_MAX		(32 * 1024)	/* a body waiting for room */
#define HTTP2_RESP_FIELDS	60

/* A client before its TLS handshake told which protocol it speaks. */
struct h2px_sniff {
	struct proxy		*px;
	struct conn		*c;
	struct event		*tmo;
};

struct h2px_session {
	struct proxy		*px;
	struct h2		*h2;
};

/* One request of a session (a stream, counted as a connection). */
struct h2px_req {
	struct proxy		*px;
	struct conn		*st;		/* the client's stream */
	struct conn		*up;		/* to the target */
	struct dial		*dial;
	struct proxy_target	 dst;
	int			 connect;
	int			 nobody;	/* the client's body stays */
	struct cbuf		 out;		/* plain: request for up */
	struct cbuf		 resp;		/* plain: the answer's head */
};

static const char *
h2px_url(const struct proxy *px)
{
	return proxy_conf(px)->node->url;
}

static void
h2px_req_free(struct h2px_req *q)
{
	struct worker *wk = proxy_worker(q->px);

	dial_cancel(q->dial);
	conn_free(q->up);
	conn_free(q->st);
	cbuf_release(&q->out);
	cbuf_release(&q->resp);
	free(q);
	worker_conn_closed(wk);
}

/* A final answer without a body (and the stream's end).  Frees q. */
static void
h2px_answer(struct h2px_req *q, int code, const char *name,
    const char *value)
{
	struct h2_hdr h[2];
	size_t n = 0;

	h[n].name = "proxy-agent";
	h[n++].value = proxy_agent(q->px);
	if (name != NULL) {
		h[n].name = name;
		h[n++].value = value;
	}
	debug("%s: http2 stream answered %d", h2px_url(q->px), code);
	if (h2_respond(q->st, code, h, n, "", 0) != 0)
		debug("%s: http2: the answer could not go: %s",
		    h2px_url(q->px), strerror(errno));
	h2px_req_free(q);
}

/*
 * Probe resistance: a failed authentication is answered as nginx
 * would (code: and file:); web: and host: in h2px_probe_pipe.
 */
static void
h2px_probe(struct h2px_req *q)
{
	const struct listener_conf *l = proxy_conf(q->px);
	char date[64], clen[32];
	struct h2_hdr h[4];
	struct tm tm;
	time_t now = time(NULL);
	const char *body = "";
	size_t n = 0, blen = 0;
	int code = 200;

	verbose("%s: authentication failed; answering as a web server",
	    l->node->url);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	h[n].name = "server";
	h[n++].value = "nginx/1.14.1";
	h[n].name = "date";
	h[n++].value = date;
	if (l->probe == PROBE_FILE) {
		body = proxy_probe_body(q->px, &blen);
		h[n].name = "content-type";
		h[n++].value = "text/html";
	} else if (l->probe == PROBE_CODE)
		code = l->probe_code;
	snprintf(clen, sizeof(clen), "%zu", blen);
	h[n].name = "content-length";
	h[n++].value = clen;
	if (h2_respond(q->st, code, h, n, body, blen) != 0)
		debug("%s: http2: the answer could not go", l->node->url);
	h2px_req_free(q);
}

/* Header fields that belong to one connection (RFC 9113 8.2.2). */
static int
h2px_hop_field(const char *name)
{
	static const char *const hop[] = {
		"connection", "keep-alive", "proxy-connection",
		"proxy-authorization", "proxy-authenticate", "te",
		"transfer-encoding", "upgrade", "host", "gost-target", NULL
	};
	size_t i;

	for (i = 0; hop[i] != NULL; i++)
		if (strcasecmp(name, hop[i]) == 0)
			return 1;
	return 0;
}

/* Text for the target's request head. */
static int
h2px_out(struct h2px_req *q, const char *p)
{
	size_t n = strlen(p);

	if (q->out.len + n > HTTP_HEAD_MAX)
		return -1;
	return cbuf_append(&q->out, p, n);
}

/*
 * The client's text for it.  nghttp2 lets no CR or LF into a field;
 * they are refused here too, since a line break would let a client
 * write a request of its own.
 */
static int
h2px_peer(struct h2px_req *q, const char *p)
{
	return strpbrk(p, "\r\n") != NULL ? -1 : h2px_out(q, p);
}

/*
 * The request for the target, as HTTP/1.0: origin-form, the client's
 * fields but its connection's own, cookies joined (RFC 9113 8.2.3).
 * 0, or the status to answer.
 */
static int
h2px_plain_head(struct h2px_req *q, const struct h2_req *r,
    const char *authority)
{
	const char *cl;
	size_t i, ncookie = 0;

	if (r->scheme == NULL || strcmp(r->scheme, "http") != 0 ||
	    r->path == NULL || r->path[0] != '/')
		return 400;
	/* a body needs a length: HTTP/1.0 has no chunks */
	cl = h2_req_header(r, "content-length");
	if (!r->end && cl == NULL)
		return 411;
	if (cbuf_alloc(&q->out, HTTP_HEAD_MAX + HTTP2_OUT_MAX) != 0)
		return 500;
	if (h2px_peer(q, r->method) != 0 || h2px_out(q, " ") != 0 ||
	    h2px_peer(q, r->path) != 0 ||
	    h2px_out(q, " HTTP/1.0\r\nHost: ") != 0 ||
	    h2px_peer(q, authority) != 0 || h2px_out(q, "\r\n") != 0)
		return 431;
	for (i = 0; i < r->nhdr; i++) {
		if (h2px_hop_field(r->hdr[i].name) ||
		    strcmp(r->hdr[i].name, "cookie") == 0)
			continue;
		if (h2px_peer(q, r->hdr[i].name) != 0 ||
		    h2px_out(q, ": ") != 0 ||
		    h2px_peer(q, r->hdr[i].value) != 0 ||
		    h2px_out(q, "\r\n") != 0)
			return 431;
	}
	for (i = 0; i < r->nhdr; i++)
		if (strcmp(r->hdr[i].name, "cookie") == 0 &&
		    (h2px_out(q, ncookie++ == 0 ? "cookie: " : "; ") != 0 ||
		    h2px_peer(q, r->hdr[i].value) != 0))
			return 431;
	if ((ncookie > 0 && h2px_out(q, "\r\n") != 0) ||
	    h2px_out(q, "Connection: close\r\n\r\n") != 0)
		return 431;
	return 0;
}

static void h2px_up_cb(struct conn *, int, void *);
static void h2px_dial_done(void *, struct conn *, int);

/*
 * A plain request's bytes as the target sees them (the request head
 * written for it and the body; the answer's head), counted as the
 * HTTP/1.1 proxy counts its exchanges: dir 0 from the client.
 */
static void
h2px_count(struct h2px_req *q, int dir, size_t n)
{
	struct worker *wk = proxy_worker(q->px);

	if (n == 0)
		return;
	if (dir == 0)
		wk->stats.bytes_in += n;
	else
		wk->stats.bytes_out += n;
	stconn_bytes(conn_stats(q->st), dir, n);
}

/*
 * probe_resist web: and host: on a stream: the page web: names, or the
 * client's own request sent to host:, and whatever that server answers
 * comes back (its head as the stream's HEADERS, as for plain requests).
 */
static void
h2px_probe_pipe(struct h2px_req *q, const struct h2_req *r,
    const char *authority)
{
	const struct listener_conf *l = proxy_conf(q->px);
	const char *sp;
	char line[HTTP_HEAD_MAX];
	int e = 0, n;

	verbose("%s: authentication failed; answering as a web server",
	    l->node->url);
	if (l->probe == PROBE_WEB) {
		/* probe_arg is "path host" (conf.c) */
		sp = strchr(l->probe_arg, ' ');
		n = snprintf(line, sizeof(line), "GET %.*s HTTP/1.0\r\n"
		    "Host: %s\r\nConnection: close\r\n\r\n",
		    sp != NULL ? (int)(sp - l->probe_arg) : 1,
		    sp != NULL ? l->probe_arg : "/", sp != NULL ? sp + 1 : "");
		q->nobody = 1;
	} else if (q->connect)
		n = snprintf(line, sizeof(line), "CONNECT %s HTTP/1.0\r\n"
		    "Host: %s\r\n\r\n", authority, authority);
	else {
		n = 0;
		e = h2px_plain_head(q, r, authority);
	}
	if (e == 0 && n != 0 && (n < 0 || (size_t)n >= sizeof(line) ||
	    cbuf_alloc(&q->out, HTTP_HEAD_MAX + HTTP2_OUT_MAX) != 0 ||
	    h2px_out(q, line) != 0))
		e = 500;
	if (e != 0) {
		h2px_answer(q, e, NULL, NULL);
		return;
	}
	q->connect = 0;		/* an exchange, answered by that server */
	if ((q->dial = dial_start(proxy_dialer(q->px), l->probe_host,
	    l->probe_port,
	    DIAL_NOCHECK, h2px_dial_done, q)) == NULL)
		h2px_answer(q, 502, NULL, NULL);
}

/* The client's body, while the target's answer is awaited. */
static void
h2px_body_cb(struct conn *c, int what, void *arg)
{
	struct h2px_req *q = arg;
	ssize_t n;
	size_t room;

	(void)what;
	while (q->nobody) {
		/* not for that server: read to notice a reset, and drop */
		unsigned char b[4096];

		if ((n = conn_recv(c, b, sizeof(b))) > 0)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		h2px_req_free(q);
		return;
	}
	while ((room = HTTP2_OUT_MAX + HTTP_HEAD_MAX - q->out.len) > 0 &&
	    q->out.len < HTTP2_OUT_MAX) {
		if ((n = conn_recv(c, cbuf_tail(&q->out), room <
		    cbuf_room(&q->out) ? room : cbuf_room(&q->out))) > 0) {
			q->out.len += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			break;
		/* the client went: so does the request */
		debug("%s: http2: the client's stream ended",
		    h2px_url(q->px));
		h2px_req_free(q);
		return;
	}
	conn_want(c, q->out.len < HTTP2_OUT_MAX ? CONN_READ : 0);
	if (q->out.len > 0)
		h2px_up_cb(q->up, CONN_WRITE, q);
}

/*
 * The target's answer head: the stream's HEADERS, then the relay
 * carries the body (and the rest of the client's, after what waits).
 */
static void
h2px_plain_answer(struct h2px_req *q, const struct http_request *rr,
    int code, size_t headlen)
{
	struct h2_hdr h[HTTP2_RESP_FIELDS + 1];
	struct worker *wk = proxy_worker(q->px);
	struct conn *st, *up;
	char *arena, *p;
	size_t i, k, n = 0;

	if (code < 200 || http_framing(rr, NULL) == HTTP_BODY_CHUNKED ||
	    (arena = malloc(rr->rawlen + 2 * rr->nhdr + 1)) == NULL) {
		h2px_answer(q, 502, NULL, NULL);
		return;
	}
	p = arena;
	/* HTTP/2 names are lower case */
	for (i = 0; i < rr->nhdr && n < HTTP2_RESP_FIELDS; i++) {
		const struct http_header *f = &rr->hdr[i];
		char *name = p;

		for (k = 0; k < f->namelen; k++)
			name[k] = (char)tolower((unsigned char)f->name[k]);
		name[k] = '\0';
		if (h2px_hop_field(name))
			continue;
		p += k + 1;
		memcpy(p, f->value, f->valuelen);
		p[f->valuelen] = '\0';
		h[n].name = name;
		h[n++].value = p;
		p += f->valuelen + 1;
	}
	if (i < rr->nhdr)
		debug("%s: http2: answer fields past %d dropped",
		    h2px_url(q->px), HTTP2_RESP_FIELDS);
	if (h2_respond(q->st, code, h, n, NULL, 0) != 0) {
		free(arena);
		h2px_req_free(q);
		return;
	}
	free(arena);
	cbuf_consume(&q->resp, headlen);
	st = q->st;
	up = q->up;
	conn_want(st, 0);
	conn_want(up, 0);
	/* the body's first bytes, and what of the client's still waits */
	if (conn_unread(up, q->resp.p + q->resp.off, q->resp.len) != 0 ||
	    conn_put(up, q->out.p + q->out.off, q->out.len) != 0) {
		h2px_req_free(q);
		return;
	}
	/* the relay counts what it carries from here on */
	h2px_count(q, 0, q->out.len);
	h2px_count(q, 1, headlen);
	q->st = q->up = NULL;
	cbuf_release(&q->out);
	cbuf_release(&q->resp);
	free(q);
	relay_conns(wk, st, up, 0);
}

static void
h2px_up_cb(struct conn *c, int what, void *arg)
{
	struct h2px_req *q = arg;
	struct http_request rr;
	size_t headlen;
	ssize_t n;
	int code, e;

	if ((what & CONN_WRITE) && q->out.len > 0) {
		size_t before = q->out.len;

		if (conn_send_buf(c, &q->out) != 0) {
			h2px_answer(q, 502, NULL, NULL);
			return;
		}
		h2px_count(q, 0, before - q->out.len);
		if (q->out.len < HTTP2_OUT_MAX)
			conn_want(q->st, CONN_READ);
	}
	conn_want(c, CONN_READ | (q->out.len > 0 ? CONN_WRITE : 0));
	if (!(what & CONN_READ))
		return;
	if (cbuf_room(&q->resp) == 0) {
		h2px_answer(q, 502, NULL, NULL);
		return;
	}
	if ((n = conn_recv(c, cbuf_tail(&q->resp), cbuf_room(&q->resp))) < 0 &&
	    errno == EAGAIN)
		return;
	if (n <= 0) {
		debug("%s: http2: the target sent no answer", h2px_url(q->px));
		h2px_answer(q, 502, NULL, NULL);
		return;
	}
	q->resp.len += (size_t)n;
	e = http_parse_response(q->resp.p + q->resp.off, q->resp.len, &rr,
	    &code);
	if (e == ERR_INCOMPLETE)
		return;
	if (e != 0 || http_parse_status(q->resp.p + q->resp.off, q->resp.len,
	    &headlen, &code) != 0) {
		debug("%s: http2: a bad answer from the target",
		    h2px_url(q->px));
		if (e == 0)
			http_request_free(&rr);
		h2px_answer(q, 502, NULL, NULL);
		return;
	}
	h2px_plain_answer(q, &rr, code, headlen);
	http_request_free(&rr);
}

static void
h2px_dial_done(void *arg, struct conn *up, int err)
{
	struct h2px_req *q = arg;
	struct worker *wk = proxy_worker(q->px);
	struct h2_hdr h[1];
	struct conn *st;
	int one = 1, rep;

	q->dial = NULL;
	if (up == NULL) {
		rep = dial_errno_rep(err);
		h2px_answer(q, rep == SOCKS5_REP_NOTALLOWED ? 403 :
		    rep == SOCKS5_REP_TTL ? 504 : 502, NULL, NULL);
		return;
	}
	setsockopt(up->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	q->up = up;
	if (!q->connect) {
		/* the request goes; the answer's head is awaited */
		if (cbuf_alloc(&q->resp, HTTP_HEAD_MAX) != 0) {
			h2px_answer(q, 500, NULL, NULL);
			return;
		}
		conn_set_cb(up, h2px_up_cb, q);
		conn_set_cb(q->st, h2px_body_cb, q);
		conn_want(q->st, CONN_READ);
		h2px_up_cb(up, CONN_WRITE, q);
		return;
	}
	h[0].name = "proxy-agent";
	h[0].value = proxy_agent(q->px);
	if (h2_respond(q->st, 200, h, 1, NULL, 0) != 0) {
		debug("%s: http2: the stream is gone", h2px_url(q->px));
		h2px_req_free(q);
		return;
	}
	st = q->st;
	q->st = q->up = NULL;
	free(q);
	relay_conns(wk, st, up, 0);
}

/* A request of a session: checked, then its target dialed. */
static void
h2px_request(void *arg, struct conn *st, const struct h2_req *r)
{
	struct h2px_session *ss = arg;
	struct proxy *px = ss->px;
	struct worker *wk = proxy_worker(px);
	char name[PROXY_HOST_MAX + 8];
	const char *auth, *v;
	struct h2px_req *q;
	int e;

	wk->stats.accepted++;
	wk->stats.active++;
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		conn_free(st);
		worker_conn_closed(wk);
		return;
	}
	q->px = px;
	q->st = st;
	/* each stream is a client's connection, from the session's peer */
	(void)stconn_open(wk, proxy_dialer(px)->idx, st);
	if (r->toolarge) {
		h2px_answer(q, 431, NULL, NULL);
		return;
	}
	q->connect = r->method != NULL && strcmp(r->method, "CONNECT") == 0;
	/* the target: gost's Gost-Target (its sni client), or :authority */
	auth = r->authority;
	if ((v = h2_req_header(r, "gost-target")) != NULL &&
	    sni_decode_gost_name(v, strlen(v), name, sizeof(name)) == 0)
		auth = name;
	if (r->method == NULL || auth == NULL ||
	    http_parse_authority(auth, strlen(auth), 80, &q->dst) != 0) {
		debug("%s: http2: a request without a target", h2px_url(px));
		h2px_answer(q, 400, NULL, NULL);
		return;
	}
	v = h2_req_header(r, "proxy-authorization");
	e = proxy_http_auth(px, v, v != NULL ? strlen(v) : 0, q->dst.host);
	if (e == PROXY_AUTH_PROBE) {
		if (proxy_conf(px)->probe == PROBE_WEB ||
		    proxy_conf(px)->probe == PROBE_HOST)
			h2px_probe_pipe(q, r, auth);
		else
			h2px_probe(q);
		return;
	}
	if (e != PROXY_AUTH_OK) {
		verbose("%s: http2 authentication failed", h2px_url(px));
		h2px_answer(q, 407, "proxy-authenticate",
		    "Basic realm=\"ostpd\"");
		return;
	}
	if (v != NULL) {
		char user[256], pass[256];

		/* the user's counters and access log name (core/stats.h) */
		if (http_basic_decode(v, strlen(v), user, sizeof(user), pass,
		    sizeof(pass)) == 0)
			stconn_user(conn_stats(st), user);
		explicit_bzero(pass, sizeof(pass));
	}
	if (!q->connect && (e = h2px_plain_head(q, r, auth)) != 0) {
		h2px_answer(q, e, NULL, NULL);
		return;
	}
	debug("%s: http2 %s to %s:%u", h2px_url(px), r->method, q->dst.host,
	    q->dst.port);
	if ((q->dial = dial_start(proxy_dialer(px), q->dst.host, q->dst.port,
	    0, h2px_dial_done, q)) == NULL)
		h2px_answer(q, 502, NULL, NULL);
	else
		dial_set_stats(q->dial, conn_stats(st));
}

static void
h2px_session_closed(void *arg)
{
	struct h2px_session *ss = arg;

	debug("%s: an http2 session ended", h2px_url(ss->px));
	worker_conn_closed(proxy_worker(ss->px));
	free(ss);
}

static void
h2px_sniff_free(struct h2px_sniff *sn)
{
	event_free(sn->tmo);
	free(sn);
}

/*
 * The first bytes came: the handshake is over and ALPN says which
 * protocol follows.  What was read is given back to its reader.
 */
static void
h2px_sniff_cb(struct conn *c, int what, void *arg)
{
	struct h2px_sniff *sn = arg;
	struct proxy *px = sn->px;
	struct worker *wk = proxy_worker(px);
	struct h2px_session *ss;
	unsigned char b[4096];
	ssize_t n;

	(void)what;
	if ((n = conn_recv(c, b, sizeof(b))) < 0 && errno == EAGAIN)
		return;
	h2px_sniff_free(sn);
	conn_want(c, 0);
	if (n <= 0 || conn_unread(c, b, (size_t)n) != 0) {
		conn_free(c);
		worker_conn_closed(wk);
		return;
	}
	if (!tls_alpn_is(c, "h2")) {
		proxy_accept(px, c);
		return;
	}
	if ((ss = calloc(1, sizeof(*ss))) == NULL) {
		conn_free(c);
		worker_conn_closed(wk);
		return;
	}
	ss->px = px;
	if ((ss->h2 = h2_new(c, 0, NULL, proxy_conf(px)->tp.ping_ms, 1, NULL,
	    h2px_session_closed, ss)) == NULL) {
		free(ss);
		worker_conn_closed(wk);
		return;
	}
	h2_set_request_cb(ss->h2, h2px_request);
}

static void
h2px_sniff_tmo(evutil_socket_t fd, short what, void *arg)
{
	struct h2px_sniff *sn = arg;
	struct worker *wk = proxy_worker(sn->px);

	(void)fd;
	(void)what;
	debug("%s: TLS handshake timed out", h2px_url(sn->px));
	conn_free(sn->c);
	h2px_sniff_free(sn);
	worker_conn_closed(wk);
}

void
http2_accept(void *arg, struct conn *c)
{
	struct proxy *px = arg;
	struct h2px_sniff *sn;
	struct timeval tv = { HTTP2_SNIFF_SECS, 0 };

	if ((sn = calloc(1, sizeof(*sn))) == NULL ||
	    (sn->tmo = evtimer_new(proxy_worker(px)->base, h2px_sniff_tmo,
	    sn)) == NULL) {
		free(sn);
		conn_free(c);
		worker_conn_closed(proxy_worker(px));
		return;
	}
	sn->px = px;
	sn->c = c;
	conn_set_cb(c, h2px_sniff_cb, sn);
	conn_want(c, CONN_READ);
	event_add(sn->tmo, &tv);
}
