/*
 * OSTP's ARQ (daemon/ostp/arq.c) between two simulated peers: a sender
 * and a receiver joined by a link with a rate, a delay, a drop-tail
 * queue and chosen losses, on a simulated clock.  What the sessions do
 * around the ARQ (sealing, sending, timers) is played here as
 * daemon/ostp/session.c does it, with the datagram reduced to its nonce
 * and what it carries.  Times are of the simulated clock: the figures
 * are exact and the same on every machine.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ostp/arq.h"
#include "test.h"

#define K_DATA	0
#define K_ACK	1
#define K_NACK	2
#define K_KA	3

#define STEP_US		10		/* the simulation's clock step */
#define LINK_US		100		/* one-way delay */
#define LINK_PKT_US	10		/* 100,000 datagrams a second */
#define LINK_QUEUE	2000		/* drop-tail */
#define QMAX		65536

struct pkt {
	uint64_t	 n;
	int		 kind;
	uint64_t	 seq;		/* data: its place; NACK: the nonce */
	size_t		 nr;
	struct ostp_range r[OSTP_ACK_MAX];
	uint64_t	 at;		/* arrival */
};

struct link {
	struct pkt	 q[QMAX];	/* FIFO: one delay, one rate */
	size_t		 head, len;
	uint64_t	 free_at;	/* when the wire is free */
	uint64_t	 dropped;
};

struct peer {
	struct arq	 a;
	struct link	*out;
	uint64_t	 timer_at;
	uint64_t	 expect;	/* next data seq to be delivered */
	int		 misordered;
	uint64_t	 acks_sent;
	uint64_t	 resent;
};

struct sim {
	struct peer	 s, r;		/* sender, receiver */
	struct link	 sr, rs;
	uint64_t	 now;
	uint64_t	 seq;		/* the next data frame's place */
	uint32_t	 rnd;
	unsigned int	 loss_ppm;	/* random loss, each way */
	size_t		 queue;		/* drop-tail limit */
	uint64_t	 black_from, black_to;	/* everything lost */
	uint64_t	 drop_seq_from, drop_seq_to;	/* first sends lost */
};

static struct sim *sim;

static uint32_t
rnd(void)
{
	/* xorshift32: the same losses on every run */
	sim->rnd ^= sim->rnd << 13;
	sim->rnd ^= sim->rnd >> 17;
	sim->rnd ^= sim->rnd << 5;
	return sim->rnd;
}

static void
link_put(struct link *l, const struct pkt *p, int first)
{
	uint64_t now = sim->now;

	if (now >= sim->black_from && now < sim->black_to)
		goto drop;
	if (sim->loss_ppm != 0 && rnd() % 1000000 < sim->loss_ppm)
		goto drop;
	if (first && p->kind == K_DATA && l == &sim->sr &&
	    p->seq >= sim->drop_seq_from && p->seq < sim->drop_seq_to)
		goto drop;
	if (l->len >= sim->queue)
		goto drop;
	if (l->free_at < now)
		l->free_at = now;
	l->free_at += LINK_PKT_US;
	l->q[(l->head + l->len) % QMAX] = *p;
	l->q[(l->head + l->len) % QMAX].at = l->free_at + LINK_US;
	l->len++;
	return;
drop:
	l->dropped++;
}

static void
emit(struct peer *e, int kind, uint64_t seq, const struct ostp_range *r,
    size_t nr)
{
	struct pkt p, *d;

	memset(&p, 0, sizeof(p));
	p.n = arq_next_nonce(&e->a);
	p.kind = kind;
	p.seq = seq;
	p.nr = nr;
	if (nr > 0)
		memcpy(p.r, r, nr * sizeof(*r));
	if ((d = malloc(sizeof(*d))) == NULL)
		abort();
	*d = p;
	if (arq_sent(&e->a, p.n, (unsigned char *)d, sizeof(*d),
	    kind == K_DATA || kind == K_KA, sim->now) != 0)
		abort();
	link_put(e->out, &p, 1);
}

static void
again(struct peer *e, const struct arq_sent *s)
{
	e->resent++;
	link_put(e->out, (const struct pkt *)s->d, 0);
}

static void
deliver(void *arg, const unsigned char *frame, size_t len)
{
	struct peer *e = arg;
	uint64_t seq;

	if (frame == NULL || len != sizeof(seq))
		return;
	memcpy(&seq, frame, sizeof(seq));
	if (seq != e->expect)
		e->misordered++;
	e->expect = seq + 1;
}

/* sess_control(): NACK, ACK, KeepAlive. */
static void
control(struct peer *e, int batch_end)
{
	struct ostp_range r[OSTP_ACK_MAX];
	size_t nr;
	uint64_t n;
	int i;

	for (i = 0; i < 16 && arq_nack_due(&e->a, sim->now, &n); i++)
		emit(e, K_NACK, n, NULL, 0);
	if (arq_ack_due(&e->a, sim->now, batch_end, r, &nr)) {
		e->acks_sent++;
		emit(e, K_ACK, 0, r, nr);
	}
	if (arq_ctl_backlog(&e->a))
		emit(e, K_KA, 0, NULL, 0);
}

static void
schedule(struct peer *e)
{
	uint64_t t = arq_next_event(&e->a, sim->now);

	e->timer_at = t == UINT64_MAX ? UINT64_MAX : sim->now + t;
}

/* sess_timer_cb() */
static void
timer(struct peer *e)
{
	const struct arq_sent *due[512];
	size_t i, k, budget;

	arq_gap_recover(&e->a, sim->now, deliver, e);
	budget = (size_t)(e->a.cwnd / 4);
	if (budget < 2)
		budget = 2;
	if (budget > 512)
		budget = 512;
	k = arq_due(&e->a, sim->now, due, budget);
	for (i = 0; i < k; i++)
		again(e, due[i]);
	control(e, 1);
	schedule(e);
}

/* ostp_session_input_n() */
static void
input(struct peer *e, const struct pkt *p)
{
	const struct arq_sent *s;
	int class;

	class = arq_rx_class(&e->a, p->n);
	(void)arq_rx_auth(&e->a, p->n);
	if (class != ARQ_RX_NEW) {
		arq_rx_stale(&e->a, class, sim->now);
		control(e, 0);
		schedule(e);
		return;
	}
	switch (p->kind) {
	case K_ACK:
		arq_on_ack(&e->a, p->r, p->nr, sim->now);
		(void)arq_rx_frame(&e->a, p->n, 1, NULL, 0, sim->now,
		    deliver, e);
		break;
	case K_NACK:
		if ((s = arq_on_nack(&e->a, p->seq, sim->now)) != NULL)
			again(e, s);
		(void)arq_rx_frame(&e->a, p->n, 1, NULL, 0, sim->now,
		    deliver, e);
		break;
	default:
		(void)arq_rx_frame(&e->a, p->n, 0,
		    (const unsigned char *)&p->seq,
		    p->kind == K_DATA ? sizeof(p->seq) : 0, sim->now,
		    deliver, e);
		break;
	}
	control(e, 0);
	schedule(e);
}

static int
arrive(struct link *l, struct peer *e)
{
	int any = 0;
	struct pkt p;

	while (l->len > 0 && l->q[l->head].at <= sim->now) {
		p = l->q[l->head];
		l->head = (l->head + 1) % QMAX;
		l->len--;
		input(e, &p);
		any = 1;
	}
	return any;
}

static void
sim_start(int reliable, unsigned int loss_ppm)
{
	if ((sim = calloc(1, sizeof(*sim))) == NULL)
		abort();
	sim->rnd = 0x2545f491;
	sim->loss_ppm = loss_ppm;
	/* a TCP carrier queues what it cannot send yet */
	sim->queue = reliable ? QMAX : LINK_QUEUE;
	sim->now = 1000000;
	arq_init(&sim->s.a, reliable, sim->now);
	arq_init(&sim->r.a, reliable, sim->now);
	sim->s.out = &sim->sr;
	sim->r.out = &sim->rs;
	sim->s.timer_at = sim->r.timer_at = UINT64_MAX;
}

static void
sim_end(void)
{
	if (getenv("TEST_VERBOSE") != NULL)
		fprintf(stderr, "  %llu us; dropped %llu/%llu; resent %llu "
		    "(rack %llu nack %llu probes %llu rto %llu); acks %llu; cwnd %.0f "
		    "cuts %llu (queue %llu); srtt %llu\n",
		    (unsigned long long)(sim->now - 1000000),
		    (unsigned long long)sim->sr.dropped,
		    (unsigned long long)sim->rs.dropped,
		    (unsigned long long)sim->s.resent,
		    (unsigned long long)sim->s.a.rack_lost,
		    (unsigned long long)sim->s.a.nack_retx,
		    (unsigned long long)sim->s.a.probes_sent,
		    (unsigned long long)sim->s.a.timeouts,
		    (unsigned long long)sim->r.acks_sent, sim->s.a.cwnd,
		    (unsigned long long)sim->s.a.losses,
		    (unsigned long long)sim->s.a.delay_cuts,
		    (unsigned long long)sim->s.a.srtt_us);
	arq_free(&sim->s.a);
	arq_free(&sim->r.a);
	free(sim);
	sim = NULL;
}

/*
 * Send data frames from s to r until total were sent; run until r has
 * them all or limit_us passed.  Returns the simulated time it took.
 */
static uint64_t
transfer(uint64_t total, uint64_t limit_us)
{
	uint64_t start = sim->now;

	while (sim->r.expect < total && sim->now - start < limit_us) {
		/* a read of everything that arrived, then the timer */
		if (arrive(&sim->sr, &sim->r) && sim->r.timer_at > sim->now)
			sim->r.timer_at = sim->now;
		if (arrive(&sim->rs, &sim->s) && sim->s.timer_at > sim->now)
			sim->s.timer_at = sim->now;
		if (sim->r.timer_at <= sim->now)
			timer(&sim->r);
		if (sim->s.timer_at <= sim->now)
			timer(&sim->s);
		while (sim->seq < total && arq_can_send(&sim->s.a)) {
			emit(&sim->s, K_DATA, sim->seq++, NULL, 0);
			schedule(&sim->s);
		}
		sim->now += STEP_US;
	}
	return sim->now - start;
}

static uint64_t lossless_us;

TEST(lossless)
{
	sim_start(0, 0);
	lossless_us = transfer(20000, 10000000);
	ASSERT_EQ_UINT(sim->r.expect, 20000);
	ASSERT_EQ_INT(sim->r.misordered, 0);
	/* the wire's pace: 20,000 datagrams at 100,000 a second */
	ASSERT(lossless_us < 300000);
	/* one ACK per read of two or more, not one per datagram */
	ASSERT(sim->r.acks_sent < 20000 / 2);
	sim_end();
}

/*
 * 1 % of the datagrams lost each way: every loss is seen from the ACKs'
 * ranges and resent within a round trip or two, not after the 100 ms
 * timeout; the window does not take random loss for congestion.  Before
 * (the receiver's NACK for one gap per 10 ms, a timeout for the rest,
 * CUBIC cut at every loss) this took more than ten times the lossless
 * time (bench/ostploss.sh: 0.04x of the lossless throughput).
 */
TEST(loss_1pct)
{
	uint64_t t;

	sim_start(0, 10000);
	t = transfer(20000, 10000000);
	ASSERT_EQ_UINT(sim->r.expect, 20000);
	ASSERT_EQ_INT(sim->r.misordered, 0);
	ASSERT(sim->sr.dropped > 100);
	ASSERT(t < 2 * lossless_us);
	/* resends are about what was lost, not the window again */
	ASSERT(sim->s.resent < 3 * (sim->sr.dropped + sim->rs.dropped));
	ASSERT_EQ_UINT(sim->s.a.timeouts, 0);
	sim_end();
}

/*
 * A long transfer at 1 % loss: the receiver's ACKs, lost too, are gaps
 * in the sender's sequence that only its NACKs fill.  Filled one per
 * 25 ms (upstream's single NACK) they ran more than max_reorder behind
 * within seconds and the sender dropped every ACK as too far ahead.
 */
TEST(loss_long)
{
	sim_start(0, 10000);
	(void)transfer(200000, 30000000);
	ASSERT_EQ_UINT(sim->r.expect, 200000);
	ASSERT_EQ_INT(sim->r.misordered, 0);
	ASSERT(sim->r.a.tx_next - sim->s.a.rx_next < 1000);
	ASSERT_EQ_UINT(sim->s.a.timeouts, 0);
	sim_end();
}

/*
 * The last datagrams of a burst lost: nothing later is acknowledged to
 * show them missing; a probe after about a round trip and the ACK delay
 * brings them, long before the 100 ms timeout.
 */
TEST(tail_loss_probe)
{
	uint64_t t;

	sim_start(0, 0);
	(void)transfer(100, 1000000);		/* an RTT estimate */
	sim->drop_seq_from = 117;
	sim->drop_seq_to = 120;
	/* the next 20 frames: seq 100..119, the last three lost once */
	t = transfer(120, 1000000);
	ASSERT_EQ_UINT(sim->r.expect, 120);
	ASSERT_EQ_INT(sim->r.misordered, 0);
	ASSERT(sim->s.a.probes_sent >= 1);
	ASSERT(t < 30000);
	sim_end();
}

/*
 * A path that answers nothing for 3 s: probes stop after two, the
 * timeouts back off, nothing is given up (probes are no retries), and
 * the transfer completes when the path returns.
 */
TEST(blackhole)
{
	sim_start(0, 0);
	sim->black_from = sim->now + 20000;
	sim->black_to = sim->black_from + 3000000;
	(void)transfer(5000, 20000000);
	ASSERT_EQ_UINT(sim->r.expect, 5000);
	ASSERT_EQ_INT(sim->r.misordered, 0);
	ASSERT(sim->s.a.probes_sent <= ARQ_PROBES_MAX + 2);
	sim_end();
}

/* Over TCP nothing is lost but at a path move: no probes, no RACK. */
TEST(reliable_carrier)
{
	sim_start(1, 0);
	(void)transfer(5000, 10000000);
	ASSERT_EQ_UINT(sim->r.expect, 5000);
	ASSERT_EQ_UINT(sim->s.a.probes_sent, 0);
	ASSERT_EQ_UINT(sim->s.a.rack_lost, 0);
	ASSERT_EQ_UINT(sim->s.resent, 0);
	sim_end();
}

/* When the receiver ACKs (local behaviour). */
TEST(ack_policy)
{
	struct ostp_range r[OSTP_ACK_MAX];
	struct peer e;
	uint64_t now = 1000000, seq = 0;
	size_t nr;

	memset(&e, 0, sizeof(e));
	arq_init(&e.a, 0, now);
	/* one frame in order: the ACK waits for ack_delay */
	(void)arq_rx_auth(&e.a, 0);
	(void)arq_rx_frame(&e.a, 0, 0, (unsigned char *)&seq, 8, now,
	    deliver, &e);
	ASSERT_EQ_INT(arq_ack_due(&e.a, now + 10, 1, r, &nr), 0);
	ASSERT_EQ_INT(arq_ack_due(&e.a, now + ARQ_ACK_DELAY_US, 1, r, &nr),
	    1);
	now += ARQ_ACK_DELAY_US;
	/*
	 * two, an ACK just sent: once the read that brought them ends
	 * and ARQ_ACK_MIN_US after that ACK, not during the read
	 */
	seq = 1;
	(void)arq_rx_auth(&e.a, 1);
	(void)arq_rx_frame(&e.a, 1, 0, (unsigned char *)&seq, 8, now,
	    deliver, &e);
	seq = 2;
	(void)arq_rx_auth(&e.a, 2);
	(void)arq_rx_frame(&e.a, 2, 0, (unsigned char *)&seq, 8, now,
	    deliver, &e);
	ASSERT_EQ_INT(arq_ack_due(&e.a, now, 1, r, &nr), 0);
	ASSERT_EQ_UINT(arq_next_event(&e.a, now), ARQ_ACK_MIN_US);
	now += ARQ_ACK_MIN_US;
	ASSERT_EQ_INT(arq_ack_due(&e.a, now, 0, r, &nr), 0);
	ASSERT_EQ_INT(arq_ack_due(&e.a, now, 1, r, &nr), 1);
	ASSERT_EQ_UINT(nr, 1);
	ASSERT_EQ_UINT(r[0].end, 2);
	/* one out of order, at once: a gap the sender must see soon */
	seq = 4;
	(void)arq_rx_auth(&e.a, 4);
	(void)arq_rx_frame(&e.a, 4, 0, (unsigned char *)&seq, 8, now + 10,
	    deliver, &e);
	ASSERT_EQ_INT(arq_ack_due(&e.a, now + 10, 1, r, &nr), 1);
	ASSERT_EQ_UINT(nr, 2);
	ASSERT_EQ_UINT(r[1].start, 4);
	/* readers behind: no ACK, and no timer spinning for one */
	e.a.ack_held = 1;
	seq = 3;
	(void)arq_rx_auth(&e.a, 3);
	(void)arq_rx_frame(&e.a, 3, 0, (unsigned char *)&seq, 8, now + 20,
	    deliver, &e);
	ASSERT_EQ_INT(arq_ack_due(&e.a, now + 20, 1, r, &nr), 0);
	ASSERT(arq_next_event(&e.a, now + 20) > 0);
	arq_free(&e.a);
}

/* A side that only ACKs asks for an ACK of its ACKs now and then. */
TEST(ctl_backlog)
{
	struct arq a;
	unsigned char *d;
	uint64_t now = 1000000, n;
	int i;

	arq_init(&a, 0, now);
	for (i = 0; i < ARQ_CTL_BACKLOG; i++) {
		ASSERT_EQ_INT(arq_ctl_backlog(&a), 0);
		n = arq_next_nonce(&a);
		if ((d = malloc(16)) == NULL)
			abort();
		REQUIRE(arq_sent(&a, n, d, 16, 0, now) == 0);
	}
	ASSERT_EQ_INT(arq_ctl_backlog(&a), 1);
	n = arq_next_nonce(&a);
	if ((d = malloc(16)) == NULL)
		abort();
	REQUIRE(arq_sent(&a, n, d, 16, 1, now) == 0);	/* the KeepAlive */
	ASSERT_EQ_INT(arq_ctl_backlog(&a), 0);
	arq_free(&a);
}

/*
 * A full history refuses the next datagram; the session then ends and
 * frees it all, once each (the refused nonce was taken already, and
 * freeing by nonce wrapped around the ring to a slot freed before).
 */
TEST(history_full)
{
	struct arq a;
	unsigned char *d;
	uint64_t now = 1000000, n;
	int i, r = 0;

	arq_init(&a, 0, now);
	for (i = 0; i <= ARQ_HISTORY_MAX && r == 0; i++) {
		n = arq_next_nonce(&a);
		if ((d = malloc(16)) == NULL)
			abort();
		r = arq_sent(&a, n, d, 16, 0, now);
	}
	ASSERT_EQ_INT(r, -1);
	ASSERT_EQ_INT(i, ARQ_HISTORY_MAX + 1);
	arq_free(&a);
}

/* The slot of nonce n in a's history (the ring by nonce). */
static const struct arq_sent *
slot(const struct arq *a, uint64_t n)
{
	return &a->hist[n & (a->hcap - 1)];
}

/*
 * The sender's timers, kept by sending order through the ring's growth
 * (64, 128, 256 slots): what the ACKs leave unacked times out once
 * each, oldest first, and an ACK that names acked ranges again changes
 * nothing; after a path move all that is unacked is due at once, in
 * nonce order, as the budget allows.
 */
TEST(timer_queues)
{
	const struct arq_sent *out[256];
	struct ostp_range r[2];
	struct arq a;
	unsigned char *d;
	uint64_t t0 = 1000000, now, n;
	size_t i, k;

	arq_init(&a, 0, t0);
	for (i = 0; i < 200; i++) {
		n = arq_next_nonce(&a);
		if ((d = malloc(16)) == NULL)
			abort();
		REQUIRE(arq_sent(&a, n, d, 16, 1, t0 + i) == 0);
	}
	ASSERT_EQ_UINT(a.hcap, 256);
	r[0].start = 0;
	r[0].end = 49;
	r[1].start = 100;
	r[1].end = 149;
	now = t0 + 1000;
	arq_on_ack(&a, r, 2, now);
	ASSERT_EQ_UINT(a.inflight, 100);
	ASSERT_EQ_UINT(a.tx_base, 50);
	arq_on_ack(&a, r, 2, now + 1);
	ASSERT_EQ_UINT(a.inflight, 100);
	ASSERT_EQ_UINT(a.rack_lost, 0);
	/* nothing before its timeout (nor a probe, a round trip after) */
	ASSERT_EQ_UINT(arq_due(&a, now + 2, out, 256), 0);
	/* 50..99 and 150..199 time out, in sending order */
	now = t0 + 200 + ARQ_RTO_BASE_US + 10000;
	k = arq_due(&a, now, out, 256);
	ASSERT_EQ_UINT(k, 100);
	ASSERT_EQ_UINT(a.timeouts, 100);
	for (i = 0; i < k && i < 100; i++)
		ASSERT(out[i] == slot(&a, i < 50 ? 50 + i : 100 + i));
	ASSERT(arq_due(&a, now, out, 256) <= 1);
	ASSERT_EQ_UINT(a.timeouts, 100);
	/* a path move: due now, 30 per run, by nonce; no timeouts */
	arq_all_due(&a);
	k = arq_due(&a, now + 1, out, 30);
	ASSERT_EQ_UINT(k, 30);
	for (i = 0; i < k; i++)
		ASSERT(out[i] == slot(&a, 50 + i));
	k = arq_due(&a, now + 2, out, 30);
	ASSERT_EQ_UINT(k, 30);
	for (i = 0; i < k; i++)
		ASSERT(out[i] == slot(&a, i < 20 ? 80 + i : 130 + i));
	ASSERT_EQ_UINT(a.timeouts, 100);
	/* all acked: the ring goes */
	r[0].start = 0;
	r[0].end = 199;
	arq_on_ack(&a, r, 1, now + 3);
	ASSERT_EQ_UINT(a.inflight, 0);
	ASSERT(a.hist == NULL);
	ASSERT_EQ_UINT(a.tx_base, 200);
	arq_free(&a);
}

static void
deliver_none(void *arg, const unsigned char *frame, size_t len)
{
	(void)arg;
	(void)frame;
	(void)len;
}

/*
 * The receiver's ACK ranges (found from the top down, a run at a time)
 * are the cumulative range and the 7 highest runs held, as a walk over
 * every nonce finds them: frames arrive in order but for some held
 * back, which come later, one by one or in bursts, and some that come
 * twice.
 */
TEST(ack_ranges)
{
	static unsigned char got[20000];
	struct ostp_range r[OSTP_ACK_MAX], want[OSTP_ACK_MAX], top[8];
	uint64_t late[1024], next = 0, n, m, high = 0, rx = 0, end;
	struct arq a;
	size_t nlate = 0, nr, nw, ntop, i, bad = 0, full = 0;

	arq_init(&a, 0, 1000000);
	sim_start(0, 0);	/* for rnd() */
	while (next < sizeof(got) || nlate > 0) {
		if (next < sizeof(got) && (nlate == 0 ||
		    rnd() % 100 < 90)) {
			n = next++;
			if (rnd() % 100 < 10 && nlate < 1024) {
				late[nlate++] = n;	/* held back */
				continue;
			}
		} else {
			i = rnd() % nlate;
			n = late[i];
			late[i] = late[--nlate];
		}
		(void)arq_rx_auth(&a, n);
		REQUIRE(arq_rx_frame(&a, n, 0, (unsigned char *)&n, 8,
		    1000000, deliver_none, NULL) == 0);
		if (rnd() % 100 < 2)
			(void)arq_rx_frame(&a, n, 0, (unsigned char *)&n, 8,
			    1000000, deliver_none, NULL);
		got[n] = 1;
		if (n + 1 > high)
			high = n + 1;
		while (rx < high && got[rx])
			rx++;
		/* nonce by nonce from the top: the 7 highest runs */
		ntop = 0;
		for (m = high; m-- > rx + 1 && ntop < OSTP_ACK_MAX - 1; ) {
			if (!got[m])
				continue;
			for (end = m; m - 1 > rx && got[m - 1]; m--)
				;
			top[ntop].start = m;
			top[ntop].end = end;
			ntop++;
		}
		nw = 0;
		if (rx > 0) {
			want[0].start = 0;
			want[0].end = rx - 1;
			nw = 1;
		}
		for (i = ntop; i > 0; i--)
			want[nw++] = top[i - 1];
		if (ntop == OSTP_ACK_MAX - 1)
			full++;
		a.ack_forced = 1;
		REQUIRE(arq_ack_due(&a, 1000000, 1, r, &nr) == 1);
		if (nr != nw || memcmp(r, want, nw * sizeof(r[0])) != 0)
			bad++;
	}
	ASSERT_EQ_UINT(bad, 0);
	ASSERT(full > 1000);	/* more runs than an ACK holds, often */
	ASSERT_EQ_UINT(a.rx_next, sizeof(got));
	ASSERT_EQ_UINT(a.nheld, 0);
	arq_free(&a);
	sim_end();
}

int
main(void)
{
	if (getenv("TEST_VERBOSE")) fprintf(stderr, "== lossless\n");
	RUN(lossless);
	if (getenv("TEST_VERBOSE")) fprintf(stderr, "== loss_1pct\n");
	RUN(loss_1pct);
	if (getenv("TEST_VERBOSE")) fprintf(stderr, "== tail_loss_probe\n");
	RUN(tail_loss_probe);
	if (getenv("TEST_VERBOSE")) fprintf(stderr, "== loss_long\n");
	RUN(loss_long);
	if (getenv("TEST_VERBOSE")) fprintf(stderr, "== blackhole\n");
	RUN(blackhole);
	if (getenv("TEST_VERBOSE")) fprintf(stderr, "== reliable_carrier\n");
	RUN(reliable_carrier);
	if (getenv("TEST_VERBOSE")) fprintf(stderr, "== ack_policy\n");
	RUN(ack_policy);
	if (getenv("TEST_VERBOSE")) fprintf(stderr, "== ctl_backlog\n");
	RUN(ctl_backlog);
	RUN(history_full);
	if (getenv("TEST_VERBOSE")) fprintf(stderr, "== timer_queues\n");
	RUN(timer_queues);
	if (getenv("TEST_VERBOSE")) fprintf(stderr, "== ack_ranges\n");
	RUN(ack_ranges);
	return TEST_EXIT();
}
