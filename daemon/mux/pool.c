/*
 * Sessions of multiplexed chain nodes (mtls, mws, mwss): one per node
 * address and transport, opened by the first dial that needs it and
 * reused by every dial after, until it fails; then the next dial opens
 * another.  A session's streams fail with it.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conn.h"
#include "core/tls.h"
#include "log.h"
#include "mux/pool.h"
#include "mux/smux.h"

struct pooled_session {
	LIST_ENTRY(pooled_session)	 entry;
	char				*key;
	struct smux			*s;
};

static LIST_HEAD(, pooled_session) sessions =
    LIST_HEAD_INITIALIZER(sessions);

static void
pool_closed(void *arg)
{
	struct pooled_session *ps = arg;

	debug("mux %s: the session ended", ps->key);
	LIST_REMOVE(ps, entry);
	free(ps->key);
	free(ps);
}

/* Why the session's connection failed, when it was a certificate. */
static void
pool_dying(void *arg, struct conn *c)
{
	struct pooled_session *ps = arg;
	const char *why;

	if ((why = tls_verify_error(c)) != NULL)
		error("mux %s: TLS: the server's certificate: %s", ps->key,
		    why);
}

struct smux *
muxpool_get(const char *key)
{
	struct pooled_session *ps;

	LIST_FOREACH(ps, &sessions, entry)
		if (strcmp(ps->key, key) == 0)
			return ps->s;
	return NULL;
}

struct smux *
muxpool_open(const char *key, struct conn *c)
{
	struct pooled_session *ps;

	if ((ps = calloc(1, sizeof(*ps))) == NULL ||
	    (ps->key = strdup(key)) == NULL) {
		free(ps);
		conn_free(c);
		return NULL;
	}
	if ((ps->s = smux_new(c, 1, NULL, pool_closed, ps)) == NULL) {
		free(ps->key);
		free(ps);
		return NULL;
	}
	smux_set_dying(ps->s, pool_dying);
	LIST_INSERT_HEAD(&sessions, ps, entry);
	debug("mux %s: a new session", key);
	return ps->s;
}

size_t
muxpool_count(void)
{
	struct pooled_session *ps;
	size_t n = 0;

	LIST_FOREACH(ps, &sessions, entry)
		n++;
	return n;
}
