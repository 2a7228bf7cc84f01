/*
 * OSTP's ARQ (spec/ostp.md §2.8), both directions of one session.
 *
 * Every datagram either side sends takes the next nonce, control frames
 * (ACK, NACK) too, and stays in the sender's history until an ACK range
 * covers it: a NACK for any of them is answered with the same bytes.
 * Data and Close frames are also resent when their timer runs out.  The
 * receiver delivers frames in nonce order; what arrives ahead waits in
 * a reorder ring, is reported in SACK ranges, and a gap that outlives
 * the reorder window is NACKed.
 *
 * Both rings grow with what is outstanding and are freed when empty, so
 * an idle session holds none of them.
 *
 * What an ACK or a timer run costs the sender follows what changed, not
 * the window (thousands of datagrams on a fast path): the datagrams
 * that wait for a timer are queued in sending order (struct arq's due),
 * so a timer run looks at the queues' heads only, and an acknowledged
 * run of nonces is crossed in one step (acked_run) when later ACKs
 * name it again, as the ranges above a gap are named in every ACK
 * until the gap is filled.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ostp/arq.h"

#define CUBIC_BETA	0.7
#define CUBIC_C		0.4
#define CC_LOSS_TOLERATED_PCT	3
#define CC_QUEUE_MIN_US		10000	/* queueing delay tolerated */
#define DUP_LIMIT_US	10000		/* forced ACK / far NACK, at most */
#define NACK_WIN_MIN_US	5000
#define NACK_WIN_MAX_US	100000
#define GAP_MIN_US	2000000
#define NACK_LIMIT_MAX_US 250000

static void
due_init(struct arq *a)
{
	unsigned int q;

	for (q = 0; q <= ARQ_LOSTQ; q++)
		TAILQ_INIT(&a->due[q]);
}

void
arq_init(struct arq *a, int reliable, uint64_t now)
{
	memset(a, 0, sizeof(*a));
	due_init(a);
	a->reliable = reliable;
	a->rto_us = ARQ_RTO_BASE_US;
	a->cwnd = ARQ_CWND_INIT;
	a->ssthresh = ARQ_CWND_MAX;
	a->last_ack_us = now;
}

static void
hist_release(struct arq *a)
{
	free(a->hist);
	a->hist = NULL;
	a->hcap = 0;
}

static void
held_release(struct arq *a)
{
	free(a->held);
	a->held = NULL;
	a->rcap = 0;
}

void
arq_free(struct arq *a)
{
	size_t i;

	/*
	 * By slot, not by nonce: when history was full, the nonce it
	 * refused was taken already and tx_next - tx_base exceeds the
	 * ring (by nonce, a slot was freed twice).
	 */
	for (i = 0; i < a->hcap; i++)
		free(a->hist[i].d);
	hist_release(a);
	due_init(a);
	for (i = 0; i < a->rcap; i++)
		free(a->held[i].p);
	held_release(a);
}

static struct arq_sent *
hist_at(const struct arq *a, uint64_t n)
{
	return &a->hist[n & (a->hcap - 1)];
}

/* The nonce of an entry of the ring (tx_base <= it < tx_base + hcap). */
static uint64_t
hist_nonce(const struct arq *a, const struct arq_sent *e)
{
	size_t i = (size_t)(e - a->hist), b = a->tx_base & (a->hcap - 1);

	return a->tx_base + ((i - b) & (a->hcap - 1));
}

/*
 * The first nonce from n on, below end, whose datagram is not yet
 * acknowledged (end or beyond when none is).  A run of acknowledged
 * nonces is crossed by its first one's acked_run, and the runs crossed
 * here are then recorded as one at n.  Acknowledged is for good: a
 * nonce is never sent twice, and a slot is reused only below tx_base.
 */
static uint64_t
hist_live(struct arq *a, uint64_t n, uint64_t end)
{
	const struct arq_sent *e;
	uint64_t start = n;

	while (n < end && (e = hist_at(a, n))->d == NULL)
		n += 1 + (uint64_t)e->acked_run;
	if (n - start > 1)
		hist_at(a, start)->acked_run = (uint32_t)(n - start - 1);
	return n;
}

static void
due_insert(struct arq *a, struct arq_sent *e, unsigned int q)
{
	TAILQ_INSERT_TAIL(&a->due[q], e, entry);
	e->q = (uint8_t)q;
}

/* The timer queue for e's retries (retx_wait stops doubling at 6). */
static unsigned int
due_level(const struct arq_sent *e)
{
	return e->retries < ARQ_TIMERQS - 1 ? e->retries : ARQ_TIMERQS - 1;
}

/* e (re)sent at now: to the end of the queue for its retries. */
static void
due_requeue(struct arq *a, struct arq_sent *e, uint64_t now)
{
	TAILQ_REMOVE(&a->due[e->q], e, entry);
	e->sent_us = now;
	due_insert(a, e, due_level(e));
}

/* e judged lost, or a path move: due at once (sent_us 0 says so). */
static void
due_lost(struct arq *a, struct arq_sent *e)
{
	TAILQ_REMOVE(&a->due[e->q], e, entry);
	e->sent_us = 0;
	due_insert(a, e, ARQ_LOSTQ);
}

/* e acknowledged or given up: its bytes and its timer go. */
static void
hist_forget(struct arq *a, struct arq_sent *e)
{
	if (e->retx) {
		TAILQ_REMOVE(&a->due[e->q], e, entry);
		a->inflight--;
		a->inflight_bytes -= e->len;
	}
	free(e->d);
	e->d = NULL;
	e->acked_run = 0;
}

int
arq_can_send(const struct arq *a)
{
	/*
	 * Packets of the window, and as many bytes as packets of 1400
	 * would be: a large mtu must not put more in flight than the
	 * peer's queues were sized for.  Nothing is sent further ahead
	 * of the oldest unacknowledged nonce than the peer's reorder
	 * buffer holds (spec 2.8: 8192 frames): frames the ACKs show
	 * arrived leave the window, but while a gap waits for its resend
	 * the peer must keep them all, and what does not fit there it
	 * drops; some room is kept for control frames.
	 */
	return (double)a->inflight < a->cwnd &&
	    (double)a->inflight_bytes < a->cwnd * ARQ_CWND_PKT_BYTES &&
	    a->tx_next - a->tx_base < ARQ_REORDER_BUF - 256;
}

uint64_t
arq_next_nonce(struct arq *a)
{
	/* no rekey exists: a spent counter ends the session */
	if (a->tx_next == UINT64_MAX)
		return UINT64_MAX;
	return a->tx_next++;
}

/* Make room for nonce n in the history ring. */
static int
hist_grow(struct arq *a, uint64_t n)
{
	struct arq_sent *nh, *e;
	size_t cap;
	uint64_t i;
	unsigned int q;

	if (n - a->tx_base < a->hcap)
		return 0;
	for (cap = a->hcap ? a->hcap : 64; cap <= n - a->tx_base; cap *= 2)
		;
	if (cap > ARQ_HISTORY_MAX)
		return -1;
	if ((nh = calloc(cap, sizeof(*nh))) == NULL)
		return -1;
	for (i = a->tx_base; a->hist != NULL && i < n; i++)
		nh[i & (cap - 1)] = *hist_at(a, i);
	/* the timer queues, in the same order, through the new slots */
	for (q = 0; q <= ARQ_LOSTQ; q++) {
		e = TAILQ_FIRST(&a->due[q]);
		TAILQ_INIT(&a->due[q]);
		for (; e != NULL; e = TAILQ_NEXT(e, entry))
			TAILQ_INSERT_TAIL(&a->due[q],
			    &nh[hist_nonce(a, e) & (cap - 1)], entry);
	}
	free(a->hist);
	a->hist = nh;
	a->hcap = cap;
	return 0;
}

int
arq_sent(struct arq *a, uint64_t n, unsigned char *d, size_t len, int retx,
    uint64_t now)
{
	struct arq_sent *e;

	if (a->hist == NULL)
		a->tx_base = n;
	if (hist_grow(a, n) != 0) {
		free(d);
		return -1;
	}
	e = hist_at(a, n);
	e->d = d;
	e->len = (uint32_t)len;
	e->acked_run = 0;
	e->retx = retx != 0;
	e->retries = 0;
	e->probed = 0;
	e->sent_us = now;
	if (retx) {
		due_insert(a, e, 0);
		if (a->inflight == 0) {
			a->progress_us = now;
			a->probes = 0;
		}
		a->last_send_us = now;
		a->round_sent++;
		a->inflight++;
		a->inflight_bytes += len;
	}
	return 0;
}

/* Forget acknowledged entries at the front; free an empty ring. */
static void
hist_advance(struct arq *a)
{
	if (a->hist == NULL)
		return;
	a->tx_base = hist_live(a, a->tx_base, a->tx_next);
	if (a->tx_base >= a->tx_next) {
		a->tx_base = a->tx_next;
		hist_release(a);
	}
}

static void
rtt_sample(struct arq *a, uint64_t r)
{
	uint64_t d;

	if (r == 0)
		r = 1;
	if (a->min_rtt_us == 0 || r < a->min_rtt_us)
		a->min_rtt_us = r;
	if (a->srtt_us == 0) {
		a->srtt_us = r;
		a->rttvar_us = r / 2;
	} else {
		d = a->srtt_us > r ? a->srtt_us - r : r - a->srtt_us;
		a->rttvar_us = (3 * a->rttvar_us + d) / 4;
		a->srtt_us = (7 * a->srtt_us + r) / 8;
	}
	a->rto_us = a->srtt_us + (4 * a->rttvar_us > 1000 ?
	    4 * a->rttvar_us : 1000);
	if (a->rto_us < ARQ_RTO_MIN_US)
		a->rto_us = ARQ_RTO_MIN_US;
	if (a->rto_us > ARQ_RTO_MAX_US)
		a->rto_us = ARQ_RTO_MAX_US;
}

/*
 * Window growth for acked packets: slow start, then CUBIC (RFC 8312)
 * with its TCP-friendly region: on a short path CUBIC's curve, timed in
 * seconds, grows slower than Reno would, and Reno's pace is kept.
 */
static void
cc_acked(struct arq *a, size_t acked, uint64_t now)
{
	double t, target;

	if (acked == 0)
		return;
	if (a->cwnd < a->ssthresh)
		a->cwnd += (double)acked;
	else {
		if (a->epoch_us == 0) {
			a->epoch_us = now;
			a->w_max = a->cwnd;
			a->w_est = a->cwnd;
			a->k = 0;
		}
		t = (double)(now - a->epoch_us) / 1e6;
		target = CUBIC_C * (t - a->k) * (t - a->k) * (t - a->k) +
		    a->w_max;
		/* Reno's additive increase for beta 0.7: 3(1-b)/(1+b) */
		a->w_est += 3 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA) *
		    (double)acked / a->cwnd;
		if (target < a->w_est)
			target = a->w_est;
		if (target > a->cwnd)
			a->cwnd += (target - a->cwnd) / a->cwnd *
			    (double)acked;
		else
			a->cwnd += 0.01 * (double)acked / a->cwnd;
	}
	if (a->cwnd > ARQ_CWND_MAX)
		a->cwnd = ARQ_CWND_MAX;
}

/* A window reduction, CUBIC's. */
static void
cc_cut(struct arq *a, uint64_t now)
{
	a->losses++;
	a->w_max = a->cwnd;
	a->cwnd *= CUBIC_BETA;
	if (a->cwnd < 2)
		a->cwnd = 2;
	a->ssthresh = a->cwnd;
	a->k = cbrt(a->w_max * (1 - CUBIC_BETA) / CUBIC_C);
	a->w_est = a->cwnd;
	a->epoch_us = now;
	a->recovery_end = a->tx_next;
}

/*
 * A loss.  Lost frames are counted per round; the window shrinks when a
 * round loses more than CC_LOSS_TOLERATED_PCT of what it sent (at least
 * three frames), or at a retransmission timeout (timeout: the caller
 * says so), and then once per round of sends (recovery_end).  A drop-
 * tail queue that overflows loses a run of frames in a round; a lossy
 * link (radio, a policer's random drops) loses a steady small share,
 * which plain CUBIC took as congestion at every loss: at 1 % loss its
 * window stayed at 2-5 packets and a tunnel that carried 170 MB/s
 * without loss carried 2 (bench/ostploss.sh).  Local behaviour: the
 * spec leaves congestion control to each side (spec 2.8).
 */
static void
cc_loss(struct arq *a, uint64_t n, uint64_t now, int timeout)
{
	uint64_t sent;

	a->round_lost++;
	if (n < a->recovery_end)
		return;
	sent = a->round_sent > a->cwnd ? a->round_sent : (uint64_t)a->cwnd;
	if (!timeout && (a->round_lost < 3 ||
	    (uint64_t)a->round_lost * 100 <= sent * CC_LOSS_TOLERATED_PCT))
		return;
	cc_cut(a, now);
}

/*
 * The path's queue grows: the smoothed RTT exceeds the least seen by
 * more than CC_QUEUE_MIN_US (and than the least RTT itself), once per
 * round.  A sender that never loses a datagram to the socket buffers
 * (4 MiB at a server) would otherwise fill them, and every flow of the
 * session would wait behind tens of milliseconds of queue.
 */
static void
cc_delay(struct arq *a, uint64_t n, uint64_t now)
{
	uint64_t q;

	/*
	 * Not over TCP: its own congestion control, and a loss there
	 * stalls everything behind it for a round trip, no queue.
	 */
	if (a->reliable || a->min_rtt_us == 0 || n < a->recovery_end)
		return;
	q = a->min_rtt_us > CC_QUEUE_MIN_US ? a->min_rtt_us :
	    CC_QUEUE_MIN_US;
	if (a->srtt_us > a->min_rtt_us + q) {
		a->delay_cuts++;
		cc_cut(a, now);
	}
}

/*
 * Loss detection by the sender, from the ACK's ranges (RACK, RFC 8985,
 * in its simplest form; local behaviour, nothing on the wire changes):
 * a frame the ACK shows missing that was sent a reordering window
 * before one it acknowledges is lost, and goes again at once instead of
 * after its timeout.  The receiver's NACK names only the one nonce
 * delivery waits for, at most every 10 ms: alone it recovers one loss
 * per interval, and at 1 % loss and tens of thousands of datagrams a
 * second the timeouts did the rest.
 *
 * An ACK holds at most OSTP_ACK_MAX ranges, the cumulative one and the
 * highest runs above it (spec 2.8.1): when it is full, runs just above
 * the cumulative range were left out.  Their frames are taken as
 * arrived all the same: a frame is reported by the first ACK after it
 * arrives, when it is among the highest runs, and what an ACK acked is
 * gone from history; what is left there was lost, or its ACK was (then
 * it goes twice).  A frame sent again is judged by its new sending time.
 */
static void
rack_mark(struct arq *a, uint64_t lo, uint64_t hi, uint64_t before)
{
	struct arq_sent *e;
	uint64_t n;

	if (lo < a->tx_base)
		lo = a->tx_base;
	if (hi >= a->tx_next)
		hi = a->tx_next - 1;
	if (hi < lo)
		return;
	/* only what is still unacked: the losses, not the window */
	for (n = hist_live(a, lo, hi + 1); n <= hi;
	    n = hist_live(a, n + 1, hi + 1)) {
		e = hist_at(a, n);
		if (!e->retx || e->sent_us == 0 || e->sent_us > before)
			continue;
		due_lost(a, e);		/* due now (arq_due) */
		a->lost_pending = 1;
		a->rack_lost++;
	}
}

static void
rack_detect(struct arq *a, const struct ostp_range *r, size_t nr,
    uint64_t sent)
{
	struct ostp_range s[OSTP_ACK_MAX], t;
	uint64_t w;
	size_t i, j, ns = 0;

	if (sent == 0 || a->hist == NULL || a->tx_next == 0)
		return;
	w = a->min_rtt_us / 4;
	if (w < ARQ_REO_MIN_US)
		w = ARQ_REO_MIN_US;
	if (sent < w)
		return;
	/* ascending by start, whatever order the peer wrote them in */
	for (i = 0; i < nr && ns < OSTP_ACK_MAX; i++) {
		if (r[i].end < r[i].start)
			continue;
		s[ns++] = r[i];
		for (j = ns - 1; j > 0 && s[j - 1].start > s[j].start; j--) {
			t = s[j - 1];
			s[j - 1] = s[j];
			s[j] = t;
		}
	}
	for (i = 0; i + 1 < ns; i++) {
		if (s[i + 1].start <= s[i].end + 1)
			continue;	/* overlapping or adjacent */
		rack_mark(a, s[i].end + 1, s[i + 1].start - 1, sent - w);
	}
}

void
arq_on_ack(struct arq *a, const struct ostp_range *r, size_t nr,
    uint64_t now)
{
	uint64_t n, lo, hi, largest = 0, sent = 0;
	struct arq_sent *e;
	size_t i, acked = 0;
	int sample = 0;

	if (a->hist == NULL)
		return;
	for (i = 0; i < nr; i++) {
		if (r[i].end < r[i].start || r[i].end < a->tx_base ||
		    r[i].start >= a->tx_next)
			continue;
		lo = r[i].start < a->tx_base ? a->tx_base : r[i].start;
		hi = r[i].end >= a->tx_next ? a->tx_next - 1 : r[i].end;
		/*
		 * Only what this ACK newly covers: a range above a gap is
		 * named again by every ACK until the gap is filled.
		 */
		for (n = hist_live(a, lo, hi + 1); n <= hi;
		    n = hist_live(a, n + 1, hi + 1)) {
			e = hist_at(a, n);
			/*
			 * An RTT sample only from the largest nonce this ACK
			 * newly covers, and only if it was sent once (Karn;
			 * RFC 9002 5.1): an ACK that arrives after a stall
			 * names old frames, whose age is no round trip.
			 */
			if (n >= largest) {
				largest = n;
				sample = e->retx && e->retries == 0 &&
				    !e->probed;
				sent = e->sent_us;
			}
			if (e->retx)
				acked++;
			hist_forget(a, e);
		}
		/* [lo, n) is acked now: one step from lo next time */
		if (n - lo > 1)
			hist_at(a, lo)->acked_run = (uint32_t)(n - lo - 1);
	}
	if (sample && largest >= a->acked_high && now >= sent) {
		rtt_sample(a, now - sent);
		cc_delay(a, largest, now);
	}
	if (largest > a->acked_high)
		a->acked_high = largest;
	if (largest >= a->round_end && acked > 0) {
		a->round_end = a->tx_next;
		a->round_sent = 0;
		a->round_lost = 0;
	}
	if (acked > 0) {
		a->progress_us = now;
		a->probes = 0;
	}
	cc_acked(a, acked, now);
	/* a TCP carrier loses nothing but at a path move */
	if (!a->reliable)
		rack_detect(a, r, nr, sent);
	hist_advance(a);
}

const struct arq_sent *
arq_on_nack(struct arq *a, uint64_t n, uint64_t now)
{
	struct arq_sent *e;

	if (a->hist == NULL || n < a->tx_base || n >= a->tx_next)
		return NULL;
	e = hist_at(a, n);
	if (e->d == NULL)
		return NULL;
	/*
	 * Sent again less than a round trip ago: that copy cannot have
	 * arrived yet, and the peer NACKs a gap every pass (25 ms and
	 * more, by its own round trip).  Behind a long queue (400 ms at
	 * 40 Mbit/s, ostpnet.sh's roaming part without the queue-delay
	 * cut) every lost datagram went a dozen times, the copies
	 * overflowed the queue and were lost in turn: 27,000 resends a
	 * second for 20 s, the window cut to 2, the download stalled.
	 */
	if (e->retx && (e->retries > 0 || e->probed) && e->sent_us != 0 &&
	    now - e->sent_us < a->srtt_us)
		return NULL;
	if (e->retx) {
		cc_loss(a, n, now, 0);
		e->retries++;
		a->retransmits++;
		a->nack_retx++;
		due_requeue(a, e, now);
	} else
		e->sent_us = now;
	return e;
}

static uint64_t
retx_wait(const struct arq *a, unsigned int retries)
{
	uint64_t base = a->rto_us > ARQ_RTO_BASE_US ? a->rto_us :
	    ARQ_RTO_BASE_US, w;

	w = base << (retries < 6 ? retries : 6);
	if (w > ARQ_RETX_CAP_US)
		w = ARQ_RETX_CAP_US;
	if (a->reliable && w < ARQ_RETX_RELIABLE_US)
		w = ARQ_RETX_RELIABLE_US;
	return w;
}

/*
 * How long the sender waits for an ACK of anything before it probes
 * (RFC 8985 7, RFC 9002 6.2): a round trip, its variation and the
 * peer's ACK delay (5 ms upstream); doubled for a second probe, and
 * after ARQ_PROBES_MAX unanswered ones the timeouts take over (a path
 * that answers nothing is not probed every few milliseconds).
 */
static uint64_t
probe_wait(const struct arq *a)
{
	uint64_t w;

	w = a->srtt_us + (4 * a->rttvar_us > 1000 ? 4 * a->rttvar_us :
	    1000) + ARQ_ACK_DELAY_US;
	return w << a->probes;
}

/* From the last progress, probe or new frame sent, whichever is last. */
static uint64_t
probe_at(const struct arq *a)
{
	uint64_t t = a->progress_us;

	if (a->probe_us > t)
		t = a->probe_us;
	if (a->last_send_us > t)
		t = a->last_send_us;
	return t + probe_wait(a);
}

/*
 * The newest frame waiting for its ACK goes again when nothing was
 * acknowledged for a probe's wait: the losses at the end of a burst
 * have no later frame whose ACK shows them missing, and would wait for
 * the retransmission timeout (100 ms and more) with the window full.
 * The probe's ACK shows them.  Not on a TCP carrier, and not a loss.
 */
static const struct arq_sent *
probe(struct arq *a, uint64_t now)
{
	struct arq_sent *e;
	uint64_t n;

	if (a->reliable || a->inflight == 0 || a->srtt_us == 0 ||
	    a->probes >= ARQ_PROBES_MAX || a->hist == NULL ||
	    now < probe_at(a))
		return NULL;
	for (n = a->tx_next; n-- > a->tx_base; ) {
		e = hist_at(a, n);
		if (e->d == NULL || !e->retx)
			continue;
		/* not a retry: those count towards giving up */
		e->probed = 1;
		due_requeue(a, e, now);
		a->probe_us = now;
		a->probes++;
		a->probes_sent++;
		a->retransmits++;
		return e;
	}
	return NULL;
}

/*
 * The datagram to resend first: one judged lost, else the earliest
 * deadline among the timer queues' heads (each queue's head is its
 * earliest).  NULL: none is due.
 */
static struct arq_sent *
due_next(const struct arq *a, uint64_t now)
{
	struct arq_sent *e, *best = NULL;
	uint64_t w, at, best_at = 0;
	unsigned int q;

	if ((e = TAILQ_FIRST(&a->due[ARQ_LOSTQ])) != NULL)
		return e;
	for (q = 0; q < ARQ_TIMERQS; q++) {
		if ((e = TAILQ_FIRST(&a->due[q])) == NULL)
			continue;
		w = retx_wait(a, q);
		if (now - e->sent_us < w)
			continue;
		at = e->sent_us + w;
		if (best == NULL || at < best_at) {
			best = e;
			best_at = at;
		}
	}
	return best;
}

size_t
arq_due(struct arq *a, uint64_t now, const struct arq_sent **out, size_t max)
{
	struct arq_sent *e;
	size_t k = 0;
	int lost;

	while (k < max && (e = due_next(a, now)) != NULL) {
		if (e->retries >= ARQ_MAX_RETRIES + 2) {
			/* given up: the peer's gap recovery skips it */
			hist_forget(a, e);
			continue;
		}
		/* judged lost (rack_detect) or a path move: no timeout */
		lost = e->q == ARQ_LOSTQ;
		if (!lost)
			a->timeouts++;
		cc_loss(a, hist_nonce(a, e), now, !lost);
		e->retries++;
		a->retransmits++;
		due_requeue(a, e, now);
		out[k++] = e;
	}
	/* what the budget left waits for the next tick */
	if (due_next(a, now) == NULL)
		a->lost_pending = 0;
	hist_advance(a);
	if (k == 0 && max > 0 && (out[k] = probe(a, now)) != NULL)
		k++;
	return k;
}

int
arq_ctl_backlog(const struct arq *a)
{
	return a->inflight == 0 && a->hist != NULL &&
	    a->tx_next - a->tx_base >= ARQ_CTL_BACKLOG;
}

void
arq_all_due(struct arq *a)
{
	struct arq_sent *e;
	uint64_t n;

	/* in nonce order; paced by the timer's budget, a tick apart */
	for (n = a->hist != NULL ? hist_live(a, a->tx_base, a->tx_next) :
	    a->tx_next; n < a->tx_next; n = hist_live(a, n + 1, a->tx_next)) {
		e = hist_at(a, n);
		if (e->retx)
			due_lost(a, e);
		else
			e->sent_us = 0;
	}
	a->min_rtt_us = 0;	/* another path */
}

int
arq_rx_class(const struct arq *a, uint64_t n)
{
	if (n < a->rx_next)
		return ARQ_RX_DUP;
	if (n - a->rx_next > ARQ_MAX_REORDER)
		return ARQ_RX_FAR;
	return ARQ_RX_NEW;
}

int
arq_rx_auth(struct arq *a, uint64_t n)
{
	if (n >= a->rx_high) {
		if (n > a->rx_high && !a->reliable)
			a->ack_now = 1;		/* a gap opened */
		a->rx_high = n + 1;
		return 1;
	}
	return 0;
}

void
arq_rx_stale(struct arq *a, int class, uint64_t now)
{
	if (now - a->last_dup_us < DUP_LIMIT_US && a->last_dup_us != 0)
		return;
	a->last_dup_us = now;
	if (class == ARQ_RX_DUP)
		a->ack_forced = 1;
	else if (class == ARQ_RX_FAR)
		a->nack_pending = 1;
}

static struct arq_held *
held_at(const struct arq *a, uint64_t n)
{
	return &a->held[n & (a->rcap - 1)];
}

/* Room in the reorder ring for nonce n (rx_next < n). */
static int
held_grow(struct arq *a, uint64_t n)
{
	struct arq_held *nh, *h;
	size_t cap, i;

	if (n - a->rx_next < a->rcap)
		return 0;
	for (cap = a->rcap ? a->rcap : 64; cap <= n - a->rx_next; cap *= 2)
		;
	if ((nh = calloc(cap, sizeof(*nh))) == NULL)
		return -1;
	for (i = 0; i < a->rcap; i++) {
		h = &a->held[i];
		if (h->used)
			nh[h->n & (cap - 1)] = *h;
	}
	free(a->held);
	a->held = nh;
	a->rcap = cap;
	return 0;
}

/* Deliver held frames from rx_next on while they are contiguous. */
static void
held_drain(struct arq *a, uint64_t now, arq_deliver_fn deliver, void *arg)
{
	struct arq_held *h;

	while (a->nheld > 0) {
		h = held_at(a, a->rx_next);
		if (!h->used || h->n != a->rx_next)
			break;
		h->used = 0;
		a->nheld--;
		a->held_bytes -= h->len;
		a->rx_next++;
		deliver(arg, h->p, h->len);
		free(h->p);
		h->p = NULL;
	}
	if (a->nheld == 0) {
		a->gap_us = 0;
		held_release(a);
	} else
		a->gap_us = now;	/* a new gap before what is held */
}

/* Whether nonce n (above rx_next) is held. */
static int
held_has(const struct arq *a, uint64_t n)
{
	const struct arq_held *h = held_at(a, n);

	return h->used && h->n == n;
}

int
arq_rx_frame(struct arq *a, uint64_t n, int control,
    const unsigned char *frame, size_t len, uint64_t now,
    arq_deliver_fn deliver, void *arg)
{
	struct arq_held *h;
	unsigned char *p = NULL;

	/*
	 * When ACKs go (local behaviour; upstream sends one per 5 ms,
	 * spec 2.8): once the frames that arrived together are read,
	 * if one opened or filled a gap, or if two or more wait for it
	 * and the last ACK is ARQ_ACK_MIN_US old; at once every
	 * ARQ_ACK_EVERY frames; else after ack_delay.  Over TCP, where
	 * nothing is lost, as upstream: every ack_delay.  The sender's RTT samples and its loss detection
	 * come from ACKs: one per 5 ms made a 0.1 ms path look 5-8 ms
	 * long to a small window, which then grew at that pace, and at
	 * a hundred thousand frames a second left more gaps between two
	 * ACKs than one can show (seven runs).
	 */
	if (n == a->rx_next && a->nheld > 0 && !a->reliable)
		a->ack_now = 1;		/* a gap filled */
	if (!control) {
		a->ack_pending = 1;
		if (++a->unacked_rx >= 2 && !a->reliable)
			a->ack_soon = 1;
		if (a->unacked_rx >= ARQ_ACK_EVERY && !a->reliable)
			a->ack_forced = 1;
	}
	if (n == a->rx_next) {
		a->rx_next++;
		deliver(arg, control ? NULL : frame, control ? 0 : len);
		if (a->nheld > 0)
			held_drain(a, now, deliver, arg);
		return 0;
	}
	if (n < a->rx_next)
		return 0;
	if (held_grow(a, n) != 0)
		return -1;
	h = held_at(a, n);
	/*
	 * No room (frames, or bytes: SACKed frames leave the sender's
	 * window, so only this bounds what waits here): it is resent.
	 */
	if (!h->used && (a->nheld >= ARQ_REORDER_BUF ||
	    a->held_bytes + len > ARQ_HELD_BYTES))
		return 0;
	/*
	 * A nonce already held is simply taken again (§2.8.1); without
	 * memory for the copy the one held stays (a nonce that is held
	 * is never given up in the middle: ack_ranges counts on it).
	 */
	if (!control && len > 0) {
		if ((p = malloc(len)) == NULL)
			return -1;
		memcpy(p, frame, len);
	}
	if (h->used)
		a->held_bytes -= h->len;
	free(h->p);
	h->p = p;
	h->len = control ? 0 : (uint32_t)len;
	a->held_bytes += h->len;
	h->n = n;
	/* the run it joins: frames mostly arrive just above the last */
	h->run_lo = n - 1 > a->rx_next && held_has(a, n - 1) ?
	    held_at(a, n - 1)->run_lo : n;
	if (!h->used) {
		h->used = 1;
		a->nheld++;
	}
	if (a->gap_us == 0)
		a->gap_us = now;
	return 0;
}

/*
 * The ranges of an ACK: cumulative (0, E-1), then the runs held ahead,
 * the 7 highest when there are more (§2.8.1).  Found from the top down,
 * a run in a step or a few (run_lo; a gap filled below a run adds one,
 * and the top's is then brought down): an ACK goes every few frames,
 * and a walk over everything held cost each one the reorder window
 * (thousands of slots while a loss waits for its resend).  The gaps
 * between the runs are walked: they are the losses.
 */
static size_t
ack_ranges(struct arq *a, struct ostp_range *r)
{
	struct ostp_range runs[OSTP_ACK_MAX - 1];
	size_t nr = 0, nruns = 0, i;
	struct arq_held *h;
	uint64_t n, lo;

	if (a->rx_next > 0) {
		r[nr].start = 0;
		r[nr].end = a->rx_next - 1;
		nr++;
	}
	n = a->rx_high;
	while (a->nheld > 0 && nruns < OSTP_ACK_MAX - 1 &&
	    n-- > a->rx_next + 1) {
		if (!held_has(a, n))
			continue;
		h = held_at(a, n);
		for (lo = h->run_lo; lo - 1 > a->rx_next && held_has(a, lo - 1);
		    lo = held_at(a, lo - 1)->run_lo)
			;
		h->run_lo = lo;
		runs[nruns].start = lo;
		runs[nruns].end = n;
		nruns++;
		n = lo;
	}
	for (i = nruns; i > 0 && nr < OSTP_ACK_MAX; i--)
		r[nr++] = runs[i - 1];
	return nr;
}

int
arq_ack_due(struct arq *a, uint64_t now, int batch_end, struct ostp_range *r,
    size_t *nr)
{
	if (a->ack_held)
		return 0;
	if (!a->ack_forced && (!a->ack_pending || (!(batch_end &&
	    (a->ack_now || (a->ack_soon &&
	    now - a->last_ack_us >= ARQ_ACK_MIN_US))) &&
	    now - a->last_ack_us < ARQ_ACK_DELAY_US)))
		return 0;
	*nr = ack_ranges(a, r);
	a->ack_pending = 0;
	a->ack_forced = 0;
	a->ack_soon = 0;
	a->ack_now = 0;
	a->unacked_rx = 0;
	a->last_ack_us = now;
	return 1;
}

static uint64_t
nack_window(const struct arq *a)
{
	uint64_t w = a->srtt_us / 4;

	if (w < NACK_WIN_MIN_US)
		w = NACK_WIN_MIN_US;
	if (w > NACK_WIN_MAX_US)
		w = NACK_WIN_MAX_US;
	return w;
}

static uint64_t
nack_limit(const struct arq *a)
{
	uint64_t limit = a->rto_us / 2 > 10000 ? a->rto_us / 2 : 10000;

	/*
	 * Upstream NACKs at most every rto/2; a long RTO (a stall just
	 * behind) would then hold a gap for seconds: 250 ms at most.
	 */
	if (limit > NACK_LIMIT_MAX_US)
		limit = NACK_LIMIT_MAX_US;
	return limit;
}

/*
 * Every missing nonce is NACKed once ARQ_NACK_DUPTHRESH frames beyond
 * it arrived, and again at the next pass over the gaps (one per NACK
 * limit).  Upstream NACKs only the nonce delivery waits for, once per
 * rto/2: enough for the few ACKs a peer sends every 5 ms, but a peer
 * that ACKs every few datagrams loses some of those ACKs too, and each
 * is a gap in our sequence that only a NACK fills (ACKs elicit no
 * ACK): repaired one per 25 ms, they piled up until the peer's nonces
 * ran more than max_reorder ahead, and everything it sent was dropped
 * as too far ahead.  The sender's RACK finds lost data frames without
 * NACKs; these are for the rest and for senders without RACK.  At
 * most ARQ_NACKS_PASS a pass; none over TCP, where nothing is lost but
 * at a path move and a NACK of every frame then in flight would only
 * queue them all again behind their first resend.
 */
int
arq_nack_due(struct arq *a, uint64_t now, uint64_t *n)
{
	const struct arq_held *h;
	uint64_t m;

	if (a->nack_pending) {
		a->nack_pending = 0;
		*n = a->rx_next;
		return 1;
	}
	if (a->nheld == 0)
		return 0;
	if (now - a->nack_pass_us >= nack_limit(a)) {
		a->nack_pass_us = now;
		a->nack_scan = a->rx_next;
		a->nack_pass_sent = 0;
	}
	if (a->nack_scan < a->rx_next)
		a->nack_scan = a->rx_next;
	while (!a->reliable && a->nack_pass_sent < ARQ_NACKS_PASS &&
	    a->nack_scan + ARQ_NACK_DUPTHRESH < a->rx_high &&
	    a->nack_scan - a->rx_next < a->rcap) {
		m = a->nack_scan++;
		h = held_at(a, m);
		if (h->used && h->n == m)
			continue;
		a->nack_pass_sent++;
		a->last_nack_us = now;
		*n = m;
		return 1;
	}
	/* a last gap with too little behind it: after the window */
	if (a->gap_us == 0 || now - a->gap_us < nack_window(a) ||
	    (a->last_nack_us != 0 && now - a->last_nack_us < nack_limit(a)))
		return 0;
	a->last_nack_us = now;
	*n = a->rx_next;
	return 1;
}

/* How long the sender keeps resending one datagram, by our own timers. */
static uint64_t
gap_timeout(const struct arq *a)
{
	uint64_t t = 0;
	unsigned int i;

	for (i = 0; i < ARQ_MAX_RETRIES + 2; i++)
		t += retx_wait(a, i);
	return t > GAP_MIN_US ? t : GAP_MIN_US;
}

void
arq_gap_recover(struct arq *a, uint64_t now, arq_deliver_fn deliver,
    void *arg)
{
	uint64_t n;

	if (a->nheld == 0 || a->gap_us == 0 ||
	    now - a->gap_us < gap_timeout(a))
		return;
	/* skip to the lowest frame held */
	for (n = a->rx_next + 1; n < a->rx_high; n++) {
		const struct arq_held *h = held_at(a, n);

		if (h->used && h->n == n)
			break;
	}
	a->rx_next = n;
	a->ack_forced = 1;
	held_drain(a, now, deliver, arg);
}

uint64_t
arq_next_event(const struct arq *a, uint64_t now)
{
	uint64_t t = UINT64_MAX, due;

	if ((a->ack_forced && !a->ack_held) || a->nack_pending ||
	    a->lost_pending)
		return 0;
	if (a->ack_pending && !a->ack_held) {
		due = a->last_ack_us + ARQ_ACK_DELAY_US;
		t = due > now ? due - now : 0;
	}
	/* after the frames being read */
	if (a->ack_pending && !a->ack_held && (a->ack_now || a->ack_soon)) {
		due = a->ack_now ? now : a->last_ack_us + ARQ_ACK_MIN_US;
		due = due > now ? due - now : 0;
		if (due < t)
			t = due;
	}
	if ((a->inflight > 0 || a->nheld > 0) && t > ARQ_TICK_US)
		t = ARQ_TICK_US;
	if (!a->reliable && a->inflight > 0 && a->srtt_us != 0 &&
	    a->probes < ARQ_PROBES_MAX) {
		due = probe_at(a);
		due = due > now ? due - now : 0;
		if (due < t)
			t = due;
	}
	return t;
}

/*
 * How often the oldest datagram still waiting for its ACK was sent
 * again (0: none waits): a peer that answers nothing makes it grow.
 */
unsigned int
arq_oldest_retries(const struct arq *a)
{
	const struct arq_sent *e;
	uint64_t n;

	for (n = a->tx_base; n < a->tx_next && a->hcap > 0; n++) {
		e = &a->hist[n & (a->hcap - 1)];
		if (e->d != NULL && e->retx)
			return e->retries;
	}
	return 0;
}
