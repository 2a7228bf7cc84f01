/*
 * Sockets the worker cannot make itself: listeners (bound while the
 * monitor still may bind low ports) and outgoing sockets carrying the
 * configured SO_MARK / SO_BINDTODEVICE.
 */
#include "config.h"

#include <sys/capability.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "monitor.h"

#define DGRAM_SOCKBUF	(4 * 1024 * 1024)	/* datagram ports' buffers */

#define LISTEN_BACKLOG	1024

static struct mon_listener *
listener_find(struct monitor *mon, int socktype,
    const struct sockaddr_storage *ss, socklen_t len, unsigned int slot)
{
	struct mon_listener *ml;

	TAILQ_FOREACH(ml, &mon->listeners, entry)
		if (ml->steer == NULL &&
		    ml->socktype == socktype && ml->addrlen == len &&
		    ml->slot == slot && memcmp(&ml->addr, ss, len) == 0)
			return ml;
	return NULL;
}

static int
listener_open(const struct listener_conf *l, int reuseport, char *err,
    size_t errlen)
{
	char as[128];
	int fd, on = 1, off = 0;

	sockaddr_ntop((const struct sockaddr *)&l->addr, as, sizeof(as));
	fd = socket(l->addr.ss_family, l->socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "%s: socket: %s", l->node->url,
		    strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/*
	 * Every stream listener may share its port with the sockets of the
	 * other workers (and of the next generation): the kernel spreads
	 * connections over them.
	 */
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
	    sizeof(on)) == -1) {
		snprintf(err, errlen, "%s: SO_REUSEPORT: %s", l->node->url,
		    strerror(errno));
		close(fd);
		return -1;
	}
	/* A wildcard IPv6 listener serves IPv4 too, like gost's ":port". */
	if (l->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	/*
	 * redu://: TPROXY delivers datagrams for any address here, each
	 * with its original destination (needs CAP_NET_ADMIN).
	 */
	if (l->kind == LIS_REDU && (setsockopt(fd, SOL_IP, IP_TRANSPARENT,
	    &on, sizeof(on)) == -1 || setsockopt(fd, SOL_IP,
	    IP_RECVORIGDSTADDR, &on, sizeof(on)) == -1 ||
	    (l->addr.ss_family == AF_INET6 && (setsockopt(fd, SOL_IPV6,
	    IPV6_TRANSPARENT, &on, sizeof(on)) == -1 || setsockopt(fd,
	    SOL_IPV6, IPV6_RECVORIGDSTADDR, &on, sizeof(on)) == -1)))) {
		int e = errno;

		snprintf(err, errlen, "%s: IP_TRANSPARENT: %s%s", l->node->url,
		    strerror(e), mon_cap_hint(CAP_NET_ADMIN, e));
		close(fd);
		return -1;
	}
	/*
	 * A datagram port (OSTP, tun/tap, udp forwarding, Shadowsocks
	 * UDP) takes bursts: a congestion window's worth, a tunnel's
	 * TCP burst.  The default 208 KiB (net.core.rmem_max) overflowed
	 * at a few hundred MB/s and the kernel dropped what the peer then
	 * had to resend; the monitor may set more than rmem_max allows an
	 * unprivileged socket.  Best effort: without CAP_NET_ADMIN the
	 * worker's own request (limited) stands.
	 */
	if (l->socktype == SOCK_DGRAM) {
		int sz = DGRAM_SOCKBUF;

		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz,
		    sizeof(sz));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz,
		    sizeof(sz));
	}
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) == -1) {
		int e = errno;

		snprintf(err, errlen, "%s: bind %s: %s%s", l->node->url, as,
		    strerror(e), mon_cap_hint(CAP_NET_BIND_SERVICE, e));
		close(fd);
		return -1;
	}
	/*
	 * TCP keepalive every 180 s, as gost's listeners: accepted sockets
	 * inherit it, so dead clients go away without a per-connection call.
	 */
	if (l->socktype == SOCK_STREAM) {
		int idle = 180, intvl = 30, cnt = 4;

		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
		/* inherited too: no small-write delays, no call per client */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
		    sizeof(intvl));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	}
	if (l->socktype == SOCK_STREAM && listen(fd, LISTEN_BACKLOG) == -1) {
		snprintf(err, errlen, "%s: listen %s: %s", l->node->url, as,
		    strerror(errno));
		close(fd);
		return -1;
	}
	debug("listening on %s (%s)", as, l->node->url);
	return fd;
}

/*
 * Give every listener of a generation its socket, reusing one that an
 * earlier generation bound to the same address so a reload never drops
 * the port.  On failure nothing new stays open.
 */
int
mon_listeners_open(struct monitor *mon, struct mon_gen *g, char *err,
    size_t errlen)
{
	struct mon_listener *ml;
	size_t i, n = g->conf.nlis ? g->conf.nlis : 1;
	unsigned int k, slots;
	int fd, steered;

	if ((g->lis = calloc(n * g->nworkers, sizeof(*g->lis))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < g->conf.nlis; i++) {
		const struct listener_conf *l = &g->conf.lis[i];

		/*
		 * A stream listener has one socket per worker; a datagram
		 * one (a tun/tap node) belongs to worker 0 alone, since its
		 * peers are learned in one process, and so does a tun/tap
		 * node's over fake TCP (tcp=true).
		 */
		/*
		 * ...except an OSTP port, which every worker serves with
		 * its own socket, new in every generation (mon_steer.c).
		 */
		steered = l->kind == LIS_OSTP && l->socktype == SOCK_DGRAM &&
		    mon_steer_available(mon);
		slots = (l->socktype == SOCK_STREAM &&
		    !LIS_HAS_DEV(l->kind)) || steered ? g->nworkers : 1;
		/* rtcp/rudp listen on the far hop, not here */
		if (l->socktype == 0)
			slots = 0;
		for (k = 0; k < slots; k++) {
			if (steered || (ml = listener_find(mon, l->socktype,
			    &l->addr, l->addrlen, k)) == NULL) {
				if ((fd = listener_open(l,
				    l->socktype == SOCK_STREAM || steered, err,
				    errlen)) == -1)
					goto fail;
				if ((ml = calloc(1, sizeof(*ml))) == NULL) {
					close(fd);
					snprintf(err, errlen, "out of memory");
					goto fail;
				}
				ml->fd = fd;
				ml->slot = k;
				ml->socktype = l->socktype;
				memcpy(&ml->addr, &l->addr, l->addrlen);
				ml->addrlen = l->addrlen;
				TAILQ_INSERT_TAIL(&mon->listeners, ml, entry);
				/* on failure the gc below closes it */
				if (steered && mon_steer_join(mon, ml, err,
				    errlen) != 0)
					goto fail;
			}
			g->lis[i * g->nworkers + k] = ml;
			if (l->socktype == SOCK_STREAM)
				mon_ftcp_listener(ml->fd, l);
		}
		/*
		 * An OSTP port's TCP carriers: each client address to one
		 * worker, so a session's next connection finds it.  Without
		 * the program a move that lands elsewhere costs a new
		 * session, nothing more.
		 */
		if (l->kind == LIS_OSTP && l->socktype == SOCK_STREAM &&
		    g->nworkers > 1 && steer_tcp_attach(g->lis[i *
		    g->nworkers]->fd, g->nworkers) != 0)
			logit("%s: TCP carriers are not steered by address "
			    "(%s): a session's new connection may reach "
			    "another worker", l->node->url, strerror(errno));
	}
	return 0;
 fail:
	free(g->lis);
	g->lis = NULL;
	mon_listeners_gc(mon);
	return -1;
}

/* Close listeners no live generation refers to. */
void
mon_listeners_gc(struct monitor *mon)
{
	struct mon_listener *ml, *tmp;
	struct mon_gen *g;
	size_t i;
	int used;

	TAILQ_FOREACH_SAFE(ml, &mon->listeners, entry, tmp) {
		used = 0;
		TAILQ_FOREACH(g, &mon->gens, entry)
			for (i = 0; g->lis != NULL &&
			    i < g->conf.nlis * g->nworkers; i++)
				if (g->lis[i] == ml)
					used = 1;
		if (used)
			continue;
		TAILQ_REMOVE(&mon->listeners, ml, entry);
		mon_steer_leave(mon, ml);
		close(ml->fd);
		free(ml);
	}
}

int
mon_socket_create(const struct conf *c, int family, int type, uint32_t mark,
    const char *iface, int *fdp)
{
	return mon_socket_create_proto(c, family, type, 0, mark, iface, fdp);
}

int
mon_socket_create_proto(const struct conf *c, int family, int type, int proto,
    uint32_t mark, const char *iface, int *fdp)
{
	int fd, saved;

	(void)c;
	*fdp = -1;
	if ((fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    proto)) == -1)
		return -1;
	if (mark != 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark,
	    sizeof(mark)) == -1) {
		saved = errno;
		error("SO_MARK %u: %s%s", mark, strerror(saved),
		    mon_cap_hint(CAP_NET_ADMIN, saved));
		close(fd);
		errno = saved;
		return -1;
	}
	if (iface != NULL && iface[0] != '\0' && setsockopt(fd, SOL_SOCKET,
	    SO_BINDTODEVICE, iface, (socklen_t)strlen(iface)) == -1) {
		saved = errno;
		error("SO_BINDTODEVICE %s: %s%s", iface, strerror(saved),
		    mon_cap_hint(CAP_NET_RAW, saved));
		close(fd);
		errno = saved;
		return -1;
	}
	*fdp = fd;
	return 0;
}
