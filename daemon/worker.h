/* The unprivileged worker and its requests to the monitor (mm_*). */
#ifndef OSTP_WORKER_H
#define OSTP_WORKER_H

#include <sys/types.h>
#include <stdint.h>

#include <event2/listener.h>

#include "conf.h"
#include "ipc.h"

struct event_base;

struct sandbox_params {
	uid_t		 uid;
	gid_t		 gid;
	const char	*chroot_dir;
	int		 seccomp_debug;
	int		 ipc_sock;	/* for the debug reporter */
	pid_t		 monitor_pid;
};

struct worker {
	struct event_base	*base;
	const struct conf	*conf;
	int			 sock;
	unsigned int		 id;
	unsigned int		 gen;
	uint32_t		 seq;
	int			 draining;
	int			 in_request;	/* mm_wait depth */
	struct ipc_stats	 stats;
	struct event		*ipc_ev;
	struct evconnlistener	**listeners;
	const char		*testhook;
};

extern struct worker *the_worker;

void	worker_main(const struct conf *, const struct sandbox_params *,
	    int sock, unsigned int id, unsigned int gen, const char *testhook)
	    __attribute__((noreturn));
/* worker_exec.c: the private -W entry point of an executed worker */
void	worker_exec(void) __attribute__((noreturn));
void	worker_conn_closed(struct worker *);
int	worker_listen(struct worker *, int fd, evconnlistener_cb, void *arg,
	    struct evconnlistener **);

/* monitor_wrap.c: synchronous requests; return fd or -1 */
int	mm_hello(struct worker *);
int	mm_listener(struct worker *, uint32_t idx);
int	mm_tun_open(struct worker *, const char *name);
int	mm_socket(struct worker *, int family, int type);
int	mm_file_open(struct worker *, const char *path);
struct sockaddr;
int	mm_tproxy_socket(struct worker *, uint32_t lis, const struct sockaddr *);
struct sockaddr_storage;
void	mm_bind_park(struct worker *, uint32_t lis,
	    const struct sockaddr_storage *owner, uint16_t port, int fd);
int	mm_bind_unpark(struct worker *, uint32_t lis,
	    const struct sockaddr_storage *owner, uint16_t port);
int	mm_file_watch(struct worker *, const char *path,
	    unsigned long period_ms);
int	mm_tls_cert(struct worker *, uint32_t lis);
int	mm_tls_sign(struct worker *, uint32_t lis, int op,
	    const unsigned char *in, size_t inlen, unsigned char *out,
	    size_t outmax, size_t *outlen);
int	mm_ready(struct worker *);
void	mm_handle_command(struct worker *, struct ipc_msg *);

/* sandbox.c */
void	sandbox_enter(const struct sandbox_params *);

/* forward.c */
int	forward_start(struct worker *, const struct listener_conf *,
	    size_t idx, int fd, struct evconnlistener **);

/* diag.c */
int	diag_start(struct worker *, const struct listener_conf *, int fd);

/* httpfwd.c: one kept-alive HTTP exchange */
void	httpfwd_start(struct worker *, void *px, int client, int upstream,
	    const unsigned char *pending, size_t npending, uint64_t bodylen,
	    int head_request);

/* linger.c: an error reply, then a lingering close (takes fd, c) */
void	linger_close(struct worker *, int fd, const void *reply, size_t len);
struct conn;
void	linger_conn(struct worker *, struct conn *, const void *reply,
	    size_t len);

/* proxy.c */
void	proxy_http_next(void *px, int fd, const unsigned char *p, size_t n);
int	proxy_start(struct worker *, const struct listener_conf *, size_t idx,
	    int fd, struct evconnlistener **);

/* chain.c: dial host:port through a chain outbound */
struct chain_dial;
struct conn;
typedef void (*chain_cb)(void *arg, struct conn *, int err);
/*
 * cb runs exactly once, always from the event loop: the connection
 * through every hop (with the layers hops added), or NULL with an
 * errno value.  NULL: not started (cb will not run).
 */
#define CHAIN_UDPTUN	0x01	/* last hop: gost's UDP-over-TCP (socks5) */
#define CHAIN_BIND	0x02	/* last hop: SOCKS5 BIND on host:port */
#define CHAIN_MBIND	0x04	/* last hop: gost's MBIND (smux) */
struct chain_dial *chain_dial_start(struct worker *,
	    const struct outbound_conf *, const char *host, uint16_t port,
	    int flags, chain_cb cb, void *arg);
void	chain_dial_cancel(struct chain_dial *);
int	chain_init(struct worker *);
size_t	chain_hops_for(const struct outbound_conf *, const char *host,
	    uint16_t port);

/* ss.c */
struct ss_method;
int	ss_start(struct worker *, const struct listener_conf *, size_t idx,
	    int fd, struct evconnlistener **);
int	ss_replay_create(void);
int	ss_replay_attach(int fd);
int	ss_replay_check(const unsigned char *salt, size_t len);
int	ss_salt_seen(const unsigned char *salt, size_t len);

/* rforward.c */
int	rforward_start(struct worker *, const struct listener_conf *,
	    size_t idx);
void	rforward_drain(void);

/* redirect.c */
int	redirect_start(struct worker *, const struct listener_conf *,
	    size_t idx, int fd, struct evconnlistener **);

/* relaysrv.c */
int	relay_server_start(struct worker *, const struct listener_conf *,
	    size_t idx, int fd, struct evconnlistener **);

/* sni.c */
int	sni_start(struct worker *, const struct listener_conf *, size_t idx,
	    int fd, struct evconnlistener **);

/* dnsproxy.c */
int	dnsproxy_init(const struct conf *);
int	dnsproxy_start(struct worker *, const struct listener_conf *, int fd,
	    struct evconnlistener **);

/* udp.c */
int	udp_listener_start(struct worker *, const struct listener_conf *,
	    size_t idx, int fd);

/* relay.c */
void	relay_init(const struct conf *);
int	relay_start(struct worker *, int a, int b);
int	relay_half_idle_secs(void);
struct halfidle {
	struct event	*ev;
	time_t		 last;		/* last activity */
};
void	halfidle_touch(struct halfidle *, struct event_base *, int half,
	    event_callback_fn, void *);
int	halfidle_expired(struct halfidle *, struct event_base *);
void	halfidle_clear(struct halfidle *);

/* reload.c */
enum reload_kind {
	RELOAD_BYPASS,
	RELOAD_HOSTS,
	RELOAD_SECRETS,
	RELOAD_RESOLVER,
	RELOAD_PEERS,
};
/* hook (may be NULL) runs after every successful load, the first too. */
int	reload_register(struct worker *, const char *path, enum reload_kind,
	    void **obj, void (*hook)(void *), void *hookctx);
void	reload_file(struct worker *, const char *path, int fd);

/* tun.c */
int	tun_start(struct worker *, const struct listener_conf *, int udpfd,
	    int tunfd);

#endif
