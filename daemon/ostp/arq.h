/*
 * OSTP's selective-repeat ARQ (spec/ostp.md §2.8): the send history
 * of sealed datagrams by nonce, RTT and retransmission timers, the
 * congestion window (CUBIC), and on the receiving side the expected
 * nonce, the reorder buffer, ACK ranges, NACKs and gap recovery.  No
 * I/O and no crypto: the session seals, sends and decrypts; this file
 * decides what, when and in which order.  Times are microseconds of a
 * monotonic clock, given by the caller.
 */
#ifndef OSTP_ARQ_H
#define OSTP_ARQ_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "proto/ostp.h"

#define ARQ_MAX_REORDER		16384	/* nonces ahead of the expected */
#define ARQ_REORDER_BUF		8192	/* frames held */
#define ARQ_HELD_BYTES		(8 * 1024 * 1024)	/* and their bytes */
#define ARQ_ACK_DELAY_US	5000
#define ARQ_ACK_EVERY		32	/* data frames: an ACK at once */
#define ARQ_ACK_MIN_US		250	/* between ACKs of frames in order */
#define ARQ_RTO_BASE_US		100000
#define ARQ_RTO_MIN_US		50000
#define ARQ_RTO_MAX_US		16000000
#define ARQ_RETX_CAP_US		8000000
#define ARQ_RETX_RELIABLE_US	5000000	/* TCP/TLS carriers */
#define ARQ_MAX_RETRIES		8
#define ARQ_HISTORY_MAX		32768
#define ARQ_CWND_INIT		32
#define ARQ_CWND_MAX		8192
#define ARQ_TICK_US		10000
#define ARQ_REO_MIN_US		1000	/* the sender's reordering window */
#define ARQ_PROBES_MAX		2	/* tail-loss probes, then timeouts */
#define ARQ_NACK_DUPTHRESH	3	/* frames beyond a gap: a NACK */
#define ARQ_NACKS_PASS		256	/* NACKs per pass over the gaps */
#define ARQ_CTL_BACKLOG		1024	/* control frames kept: a KeepAlive */
#define ARQ_CWND_PKT_BYTES	1400	/* the window counts bytes too */
/*
 * The sender's timer queues: one per number of retries up to the one
 * whose wait stops doubling (every datagram of a queue waits as long,
 * so the queue, in sending order, is in deadline order too), and one of
 * datagrams judged lost, due at once.
 */
#define ARQ_TIMERQS		7
#define ARQ_LOSTQ		ARQ_TIMERQS

/* A sent datagram kept for its retransmission, by nonce. */
struct arq_sent {
	unsigned char	*d;		/* the sealed bytes; NULL: acked */
	uint32_t	 len;
	uint32_t	 acked_run;	/* acked: how many nonces after this
					   one are known to be acked too */
	uint8_t		 retx;		/* data/close: resent on timeout */
	uint8_t		 retries;	/* resent on timeout or NACK */
	uint8_t		 probed;	/* resent as a probe */
	uint8_t		 q;		/* its timer queue (retx, unacked) */
	uint64_t	 sent_us;	/* last (re)send */
	TAILQ_ENTRY(arq_sent) entry;	/* in a timer queue */
};
TAILQ_HEAD(arq_sentq, arq_sent);

/* A frame that arrived ahead of the expected nonce. */
struct arq_held {
	uint64_t	 n;
	uint64_t	 run_lo;	/* n and every nonce down to this one
					   are held (the run may reach lower) */
	unsigned char	*p;		/* the inner frame; NULL: a control
					   frame, nothing to deliver */
	uint32_t	 len;
	uint8_t		 used;
};

struct arq {
	/* sending */
	uint64_t	 tx_next;	/* the next nonce */
	uint64_t	 tx_base;	/* the oldest one in history */
	struct arq_sent	*hist;		/* ring, tx_base..tx_next-1 */
	size_t		 hcap;
	size_t		 inflight;	/* retransmittable, not acked */
	size_t		 inflight_bytes;
	int		 reliable;	/* a TCP/TLS carrier */
	/* retransmittable, unacked: by retries, in sending order; lost */
	struct arq_sentq due[ARQ_TIMERQS + 1];
	/* round trips */
	uint64_t	 srtt_us;	/* 0: no sample yet */
	uint64_t	 rttvar_us;
	uint64_t	 rto_us;
	uint64_t	 min_rtt_us;
	/* congestion: CUBIC, in packets */
	double		 cwnd;
	double		 ssthresh;
	double		 w_max;
	double		 k;
	uint64_t	 epoch_us;	/* 0: no congestion epoch */
	uint64_t	 recovery_end;	/* nonces below: same loss event */
	uint64_t	 acked_high;	/* the largest nonce acked */
	double		 w_est;		/* what Reno would have (RFC 8312) */
	int		 lost_pending;	/* marked lost: resend now */
	uint64_t	 progress_us;	/* the last ACK of new data, or the
					   first send after none in flight */
	uint64_t	 probe_us;	/* the last tail-loss probe */
	uint64_t	 last_send_us;	/* the last new data or close */
	unsigned int	 probes;	/* since progress_us */
	/* a round: the frames sent until the first of them is acked */
	uint64_t	 round_end;	/* nonce that ends it */
	uint32_t	 round_sent;	/* retransmittable frames sent */
	uint32_t	 round_lost;
	/* receiving */
	uint64_t	 rx_next;	/* E: the next nonce to deliver */
	uint64_t	 rx_high;	/* highest authenticated, +1 */
	struct arq_held	*held;		/* ring by nonce */
	size_t		 rcap;
	size_t		 nheld;
	size_t		 held_bytes;
	uint64_t	 held_min;	/* lowest nonce held */
	uint64_t	 gap_us;	/* since when delivery waits */
	uint64_t	 last_nack_us;
	uint64_t	 nack_scan;	/* the next nonce to look at */
	uint64_t	 nack_pass_us;	/* the last pass over the gaps began */
	unsigned int	 nack_pass_sent;	/* NACKs of this pass */
	uint64_t	 last_dup_us;	/* forced ACK / far NACK limit */
	uint64_t	 last_ack_us;
	int		 ack_pending;
	int		 ack_forced;
	uint32_t	 unacked_rx;	/* data frames since the last ACK */
	int		 ack_soon;	/* two frames wait for their ACK */
	int		 ack_now;	/* a gap opened or filled: an ACK
					   when the batch is read */
	int		 ack_held;	/* our readers are behind: no ACKs */
	uint64_t	 nack_due;	/* a NACK to send for this nonce */
	int		 nack_pending;
	/* counters */
	uint64_t	 retransmits;
	uint64_t	 losses;
	uint64_t	 rack_lost;	/* of them judged lost by rack */
	uint64_t	 nack_retx;	/* of them asked by a NACK */
	uint64_t	 probes_sent;	/* tail-loss probes */
	uint64_t	 timeouts;	/* resent on their timer */
	uint64_t	 delay_cuts;	/* window cuts for a growing queue */
};

void	arq_init(struct arq *, int reliable, uint64_t now);
void	arq_free(struct arq *);

/* Sending. */
/* Room for new data: inflight below the window. */
int	arq_can_send(const struct arq *);
/* The nonce the next datagram carries; -1 (as u64) when spent. */
uint64_t arq_next_nonce(struct arq *);
/*
 * The datagram with nonce n (arq_next_nonce) went out: history takes
 * d (malloc'ed, len bytes).  retx: a data or close frame.  0, or -1
 * (history full: d freed, the caller fails the session).
 */
int	arq_sent(struct arq *, uint64_t n, unsigned char *d, size_t len,
	    int retx, uint64_t now);
/* An ACK's ranges: forget what they cover, take RTT samples. */
void	arq_on_ack(struct arq *, const struct ostp_range *, size_t nr,
	    uint64_t now);
/* The peer misses n: the datagram to send again (NULL: not kept). */
const struct arq_sent *arq_on_nack(struct arq *, uint64_t n, uint64_t now);
/*
 * Timed-out datagrams, oldest first, at most max: their entries (to be
 * sent again now; their clocks restarted).  Returns how many.
 */
size_t	arq_due(struct arq *, uint64_t now, const struct arq_sent **out,
	    size_t max);
/*
 * Whether the history holds ARQ_CTL_BACKLOG control frames and nothing
 * the peer will acknowledge: then a KeepAlive should go, whose ACK
 * frees them.  A side that only receives sends ACKs, which elicit no
 * ACK (spec 2.8), and a full history ends the session.
 */
int	arq_ctl_backlog(const struct arq *);
/* Resend everything at once (a path move). */
void	arq_all_due(struct arq *);
/* Resends of the oldest datagram waiting for its ACK (0: none waits). */
unsigned int arq_oldest_retries(const struct arq *);

/* Receiving. */
#define ARQ_RX_NEW	0	/* decrypt and process it */
#define ARQ_RX_DUP	1	/* delivered before: maybe a forced ACK */
#define ARQ_RX_FAR	2	/* too far ahead: maybe a NACK for E */
int	arq_rx_class(const struct arq *, uint64_t n);
/* An authenticated datagram n: 1 if it raised the highest nonce. */
int	arq_rx_auth(struct arq *, uint64_t n);
/* A duplicate or far datagram authenticated: answer at most per 10 ms. */
void	arq_rx_stale(struct arq *, int class, uint64_t now);
/*
 * Sequence frame n (authenticated, decoded; ARQ_RX_NEW).  deliver is
 * called for n and every held frame that follows in order; frame/len
 * NULL/0 for a control frame (only the sequence moves).  A held frame's
 * bytes are copied.  0, or -1 (no memory: the frame is dropped as lost).
 */
typedef void (*arq_deliver_fn)(void *arg, const unsigned char *frame,
	    size_t len);
int	arq_rx_frame(struct arq *, uint64_t n, int control,
	    const unsigned char *frame, size_t len, uint64_t now,
	    arq_deliver_fn, void *arg);
/*
 * The timer's view of the receiving side: whether an ACK is due (its
 * ranges then in r, their number in *nr), a NACK (*nack), gap recovery.
 * batch_end: what arrived so far has been read (the timer runs), and an
 * ACK held for more frames of the same read can go.
 */
int	arq_ack_due(struct arq *, uint64_t now, int batch_end,
	    struct ostp_range *r, size_t *nr);
int	arq_nack_due(struct arq *, uint64_t now, uint64_t *n);
void	arq_gap_recover(struct arq *, uint64_t now, arq_deliver_fn, void *);
/* Microseconds until something is due (0: now; UINT64_MAX: nothing). */
uint64_t arq_next_event(const struct arq *, uint64_t now);

#endif
