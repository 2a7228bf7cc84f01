/* A listener's transport (listen.c). */
#ifndef OSTP_LISTEN_H
#define OSTP_LISTEN_H

#include <stddef.h>

#include <event2/listener.h>
#include <openssl/ssl.h>

struct conn;
struct listener_conf;
struct tp_conf;
struct worker;

/* The handler's entry: an accepted connection (counted), its owner. */
typedef void (*tp_accept_fn)(void *arg, struct conn *);

struct tp_server {
	struct worker			*wk;
	const struct listener_conf	*l;
	size_t				 idx;
	SSL_CTX				*tls;
	tp_accept_fn			 accept;
	void				*arg;
	int				 sessions;	/* records per
							   stream, not per
							   connection */
};

/* Listen on fd; every connection (every stream) goes to accept. */
int	tp_listen(struct tp_server *, struct worker *,
	    const struct listener_conf *, size_t idx, int fd, tp_accept_fn,
	    void *arg, struct evconnlistener **);
int	tp_has_tls(const struct tp_conf *);
int	tp_is_mux(const struct tp_conf *);

#endif
