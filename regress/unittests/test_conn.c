/*
 * The connection layer on socketpairs in one event loop: read-ahead,
 * conn_put's queue, the WebSocket layer between a client and a server
 * (frames that arrive together are all readable), smux streams, TLS
 * over a stream whose session's output is full.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/conn.h"
#include "core/tls.h"
#include "mux/smux.h"
#include "proto/ws.h"
#include "test.h"
#include "transport/transport.h"
#include "worker.h"

static struct worker wk;

static int
pair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sv);
}

/* Run the loop until *done or a second passes. */
static void
loop_until(const int *done)
{
	struct timeval tv = { 0, 10000 };
	int i;

	for (i = 0; i < 100 && !*done; i++) {
		event_base_loopexit(wk.base, &tv);
		event_base_dispatch(wk.base);
	}
}

struct reader {
	struct conn	*c;
	char		 buf[256 * 1024];
	size_t		 len;
	size_t		 want;
	int		 eof;
	int		 done;
};

static void
reader_cb(struct conn *c, int what, void *arg)
{
	struct reader *r = arg;
	ssize_t n;

	(void)what;
	while ((n = conn_recv(c, r->buf + r->len, sizeof(r->buf) -
	    r->len)) > 0)
		r->len += (size_t)n;
	if (n == 0)
		r->eof = 1;
	if (r->len >= r->want || r->eof || (n < 0 && errno != EAGAIN))
		r->done = 1;
}

TEST(test_readahead)
{
	int sv[2];
	struct conn *c;
	char b[16];

	REQUIRE(pair(sv) == 0);
	REQUIRE((c = conn_socket(&wk, sv[0])) != NULL);
	ASSERT_EQ_INT(write(sv[1], "world", 5), 5);
	ASSERT_EQ_INT(conn_unread(c, "hello ", 6), 0);
	ASSERT_EQ_INT(conn_pending(c), 6);
	ASSERT(!conn_is_bare(c));
	ASSERT_EQ_INT(conn_recv(c, b, 4), 4);
	ASSERT(memcmp(b, "hell", 4) == 0);
	ASSERT_EQ_INT(conn_recv(c, b, sizeof(b)), 2);
	ASSERT_EQ_INT(conn_recv(c, b, sizeof(b)), 5);
	ASSERT(memcmp(b, "world", 5) == 0);
	ASSERT(conn_is_bare(c));
	ASSERT_EQ_INT(conn_recv(c, b, sizeof(b)), -1);
	ASSERT_EQ_INT(errno, EAGAIN);
	conn_free(c);
	close(sv[1]);
}

/* conn_put: what the socket does not take waits, in order, and goes. */
TEST(test_put_queue)
{
	static char big[600 * 1024];
	struct reader r;
	int sv[2], i, sz = 4096;
	struct conn *a, *b;

	for (i = 0; i < (int)sizeof(big); i++)
		big[i] = (char)(i * 7);
	REQUIRE(pair(sv) == 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	REQUIRE((a = conn_socket(&wk, sv[0])) != NULL);
	REQUIRE((b = conn_socket(&wk, sv[1])) != NULL);
	ASSERT_EQ_INT(conn_put(a, big, 60000), 0);
	ASSERT(a->wq.len > 0);		/* the socket took only part */
	ASSERT(!conn_is_bare(a));
	/* later sends wait behind the queue */
	ASSERT_EQ_INT(conn_send(a, "x", 1), -1);
	ASSERT_EQ_INT(errno, EAGAIN);
	/* beyond CONN_PUT_MAX: refused, nothing lost before */
	ASSERT_EQ_INT(conn_put(a, big, CONN_PUT_MAX), -1);
	memset(&r, 0, sizeof(r));
	r.want = 60000;
	conn_set_cb(b, reader_cb, &r);
	conn_want(b, CONN_READ);
	conn_want(a, 0);	/* the owner waits for nothing: it still goes */
	loop_until(&r.done);
	ASSERT_EQ_UINT(r.len, 60000);
	ASSERT(memcmp(r.buf, big, 60000) == 0);
	ASSERT_EQ_UINT(a->wq.len, 0);
	conn_free(a);
	conn_free(b);
}

struct acc {
	struct conn	*st;
};

static void
accept_cb(void *arg, struct conn *st)
{
	struct acc *a = arg;

	a->st = st;
}

/* WebSocket: a client and a server layer; two frames sent together. */
TEST(test_ws_pair)
{
	struct reader rs, rc;
	struct conn *cl, *sv;
	int s[2];

	REQUIRE(pair(s) == 0);
	REQUIRE((cl = ws_client_push(conn_socket(&wk, s[0]), "/t",
	    "example.com", NULL)) != NULL);
	REQUIRE((sv = ws_server_push(conn_socket(&wk, s[1]), "/t")) != NULL);
	memset(&rs, 0, sizeof(rs));
	memset(&rc, 0, sizeof(rc));
	rs.want = 11;
	conn_set_cb(sv, reader_cb, &rs);
	conn_want(sv, CONN_READ);
	/* queued until the upgrade is answered */
	ASSERT_EQ_INT(conn_put(cl, "hello ", 6), 0);
	ASSERT_EQ_INT(conn_put(cl, "world", 5), 0);
	conn_want(cl, 0);
	loop_until(&rs.done);
	ASSERT_EQ_UINT(rs.len, 11);
	ASSERT(memcmp(rs.buf, "hello world", 11) == 0);
	/* two frames in one write: both read without more from below */
	rc.want = 8;
	conn_set_cb(cl, reader_cb, &rc);
	conn_want(cl, CONN_READ);
	ASSERT_EQ_INT(conn_send(sv, "abcd", 4), 4);
	ASSERT_EQ_INT(conn_send(sv, "efgh", 4), 4);
	loop_until(&rc.done);
	ASSERT_EQ_UINT(rc.len, 8);
	ASSERT(memcmp(rc.buf, "abcdefgh", 8) == 0);
	/* a close frame reads as EOF on the other side */
	rs.done = 0;
	rs.want = sizeof(rs.buf);
	ASSERT_EQ_INT(conn_shutw(cl), 0);
	loop_until(&rs.done);
	ASSERT(rs.eof);
	conn_free(cl);
	conn_free(sv);
}

/* smux: a stream opened on one side is accepted on the other. */
TEST(test_smux_pair)
{
	struct reader r;
	struct acc acc;
	struct smux *c, *s;
	struct conn *st;
	int sv[2];

	REQUIRE(pair(sv) == 0);
	memset(&acc, 0, sizeof(acc));
	REQUIRE((c = smux_new(conn_socket(&wk, sv[0]), 1, NULL, NULL,
	    NULL)) != NULL);
	REQUIRE((s = smux_new(conn_socket(&wk, sv[1]), 0, accept_cb, NULL,
	    &acc)) != NULL);
	REQUIRE((st = smux_open(c)) != NULL);
	ASSERT_EQ_INT(conn_put(st, "through smux", 12), 0);
	ASSERT_EQ_INT(conn_shutw(st), 0);
	loop_until((int *)&acc.st);
	REQUIRE(acc.st != NULL);
	memset(&r, 0, sizeof(r));
	r.want = sizeof(r.buf);
	conn_set_cb(acc.st, reader_cb, &r);
	conn_want(acc.st, CONN_READ);
	loop_until(&r.done);
	ASSERT_EQ_UINT(r.len, 12);
	ASSERT(memcmp(r.buf, "through smux", 12) == 0);
	ASSERT(r.eof);			/* FIN */
	ASSERT_EQ_UINT(smux_nstreams(s), 1);
	conn_free(acc.st);
	ASSERT_EQ_UINT(smux_nstreams(s), 0);
	conn_free(st);
	smux_free(c);
	smux_free(s);
}

/*
 * A stream as the test drives it (as smux.c's are): bytes for its
 * reader are fed in, what its writer sends is kept, sends wait while
 * "full" (the session's output), and a feed or the end of "full" is a
 * kick, which reaches only an owner that waits for it.
 */
struct pipe {
	struct cbuf	in;
	struct cbuf	out;
	int		full;
};

static ssize_t
pipe_recv(struct conn *c, void *p, size_t n)
{
	struct pipe *pp = c->layer;

	if (pp->in.len == 0) {
		errno = EAGAIN;
		return -1;
	}
	if (n > pp->in.len)
		n = pp->in.len;
	memcpy(p, pp->in.p + pp->in.off, n);
	cbuf_consume(&pp->in, n);
	return (ssize_t)n;
}

static ssize_t
pipe_send(struct conn *c, const void *p, size_t n)
{
	struct pipe *pp = c->layer;

	if (pp->full) {
		errno = EAGAIN;
		return -1;
	}
	if (cbuf_reserve(&pp->out, n, 4096, SIZE_MAX) != 0)
		return -1;
	memcpy(cbuf_tail(&pp->out), p, n);
	pp->out.len += n;
	return (ssize_t)n;
}

static int
pipe_shutw(struct conn *c)
{
	(void)c;
	return 0;
}

static void
pipe_update(struct conn *c)
{
	struct pipe *pp = c->layer;

	if ((c->want & CONN_READ) && pp->in.len > 0)
		conn_kick(c, CONN_READ);
	if ((c->want & CONN_WRITE) && !pp->full)
		conn_kick(c, CONN_WRITE);
}

static size_t
pipe_pending(const struct conn *c)
{
	const struct pipe *pp = c->layer;

	return pp->in.len;
}

static void
pipe_free(struct conn *c)
{
	struct pipe *pp = c->layer;

	cbuf_release(&pp->in);
	cbuf_release(&pp->out);
	free(pp);
}

static const struct conn_ops pipe_ops = {
	.name = "pipe",
	.recv = pipe_recv,
	.send = pipe_send,
	.shutw = pipe_shutw,
	.update = pipe_update,
	.pending = pipe_pending,
	.free = pipe_free,
};

static struct conn *
pipe_new(void)
{
	struct conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->layer = calloc(1, sizeof(struct pipe))) == NULL) {
		free(c);
		return NULL;
	}
	c->ops = &pipe_ops;
	c->wk = &wk;
	c->fd = -1;
	return c;
}

/* Up to n bytes (0: all) of what from sent become to's input. */
static size_t
pipe_move(struct conn *from, struct conn *to, size_t n)
{
	struct pipe *f = from->layer, *t = to->layer;

	if (n == 0 || n > f->out.len)
		n = f->out.len;
	if (n == 0)
		return 0;
	if (cbuf_reserve(&t->in, n, 4096, SIZE_MAX) != 0)
		return 0;
	memcpy(cbuf_tail(&t->in), f->out.p + f->out.off, n);
	t->in.len += n;
	cbuf_consume(&f->out, n);
	conn_kick(to, CONN_READ);
	return n;
}

/* What is ready now, without waiting. */
static void
spin(void)
{
	int i;

	for (i = 0; i < 20; i++)
		event_base_loop(wk.base, EVLOOP_NONBLOCK);
}

/* One read per wake-up, as a handshake's reader (handler/proxy.c). */
static void
once_cb(struct conn *c, int what, void *arg)
{
	struct reader *r = arg;
	ssize_t n;

	(void)what;
	if ((n = conn_recv(c, r->buf + r->len, sizeof(r->buf) - r->len)) > 0)
		r->len += (size_t)n;
	else if (n == 0 || errno != EAGAIN)
		r->done = 1;
}

/*
 * TLS over a stream, as gost's SOCKS5 TLS method runs on an mws
 * session: the server's reader waits only to read, the client's
 * Finished and request come together, and the TLS 1.3 server's
 * session tickets (written inside SSL_read) find the session's output
 * full.  The request must still reach the reader once the stream can
 * take them, without anything more from the client.
 */
/*
 * A TLS client over pipe *cp and a server over *sp whose reader r
 * waits only to read; msg queued by the client until its handshake is
 * done (it then goes with the Finished), the handshake run up to the
 * client's Finished, not moved yet.  0, or -1.
 */
static int
tls_pipes(struct conn **cp, struct conn **sp, struct conn **cl,
    struct conn **sv, struct reader *r, const char *msg)
{
	if (tls_init() != 0 || (*cp = pipe_new()) == NULL ||
	    (*sp = pipe_new()) == NULL ||
	    (*cl = tls_client_push(*cp, NULL)) == NULL ||
	    (*sv = tls_server_push(*sp)) == NULL)
		return -1;
	memset(r, 0, sizeof(*r));
	conn_set_cb(*sv, once_cb, r);
	conn_want(*sv, CONN_READ);
	if (conn_put(*cl, msg, strlen(msg)) != 0)
		return -1;
	conn_want(*cl, 0);
	spin();
	if (pipe_move(*cp, *sp, 0) <= 0)	/* ClientHello */
		return -1;
	spin();
	if (pipe_move(*sp, *cp, 0) <= 0)	/* the server's flight */
		return -1;
	spin();
	return 0;
}

TEST(test_tls_read_must_write)
{
	struct conn *cp, *sp, *cl, *sv;
	struct pipe *spp;
	struct reader r;

	REQUIRE(tls_pipes(&cp, &sp, &cl, &sv, &r, "request") == 0);
	spp = sp->layer;
	ASSERT_EQ_UINT(cl->wq.len, 0);
	spp->full = 1;
	ASSERT(pipe_move(cp, sp, 0) > 0);	/* Finished, request */
	spin();
	ASSERT_EQ_UINT(r.len, 0);		/* behind the tickets */
	/* the session's output drained (smux_unblock) */
	spp->full = 0;
	conn_kick(sp, CONN_WRITE);
	spin();
	ASSERT_EQ_UINT(r.len, 7);
	ASSERT(memcmp(r.buf, "request", 7) == 0);
	ASSERT(spp->out.len > 0);		/* the tickets */
	conn_free(cl);
	conn_free(sv);
}

/*
 * A record that comes in two parts, and between them a wake-up from
 * below that brings nothing (a kick left over): the layer counts the
 * part in OpenSSL's read-ahead as held and kicks its reader, whose
 * read finds no whole record.  The rest must still reach the reader,
 * and so must the next record.
 */
TEST(test_tls_held_then_more)
{
	struct conn *cp, *sp, *cl, *sv;
	struct pipe *cpp;
	struct reader r;

	REQUIRE(tls_pipes(&cp, &sp, &cl, &sv, &r, "first") == 0);
	cpp = cp->layer;
	ASSERT(pipe_move(cp, sp, 0) > 0);	/* Finished, "first" */
	spin();
	ASSERT_EQ_UINT(r.len, 5);
	ASSERT_EQ_INT(conn_send(cl, "second", 6), 6);
	REQUIRE(cpp->out.len > 5);
	ASSERT(pipe_move(cp, sp, cpp->out.len - 5) > 0);
	spin();
	ASSERT_EQ_UINT(r.len, 5);		/* not a whole record yet */
	conn_kick(sp, CONN_READ);
	spin();
	ASSERT_EQ_UINT(r.len, 5);
	ASSERT(pipe_move(cp, sp, 0) > 0);	/* its last 5 bytes */
	spin();
	ASSERT_EQ_UINT(r.len, 11);
	ASSERT_EQ_INT(conn_send(cl, "third", 5), 5);
	ASSERT(pipe_move(cp, sp, 0) > 0);
	spin();
	ASSERT_EQ_UINT(r.len, 16);
	ASSERT(memcmp(r.buf, "firstsecondthird", 16) == 0);
	conn_free(cl);
	conn_free(sv);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	wk.base = event_base_new();
	the_worker = &wk;
	RUN(test_readahead);
	RUN(test_put_queue);
	RUN(test_ws_pair);
	RUN(test_smux_pair);
	RUN(test_tls_read_must_write);
	RUN(test_tls_held_then_more);
	event_base_free(wk.base);
	return TEST_EXIT();
}
