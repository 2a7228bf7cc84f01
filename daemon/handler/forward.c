/*
 * tcp://[host]:port/target[,target...]: accept, connect to a target
 * (round robin; the next one on failure), then relay.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include <arpa/inet.h>
#include <stdio.h>

#include "cfgfile.h"
#include "log.h"
#include "match.h"
#include "core/conn.h"
#include "core/stats.h"
#include "ctlproto.h"
#include "core/dial.h"
#include "core/happy.h"
#include "core/resolve.h"
#include "core/listen.h"
#include "worker.h"
#include "core/chain.h"
#include "core/dial.h"
#include "core/reload.h"
#include "handler/handler.h"

struct forward {
	struct worker			*wk;
	const struct listener_conf	*l;
	size_t				 next;	/* round-robin position */
	struct dialer			 dl;	/* hosts, bypass, dns= */
	struct tp_server		 tp;		/* the listener's */
};

struct fwd_conn {
	struct forward	*fw;
	struct conn	*client;
	int		 out;
	size_t		 start;		/* first target tried */
	size_t		 tried;
	size_t		 target;
	struct event	*ev;
	struct chain_dial *cd;
	struct happy	*hc;		/* a target's name, direct */
	struct conn	*up;		/* through the chain */
};

static void fwd_try(struct fwd_conn *);
static void fwd_connected(struct fwd_conn *);

static void
fwd_conn_fail(struct fwd_conn *c)
{
	chain_dial_cancel(c->cd);
	happy_cancel(c->hc);
	conn_free(c->up);
	if (c->ev != NULL)
		event_free(c->ev);
	if (c->out != -1)
		close(c->out);
	stats_dial_done(c->fw->wk, c->fw->dl.idx, CTL_NONE, CTL_NONE,
	    EHOSTUNREACH, 0, conn_stats(c->client));
	conn_free(c->client);
	worker_conn_closed(c->fw->wk);
	free(c);
}

static void
connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fwd_conn *c = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	if (what & EV_TIMEOUT)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	event_free(c->ev);
	c->ev = NULL;
	if (err != 0) {
		debug("%s: target %zu: %s", c->fw->l->node->url, c->target,
		    strerror(err));
		close(c->out);
		c->out = -1;
		fwd_try(c);
		return;
	}
	fwd_connected(c);
}

static void
fwd_happy_cb(void *arg, int fd, const struct sockaddr *sa, socklen_t salen,
    int err)
{
	struct fwd_conn *c = arg;

	(void)sa;
	(void)salen;
	c->hc = NULL;
	if (fd == -1) {
		debug("%s: target %zu (%s): %s", c->fw->l->node->url,
		    c->target, c->fw->l->targetnames[c->target],
		    resolve_strerror(err));
		fwd_try(c);
		return;
	}
	c->out = fd;
	fwd_connected(c);
}

/* The target reached, for ostpctl and the access log (core/stats.h). */
static void
fwd_count(struct fwd_conn *c)
{
	const struct listener_conf *l = c->fw->l;
	struct stconn *st = conn_stats(c->client);
	struct sockaddr_storage ss;
	char host[64];
	uint16_t port = 0;

	if (st == NULL)
		return;
	memcpy(&ss, &l->targets[c->target], sizeof(ss));
	sockaddr_host(&ss, host, sizeof(host), &port);
	stconn_target(st, l->targetnames[c->target] != NULL ?
	    l->targetnames[c->target] : host, port);
	stats_dial_done(c->fw->wk, c->fw->dl.idx, CTL_NONE, CTL_NONE, 0, 0,
	    st);
}

static void
fwd_connected(struct fwd_conn *c)
{
	int one = 1;

	setsockopt(c->up != NULL ? c->up->fd : c->out, IPPROTO_TCP,
	    TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->client->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->up == NULL && (c->up = conn_socket(c->fw->wk, c->out)) == NULL) {
		conn_free(c->client);
		worker_conn_closed(c->fw->wk);
		free(c);
		return;
	}
	c->out = -1;
	fwd_count(c);
	/* bare sockets both (a tcp listener, a direct dial): spliced */
	relay_conns(c->fw->wk, c->client, c->up, 0);
	free(c);
}

/*
 * Target t after the access checks: its address (a name comes from the
 * hosts file) and the outbound the routing rules pick.  -1 = refused.
 */
static int
fwd_target(struct forward *fw, size_t t, struct sockaddr_storage *ss,
    socklen_t *len, char *host, size_t hostlen, size_t *obp)
{
	const struct listener_conf *l = fw->l;
	const struct hosts_entry *he;
	const char *name = l->targetnames[t];
	char hp[300];
	uint16_t port;
	size_t ob;

	memcpy(ss, &l->targets[t], sizeof(*ss));
	*len = l->targetlens[t];
	port = ntohs(((struct sockaddr_in *)ss)->sin_port);
	if (name != NULL) {
		snprintf(host, hostlen, "%s", name);
		if ((he = hosts_lookup(fw->dl.hosts, name)) == NULL) {
			*len = 0;	/* a chain may still resolve it */
		} else if (he->family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)ss;

			memset(ss, 0, sizeof(*ss));
			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, he->addr, 4);
			sin->sin_port = htons(port);
			*len = sizeof(*sin);
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

			memset(ss, 0, sizeof(*ss));
			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, he->addr, 16);
			sin6->sin6_port = htons(port);
			*len = sizeof(*sin6);
		}
	} else
		inet_ntop(ss->ss_family, ss->ss_family == AF_INET ?
		    (void *)&((struct sockaddr_in *)ss)->sin_addr :
		    (void *)&((struct sockaddr_in6 *)ss)->sin6_addr, host,
		    (socklen_t)hostlen);
	snprintf(hp, sizeof(hp), strchr(host, ':') ? "[%s]:%u" : "%s:%u",
	    host, port);
	if ((l->bypass != NULL && bypass_match(l->bypass, hp)) ||
	    (fw->dl.bypass_file != NULL && bypass_match(fw->dl.bypass_file, hp))) {
		debug("%s: %s bypassed", l->node->url, hp);
		return -1;
	}
	if (!access_allowed(l->whitelist, l->blacklist, "tcp", host, port)) {
		debug("%s: %s not permitted", l->node->url, hp);
		return -1;
	}
	ob = router_pick(fw->wk->conf, (size_t)(l - fw->wk->conf->lis),
	    *len ? (const struct sockaddr *)ss : NULL, name, port);
	if (fw->wk->conf->obs[ob].type == OB_BLOCK) {
		debug("%s: %s blocked by a routing rule", l->node->url, hp);
		return -1;
	}
	*obp = ob;
	return 0;
}

static void
fwd_chain_done(void *arg, struct conn *up, int err)
{
	struct fwd_conn *c = arg;

	c->cd = NULL;
	c->up = up;
	if (up == NULL) {
		debug("%s: target %zu through the chain: %s",
		    c->fw->l->node->url, c->target, strerror(err));
		fwd_try(c);
		return;
	}
	fwd_connected(c);
}

static void
fwd_try(struct fwd_conn *c)
{
	struct forward *fw = c->fw;
	const struct listener_conf *l = fw->l;
	const struct outbound_conf *ob;
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct timeval tv;
	char host[256];
	size_t obi;

	for (; c->tried < l->ntargets; c->tried++) {
		c->target = (c->start + c->tried) % l->ntargets;
		if (fwd_target(fw, c->target, &ss, &sslen, host, sizeof(host),
		    &obi) != 0)
			continue;
		ob = &fw->wk->conf->obs[obi];
		if (ob->type == OB_CHAIN && chain_hops_for(ob, host,
		    ntohs(((struct sockaddr_in *)&l->targets[
		    c->target])->sin_port)) > 0) {
			c->tried++;
			if ((c->cd = chain_dial_start(fw->wk, ob, &fw->dl, host,
			    ntohs(((struct sockaddr_in *)&l->targets[
			    c->target])->sin_port), 0, fwd_chain_done, c)) != NULL)
				return;
			continue;
		}
		if (sslen == 0) {
			/* a name: resolved now, connected by RFC 8305 */
			struct happy_opts ho;

			memset(&ho, 0, sizeof(ho));
			ho.timeout_ms = l->timeout_ms;
			ho.prefer = fw->dl.prefer;
			ho.egress = &fw->dl.egress;
			c->tried++;
			ho.hosts = fw->dl.hosts;
			stats_dns_for(fw->dl.idx);
			c->hc = happy_connect(fw->wk, fw->dl.res, host,
			    ntohs(((struct sockaddr_in *)&l->targets[
			    c->target])->sin_port), &ho, fwd_happy_cb, c);
			stats_dns_for(STATS_LIS_NONE);
			if (c->hc != NULL)
				return;
			continue;
		}
		c->out = dial_socket(fw->wk, l, ss.ss_family, SOCK_STREAM);
		if (c->out == -1) {
			error("%s: socket: %s", l->node->url, strerror(errno));
			continue;
		}
		if (connect(c->out, (struct sockaddr *)&ss, sslen) == 0 ||
		    errno == EINPROGRESS) {
			c->tried++;
			c->ev = event_new(fw->wk->base, c->out, EV_WRITE,
			    connect_cb, c);
			tv.tv_sec = (time_t)(l->timeout_ms / 1000);
			tv.tv_usec = (suseconds_t)(l->timeout_ms % 1000) * 1000;
			event_add(c->ev, l->timeout_ms ? &tv : NULL);
			return;
		}
		debug("%s: target %zu: %s", l->node->url, c->target,
		    strerror(errno));
		close(c->out);
		c->out = -1;
	}
	debug("%s: no target reachable", l->node->url);
	fwd_conn_fail(c);
}

static void
fwd_accept(void *arg, struct conn *client)
{
	struct forward *fw = arg;
	struct fwd_conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		conn_free(client);
		worker_conn_closed(fw->wk);
		return;
	}
	c->fw = fw;
	c->client = client;
	(void)stconn_open(fw->wk, fw->dl.idx, client);
	c->out = -1;
	c->start = fw->next++;
	fwd_try(c);
}

int
forward_start(struct worker *wk, const struct listener_conf *l, size_t idx,
    int fd)
{
	struct evconnlistener **levp = &wk->listeners[idx];
	struct forward *fw;

	if ((fw = calloc(1, sizeof(*fw))) == NULL)
		return -1;
	fw->wk = wk;
	fw->l = l;
	if (dialer_init(&fw->dl, wk, l, idx) != 0) {
		free(fw);
		return -1;
	}

	if (tp_listen(&fw->tp, wk, l, idx, fd, fwd_accept, fw, levp) != 0) {
		free(fw);
		return -1;
	}
	return 0;
}
