/*
 * Proxy listeners: auto (sniff the first byte), socks5, socks4/4a and
 * http; the protocols' parsers are socks5.c, socks4.c and http.c.  A
 * connection is read into a bounded buffer until its parser has a
 * target; then access control (bypass, whitelist/blacklist, routing
 * rules), name resolution (hosts files, then the asynchronous
 * resolver), a non-blocking connect with a timeout, the protocol's
 * reply, and the relay.  Every failure answers with the protocol's own
 * error and closes only this connection.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "cfgfile.h"
#include "err.h"
#include "log.h"
#include "match.h"
#include "proto/proto.h"
#include "mux/smux.h"
#include "core/conn.h"
#include "core/stats.h"
#include "core/dial.h"
#include "core/listen.h"
#include "core/relay.h"
#include "core/reload.h"
#include "core/tls.h"
#include "handler/handler.h"
#include "handler/http2.h"
#include "handler/proxy.h"
#include "handler/proxy_int.h"
#include "worker.h"

static void pconn_connected(struct pconn *);

/*
 * A reply to the client: queued when the connection cannot take it at
 * once (a TLS layer mid-handshake, a stream of a busy session).
 */
void
pc_send(struct pconn *pc, const void *p, size_t len)
{
	if (conn_put(pc->c, p, len) != 0)
		debug("%s: a reply could not be sent: %s", pc->px->l->node->url,
		    strerror(errno));
}

/*
 * Answer and close: reply (may be empty) goes out through a lingering
 * close (linger.c), so a client still sending reads it instead of a
 * reset.  Every refusal of a client ends here.  Frees pc.
 */
void
pconn_refuse(struct pconn *pc, const void *reply, size_t len)
{
	if (pc->c != NULL) {
		linger_conn(pc->px->wk, pc->c, reply, len);
		pc->c = NULL;
	}
	pconn_free(pc);
}

/* Tell the client why, in its protocol, then close.  Frees pc. */
void
pconn_fail(struct pconn *pc, int s5rep)
{
	char r[512];
	size_t n = 0;

	switch (pc->proto) {
	case PP_SOCKS5:
		if (pc->state >= PS_S5_REQUEST)
			n = socks5_reply((unsigned char *)r, sizeof(r), s5rep,
			    NULL);
		break;
	case PP_SOCKS4:
		socks4_reply((unsigned char *)r, SOCKS4_REP_REJECTED);
		n = 8;
		break;
	case PP_HTTP:
		if (s5rep == SOCKS5_REP_NOTALLOWED)
			n = http_error_fmt(pc, r, sizeof(r), 403, "Forbidden",
			    NULL);
		else if (s5rep == SOCKS5_REP_TTL)
			n = http_error_fmt(pc, r, sizeof(r), 504,
			    "Gateway Timeout", NULL);
		else if (s5rep == SOCKS5_REP_CMD)
			n = http_error_fmt(pc, r, sizeof(r), 400,
			    "Bad Request", NULL);
		else if (s5rep != SOCKS5_REP_OK)
			n = http_error_fmt(pc, r, sizeof(r), 502,
			    "Bad Gateway", NULL);
		break;
	default:
		/* not a protocol this listener speaks: no answer */
		pconn_free(pc);
		return;
	}
	pconn_refuse(pc, r, n);
}

void
pconn_free(struct pconn *pc)
{
	dial_cancel(pc->dial);
	conn_free(pc->up);
	if (pc->tmo != NULL)
		event_free(pc->tmo);
	conn_free(pc->c);
	http_request_free(&pc->req);
	buf_release(&pc->in);
	worker_conn_closed(pc->px->wk);
	free(pc);
}

int
proxy_auth_required(const struct proxy *px)
{
	return (px->secrets != NULL && secrets_count(px->secrets) > 0) ||
	    px->l->user != NULL;
}

static int
ct_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

int
proxy_auth_ok(const struct proxy *px, const char *user, const char *pass)
{
	if (px->secrets != NULL && secrets_count(px->secrets) > 0)
		return secrets_check(px->secrets, user, pass);
	if (px->l->user != NULL)
		return ct_streq(px->l->user, user) &
		    ct_streq(px->l->pass, pass);
	return 1;
}

/*
 * The HTTP proxy's check of a request's Proxy-Authorization value (v,
 * NULL when absent), shared with the http2 handler: PROXY_AUTH_PROBE
 * when probe resistance answers instead of a 407 (host: the request's
 * target, for knock).
 */
int
proxy_http_auth(const struct proxy *px, const char *v, size_t vlen,
    const char *host)
{
	char user[256], pass[256];
	int ok;

	if (!proxy_auth_required(px))
		return PROXY_AUTH_OK;
	ok = v != NULL && http_basic_decode(v, vlen, user, sizeof(user), pass,
	    sizeof(pass)) == 0 && proxy_auth_ok(px, user, pass);
	explicit_bzero(pass, sizeof(pass));
	if (ok)
		return PROXY_AUTH_OK;
	if (px->l->probe != PROBE_NONE && (px->l->knock == NULL ||
	    strcasecmp(host, px->l->knock) != 0))
		return PROXY_AUTH_PROBE;
	return PROXY_AUTH_DENY;
}

const char *
proxy_agent(const struct proxy *px)
{
	return px->l->proxy_agent ? px->l->proxy_agent :
	    "ostpd/" PACKAGE_VERSION;
}

struct dialer *
proxy_dialer(struct proxy *px)
{
	return &px->dl;
}

const struct listener_conf *
proxy_conf(const struct proxy *px)
{
	return px->l;
}

struct worker *
proxy_worker(const struct proxy *px)
{
	return px->wk;
}

const char *
proxy_probe_body(const struct proxy *px, size_t *len)
{
	*len = px->probe_len;
	return px->probe_body;
}

void
pconn_dialed(void *arg, struct conn *c, int err)
{
	struct pconn *pc = arg;

	pc->dial = NULL;
	if (c == NULL) {
		pconn_fail(pc, dial_errno_rep(err));
		return;
	}
	pc->up = c;
	pconn_connected(pc);
}

/*
 * A plain HTTP request whose client keeps the connection and whose
 * body has a known length: httpfwd carries this exchange and hands the
 * client back for its next request.  1 when it took the connection.
 */
static int
pconn_keepalive(struct pconn *pc)
{
	struct conn *c, *up;
	uint64_t blen;
	int body, head;

	if (pc->probe != 0 || !http_keepalive(&pc->req))
		return 0;
	body = http_body(&pc->req, -1, 0, &blen);
	if (body != HTTP_BODY_NONE && body != HTTP_BODY_LENGTH)
		return 0;	/* chunked bodies: one exchange, then close */
	head = pc->req.methodlen == 4 && memcmp(pc->req.method, "HEAD", 4) == 0;
	event_free(pc->tmo);
	pc->tmo = NULL;
	http_request_free(&pc->req);
	c = pc->c;
	up = pc->up;
	/* httpfwd takes both connections and the client's count */
	httpfwd_start(pc->px->wk, pc->px, c, up, buf_ptr(&pc->in),
	    buf_len(&pc->in), blen, head);
	buf_release(&pc->in);
	free(pc);
	return 1;
}

/*
 * The outgoing side is up: answer the client and start relaying.  What
 * goes to the target before the client's own bytes (a rewritten request
 * head, the request a probe forwards) is put in front of them.
 */
static void
pconn_connected(struct pconn *pc)
{
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	unsigned char r[32];
	size_t n, tolen = 0;
	int one = 1, m;
	char *head = NULL, req[1024], resp[256];
	const void *to = NULL;
	struct conn *client;

	/* accepted sockets inherit TCP_NODELAY from the listener */
	setsockopt(pc->up->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	switch (pc->proto) {
	case PP_SOCKS5:
		/* the address of the socket that leaves this host */
		if (getsockname(pc->up->fd, (struct sockaddr *)&bound,
		    &blen) == -1)
			memset(&bound, 0, sizeof(bound));
		n = socks5_reply(r, sizeof(r), SOCKS5_REP_OK,
		    (struct sockaddr *)&bound);
		pc_send(pc, r, n);
		break;
	case PP_SOCKS4:
		socks4_reply(r, SOCKS4_REP_GRANTED);
		pc_send(pc, r, 8);
		break;
	case PP_HTTP:
		if (pc->probe == PROBE_HOST) {
			/* the client's request, as it came, to the web host */
			to = pc->req.orig;
			tolen = pc->req.rawlen;
		} else if (pc->probe == PROBE_WEB) {
			const char *arg = pc->px->l->probe_arg;
			const char *sp = strchr(arg, ' ');

			m = snprintf(req, sizeof(req), "GET %.*s HTTP/1.1\r\n"
			    "Host: %s\r\nConnection: close\r\n\r\n",
			    (int)(sp - arg), arg, sp + 1);
			if (m > 0 && (size_t)m < sizeof(req)) {
				to = req;
				tolen = (size_t)m;
			}
			buf_reset(&pc->in);	/* the client's body is not sent */
		} else if (pc->req.is_connect) {
			m = snprintf(resp, sizeof(resp), "HTTP/1.1 200 "
			    "Connection established\r\nProxy-Agent: %s\r\n\r\n",
			    pc->px->l->proxy_agent ? pc->px->l->proxy_agent :
			    "ostpd/" PACKAGE_VERSION);
			if (m > 0 && (size_t)m < sizeof(resp))
				pc_send(pc, resp, (size_t)m);
		} else {
			if ((head = http_rewrite_request(&pc->req, &n)) ==
			    NULL) {
				pconn_fail(pc, SOCKS5_REP_FAIL);
				return;
			}
			/*
			 * Ahead of whatever follows on this connection,
			 * through its layers (a chain hop's) as they take it.
			 */
			if (conn_put(pc->up, head, n) != 0) {
				free(head);
				pconn_fail(pc, SOCKS5_REP_FAIL);
				return;
			}
			/* the client's request, as it goes: its bytes count */
			pc->px->wk->stats.bytes_in += n;
			stconn_bytes(conn_stats(pc->c), 0, n);
			free(head);
			head = NULL;
			if (pconn_keepalive(pc))
				return;
		}
		break;
	default:
		break;
	}
	event_free(pc->tmo);
	pc->tmo = NULL;
	/* Bytes the client sent after its request go first. */
	client = pc->c;
	pc->c = NULL;
	if (conn_unread(client, buf_ptr(&pc->in),
	    buf_len(&pc->in)) != 0 || conn_unread(client, to, tolen) != 0) {
		free(head);
		conn_free(client);
		pconn_free(pc);
		return;
	}
	free(head);
	http_request_free(&pc->req);
	buf_release(&pc->in);
	relay_conns(pc->px->wk, client, pc->up, 0);
	free(pc);
}

/* The parser found a target: access control, routing, resolve, dial. */
static void
pconn_target(struct pconn *pc)
{
	int flags = 0;

	debug("%s: %s to %s:%u", pc->px->l->node->url,
	    pc->proto == PP_SOCKS5 ? "socks5" : pc->proto == PP_SOCKS4 ?
	    "socks4" : "http", pc->dst.host, pc->dst.port);
	/*
	 * The read event stays: what the client sends meanwhile is kept
	 * for the target, and the relay takes the fd's registration over
	 * without an epoll_ctl of its own.
	 */
	/* From here DNS and connect have their own time limits. */
	event_del(pc->tmo);
	pc->state = PS_CONNECT;
	stconn_target(conn_stats(pc->c), pc->dst.host, pc->dst.port);
	if ((pc->dial = dial_start(&pc->px->dl, pc->dst.host, pc->dst.port,
	    flags, pconn_dialed, pc)) == NULL) {
		pconn_fail(pc, SOCKS5_REP_FAIL);
		return;
	}
	dial_set_stats(pc->dial, conn_stats(pc->c));
}
/*
 * Run the client's protocol: what the first byte says it is (auto
 * takes any the listener serves), then that protocol's parser
 * (socks5.c, socks4.c, http.c).  1: a target in pc->dst; 0: more bytes
 * needed; 2: answered and freed; -1: close.
 */
static int
pconn_step(struct pconn *pc)
{
	if (pc->state == PS_SNIFF) {
		if (buf_len(&pc->in) == 0)
			return 0;
		switch (buf_ptr(&pc->in)[0]) {
		case SOCKS5_VER:
			pc->proto = PP_SOCKS5;
			pc->state = PS_S5_GREETING;
			break;
		case SOCKS4_VER:
			pc->proto = PP_SOCKS4;
			pc->state = PS_S4_REQUEST;
			break;
		default:
			pc->proto = PP_HTTP;
			pc->state = PS_HTTP_HEAD;
			break;
		}
		/* An explicit scheme takes only its protocol. */
		if ((pc->proto == PP_SOCKS5 &&
		    !(pc->px->l->accept & PROXY_SOCKS5)) ||
		    (pc->proto == PP_SOCKS4 &&
		    !(pc->px->l->accept & PROXY_SOCKS4)) ||
		    (pc->proto == PP_HTTP &&
		    !(pc->px->l->accept & PROXY_HTTP))) {
			pc->proto = PP_NONE;	/* close silently */
			return -1;
		}
	}
	switch (pc->proto) {
	case PP_SOCKS5:
		return s5_step(pc);
	case PP_SOCKS4:
		return s4_step(pc);
	case PP_HTTP:
		return http_step(pc);
	default:
		return 0;
	}
}

static void
read_cb(struct conn *c, int what, void *arg)
{
	struct pconn *pc = arg;
	unsigned char *d;
	ssize_t n;
	int r;

	(void)what;
	if (buf_reserve(&pc->in, READ_CHUNK, &d) != 0) {
		pconn_fail(pc, SOCKS5_REP_FAIL);
		return;
	}
	n = conn_recv(c, d, READ_CHUNK);
	/* Give back what the read did not fill. */
	pc->in.size -= READ_CHUNK - (n > 0 ? (size_t)n : 0);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		pconn_free(pc);
		return;
	}
	if (n == -1)
		return;
	r = pconn_step(pc);
	if (r == 1)
		pconn_target(pc);
	else if (r < 0)
		pconn_fail(pc, SOCKS5_REP_FAIL);
	/* r == 2: the step already answered and freed the connection */
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pconn *pc = arg;

	(void)fd;
	(void)what;
	debug("%s: handshake timed out (state %d)", pc->px->l->node->url,
	    (int)pc->state);
	/* a kept-alive connection that sent nothing more just closes */
	if (pc->state == PS_HTTP_HEAD && buf_len(&pc->in) > 0)
		http_error(pc, 408, "Request Timeout", NULL);
	else
		pconn_free(pc);
}

/*
 * A client's connection, inside the listener's transport (counted);
 * also an HTTP/1.1 client of an http2 listener (handler/http2.c).
 */
void
proxy_accept(void *arg, struct conn *c)
{
	struct proxy *px = arg;
	struct pconn *pc;
	struct timeval tv = { HANDSHAKE_SECS, 0 };

	if ((pc = calloc(1, sizeof(*pc))) == NULL) {
		conn_free(c);
		worker_conn_closed(px->wk);
		return;
	}
	pc->px = px;
	pc->c = c;
	if (conn_stats(c) == NULL)
		(void)stconn_open(px->wk, px->idx, c);
	buf_init(&pc->in);
	/* A request head, and what a client may pipeline behind it. */
	buf_set_max(&pc->in, HTTP_HEAD_MAX + READ_CHUNK);
	if ((pc->tmo = evtimer_new(px->wk->base, timeout_cb, pc)) == NULL) {
		pconn_free(pc);
		return;
	}
	conn_set_cb(c, read_cb, pc);
	conn_want(c, CONN_READ);
	event_add(pc->tmo, &tv);
}

/*
 * A connection that goes on in a given state on a new socket (TLS
 * inside gost's methods) or after an exchange (HTTP keep-alive); NULL
 * if it could not (fd closed, the connection counted as closed).
 */
struct pconn *
pconn_resume(struct proxy *px, struct conn *c, enum pproto proto,
    enum pstate state, const unsigned char *p, size_t n)
{
	struct pconn *pc;
	struct timeval tv = { proto == PP_HTTP ? HTTP_IDLE_SECS :
	    HANDSHAKE_SECS, 0 };

	if ((pc = calloc(1, sizeof(*pc))) == NULL) {
		conn_free(c);
		worker_conn_closed(px->wk);
		return NULL;
	}
	pc->px = px;
	pc->c = c;
	if (conn_stats(c) == NULL)
		(void)stconn_open(px->wk, px->idx, c);
	pc->proto = proto;
	pc->state = state;
	buf_init(&pc->in);
	buf_set_max(&pc->in, HTTP_HEAD_MAX + READ_CHUNK);
	pc->tmo = evtimer_new(px->wk->base, timeout_cb, pc);
	if (pc->tmo == NULL || (n > 0 && buf_put(&pc->in, p, n) != 0)) {
		pconn_free(pc);
		return NULL;
	}
	conn_set_cb(c, read_cb, pc);
	conn_want(c, CONN_READ);
	event_add(pc->tmo, &tv);
	return pc;
}

/*
 * The next request on a kept-alive HTTP connection (httpfwd.c): parsed,
 * checked and dialed afresh, so a client that turns to another host
 * gets a connection to that host.
 */
void
proxy_http_next(void *pxarg, struct conn *c, const unsigned char *p,
    size_t n)
{
	struct proxy *px = pxarg;
	struct pconn *pc;
	int r;

	if ((pc = pconn_resume(px, c, PP_HTTP, PS_HTTP_HEAD, p, n)) ==
	    NULL || n == 0)
		return;
	r = pconn_step(pc);
	if (r == 1)
		pconn_target(pc);
	else if (r < 0)
		pconn_fail(pc, SOCKS5_REP_FAIL);
}

int
proxy_start(struct worker *wk, const struct listener_conf *l, size_t idx,
    int fd)
{
	struct evconnlistener **levp = &wk->listeners[idx];
	struct proxy *px;

	if ((px = calloc(1, sizeof(*px))) == NULL)
		return -1;
	px->wk = wk;
	px->l = l;
	px->idx = idx;
	if (dialer_init(&px->dl, wk, l, idx) != 0)
		return -1;
	if (l->secrets_path != NULL && reload_register(wk, l->secrets_path,
	    RELOAD_SECRETS, (void **)&px->secrets, NULL, NULL) != 0)
		return -1;
	if (l->probe == PROBE_FILE) {
		size_t len;
		char *body = worker_read_small(wk, l->probe_arg, &len);

		if (body == NULL) {
			error("%s: probe_resist file %s: %s", l->node->url,
			    l->probe_arg, strerror(errno));
			return -1;
		}
		px->probe_body = body;
		px->probe_len = len;
	}
	/* http2: HTTP/2 or, by ALPN, HTTP/1.1 (proxy_accept) */
	if (tp_listen(&px->tp, wk, l, idx, fd, l->tp.kind == TP_HTTP2 ?
	    http2_accept : proxy_accept, px, levp) != 0)
		return -1;
	/* HTTP/2: a record per stream (HTTP/1.1 by ALPN: proxy_accept's) */
	px->tp.sessions = l->tp.kind == TP_HTTP2;
	return 0;
}
