/*
 * smux sessions (xtaci/smux version 1) over a connection; every stream
 * is a connection of its own (core/conn.h), relayed like any other.
 */
#ifndef OSTP_SMUX_H
#define OSTP_SMUX_H

#include <stddef.h>

struct conn;
struct smux;

/* A stream the peer opened; the callee owns it (conn_free ends it). */
typedef void (*smux_accept_cb)(void *arg, struct conn *);

/*
 * A session on c (taken; what it read ahead is the session's first
 * input).  closed runs when the session ends by itself (not after
 * smux_free); its streams then fail on their next operation.  NULL if
 * it could not start (c freed).
 */
struct smux	*smux_new(struct conn *, int client, smux_accept_cb,
		    void (*closed)(void *), void *arg);
/* A new stream from our side; NULL if the session cannot take one. */
struct conn	*smux_open(struct smux *);
size_t		 smux_nstreams(const struct smux *);
/* Called with the session's connection just before it goes. */
void		 smux_set_dying(struct smux *,
		    void (*)(void *arg, struct conn *));
void		 smux_free(struct smux *);

#endif
