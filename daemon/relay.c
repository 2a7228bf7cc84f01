/*
 * Bidirectional relay between two plain sockets with splice(2): bytes go
 * socket -> pipe -> socket inside the kernel, never through user memory.
 * Each direction reads only while its pipe is empty, so a slow reader
 * stops the writer (back-pressure) and at most one pipe's worth is in
 * flight.  EOF is passed on as a half-close; the pair is freed when both
 * directions have finished or either side fails.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "worker.h"

#define RELAY_CHUNK	(256 * 1024)
#define RELAY_PIPE_SZ	(256 * 1024)
/*
 * 128 pooled pipes of 64 pages stay well within the kernel's soft limit
 * on pipe pages for an unprivileged user (16384 by default), past which
 * new pipes would get a single page.
 */
#define PIPE_POOL_MAX	128

/*
 * Empty pipes of finished relays, kept for the next connection: creating
 * a pipe costs two descriptors and a syscall that short connections feel.
 * An empty pipe holds no buffer pages, so the pool costs only fds.
 */
static int pipe_pool[PIPE_POOL_MAX][2];

/* 60 s; test builds take OSTP_HALF_IDLE (seconds) to keep tests short. */
int
relay_half_idle_secs(void)
{
#ifdef OSTP_TESTHOOKS
	static int v;
	const char *e;

	if (v == 0)
		v = (e = getenv("OSTP_HALF_IDLE")) != NULL && atoi(e) > 0 ?
		    atoi(e) : 60;
	return v;
#else
	return 60;
#endif
}
static size_t pipe_pool_len;

static int
pipe_get(int p[2])
{
	if (pipe_pool_len > 0) {
		pipe_pool_len--;
		p[0] = pipe_pool[pipe_pool_len][0];
		p[1] = pipe_pool[pipe_pool_len][1];
		return 0;
	}
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	/* Larger than the default 64 KiB: fewer wake-ups per megabyte. */
	(void)fcntl(p[1], F_SETPIPE_SZ, RELAY_PIPE_SZ);
	return 0;
}

static void
pipe_put(int p[2], int empty)
{
	if (empty && pipe_pool_len < PIPE_POOL_MAX) {
		pipe_pool[pipe_pool_len][0] = p[0];
		pipe_pool[pipe_pool_len][1] = p[1];
		pipe_pool_len++;
	} else {
		close(p[0]);
		close(p[1]);
	}
	p[0] = p[1] = -1;
}

struct relay;

struct relay_dir {
	struct relay	*r;
	int		 from;
	int		 to;
	int		 pipe[2];	/* created on first data */
	size_t		 inpipe;
	int		 eof;		/* from said EOF */
	int		 done;		/* EOF passed on */
	uint64_t	*counter;
	struct event	*rev;
	struct event	*wev;
};

struct relay {
	struct worker	*wk;
	struct relay_dir d[2];
	struct halfidle	 hi;		/* one side finished: a time limit */
};

static void
relay_free(struct relay *r)
{
	int i;

	for (i = 0; i < 2; i++) {
		event_free(r->d[i].rev);
		event_free(r->d[i].wev);
		if (r->d[i].pipe[0] != -1)
			pipe_put(r->d[i].pipe, r->d[i].inpipe == 0);
	}
	halfidle_clear(&r->hi);
	close(r->d[0].from);
	close(r->d[1].from);
	worker_conn_closed(r->wk);
	free(r);
}

/* Move what the pipe holds to the destination; -1 on a fatal error. */
static int
dir_flush(struct relay_dir *d)
{
	ssize_t n;

	while (d->inpipe > 0) {
		n = splice(d->pipe[0], NULL, d->to, NULL, d->inpipe,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			d->inpipe -= (size_t)n;
			*d->counter += (uint64_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			/* The reader waits until the pipe drains. */
			event_del(d->rev);
			event_add(d->wev, NULL);
			return 0;
		}
		debug_f("write: %s", n == 0 ? "closed" : strerror(errno));
		return -1;
	}
	event_del(d->wev);
	/*
	 * Drained: the pipe goes back to the pool, so an idle connection
	 * holds no pipe and no pipe pages; the next burst takes one again
	 * without a system call.
	 */
	if (d->pipe[0] != -1)
		pipe_put(d->pipe, 1);
	if (d->eof && !d->done) {
		/* the last direction to finish: close() follows at once */
		if (!d->r->d[d == &d->r->d[0]].done)
			shutdown(d->to, SHUT_WR);
		d->done = 1;
	} else if (!d->eof)
		event_add(d->rev, NULL);
	return 0;
}

static int
dir_fill(struct relay_dir *d)
{
	ssize_t n;

	if (d->pipe[0] == -1 && pipe_get(d->pipe) == -1) {
		debug_f("pipe2: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		n = splice(d->from, NULL, d->pipe[1], NULL, RELAY_CHUNK,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			d->inpipe += (size_t)n;
			return 0;
		}
		if (n == 0) {
			d->eof = 1;
			event_del(d->rev);
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return 0;
		debug_f("read: %s", strerror(errno));
		return -1;
	}
}

/*
 * Once one side of a relay has finished, the other gets
 * relay_half_idle_secs() of silence before the pair is closed: a peer
 * that never closes its half would otherwise hold it for ever.  Both
 * relays use this; the timer is armed once and re-armed for the rest.
 */
void
halfidle_touch(struct halfidle *h, struct event_base *base, int half,
    event_callback_fn cb, void *arg)
{
	struct timeval now, tv = { relay_half_idle_secs(), 0 };

	event_base_gettimeofday_cached(base, &now);
	h->last = now.tv_sec;
	if (half && h->ev == NULL) {
		if ((h->ev = evtimer_new(base, cb, arg)) == NULL)
			fatal_f("out of memory");
		evtimer_add(h->ev, &tv);
	}
}

/* The timer fired: 1 when the limit is reached, else 0 (re-armed). */
int
halfidle_expired(struct halfidle *h, struct event_base *base)
{
	struct timeval now, tv;
	time_t idle;

	event_base_gettimeofday_cached(base, &now);
	if ((idle = now.tv_sec - h->last) >= relay_half_idle_secs()) {
		debug_f("half-closed and idle for %d s; closed",
		    relay_half_idle_secs());
		return 1;
	}
	tv.tv_sec = relay_half_idle_secs() - idle;
	tv.tv_usec = 0;
	evtimer_add(h->ev, &tv);
	return 0;
}

void
halfidle_clear(struct halfidle *h)
{
	if (h->ev != NULL)
		event_free(h->ev);
	h->ev = NULL;
}

static void
relay_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;

	(void)fd;
	(void)what;
	if (halfidle_expired(&r->hi, r->wk->base))
		relay_free(r);
}

static void
relay_check(struct relay *r, int failed)
{
	if (failed || (r->d[0].done && r->d[1].done)) {
		relay_free(r);
		return;
	}
	halfidle_touch(&r->hi, r->wk->base, r->d[0].done || r->d[1].done,
	    relay_idle_cb, r);
}

static void
read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_dir *d = arg;
	int failed;

	(void)fd;
	(void)what;
	/*
	 * Usually the pipe drains at once, and the read event stays as it
	 * is: no epoll_ctl per message.
	 */
	failed = dir_fill(d) != 0;
	if (!failed)
		failed = dir_flush(d) != 0;
	relay_check(d->r, failed);
}

static void
write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_dir *d = arg;

	(void)fd;
	(void)what;
	relay_check(d->r, dir_flush(d) != 0);
}

int
relay_start(struct worker *wk, int a, int b)
{
	struct relay *r;
	int i;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		close(a);
		close(b);
		worker_conn_closed(wk);
		return -1;
	}
	r->wk = wk;
	r->d[0].from = a;
	r->d[0].to = b;
	r->d[0].counter = &wk->stats.bytes_in;
	r->d[1].from = b;
	r->d[1].to = a;
	r->d[1].counter = &wk->stats.bytes_out;
	for (i = 0; i < 2; i++) {
		struct relay_dir *d = &r->d[i];

		d->r = r;
		d->pipe[0] = d->pipe[1] = -1;
		d->rev = event_new(wk->base, d->from, EV_READ | EV_PERSIST,
		    read_cb, d);
		d->wev = event_new(wk->base, d->to, EV_WRITE | EV_PERSIST,
		    write_cb, d);
		if (d->rev == NULL || d->wev == NULL)
			fatal_f("out of memory");
		event_add(d->rev, NULL);
	}
	return 0;
}
