/* A listener's transport (listen.c). */
#ifndef OSTP_LISTEN_H
#define OSTP_LISTEN_H

#include <stddef.h>

#include <openssl/ssl.h>

struct conn;
struct listener_conf;
struct worker;

struct tp_server {
	struct worker			*wk;
	const struct listener_conf	*l;
	size_t				 idx;
	SSL_CTX				*tls;
};

int		 tp_server_init(struct tp_server *, struct worker *,
		    const struct listener_conf *, size_t idx);
struct conn	*tp_accept(struct tp_server *, int fd);

#endif
