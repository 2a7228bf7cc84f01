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
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ostp/arq.h"

#define CUBIC_BETA	0.7
#define CUBIC_C		0.4
#define DUP_LIMIT_US	10000		/* forced ACK / far NACK, at most */
#define NACK_WIN_MIN_US	5000
#define NACK_WIN_MAX_US	100000
#define GAP_MIN_US	2000000
#define NACK_LIMIT_MAX_US 250000

void
arq_init(struct arq *a, int reliable, uint64_t now)
{
	memset(a, 0, sizeof(*a));
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
	uint64_t n;
	size_t i;

	for (n = a->tx_base; a->hist != NULL && n < a->tx_next; n++)
		free(a->hist[n & (a->hcap - 1)].d);
	hist_release(a);
	for (i = 0; i < a->rcap; i++)
		free(a->held[i].p);
	held_release(a);
}

static struct arq_sent *
hist_at(const struct arq *a, uint64_t n)
{
	return &a->hist[n & (a->hcap - 1)];
}

int
arq_can_send(const struct arq *a)
{
	/*
	 * Packets of the window, and as many bytes as packets of 1400
	 * would be: a large mtu must not put more in flight than the
	 * peer's queues were sized for.  Room in history is kept for
	 * control frames.
	 */
	return (double)a->inflight < a->cwnd &&
	    (double)a->inflight_bytes < a->cwnd * ARQ_CWND_PKT_BYTES &&
	    a->tx_next - a->tx_base < ARQ_HISTORY_MAX - 256;
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
	struct arq_sent *nh;
	size_t cap;
	uint64_t i;

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
	e->retx = retx != 0;
	e->retries = 0;
	e->sent_us = now;
	if (retx) {
		a->inflight++;
		a->inflight_bytes += len;
	}
	return 0;
}

/* Forget acknowledged entries at the front; free an empty ring. */
static void
hist_advance(struct arq *a)
{
	while (a->tx_base < a->tx_next && hist_at(a, a->tx_base)->d == NULL)
		a->tx_base++;
	if (a->tx_base == a->tx_next)
		hist_release(a);
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

/* Window growth for acked packets: slow start, then CUBIC. */
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
			a->k = 0;
		}
		t = (double)(now - a->epoch_us) / 1e6;
		target = CUBIC_C * (t - a->k) * (t - a->k) * (t - a->k) +
		    a->w_max;
		if (target > a->cwnd)
			a->cwnd += (target - a->cwnd) / a->cwnd *
			    (double)acked;
		else
			a->cwnd += 0.01 * (double)acked / a->cwnd;
	}
	if (a->cwnd > ARQ_CWND_MAX)
		a->cwnd = ARQ_CWND_MAX;
}

/* A loss: one window reduction per round of sends (recovery_end). */
static void
cc_loss(struct arq *a, uint64_t n, uint64_t now)
{
	if (n < a->recovery_end)
		return;
	a->losses++;
	a->w_max = a->cwnd;
	a->cwnd *= CUBIC_BETA;
	if (a->cwnd < 2)
		a->cwnd = 2;
	a->ssthresh = a->cwnd;
	a->k = cbrt(a->w_max * (1 - CUBIC_BETA) / CUBIC_C);
	a->epoch_us = now;
	a->recovery_end = a->tx_next;
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
		for (n = lo; n <= hi; n++) {
			e = hist_at(a, n);
			if (e->d == NULL)
				continue;
			/*
			 * An RTT sample only from the largest nonce this ACK
			 * newly covers, and only if it was sent once (Karn;
			 * RFC 9002 5.1): an ACK that arrives after a stall
			 * names old frames, whose age is no round trip.
			 */
			if (n >= largest) {
				largest = n;
				sample = e->retx && e->retries == 0;
				sent = e->sent_us;
			}
			if (e->retx) {
				a->inflight--;
				a->inflight_bytes -= e->len;
				acked++;
			}
			free(e->d);
			e->d = NULL;
		}
	}
	if (sample && largest >= a->acked_high && now >= sent)
		rtt_sample(a, now - sent);
	if (largest > a->acked_high)
		a->acked_high = largest;
	cc_acked(a, acked, now);
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
	if (e->retx) {
		cc_loss(a, n, now);
		e->retries++;
		a->retransmits++;
	}
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

size_t
arq_due(struct arq *a, uint64_t now, const struct arq_sent **out, size_t max)
{
	struct arq_sent *e;
	size_t k = 0;
	uint64_t n;

	for (n = a->tx_base; a->hist != NULL && n < a->tx_next && k < max;
	    n++) {
		e = hist_at(a, n);
		if (e->d == NULL || !e->retx ||
		    now - e->sent_us < retx_wait(a, e->retries))
			continue;
		if (e->retries >= ARQ_MAX_RETRIES + 2) {
			/* given up: the peer's gap recovery skips it */
			free(e->d);
			e->d = NULL;
			a->inflight--;
			a->inflight_bytes -= e->len;
			continue;
		}
		cc_loss(a, n, now);
		e->retries++;
		e->sent_us = now;
		a->retransmits++;
		out[k++] = e;
	}
	hist_advance(a);
	return k;
}

void
arq_all_due(struct arq *a)
{
	uint64_t n;

	for (n = a->tx_base; a->hist != NULL && n < a->tx_next; n++)
		hist_at(a, n)->sent_us = 0;
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

int
arq_rx_frame(struct arq *a, uint64_t n, int control,
    const unsigned char *frame, size_t len, uint64_t now,
    arq_deliver_fn deliver, void *arg)
{
	struct arq_held *h;

	if (!control)
		a->ack_pending = 1;
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
	/* a nonce already held is simply taken again (§2.8.1) */
	if (h->used)
		a->held_bytes -= h->len;
	free(h->p);
	h->p = NULL;
	if (!control && len > 0) {
		if ((h->p = malloc(len)) == NULL) {
			if (h->used) {
				h->used = 0;
				a->nheld--;
			}
			return -1;
		}
		memcpy(h->p, frame, len);
	}
	h->len = control ? 0 : (uint32_t)len;
	a->held_bytes += h->len;
	h->n = n;
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
 * the 7 highest when there are more (§2.8.1).
 */
static size_t
ack_ranges(const struct arq *a, struct ostp_range *r)
{
	struct ostp_range runs[OSTP_ACK_MAX - 1];
	size_t nr = 0, nruns = 0, i, first = 0;
	int in = 0;
	uint64_t n, start = 0;
	const struct arq_held *h;

	if (a->rx_next > 0) {
		r[nr].start = 0;
		r[nr].end = a->rx_next - 1;
		nr++;
	}
	for (n = a->rx_next + 1; a->nheld > 0 && n <= a->rx_high; n++) {
		h = n < a->rx_high ? held_at(a, n) : NULL;
		if (h != NULL && h->used && h->n == n) {
			if (!in) {
				in = 1;
				start = n;
			}
			continue;
		}
		if (in) {
			/* a ring of the last runs: the highest survive */
			runs[(first + nruns) % (OSTP_ACK_MAX - 1)].start =
			    start;
			runs[(first + nruns) % (OSTP_ACK_MAX - 1)].end = n - 1;
			if (nruns < OSTP_ACK_MAX - 1)
				nruns++;
			else
				first = (first + 1) % (OSTP_ACK_MAX - 1);
			in = 0;
		}
	}
	for (i = 0; i < nruns && nr < OSTP_ACK_MAX; i++)
		r[nr++] = runs[(first + i) % (OSTP_ACK_MAX - 1)];
	return nr;
}

int
arq_ack_due(struct arq *a, uint64_t now, struct ostp_range *r, size_t *nr)
{
	if (!a->ack_forced && (!a->ack_pending ||
	    now - a->last_ack_us < ARQ_ACK_DELAY_US))
		return 0;
	*nr = ack_ranges(a, r);
	a->ack_pending = 0;
	a->ack_forced = 0;
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

int
arq_nack_due(struct arq *a, uint64_t now, uint64_t *n)
{
	uint64_t limit = a->rto_us / 2 > 10000 ? a->rto_us / 2 : 10000;

	/*
	 * Upstream NACKs at most every rto/2; a long RTO (a stall just
	 * behind) would then hold a gap for seconds: 250 ms at most.
	 */
	if (limit > NACK_LIMIT_MAX_US)
		limit = NACK_LIMIT_MAX_US;

	if (a->nack_pending) {
		a->nack_pending = 0;
		*n = a->rx_next;
		return 1;
	}
	if (a->nheld == 0 || a->gap_us == 0 ||
	    now - a->gap_us < nack_window(a) ||
	    (a->last_nack_us != 0 && now - a->last_nack_us < limit))
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

	if (a->ack_forced || a->nack_pending)
		return 0;
	if (a->ack_pending) {
		due = a->last_ack_us + ARQ_ACK_DELAY_US;
		t = due > now ? due - now : 0;
	}
	if ((a->inflight > 0 || a->nheld > 0) && t > ARQ_TICK_US)
		t = ARQ_TICK_US;
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
