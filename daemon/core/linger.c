/*
 * Lingering close of a refused client connection, as nginx's
 * lingering_close and Apache's ap_lingering_close do: send the reply,
 * shut our side down, then read and discard what the client still
 * sends until it closes too, for at most LINGER_SECS and LINGER_BYTES,
 * and close (a reply the client does not take within LINGER_SEND_SECS
 * is given up).  Closing a socket that holds unread input makes the kernel
 * answer with a RST, and a RST can overtake the reply in flight and
 * destroy it in the client's receive queue: a client that sent a large
 * head (431) or a body behind a refused request would see a reset
 * instead of the answer.  Every error reply of the proxy goes out here,
 * through whatever layers the connection has (the reply, then their
 * end: TLS close_notify, a WebSocket close, a stream's FIN).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/conn.h"
#include "log.h"
#include "worker.h"
#include "core/relay.h"

#define LINGER_SECS	2		/* after the reply, whatever comes */
#define LINGER_SEND_SECS 10		/* for the reply to go out */
#define LINGER_BYTES	(8 * 1024 * 1024)	/* discarded at most */
#define LINGER_READ	(16 * 1024)
#define LINGER_ROUNDS	8		/* reads per wakeup, then others */

struct lingering {
	struct worker	*wk;
	struct conn	*c;
	size_t		 discarded;
	int		 shut;		/* reply out, our side ended */
	int		 eof;		/* the client closed its side */
	struct event	*tmo;
};

static void
linger_done(struct lingering *lg)
{
	if (lg->tmo != NULL)
		event_free(lg->tmo);
	conn_free(lg->c);
	worker_conn_closed(lg->wk);
	free(lg);
}

/* The reply out and our side ended: 1, then the lingering proper. */
static int
linger_shut(struct lingering *lg)
{
	struct timeval tv = { LINGER_SECS, 0 };

	if (lg->shut)
		return 1;
	if (conn_shutw(lg->c) != 0)
		return errno == EAGAIN ? 0 : -1;
	lg->shut = 1;
	event_add(lg->tmo, &tv);
	return 1;
}

static void
linger_cb(struct conn *c, int what, void *arg)
{
	struct lingering *lg = arg;
	unsigned char junk[LINGER_READ];
	ssize_t n;
	int i, r;

	if ((r = linger_shut(lg)) < 0 || (r == 1 && lg->eof)) {
		linger_done(lg);
		return;
	}
	for (i = 0; (what & CONN_READ) && !lg->eof && i < LINGER_ROUNDS;
	    i++) {
		n = conn_recv(c, junk, sizeof(junk));
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			/* the client closed (or reset): nothing to protect */
			if (n == 0 && !lg->shut) {
				lg->eof = 1;	/* it may still read the reply */
				break;
			}
			linger_done(lg);
			return;
		}
		lg->discarded += (size_t)n;
		if (lg->discarded > LINGER_BYTES) {
			debug("lingering close: over %d bytes, closing",
			    LINGER_BYTES);
			linger_done(lg);
			return;
		}
	}
	conn_want(c, (lg->eof ? 0 : CONN_READ) | (lg->shut ? 0 : CONN_WRITE));
}

static void
linger_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	linger_done(arg);
}

/*
 * Send reply (may be empty) on c and close it, lingering.  Takes c
 * over; the lingering connection counts as active until it closes, so
 * a draining worker waits for it (LINGER_SEND_SECS + LINGER_SECS at
 * most).
 */
void
linger_conn(struct worker *wk, struct conn *c, const void *reply,
    size_t len)
{
	struct timeval tv = { LINGER_SEND_SECS, 0 };
	struct lingering *lg;

	if ((lg = calloc(1, sizeof(*lg))) == NULL ||
	    (lg->tmo = evtimer_new(wk->base, linger_timeout_cb, lg)) ==
	    NULL) {
		/* no memory: the reply, as far as it goes, and a close */
		(void)conn_send(c, reply, len);
		conn_free(c);
		free(lg);
		return;
	}
	wk->stats.active++;
	lg->wk = wk;
	lg->c = c;
	if (conn_put(c, reply, len) != 0) {
		linger_done(lg);
		return;
	}
	event_add(lg->tmo, &tv);	/* linger_shut re-arms it when done */
	conn_set_cb(c, linger_cb, lg);
	linger_cb(c, CONN_READ | CONN_WRITE, lg);
}

/* The same for a socket (taken). */
void
linger_close(struct worker *wk, int fd, const void *reply, size_t len)
{
	struct conn *c;

	if ((c = conn_socket(wk, fd)) != NULL)
		linger_conn(wk, c, reply, len);
}
