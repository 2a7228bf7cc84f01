/*
 * red://: a transparent TCP proxy behind iptables/nft REDIRECT or DNAT.
 * The connection's original destination comes from conntrack
 * (SO_ORIGINAL_DST, IPv4 and IPv6); it is dialed like any target, so
 * access control, routing rules and chains apply.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/listener.h>

#include "core/dial.h"
#include "core/stats.h"
#include "log.h"
#include "proto/proto.h"
#include "core/conn.h"
#include "core/codec.h"
#include "worker.h"
#include "handler/handler.h"

/*
 * From <linux/netfilter_ipv4.h> and <linux/netfilter_ipv6/ip6_tables.h>,
 * which clash with <net/if.h>.
 */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST		80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST	80
#endif

struct redir {
	struct worker			*wk;
	const struct listener_conf	*l;
	struct dialer			 dl;
};

struct rdconn {
	struct redir	*rd;
	int		 fd;
	struct dial	*dial;
	struct stconn	*st;		/* the client's record */
	char		 host[PROXY_HOST_MAX + 1];
	uint16_t	 port;
};

static void
rdconn_dialed(void *arg, struct conn *up, int err)
{
	struct rdconn *c = arg;
	struct worker *wk = c->rd->wk;

	if (up == NULL) {
		debug("%s: %s:%u: %s", c->rd->l->node->url, c->host, c->port,
		    strerror(err));
		close(c->fd);
		stconn_close(c->st);
		worker_conn_closed(wk);
	} else
		relay_fd_conn(wk, c->fd, NULL, 0, up, c->st);
	free(c);
}

/* Where the client meant to go; -1 if this was no redirected flow. */
static int
original_dst(int fd, struct sockaddr_storage *ss)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local), ol;
	struct sockaddr_in6 *l6 = (struct sockaddr_in6 *)&local;

	if (getsockname(fd, (struct sockaddr *)&local, &len) == -1)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (local.ss_family == AF_INET || (local.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&l6->sin6_addr))) {
		ol = sizeof(struct sockaddr_in);
		return getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, ss, &ol);
	}
	ol = sizeof(struct sockaddr_in6);
	return getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, ss, &ol);
}

static void
redir_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct redir *rd = arg;
	struct sockaddr_storage dst, local;
	socklen_t ll = sizeof(local);
	char lhost[PROXY_HOST_MAX + 1];
	uint16_t lport;
	struct rdconn *c = NULL;
	struct stconn *st;

	(void)lev;
	(void)sa;
	(void)salen;
	rd->wk->stats.accepted++;
	rd->wk->stats.active++;
	st = stconn_new_fd(rd->wk, rd->dl.idx, fd);
	if (original_dst(fd, &dst) == -1 ||
	    getsockname(fd, (struct sockaddr *)&local, &ll) == -1) {
		debug("%s: no original destination: %s", rd->l->node->url,
		    strerror(errno));
		goto drop;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto drop;
	c->rd = rd;
	c->fd = fd;
	c->st = st;
	sockaddr_host(&dst, c->host, sizeof(c->host), &c->port);
	/*
	 * A connection straight to the listener (no NAT: conntrack gives
	 * the address it was sent to) would dial itself, again and again.
	 */
	sockaddr_host(&local, lhost, sizeof(lhost), &lport);
	if (c->port == lport && strcmp(c->host, lhost) == 0) {
		debug("%s: not a redirected connection", rd->l->node->url);
		free(c);
		goto drop;
	}
	debug("%s: to %s:%u", rd->l->node->url, c->host, c->port);
	if ((c->dial = dial_start(&rd->dl, c->host, c->port, 0,
	    rdconn_dialed, c)) == NULL) {
		free(c);
		goto drop;
	}
	dial_set_stats(c->dial, st);
	return;
 drop:
	stconn_close(st);
	close(fd);
	worker_conn_closed(rd->wk);
}

int
redirect_start(struct worker *wk, const struct listener_conf *l, size_t idx,
    int fd)
{
	struct evconnlistener **levp = &wk->listeners[idx];
	struct redir *rd;

	if ((rd = calloc(1, sizeof(*rd))) == NULL)
		return -1;
	rd->wk = wk;
	rd->l = l;
	if (dialer_init(&rd->dl, wk, l, idx) != 0)
		return -1;
	return worker_listen(wk, fd, redir_accept_cb, rd, levp);
}
