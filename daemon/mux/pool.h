/* Sessions of multiplexed chain nodes, reused by every dial (pool.c). */
#ifndef OSTP_MUXPOOL_H
#define OSTP_MUXPOOL_H

#include <stddef.h>

struct conn;
struct smux;

/* The live session of key (transport, address, path), or NULL. */
struct smux	*muxpool_get(const char *key);
/* A client session on c (taken), pooled under key; NULL: c freed. */
struct smux	*muxpool_open(const char *key, struct conn *);
size_t		 muxpool_count(void);

#endif
