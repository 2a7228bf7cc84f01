/*
 * Captured UDP: one session per client address and port, each a
 * datagram channel of the UDP association machinery (handler/udp.c's
 * uchan: direct, UDP-over-TCP through a chain, Shadowsocks UDP, OSTP),
 * routed per datagram by its destination.  lwIP checks and reassembles
 * the datagrams; a pcb bound to the capture's interface on a port takes
 * them for every address, and answers leave from the address and port
 * they came from, as if that host had sent them.  A session idle for
 * the listener's ttl is closed.
 *
 * A datagram to a fake address goes to the name; its answers come from
 * wherever the far end resolved the name to (or from the name, for some
 * relays), which the client never sent to: a connected socket would
 * drop them.  Each session remembers its last few destinations, and an
 * answer from an address it did not send to, on the port of a fake
 * one, comes from that fake address (the most recent one), as the
 * client expects.
 *
 * A datagram that will get no answer (the far end's port unreachable,
 * no route, a block rule) is told to the client as the far end or a
 * router would: an ICMP destination unreachable quoting the headers
 * it sent (icmp.c), so that its connected socket fails with
 * ECONNREFUSED or EHOSTUNREACH at once, not after a timeout.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

/* before lwIP, whose stats.h has a macro of the same name */
#include "core/stats.h"
#include "lwip/ip.h"
#include "lwip/pbuf.h"
#include "lwip/udp.h"

#include "log.h"
#include "worker.h"
#include "core/dial.h"
#include "proto/ippkt.h"
#include "proto/proto.h"
#include "proto/vnet.h"
#include "capture/capture.h"
#include "capture/capture_int.h"

#define CAP_USESS_MAX	1024
#define CAP_UGC_SEC	5
#define CAP_UDST	8		/* destinations remembered */

struct cap_udst {
	ip_addr_t		 addr;		/* as the client sent to */
	uint16_t		 port;
	int			 fake;
	/* the last datagram's headers, for an ICMP error to quote */
	unsigned char		 hdr[CAP_QUOTE_HDR];
	size_t			 hlen;
};

struct cap_usess {
	TAILQ_ENTRY(cap_usess)	 entry;		/* cap->usess, by last use */
	LIST_ENTRY(cap_usess)	 bucket;
	struct capture		*cap;
	ip_addr_t		 client;
	uint16_t		 cport;
	struct uchan		*uc;
	time_t			 last;
	struct cap_udst		 dst[CAP_UDST];	/* a ring */
	unsigned int		 ndst;
	struct stconn		*st;		/* the client's record */
};

static void
usess_note(struct cap_usess *us, const ip_addr_t *to, uint16_t port,
    int fake, const unsigned char *hdr, size_t hlen)
{
	struct cap_udst *d = NULL;
	unsigned int i;

	for (i = 0; i < CAP_UDST && i < us->ndst; i++)
		if (us->dst[i].port == port &&
		    ip_addr_cmp(&us->dst[i].addr, to)) {
			d = &us->dst[i];
			break;
		}
	if (d == NULL) {
		d = &us->dst[us->ndst++ % CAP_UDST];
		ip_addr_copy(d->addr, *to);
		d->port = port;
		d->fake = fake;
		/* keep the count bounded but past CAP_UDST: the ring is full */
		if (us->ndst >= 2 * CAP_UDST)
			us->ndst -= CAP_UDST;
	}
	memcpy(d->hdr, hdr, hlen);
	d->hlen = hlen;
}

/*
 * Where the client sent what comes from (from, port): from itself,
 * or a fake address when it sent to one on that port and never to
 * from.  NULL: nowhere the session remembers.
 */
static const struct cap_udst *
usess_dst(const struct cap_usess *us, const ip_addr_t *from, uint16_t port)
{
	const struct cap_udst *d, *best = NULL;
	unsigned int i, n = us->ndst < CAP_UDST ? us->ndst : CAP_UDST;

	for (i = 0; i < n; i++) {
		/* newest first */
		d = &us->dst[(us->ndst - 1 - i) % CAP_UDST];
		if (d->port != port)
			continue;
		if (!d->fake && ip_addr_cmp(&d->addr, from))
			return d;
		if (d->fake && best == NULL)
			best = d;
	}
	return best;
}

/* Where the client thinks an answer from (from, port) comes from. */
static void
usess_source(struct cap_usess *us, ip_addr_t *from, uint16_t port)
{
	const struct cap_udst *d;

	if ((d = usess_dst(us, from, port)) != NULL && d->fake)
		ip_addr_copy(*from, d->addr);
}

static void
usess_free(struct cap_usess *us)
{
	TAILQ_REMOVE(&us->cap->usess, us, entry);
	LIST_REMOVE(us, bucket);
	us->cap->nusess--;
	uchan_close(us->uc);
	stconn_close(us->st);
	free(us);
}

/* Used now: the end of the list, which the oldest leave first. */
static void
usess_touch(struct cap_usess *us)
{
	us->last = time(NULL);
	TAILQ_REMOVE(&us->cap->usess, us, entry);
	TAILQ_INSERT_TAIL(&us->cap->usess, us, entry);
}

static void
ip_text(const ip_addr_t *a, char *out, size_t len)
{
	if (IP_IS_V4(a))
		inet_ntop(AF_INET, &ip_2_ip4(a)->addr, out, (socklen_t)len);
	else
		inet_ntop(AF_INET6, ip_2_ip6(a)->addr, out, (socklen_t)len);
}

void
cap_udp_send(struct capture *cap, const ip_addr_t *from, uint16_t fport,
    const ip_addr_t *to, uint16_t tport, const unsigned char *p, size_t n)
{
	struct udp_pcb *pcb;
	struct pbuf *pb;

	if (n > 0xffff - 48 || IP_GET_TYPE(from) != IP_GET_TYPE(to))
		return;
	if (cap_udp_port_ready(cap, fport) != 0)
		return;
	for (pcb = udp_pcbs; pcb != NULL; pcb = pcb->next)
		if (pcb->local_port == fport &&
		    pcb->netif_idx == netif_get_index(&cap->netif))
			break;
	if (pcb == NULL)
		return;
	if ((pb = pbuf_alloc(PBUF_TRANSPORT, (u16_t)n, PBUF_RAM)) == NULL)
		return;
	if (pbuf_take(pb, p, (u16_t)n) == ERR_OK)
		(void)udp_sendto_if_src(pcb, pb, to, tport, &cap->netif, from);
	pbuf_free(pb);
	capture_timers();
}

/* An answer from src: to the client, from src's address and port. */
static void
usess_answer(void *arg, const struct proxy_target *src,
    const unsigned char *p, size_t n)
{
	struct cap_usess *us = arg;
	ip_addr_t from;

	/* a name (some relays answer so): stands for its fake address */
	if (!ipaddr_aton(src->host, &from) &&
	    cap_fake_addr(us->cap, src->host, &from) != 0)
		return;
	usess_source(us, &from, src->port);
	usess_touch(us);
	stconn_bytes(us->st, 1, n);
	cap_udp_send(us->cap, &from, src->port, &us->client, us->cport, p, n);
}

/* A datagram for host:port will get no answer: the client hears why. */
static void
usess_error(void *arg, const char *host, uint16_t port, int err,
    const unsigned char *p, size_t n)
{
	struct cap_usess *us = arg;
	const struct cap_udst *d;
	ip_addr_t to;

	if (!ipaddr_aton(host, &to) &&
	    cap_fake_addr(us->cap, host, &to) != 0)
		return;
	if ((d = usess_dst(us, &to, port)) == NULL || d->hlen == 0)
		return;
	cap_icmp_unreach(us->cap, err, d->hdr, d->hlen, p, n);
}

/*
 * The datagram's IP and UDP headers as an ICMP error about it quotes
 * them (RFC 792, RFC 4443): as the client sent them, but as one
 * datagram of its length, without IPv4 options or fragment fields or
 * IPv6 extension headers (the client's stack finds its socket by the
 * addresses and ports alone).  Their length, or 0.
 */
static size_t
udp_quote_hdr(struct pbuf *p, unsigned char *q)
{
	size_t hl, n = p->tot_len;
	uint16_t sum;

	if (ip_current_is_v6()) {
		hl = 40;
		memcpy(q, ip6_current_header(), hl);
		q[4] = (unsigned char)((8 + n) >> 8);
		q[5] = (unsigned char)(8 + n);
		q[6] = IPPKT_UDP;
	} else {
		hl = 20;
		memcpy(q, ip4_current_header(), hl);
		q[0] = 0x45;
		q[2] = (unsigned char)((hl + 8 + n) >> 8);
		q[3] = (unsigned char)(hl + 8 + n);
		q[6] &= 0x40;			/* DF stays */
		q[7] = 0;
		q[10] = q[11] = 0;
		sum = vnet_cksum(q, hl, 0);
		memcpy(q + 10, &sum, 2);
	}
	/* lwIP moved the payload past the UDP header: it is still there */
	if (pbuf_add_header_force(p, 8) != 0)
		return 0;
	memcpy(q + hl, p->payload, 8);
	(void)pbuf_remove_header(p, 8);
	return hl + 8;
}

static unsigned int
usess_bucket(const ip_addr_t *a, uint16_t port)
{
	uint32_t h = 2166136261u ^ port;
	int i;

	if (IP_IS_V4(a))
		h = (h ^ ip_2_ip4(a)->addr) * 16777619u;
	else
		for (i = 0; i < 4; i++)
			h = (h ^ ip_2_ip6(a)->addr[i]) * 16777619u;
	return (h ^ h >> 16) % CAP_USESS_BUCKETS;
}

static struct cap_usess *
usess_get(struct capture *cap, const ip_addr_t *client, uint16_t cport)
{
	unsigned int b = usess_bucket(client, cport);
	struct cap_usess *us;

	LIST_FOREACH(us, &cap->ubucket[b], bucket)
		if (us->cport == cport && ip_addr_cmp(&us->client, client))
			return us;
	if (cap->nusess >= CAP_USESS_MAX && !TAILQ_EMPTY(&cap->usess))
		usess_free(TAILQ_FIRST(&cap->usess));
	if ((us = calloc(1, sizeof(*us))) == NULL)
		return NULL;
	us->cap = cap;
	ip_addr_copy(us->client, *client);
	us->cport = cport;
	if ((us->uc = uchan_open(&cap->dl, usess_answer, us)) == NULL) {
		free(us);
		return NULL;
	}
	uchan_set_errcb(us->uc, usess_error);
	/* a session is a client's connection: its record, until it ends */
	if ((us->st = stconn_new(cap->wk, cap->dl.idx, NULL)) != NULL) {
		char h[INET6_ADDRSTRLEN];

		ip_text(client, h, sizeof(h));
		stconn_client_name(us->st, h, cport);
		stconn_served(us->st);
	}
	us->last = time(NULL);
	TAILQ_INSERT_TAIL(&cap->usess, us, entry);
	LIST_INSERT_HEAD(&cap->ubucket[b], us, bucket);
	cap->nusess++;
	return us;
}

/* A datagram from a client: on through its session's channel. */
static void
udp_in(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
    u16_t port)
{
	struct capture *cap = arg;
	struct cap_usess *us;
	char host[PROXY_HOST_MAX + 1];
	unsigned char qh[CAP_QUOTE_HDR];
	size_t ql;
	int fake;
	u16_t n;

	n = p->tot_len;
	ql = udp_quote_hdr(p, qh);
	if (pbuf_copy_partial(p, cap->ubuf, n, 0) != n) {
		pbuf_free(p);
		return;
	}
	pbuf_free(p);
	if (pcb->local_port == 53 && cap_dns_query(cap, addr, port,
	    ip_current_dest_addr(), cap->ubuf, n))
		return;
	if ((fake = cap_fake_name(cap, ip_current_dest_addr(), host,
	    sizeof(host))) == -1)
		return;		/* an address that stands for no name */
	if (fake == 0)
		ip_text(ip_current_dest_addr(), host, sizeof(host));
	if ((us = usess_get(cap, addr, port)) == NULL)
		return;
	usess_touch(us);
	usess_note(us, ip_current_dest_addr(), pcb->local_port, fake == 1, qh,
	    ql);
	stconn_target_once(us->st, host, pcb->local_port);
	stconn_bytes(us->st, 0, n);
	uchan_send(us->uc, host, pcb->local_port, cap->ubuf, n);
}

int
cap_udp_port_ready(struct capture *cap, uint16_t port)
{
	struct udp_pcb *pcb;

	if (cap->udp_ports[port / 8] & (1 << (port % 8)))
		return 0;
	if ((pcb = udp_new_ip_type(IPADDR_TYPE_ANY)) == NULL)
		return -1;
	udp_bind_netif(pcb, &cap->netif);
	if (udp_bind(pcb, IP_ANY_TYPE, port) != ERR_OK) {
		udp_remove(pcb);
		return -1;
	}
	udp_recv(pcb, udp_in, cap);
	cap->udp_ports[port / 8] |= (unsigned char)(1 << (port % 8));
	return 0;
}

static void
ugc_cb(evutil_socket_t fd, short what, void *arg)
{
	struct capture *cap = arg;
	struct cap_usess *us, *tmp;
	time_t now = time(NULL), ttl;

	(void)fd;
	(void)what;
	ttl = (time_t)((cap->l->ttl_ms ? cap->l->ttl_ms : CONF_TTL_DEFAULT) /
	    1000);
	/* oldest first: the first one still in use ends the sweep */
	TAILQ_FOREACH_SAFE(us, &cap->usess, entry, tmp) {
		if (now - us->last <= ttl)
			break;
		usess_free(us);
	}
}

int
cap_udp_init(struct capture *cap)
{
	struct timeval tv = { CAP_UGC_SEC, 0 };
	size_t i;

	TAILQ_INIT(&cap->usess);
	for (i = 0; i < CAP_USESS_BUCKETS; i++)
		LIST_INIT(&cap->ubucket[i]);
	if ((cap->ugc = event_new(cap->wk->base, -1, EV_PERSIST, ugc_cb,
	    cap)) == NULL)
		return -1;
	event_add(cap->ugc, &tv);
	return 0;
}
