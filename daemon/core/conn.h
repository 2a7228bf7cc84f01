/*
 * Connections: the one type handlers, connectors, transports and the
 * relay share.  A connection is a kernel socket, a layer over another
 * connection (TLS, a codec such as Shadowsocks' AEAD framing, later
 * WebSocket and obfs framing), or a stream of a multiplexed session.
 *
 * Every connection offers the same few operations (conn_ops, in the
 * manner of HAProxy's xprt_ops): receive into the caller's buffer, send
 * from it, end the write side, say what it is waiting for.  A layer does
 * its work by calling the same operations on the connection below it,
 * and takes that connection's readiness callback for itself.  Readiness
 * is level-triggered, as a socket's: the owner says what it wants with
 * conn_want() and is called back while that is possible; bytes a layer
 * already holds (or that a handshake gave back with conn_unread) make it
 * readable at once.
 */
#ifndef OSTP_CONN_H
#define OSTP_CONN_H

#include <sys/types.h>
#include <stddef.h>

#include "cbuf.h"

struct worker;
struct event;
struct codec;
struct stconn;

#define CONN_READ	0x01
#define CONN_WRITE	0x02

struct conn;
/* what: CONN_READ and/or CONN_WRITE; the callee may free the conn. */
typedef void (*conn_cb)(struct conn *, int what, void *arg);

struct conn_ops {
	const char	*name;
	/* > 0 bytes, 0 at EOF, -1 with errno (EAGAIN: nothing yet). */
	ssize_t	(*recv)(struct conn *, void *, size_t);
	/* Bytes taken (> 0), or -1 with errno (EAGAIN: no room yet). */
	ssize_t	(*send)(struct conn *, const void *, size_t);
	/*
	 * End the write side once everything taken has gone out: 0 done,
	 * -1 with EAGAIN (call again when writable) or another errno.
	 */
	int	(*shutw)(struct conn *);
	/* c->want changed, or the layer's own needs did: arm below. */
	void	(*update)(struct conn *);
	/* Bytes held that recv returns without waiting. */
	size_t	(*pending)(const struct conn *);
	/* Release the layer's own state (not the conn, not lower). */
	void	(*free)(struct conn *);
};

struct conn {
	const struct conn_ops	*ops;
	struct worker		*wk;
	struct conn		*lower;		/* NULL: a kernel socket */
	int			 fd;		/* the socket at the bottom */
	struct cbuf		 ra;		/* read-ahead, given back */
	struct cbuf		 wq;		/* conn_put: not yet taken */
	int			 werr;		/* wq could not be sent */
	int			 owner_want;	/* what the owner waits for */
	int			 want;		/* and for wq: what to arm */
	int			 armed;		/* socket: events added */
	int			 shut;		/* write side ended */
	conn_cb			 cb;
	void			*arg;
	struct event		*rev;		/* socket */
	struct event		*wev;		/* socket */
	struct event		*kick;		/* ready without waiting */
	int			 kicked;	/* what kick reports */
	void			*layer;		/* the layer's state */
	struct stconn		*st;		/* a client's record (stats.h) */
};

/* Ends a freed connection's record (core/stats.c sets it). */
extern void	(*conn_st_close)(struct stconn *);

/* A connected, non-blocking socket (taken); NULL on failure (closed). */
struct conn	*conn_socket(struct worker *, int fd);
/* The owner's callback; what it wants starts at nothing. */
void		 conn_set_cb(struct conn *, conn_cb, void *);
void		 conn_want(struct conn *, int what);
ssize_t		 conn_recv(struct conn *, void *, size_t);
ssize_t		 conn_send(struct conn *, const void *, size_t);
int		 conn_shutw(struct conn *);
/* Give bytes back: the next conn_recv returns them first. */
int		 conn_unread(struct conn *, const void *, size_t);
/*
 * Send all of p, now or as soon as the connection takes it (before
 * anything sent after): a handshake's replies, which must not be lost
 * when a layer or a stream cannot take them at once.  -1 only when
 * CONN_PUT_MAX would be passed or the connection failed.
 */
#define CONN_PUT_MAX	(64 * 1024)
int		 conn_put(struct conn *, const void *, size_t);
/*
 * Send from b what c takes now (consumed from b): 0, b emptied or c
 * full (EAGAIN), or -1 with errno when c failed.
 */
int		 conn_send_buf(struct conn *, struct cbuf *);
/* Bytes conn_recv returns without waiting (read-ahead included). */
size_t		 conn_pending(const struct conn *);
/* The whole stack. */
void		 conn_free(struct conn *);
/*
 * The socket of a bare socket connection with nothing read ahead, for
 * splice(2) and for code that needs the descriptor itself: the conn is
 * freed, the fd kept open.  -1 (conn untouched) for anything else.
 */
int		 conn_take_fd(struct conn *);
/* 1 for a bare socket connection with nothing read ahead. */
int		 conn_is_bare(const struct conn *);
/* 1 for a socket connection (no layer, no stream). */
int		 conn_is_socket(const struct conn *);
/* Layers use these: make c readable/writable at once, from the loop. */
void		 conn_kick(struct conn *, int what);
/* Push a layer: c becomes its lower connection. */
struct conn	*conn_layer_new(struct conn *lower, const struct conn_ops *,
		    void *layer);
/* The owner's callback, with what it waits for of what. */
void		 conn_notify(struct conn *, int what);

/* A codec (core/codec.h: the Shadowsocks AEAD framing) as a layer. */
struct conn	*conn_codec_push(struct conn *, struct codec *);
void		 conn_codec_nodelay(struct conn *);

/* copy.c: the relay between two connections (takes both). */
#define RELAY_UNCOUNTED	0x01	/* an inner leg, not a client connection */
int		 relay_conns(struct worker *, struct conn *, struct conn *,
		    int flags);
/* fd: the client's socket; st: its record (both taken) */
int		 relay_fd_conn(struct worker *, int fd, const void *pre,
		    size_t prelen, struct conn *, struct stconn *st);

#endif
