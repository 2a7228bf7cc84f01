/*
 * Remote forwarding: rtcp:// and rudp:// open their port on the chain's
 * last hop (a SOCKS5 server) and bring what arrives there to a local
 * target.
 *
 * rtcp asks for a BIND on the port; the first reply says the port is
 * open, the second that a peer connected, and the connection then
 * carries that peer, so a new BIND is sent at once for the next one.
 * rudp asks for gost's UDP-over-TCP with the port as the address to
 * bind: datagrams from peers arrive as frames naming them, each peer
 * gets its own session to the target, and answers go back framed.
 * When the hop goes away (a restart), both try again after 1 s, then
 * 2, 4 and at most 6 s between attempts, for as long as they run.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/dial.h"
#include "err.h"
#include "log.h"
#include "proto/proto.h"
#include "proto/relay.h"
#include "mux/smux.h"
#include "core/conn.h"
#include "core/codec.h"
#include "core/stats.h"
#include "worker.h"
#include "core/chain.h"
#include "handler/handler.h"

#define RF_BACKOFF_MIN_MS	1000
#define RF_BACKOFF_MAX_MS	6000
#define RF_TUN_BUF		(256 * 1024)
#define RF_PEERS_MAX		1024

struct rfwd;

struct rpeer {
	LIST_ENTRY(rpeer)	 entry;
	struct rfwd		*rf;
	struct proxy_target	 who;
	struct uchan		*uc;
	struct event		*ttl;
	struct stconn		*st;		/* the peer's record */
};

/*
 * MBIND: a stream the hop opened, waiting for its target (and, from a
 * relay hop, for the response naming the peer that opens it).
 */
struct mdial {
	LIST_ENTRY(mdial)	 entry;
	struct rfwd		*rf;
	struct conn		*st;
	struct dial		*dial;
	struct cbuf		 hdr;
};

struct rfwd {
	LIST_ENTRY(rfwd)		 entry;
	struct smux			*mux;		/* MBIND */
	int				 mbind;
	LIST_HEAD(, mdial)		 mdials;
	struct worker			*wk;
	const struct listener_conf	*l;
	struct dialer			 dl;
	size_t				 next;		/* target, in turn */
	char				 bindhost[PROXY_HOST_MAX + 1];
	struct chain_dial		*cd;
	struct conn			*rc;		/* waiting or tunnel */
	struct event			*retry;
	unsigned long			 backoff_ms;
	/* rudp */
	struct cbuf			 tin;
	struct cbuf			 tout;
	LIST_HEAD(, rpeer)		 peers;
	size_t				 npeers;
};

static LIST_HEAD(, rfwd) rfwds = LIST_HEAD_INITIALIZER(rfwds);

static void rf_open(struct rfwd *);

static void
rpeer_free(struct rpeer *p)
{
	LIST_REMOVE(p, entry);
	p->rf->npeers--;
	uchan_close(p->uc);
	event_free(p->ttl);
	stconn_close(p->st);
	free(p);
}

static void
mdial_free(struct mdial *md)
{
	LIST_REMOVE(md, entry);
	dial_cancel(md->dial);
	conn_free(md->st);
	cbuf_release(&md->hdr);
	free(md);
}

static void
mdials_cancel(struct rfwd *rf)
{
	struct mdial *md;

	while ((md = LIST_FIRST(&rf->mdials)) != NULL)
		mdial_free(md);
}

static void
rf_close(struct rfwd *rf)
{
	mdials_cancel(rf);
	if (rf->mux != NULL)
		smux_free(rf->mux);
	rf->mux = NULL;
	chain_dial_cancel(rf->cd);
	rf->cd = NULL;
	conn_free(rf->rc);
	rf->rc = NULL;
	cbuf_release(&rf->tin);
	cbuf_release(&rf->tout);
	while (!LIST_EMPTY(&rf->peers))
		rpeer_free(LIST_FIRST(&rf->peers));
}

static void
rf_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rf_open(arg);
}

/* The hop is gone or refused: again later, backing off. */
static void
rf_again(struct rfwd *rf, const char *why)
{
	struct timeval tv;

	rf_close(rf);
	if (rf->wk->draining)
		return;
	verbose("%s: %s; trying again in %lu ms", rf->l->node->url, why,
	    rf->backoff_ms);
	tv.tv_sec = (time_t)(rf->backoff_ms / 1000);
	tv.tv_usec = (suseconds_t)(rf->backoff_ms % 1000) * 1000;
	evtimer_add(rf->retry, &tv);
	rf->backoff_ms *= 2;
	if (rf->backoff_ms > RF_BACKOFF_MAX_MS)
		rf->backoff_ms = RF_BACKOFF_MAX_MS;
}

static void
rf_target(struct rfwd *rf, char *host, size_t hostlen, uint16_t *port)
{
	const struct listener_conf *l = rf->l;
	size_t t = rf->next++ % l->ntargets;

	if (l->targetnames[t] != NULL) {
		snprintf(host, hostlen, "%s", l->targetnames[t]);
		*port = ntohs(((const struct sockaddr_in *)
		    &l->targets[t])->sin_port);
	} else
		sockaddr_host(&l->targets[t], host, hostlen, port);
}

/* rtcp: a peer connected on the hop; its connection goes to the target. */
struct rtconn {
	struct rfwd	*rf;
	struct conn	*c;
	struct dial	*dial;
};

static void
rtconn_dialed(void *arg, struct conn *up, int err)
{
	struct rtconn *c = arg;
	struct worker *wk = c->rf->wk;

	if (up == NULL) {
		debug("%s: target: %s", c->rf->l->node->url, strerror(err));
		conn_free(c->c);
		worker_conn_closed(wk);
	} else
		relay_conns(wk, c->c, up, 0);
	free(c);
}

/* rtcp: the hop's second BIND reply says a peer connected. */
static void
rf_peer_cb(struct conn *pc, int what, void *arg)
{
	struct rfwd *rf = arg;
	char host[PROXY_HOST_MAX + 1];
	struct rtconn *c;
	uint16_t port;
	size_t len;
	ssize_t n = 0;		/* no room: nothing read */
	int rep, e;

	(void)what;
	while (cbuf_room(&rf->tin) > 0 && (n = conn_recv(pc,
	    cbuf_tail(&rf->tin), cbuf_room(&rf->tin))) > 0)
		rf->tin.len += (size_t)n;
	e = socks5_reply_length(rf->tin.p + rf->tin.off, rf->tin.len, &len,
	    &rep);
	if (e == ERR_INCOMPLETE) {
		if (cbuf_room(&rf->tin) > 0 && n < 0 && errno == EAGAIN)
			return;
		rf_again(rf, "the hop closed the bind");
		return;
	}
	if (e != 0 || rep != SOCKS5_REP_OK) {
		rf_again(rf, "the hop's second bind reply is not a success");
		return;
	}
	/* The connection is the peer's now; the port needs a new BIND. */
	cbuf_consume(&rf->tin, len);
	if (conn_unread(pc, rf->tin.p + rf->tin.off, rf->tin.len) != 0) {
		rf_again(rf, "out of memory");
		return;
	}
	cbuf_release(&rf->tin);
	rf->rc = NULL;
	conn_want(pc, 0);
	rf->wk->stats.accepted++;
	rf->wk->stats.active++;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		conn_free(pc);
		worker_conn_closed(rf->wk);
	} else {
		c->rf = rf;
		c->c = pc;
		/* the peer is the listener's client (its address: the hop's) */
		(void)stconn_open(rf->wk, rf->dl.idx, pc);
		rf_target(rf, host, sizeof(host), &port);
		debug("%s: a peer connected; to %s:%u", rf->l->node->url,
		    host, port);
		if ((c->dial = dial_start(&rf->dl, host, port, 0,
		    rtconn_dialed, c)) == NULL) {
			conn_free(pc);
			free(c);
			worker_conn_closed(rf->wk);
		} else
			dial_set_stats(c->dial, conn_stats(pc));
	}
	rf_open(rf);
}

/* rudp: frames from the hop; answers back as frames. */
static int
rf_flush(struct rfwd *rf)
{
	if (conn_send_buf(rf->rc, &rf->tout) != 0)
		return -1;
	conn_want(rf->rc, CONN_READ | (rf->tout.len > 0 ? CONN_WRITE : 0));
	return 0;
}

static void
rpeer_touch(struct rpeer *p)
{
	unsigned long ms = p->rf->l->ttl_ms;
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(p->ttl, &tv);
}

static void
rpeer_ttl_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rpeer_free(arg);
}

/* The target answered a peer: one frame to the hop, naming the peer. */
static void
rpeer_answer(void *arg, const struct proxy_target *src,
    const unsigned char *p, size_t n)
{
	struct rpeer *pr = arg;
	struct rfwd *rf = pr->rf;
	unsigned char *t;
	size_t al;

	(void)src;
	if (rf->rc == NULL || n == 0 || n > 0xffff ||
	    cbuf_room(&rf->tout) < n + 3 + 1 + 1 + PROXY_HOST_MAX + 2)
		return;
	stconn_bytes(pr->st, 1, n);
	rpeer_touch(pr);
	t = cbuf_tail(&rf->tout);
	if ((al = socks5_put_addr(t + 3, PROXY_HOST_MAX + 4, pr->who.host,
	    pr->who.port)) == 0)
		return;
	t[0] = (unsigned char)(n >> 8);
	t[1] = (unsigned char)n;
	t[2] = 0;
	memcpy(t + 3 + al, p, n);
	rf->tout.len += 3 + al + n;
	if (rf_flush(rf) != 0)
		rf_again(rf, "the UDP tunnel failed");
}

static struct rpeer *
rpeer_get(struct rfwd *rf, const struct proxy_target *who)
{
	struct rpeer *p;

	LIST_FOREACH(p, &rf->peers, entry)
		if (p->who.port == who->port &&
		    strcmp(p->who.host, who->host) == 0)
			return p;
	if (rf->npeers >= RF_PEERS_MAX || (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->rf = rf;
	p->who = *who;
	if ((p->uc = uchan_open(&rf->dl, rpeer_answer, p)) == NULL ||
	    (p->ttl = evtimer_new(rf->wk->base, rpeer_ttl_cb, p)) == NULL)
		fatal_f("out of memory");
	/* each peer is a client of the listener, with its record */
	if ((p->st = stconn_new(rf->wk, rf->dl.idx, NULL)) != NULL) {
		stconn_client_name(p->st, who->host, who->port);
		stconn_served(p->st);
	}
	LIST_INSERT_HEAD(&rf->peers, p, entry);
	rf->npeers++;
	debug("%s: new peer %s:%u", rf->l->node->url, who->host, who->port);
	return p;
}

static void
rf_tun_cb(struct conn *tc, int what, void *arg)
{
	struct rfwd *rf = arg;
	struct proxy_target who;
	char host[PROXY_HOST_MAX + 1];
	struct rpeer *p;
	size_t hl, fl;
	uint16_t port;
	ssize_t n;
	int e;

	if ((what & CONN_WRITE) && rf_flush(rf) != 0) {
		rf_again(rf, "the UDP tunnel failed");
		return;
	}
	if (!(what & CONN_READ))
		return;
	if (cbuf_room(&rf->tin) == 0) {
		rf_again(rf, "a frame longer than a datagram");
		return;
	}
	n = conn_recv(tc, cbuf_tail(&rf->tin), cbuf_room(&rf->tin));
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		rf_again(rf, "the hop closed the UDP tunnel");
		return;
	}
	if (n < 0)
		return;
	rf->tin.len += (size_t)n;
	for (;;) {
		e = socks5_parse_udptun(rf->tin.p + rf->tin.off, rf->tin.len,
		    &who, &hl, &fl);
		if (e == ERR_INCOMPLETE)
			return;
		if (e != 0) {
			rf_again(rf, "a bad frame from the hop");
			return;
		}
		if ((p = rpeer_get(rf, &who)) != NULL) {
			rpeer_touch(p);
			/* each peer's session goes to the same target */
			if (p->uc != NULL) {
				rf->next = 0;
				rf_target(rf, host, sizeof(host), &port);
				stconn_target_once(p->st, host, port);
				stconn_bytes(p->st, 0, fl - hl);
				uchan_send(p->uc, host, port,
				    rf->tin.p + rf->tin.off + hl, fl - hl);
			}
		}
		cbuf_consume(&rf->tin, fl);
	}
}

static void
mdial_done(void *arg, struct conn *up, int err)
{
	struct mdial *md = arg;
	struct rfwd *rf = md->rf;
	struct conn *st = md->st;

	md->dial = NULL;
	md->st = NULL;
	mdial_free(md);
	if (up == NULL) {
		debug("%s: target: %s", rf->l->node->url, strerror(err));
		conn_free(st);
		return;
	}
	rf->wk->stats.active++;		/* the stream's */
	relay_conns(rf->wk, st, up, 0);
}

static void
mdial_target(struct mdial *md)
{
	struct rfwd *rf = md->rf;
	char host[PROXY_HOST_MAX + 1];
	uint16_t port;

	rf_target(rf, host, sizeof(host), &port);
	debug("%s: a peer connected (mbind); to %s:%u", rf->l->node->url,
	    host, port);
	conn_want(md->st, 0);
	(void)stconn_open(rf->wk, rf->dl.idx, md->st);
	if ((md->dial = dial_start(&rf->dl, host, port, 0, mdial_done,
	    md)) == NULL)
		mdial_free(md);
	else
		dial_set_stats(md->dial, conn_stats(md->st));
}

/* A relay BIND stream opens with a response naming the peer. */
static void
mdial_hdr_cb(struct conn *c, int what, void *arg)
{
	struct mdial *md = arg;
	struct relay_response rr;
	struct stconn *rec;
	size_t used;
	ssize_t n;
	int e;

	(void)what;
	while ((n = conn_recv(c, cbuf_tail(&md->hdr),
	    cbuf_room(&md->hdr))) > 0)
		md->hdr.len += (size_t)n;
	e = relay_parse_response(md->hdr.p + md->hdr.off, md->hdr.len, &rr,
	    &used);
	if (e == ERR_INCOMPLETE && cbuf_room(&md->hdr) > 0 &&
	    (n < 0 && errno == EAGAIN))
		return;
	if (e != 0 || rr.status != RELAY_OK) {
		debug("%s: mbind: stream %s", md->rf->l->node->url,
		    e != 0 ? "without its header" : "refused");
		mdial_free(md);
		return;
	}
	/* the peer's first bytes, if they came with it */
	if (conn_unread(c, md->hdr.p + md->hdr.off + used,
	    md->hdr.len - used) != 0) {
		mdial_free(md);
		return;
	}
	cbuf_release(&md->hdr);
	if (rr.naddr > 0 && (rec = stconn_open(md->rf->wk, md->rf->dl.idx,
	    c)) != NULL)
		stconn_client_name(rec, rr.addr[0].host, rr.addr[0].port);
	mdial_target(md);
}

/* MBIND: the hop opened a stream for a peer; it goes to the target. */
static void
rf_mbind_accept(void *arg, struct conn *st)
{
	struct rfwd *rf = arg;
	struct mdial *md;

	rf->wk->stats.accepted++;
	if ((md = calloc(1, sizeof(*md))) == NULL) {
		conn_free(st);
		return;
	}
	md->rf = rf;
	md->st = st;
	LIST_INSERT_HEAD(&rf->mdials, md, entry);
	if (rf->mbind == 2) {
		if (cbuf_alloc(&md->hdr, RELAY_HDR_LEN + RELAY_FEALEN_MAX) !=
		    0) {
			mdial_free(md);
			return;
		}
		conn_set_cb(st, mdial_hdr_cb, md);
		conn_want(st, CONN_READ);
		return;
	}
	mdial_target(md);
}

static void
rf_mbind_closed(void *arg)
{
	struct rfwd *rf = arg;

	rf->mux = NULL;
	mdials_cancel(rf);
	rf_again(rf, "the hop ended the mbind session");
}

static void
rf_ready(void *arg, struct conn *c, int err)
{
	struct rfwd *rf = arg;
	int rudp = rf->l->kind == LIS_RUDP;

	rf->cd = NULL;
	if (c == NULL) {
		rf_again(rf, strerror(err));
		return;
	}
	rf->backoff_ms = RF_BACKOFF_MIN_MS;
	verbose("%s: port %u open on the hop", rf->l->node->url,
	    rf->l->node->port);
	if (rf->mbind) {
		/* the hop is the smux client; we accept its streams */
		if ((rf->mux = smux_new(c, 0, rf_mbind_accept,
		    rf_mbind_closed, rf)) == NULL)
			rf_again(rf, "no smux session");
		return;
	}
	/* the BIND's second reply, or UDP frames, on the connection */
	rf->rc = c;
	if (cbuf_alloc(&rf->tin, rudp ? 0xffff + 512 : 300) != 0 ||
	    (rudp && cbuf_alloc(&rf->tout, RF_TUN_BUF) != 0))
		fatal_f("out of memory");
	conn_set_cb(c, rudp ? rf_tun_cb : rf_peer_cb, rf);
	conn_want(c, CONN_READ);
}

static void
rf_open(struct rfwd *rf)
{
	const struct conf *c = rf->wk->conf;
	/* the listener's route: rules on its tag, else the default */
	const struct outbound_conf *ob = &c->obs[router_pick(c,
	    (size_t)(rf->l - c->lis), NULL, NULL, rf->l->node->port)];

	if (rf->wk->draining)
		return;
	/* 1: gost's SOCKS5 MBIND; 2: a relay hop's BIND (v3); both smux */
	rf->mbind = rf->l->kind != LIS_RTCP || ob->nhops == 0 ? 0 :
	    ob->hops[ob->nhops - 1].kind == HOP_RELAY ? 2 :
	    ob->hops[ob->nhops - 1].mbind;
	rf->cd = chain_dial_start(rf->wk, ob, &rf->dl, rf->bindhost,
	    rf->l->node->port, rf->l->kind == LIS_RUDP ? CHAIN_UDPTUN :
	    rf->mbind == 1 ? CHAIN_MBIND : CHAIN_BIND, rf_ready, rf);
	if (rf->cd == NULL)
		rf_again(rf, "no chain to open the port on");
}

int
rforward_start(struct worker *wk, const struct listener_conf *l, size_t idx,
    int fd)
{
	struct rfwd *rf;

	if ((rf = calloc(1, sizeof(*rf))) == NULL)
		return -1;
	rf->wk = wk;
	rf->l = l;
	rf->backoff_ms = RF_BACKOFF_MIN_MS;
	LIST_INIT(&rf->peers);
	LIST_INIT(&rf->mdials);
	/* an empty or wildcard host: every address of the hop */
	snprintf(rf->bindhost, sizeof(rf->bindhost), "%s",
	    l->node->host[0] == '\0' ? "0.0.0.0" : l->node->host);
	if (dialer_init(&rf->dl, wk, l, idx) != 0 ||
	    (rf->retry = evtimer_new(wk->base, rf_retry_cb, rf)) == NULL)
		return -1;
	/* peers go to the target from here, as gost's rtcp/rudp do */
	rf->dl.direct = 1;
	LIST_INSERT_HEAD(&rfwds, rf, entry);
	rf_open(rf);
	return 0;
}

/* A draining worker gives the ports back, so its successor can bind. */
void
rforward_drain(void)
{
	struct rfwd *rf;

	LIST_FOREACH(rf, &rfwds, entry) {
		evtimer_del(rf->retry);
		rf_close(rf);
	}
}
