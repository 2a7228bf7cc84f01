/*
 * Sessions of multiplexed chain nodes (mtls, mws, mwss: smux; h2, h2c:
 * HTTP/2): one per node
 * address and transport, opened by the first dial that needs it and
 * reused by every dial after, until it fails; then the next dial opens
 * another.  A session's streams fail with it.
 *
 * While one dial builds a session, others for the same node wait for
 * it instead of opening sessions of their own (gost holds a lock for
 * this); if the builder fails, the waiters try again, and one of them
 * builds.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/conn.h"
#include "core/tls.h"
#include "log.h"
#include "conf.h"
#include "mux/h2.h"
#include "mux/pool.h"
#include "mux/smux.h"
#include "worker.h"

struct muxwait {
	LIST_ENTRY(muxwait)	 entry;
	struct pooled_session	*ps;
	void			(*cb)(void *);
	void			*arg;
};

struct pooled_session {
	LIST_ENTRY(pooled_session)	 entry;
	char				*key;
	struct smux			*s;	/* both NULL: being built */
	struct h2			*h2;
	LIST_HEAD(, muxwait)		 waiters;
	struct event			*wake;
};

static LIST_HEAD(, pooled_session) sessions =
    LIST_HEAD_INITIALIZER(sessions);

static struct pooled_session *
pool_find(const char *key)
{
	struct pooled_session *ps;

	LIST_FOREACH(ps, &sessions, entry)
		if (strcmp(ps->key, key) == 0)
			return ps;
	return NULL;
}

static void
pool_free(struct pooled_session *ps)
{
	LIST_REMOVE(ps, entry);
	if (ps->wake != NULL)
		event_free(ps->wake);
	free(ps->key);
	free(ps);
}

/* The waiters go on, each from the event loop. */
static void
pool_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pooled_session *ps = arg;
	struct muxwait *w;

	(void)fd;
	(void)what;
	while ((w = LIST_FIRST(&ps->waiters)) != NULL) {
		LIST_REMOVE(w, entry);
		w->cb(w->arg);
		free(w);
	}
	if (ps->s == NULL && ps->h2 == NULL)
		pool_free(ps);		/* abandoned: nobody builds now */
}

static void
pool_wake(struct pooled_session *ps)
{
	if (ps->wake != NULL)
		event_active(ps->wake, EV_TIMEOUT, 1);
	else if (ps->s == NULL && ps->h2 == NULL)
		pool_free(ps);
}

static void
pool_closed(void *arg)
{
	struct pooled_session *ps = arg;

	debug("mux %s: the session ended", ps->key);
	ps->s = NULL;
	ps->h2 = NULL;
	if (LIST_EMPTY(&ps->waiters))
		pool_free(ps);
	else
		pool_wake(ps);
}

/* Why the session's connection failed, when it was a certificate. */
static void
pool_dying(void *arg, struct conn *c)
{
	struct pooled_session *ps = arg;
	const char *why;

	if ((why = tls_verify_error(c)) != NULL)
		error("chain node %s: TLS: the server's certificate: %s",
		    ps->key, why);
}

static int
pool_live(const struct pooled_session *ps)
{
	return ps->s != NULL || ps->h2 != NULL;
}

struct pooled_session *
muxpool_get(const char *key)
{
	struct pooled_session *ps = pool_find(key);

	return ps != NULL && pool_live(ps) ? ps : NULL;
}

/* h2: CONNECT the node (host= overrides it), or GET path= */
struct conn *
muxpool_stream(struct pooled_session *ps, const struct tp_conf *tp)
{
	if (ps->h2 != NULL)
		return h2_open(ps->h2, tp->wshost, tp->path, NULL, 0);
	return smux_open(ps->s);
}

struct h2 *
muxpool_h2(struct pooled_session *ps)
{
	return ps->h2;
}

static struct pooled_session *
pool_entry_new(struct worker *wk, const char *key)
{
	struct pooled_session *ps;

	if ((ps = calloc(1, sizeof(*ps))) == NULL ||
	    (ps->key = strdup(key)) == NULL ||
	    (ps->wake = evtimer_new(wk->base, pool_wake_cb, ps)) == NULL) {
		if (ps != NULL)
			free(ps->key);
		free(ps);
		return NULL;
	}
	LIST_INIT(&ps->waiters);
	LIST_INSERT_HEAD(&sessions, ps, entry);
	return ps;
}

int
muxpool_claim(struct worker *wk, const char *key)
{
	if (pool_find(key) != NULL)
		return 0;
	return pool_entry_new(wk, key) != NULL ? 1 : -1;
}

void
muxpool_abandon(const char *key)
{
	struct pooled_session *ps = pool_find(key);

	if (ps != NULL && ps->s == NULL)
		pool_wake(ps);
}

struct muxwait *
muxpool_wait(const char *key, void (*cb)(void *), void *arg)
{
	struct pooled_session *ps = pool_find(key);
	struct muxwait *w;

	if (ps == NULL || pool_live(ps) || (w = calloc(1, sizeof(*w))) ==
	    NULL)
		return NULL;
	w->ps = ps;
	w->cb = cb;
	w->arg = arg;
	LIST_INSERT_HEAD(&ps->waiters, w, entry);
	return w;
}

void
muxpool_unwait(struct muxwait *w)
{
	if (w != NULL) {
		LIST_REMOVE(w, entry);
		free(w);
	}
}

struct pooled_session *
muxpool_open(const char *key, struct conn *c, const struct tp_conf *tp)
{
	struct pooled_session *ps = pool_find(key);

	if (ps == NULL || pool_live(ps)) {
		/*
		 * Not claimed, or filled by another dial meanwhile: an entry
		 * of its own (the newest is found first).
		 */
		if ((ps = pool_entry_new(c->wk, key)) == NULL) {
			conn_free(c);
			return NULL;
		}
	}
	if (tp->kind == TP_H2 || tp->kind == TP_H2C || tp->kind == TP_HTTP2) {
		if ((ps->h2 = h2_new(c, 1, NULL, tp->ping_ms,
		    tp->kind != TP_H2C, NULL, pool_closed, ps)) == NULL) {
			pool_wake(ps);
			return NULL;
		}
		h2_set_dying(ps->h2, pool_dying);
	} else {
		if ((ps->s = smux_new(c, 1, NULL, pool_closed, ps)) == NULL) {
			pool_wake(ps);
			return NULL;
		}
		smux_set_dying(ps->s, pool_dying);
	}
	debug("mux %s: a new session", key);
	pool_wake(ps);		/* the waiters open their streams */
	return ps;
}
