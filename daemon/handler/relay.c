/*
 * relay://: gost's relay protocol, server side.  The client's request
 * header names a target (unless the listener has a fixed one: then that
 * one is used, where gost refuses an Addr with Forbidden) and may carry a user
 * and password; the answer is a response header, then the connection
 * carries the stream, or with the UDP flag datagrams framed as LEN(2)
 * DATA in both directions.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "cfgfile.h"
#include "core/dial.h"
#include "err.h"
#include "log.h"
#include "match.h"
#include "proto/relay.h"
#include "mux/smux.h"
#include "core/conn.h"
#include "core/listen.h"
#include "core/codec.h"
#include "worker.h"
#include "core/reload.h"
#include "core/stats.h"
#include "handler/handler.h"

#define RELAY_HANDSHAKE_SECS	10
#define RELAY_HEAD_MAX		(RELAY_HDR_LEN + RELAY_FEALEN_MAX)
#define RELAY_UDP_OUT_MAX	(256 * 1024)

struct relay_server {
	struct worker			*wk;
	const struct listener_conf	*l;
	struct dialer			 dl;
	struct secrets			*secrets;	/* live */
	size_t				 next;		/* fixed targets */
	struct tp_server		 tp;
};

struct rconn {
	struct relay_server	*sv;
	struct conn		*c;
	struct cbuf		 in;
	struct event		*tmo;
	struct dial		*dial;
	char			 host[PROXY_HOST_MAX + 1];
	uint16_t		 port;
	/* UDP mode */
	int			 udp;
	struct uchan		*uc;
	struct cbuf		 out;
};

static void
rconn_free(struct rconn *c)
{
	dial_cancel(c->dial);
	uchan_close(c->uc);
	if (c->tmo != NULL)
		event_free(c->tmo);
	conn_free(c->c);
	cbuf_release(&c->in);
	cbuf_release(&c->out);
	worker_conn_closed(c->sv->wk);
	free(c);
}

static void
rconn_status(struct rconn *c, int status)
{
	unsigned char r[16];
	size_t n;

	if ((n = relay_build_response(r, sizeof(r), status, NULL, 0)) > 0)
		(void)conn_put(c->c, r, n);
}

static int
status_of(int err)
{
	switch (err) {
	case EACCES:		return RELAY_FORBIDDEN;
	case ETIMEDOUT:		return RELAY_TIMEOUT;
	case EHOSTUNREACH:	return RELAY_HOST_UNREACHABLE;
	case ENETUNREACH:	return RELAY_NETWORK_UNREACHABLE;
	default:		return RELAY_SERVICE_UNAVAILABLE;
	}
}

static void
rconn_fail(struct rconn *c, int status)
{
	rconn_status(c, status);
	rconn_free(c);
}

static void
rconn_dialed(void *arg, struct conn *up, int err)
{
	struct rconn *c = arg;

	c->dial = NULL;
	if (up == NULL) {
		debug("%s: %s:%u: %s", c->sv->l->node->url, c->host, c->port,
		    strerror(err));
		rconn_fail(c, status_of(err));
		return;
	}
	rconn_status(c, RELAY_OK);
	c->sv->wk->stats.active++;	/* the relay's; rconn_free's goes */
	if (conn_unread(c->c, c->in.p + c->in.off, c->in.len) == 0) {
		relay_conns(c->sv->wk, c->c, up, 0);
		c->c = NULL;
	} else {
		conn_free(up);
		worker_conn_closed(c->sv->wk);
	}
	rconn_free(c);
}

/* UDP mode: frames from the client go to the target, answers back. */
static int
rconn_flush(struct rconn *c)
{
	if (conn_send_buf(c->c, &c->out) != 0)
		return -1;
	conn_want(c->c, CONN_READ | (c->out.len > 0 ? CONN_WRITE : 0));
	return 0;
}

static void
rconn_udp_reply(void *arg, const struct proxy_target *src,
    const unsigned char *p, size_t n)
{
	struct rconn *c = arg;

	(void)src;
	if (n > RELAY_DATAGRAM_MAX || cbuf_room(&c->out) < n + 2)
		return;		/* a slow client loses datagrams */
	stconn_bytes(conn_stats(c->c), 1, n);
	relay_put_datagram_len(cbuf_tail(&c->out), n);
	memcpy(cbuf_tail(&c->out) + 2, p, n);
	c->out.len += n + 2;
	if (rconn_flush(c) != 0)
		debug("%s: udp: write failed", c->sv->l->node->url);
}


static int
rconn_udp_input(struct rconn *c)
{
	size_t hl, dl;
	int e;

	for (;;) {
		e = relay_parse_datagram(c->in.p + c->in.off, c->in.len, &hl,
		    &dl);
		if (e == ERR_INCOMPLETE)
			return 0;
		if (e != 0)
			return -1;
		/* v2 nodelay clients send one empty datagram: ignored */
		if (dl > 0) {
			stconn_bytes(conn_stats(c->c), 0, dl);
			uchan_send(c->uc, c->host, c->port, c->in.p + c->in.off +
			    hl, dl);
		}
		cbuf_consume(&c->in, hl + dl);
	}
}

static void rconn_cb(struct conn *, int, void *);

/*
 * BIND (gost v3's reverse forwarding): listen on the requested port,
 * answer with it, then carry every peer that connects on a stream of an
 * smux session in which this side is the client; each stream opens
 * with a relay response naming the peer.
 */
struct rbind {
	struct relay_server	*sv;
	int			 lfd;
	struct event		*ev;
	struct smux		*s;
};

static void
rbind_free(struct rbind *b)
{
	if (b->ev != NULL)
		event_free(b->ev);
	close(b->lfd);
	worker_conn_closed(b->sv->wk);
	free(b);
}

static void
rbind_closed_cb(void *arg)
{
	struct rbind *b = arg;

	debug("%s: bind: the session ended", b->sv->l->node->url);
	rbind_free(b);
}

static void
rbind_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct rbind *b = arg;
	struct sockaddr_storage peer;
	socklen_t pl = sizeof(peer);
	char host[PROXY_HOST_MAX + 1];
	unsigned char hdr[64];
	uint16_t port;
	size_t n;
	struct conn *st, *pc = NULL;
	int fd;

	(void)what;
	while ((fd = accept4(lfd, (struct sockaddr *)&peer, &pl,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
		sockaddr_host(&peer, host, sizeof(host), &port);
		n = relay_build_response(hdr, sizeof(hdr), RELAY_OK, host, port);
		b->sv->wk->stats.accepted++;
		b->sv->wk->stats.active++;	/* the stream's */
		pl = sizeof(peer);
		/* the stream opens with a response naming the peer */
		if ((st = smux_open(b->s)) == NULL ||
		    (pc = conn_socket(b->sv->wk, fd)) == NULL ||
		    conn_unread(pc, hdr, n) != 0) {
			if (st == NULL)
				close(fd);
			conn_free(st);
			conn_free(pc);
			worker_conn_closed(b->sv->wk);
			continue;
		}
		/* the peer is this listener's client */
		(void)stconn_open(b->sv->wk, b->sv->dl.idx, pc);
		relay_conns(b->sv->wk, pc, st, 0);
	}
}

static void
rconn_bind(struct rconn *c, const struct proxy_target *t)
{
	const struct listener_conf *l = c->sv->l;
	struct sockaddr_storage local, any;
	socklen_t len = sizeof(local), al;
	char host[PROXY_HOST_MAX + 1];
	unsigned char r[64];
	struct rbind *b;
	uint16_t port;
	size_t n;
	int on = 1;

	if (!access_allowed(l->whitelist, l->blacklist, "rtcp", t->host,
	    t->port)) {
		rconn_fail(c, RELAY_FORBIDDEN);
		return;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    getsockname(c->c->fd, (struct sockaddr *)&local, &len) == -1) {
		free(b);
		rconn_fail(c, RELAY_INTERNAL_ERROR);
		return;
	}
	b->sv = c->sv;
	memset(&any, 0, sizeof(any));
	any.ss_family = local.ss_family;
	al = local.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	if (local.ss_family == AF_INET)
		((struct sockaddr_in *)&any)->sin_port = htons(t->port);
	else
		((struct sockaddr_in6 *)&any)->sin6_port = htons(t->port);
	b->lfd = socket(any.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (b->lfd != -1)
		setsockopt(b->lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (b->lfd == -1 || bind(b->lfd, (struct sockaddr *)&any, al) == -1 ||
	    listen(b->lfd, 128) == -1 ||
	    getsockname(b->lfd, (struct sockaddr *)&any, &al) == -1) {
		debug("%s: bind port %u: %s", l->node->url, t->port,
		    strerror(errno));
		if (b->lfd != -1)
			close(b->lfd);
		free(b);
		rconn_fail(c, RELAY_SERVICE_UNAVAILABLE);
		return;
	}
	/* the answer: the control connection's address, the bound port */
	sockaddr_host(&local, host, sizeof(host), &port);
	port = sockaddr_port(&any);
	n = relay_build_response(r, sizeof(r), RELAY_OK, host, port);
	(void)conn_put(c->c, r, n);
	debug("%s: bind: listening on port %u", l->node->url, port);
	event_del(c->tmo);
	/* the session over the client's connection; it opens the streams */
	b->s = conn_unread(c->c, c->in.p + c->in.off, c->in.len) != 0 ? NULL :
	    smux_new(c->c, 1, NULL, rbind_closed_cb, b);
	c->c = NULL;
	c->sv->wk->stats.active++;	/* the bind's; rconn_free drops one */
	rconn_free(c);
	if (b->s == NULL) {
		rbind_free(b);
		return;
	}
	b->ev = event_new(b->sv->wk->base, b->lfd, EV_READ | EV_PERSIST,
	    rbind_accept_cb, b);
	event_add(b->ev, NULL);
}

/* 1 if equal; time depends on the lengths only. */
static int
ct_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static int
rconn_authorized(struct rconn *c, const struct relay_request *rq)
{
	const struct relay_server *sv = c->sv;

	if (sv->secrets != NULL && secrets_count(sv->secrets) > 0)
		return rq->has_auth && secrets_check(sv->secrets, rq->user,
		    rq->pass);
	if (sv->l->user != NULL)
		return rq->has_auth && ct_streq(sv->l->user, rq->user) &
		    ct_streq(sv->l->pass, rq->pass);
	return 1;	/* gost: no authenticator, everyone */
}

static void
rconn_request(struct rconn *c)
{
	const struct listener_conf *l = c->sv->l;
	struct relay_request rq;
	size_t used, t;
	int e, cmd;

	e = relay_parse_request(c->in.p + c->in.off, c->in.len, &rq, &used);
	if (e == ERR_INCOMPLETE)
		return;
	if (e != 0) {
		debug("%s: bad request: %s", l->node->url, ostp_err(e));
		rconn_fail(c, RELAY_BAD_REQUEST);
		return;
	}
	cbuf_consume(&c->in, used);
	event_del(c->tmo);
	if (!rconn_authorized(c, &rq)) {
		explicit_bzero(&rq, sizeof(rq));
		verbose("%s: authentication failed", l->node->url);
		rconn_fail(c, RELAY_UNAUTHORIZED);
		return;
	}
	if (rq.has_auth)
		stconn_user(conn_stats(c->c), rq.user);
	c->udp = rq.udp || (rq.has_network && rq.network == RELAY_NETWORK_UDP);
	if ((rq.cmd & RELAY_CMD_MASK) == RELAY_CMD_BIND && !c->udp) {
		struct proxy_target bt;

		memset(&bt, 0, sizeof(bt));
		if (rq.naddr > 0)
			bt = rq.addr[0];
		explicit_bzero(&rq, sizeof(rq));
		rconn_bind(c, &bt);
		return;
	}
	/*
	 * A fixed target takes every connection, whatever the client names:
	 * gost answers Forbidden to a request with an address, which every
	 * chain client sends (its own target), so no chain could use such
	 * a server.  The client cannot reach anything else this way.
	 */
	if (rq.naddr > 0 && l->ntargets > 0)
		debug("%s: fixed target; the client's %s:%u is not used",
		    l->node->url, rq.addr[0].host, rq.addr[0].port);
	if (rq.naddr > 0 && l->ntargets == 0) {
		snprintf(c->host, sizeof(c->host), "%s", rq.addr[0].host);
		c->port = rq.addr[0].port;
	} else if (l->ntargets > 0) {
		t = c->sv->next++ % l->ntargets;
		if (l->targetnames[t] != NULL) {
			snprintf(c->host, sizeof(c->host), "%s",
			    l->targetnames[t]);
			c->port = ntohs(((const struct sockaddr_in *)
			    &l->targets[t])->sin_port);
		} else
			sockaddr_host(&l->targets[t], c->host,
			    sizeof(c->host), &c->port);
	} else {
		explicit_bzero(&rq, sizeof(rq));
		rconn_fail(c, RELAY_BAD_REQUEST);
		return;
	}
	cmd = rq.cmd & RELAY_CMD_MASK;
	explicit_bzero(&rq, sizeof(rq));
	if (cmd != RELAY_CMD_CONNECT && cmd != 0) {
		/* BIND and ASSOCIATE are v3 tunnel features */
		rconn_fail(c, RELAY_BAD_REQUEST);
		return;
	}
	debug("%s: %s to %s:%u", l->node->url, c->udp ? "udp" : "tcp",
	    c->host, c->port);
	if (c->udp) {
		if (dialer_allowed(&c->sv->dl, "udp", c->host, c->port,
		    NULL) != 0) {
			rconn_fail(c, RELAY_FORBIDDEN);
			return;
		}
		if ((c->uc = uchan_open(&c->sv->dl, rconn_udp_reply, c)) ==
		    NULL || cbuf_alloc(&c->out, RELAY_UDP_OUT_MAX) != 0) {
			rconn_fail(c, RELAY_INTERNAL_ERROR);
			return;
		}
		rconn_status(c, RELAY_OK);
		stconn_target(conn_stats(c->c), c->host, c->port);
		stconn_served(conn_stats(c->c));
		if (rconn_udp_input(c) != 0)
			rconn_free(c);
		return;
	}
	conn_want(c->c, 0);
	if ((c->dial = dial_start(&c->sv->dl, c->host, c->port, 0,
	    rconn_dialed, c)) == NULL)
		rconn_fail(c, RELAY_INTERNAL_ERROR);
	else
		dial_set_stats(c->dial, conn_stats(c->c));
}

static void
rconn_cb(struct conn *cn, int what, void *arg)
{
	struct rconn *c = arg;
	size_t room;
	ssize_t n;

	if ((what & CONN_WRITE) && rconn_flush(c) != 0) {
		rconn_free(c);
		return;
	}
	if (!(what & CONN_READ))
		return;
	if ((room = cbuf_room(&c->in)) == 0) {
		rconn_free(c);
		return;
	}
	n = conn_recv(cn, cbuf_tail(&c->in), room);
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		rconn_free(c);
		return;
	}
	if (n < 0)
		return;
	c->in.len += (size_t)n;
	if (c->uc != NULL) {
		if (rconn_udp_input(c) != 0)
			rconn_free(c);
		return;
	}
	rconn_request(c);
}

static void
rconn_tmo_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rconn_free(arg);
}

static void
relay_accept(void *arg, struct conn *cn)
{
	struct relay_server *sv = arg;
	struct timeval tv = { RELAY_HANDSHAKE_SECS, 0 };
	struct rconn *c = NULL;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    cbuf_alloc(&c->in, RELAY_HEAD_MAX + 4096) != 0) {
		free(c);
		conn_free(cn);
		worker_conn_closed(sv->wk);
		return;
	}
	c->sv = sv;
	c->c = cn;
	c->tmo = evtimer_new(sv->wk->base, rconn_tmo_cb, c);
	if (c->tmo == NULL)
		fatal_f("out of memory");
	conn_set_cb(cn, rconn_cb, c);
	conn_want(cn, CONN_READ);
	event_add(c->tmo, &tv);
}

int
relay_server_start(struct worker *wk, const struct listener_conf *l, size_t idx,
    int fd)
{
	struct evconnlistener **levp = &wk->listeners[idx];
	struct relay_server *sv;

	if ((sv = calloc(1, sizeof(*sv))) == NULL)
		return -1;
	sv->wk = wk;
	sv->l = l;
	if (dialer_init(&sv->dl, wk, l, idx) != 0)
		return -1;
	if (l->secrets_path != NULL && reload_register(wk, l->secrets_path,
	    RELOAD_SECRETS, (void **)&sv->secrets, NULL, NULL) != 0)
		return -1;
	return tp_listen(&sv->tp, wk, l, idx, fd, relay_accept, sv, levp);
}
