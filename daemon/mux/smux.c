/*
 * smux sessions (version 1) over a connection.  Each stream is a
 * connection (conn_ops below): what the peer sends on it waits in the
 * stream's queue for its reader, what its writer sends becomes PSH
 * frames in the session's output.
 *
 * Version 1 has no per-stream flow control, so back-pressure is the
 * session's, as in xtaci/smux: what waits in the streams' queues
 * together is bounded by its receive buffer (4 MiB), past which the
 * connection is no longer read until the readers caught up by half;
 * writers wait while the session's output is full.  NOP every 10 s; a
 * session that hears nothing for 30 s is closed.
 */
#include "config.h"

#include <sys/queue.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "cbuf.h"
#include "core/conn.h"
#include "err.h"
#include "log.h"
#include "mux/smux.h"
#include "proto/smux.h"
#include "worker.h"

#define SMUX_OUT_MAX		(1024 * 1024)
#define SMUX_RECV_MAX		(4 * 1024 * 1024) /* queued, all streams */
#define SMUX_TOQ_MIN		(16 * 1024)
#define SMUX_KEEPALIVE_SECS	10
#define SMUX_TIMEOUT_SECS	30
#define SMUX_STREAMS_MAX	4096
#define SMUX_BUCKETS		256

struct smux_stream {
	LIST_ENTRY(smux_stream)	 entry;		/* in its bucket */
	struct smux		*s;		/* NULL: the session is gone */
	struct conn		*c;
	uint32_t		 sid;
	struct cbuf		 toq;		/* from the peer */
	int			 fin_rcvd;
	int			 fin_sent;
	int			 blocked;	/* waits for session output */
};

LIST_HEAD(stream_list, smux_stream);

struct smux {
	struct worker		*wk;
	struct conn		*c;
	uint32_t		 next_sid;
	struct cbuf		 in;
	struct cbuf		 out;
	struct event		*ka;
	struct event		*fail_ev;	/* closes it, from the loop */
	int			 failing;
	time_t			 last_rx;
	size_t			 queued;	/* in the streams' queues */
	int			 stalled;	/* queued past SMUX_RECV_MAX */
	int			 nblocked;
	int			 busy;		/* inside smux_input */
	int			 held;		/* out: a SYN for its data */
	struct stream_list	 bucket[SMUX_BUCKETS];
	size_t			 nstreams;
	smux_accept_cb		 accept;
	void			(*closed)(void *);
	void			(*dying)(void *, struct conn *);
	void			*arg;
};

static void smux_close(struct smux *);
static void smux_fail(struct smux *);
static void smux_fail_cb(evutil_socket_t, short, void *);
static const struct conn_ops stream_ops;

static void
smux_arm(struct smux *s)
{
	conn_want(s->c, (!s->stalled ? CONN_READ : 0) |
	    (s->out.len > 0 && !s->held ? CONN_WRITE : 0));
}

/* The output drained below half: writers that waited go on. */
static void
smux_unblock(struct smux *s)
{
	struct smux_stream *st;
	size_t i;

	if (s->nblocked == 0 || s->out.len > SMUX_OUT_MAX / 2)
		return;
	for (i = 0; i < SMUX_BUCKETS; i++)
		LIST_FOREACH(st, &s->bucket[i], entry)
			if (st->blocked) {
				st->blocked = 0;
				s->nblocked--;
				conn_kick(st->c, CONN_WRITE);
			}
}

static int
smux_flush(struct smux *s)
{
	s->held = 0;
	if (conn_send_buf(s->c, &s->out) != 0)
		return -1;
	smux_unblock(s);
	return 0;
}

/*
 * A frame into the output.  Data stops at SMUX_OUT_MAX: the rest is
 * kept for SYN, FIN and NOP frames, which must never fail for want of
 * room (a lost SYN is a peer dropped, a lost FIN a stream never ended).
 */
static int
smux_frame(struct smux *s, int cmd, uint32_t sid, const void *p, size_t n)
{
	if (cbuf_room(&s->out) < SMUX_HDR_LEN + n)
		return ERR_NO_SPACE;
	smux_put(cbuf_tail(&s->out), cmd, (uint16_t)n, sid);
	s->out.len += SMUX_HDR_LEN;
	if (n > 0)
		cbuf_append(&s->out, p, n);
	return 0;
}

/* Room for a data frame now; 0 when the writer must wait. */
static size_t
smux_data_room(struct smux *s)
{
	size_t room = cbuf_room(&s->out);

	room = room > SMUX_HDR_LEN + SMUX_FRAME_MAX ?
	    room - SMUX_HDR_LEN - SMUX_FRAME_MAX : 0;
	if (room < SMUX_HDR_LEN + 1024)
		return 0;
	room -= SMUX_HDR_LEN;
	return room < SMUX_FRAME_MAX ? room : SMUX_FRAME_MAX;
}

static struct stream_list *
bucket_of(struct smux *s, uint32_t sid)
{
	return &s->bucket[(sid >> 1) % SMUX_BUCKETS];
}

static struct smux_stream *
stream_find(struct smux *s, uint32_t sid)
{
	struct smux_stream *st;

	LIST_FOREACH(st, bucket_of(s, sid), entry)
		if (st->sid == sid)
			return st;
	return NULL;
}

/* Readers took n bytes: below half the budget the session reads on. */
static void
smux_taken(struct smux *s, size_t n)
{
	s->queued -= n;
	if (s->stalled && s->queued < SMUX_RECV_MAX / 2) {
		s->stalled = 0;
		smux_arm(s);
		/* frames may wait in s->in with nothing more to read */
		conn_kick(s->c, CONN_READ);
	}
}

/* A frame's payload into a stream's queue, which grows as needed. */
static int
toq_append(struct smux_stream *st, const unsigned char *p, size_t n)
{
	struct cbuf *q = &st->toq;

	/* bounded by the session's receive budget, not here */
	if (cbuf_reserve(q, n, SMUX_TOQ_MIN, SIZE_MAX) != 0)
		return -1;
	memcpy(cbuf_tail(q), p, n);
	q->len += n;
	return 0;
}

/* Off the session: the stream fails from now on. */
static void
stream_detach(struct smux_stream *st)
{
	struct smux *s = st->s;

	if (s == NULL)
		return;
	if (st->toq.len > 0)
		smux_taken(s, st->toq.len);
	if (st->blocked) {
		st->blocked = 0;
		s->nblocked--;
	}
	LIST_REMOVE(st, entry);
	s->nstreams--;
	st->s = NULL;
}

static ssize_t
st_recv(struct conn *c, void *p, size_t n)
{
	struct smux_stream *st = c->layer;
	size_t k;

	if (st->toq.len > 0) {
		k = n < st->toq.len ? n : st->toq.len;
		memcpy(p, st->toq.p + st->toq.off, k);
		cbuf_consume(&st->toq, k);
		if (st->toq.len == 0)
			cbuf_release(&st->toq);
		if (st->s != NULL)
			smux_taken(st->s, k);
		return (ssize_t)k;
	}
	if (st->fin_rcvd)
		return 0;
	errno = st->s == NULL || st->s->failing ? ECONNRESET : EAGAIN;
	return -1;
}

static ssize_t
st_send(struct conn *c, const void *p, size_t n)
{
	struct smux_stream *st = c->layer;
	struct smux *s = st->s;
	size_t room;

	if (s == NULL || s->failing) {
		errno = ECONNRESET;
		return -1;
	}
	if (st->fin_sent) {
		errno = EPIPE;
		return -1;
	}
	if ((room = smux_data_room(s)) == 0) {
		if (!st->blocked) {
			st->blocked = 1;
			s->nblocked++;
		}
		errno = EAGAIN;
		return -1;
	}
	if (n > room)
		n = room;
	smux_frame(s, SMUX_PSH, st->sid, p, n);
	if (smux_flush(s) != 0) {
		smux_fail(s);
		errno = ECONNRESET;
		return -1;
	}
	smux_arm(s);
	return (ssize_t)n;
}

static int
st_shutw(struct conn *c)
{
	struct smux_stream *st = c->layer;
	struct smux *s = st->s;

	if (s == NULL || s->failing || st->fin_sent)
		return 0;
	smux_frame(s, SMUX_FIN, st->sid, NULL, 0);
	st->fin_sent = 1;
	if (smux_flush(s) != 0) {
		smux_fail(s);
		return 0;
	}
	smux_arm(s);
	return 0;
}

static void
st_update(struct conn *c)
{
	struct smux_stream *st = c->layer;
	struct smux *s = st->s;

	if ((c->want & CONN_READ) && (st->toq.len > 0 || st->fin_rcvd ||
	    s == NULL || s->failing))
		conn_kick(c, CONN_READ);
	/* the opener waits for the peer: a held SYN goes now */
	if ((c->want & CONN_READ) && s != NULL && !s->failing && s->held) {
		if (smux_flush(s) != 0)
			smux_fail(s);
		else
			smux_arm(s);
	}
	if (!(c->want & CONN_WRITE))
		return;
	if (s == NULL || s->failing || smux_data_room(s) > 0)
		conn_kick(c, CONN_WRITE);
	else if (!st->blocked) {
		st->blocked = 1;
		s->nblocked++;
	}
}

static size_t
st_pending(const struct conn *c)
{
	const struct smux_stream *st = c->layer;

	return st->toq.len;
}

/* The owner is done with the stream: FIN if not yet sent, then gone. */
static void
st_free(struct conn *c)
{
	struct smux_stream *st = c->layer;
	struct smux *s = st->s;

	if (s != NULL) {
		if (!st->fin_sent)
			smux_frame(s, SMUX_FIN, st->sid, NULL, 0);
		stream_detach(st);
		if (!s->busy && !s->stalled)
			conn_kick(s->c, CONN_READ);
		if (!s->failing && smux_flush(s) != 0)
			smux_fail(s);
		else if (!s->failing)
			smux_arm(s);
	}
	cbuf_release(&st->toq);
	free(st);
}

static const struct conn_ops stream_ops = {
	.name = "smux",
	.recv = st_recv,
	.send = st_send,
	.shutw = st_shutw,
	.update = st_update,
	.pending = st_pending,
	.free = st_free,
};

static struct smux_stream *
stream_new(struct smux *s, uint32_t sid)
{
	struct smux_stream *st;
	struct conn *c;

	if (s->nstreams >= SMUX_STREAMS_MAX ||
	    (st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		free(st);
		return NULL;
	}
	/* a connection without a descriptor; fd names the session's */
	c->ops = &stream_ops;
	c->wk = s->wk;
	c->fd = s->c->fd;
	c->layer = st;
	st->c = c;
	st->s = s;
	st->sid = sid;
	LIST_INSERT_HEAD(bucket_of(s, sid), st, entry);
	s->nstreams++;
	return st;
}

static int
smux_input(struct smux *s)
{
	struct smux_stream *st;
	struct smux_frame f;
	int e;

	for (;;) {
		if (s->stalled)
			return 0;	/* the readers must catch up */
		e = smux_parse(s->in.p + s->in.off, s->in.len, &f);
		if (e == ERR_INCOMPLETE)
			return 0;
		if (e != 0) {
			debug("smux: bad frame: %s", ostp_err(e));
			return -1;
		}
		if (s->in.len < SMUX_HDR_LEN + (size_t)f.len)
			return 0;
		st = stream_find(s, f.sid);
		switch (f.cmd) {
		case SMUX_SYN:
			if (st != NULL || f.sid == 0)
				break;		/* smux ignores a repeated SYN */
			if (s->accept == NULL ||
			    (st = stream_new(s, f.sid)) == NULL) {
				smux_frame(s, SMUX_FIN, f.sid, NULL, 0);
				break;
			}
			s->accept(s->arg, st->c);
			break;
		case SMUX_FIN:
			if (st != NULL && !st->fin_rcvd) {
				st->fin_rcvd = 1;
				conn_kick(st->c, CONN_READ);
			}
			break;
		case SMUX_PSH:
			if (st == NULL || st->fin_rcvd)
				break;		/* data for a closed stream */
			if (s->queued + f.len > SMUX_RECV_MAX) {
				/* the frame waits; so does the session */
				s->stalled = 1;
				return 0;
			}
			if (toq_append(st, s->in.p + s->in.off +
			    SMUX_HDR_LEN, f.len) != 0)
				return -1;
			s->queued += f.len;
			conn_kick(st->c, CONN_READ);
			break;
		case SMUX_NOP:
			break;
		}
		cbuf_consume(&s->in, SMUX_HDR_LEN + (size_t)f.len);
	}
}

static void
smux_conn_cb(struct conn *c, int what, void *arg)
{
	struct smux *s = arg;
	ssize_t n = 0;		/* no room: nothing read */
	int r;

	if ((what & CONN_WRITE) && smux_flush(s) != 0) {
		debug("smux: the connection failed");
		smux_close(s);
		return;
	}
	if (what & CONN_READ) {
		while (cbuf_room(&s->in) > 0 &&
		    (n = conn_recv(c, cbuf_tail(&s->in),
		    cbuf_room(&s->in))) > 0) {
			s->in.len += (size_t)n;
			s->last_rx = time(NULL);
			if (s->in.len >= SMUX_HDR_LEN + SMUX_FRAME_MAX)
				break;	/* frames first, fairness */
		}
		if (cbuf_room(&s->in) > 0 && (n == 0 || (n < 0 &&
		    errno != EAGAIN))) {
			debug("smux: the connection closed");
			smux_close(s);
			return;
		}
		s->busy = 1;
		r = smux_input(s);
		s->busy = 0;
		if (r != 0 || smux_flush(s) != 0) {
			debug("smux: input or output failed");
			smux_close(s);
			return;
		}
		/* more may wait below a layer, or in s->in */
		if (!s->stalled && (conn_pending(c) > 0 ||
		    s->in.len >= SMUX_HDR_LEN + SMUX_FRAME_MAX))
			conn_kick(c, CONN_READ);
	}
	smux_arm(s);
}

static void
smux_ka_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smux *s = arg;

	(void)fd;
	(void)what;
	if (time(NULL) - s->last_rx > SMUX_TIMEOUT_SECS) {
		debug("smux: nothing heard for %d s", SMUX_TIMEOUT_SECS);
		smux_close(s);
		return;
	}
	smux_frame(s, SMUX_NOP, 0, NULL, 0);
	if (smux_flush(s) != 0)
		smux_close(s);
	else
		smux_arm(s);
}

struct smux *
smux_new(struct conn *c, int client, smux_accept_cb accept,
    void (*closed)(void *), void *arg)
{
	struct timeval tv = { SMUX_KEEPALIVE_SECS, 0 };
	struct smux *s;
	size_t i;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    cbuf_alloc(&s->in, 2 * (SMUX_HDR_LEN + 65535)) != 0 ||
	    cbuf_alloc(&s->out, SMUX_OUT_MAX + SMUX_HDR_LEN +
	    SMUX_FRAME_MAX) != 0) {
		if (s != NULL)
			cbuf_release(&s->in);
		free(s);
		conn_free(c);
		return NULL;
	}
	s->wk = c->wk;
	s->c = c;
	/* smux: a client's streams 3, 5, 7..., a server's 2, 4, 6... */
	s->next_sid = client ? 1 : 0;
	s->accept = accept;
	s->closed = closed;
	s->arg = arg;
	s->last_rx = time(NULL);
	for (i = 0; i < SMUX_BUCKETS; i++)
		LIST_INIT(&s->bucket[i]);
	if ((s->ka = event_new(s->wk->base, -1, EV_PERSIST, smux_ka_cb,
	    s)) == NULL || (s->fail_ev = event_new(s->wk->base, -1, 0,
	    smux_fail_cb, s)) == NULL)
		fatal_f("out of memory");
	event_add(s->ka, &tv);
	conn_set_cb(c, smux_conn_cb, s);
	smux_arm(s);
	return s;
}

struct conn *
smux_open(struct smux *s)
{
	struct smux_stream *st;

	if (s->failing || s->next_sid > UINT32_MAX - 2)
		return NULL;
	s->next_sid += 2;
	if ((st = stream_new(s, s->next_sid)) == NULL)
		return NULL;
	if (smux_frame(s, SMUX_SYN, st->sid, NULL, 0) != 0) {
		stream_detach(st);
		cbuf_release(&st->toq);
		free(st->c);
		free(st);
		return NULL;
	}
	/*
	 * The SYN waits for the stream's first data, which the opener
	 * sends at once as a rule (a request): one record and one write
	 * for both.  It waits no longer than until the opener waits to
	 * read (st_update) or anything else is sent on the session.
	 */
	if (s->out.len == SMUX_HDR_LEN)
		s->held = 1;
	smux_arm(s);
	return st->c;
}

void
smux_set_dying(struct smux *s, void (*dying)(void *, struct conn *))
{
	s->dying = dying;
}

size_t
smux_nstreams(const struct smux *s)
{
	return s->nstreams;
}

static void
smux_fail_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	smux_close(arg);
}

/*
 * A failure found inside a stream's operation: the session closes from
 * the event loop, not under the caller (whose closed() may free what
 * the caller still uses); meanwhile its streams fail.
 */
static void
smux_fail(struct smux *s)
{
	if (s->failing)
		return;
	s->failing = 1;
	event_active(s->fail_ev, EV_TIMEOUT, 1);
}

/*
 * Everything goes but the streams, which belong to their owners: they
 * fail from their next operation on (woken now).  Then closed().
 */
static void
smux_close(struct smux *s)
{
	void (*closed)(void *) = s->closed;
	void *arg = s->arg;
	struct smux_stream *st;
	size_t i;

	for (i = 0; i < SMUX_BUCKETS; i++)
		while ((st = LIST_FIRST(&s->bucket[i])) != NULL) {
			stream_detach(st);
			conn_kick(st->c, CONN_READ | CONN_WRITE);
		}
	event_free(s->ka);
	event_free(s->fail_ev);
	if (s->dying != NULL)
		s->dying(arg, s->c);
	conn_free(s->c);
	cbuf_release(&s->in);
	cbuf_release(&s->out);
	free(s);
	if (closed != NULL)
		closed(arg);
}

void
smux_free(struct smux *s)
{
	if (s != NULL) {
		s->closed = NULL;
		smux_close(s);
	}
}
