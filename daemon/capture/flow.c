/*
 * A captured TCP connection (an lwIP pcb) as a struct conn: a stream
 * without a descriptor, as an smux stream is.  Back-pressure both
 * ways: lwIP's receive window opens only as the owner reads
 * (tcp_recved), and send takes only what lwIP's send buffer has room
 * for; the owner hears of room again from the sent callback.  lwIP's
 * callbacks only record and kick: the owner runs from the loop, never
 * inside lwIP.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/pbuf.h"
#include "lwip/tcp.h"

#include "log.h"
#include "worker.h"
#include "core/conn.h"
#include "capture/capture.h"
#include "capture/capture_int.h"

struct flow {
	struct conn	*c;
	struct capture	*cap;
	struct tcp_pcb	*pcb;		/* NULL: lwIP freed it */
	struct pbuf	*rq;		/* received, not yet read */
	size_t		 rqlen;
	int		 fin_rcvd;
	int		 err;		/* the pcb failed: errno */
	void		(*watch)(void *);	/* before the owner: sniff */
	void		*watch_arg;
};

/* Whoever watches the flow before it has an owner hears of news. */
static void
flow_news(struct flow *f)
{
	if (f->watch != NULL)
		f->watch(f->watch_arg);
	conn_kick(f->c, CONN_READ);
}

static void
flow_detach(struct flow *f)
{
	if (f->pcb == NULL)
		return;
	tcp_arg(f->pcb, NULL);
	tcp_recv(f->pcb, NULL);
	tcp_sent(f->pcb, NULL);
	tcp_err(f->pcb, NULL);
}

static err_t
flow_recv_cb(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct flow *f = arg;

	(void)pcb;
	if (f == NULL) {
		if (p != NULL)
			pbuf_free(p);
		return ERR_OK;
	}
	if (p == NULL)
		f->fin_rcvd = 1;
	else if (err != ERR_OK) {
		pbuf_free(p);
		return ERR_OK;
	} else {
		if (f->rq == NULL)
			f->rq = p;
		else
			pbuf_cat(f->rq, p);
		f->rqlen += p->tot_len;
	}
	flow_news(f);
	return ERR_OK;
}

static err_t
flow_sent_cb(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct flow *f = arg;

	(void)pcb;
	(void)len;
	if (f != NULL)
		conn_kick(f->c, CONN_WRITE);
	return ERR_OK;
}

/* lwIP freed the pcb (reset, or too many retransmissions). */
static void
flow_err_cb(void *arg, err_t err)
{
	struct flow *f = arg;

	if (f == NULL)
		return;
	f->pcb = NULL;
	f->err = err == ERR_RST ? ECONNRESET : err == ERR_ABRT ?
	    ECONNABORTED : ETIMEDOUT;
	if (f->watch != NULL)
		f->watch(f->watch_arg);
	conn_kick(f->c, CONN_READ | CONN_WRITE);
}

static ssize_t
flow_recv(struct conn *c, void *p, size_t n)
{
	struct flow *f = c->layer;
	size_t k = 0, got;
	u16_t chunk;

	if (f->rqlen > 0) {
		while (k < n && f->rq != NULL) {
			if (f->rq->len == 0) {
				struct pbuf *h = f->rq;

				f->rq = h->next;
				h->next = NULL;
				pbuf_free(h);
				continue;
			}
			chunk = f->rq->len;
			if (chunk > n - k)
				chunk = (u16_t)(n - k);
			memcpy((unsigned char *)p + k, f->rq->payload, chunk);
			k += chunk;
			f->rq = pbuf_free_header(f->rq, chunk);
		}
		f->rqlen -= k;
		/* the window opens by what the owner took */
		for (got = k; f->pcb != NULL && got > 0; got -= chunk) {
			chunk = got > 0xffff ? 0xffff : (u16_t)got;
			tcp_recved(f->pcb, chunk);
		}
		return (ssize_t)k;
	}
	if (f->fin_rcvd)
		return 0;
	errno = f->err != 0 ? f->err : EAGAIN;
	return -1;
}

/*
 * What tcp_write takes now: its bytes (tcp_sndbuf), and the segments
 * they make, one pbuf each (and one more for the start, which may go
 * into the last queued segment), within TCP_SND_QUEUELEN.  Asking for
 * more fails as a whole, and the flow would seem writable again at
 * once: a spin.
 */
static size_t
flow_room(struct tcp_pcb *pcb)
{
	size_t room = tcp_sndbuf(pcb), segs;

	if (tcp_sndqueuelen(pcb) + 1 >= TCP_SND_QUEUELEN)
		return 0;
	segs = (size_t)(TCP_SND_QUEUELEN - tcp_sndqueuelen(pcb) - 1);
	if (room > segs * tcp_mss(pcb))
		room = segs * tcp_mss(pcb);
	return room;
}

static ssize_t
flow_send(struct conn *c, const void *p, size_t n)
{
	struct flow *f = c->layer;
	size_t room;
	err_t e;

	if (f->pcb == NULL) {
		errno = f->err != 0 ? f->err : EPIPE;
		return -1;
	}
	if ((room = flow_room(f->pcb)) == 0) {
		errno = EAGAIN;
		return -1;
	}
	if (n > room)
		n = room;
	if ((e = tcp_write(f->pcb, p, (u16_t)n, TCP_WRITE_FLAG_COPY)) !=
	    ERR_OK) {
		if (e == ERR_MEM) {
			/* the segment queue is full: room comes when acked */
			tcp_output(f->pcb);
			errno = EAGAIN;
			return -1;
		}
		errno = EPIPE;
		return -1;
	}
	tcp_output(f->pcb);
	capture_timers();
	return (ssize_t)n;
}

static int
flow_shutw(struct conn *c)
{
	struct flow *f = c->layer;

	if (f->pcb == NULL)
		return 0;
	if (tcp_shutdown(f->pcb, 0, 1) != ERR_OK) {
		errno = EAGAIN;
		return -1;
	}
	tcp_output(f->pcb);
	return 0;
}

static void
flow_update(struct conn *c)
{
	struct flow *f = c->layer;

	if ((c->want & CONN_READ) && (f->rqlen > 0 || f->fin_rcvd ||
	    f->pcb == NULL))
		conn_kick(c, CONN_READ);
	if ((c->want & CONN_WRITE) && (f->pcb == NULL ||
	    flow_room(f->pcb) > 0))
		conn_kick(c, CONN_WRITE);
}

static size_t
flow_pending(const struct conn *c)
{
	const struct flow *f = c->layer;

	return f->rqlen;
}

/*
 * The owner is done: close (lwIP resets a connection whose data was
 * not all read, as a kernel does), or abort when close cannot queue.
 */
static void
flow_free(struct conn *c)
{
	struct flow *f = c->layer;

	if (f->pcb != NULL) {
		flow_detach(f);
		if (tcp_close(f->pcb) != ERR_OK)
			tcp_abort(f->pcb);
		capture_timers();
	}
	if (f->rq != NULL)
		pbuf_free(f->rq);
	f->cap->nflows--;
	free(f);
}

static const struct conn_ops flow_ops = {
	.name = "capture",
	.recv = flow_recv,
	.send = flow_send,
	.shutw = flow_shutw,
	.update = flow_update,
	.pending = flow_pending,
	.free = flow_free,
};

struct conn *
capture_flow_new(struct capture *cap, struct tcp_pcb *pcb)
{
	struct flow *f;
	struct conn *c;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		free(f);
		return NULL;
	}
	/* a connection without a descriptor */
	c->ops = &flow_ops;
	c->wk = capture_worker(cap);
	c->fd = -1;
	c->layer = f;
	f->c = c;
	f->cap = cap;
	cap->nflows++;
	f->pcb = pcb;
	tcp_arg(pcb, f);
	tcp_recv(pcb, flow_recv_cb);
	tcp_sent(pcb, flow_sent_cb);
	tcp_err(pcb, flow_err_cb);
	tcp_nagle_disable(pcb);
	/*
	 * Debian's lwIP has a 64 KiB send buffer (TCP_SND_BUF), which
	 * with the round trip through the device and the stack caps a
	 * download near 2 Gbit/s.  snd_buf is only a count lwIP keeps
	 * (what acks return is added back, unclamped; its window scale
	 * makes the type 32 bits): starting it higher lets more be in
	 * flight.  TCP_SND_QUEUELEN, the segments queued, still bounds
	 * it near 4 x 64 KiB.
	 */
	if (pcb->snd_buf < CAP_SNDBUF)
		pcb->snd_buf = CAP_SNDBUF;
	return c;
}

void
capture_flow_watch(struct conn *c, void (*cb)(void *), void *arg)
{
	struct flow *f = c->layer;

	f->watch = cb;
	f->watch_arg = arg;
}

size_t
capture_flow_peek(struct conn *c, void *p, size_t n, int *ended)
{
	struct flow *f = c->layer;
	size_t k = f->rqlen < n ? f->rqlen : n;

	*ended = f->pcb == NULL ? 2 : f->fin_rcvd;
	if (k > 0xffff)
		k = 0xffff;
	if (k == 0 || f->rq == NULL)
		return 0;
	return pbuf_copy_partial(f->rq, p, (u16_t)k, 0);
}

void
capture_flow_abort(struct conn *c)
{
	struct flow *f = c->layer;

	if (c->ops != &flow_ops || f->pcb == NULL)
		return;
	flow_detach(f);
	tcp_abort(f->pcb);
	f->pcb = NULL;
	capture_timers();
}
