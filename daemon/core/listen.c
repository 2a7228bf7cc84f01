/*
 * A listener's transport: the layers an accepted socket is wrapped in
 * before its handler reads the first byte of its protocol, and for the
 * multiplexed transports (mtls, mws, mwss) the smux session whose every
 * stream the handler gets as a connection of its own.  Handshakes of
 * the layers run as the handler reads.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "core/conn.h"
#include "core/listen.h"
#include "core/stats.h"
#include "core/tls.h"
#include "log.h"
#include "mux/h2.h"
#include "mux/smux.h"
#include "transport/transport.h"
#include "worker.h"

/* A multiplexed transport's session: it counts as a connection. */
struct tp_session {
	struct tp_server	*ts;
	struct smux		*s;
	struct h2		*h2;
};

static void
tp_stream_cb(void *arg, struct conn *st)
{
	struct tp_session *ss = arg;
	struct worker *wk = ss->ts->wk;

	wk->stats.accepted++;
	wk->stats.active++;
	/* each stream is a client's connection, from the session's peer */
	(void)stconn_open(wk, ss->ts->idx, st);
	ss->ts->accept(ss->ts->arg, st);
}

static void
tp_session_closed(void *arg)
{
	struct tp_session *ss = arg;

	debug("%s: a session ended", ss->ts->l->node->url);
	worker_conn_closed(ss->ts->wk);
	free(ss);
}

/* The socket (taken) inside the layers below any session; NULL: gone. */
static struct conn *
tp_layers(struct tp_server *ts, int fd)
{
	const struct tp_conf *tp = &ts->l->tp;
	struct conn *c;

	if ((c = conn_socket(ts->wk, fd)) == NULL)
		return NULL;
	switch (tp->kind) {
	case TP_TLS:
	case TP_MTLS:
		return tls_server_push_ctx(c, ts->tls);
	case TP_OHTTP:
		return conn_codec_push(c, ohttp_codec(1, NULL));
	case TP_OTLS:
		return conn_codec_push(c, otls_codec(1, NULL));
	case TP_WSS:
	case TP_MWSS:
		if ((c = tls_server_push_ctx(c, ts->tls)) == NULL)
			return NULL;
		/* FALLTHROUGH */
	case TP_WS:
	case TP_MWS:
		return ws_server_push(c, tp->path);
	case TP_H2:
	case TP_HTTP2:
		return tls_server_push_ctx(c, ts->tls);
	default:
		return c;
	}
}

static void
tp_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct tp_server *ts = arg;
	struct tp_session *ss;
	struct conn *c;

	(void)lev;
	(void)sa;
	(void)salen;
	ts->wk->stats.accepted++;
	ts->wk->stats.active++;
	if ((c = tp_layers(ts, fd)) == NULL) {
		worker_conn_closed(ts->wk);
		return;
	}
	/* http2: the handler runs its HTTP/2 session itself */
	if (!tp_is_mux(&ts->l->tp) || ts->l->tp.kind == TP_HTTP2) {
		/*
		 * The record of the client's connection, opened here so
		 * that no handler can forget it; a handler whose
		 * connections carry sessions (http2, the OSTP carrier)
		 * gives one to each of its streams instead.
		 */
		if (!ts->sessions)
			(void)stconn_open(ts->wk, ts->idx, c);
		ts->accept(ts->arg, c);
		return;
	}
	/* the client opens the streams (gost's mtls, mws, mwss) */
	if ((ss = calloc(1, sizeof(*ss))) == NULL) {
		conn_free(c);
		worker_conn_closed(ts->wk);
		return;
	}
	ss->ts = ts;
	if (ts->l->tp.kind == TP_H2 || ts->l->tp.kind == TP_H2C) {
		/* each CONNECT (or GET path) stream is a connection */
		if ((ss->h2 = h2_new(c, 0, ts->l->tp.path, ts->l->tp.ping_ms,
		    ts->l->tp.kind == TP_H2, tp_stream_cb, tp_session_closed,
		    ss)) == NULL) {
			free(ss);
			worker_conn_closed(ts->wk);
		}
		return;
	}
	if ((ss->s = smux_new(c, 0, tp_stream_cb, tp_session_closed,
	    ss)) == NULL) {
		free(ss);
		worker_conn_closed(ts->wk);
	}
}

int
tp_listen(struct tp_server *ts, struct worker *wk,
    const struct listener_conf *l, size_t idx, int fd, tp_accept_fn accept,
    void *arg, struct evconnlistener **levp)
{
	memset(ts, 0, sizeof(*ts));
	ts->wk = wk;
	ts->l = l;
	ts->idx = idx;
	ts->accept = accept;
	ts->arg = arg;
	if (tp_has_tls(&l->tp) &&
	    (ts->tls = tlskey_server_ctx(wk, idx)) == NULL) {
		error("%s: no TLS context", l->node->url);
		return -1;
	}
	if (l->tp.kind == TP_H2)
		tls_ctx_alpn_h2(ts->tls);
	else if (l->tp.kind == TP_HTTP2)
		tls_ctx_alpn_h2_http1(ts->tls);
	return worker_listen(wk, fd, tp_accept_cb, ts, levp);
}

int
tp_has_tls(const struct tp_conf *tp)
{
	return conf_tp_tls(tp);
}

int
tp_is_mux(const struct tp_conf *tp)
{
	return tp->kind == TP_MTLS || tp->kind == TP_MWS ||
	    tp->kind == TP_MWSS || tp->kind == TP_H2 || tp->kind == TP_H2C ||
	    tp->kind == TP_HTTP2;
}
