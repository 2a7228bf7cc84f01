/*
 * The relay between two connections.  When both are bare sockets with
 * nothing read ahead, the bytes never need to see user memory: the
 * splice relay (relay.c) takes the descriptors.  Otherwise each
 * direction copies through one buffer: it reads only while the buffer
 * is empty, so a destination that does not take its bytes stops the
 * source (back-pressure) and a direction holds at most one buffer,
 * allocated when data comes and released when it has gone on; an idle
 * pair holds none.  EOF is passed on as a half-close through every
 * layer; the pair ends when both directions have, or either fails.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/conn.h"
#include "log.h"
#include "core/codec.h"
#include "worker.h"
#include "core/relay.h"
#include "core/stats.h"
#include "ctlproto.h"

#define COPY_READS	16	/* reads per wake-up, for fairness */

struct copy;

struct cdir {
	struct conn	*from;
	struct conn	*to;
	struct cbuf	 buf;
	int		 eof;		/* from said EOF */
	int		 done;		/* EOF passed on */
	int		 rd;		/* wants from readable */
	int		 wr;		/* wants to writable */
	uint64_t	*counter;
	struct stconn	*st;		/* the client's record, or NULL */
	int		 dir;		/* 0: from the client */
};

struct copy {
	struct worker	*wk;
	int		 flags;
	struct conn	*c[2];
	struct cdir	 d[2];		/* d[0]: c[0] -> c[1] */
	struct halfidle	 hi;		/* one side finished: a time limit */
};

static void
copy_free(struct copy *r)
{
	int i;

	for (i = 0; i < 2; i++) {
		cbuf_release(&r->d[i].buf);
		conn_free(r->c[i]);
	}
	halfidle_clear(&r->hi);
	if (!(r->flags & RELAY_UNCOUNTED))
		worker_conn_closed(r->wk);
	free(r);
}

/*
 * What the source already holds (TLS records read ahead, an OSTP or
 * smux flow's queue) joins the bytes just read, up to the buffer's
 * size: one send of many records rather than a send a record.  An
 * error or the end is left for the next read to meet.
 */
static void
cdir_fill(struct cdir *d, unsigned int *reads)
{
	size_t room;
	ssize_t n;

	while (*reads < COPY_READS && conn_pending(d->from) > 0 &&
	    (room = cbuf_room(&d->buf)) > 0) {
		(*reads)++;
		if ((n = conn_recv(d->from, cbuf_tail(&d->buf), room)) <= 0)
			break;
		d->buf.len += (size_t)n;
	}
}

/* Move data as far as it goes; -1 when the pair must close. */
static int
cdir_pump(struct cdir *d)
{
	unsigned int reads = 0;
	size_t room;
	ssize_t n;

	d->rd = d->wr = 0;
	for (;;) {
		while (d->buf.len > 0) {
			n = conn_send(d->to, d->buf.p + d->buf.off,
			    d->buf.len);
			if (n > 0) {
				cbuf_consume(&d->buf, (size_t)n);
				*d->counter += (uint64_t)n;
				stconn_bytes(d->st, d->dir, (size_t)n);
				continue;
			}
			if (n == -1 && errno == EAGAIN) {
				d->wr = 1;
				return 0;
			}
			debug_f("%s write: %s", d->to->ops->name,
			    strerror(errno));
			return -1;
		}
		if (d->eof || reads++ >= COPY_READS)
			break;
		if (cbuf_alloc(&d->buf, CRELAY_BUF) != 0)
			return -1;
		room = cbuf_room(&d->buf);
		n = conn_recv(d->from, cbuf_tail(&d->buf), room);
		if (n > 0) {
			d->buf.len += (size_t)n;
			cdir_fill(d, &reads);
			continue;
		}
		if (n == 0) {
			d->eof = 1;
			continue;
		}
		if (errno == EAGAIN)
			break;
		debug_f("%s read: %s", d->from->ops->name, strerror(errno));
		return -1;
	}
	cbuf_release(&d->buf);
	if (d->eof && !d->done) {
		if (conn_shutw(d->to) == 0)
			d->done = 1;
		else if (errno == EAGAIN)
			d->wr = 1;
		else
			return -1;
	}
	if (!d->eof)
		d->rd = 1;
	return 0;
}

static void
copy_arm(struct copy *r)
{
	conn_want(r->c[0], (r->d[0].rd ? CONN_READ : 0) |
	    (r->d[1].wr ? CONN_WRITE : 0));
	conn_want(r->c[1], (r->d[1].rd ? CONN_READ : 0) |
	    (r->d[0].wr ? CONN_WRITE : 0));
}

static void
copy_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct copy *r = arg;

	(void)fd;
	(void)what;
	if (halfidle_expired(&r->hi, r->wk->base))
		copy_free(r);
}

static void
copy_check(struct copy *r, int failed)
{
	if (failed || (r->d[0].done && r->d[1].done)) {
		copy_free(r);
		return;
	}
	copy_arm(r);
	halfidle_touch(&r->hi, r->wk->base, r->d[0].done || r->d[1].done,
	    copy_idle_cb, r);
}

static void
copy_cb(struct conn *c, int what, void *arg)
{
	struct copy *r = arg;
	int i = c == r->c[0] ? 0 : 1, failed = 0;

	/* c is the source of d[i] and the destination of d[1 - i] */
	if ((what & CONN_READ) && !r->d[i].done)
		failed = cdir_pump(&r->d[i]) != 0;
	if (!failed && (what & CONN_WRITE))
		failed = cdir_pump(&r->d[1 - i]) != 0;
	copy_check(r, failed);
}

/*
 * Send what from holds read ahead to the socket to; 1 when none is
 * left.  The bytes count as the relay's (dir 0: from the client).
 */
static int
ra_flush(struct conn *from, struct conn *to, struct stconn *st, int dir)
{
	ssize_t n;

	if (from->ra.len == 0)
		return 1;
	n = send(to->fd, from->ra.p + from->ra.off, from->ra.len,
	    MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0) {
		cbuf_consume(&from->ra, (size_t)n);
		if (dir == 0)
			from->wk->stats.bytes_in += (uint64_t)n;
		else
			from->wk->stats.bytes_out += (uint64_t)n;
		stconn_bytes(st, dir, (size_t)n);
	}
	if (from->ra.len > 0)
		return 0;
	cbuf_release(&from->ra);
	return 1;
}

/*
 * Relay a with b (both taken): a is the client's side, so bytes from a
 * count as in, from b as out.
 */
int
relay_conns(struct worker *wk, struct conn *a, struct conn *b, int flags)
{
	struct copy *r;
	struct stconn *st = conn_stats(a);
	int fa, fb, i, failed = 0;

	/*
	 * Every client the relay carries has a record: a handler that did
	 * not open one (it knows the listener; the relay does not) still
	 * shows its connections, under no listener.
	 */
	if (st == NULL && !(flags & RELAY_UNCOUNTED)) {
		debug_f("a %s client without a record", a->ops->name);
		st = stconn_open(wk, STATS_LIS_NONE, a);
	}

	/* bytes a handshake read ahead go first, then the kernel splices */
	if (!(flags & RELAY_UNCOUNTED) && conn_is_socket(a) &&
	    conn_is_socket(b) && a->wq.len == 0 && b->wq.len == 0 &&
	    ra_flush(a, b, st, 0) && ra_flush(b, a, st, 1)) {
		/* the splice relay ends the client's record */
		st = conn_stats_take(a);
		stconn_relay(st, CTL_MODE_SPLICE);
		fa = conn_take_fd(a);
		fb = conn_take_fd(b);
		return relay_start(wk, fa, fb, st);
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		conn_free(a);
		conn_free(b);
		if (!(flags & RELAY_UNCOUNTED))
			worker_conn_closed(wk);
		return -1;
	}
	r->wk = wk;
	r->flags = flags;
	r->c[0] = a;
	r->c[1] = b;
	r->d[0].from = r->d[1].to = a;
	r->d[0].to = r->d[1].from = b;
	r->d[0].counter = &wk->stats.bytes_in;
	r->d[1].counter = &wk->stats.bytes_out;
	r->d[0].st = r->d[1].st = st;
	r->d[1].dir = 1;
	stconn_relay(st, CTL_MODE_COPY);
	conn_set_cb(a, copy_cb, r);
	conn_set_cb(b, copy_cb, r);
	for (i = 0; i < 2 && !failed; i++)
		failed = cdir_pump(&r->d[i]) != 0;
	copy_check(r, failed);
	return 0;
}

/*
 * Relay a client's socket, with what was read of it before (pre), with
 * up: all taken; a failure closes both and ends the client's count.
 */
int
relay_fd_conn(struct worker *wk, int fd, const void *pre, size_t prelen,
    struct conn *up, struct stconn *st)
{
	struct conn *a;

	if ((a = conn_socket(wk, fd)) == NULL ||
	    conn_unread(a, pre, prelen) != 0) {
		stconn_close(st);
		conn_free(a);
		conn_free(up);
		worker_conn_closed(wk);
		return -1;
	}
	stconn_attach(st, a);
	return relay_conns(wk, a, up, 0);
}
