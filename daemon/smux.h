/* smux sessions: streams over one connection, bridged to sockets. */
#ifndef OSTP_SMUX_H
#define OSTP_SMUX_H

#include <stddef.h>

struct worker;
struct smux;
struct smux_stream;

/*
 * A stream the peer opened: call smux_attach() with the socket to
 * bridge it to (now or later; -1 refuses it).
 */
typedef int (*smux_strip_fn)(const unsigned char *, size_t, size_t *);
typedef void (*smux_accept_cb)(void *arg, struct smux_stream *);

/*
 * A session on fd (taken); pre: bytes already read from it.  closed
 * runs when the session ends by itself (not after smux_free).  NULL
 * if it could not start (fd closed).
 */
struct smux	*smux_new(struct worker *, int fd, int client, const void *pre,
		    size_t prelen, smux_accept_cb, void (*closed)(void *),
		    void *arg);
int		 smux_open(struct smux *, int fd, const void *pre,
		    size_t prelen);
/*
 * Before bridging, drop a header at the start of what the peer sends:
 * fn returns 0 with its length, ERR_INCOMPLETE, or an error (the stream
 * ends).
 */
void		 smux_strip(struct smux_stream *, smux_strip_fn);
int		 smux_attach(struct smux_stream *, int fd);
void		 smux_free(struct smux *);

#endif
