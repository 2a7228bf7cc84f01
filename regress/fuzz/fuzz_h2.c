/*
 * libFuzzer harness for the HTTP/2 server glue (daemon/mux/h2.c): the
 * input is what a peer sends to an h2c listener, read from an
 * in-memory connection in small pieces; accepted tunnels echo what
 * they read and end when the peer does.  The first byte chooses the
 * variant: bit 0 puts the client preface first (so the fuzzer works on
 * frames), bit 1 makes it a path= listener, bit 2 frees every tunnel
 * at once (RST_STREAM), bit 3 hands the requests over unanswered (the
 * http2 proxy's request callback): CONNECT gets a tunnel that echoes,
 * any other request a final answer with a body.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/conn.h"
#include "mux/h2.h"
#include "worker.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int tls_alpn_is(const struct conn *, const char *);

#define MAXST	64

static const unsigned char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static struct worker wk;
static const unsigned char *in;
static size_t inlen, inoff;
static struct conn *streams[MAXST];
static int nstreams, freenow, closed;

/* h2.c asks only for h2 over TLS; the harness is h2c */
int
tls_alpn_is(const struct conn *c, const char *p)
{
	(void)c;
	(void)p;
	return 1;
}

static ssize_t
mem_recv(struct conn *c, void *p, size_t n)
{
	size_t k = inlen - inoff;

	(void)c;
	if (k == 0) {
		errno = EAGAIN;
		return -1;
	}
	/* small pieces: frames cut anywhere */
	if (k > 777)
		k = 777;
	if (k > n)
		k = n;
	memcpy(p, in + inoff, k);
	inoff += k;
	return (ssize_t)k;
}

static ssize_t
mem_send(struct conn *c, const void *p, size_t n)
{
	(void)c;
	(void)p;
	return (ssize_t)n;
}

static int
mem_shutw(struct conn *c)
{
	(void)c;
	return 0;
}

static void
mem_update(struct conn *c)
{
	if ((c->want & CONN_READ) && inoff < inlen)
		conn_kick(c, CONN_READ);
	if (c->want & CONN_WRITE)
		conn_kick(c, CONN_WRITE);
}

static const struct conn_ops mem_ops = {
	.name = "mem",
	.recv = mem_recv,
	.send = mem_send,
	.shutw = mem_shutw,
	.update = mem_update,
};

static void
stream_drop(struct conn *c)
{
	int i;

	for (i = 0; i < nstreams; i++)
		if (streams[i] == c) {
			streams[i] = streams[--nstreams];
			break;
		}
	conn_free(c);
}

static void
stream_cb(struct conn *c, int what, void *arg)
{
	unsigned char buf[4096];
	ssize_t n;

	(void)what;
	(void)arg;
	for (;;) {
		if ((n = conn_recv(c, buf, sizeof(buf))) > 0) {
			if (conn_put(c, buf, (size_t)n) != 0) {
				stream_drop(c);
				return;
			}
			continue;
		}
		if (n == 0) {
			conn_shutw(c);
			conn_want(c, 0);
			return;
		}
		if (errno != EAGAIN) {
			stream_drop(c);
			return;
		}
		return;
	}
}

static void
accept_cb(void *arg, struct conn *c)
{
	(void)arg;
	if (freenow || nstreams == MAXST) {
		conn_free(c);
		return;
	}
	streams[nstreams++] = c;
	conn_set_cb(c, stream_cb, NULL);
	conn_want(c, CONN_READ);
}

/* The http2 handler's way: look at every field, then answer. */
static void
request_cb(void *arg, struct conn *c, const struct h2_req *r)
{
	static const struct h2_hdr h[] = { { "server", "fuzz" } };
	size_t i, n = 0;

	(void)arg;
	n += r->method != NULL ? strlen(r->method) : 0;
	n += r->scheme != NULL ? strlen(r->scheme) : 0;
	n += r->authority != NULL ? strlen(r->authority) : 0;
	n += r->path != NULL ? strlen(r->path) : 0;
	for (i = 0; i < r->nhdr; i++)
		n += strlen(r->hdr[i].name) + strlen(r->hdr[i].value);
	if (h2_req_header(r, "gost-target") != NULL)
		n++;
	if (r->method != NULL && strcmp(r->method, "CONNECT") == 0 &&
	    !r->toolarge) {
		if (h2_respond(c, 200, h, 1, NULL, 0) != 0) {
			conn_free(c);
			return;
		}
		accept_cb(NULL, c);
		return;
	}
	(void)h2_respond(c, r->toolarge ? 431 : 404, h, 1, "not here",
	    n % 9);
	conn_free(c);
}

static void
closed_cb(void *arg)
{
	(void)arg;
	closed = 1;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	unsigned char *buf;
	struct conn *c;
	struct h2 *s;
	int i;

	if (size < 1)
		return 0;
	if (wk.base == NULL && (wk.base = event_base_new()) == NULL)
		abort();
	if ((buf = malloc(sizeof(preface) + size)) == NULL)
		return 0;
	inlen = 0;
	if (data[0] & 1) {
		memcpy(buf, preface, sizeof(preface) - 1);
		inlen = sizeof(preface) - 1;
	}
	memcpy(buf + inlen, data + 1, size - 1);
	inlen += size - 1;
	in = buf;
	inoff = 0;
	freenow = (data[0] & 4) != 0;
	closed = 0;
	nstreams = 0;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		abort();
	c->ops = &mem_ops;
	c->wk = &wk;
	c->fd = -1;
	s = h2_new(c, 0, (data[0] & 2) ? "/t" : NULL, 0, 0, accept_cb,
	    closed_cb, NULL);
	if (s == NULL)
		abort();
	if (data[0] & 8)
		h2_set_request_cb(s, request_cb);
	for (i = 0; i < 200 && event_base_loop(wk.base,
	    EVLOOP_NONBLOCK) == 0; i++)
		;
	while (nstreams > 0)
		conn_free(streams[--nstreams]);
	if (!closed)
		h2_free(s);
	/* what the frees woke */
	event_base_loop(wk.base, EVLOOP_NONBLOCK);
	free(buf);
	return 0;
}
