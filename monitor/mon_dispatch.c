/*
 * The monitor's request table, after OpenSSH's mon_dispatch: per request
 * type the states it is allowed in, whether it may come only once,
 * whether a descriptor may ride along, and the payload length bounds.
 * A request that fails any rule, or whose handler finds it outside the
 * configuration, costs the worker its life.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "err.h"
#include "ipc.h"
#include "log.h"
#include "monitor.h"

#define MON_ONCE	0x01	/* at most once per worker */
#define MON_FD_OK	0x02	/* a descriptor may be attached */

struct mon_dispatch {
	int		 type;
	int		 states;
	int		 flags;
	size_t		 minlen;
	size_t		 maxlen;
	int		(*handler)(struct monitor *, struct mon_worker *,
			    struct ipc_msg *);
};

static int mm_answer_hello(struct monitor *, struct mon_worker *,
    struct ipc_msg *);
static int mm_answer_log(struct monitor *, struct mon_worker *,
    struct ipc_msg *);
static int mm_answer_listener(struct monitor *, struct mon_worker *,
    struct ipc_msg *);
static int mm_answer_tun_open(struct monitor *, struct mon_worker *,
    struct ipc_msg *);
static int mm_answer_tproxy(struct monitor *, struct mon_worker *,
    struct ipc_msg *);
static int mm_answer_socket(struct monitor *, struct mon_worker *,
    struct ipc_msg *);
static int mm_answer_bind_park(struct monitor *, struct mon_worker *,
    struct ipc_msg *);
static int mm_answer_bind_unpark(struct monitor *, struct mon_worker *,
    struct ipc_msg *);
static int mm_answer_file_open(struct monitor *, struct mon_worker *,
    struct ipc_msg *);
static int mm_answer_file_watch(struct monitor *, struct mon_worker *,
    struct ipc_msg *);
static int mm_answer_tls_cert(struct monitor *, struct mon_worker *,
    struct ipc_msg *);
static int mm_answer_tls_sign(struct monitor *, struct mon_worker *,
    struct ipc_msg *);
static int mm_answer_dev_socket(struct monitor *, struct mon_worker *,
    struct ipc_msg *);
static int mm_answer_ready(struct monitor *, struct mon_worker *,
    struct ipc_msg *);
static int mm_answer_stats(struct monitor *, struct mon_worker *,
    struct ipc_msg *);

static const struct mon_dispatch mon_table[] = {
	{ IPC_HELLO, MW_NEW, MON_ONCE, 8, 8, mm_answer_hello },
	{ IPC_LOG, MW_ANY_LIVE, 0, 3, 3 + IPC_MAX_STRING, mm_answer_log },
	{ IPC_LISTENER, MW_STARTING, 0, 4, 4, mm_answer_listener },
	{ IPC_TUN_OPEN, MW_STARTING | MW_RUNNING, 0, 3, 2 + IPC_MAX_NAME,
	    mm_answer_tun_open },
	{ IPC_SOCKET, MW_ANY_LIVE, 0, 8, 8 + IPC_MAX_NAME, mm_answer_socket },
	{ IPC_ICMP_SOCKET, MW_STARTING | MW_RUNNING, 0, 8, 8,
	    mm_answer_dev_socket },
	{ IPC_RAW_TCP_SOCKET, MW_STARTING | MW_RUNNING, 0, 8, 8,
	    mm_answer_dev_socket },
	{ IPC_FTCP_BLOCK, MW_STARTING | MW_RUNNING | MW_DRAINING, 0, 25, 25,
	    mm_answer_ftcp_block },
	{ IPC_FTCP_UNBLOCK, MW_ANY_LIVE, 0, 25, 25, mm_answer_ftcp_block },
	{ IPC_TPROXY_SOCKET, MW_ANY_LIVE, 0, 23, 23, mm_answer_tproxy },
	{ IPC_BIND_PARK, MW_ANY_LIVE, MON_FD_OK, 23, 23, mm_answer_bind_park },
	{ IPC_BIND_UNPARK, MW_ANY_LIVE, 0, 23, 23, mm_answer_bind_unpark },
	{ IPC_FILE_OPEN, MW_ANY_LIVE, 0, 3, 2 + IPC_MAX_STRING,
	    mm_answer_file_open },
	{ IPC_FILE_WATCH, MW_ANY_LIVE, 0, 7, 6 + IPC_MAX_STRING,
	    mm_answer_file_watch },
	{ IPC_TLS_CERT, MW_STARTING, 0, 4, 4, mm_answer_tls_cert },
	/* handshakes run in the event loop, after READY */
	{ IPC_TLS_SIGN, MW_RUNNING | MW_DRAINING, 0, 6, 5 + IPC_TLS_SIGN_MAX,
	    mm_answer_tls_sign },
	{ IPC_READY, MW_STARTING, MON_ONCE, 0, 0, mm_answer_ready },
	{ IPC_CMD_STATS_ANS, MW_ANY_LIVE, 0, 28, 28, mm_answer_stats },
	{ IPC_OSTP_STEER, MW_RUNNING | MW_DRAINING, 0, 23, 23,
	    mm_answer_ostp_steer },
	{ IPC_OSTP_UNSTEER, MW_RUNNING | MW_DRAINING, 0, 23, 23,
	    mm_answer_ostp_steer },
	{ IPC_OSTP_FWD, MW_RUNNING | MW_DRAINING, 0, 24, 23 + IPC_DGRAM_MAX,
	    mm_answer_ostp_fwd },
	/* only a draining worker has sessions for the next generation */
	{ IPC_OSTP_HANDOFF, MW_DRAINING, 0, 24, 23 + IPC_DGRAM_MAX,
	    mm_answer_ostp_handoff },
	/* counters for ostpctl and /metrics (mon_ctl.c) */
	{ IPC_CMD_REPORT_ANS, MW_RUNNING | MW_DRAINING, 0, 1,
	    IPC_MAX_PAYLOAD, mon_ctl_report },
};

static int
answer(struct mon_worker *w, int type, uint32_t seq, int32_t status, int fd)
{
	struct buf b;
	int r;

	buf_init(&b);
	if ((r = ipc_enc_status(&b, status)) == 0)
		r = ipc_send(w->sock, (uint16_t)type, seq, &b,
		    status == 0 ? fd : -1);
	buf_release(&b);
	if (r != 0)
		error_f("worker %u: %s", w->id, ostp_err(r));
	return r;
}

int
mon_dispatch(struct monitor *mon, struct mon_worker *w, struct ipc_msg *m)
{
	const struct mon_dispatch *d = NULL;
	size_t i;
	int r;

	for (i = 0; i < sizeof(mon_table) / sizeof(mon_table[0]); i++)
		if (mon_table[i].type == m->hdr.type)
			d = &mon_table[i];
	if (d == NULL) {
		error("worker %u: unknown request type %u", w->id,
		    m->hdr.type);
		return -1;
	}
	if ((d->states & w->state) == 0) {
		error("worker %u: request %s not permitted in this state",
		    w->id, ipc_type_name(d->type));
		return -1;
	}
	if ((d->flags & MON_ONCE) && d->type < 32 &&
	    (w->once & (1U << d->type))) {
		error("worker %u: request %s repeated", w->id,
		    ipc_type_name(d->type));
		return -1;
	}
	if (m->fd != -1 && !(d->flags & MON_FD_OK)) {
		error("worker %u: request %s carries a descriptor", w->id,
		    ipc_type_name(d->type));
		return -1;
	}
	if (m->hdr.len < d->minlen || m->hdr.len > d->maxlen) {
		error("worker %u: request %s has bad length %u", w->id,
		    ipc_type_name(d->type), m->hdr.len);
		return -1;
	}
	if ((r = d->handler(mon, w, m)) != 0)
		return -1;
	if (d->flags & MON_ONCE)
		w->once |= 1U << d->type;
	return 0;
}

static int
mm_answer_hello(struct monitor *mon, struct mon_worker *w, struct ipc_msg *m)
{
	uint32_t id, gen;

	(void)mon;
	if (ipc_dec_hello(&m->payload, &id, &gen) != 0 || id != w->id ||
	    gen != w->gen->num) {
		error("worker %u: bad HELLO", w->id);
		return -1;
	}
	w->state = MW_STARTING;
	return answer(w, IPC_HELLO_ANS, m->hdr.seq, 0, -1);
}

static int
mm_answer_log(struct monitor *mon, struct mon_worker *w, struct ipc_msg *m)
{
	char *line;
	int level;

	(void)mon;
	if (ipc_dec_log(&m->payload, &level, &line) != 0) {
		error("worker %u: malformed LOG", w->id);
		return -1;
	}
	/* A worker may not speak at the monitor's fatal level. */
	if (level == LOG_LEVEL_FATAL)
		level = LOG_LEVEL_ERROR;
	log_emit(level, line);
	free(line);
	return 0;
}

static int
mm_answer_listener(struct monitor *mon, struct mon_worker *w,
    struct ipc_msg *m)
{
	uint32_t idx;
	struct mon_gen *g = w->gen;

	(void)mon;
	if (ipc_dec_u32(&m->payload, &idx) != 0) {
		error("worker %u: malformed LISTENER", w->id);
		return -1;
	}
	/* an OSTP port without steering is worker 0's: not an error */
	if (idx < g->conf.nlis && w->id < g->nworkers &&
	    g->lis[idx * g->nworkers + w->id] == NULL &&
	    g->conf.lis[idx].kind == LIS_OSTP &&
	    g->conf.lis[idx].socktype == SOCK_DGRAM)
		return answer(w, IPC_LISTENER_ANS, m->hdr.seq, ENOENT, -1);
	if (idx >= g->conf.nlis || w->id >= g->nworkers ||
	    g->lis[idx * g->nworkers + w->id] == NULL) {
		error("worker %u: asked for listener %u, which is not in the "
		    "configuration for it", w->id, idx);
		return -1;
	}
	if (w->lis_given[idx]) {
		error("worker %u: asked for listener %u twice", w->id, idx);
		return -1;
	}
	w->lis_given[idx] = 1;
	return answer(w, IPC_LISTENER_ANS, m->hdr.seq, 0,
	    g->lis[idx * g->nworkers + w->id]->fd);
}

static int
mm_answer_tun_open(struct monitor *mon, struct mon_worker *w,
    struct ipc_msg *m)
{
	const struct listener_conf *l;
	struct mon_gen *g = w->gen;
	char *name;
	size_t idx;
	int fd = -1, r;

	if (ipc_dec_name(&m->payload, &name, IPC_MAX_NAME) != 0) {
		error("worker %u: malformed TUN_OPEN", w->id);
		return -1;
	}
	if ((l = conf_tun_by_name(&g->conf, name)) == NULL) {
		error("worker %u: asked for device \"%s\", which is not in "
		    "the configuration", w->id, name);
		free(name);
		return -1;
	}
	free(name);
	idx = (size_t)(l - g->conf.lis);
	/*
	 * devices belong to worker 0, like their datagram sockets; a
	 * capture's has a queue for each worker
	 */
	if (w->id != 0 && !l->tun.capture) {
		error("worker %u: asked for device %s, which is worker 0's",
		    w->id, l->tun.name);
		return -1;
	}
	if (w->tun_given[idx] & MON_TUN_GIVEN_DEV) {
		error("worker %u: asked for device %s twice", w->id,
		    l->tun.name);
		return -1;
	}
	w->tun_given[idx] |= MON_TUN_GIVEN_DEV;
	r = mon_tun_get(mon, &l->tun, w->id, &fd);
	return answer(w, IPC_TUN_OPEN_ANS, m->hdr.seq, r == 0 ? 0 :
	    (errno ? errno : EIO), fd);
}

/*
 * A socket that goes with a device the worker holds, once per family:
 * an ICMP echo socket for a capture that forwards pings (icmp=direct),
 * a raw TCP socket for a tun/tap listener over fake TCP (tcp=true) of
 * a family the listener speaks (its peer's; a server's address's).
 */
struct dev_socket {
	int		 type;
	unsigned char	 bit4, bit6;	/* MON_TUN_GIVEN_* */
	int		(*allowed)(const struct listener_conf *, int family);
	int		(*open)(const struct conf *,
			    const struct listener_conf *, int family, int *fdp);
};

static int
icmp_allowed(const struct listener_conf *l, int family)
{
	(void)family;
	return l->kind == LIS_CAPTURE && l->tun.icmp == CONF_ICMP_DIRECT;
}

static int
raw_tcp_allowed(const struct listener_conf *l, int family)
{
	return (l->kind == LIS_TUN || l->kind == LIS_TAP) && l->tun.tcp &&
	    mon_ftcp_family_ok(l, family);
}

static const struct dev_socket dev_sockets[] = {
	{ IPC_ICMP_SOCKET, MON_TUN_GIVEN_ICMP4, MON_TUN_GIVEN_ICMP6,
	    icmp_allowed, mon_tun_icmp },
	{ IPC_RAW_TCP_SOCKET, MON_TUN_GIVEN_RAW4, MON_TUN_GIVEN_RAW6,
	    raw_tcp_allowed, mon_ftcp_socket },
};

static int
mm_answer_dev_socket(struct monitor *mon, struct mon_worker *w,
    struct ipc_msg *m)
{
	const struct conf *c = &w->gen->conf;
	const struct dev_socket *ds = NULL;
	const struct listener_conf *l;
	const char *name = ipc_type_name(m->hdr.type);
	uint32_t idx, family;
	unsigned char bit;
	size_t i;
	int fd = -1, r;

	(void)mon;
	for (i = 0; i < sizeof(dev_sockets) / sizeof(dev_sockets[0]); i++)
		if (dev_sockets[i].type == m->hdr.type)
			ds = &dev_sockets[i];
	if (ds == NULL || buf_get_u32(&m->payload, &idx) != 0 ||
	    ipc_dec_u32(&m->payload, &family) != 0) {
		error("worker %u: malformed %s", w->id, name);
		return -1;
	}
	bit = family == AF_INET ? ds->bit4 : ds->bit6;
	if (idx >= c->nlis || (family != AF_INET && family != AF_INET6) ||
	    !ds->allowed(l = &c->lis[idx], (int)family) ||
	    !(w->tun_given[idx] & MON_TUN_GIVEN_DEV) ||
	    (w->tun_given[idx] & bit)) {
		error("worker %u: %s request (listener %u, family %u) is "
		    "outside the configuration", w->id, name, idx, family);
		return -1;
	}
	w->tun_given[idx] |= bit;
	r = ds->open(c, l, (int)family, &fd);
	r = answer(w, ds->type + 1, m->hdr.seq, r == 0 ? 0 :
	    (errno ? errno : EIO), fd);
	if (fd != -1)
		close(fd);
	return r;
}

/*
 * A SOCKS5 BIND port between two BINDs (gost's rtcp asks again as soon
 * as a peer arrives).  The worker that served the last BIND hands the
 * listening socket here, and whichever worker the next BIND reaches
 * takes it back, so peers that connected meanwhile wait in its backlog
 * and no worker has to own the port.  Unclaimed for MON_PARK_SECS, the
 * port closes.
 */
#define MON_PARK_SECS	10
#define MON_PARK_MAX	256

struct mon_parked {
	TAILQ_ENTRY(mon_parked)	 entry;
	int			 fd;
	uint32_t		 lis;
	int			 family;
	unsigned char		 owner[16];
	uint16_t		 port;
	struct event		*tmo;
};

static TAILQ_HEAD(, mon_parked) mon_parked = TAILQ_HEAD_INITIALIZER(mon_parked);
static size_t mon_nparked;

static void
parked_free(struct mon_parked *pk, int keepfd)
{
	TAILQ_REMOVE(&mon_parked, pk, entry);
	mon_nparked--;
	event_free(pk->tmo);
	if (!keepfd)
		close(pk->fd);
	free(pk);
}

static void
parked_tmo_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	parked_free(arg, 0);
}

/* The request's fields, checked against the worker's configuration. */
static int
park_decode(struct mon_worker *w, struct ipc_msg *m, uint32_t *lis,
    int *family, unsigned char owner[16], uint16_t *port)
{
	const struct conf *c = &w->gen->conf;

	if (ipc_dec_tproxy(&m->payload, lis, family, owner, port) != 0) {
		error("worker %u: malformed %s", w->id,
		    ipc_type_name(m->hdr.type));
		return -1;
	}
	if (*lis >= c->nlis || c->lis[*lis].socktype != SOCK_STREAM ||
	    (*family != AF_INET && *family != AF_INET6) || *port == 0) {
		error("worker %u: %s for listener %u is outside the "
		    "configuration", w->id, ipc_type_name(m->hdr.type), *lis);
		return -1;
	}
	return 0;
}

static int
mm_answer_bind_park(struct monitor *mon, struct mon_worker *w,
    struct ipc_msg *m)
{
	struct timeval tv = { MON_PARK_SECS, 0 };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct mon_parked *pk;
	int on = 0, type = 0;
	socklen_t olen = sizeof(on), tlen = sizeof(type);
	uint32_t lis;
	int family;
	unsigned char owner[16];
	uint16_t port, bound;

	if (park_decode(w, m, &lis, &family, owner, &port) != 0)
		return -1;
	/* only what a BIND leaves: a listening TCP socket on that port */
	if (m->fd == -1 ||
	    getsockopt(m->fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &olen) == -1 ||
	    getsockopt(m->fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == -1 ||
	    on != 1 || type != SOCK_STREAM ||
	    getsockname(m->fd, (struct sockaddr *)&ss, &len) == -1 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
		error("worker %u: BIND_PARK without a listening socket", w->id);
		return -1;
	}
	bound = sockaddr_port(&ss);
	if (bound != port) {
		error("worker %u: BIND_PARK names port %u, socket has %u",
		    w->id, port, bound);
		return -1;
	}
	if (mon_nparked >= MON_PARK_MAX ||
	    (pk = calloc(1, sizeof(*pk))) == NULL) {
		debug("worker %u: too many parked BIND ports; port %u closed",
		    w->id, port);
		/* the descriptor closes with the message */
		return answer(w, IPC_BIND_PARK_ANS, m->hdr.seq, 0, -1);
	}
	if ((pk->tmo = evtimer_new(mon->base, parked_tmo_cb, pk)) == NULL) {
		free(pk);
		return answer(w, IPC_BIND_PARK_ANS, m->hdr.seq, 0, -1);
	}
	pk->fd = m->fd;
	m->fd = -1;
	pk->lis = lis;
	pk->family = family;
	memcpy(pk->owner, owner, sizeof(pk->owner));
	pk->port = port;
	TAILQ_INSERT_TAIL(&mon_parked, pk, entry);
	mon_nparked++;
	evtimer_add(pk->tmo, &tv);
	return answer(w, IPC_BIND_PARK_ANS, m->hdr.seq, 0, -1);
}

static int
mm_answer_bind_unpark(struct monitor *mon, struct mon_worker *w,
    struct ipc_msg *m)
{
	struct mon_parked *pk;
	uint32_t lis;
	int family, fd, r;
	unsigned char owner[16];
	uint16_t port;

	(void)mon;
	if (park_decode(w, m, &lis, &family, owner, &port) != 0)
		return -1;
	TAILQ_FOREACH(pk, &mon_parked, entry)
		if (pk->lis == lis && pk->port == port &&
		    pk->family == family &&
		    memcmp(pk->owner, owner, family == AF_INET ? 4 : 16) == 0)
			break;
	if (pk == NULL)
		return answer(w, IPC_BIND_UNPARK_ANS, m->hdr.seq, ENOENT, -1);
	fd = pk->fd;
	parked_free(pk, 1);
	r = answer(w, IPC_BIND_UNPARK_ANS, m->hdr.seq, 0, fd);
	close(fd);
	return r;
}

static int
mm_answer_socket(struct monitor *mon, struct mon_worker *w, struct ipc_msg *m)
{
	const struct conf *c = &w->gen->conf;
	struct egress e;
	int family, type, fd = -1, r;
	uint32_t mark;
	char *iface;

	(void)mon;
	if (ipc_dec_socket(&m->payload, &family, &type, &mark, &iface) != 0) {
		error("worker %u: malformed SOCKET", w->id);
		return -1;
	}
	memset(&e, 0, sizeof(e));
	e.mark = mark;
	if (strlen(iface) < sizeof(e.iface))
		memcpy(e.iface, iface, strlen(iface) + 1);
	/*
	 * Only a mark and interface that the configuration gives a route
	 * (or all of them): a worker must not be able to pick another
	 * routing table or leave through another link.
	 */
	if ((family != AF_INET && family != AF_INET6) ||
	    (type != SOCK_STREAM && type != SOCK_DGRAM) ||
	    strcmp(iface, e.iface) != 0 || !conf_egress_allowed(c, &e)) {
		error("worker %u: SOCKET request (family %d, type %d, mark %u, "
		    "interface \"%s\") is outside the configuration", w->id,
		    family, type, mark, iface);
		free(iface);
		return -1;
	}
	free(iface);
	r = mon_socket_create(c, family, type, e.mark, e.iface, &fd);
	r = answer(w, IPC_SOCKET_ANS, m->hdr.seq, r == 0 ? 0 : errno, fd);
	if (fd != -1)
		close(fd);
	return r;
}

/*
 * redu://: a UDP socket bound, transparently, to the original
 * destination of a datagram, to answer from it.  Only for a configured
 * redu listener; the address is whatever the client sent to, which is
 * what TPROXY is for.
 */
static int
mm_answer_tproxy(struct monitor *mon, struct mon_worker *w, struct ipc_msg *m)
{
	const struct conf *c = &w->gen->conf;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	unsigned char addr[16];
	struct egress e;
	uint32_t lis;
	uint16_t port;
	int family, fd = -1, r, on = 1, err = 0;

	(void)mon;
	if (ipc_dec_tproxy(&m->payload, &lis, &family, addr, &port) != 0) {
		error("worker %u: malformed TPROXY_SOCKET", w->id);
		return -1;
	}
	if (lis >= c->nlis || c->lis[lis].kind != LIS_REDU ||
	    (family != AF_INET && family != AF_INET6) || port == 0) {
		error("worker %u: TPROXY_SOCKET for listener %u is outside the "
		    "configuration", w->id, lis);
		return -1;
	}
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
		sin->sin_port = htons(port);
	} else {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, 16);
		sin6->sin6_port = htons(port);
	}
	conf_egress(c, &c->lis[lis], &e);	/* the route's */
	if (mon_socket_create(c, family, SOCK_DGRAM, e.mark, e.iface,
	    &fd) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (family == AF_INET ? setsockopt(fd, SOL_IP, IP_TRANSPARENT, &on,
	    sizeof(on)) : setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &on,
	    sizeof(on))) == -1 ||
	    bind(fd, (struct sockaddr *)&ss, family == AF_INET ?
	    sizeof(*sin) : sizeof(*sin6)) == -1) {
		err = errno;
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	r = answer(w, IPC_TPROXY_SOCKET_ANS, m->hdr.seq, err, fd);
	if (fd != -1)
		close(fd);
	return r;
}

static int
mm_answer_file_open(struct monitor *mon, struct mon_worker *w,
    struct ipc_msg *m)
{
	struct stat st;
	char *path;
	int fd, err = 0, r;

	(void)mon;
	if (ipc_dec_name(&m->payload, &path, IPC_MAX_STRING) != 0) {
		error("worker %u: malformed FILE_OPEN", w->id);
		return -1;
	}
	if (!conf_file_allowed(&w->gen->conf, path)) {
		error("worker %u: asked for file \"%s\", which the "
		    "configuration does not name", w->id, path);
		free(path);
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1)
		err = errno;
	else if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		err = EINVAL;
		close(fd);
		fd = -1;
	}
	if (err != 0)
		logit("file %s: %s", path, strerror(err));
	free(path);
	r = answer(w, IPC_FILE_OPEN_ANS, m->hdr.seq, err, fd);
	if (fd != -1)
		close(fd);
	return r;
}

/*
 * Watch a configured file: the monitor stats it every period and hands
 * the workers a fresh descriptor when it changed.  gost's minimum period
 * is one second.
 */
static int
mm_answer_file_watch(struct monitor *mon, struct mon_worker *w,
    struct ipc_msg *m)
{
	uint32_t period;
	char *path;
	int r;

	if (ipc_dec_watch(&m->payload, &period, &path) != 0) {
		error("worker %u: malformed FILE_WATCH", w->id);
		return -1;
	}
	if (!conf_file_allowed(&w->gen->conf, path)) {
		error("worker %u: asked to watch \"%s\", which the "
		    "configuration does not name", w->id, path);
		free(path);
		return -1;
	}
	if (period < 1000)
		period = 1000;
	r = mon_watch_add(mon, w->gen, path, period);
	free(path);
	return answer(w, IPC_FILE_WATCH_ANS, m->hdr.seq, r == 0 ? 0 : ENOMEM,
	    -1);
}

/* A TLS listener of the worker's generation, or NULL (logged). */
static const struct mon_tlskey *
tls_listener(struct mon_worker *w, uint32_t idx, const char *what)
{
	struct mon_gen *g = w->gen;

	if (idx >= g->conf.nlis || !conf_tp_tls(&g->conf.lis[idx].tp) ||
	    g->tls == NULL || g->tls[idx] == NULL) {
		error("worker %u: %s for listener %u, which is not a TLS "
		    "listener of its configuration", w->id, what, idx);
		return NULL;
	}
	return g->tls[idx];
}

/* A TLS listener's certificate chain, in a sealed memfd. */
static int
mm_answer_tls_cert(struct monitor *mon, struct mon_worker *w,
    struct ipc_msg *m)
{
	const struct mon_tlskey *k;
	uint32_t idx;
	int fd, r;

	(void)mon;
	if (ipc_dec_u32(&m->payload, &idx) != 0) {
		error("worker %u: malformed TLS_CERT", w->id);
		return -1;
	}
	if ((k = tls_listener(w, idx, "TLS_CERT")) == NULL)
		return -1;
	if (w->tls_given[idx]) {
		error("worker %u: asked for the certificate of listener %u "
		    "twice", w->id, idx);
		return -1;
	}
	w->tls_given[idx] = 1;
	if ((fd = mon_tls_chain_fd(k)) == -1)
		return answer(w, IPC_TLS_CERT_ANS, m->hdr.seq, errno, -1);
	r = answer(w, IPC_TLS_CERT_ANS, m->hdr.seq, 0, fd);
	close(fd);
	return r;
}

/*
 * A signature with a TLS listener's key, for a worker that took that
 * listener's certificate.  The operation must fit the key exactly
 * (mon_tls_sign); anything else is not a request our worker makes.
 */
static int
mm_answer_tls_sign(struct monitor *mon, struct mon_worker *w,
    struct ipc_msg *m)
{
	const struct mon_tlskey *k;
	const unsigned char *in;
	unsigned char sig[IPC_TLS_SIGN_MAX];
	size_t inlen, siglen = 0;
	uint32_t idx;
	int op, status, r;
	struct buf b;

	(void)mon;
	if (ipc_dec_tls_sign(&m->payload, &idx, &op, &in, &inlen) != 0) {
		error("worker %u: malformed TLS_SIGN", w->id);
		return -1;
	}
	if ((k = tls_listener(w, idx, "TLS_SIGN")) == NULL)
		return -1;
	if (!w->tls_given[idx]) {
		error("worker %u: TLS_SIGN for listener %u before its "
		    "certificate", w->id, idx);
		return -1;
	}
	if (mon_tls_sign(k, op, in, inlen, sig, &siglen, &status) != 0) {
		error("worker %u: TLS_SIGN for listener %u: operation %d "
		    "with %zu bytes does not fit its key", w->id, idx, op,
		    inlen);
		return -1;
	}
	buf_init(&b);
	if ((r = ipc_enc_tls_sig(&b, status, sig, status == 0 ? siglen :
	    0)) == 0)
		r = ipc_send(w->sock, IPC_TLS_SIGN_ANS, m->hdr.seq, &b, -1);
	buf_release(&b);
	explicit_bzero(sig, sizeof(sig));
	if (r != 0)
		error_f("worker %u: %s", w->id, ostp_err(r));
	return r;
}

static int
mm_answer_ready(struct monitor *mon, struct mon_worker *w, struct ipc_msg *m)
{
	(void)m;
	w->state = MW_RUNNING;
	debug("worker %u (pid %ld, generation %u) ready", w->id, (long)w->pid,
	    w->gen->num);
	mon_steer_handoffs(mon);
	if (!mon->ever_ready) {
		mon->ever_ready = 1;
		mon_notify("READY=1");
	}
	return 0;
}

static int
mm_answer_stats(struct monitor *mon, struct mon_worker *w, struct ipc_msg *m)
{
	struct ipc_stats s;

	(void)mon;
	if (ipc_dec_stats(&m->payload, &s) != 0) {
		error("worker %u: malformed STATS", w->id);
		return -1;
	}
	logit("worker %u (pid %ld, generation %u): %u active connections, "
	    "%llu accepted, %llu bytes in, %llu bytes out", w->id,
	    (long)w->pid, w->gen->num, s.active,
	    (unsigned long long)s.accepted, (unsigned long long)s.bytes_in,
	    (unsigned long long)s.bytes_out);
	return 0;
}
