/*
 * tun:// and tap:// (gost's encapsulation, spec/gost.md §2.16): every
 * IP packet (tun) or Ethernet frame (tap) read from the device is one
 * UDP datagram, with no header.
 *
 * A client sends everything to its peer: straight from the listener's
 * socket, or, when the routing picks a chain, as datagrams through the
 * chain (a uchan: gost's UDP-over-TCP frames to a SOCKS5 last hop, a
 * relay hop's UDP mode, Shadowsocks UDP), which re-dials with back-off
 * when the chain's connection ends.  Only its peer's datagrams reach
 * the device.
 *
 * A server is a switch (proto/tunsw.c): it learns which UDP address
 * owns which inner source address, sends each packet to the peer that
 * owns its destination (or a route= gateway's), and for tap floods
 * broadcast, multicast and unknown destinations to every peer and the
 * device, so ARP works across.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "worker.h"
#include "core/chain.h"
#include "core/dial.h"
#include "core/stats.h"
#include "handler/handler.h"
#include "proto/proto.h"
#include "proto/tunsw.h"

#define TUN_BUF		65536

struct tun_ctx {
	struct worker			*wk;
	const struct listener_conf	*l;
	size_t				 idx;		/* the listener's */
	int				 tap;
	int				 udp;
	int				 dev;
	struct event			*uev;
	struct event			*dev_ev;
	struct tunsw			*sw;		/* a server */
	/* a client through a chain */
	struct dialer			 dl;
	struct uchan			*uc;
	char				 phost[PROXY_HOST_MAX + 1];
	uint16_t			 pport;
	uint64_t			 dropped;
	unsigned char			 buf[TUN_BUF];
};

static time_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Peer input that is no packet, or not the peer's: dropped, counted. */
static void
tun_drop(struct tun_ctx *t, const char *why)
{
	t->dropped++;
	debug("%s: datagram dropped (%s; %llu so far)", t->l->node->url, why,
	    (unsigned long long)t->dropped);
}

static void
dev_write(struct tun_ctx *t, const unsigned char *p, size_t n)
{
	if (write(t->dev, p, n) == -1) {
		debug_f("%s: write: %s", t->l->tun.name, strerror(errno));
		return;
	}
	t->wk->stats.bytes_in += (uint64_t)n;
	/* packets are no connections: the listener's counters */
	stats_lis_bytes(t->idx, 0, n);
}

static void
send_to(struct tun_ctx *t, const struct sockaddr_storage *ss, socklen_t len,
    size_t n)
{
	if (sendto(t->udp, t->buf, n, 0, (const struct sockaddr *)ss, len) ==
	    -1) {
		debug_f("%s: send: %s", t->l->tun.name, strerror(errno));
		return;
	}
	t->wk->stats.bytes_out += n;
	stats_lis_bytes(t->idx, 1, n);
}

/* What the switch said about the packet in t->buf. */
static void
deliver(struct tun_ctx *t, size_t n, const struct tunsw_verdict *v,
    time_t now)
{
	const struct tunsw_peer *p;
	int i;

	if (v->dev)
		dev_write(t, t->buf, n);
	if (v->peer != -1 && (p = tunsw_peer(t->sw, v->peer, 0)) != NULL)
		send_to(t, &p->addr, p->addrlen, n);
	if (!v->flood)
		return;
	for (i = 0; i < TUNSW_PEERS; i++)
		if (i != v->from && (p = tunsw_peer(t->sw, i, now)) != NULL)
			send_to(t, &p->addr, p->addrlen, n);
}

static void
udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tun_ctx *t = arg;
	struct sockaddr_storage from, cmp;
	struct tunsw_verdict v;
	unsigned char key[16];
	socklen_t fromlen, cmplen;
	ssize_t n;
	time_t now = 0;
	int i;

	(void)what;
	for (i = 0; i < 64; i++) {
		fromlen = sizeof(from);
		n = recvfrom(fd, t->buf, sizeof(t->buf), 0,
		    (struct sockaddr *)&from, &fromlen);
		if (n == -1)
			return;
		if (t->sw == NULL) {
			/* a client: its peer's packets, nobody else's */
			memcpy(&cmp, &from, sizeof(cmp));
			cmplen = fromlen;
			sockaddr_unmap(&cmp, &cmplen);
			if (!sockaddr_same(&cmp, &t->l->targets[0])) {
				tun_drop(t, "not from the peer");
				continue;
			}
			if (tunsw_key(t->tap, t->buf, (size_t)n, 0, key) == 0) {
				tun_drop(t, "not a packet");
				continue;
			}
			dev_write(t, t->buf, (size_t)n);
			continue;
		}
		if (now == 0)
			now = mono_now();
		/* Garbage is dropped here; the device never sees it. */
		if (tunsw_input(t->sw, t->buf, (size_t)n,
		    (struct sockaddr *)&from, fromlen, now, &v) != 0) {
			tun_drop(t, "not a packet");
			continue;
		}
		deliver(t, (size_t)n, &v, now);
	}
}

/* A client's answer through the chain: from its peer, or dropped. */
static void
chan_cb(void *arg, const struct proxy_target *src, const unsigned char *p,
    size_t n)
{
	struct tun_ctx *t = arg;
	unsigned char key[16];

	if (src->port != t->pport || strcmp(src->host, t->phost) != 0) {
		tun_drop(t, "not from the peer");
		return;
	}
	if (tunsw_key(t->tap, p, n, 0, key) == 0) {
		tun_drop(t, "not a packet");
		return;
	}
	dev_write(t, p, n);
}

static void
dev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tun_ctx *t = arg;
	struct tunsw_verdict v;
	ssize_t n;
	time_t now = 0;
	int i;

	(void)what;
	for (i = 0; i < 64; i++) {
		n = read(fd, t->buf, sizeof(t->buf));
		if (n <= 0)
			return;
		if (t->uc != NULL) {
			/* queued or dropped by the channel: offered */
			uchan_send(t->uc, t->phost, t->pport, t->buf,
			    (size_t)n);
			stats_lis_bytes(t->idx, 1, (size_t)n);
			continue;
		}
		if (t->sw == NULL) {
			send_to(t, &t->l->targets[0], t->l->targetlens[0],
			    (size_t)n);
			continue;
		}
		if (now == 0)
			now = mono_now();
		if (tunsw_input(t->sw, t->buf, (size_t)n, NULL, 0, now,
		    &v) != 0)
			continue;
		deliver(t, (size_t)n, &v, now);
	}
}

/* The server's own addresses and its route= gateways. */
static int
tun_switch(struct tun_ctx *t)
{
	const struct tun_conf *tc = &t->l->tun;
	size_t i;

	if ((t->sw = tunsw_new(t->tap)) == NULL)
		return -1;
	if (t->tap)
		return 0;
	if (tc->has_net)
		tunsw_local_add(t->sw, tc->net.addr,
		    tc->net.family == AF_INET ? 4 : 16);
	if (tc->has_net6)
		tunsw_local_add(t->sw, tc->net6.addr, 16);
	for (i = 0; i < tc->nroutes; i++) {
		if (!tc->routes[i].has_gw)
			continue;
		if (tunsw_route_add(t->sw, tc->routes[i].dst.family,
		    tc->routes[i].dst.addr, (unsigned int)tc->routes[i].dst.plen,
		    tc->routes[i].gw) != 0)
			logit("%s: more than %d gateway routes; the rest are "
			    "the kernel's only", t->l->node->url, TUNSW_ROUTES);
	}
	return 0;
}

/* A client whose route to its peer is a chain: datagrams go through it. */
static int
tun_chain(struct tun_ctx *t, size_t idx)
{
	const struct conf *c = t->wk->conf;
	const struct outbound_conf *ob;

	sockaddr_host(&t->l->targets[0], t->phost, sizeof(t->phost),
	    &t->pport);
	ob = &c->obs[router_pick(c, idx, (const struct sockaddr *)
	    &t->l->targets[0], NULL, t->pport)];
	if (ob->type != OB_CHAIN ||
	    chain_hops_for(ob, t->phost, t->pport) == 0)
		return 0;
	if (dialer_init(&t->dl, t->wk, t->l, idx) != 0 ||
	    (t->uc = uchan_open(&t->dl, chan_cb, t)) == NULL)
		return -1;
	/* gost's client: a chain that fails is dialed again in 1-6 s */
	uchan_set_backoff(t->uc, 1);
	return 1;
}

int
tun_start(struct worker *wk, const struct listener_conf *l, size_t idx,
    int udpfd)
{
	struct tun_ctx *t;
	int tunfd, chained = 0;

	/* the device is the monitor's to make and to hand out */
	if ((tunfd = mm_tun_open(wk, l->tun.name)) == -1)
		fatal("%s: device %s: %s", l->node->url, l->tun.name,
		    strerror(errno));
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	t->wk = wk;
	t->l = l;
	t->idx = idx;
	t->tap = l->kind == LIS_TAP;
	t->udp = udpfd;
	t->dev = tunfd;
	if (l->ntargets == 0 && tun_switch(t) != 0)
		return -1;
	if (l->ntargets == 1 && (chained = tun_chain(t, idx)) == -1)
		return -1;
	evutil_make_socket_nonblocking(udpfd);
	evutil_make_socket_nonblocking(tunfd);
	t->uev = event_new(wk->base, udpfd, EV_READ | EV_PERSIST, udp_cb, t);
	t->dev_ev = event_new(wk->base, tunfd, EV_READ | EV_PERSIST, dev_cb,
	    t);
	if (t->uev == NULL || t->dev_ev == NULL)
		return -1;
	event_add(t->uev, NULL);
	event_add(t->dev_ev, NULL);
	logit("%s: %s %s carried over UDP%s", l->node->url,
	    t->tap ? "tap" : "tun", l->tun.name,
	    chained ? " through the chain to its peer" :
	    l->ntargets ? " to its peer" : " (server)");
	return 0;
}
