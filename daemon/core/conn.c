/*
 * The connection type's generic part and its simplest member, a kernel
 * socket.  See conn.h for the model.
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
#include "worker.h"

static const struct conn_ops sock_ops;

static void conn_rearm(struct conn *);

/* What conn_put queued goes first, as far as the connection takes it. */
static void
wq_flush(struct conn *c)
{
	ssize_t n;

	while (c->wq.len > 0 && c->werr == 0) {
		n = c->ops->send(c, c->wq.p + c->wq.off, c->wq.len);
		if (n > 0) {
			cbuf_consume(&c->wq, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EAGAIN)
			return;
		c->werr = n == 0 ? EPIPE : errno;
	}
	cbuf_release(&c->wq);
}

/*
 * Readiness reaches the owner for what it waits for, after the queue
 * had its turn at writing.
 */
static void
conn_dispatch(struct conn *c, int what)
{
	if ((what & CONN_WRITE) && c->wq.len > 0) {
		wq_flush(c);
		if (c->wq.len == 0) {
			conn_rearm(c);
			/* an error shows on the owner's next call */
			if (c->werr != 0)
				what |= c->owner_want;
		}
	}
	what &= c->owner_want;
	if (what != 0 && c->cb != NULL)
		c->cb(c, what, c->arg);
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	int w;

	(void)fd;
	(void)what;
	w = c->kicked & c->want;
	c->kicked = 0;
	if (w != 0)
		conn_dispatch(c, w);
}

void
conn_kick(struct conn *c, int what)
{
	if (c->kick == NULL && (c->kick = event_new(c->wk->base, -1, 0,
	    kick_cb, c)) == NULL)
		fatal_f("out of memory");
	if (c->kicked == 0)
		event_active(c->kick, EV_TIMEOUT, 1);
	c->kicked |= what;
}

void
conn_notify(struct conn *c, int what)
{
	what &= c->want;
	if (what != 0)
		conn_dispatch(c, what);
}

void
conn_set_cb(struct conn *c, conn_cb cb, void *arg)
{
	c->cb = cb;
	c->arg = arg;
}

/* Arm what the owner waits for, and writing while the queue holds. */
static void
conn_rearm(struct conn *c)
{
	c->want = c->owner_want | (c->wq.len > 0 ? CONN_WRITE : 0);
	if ((c->want & CONN_READ) && c->ra.len > 0)
		conn_kick(c, CONN_READ);
	c->ops->update(c);
}

void
conn_want(struct conn *c, int what)
{
	c->owner_want = what;
	conn_rearm(c);
}

int
conn_put(struct conn *c, const void *p, size_t n)
{
	ssize_t k = 0;

	if (c->werr != 0) {
		errno = c->werr;
		return -1;
	}
	if (n == 0)
		return 0;
	if (c->wq.len == 0 && !c->shut) {
		if ((k = c->ops->send(c, p, n)) < 0) {
			if (errno != EAGAIN)
				return -1;
			k = 0;
		}
		if ((size_t)k == n)
			return 0;
	}
	if (c->shut || c->wq.len + (n - (size_t)k) > CONN_PUT_MAX ||
	    cbuf_alloc(&c->wq, CONN_PUT_MAX) != 0 ||
	    cbuf_append(&c->wq, (const unsigned char *)p + k,
	    n - (size_t)k) != 0) {
		errno = ENOBUFS;
		return -1;
	}
	conn_rearm(c);
	return 0;
}

/*
 * A reader that takes less than what is held and waits again is called
 * again without waiting: readiness stays level-triggered through
 * layers, as it is for a socket.
 */
ssize_t
conn_recv(struct conn *c, void *p, size_t n)
{
	ssize_t r;
	size_t k;

	if (c->ra.len > 0) {
		k = n < c->ra.len ? n : c->ra.len;
		memcpy(p, c->ra.p + c->ra.off, k);
		cbuf_consume(&c->ra, k);
		if (c->ra.len == 0)
			cbuf_release(&c->ra);
		r = (ssize_t)k;
	} else
		r = c->ops->recv(c, p, n);
	if (r > 0 && (c->want & CONN_READ) && conn_pending(c) > 0)
		conn_kick(c, CONN_READ);
	return r;
}

/* Queued bytes first: -1 with errno while they are not all out. */
static int
wq_before(struct conn *c)
{
	if (c->wq.len > 0) {
		wq_flush(c);
		if (c->wq.len > 0) {
			conn_rearm(c);
			errno = EAGAIN;
			return -1;
		}
	}
	if (c->werr != 0) {
		errno = c->werr;
		return -1;
	}
	return 0;
}

ssize_t
conn_send(struct conn *c, const void *p, size_t n)
{
	if (c->shut) {
		errno = EPIPE;
		return -1;
	}
	if (wq_before(c) != 0)
		return -1;
	if (n == 0)
		return 0;
	return c->ops->send(c, p, n);
}

int
conn_send_buf(struct conn *c, struct cbuf *b)
{
	ssize_t n;

	while (b->len > 0) {
		if ((n = conn_send(c, b->p + b->off, b->len)) > 0)
			cbuf_consume(b, (size_t)n);
		else if (n == -1 && errno == EAGAIN)
			return 0;
		else {
			if (n == 0)
				errno = EPIPE;
			return -1;
		}
	}
	return 0;
}

int
conn_shutw(struct conn *c)
{
	int r;

	if (c->shut)
		return 0;
	if (wq_before(c) != 0)
		return -1;
	if ((r = c->ops->shutw(c)) == 0)
		c->shut = 1;
	return r;
}

int
conn_unread(struct conn *c, const void *p, size_t n)
{
	struct cbuf nb;

	if (n == 0)
		return 0;
	if (n > SIZE_MAX - c->ra.len)
		return -1;
	memset(&nb, 0, sizeof(nb));
	if (cbuf_alloc(&nb, n + c->ra.len) != 0)
		return -1;
	memcpy(nb.p, p, n);
	if (c->ra.len > 0)
		memcpy(nb.p + n, c->ra.p + c->ra.off, c->ra.len);
	nb.len = n + c->ra.len;
	cbuf_release(&c->ra);
	c->ra = nb;
	if (c->want & CONN_READ)
		conn_kick(c, CONN_READ);
	return 0;
}

size_t
conn_pending(const struct conn *c)
{
	return c->ra.len + (c->ops->pending != NULL ? c->ops->pending(c) : 0);
}

/* core/stats.c's, set by a worker that counts (not by the fuzzers) */
void	(*conn_st_close)(struct stconn *);

static void
conn_free_one(struct conn *c, int closefd)
{
	if (c->st != NULL && conn_st_close != NULL)
		conn_st_close(c->st);
	if (c->ops->free != NULL)
		c->ops->free(c);
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	if (c->kick != NULL)
		event_free(c->kick);
	/* only a socket owns its descriptor (a stream names its session's) */
	if (c->ops == &sock_ops && closefd && c->fd != -1)
		close(c->fd);
	cbuf_release(&c->ra);
	cbuf_release(&c->wq);
	free(c);
}

void
conn_free(struct conn *c)
{
	struct conn *lower;

	while (c != NULL) {
		lower = c->lower;
		conn_free_one(c, 1);
		c = lower;
	}
}

int
conn_is_socket(const struct conn *c)
{
	return c->ops == &sock_ops;
}

int
conn_is_bare(const struct conn *c)
{
	return c->ops == &sock_ops && c->ra.len == 0 && c->wq.len == 0;
}

int
conn_take_fd(struct conn *c)
{
	int fd;

	if (!conn_is_bare(c))
		return -1;
	fd = c->fd;
	conn_free_one(c, 0);
	return fd;
}

struct conn *
conn_layer_new(struct conn *lower, const struct conn_ops *ops, void *layer)
{
	struct conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->ops = ops;
	c->wk = lower->wk;
	c->lower = lower;
	c->fd = lower->fd;
	c->layer = layer;
	return c;
}

/* The socket. */

static ssize_t
sock_recv(struct conn *c, void *p, size_t n)
{
	ssize_t r;

	while ((r = recv(c->fd, p, n, 0)) == -1 && errno == EINTR)
		;
	return r;
}

static ssize_t
sock_send(struct conn *c, const void *p, size_t n)
{
	ssize_t r;

	while ((r = send(c->fd, p, n, MSG_NOSIGNAL)) == -1 && errno == EINTR)
		;
	return r;
}

static int
sock_shutw(struct conn *c)
{
	if (shutdown(c->fd, SHUT_WR) == -1 && errno != ENOTCONN)
		return -1;
	return 0;
}

/* Only what changed reaches epoll: no system call per wake-up. */
static void
sock_update(struct conn *c)
{
	int on = c->want & ~c->armed, off = c->armed & ~c->want;

	if (on & CONN_READ)
		event_add(c->rev, NULL);
	if (on & CONN_WRITE)
		event_add(c->wev, NULL);
	if (off & CONN_READ)
		event_del(c->rev);
	if (off & CONN_WRITE)
		event_del(c->wev);
	c->armed = c->want;
}

static void
sock_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	conn_notify(arg, what & EV_READ ? CONN_READ : CONN_WRITE);
}

static const struct conn_ops sock_ops = {
	.name = "tcp",
	.recv = sock_recv,
	.send = sock_send,
	.shutw = sock_shutw,
	.update = sock_update,
};

struct conn *
conn_socket(struct worker *wk, int fd)
{
	struct conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return NULL;
	}
	c->ops = &sock_ops;
	c->wk = wk;
	c->fd = fd;
	c->rev = event_new(wk->base, fd, EV_READ | EV_PERSIST, sock_ev_cb, c);
	c->wev = event_new(wk->base, fd, EV_WRITE | EV_PERSIST, sock_ev_cb, c);
	if (c->rev == NULL || c->wev == NULL)
		fatal_f("out of memory");
	return c;
}
