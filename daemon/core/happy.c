/*
 * Happy Eyeballs (see happy.h).  Addresses wait in one queue per
 * family; the next attempt takes from the family the previous one did
 * not use, when it has any (RFC 8305 4's interleaving, first address
 * family count 1), starting with the preferred family.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "cfgfile.h"
#include "log.h"
#include "core/dial.h"
#include "core/happy.h"
#include "core/resolve.h"
#include "worker.h"

#define HAPPY_ATTEMPTS	8	/* connections in flight at once, at most */

struct attempt {
	struct happy		*h;
	int			 fd;
	struct event		*ev;
	struct sockaddr_storage	 sa;
	socklen_t		 sl;
};

struct fq {
	struct sockaddr_storage	 a[RESOLVE_ADDRS_MAX];
	socklen_t		 l[RESOLVE_ADDRS_MAX];
	size_t			 n, next;
	int			 done;		/* answered (or not asked) */
	int			 err;
};

struct happy {
	struct worker		*wk;
	struct resolver		*r;
	char			 host[256];
	uint16_t		 port;
	struct happy_opts	 o;
	int			 first;		/* preferred family */
	struct fq		 q[2];		/* [0] preferred, [1] other */
	int			 lastq;		/* queue of the last attempt */
	struct resolve_req	*rr;
	struct attempt		 att[HAPPY_ATTEMPTS];
	size_t			 natt;
	struct event		*timer;		/* next attempt, or waiting
						   for the preferred family */
	int			 waiting;	/* resolution delay running */
	struct event		*defer;
	int			 in_start;
	int			 last_err;
	int			 res_fd;	/* the result, deferred */
	struct sockaddr_storage	 res_sa;
	socklen_t		 res_sl;
	happy_cb		 cb;
	void			*arg;
};

static void step(struct happy *);

static void
attempt_close(struct attempt *a)
{
	if (a->ev != NULL)
		event_free(a->ev);
	a->ev = NULL;
	if (a->fd != -1)
		close(a->fd);
	a->fd = -1;
}

void
happy_cancel(struct happy *h)
{
	size_t i;

	if (h == NULL)
		return;
	resolve_cancel(h->rr);
	for (i = 0; i < HAPPY_ATTEMPTS; i++)
		attempt_close(&h->att[i]);
	if (h->timer != NULL)
		event_free(h->timer);
	if (h->defer != NULL)
		event_free(h->defer);
	if (h->res_fd != -1)
		close(h->res_fd);
	free(h);
}

static void
finish_now(struct happy *h)
{
	happy_cb cb = h->cb;
	void *arg = h->arg;
	struct sockaddr_storage sa = h->res_sa;
	socklen_t sl = h->res_sl;
	int fd = h->res_fd, err = h->last_err;

	h->res_fd = -1;
	happy_cancel(h);
	cb(arg, fd, fd != -1 ? (struct sockaddr *)&sa : NULL, sl,
	    fd != -1 ? 0 : err);
}

static void
defer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	finish_now(arg);
}

/* The outcome: fd connected to sa, or -1 and h->last_err. */
static void
finish(struct happy *h, int fd, const struct sockaddr_storage *sa,
    socklen_t sl)
{
	struct timeval tv = { 0, 0 };

	h->res_fd = fd;
	if (sa != NULL) {
		h->res_sa = *sa;
		h->res_sl = sl;
	}
	if (!h->in_start) {
		finish_now(h);
		return;
	}
	if ((h->defer = evtimer_new(h->wk->base, defer_cb, h)) == NULL)
		fatal_f("out of memory");
	evtimer_add(h->defer, &tv);
}

static void
won(struct happy *h, struct attempt *a)
{
	int fd = a->fd;

	a->fd = -1;
	attempt_close(a);
	h->natt--;
	finish(h, fd, &a->sa, a->sl);
}

static void
failed(struct happy *h, struct attempt *a, int err)
{
	char host[64];
	uint16_t port;

	sockaddr_host(&a->sa, host, sizeof(host), &port);
	debug("%s: %s: %s", h->host, host, strerror(err));
	h->last_err = err;
	attempt_close(a);
	h->natt--;
	/* RFC 8305 5: a failure starts the next attempt at once */
	evtimer_del(h->timer);
	step(h);
}

static void
attempt_cb(evutil_socket_t fd, short what, void *arg)
{
	struct attempt *a = arg;
	socklen_t elen = sizeof(int);
	int err = 0;

	if (what & EV_TIMEOUT)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
		err = errno;
	if (err != 0)
		failed(a->h, a, err);
	else
		won(a->h, a);
}

/* The next address to try, interleaving families; NULL: none now. */
static int
next_addr(struct happy *h, struct sockaddr_storage *sa, socklen_t *sl)
{
	int order[2], i;
	struct fq *q;

	/* the family the last attempt did not use, then the same one */
	order[0] = h->lastq < 0 ? 0 : !h->lastq;
	order[1] = !order[0];
	for (i = 0; i < 2; i++) {
		q = &h->q[order[i]];
		if (q->next < q->n) {
			*sa = q->a[q->next];
			*sl = q->l[q->next];
			q->next++;
			h->lastq = order[i];
			return 0;
		}
	}
	return -1;
}

static int
more_coming(const struct happy *h)
{
	return !h->q[0].done || !h->q[1].done;
}

/* One attempt to the next address; 1 when one is under way. */
static int
attempt_start(struct happy *h)
{
	struct attempt *a = NULL;
	struct timeval tv;
	size_t i;
	int err;

	for (i = 0; i < HAPPY_ATTEMPTS; i++)
		if (h->att[i].fd == -1 && h->att[i].ev == NULL) {
			a = &h->att[i];
			break;
		}
	if (a == NULL)
		return 0;
	while (next_addr(h, &a->sa, &a->sl) == 0) {
		if (h->o.filter != NULL && (err = h->o.filter(h->o.farg,
		    (struct sockaddr *)&a->sa)) != 0) {
			h->last_err = err;
			continue;
		}
		if ((a->fd = dial_socket_as(h->wk, h->o.egress,
		    a->sa.ss_family, SOCK_STREAM)) == -1) {
			h->last_err = errno;
			continue;
		}
		if (connect(a->fd, (struct sockaddr *)&a->sa, a->sl) == -1 &&
		    errno != EINPROGRESS) {
			h->last_err = errno;
			close(a->fd);
			a->fd = -1;
			continue;
		}
		h->natt++;
		a->h = h;
		if (log_get_level() >= LOG_LEVEL_DEBUG1) {
			char host[64];
			uint16_t port;

			sockaddr_host(&a->sa, host, sizeof(host), &port);
			debug("%s: trying %s port %u", h->host, host, port);
		}
		if ((a->ev = event_new(h->wk->base, a->fd, EV_WRITE,
		    attempt_cb, a)) == NULL)
			fatal_f("out of memory");
		tv.tv_sec = (time_t)(h->o.timeout_ms / 1000);
		tv.tv_usec = (suseconds_t)(h->o.timeout_ms % 1000) * 1000;
		event_add(a->ev, h->o.timeout_ms ? &tv : NULL);
		return 1;
	}
	return 0;
}

/*
 * Start what may start now; end when nothing is left.  Called after
 * every change: addresses arrived, an attempt failed, a timer fired.
 */
static void
step(struct happy *h)
{
	struct timeval tv;

	if (h->res_fd != -1 || h->defer != NULL)
		return;
	if (h->waiting)
		return;			/* the resolution delay runs */
	/*
	 * A new attempt when none is in flight, or when the last one has
	 * had its 250 ms (the timer is not pending then).
	 */
	if ((h->natt == 0 || !evtimer_pending(h->timer, NULL)) &&
	    attempt_start(h)) {
		tv.tv_sec = 0;
		tv.tv_usec = HAPPY_ATTEMPT_DELAY_MS * 1000;
		if (!evtimer_pending(h->timer, NULL))
			evtimer_add(h->timer, &tv);
		return;
	}
	if (h->natt > 0 || more_coming(h))
		return;
	/* nothing in flight, nothing left to try */
	if (h->q[0].n + h->q[1].n == 0) {
		/* neither family had an address: the resolver's reason */
		h->last_err = h->q[0].err == ENOENT || h->q[1].err == ENOENT ?
		    (h->q[0].err != 0 && h->q[0].err != ENOENT ? h->q[0].err :
		    h->q[1].err != 0 && h->q[1].err != ENOENT ? h->q[1].err :
		    ENOENT) : h->q[0].err != 0 ? h->q[0].err : h->q[1].err;
		if (h->last_err == 0)
			h->last_err = ENOENT;
	}
	finish(h, -1, NULL, 0);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct happy *h = arg;

	(void)fd;
	(void)what;
	h->waiting = 0;
	step(h);
}

/* An address for the queue of its family, while there is room. */
static void
queue_add(struct happy *h, int family, const void *addr)
{
	struct fq *q = &h->q[family == h->first ? 0 : 1];

	if (q->n < RESOLVE_ADDRS_MAX) {
		sockaddr_set(&q->a[q->n], &q->l[q->n], family, addr, h->port);
		q->n++;
	}
}

static void
queue_answer(struct happy *h, const struct resolve_addrs *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		queue_add(h, a->family, resolve_addr(a, i));
}

static void
resolved(void *arg, const struct resolve_addrs *a, int err, int last)
{
	struct happy *h = arg;
	struct fq *q = &h->q[a->family == h->first ? 0 : 1];
	struct timeval tv;

	if (last)
		h->rr = NULL;
	q->done = 1;
	q->err = err;
	if (err == 0)
		queue_answer(h, a);
	/*
	 * RFC 8305 3: the other family first is given a moment for the
	 * preferred one to arrive, unless an attempt is under way.
	 */
	if (q == &h->q[1] && !h->q[0].done && h->natt == 0 && q->n > 0) {
		h->waiting = 1;
		tv.tv_sec = 0;
		tv.tv_usec = HAPPY_RESOLUTION_DELAY_MS * 1000;
		evtimer_add(h->timer, &tv);
		return;
	}
	if (q == &h->q[0] && h->waiting) {
		h->waiting = 0;
		evtimer_del(h->timer);
	}
	step(h);
}

/* Both families' answers from the resolver's cache: 1, queues filled. */
static int
cached(struct happy *h, struct resolver *r, const char *host)
{
	struct resolve_addrs a[2];
	int e[2], i;

	for (i = 0; i < 2; i++) {
		e[i] = resolve_cached(r, host, i == 0 ? h->first :
		    h->first == AF_INET ? AF_INET6 : AF_INET, &a[i]);
		if (e[i] == -1)
			return 0;
	}
	for (i = 0; i < 2; i++) {
		h->q[i].err = e[i];
		if (e[i] == 0)
			queue_answer(h, &a[i]);
	}
	return 1;
}

struct happy *
happy_connect(struct worker *wk, struct resolver *r, const char *host,
    uint16_t port, const struct happy_opts *o, happy_cb cb, void *arg)
{
	struct happy *h;
	const struct hosts_entry *he;
	unsigned char addr[16];
	size_t i;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->wk = wk;
	h->r = r;
	snprintf(h->host, sizeof(h->host), "%s", host);
	h->port = port;
	h->o = *o;
	h->first = o->prefer == AF_INET ? AF_INET : AF_INET6;
	h->lastq = -1;
	h->res_fd = -1;
	h->last_err = EHOSTUNREACH;
	h->cb = cb;
	h->arg = arg;
	for (i = 0; i < HAPPY_ATTEMPTS; i++)
		h->att[i].fd = -1;
	if ((h->timer = evtimer_new(wk->base, timer_cb, h)) == NULL) {
		free(h);
		return NULL;
	}
	h->in_start = 1;
	h->q[0].done = h->q[1].done = 1;
	if (inet_pton(AF_INET, host, addr) == 1)
		queue_add(h, AF_INET, addr);
	else if (inet_pton(AF_INET6, host, addr) == 1)
		queue_add(h, AF_INET6, addr);
	else if ((he = hosts_lookup(o->hosts, host)) != NULL)
		queue_add(h, he->family, he->addr);
	else if (r == NULL) {
		h->q[0].err = EIO;
	} else if (cached(h, r, host)) {
		/* both families known: no resolution, no resolution delay */
	} else {
		h->q[0].done = h->q[1].done = 0;
		if ((h->rr = resolve_start(r, host, RESOLVE_V4 | RESOLVE_V6,
		    resolved, h)) == NULL) {
			happy_cancel(h);
			return NULL;
		}
	}
	step(h);
	h->in_start = 0;
	return h;
}
