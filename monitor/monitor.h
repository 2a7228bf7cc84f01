/*
 * The privileged monitor: supervises workers and answers their typed
 * requests, each re-checked against the configuration the monitor parsed.
 */
#ifndef OSTP_MONITOR_H
#define OSTP_MONITOR_H

#include <sys/queue.h>

#include "compat.h"
#include <sys/types.h>
#include <time.h>

#include <openssl/types.h>

#include "conf.h"
#include "ipc.h"
#include "steer.h"

struct event_base;
struct event;

/* Worker states; the dispatch table lists the states each request needs. */
#define MW_NEW		0x01	/* forked, no HELLO yet */
#define MW_STARTING	0x02	/* collecting listeners and devices */
#define MW_RUNNING	0x04	/* READY seen */
#define MW_DRAINING	0x08	/* told to finish its connections */
#define MW_ANY_LIVE	(MW_STARTING | MW_RUNNING | MW_DRAINING)

struct mon_steer;

struct mon_listener {
	int			 fd;
	unsigned int		 slot;		/* which worker's (SO_REUSEPORT) */
	struct mon_steer	*steer;		/* an OSTP port's (mon_steer.c) */
	unsigned int		 steer_slot;
	int			 socktype;
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	TAILQ_ENTRY(mon_listener) entry;
};

struct mon_tun {
	int			 fd;
	int			 ifindex;
	struct tun_conf		 conf;		/* routes array owned here */
	unsigned int		 rules;		/* MON_RULE_* added */
	size_t			 nexcl_added;	/* conf.excludes' rules */
	int			*qfds;		/* a capture's queues past
						   the first (fd), -1 unset */
	size_t			 nqfds;
	TAILQ_ENTRY(mon_tun)	 entry;
};

struct mon_gen;

/* An OSTP port's group of sockets, all generations (mon_steer.c). */
struct mon_steer {
	struct steer		 st;
	unsigned int		 refs;		/* its sockets */
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	TAILQ_ENTRY(mon_steer)	 entry;
};

/*
 * A TLS listener's identity (mon_tls.c): the private key lives only
 * here; workers get the certificates and ask for signatures.  Shared
 * (refs) by the listeners and generations that use the same files or
 * the default certificate.
 */
struct mon_tlskey {
	unsigned int		 refs;
	EVP_PKEY		*key;
	int			 type;		/* EVP_PKEY_RSA, EVP_PKEY_EC */
	size_t			 size;		/* RSA: modulus bytes; EC: the
						   largest DER signature */
	unsigned char		*modulus;	/* RSA, big-endian, size bytes */
	char			*chain;		/* PEM: certificates only */
	size_t			 chainlen;
};

/* A file a worker asked to have watched for changes (live reload). */
struct mon_watch {
	char			*path;
	unsigned long		 period_ms;
	struct timespec		 mtime;
	ino_t			 ino;
	off_t			 size;
	struct event		*ev;
	struct mon_gen		*gen;
	TAILQ_ENTRY(mon_watch)	 entry;
};

struct mon_worker {
	TAILQ_ENTRY(mon_worker)	 entry;
	struct mon_gen		*gen;
	unsigned int		 id;
	pid_t			 pid;
	int			 sock;
	struct event		*ev;
	struct event		*respawn_ev;
	int			 state;
	uint32_t		 once;		/* once-only requests done */
	unsigned char		*lis_given;	/* per listener index */
	unsigned char		*tun_given;	/* MON_TUN_GIVEN_* */
	unsigned char		*tls_given;	/* TLS_CERT answered */
	struct timespec		 started;
	unsigned int		 quick_deaths;
	unsigned long		 backoff_ms;
	uint32_t		 seq;
};

struct mon_gen {
	unsigned int		 num;
	struct conf		 conf;
	unsigned int		 nworkers;
	struct mon_listener	**lis;		/* [listener * nworkers + worker] */
	struct mon_tlskey	**tls;		/* [listener]: TLS listeners */
	TAILQ_HEAD(, mon_worker) workers;
	int			 draining;
	struct event		*drain_ev;
	TAILQ_HEAD(, mon_watch)	 watches;
	int			 conf_fd;	/* sealed memfd: the workers'
						   copy of conf, native JSON */
	TAILQ_ENTRY(mon_gen)	 entry;
};

struct monitor {
	struct event_base	*base;
	TAILQ_HEAD(mon_gen_list, mon_gen) gens;
	TAILQ_HEAD(, mon_listener) listeners;
	TAILQ_HEAD(, mon_tun)	 tuns;
	TAILQ_HEAD(, mon_steer)	 steers;
	int			 steer_state;	/* 0 unknown, 1 BPF, -1 none */
	unsigned int		 next_gen;
	int			 ever_ready;
	int			 shutting_down;
	int			 exit_status;
	const char		*pidfile;
	struct conf_args	 args;		/* to re-read on SIGHUP */
	/* worker sandbox parameters */
	uid_t			 uid;
	gid_t			 gid;
	const char		*chroot_dir;
	int			 seccomp_debug;
	const char		*testhook;
	int			 exe_fd;	/* this binary, for workers */
	int			 replay_fd;	/* Shadowsocks replay memory */
	char			*start_dir;	/* cwd at start: cert.pem */
	struct mon_tlskey	*tls_default;	/* made once, when needed */
	const char		*ctl_path;	/* -S; NULL: none */
};

/* monitor.c */
int	monitor_init(struct monitor *, struct conf *, char *err,
	    size_t errlen);
int	monitor_run(struct monitor *);
void	mon_worker_kill(struct monitor *, struct mon_worker *,
	    const char *why);
void	mon_notify(const char *state);
int	mon_watch_add(struct monitor *, struct mon_gen *, const char *path,
	    unsigned long period_ms);

/* What a worker was given of a device, per listener index. */
#define MON_TUN_GIVEN_DEV	0x01
#define MON_TUN_GIVEN_ICMP4	0x02
#define MON_TUN_GIVEN_ICMP6	0x04
#define MON_TUN_GIVEN_RAW4	0x08	/* fake TCP's raw sockets */
#define MON_TUN_GIVEN_RAW6	0x10

/* mon_dispatch.c */
int	mon_dispatch(struct monitor *, struct mon_worker *, struct ipc_msg *);

/* mon_sock.c */
int	mon_listeners_open(struct monitor *, struct mon_gen *, char *err,
	    size_t errlen);
void	mon_listeners_gc(struct monitor *);
int	mon_socket_create(const struct conf *, int family, int type,
	    uint32_t mark, const char *iface, int *fdp);
int	mon_socket_create_proto(const struct conf *, int family, int type,
	    int proto, uint32_t mark, const char *iface, int *fdp);

/* mon_rule.c: a capture's policy rules (auto_route) */
#define MON_RULE_SUPPRESS4	0x01
#define MON_RULE_MARK4		0x02
#define MON_RULE_SUPPRESS6	0x04
#define MON_RULE_MARK6		0x08
int	mon_rules_add(struct mon_tun *);
void	mon_rules_del(struct mon_tun *);

/* mon_ftcp.c: fake TCP's raw sockets and policy rules */
int	mon_ftcp_family_ok(const struct listener_conf *, int family);
int	mon_ftcp_socket(const struct conf *, const struct listener_conf *,
	    int family, int *fdp);
void	mon_ftcp_gc(struct monitor *);
void	mon_ftcp_listener(int fd, const struct listener_conf *);
#define MON_FTCP_FLOW_RULES	512	/* a worker's IPv6 flows' */
struct mon_worker;
int	mm_answer_ftcp_block(struct monitor *, struct mon_worker *,
	    struct ipc_msg *);
void	mon_ftcp_worker_gone(struct mon_worker *);

/* mon_tun.c */
struct nlmsghdr;
struct nlmsghdr *mon_nl_request(char *buf, uint16_t type, uint16_t flags,
	    size_t len, void **hdr);
int	mon_nl_talk(struct nlmsghdr *);
/*
 * The device's descriptor; a capture's device is multi-queue and
 * queue is the worker's (each worker its own queue, its own stack).
 */
int	mon_tun_get(struct monitor *, const struct tun_conf *,
	    unsigned int queue, int *fdp);
void	mon_tun_destroy(struct monitor *, struct mon_tun *);
/* A capture's ICMP echo socket (icmp=direct), with its route's egress. */
int	mon_tun_icmp(const struct conf *, const struct listener_conf *,
	    int family, int *fdp);
void	mon_tuns_gc(struct monitor *);

/* mon_tls.c */
int	mon_tls_load(struct monitor *, struct mon_gen *, char *err,
	    size_t errlen);
void	mon_tls_free(struct mon_gen *);
void	mon_tlskey_unref(struct mon_tlskey *);
struct mon_tlskey *mon_tlskey_load(const char *url, const char *cert,
	    const char *key, char *err, size_t errlen);
int	mon_tls_chain_fd(const struct mon_tlskey *);
int	mon_tls_sign(const struct mon_tlskey *, int op,
	    const unsigned char *in, size_t inlen, unsigned char *out,
	    size_t *outlen, int *status);

/* mon_steer.c */
int	mon_steer_available(struct monitor *);
int	mon_steer_join(struct monitor *, struct mon_listener *, char *err,
	    size_t errlen);
void	mon_steer_leave(struct monitor *, struct mon_listener *);
void	mon_steer_activate(struct monitor *, struct mon_gen *);
/* Sessions handed on at a reload: to their workers once these run. */
void	mon_steer_handoffs(struct monitor *);
int	mm_answer_ostp_handoff(struct monitor *, struct mon_worker *,
	    struct ipc_msg *);
int	mm_answer_ostp_steer(struct monitor *, struct mon_worker *,
	    struct ipc_msg *);
int	mm_answer_ostp_fwd(struct monitor *, struct mon_worker *,
	    struct ipc_msg *);
/* mon_ctl.c: the control socket and /metrics */
int	mon_ctl_start(struct monitor *, const char *path, char *err,
	    size_t errlen);
void	mon_ctl_reloaded(struct monitor *);
void	mon_ctl_stop(void);

/* mon_usage.c: the OSTP keys' counters of stats= files */
void	mon_usage_config(struct monitor *);
void	mon_usage_save(struct monitor *);
int	mon_ctl_report(struct monitor *, struct mon_worker *,
	    struct ipc_msg *);
/* monitor.c: SIGHUP's work; 0 when a new generation started */
int	mon_reload(struct monitor *);

/* mon_caps.c */
int	mon_caps_drop(void);
/* " (ostpd runs without cap_x)" for an EPERM/EACCES, or "" */
const char *mon_cap_hint(int cap, int err);

#endif
