/*
 * The OSTP client (spec/ostp.md §2.5, §5): per chain node (and per
 * route mark), one tunnel, or "mux" of them, each with its own
 * connected UDP socket.  A tunnel goes Idle -> Connecting -> Connected:
 * msg1 sent up to 4 times 1.2 s apart, the first answer read as msg2,
 * then a session whose flows are the chain's connections.  Flows asked
 * for while it connects wait in its lobby.  A tunnel that ends or cannot
 * connect tries again every 5 s, for as long as the worker runs (an
 * unanswered msg1 is never resent after its attempt: the server's
 * replay cache would drop it, §2.5; a new attempt is a new session).
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "core/conn.h"
#include "core/dial.h"
#include "core/resolve.h"
#include "core/udpbatch.h"
#include "log.h"
#include "ostp/client.h"
#include "ostp/session.h"
#include "proto/ostp.h"
#include "proto/uot.h"
#include "proto/stun.h"
#include "ostp/turn.h"
#include "core/tls.h"
#include "cbuf.h"
#include "err.h"
#include <netinet/tcp.h>
#include <linux/errqueue.h>
#include "worker.h"

#define OC_HS_SENDS		4
#define OC_HS_GAP_MS		1200
#define OC_UOT_HS_MS		8000
#define OC_RETRY_SECS		5
#define OC_PROBE_HOPS		24	/* TTLs the hop probe tries */
#define OC_PROBE_MS		600	/* its wait for the routers */
#define OC_PROBE_TAG		8

enum oc_state {
	OC_IDLE,
	OC_RESOLVING,
	OC_PROBING,
	OC_HANDSHAKE,
	OC_UP,
};

static const char *const oc_state_names[] = {
	"idle", "connecting", "connecting", "connecting", "connected"
};

/* A piece of the paced start and the pause after it. */
struct oc_piece {
	size_t			 len;
	unsigned int		 ms;
};

struct oclient {
	LIST_ENTRY(oclient)	 entry;
	struct worker		*wk;
	char			 key[400];
	char			 name[300];	/* ostp://host:port */
	const struct hop_conf	*h;
	struct egress		 egress;
	struct resolver		*res;
	struct ostp_keys	 keys;
	enum oc_state		 state;
	int			 fd;
	struct event		*rev;
	struct sockaddr_storage	 peer;
	socklen_t		 peerlen;
	struct resolve_req	*rr;
	int			 have_v6;
	struct sockaddr_storage	 peer6;
	socklen_t		 peer6len;
	struct ostp_hs		 hs;
	unsigned char		 msg1[OSTP_HS_HDR + OSTP_MSG1_NOISE_BASE + 12 +
				    OSTP_KEY_MAX + 256];
	size_t			 msg1len;
	int			 sends;
	struct event		*timer;
	struct ostp_session	*s;
	struct conn		**lobby;
	size_t			 nlobby;
	size_t			 lobbycap;
	int			 quiet;		/* failures logged once */
	int			 gso;		/* the kernel segments */
	/* UDP-over-TCP (§2.13): a connection, frames each way */
	struct conn		*tc;
	struct event		*cev;		/* connecting */
	int			 upgrading;	/* HTTP upgrade answer due */
	int			 moving;	/* a path move's new carrier */
	unsigned char		 wskey[UOT_KEY_LEN];
	struct cbuf		 tin;
	struct cbuf		 tout;
	/* plain UoT's first bytes, written in pieces with pauses (§2.12) */
	struct cbuf		 pbuf;
	struct oc_piece		*pieces;
	size_t			 npieces;
	size_t			 pnext;
	struct event		*ptimer;
	/* UDP: through a TURN relay, or STUN on an unconnected socket */
	struct oturn		*turn;
	int			 unconnected;
	unsigned char		 stun_tid[STUN_TID_LEN];
	int			 stun_asked;
	int			 stun_known;
	struct sockaddr_storage	 mapped;	/* what STUN saw last */
	/* the TURN and STUN servers' addresses (names resolved anew) */
	struct sockaddr_storage	 turn_addr;
	socklen_t		 turn_len;
	struct sockaddr_storage	 stun_addr;
	socklen_t		 stun_len;
	int			 aux_step;	/* 0 turn, 1 stun, 2 done */
	/* TTL-desync (§2.12): the decoys' TTL, 0 until the probe knows */
	unsigned int		 desync_ttl;
	unsigned int		 desync_said;	/* last logged: routers,
						   UINT_MAX none answered */
	unsigned char		 ptag[OC_PROBE_HOPS][OC_PROBE_TAG];
};

static LIST_HEAD(, oclient) clients = LIST_HEAD_INITIALIZER(clients);

static void oc_connect(struct oclient *);
static void oc_retry(struct oclient *, const char *);
static void oc_dgram(void *, const unsigned char *, size_t, const void *,
    unsigned int);
static int oc_frame_out(struct oclient *, const unsigned char *, size_t);
static int oc_turn_sendv(struct oclient *, const unsigned char *,
    const size_t *, size_t);
static void oc_stun_ask(struct oclient *);
static void oc_send_msg1(struct oclient *);

static void
oc_set_state(struct oclient *oc, enum oc_state st)
{
	if (oc->state == st)
		return;
	if ((st == OC_UP || oc->state == OC_UP) ||
	    (!oc->quiet && st != OC_HANDSHAKE && st != OC_PROBING))
		logit("%s: %s -> %s", oc->name, oc_state_names[oc->state],
		    oc_state_names[st]);
	oc->state = st;
}

static void
oc_timer_set(struct oclient *oc, unsigned long ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(oc->timer, &tv);
}

static void
oc_close_socket(struct oclient *oc)
{
	struct oturn *t = oc->turn;

	/* its goodbye (a Refresh of 0 s) goes out before the socket */
	oc->turn = NULL;
	oturn_free(t);
	oc->unconnected = 0;
	oc->stun_asked = 0;
	if (oc->cev != NULL) {
		event_free(oc->cev);
		oc->cev = NULL;
	}
	if (oc->tc != NULL) {
		conn_free(oc->tc);
		oc->tc = NULL;
	}
	cbuf_release(&oc->tin);
	cbuf_release(&oc->tout);
	cbuf_release(&oc->pbuf);
	free(oc->pieces);
	oc->pieces = NULL;
	oc->npieces = oc->pnext = 0;
	if (oc->ptimer != NULL)
		evtimer_del(oc->ptimer);
	if (oc->rev != NULL) {
		event_free(oc->rev);
		oc->rev = NULL;
	}
	if (oc->fd != -1) {
		close(oc->fd);
		oc->fd = -1;
	}
}

/* Flows that waited fail: no tunnel now. */
static void
oc_fail_lobby(struct oclient *oc, const char *why)
{
	struct conn **l = oc->lobby;
	size_t i, n = oc->nlobby;

	oc->lobby = NULL;
	oc->nlobby = oc->lobbycap = 0;
	for (i = 0; i < n; i++)
		ostp_stream_fail(l[i], why);
	free(l);
}

/* The attempt or the tunnel ended: again in 5 s. */
static void
oc_retry(struct oclient *oc, const char *why)
{
	if (oc->state == OC_UP || !oc->quiet)
		logit("%s: %s; again in %d s", oc->name, why, OC_RETRY_SECS);
	else
		debug("%s: %s", oc->name, why);
	oc->quiet = 1;
	oc->moving = 0;
	if (oc->s != NULL) {
		/* a failed path move: the session ends with its carrier */
		ostp_session_free(oc->s);
		oc->s = NULL;
	}
	if (oc->rr != NULL) {
		resolve_cancel(oc->rr);
		oc->rr = NULL;
	}
	oc_close_socket(oc);
	ostp_hs_clear(&oc->hs);
	oc_set_state(oc, OC_IDLE);
	oc_fail_lobby(oc, why);
	evtimer_del(oc->timer);
	oc_timer_set(oc, OC_RETRY_SECS * 1000);
}

static int
oc_tc_flush(struct oclient *oc)
{
	if (oc->tc == NULL || conn_send_buf(oc->tc, &oc->tout) != 0)
		return -1;
	conn_want(oc->tc, CONN_READ | (oc->tout.len > 0 ? CONN_WRITE : 0));
	return 0;
}

/* A datagram as a UoT frame; past 16 MiB waiting it is dropped. */
static int
oc_frame_queue(struct oclient *oc, const unsigned char *d, size_t len)
{
	unsigned char h[UOT_HDR_LEN];
	size_t need = UOT_HDR_LEN + len;

	if (oc->tc == NULL || uot_frame_header(h, len) != 0 ||
	    cbuf_reserve(&oc->tout, need, 256 * 1024, 16 * 1024 * 1024) != 0)
		return -1;
	cbuf_append(&oc->tout, h, UOT_HDR_LEN);
	cbuf_append(&oc->tout, d, len);
	return 0;
}

static int
oc_frame_out(struct oclient *oc, const unsigned char *d, size_t len)
{
	if (oc_frame_queue(oc, d, len) != 0)
		return -1;
	return oc_tc_flush(oc);
}

/* A batch through the TURN relay: each datagram as ChannelData. */
static int
oc_turn_sendv(struct oclient *oc, const unsigned char *buf,
    const size_t *lens, size_t n)
{
	unsigned char *tb;
	size_t *tl, i, off = 0, toff = 0, total = 0;
	int r;

	if (!oturn_ready(oc->turn))
		return 0;	/* lost, as on a network; the ARQ resends */
	for (i = 0; i < n; i++)
		total += lens[i] + TURN_CHANNEL_HDR_LEN;
	if ((tb = malloc(total)) == NULL ||
	    (tl = calloc(n, sizeof(*tl))) == NULL) {
		free(tb);
		return 0;
	}
	for (i = 0; i < n; off += lens[i], i++) {
		if (oturn_header(oc->turn, tb + toff, lens[i]) != 0)
			break;
		memcpy(tb + toff + TURN_CHANNEL_HDR_LEN, buf + off, lens[i]);
		tl[i] = lens[i] + TURN_CHANNEL_HDR_LEN;
		toff += tl[i];
	}
	r = udpb_send(oc->fd, NULL, 0, tb, tl, i, &oc->gso, NULL);
	free(tl);
	free(tb);
	return r;
}

/* One datagram of the tunnel on the socket, whatever carries it. */
static void
oc_send_one(struct oclient *oc, const unsigned char *d, size_t len)
{
	size_t l = len;

	if (oc->turn != NULL)
		(void)oc_turn_sendv(oc, d, &l, 1);
	else if (oc->unconnected)
		(void)sendto(oc->fd, d, len, 0, (struct sockaddr *)&oc->peer,
		    oc->peerlen);
	else if (send(oc->fd, d, len, 0) == -1)
		debug("%s: send: %s", oc->name, strerror(errno));
}

static int
oc_output(void *arg, const unsigned char *buf, const size_t *lens, size_t n)
{
	struct oclient *oc = arg;
	size_t i, off = 0;

	if (oc->tc != NULL) {
		/* the batch as frames, then one write */
		for (i = 0; i < n; off += lens[i++])
			(void)oc_frame_queue(oc, buf + off, lens[i]);
		return oc_tc_flush(oc);
	}
	/* a UoT carrier being replaced: lost, as on a network */
	if (oc->h->ostp->uot)
		return 0;
	if (oc->fd == -1)
		return -1;
	if (oc->turn != NULL)
		return oc_turn_sendv(oc, buf, lens, n);
	if (oc->unconnected)
		return udpb_send(oc->fd, (struct sockaddr *)&oc->peer,
		    oc->peerlen, buf, lens, n, &oc->gso, NULL);
	return udpb_send(oc->fd, NULL, 0, buf, lens, n, &oc->gso, NULL);
}

static void oc_read_cb(evutil_socket_t, short, void *);

/*
 * The path stalled (§2.10): UDP gets a new socket, hence a new source
 * port, the session its keys, nonces and flows; the server moves it
 * on the first datagram that authenticates.  A TCP carrier cannot move
 * so: the session ends and a new one is made.
 */
static void oc_uot_connect(struct oclient *);

/*
 * UoT's path move (§2.10): a new connection of the same carrier (TLS,
 * the upgrade, but no junk and no handshake), then the session's Ping
 * and everything in flight again.  Its answer is awaited as after a
 * UDP move; a connection that fails ends the session.
 */
static void
oc_uot_move(struct oclient *oc, const char *why)
{
	logit("%s: %s; moving to a new TCP connection", oc->name, why);
	oc_close_socket(oc);
	oc->moving = 1;
	oc_uot_connect(oc);
}

/* The new carrier is ready: the session goes on over it. */
static void
oc_uot_moved(struct oclient *oc)
{
	oc->moving = 0;
	evtimer_del(oc->timer);
	debug("%s: moved to a new TCP connection", oc->name);
	ostp_session_path_moved(oc->s);
}

static void
oc_stalled(void *arg)
{
	struct oclient *oc = arg;
	int fd;

	if (oc->h->ostp->uot && oc->s != NULL) {
		oc_uot_move(oc, "the path stalled");
		return;
	}
	/* a relay's allocation belongs to the old socket: start over */
	if (oc->tc != NULL || oc->s == NULL || oc->turn_len != 0) {
		ostp_session_free(oc->s);
		oc->s = NULL;
		oc_retry(oc, "the tunnel stalled");
		return;
	}
	if ((fd = dial_socket_as(oc->wk, &oc->egress, oc->peer.ss_family,
	    SOCK_DGRAM)) == -1)
		return;
	ostp_udp_tune(fd);
	if (oc->stun_len == 0 && connect(fd,
	    (struct sockaddr *)&oc->peer, oc->peerlen) == -1) {
		close(fd);
		return;
	}
	evutil_make_socket_nonblocking(fd);
	oc_close_socket(oc);
	oc->fd = fd;
	oc->unconnected = oc->stun_len != 0;
	if ((oc->rev = event_new(oc->wk->base, oc->fd, EV_READ | EV_PERSIST,
	    oc_read_cb, oc)) == NULL)
		fatal_f("out of memory");
	event_add(oc->rev, NULL);
	logit("%s: the path stalled; moved to a new socket", oc->name);
	oc_stun_ask(oc);
	ostp_session_path_moved(oc->s);
}

static void
oc_session_closed(void *arg, struct ostp_session *s)
{
	struct oclient *oc = arg;

	(void)s;
	oc->s = NULL;
	oc_retry(oc, "the session ended");
	/* a tunnel that was up tries again at once, the back-off after */
	evtimer_del(oc->timer);
	oc_timer_set(oc, 0);
}

/* msg2 arrived: the tunnel is up; the lobby's flows go. */
static void
oc_established(struct oclient *oc)
{
	struct ostp_session_params p;
	struct conn **l;
	char name[340];
	size_t i, n;

	snprintf(name, sizeof(name), "%s session %08x", oc->name,
	    oc->hs.sid);
	memset(&p, 0, sizeof(p));
	p.keys = &oc->keys;
	p.sid = oc->hs.sid;
	p.k_tx = oc->hs.k_c2s;
	p.k_rx = oc->hs.k_s2c;
	p.mtu = oc->h->ostp->mtu;
	p.reliable = oc->tc != NULL;
	p.output = oc_output;
	p.closed = oc_session_closed;
	p.stalled = oc_stalled;
	p.arg = oc;
	p.name = name;
	oc->s = ostp_session_new(oc->wk, &p);
	ostp_hs_clear(&oc->hs);
	evtimer_del(oc->timer);
	if (oc->s == NULL) {
		oc_retry(oc, "out of memory");
		return;
	}
	oc->quiet = 0;
	oc_set_state(oc, OC_UP);
	/* a first Ping: an RTT, and a fresh nonce (§2.5 step 6) */
	ostp_session_ping(oc->s);
	l = oc->lobby;
	n = oc->nlobby;
	oc->lobby = NULL;
	oc->nlobby = oc->lobbycap = 0;
	for (i = 0; i < n; i++)
		if (ostp_session_adopt(oc->s, l[i]) != 0)
			ostp_stream_fail(l[i], "the session failed");
	free(l);
}

/*
 * STUN (stun=): a Binding request from the tunnel's socket, which is
 * then left unconnected, so that the server's answer can come in; the
 * public address it reports is logged when it is new.
 */
static void
oc_stun_ask(struct oclient *oc)
{
	unsigned char req[64];
	size_t n;

	if (oc->stun_len == 0 || oc->fd == -1 || oc->stun_asked >= 4)
		return;
	if (oc->stun_asked == 0 && stun_new_tid(oc->stun_tid) != 0)
		return;
	if (stun_build_binding(req, sizeof(req), &n, oc->stun_tid,
	    STUN_F_FINGERPRINT) != 0)
		return;
	oc->stun_asked++;
	(void)sendto(oc->fd, req, n, 0, (const struct sockaddr *)&oc->stun_addr,
	    oc->stun_len);
}

static void
oc_stun_answer(struct oclient *oc, const unsigned char *d, size_t len)
{
	struct stun_msg m;
	const struct sockaddr_storage *a;
	char as[80];

	if (stun_classify(d, len) != STUN_KIND_MESSAGE ||
	    stun_parse(d, len, &m) != 0 ||
	    !stun_is_response(&m, STUN_METHOD_BINDING, oc->stun_tid) ||
	    m.cls != STUN_CLASS_SUCCESS || m.nunknown > 0)
		return;
	if (m.has & STUN_HAS_XOR_MAPPED)
		a = &m.xor_mapped;
	else if (m.has & STUN_HAS_MAPPED)
		a = &m.mapped;
	else
		return;
	oc->stun_asked = 4;	/* answered: no more for this socket */
	sockaddr_ntop((const struct sockaddr *)a, as, sizeof(as));
	if (oc->stun_known && sockaddr_same(a, &oc->mapped))
		debug("%s: public address %s (STUN)", oc->name, as);
	else
		logit("%s: public address %s (STUN)", oc->name, as);
	oc->mapped = *a;
	oc->stun_known = 1;
}

static void
oc_dgram(void *arg, const unsigned char *d, size_t len, const void *from,
    unsigned int fromlen)
{
	struct oclient *oc = arg;
	const struct sockaddr_storage *fs = from;
	struct sockaddr_storage ss;
	const unsigned char *pd;
	size_t plen;
	socklen_t sl = fromlen;

	/* unconnected (STUN): the STUN server's answer, or the server's */
	if (oc->unconnected && from != NULL) {
		if (fromlen > sizeof(ss))
			return;
		memcpy(&ss, fs, fromlen);
		sockaddr_unmap(&ss, &sl);
		if (sockaddr_same(&ss, &oc->stun_addr)) {
			oc_stun_answer(oc, d, len);
			return;
		}
		if (!sockaddr_same(&ss, &oc->peer))
			return;
	}
	/* through the relay: its messages, or the tunnel's datagram */
	if (oc->turn != NULL && from != NULL) {
		if (oturn_input(oc->turn, d, len, &pd, &plen) != 1)
			return;
		d = pd;
		len = plen;
	}
	if (oc->state == OC_HANDSHAKE) {
		/* the first answer is msg2, or nothing */
		if (ostp_hs_finish(&oc->hs, &oc->keys, d, len) == 0)
			oc_established(oc);
		return;
	}
	if (oc->state == OC_UP && oc->s != NULL)
		(void)ostp_session_input(oc->s, d, len);
}

static void
oc_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct oclient *oc = arg;

	(void)fd;
	(void)what;
	/*
	 * The session may end inside (its socket closes and another may
	 * open): a batch read before is still handed over, and dropped
	 * by the state checks.
	 */
	(void)ostp_recv_batch(oc->fd, oc_dgram, oc, 2);
}

/* The socket's TTL (hop limit), or its default with -1. */
static int
oc_ttl_set(struct oclient *oc, int ttl)
{
	if (oc->peer.ss_family == AF_INET6)
		return setsockopt(oc->fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl,
		    sizeof(ttl));
	return setsockopt(oc->fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
}

static int
oc_recverr(struct oclient *oc, int on)
{
	if (oc->peer.ss_family == AF_INET6)
		return setsockopt(oc->fd, IPPROTO_IPV6, IPV6_RECVERR, &on,
		    sizeof(on));
	return setsockopt(oc->fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
}

/* A marker-stamped random datagram (the server drops it, §2.5). */
static size_t
oc_decoy(struct oclient *oc, unsigned char *d, size_t dlen)
{
	unsigned char mk[UOT_JUNK_MARKER_LEN];
	uint32_t r;
	size_t len;

	ostp_random(&r, sizeof(r));
	ostp_junk_marker(&oc->keys, (uint64_t)time(NULL) / OSTP_JUNK_WINDOW,
	    mk);
	len = uot_junk_size(100, 1000, r);
	if (len > dlen || uot_junk_build(d, dlen, mk, len) != 0)
		return 0;
	return len;
}

/*
 * TTL-desync (§2.12): before the handshake, ttl_desync_count decoys
 * whose TTL lets them pass whatever watches the path but not reach
 * the server; then the socket's own TTL again.
 */
static void
oc_decoys(struct oclient *oc)
{
	const struct ostp_conf *c = oc->h->ostp;
	unsigned char d[UOT_JUNK_MAX];
	unsigned int i, ttl;
	size_t len;

	ttl = oc->desync_ttl != 0 ? oc->desync_ttl : c->ttl_desync_ttl;
	if (oc_ttl_set(oc, (int)ttl) == -1) {
		debug("%s: ttl_desync: %s", oc->name, strerror(errno));
		return;
	}
	for (i = 0; i < c->ttl_desync_count; i++)
		if ((len = oc_decoy(oc, d, sizeof(d))) > 0)
			oc_send_one(oc, d, len);
	if (oc_ttl_set(oc, -1) == -1)
		fatal_f("cannot restore the TTL: %s", strerror(errno));
}

/*
 * ttl_desync_auto: the hop probe.  Decoys with TTL 1 to 24 at once, the
 * socket reporting ICMP errors; each router on the way answers the one
 * whose TTL ends there with "time exceeded".  The highest such TTL (the
 * decoy's own bytes come back in the error, naming it), or else the
 * number of routers that answered, is the last hop before the server:
 * the decoys' TTL.  No answer at all leaves ttl_desync_ttl.
 */
static int
oc_probe_send(struct oclient *oc, const unsigned char *d, size_t len)
{
	ssize_t n;

	if (oc->unconnected)
		n = sendto(oc->fd, d, len, 0, (struct sockaddr *)&oc->peer,
		    oc->peerlen);
	else
		n = send(oc->fd, d, len, 0);
	return n == -1 && errno != EAGAIN && errno != ENOBUFS ? -1 : 0;
}

static int
oc_probe_start(struct oclient *oc)
{
	unsigned char d[UOT_JUNK_MAX];
	size_t len;
	int i;

	if (oc_recverr(oc, 1) == -1)
		return -1;
	for (i = 0; i < OC_PROBE_HOPS; i++) {
		if ((len = oc_decoy(oc, d, sizeof(d))) < UOT_JUNK_MARKER_LEN +
		    OC_PROBE_TAG || oc_ttl_set(oc, i + 1) == -1)
			break;
		memcpy(oc->ptag[i], d + UOT_JUNK_MARKER_LEN, OC_PROBE_TAG);
		/*
		 * An earlier probe's error, reported to this send, takes
		 * its place (and is spent): once more then.
		 */
		if (oc_probe_send(oc, d, len) == -1)
			(void)oc_probe_send(oc, d, len);
	}
	if (oc_ttl_set(oc, -1) == -1)
		fatal_f("cannot restore the TTL: %s", strerror(errno));
	/* the errors are read at the end, not as datagrams */
	event_del(oc->rev);
	oc_set_state(oc, OC_PROBING);
	oc_timer_set(oc, OC_PROBE_MS);
	return 0;
}

static void
oc_probe_finish(struct oclient *oc)
{
	const struct ostp_conf *c = oc->h->ostp;
	struct sockaddr_storage to, from, seen[OC_PROBE_HOPS];
	struct sock_extended_err ee;
	unsigned char d[64];
	unsigned int top = 0, nseen = 0, i, said;
	socklen_t el = sizeof(int);
	int e, lvl, v6 = oc->peer.ss_family == AF_INET6;
	ssize_t n;

	while ((n = udpb_recverr(oc->fd, d, sizeof(d), &to, &ee, &from)) >= 0) {
		/* time exceeded: ICMP type 11, ICMPv6 type 3 */
		if (ee.ee_origin != (v6 ? SO_EE_ORIGIN_ICMP6 :
		    SO_EE_ORIGIN_ICMP) || ee.ee_type != (v6 ? 3 : 11))
			continue;
		for (i = 0; (size_t)n >= UOT_JUNK_MARKER_LEN + OC_PROBE_TAG &&
		    i < OC_PROBE_HOPS; i++)
			if (memcmp(d + UOT_JUNK_MARKER_LEN, oc->ptag[i],
			    OC_PROBE_TAG) == 0 && i + 1 > top)
				top = i + 1;
		/* the router that said so */
		for (i = 0; i < nseen; i++)
			if (sockaddr_same(&seen[i], &from))
				break;
		if (i == nseen && nseen < OC_PROBE_HOPS)
			seen[nseen++] = from;
	}
	(void)oc_recverr(oc, 0);
	(void)getsockopt(oc->fd, SOL_SOCKET, SO_ERROR, &e, &el);
	if (top == 0)
		top = nseen;
	oc->desync_ttl = top != 0 ? top : c->ttl_desync_ttl;
	/* at info when the path's answer changed; a retry says it again */
	said = top != 0 ? top : UINT_MAX;
	lvl = oc->desync_said != said ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG1;
	oc->desync_said = said;
	if (top == 0)
		do_log(lvl, NULL, "%s: ttl_desync: no router answered the hop "
		    "probe; decoys with TTL %u", oc->name, oc->desync_ttl);
	else
		do_log(lvl, NULL, "%s: ttl_desync: %u router%s before the "
		    "server; decoys with TTL %u", oc->name, top,
		    top == 1 ? "" : "s", top);
	event_add(oc->rev, NULL);
	oc_set_state(oc, OC_HANDSHAKE);
	oc_send_msg1(oc);
}

static void
oc_send_msg1(struct oclient *oc)
{
	oc->sends++;
	if (oc->tc != NULL) {
		/* once, with an 8 s wait (§2.5) */
		oc->sends = OC_HS_SENDS;
		(void)oc_frame_out(oc, oc->msg1, oc->msg1len);
		oc_timer_set(oc, OC_UOT_HS_MS);
		return;
	}
	if (oc->sends == 1 && oc->h->ostp->ttl_desync && oc->turn == NULL)
		oc_decoys(oc);
	oc_send_one(oc, oc->msg1, oc->msg1len);
	oc_stun_ask(oc);
	oc_timer_set(oc, OC_HS_GAP_MS);
}

/* Bytes of the paced start, and the pause after them. */
static int
oc_pace_add(struct oclient *oc, const unsigned char *p, size_t len,
    unsigned int ms)
{
	struct oc_piece *np;

	if (cbuf_reserve(&oc->pbuf, len, 4096, 1024 * 1024) != 0 ||
	    (np = reallocarray(oc->pieces, oc->npieces + 1,
	    sizeof(*np))) == NULL)
		return -1;
	oc->pieces = np;
	cbuf_append(&oc->pbuf, p, len);
	np[oc->npieces].len = len;
	np[oc->npieces].ms = ms;
	oc->npieces++;
	return 0;
}

/* A whole frame (its header and d) as one piece. */
static int
oc_pace_frame(struct oclient *oc, const unsigned char *d, size_t len,
    unsigned int ms)
{
	unsigned char h[UOT_HDR_LEN];

	if (uot_frame_header(h, len) != 0 ||
	    oc_pace_add(oc, h, UOT_HDR_LEN, ms) != 0 ||
	    cbuf_reserve(&oc->pbuf, len, 4096, 1024 * 1024) != 0)
		return -1;
	cbuf_append(&oc->pbuf, d, len);
	oc->pieces[oc->npieces - 1].len += len;
	return 0;
}

/*
 * The next piece, then its pause.  A piece the socket does not take
 * at once goes with everything left into the ordinary queue: the
 * pacing is a best effort, the bytes are not.
 */
static void
oc_pace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct oclient *oc = arg;
	const struct oc_piece *pc;
	struct timeval tv;
	ssize_t n;

	(void)fd;
	(void)what;
	if (oc->tc == NULL || oc->pnext >= oc->npieces)
		return;
	pc = &oc->pieces[oc->pnext++];
	n = oc->tout.len > 0 ? 0 : conn_send(oc->tc, oc->pbuf.p +
	    oc->pbuf.off, pc->len);
	if (n < 0 && errno != EAGAIN) {
		oc_retry(oc, "the TCP carrier failed");
		return;
	}
	if (n < 0)
		n = 0;
	cbuf_consume(&oc->pbuf, (size_t)n);
	if ((size_t)n < pc->len || oc->pnext == oc->npieces) {
		/* the rest, unpaced */
		if (oc->pbuf.len > 0 && (cbuf_reserve(&oc->tout,
		    oc->pbuf.len, 4096, 16 * 1024 * 1024) != 0 ||
		    (cbuf_append(&oc->tout, oc->pbuf.p + oc->pbuf.off,
		    oc->pbuf.len), oc_tc_flush(oc)) != 0)) {
			oc_retry(oc, "the TCP carrier failed");
			return;
		}
		cbuf_release(&oc->pbuf);
		oc->pnext = oc->npieces;
		return;
	}
	tv.tv_sec = pc->ms / 1000;
	tv.tv_usec = (suseconds_t)(pc->ms % 1000) * 1000;
	evtimer_add(oc->ptimer, &tv);
}

/*
 * The start of a plain TCP carrier (§2.12): junk frames first, junk_pc
 * of them, junk_ps bytes each, stamped with this minute's marker (the
 * server drops them), 5 ms apart; then msg1's frame, with
 * tcp_fragmentation as its length's high byte, 5 ms, its low byte,
 * 5 ms, then frag_chunk bytes every frag_sleep ms.
 */
static int
oc_pace_start(struct oclient *oc)
{
	const struct ostp_conf *c = oc->h->ostp;
	unsigned char j[UOT_JUNK_MAX], mk[UOT_JUNK_MARKER_LEN], h[UOT_HDR_LEN];
	uint32_t r[1 + 64];
	size_t n, i, len, k;

	ostp_random(r, sizeof(r));
	ostp_junk_marker(&oc->keys, (uint64_t)time(NULL) / OSTP_JUNK_WINDOW,
	    mk);
	n = c->junk_pc[0] + r[0] % (c->junk_pc[1] - c->junk_pc[0] + 1);
	for (i = 0; i < n && i < 64; i++) {
		len = uot_junk_size(c->junk_ps[0], c->junk_ps[1], r[1 + i]);
		if (uot_junk_build(j, sizeof(j), mk, len) != 0 ||
		    oc_pace_frame(oc, j, len, 5) != 0)
			return -1;
	}
	if (!c->frag) {
		if (oc_pace_frame(oc, oc->msg1, oc->msg1len, 0) != 0)
			return -1;
	} else {
		if (uot_frame_header(h, oc->msg1len) != 0 ||
		    oc_pace_add(oc, h, 1, 5) != 0 ||
		    oc_pace_add(oc, h + 1, 1, 5) != 0)
			return -1;
		for (i = 0; i < oc->msg1len; i += k) {
			k = oc->msg1len - i < c->frag_chunk ?
			    oc->msg1len - i : c->frag_chunk;
			if (oc_pace_add(oc, oc->msg1 + i, k,
			    c->frag_sleep) != 0)
				return -1;
		}
	}
	if (oc->ptimer == NULL && (oc->ptimer = evtimer_new(oc->wk->base,
	    oc_pace_cb, oc)) == NULL)
		return -1;
	oc->pnext = 0;
	oc_pace_cb(-1, 0, oc);
	return 0;
}

/* msg1 made: on plain TCP paced with junk first, else msg1 at once. */
static void
oc_uot_start(struct oclient *oc)
{
	if (oc->moving) {
		oc_uot_moved(oc);
		return;
	}
	oc_set_state(oc, OC_HANDSHAKE);
	if (oc->h->ostp->tls) {
		oc_send_msg1(oc);
		return;
	}
	/* once, with an 8 s wait (§2.5), as oc_send_msg1 over TCP */
	oc->sends = OC_HS_SENDS;
	if (oc_pace_start(oc) != 0) {
		oc_retry(oc, "out of memory");
		return;
	}
	if (oc->tc != NULL)
		oc_timer_set(oc, OC_UOT_HS_MS);
}

static void
oc_tc_cb(struct conn *c, int what, void *arg)
{
	struct oclient *oc = arg;
	const unsigned char *f;
	size_t flen, used, hl;
	ssize_t r;
	int e, st, eof = 0;

	if ((what & CONN_WRITE) && oc->tout.len > 0 &&
	    conn_send_buf(c, &oc->tout) != 0) {
		oc_retry(oc, "the TCP carrier failed");
		return;
	}
	conn_want(c, CONN_READ | (oc->tout.len > 0 ? CONN_WRITE : 0));
	if (!(what & CONN_READ))
		return;
	while (cbuf_room(&oc->tin) > 0) {
		r = conn_recv(c, cbuf_tail(&oc->tin), cbuf_room(&oc->tin));
		if (r > 0) {
			oc->tin.len += (size_t)r;
			continue;
		}
		if (r == -1 && errno == EAGAIN)
			break;
		eof = r == 0 ? 1 : -1;
		break;
	}
	if (oc->upgrading) {
		e = uot_parse_upgrade_response(oc->tin.p + oc->tin.off,
		    oc->tin.len, oc->wskey, &hl, &st);
		if (e == ERR_INCOMPLETE && eof == 0)
			return;
		if (e != 0) {
			oc_retry(oc, "the server refused the HTTP upgrade");
			return;
		}
		cbuf_consume(&oc->tin, hl);
		oc->upgrading = 0;
		if (oc->moving)
			oc_uot_moved(oc);
		else {
			oc_set_state(oc, OC_HANDSHAKE);
			/* inside an upgrade nothing is junk: msg1 at once */
			oc_send_msg1(oc);
		}
	}
	while (oc->tc == c && uot_frame_parse(oc->tin.p + oc->tin.off,
	    oc->tin.len, &f, &flen, &used) == 0) {
		if (flen > 0)
			oc_dgram(oc, f, flen, NULL, 0);
		if (oc->tc != c)
			return;		/* the tunnel ended inside */
		cbuf_consume(&oc->tin, used);
	}
	if (eof == 0 || oc->tc != c)
		return;
	/* a reset (or an end) under a live session: a path move (§2.10) */
	if (oc->state == OC_UP && oc->s != NULL && !oc->moving &&
	    ostp_session_move_begin(oc->s) == 0)
		oc_uot_move(oc, eof > 0 ? "the server closed the TCP carrier" :
		    "the TCP carrier failed");
	else
		oc_retry(oc, eof > 0 ? "the server closed the TCP carrier" :
		    "the TCP carrier failed");
}

static void
oc_tc_connected(evutil_socket_t fd, short what, void *arg)
{
	struct oclient *oc = arg;
	socklen_t len = sizeof(int);
	char req[2048];
	size_t n;
	int err = 0, one = 1;

	event_free(oc->cev);
	oc->cev = NULL;
	if (what & EV_TIMEOUT)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		oc_retry(oc, strerror(err));
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* the connection owns the socket from here (closed with it) */
	oc->fd = -1;
	if ((oc->tc = conn_socket(oc->wk, fd)) == NULL ||
	    cbuf_alloc(&oc->tin, 2 * (UOT_HDR_LEN + UOT_FRAME_MAX)) != 0) {
		oc_retry(oc, "out of memory");
		return;
	}
	if (oc->h->ostp->tls) {
		/* real TLS, ALPN http/1.1, SNI the node's name (§2.13) */
		struct tp_conf tp;
		SSL_CTX *ctx;

		memset(&tp, 0, sizeof(tp));
		tp.kind = TP_TLS;
		tp.secure = !oc->h->ostp->insecure;
		tp.ca = oc->h->ostp->insecure ? NULL : oc->h->ostp->ca;
		tp.sni = oc->h->ostp->sni != NULL ? oc->h->ostp->sni :
		    oc->h->host;
		if ((ctx = tls_client_ctx(oc->wk, &tp)) == NULL ||
		    (oc->tc = tls_client_push_ctx(oc->tc, ctx, tp.sni,
		    tp.secure)) == NULL || tls_set_alpn(oc->tc,
		    "http/1.1") != 0) {
			oc_retry(oc, "cannot start TLS");
			return;
		}
	}
	conn_set_cb(oc->tc, oc_tc_cb, oc);
	conn_want(oc->tc, CONN_READ);
	if (oc->h->ostp->path != NULL) {
		ostp_random(oc->wskey, sizeof(oc->wskey));
		if (uot_build_upgrade_request(req, sizeof(req), &n,
		    oc->h->ostp->path, oc->h->host, oc->wskey) != 0 ||
		    conn_put(oc->tc, req, n) != 0) {
			oc_retry(oc, "cannot make the HTTP upgrade");
			return;
		}
		oc->upgrading = 1;
		oc_timer_set(oc, OC_UOT_HS_MS);
		return;
	}
	oc_uot_start(oc);
}

/* UoT: a TCP connection to the server's port first (4 s). */
static void
oc_uot_connect(struct oclient *oc)
{
	struct timeval tv = { 4, 0 };

	if ((oc->fd = dial_socket_as(oc->wk, &oc->egress,
	    oc->peer.ss_family, SOCK_STREAM)) == -1) {
		oc_retry(oc, strerror(errno));
		return;
	}
	evutil_make_socket_nonblocking(oc->fd);
	if (connect(oc->fd, (struct sockaddr *)&oc->peer, oc->peerlen) ==
	    -1 && errno != EINPROGRESS) {
		oc_retry(oc, strerror(errno));
		return;
	}
	if ((oc->cev = event_new(oc->wk->base, oc->fd, EV_WRITE,
	    oc_tc_connected, oc)) == NULL)
		fatal_f("out of memory");
	event_add(oc->cev, &tv);
	if (!oc->moving)
		oc_set_state(oc, OC_HANDSHAKE);
}

static int
oc_turn_send(void *arg, const unsigned char *d, size_t len)
{
	struct oclient *oc = arg;

	if (oc->fd == -1)
		return -1;
	if (send(oc->fd, d, len, 0) == -1 && errno != EAGAIN &&
	    errno != ENOBUFS && errno != ECONNREFUSED)
		return -1;
	return 0;
}

static void
oc_turn_ready(void *arg)
{
	oc_send_msg1(arg);
}

static void
oc_turn_failed(void *arg, const char *why)
{
	struct oclient *oc = arg;

	if (oc->s != NULL) {
		ostp_session_free(oc->s);
		oc->s = NULL;
	}
	oc_retry(oc, why);
}

/* A socket to the server's address and a new session's msg1. */
static void
oc_handshake(struct oclient *oc)
{
	const struct ostp_conf *c;
	const struct sockaddr_storage *to;
	socklen_t tolen;
	uint32_t sid;
	ssize_t n;

	oc_close_socket(oc);
	ostp_random(&sid, sizeof(sid));
	if ((n = ostp_hs_msg1(&oc->hs, &oc->keys, sid, (uint64_t)time(NULL),
	    NULL, (size_t)-1, oc->msg1, sizeof(oc->msg1))) < 0) {
		oc_retry(oc, "cannot make a handshake");
		return;
	}
	oc->msg1len = (size_t)n;
	oc->sends = 0;
	if (oc->h->ostp->uot) {
		oc_uot_connect(oc);
		return;
	}
	c = oc->h->ostp;
	/* the socket talks to the relay, the server, or (STUN) both */
	to = oc->turn_len != 0 ? &oc->turn_addr : &oc->peer;
	tolen = oc->turn_len != 0 ? oc->turn_len : oc->peerlen;
	if ((oc->fd = dial_socket_as(oc->wk, &oc->egress,
	    to->ss_family, SOCK_DGRAM)) == -1) {
		oc_retry(oc, strerror(errno));
		return;
	}
	ostp_udp_tune(oc->fd);
	oc->gso = 1;
	oc->unconnected = oc->turn_len == 0 && oc->stun_len != 0;
	if (!oc->unconnected && connect(oc->fd, (const struct sockaddr *)to,
	    tolen) == -1) {
		oc_retry(oc, strerror(errno));
		return;
	}
	evutil_make_socket_nonblocking(oc->fd);
	if ((oc->rev = event_new(oc->wk->base, oc->fd, EV_READ | EV_PERSIST,
	    oc_read_cb, oc)) == NULL)
		fatal_f("out of memory");
	event_add(oc->rev, NULL);
	oc_set_state(oc, OC_HANDSHAKE);
	if (oc->turn_len != 0) {
		struct oturn_params tp;

		memset(&tp, 0, sizeof(tp));
		tp.user = c->turn_user;
		tp.pass = c->turn_pass;
		tp.peer = (const struct sockaddr *)&oc->peer;
		tp.peerlen = oc->peerlen;
		tp.name = oc->name;
		tp.send = oc_turn_send;
		tp.ready = oc_turn_ready;
		tp.failed = oc_turn_failed;
		tp.arg = oc;
		if ((oc->turn = oturn_new(oc->wk, &tp)) == NULL) {
			oc_retry(oc, "out of memory");
			return;
		}
		/* msg1 once the relay is ready */
		oturn_start(oc->turn);
		return;
	}
	if (c->ttl_desync && c->ttl_desync_auto && oc->desync_ttl == 0 &&
	    oc_probe_start(oc) == 0)
		return;
	oc_send_msg1(oc);
}

static void oc_aux(struct oclient *);

/* A TURN or STUN server's name answered: its first address. */
static void
oc_aux_resolved(void *arg, const struct resolve_addrs *a, int err, int last)
{
	struct oclient *oc = arg;
	const struct ostp_conf *c = oc->h->ostp;
	int turn = oc->aux_step == 0;
	struct sockaddr_storage *ss = turn ? &oc->turn_addr : &oc->stun_addr;
	socklen_t *len = turn ? &oc->turn_len : &oc->stun_len;
	char why[400];

	if (err == 0 && a->n > 0 && (*len == 0 || (a->family == AF_INET &&
	    ss->ss_family != AF_INET)))
		sockaddr_set(ss, len, a->family, resolve_addr(a, 0),
		    turn ? c->turn_port : c->stun_port);
	if (!last)
		return;
	oc->rr = NULL;
	if (*len == 0) {
		snprintf(why, sizeof(why), "%s server %s: %s", turn ? "TURN" :
		    "STUN", turn ? c->turn_name : c->stun_name,
		    resolve_strerror(err ? err : ENOENT));
		oc_retry(oc, why);
		return;
	}
	oc->aux_step++;
	oc_aux(oc);
}

/*
 * The TURN and STUN servers' addresses for this attempt: given as
 * addresses, or names asked each time (as the server's own).
 */
static void
oc_aux(struct oclient *oc)
{
	const struct ostp_conf *c = oc->h->ostp;
	const char *name;

	for (; oc->aux_step < 2; oc->aux_step++) {
		name = oc->aux_step == 0 ? c->turn_name : c->stun_name;
		if (oc->aux_step == 0) {
			memcpy(&oc->turn_addr, &c->turn, sizeof(c->turn));
			oc->turn_len = c->turnlen;
		} else {
			memcpy(&oc->stun_addr, &c->stun, sizeof(c->stun));
			oc->stun_len = c->stunlen;
		}
		if (name == NULL)
			continue;
		if ((oc->rr = resolve_start(oc->res, name,
		    RESOLVE_V4 | RESOLVE_V6, oc_aux_resolved, oc)) == NULL)
			oc_retry(oc, "out of memory");
		return;
	}
	oc_handshake(oc);
}

static void
oc_resolved(void *arg, const struct resolve_addrs *a, int err, int last)
{
	struct oclient *oc = arg;

	if (err == 0 && a->n > 0) {
		/* IPv4 first, then IPv6 (§5) */
		if (a->family == AF_INET && oc->peerlen == 0)
			sockaddr_set(&oc->peer, &oc->peerlen, AF_INET,
			    resolve_addr(a, 0), oc->h->port);
		else if (a->family == AF_INET6 && !oc->have_v6) {
			sockaddr_set(&oc->peer6, &oc->peer6len, AF_INET6,
			    resolve_addr(a, 0), oc->h->port);
			oc->have_v6 = 1;
		}
	}
	if (!last)
		return;
	oc->rr = NULL;
	if (oc->peerlen == 0 && oc->have_v6) {
		oc->peer = oc->peer6;
		oc->peerlen = oc->peer6len;
	}
	if (oc->peerlen == 0) {
		oc_retry(oc, resolve_strerror(err ? err : ENOENT));
		return;
	}
	oc_aux(oc);
}

static void
oc_connect(struct oclient *oc)
{
	const struct hop_conf *h = oc->h;

	oc_set_state(oc, OC_RESOLVING);
	oc->aux_step = 0;
	if (h->addrlen != 0) {
		memcpy(&oc->peer, &h->addr, h->addrlen);
		oc->peerlen = h->addrlen;
		oc_aux(oc);
		return;
	}
	/* a name: asked again at each attempt */
	oc->peerlen = 0;
	oc->have_v6 = 0;
	if ((oc->rr = resolve_start(oc->res, h->host, RESOLVE_V4 | RESOLVE_V6,
	    oc_resolved, oc)) == NULL)
		oc_retry(oc, "out of memory");
}

static void
oc_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct oclient *oc = arg;

	(void)fd;
	(void)what;
	switch (oc->state) {
	case OC_IDLE:
		oc_connect(oc);
		break;
	case OC_PROBING:
		oc_probe_finish(oc);
		break;
	case OC_HANDSHAKE:
		/* UoT: one msg1, or the upgrade, then 8 s */
		if (oc->tc == NULL && oc->sends < OC_HS_SENDS)
			oc_send_msg1(oc);
		else {
			/* the path may have changed: probe it again */
			oc->desync_ttl = 0;
			oc_retry(oc, "the server did not answer");
		}
		break;
	default:
		break;
	}
}

/* The owner freed a flow that still waited. */
static void
oc_unlobby(void *arg, struct conn *c)
{
	struct oclient *oc = arg;
	size_t i;

	for (i = 0; i < oc->nlobby; i++)
		if (oc->lobby[i] == c) {
			oc->lobby[i] = oc->lobby[--oc->nlobby];
			return;
		}
}

static struct oclient *
oc_get(struct worker *wk, const struct hop_conf *h, const struct egress *eg,
    struct resolver *res, unsigned int idx)
{
	struct oclient *oc;
	char key[400];

	snprintf(key, sizeof(key), "%s:%u#%u mark %#x dev %s %p", h->host,
	    h->port, idx, eg->mark, eg->iface, (const void *)h->ostp);
	LIST_FOREACH(oc, &clients, entry)
		if (strcmp(oc->key, key) == 0)
			return oc;
	if ((oc = calloc(1, sizeof(*oc))) == NULL)
		return NULL;
	if (ostp_keys_init(&oc->keys, h->ostp->version, h->ostp->keys[0].key,
	    strlen(h->ostp->keys[0].key)) != 0) {
		free(oc);
		return NULL;
	}
	oc->wk = wk;
	snprintf(oc->key, sizeof(oc->key), "%s", key);
	snprintf(oc->name, sizeof(oc->name), strchr(h->host, ':') ?
	    "ostp://[%s]:%u" : "ostp://%s:%u", h->host, h->port);
	if (h->ostp->sessions > 1)
		snprintf(oc->name + strlen(oc->name), sizeof(oc->name) -
		    strlen(oc->name), " #%u", idx + 1);
	oc->h = h;
	oc->egress = *eg;
	oc->res = res;
	oc->fd = -1;
	if ((oc->timer = evtimer_new(wk->base, oc_timer_cb, oc)) == NULL)
		fatal_f("out of memory");
	LIST_INSERT_HEAD(&clients, oc, entry);
	oc_connect(oc);
	return oc;
}

struct conn *
ostp_client_flow(struct worker *wk, const struct hop_conf *h,
    const struct egress *eg, struct resolver *res, const char *host,
    uint16_t port)
{
	struct oclient *oc;
	struct conn *c, **nl;
	uint32_t r = 0;
	size_t cap;

	/* each flow is pinned to one session, at random (§3) */
	if (h->ostp->sessions > 1)
		ostp_random(&r, sizeof(r));
	if ((oc = oc_get(wk, h, eg, res, r % h->ostp->sessions)) == NULL ||
	    (c = ostp_stream_pending(wk, host, port, oc_unlobby,
	    oc)) == NULL)
		return NULL;
	if (oc->state == OC_UP && oc->s != NULL) {
		(void)ostp_session_adopt(oc->s, c);
		return c;
	}
	if (oc->nlobby == oc->lobbycap) {
		cap = oc->lobbycap ? oc->lobbycap * 2 : 8;
		if ((nl = reallocarray(oc->lobby, cap, sizeof(*nl))) == NULL) {
			conn_free(c);
			return NULL;
		}
		oc->lobby = nl;
		oc->lobbycap = cap;
	}
	oc->lobby[oc->nlobby++] = c;
	/* a tunnel waiting out its back-off tries now: somebody waits */
	if (oc->state == OC_IDLE) {
		evtimer_del(oc->timer);
		oc_connect(oc);
	}
	return c;
}
