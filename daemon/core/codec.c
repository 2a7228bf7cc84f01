/*
 * A codec (core/codec.h) as a connection layer: wire bytes from the
 * connection below are decoded into the reader's buffer, the writer's
 * bytes are encoded into a buffer that drains downwards.  Plaintext is
 * decoded straight into the caller's buffer when a whole unit fits, so
 * a relay through this layer copies no more than the cipher must.
 *
 * What recv leaves behind keeps one promise, so that a reader waiting
 * for the layer never waits for the network while the layer already
 * holds a whole unit: either decoded plaintext is held (pending() says
 * so and the layer is readable at once), or what is held of the wire is
 * less than a unit.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/conn.h"
#include "err.h"
#include "log.h"
#include "core/codec.h"
#include "worker.h"

#define CL_OUT_EXTRA	4096	/* framing overhead of one buffer */
/*
 * A client codec's first bytes (Shadowsocks: salt and target address)
 * wait this long for the first data, to go out with it in one write
 * and one segment, as gost and ss-local send them; a protocol whose
 * server speaks first gets them when the time is up.
 */
#define CL_HOLD_USEC	5000

struct clayer {
	struct codec	*codec;
	struct cbuf	 in;		/* wire bytes, less than a unit */
	struct cbuf	 mid;		/* decoded, not yet read */
	struct cbuf	 out;		/* encoded, not yet sent */
	int		 err;		/* sticky errno */
	int		 eof;		/* below said EOF */
	struct event	*hold;		/* out waits for the first data */
};

static void
cl_unhold(struct clayer *l)
{
	if (l->hold != NULL) {
		event_free(l->hold);
		l->hold = NULL;
	}
}

static int
cl_flush(struct conn *c)
{
	struct clayer *l = c->layer;

	cl_unhold(l);
	if (conn_send_buf(c->lower, &l->out) != 0) {
		l->err = errno;
		return -1;
	}
	if (l->out.len == 0)
		cbuf_release(&l->out);
	return 0;
}

/*
 * What the codec answers by itself after reading (a handshake's reply,
 * a refusal) goes out at once; after an error, as far as it goes.
 */
static void
cl_reply(struct conn *c)
{
	struct clayer *l = c->layer;
	int err = l->err;

	if (l->codec->ops->reply == NULL ||
	    cbuf_alloc(&l->out, CRELAY_BUF + CL_OUT_EXTRA) != 0)
		return;
	if (l->codec->ops->reply(l->codec, &l->out) == 0 && l->out.len > 0) {
		l->err = 0;
		(void)cl_flush(c);
		if (err != 0)
			l->err = err;
		else
			c->ops->update(c);
	}
}

/* Decode what in holds into mid, when mid is empty. */
static int
cl_settle(struct conn *c)
{
	struct clayer *l = c->layer;
	int e;

	if (l->mid.len > 0 || l->in.len == 0)
		return 0;
	if (cbuf_alloc(&l->mid, CRELAY_BUF) != 0)
		return -1;
	e = l->codec->ops->decode(l->codec, &l->in, &l->mid);
	if (e != 0) {
		debug_f("%s: %s", l->codec->ops->name, ostp_err(e));
		l->err = EPROTO;
		cl_reply(c);
		errno = EPROTO;
		return -1;
	}
	cl_reply(c);
	if (l->mid.len == 0)
		cbuf_release(&l->mid);
	if (l->in.len == 0)
		cbuf_release(&l->in);
	return 0;
}

static ssize_t
cl_recv(struct conn *c, void *p, size_t n)
{
	struct clayer *l = c->layer;
	struct cbuf dst;
	ssize_t r;
	size_t k;
	int e;

	if (l->err != 0) {
		errno = l->err;
		return -1;
	}
	for (;;) {
		if (l->mid.len > 0) {
			k = n < l->mid.len ? n : l->mid.len;
			memcpy(p, l->mid.p + l->mid.off, k);
			cbuf_consume(&l->mid, k);
			if (l->mid.len == 0)
				cbuf_release(&l->mid);
			if (cl_settle(c) != 0)
				return -1;
			return (ssize_t)k;
		}
		if (l->in.len > 0) {
			/* straight into the caller's buffer */
			memset(&dst, 0, sizeof(dst));
			dst.p = p;
			dst.cap = n;
			if ((e = l->codec->ops->decode(l->codec, &l->in,
			    &dst)) != 0) {
				debug_f("%s: %s", l->codec->ops->name,
				    ostp_err(e));
				l->err = EPROTO;
				cl_reply(c);
				errno = EPROTO;
				return -1;
			}
			cl_reply(c);
			if (dst.len > 0) {
				if (l->in.len == 0)
					cbuf_release(&l->in);
				else if (cl_settle(c) != 0)
					return -1;
				return (ssize_t)dst.len;
			}
			/* a unit too big for the caller, or a part of one */
			if (cl_settle(c) != 0)
				return -1;
			if (l->mid.len > 0)
				continue;
		}
		if (l->eof) {
			/* a cut inside a unit is the peer's fault */
			if (l->in.len > 0 || (l->codec->ops->eof != NULL &&
			    l->codec->ops->eof(l->codec) != 0)) {
				debug_f("%s: truncated", l->codec->ops->name);
				errno = l->err = EPROTO;
				return -1;
			}
			return 0;
		}
		if (cbuf_alloc(&l->in, CRELAY_IN_BUF) != 0)
			return -1;
		if ((k = cbuf_room(&l->in)) == 0) {
			/* a unit larger than the buffer: not a codec of ours */
			errno = l->err = EPROTO;
			return -1;
		}
		r = conn_recv(c->lower, cbuf_tail(&l->in), k);
		if (r > 0) {
			l->in.len += (size_t)r;
			continue;
		}
		if (l->in.len == 0)
			cbuf_release(&l->in);
		if (r == 0) {
			l->eof = 1;
			continue;
		}
		if (errno != EAGAIN)
			l->err = errno;
		return -1;
	}
}

static ssize_t
cl_send(struct conn *c, const void *p, size_t n)
{
	struct clayer *l = c->layer;
	struct cbuf src;
	int e;

	if (l->err != 0) {
		errno = l->err;
		return -1;
	}
	if (l->hold != NULL)
		cl_unhold(l);	/* the held bytes go with these */
	else {
		if (cl_flush(c) != 0)
			return -1;
		if (l->out.len > 0) {
			c->ops->update(c);
			errno = EAGAIN;
			return -1;
		}
	}
	if (cbuf_alloc(&l->out, CRELAY_BUF + CL_OUT_EXTRA) != 0)
		return -1;
	memset(&src, 0, sizeof(src));
	src.p = (unsigned char *)(uintptr_t)p;	/* only read */
	src.len = src.cap = n;
	if ((e = l->codec->ops->encode(l->codec, &src, &l->out)) != 0) {
		debug_f("%s: %s", l->codec->ops->name, ostp_err(e));
		errno = l->err = EPROTO;
		return -1;
	}
	if (cl_flush(c) != 0)
		return -1;
	if (l->out.len > 0)
		c->ops->update(c);
	return (ssize_t)(n - src.len);
}

static int
cl_shutw(struct conn *c)
{
	struct clayer *l = c->layer;

	if (cl_flush(c) != 0)
		return -1;
	if (l->out.len > 0) {
		c->ops->update(c);
		errno = EAGAIN;
		return -1;
	}
	return conn_shutw(c->lower);
}

static void
cl_update(struct conn *c)
{
	struct clayer *l = c->layer;
	int lw = 0;

	if (l->err != 0) {
		/* the owner hears of it on its next call */
		conn_kick(c, c->want);
		conn_want(c->lower, 0);
		return;
	}
	/* held bytes kicked, the layer below armed all the same (ws.c) */
	if (c->want & CONN_READ) {
		if (l->mid.len > 0 || l->eof)
			conn_kick(c, CONN_READ);
		if (!l->eof)
			lw |= CONN_READ;
	}
	if (l->out.len > 0 && l->hold == NULL)
		lw |= CONN_WRITE;
	else if (c->want & CONN_WRITE)
		conn_kick(c, CONN_WRITE);
	conn_want(c->lower, lw);
}

static void
cl_lower_cb(struct conn *lower, int what, void *arg)
{
	struct conn *c = arg;
	struct clayer *l = c->layer;
	int w = what & CONN_READ;

	(void)lower;
	if ((what & CONN_WRITE) && cl_flush(c) != 0)
		w = CONN_READ | CONN_WRITE;
	if (l->out.len == 0)
		w |= CONN_WRITE;
	cl_update(c);
	conn_notify(c, w);
}

static size_t
cl_pending(const struct conn *c)
{
	const struct clayer *l = c->layer;

	return l->mid.len;
}

static void
cl_free(struct conn *c)
{
	struct clayer *l = c->layer;

	cl_unhold(l);
	codec_free(l->codec);
	cbuf_release(&l->in);
	cbuf_release(&l->mid);
	cbuf_release(&l->out);
	free(l);
}

static const struct conn_ops codec_ops = {
	.name = "codec",
	.recv = cl_recv,
	.send = cl_send,
	.shutw = cl_shutw,
	.update = cl_update,
	.pending = cl_pending,
	.free = cl_free,
};

static void
cl_hold_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	(void)cl_flush(c);	/* an error: the owner hears of it */
	cl_update(c);
}

/*
 * What a client codec holds for the first data goes now (a chain
 * node's nodelay=true).
 */
void
conn_codec_nodelay(struct conn *c)
{
	struct clayer *l = c->layer;

	if (c->ops != &codec_ops || l->hold == NULL)
		return;
	(void)cl_flush(c);	/* an error: the owner hears of it */
	cl_update(c);
}

/*
 * The layer over lower, which it takes with the codec; NULL on failure
 * (both freed).  A client codec's first bytes go out with the first
 * data, or after CL_HOLD_USEC.
 */
struct conn *
conn_codec_push(struct conn *lower, struct codec *codec)
{
	struct clayer *l;
	struct conn *c;

	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (c = conn_layer_new(lower, &codec_ops, l)) == NULL) {
		free(l);
		codec_free(codec);
		conn_free(lower);
		return NULL;
	}
	l->codec = codec;
	conn_set_cb(lower, cl_lower_cb, c);
	if (codec->ops->start != NULL &&
	    (cbuf_alloc(&l->out, CRELAY_BUF + CL_OUT_EXTRA) != 0 ||
	    codec->ops->start(codec, &l->out) != 0)) {
		conn_free(c);
		return NULL;
	}
	if (l->out.len > 0) {
		struct timeval tv = { 0, CL_HOLD_USEC };

		if ((l->hold = evtimer_new(c->wk->base, cl_hold_cb,
		    c)) == NULL) {
			conn_free(c);
			return NULL;
		}
		evtimer_add(l->hold, &tv);
	} else
		cbuf_release(&l->out);
	cl_update(c);
	return c;
}
