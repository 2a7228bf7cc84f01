/*
 * tun:// and tap:// (gost's encapsulation): every IP packet (tun) or
 * Ethernet frame (tap) read from the device is one UDP datagram, with no
 * header.  A client sends everything to its peer; a server learns which
 * UDP address owns which inner source address (IP for tun, MAC for tap)
 * and answers there.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "worker.h"
#include "handler/handler.h"

#define TUN_MAX_PEERS	1024
#define TUN_BUF		65536

struct tun_peer {
	unsigned char		 key[16];	/* inner address: IP or MAC */
	size_t			 keylen;
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
};

struct tun_ctx {
	struct worker			*wk;
	const struct listener_conf	*l;
	int				 udp;
	int				 dev;
	struct event			*uev;
	struct event			*dev_ev;
	struct tun_peer			*peers;
	size_t				 npeers;
	size_t				 rr;		/* replacement slot */
	unsigned char			 buf[TUN_BUF];
};

/* Inner source/destination address of a packet, or 0 if malformed. */
static size_t
inner_addr(const struct tun_ctx *t, const unsigned char *p, size_t len,
    int dst, unsigned char *out)
{
	if (t->l->kind == LIS_TAP) {
		if (len < 14)
			return 0;
		memcpy(out, p + (dst ? 0 : 6), 6);
		return 6;
	}
	if (len >= 20 && (p[0] >> 4) == 4) {
		memcpy(out, p + (dst ? 16 : 12), 4);
		return 4;
	}
	if (len >= 40 && (p[0] >> 4) == 6) {
		memcpy(out, p + (dst ? 24 : 8), 16);
		return 16;
	}
	return 0;
}

static struct tun_peer *
peer_find(struct tun_ctx *t, const unsigned char *key, size_t keylen)
{
	size_t i;

	for (i = 0; i < t->npeers; i++)
		if (t->peers[i].keylen == keylen &&
		    memcmp(t->peers[i].key, key, keylen) == 0)
			return &t->peers[i];
	return NULL;
}

static void
peer_learn(struct tun_ctx *t, const unsigned char *key, size_t keylen,
    const struct sockaddr_storage *from, socklen_t fromlen)
{
	struct tun_peer *p;

	if ((p = peer_find(t, key, keylen)) == NULL) {
		if (t->npeers < TUN_MAX_PEERS)
			p = &t->peers[t->npeers++];
		else
			p = &t->peers[t->rr++ % TUN_MAX_PEERS];
		memcpy(p->key, key, keylen);
		p->keylen = keylen;
	}
	memcpy(&p->addr, from, fromlen);
	p->addrlen = fromlen;
}

static void
udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tun_ctx *t = arg;
	struct sockaddr_storage from;
	socklen_t fromlen;
	unsigned char key[16];
	size_t keylen;
	ssize_t n;
	int i;

	(void)what;
	for (i = 0; i < 64; i++) {
		fromlen = sizeof(from);
		n = recvfrom(fd, t->buf, sizeof(t->buf), 0,
		    (struct sockaddr *)&from, &fromlen);
		if (n == -1)
			return;
		/* Garbage is dropped here; the device never sees it. */
		if ((keylen = inner_addr(t, t->buf, (size_t)n, 0, key)) == 0)
			continue;
		if (t->l->ntargets == 0)
			peer_learn(t, key, keylen, &from, fromlen);
		if (write(t->dev, t->buf, (size_t)n) == -1)
			debug_f("%s: write: %s", t->l->tun.name,
			    strerror(errno));
		else
			t->wk->stats.bytes_in += (uint64_t)n;
	}
}

static void
send_to(struct tun_ctx *t, const struct sockaddr_storage *ss, socklen_t len,
    size_t n)
{
	if (sendto(t->udp, t->buf, n, 0, (const struct sockaddr *)ss, len) ==
	    -1)
		debug_f("%s: send: %s", t->l->tun.name, strerror(errno));
	else
		t->wk->stats.bytes_out += n;
}

static void
dev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tun_ctx *t = arg;
	unsigned char key[16];
	struct tun_peer *p;
	size_t keylen, j;
	ssize_t n;
	int i;

	(void)what;
	for (i = 0; i < 64; i++) {
		n = read(fd, t->buf, sizeof(t->buf));
		if (n <= 0)
			return;
		if (t->l->ntargets == 1) {
			send_to(t, &t->l->targets[0], t->l->targetlens[0],
			    (size_t)n);
			continue;
		}
		if ((keylen = inner_addr(t, t->buf, (size_t)n, 1, key)) == 0)
			continue;
		if ((p = peer_find(t, key, keylen)) != NULL)
			send_to(t, &p->addr, p->addrlen, (size_t)n);
		else if (t->l->kind == LIS_TAP && (key[0] & 1))
			/* Broadcast and multicast frames reach every peer. */
			for (j = 0; j < t->npeers; j++)
				send_to(t, &t->peers[j].addr,
				    t->peers[j].addrlen, (size_t)n);
	}
}

int
tun_start(struct worker *wk, const struct listener_conf *l, size_t idx,
    int udpfd)
{
	struct tun_ctx *t;
	int tunfd;

	/* the device is the monitor's to make and to hand out */
	if ((tunfd = mm_tun_open(wk, l->tun.name)) == -1)
		fatal("%s: device %s: %s", l->node->url, l->tun.name,
		    strerror(errno));
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->peers = calloc(TUN_MAX_PEERS, sizeof(*t->peers))) == NULL)
		return -1;
	t->wk = wk;
	t->l = l;
	t->udp = udpfd;
	t->dev = tunfd;
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
	    l->kind == LIS_TAP ? "tap" : "tun", l->tun.name,
	    l->ntargets ? " to its peer" : " (server)");
	return 0;
}
