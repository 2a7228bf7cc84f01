/*
 * A tun inbound without a peer: the capture.  The monitor creates the
 * device (address, MTU, routes) and hands the worker its descriptor;
 * the worker feeds every packet to lwIP and takes each TCP connection
 * lwIP accepts as a flow to its original destination, dialed as a
 * proxy listener dials (rules, chains, outbounds) and relayed.
 *
 * Debian's liblwip is built with NO_SYS=0 (the GNU Hurd's lwipopts.h).
 * Its raw API needs no thread of its own: lwip_init() (not
 * tcpip_init()) starts none, the core-locking checks pass while no
 * thread claimed to be lwIP's, and sys_check_timeouts() runs its timers
 * from our loop.  Everything lwIP does happens on the worker's thread.
 *
 * lwIP only accepts packets for its interface's own address, and TCP
 * connections for ports someone listens on.  A capture wants every
 * address and port: before each packet goes in, the interface takes
 * the packet's destination as its address (set in place: the setter
 * would reset the connections bound to the old one), and a listener
 * bound to the interface is made for a port the first time a SYN comes
 * for it.  Between packets the interface has no address; what lwIP
 * sends on its own (retransmissions) leaves by the interface the
 * connection is bound to.  A packet whose source is its destination,
 * or a loopback, multicast or unspecified address, never goes in:
 * lwIP would loop it back through a thread it does not have here.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

/* before lwIP, whose stats.h has a macro of the same name */
#include "core/stats.h"
#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/timeouts.h"

#include "log.h"
#include "worker.h"
#include "core/conn.h"
#include "core/dial.h"
#include "capture/capture.h"
#include "capture/capture_int.h"
#include "handler/handler.h"
#include "proto/ippkt.h"
#include "proto/proto.h"

static struct event	*cap_timer;
static int		 lwip_ready;
static LIST_HEAD(, capture) captures = LIST_HEAD_INITIALIZER(captures);

void
capture_drain(void)
{
	struct capture *cap;
	struct tcp_pcb *pcb;
	u8_t idx;

	LIST_FOREACH(cap, &captures, entry) {
		if (cap->ev == NULL)
			continue;
		event_free(cap->ev);
		cap->ev = NULL;
		close(cap->fd);
		cap->fd = -1;
		idx = netif_get_index(&cap->netif);
		/* tcp_abort unlinks the pcb: start over each time */
		for (;;) {
			for (pcb = tcp_active_pcbs; pcb != NULL;
			    pcb = pcb->next)
				if (pcb->netif_idx == idx)
					break;
			if (pcb == NULL)
				break;
			tcp_abort(pcb);
		}
		debug("%s: capture handed over", cap->l->tun.name);
	}
	capture_timers();
}

struct worker *
capture_worker(const struct capture *cap)
{
	return cap->wk;
}

/* Run lwIP's timers when the next one is due. */
static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	sys_check_timeouts();
	capture_timers();
}

void
capture_timers(void)
{
	struct timeval tv;
	u32_t ms;

	if (cap_timer == NULL)
		return;
	ms = sys_timeouts_sleeptime();
	if (ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE) {
		event_del(cap_timer);
		return;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	event_add(cap_timer, &tv);
}

/* lwIP's packets out: one write each (the device takes whole packets). */
static err_t
cap_output(struct netif *netif, struct pbuf *p)
{
	struct capture *cap = netif->state;
	unsigned char *b = cap->obuf;
	ssize_t n;

	if (p->next == NULL)
		b = p->payload;
	else if (pbuf_copy_partial(p, b, p->tot_len, 0) != p->tot_len)
		return ERR_BUF;
	if (cap->fd == -1)
		return ERR_OK;
	if ((n = write(cap->fd, b, p->tot_len)) == -1) {
		/* a full queue loses the packet, as a link would */
		debug_f("%s: write: %s", cap->l->tun.name, strerror(errno));
		return ERR_OK;
	}
	cap->wk->stats.bytes_out += (uint64_t)n;
	return ERR_OK;
}

static err_t
cap_output4(struct netif *netif, struct pbuf *p, const ip4_addr_t *dst)
{
	(void)dst;
	return cap_output(netif, p);
}

/*
 * IPv6 neighbour discovery and MLD mean nothing on a tun device: lwIP's
 * own are not sent.
 */
static err_t
cap_output6(struct netif *netif, struct pbuf *p, const ip6_addr_t *dst)
{
	unsigned char h[41];

	(void)dst;
	if (pbuf_copy_partial(p, h, sizeof(h), 0) == sizeof(h) &&
	    h[6] == IPPKT_ICMP6 && h[40] >= 130 && h[40] <= 143)
		return ERR_OK;
	return cap_output(netif, p);
}

static err_t
cap_netif_init(struct netif *netif)
{
	struct capture *cap = netif->state;

	netif->name[0] = 'c';
	netif->name[1] = 'p';
	netif->output = cap_output4;
	netif->output_ip6 = cap_output6;
	/* lwIP's MSS follows from it: the device's MTU clamps it */
	netif->mtu = (u16_t)cap->l->tun.mtu;
	netif->flags = 0;
	return ERR_OK;
}

static void
cap_dialed(void *arg, struct conn *up, int err)
{
	struct conn *c = arg;
	struct worker *wk = c->wk;

	if (up == NULL) {
		debug("capture: a flow's dial failed: %s", strerror(err));
		capture_flow_abort(c);
		conn_free(c);
		worker_conn_closed(wk);
		return;
	}
	relay_conns(wk, c, up, 0);
}

static err_t
cap_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct capture *cap = arg;
	char host[PROXY_HOST_MAX + 1];
	char src[INET6_ADDRSTRLEN];
	const char *name;
	struct conn *c;
	struct dial *d;
	struct stconn *st;
	int isfake;

	if (err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	/* a fake address: the flow goes to the name it stands for */
	if ((name = cap_fake_name(cap, &pcb->local_ip, &isfake)) != NULL)
		snprintf(host, sizeof(host), "%s", name);
	else if (isfake) {
		tcp_abort(pcb);
		return ERR_ABRT;
	} else if (IP_IS_V4(&pcb->local_ip))
		inet_ntop(AF_INET, &ip_2_ip4(&pcb->local_ip)->addr, host,
		    sizeof(host));
	else
		inet_ntop(AF_INET6, ip_2_ip6(&pcb->local_ip)->addr, host,
		    sizeof(host));
	if ((c = capture_flow_new(cap, pcb)) == NULL) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	cap->wk->stats.accepted++;
	cap->wk->stats.active++;
	debug("%s: flow to %s port %u", cap->l->tun.name, host,
	    pcb->local_port);
	/* a captured flow is a client's connection: its record */
	if ((st = stconn_new(cap->wk, cap->dl.idx, NULL)) != NULL) {
		if (IP_IS_V4(&pcb->remote_ip))
			inet_ntop(AF_INET, &ip_2_ip4(&pcb->remote_ip)->addr,
			    src, sizeof(src));
		else
			inet_ntop(AF_INET6, ip_2_ip6(&pcb->remote_ip)->addr,
			    src, sizeof(src));
		stconn_client_name(st, src, pcb->remote_port);
		stconn_attach(st, c);
	}
	/* the dial answers from the loop, never inside lwIP */
	if ((d = dial_start(&cap->dl, host, pcb->local_port, 0, cap_dialed,
	    c)) != NULL)
		dial_set_stats(d, st);
	else {
		capture_flow_abort(c);
		conn_free(c);
		worker_conn_closed(cap->wk);
		return ERR_ABRT;
	}
	return ERR_OK;
}

/* A listener on port for every address of the interface, once. */
static int
tcp_port_ready(struct capture *cap, uint16_t port)
{
	struct tcp_pcb *pcb, *lpcb;
	err_t e;

	if (cap->tcp_ports[port / 8] & (1 << (port % 8)))
		return 0;
	if ((pcb = tcp_new_ip_type(IPADDR_TYPE_ANY)) == NULL)
		return -1;
	tcp_bind_netif(pcb, &cap->netif);
	if ((e = tcp_bind(pcb, IP_ANY_TYPE, port)) != ERR_OK) {
		debug_f("port %u: bind: %d", port, e);
		tcp_close(pcb);
		return -1;
	}
	if ((lpcb = tcp_listen_with_backlog_and_err(pcb, 255, &e)) == NULL) {
		tcp_close(pcb);
		return -1;
	}
	tcp_arg(lpcb, cap);
	tcp_accept(lpcb, cap_accept);
	cap->tcp_ports[port / 8] |= (unsigned char)(1 << (port % 8));
	return 0;
}

/* The interface answers for dst while one packet goes in. */
static void
netif_claim(struct capture *cap, const struct ippkt *pk)
{
	struct netif *nif = &cap->netif;

	if (pk->family == AF_INET) {
		memcpy(&ip_2_ip4(&nif->ip_addr)->addr, pk->dst, 4);
		IP_SET_TYPE_VAL(nif->ip_addr, IPADDR_TYPE_V4);
		ip4_addr_set_u32(ip_2_ip4(&nif->netmask), 0xffffffffUL);
	} else {
		memcpy(ip_2_ip6(&nif->ip6_addr[0])->addr, pk->dst, 16);
		IP_SET_TYPE_VAL(nif->ip6_addr[0], IPADDR_TYPE_V6);
		ip6_addr_clear_zone(ip_2_ip6(&nif->ip6_addr[0]));
		nif->ip6_addr_state[0] = IP6_ADDR_PREFERRED;
	}
}

static void
netif_release(struct capture *cap)
{
	struct netif *nif = &cap->netif;

	ip4_addr_set_u32(ip_2_ip4(&nif->ip_addr), 0);
	nif->ip6_addr_state[0] = IP6_ADDR_INVALID;
}

static void
cap_input(struct capture *cap, const unsigned char *p, size_t n)
{
	struct ippkt pk;
	struct pbuf *pb;

	if (ippkt_parse(p, n, &pk) != 0 || ippkt_unroutable(&pk)) {
		cap->dropped++;
		return;
	}
	if (pk.proto == IPPKT_TCP && pk.ports &&
	    (pk.tcpflags & (IPPKT_TCP_SYN | IPPKT_TCP_ACK)) ==
	    IPPKT_TCP_SYN && tcp_port_ready(cap, pk.dport) != 0) {
		cap->dropped++;
		return;
	}
	if (pk.proto == IPPKT_UDP && pk.ports &&
	    cap_udp_port_ready(cap, pk.dport) != 0) {
		cap->dropped++;
		return;
	}
	if ((pb = pbuf_alloc(PBUF_RAW, (u16_t)pk.len, PBUF_RAM)) == NULL) {
		cap->dropped++;
		return;
	}
	if (pbuf_take(pb, p, (u16_t)pk.len) != ERR_OK) {
		pbuf_free(pb);
		cap->dropped++;
		return;
	}
	netif_claim(cap, &pk);
	/* lwIP takes the pbuf, whatever it does with it */
	if (ip_input(pb, &cap->netif) != ERR_OK)
		cap->dropped++;
	netif_release(cap);
}

static void
dev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct capture *cap = arg;
	ssize_t n;
	int i;

	(void)what;
	for (i = 0; i < CAP_READS; i++) {
		n = read(fd, cap->buf, sizeof(cap->buf));
		if (n <= 0)
			break;
		cap->wk->stats.bytes_in += (uint64_t)n;
		/* a datagram's IPv4 or IPv6 length field bounds it */
		if (n > 0xffff) {
			cap->dropped++;
			continue;
		}
		cap_input(cap, cap->buf, (size_t)n);
	}
	capture_timers();
}

int
capture_start(struct worker *wk, const struct listener_conf *l, size_t idx,
    int fd)
{
	struct capture *cap;
	int tunfd;

	(void)fd;
	if ((tunfd = mm_tun_open(wk, l->tun.name)) == -1)
		fatal("%s: device %s: %s", l->node->url, l->tun.name,
		    strerror(errno));
	if ((cap = calloc(1, sizeof(*cap))) == NULL)
		return -1;
	cap->wk = wk;
	cap->l = l;
	cap->fd = tunfd;
	if (dialer_init(&cap->dl, wk, l, idx) != 0 || cap_udp_init(cap) != 0 ||
	    cap_dns_init(cap) != 0)
		return -1;
	if (!lwip_ready) {
		lwip_init();
		lwip_ready = 1;
		if ((cap_timer = evtimer_new(wk->base, timer_cb, NULL)) ==
		    NULL)
			return -1;
	}
	if (netif_add(&cap->netif, IP4_ADDR_ANY4, IP4_ADDR_ANY4,
	    IP4_ADDR_ANY4, cap, cap_netif_init, ip_input) == NULL)
		return -1;
	/* no router solicitations, no address autoconfiguration */
	cap->netif.rs_count = 0;
	netif_set_up(&cap->netif);
	netif_set_link_up(&cap->netif);
	evutil_make_socket_nonblocking(tunfd);
	if ((cap->ev = event_new(wk->base, tunfd, EV_READ | EV_PERSIST,
	    dev_cb, cap)) == NULL)
		return -1;
	event_add(cap->ev, NULL);
	LIST_INSERT_HEAD(&captures, cap, entry);
	capture_timers();
	logit("%s: capture on %s (mtu %u)", l->node->url, l->tun.name,
	    l->tun.mtu);
	return 0;
}
