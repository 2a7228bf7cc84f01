/*
 * The unprivileged worker: its state, its requests to the monitor
 * (mm_*, monitor_wrap.c) and its sandbox.  What runs in it has headers
 * of its own: core/ (connections, dialing, relays), handler/ (the
 * server side), connector/ (chain hops), mux/, transport/, proto/.
 */
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
/* A capture's ICMP echo socket (icmp=direct): fd or -1. */
int	mm_dev_socket(struct worker *, int type, uint32_t lis, int family);
void	mm_ftcp_block(struct worker *, int type, uint32_t lis,
	    const unsigned char *peer6, uint16_t port, uint16_t lport);
struct egress;
/* A socket with SO_MARK / SO_BINDTODEVICE set as e says. */
int	mm_socket(struct worker *, int family, int type,
	    const struct egress *e);
int	mm_file_open(struct worker *, const char *path);
struct sockaddr;
int	mm_tproxy_socket(struct worker *, uint32_t lis, const struct sockaddr *);
struct sockaddr_storage;
void	mm_bind_park(struct worker *, uint32_t lis,
	    const struct sockaddr_storage *owner, uint16_t port, int fd);
int	mm_bind_unpark(struct worker *, uint32_t lis,
	    const struct sockaddr_storage *owner, uint16_t port);
void	mm_ostp_steer(struct worker *, int type, uint32_t lis,
	    const struct sockaddr *);
/* OSTP_FWD or OSTP_HANDOFF of a datagram (or a session) from sa. */
void	mm_ostp_dgram(struct worker *, int type, uint32_t lis,
	    const struct sockaddr *, const unsigned char *d, size_t len);
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

#endif
