/*
 * The server side: one handler per kind of listener.  common/conf.c's
 * scheme table gives each listener its kind; handler_for() gives the
 * kind its handler, and the worker starts it on the listener's socket.
 */
#ifndef OSTP_HANDLER_H
#define OSTP_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct worker;
struct conn;

typedef int (*handler_start_fn)(struct worker *,
	    const struct listener_conf *, size_t idx, int fd);

struct handler {
	const char		*name;
	handler_start_fn	 start;
	int			 remote;	/* the port opens on the far
						   hop: no local socket */
};

const struct handler *handler_for(enum listener_kind);

/* Each takes the monitor's socket fd for listener idx and serves it. */
int	forward_start(struct worker *, const struct listener_conf *,
	    size_t idx, int fd);		/* forward.c */
int	proxy_start(struct worker *, const struct listener_conf *,
	    size_t idx, int fd);		/* proxy.c */
int	ss_start(struct worker *, const struct listener_conf *,
	    size_t idx, int fd);		/* ss.c */
int	redirect_start(struct worker *, const struct listener_conf *,
	    size_t idx, int fd);		/* redirect.c */
int	relay_server_start(struct worker *, const struct listener_conf *,
	    size_t idx, int fd);		/* relay.c */
int	sni_start(struct worker *, const struct listener_conf *,
	    size_t idx, int fd);		/* sni.c */
int	dnsproxy_start(struct worker *, const struct listener_conf *,
	    size_t idx, int fd);		/* dns.c */
int	udp_listener_start(struct worker *, const struct listener_conf *,
	    size_t idx, int fd);		/* udp.c */
int	diag_start(struct worker *, const struct listener_conf *,
	    size_t idx, int fd);		/* diag.c */
int	tun_start(struct worker *, const struct listener_conf *,
	    size_t idx, int fd);		/* tun.c */
int	rforward_start(struct worker *, const struct listener_conf *,
	    size_t idx, int fd);		/* rforward.c: fd is -1 */

/* What handlers share beyond their start. */
void	proxy_http_next(void *px, struct conn *, const unsigned char *p,
	    size_t n);
void	httpfwd_start(struct worker *, void *px, struct conn *client,
	    struct conn *upstream, const unsigned char *pending,
	    size_t npending, uint64_t bodylen, int head_request); /* httpfwd.c */
int	ss_replay_create(void);
struct ostp_usage_shm;
struct ostp_usage_shm *ss_usage_map(int fd);
int	ss_replay_attach(int fd);
int	ss_replay_check(const unsigned char *salt, size_t len);
int	ss_salt_seen(const unsigned char *salt, size_t len);
void	rforward_drain(void);

#endif
