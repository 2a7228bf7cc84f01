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
 * instead of the answer.  Every error reply of the proxy goes out here.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "worker.h"

#define LINGER_SECS	2		/* after the reply, whatever comes */
#define LINGER_SEND_SECS 10		/* for the reply to go out */
#define LINGER_BYTES	(8 * 1024 * 1024)	/* discarded at most */
#define LINGER_READ	(16 * 1024)
#define LINGER_ROUNDS	8		/* reads per wakeup, then others */

struct linger_conn {
	struct worker	*wk;
	int		 fd;
	unsigned char	*out;		/* the reply */
	size_t		 outoff;	/* sent so far */
	size_t		 outlen;	/* not yet sent */
	size_t		 discarded;
	int		 eof;		/* the client closed its side */
	struct event	*rev;
	struct event	*wev;
	struct event	*tmo;
};

static void
linger_done(struct linger_conn *lg)
{
	if (lg->rev != NULL)
		event_free(lg->rev);
	if (lg->wev != NULL)
		event_free(lg->wev);
	if (lg->tmo != NULL)
		event_free(lg->tmo);
	close(lg->fd);
	free(lg->out);
	worker_conn_closed(lg->wk);
	free(lg);
}

/*
 * Send what is left of the reply; 1 when all is out (and our side shut
 * down: the lingering proper begins), -1 on error.
 */
static int
linger_send(struct linger_conn *lg)
{
	struct timeval tv = { LINGER_SECS, 0 };
	ssize_t n;

	while (lg->outlen > 0) {
		n = send(lg->fd, lg->out + lg->outoff, lg->outlen,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return errno == EAGAIN ? 0 : -1;
		lg->outoff += (size_t)n;
		lg->outlen -= (size_t)n;
	}
	/* the FIN after the reply: the client knows nothing more comes */
	(void)shutdown(lg->fd, SHUT_WR);
	if (lg->tmo != NULL)
		event_add(lg->tmo, &tv);
	return 1;
}

static void
linger_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct linger_conn *lg = arg;
	int r;

	(void)fd;
	(void)what;
	if ((r = linger_send(lg)) < 0 || (r == 1 && lg->eof))
		linger_done(lg);
	else if (r == 0)
		event_add(lg->wev, NULL);
}

static void
linger_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct linger_conn *lg = arg;
	unsigned char junk[LINGER_READ];
	ssize_t n;
	int i;

	(void)what;
	for (i = 0; i < LINGER_ROUNDS; i++) {
		n = recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			/* the client closed (or reset): nothing to protect */
			if (n == 0 && lg->outlen > 0) {
				/* it may still read the reply */
				lg->eof = 1;
				event_del(lg->rev);
				return;
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
}

static void
linger_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	linger_done(arg);
}

/*
 * Send reply (may be empty) on fd and close it, lingering.  Takes fd
 * over; the lingering connection counts as active until it closes, so
 * a draining worker waits for it (LINGER_SEND_SECS + LINGER_SECS at
 * most).
 */
void
linger_close(struct worker *wk, int fd, const void *reply, size_t len)
{
	struct timeval tv = { LINGER_SEND_SECS, 0 };
	struct linger_conn *lg;
	int r;

	if ((lg = calloc(1, sizeof(*lg))) == NULL ||
	    (len > 0 && (lg->out = malloc(len)) == NULL)) {
		/* no memory: the reply, then a plain close */
		if (len > 0)
			(void)!send(fd, reply, len, MSG_NOSIGNAL |
			    MSG_DONTWAIT);
		close(fd);
		free(lg);
		return;
	}
	wk->stats.active++;
	lg->wk = wk;
	lg->fd = fd;
	if (len > 0)
		memcpy(lg->out, reply, len);
	lg->outlen = len;
	lg->rev = event_new(wk->base, fd, EV_READ | EV_PERSIST,
	    linger_read_cb, lg);
	lg->wev = event_new(wk->base, fd, EV_WRITE, linger_write_cb, lg);
	lg->tmo = evtimer_new(wk->base, linger_timeout_cb, lg);
	if (lg->rev == NULL || lg->wev == NULL || lg->tmo == NULL) {
		if (lg->tmo != NULL)
			event_free(lg->tmo);
		lg->tmo = NULL;
		(void)linger_send(lg);
		linger_done(lg);
		return;
	}
	event_add(lg->tmo, &tv);	/* linger_send re-arms it when done */
	if ((r = linger_send(lg)) < 0) {
		linger_done(lg);
		return;
	}
	if (r == 0)
		event_add(lg->wev, NULL);
	event_add(lg->rev, NULL);
}
