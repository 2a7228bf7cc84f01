/*
 * An established OSTP session, client or server side (spec/ostp.md
 * §2.6-§3).  See session.h.
 *
 * Frames are built in one buffer per worker, sealed into a datagram the
 * ARQ's history keeps until acknowledged (a NACK is answered with the
 * same bytes), and handed to the output.  Received datagrams are opened
 * into another per-worker buffer; the ARQ delivers their frames in nonce
 * order to relay_input(), which acts on one relay message per frame.
 *
 * OSTP has no per-flow flow control (§3): what the peer sends waits in
 * the flow's queue; a flow whose reader leaves more than 32 MiB waiting
 * is reset, as upstream does with its upload queue.  Writers wait while
 * the congestion window is full.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "cbuf.h"
#include "core/conn.h"
#include "core/udpbatch.h"
#include "buf.h"
#include "log.h"
#include "ostp/arq.h"
#include "ostp/session.h"
#include "proto/ostp.h"
#include "worker.h"

#define SESS_BUCKETS		64
#define SESS_NACKS_MAX		16	/* NACKs at one time */
#define SESS_TOQ_MAX		(32 * 1024 * 1024)
#define SESS_TOQ_MIN		(16 * 1024)
#define SESS_KA_SECS		5
#define SESS_IDLE_SERVER_US	(600ULL * 1000000)
#define SESS_IDLE_CLIENT_US	(25ULL * 1000000)
#define SESS_STALL_US		(10ULL * 1000000)	/* client: move */
#define SESS_STALL_DATA_US	(3ULL * 1000000)	/* ... with data out */
#define SESS_MOVE_GAP_US	(30ULL * 1000000)
#define SESS_SUSPEND_US		(15ULL * 1000000)
#define SESS_RETX_BUDGET_MAX	512
/*
 * OSTP has no flow control; a session whose readers fall behind stops
 * acknowledging (the peer's window fills, it waits) past HIGH bytes
 * queued, and acknowledges again below LOW.  What it took stays taken:
 * nothing is lost, the peer's resends of it are dropped as duplicates.
 */
#define SESS_QUEUED_HIGH	(8 * 1024 * 1024)
#define SESS_QUEUED_LOW		(4 * 1024 * 1024)

enum st_state {
	ST_CONNECTING,		/* client: Connect sent */
	ST_ACCEPTING,		/* server: Connect received, not answered */
	ST_OPEN,
	ST_REFUSED,		/* Error received or sent */
};

struct ostp_stream {
	LIST_ENTRY(ostp_stream)	 entry;
	struct ostp_session	*s;		/* NULL: the session is gone */
	struct conn		*c;
	uint16_t		 id;
	enum st_state		 state;
	char			 why[128];
	struct cbuf		 toq;		/* from the peer */
	int			 fin_rcvd;	/* the peer's Close */
	int			 fin_sent;
	int			 blocked;	/* waits for the window */
	int			 peer_refused;	/* Error from the peer */
	/* UdpAssociate: datagrams to whoever set udp_cb */
	int			 udp;
	ostp_udp_fn		 udp_cb;
	void			*udp_arg;
	/* waiting for a session (ostp_stream_pending) */
	int			 lobby;
	char			*target;	/* host:port for Connect */
	void			(*unlobby)(void *, struct conn *);
	void			*unlobby_arg;
};

LIST_HEAD(ostp_stream_list, ostp_stream);

struct ostp_session {
	struct worker		*wk;
	const struct ostp_keys	*keys;
	uint32_t		 sid;
	int			 server;
	size_t			 mtu;
	size_t			 chunk;		/* Data bytes per datagram */
	struct ostp_aead	 tx;
	struct ostp_aead	 rx;
	struct arq		 arq;
	ostp_output_fn		 output;
	ostp_open_fn		 open;
	ostp_closed_fn		 closed;
	void			*arg;
	char			 name[64];
	struct ostp_stream_list	 bucket[SESS_BUCKETS];
	size_t			 nstreams;
	size_t			 nblocked;
	uint16_t		 next_id;
	struct event		*timer;		/* the ARQ's */
	uint64_t		 timer_at;	/* 0: not armed */
	struct event		*ka;		/* keepalive, idle */
	struct event		*fail_ev;
	int			 failing;
	int			 close_rcvd;
	uint64_t		 last_rx_us;	/* authenticated input */
	size_t			 queued;	/* in the flows' queues */
	void			(*stalled)(void *);
	uint64_t		 last_move_us;
	uint64_t		 ka_mono_us;	/* the last tick, monotonic */
	uint64_t		 ka_boot_us;	/* and counting suspend */
	unsigned int		 ka_ticks;
};

static const struct conn_ops stream_ops;
static void sess_fail(struct ostp_session *);
static void sess_schedule(struct ostp_session *, uint64_t now);
static void sess_taken(struct ostp_session *, size_t);
static uint64_t move_wait(const struct ostp_session *);
static uint64_t stall_wait(const struct ostp_session *);

/* One worker, one thread: frames are built and opened here. */
static unsigned char fbuf[OSTP_DGRAM_MAX];
static unsigned char pbuf[OSTP_DGRAM_MAX];

/*
 * Datagrams a session sends wait here, end to end, until its operation
 * ends (tx_flush): one GSO send for a window's worth.  One owner at a
 * time; another session's datagram flushes the first's.
 */
#define TX_MAX		(60 * 1024)
#define TX_SEGS		64
static unsigned char txbuf[TX_MAX + OSTP_DGRAM_MAX];
static size_t txlen, ntx, txlens[TX_SEGS];
static struct ostp_session *txowner;

static void
tx_flush(void)
{
	struct ostp_session *s = txowner;

	if (s == NULL || ntx == 0) {
		txowner = NULL;
		return;
	}
	(void)s->output(s->arg, txbuf, txlens, ntx);
	txlen = ntx = 0;
	txowner = NULL;
}

/* Room for a datagram of len bytes of s at txbuf + txlen. */
static unsigned char *
tx_room(struct ostp_session *s, size_t len)
{
	if (txowner != s || txlen + len > TX_MAX || ntx == TX_SEGS)
		tx_flush();
	txowner = s;
	return txbuf + txlen;
}

static void
tx_put(size_t len)
{
	txlens[ntx++] = len;
	txlen += len;
}

/* A datagram kept in history, sent again. */
static void
tx_again(struct ostp_session *s, const unsigned char *d, size_t len)
{
	memcpy(tx_room(s, len), d, len);
	tx_put(len);
}

static uint64_t
boot_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
ostp_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Padding (a sender's own policy, §2.7): a small payload is rounded up
 * to a 64-byte bucket with some jitter, so sizes say little; a full one
 * gets none.  The datagram never passes the mtu.
 */
static size_t
sess_pad(const struct ostp_session *s, size_t plen)
{
	size_t target, room, pad;
	unsigned char r;

	room = s->mtu > OSTP_OVERHEAD + plen ? s->mtu - OSTP_OVERHEAD -
	    plen : 0;
	if (room == 0)
		return 0;
	target = plen < 64 ? 64 : (plen + 63) / 64 * 64;
	ostp_noise(&r, 1);
	pad = target - plen + (r & 31);
	return pad < room ? pad : room;
}

/*
 * Seal the frame built in fbuf (header and payload of plen bytes) and
 * send it.  retx: kept for retransmission on timeout (data, close).
 */
static int
sess_emit(struct ostp_session *s, unsigned char kind, uint16_t stream,
    size_t plen, int retx)
{
	size_t pad = kind == OSTP_F_DATA || kind == OSTP_F_CLOSE ?
	    sess_pad(s, plen) : 0, flen;
	unsigned char *d, *t;
	uint64_t n, now;
	ssize_t dlen;

	if (s->failing)
		return -1;
	ostp_frame_hdr(fbuf, kind, stream, plen, pad);
	if (pad > 0)
		ostp_frame_pad(fbuf + OSTP_FRAME_HDR + plen, pad);
	flen = OSTP_FRAME_HDR + plen + pad;
	if ((n = arq_next_nonce(&s->arq)) == UINT64_MAX ||
	    (d = malloc(OSTP_DATA_HDR + flen + OSTP_TAG)) == NULL) {
		sess_fail(s);
		return -1;
	}
	t = tx_room(s, OSTP_DATA_HDR + flen + OSTP_TAG);
	if ((dlen = ostp_seal(&s->tx, s->keys, s->sid, n, fbuf, flen,
	    t)) < 0) {
		free(d);
		sess_fail(s);
		return -1;
	}
	/* the history's copy, for a byte-identical resend */
	memcpy(d, t, (size_t)dlen);
	tx_put((size_t)dlen);
	now = ostp_now_us();
	if (arq_sent(&s->arq, n, d, (size_t)dlen, retx, now) != 0) {
		debug("%s: send history full", s->name);
		sess_fail(s);
		return -1;
	}
	return 0;
}

/* A relay message (not Data) on a stream. */
static int
sess_msg(struct ostp_session *s, uint16_t stream, const struct ostp_msg *m)
{
	ssize_t len;

	len = ostp_msg_put(fbuf + OSTP_FRAME_HDR, sizeof(fbuf) -
	    OSTP_FRAME_HDR - OSTP_TAG - OSTP_DATA_HDR - 256, m);
	if (len < 0)
		return -1;
	return sess_emit(s, OSTP_F_DATA, stream, (size_t)len, 1);
}

static int
sess_simple(struct ostp_session *s, uint16_t stream, unsigned char tag)
{
	struct ostp_msg m;

	memset(&m, 0, sizeof(m));
	m.tag = tag;
	return sess_msg(s, stream, &m);
}

void
ostp_session_ping(struct ostp_session *s)
{
	struct ostp_msg m;

	memset(&m, 0, sizeof(m));
	m.tag = OSTP_M_PING;
	m.ts = wall_ms();
	(void)sess_msg(s, 0, &m);
	sess_schedule(s, ostp_now_us());
}

static struct ostp_stream_list *
bucket_of(struct ostp_session *s, uint16_t id)
{
	return &s->bucket[id % SESS_BUCKETS];
}

static struct ostp_stream *
stream_find(struct ostp_session *s, uint16_t id)
{
	struct ostp_stream *st;

	LIST_FOREACH(st, bucket_of(s, id), entry)
		if (st->id == id)
			return st;
	return NULL;
}

static void
stream_detach(struct ostp_stream *st)
{
	struct ostp_session *s = st->s;

	if (s == NULL)
		return;
	if (st->blocked) {
		st->blocked = 0;
		s->nblocked--;
	}
	if (st->toq.len > 0)
		sess_taken(s, st->toq.len);
	LIST_REMOVE(st, entry);
	s->nstreams--;
	st->s = NULL;
}

/* The window opened: writers that waited go on. */
static void
sess_unblock(struct ostp_session *s)
{
	struct ostp_stream *st;
	size_t i;

	if (s->nblocked == 0 || !arq_can_send(&s->arq))
		return;
	for (i = 0; i < SESS_BUCKETS && s->nblocked > 0; i++)
		LIST_FOREACH(st, &s->bucket[i], entry)
			if (st->blocked) {
				st->blocked = 0;
				s->nblocked--;
				conn_kick(st->c, CONN_WRITE);
			}
}

/* Readers took n bytes: below LOW the peer hears from us again. */
static void
sess_taken(struct ostp_session *s, size_t n)
{
	s->queued -= n;
	if (s->arq.ack_held && s->queued < SESS_QUEUED_LOW) {
		s->arq.ack_held = 0;
		s->arq.ack_forced = 1;
		sess_schedule(s, ostp_now_us());
	}
}

/*
 * A busy flow's queue fills again as soon as it drains, often to a
 * megabyte in a burst: a drained queue keeps its storage until the
 * next keepalive tick, rather than being given back and grown again by
 * doubling, copying everything at each step, many times a second.  A
 * flow idle until that tick holds nothing.
 */
static void
sess_release_drained(struct ostp_session *s)
{
	struct ostp_stream *st;
	size_t i;

	for (i = 0; i < SESS_BUCKETS && s->nstreams > 0; i++)
		LIST_FOREACH(st, &s->bucket[i], entry)
			if (st->toq.len == 0 && st->toq.p != NULL)
				cbuf_release(&st->toq);
}

static ssize_t
st_recv(struct conn *c, void *p, size_t n)
{
	struct ostp_stream *st = c->layer;
	size_t k;

	if (st->toq.len > 0) {
		k = n < st->toq.len ? n : st->toq.len;
		memcpy(p, st->toq.p + st->toq.off, k);
		cbuf_consume(&st->toq, k);
		if (st->toq.len == 0 && st->s == NULL)
			cbuf_release(&st->toq);
		if (st->s != NULL)
			sess_taken(st->s, k);
		return (ssize_t)k;
	}
	/* either side's Close ends the whole flow (no half-close, §3) */
	if (st->fin_rcvd || st->fin_sent)
		return 0;
	errno = st->lobby ? EAGAIN : st->s == NULL || st->s->failing ||
	    st->state == ST_REFUSED ? ECONNRESET : EAGAIN;
	return -1;
}

static ssize_t
st_send(struct conn *c, const void *p, size_t n)
{
	struct ostp_stream *st = c->layer;
	struct ostp_session *s = st->s;
	const unsigned char *q = p;
	size_t done = 0, k;

	if (st->lobby && st->state != ST_REFUSED) {
		errno = EAGAIN;
		return -1;
	}
	if (s == NULL || s->failing || st->state == ST_REFUSED) {
		errno = ECONNRESET;
		return -1;
	}
	if (st->fin_sent || st->fin_rcvd) {
		errno = EPIPE;
		return -1;
	}
	while (done < n && st->state == ST_OPEN && arq_can_send(&s->arq)) {
		k = n - done < s->chunk ? n - done : s->chunk;
		fbuf[OSTP_FRAME_HDR] = OSTP_M_DATA;
		fbuf[OSTP_FRAME_HDR + 1] = (unsigned char)(k >> 8);
		fbuf[OSTP_FRAME_HDR + 2] = (unsigned char)k;
		memcpy(fbuf + OSTP_FRAME_HDR + OSTP_MSG_DATA_HDR, q + done, k);
		if (sess_emit(s, OSTP_F_DATA, st->id, OSTP_MSG_DATA_HDR + k,
		    1) != 0)
			break;
		done += k;
	}
	if (s->failing && done == 0) {
		errno = ECONNRESET;
		return -1;
	}
	sess_schedule(s, ostp_now_us());
	if (done == 0) {
		if (!st->blocked) {
			st->blocked = 1;
			s->nblocked++;
		}
		errno = EAGAIN;
		return -1;
	}
	return (ssize_t)done;
}

/* No half-close in OSTP (§3): the end of our side ends the flow. */
static int
st_shutw(struct conn *c)
{
	struct ostp_stream *st = c->layer;
	struct ostp_session *s = st->s;

	if (s == NULL || s->failing || st->fin_sent)
		return 0;
	st->fin_sent = 1;
	if (!st->fin_rcvd && st->state != ST_REFUSED) {
		(void)sess_simple(s, st->id, OSTP_M_CLOSE);
		sess_schedule(s, ostp_now_us());
	}
	/* the reader sees the end now */
	if (st->c->want & CONN_READ)
		conn_kick(st->c, CONN_READ);
	return 0;
}

static void
st_update(struct conn *c)
{
	struct ostp_stream *st = c->layer;
	struct ostp_session *s = st->s;

	if (st->lobby) {
		if (st->state == ST_REFUSED && c->want != 0)
			conn_kick(c, c->want);
		return;
	}
	if ((c->want & CONN_READ) && (st->toq.len > 0 || st->fin_rcvd ||
	    st->fin_sent || s == NULL || s->failing || st->state == ST_REFUSED))
		conn_kick(c, CONN_READ);
	if (!(c->want & CONN_WRITE))
		return;
	if (s == NULL || s->failing || st->state == ST_REFUSED ||
	    st->fin_rcvd || (st->state == ST_OPEN && arq_can_send(&s->arq)))
		conn_kick(c, CONN_WRITE);
	else if (!st->blocked) {
		st->blocked = 1;
		s->nblocked++;
	}
}

static size_t
st_pending(const struct conn *c)
{
	const struct ostp_stream *st = c->layer;

	return st->toq.len;
}

/* The owner is done: Close if the flow still lives, then gone. */
static void
st_free(struct conn *c)
{
	struct ostp_stream *st = c->layer;
	struct ostp_session *s = st->s;

	if (st->lobby && st->unlobby != NULL)
		st->unlobby(st->unlobby_arg, c);
	free(st->target);
	if (s != NULL) {
		if (!st->fin_sent && !st->fin_rcvd &&
		    st->state != ST_REFUSED && !s->failing) {
			(void)sess_simple(s, st->id, OSTP_M_CLOSE);
			sess_schedule(s, ostp_now_us());
		}
		stream_detach(st);
	}
	cbuf_release(&st->toq);
	free(st);
}

static const struct conn_ops stream_ops = {
	.name = "ostp",
	.recv = st_recv,
	.send = st_send,
	.shutw = st_shutw,
	.update = st_update,
	.pending = st_pending,
	.free = st_free,
};

static struct ostp_stream *
stream_new(struct ostp_session *s, uint16_t id, enum st_state state)
{
	struct ostp_stream *st;
	struct conn *c;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		free(st);
		return NULL;
	}
	/* a connection without a descriptor of its own */
	c->ops = &stream_ops;
	c->wk = s->wk;
	c->fd = -1;
	c->layer = st;
	st->c = c;
	st->s = s;
	st->id = id;
	st->state = state;
	LIST_INSERT_HEAD(bucket_of(s, id), st, entry);
	s->nstreams++;
	return st;
}

/* Payload from the peer into a flow's queue, which grows as needed. */
static int
toq_append(struct ostp_stream *st, const unsigned char *p, size_t n)
{
	struct cbuf *q = &st->toq;

	if (q->len + n > SESS_TOQ_MAX ||
	    cbuf_reserve(q, n, SESS_TOQ_MIN, 2 * SESS_TOQ_MAX) != 0)
		return -1;
	memcpy(cbuf_tail(q), p, n);
	q->len += n;
	return 0;
}

/* A flow ends from our side with an error (its reader is too slow). */
static void
stream_reset(struct ostp_session *s, struct ostp_stream *st,
    const char *why)
{
	debug("%s: stream %u: %s", s->name, st->id, why);
	if (!st->fin_sent)
		(void)sess_simple(s, st->id, OSTP_M_CLOSE);
	st->fin_sent = 1;
	st->state = ST_REFUSED;
	snprintf(st->why, sizeof(st->why), "%s", why);
	conn_kick(st->c, CONN_READ | CONN_WRITE);
}

/* Session control on stream 0. */
static void
control_input(struct ostp_session *s, const struct ostp_msg *m)
{
	struct ostp_msg r;

	switch (m->tag) {
	case OSTP_M_PING:
		memset(&r, 0, sizeof(r));
		r.tag = OSTP_M_PONG;
		r.ts = m->ts;
		(void)sess_msg(s, 0, &r);
		break;
	case OSTP_M_PONG:
		if (m->ts <= wall_ms())
			debug("%s: rtt %llu ms", s->name,
			    (unsigned long long)(wall_ms() - m->ts));
		break;
	default:
		break;		/* KeepAlive, and nothing else is meant */
	}
}

/* One relay message on a flow (§3). */
static void
relay_input(struct ostp_session *s, uint16_t id, const struct ostp_msg *m)
{
	struct ostp_stream *st = stream_find(s, id);

	switch (m->tag) {
	case OSTP_M_CONNECT:
	case OSTP_M_UDP_ASSOCIATE:
		if (!s->server || st != NULL || s->open == NULL)
			return;		/* a repeated Connect is ignored */
		if ((st = stream_new(s, id, ST_ACCEPTING)) == NULL) {
			struct ostp_msg e;

			memset(&e, 0, sizeof(e));
			e.tag = OSTP_M_ERROR;
			e.data = (const unsigned char *)"out of memory";
			e.datalen = 13;
			(void)sess_msg(s, id, &e);
			return;
		}
		st->udp = m->tag == OSTP_M_UDP_ASSOCIATE;
		s->open(s->arg, st->c, m->addr, m->addrlen, st->udp);
		return;
	case OSTP_M_CONNECT_OK:
		if (st != NULL && st->state == ST_CONNECTING) {
			st->state = ST_OPEN;
			conn_kick(st->c, CONN_READ | CONN_WRITE);
		}
		return;
	case OSTP_M_ERROR:
		if (st == NULL)
			return;
		st->state = ST_REFUSED;
		st->peer_refused = 1;
		st->fin_sent = 1;	/* the peer forgot the flow */
		snprintf(st->why, sizeof(st->why), "%.*s",
		    (int)(m->datalen < 120 ? m->datalen : 120),
		    (const char *)m->data);
		conn_kick(st->c, CONN_READ | CONN_WRITE);
		return;
	case OSTP_M_DATA:
		/* data for a flow we do not know (any more) is ignored */
		if (st == NULL || st->fin_rcvd || st->state == ST_REFUSED ||
		    m->datalen == 0)
			return;
		if (toq_append(st, m->data, m->datalen) != 0) {
			stream_reset(s, st, "too much data waits for the "
			    "reader");
			return;
		}
		s->queued += m->datalen;
		if (s->queued > SESS_QUEUED_HIGH)
			s->arq.ack_held = 1;
		conn_kick(st->c, CONN_READ);
		return;
	case OSTP_M_CLOSE:
		if (st == NULL || st->fin_rcvd)
			return;
		st->fin_rcvd = 1;
		if (st->state == ST_CONNECTING) {
			st->state = ST_REFUSED;
			snprintf(st->why, sizeof(st->why), "closed");
		}
		conn_kick(st->c, CONN_READ | CONN_WRITE);
		return;
	case OSTP_M_UDP_DATA:
		if (st != NULL && st->udp && st->udp_cb != NULL &&
		    st->state == ST_OPEN && !st->fin_rcvd)
			st->udp_cb(st->udp_arg, m->addr, m->addrlen, m->data,
			    m->datalen);
		return;
	case OSTP_M_KEEPALIVE:
	case OSTP_M_PING:
	case OSTP_M_PONG:
	default:
		return;
	}
}

/* The ARQ delivers a frame in order (NULL: a control frame). */
static void
sess_deliver(void *arg, const unsigned char *p, size_t len)
{
	struct ostp_session *s = arg;
	struct ostp_frame f;
	struct ostp_msg m;

	if (p == NULL || ostp_frame_parse(p, len, &f) != 0)
		return;
	switch (f.kind) {
	case OSTP_F_DATA:
		if (ostp_msg_parse(f.payload, f.len, &m) != 0) {
			debug("%s: stream %u: bad relay message", s->name,
			    f.stream);
			return;
		}
		if (f.stream == 0)
			control_input(s, &m);
		else
			relay_input(s, f.stream, &m);
		break;
	case OSTP_F_CLOSE:
		debug("%s: the peer closed the session", s->name);
		s->close_rcvd = 1;
		sess_fail(s);
		break;
	default:
		break;		/* Handshake, KeepAlive: nothing to do */
	}
}

/*
 * Control frames the receiving side owes: an ACK, a NACK.  batch_end:
 * the timer runs, every datagram that arrived with the last one has
 * been read.
 */
static void
sess_control(struct ostp_session *s, uint64_t now, int batch_end)
{
	struct ostp_range r[OSTP_ACK_MAX];
	size_t nr;
	int i;
	uint64_t n;

	for (i = 0; i < SESS_NACKS_MAX && arq_nack_due(&s->arq, now, &n);
	    i++) {
		ostp_nack_put(fbuf + OSTP_FRAME_HDR, n);
		(void)sess_emit(s, OSTP_F_NACK, 0, 8, 0);
	}
	if (arq_ack_due(&s->arq, now, batch_end, r,
	    &nr)) {
		size_t len = ostp_ack_put(fbuf + OSTP_FRAME_HDR, r, nr);

		(void)sess_emit(s, OSTP_F_ACK, 0, len, 0);
	}
	/* ACKs wait in history for an ACK that only data elicits */
	if (arq_ctl_backlog(&s->arq))
		(void)sess_emit(s, OSTP_F_KEEPALIVE, 0, 0, 1);
}

static void
sess_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	const struct arq_sent *due[SESS_RETX_BUDGET_MAX];
	struct ostp_session *s = arg;
	uint64_t now = ostp_now_us();
	size_t i, k, budget;

	(void)fd;
	(void)what;
	s->timer_at = 0;
	if (s->failing)
		return;
	arq_gap_recover(&s->arq, now, sess_deliver, s);
	if (s->failing)
		return;
	budget = (size_t)(s->arq.cwnd / 4);
	if (budget < 2)
		budget = 2;
	if (budget > SESS_RETX_BUDGET_MAX)
		budget = SESS_RETX_BUDGET_MAX;
	k = arq_due(&s->arq, now, due, budget);
	for (i = 0; i < k; i++)
		tx_again(s, due[i]->d, due[i]->len);
	sess_control(s, now, 1);
	sess_unblock(s);
	sess_schedule(s, now);
}

static void
sess_schedule(struct ostp_session *s, uint64_t now)
{
	uint64_t t, at;
	struct timeval tv;

	/* the end of every operation: what it sent goes now */
	tx_flush();
	t = arq_next_event(&s->arq, now);
	if (s->failing || t == UINT64_MAX)
		return;
	at = now + t;
	if (s->timer_at != 0 && s->timer_at <= at)
		return;
	s->timer_at = at;
	tv.tv_sec = (time_t)(t / 1000000);
	tv.tv_usec = (suseconds_t)(t % 1000000);
	evtimer_add(s->timer, &tv);
}

int
ostp_session_input(struct ostp_session *s, const unsigned char *d,
    size_t len)
{
	uint32_t sid;
	uint64_t n;

	if (s->failing || ostp_peek(s->keys, d, len, &sid, &n) != 0 ||
	    sid != s->sid)
		return -1;
	return ostp_session_input_n(s, d, len, n);
}

int
ostp_session_input_n(struct ostp_session *s, const unsigned char *d,
    size_t len, uint64_t n)
{
	struct ostp_range r[OSTP_ACK_MAX];
	const struct arq_sent *e;
	struct ostp_frame f;
	uint64_t missing, now;
	ssize_t pl;
	int class, raised, nr;

	if (s->failing)
		return -1;
	class = arq_rx_class(&s->arq, n);
	if ((pl = ostp_open(&s->rx, s->sid, n, d, len, pbuf)) < 0)
		return -1;
	now = ostp_now_us();
	s->last_rx_us = now;
	raised = arq_rx_auth(&s->arq, n);
	if (class != ARQ_RX_NEW) {
		arq_rx_stale(&s->arq, class, now);
		sess_control(s, now, 0);
		sess_schedule(s, now);
		return 0;
	}
	/* an authentic frame that does not decode stays a gap (§2.7) */
	if (ostp_frame_parse(pbuf, (size_t)pl, &f) != 0)
		return raised;
	switch (f.kind) {
	case OSTP_F_ACK:
		if ((nr = ostp_ack_parse(f.payload, f.len, r,
		    OSTP_ACK_MAX)) >= 0)
			arq_on_ack(&s->arq, r, (size_t)nr, now);
		(void)arq_rx_frame(&s->arq, n, 1, NULL, 0, now,
		    sess_deliver, s);
		sess_unblock(s);
		break;
	case OSTP_F_NACK:
		if (ostp_nack_parse(f.payload, f.len, &missing) == 0 &&
		    (e = arq_on_nack(&s->arq, missing, now)) != NULL)
			tx_again(s, e->d, e->len);
		(void)arq_rx_frame(&s->arq, n, 1, NULL, 0, now,
		    sess_deliver, s);
		break;
	default:
		(void)arq_rx_frame(&s->arq, n, 0, pbuf, (size_t)pl, now,
		    sess_deliver, s);
		break;
	}
	if (!s->failing) {
		sess_control(s, now, 0);
		sess_schedule(s, now);
	}
	return raised;
}

int
ostp_session_move_begin(struct ostp_session *s)
{
	uint64_t now = ostp_now_us();

	if (s->failing || (s->last_move_us != 0 &&
	    s->last_rx_us < s->last_move_us))
		return -1;
	s->last_move_us = now;
	return 0;
}

void
ostp_session_path_moved(struct ostp_session *s)
{
	/* a Ping first, then everything in flight again */
	ostp_session_ping(s);
	arq_all_due(&s->arq);
	sess_timer_cb(-1, 0, s);
}

struct conn *
ostp_stream_pending(struct worker *wk, const char *host, uint16_t port,
    void (*unlobby)(void *, struct conn *), void *arg)
{
	struct ostp_stream *st;
	struct conn *c;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	/* host NULL: a UdpAssociate flow */
	if ((c = calloc(1, sizeof(*c))) == NULL || (host != NULL &&
	    asprintf(&st->target, strchr(host, ':') != NULL ? "[%s]:%u" :
	    "%s:%u", host, port) == -1)) {
		free(c);
		free(st);
		return NULL;
	}
	c->ops = &stream_ops;
	c->wk = wk;
	c->fd = -1;
	c->layer = st;
	st->c = c;
	st->state = ST_CONNECTING;
	st->udp = host == NULL;
	st->lobby = 1;
	st->unlobby = unlobby;
	st->unlobby_arg = arg;
	return c;
}

int
ostp_session_adopt(struct ostp_session *s, struct conn *c)
{
	struct ostp_stream *st = c->layer;
	struct ostp_msg m;
	unsigned int tries;

	if (!st->lobby || s->failing || s->server || s->nstreams >= 65535)
		return -1;
	/* 1..65535, wrapping, never 0 or one in use (§3) */
	for (tries = 0; tries < 65536; tries++) {
		if (++s->next_id == 0)
			s->next_id = 1;
		if (stream_find(s, s->next_id) == NULL)
			break;
	}
	st->lobby = 0;
	st->s = s;
	st->id = s->next_id;
	LIST_INSERT_HEAD(bucket_of(s, st->id), st, entry);
	s->nstreams++;
	memset(&m, 0, sizeof(m));
	if (st->udp)
		m.tag = OSTP_M_UDP_ASSOCIATE;
	else {
		m.tag = OSTP_M_CONNECT;
		m.addr = st->target;
		m.addrlen = strlen(st->target);
	}
	if (sess_msg(s, st->id, &m) != 0) {
		stream_detach(st);
		st->state = ST_REFUSED;
		snprintf(st->why, sizeof(st->why), "the session failed");
		conn_kick(c, CONN_READ | CONN_WRITE);
		return -1;
	}
	sess_schedule(s, ostp_now_us());
	return 0;
}

void
ostp_stream_set_udp(struct conn *c, ostp_udp_fn cb, void *arg)
{
	struct ostp_stream *st = c->layer;

	st->udp_cb = cb;
	st->udp_arg = arg;
}

int
ostp_stream_udp_send(struct conn *c, const char *host, uint16_t port,
    const unsigned char *p, size_t n)
{
	struct ostp_stream *st = c->layer;
	struct ostp_session *s = st->s;
	struct ostp_msg m;
	char addr[300];
	int len;

	if (s == NULL || s->failing || !st->udp || st->state != ST_OPEN ||
	    st->fin_rcvd || st->fin_sent)
		return -1;
	len = snprintf(addr, sizeof(addr), strchr(host, ':') != NULL ?
	    "[%s]:%u" : "%s:%u", host, port);
	if (len < 0 || (size_t)len >= sizeof(addr))
		return -1;
	memset(&m, 0, sizeof(m));
	m.tag = OSTP_M_UDP_DATA;
	m.addr = addr;
	m.addrlen = (size_t)len;
	m.data = p;
	m.datalen = n;
	/* a datagram is not split: past the mtu, IP fragments it */
	if (sess_msg(s, st->id, &m) != 0)
		return -1;
	sess_schedule(s, ostp_now_us());
	return 0;
}

void
ostp_stream_fail(struct conn *c, const char *why)
{
	struct ostp_stream *st = c->layer;

	if (st->state == ST_REFUSED)
		return;
	st->state = ST_REFUSED;
	snprintf(st->why, sizeof(st->why), "%s", why);
	conn_kick(c, CONN_READ | CONN_WRITE);
}

int
ostp_stream_status(const struct conn *c, const char **why)
{
	const struct ostp_stream *st = c->layer;

	*why = st->why[0] != '\0' ? st->why : "the session ended";
	if (st->state == ST_OPEN)
		return 1;
	if (st->peer_refused)
		return -1;
	if (st->state == ST_REFUSED || (!st->lobby && (st->s == NULL ||
	    st->s->failing)))
		return -2;
	return 0;
}

void
ostp_stream_accept(struct conn *c, int ok, const char *why)
{
	struct ostp_stream *st = c->layer;
	struct ostp_session *s = st->s;
	struct ostp_msg m;

	if (s == NULL || st->state != ST_ACCEPTING)
		return;
	memset(&m, 0, sizeof(m));
	if (ok) {
		st->state = ST_OPEN;
		m.tag = OSTP_M_CONNECT_OK;
	} else {
		st->state = ST_REFUSED;
		st->fin_sent = 1;
		m.tag = OSTP_M_ERROR;
		m.data = (const unsigned char *)why;
		m.datalen = strlen(why);
		snprintf(st->why, sizeof(st->why), "%s", why);
	}
	(void)sess_msg(s, st->id, &m);
	sess_schedule(s, ostp_now_us());
	if (ok && st->toq.len > 0)
		conn_kick(c, CONN_READ);
}

uint64_t
ostp_session_idle_us(const struct ostp_session *s)
{
	return ostp_now_us() - s->last_rx_us;
}

/*
 * Every 5 s: the client's Ping and KeepAlive (§3, they keep NATs and
 * the server's idle timer open); a session that heard nothing
 * authentic for too long ends.
 */
static void
sess_ka_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ostp_session *s = arg;
	uint64_t idle = ostp_session_idle_us(s), now = ostp_now_us();
	uint64_t boot = boot_us(), slept;

	(void)fd;
	(void)what;
	if (s->failing)
		return;
	/* the machine slept between two ticks: the path is likely gone */
	slept = boot - s->ka_boot_us > now - s->ka_mono_us ?
	    (boot - s->ka_boot_us) - (now - s->ka_mono_us) : 0;
	s->ka_mono_us = now;
	s->ka_boot_us = boot;
	if (!s->server && slept > SESS_SUSPEND_US && s->stalled != NULL) {
		debug("%s: resumed after %llu s asleep", s->name,
		    (unsigned long long)(slept / 1000000));
		s->last_move_us = now;
		s->stalled(s->arg);
		return;
	}
	if (idle > (s->server ? SESS_IDLE_SERVER_US : SESS_IDLE_CLIENT_US)) {
		debug("%s: nothing heard for %llu s", s->name,
		    (unsigned long long)(idle / 1000000));
		sess_fail(s);
		return;
	}
	/*
	 * A move that brought no answer within max(4 s, 4 RTT) (§2.10):
	 * the server likely lost the session (a restart); a new one now.
	 */
	if (!s->server && s->last_move_us != 0 &&
	    s->last_rx_us < s->last_move_us &&
	    now - s->last_move_us > move_wait(s)) {
		debug("%s: no answer after the path move", s->name);
		sess_fail(s);
		return;
	}
	/*
	 * Client: 10 s of silence moves the path (a new socket, the same
	 * keys, nonces and flows, spec §2.10), again once the last move
	 * was answered, else 30 s after it; sooner
	 * when what we sent was resent three times unanswered and nothing
	 * came for max(3 s, 8 RTT): a new flow's Connect after the server
	 * lost the session (a restart, or its worker's reload) need not
	 * wait for the silence rule.
	 */
	if (!s->server && s->stalled != NULL &&
	    (s->last_rx_us > s->last_move_us ||
	    now - s->last_move_us > SESS_MOVE_GAP_US) &&
	    (idle > SESS_STALL_US || (idle > stall_wait(s) &&
	    arq_oldest_retries(&s->arq) >= 3))) {
		debug("%s: nothing heard for %llu s: moving the path",
		    s->name, (unsigned long long)(idle / 1000000));
		s->last_move_us = now;
		s->stalled(s->arg);
		return;
	}
	debug2_f("%s: cwnd %.0f inflight %zu srtt %llu us min %llu us "
	    "rto %llu us retransmits %llu (rack %llu, nack %llu, probes "
	    "%llu) window cuts %llu (queue %llu) rx_next %llu held %zu",
	    s->name, s->arq.cwnd, s->arq.inflight,
	    (unsigned long long)s->arq.srtt_us,
	    (unsigned long long)s->arq.min_rtt_us,
	    (unsigned long long)s->arq.rto_us,
	    (unsigned long long)s->arq.retransmits,
	    (unsigned long long)s->arq.rack_lost,
	    (unsigned long long)s->arq.nack_retx,
	    (unsigned long long)s->arq.probes_sent,
	    (unsigned long long)s->arq.losses,
	    (unsigned long long)s->arq.delay_cuts,
	    (unsigned long long)s->arq.rx_next, s->arq.nheld);
	sess_release_drained(s);
	/* the client ticks every second, and keeps alive every 5th */
	if (!s->server && ++s->ka_ticks % SESS_KA_SECS == 0) {
		ostp_session_ping(s);
		(void)sess_simple(s, 0, OSTP_M_KEEPALIVE);
	}
}

static uint64_t
stall_wait(const struct ostp_session *s)
{
	uint64_t w = 8 * s->arq.srtt_us;

	return w > SESS_STALL_DATA_US ? w : SESS_STALL_DATA_US;
}

static uint64_t
move_wait(const struct ostp_session *s)
{
	uint64_t w = 4 * s->arq.srtt_us;

	return w > 4000000 ? w : 4000000;
}

static void
sess_close(struct ostp_session *s, int notify)
{
	ostp_closed_fn closed = s->closed;
	void *arg = s->arg;
	struct ostp_stream *st;
	size_t i;

	if (txowner == s)
		tx_flush();
	for (i = 0; i < SESS_BUCKETS; i++)
		while ((st = LIST_FIRST(&s->bucket[i])) != NULL) {
			stream_detach(st);
			conn_kick(st->c, CONN_READ | CONN_WRITE);
		}
	event_free(s->timer);
	event_free(s->ka);
	event_free(s->fail_ev);
	arq_free(&s->arq);
	ostp_aead_clear(&s->tx);
	ostp_aead_clear(&s->rx);
	/* the owner forgets s; it must not free it (it is going) */
	if (notify && closed != NULL)
		closed(arg, s);
	free(s);
}

static void
sess_fail_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sess_close(arg, 1);
}

/* Ends from the loop, never under its caller; its flows fail now. */
static void
sess_fail(struct ostp_session *s)
{
	if (s->failing)
		return;
	s->failing = 1;
	event_active(s->fail_ev, EV_TIMEOUT, 1);
}

struct ostp_session *
ostp_session_new(struct worker *wk, const struct ostp_session_params *p)
{
	struct timeval ka = { p->server ? SESS_KA_SECS : 1, 0 };
	struct ostp_session *s;
	size_t i;

	if (p->mtu < OSTP_OVERHEAD + OSTP_MSG_DATA_HDR + 64 ||
	    (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->wk = wk;
	s->keys = p->keys;
	s->sid = p->sid;
	s->server = p->server;
	s->mtu = p->mtu;
	s->chunk = p->mtu - OSTP_OVERHEAD - OSTP_MSG_DATA_HDR;
	s->output = p->output;
	s->open = p->open;
	s->closed = p->closed;
	s->arg = p->arg;
	snprintf(s->name, sizeof(s->name), "%s", p->name != NULL ? p->name :
	    "ostp");
	for (i = 0; i < SESS_BUCKETS; i++)
		LIST_INIT(&s->bucket[i]);
	s->last_rx_us = ostp_now_us();
	s->ka_mono_us = s->last_rx_us;
	s->ka_boot_us = boot_us();
	s->stalled = p->stalled;
	arq_init(&s->arq, p->reliable, s->last_rx_us);
	if (ostp_aead_init(&s->tx, p->k_tx) != 0 ||
	    ostp_aead_init(&s->rx, p->k_rx) != 0) {
		ostp_aead_clear(&s->tx);
		ostp_aead_clear(&s->rx);
		free(s);
		return NULL;
	}
	if ((s->timer = evtimer_new(wk->base, sess_timer_cb, s)) == NULL ||
	    (s->ka = event_new(wk->base, -1, EV_PERSIST, sess_ka_cb,
	    s)) == NULL || (s->fail_ev = event_new(wk->base, -1, 0,
	    sess_fail_cb, s)) == NULL)
		fatal_f("out of memory");
	event_add(s->ka, &ka);
	return s;
}

void
ostp_session_free(struct ostp_session *s)
{
	if (s == NULL)
		return;
	/* the peer learns at once instead of after its idle time */
	if (!s->failing && !s->close_rcvd)
		(void)sess_emit(s, OSTP_F_CLOSE, 0, 0, 1);
	sess_close(s, 0);
}

int
ostp_session_export(const struct ostp_session *s,
    struct ostp_session_state *st)
{
	const struct arq *a = &s->arq;

	if (!s->server || s->failing || s->close_rcvd)
		return -1;
	/* what is unacknowledged is no retransmittable frame's */
	if (s->nstreams > 0 || s->queued > 0 || a->inflight > 0 ||
	    a->nheld > 0)
		return 1;
	memset(st, 0, sizeof(*st));
	st->sid = s->sid;
	memcpy(st->k_tx, s->tx.key, sizeof(st->k_tx));
	memcpy(st->k_rx, s->rx.key, sizeof(st->k_rx));
	st->tx_next = a->tx_next;
	st->acked_high = a->acked_high;
	st->rx_next = a->rx_next;
	st->rx_high = a->rx_high;
	st->srtt_us = a->srtt_us;
	st->rttvar_us = a->rttvar_us;
	st->min_rtt_us = a->min_rtt_us;
	return 0;
}

void
ostp_session_pending(const struct ostp_session *s, char *buf, size_t len)
{
	snprintf(buf, len, "%zu flows, %zu bytes queued, %zu frames "
	    "unacknowledged, %zu held", s->nstreams, s->queued,
	    s->arq.inflight, s->arq.nheld);
}

void
ostp_session_forget(struct ostp_session *s)
{
	if (s != NULL)
		sess_close(s, 0);
}

void
ostp_session_resume(struct ostp_session *s,
    const struct ostp_session_state *st)
{
	struct arq *a = &s->arq;

	a->tx_next = a->tx_base = st->tx_next;
	a->acked_high = st->acked_high;
	a->rx_next = st->rx_next;
	a->rx_high = st->rx_high;
	if (a->rx_next < a->rx_high)
		a->gap_us = ostp_now_us();
	/* the timeout stays the initial one until a new sample */
	a->srtt_us = st->srtt_us;
	a->rttvar_us = st->rttvar_us;
	a->min_rtt_us = st->min_rtt_us;
}

/* In the byte order of every IPC message (common/buf.c). */
int
ostp_state_enc(const struct ostp_session_state *st, struct buf *b)
{
	const uint64_t v[7] = { st->tx_next, st->acked_high, st->rx_next,
	    st->rx_high, st->srtt_us, st->rttvar_us, st->min_rtt_us };
	int i;

	if (buf_put_u32(b, st->sid) != 0 ||
	    buf_put(b, st->k_tx, sizeof(st->k_tx)) != 0 ||
	    buf_put(b, st->k_rx, sizeof(st->k_rx)) != 0)
		return -1;
	for (i = 0; i < 7; i++)
		if (buf_put_u64(b, v[i]) != 0)
			return -1;
	return 0;
}

int
ostp_state_dec(struct buf *b, struct ostp_session_state *st)
{
	uint64_t *const v[7] = { &st->tx_next, &st->acked_high,
	    &st->rx_next, &st->rx_high, &st->srtt_us, &st->rttvar_us,
	    &st->min_rtt_us };
	int i;

	memset(st, 0, sizeof(*st));
	if (buf_get_u32(b, &st->sid) != 0 ||
	    buf_get(b, st->k_tx, sizeof(st->k_tx)) != 0 ||
	    buf_get(b, st->k_rx, sizeof(st->k_rx)) != 0)
		return -1;
	for (i = 0; i < 7; i++)
		if (buf_get_u64(b, v[i]) != 0)
			return -1;
	/* the monitor is trusted; still, nothing that breaks the ARQ */
	if (buf_expect_end(b) != 0 || st->rx_next > st->rx_high ||
	    st->acked_high > st->tx_next)
		return -1;
	return 0;
}

void
ostp_udp_tune(int fd)
{
	int bufsz = 4 * 1024 * 1024;

	/* a congestion window's burst must not overflow the socket */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	(void)udpb_gro(fd);
}

/* One worker, one thread: what a read brings lands here. */
static unsigned char rxbufs[UDPB_RX_MSGS * UDPB_DGRAM_MAX];
static struct udpb_rx rx = { .bufs = rxbufs };

struct rx_to {
	ostp_dgram_fn	 fn;
	void		*arg;
};

/* A message read: its datagrams, one by one; one cut short is lost. */
static void
rx_split(void *arg, unsigned char *p, size_t len, size_t seg,
    struct sockaddr_storage *from, socklen_t fromlen)
{
	struct rx_to *to = arg;
	size_t off, k;

	if (p == NULL)
		return;
	for (off = 0; off < len; off += k) {
		k = len - off < seg ? len - off : seg;
		to->fn(to->arg, p + off, k, from, fromlen);
	}
}

int
ostp_recv_batch(int fd, ostp_dgram_fn fn, void *arg, int maxrounds)
{
	struct rx_to to = { fn, arg };

	return udpb_recv_each(&rx, fd, maxrounds, rx_split, &to);
}
