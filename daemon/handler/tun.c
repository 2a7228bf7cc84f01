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
 *
 * The cost of such a tunnel is per packet, not per byte.  A tun device
 * has a vnet header and offloads (the monitor's mon_tun.c): the kernel
 * hands over TCP segments of up to 64 KiB, which are cut here into
 * packets of at most the MTU, as gost's peer wants them, and sent to
 * each address with UDP_SEGMENT, many datagrams a call
 * (core/udpbatch.c).  The other way, datagrams come in with recvmmsg,
 * joined by the kernel (UDP_GRO), and consecutive segments of one TCP
 * connection are joined again into one packet for the device
 * (proto/vnet.c), so that its stack, too, sees few large packets.  The
 * wire does not change: one IP packet per datagram.
 *
 * With tcp=true the datagrams are fake TCP segments instead
 * (core/faketcp.c, tcpraw's wire): a server accepts on its TCP port, a
 * client connects to its peer's; everything else is as over UDP.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>
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
#include "core/faketcp.h"
#include "core/stats.h"
#include "core/udpbatch.h"
#include "handler/handler.h"
#include "proto/proto.h"
#include "proto/tunsw.h"
#include "proto/vnet.h"

#define TUN_READS	64		/* device reads per wake-up */
#define TUN_RECVS	4		/* recvmmsg calls per wake-up */
/* datagrams waiting to go to one address: two cut super-segments */
#define TUN_TXBUF	(2 * VNET_SPLIT_MAX)
#define TUN_TXSEGS	(2 * VNET_SEGS_MAX)

struct tun_ctx {
	struct worker			*wk;
	const struct listener_conf	*l;
	size_t				 idx;		/* the listener's */
	int				 tap;
	int				 vnet;		/* see conf.h */
	int				 udp;
	int				 dev;
	struct event			*uev;
	struct event			*dev_ev;
	struct tunsw			*sw;		/* a server */
	struct ftcp			*ft;		/* tcp=true */
	/* a client through a chain */
	struct dialer			 dl;
	struct uchan			*uc;
	char				 phost[PROXY_HOST_MAX + 1];
	uint16_t			 pport;
	uint64_t			 dropped;	/* the peers' */
	uint64_t			 devdropped;	/* the device's */
	uint64_t			 lost;		/* sends refused */
	int				 gso;		/* UDP_SEGMENT */
	struct udpb_rx			 rx;
	/* the datagrams waiting to go to txto */
	struct sockaddr_storage		 txto;
	socklen_t			 txtolen;
	size_t				 txoff;
	size_t				 ntx;
	size_t				 txlens[TUN_TXSEGS];
	unsigned char			 txbuf[TUN_TXBUF];
	/* segments to the device, joined (vnet) */
	struct vnet_gro			 gro;
	struct event			*gro_ev;	/* chain: write after */
	unsigned char			 gbuf[VNET_HDR + VNET_PKT_MAX];
	/*
	 * A device read: its vnet header (or room for one), the packet
	 * (an IPv6 one may have 64 KiB after its header)
	 */
	unsigned char			 rbuf[VNET_HDR + VNET_PKT_MAX + 40];
};

/* Peer input that is no packet, or not the peer's: dropped, counted. */
static void
tun_drop(struct tun_ctx *t, const char *why)
{
	t->dropped++;
	debug("%s: datagram dropped (%s; %llu so far)", t->l->node->url, why,
	    (unsigned long long)t->dropped);
}

/* A packet from the device that cannot go as it is: dropped, counted. */
static void
tun_devdrop(struct tun_ctx *t, const char *why)
{
	t->devdropped++;
	debug("%s: packet from %s dropped (%s; %llu so far)",
	    t->l->node->url, t->l->tun.name, why,
	    (unsigned long long)t->devdropped);
}

static void
dev_count(struct tun_ctx *t, size_t n)
{
	t->wk->stats.bytes_in += (uint64_t)n;
	/* packets are no connections: the listener's counters */
	stats_lis_bytes(t->idx, 0, n);
}

/* One packet as it is (with an empty vnet header where there is one). */
static void
dev_plain(struct tun_ctx *t, const unsigned char *p, size_t n)
{
	static const unsigned char novnet[VNET_HDR];
	struct iovec iov[2];
	ssize_t w;

	iov[0].iov_base = (void *)(uintptr_t)novnet;
	iov[0].iov_len = t->vnet ? sizeof(novnet) : 0;
	iov[1].iov_base = (void *)(uintptr_t)p;
	iov[1].iov_len = n;
	if ((w = writev(t->dev, iov, 2)) == -1) {
		/* a full queue loses the packet, as a link would */
		debug_f("%s: write: %s", t->l->tun.name, strerror(errno));
		return;
	}
	dev_count(t, n);
}

/* Write what is held to join. */
static void
dev_flush(struct tun_ctx *t)
{
	size_t n;

	if ((n = vnet_gro_finish(&t->gro)) == 0)
		return;
	if (write(t->dev, t->gbuf, n) == -1) {
		debug_f("%s: write: %s", t->l->tun.name, strerror(errno));
		return;
	}
	dev_count(t, n - VNET_HDR);
}

/*
 * A packet for the device: held to be joined by the next segments of
 * its connection, or written: before what is held when it is of
 * another connection (the other way's ACKs, a ping), after it when
 * it may be of the same (its order stays).
 */
static void
dev_put(struct tun_ctx *t, const unsigned char *p, size_t n)
{
	if (t->vnet) {
		if (vnet_gro_add(&t->gro, p, n) >= 0)
			return;
		if (vnet_gro_other(&t->gro, p, n)) {
			dev_plain(t, p, n);
			return;
		}
		dev_flush(t);
		if (vnet_gro_add(&t->gro, p, n) >= 0)
			return;
	}
	dev_plain(t, p, n);
}

/* The datagrams that wait, as fake TCP segments: those that went. */
static void
ft_flush(struct tun_ctx *t)
{
	size_t sent;

	t->lost += t->ntx - ftcp_send(t->ft, &t->txto, t->txtolen, t->txbuf,
	    t->txlens, t->ntx, &sent);
	t->wk->stats.bytes_out += sent;
	stats_lis_bytes(t->idx, 1, sent);
	t->ntx = 0;
	t->txoff = 0;
}

/* Send the datagrams that wait. */
static void
tx_flush(struct tun_ctx *t)
{
	uint64_t lost = t->lost;

	if (t->ntx == 0)
		return;
	if (t->ft != NULL) {
		ft_flush(t);
		return;
	}
	/* counted unless none went: a full socket loses some, as a link */
	if (udpb_send(t->udp, (struct sockaddr *)&t->txto, t->txtolen,
	    t->txbuf, t->txlens, t->ntx, &t->gso, &t->lost) == 0) {
		t->wk->stats.bytes_out += t->txoff;
		stats_lis_bytes(t->idx, 1, t->txoff);
	}
	if (t->lost != lost)
		debug_f("%s: send: %s (%llu datagrams lost so far)",
		    t->l->tun.name, strerror(errno),
		    (unsigned long long)t->lost);
	t->ntx = 0;
	t->txoff = 0;
}

/*
 * Room for len bytes in segs datagrams to ss: what waits goes first
 * when it is for another address or when there is no room.
 */
static void
tx_reserve(struct tun_ctx *t, const struct sockaddr_storage *ss,
    socklen_t sslen, size_t len, size_t segs)
{
	if (t->ntx > 0 && (sslen != t->txtolen ||
	    memcmp(ss, &t->txto, sslen) != 0 ||
	    sizeof(t->txbuf) - t->txoff < len ||
	    TUN_TXSEGS - t->ntx < segs))
		tx_flush(t);
	if (t->ntx == 0) {
		memcpy(&t->txto, ss, sslen);
		t->txtolen = sslen;
	}
}

/* One datagram to ss, sent with those that wait. */
static void
send_to(struct tun_ctx *t, const struct sockaddr_storage *ss, socklen_t len,
    const unsigned char *p, size_t n)
{
	if (n > sizeof(t->txbuf))
		return;
	tx_reserve(t, ss, len, n, 1);
	memcpy(t->txbuf + t->txoff, p, n);
	t->txoff += n;
	t->txlens[t->ntx++] = n;
}

/*
 * Packet p (n bytes; vh: what the device said of it) to ss: cut into
 * packets of at most the MTU when it is a super-segment.
 */
static void
send_packet(struct tun_ctx *t, const struct sockaddr_storage *ss,
    socklen_t len, const struct virtio_net_hdr *vh, const unsigned char *p,
    size_t n)
{
	int k, i;

	if (vh->gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		send_to(t, ss, len, p, n);
		return;
	}
	tx_reserve(t, ss, len, VNET_SPLIT_MAX, VNET_SEGS_MAX);
	if ((k = vnet_tso_split(vh, p, n, t->l->tun.mtu, t->txbuf + t->txoff,
	    sizeof(t->txbuf) - t->txoff, t->txlens + t->ntx,
	    TUN_TXSEGS - t->ntx)) < 0) {
		tun_devdrop(t, "a TCP segment that cannot be cut");
		return;
	}
	for (i = 0; i < k; i++)
		t->txoff += t->txlens[t->ntx++];
}

/* Through the chain: one datagram per packet, each offered. */
static void
chan_packet(struct tun_ctx *t, const struct virtio_net_hdr *vh,
    const unsigned char *p, size_t n)
{
	size_t off;
	int k, i;

	if (vh->gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		uchan_send(t->uc, t->phost, t->pport, p, n);
		stats_lis_bytes(t->idx, 1, n);
		return;
	}
	/* the queue is the chain's: its buffer is free to cut into */
	if ((k = vnet_tso_split(vh, p, n, t->l->tun.mtu, t->txbuf,
	    sizeof(t->txbuf), t->txlens, TUN_TXSEGS)) < 0) {
		tun_devdrop(t, "a TCP segment that cannot be cut");
		return;
	}
	for (i = 0, off = 0; i < k; off += t->txlens[i], i++) {
		uchan_send(t->uc, t->phost, t->pport, t->txbuf + off,
		    t->txlens[i]);
		stats_lis_bytes(t->idx, 1, t->txlens[i]);
	}
}

/* What the switch said about packet p, from a peer. */
static void
deliver(struct tun_ctx *t, const unsigned char *p, size_t n,
    const struct tunsw_verdict *v, time_t now)
{
	const struct tunsw_peer *pe;
	int i;

	if (v->dev)
		dev_put(t, p, n);
	if (v->peer != -1 && (pe = tunsw_peer(t->sw, v->peer, 0)) != NULL)
		send_to(t, &pe->addr, pe->addrlen, p, n);
	if (!v->flood)
		return;
	for (i = 0; i < TUNSW_PEERS; i++)
		if (i != v->from && (pe = tunsw_peer(t->sw, i, now)) != NULL)
			send_to(t, &pe->addr, pe->addrlen, p, n);
}

/* Datagrams p (len bytes, each seg but the last) from one sender. */
static void
peer_input(struct tun_ctx *t, const unsigned char *p, size_t len, size_t seg,
    struct sockaddr_storage *from, socklen_t fromlen, time_t *now)
{
	struct sockaddr_storage cmp;
	struct tunsw_verdict v;
	unsigned char key[16];
	socklen_t cmplen;
	size_t off, k;

	if (t->sw == NULL) {
		/* a client: its peer's packets, nobody else's */
		memcpy(&cmp, from, sizeof(cmp));
		cmplen = fromlen;
		sockaddr_unmap(&cmp, &cmplen);
		if (!sockaddr_same(&cmp, &t->l->targets[0])) {
			tun_drop(t, "not from the peer");
			return;
		}
	}
	for (off = 0; off < len; off += k) {
		k = len - off < seg ? len - off : seg;
		if (t->sw == NULL) {
			if (tunsw_key(t->tap, p + off, k, 0, key) == 0)
				tun_drop(t, "not a packet");
			else
				dev_put(t, p + off, k);
			continue;
		}
		if (*now == 0)
			*now = mono_sec();
		/* Garbage is dropped here; the device never sees it. */
		if (tunsw_input(t->sw, p + off, k, (struct sockaddr *)from,
		    fromlen, *now, &v) != 0) {
			tun_drop(t, "not a packet");
			continue;
		}
		deliver(t, p + off, k, &v, *now);
	}
}

/* A read's message: peer_input's, with the clock read once for all. */
struct tun_rx {
	struct tun_ctx	*t;
	time_t		 now;
};

static void
udp_msg(void *arg, unsigned char *p, size_t len, size_t seg,
    struct sockaddr_storage *from, socklen_t fromlen)
{
	struct tun_rx *rx = arg;

	if (p == NULL)
		tun_drop(rx->t, "too long");
	else
		peer_input(rx->t, p, len, seg, from, fromlen, &rx->now);
}

static void
udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tun_ctx *t = arg;
	struct tun_rx rx = { t, 0 };

	(void)what;
	(void)udpb_recv_each(&t->rx, fd, TUN_RECVS, udp_msg, &rx);
	dev_flush(t);
	tx_flush(t);
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
	/*
	 * The chain hands over its packets one at a time, as many as it
	 * read: joined, they are written once the loop has run what is
	 * active now.
	 */
	dev_put(t, p, n);
	if (t->gro.len != 0)
		event_active(t->gro_ev, EV_TIMEOUT, 0);
}

static void
gro_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dev_flush(arg);
	tx_flush(arg);
}

/*
 * A fake TCP segment's datagram: as a UDP one, what it makes for the
 * device and for other peers written once the loop has run what is
 * active now (the raw socket's other segments).
 */
static void
ft_msg(void *arg, unsigned char *p, size_t n, struct sockaddr_storage *from,
    socklen_t fromlen)
{
	struct tun_ctx *t = arg;
	time_t now = 0;

	peer_input(t, p, n, n, from, fromlen, &now);
	if (t->gro.len != 0 || t->ntx != 0)
		event_active(t->gro_ev, EV_TIMEOUT, 0);
}

/* Packet p from the device, after its vnet header vh. */
static void
dev_input(struct tun_ctx *t, const struct virtio_net_hdr *vh,
    unsigned char *p, size_t n, time_t *now)
{
	const struct tunsw_peer *pe;
	struct tunsw_verdict v;
	int i;

	/* a checksum left to us, completed; a super-segment is cut later */
	if (vh->gso_type == VIRTIO_NET_HDR_GSO_NONE &&
	    vnet_csum(vh, p, n) != 0) {
		tun_devdrop(t, "a checksum outside the packet");
		return;
	}
	if (t->uc != NULL) {
		/* queued or dropped by the channel: offered */
		chan_packet(t, vh, p, n);
		return;
	}
	if (t->sw == NULL) {
		send_packet(t, &t->l->targets[0], t->l->targetlens[0], vh, p,
		    n);
		return;
	}
	if (*now == 0)
		*now = mono_sec();
	/* a super-segment's addresses are its packets' */
	if (tunsw_input(t->sw, p, n, NULL, 0, *now, &v) != 0)
		return;
	if (v.peer != -1 && (pe = tunsw_peer(t->sw, v.peer, 0)) != NULL)
		send_packet(t, &pe->addr, pe->addrlen, vh, p, n);
	if (!v.flood)
		return;
	for (i = 0; i < TUNSW_PEERS; i++)
		if ((pe = tunsw_peer(t->sw, i, *now)) != NULL)
			send_packet(t, &pe->addr, pe->addrlen, vh, p, n);
}

static void
dev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tun_ctx *t = arg;
	struct virtio_net_hdr vh;
	unsigned char *p;
	ssize_t n;
	time_t now = 0;
	int i;

	(void)what;
	memset(&vh, 0, sizeof(vh));
	/* without a vnet header, the packet where it would be after one */
	p = t->rbuf + VNET_HDR;
	for (i = 0; i < TUN_READS; i++) {
		if (t->vnet)
			n = read(fd, t->rbuf, sizeof(t->rbuf));
		else
			n = read(fd, p, sizeof(t->rbuf) - VNET_HDR);
		if (n <= 0)
			break;
		if (t->vnet) {
			if (n < VNET_HDR) {
				tun_devdrop(t, "no vnet header");
				continue;
			}
			memcpy(&vh, t->rbuf, VNET_HDR);
			n -= VNET_HDR;
		}
		dev_input(t, &vh, p, (size_t)n, &now);
	}
	tx_flush(t);
}
/*
 * Test builds take OSTP_TUN_PLAIN=1: no UDP_SEGMENT and no UDP_GRO
 * (each datagram its own message), as on a kernel without them.
 */
static int
tun_udp_offloads(void)
{
#ifdef OSTP_TESTHOOKS
	const char *e = getenv("OSTP_TUN_PLAIN");

	return e == NULL || strcmp(e, "1") != 0;
#else
	return 1;
#endif
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
	/* the monitor made the device so: the same answer */
	t->vnet = conf_tun_vnet(&l->tun);
	t->udp = udpfd;
	t->dev = tunfd;
	t->gso = tun_udp_offloads() && !l->tun.tcp;
	t->gro.buf = t->gbuf;
	/* a peer's checksums are checked before the kernel trusts them */
	t->gro.verify = 1;
	if (udpb_rx_init(&t->rx) != 0)
		return -1;
	/* equal datagrams of a sender joined: fewer, larger reads */
	if (t->gso && udpfd != -1)
		(void)udpb_gro(udpfd);
	if (l->ntargets == 0 && tun_switch(t) != 0)
		return -1;
	if (l->ntargets == 1 && (chained = tun_chain(t, idx)) == -1)
		return -1;
	if ((t->gro_ev = event_new(wk->base, -1, 0, gro_cb, t)) == NULL)
		return -1;
	/* gost: through a chain, datagrams, whatever tcp= says */
	if (l->tun.tcp && !chained && (t->ft = l->ntargets > 0 ?
	    ftcp_client(wk, l, idx, ft_msg, t) :
	    ftcp_server(wk, l, idx, udpfd, ft_msg, t)) == NULL)
		return -1;
	evutil_make_socket_nonblocking(tunfd);
	if (t->ft == NULL && udpfd != -1) {
		evutil_make_socket_nonblocking(udpfd);
		t->uev = event_new(wk->base, udpfd, EV_READ | EV_PERSIST,
		    udp_cb, t);
		if (t->uev == NULL)
			return -1;
		event_add(t->uev, NULL);
	}
	t->dev_ev = event_new(wk->base, tunfd, EV_READ | EV_PERSIST, dev_cb,
	    t);
	if (t->dev_ev == NULL)
		return -1;
	event_add(t->dev_ev, NULL);
	logit("%s: %s %s carried over %s%s%s%s", l->node->url,
	    t->tap ? "tap" : "tun", l->tun.name,
	    t->ft != NULL ? "fake TCP" : "UDP",
	    chained ? " through the chain to its peer" :
	    l->ntargets ? " to its peer" : " (server)",
	    t->vnet ? ", device offloads" : "",
	    t->gso ? "" : ", no UDP offloads");
	return 0;
}
