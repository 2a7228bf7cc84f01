/*
 * SOCKS5 on proxy listeners: the greeting, gost's TLS methods (a TLS
 * layer on the client's connection), username/password, the request,
 * and the commands beyond CONNECT: UDP ASSOCIATE, gost's UDP-over-TCP
 * (0xF3) and MBIND, and BIND (for SOCKS4 too).
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "cfgfile.h"
#include "err.h"
#include "log.h"
#include "match.h"
#include "proto/proto.h"
#include "mux/smux.h"
#include "core/conn.h"
#include "core/stats.h"
#include "core/dial.h"
#include "core/listen.h"
#include "core/relay.h"
#include "core/reload.h"
#include "core/tls.h"
#include "handler/handler.h"
#include "handler/http2.h"
#include "handler/proxy.h"
#include "handler/proxy_int.h"
#include "worker.h"

static int udp_assoc_start(struct pconn *, int tunnel);
static int mbind_start(struct pconn *);
static int s5_tls_start(struct pconn *, enum pstate);

/*
 * A SOCKS5 UDP association: one socket facing the client, bound to the
 * address the client reached us on, and one outgoing socket per address
 * family.  It lives as long as the control connection.
 */
#define UDP_BUF		(65535 + 512)

struct udp_assoc {
	struct proxy		*px;
	struct conn		*ctl;		/* the client's connection */
	int			 udp;
	struct uchan		*uc;		/* where datagrams go */
	struct event		*udp_ev;
	struct sockaddr_storage	 client;	/* learned from traffic */
	socklen_t		 clientlen;
	struct sockaddr_storage	 peer;		/* control connection peer */
	unsigned char		*buf;
	/* gost's 0xF3: datagrams framed on the control connection */
	int			 tunnel;
	int			 bindmode;	/* rudp: peers reach ua->udp */
	struct buf		 in;
	struct cbuf		 out;		/* frames for the client */
};

#define UDPTUN_OUT_MAX	(256 * 1024)	/* queued frames; more are dropped */

/*
 * The client connection's local and remote address: the socket's at the
 * bottom of its layers (TLS or not).
 */
static int
pc_sockname(struct pconn *pc, struct sockaddr_storage *ss, socklen_t *len)
{
	return getsockname(pc->c->fd, (struct sockaddr *)ss, len);
}

static int
pc_peername(struct pconn *pc, struct sockaddr_storage *ss, socklen_t *len)
{
	return getpeername(pc->c->fd, (struct sockaddr *)ss, len);
}

/*
 * gost's 0x80/0x82: TLS on the client's connection from here on; the
 * rest of SOCKS5 (0x82: RFC 1929 first) continues inside it.
 */
static int
s5_tls_start(struct pconn *pc, enum pstate next)
{
	struct proxy *px = pc->px;
	struct conn *c = pc->c;

	/* what came with the greeting is the start of the handshake */
	pc->c = NULL;
	if (conn_unread(c, buf_ptr(&pc->in), buf_len(&pc->in)) != 0) {
		conn_free(c);
		pconn_free(pc);
		return 2;
	}
	px->wk->stats.active++;		/* the new pconn's */
	pconn_free(pc);
	if ((c = tls_server_push(c)) == NULL) {
		worker_conn_closed(px->wk);
		return 2;
	}
	debug("%s: socks5 inside TLS", px->l->node->url);
	(void)pconn_resume(px, c, PP_SOCKS5, next, NULL, 0);
	return 2;
}

static int
same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		    &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	    &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

static void
udp_assoc_free(struct udp_assoc *ua)
{
	if (ua->udp_ev != NULL)
		event_free(ua->udp_ev);
	uchan_close(ua->uc);
	if (ua->udp != -1)
		close(ua->udp);
	cbuf_release(&ua->out);
	buf_release(&ua->in);
	conn_free(ua->ctl);
	free(ua->buf);
	worker_conn_closed(ua->px->wk);
	free(ua);
}

/* The control connection: its data is discarded, its end ends us. */
static void
udp_ctl_cb(struct conn *c, int what, void *arg)
{
	struct udp_assoc *ua = arg;
	char junk[512];
	ssize_t n;

	(void)what;
	while ((n = conn_recv(c, junk, sizeof(junk))) > 0)
		;
	if (n == 0 || errno != EAGAIN)
		udp_assoc_free(ua);
}

/* Frames out through the control connection, as far as it takes them. */
static void
udptun_flush(struct udp_assoc *ua)
{
	/* a failure: the read side notices the end */
	(void)conn_send_buf(ua->ctl, &ua->out);
	conn_want(ua->ctl, CONN_READ | (ua->out.len > 0 ? CONN_WRITE : 0));
}

/* A datagram for a 0xF3 client: one frame on the control connection. */
static void
udptun_send(struct udp_assoc *ua, const struct proxy_target *src,
    const unsigned char *p, size_t len)
{
	unsigned char h[3 + 1 + 1 + PROXY_HOST_MAX + 2];
	size_t hl;

	/* never an empty frame: gost would misread it */
	if (len == 0 || len > 0xffff ||
	    (hl = socks5_put_addr(h + 3, sizeof(h) - 3, src->host,
	    src->port)) == 0)
		return;
	h[0] = (unsigned char)(len >> 8);
	h[1] = (unsigned char)len;
	h[2] = 0;
	hl += 3;
	if (cbuf_room(&ua->out) < hl + len)
		return;		/* a slow reader loses datagrams, as UDP */
	cbuf_append(&ua->out, h, hl);
	cbuf_append(&ua->out, p, len);
	ua->px->wk->stats.bytes_out += (uint64_t)len;
	stconn_bytes(conn_stats(ua->ctl), 1, len);
	udptun_flush(ua);
}

/* rudp: a frame for a peer leaves from the bound port. */
static void
bind_send(struct udp_assoc *ua, const struct proxy_target *t,
    const unsigned char *p, size_t n)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET6, t->host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(t->port);
		sl = sizeof(*sin6);
	} else if (inet_pton(AF_INET, t->host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(t->port);
		sl = sizeof(*sin);
		/* the bound socket is dual-stack IPv6 */
		if (ua->bindmode == AF_INET6) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(t->port);
			memset(&sin6->sin6_addr, 0, 10);
			memset((char *)&sin6->sin6_addr + 10, 0xff, 2);
			inet_pton(AF_INET, t->host,
			    (char *)&sin6->sin6_addr + 12);
			sl = sizeof(*sin6);
		}
	} else
		return;		/* peers are addresses */
	if (sendto(ua->udp, p, n, 0, (struct sockaddr *)&ss, sl) > 0)
		ua->px->wk->stats.bytes_out += (uint64_t)n;
}

/* rudp: a datagram from a peer, framed to the client with its source. */
static void
bind_peer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct udp_assoc *ua = arg;
	struct sockaddr_storage from;
	struct proxy_target src;
	socklen_t fl;
	ssize_t n;
	int i;

	(void)what;
	for (i = 0; i < 64; i++) {
		fl = sizeof(from);
		n = recvfrom(fd, ua->buf, UDP_BUF, 0, (struct sockaddr *)&from,
		    &fl);
		if (n < 0)
			return;
		sockaddr_unmap(&from, &fl);
		memset(&src, 0, sizeof(src));
		sockaddr_host(&from, src.host, sizeof(src.host), &src.port);
		udptun_send(ua, &src, ua->buf, (size_t)n);
	}
}

/* 0xF3 control connection: frames in, each one datagram out. */
static void
udptun_ctl_cb(struct conn *c, int what, void *arg)
{
	struct udp_assoc *ua = arg;
	struct proxy_target t;
	unsigned char *d;
	size_t hl, fl;
	ssize_t n;
	int e;

	if (what & CONN_WRITE)
		udptun_flush(ua);
	if (!(what & CONN_READ))
		return;
	if (buf_reserve(&ua->in, READ_CHUNK, &d) != 0) {
		udp_assoc_free(ua);	/* a frame longer than any datagram */
		return;
	}
	n = conn_recv(c, d, READ_CHUNK);
	ua->in.size -= READ_CHUNK - (n > 0 ? (size_t)n : 0);
	if (n == 0 || (n == -1 && errno != EAGAIN)) {
		udp_assoc_free(ua);
		return;
	}
	for (;;) {
		e = socks5_parse_udptun(buf_ptr(&ua->in), buf_len(&ua->in), &t,
		    &hl, &fl);
		if (e == ERR_INCOMPLETE)
			return;
		if (e != 0) {
			debug("%s: bad UDP-over-TCP frame", ua->px->l->node->url);
			udp_assoc_free(ua);
			return;
		}
		/* the association's bytes go in its control record */
		stconn_target_once(conn_stats(ua->ctl), t.host, t.port);
		stconn_bytes(conn_stats(ua->ctl), 0, fl - hl);
		if (ua->bindmode)
			bind_send(ua, &t, buf_ptr(&ua->in) + hl, fl - hl);
		else
			uchan_send(ua->uc, t.host, t.port, buf_ptr(&ua->in) +
			    hl, fl - hl);
		buf_consume(&ua->in, fl);
	}
}

/* A reply from a remote host: prefix the header, send to the client. */
/* An answer from src: to the client, with the SOCKS5 UDP header. */
static void
udp_reply_cb(void *arg, const struct proxy_target *src,
    const unsigned char *p, size_t n)
{
	struct udp_assoc *ua = arg;
	size_t hl;

	if (ua->tunnel) {
		udptun_send(ua, src, p, n);
		return;
	}
	if (ua->clientlen == 0 || n > UDP_BUF - 300)
		return;
	ua->buf[0] = ua->buf[1] = ua->buf[2] = 0;	/* RSV RSV FRAG */
	if ((hl = socks5_put_addr(ua->buf + 3, 297, src->host,
	    src->port)) == 0)
		return;
	memcpy(ua->buf + 3 + hl, p, n);
	if (sendto(ua->udp, ua->buf, 3 + hl + n, 0,
	    (struct sockaddr *)&ua->client, ua->clientlen) > 0)
		stconn_bytes(conn_stats(ua->ctl), 1, n);
}

static void
udp_client_cb(evutil_socket_t fd, short what, void *arg)
{
	struct udp_assoc *ua = arg;
	struct sockaddr_storage from;
	struct proxy_target t;
	socklen_t fromlen;
	size_t hl;
	ssize_t n;
	int i;

	(void)what;
	for (i = 0; i < 64; i++) {
		fromlen = sizeof(from);
		n = recvfrom(fd, ua->buf, UDP_BUF, 0, (struct sockaddr *)&from,
		    &fromlen);
		if (n < 0)
			return;
		sockaddr_unmap(&from, &fromlen);
		/* Only the host that asked may use the association. */
		if (!same_host(&from, &ua->peer))
			continue;
		if (ua->clientlen != 0 && memcmp(&from, &ua->client,
		    fromlen) != 0)
			continue;
		if (socks5_parse_udp(ua->buf, (size_t)n, &t, &hl) != 0)
			continue;	/* garbage and fragments: dropped */
		if (ua->clientlen == 0) {
			memcpy(&ua->client, &from, fromlen);
			ua->clientlen = fromlen;
		}
		/* the association's bytes go in its control record */
		stconn_target_once(conn_stats(ua->ctl), t.host, t.port);
		stconn_bytes(conn_stats(ua->ctl), 0, (size_t)n - hl);
		uchan_send(ua->uc, t.host, t.port, ua->buf + hl,
		    (size_t)n - hl);
	}
}

/*
 * UDP ASSOCIATE: bind a UDP socket on the address the client reached,
 * answer with it, then relay datagrams until the control connection
 * ends.  Returns 2: the pconn is consumed either way.
 */
static int
udp_assoc_start(struct pconn *pc, int tunnel)
{
	struct udp_assoc *ua;
	struct sockaddr_storage local;
	socklen_t len = sizeof(local), plen;
	unsigned char r[32];
	size_t n;
	int rep = SOCKS5_REP_FAIL;

	/* served, not failed: no TCP target to reach */
	stconn_served(conn_stats(pc->c));
	if ((ua = calloc(1, sizeof(*ua))) == NULL ||
	    (ua->buf = malloc(UDP_BUF)) == NULL) {
		free(ua);
		pconn_fail(pc, SOCKS5_REP_FAIL);
		return 2;
	}
	ua->px = pc->px;
	if ((ua->uc = uchan_open(&pc->px->dl, udp_reply_cb, ua)) == NULL)
		fatal_f("out of memory");
	ua->udp = -1;
	ua->tunnel = tunnel;
	buf_init(&ua->in);
	buf_set_max(&ua->in, 65535 + 300 + READ_CHUNK);
	plen = sizeof(ua->peer);
	if (pc_sockname(pc, &local, &len) == -1 ||
	    pc_peername(pc, &ua->peer, &plen) == -1)
		goto fail;
	sockaddr_unmap(&ua->peer, &plen);
	sockaddr_unmap(&local, &len);
	if (local.ss_family == AF_INET)
		((struct sockaddr_in *)&local)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&local)->sin6_port = 0;
	if (tunnel && pc->dst.port != 0) {
		/*
		 * gost's rudp: 0xF3 with an address to bind.  Peers send to
		 * that port; their datagrams come to the client as frames.
		 */
		struct sockaddr_storage any;
		socklen_t al;
		int on = 1;

		if (!access_allowed(pc->px->l->whitelist, pc->px->l->blacklist,
		    "rudp", pc->dst.host, pc->dst.port)) {
			rep = SOCKS5_REP_NOTALLOWED;
			goto refuse;
		}
		memset(&any, 0, sizeof(any));
		any.ss_family = local.ss_family == AF_INET ? AF_INET : AF_INET6;
		al = any.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
		    sizeof(struct sockaddr_in6);
		if (any.ss_family == AF_INET)
			((struct sockaddr_in *)&any)->sin_port =
			    htons(pc->dst.port);
		else
			((struct sockaddr_in6 *)&any)->sin6_port =
			    htons(pc->dst.port);
		ua->udp = socket(any.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (ua->udp == -1)
			goto fail;
		setsockopt(ua->udp, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (bind(ua->udp, (struct sockaddr *)&any, al) == -1)
			goto fail;
		ua->bindmode = any.ss_family;
		ua->udp_ev = event_new(pc->px->wk->base, ua->udp,
		    EV_READ | EV_PERSIST, bind_peer_cb, ua);
		event_add(ua->udp_ev, NULL);
		if (local.ss_family == AF_INET)
			((struct sockaddr_in *)&local)->sin_port =
			    htons(pc->dst.port);
		else
			((struct sockaddr_in6 *)&local)->sin6_port =
			    htons(pc->dst.port);
		debug("%s: rudp: listening on udp port %u",
		    pc->px->l->node->url, pc->dst.port);
	}
	if (tunnel) {
		/*
		 * 0xF3: no UDP port for the client; the reply names the
		 * control connection's address, the frames follow on it.
		 */
		if (cbuf_alloc(&ua->out, UDPTUN_OUT_MAX) != 0)
			goto fail;
		n = socks5_reply(r, sizeof(r), SOCKS5_REP_OK,
		    (struct sockaddr *)&local);
		pc_send(pc, r, n);
		/* the frames go on the client's connection, whatever layers */
		ua->ctl = pc->c;
		pc->c = NULL;
		conn_set_cb(ua->ctl, udptun_ctl_cb, ua);
		conn_want(ua->ctl, CONN_READ);
		/* frames pipelined behind the request: read first */
		if (conn_unread(ua->ctl, buf_ptr(&pc->in), buf_len(&pc->in)) !=
		    0) {
			pc->px->wk->stats.active++;
			pconn_free(pc);
			udp_assoc_free(ua);
			return 2;
		}
		pc->px->wk->stats.active++;
		pconn_free(pc);
		debug("%s: udp-over-tcp association", ua->px->l->node->url);
		return 2;
	}
	ua->udp = socket(local.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (ua->udp == -1)
		goto fail;
	len = local.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	if (bind(ua->udp, (struct sockaddr *)&local, len) == -1 ||
	    getsockname(ua->udp, (struct sockaddr *)&local, &len) == -1) {
		close(ua->udp);
		goto fail;
	}
	n = socks5_reply(r, sizeof(r), SOCKS5_REP_OK,
	    (struct sockaddr *)&local);
	pc_send(pc, r, n);
	/* Hand the control connection over from pc to ua. */
	ua->ctl = pc->c;
	pc->c = NULL;
	conn_set_cb(ua->ctl, udp_ctl_cb, ua);
	conn_want(ua->ctl, CONN_READ);
	ua->udp_ev = event_new(pc->px->wk->base, ua->udp, EV_READ | EV_PERSIST,
	    udp_client_cb, ua);
	event_add(ua->udp_ev, NULL);
	debug("%s: udp association on fd %d", pc->px->l->node->url, ua->udp);
	/* pconn_free counts a closed connection; the association is one. */
	pc->px->wk->stats.active++;
	pconn_free(pc);
	return 2;
 refuse:
 fail:
	uchan_close(ua->uc);
	if (ua->udp_ev != NULL)
		event_free(ua->udp_ev);
	if (ua->udp != -1)
		close(ua->udp);
	cbuf_release(&ua->out);
	free(ua->buf);
	free(ua);
	pconn_fail(pc, rep);
	return 2;
}

/*
 * SOCKS5 BIND (RFC 1928): listen on the address the client reached, on
 * an ephemeral port; reply once with it, once more with the peer that
 * connects (which must be the host the request named, when it named
 * one), then relay the two.  Permission action "rtcp", as in gost.
 */
#define BIND_WAIT_SECS	60

/* A BIND reply in the client's protocol (SOCKS5 or SOCKS4). */
static void
bind_reply(struct pconn *pc, const struct sockaddr *sa)
{
	unsigned char r[32];
	size_t n;

	if (pc->proto == PP_SOCKS4) {
		socks4_reply_addr(r, SOCKS4_REP_GRANTED, sa);
		n = 8;
	} else
		n = socks5_reply(r, sizeof(r), SOCKS5_REP_OK, sa);
	pc_send(pc, r, n);
}

struct s5_bind {
	struct pconn	*pc;
	int		 lfd;
	struct event	*ev;
	int		 wild;		/* gost's rtcp: a port of ours */
	int		 taken;		/* a peer came */
	uint16_t	 port;
	struct sockaddr_storage owner;	/* its client's address */
};

/*
 * A forwarded port between two BINDs: rtcp sends the next BIND as soon
 * as a peer arrives, and peers that connected meanwhile wait in the
 * listening socket's backlog instead of being refused.  The monitor
 * holds the socket meanwhile (for 10 s), so the next BIND may reach any
 * worker.
 */
static void
bind_park(struct worker *wk, struct s5_bind *b)
{
	if (b->owner.ss_family != AF_INET && b->owner.ss_family != AF_INET6) {
		close(b->lfd);
		return;
	}
	mm_bind_park(wk, (uint32_t)b->pc->px->idx, &b->owner, b->port,
	    b->lfd);
}

/* The parked socket of this port, if the same host asks again. */
static int
bind_unpark(struct proxy *px, uint16_t port,
    const struct sockaddr_storage *owner)
{
	if (owner->ss_family != AF_INET && owner->ss_family != AF_INET6)
		return -1;
	return mm_bind_unpark(px->wk, (uint32_t)px->idx, owner, port);
}

static void
s5_bind_free(struct s5_bind *b, int rep)
{
	event_free(b->ev);
	if (b->wild && rep < 0 && b->taken)
		bind_park(b->pc->px->wk, b);	/* a peer came: next BIND */
	else
		close(b->lfd);
	if (rep >= 0)
		pconn_fail(b->pc, rep);
	free(b);
}

/*
 * While waiting for the peer: the client's early bytes are kept for the
 * peer; its EOF ends the wait and closes the port.
 */
static void
s5_bind_ctl_cb(struct conn *c, int what, void *arg)
{
	struct s5_bind *b = arg;
	struct pconn *pc = b->pc;
	unsigned char *d;
	ssize_t n;

	(void)what;
	if (buf_reserve(&pc->in, READ_CHUNK, &d) != 0) {
		conn_want(c, 0);	/* enough kept: wait for the peer */
		return;
	}
	n = conn_recv(c, d, READ_CHUNK);
	pc->in.size -= READ_CHUNK - (n > 0 ? (size_t)n : 0);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		debug("%s: bind: the client left", pc->px->l->node->url);
		s5_bind_free(b, -1);
		pconn_free(pc);
	}
}

static void
s5_bind_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct s5_bind *b = arg;
	struct pconn *pc = b->pc;
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	unsigned char want[16];
	struct conn *client, *up;
	int fd;

	if (what & EV_TIMEOUT) {
		s5_bind_free(b, SOCKS5_REP_TTL);
		return;
	}
	fd = accept4(lfd, (struct sockaddr *)&peer, &plen,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EINTR)
			s5_bind_free(b, SOCKS5_REP_FAIL);
		return;
	}
	sockaddr_unmap(&peer, &plen);
	/* A request that named a host takes only that host's connection. */
	if ((inet_pton(AF_INET, pc->dst.host, want) == 1 &&
	    strcmp(pc->dst.host, "0.0.0.0") != 0 &&
	    (peer.ss_family != AF_INET || memcmp(&((struct sockaddr_in *)
	    &peer)->sin_addr, want, 4) != 0)) ||
	    (inet_pton(AF_INET6, pc->dst.host, want) == 1 &&
	    strcmp(pc->dst.host, "::") != 0 &&
	    (peer.ss_family != AF_INET6 || memcmp(&((struct sockaddr_in6 *)
	    &peer)->sin6_addr, want, 16) != 0))) {
		debug("%s: bind: connection from an unexpected host",
		    pc->px->l->node->url);
		close(fd);
		return;
	}
	/*
	 * A wildcard port is parked with the monitor before the client
	 * hears of its peer: its next BIND, at any worker, finds it.
	 */
	b->taken = 1;
	s5_bind_free(b, -1);
	bind_reply(pc, (struct sockaddr *)&peer);
	/* bytes the client sent meanwhile belong to the peer */
	client = pc->c;
	pc->c = NULL;
	if ((up = conn_socket(pc->px->wk, fd)) == NULL ||
	    conn_unread(client, buf_ptr(&pc->in), buf_len(&pc->in)) != 0) {
		conn_free(up);
		conn_free(client);
		pconn_free(pc);
		return;
	}
	relay_conns(pc->px->wk, client, up, 0);
	pc->px->wk->stats.active++;	/* the relay's; pconn_free drops one */
	pconn_free(pc);
}

/*
 * host:port as a socket address, when host is an address of this host
 * other than a wildcard (a socket can be bound to it): 0, else -1.
 */
static int
bind_local_addr(const char *host, uint16_t port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	int fd, r;

	/* port 0 for the test bind: ours if a socket binds to it */
	if (sockaddr_literal(host, 0, ss, len) != 0 ||
	    (ss->ss_family == AF_INET ?
	    sin->sin_addr.s_addr == htonl(INADDR_ANY) :
	    IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr)))
		return -1;
	if ((fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	r = bind(fd, (const struct sockaddr *)ss, *len);
	close(fd);
	return r == -1 ? -1 : sockaddr_literal(host, port, ss, len);
}

int
s5_bind_start(struct pconn *pc)
{
	const struct listener_conf *l = pc->px->l;
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	struct timeval tv = { BIND_WAIT_SECS, 0 };
	struct sockaddr_storage ctl;
	socklen_t ctllen, plen;
	struct s5_bind *b;
	int wild = 0, spec = 0, on = 1, reused = 0;

	if (!access_allowed(l->whitelist, l->blacklist, "rtcp", pc->dst.host,
	    pc->dst.port)) {
		pconn_fail(pc, SOCKS5_REP_NOTALLOWED);
		return 2;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    pc_sockname(pc, &local, &len) == -1) {
		free(b);
		pconn_fail(pc, SOCKS5_REP_FAIL);
		return 2;
	}
	b->pc = pc;
	ctl = local;
	ctllen = len;
	if (local.ss_family == AF_INET)
		((struct sockaddr_in *)&local)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&local)->sin6_port = 0;
	/*
	 * gost's rtcp asks for a wildcard address and a port: listen there
	 * (on every address, as a forwarded port is meant to be reached),
	 * or for one of this host's addresses and a port (rtcp://127.0.0.1:
	 * 2222/...): listen on that one.  Any other host keeps RFC 1928's
	 * meaning: the peer expected to connect.
	 */
	if (pc->dst.port != 0 && bind_local_addr(pc->dst.host, pc->dst.port,
	    &local, &len) == 0) {
		wild = spec = 1;
	} else if (pc->dst.port != 0 && (strcmp(pc->dst.host, "0.0.0.0") == 0 ||
	    strcmp(pc->dst.host, "::") == 0)) {
		memset(&local, 0, sizeof(local));
		local.ss_family = ctl.ss_family;
		if (local.ss_family == AF_INET)
			((struct sockaddr_in *)&local)->sin_port =
			    htons(pc->dst.port);
		else
			((struct sockaddr_in6 *)&local)->sin6_port =
			    htons(pc->dst.port);
		wild = 1;
	}
	b->wild = wild;
	b->port = pc->dst.port;
	plen = sizeof(b->owner);
	if (pc_peername(pc, &b->owner, &plen) == 0)
		sockaddr_unmap(&b->owner, &plen);
	if (wild && (b->lfd = bind_unpark(pc->px, b->port, &b->owner)) != -1)
		reused = 1;
	else {
		b->lfd = socket(local.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (b->lfd != -1)
			setsockopt(b->lfd, SOL_SOCKET, SO_REUSEADDR, &on,
			    sizeof(on));
	}
	if (b->lfd == -1 || (!reused && (bind(b->lfd,
	    (struct sockaddr *)&local, len) == -1 || listen(b->lfd,
	    wild ? 64 : 1) == -1)) || getsockname(b->lfd,
	    (struct sockaddr *)&local, &len) == -1) {
		if (b->lfd != -1)
			close(b->lfd);
		free(b);
		pconn_fail(pc, SOCKS5_REP_FAIL);
		return 2;
	}
	if (wild && !spec) {
		/* the reply names the control connection's address */
		uint16_t p = pc->dst.port;

		local = ctl;
		len = ctllen;
		if (local.ss_family == AF_INET)
			((struct sockaddr_in *)&local)->sin_port = htons(p);
		else
			((struct sockaddr_in6 *)&local)->sin6_port = htons(p);
	}
	sockaddr_unmap(&local, &len);
	bind_reply(pc, (struct sockaddr *)&local);
	event_del(pc->tmo);
	b->ev = event_new(pc->px->wk->base, b->lfd, EV_READ | EV_PERSIST,
	    s5_bind_accept_cb, b);
	/* a forwarded port waits as long as its client stays */
	event_add(b->ev, wild ? NULL : &tv);
	conn_set_cb(pc->c, s5_bind_ctl_cb, b);
	conn_want(pc->c, CONN_READ);
	debug("%s: bind: waiting for a connection", l->node->url);
	return 2;
}

/*
 * gost's MBIND (0xF2): listen on the requested port as for rtcp's BIND,
 * answer once, then turn the control connection into an smux session in
 * which this side is the client: every peer that connects becomes a
 * stream carrying its bytes as they are (gost v2).
 */
struct mbind {
	struct proxy	*px;
	int		 lfd;
	struct event	*ev;
	struct smux	*s;
};

static void
mbind_free(struct mbind *m)
{
	if (m->ev != NULL)
		event_free(m->ev);
	if (m->lfd != -1)
		close(m->lfd);
	worker_conn_closed(m->px->wk);
	free(m);
}

static void
mbind_closed_cb(void *arg)
{
	struct mbind *m = arg;

	debug("%s: mbind: the session ended", m->px->l->node->url);
	m->s = NULL;
	mbind_free(m);
}

static void
mbind_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct mbind *m = arg;
	int fd;

	(void)what;
	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) != -1) {
		struct conn *st, *peer;

		m->px->wk->stats.accepted++;
		m->px->wk->stats.active++;	/* the stream's */
		if ((st = smux_open(m->s)) == NULL ||
		    (peer = conn_socket(m->px->wk, fd)) == NULL) {
			if (st == NULL)
				close(fd);
			conn_free(st);
			worker_conn_closed(m->px->wk);
			continue;
		}
		/* the peer is this listener's client */
		(void)stconn_open(m->px->wk, m->px->idx, peer);
		relay_conns(m->px->wk, peer, st, 0);
	}
}

static int
mbind_start(struct pconn *pc)
{
	const struct listener_conf *l = pc->px->l;
	struct sockaddr_storage local, any;
	socklen_t len = sizeof(local), al;
	struct mbind *m;
	unsigned char r[32];
	size_t n;
	int on = 1;

	if (!access_allowed(l->whitelist, l->blacklist, "rtcp", pc->dst.host,
	    pc->dst.port)) {
		pconn_fail(pc, SOCKS5_REP_NOTALLOWED);
		return 2;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    pc_sockname(pc, &local, &len) == -1) {
		free(m);
		pconn_fail(pc, SOCKS5_REP_FAIL);
		return 2;
	}
	m->px = pc->px;
	memset(&any, 0, sizeof(any));
	any.ss_family = local.ss_family;
	al = local.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	if (local.ss_family == AF_INET)
		((struct sockaddr_in *)&any)->sin_port = htons(pc->dst.port);
	else
		((struct sockaddr_in6 *)&any)->sin6_port = htons(pc->dst.port);
	m->lfd = socket(any.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (m->lfd != -1)
		setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (m->lfd == -1 || bind(m->lfd, (struct sockaddr *)&any, al) == -1 ||
	    listen(m->lfd, 128) == -1 ||
	    getsockname(m->lfd, (struct sockaddr *)&any, &al) == -1) {
		if (m->lfd != -1)
			close(m->lfd);
		free(m);
		pconn_fail(pc, SOCKS5_REP_FAIL);
		return 2;
	}
	/* the reply names the control connection's address */
	if (local.ss_family == AF_INET)
		((struct sockaddr_in *)&local)->sin_port =
		    ((struct sockaddr_in *)&any)->sin_port;
	else
		((struct sockaddr_in6 *)&local)->sin6_port =
		    ((struct sockaddr_in6 *)&any)->sin6_port;
	sockaddr_unmap(&local, &len);
	n = socks5_reply(r, sizeof(r), SOCKS5_REP_OK, (struct sockaddr *)&local);
	pc_send(pc, r, n);
	debug("%s: mbind: listening on port %u", l->node->url, pc->dst.port);
	/* the session over the client's connection; it opens the streams */
	m->s = conn_unread(pc->c, buf_ptr(&pc->in), buf_len(&pc->in)) != 0 ?
	    NULL : smux_new(pc->c, 1, NULL, mbind_closed_cb, m);
	pc->c = NULL;
	pc->px->wk->stats.active++;	/* the mbind's; pconn_free drops one */
	pconn_free(pc);
	if (m->s == NULL) {
		mbind_free(m);
		return 2;
	}
	m->ev = event_new(m->px->wk->base, m->lfd, EV_READ | EV_PERSIST,
	    mbind_accept_cb, m);
	event_add(m->ev, NULL);
	return 2;
}

/*
 * SOCKS5 (RFC 1928, 1929) with gost's TLS methods and its extra
 * commands: 1 with the CONNECT target in pc->dst, 0 for more bytes,
 * 2 answered (pc freed), -1 to close; UDP, BIND and MBIND go their own
 * ways from here.
 */
int
s5_step(struct pconn *pc)
{
	struct socks5_greeting g;
	struct socks5_auth a;
	struct socks5_request s5;
	unsigned char r[2];
	int e;

	for (;;) {
		switch (pc->state) {
		case PS_S5_GREETING:
			if ((e = socks5_parse_greeting(&pc->in, &g)) != 0)
				return e == ERR_INCOMPLETE ? 0 : -1;
			r[0] = SOCKS5_VER;
			/*
			 * gost's TLS methods when offered (as gost, 0x82
			 * when passwords are needed, whichever was offered).
			 */
			/* not TLS inside a TLS transport */
			if (!pc->px->l->notls && pc->px->tp.tls == NULL &&
			    (g.offers_tls || g.offers_tlsauth)) {
				r[1] = proxy_auth_required(pc->px) ?
				    SOCKS5_AUTH_TLSAUTH : SOCKS5_AUTH_TLS;
				pc_send(pc, r, 2);
				return s5_tls_start(pc, r[1] ==
				    SOCKS5_AUTH_TLSAUTH ? PS_S5_AUTH :
				    PS_S5_REQUEST);
			}
			if (proxy_auth_required(pc->px))
				r[1] = g.offers_userpass ?
				    SOCKS5_AUTH_USERPASS : SOCKS5_AUTH_NOACCEPT;
			else
				r[1] = g.offers_none ? SOCKS5_AUTH_NONE :
				    SOCKS5_AUTH_NOACCEPT;
			pc_send(pc, r, 2);
			if (r[1] == SOCKS5_AUTH_NOACCEPT)
				return -1;
			pc->state = r[1] == SOCKS5_AUTH_USERPASS ? PS_S5_AUTH :
			    PS_S5_REQUEST;
			break;
		case PS_S5_AUTH:
			if ((e = socks5_parse_auth(&pc->in, &a)) != 0)
				return e == ERR_INCOMPLETE ? 0 : -1;
			e = proxy_auth_ok(pc->px, a.user, a.pass);
			explicit_bzero(a.pass, sizeof(a.pass));
			r[0] = 0x01;
			r[1] = e ? 0x00 : 0x01;
			pc_send(pc, r, 2);
			if (!e) {
				verbose("%s: socks5 authentication failed for "
				    "user \"%s\"", pc->px->l->node->url, a.user);
				return -1;
			}
			stconn_user(conn_stats(pc->c), a.user);
			pc->state = PS_S5_REQUEST;
			break;
		case PS_S5_REQUEST:
			if ((e = socks5_parse_request(&pc->in, &s5)) != 0) {
				if (e == ERR_INCOMPLETE)
					return 0;
				pconn_fail(pc, e == ERR_VERSION ?
				    SOCKS5_REP_ATYP : SOCKS5_REP_FAIL);
				return 2;
			}
			if (s5.cmd == SOCKS5_CMD_UDP) {
				pc->dst = s5.dst;
				return udp_assoc_start(pc, 0);
			}
			if (s5.cmd == SOCKS5_CMD_UDPTUN) {
				pc->dst = s5.dst;
				return udp_assoc_start(pc, 1);
			}
			if (s5.cmd == SOCKS5_CMD_MBIND) {
				pc->dst = s5.dst;
				return mbind_start(pc);
			}
			if (s5.cmd == SOCKS5_CMD_BIND) {
				pc->dst = s5.dst;
				return s5_bind_start(pc);
			}
			if (s5.cmd != SOCKS5_CMD_CONNECT) {
				pconn_fail(pc, SOCKS5_REP_CMD);
				return 2;
			}
			pc->dst = s5.dst;
			return 1;
		default:
			return 0;
		}
	}
}
