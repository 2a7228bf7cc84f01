/*
 * ICMP echo through the capture (the capture's icmp=).  By default
 * (local) lwIP answers every echo request itself, as sing-box's stacks
 * do.  With drop nothing is answered.  With direct an echo request
 * whose destination the routing rules send to a direct outbound goes
 * on to that destination through an ICMP datagram socket the monitor
 * opened with the capture's mark and interface (so it is not routed
 * back into the device), and the reply is written into the device as
 * the destination's own, with the client's identifier and sequence and
 * the TTL it arrived with; a destination behind a proxy outbound (a
 * SOCKS5 or Shadowsocks hop carries no ICMP) is answered locally, a
 * blocked one not at all.
 *
 * The kernel gives the socket an identifier of its own and hands it
 * only replies to it; the sequence numbers are ours too: each request
 * sent takes the next one, which indexes a table of what the client
 * sent (client, destination, identifier, sequence).  A reply is taken
 * only from the destination its slot went to, once; a slot is reused
 * after CAP_PING_SLOTS more requests or CAP_PING_TTL seconds, so the
 * table is bounded whatever a flood does, and at most CAP_PING_RATE
 * requests a second are sent on.
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

/* before lwIP, whose stats.h has a macro of the same name */
#include "core/stats.h"
#include "lwip/ip.h"
#include "lwip/pbuf.h"
#include "lwip/raw.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/ip6.h"

#include "log.h"
#include "worker.h"
#include "core/chain.h"
#include "core/dial.h"
#include "core/udpbatch.h"
#include "capture/capture.h"
#include "capture/capture_int.h"
#include "proto/ippkt.h"
#include "proto/vnet.h"

#define CAP_PING_SLOTS	4096		/* requests in flight, per family */
#define CAP_PING_TTL	30		/* seconds a reply is waited for */
#define CAP_PING_RATE	1000		/* requests sent on per second */
#define ICMP_HDR	8		/* type, code, checksum, id, seq */
/*
 * Errors written to clients: at most so many a second, as the
 * kernel's icmp_msgs_per_sec and icmp_msgs_burst bound its own, so
 * that a flood of datagrams to a refused port costs one error each
 * only up to the rate.
 */
#define CAP_UNREACH_RATE	1000
#define CAP_UNREACH_BURST	50

struct cap_ping {
	time_t		 sent;		/* 0: free */
	uint16_t	 wseq;		/* the sequence it went with */
	uint16_t	 id;		/* the client's */
	uint16_t	 seq;
	ip_addr_t	 client;
	ip_addr_t	 dst;
};

struct cap_pinger {
	struct capture	*cap;
	int		 family;
	int		 fd;
	struct event	*ev;
	struct raw_pcb	*pcb;		/* lwIP hands the requests here */
	uint16_t	 next;		/* sequence of the next request */
	uint16_t	 ident;		/* the kernel's, once known */
	int		 have_ident;
	time_t		 loop_logged;
	time_t		 flood_logged;
	uint64_t	 flood;		/* requests over the rate */
	struct cap_ping	 slot[CAP_PING_SLOTS];
};

/* The Internet checksum of the ICMP message m (n bytes) after ip. */
static uint16_t
icmp_cksum(const unsigned char *ip, const unsigned char *m, size_t n)
{
	/* ICMPv6 covers a pseudo-header, ICMP its message only */
	return vnet_cksum(m, n, (ip[0] >> 4) == 6 ?
	    vnet_pseudo_sum(ip, IPPKT_ICMP6, n) : 0);
}

/*
 * A token bucket: rate a second, burst at once; after a flood the
 * next one goes as soon as a token is back.
 */
static int
cap_rate_take(struct cap_rate *r, unsigned int rate, unsigned int burst)
{
	struct timespec ts;
	uint64_t now, add;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	add = (now - r->ms) * rate / 1000;
	if (add > 0) {
		r->tokens = r->tokens + add > burst ? burst :
		    r->tokens + (unsigned int)add;
		r->ms = now;
	}
	if (r->tokens == 0) {
		r->over++;
		return 0;
	}
	r->tokens--;
	return 1;
}

/*
 * Where the rules send dst: 1 direct (forward), 0 through a proxy
 * (answer here), -1 blocked (drop).
 */
static int
ping_route(struct capture *cap, const ip_addr_t *dst)
{
	const struct conf *c = cap->wk->conf;
	const struct outbound_conf *ob;
	struct sockaddr_storage ss;
	socklen_t sl;
	char name[CAP_FAKE_NAME];

	/* a fake address stands for a name, not for a host to ping */
	if (cap_fake_name(cap, dst, name, sizeof(name)) != 0)
		return 0;
	if (IP_IS_V4(dst))
		sockaddr_set(&ss, &sl, AF_INET, &ip_2_ip4(dst)->addr, 0);
	else
		sockaddr_set(&ss, &sl, AF_INET6, ip_2_ip6(dst)->addr, 0);
	ob = &c->obs[router_pick(c, cap->dl.idx, (struct sockaddr *)&ss,
	    NULL, 0)];
	if (ob->type == OB_BLOCK)
		return -1;
	if (ob->type == OB_DIRECT)
		return 1;
	return 0;
}

/* Send one echo request on (or drop it: looped, over the rate). */
static void
ping_forward(struct cap_pinger *pg, const ip_addr_t *client,
    const ip_addr_t *dst, unsigned char *m, size_t n, int ttl)
{
	struct capture *cap = pg->cap;
	struct sockaddr_storage ss;
	struct sockaddr_storage me;
	socklen_t sl, ml = sizeof(me);
	struct cap_ping *s;
	struct msghdr mh;
	struct iovec iov;
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *ch;
	uint16_t id = (uint16_t)(m[4] << 8 | m[5]);
	uint16_t seq = (uint16_t)(m[6] << 8 | m[7]);
	uint16_t wseq;

	/*
	 * Our own request, routed back into the device (no mark or
	 * interface keeps it out): going round again would loop.
	 */
	if (pg->have_ident && id == pg->ident) {
		s = &pg->slot[seq % CAP_PING_SLOTS];
		if (s->sent != 0 && s->wseq == seq && ip_addr_cmp(&s->dst,
		    dst)) {
			cap->dropped++;
			if (time(NULL) - pg->loop_logged >= 10) {
				pg->loop_logged = time(NULL);
				logit("%s: a forwarded ICMP echo request came "
				    "back into the device: dropped (give the "
				    "capture an interface or a mark)",
				    cap->l->tun.name);
			}
			return;
		}
	}
	if (!cap_rate_take(&cap->ping_rate, CAP_PING_RATE, CAP_PING_RATE)) {
		cap->dropped++;
		if (++pg->flood == 1 || time(NULL) - pg->flood_logged >= 10) {
			pg->flood_logged = time(NULL);
			logit("%s: over %u ICMP echo requests a second: "
			    "dropped (a flood?)", cap->l->tun.name,
			    CAP_PING_RATE);
		}
		return;
	}
	wseq = pg->next++;
	s = &pg->slot[wseq % CAP_PING_SLOTS];
	s->sent = time(NULL);
	s->wseq = wseq;
	s->id = id;
	s->seq = seq;
	ip_addr_copy(s->client, *client);
	ip_addr_copy(s->dst, *dst);
	/* the kernel puts its identifier and the checksum in */
	m[2] = m[3] = 0;
	m[6] = (unsigned char)(wseq >> 8);
	m[7] = (unsigned char)wseq;
	if (pg->family == AF_INET)
		sockaddr_set(&ss, &sl, AF_INET, &ip_2_ip4(dst)->addr, 0);
	else
		sockaddr_set(&ss, &sl, AF_INET6, ip_2_ip6(dst)->addr, 0);
	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = m;
	iov.iov_len = n;
	mh.msg_name = &ss;
	mh.msg_namelen = sl;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	/* the TTL the client chose, so that it means what it meant */
	if (ttl > 0) {
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		ch = CMSG_FIRSTHDR(&mh);
		ch->cmsg_level = pg->family == AF_INET ? IPPROTO_IP :
		    IPPROTO_IPV6;
		ch->cmsg_type = pg->family == AF_INET ? IP_TTL : IPV6_HOPLIMIT;
		ch->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(ch), &ttl, sizeof(int));
	}
	if (sendmsg(pg->fd, &mh, 0) == -1) {
		/* unreachable, or a full buffer: lost, as on a link */
		debug_f("%s: sendmsg: %s", cap->l->tun.name, strerror(errno));
		s->sent = 0;
		return;
	}
	if (!pg->have_ident && getsockname(pg->fd, (struct sockaddr *)&me,
	    &ml) == 0) {
		/* the identifier is the socket's "port" */
		pg->ident = sockaddr_port(&me);
		pg->have_ident = 1;
	}
}

/*
 * lwIP's raw hook, for every ICMP packet the stack takes, after
 * reassembly: 1 when it was ours (eaten), 0 to let lwIP answer.
 */
static u8_t
ping_in(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *src)
{
	struct cap_pinger *pg = arg;
	struct capture *cap = pg->cap;
	const ip_addr_t *dst = ip_current_dest_addr();
	unsigned char *m = cap->ubuf;
	size_t hl = ip_current_header_tot_len(), n;
	int v6 = pg->family == AF_INET6, ttl, r;

	(void)pcb;
	if (p->tot_len < hl + ICMP_HDR || pbuf_copy_partial(p, m, ICMP_HDR,
	    (u16_t)hl) != ICMP_HDR)
		return 0;
	/* echo requests only; the rest is lwIP's */
	if (m[0] != (v6 ? 128 : 8) || m[1] != 0)
		return 0;
	if (cap->l->tun.icmp == CONF_ICMP_DROP)
		goto eat;
	if ((r = ping_route(cap, dst)) == 0)
		return 0;
	if (r < 0)
		goto eat;
	n = p->tot_len - hl;
	if (pbuf_copy_partial(p, m, (u16_t)n, (u16_t)hl) != n)
		goto eat;
	/* a corrupted request is not sent on (lwIP would not answer it) */
	if (icmp_cksum(v6 ? (const unsigned char *)ip6_current_header() :
	    (const unsigned char *)ip4_current_header(), m, n) != 0)
		goto eat;
	ttl = v6 ? IP6H_HOPLIM(ip6_current_header()) :
	    IPH_TTL(ip4_current_header());
	ping_forward(pg, src, dst, m, n, ttl);
 eat:
	pbuf_free(p);
	return 1;
}

/* A reply: into the device, from the host pinged, to the client. */
static void
ping_reply(struct cap_pinger *pg, const unsigned char *from, int ttl,
    unsigned char *m, size_t n)
{
	struct capture *cap = pg->cap;
	unsigned char *pkt = cap->obuf, *h;
	size_t hl = pg->family == AF_INET ? 20 : 40;
	uint16_t wseq = (uint16_t)(m[6] << 8 | m[7]);
	struct cap_ping *s = &pg->slot[wseq % CAP_PING_SLOTS];
	time_t now = time(NULL);
	ip_addr_t fa;
	uint16_t sum;

	if (n < ICMP_HDR || m[0] != (pg->family == AF_INET ? 0 : 129) ||
	    m[1] != 0 || n > sizeof(cap->obuf) - hl || hl + n > 0xffff)
		return;
	if (pg->family == AF_INET)
		IP_ADDR4(&fa, from[0], from[1], from[2], from[3]);
	else {
		memcpy(ip_2_ip6(&fa)->addr, from, 16);
		IP_SET_TYPE_VAL(fa, IPADDR_TYPE_V6);
		ip6_addr_clear_zone(ip_2_ip6(&fa));
	}
	if (s->sent == 0 || s->wseq != wseq || now - s->sent > CAP_PING_TTL ||
	    !ip_addr_cmp(&s->dst, &fa))
		return;
	s->sent = 0;
	if (ttl < 1 || ttl > 255)
		ttl = 64;
	/* the client's identifier and sequence back, a new checksum */
	m[2] = m[3] = 0;
	m[4] = (unsigned char)(s->id >> 8);
	m[5] = (unsigned char)s->id;
	m[6] = (unsigned char)(s->seq >> 8);
	m[7] = (unsigned char)s->seq;
	h = pkt;
	memset(h, 0, hl);
	if (pg->family == AF_INET) {
		h[0] = 0x45;
		h[2] = (unsigned char)((hl + n) >> 8);
		h[3] = (unsigned char)(hl + n);
		h[8] = (unsigned char)ttl;
		h[9] = IPPKT_ICMP;
		memcpy(h + 12, from, 4);
		memcpy(h + 16, &ip_2_ip4(&s->client)->addr, 4);
		sum = vnet_cksum(h, hl, 0);
		memcpy(h + 10, &sum, 2);
	} else {
		h[0] = 0x60;
		h[4] = (unsigned char)(n >> 8);
		h[5] = (unsigned char)n;
		h[6] = IPPKT_ICMP6;
		h[7] = (unsigned char)ttl;
		memcpy(h + 8, from, 16);
		memcpy(h + 24, ip_2_ip6(&s->client)->addr, 16);
	}
	/* the sum is of bytes in the network's order: stored as it is */
	sum = icmp_cksum(h, m, n);
	memcpy(m + 2, &sum, 2);
	memcpy(pkt + hl, m, n);
	cap_write(cap, pkt, hl + n);
}

/* Replies on the socket: each the ICMP message alone, TTL beside. */
static void
ping_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cap_pinger *pg = arg;
	struct capture *cap = pg->cap;
	struct sockaddr_storage ss;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *ch;
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(sizeof(int)) * 2];
	} cm;
	const unsigned char *from;
	ssize_t n;
	int i, ttl, v;

	(void)what;
	for (i = 0; i < CAP_READS; i++) {
		if ((n = udpb_recvmsg(fd, MSG_DONTWAIT, &mh, &iov, cap->ubuf,
		    sizeof(cap->ubuf), &ss, cm.buf, sizeof(cm.buf))) == -1)
			break;
		if (mh.msg_flags & MSG_TRUNC)
			continue;
		ttl = 0;
		for (ch = CMSG_FIRSTHDR(&mh); ch != NULL;
		    ch = CMSG_NXTHDR(&mh, ch))
			if (((ch->cmsg_level == IPPROTO_IP &&
			    ch->cmsg_type == IP_TTL) ||
			    (ch->cmsg_level == IPPROTO_IPV6 &&
			    ch->cmsg_type == IPV6_HOPLIMIT)) &&
			    ch->cmsg_len == CMSG_LEN(sizeof(int))) {
				memcpy(&v, CMSG_DATA(ch), sizeof(v));
				ttl = v;
			}
		if (ss.ss_family != pg->family)
			continue;
		from = pg->family == AF_INET ?
		    (const unsigned char *)&((struct sockaddr_in *)&ss)->sin_addr :
		    (const unsigned char *)&((struct sockaddr_in6 *)&ss)->
		    sin6_addr;
		ping_reply(pg, from, ttl, cap->ubuf, (size_t)n);
	}
}

void
cap_icmp_unreach(struct capture *cap, int err, const unsigned char *q,
    size_t ql, const unsigned char *p, size_t n)
{
	size_t len;
	time_t now;
	int why;

	switch (err) {
	case ECONNREFUSED:
		why = IPPKT_UNREACH_PORT;
		break;
	case EHOSTUNREACH:
		why = IPPKT_UNREACH_HOST;
		break;
	case ENETUNREACH:
		why = IPPKT_UNREACH_NET;
		break;
	case EACCES:
		why = IPPKT_UNREACH_ADMIN;
		break;
	default:
		return;
	}
	if (!cap_rate_take(&cap->unreach_rate, CAP_UNREACH_RATE,
	    CAP_UNREACH_BURST)) {
		cap->dropped++;
		if ((now = time(NULL)) - cap->unreach_rate.logged >= 10) {
			cap->unreach_rate.logged = now;
			logit("%s: over %u ICMP errors a second to clients: "
			    "%llu not sent", cap->l->tun.name,
			    CAP_UNREACH_RATE,
			    (unsigned long long)cap->unreach_rate.over);
			cap->unreach_rate.over = 0;
		}
		return;
	}
	if ((len = ippkt_unreach(cap->obuf, sizeof(cap->obuf), why, q, ql, p,
	    n)) != 0)
		cap_write(cap, cap->obuf, len);
}

static struct cap_pinger *
pinger_new(struct capture *cap, int family)
{
	struct cap_pinger *pg;
	int fd = -1;

	if ((pg = calloc(1, sizeof(*pg))) == NULL)
		return NULL;
	pg->cap = cap;
	pg->family = family;
	pg->fd = -1;
	/* the first sequence numbers of each worker differ */
	pg->next = (uint16_t)arc4random();
	if (cap->l->tun.icmp == CONF_ICMP_DIRECT) {
		if ((fd = mm_dev_socket(cap->wk, IPC_ICMP_SOCKET,
		    (uint32_t)cap->dl.idx, family)) == -1) {
			logit("%s: no ICMP%s socket (%s): echo requests are "
			    "answered here", cap->l->tun.name,
			    family == AF_INET ? "" : "v6", strerror(errno));
			free(pg);
			return NULL;
		}
		pg->fd = fd;
		if ((pg->ev = event_new(cap->wk->base, fd,
		    EV_READ | EV_PERSIST, ping_sock_cb, pg)) == NULL) {
			close(fd);
			free(pg);
			return NULL;
		}
		event_add(pg->ev, NULL);
	}
	if ((pg->pcb = raw_new_ip_type(family == AF_INET ? IPADDR_TYPE_V4 :
	    IPADDR_TYPE_V6, family == AF_INET ? IPPKT_ICMP : IPPKT_ICMP6)) ==
	    NULL) {
		if (pg->ev != NULL)
			event_free(pg->ev);
		if (fd != -1)
			close(fd);
		free(pg);
		return NULL;
	}
	raw_bind_netif(pg->pcb, &cap->netif);
	raw_recv(pg->pcb, ping_in, pg);
	return pg;
}

int
cap_icmp_init(struct capture *cap)
{
	if (cap->l->tun.icmp == CONF_ICMP_LOCAL)
		return 0;
	/* without its socket a family's pings are answered here */
	cap->ping[0] = pinger_new(cap, AF_INET);
	cap->ping[1] = pinger_new(cap, AF_INET6);
	return 0;
}

void
cap_icmp_drain(struct capture *cap)
{
	struct cap_pinger *pg;
	int i;

	for (i = 0; i < 2; i++) {
		if ((pg = cap->ping[i]) == NULL)
			continue;
		if (pg->ev != NULL)
			event_free(pg->ev);
		if (pg->fd != -1)
			close(pg->fd);
		raw_remove(pg->pcb);
		free(pg);
		cap->ping[i] = NULL;
	}
}
