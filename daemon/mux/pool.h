/* Sessions of multiplexed chain nodes, reused by every dial (pool.c). */
#ifndef OSTP_MUXPOOL_H
#define OSTP_MUXPOOL_H

#include <stddef.h>

struct conn;
struct h2;
struct pooled_session;
struct tp_conf;
struct muxwait;
struct worker;

/* The live session of key (transport, address, path), or NULL. */
struct pooled_session *muxpool_get(const char *key);
/* A new stream of the session (for h2 as tp says); NULL: none now. */
struct conn	*muxpool_stream(struct pooled_session *,
		    const struct tp_conf *);
/* The HTTP/2 session of an http2 node (NULL for others). */
struct h2	*muxpool_h2(struct pooled_session *);
/*
 * 1: the caller builds key's session (muxpool_open, or muxpool_abandon
 * when it cannot); 0: somebody does, or it exists; -1: no memory.
 */
int		 muxpool_claim(struct worker *, const char *key);
void		 muxpool_abandon(const char *key);
/* cb runs (from the loop) when key's session is built or abandoned. */
struct muxwait	*muxpool_wait(const char *key, void (*cb)(void *), void *);
void		 muxpool_unwait(struct muxwait *);
/*
 * A client session on c (taken) under key: HTTP/2 for tp's h2, h2c and
 * http2, else smux; NULL: c freed.
 */
struct pooled_session *muxpool_open(const char *key, struct conn *,
		    const struct tp_conf *);

#endif
