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
#include <sys/time.h>
#include <sys/uio.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
#include "proto/sni.h"
#include "proto/vnet.h"
#include "err.h"

/*
 * Sniffing: a flow to an address that is not a fake one waits for its
 * first bytes (a TLS ClientHello's SNI, an HTTP request's Host) at most
 * CAP_SNIFF_MS, then is dialed, to the name when one was found.  The
 * bytes stay in the flow's receive queue for the relay; lwIP's window
 * (64 KiB) holds a whole ClientHello record.  Server-first protocols
 * (SSH, SMTP) pay the wait once per connection, as with sing-box's
 * sniff; sniff=false turns it off.
 */
#define CAP_SNIFF_MS	300
#define CAP_SNIFF_MAX	1024		/* flows waiting at once */

struct cap_sniff {
	LIST_ENTRY(cap_sniff)	 entry;
	struct capture		*cap;
	struct conn		*c;
	struct event		*ev;		/* deadline, or news */
	struct timeval		 deadline;
	struct sockaddr_storage	 sa;		/* where the flow went */
	socklen_t		 salen;
	char			 host[PROXY_HOST_MAX + 1];
	uint16_t		 port;
};

static unsigned char	 sniff_buf[SNI_HELLO_MAX];
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
		cap_icmp_drain(cap);
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

void
cap_write(struct capture *cap, const unsigned char *p, size_t n)
{
	/* no offload asked for: the packet is whole and checksummed */
	static unsigned char vnet[CAP_VNET];
	struct iovec iov[2];
	ssize_t w;

	if (cap->fd == -1)
		return;
	iov[0].iov_base = vnet;
	iov[0].iov_len = sizeof(vnet);
	iov[1].iov_base = (void *)p;
	iov[1].iov_len = n;
	if ((w = writev(cap->fd, iov, 2)) == -1) {
		/* a full queue loses the packet, as a link would */
		debug_f("%s: write: %s", cap->l->tun.name, strerror(errno));
		return;
	}
	cap->wk->stats.bytes_out += (uint64_t)w;
}

void
cap_tx_flush(struct capture *cap)
{
	size_t n;
	ssize_t w;

	if ((n = vnet_gro_finish(&cap->tx)) == 0 || cap->fd == -1)
		return;
	if ((w = write(cap->fd, cap->txb, n)) == -1) {
		debug_f("%s: write: %s", cap->l->tun.name, strerror(errno));
		return;
	}
	cap->wk->stats.bytes_out += (uint64_t)w;
}

static void
tx_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cap_tx_flush(arg);
}

/*
 * lwIP's packets out.  A TCP data segment waits, to be joined by the
 * ones lwIP sends next (they come in a burst, from one call into it):
 * the packet goes when something else comes, or at the latest once
 * the loop has run what is active now.
 */
static err_t
cap_output(struct netif *netif, struct pbuf *p)
{
	struct capture *cap = netif->state;
	unsigned char *b = cap->obuf;

	if (p->next == NULL)
		b = p->payload;
	else if (pbuf_copy_partial(p, b, p->tot_len, 0) != p->tot_len)
		return ERR_BUF;
	switch (vnet_gro_add(&cap->tx, b, p->tot_len)) {
	case 1:
		/* written once the loop has run what is active now */
		if (cap->txev != NULL)
			event_active(cap->txev, EV_TIMEOUT, 0);
		return ERR_OK;
	case 0:
		return ERR_OK;
	}
	cap_tx_flush(cap);
	switch (vnet_gro_add(&cap->tx, b, p->tot_len)) {
	case 1:
		if (cap->txev != NULL)
			event_active(cap->txev, EV_TIMEOUT, 0);
		break;
	case -1:
		cap_write(cap, b, p->tot_len);
		break;
	}
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

static void
sniff_free(struct cap_sniff *sn)
{
	capture_flow_watch(sn->c, NULL, NULL);
	LIST_REMOVE(sn, entry);
	sn->cap->nsniffs--;
	event_free(sn->ev);
	free(sn);
}

/*
 * The name the first bytes carry: 1 found, 0 none (dial the address
 * now), -1 not yet (wait for more).
 */
static int
sniff_name(const unsigned char *p, size_t n, int ended, char *name,
    size_t namelen)
{
	struct sni_hello h;
	unsigned char a[16];
	uint16_t port;
	size_t i;
	int r;

	if (n == 0)
		return ended ? 0 : -1;
	if (p[0] == 0x16) {
		r = sni_parse(p, n, &h);
		if (r == 0 && h.host[0] != '\0')
			snprintf(name, namelen, "%s", h.host);
	} else {
		/* an HTTP method: capitals up to a space */
		for (i = 0; i < n && i < 8 && p[i] >= 'A' && p[i] <= 'Z'; i++)
			;
		if (i == n && i < 8)
			return ended ? 0 : -1;
		if (i == 0 || i == 8 || p[i] != ' ')
			return 0;
		r = sni_http_host(p, n, name, namelen, &port);
	}
	if (r == ERR_INCOMPLETE)
		return ended || n >= sizeof(sniff_buf) ? 0 : -1;
	if (r != 0 || name[0] == '\0')
		return 0;
	/* a Host that is an address names nothing new */
	if (inet_pton(AF_INET, name, a) == 1 ||
	    inet_pton(AF_INET6, name, a) == 1)
		return 0;
	return 1;
}

/* Look at what came; dial when the name is known or the wait is over. */
static void
sniff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cap_sniff *sn = arg;
	struct capture *cap = sn->cap;
	struct conn *c = sn->c;
	char name[SNI_HOST_MAX + 1];
	struct timeval now, left;
	struct dial *d;
	size_t n;
	int ended, r;

	(void)fd;
	n = capture_flow_peek(c, sniff_buf, sizeof(sniff_buf), &ended);
	name[0] = '\0';
	r = sniff_name(sniff_buf, n, ended, name, sizeof(name));
	if (ended == 2) {
		/* reset by the client, or handed over: nothing to dial */
		sniff_free(sn);
		capture_flow_abort(c);
		conn_free(c);
		worker_conn_closed(cap->wk);
		return;
	}
	if (r < 0 && !(what & EV_TIMEOUT)) {
		/* news ended the wait's event: wait on for what is left */
		event_base_gettimeofday_cached(cap->wk->base, &now);
		if (timercmp(&now, &sn->deadline, <)) {
			timersub(&sn->deadline, &now, &left);
			event_add(sn->ev, &left);
			return;
		}
	}
	if (r == 1) {
		debug("%s: flow to %s port %u (sniffed %s)",
		    cap->l->tun.name, sn->host, sn->port, name);
		d = dial_start_at(&cap->dl, name, (struct sockaddr *)&sn->sa,
		    sn->salen, sn->port, 0, cap_dialed, c);
	} else {
		debug("%s: flow to %s port %u", cap->l->tun.name, sn->host,
		    sn->port);
		d = dial_start(&cap->dl, sn->host, sn->port, 0, cap_dialed, c);
	}
	sniff_free(sn);
	if (d != NULL)
		dial_set_stats(d, conn_stats(c));
	else {
		capture_flow_abort(c);
		conn_free(c);
		worker_conn_closed(cap->wk);
	}
}

/* From inside lwIP: only schedule the look. */
static void
sniff_news(void *arg)
{
	struct cap_sniff *sn = arg;

	event_active(sn->ev, EV_READ, 1);
}

static int
sniff_start(struct capture *cap, struct conn *c, const ip_addr_t *dst,
    const char *host, uint16_t port)
{
	struct timeval tv = { 0, CAP_SNIFF_MS * 1000 }, now;
	struct cap_sniff *sn;

	if ((sn = calloc(1, sizeof(*sn))) == NULL)
		return -1;
	if ((sn->ev = event_new(cap->wk->base, -1, 0, sniff_cb, sn)) ==
	    NULL) {
		free(sn);
		return -1;
	}
	sn->cap = cap;
	sn->c = c;
	sn->port = port;
	snprintf(sn->host, sizeof(sn->host), "%s", host);
	if (IP_IS_V4(dst))
		sockaddr_set(&sn->sa, &sn->salen, AF_INET,
		    &ip_2_ip4(dst)->addr, port);
	else
		sockaddr_set(&sn->sa, &sn->salen, AF_INET6,
		    ip_2_ip6(dst)->addr, port);
	event_base_gettimeofday_cached(cap->wk->base, &now);
	timeradd(&now, &tv, &sn->deadline);
	event_add(sn->ev, &tv);
	LIST_INSERT_HEAD(&cap->sniffs, sn, entry);
	cap->nsniffs++;
	capture_flow_watch(c, sniff_news, sn);
	return 0;
}

static err_t
cap_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct capture *cap = arg;
	char host[PROXY_HOST_MAX + 1];
	char src[INET6_ADDRSTRLEN];
	struct conn *c;
	struct dial *d;
	struct stconn *st;
	int fake;

	if (err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	if (cap->nflows >= CAP_FLOWS_MAX) {
		cap_flood_log(cap, "flows", CAP_FLOWS_MAX, 1);
		cap->dropped++;
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	/* a fake address: the flow goes to the name it stands for */
	if ((fake = cap_fake_name(cap, &pcb->local_ip, host,
	    sizeof(host))) == 1)
		;
	else if (fake == -1) {
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
	if (fake == 0 && !cap->l->tun.no_sniff &&
	    cap->nsniffs < CAP_SNIFF_MAX &&
	    sniff_start(cap, c, &pcb->local_ip, host, pcb->local_port) == 0)
		return ERR_OK;
	debug("%s: flow to %s port %u", cap->l->tun.name, host,
	    pcb->local_port);
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

/* One line per 10 s of a flood, not one per packet. */
void
cap_flood_log(struct capture *cap, const char *what, size_t limit,
    size_t n)
{
	time_t now = time(NULL);

	if (now - cap->flood_logged < 10)
		return;
	cap->flood_logged = now;
	logit("%s: over %zu %s: %zu dropped (a flood?)", cap->l->tun.name,
	    limit, what, n);
}

/*
 * Keep the half-open and TIME-WAIT pcbs within their limits: the
 * oldest go, without a reset (a spoofed source gets nothing more).
 * The lists are newest first; a scan every CAP_HALFOPEN_MAX / 4 SYNs
 * keeps the cost per SYN constant and the count within 1.25 times the
 * limit.
 */
static void
cap_trim(struct capture *cap)
{
	static struct tcp_pcb *half[CAP_HALFOPEN_MAX * 2];
	struct tcp_pcb *pcb, *next;
	u8_t idx = netif_get_index(&cap->netif);
	size_t n = 0, i, keep, drop = 0;

	cap->syn_in = 0;
	for (pcb = tcp_active_pcbs; pcb != NULL && n < sizeof(half) /
	    sizeof(half[0]); pcb = pcb->next)
		if (pcb->state == SYN_RCVD && pcb->netif_idx == idx)
			half[n++] = pcb;
	if (n > CAP_HALFOPEN_MAX) {
		/* down to three quarters: the next scan is a while off */
		keep = CAP_HALFOPEN_MAX * 3 / 4;
		for (i = keep; i < n; i++)
			tcp_abandon(half[i], 0);
		drop += n - keep;
	}
	for (n = 0, pcb = tcp_tw_pcbs; pcb != NULL; pcb = next) {
		next = pcb->next;
		if (++n > CAP_TW_MAX) {
			tcp_abandon(pcb, 0);
			drop++;
		}
	}
	if (drop > 0) {
		cap->dropped += drop;
		cap_flood_log(cap, "half-open connections", CAP_HALFOPEN_MAX,
		    drop);
	}
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
	    IPPKT_TCP_SYN) {
		if (tcp_port_ready(cap, pk.dport) != 0) {
			cap->dropped++;
			return;
		}
		if (++cap->syn_in >= CAP_HALFOPEN_MAX / 4)
			cap_trim(cap);
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

/*
 * What the vnet header asks of us before lwIP sees the packet: the
 * checksum the kernel left partial, completed; a TSO segment is taken
 * whole (lwIP takes any in-window segment, whatever its MSS).  0, or
 * -1 to drop.
 */
static int
vnet_in(unsigned char *b, size_t n)
{
	struct virtio_net_hdr vh;

	memcpy(&vh, b, sizeof(vh));
	return vnet_csum(&vh, b + CAP_VNET, n);
}

static void
dev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct capture *cap = arg;
	ssize_t n;
	size_t len;
	int i;

	(void)what;
	for (i = 0; i < CAP_READS; i++) {
		n = read(fd, cap->buf, sizeof(cap->buf));
		if (n <= 0)
			break;
		cap->wk->stats.bytes_in += (uint64_t)n;
		/* a datagram's IPv4 or IPv6 length field bounds it */
		if (n < CAP_VNET || (len = (size_t)n - CAP_VNET) > 0xffff ||
		    vnet_in(cap->buf, len) != 0) {
			cap->dropped++;
			continue;
		}
		cap_input(cap, cap->buf + CAP_VNET, len);
	}
	cap_tx_flush(cap);
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
	/* lwIP's checksums are right: no need to check them again */
	cap->tx.buf = cap->txb;
	LIST_INIT(&cap->sniffs);
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
	if (cap_icmp_init(cap) != 0)
		return -1;
	if ((cap->txev = event_new(wk->base, -1, 0, tx_cb, cap)) == NULL)
		return -1;
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
