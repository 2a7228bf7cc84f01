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
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "worker.h"
#include "core/relay.h"
#include "core/stats.h"

/*
 * A relay direction's pipe holds 256 KiB; one that fills it in a single
 * splice is moving bulk and grows to 1 MiB, which takes a fifth less CPU
 * per byte (fewer wake-ups and splices per megabyte).  A grown pipe stays
 * with its direction until it has been idle BIG_IDLE_SECS.
 */
#define RELAY_PIPE_SZ	(256 * 1024)
#define RELAY_PIPE_BIG	(1024 * 1024)
#define BIG_IDLE_SECS	1
#define PIPE_POOL_MAX	128
#define BIG_MAX		64
#define PAGES(sz)	((long)(sz) / 4096)

/*
 * Empty pipes of finished relays, kept for the next connection: creating
 * a pipe costs two descriptors and a syscall that short connections feel.
 * An empty pipe holds no buffer pages, but the kernel charges its
 * capacity to the user: past fs.pipe-user-pages-soft (16384 pages by
 * default, for all workers of the user together) new pipes get two pages
 * and cannot grow.  So each worker keeps a budget, its share of that
 * limit, and sizes pipes within it: 256 KiB while it lasts, the kernel's
 * default beyond, and grows a pipe to 1 MiB only with room to spare.
 */
struct pooled {
	int	fd[2];
	int	size;
};
static struct pooled pipe_pool[PIPE_POOL_MAX];
static size_t pipe_pool_len;
static long pipe_pages;		/* charged for this worker's pipes */
static long pipe_budget = 16384;

struct relay_dir;
static struct relay_dir *bigdirs[BIG_MAX];
static size_t nbig;
static struct event *big_ev;

/* Before the sandbox: this worker's share of the user's pipe pages. */
void
relay_init(const struct conf *conf)
{
	long soft = 16384, n = conf->workers;
	FILE *f;

	if ((f = fopen("/proc/sys/fs/pipe-user-pages-soft", "r")) != NULL) {
		if (fscanf(f, "%ld", &soft) != 1)
			soft = 16384;
		fclose(f);
	}
	if (n == 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	n = n < 1 ? 1 : n > 64 ? 64 : n;
	/* 0 is no limit; keep a quarter for reloads and other pipes */
	pipe_budget = soft == 0 ? LONG_MAX : soft * 3 / 4 / n;
}

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

/* A pipe from the pool or a new one; its capacity in *size. */
static int
pipe_get(int p[2], int *size)
{
	int sz;

	if (pipe_pool_len > 0) {
		pipe_pool_len--;
		p[0] = pipe_pool[pipe_pool_len].fd[0];
		p[1] = pipe_pool[pipe_pool_len].fd[1];
		*size = pipe_pool[pipe_pool_len].size;
		return 0;
	}
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	*size = 65536;	/* the kernel's default */
	if (pipe_pages + PAGES(RELAY_PIPE_SZ) <= pipe_budget &&
	    (sz = fcntl(p[1], F_SETPIPE_SZ, RELAY_PIPE_SZ)) > 0)
		*size = sz;
	else if ((sz = fcntl(p[1], F_GETPIPE_SZ)) > 0)
		*size = sz;	/* past the user's limit: 2 pages */
	pipe_pages += PAGES(*size);
	return 0;
}

static void
pipe_put(int p[2], int size, int empty)
{
	/* Pool only pipes worth reusing: not the kernel's small ones. */
	if (empty && pipe_pool_len < PIPE_POOL_MAX && size >= 65536 &&
	    size <= RELAY_PIPE_SZ) {
		pipe_pool[pipe_pool_len].fd[0] = p[0];
		pipe_pool[pipe_pool_len].fd[1] = p[1];
		pipe_pool[pipe_pool_len].size = size;
		pipe_pool_len++;
	} else {
		close(p[0]);
		close(p[1]);
		pipe_pages -= PAGES(size);
	}
	p[0] = p[1] = -1;
}

struct relay;

struct relay_dir {
	struct relay	*r;
	int		 from;
	int		 to;
	int		 pipe[2];	/* taken on data, returned when empty */
	int		 pipesz;	/* its capacity */
	int		 big;		/* grown; an entry in bigdirs */
	time_t		 lastfill;	/* when data last came, if big */
	size_t		 inpipe;
	int		 eof;		/* from said EOF */
	int		 done;		/* EOF passed on */
	uint64_t	*counter;
	struct stconn	*st;		/* the client's record, or NULL */
	int		 dir;		/* 0: from the client */
	struct event	*rev;
	struct event	*wev;
};

struct relay {
	struct worker	*wk;
	struct relay_dir d[2];
	struct halfidle	 hi;		/* one side finished: a time limit */
};

/* A grown pipe goes back to 256 KiB (or is closed) and off the list. */
static void
big_release(struct relay_dir *d)
{
	size_t i;

	for (i = 0; i < nbig; i++)
		if (bigdirs[i] == d) {
			bigdirs[i] = bigdirs[--nbig];
			break;
		}
	d->big = 0;
	if (d->inpipe == 0 &&
	    fcntl(d->pipe[1], F_SETPIPE_SZ, RELAY_PIPE_SZ) == RELAY_PIPE_SZ) {
		pipe_pages -= PAGES(d->pipesz) - PAGES(RELAY_PIPE_SZ);
		d->pipesz = RELAY_PIPE_SZ;
	}
	pipe_put(d->pipe, d->pipesz, d->inpipe == 0);
}

/* Once a second while pipes are grown: give back the idle ones. */
static void
big_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *wk = arg;
	struct timeval now, tv = { BIG_IDLE_SECS, 0 };
	size_t i;

	(void)fd;
	(void)what;
	event_base_gettimeofday_cached(wk->base, &now);
	for (i = nbig; i-- > 0; ) {
		struct relay_dir *d = bigdirs[i];

		if (d->inpipe == 0 && now.tv_sec - d->lastfill >= BIG_IDLE_SECS)
			big_release(d);
	}
	if (nbig > 0)
		evtimer_add(big_ev, &tv);
}

/* The direction filled its pipe in one splice: grow it, within budget. */
static void
big_grow(struct worker *wk, struct relay_dir *d)
{
	struct timeval now, tv = { BIG_IDLE_SECS, 0 };
	int sz;

	if (nbig >= BIG_MAX || pipe_pages - PAGES(d->pipesz) +
	    PAGES(RELAY_PIPE_BIG) > pipe_budget)
		return;
	if (big_ev == NULL &&
	    (big_ev = evtimer_new(wk->base, big_sweep_cb, wk)) == NULL)
		return;
	if ((sz = fcntl(d->pipe[1], F_SETPIPE_SZ, RELAY_PIPE_BIG)) <= 0)
		return;
	pipe_pages += PAGES(sz) - PAGES(d->pipesz);
	d->pipesz = sz;
	d->big = 1;
	event_base_gettimeofday_cached(wk->base, &now);
	d->lastfill = now.tv_sec;
	bigdirs[nbig++] = d;
	if (!evtimer_pending(big_ev, NULL))
		evtimer_add(big_ev, &tv);
}

static void
relay_free(struct relay *r)
{
	int i;

	for (i = 0; i < 2; i++) {
		event_free(r->d[i].rev);
		event_free(r->d[i].wev);
		if (r->d[i].big)
			big_release(&r->d[i]);
		else if (r->d[i].pipe[0] != -1)
			pipe_put(r->d[i].pipe, r->d[i].pipesz,
			    r->d[i].inpipe == 0);
	}
	halfidle_clear(&r->hi);
	close(r->d[0].from);
	close(r->d[1].from);
	stconn_close(r->d[0].st);
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
			stconn_bytes(d->st, d->dir, (size_t)n);
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
	 * without a system call.  A grown pipe stays for the next chunk of
	 * the bulk transfer; the sweep takes it back when that ends.
	 */
	if (d->pipe[0] != -1 && !d->big)
		pipe_put(d->pipe, d->pipesz, 1);
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

	if (d->pipe[0] == -1 && pipe_get(d->pipe, &d->pipesz) == -1) {
		debug_f("pipe2: %s", strerror(errno));
		return -1;
	}
	if (d->inpipe >= (size_t)d->pipesz)
		return 0;	/* full: the writer is behind */
	for (;;) {
		n = splice(d->from, NULL, d->pipe[1], NULL,
		    (size_t)d->pipesz - d->inpipe,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			d->inpipe += (size_t)n;
			if (d->big) {
				struct timeval now;

				event_base_gettimeofday_cached(d->r->wk->base,
				    &now);
				d->lastfill = now.tv_sec;
			} else if (d->inpipe >= (size_t)d->pipesz &&
			    d->pipesz >= RELAY_PIPE_SZ)
				big_grow(d->r->wk, d);
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
relay_start(struct worker *wk, int a, int b, struct stconn *st)
{
	struct relay *r;
	int i;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		close(a);
		close(b);
		stconn_close(st);
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
	r->d[0].st = r->d[1].st = st;
	r->d[1].dir = 1;
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
