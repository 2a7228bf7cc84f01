/*
 * HTTP/2 sessions over a connection, with libnghttp2: gost's h2 (TLS)
 * and h2c (cleartext, prior knowledge) tunnel transports.  Each tunnel
 * is one stream opened by the client with CONNECT (or GET path); the
 * server answers 200 at once, then DATA frames carry the inner
 * protocol's bytes both ways.  Each stream is a connection (conn_ops
 * below), as smux's are.
 *
 * Unlike smux v1, HTTP/2 has flow control per stream, and it is used
 * for back-pressure: received data is given back to the peer's window
 * (nghttp2_session_consume) only as the stream's reader takes it, so a
 * slow reader stops its own peer and nobody else; what a writer sends
 * waits in its stream's queue (at most H2_SQ_MAX) until nghttp2 frames
 * it, which it does only while the peer's window is open.
 */
#include "config.h"

#include <sys/queue.h>

#include <errno.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <nghttp2/nghttp2.h>

#include "cbuf.h"
#include "core/conn.h"
#include "core/tls.h"
#include "log.h"
#include "mux/h2.h"
#include "worker.h"

#define H2_OUT_HIGH		(256 * 1024)	/* framed, not yet sent */
#define H2_OUT_MAX		(4 * 1024 * 1024) /* past it: a frame or two */
#define H2_SQ_MAX		(64 * 1024)	/* a writer's, not framed */
#define H2_TOQ_MIN		(16 * 1024)
#define H2_STREAM_WINDOW	(256 * 1024)
#define H2_CONN_WINDOW		(16 * 1024 * 1024)
#define H2_STREAMS_MAX		1024
#define H2_READ_MAX		(64 * 1024)	/* per wake-up: fairness */
#define H2_IDLE_SECS		300	/* a server session without streams */
#define H2_REQ_FIELDS		100	/* a request's fields, kept */
#define H2_REQ_BYTES		(16 * 1024)
#define H2_RESP_FIELDS		64

struct h2_stream {
	TAILQ_ENTRY(h2_stream)	 entry;
	struct h2		*s;		/* NULL: the session is gone */
	struct conn		*c;		/* NULL: not handed out */
	int32_t			 sid;
	struct cbuf		 toq;		/* from the peer */
	struct cbuf		 sq;		/* from the writer */
	int			 fin_rcvd;
	int			 fin_sent;	/* END_STREAM asked for */
	int			 closed;	/* nghttp2 is done with it */
	int			 reset;		/* and it did not end well */
	int			 answered;	/* 200 came (client), sent */
	int			 refused;	/* another answer came */
	int			 status;
	int			 wblocked;	/* a writer waits for room */
	int			 deferred;	/* nghttp2 waits for sq */
	int			 eof_sent;	/* our END_STREAM went out */
	int			 is_connect;	/* server: the request */
	int			 path_ok;
	struct h2_hdr		*rh;		/* request callback: fields */
	size_t			 nrh;
	size_t			 rhbytes;
	int			 rhdropped;
};

TAILQ_HEAD(h2_streams, h2_stream);

struct h2 {
	struct worker		*wk;
	struct conn		*c;
	nghttp2_session		*ng;
	int			 client;
	char			*path;		/* server: GET path tunnels */
	int			 alpn;		/* TLS: "h2" must be chosen */
	int			 alpn_ok;
	struct cbuf		 out;
	struct event		*ping_ev;
	struct event		*fail_ev;	/* closes it, from the loop */
	int			 failing;
	int			 busy;		/* inside nghttp2 */
	int			 heard;		/* since the last PING */
	struct h2_streams	 streams;
	size_t			 nstreams;
	h2_accept_cb		 accept;
	void			(*closed)(void *);
	void			(*dying)(void *, struct conn *);
	void			*arg;
	h2_request_cb		 reqcb;		/* server: requests go there */
	struct event		*idle_ev;	/* server */
	struct timespec		 last;		/* bytes last came */
};

static const struct conn_ops h2_stream_ops;
static void h2_close(struct h2 *);
static void h2_fail(struct h2 *);

/* n bytes to the end of b, which grows (doubling) up to max. */
static int
buf_grow_append(struct cbuf *b, const void *p, size_t n, size_t min,
    size_t max)
{
	if (cbuf_reserve(b, n, min, max) != 0)
		return -1;
	return cbuf_append(b, p, n);
}

static void
h2_arm(struct h2 *s)
{
	conn_want(s->c, CONN_READ | (s->out.len > 0 ? CONN_WRITE : 0));
}

/*
 * What nghttp2 has to say goes out, as far as the connection takes it.
 * Inside nghttp2's callbacks this waits for the caller's own pump.
 */
static int
h2_pump(struct h2 *s)
{
	const uint8_t *data;
	ssize_t n;

	if (s->busy || s->failing)
		return 0;
	for (;;) {
		s->busy = 1;
		while (s->out.len < H2_OUT_HIGH &&
		    (n = nghttp2_session_mem_send(s->ng, &data)) != 0) {
			if (n < 0 || buf_grow_append(&s->out, data, (size_t)n,
			    H2_OUT_HIGH, H2_OUT_MAX) != 0) {
				s->busy = 0;
				debug("h2: output: %s", n < 0 ?
				    nghttp2_strerror((int)n) : "out of memory");
				return -1;
			}
		}
		s->busy = 0;
		if (s->out.len == 0)
			break;
		while (s->out.len > 0) {
			n = conn_send(s->c, s->out.p + s->out.off, s->out.len);
			if (n > 0) {
				cbuf_consume(&s->out, (size_t)n);
				continue;
			}
			if (n < 0 && errno == EAGAIN)
				goto out;
			return -1;
		}
		if (!nghttp2_session_want_write(s->ng))
			break;
	}
 out:
	h2_arm(s);
	return 0;
}

/*
 * A pump inside a stream's operation: a failure closes from the loop,
 * as does the end of a session that has nothing left to do (GOAWAY
 * both ways, its last stream gone).
 */
static void
h2_pump_or_fail(struct h2 *s)
{
	if (h2_pump(s) != 0 || (!s->busy &&
	    !nghttp2_session_want_read(s->ng) &&
	    !nghttp2_session_want_write(s->ng) && s->out.len == 0))
		h2_fail(s);
}

static struct h2_stream *
stream_of(struct h2 *s, int32_t sid)
{
	return nghttp2_session_get_stream_user_data(s->ng, sid);
}

static struct h2_stream *
stream_new(struct h2 *s)
{
	struct h2_stream *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->s = s;
	TAILQ_INSERT_TAIL(&s->streams, st, entry);
	s->nstreams++;
	return st;
}

/*
 * Room for the writer; its queue is made at the first write (a peer may
 * open many streams that never carry a byte back).
 */
static size_t
sq_room(struct h2_stream *st)
{
	return st->sq.p == NULL ? H2_SQ_MAX : cbuf_room(&st->sq);
}

/* The stream's connection; -1 without memory. */
static int
stream_conn(struct h2_stream *st)
{
	struct h2 *s = st->s;
	struct conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	/* a connection without a descriptor; fd names the session's */
	c->ops = &h2_stream_ops;
	c->wk = s->wk;
	c->fd = s->c->fd;
	c->layer = st;
	st->c = c;
	return 0;
}

static void
stream_detach(struct h2_stream *st)
{
	struct h2 *s = st->s;

	if (s == NULL)
		return;
	TAILQ_REMOVE(&s->streams, st, entry);
	s->nstreams--;
	st->s = NULL;
}

/* The request's fields, each name and value in one allocation. */
static void
req_free(struct h2_stream *st)
{
	size_t i;

	for (i = 0; i < st->nrh; i++)
		free((char *)st->rh[i].name);
	free(st->rh);
	st->rh = NULL;
	st->nrh = 0;
	st->rhbytes = 0;
}

static void
req_add(struct h2_stream *st, const uint8_t *name, size_t namelen,
    const uint8_t *value, size_t valuelen)
{
	char *p;

	if (st->nrh >= H2_REQ_FIELDS || namelen + valuelen > H2_REQ_BYTES ||
	    st->rhbytes + namelen + valuelen > H2_REQ_BYTES) {
		st->rhdropped = 1;
		return;
	}
	if ((st->rh == NULL && (st->rh = calloc(H2_REQ_FIELDS,
	    sizeof(*st->rh))) == NULL) ||
	    (p = malloc(namelen + valuelen + 2)) == NULL) {
		st->rhdropped = 1;
		return;
	}
	/* nghttp2 let no NUL through in either */
	memcpy(p, name, namelen);
	p[namelen] = '\0';
	memcpy(p + namelen + 1, value, valuelen);
	p[namelen + 1 + valuelen] = '\0';
	st->rh[st->nrh].name = p;
	st->rh[st->nrh].value = p + namelen + 1;
	st->nrh++;
	st->rhbytes += namelen + valuelen;
}

static void
stream_release(struct h2_stream *st)
{
	stream_detach(st);
	req_free(st);
	cbuf_release(&st->toq);
	cbuf_release(&st->sq);
	free(st);
}

/* nghttp2 asks for a DATA frame's payload: the writer's bytes. */
static ssize_t
h2_data_read(nghttp2_session *ng, int32_t sid, uint8_t *buf, size_t len,
    uint32_t *flags, nghttp2_data_source *src, void *arg)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(ng, sid);
	size_t n;

	(void)src;
	(void)arg;
	if (st == NULL) {
		/* its owner is gone and asked for RST_STREAM, or it ended */
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		return 0;
	}
	n = len < st->sq.len ? len : st->sq.len;
	if (n > 0) {
		memcpy(buf, st->sq.p + st->sq.off, n);
		cbuf_consume(&st->sq, n);
		if (st->sq.len == 0)
			cbuf_release(&st->sq);	/* idle streams hold none */
	}
	if (st->sq.len == 0 && st->fin_sent)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	else if (n == 0) {
		st->deferred = 1;
		return NGHTTP2_ERR_DEFERRED;
	}
	if (st->wblocked && st->sq.len <= H2_SQ_MAX / 2 && st->c != NULL) {
		st->wblocked = 0;
		conn_kick(st->c, CONN_WRITE);
	}
	return (ssize_t)n;
}

static void
stream_resume(struct h2_stream *st)
{
	if (st->deferred && st->s != NULL) {
		st->deferred = 0;
		nghttp2_session_resume_data(st->s->ng, st->sid);
	}
}

/* The stream's operations. */

static ssize_t
st_recv(struct conn *c, void *p, size_t n)
{
	struct h2_stream *st = c->layer;
	struct h2 *s = st->s;
	size_t k;

	if (st->toq.len > 0) {
		k = n < st->toq.len ? n : st->toq.len;
		memcpy(p, st->toq.p + st->toq.off, k);
		cbuf_consume(&st->toq, k);
		if (st->toq.len == 0)
			cbuf_release(&st->toq);
		if (s != NULL && !s->failing) {
			/* the peer may send as much again */
			nghttp2_session_consume(s->ng, st->sid, k);
			h2_pump_or_fail(s);
		}
		return (ssize_t)k;
	}
	if (st->refused) {
		errno = ECONNREFUSED;
		return -1;
	}
	if (st->fin_rcvd && st->answered)
		return 0;
	if (s == NULL || s->failing || st->closed)
		errno = ECONNRESET;
	else
		errno = EAGAIN;
	return -1;
}

static ssize_t
st_send(struct conn *c, const void *p, size_t n)
{
	struct h2_stream *st = c->layer;
	struct h2 *s = st->s;
	size_t room;

	if (st->refused) {
		errno = ECONNREFUSED;
		return -1;
	}
	if (s == NULL || s->failing || (st->closed && st->reset)) {
		errno = ECONNRESET;
		return -1;
	}
	if (st->fin_sent || st->closed) {
		errno = EPIPE;
		return -1;
	}
	/* a client's tunnel goes on after the server's 200 only */
	if (!st->answered || (room = sq_room(st)) == 0) {
		st->wblocked = 1;
		errno = EAGAIN;
		return -1;
	}
	if (cbuf_alloc(&st->sq, H2_SQ_MAX) != 0) {
		errno = ENOMEM;
		return -1;
	}
	if (n > room)
		n = room;
	cbuf_append(&st->sq, p, n);
	stream_resume(st);
	h2_pump_or_fail(s);
	return (ssize_t)n;
}

/* END_STREAM once the queue is out: HTTP/2 half-closes. */
static int
st_shutw(struct conn *c)
{
	struct h2_stream *st = c->layer;
	struct h2 *s = st->s;

	if (s == NULL || s->failing || st->closed || st->fin_sent)
		return 0;
	st->fin_sent = 1;
	stream_resume(st);
	h2_pump_or_fail(s);
	return 0;
}

static void
st_update(struct conn *c)
{
	struct h2_stream *st = c->layer;
	struct h2 *s = st->s;
	int dead = s == NULL || s->failing || st->closed || st->refused;

	if ((c->want & CONN_READ) && (st->toq.len > 0 || dead ||
	    (st->fin_rcvd && st->answered)))
		conn_kick(c, CONN_READ);
	if (!(c->want & CONN_WRITE))
		return;
	if (dead || (st->answered && sq_room(st) > 0))
		conn_kick(c, CONN_WRITE);
	else
		st->wblocked = 1;
}

static size_t
st_pending(const struct conn *c)
{
	const struct h2_stream *st = c->layer;

	return st->toq.len;
}

/*
 * The owner is done with the stream.  If it ended its side, what it
 * sent still goes out (as a socket's after close), then the stream
 * lingers ownerless until nghttp2 closes it; else RST_STREAM(CANCEL).
 * What it did not read goes back to the session's window.
 */
static void
st_free(struct conn *c)
{
	struct h2_stream *st = c->layer;
	struct h2 *s = st->s;

	st->c = NULL;
	if (s != NULL && st->toq.len > 0 && !s->failing)
		nghttp2_session_consume(s->ng, st->sid, st->toq.len);
	cbuf_release(&st->toq);
	if (s == NULL || s->failing || st->closed) {
		if (s != NULL && !st->closed)
			nghttp2_session_set_stream_user_data(s->ng, st->sid,
			    NULL);
		stream_release(st);
		return;
	}
	if (st->fin_sent) {
		stream_resume(st);
		/* the peer may still send: ended once our END_STREAM is out */
		if (!st->fin_rcvd && st->eof_sent)
			nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE,
			    st->sid, NGHTTP2_NO_ERROR);
	} else {
		nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, st->sid,
		    NGHTTP2_CANCEL);
		nghttp2_session_set_stream_user_data(s->ng, st->sid, NULL);
		stream_release(st);
	}
	h2_pump_or_fail(s);
}

static const struct conn_ops h2_stream_ops = {
	.name = "h2",
	.recv = st_recv,
	.send = st_send,
	.shutw = st_shutw,
	.update = st_update,
	.pending = st_pending,
	.free = st_free,
};

/* nghttp2's callbacks. */

static int
h2_on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
	struct h2 *s = arg;
	struct h2_stream *st;

	if (s->client || f->hd.type != NGHTTP2_HEADERS ||
	    f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	if (s->nstreams >= H2_STREAMS_MAX || (st = stream_new(s)) == NULL) {
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE,
		    f->hd.stream_id, NGHTTP2_REFUSED_STREAM);
		return 0;
	}
	st->sid = f->hd.stream_id;
	nghttp2_session_set_stream_user_data(ng, st->sid, st);
	return 0;
}

static int
h2_on_header(nghttp2_session *ng, const nghttp2_frame *f,
    const uint8_t *name, size_t namelen, const uint8_t *value,
    size_t valuelen, uint8_t flags, void *arg)
{
	struct h2 *s = arg;
	struct h2_stream *st;
	size_t i;

	(void)flags;
	if (f->hd.type != NGHTTP2_HEADERS ||
	    (st = stream_of(s, f->hd.stream_id)) == NULL)
		return 0;
	if (!s->client && f->headers.cat == NGHTTP2_HCAT_REQUEST &&
	    s->reqcb != NULL)
		req_add(st, name, namelen, value, valuelen);
	else if (!s->client && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
		if (namelen == 7 && memcmp(name, ":method", 7) == 0)
			st->is_connect = valuelen == 7 &&
			    memcmp(value, "CONNECT", 7) == 0;
		else if (namelen == 5 && memcmp(name, ":path", 5) == 0)
			st->path_ok = s->path != NULL &&
			    valuelen == strlen(s->path) &&
			    memcmp(value, s->path, valuelen) == 0;
	} else if (s->client && f->headers.cat == NGHTTP2_HCAT_RESPONSE &&
	    namelen == 7 && memcmp(name, ":status", 7) == 0) {
		/* nghttp2 checked it is three digits */
		st->status = 0;
		for (i = 0; i < valuelen && i < 3; i++)
			st->status = st->status * 10 + (value[i] - '0');
	}
	return 0;
}

/*
 * A request for the session's request callback, unanswered: a stream
 * that neither side may write on before h2_respond.
 */
static void
h2_request_handoff(struct h2 *s, struct h2_stream *st, int end)
{
	struct h2_hdr *rest;
	struct h2_req r;
	int32_t sid = st->sid;
	size_t i, n = 0;

	if (stream_conn(st) != 0) {
		req_free(st);
		nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, st->sid,
		    NGHTTP2_INTERNAL_ERROR);
		return;
	}
	memset(&r, 0, sizeof(r));
	/* the pseudo-fields come first (nghttp2 checked): the rest after */
	rest = st->rh;
	for (i = 0; i < st->nrh; i++) {
		const char *k = st->rh[i].name, *v = st->rh[i].value;

		if (k[0] != ':') {
			if (n == 0)
				rest = &st->rh[i];
			n++;
		} else if (strcmp(k, ":method") == 0)
			r.method = v;
		else if (strcmp(k, ":scheme") == 0)
			r.scheme = v;
		else if (strcmp(k, ":authority") == 0)
			r.authority = v;
		else if (strcmp(k, ":path") == 0)
			r.path = v;
	}
	r.hdr = rest;
	r.nhdr = n;
	r.end = end;
	r.toolarge = st->rhdropped;
	st->fin_rcvd = end;
	s->reqcb(s->arg, st->c, &r);
	/* the callee may have let the stream go already */
	if ((st = stream_of(s, sid)) != NULL)
		req_free(st);
}

/* The server's answer to a request: the tunnel, or 405 / 400. */
static void
h2_request(struct h2 *s, struct h2_stream *st, int end)
{
	nghttp2_data_provider prd;
	nghttp2_nv nv[2];
	const char *code = "200";
	int e;

	if (s->reqcb != NULL) {
		h2_request_handoff(s, st, end);
		return;
	}

	if (s->path == NULL && !st->is_connect)
		code = "405";
	else if (s->path != NULL && !st->path_ok)
		code = "400";
	nv[0] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)code, 7, 3,
	    NGHTTP2_NV_FLAG_NONE };
	nv[1] = (nghttp2_nv){ (uint8_t *)"proxy-agent", (uint8_t *)"ostpd",
	    11, 5, NGHTTP2_NV_FLAG_NONE };
	if (code[0] != '2' || s->accept == NULL) {
		debug("h2: stream %d: answered %s", st->sid, code);
		nghttp2_submit_response(s->ng, st->sid, nv, 2, NULL);
		return;		/* the stream goes when nghttp2 closes it */
	}
	if (stream_conn(st) != 0) {
		nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, st->sid,
		    NGHTTP2_INTERNAL_ERROR);
		return;
	}
	memset(&prd, 0, sizeof(prd));
	prd.read_callback = h2_data_read;
	if ((e = nghttp2_submit_response(s->ng, st->sid, nv, 2, &prd)) != 0) {
		debug("h2: stream %d: %s", st->sid, nghttp2_strerror(e));
		nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, st->sid,
		    NGHTTP2_INTERNAL_ERROR);
		free(st->c);
		st->c = NULL;
		return;
	}
	st->answered = 1;
	st->fin_rcvd = end;
	s->accept(s->arg, st->c);
}

static int
h2_on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
	struct h2 *s = arg;
	struct h2_stream *st;
	int end = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;

	if (f->hd.type == NGHTTP2_GOAWAY) {
		debug("h2: GOAWAY (error %u)", f->goaway.error_code);
		/*
		 * A client's session takes no new tunnels now: it goes, and
		 * the pool opens another.  A server's lets its tunnels end;
		 * nghttp2 then has nothing to read or write (h2_conn_cb).
		 */
		if (s->client)
			h2_fail(s);
		return 0;
	}
	if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) ||
	    (st = stream_of(s, f->hd.stream_id)) == NULL)
		return 0;
	if (f->hd.type == NGHTTP2_HEADERS && !s->client &&
	    f->headers.cat == NGHTTP2_HCAT_REQUEST) {
		h2_request(s, st, end);
		return 0;
	}
	if (f->hd.type == NGHTTP2_HEADERS && s->client &&
	    f->headers.cat == NGHTTP2_HCAT_RESPONSE) {
		if (st->status >= 100 && st->status < 200)
			return 0;	/* an interim answer */
		if (st->status == 200)
			st->answered = 1;
		else {
			debug("h2: stream %d: the server answered %d", st->sid,
			    st->status);
			st->refused = 1;
			nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE,
			    st->sid, NGHTTP2_CANCEL);
		}
		if (st->c != NULL)
			conn_kick(st->c, CONN_READ | CONN_WRITE);
	}
	if (end && !st->fin_rcvd) {
		st->fin_rcvd = 1;
		if (st->c != NULL)
			conn_kick(st->c, CONN_READ);
	}
	return 0;
}

static int
h2_on_data(nghttp2_session *ng, uint8_t flags, int32_t sid,
    const uint8_t *data, size_t len, void *arg)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(ng, sid);

	(void)flags;
	(void)arg;
	if (st == NULL || st->c == NULL || st->fin_rcvd) {
		/* nobody reads it: the window is the peer's again */
		nghttp2_session_consume(ng, sid, len);
		return 0;
	}
	/* flow control keeps it within the stream's window */
	if (buf_grow_append(&st->toq, data, len, H2_TOQ_MIN,
	    2 * H2_STREAM_WINDOW) != 0) {
		nghttp2_session_consume(ng, sid, len);
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, sid,
		    NGHTTP2_INTERNAL_ERROR);
		return 0;
	}
	conn_kick(st->c, CONN_READ);
	return 0;
}

/*
 * An ownerless stream's END_STREAM went: the peer need send no more.
 * A peer that sent past a stream's window (nghttp2 resets the stream)
 * is broken: its whole session ends, GOAWAY(FLOW_CONTROL_ERROR).
 */
static int
h2_on_frame_send(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
	struct h2_stream *st;

	(void)arg;
	if (f->hd.type == NGHTTP2_RST_STREAM &&
	    f->rst_stream.error_code == NGHTTP2_FLOW_CONTROL_ERROR) {
		debug("h2: stream %d: the peer ignored flow control",
		    f->hd.stream_id);
		nghttp2_session_terminate_session(ng,
		    NGHTTP2_FLOW_CONTROL_ERROR);
		return 0;
	}
	if (!(f->hd.flags & NGHTTP2_FLAG_END_STREAM) ||
	    (f->hd.type != NGHTTP2_DATA && f->hd.type != NGHTTP2_HEADERS) ||
	    (st = nghttp2_session_get_stream_user_data(ng,
	    f->hd.stream_id)) == NULL)
		return 0;
	st->eof_sent = 1;
	if (st->c == NULL && st->fin_sent && !st->fin_rcvd)
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, st->sid,
		    NGHTTP2_NO_ERROR);
	return 0;
}

static int
h2_on_stream_close(nghttp2_session *ng, int32_t sid, uint32_t code,
    void *arg)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(ng, sid);

	(void)arg;
	if (st == NULL)
		return 0;
	if (st->c == NULL) {
		/* answered 405 or 400, or refused: never handed out */
		stream_release(st);
		return 0;
	}
	st->closed = 1;
	st->reset = code != NGHTTP2_NO_ERROR || !st->fin_rcvd;
	if (st->reset)
		debug("h2: stream %d reset (error %u)", sid, code);
	conn_kick(st->c, CONN_READ | CONN_WRITE);
	return 0;
}

static void
h2_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct h2 *s = arg;

	(void)fd;
	(void)what;
	if (!s->heard) {
		debug("h2: nothing heard since the last PING");
		h2_close(s);
		return;
	}
	s->heard = 0;
	nghttp2_submit_ping(s->ng, NGHTTP2_FLAG_NONE, NULL);
	if (h2_pump(s) != 0)
		h2_close(s);
}

/* H2_IDLE_SECS; test builds take OSTP_H2_IDLE (seconds). */
static time_t
h2_idle_secs(void)
{
#ifdef OSTP_TESTHOOKS
	static time_t v;
	const char *e;

	if (v == 0)
		v = (e = getenv("OSTP_H2_IDLE")) != NULL && atoi(e) > 0 ?
		    atoi(e) : H2_IDLE_SECS;
	return v;
#else
	return H2_IDLE_SECS;
#endif
}

/*
 * A server session that carried no stream and no byte for
 * H2_IDLE_SECS goes (gost's h2 and http2 servers), with a GOAWAY.
 */
static void
h2_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct h2 *s = arg;
	struct timespec now;
	struct timeval tv = { h2_idle_secs(), 0 };
	time_t idle;

	(void)fd;
	(void)what;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	idle = now.tv_sec - s->last.tv_sec;
	if (s->nstreams > 0 || idle < h2_idle_secs()) {
		if (s->nstreams == 0)
			tv.tv_sec = h2_idle_secs() - idle;
		event_add(s->idle_ev, &tv);
		return;
	}
	debug("h2: idle for %lld s: closing", (long long)idle);
	nghttp2_session_terminate_session(s->ng, NGHTTP2_NO_ERROR);
	(void)h2_pump(s);
	h2_close(s);
}

static void
h2_conn_cb(struct conn *c, int what, void *arg)
{
	struct h2 *s = arg;
	unsigned char buf[16384];
	size_t total = 0;
	ssize_t n, r;

	if ((what & CONN_WRITE) && h2_pump(s) != 0) {
		debug("h2: the connection failed");
		h2_close(s);
		return;
	}
	if (!(what & CONN_READ) || s->failing)
		return;
	for (;;) {
		if ((n = conn_recv(c, buf, sizeof(buf))) == 0) {
			debug("h2: the connection closed");
			h2_close(s);
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN)
				break;
			debug("h2: the connection failed: %s",
			    strerror(errno));
			h2_close(s);
			return;
		}
		s->heard = 1;
		if (s->idle_ev != NULL)
			clock_gettime(CLOCK_MONOTONIC_COARSE, &s->last);
		if (s->alpn && !s->alpn_ok) {
			/* the handshake is over: both agreed on h2 */
			if (!tls_alpn_is(c, "h2")) {
				debug("h2: TLS without ALPN h2");
				h2_close(s);
				return;
			}
			s->alpn_ok = 1;
		}
		s->busy = 1;
		r = nghttp2_session_mem_recv(s->ng, buf, (size_t)n);
		s->busy = 0;
		if (r < 0) {
			debug("h2: input: %s", nghttp2_strerror((int)r));
			/* a GOAWAY may wait: it goes if it can */
			(void)h2_pump(s);
			h2_close(s);
			return;
		}
		if (s->failing)
			return;
		if ((total += (size_t)n) >= H2_READ_MAX) {
			conn_kick(c, CONN_READ);
			break;
		}
	}
	if (h2_pump(s) != 0) {
		debug("h2: output failed");
		h2_close(s);
		return;
	}
	if (!nghttp2_session_want_read(s->ng) &&
	    !nghttp2_session_want_write(s->ng) && s->out.len == 0) {
		debug("h2: the session ended");
		h2_close(s);
	}
}

static void
h2_fail_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	h2_close(arg);
}

/*
 * A failure found inside a stream's operation or nghttp2's callback:
 * the session closes from the event loop, not under the caller; its
 * streams fail meanwhile.
 */
static void
h2_fail(struct h2 *s)
{
	if (s->failing)
		return;
	s->failing = 1;
	event_active(s->fail_ev, EV_TIMEOUT, 1);
}

/*
 * Everything goes but the streams handed out, which belong to their
 * owners: they fail from their next operation on (woken now).
 */
static void
h2_close(struct h2 *s)
{
	void (*closed)(void *) = s->closed;
	void *arg = s->arg;
	struct h2_stream *st;

	while ((st = TAILQ_FIRST(&s->streams)) != NULL) {
		if (st->c == NULL) {
			stream_release(st);
			continue;
		}
		stream_detach(st);
		conn_kick(st->c, CONN_READ | CONN_WRITE);
	}
	nghttp2_session_del(s->ng);
	if (s->ping_ev != NULL)
		event_free(s->ping_ev);
	if (s->idle_ev != NULL)
		event_free(s->idle_ev);
	event_free(s->fail_ev);
	if (s->dying != NULL)
		s->dying(arg, s->c);
	conn_free(s->c);
	cbuf_release(&s->out);
	free(s->path);
	free(s);
	if (closed != NULL)
		closed(arg);
}

struct h2 *
h2_new(struct conn *c, int client, const char *path, unsigned long ping_ms,
    int alpn, h2_accept_cb accept, void (*closed)(void *), void *arg)
{
	nghttp2_session_callbacks *cbs = NULL;
	nghttp2_option *opt = NULL;
	nghttp2_settings_entry set[3];
	struct timeval tv;
	struct h2 *s;
	int r = -1, nset = 0;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (path != NULL && (s->path = strdup(path)) == NULL) ||
	    nghttp2_session_callbacks_new(&cbs) != 0 ||
	    nghttp2_option_new(&opt) != 0)
		goto done;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs,
	    h2_on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cbs, h2_on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs,
	    h2_on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs,
	    h2_on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs,
	    h2_on_stream_close);
	nghttp2_session_callbacks_set_on_frame_send_callback(cbs,
	    h2_on_frame_send);
	/* the readers give the window back (st_recv), not nghttp2 */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	if ((client ? nghttp2_session_client_new2(&s->ng, cbs, s, opt) :
	    nghttp2_session_server_new2(&s->ng, cbs, s, opt)) != 0) {
		s->ng = NULL;
		goto done;
	}
	set[nset++] = (nghttp2_settings_entry){
	    NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_STREAMS_MAX };
	set[nset++] = (nghttp2_settings_entry){
	    NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW };
	if (client)
		set[nset++] = (nghttp2_settings_entry){
		    NGHTTP2_SETTINGS_ENABLE_PUSH, 0 };
	if (nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, set, nset) != 0 ||
	    nghttp2_session_set_local_window_size(s->ng, NGHTTP2_FLAG_NONE, 0,
	    H2_CONN_WINDOW) != 0)
		goto done;
	r = 0;
 done:
	if (cbs != NULL)
		nghttp2_session_callbacks_del(cbs);
	if (opt != NULL)
		nghttp2_option_del(opt);
	if (r != 0) {
		if (s != NULL) {
			if (s->ng != NULL)
				nghttp2_session_del(s->ng);
			free(s->path);
		}
		free(s);
		conn_free(c);
		return NULL;
	}
	s->wk = c->wk;
	s->c = c;
	s->client = client;
	s->alpn = alpn;
	s->heard = 1;
	s->accept = accept;
	s->closed = closed;
	s->arg = arg;
	TAILQ_INIT(&s->streams);
	if ((s->fail_ev = event_new(s->wk->base, -1, 0, h2_fail_cb,
	    s)) == NULL)
		fatal_f("out of memory");
	if (ping_ms > 0) {
		if ((s->ping_ev = event_new(s->wk->base, -1, EV_PERSIST,
		    h2_ping_cb, s)) == NULL)
			fatal_f("out of memory");
		tv.tv_sec = (time_t)(ping_ms / 1000);
		tv.tv_usec = (suseconds_t)(ping_ms % 1000) * 1000;
		event_add(s->ping_ev, &tv);
	}
	if (!client) {
		if ((s->idle_ev = evtimer_new(s->wk->base, h2_idle_cb,
		    s)) == NULL)
			fatal_f("out of memory");
		clock_gettime(CLOCK_MONOTONIC_COARSE, &s->last);
		tv.tv_sec = h2_idle_secs();
		tv.tv_usec = 0;
		event_add(s->idle_ev, &tv);
	}
	conn_set_cb(c, h2_conn_cb, s);
	/* the preface and SETTINGS go first; a failure shows at the next */
	if (h2_pump(s) != 0)
		h2_fail(s);
	h2_arm(s);
	return s;
}

struct conn *
h2_open(struct h2 *s, const char *authority, const char *path,
    const struct h2_hdr *h, size_t nh)
{
	nghttp2_data_provider prd;
	struct h2_stream *st;
	nghttp2_nv nv[4 + H2_RESP_FIELDS];
	size_t n = 0, i;
	int32_t sid;

#define NV(k, v) (nghttp2_nv){ (uint8_t *)(k), (uint8_t *)(v), \
	    strlen(k), strlen(v), NGHTTP2_NV_FLAG_NONE }
	if (s->failing || s->nstreams >= H2_STREAMS_MAX ||
	    nh > H2_RESP_FIELDS ||
	    !nghttp2_session_check_request_allowed(s->ng) ||
	    (st = stream_new(s)) == NULL)
		return NULL;
	if (stream_conn(st) != 0) {
		stream_release(st);
		return NULL;
	}
	if (path == NULL) {
		nv[n++] = NV(":method", "CONNECT");
		nv[n++] = NV(":authority", authority);
	} else {
		nv[n++] = NV(":method", "GET");
		nv[n++] = NV(":scheme", s->alpn ? "https" : "http");
		nv[n++] = NV(":path", path);
		nv[n++] = NV(":authority", authority);
	}
	for (i = 0; i < nh; i++)
		nv[n++] = NV(h[i].name, h[i].value);
#undef NV
	memset(&prd, 0, sizeof(prd));
	prd.read_callback = h2_data_read;
	if ((sid = nghttp2_submit_request(s->ng, NULL, nv, n, &prd,
	    st)) < 0) {
		debug("h2: a new stream: %s", nghttp2_strerror(sid));
		free(st->c);
		stream_release(st);
		return NULL;
	}
	st->sid = sid;
	h2_pump_or_fail(s);
	return st->c;
}

int
h2_status(const struct conn *c)
{
	const struct h2_stream *st = c->layer;

	if (c->ops != &h2_stream_ops)
		return -1;
	if (st->answered)
		return 200;
	if (st->refused)
		return st->status;
	if (st->s == NULL || st->s->failing || st->closed || st->fin_rcvd)
		return -1;
	return 0;
}

void
h2_set_request_cb(struct h2 *s, h2_request_cb cb)
{
	s->reqcb = cb;
}

const char *
h2_req_header(const struct h2_req *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nhdr; i++)
		if (strcmp(r->hdr[i].name, name) == 0)
			return r->hdr[i].value;
	return NULL;
}

int
h2_respond(struct conn *c, int status, const struct h2_hdr *h, size_t nh,
    const void *body, size_t bodylen)
{
	struct h2_stream *st = c->layer;
	struct h2 *s = st->s;
	nghttp2_data_provider prd;
	nghttp2_nv nv[1 + H2_RESP_FIELDS];
	char code[4];
	size_t n = 0, i;
	int e;

	if (c->ops != &h2_stream_ops || s == NULL || s->client ||
	    s->failing || st->closed || st->answered || nh > H2_RESP_FIELDS ||
	    status < 100 || status > 999) {
		errno = ECONNRESET;
		return -1;
	}
	snprintf(code, sizeof(code), "%d", status);
	nv[n++] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)code, 7, 3,
	    NGHTTP2_NV_FLAG_NONE };
	for (i = 0; i < nh; i++)
		nv[n++] = (nghttp2_nv){ (uint8_t *)h[i].name,
		    (uint8_t *)h[i].value, strlen(h[i].name),
		    strlen(h[i].value), NGHTTP2_NV_FLAG_NONE };
	if (body != NULL) {
		/* all of it goes, and END_STREAM after it */
		if (bodylen > 0 && buf_grow_append(&st->sq, body, bodylen,
		    bodylen, bodylen + H2_SQ_MAX) != 0) {
			errno = ENOMEM;
			return -1;
		}
		st->fin_sent = 1;
	}
	memset(&prd, 0, sizeof(prd));
	prd.read_callback = h2_data_read;
	if ((e = nghttp2_submit_response(s->ng, st->sid, nv, n, &prd)) != 0) {
		debug("h2: stream %d: %s", st->sid, nghttp2_strerror(e));
		errno = ECONNRESET;
		return -1;
	}
	st->answered = 1;
	if (c->want != 0)
		conn_kick(c, c->want);
	h2_pump_or_fail(s);
	return 0;
}

size_t
h2_nstreams(const struct h2 *s)
{
	return s->nstreams;
}

void
h2_set_dying(struct h2 *s, void (*dying)(void *, struct conn *))
{
	s->dying = dying;
}

void
h2_free(struct h2 *s)
{
	if (s != NULL) {
		s->closed = NULL;
		h2_close(s);
	}
}
