/*
 * smux sessions (version 1): streams over one connection, each bridged
 * to a local socket.  Version 1 has no per-stream flow control, so
 * back-pressure is the session's: a stream whose socket does not take
 * its data stops the reading of the whole connection (as smux itself
 * does when its receive buffer is full), and local sockets stop being
 * read while the connection's output is full.  NOP every 10 s; a
 * session that hears nothing for 30 s is closed.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cbuf.h"
#include "err.h"
#include "log.h"
#include "proto/smux.h"
#include "smux.h"
#include "worker.h"

#define SMUX_OUT_MAX		(1024 * 1024)
#define SMUX_STREAM_MAX		(256 * 1024)	/* queued toward a socket */
#define SMUX_KEEPALIVE_SECS	10
#define SMUX_TIMEOUT_SECS	30
#define SMUX_STREAMS_MAX	4096

struct smux_stream {
	LIST_ENTRY(smux_stream)	 entry;
	struct smux		*s;
	uint32_t		 sid;
	int			 fd;		/* -1 until attached */
	struct cbuf		 toq;		/* from the peer, for fd */
	struct event		*rev;
	struct event		*wev;
	int			 fin_rcvd;
	int			 fin_sent;
	int			 blocked;	/* waits for session output */
	int			 full;		/* its queue stops the session */
	smux_strip_fn		 strip;		/* a header to drop first */
};

struct smux {
	struct worker		*wk;
	int			 fd;
	uint32_t		 next_sid;
	struct cbuf		 in;
	struct cbuf		 out;
	struct event		*rev;
	struct event		*wev;
	struct event		*ka;
	time_t			 last_rx;
	int			 nfull;		/* streams whose queue is full */
	int			 dead;
	LIST_HEAD(, smux_stream) streams;
	size_t			 nstreams;
	smux_accept_cb		 accept;
	void			(*closed)(void *);
	void			*arg;
};

static void smux_close(struct smux *);
static void smux_unblock(struct smux *);
static void stream_pump_in(struct smux_stream *);

static int
smux_flush(struct smux *s)
{
	ssize_t n;

	while (s->out.len > 0) {
		n = send(s->fd, s->out.p + s->out.off, s->out.len,
		    MSG_NOSIGNAL);
		if (n > 0) {
			cbuf_consume(&s->out, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			event_add(s->wev, NULL);
			return 0;
		}
		return -1;
	}
	event_del(s->wev);
	/*
	 * Drained here, not in the write callback (which is now off):
	 * streams that stopped for room must hear of it here too.
	 */
	smux_unblock(s);
	return 0;
}

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

static void
stream_free(struct smux_stream *st)
{
	struct smux *s = st->s;

	LIST_REMOVE(st, entry);
	s->nstreams--;
	if (st->full && --s->nfull == 0 && !s->dead) {
		event_add(s->rev, NULL);
		event_active(s->rev, EV_READ, 1);
	}
	if (st->rev != NULL)
		event_free(st->rev);
	if (st->wev != NULL)
		event_free(st->wev);
	if (st->fd != -1) {
		close(st->fd);
		worker_conn_closed(st->s->wk);
	}
	cbuf_release(&st->toq);
	free(st);
}

static void
stream_maybe_done(struct smux_stream *st)
{
	if (st->fin_sent && st->fin_rcvd && st->toq.len == 0)
		stream_free(st);
}

/* Socket -> session: PSH frames while the session's output has room. */
static void
stream_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smux_stream *st = arg;
	struct smux *s = st->s;
	unsigned char buf[SMUX_FRAME_MAX];
	size_t room;
	ssize_t n;

	(void)what;
	/*
	 * Data stops at SMUX_OUT_MAX: the rest of the buffer is kept for
	 * SYN, FIN and NOP frames, which must never fail for want of room
	 * (a lost SYN is a peer dropped, a lost FIN a stream never ended).
	 */
	room = cbuf_room(&s->out);
	room = room > SMUX_HDR_LEN + SMUX_FRAME_MAX ?
	    room - SMUX_HDR_LEN - SMUX_FRAME_MAX : 0;
	if (room < SMUX_HDR_LEN + 1024) {
		event_del(st->rev);
		st->blocked = 1;
		return;
	}
	room -= SMUX_HDR_LEN;
	n = recv(fd, buf, room < sizeof(buf) ? room : sizeof(buf), 0);
	if (n > 0) {
		smux_frame(s, SMUX_PSH, st->sid, buf, (size_t)n);
		s->wk->stats.bytes_out += (uint64_t)n;
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		event_del(st->rev);
		if (!st->fin_sent) {
			smux_frame(s, SMUX_FIN, st->sid, NULL, 0);
			st->fin_sent = 1;
		}
	}
	if (smux_flush(s) != 0) {
		smux_close(s);
		return;
	}
	if (n <= 0)
		stream_maybe_done(st);
}

/* Session -> socket: what the peer sent on this stream. */
static void
stream_pump_in(struct smux_stream *st)
{
	struct smux *s = st->s;
	ssize_t n;

	if (st->fd == -1)
		return;
	if (st->strip != NULL && st->toq.len > 0) {
		size_t used;
		int e = st->strip(st->toq.p + st->toq.off, st->toq.len, &used);

		if (e == ERR_INCOMPLETE && !st->fin_rcvd)
			return;
		if (e != 0) {
			debug("smux: stream %u: bad header", st->sid);
			cbuf_consume(&st->toq, st->toq.len);
			st->fin_rcvd = 1;
			if (!st->fin_sent) {
				smux_frame(s, SMUX_FIN, st->sid, NULL, 0);
				st->fin_sent = 1;
				event_del(st->rev);
			}
			stream_maybe_done(st);
			return;
		}
		cbuf_consume(&st->toq, used);
		st->strip = NULL;
	}
	while (st->toq.len > 0) {
		n = send(st->fd, st->toq.p + st->toq.off, st->toq.len,
		    MSG_NOSIGNAL);
		if (n > 0) {
			cbuf_consume(&st->toq, (size_t)n);
			s->wk->stats.bytes_in += (uint64_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			event_add(st->wev, NULL);
			return;
		}
		/* the local side is gone: tell the peer, drop its data */
		cbuf_consume(&st->toq, st->toq.len);
		if (!st->fin_sent) {
			smux_frame(s, SMUX_FIN, st->sid, NULL, 0);
			st->fin_sent = 1;
			event_del(st->rev);
		}
		break;
	}
	event_del(st->wev);
	if (st->fin_rcvd && st->toq.len == 0)
		shutdown(st->fd, SHUT_WR);
	/* a drained queue lets the session go on */
	if (st->full && st->toq.len < SMUX_STREAM_MAX / 2) {
		st->full = 0;
		if (--s->nfull == 0) {
			event_add(s->rev, NULL);
			event_active(s->rev, EV_READ, 1);
		}
	}
	stream_maybe_done(st);
}

static void
stream_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smux_stream *st = arg;
	struct smux *s = st->s;

	(void)fd;
	(void)what;
	stream_pump_in(st);
	if (smux_flush(s) != 0)
		smux_close(s);
}

static struct smux_stream *
stream_new(struct smux *s, uint32_t sid)
{
	struct smux_stream *st;

	if (s->nstreams >= SMUX_STREAMS_MAX ||
	    (st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->s = s;
	st->sid = sid;
	st->fd = -1;
	if (cbuf_alloc(&st->toq, SMUX_STREAM_MAX) != 0) {
		free(st);
		return NULL;
	}
	LIST_INSERT_HEAD(&s->streams, st, entry);
	s->nstreams++;
	return st;
}

static struct smux_stream *
stream_find(struct smux *s, uint32_t sid)
{
	struct smux_stream *st;

	LIST_FOREACH(st, &s->streams, entry)
		if (st->sid == sid)
			return st;
	return NULL;
}

int
smux_attach(struct smux_stream *st, int fd)
{
	struct smux *s = st->s;

	if (fd == -1) {
		/* nothing to bridge to: the stream ends at once */
		if (!st->fin_sent) {
			smux_frame(s, SMUX_FIN, st->sid, NULL, 0);
			st->fin_sent = 1;
		}
		st->fin_rcvd = 1;
		cbuf_consume(&st->toq, st->toq.len);
		if (smux_flush(s) != 0) {
			smux_close(s);
			return -1;
		}
		stream_free(st);
		return 0;
	}
	st->fd = fd;
	st->rev = event_new(s->wk->base, fd, EV_READ | EV_PERSIST,
	    stream_read_cb, st);
	st->wev = event_new(s->wk->base, fd, EV_WRITE, stream_write_cb, st);
	if (st->rev == NULL || st->wev == NULL)
		fatal_f("out of memory");
	if (!st->fin_sent)
		event_add(st->rev, NULL);
	stream_pump_in(st);
	return 0;
}

/* The session's output drained: streams that waited read again. */
static void
smux_unblock(struct smux *s)
{
	struct smux_stream *st;

	if (s->out.len > SMUX_OUT_MAX / 2)
		return;
	LIST_FOREACH(st, &s->streams, entry)
		if (st->blocked && !st->fin_sent) {
			st->blocked = 0;
			event_add(st->rev, NULL);
		}
}

static int
smux_input(struct smux *s)
{
	struct smux_stream *st;
	struct smux_frame f;
	int e;

	for (;;) {
		if (s->nfull > 0)
			return 0;	/* a stream's socket must drain first */
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
			s->accept(s->arg, st);
			break;
		case SMUX_FIN:
			if (st != NULL) {
				st->fin_rcvd = 1;
				stream_pump_in(st);
			}
			break;
		case SMUX_PSH:
			if (st == NULL || st->fin_rcvd)
				break;		/* data for a closed stream */
			if (cbuf_room(&st->toq) < f.len) {
				/* the frame waits; so does the session */
				st->full = 1;
				s->nfull++;
				event_del(s->rev);
				return 0;
			}
			cbuf_append(&st->toq, s->in.p + s->in.off +
			    SMUX_HDR_LEN, f.len);
			stream_pump_in(st);
			break;
		case SMUX_NOP:
			break;
		}
		cbuf_consume(&s->in, SMUX_HDR_LEN + (size_t)f.len);
	}
}

static void
smux_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smux *s = arg;
	ssize_t n;

	(void)what;
	/* after a stall, frames may wait in s->in with nothing to read */
	n = cbuf_room(&s->in) > 0 ? recv(fd, cbuf_tail(&s->in),
	    cbuf_room(&s->in), 0) : -1;
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR &&
	    cbuf_room(&s->in) > 0)) {
		debug("smux: the connection closed");
		smux_close(s);
		return;
	}
	if (n > 0) {
		s->in.len += (size_t)n;
		s->last_rx = time(NULL);
	}
	if (smux_input(s) != 0 || smux_flush(s) != 0) {
		debug("smux: input or output failed");
		smux_close(s);
	}
}

static void
smux_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smux *s = arg;

	(void)fd;
	(void)what;
	if (smux_flush(s) != 0) {
		smux_close(s);
		return;
	}
	smux_unblock(s);
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
}

struct smux *
smux_new(struct worker *wk, int fd, int client, const void *pre,
    size_t prelen, smux_accept_cb accept, void (*closed)(void *), void *arg)
{
	struct timeval tv = { SMUX_KEEPALIVE_SECS, 0 };
	struct smux *s;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    cbuf_alloc(&s->in, 2 * (SMUX_HDR_LEN + 65535)) != 0 ||
	    cbuf_alloc(&s->out, SMUX_OUT_MAX + SMUX_HDR_LEN +
	    SMUX_FRAME_MAX) != 0) {
		if (s != NULL)
			cbuf_release(&s->in);
		free(s);
		close(fd);
		return NULL;
	}
	s->wk = wk;
	s->fd = fd;
	/* smux: a client's streams 3, 5, 7..., a server's 2, 4, 6... */
	s->next_sid = client ? 1 : 0;
	s->accept = accept;
	s->closed = closed;
	s->arg = arg;
	s->last_rx = time(NULL);
	LIST_INIT(&s->streams);
	s->rev = event_new(wk->base, fd, EV_READ | EV_PERSIST, smux_read_cb, s);
	s->wev = event_new(wk->base, fd, EV_WRITE, smux_write_cb, s);
	s->ka = event_new(wk->base, -1, EV_PERSIST, smux_ka_cb, s);
	if (s->rev == NULL || s->wev == NULL || s->ka == NULL)
		fatal_f("out of memory");
	event_add(s->rev, NULL);
	event_add(s->ka, &tv);
	if (prelen > 0) {
		cbuf_append(&s->in, pre, prelen);
		if (smux_input(s) != 0) {
			s->closed = NULL;	/* the caller hears NULL */
			smux_close(s);
			return NULL;
		}
	}
	return s;
}

void
smux_strip(struct smux_stream *st, smux_strip_fn fn)
{
	st->strip = fn;
}

/*
 * A new stream from our side, bridged to fd (which it takes); pre, if
 * any, goes first on the stream (a header the peer expects).
 */
int
smux_open(struct smux *s, int fd, const void *pre, size_t prelen)
{
	struct smux_stream *st;

	s->next_sid += 2;
	if ((st = stream_new(s, s->next_sid)) == NULL ||
	    smux_frame(s, SMUX_SYN, st->sid, NULL, 0) != 0 ||
	    (prelen > 0 && smux_frame(s, SMUX_PSH, st->sid, pre,
	    prelen) != 0)) {
		if (st != NULL)
			stream_free(st);
		close(fd);
		worker_conn_closed(s->wk);
		return -1;
	}
	smux_attach(st, fd);
	if (smux_flush(s) != 0) {
		smux_close(s);
		return -1;
	}
	return 0;
}

/* Everything goes: streams, sockets, the connection; then closed(). */
static void
smux_close(struct smux *s)
{
	void (*closed)(void *) = s->closed;
	void *arg = s->arg;

	if (s->dead)
		return;
	s->dead = 1;
	while (!LIST_EMPTY(&s->streams))
		stream_free(LIST_FIRST(&s->streams));
	event_free(s->rev);
	event_free(s->wev);
	event_free(s->ka);
	close(s->fd);
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
