/*
 * Fake TCP, tcpraw's wire (spec/gost.md §2.16, tcp=true).
 *
 * A flow is opened by a real TCP handshake: a client connects to its
 * peer's port, a server accepts on its own.  From then on the kernel's
 * connection only holds the ports: a socket filter keeps the peer's
 * data from it, so it has nothing to answer, and whatever it sends
 * leaves with TTL 1 and the TOS FTCP_TOS, which a policy rule of the
 * monitor's drops (monitor/mon_ftcp.c).  Each datagram goes out on a
 * raw socket as the payload of one segment with PSH|ACK, the window
 * random above 32767, numbered as tcpraw numbers them:
 *
 *	seq	the peer's last acknowledgement, plus what was sent since
 *	ack	the peer's SYN + 1, moved on by each segment with PSH
 *		that starts where the last one ended
 *
 * The raw socket (the monitor's) sees every TCP segment to this host
 * (a socket filter keeps those to our port): the handshake's, whose
 * numbers start the flow, and the peer's data, handed on as one
 * datagram each.  A flow is the peer's address and port.  A segment of
 * no flow is dropped, and a server resets it as a host without the
 * connection would; a server's SYN starts a flow that its accept()
 * completes (or that expires).  A flow ends when the peer's host
 * resets it (it restarted), when a flow of the same address replaces
 * it, or when a server, which has at most FTCP_FLOWS, needs its slot
 * (the longest silent one's).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <linux/filter.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "log.h"
#include "worker.h"
#include "core/dial.h"
#include "core/faketcp.h"
#include "proto/ftcp.h"

#define FTCP_FLOWS	256
#define FTCP_READS	4		/* recvmmsg calls per wake-up */
#define FTCP_BATCH	32		/* segments per sendmmsg, recvmmsg */
#define FTCP_ORPHAN	10		/* s: a SYN's flow without accept() */
#define FTCP_RESETS	100		/* a server's, a second at most */
#define FTCP_BACKOFF_MIN 1		/* s: a client's reconnect, gost's */
#define FTCP_BACKOFF_MAX 6
/* control data: where a segment goes from, or went to */
#define FTCP_CMSG	CMSG_SPACE(sizeof(struct in6_pktinfo))

struct ftcp_flow {
	struct ftcp		*ft;
	int			 used;
	struct sockaddr_storage	 peer;		/* unmapped */
	socklen_t		 peerlen;
	unsigned char		 local[16];	/* our address on it */
	int			 v6;		/* which raw socket */
	int			 fd;		/* the kernel's; -1: none yet */
	int			 up;		/* handshake over */
	int			 synced;	/* ack known (a SYN seen) */
	int			 blocked;	/* IPv6: the monitor's rule */
	struct event		*ev;
	uint32_t		 seq;
	uint32_t		 ack;
	time_t			 seen;
};

struct ftcp {
	struct worker		*wk;
	const struct listener_conf *l;
	size_t			 idx;
	int			 client;
	uint16_t		 port;		/* ours: a flow's segments' */
	int			 lfd;		/* a server's listener */
	struct event		*lev;
	int			 raw[2];	/* IPv4, IPv6 */
	struct event		*rev[2];
	struct event		*tick;
	ftcp_cb			 cb;
	void			*arg;
	int			 backoff;	/* a client's, s */
	uint32_t		 rnd;		/* windows */
	uint64_t		 dropped;
	time_t			 rst_sec;	/* resets sent this second */
	unsigned int		 rst_n;
	struct ftcp_flow	 flows[FTCP_FLOWS];
	struct ftcp_flow	*last;		/* found last */
	/* FTCP_BATCH reads of slot bytes: a packet of the MTU, headers */
	size_t			 slot;
	unsigned char		*rbuf;
};

static void
ft_drop(struct ftcp *ft, const char *why)
{
	ft->dropped++;
	debug("%s: segment dropped (%s; %llu so far)", ft->l->node->url, why,
	    (unsigned long long)ft->dropped);
}

static const unsigned char *
ss_addr(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (const unsigned char *)
		    &((const struct sockaddr_in *)ss)->sin_addr;
	return (const unsigned char *)
	    &((const struct sockaddr_in6 *)ss)->sin6_addr;
}

/* Control data naming local as the source: its length. */
static socklen_t
pktinfo_put(struct cmsghdr *cm, int v6, const unsigned char *local)
{
	if (v6) {
		struct in6_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi6_addr, local, 16);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	} else {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi_spec_dst, local, 4);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
}

/* The flow of address ss; the last one found is looked at first. */
static struct ftcp_flow *
flow_find(struct ftcp *ft, const struct sockaddr_storage *ss)
{
	struct ftcp_flow *f = ft->last;
	size_t i;

	if (f != NULL && f->used && sockaddr_same(&f->peer, ss))
		return f;
	for (i = 0; i < FTCP_FLOWS; i++)
		if (ft->flows[i].used && sockaddr_same(&ft->flows[i].peer, ss))
			return ft->last = &ft->flows[i];
	return NULL;
}

/*
 * IPv6 has no TOS in a TCP socket's route lookup: the monitor adds a
 * rule for the flow's ports instead, once its handshake is over.
 */
static void
flow_block(struct ftcp_flow *f, int on)
{
	struct ftcp *ft = f->ft;

	if (!f->v6 || f->blocked == on)
		return;
	f->blocked = on;
	mm_ftcp_block(ft->wk, on ? IPC_FTCP_BLOCK : IPC_FTCP_UNBLOCK,
	    (uint32_t)ft->idx, ss_addr(&f->peer), sockaddr_port(&f->peer),
	    ft->client ? ft->port : sockaddr_port(&ft->l->addr));
}

static void
flow_free(struct ftcp_flow *f)
{
	flow_block(f, 0);
	if (f->ev != NULL)
		event_free(f->ev);
	if (f->fd != -1)
		close(f->fd);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

/*
 * A free slot, or the longest silent flow's (an orphan's first).  A
 * SYN's flow (orphan) takes only an orphan's: SYNs from anywhere, which
 * anybody can send, never end a connection.  NULL: no room.
 */
static struct ftcp_flow *
flow_new(struct ftcp *ft, const struct sockaddr_storage *ss, socklen_t len,
    int orphan)
{
	struct ftcp_flow *f, *old = NULL;
	size_t i;

	for (i = 0; i < FTCP_FLOWS; i++) {
		f = &ft->flows[i];
		if (!f->used)
			break;
		if (old == NULL || (f->fd == -1) > (old->fd == -1) ||
		    ((f->fd == -1) == (old->fd == -1) && f->seen < old->seen))
			old = f;
	}
	if (i == FTCP_FLOWS) {
		if (orphan && old->fd != -1)
			return NULL;
		if (old->fd != -1)
			logit("%s: more than %d fake TCP flows: the most "
			    "silent one ends", ft->l->node->url, FTCP_FLOWS);
		flow_free(f = old);
	}
	f->ft = ft;
	f->used = 1;
	f->fd = -1;
	memcpy(&f->peer, ss, len);
	f->peerlen = len;
	f->v6 = ss->ss_family == AF_INET6;
	f->seen = mono_sec();
	return f;
}

/*
 * The kernel's connection once up: what it would send leaves with TTL
 * 1 and the TOS of the monitor's blackhole rule.  It has little to
 * say: a socket filter (ftcp_nodata, set before the handshake; a
 * server's listener has it from the monitor, its connections inherit
 * it) keeps the peer's segments with data from its TCP, which would
 * queue and acknowledge each.  An IPv6 socket may carry IPv4
 * (mapped): both levels.
 */
static void
conn_silence(int fd)
{
	int one = 1, off = 0, tos = FTCP_TOS;

	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &off, sizeof(off));
	(void)setsockopt(fd, IPPROTO_IP, IP_TTL, &one, sizeof(one));
	(void)setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
	(void)setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &one,
	    sizeof(one));
	(void)setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos));
}

static void client_schedule(struct ftcp *);
static void accept_cb(evutil_socket_t, short, void *);

/* The flow's end: its connection closed, reset or failed. */
static void
flow_end(struct ftcp_flow *f, const char *why)
{
	struct ftcp *ft = f->ft;
	char as[128];

	sockaddr_ntop((const struct sockaddr *)&f->peer, as, sizeof(as));
	if (ft->client)
		logit("%s: fake TCP connection to %s %s", ft->l->node->url, as,
		    why);
	else
		debug("%s: fake TCP flow of %s %s", ft->l->node->url, as, why);
	flow_free(f);
	if (ft->client)
		client_schedule(ft);
}

/*
 * One segment (iov: header, data) from local to peer's address, on
 * the raw socket of its family.
 */
static int
raw_send(struct ftcp *ft, int v6, const unsigned char *local,
    const struct sockaddr_storage *peer, struct iovec *iov, size_t iovcnt)
{
	struct sockaddr_storage dst;
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[FTCP_CMSG];
	} cbuf;
	struct msghdr mh;

	memset(&mh, 0, sizeof(mh));
	/* the port of a raw socket's address is not a port */
	sockaddr_set(&dst, &mh.msg_namelen, v6 ? AF_INET6 : AF_INET,
	    ss_addr(peer), 0);
	mh.msg_name = &dst;
	mh.msg_iov = iov;
	mh.msg_iovlen = iovcnt;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = pktinfo_put(&cbuf.hdr, v6, local);
	return sendmsg(ft->raw[v6], &mh, MSG_DONTWAIT) == -1 ? -1 : 0;
}

/*
 * A server's host restarted has no connection for its old flows: as
 * its kernel would, the server resets a segment of no flow (a SYN
 * excepted), so that the client connects again.  At most FTCP_RESETS
 * a second: a reset answers one segment, and garbage gets few.
 */
static void
send_reset(struct ftcp *ft, int v6, const struct ftcp_seg *s,
    const struct sockaddr_storage *peer)
{
	unsigned char h[FTCP_HDR];
	struct iovec iov;
	time_t now = mono_sec();

	if (now != ft->rst_sec) {
		ft->rst_sec = now;
		ft->rst_n = 0;
	}
	if (ft->rst_n >= FTCP_RESETS)
		return;
	ft->rst_n++;
	ftcp_reset(h, s, v6 ? NULL : s->dst, v6 ? NULL : s->src);
	iov.iov_base = h;
	iov.iov_len = sizeof(h);
	(void)raw_send(ft, v6, s->dst, peer, &iov, 1);
}

/* A segment to our port, from peer. */
static void
segment(struct ftcp *ft, const struct ftcp_seg *s, int v6,
    struct sockaddr_storage *peer, socklen_t peerlen)
{
	struct ftcp_flow *f;

	/*
	 * A connection whose handshake was over before the raw socket was
	 * open (the monitor's listener takes connections from the start)
	 * waits to be accepted: its flow is known once it is.
	 */
	if ((f = flow_find(ft, peer)) == NULL && !ft->client &&
	    !(s->flags & (FTCP_SYN | FTCP_RST))) {
		accept_cb(ft->lfd, EV_READ, ft);
		f = flow_find(ft, peer);
	}
	if (f == NULL) {
		/* a server's new flow begins with the peer's SYN */
		if (ft->client ||
		    (s->flags & (FTCP_SYN | FTCP_ACK | FTCP_RST)) != FTCP_SYN) {
			ft_drop(ft, "not of a flow");
			if (!ft->client && !(s->flags & (FTCP_SYN | FTCP_RST)))
				send_reset(ft, v6, s, peer);
			return;
		}
		if ((f = flow_new(ft, peer, peerlen, 1)) == NULL) {
			ft_drop(ft, "a SYN with every flow up");
			return;
		}
		memcpy(f->local, s->dst, sizeof(f->local));
	}
	/*
	 * The peer's host lost the connection (restarted): its kernel
	 * answers our segments with a reset, numbered as RFC 5961 wants
	 * one believed, exactly at the next sequence number.
	 */
	if (s->flags & FTCP_RST) {
		if (f->fd != -1 && f->up && f->synced && s->seq == f->ack)
			flow_end(f, "reset by the peer");
		return;
	}
	f->seen = mono_sec();
	if (s->flags & FTCP_ACK)
		f->seq = s->ack;
	if (s->flags & FTCP_SYN) {
		f->ack = s->seq + 1;
		f->synced = 1;
	}
	if (!(s->flags & FTCP_PSH) || s->len == 0)
		return;
	if (!f->synced) {
		/* accepted before its SYN was read: from here on */
		f->ack = s->seq;
		f->synced = 1;
	}
	if (f->ack == s->seq)
		f->ack = s->seq + (uint32_t)s->len;
	/* the peer's first data may come before the loop saw its accept */
	if (f->fd == -1 && !ft->client) {
		accept_cb(ft->lfd, EV_READ, ft);
		f = flow_find(ft, peer);
	}
	if (f == NULL || f->fd == -1 || !f->up) {
		ft_drop(ft, "data before the connection is up");
		return;
	}
	ft->cb(ft->arg, (unsigned char *)(uintptr_t)s->data, s->len, peer,
	    peerlen);
}

/* The destination address of an IPv6 segment (IPV6_RECVPKTINFO). */
static void
pktinfo6(struct msghdr *mh, unsigned char *dst)
{
	struct cmsghdr *cm;
	struct in6_pktinfo pi;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm))
		if (cm->cmsg_level == IPPROTO_IPV6 &&
		    cm->cmsg_type == IPV6_PKTINFO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(pi))) {
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			memcpy(dst, &pi.ipi6_addr, 16);
		}
}

/* What recvmmsg read into slot i: a segment of ours, or dropped. */
static void
raw_one(struct ftcp *ft, int v6, struct mmsghdr *m, unsigned char *p)
{
	struct sockaddr_storage *from = m->msg_hdr.msg_name, peer;
	struct ftcp_seg s;
	socklen_t peerlen;

	if (m->msg_hdr.msg_flags & MSG_TRUNC) {
		ft_drop(ft, "too long");
		return;
	}
	if (ftcp_parse(!v6, p, m->msg_len, 1, &s) != 0) {
		ft_drop(ft, "not a TCP segment");
		return;
	}
	if (s.dport != ft->port)
		return;		/* read before the filter was set */
	if (v6) {
		memcpy(s.src, ss_addr(from), 16);
		pktinfo6(&m->msg_hdr, s.dst);
	}
	sockaddr_set(&peer, &peerlen, v6 ? AF_INET6 : AF_INET, s.src, s.sport);
	segment(ft, &s, v6, &peer, peerlen);
}

static void
raw_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ftcp *ft = arg;
	struct sockaddr_storage from[FTCP_BATCH];
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[FTCP_CMSG];
	} cbuf[FTCP_BATCH];
	struct mmsghdr mm[FTCP_BATCH];
	struct iovec iov[FTCP_BATCH];
	int i, j, n, v6 = fd == ft->raw[1];

	(void)what;
	for (i = 0; i < FTCP_READS; i++) {
		memset(mm, 0, sizeof(mm));
		for (j = 0; j < FTCP_BATCH; j++) {
			iov[j].iov_base = ft->rbuf + (size_t)j * ft->slot;
			iov[j].iov_len = ft->slot;
			mm[j].msg_hdr.msg_name = &from[j];
			mm[j].msg_hdr.msg_namelen = sizeof(from[j]);
			mm[j].msg_hdr.msg_iov = &iov[j];
			mm[j].msg_hdr.msg_iovlen = 1;
			mm[j].msg_hdr.msg_control = cbuf[j].buf;
			mm[j].msg_hdr.msg_controllen = sizeof(cbuf[j].buf);
		}
		if ((n = recvmmsg(fd, mm, FTCP_BATCH, MSG_DONTWAIT, NULL)) <= 0)
			return;
		for (j = 0; j < n; j++)
			raw_one(ft, v6, &mm[j], iov[j].iov_base);
		if (n < FTCP_BATCH)
			return;
	}
}

/*
 * Only segments to port reach the raw socket: an IPv4 one starts with
 * the IP header, an IPv6 one with the TCP header.
 */
static void
raw_filter(int fd, int v6, uint16_t port)
{
	struct sock_filter f4[] = {
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_filter f6[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 2),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog p;

	p.filter = v6 ? f6 : f4;
	p.len = v6 ? sizeof(f6) / sizeof(f6[0]) : sizeof(f4) / sizeof(f4[0]);
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &p, sizeof(p)) == -1)
		debug_f("SO_ATTACH_FILTER: %s", strerror(errno));
}

static int
raw_open(struct ftcp *ft, int family)
{
	int v6 = family == AF_INET6, fd;

	if ((fd = mm_dev_socket(ft->wk, IPC_RAW_TCP_SOCKET,
	    (uint32_t)ft->idx, family)) == -1) {
		error("%s: no raw TCP socket from the monitor: %s",
		    ft->l->node->url, strerror(errno));
		return -1;
	}
	evutil_make_socket_nonblocking(fd);
	if (ft->port != 0)
		raw_filter(fd, v6, ft->port);
	ft->raw[v6] = fd;
	ft->rev[v6] = event_new(ft->wk->base, fd, EV_READ | EV_PERSIST,
	    raw_cb, ft);
	return ft->rev[v6] == NULL ? -1 : event_add(ft->rev[v6], NULL);
}

/*
 * The datagrams (lens[i] bytes each, back to back in buf) to the flow
 * of address to, as one sendmmsg per FTCP_BATCH: each a header of its
 * own, the data where it is, the source address the flow's handshake
 * went to.
 */
size_t
ftcp_send(struct ftcp *ft, const struct sockaddr_storage *to,
    socklen_t tolen, const unsigned char *buf, const size_t *lens, size_t n,
    size_t *bytes)
{
	struct sockaddr_storage cmp, dst;
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[FTCP_CMSG];
	} cbuf;
	struct mmsghdr mm[FTCP_BATCH];
	struct iovec iov[FTCP_BATCH][2];
	unsigned char h[FTCP_BATCH][FTCP_HDR];
	struct ftcp_flow *f;
	socklen_t dstlen, ctl;
	size_t i, k, done = 0, off = 0;
	uint32_t seq;
	int r;

	*bytes = 0;
	memcpy(&cmp, to, tolen);
	sockaddr_unmap(&cmp, &tolen);
	if ((f = flow_find(ft, &cmp)) == NULL || f->fd == -1 || !f->up)
		return 0;
	/* the port of a raw socket's address is not a port */
	sockaddr_set(&dst, &dstlen, f->v6 ? AF_INET6 : AF_INET,
	    ss_addr(&f->peer), 0);
	memset(&cbuf, 0, sizeof(cbuf));
	ctl = pktinfo_put(&cbuf.hdr, f->v6, f->local);
	while (done < n) {
		k = n - done < FTCP_BATCH ? n - done : FTCP_BATCH;
		seq = f->seq;
		memset(mm, 0, k * sizeof(mm[0]));
		for (i = 0; i < k; i++) {
			const unsigned char *p = buf + off;
			size_t len = lens[done + i];

			ft->rnd = ft->rnd * 1103515245u + 12345u;
			ftcp_header(h[i], ft->port, sockaddr_port(&f->peer), seq,
			    f->ack, (uint16_t)((ft->rnd >> 16) | 0x8000),
			    f->v6 ? NULL : f->local,
			    f->v6 ? NULL : ss_addr(&f->peer), p, len);
			iov[i][0].iov_base = h[i];
			iov[i][0].iov_len = FTCP_HDR;
			iov[i][1].iov_base = (void *)(uintptr_t)p;
			iov[i][1].iov_len = len;
			mm[i].msg_hdr.msg_name = &dst;
			mm[i].msg_hdr.msg_namelen = dstlen;
			mm[i].msg_hdr.msg_iov = iov[i];
			mm[i].msg_hdr.msg_iovlen = 2;
			mm[i].msg_hdr.msg_control = cbuf.buf;
			mm[i].msg_hdr.msg_controllen = ctl;
			off += len;
			seq += (uint32_t)len;
		}
		r = sendmmsg(ft->raw[f->v6], mm, (unsigned int)k, MSG_DONTWAIT);
		if (r <= 0)
			break;
		for (i = 0; i < (size_t)r; i++) {
			f->seq += (uint32_t)lens[done + i];
			*bytes += lens[done + i];
		}
		done += (size_t)r;
		if ((size_t)r < k)
			break;		/* a full socket: the rest is lost */
	}
	return done;
}

static struct ftcp *
ftcp_new(struct worker *wk, const struct listener_conf *l, size_t idx,
    ftcp_cb cb, void *arg)
{
	struct ftcp *ft;
	size_t i;

	if ((ft = calloc(1, sizeof(*ft))) == NULL)
		return NULL;
	ft->wk = wk;
	ft->l = l;
	ft->idx = idx;
	ft->cb = cb;
	ft->arg = arg;
	ft->lfd = -1;
	ft->raw[0] = ft->raw[1] = -1;
	for (i = 0; i < FTCP_FLOWS; i++)
		ft->flows[i].fd = -1;
	/* IPv4 and TCP headers with options, an Ethernet header (tap) */
	ft->slot = (size_t)l->tun.mtu + 60 + 60 + 14;
	if ((ft->rbuf = malloc(ft->slot * FTCP_BATCH)) == NULL) {
		free(ft);
		return NULL;
	}
	(void)RAND_bytes((unsigned char *)&ft->rnd, sizeof(ft->rnd));
	return ft;
}

/* Orphans (a SYN never accepted) go. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ftcp *ft = arg;
	time_t now = mono_sec();
	size_t i;

	(void)fd;
	(void)what;
	for (i = 0; i < FTCP_FLOWS; i++)
		if (ft->flows[i].used && ft->flows[i].fd == -1 &&
		    now - ft->flows[i].seen > FTCP_ORPHAN)
			flow_free(&ft->flows[i]);
}

static void
accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct ftcp *ft = arg;
	struct sockaddr_storage ss, me;
	socklen_t len, melen;
	struct ftcp_flow *f;
	int fd, i;

	(void)what;
	for (i = 0; i < 64; i++) {
		len = sizeof(ss);
		if ((fd = accept4(lfd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
			return;
		conn_silence(fd);
		sockaddr_unmap(&ss, &len);
		if ((f = flow_find(ft, &ss)) == NULL)
			f = flow_new(ft, &ss, len, 0);
		else if (f->fd != -1)
			/* the same address and port again: the old one is
			   gone, whatever its connection says */
			close(f->fd);
		melen = sizeof(me);
		if (getsockname(fd, (struct sockaddr *)&me, &melen) == 0) {
			sockaddr_unmap(&me, &melen);
			memcpy(f->local, ss_addr(&me), f->v6 ? 16 : 4);
		}
		f->fd = fd;
		f->up = 1;
		f->seen = mono_sec();
		flow_block(f, 1);
		debug("%s: fake TCP flow %u", ft->l->node->url,
		    (unsigned)sockaddr_port(&ss));
	}
}

struct ftcp *
ftcp_server(struct worker *wk, const struct listener_conf *l, size_t idx,
    int lfd, ftcp_cb cb, void *arg)
{
	struct ftcp *ft;
	struct timeval tv = { 1, 0 };

	if ((ft = ftcp_new(wk, l, idx, cb, arg)) == NULL)
		return NULL;
	ft->lfd = lfd;
	ft->port = sockaddr_port(&l->addr);
	evutil_make_socket_nonblocking(lfd);
	/* a wildcard IPv6 listener is dual-stack: IPv4 too */
	if (l->addr.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)
	    &l->addr)->sin6_addr) && raw_open(ft, AF_INET) != 0)
		return NULL;
	if (raw_open(ft, l->addr.ss_family) != 0)
		return NULL;
	ft->lev = event_new(wk->base, lfd, EV_READ | EV_PERSIST, accept_cb,
	    ft);
	ft->tick = event_new(wk->base, -1, EV_PERSIST, tick_cb, ft);
	if (ft->lev == NULL || ft->tick == NULL ||
	    event_add(ft->lev, NULL) != 0 || event_add(ft->tick, &tv) != 0)
		return NULL;
	return ft;
}

/* The client's connection: its handshake's end. */
static void
connected_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ftcp_flow *f = arg;
	socklen_t len = sizeof(int);
	int err = 0;
	char as[128];

	(void)what;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		flow_end(f, strerror(err));
		return;
	}
	conn_silence(fd);
	f->up = 1;
	f->ft->backoff = 0;
	flow_block(f, 1);
	sockaddr_ntop((const struct sockaddr *)&f->peer, as, sizeof(as));
	logit("%s: fake TCP connection to %s up (port %u)",
	    f->ft->l->node->url, as, (unsigned)f->ft->port);
}

static void
client_connect(struct ftcp *ft)
{
	const struct listener_conf *l = ft->l;
	struct sockaddr_storage me, peer;
	socklen_t melen = sizeof(me), peerlen = l->targetlens[0];
	struct ftcp_flow *f;
	int fd;

	memcpy(&peer, &l->targets[0], sizeof(peer));
	sockaddr_unmap(&peer, &peerlen);
	if ((fd = dial_socket(ft->wk, l, peer.ss_family, SOCK_STREAM)) == -1) {
		error("%s: socket: %s", l->node->url, strerror(errno));
		client_schedule(ft);
		return;
	}
	/*
	 * The flow exists before its SYN leaves, so that the raw socket
	 * takes the answer's numbers whenever it reads them.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, ftcp_nodata(),
	    sizeof(struct sock_fprog)) == -1)
		debug_f("SO_ATTACH_FILTER: %s", strerror(errno));
	f = flow_new(ft, &peer, peerlen, 0);
	f->fd = fd;
	if ((connect(fd, (struct sockaddr *)&peer, peerlen) == -1 &&
	    errno != EINPROGRESS) ||
	    getsockname(fd, (struct sockaddr *)&me, &melen) == -1) {
		flow_end(f, strerror(errno));
		return;
	}
	sockaddr_unmap(&me, &melen);
	memcpy(f->local, ss_addr(&me), f->v6 ? 16 : 4);
	ft->port = sockaddr_port(&me);
	raw_filter(ft->raw[f->v6], f->v6, ft->port);
	f->ev = event_new(ft->wk->base, fd, EV_WRITE, connected_cb, f);
	if (f->ev == NULL || event_add(f->ev, NULL) != 0)
		flow_end(f, "cannot be watched");
}

static void
reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	client_connect(arg);
}

/* Connect again in 1 s, then 2, 4, 6, 6... */
static void
client_schedule(struct ftcp *ft)
{
	struct timeval tv;

	ft->backoff = ft->backoff == 0 ? FTCP_BACKOFF_MIN :
	    ft->backoff * 2 > FTCP_BACKOFF_MAX ? FTCP_BACKOFF_MAX :
	    ft->backoff * 2;
	tv.tv_sec = ft->backoff;
	tv.tv_usec = 0;
	event_add(ft->tick, &tv);
}

struct ftcp *
ftcp_client(struct worker *wk, const struct listener_conf *l, size_t idx,
    ftcp_cb cb, void *arg)
{
	struct ftcp *ft;

	if ((ft = ftcp_new(wk, l, idx, cb, arg)) == NULL)
		return NULL;
	ft->client = 1;
	if (raw_open(ft, l->targets[0].ss_family) != 0)
		return NULL;
	if ((ft->tick = event_new(wk->base, -1, 0, reconnect_cb, ft)) == NULL)
		return NULL;
	client_connect(ft);
	return ft;
}
