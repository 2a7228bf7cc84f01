/*
 * The copying relay, for pairs where at least one side has a codec:
 * each direction reads into a buffer, decodes the source's framing,
 * encodes the destination's and writes.  A direction stops reading
 * while it has output the destination did not take (back-pressure), so
 * each direction holds at most three buffers of CRELAY_BUF; they are
 * allocated when data arrives and released when it has been passed on,
 * so an idle connection holds none.  EOF is passed on as a half-close.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "err.h"
#include "log.h"
#include "stream.h"
#include "worker.h"

#define CRELAY_OUT_EXTRA	4096	/* framing overhead of one buffer */
#define CRELAY_READS		16	/* reads per wake-up, for fairness */


struct crelay;

struct cdir {
	struct crelay	*r;
	int		 from;
	int		 to;
	struct codec	*dec;		/* from's codec: wire -> plain */
	struct codec	*enc;		/* to's codec: plain -> wire */
	struct cbuf	 in;		/* wire bytes read, when dec */
	struct cbuf	 mid;		/* plaintext */
	struct cbuf	 out;		/* wire bytes to write, when enc */
	int		 eof;
	int		 done;
	uint64_t	*counter;
	struct event	*rev;
	struct event	*wev;
};

struct crelay {
	struct worker	*wk;
	int		 flags;
	struct halfidle	 hi;		/* one side finished: a time limit */
	struct codec	*codec[2];
	struct cdir	 d[2];
};

static void
crelay_free(struct crelay *r)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct cdir *d = &r->d[i];

		if (d->rev != NULL)
			event_free(d->rev);
		if (d->wev != NULL)
			event_free(d->wev);
		cbuf_release(&d->in);
		cbuf_release(&d->mid);
		cbuf_release(&d->out);
		codec_free(r->codec[i]);
	}
	halfidle_clear(&r->hi);
	close(r->d[0].from);
	close(r->d[1].from);
	if (!(r->flags & RELAY_UNCOUNTED))
		worker_conn_closed(r->wk);
	free(r);
}

/* Move data as far as it goes; -1 when the pair must close. */
static int
cdir_pump(struct cdir *d)
{
	struct cbuf *w, *rb;
	unsigned int reads = 0;
	size_t room;
	ssize_t n;

	w = d->enc != NULL ? &d->out : &d->mid;
	rb = d->dec != NULL ? &d->in : &d->mid;
	for (;;) {
		while (w->len > 0) {
			n = send(d->to, w->p + w->off, w->len, MSG_NOSIGNAL);
			if (n > 0) {
				cbuf_consume(w, (size_t)n);
				*d->counter += (uint64_t)n;
				continue;
			}
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && errno == EAGAIN) {
				event_del(d->rev);
				event_add(d->wev, NULL);
				return 0;
			}
			debug_f("write: %s", strerror(errno));
			return -1;
		}
		if (d->enc != NULL && d->mid.len > 0) {
			if (cbuf_alloc(&d->out, CRELAY_BUF + CRELAY_OUT_EXTRA)
			    != 0 || d->enc->ops->encode(d->enc, &d->mid,
			    &d->out) != 0)
				return -1;
			if (d->out.len > 0)
				continue;
		}
		if (d->dec != NULL && d->in.len > 0 && d->mid.len == 0) {
			int e;

			if (cbuf_alloc(&d->mid, CRELAY_BUF) != 0)
				return -1;
			if ((e = d->dec->ops->decode(d->dec, &d->in,
			    &d->mid)) != 0) {
				debug_f("%s: %s", d->dec->ops->name,
				    ostp_err(e));
				return -1;
			}
			if (d->mid.len > 0)
				continue;
		}
		if (d->eof || reads++ >= CRELAY_READS)
			break;
		if (cbuf_alloc(rb, CRELAY_IN_BUF) != 0)
			return -1;
		if ((room = cbuf_room(rb)) == 0)
			break;
		n = recv(d->from, cbuf_tail(rb), room, 0);
		if (n > 0) {
			rb->len += (size_t)n;
			continue;
		}
		if (n == 0) {
			d->eof = 1;
			event_del(d->rev);
			/* a cut inside a frame is the peer's fault */
			if (d->dec != NULL && (d->in.len > 0 ||
			    (d->dec->ops->eof != NULL &&
			    d->dec->ops->eof(d->dec) != 0))) {
				debug_f("%s: truncated", d->dec->ops->name);
				return -1;
			}
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			break;
		debug_f("read: %s", strerror(errno));
		return -1;
	}
	event_del(d->wev);
	if (d->eof && !d->done) {
		shutdown(d->to, SHUT_WR);
		d->done = 1;
	} else if (!d->eof)
		event_add(d->rev, NULL);
	/* Idle: nothing held but a partial frame. */
	if (d->mid.len == 0)
		cbuf_release(&d->mid);
	if (d->out.len == 0)
		cbuf_release(&d->out);
	if (d->in.len == 0)
		cbuf_release(&d->in);
	return 0;
}

static void
crelay_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct crelay *r = arg;

	(void)fd;
	(void)what;
	if (halfidle_expired(&r->hi, r->wk->base))
		crelay_free(r);
}

static void
crelay_check(struct crelay *r, int failed)
{
	if (failed || (r->d[0].done && r->d[1].done)) {
		crelay_free(r);
		return;
	}
	halfidle_touch(&r->hi, r->wk->base, r->d[0].done || r->d[1].done,
	    crelay_idle_cb, r);
}

static void
cdir_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cdir *d = arg;

	(void)fd;
	(void)what;
	crelay_check(d->r, cdir_pump(d) != 0);
}

static int
cdir_preload(struct cdir *d, const struct relay_end *e)
{
	if (e->plainlen > 0 && (cbuf_alloc(&d->mid, CRELAY_BUF) != 0 ||
	    cbuf_append(&d->mid, e->plain, e->plainlen) != 0))
		return -1;
	if (e->wirelen > 0) {
		struct cbuf *b = d->dec != NULL ? &d->in : &d->mid;

		if (cbuf_alloc(b, CRELAY_IN_BUF) != 0 ||
		    cbuf_append(b, e->wire, e->wirelen) != 0)
			return -1;
	}
	if (d->enc != NULL && d->enc->ops->start != NULL &&
	    (cbuf_alloc(&d->out, CRELAY_BUF + CRELAY_OUT_EXTRA) != 0 ||
	    d->enc->ops->start(d->enc, &d->out) != 0))
		return -1;
	return 0;
}

int
crelay_start(struct worker *wk, struct relay_end *a, struct relay_end *b,
    int flags)
{
	struct crelay *r;
	int i, failed = 0;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		close(a->fd);
		close(b->fd);
		codec_free(a->codec);
		codec_free(b->codec);
		if (!(flags & RELAY_UNCOUNTED))
			worker_conn_closed(wk);
		return -1;
	}
	r->wk = wk;
	r->flags = flags;
	r->codec[0] = a->codec;
	r->codec[1] = b->codec;
	r->d[0].from = a->fd;
	r->d[0].to = b->fd;
	r->d[0].dec = a->codec;
	r->d[0].enc = b->codec;
	r->d[0].counter = &wk->stats.bytes_in;
	r->d[1].from = b->fd;
	r->d[1].to = a->fd;
	r->d[1].dec = b->codec;
	r->d[1].enc = a->codec;
	r->d[1].counter = &wk->stats.bytes_out;
	for (i = 0; i < 2; i++) {
		struct cdir *d = &r->d[i];

		d->r = r;
		d->rev = event_new(wk->base, d->from, EV_READ | EV_PERSIST,
		    cdir_cb, d);
		d->wev = event_new(wk->base, d->to, EV_WRITE | EV_PERSIST,
		    cdir_cb, d);
		if (d->rev == NULL || d->wev == NULL)
			fatal_f("out of memory");
	}
	if (cdir_preload(&r->d[0], a) != 0 || cdir_preload(&r->d[1], b) != 0)
		failed = 1;
	for (i = 0; i < 2 && !failed; i++)
		failed = cdir_pump(&r->d[i]) != 0;
	crelay_check(r, failed);
	return 0;
}

int
crelay_flatten(struct worker *wk, int fd, struct codec *c)
{
	struct relay_end a, b;
	int sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sp) == -1) {
		close(fd);
		codec_free(c);
		return -1;
	}
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.fd = fd;
	a.codec = c;
	b.fd = sp[0];
	crelay_start(wk, &a, &b, RELAY_UNCOUNTED);
	return sp[1];
}

int
relay_start_codec(struct worker *wk, int a, int b, struct codec *bc)
{
	struct relay_end ea, eb;

	if (bc == NULL)
		return relay_start(wk, a, b);
	memset(&ea, 0, sizeof(ea));
	memset(&eb, 0, sizeof(eb));
	ea.fd = a;
	eb.fd = b;
	eb.codec = bc;
	return crelay_start(wk, &ea, &eb, 0);
}
