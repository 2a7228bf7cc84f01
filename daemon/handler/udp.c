/*
 * Datagrams: outbound channels and per-client sessions.
 *
 * A channel (struct uchan) carries one client's datagrams to any
 * destination and brings the answers back with their source.  Each
 * datagram is checked like a connection (action "udp") and routed: a
 * direct one leaves from the channel's own socket; through a chain whose
 * last hop is SOCKS5 it goes as gost's UDP-over-TCP frames (CMD 0xF3)
 * on one TCP connection through the chain; through a Shadowsocks hop as
 * SIP004 UDP packets to that server.
 *
 * Sessions key a listener's clients by address and close after ttl
 * without traffic.  udp:// forwards each client to a target; ssu://
 * opens Shadowsocks packets and relays what they carry.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/queue.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/errqueue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cfgfile.h"
#include "core/dial.h"
#include "core/stats.h"
#include "core/udpbatch.h"
#include "err.h"
#include "log.h"
#include "proto/proto.h"
#include "proto/relay.h"
#include "proto/ss.h"
#include "core/conn.h"
#include "core/codec.h"
#include "core/resolve.h"
#include "worker.h"
#include "core/chain.h"
#include "handler/handler.h"
#include "ostp/client.h"
#include "ostp/session.h"
#include "proto/ostp.h"

#define UDP_MAX		65535
#define UTUN_OUT_MAX	(256 * 1024)	/* queued frames; more are dropped */
#define UCHAN_DNS_TTL	60		/* seconds a resolved name is kept */
#define USESS_MAX	4096		/* sessions per listener */
#define USESS_BUCKETS	1024

struct uchan {
	struct dialer		*dl;
	uchan_cb		 cb;
	uchan_err_cb		 ecb;		/* or NULL */
	void			*arg;
	/* direct: one socket per family */
	int			 fd[2];
	struct event		*ev[2];
	/* a name being resolved, with the one datagram waiting for it */
	struct resolve_req	*rr;
	char			 qname[PROXY_HOST_MAX + 1];
	uint16_t		 qport;
	unsigned char		*qdata;
	size_t			 qlen;
	/* the last name resolved */
	char			 cname[PROXY_HOST_MAX + 1];
	struct sockaddr_storage	 caddr;
	socklen_t		 caddrlen;
	time_t			 cexpire;
	/* through a chain: UDP-over-TCP */
	struct chain_dial	*cd;
	struct conn		*tc;		/* through the chain */
	int			 tready;
	struct cbuf		 tin;
	struct cbuf		 tout;
	int			 trelay;	/* relay framing, one peer */
	struct proxy_target	 tdst;
	int			 backoff;	/* uchan_set_backoff() */
	unsigned int		 tdelay;	/* seconds, the next one */
	time_t			 tnext;		/* no dial before (monotonic) */
	/* through an OSTP node: a UdpAssociate flow of its tunnel */
	struct conn		*oc;
	int			 oready;
	struct cbuf		 oq;		/* [u16 port][u8 hlen][host]
						   [u16 n][data] until open */
	/* through a Shadowsocks hop */
	const struct hop_conf	*ss;
	int			 sfd;
	struct event		*sev;
	/* SIP022: our session, and the server's we heard last */
	unsigned char		 csid[8];
	uint64_t		 cpid;
	int			 have_ssid;
	unsigned char		 ssid[8];
	struct ss22_window	 win;
};

static unsigned char udpbuf[UDP_MAX + 512];

static void uchan_tun_close(struct uchan *);
static void uchan_tun_fail(struct uchan *);

#define UCHAN_BACKOFF_MIN	1	/* seconds (gost's tun client) */
#define UCHAN_BACKOFF_MAX	6

/* The tunnel through the chain failed or ended: when to dial again. */
static void
uchan_tun_backoff(struct uchan *uc)
{
	if (!uc->backoff)
		return;
	if (uc->tdelay < UCHAN_BACKOFF_MIN)
		uc->tdelay = UCHAN_BACKOFF_MIN;
	uc->tnext = mono_sec() + (time_t)uc->tdelay;
	logit("udp: the UDP tunnel through the chain is down; dialed again "
	    "in %us", uc->tdelay);
	uc->tdelay *= 2;
	if (uc->tdelay > UCHAN_BACKOFF_MAX)
		uc->tdelay = UCHAN_BACKOFF_MAX;
}

static int
family_idx(int family)
{
	return family == AF_INET6;
}

static void
uchan_deliver_sa(struct uchan *uc, const struct sockaddr_storage *ss,
    const unsigned char *p, size_t n)
{
	struct proxy_target src;

	memset(&src, 0, sizeof(src));
	sockaddr_host(ss, src.host, sizeof(src.host), &src.port);
	uc->cb(uc->arg, &src, p, n);
}

/* Tell whoever opened the channel what became of a datagram. */
static void
uchan_error(struct uchan *uc, const char *host, uint16_t port, int err,
    const unsigned char *p, size_t n)
{
	if (uc->ecb == NULL)
		return;
	switch (err) {
	case ECONNREFUSED:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EACCES:
		uc->ecb(uc->arg, host, port, err, p, n);
		break;
	}
}

/*
 * The errors ICMP brought (IP_RECVERR): each names the destination
 * and port the datagram went to, and carries what the far end quoted
 * of its payload.  Read them all: a queue left full keeps the socket
 * readable (EPOLLERR) and the loop spinning.
 */
static void
uchan_direct_errors(struct uchan *uc, int fd)
{
	struct sock_extended_err ee;
	struct sockaddr_storage ss, off;
	char host[PROXY_HOST_MAX + 1];
	uint16_t port;
	ssize_t n;
	int i;

	for (i = 0; i < 64; i++) {
		if ((n = udpb_recverr(fd, udpbuf, UDP_MAX, &ss, &ee, &off)) < 0)
			return;
		/*
		 * A router's or the far end's destination unreachable, not
		 * our own errors, nor a time exceeded (which the kernel
		 * also calls EHOSTUNREACH, but which is no such news).
		 */
		if (!((ee.ee_origin == SO_EE_ORIGIN_ICMP && ee.ee_type == 3) ||
		    (ee.ee_origin == SO_EE_ORIGIN_ICMP6 && ee.ee_type == 1)) ||
		    ee.ee_errno == 0 || (ss.ss_family != AF_INET &&
		    ss.ss_family != AF_INET6))
			continue;
		sockaddr_host(&ss, host, sizeof(host), &port);
		debug("udp: %s port %u: %s", host, port, strerror(ee.ee_errno));
		uchan_error(uc, host, port, (int)ee.ee_errno, udpbuf,
		    (size_t)n);
	}
}

static void
uchan_direct_cb(evutil_socket_t fd, short what, void *arg)
{
	struct uchan *uc = arg;
	struct sockaddr_storage ss;
	socklen_t sl;
	ssize_t n;
	int i;

	(void)what;
	for (i = 0; i < 64; i++) {
		sl = sizeof(ss);
		n = recvfrom(fd, udpbuf, UDP_MAX, 0, (struct sockaddr *)&ss,
		    &sl);
		if (n < 0) {
			/* an ICMP error's errno first, then the datagrams */
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				continue;
			break;
		}
		uc->dl->wk->stats.bytes_out += (uint64_t)n;
		uchan_deliver_sa(uc, &ss, udpbuf, (size_t)n);
	}
	if (uc->ecb != NULL)
		uchan_direct_errors(uc, fd);
}

static int
uchan_socket(struct uchan *uc, int family)
{
	int i = family_idx(family), fd, one = 1;

	if (uc->fd[i] != -1)
		return uc->fd[i];
	if ((fd = dial_socket(uc->dl->wk, uc->dl->l, family,
	    SOCK_DGRAM)) == -1)
		return -1;
	/* an unconnected socket hears of ICMP errors only so */
	if (uc->ecb != NULL && (family == AF_INET6 ? setsockopt(fd,
	    IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one)) : setsockopt(fd,
	    IPPROTO_IP, IP_RECVERR, &one, sizeof(one))) == -1)
		debug_f("RECVERR: %s", strerror(errno));
	uc->fd[i] = fd;
	uc->ev[i] = event_new(uc->dl->wk->base, fd, EV_READ | EV_PERSIST,
	    uchan_direct_cb, uc);
	if (uc->ev[i] == NULL)
		fatal_f("out of memory");
	event_add(uc->ev[i], NULL);
	return fd;
}

static void
uchan_send_addr(struct uchan *uc, const char *host, uint16_t port,
    const struct sockaddr *sa, socklen_t salen, const unsigned char *p,
    size_t n)
{
	char h[PROXY_HOST_MAX + 1];
	uint16_t hp;
	int fd;

	if (dialer_allowed(uc->dl, "udp", host, port, sa) != 0) {
		uchan_error(uc, host, port, EACCES, p, n);
		return;
	}
	if ((fd = uchan_socket(uc, sa->sa_family)) == -1)
		return;
	/*
	 * An ICMP error for an earlier datagram (IP_RECVERR) fails the
	 * next send with its errno, unsent: that one goes again, and
	 * only a second failure is this datagram's own (no route).
	 */
	if (sendto(fd, p, n, 0, sa, salen) >= 0 ||
	    sendto(fd, p, n, 0, sa, salen) >= 0) {
		uc->dl->wk->stats.bytes_in += (uint64_t)n;
		return;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
		return;		/* lost, as on a full link */
	sockaddr_host((const struct sockaddr_storage *)sa, h, sizeof(h), &hp);
	debug("udp: %s port %u: %s", h, hp, strerror(errno));
	uchan_error(uc, h, hp, errno, p, n);
}

static void
uchan_resolved(void *arg, const struct resolve_addrs *a, int err, int last)
{
	struct uchan *uc = arg;

	if (last)
		uc->rr = NULL;
	if (err != 0) {
		if (last) {
			debug("udp: %s: %s", uc->qname, resolve_strerror(err));
			free(uc->qdata);
			uc->qdata = NULL;
		}
		return;
	}
	sockaddr_set(&uc->caddr, &uc->caddrlen, a->family, resolve_addr(a, 0),
	    uc->qport);
	snprintf(uc->cname, sizeof(uc->cname), "%s", uc->qname);
	uc->cexpire = time(NULL) + (a->ttl < UCHAN_DNS_TTL ? a->ttl :
	    UCHAN_DNS_TTL);
	resolve_cancel(uc->rr);		/* the first family to answer */
	uc->rr = NULL;
	uchan_send_addr(uc, uc->qname, uc->qport,
	    (struct sockaddr *)&uc->caddr, uc->caddrlen, uc->qdata, uc->qlen);
	free(uc->qdata);
	uc->qdata = NULL;
}

static void
uchan_direct(struct uchan *uc, const char *host, uint16_t port,
    const unsigned char *p, size_t n)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	const struct hosts_entry *he;
	socklen_t sl = 0;
	int fams;

	memset(&ss, 0, sizeof(ss));
	if (sockaddr_literal(host, port, &ss, &sl) != 0) {
		if ((he = dialer_hosts(uc->dl, host)) != NULL)
			sockaddr_set(&ss, &sl, he->family, he->addr, port);
		else if (strcmp(host, uc->cname) == 0 &&
		    time(NULL) < uc->cexpire) {
			memcpy(&ss, &uc->caddr, uc->caddrlen);
			sl = uc->caddrlen;
			sin->sin_port = htons(port);	/* sin6_port too */
		}
	}
	if (sl != 0) {
		uchan_send_addr(uc, host, port, (struct sockaddr *)&ss, sl, p,
		    n);
		return;
	}
	/* A name: one lookup at a time; datagrams meanwhile are lost. */
	if (uc->rr != NULL || uc->qdata != NULL)
		return;
	if (dialer_allowed(uc->dl, "udp", host, port, NULL) != 0)
		return;
	if ((uc->qdata = malloc(n ? n : 1)) == NULL)
		return;
	memcpy(uc->qdata, p, n);
	uc->qlen = n;
	snprintf(uc->qname, sizeof(uc->qname), "%s", host);
	uc->qport = port;
	/* no racing for datagrams: the preferred family, as gost */
	fams = uc->dl->prefer == AF_INET6 ? RESOLVE_V6 : RESOLVE_V4;
	stats_dns_for(uc->dl->idx);
	uc->rr = resolve_start(dialer_resolver(uc->dl), host, fams,
	    uchan_resolved, uc);
	stats_dns_for(STATS_LIS_NONE);
	if (uc->rr == NULL) {
		free(uc->qdata);
		uc->qdata = NULL;
	}
}

/* UDP-over-TCP through the chain. */
static int
uchan_tun_flush(struct uchan *uc)
{
	if (conn_send_buf(uc->tc, &uc->tout) != 0)
		return -1;
	conn_want(uc->tc, CONN_READ | (uc->tout.len > 0 ? CONN_WRITE : 0));
	return 0;
}

static void
uchan_tun_cb(struct conn *c, int what, void *arg)
{
	struct uchan *uc = arg;
	struct proxy_target src;
	size_t hdrlen, framelen;
	ssize_t n;
	int e;

	if ((what & CONN_WRITE) && uchan_tun_flush(uc) != 0) {
		uchan_tun_fail(uc);
		return;
	}
	if (!(what & CONN_READ))
		return;
	if (cbuf_room(&uc->tin) == 0) {
		uchan_tun_fail(uc);	/* a frame longer than a datagram */
		return;
	}
	n = conn_recv(c, cbuf_tail(&uc->tin), cbuf_room(&uc->tin));
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		debug("udp: the chain's UDP tunnel closed");
		uchan_tun_fail(uc);
		return;
	}
	if (n < 0)
		return;
	uc->tin.len += (size_t)n;
	while (uc->trelay) {
		e = relay_parse_datagram(uc->tin.p + uc->tin.off, uc->tin.len,
		    &hdrlen, &framelen);
		if (e == ERR_INCOMPLETE)
			return;
		if (e != 0) {
			uchan_tun_fail(uc);
			return;
		}
		uc->dl->wk->stats.bytes_out += framelen;
		uc->cb(uc->arg, &uc->tdst, uc->tin.p + uc->tin.off + hdrlen,
		    framelen);
		cbuf_consume(&uc->tin, hdrlen + framelen);
	}
	for (;;) {
		e = socks5_parse_udptun(uc->tin.p + uc->tin.off, uc->tin.len,
		    &src, &hdrlen, &framelen);
		if (e == ERR_INCOMPLETE)
			break;
		if (e != 0) {
			debug("udp: bad frame from the chain: %s",
			    ostp_err(e));
			uchan_tun_fail(uc);
			return;
		}
		uc->dl->wk->stats.bytes_out += framelen - hdrlen;
		uc->cb(uc->arg, &src, uc->tin.p + uc->tin.off + hdrlen,
		    framelen - hdrlen);
		cbuf_consume(&uc->tin, framelen);
	}
}

static void
uchan_tun_ready(void *arg, struct conn *c, int err)
{
	struct uchan *uc = arg;

	uc->cd = NULL;
	if (c == NULL) {
		debug("udp: no UDP tunnel through the chain: %s",
		    strerror(err));
		cbuf_release(&uc->tout);
		uchan_tun_backoff(uc);
		return;
	}
	/* the frames go on the chain's connection, whatever its layers */
	uc->tc = c;
	uc->tready = 1;
	uc->tdelay = UCHAN_BACKOFF_MIN;
	if (uc->backoff)
		logit("udp: UDP tunnel through the chain up");
	if (cbuf_alloc(&uc->tin, UDP_MAX + 512) != 0)
		fatal_f("out of memory");
	conn_set_cb(c, uchan_tun_cb, uc);
	if (uchan_tun_flush(uc) != 0)
		uchan_tun_fail(uc);
}

static void
uchan_tun_close(struct uchan *uc)
{
	chain_dial_cancel(uc->cd);
	uc->cd = NULL;
	conn_free(uc->tc);
	uc->tc = NULL;
	uc->tready = 0;
	cbuf_release(&uc->tin);
	cbuf_release(&uc->tout);
}

/* The tunnel failed or ended: closed, and dialed again (back-off). */
static void
uchan_tun_fail(struct uchan *uc)
{
	uchan_tun_close(uc);
	uchan_tun_backoff(uc);
}

/*
 * Through a chain: gost's UDP-over-TCP frames to a SOCKS5 last hop (any
 * destination), or a relay hop's UDP mode (LEN DATA; the connection is
 * for the first destination, others are dropped).
 */
static void
uchan_tun(struct uchan *uc, const struct outbound_conf *ob, int relay,
    const char *host, uint16_t port, const unsigned char *p, size_t n)
{
	unsigned char *t;
	size_t al;

	if (n == 0 || n > 0xffff)
		return;		/* gost reads DLEN 0 as "the rest" */
	if (uc->tout.p == NULL && !uc->tready && uc->cd == NULL) {
		uc->trelay = relay;
		snprintf(uc->tdst.host, sizeof(uc->tdst.host), "%s", host);
		uc->tdst.port = port;
	}
	if (uc->trelay != relay || (relay && (uc->tdst.port != port ||
	    strcmp(uc->tdst.host, host) != 0))) {
		debug("udp: the relay hop carries datagrams for %s:%u only",
		    uc->tdst.host, uc->tdst.port);
		return;
	}
	if (uc->backoff && !uc->tready && uc->cd == NULL &&
	    mono_sec() < uc->tnext)
		return;		/* backing off: the datagram is lost */
	if (cbuf_alloc(&uc->tout, UTUN_OUT_MAX) != 0)
		return;
	if (cbuf_room(&uc->tout) < n + 4 + 1 + PROXY_HOST_MAX + 2)
		return;		/* the chain is slower than the client */
	t = cbuf_tail(&uc->tout);
	if (relay) {
		relay_put_datagram_len(t, n);
		memcpy(t + 2, p, n);
		uc->tout.len += 2 + n;
	} else {
		if ((al = socks5_put_addr(t + 3, PROXY_HOST_MAX + 4, host,
		    port)) == 0)
			return;
		t[0] = (unsigned char)(n >> 8);
		t[1] = (unsigned char)n;
		t[2] = 0;
		memcpy(t + 3 + al, p, n);
		uc->tout.len += 3 + al + n;
	}
	uc->dl->wk->stats.bytes_in += (uint64_t)n;
	if (uc->tready) {
		if (uchan_tun_flush(uc) != 0)
			uchan_tun_fail(uc);
		return;
	}
	if (uc->cd == NULL && (uc->cd = chain_dial_start(uc->dl->wk, ob,
	    uc->dl, relay ? host : "0.0.0.0", relay ? port : 0, CHAIN_UDPTUN,
	    uchan_tun_ready, uc)) == NULL)
		cbuf_release(&uc->tout);
}

/* Shadowsocks UDP to the hop's server. */
static void
uchan_ss_cb(evutil_socket_t fd, short what, void *arg)
{
	struct uchan *uc = arg;
	static unsigned char plain[UDP_MAX + 512];
	struct proxy_target src;
	size_t len, used;
	ssize_t n;

	(void)what;
	while ((n = recv(fd, udpbuf, UDP_MAX, 0)) > 0) {
		if (uc->ss->ss_method->kind == SS_KIND_2022) {
			struct ss22_packet pk;
			const unsigned char *d;
			size_t dl;

			if (ss22_udp_open(uc->ss->ss_method, uc->ss->ss_key,
			    udpbuf, (size_t)n, &pk, &d, &dl) != 0 ||
			    pk.type != 1 || memcmp(pk.csid, uc->csid, 8) != 0) {
				debug("udp: a packet from %s does not open",
				    uc->ss->host);
				continue;
			}
			if (!uc->have_ssid || memcmp(pk.sid, uc->ssid, 8) != 0) {
				/* a new server session: a new window */
				memcpy(uc->ssid, pk.sid, 8);
				memset(&uc->win, 0, sizeof(uc->win));
				uc->have_ssid = 1;
			}
			if (ss22_window_check(&uc->win, pk.pid) != 0 ||
			    socks5_parse_addr(d, dl, &src, &used) != 0)
				continue;	/* replayed or malformed */
			uc->dl->wk->stats.bytes_out += dl - used;
			uc->cb(uc->arg, &src, d + used, dl - used);
			continue;
		}
		if (ss_udp_open(uc->ss->ss_method, uc->ss->ss_key, udpbuf,
		    (size_t)n, plain, sizeof(plain), &len) != 0 ||
		    socks5_parse_addr(plain, len, &src, &used) != 0) {
			debug("udp: a packet from %s does not open",
			    uc->ss->host);
			continue;
		}
		uc->dl->wk->stats.bytes_out += len - used;
		uc->cb(uc->arg, &src, plain + used, len - used);
	}
}

static void
uchan_ss(struct uchan *uc, const struct hop_conf *h, const char *host,
    uint16_t port, const unsigned char *p, size_t n)
{
	static unsigned char pkt[UDP_MAX + 512];
	size_t al, len;

	if (uc->sfd == -1) {
		uc->ss = h;
		uc->sfd = dial_socket(uc->dl->wk, uc->dl->l,
		    h->addr.ss_family, SOCK_DGRAM);
		if (uc->sfd == -1)
			return;
		if (connect(uc->sfd, (const struct sockaddr *)&h->addr,
		    h->addrlen) == -1) {
			close(uc->sfd);
			uc->sfd = -1;
			return;
		}
		uc->sev = event_new(uc->dl->wk->base, uc->sfd,
		    EV_READ | EV_PERSIST, uchan_ss_cb, uc);
		if (uc->sev == NULL)
			fatal_f("out of memory");
		event_add(uc->sev, NULL);
	}
	if ((al = socks5_put_addr(pkt, sizeof(pkt), host, port)) == 0 ||
	    n > UDP_MAX - al - SS_SALT_MAX - SS_TAG_LEN)
		return;
	memcpy(pkt + al, p, n);
	if (h->ss_method->kind == SS_KIND_2022) {
		struct ss22_packet pk;

		if (uc->cpid == 0)
			arc4random_buf(uc->csid, sizeof(uc->csid));
		memset(&pk, 0, sizeof(pk));
		memcpy(pk.sid, uc->csid, 8);
		pk.pid = uc->cpid++;
		pk.type = 0;
		if (ss22_udp_seal(h->ss_method, h->ss_key, &pk, pkt, al + n,
		    pkt, sizeof(pkt), &len) != 0)
			return;
	} else if (ss_udp_seal(h->ss_method, h->ss_key, pkt, al + n, pkt,
	    sizeof(pkt), &len) != 0)
		return;
	if (send(uc->sfd, pkt, len, 0) > 0)
		uc->dl->wk->stats.bytes_in += (uint64_t)n;
}

static void
uchan_ostp_close(struct uchan *uc)
{
	if (uc->oc != NULL)
		conn_free(uc->oc);
	uc->oc = NULL;
	uc->oready = 0;
	cbuf_release(&uc->oq);
}

/* An answer through the OSTP tunnel, from its source. */
static void
uchan_ostp_answer(void *arg, const char *addr, size_t addrlen,
    const unsigned char *p, size_t n)
{
	struct uchan *uc = arg;
	struct proxy_target src;

	memset(&src, 0, sizeof(src));
	if (ostp_addr_split(addr, addrlen, src.host, sizeof(src.host),
	    &src.port) != 0)
		return;
	uc->dl->wk->stats.bytes_out += n;
	uc->cb(uc->arg, &src, p, n);
}

/* The flow opened (what waited goes), or failed (the next one retries). */
static void
uchan_ostp_cb(struct conn *c, int what, void *arg)
{
	struct uchan *uc = arg;
	const unsigned char *q;
	const char *why;
	char host[256];
	size_t hl, n;
	uint16_t port;

	(void)what;
	switch (ostp_stream_status(c, &why)) {
	case 0:
		return;
	case 1:
		break;
	default:
		debug("udp: the OSTP flow failed: %s", why);
		uchan_ostp_close(uc);
		return;
	}
	if (!uc->oready) {
		uc->oready = 1;
		while (uc->oq.len >= 5) {
			q = uc->oq.p + uc->oq.off;
			port = (uint16_t)(q[0] << 8 | q[1]);
			hl = q[2];
			memcpy(host, q + 3, hl);
			host[hl] = '\0';
			n = (size_t)(q[3 + hl] << 8 | q[4 + hl]);
			(void)ostp_stream_udp_send(c, host, port, q + 5 + hl,
			    n);
			cbuf_consume(&uc->oq, 5 + hl + n);
		}
		cbuf_release(&uc->oq);
	}
	/* a flow carries no bytes: its end is what reading shows */
	{
		unsigned char b[64];
		ssize_t r;

		if ((r = conn_recv(c, b, sizeof(b))) == -1 && errno == EAGAIN)
			return;
		uchan_ostp_close(uc);
	}
}

static void
uchan_ostp(struct uchan *uc, const struct hop_conf *h, const char *host,
    uint16_t port, const unsigned char *p, size_t n)
{
	struct egress eg;
	unsigned char hdr[5];
	size_t hl = strlen(host);

	if (uc->oc == NULL) {
		conf_egress(uc->dl->wk->conf, uc->dl->l, &eg);
		if ((uc->oc = ostp_client_flow(uc->dl->wk, h, &eg,
		    uc->dl->res, NULL, 0)) == NULL)
			return;
		ostp_stream_set_udp(uc->oc, uchan_ostp_answer, uc);
		conn_set_cb(uc->oc, uchan_ostp_cb, uc);
		conn_want(uc->oc, CONN_READ);
	}
	if (uc->oready) {
		(void)ostp_stream_udp_send(uc->oc, host, port, p, n);
		uc->dl->wk->stats.bytes_in += (uint64_t)n;
		return;
	}
	/* until the flow opens, a few datagrams wait (64 KiB) */
	if (hl > 255 || n > 0xffff || uc->oq.len + 5 + hl + n > 65536 ||
	    (uc->oq.p == NULL && cbuf_alloc(&uc->oq, 65536) != 0))
		return;
	hdr[0] = (unsigned char)(port >> 8);
	hdr[1] = (unsigned char)port;
	hdr[2] = (unsigned char)hl;
	cbuf_append(&uc->oq, hdr, 3);
	cbuf_append(&uc->oq, host, hl);
	hdr[0] = (unsigned char)(n >> 8);
	hdr[1] = (unsigned char)n;
	cbuf_append(&uc->oq, hdr, 2);
	cbuf_append(&uc->oq, p, n);
}

struct uchan *
uchan_open(struct dialer *dl, uchan_cb cb, void *arg)
{
	struct uchan *uc;

	if ((uc = calloc(1, sizeof(*uc))) == NULL)
		return NULL;
	uc->dl = dl;
	uc->cb = cb;
	uc->arg = arg;
	uc->fd[0] = uc->fd[1] = uc->sfd = -1;
	return uc;
}

void
uchan_close(struct uchan *uc)
{
	int i;

	if (uc == NULL)
		return;
	for (i = 0; i < 2; i++) {
		if (uc->ev[i] != NULL)
			event_free(uc->ev[i]);
		if (uc->fd[i] != -1)
			close(uc->fd[i]);
	}
	resolve_cancel(uc->rr);
	free(uc->qdata);
	uchan_tun_close(uc);
	uchan_ostp_close(uc);
	if (uc->sev != NULL)
		event_free(uc->sev);
	if (uc->sfd != -1)
		close(uc->sfd);
	free(uc);
}

void
uchan_set_errcb(struct uchan *uc, uchan_err_cb ecb)
{
	uc->ecb = ecb;
}

void
uchan_set_backoff(struct uchan *uc, int on)
{
	uc->backoff = on;
	uc->tdelay = UCHAN_BACKOFF_MIN;
}

/* One datagram for host:port, by the route the rules pick. */
void
uchan_send(struct uchan *uc, const char *host, uint16_t port,
    const unsigned char *p, size_t n)
{
	const struct conf *c = uc->dl->wk->conf;
	const struct outbound_conf *ob;
	const struct hop_conf *last;
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	int literal;

	literal = sockaddr_literal(host, 0, &ss, &sl) == 0;
	if (dialer_allowed(uc->dl, "udp", host, port, NULL) != 0) {
		uchan_error(uc, host, port, EACCES, p, n);
		return;
	}
	if (uc->dl->direct) {		/* rudp: the target is ours */
		uchan_direct(uc, host, port, p, n);
		return;
	}
	ob = &c->obs[router_pick(c, uc->dl->idx, sl ? (struct sockaddr *)&ss :
	    NULL, literal ? NULL : host, port)];
	if (ob->type == OB_BLOCK) {
		debug("udp: %s port %u blocked by a routing rule", host, port);
		uchan_error(uc, host, port, EACCES, p, n);
		return;
	}
	if (ob->type != OB_CHAIN || chain_hops_for(ob, host, port) == 0) {
		uchan_direct(uc, host, port, p, n);
		return;
	}
	last = &ob->hops[chain_hops_for(ob, host, port) - 1];
	if (last->kind == HOP_SOCKS5 || last->kind == HOP_RELAY)
		uchan_tun(uc, ob, last->kind == HOP_RELAY, host, port, p, n);
	else if (last->kind == HOP_SS &&
	    conf_ss_packets(last, chain_hops_for(ob, host, port)))
		uchan_ss(uc, last, host, port, p, n);
	else if (last->kind == HOP_SS)
		/* gost's ssu over a stream: the same frames, in its cipher */
		uchan_tun(uc, ob, 0, host, port, p, n);
	else if (last->kind == HOP_OSTP && chain_hops_for(ob, host, port) == 1)
		uchan_ostp(uc, last, host, port, p, n);
	else
		debug("udp: no datagrams through chain %s (its last hop is "
		    "not socks5 or relay, or an ss hop is not the only one)",
		    ob->tag);
}

/*
 * Sessions of a datagram listener: one per client address, each with
 * its channel, closed after ttl without traffic either way.
 */
struct usess;

struct ulistener {
	struct worker			*wk;
	const struct listener_conf	*l;
	struct dialer			 dl;
	size_t				 idx;
	int				 fd;
	struct event			*ev;
	size_t				 next;		/* round robin */
	size_t				 nsess;
	LIST_HEAD(, usess)		 buckets[USESS_BUCKETS];
};

struct usess {
	LIST_ENTRY(usess)	 entry;
	struct ulistener	*ul;
	struct sockaddr_storage	 peer;
	socklen_t		 peerlen;
	struct sockaddr_storage	 odst;		/* redu: where it was sent */
	socklen_t		 odstlen;
	int			 rfd;		/* redu: answers leave here */
	/* ssu with SIP022: the client's session, ours, replay window */
	int			 have_csid;
	unsigned char		 csid[8];
	unsigned char		 ssid[8];
	uint64_t		 spid;
	struct ss22_window	 win;
	struct uchan		*uc;
	struct event		*ttl;
	size_t			 target;
	struct stconn		*st;		/* the client's record */
};

static size_t
usess_hash(const struct sockaddr_storage *ss, socklen_t len,
    const struct sockaddr_storage *od, socklen_t odlen)
{
	const unsigned char *p = (const unsigned char *)ss;
	uint32_t h = 2166136261U;
	socklen_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619U;
	p = (const unsigned char *)od;
	for (i = 0; i < odlen; i++)
		h = (h ^ p[i]) * 16777619U;
	return h % USESS_BUCKETS;
}

static void
usess_free(struct usess *s)
{
	LIST_REMOVE(s, entry);
	s->ul->nsess--;
	uchan_close(s->uc);
	event_free(s->ttl);
	if (s->rfd != -1)
		close(s->rfd);
	stconn_close(s->st);
	free(s);
}

static void
usess_ttl_cb(evutil_socket_t fd, short what, void *arg)
{
	struct usess *s = arg;

	(void)fd;
	(void)what;
	debug("%s: session idle for its ttl; closed", s->ul->l->node->url);
	usess_free(s);
}

static void
usess_touch(struct usess *s)
{
	unsigned long ms = s->ul->l->ttl_ms;
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	event_add(s->ttl, &tv);
}

/* Answers for the client: as they came (udp://) or sealed (ssu://). */
static void
usess_reply_cb(void *arg, const struct proxy_target *src,
    const unsigned char *p, size_t n)
{
	struct usess *s = arg;
	struct ulistener *ul = s->ul;
	static unsigned char pkt[UDP_MAX + 512];
	size_t al, len;

	usess_touch(s);
	stconn_bytes(s->st, 1, n);
	if (ul->l->kind == LIS_REDU) {
		/* from the address the client sent to (TPROXY) */
		(void)sendto(s->rfd, p, n, 0, (struct sockaddr *)&s->peer,
		    s->peerlen);
		return;
	}
	if (ul->l->kind != LIS_SSU) {
		(void)sendto(ul->fd, p, n, 0, (struct sockaddr *)&s->peer,
		    s->peerlen);
		return;
	}
	if ((al = socks5_put_addr(pkt, sizeof(pkt), src->host,
	    src->port)) == 0 || n > UDP_MAX - al - SS_SALT_MAX - SS_TAG_LEN)
		return;
	memcpy(pkt + al, p, n);
	if (ul->l->ss_method->kind == SS_KIND_2022) {
		struct ss22_packet pk;

		if (!s->have_csid)
			return;
		memset(&pk, 0, sizeof(pk));
		memcpy(pk.sid, s->ssid, 8);
		pk.pid = s->spid++;
		pk.type = 1;
		memcpy(pk.csid, s->csid, 8);
		if (ss22_udp_seal(ul->l->ss_method, ul->l->ss_key, &pk, pkt,
		    al + n, pkt, sizeof(pkt), &len) == 0)
			(void)sendto(ul->fd, pkt, len, 0,
			    (struct sockaddr *)&s->peer, s->peerlen);
		return;
	}
	if (ss_udp_seal(ul->l->ss_method, ul->l->ss_key, pkt, al + n, pkt,
	    sizeof(pkt), &len) == 0)
		(void)sendto(ul->fd, pkt, len, 0, (struct sockaddr *)&s->peer,
		    s->peerlen);
}

static struct usess *
usess_get(struct ulistener *ul, const struct sockaddr_storage *peer,
    socklen_t peerlen, const struct sockaddr_storage *od, socklen_t odlen)
{
	size_t b = usess_hash(peer, peerlen, od, odlen);
	struct usess *s;

	LIST_FOREACH(s, &ul->buckets[b], entry)
		if (s->peerlen == peerlen && memcmp(&s->peer, peer,
		    peerlen) == 0 && s->odstlen == odlen &&
		    memcmp(&s->odst, od, odlen) == 0)
			return s;
	if (ul->nsess >= USESS_MAX || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->ul = ul;
	s->rfd = -1;
	memcpy(&s->peer, peer, peerlen);
	s->peerlen = peerlen;
	memcpy(&s->odst, od, odlen);
	s->odstlen = odlen;
	if (ul->l->kind == LIS_REDU &&
	    (s->rfd = mm_tproxy_socket(ul->wk, (uint32_t)ul->idx,
	    (const struct sockaddr *)od)) == -1) {
		debug("%s: no reply socket: %s", ul->l->node->url,
		    strerror(errno));
		free(s);
		return NULL;
	}
	if ((s->uc = uchan_open(&ul->dl, usess_reply_cb, s)) == NULL ||
	    (s->ttl = evtimer_new(ul->wk->base, usess_ttl_cb, s)) == NULL)
		fatal_f("out of memory");
	if (ul->l->ntargets > 0)
		s->target = ul->next++ % ul->l->ntargets;
	/* a session is a client's connection: its record, until it ends */
	if ((s->st = stconn_new(ul->wk, ul->idx, peer)) != NULL)
		stconn_served(s->st);
	LIST_INSERT_HEAD(&ul->buckets[b], s, entry);
	ul->nsess++;
	if (log_get_level() >= LOG_LEVEL_DEBUG1) {
		char ph[PROXY_HOST_MAX + 1], oh[PROXY_HOST_MAX + 1];
		uint16_t pp, op = 0;

		sockaddr_host(peer, ph, sizeof(ph), &pp);
		oh[0] = '\0';
		if (odlen > 0)
			sockaddr_host(od, oh, sizeof(oh), &op);
		debug("%s: new session for %s:%u%s%s", ul->l->node->url, ph,
		    pp, odlen > 0 ? " to " : "", oh);
	}
	return s;
}

/* A client's datagram to its target, counted in its record. */
static void
usess_send(struct usess *s, const char *host, uint16_t port,
    const unsigned char *p, size_t n)
{
	stconn_target_once(s->st, host, port);
	stconn_bytes(s->st, 0, n);
	uchan_send(s->uc, host, port, p, n);
}

static void
ulistener_forward(struct ulistener *ul, struct usess *s,
    const unsigned char *p, size_t n)
{
	const struct listener_conf *l = ul->l;
	char host[PROXY_HOST_MAX + 1];
	uint16_t port;

	if (l->targetnames[s->target] != NULL) {
		snprintf(host, sizeof(host), "%s", l->targetnames[s->target]);
		port = ntohs(((const struct sockaddr_in *)
		    &l->targets[s->target])->sin_port);
	} else
		sockaddr_host(&l->targets[s->target], host, sizeof(host),
		    &port);
	usess_send(s, host, port, p, n);
}

static void
ulistener_ss(struct ulistener *ul, struct usess *s, const unsigned char *p,
    size_t n)
{
	static unsigned char plain[UDP_MAX + 512];
	struct proxy_target dst;
	size_t len, used;

	if (ul->l->ss_method->kind == SS_KIND_2022) {
		struct ss22_packet pk;
		const unsigned char *d;
		size_t dl;

		memcpy(plain, p, n);
		if (ss22_udp_open(ul->l->ss_method, ul->l->ss_key, plain, n,
		    &pk, &d, &dl) != 0 || pk.type != 0) {
			debug("%s: a packet does not authenticate",
			    ul->l->node->url);
			return;
		}
		if (!s->have_csid || memcmp(s->csid, pk.sid, 8) != 0) {
			/* a new client session: ours is new as well */
			memcpy(s->csid, pk.sid, 8);
			arc4random_buf(s->ssid, sizeof(s->ssid));
			s->spid = 0;
			memset(&s->win, 0, sizeof(s->win));
			s->have_csid = 1;
		}
		if (ss22_window_check(&s->win, pk.pid) != 0) {
			debug("%s: replayed packet dropped", ul->l->node->url);
			return;
		}
		if (socks5_parse_addr(d, dl, &dst, &used) != 0) {
			debug("%s: bad address in a packet", ul->l->node->url);
			return;
		}
		usess_send(s, dst.host, dst.port, d + used, dl - used);
		return;
	}
	if (ss_udp_open(ul->l->ss_method, ul->l->ss_key, p, n, plain,
	    sizeof(plain), &len) != 0) {
		debug("%s: a packet does not authenticate", ul->l->node->url);
		return;
	}
	if (ul->l->ss_method->kind != SS_KIND_NONE &&
	    ss_replay_check(p, ul->l->ss_method->keylen)) {
		debug("%s: replayed packet dropped", ul->l->node->url);
		return;
	}
	if (socks5_parse_addr(plain, len, &dst, &used) != 0) {
		debug("%s: bad address in a packet", ul->l->node->url);
		return;
	}
	usess_send(s, dst.host, dst.port, plain + used, len - used);
}

/* The original destination of a TPROXY datagram; 0 if none. */
static socklen_t
orig_dst(struct msghdr *mh, struct sockaddr_storage *od)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == SOL_IP &&
		    cm->cmsg_type == IP_ORIGDSTADDR &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(struct sockaddr_in))) {
			memset(od, 0, sizeof(*od));
			memcpy(od, CMSG_DATA(cm), sizeof(struct sockaddr_in));
			return sizeof(struct sockaddr_in);
		}
		if (cm->cmsg_level == SOL_IPV6 &&
		    cm->cmsg_type == IPV6_ORIGDSTADDR &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(struct sockaddr_in6))) {
			memset(od, 0, sizeof(*od));
			memcpy(od, CMSG_DATA(cm), sizeof(struct sockaddr_in6));
			return sizeof(struct sockaddr_in6);
		}
	}
	return 0;
}

static void
ulistener_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ulistener *ul = arg;
	struct sockaddr_storage peer, od;
	union {
		struct cmsghdr	hdr;
		unsigned char	b[CMSG_SPACE(sizeof(struct sockaddr_in6)) +
				  CMSG_SPACE(sizeof(struct sockaddr_in))];
	} cbuf;
	struct msghdr mh;
	struct iovec iov;
	struct usess *s;
	socklen_t pl, odl;
	ssize_t n;
	int i;

	(void)what;
	for (i = 0; i < 64; i++) {
		memset(&peer, 0, sizeof(peer));
		if ((n = udpb_recvmsg(fd, 0, &mh, &iov, udpbuf, UDP_MAX, &peer,
		    &cbuf, sizeof(cbuf))) < 0)
			return;
		pl = mh.msg_namelen;
		memset(&od, 0, sizeof(od));
		odl = 0;
		if (ul->l->kind == LIS_REDU) {
			if ((odl = orig_dst(&mh, &od)) == 0)
				continue;	/* not redirected: dropped */
			if (od.ss_family == AF_INET)
				sockaddr_unmap(&peer, &pl);
		}
		if ((s = usess_get(ul, &peer, pl, &od, odl)) == NULL) {
			debug("%s: too many sessions; datagram dropped",
			    ul->l->node->url);
			continue;
		}
		usess_touch(s);
		if (ul->l->kind == LIS_SSU)
			ulistener_ss(ul, s, udpbuf, (size_t)n);
		else if (ul->l->kind == LIS_REDU) {
			char host[PROXY_HOST_MAX + 1];
			uint16_t port;

			sockaddr_host(&od, host, sizeof(host), &port);
			usess_send(s, host, port, udpbuf, (size_t)n);
		} else
			ulistener_forward(ul, s, udpbuf, (size_t)n);
	}
}

int
udp_listener_start(struct worker *wk, const struct listener_conf *l,
    size_t idx, int fd)
{
	struct ulistener *ul;
	size_t i;

	if ((ul = calloc(1, sizeof(*ul))) == NULL)
		return -1;
	ul->wk = wk;
	ul->l = l;
	ul->idx = idx;
	ul->fd = fd;
	for (i = 0; i < USESS_BUCKETS; i++)
		LIST_INIT(&ul->buckets[i]);
	if (dialer_init(&ul->dl, wk, l, idx) != 0)
		return -1;
	evutil_make_socket_nonblocking(fd);
	ul->ev = event_new(wk->base, fd, EV_READ | EV_PERSIST, ulistener_cb,
	    ul);
	if (ul->ev == NULL)
		return -1;
	event_add(ul->ev, NULL);
	return 0;
}
