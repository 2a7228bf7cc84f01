/*
 * HTTP/2 sessions (gost's h2 and h2c tunnel transports) over a
 * connection; every tunnel is one HTTP/2 stream, a connection of its
 * own (core/conn.h), relayed like any other.
 */
#ifndef OSTP_H2_H
#define OSTP_H2_H

#include <stddef.h>

struct conn;
struct h2;

/* A tunnel the peer opened (answered 200); the callee owns it. */
typedef void (*h2_accept_cb)(void *arg, struct conn *);

/*
 * A session on c (taken).  path: a server's tunnels are GET path
 * requests (NULL: CONNECT); ping_ms: PING that often, a session that
 * stays silent a whole period after one is closed (0: never).
 * alpn: c is TLS, on which "h2" must have been agreed (ALPN).  closed runs
 * when the session ends by itself (not after h2_free); its streams
 * then fail on their next operation.  NULL if it could not start (c
 * freed).
 */
struct h2	*h2_new(struct conn *, int client, const char *path,
		    unsigned long ping_ms, int alpn, h2_accept_cb,
		    void (*closed)(void *), void *arg);
/*
 * A tunnel from our side: CONNECT authority, or GET path when path is
 * set.  It is neither readable nor writable before the answer; an
 * answer other than 200 fails it (ECONNREFUSED).  NULL if the session
 * cannot take one.
 */
struct conn	*h2_open(struct h2 *, const char *authority, const char *path);
size_t		 h2_nstreams(const struct h2 *);
/* Called with the session's connection just before it goes. */
void		 h2_set_dying(struct h2 *, void (*)(void *arg, struct conn *));
void		 h2_free(struct h2 *);

#endif
