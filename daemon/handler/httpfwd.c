/*
 * One exchange of a kept-alive HTTP proxy connection: the request head
 * has gone to the origin (with "Connection: close", so the origin's
 * close ends its part); here its body follows, counted, and the answer
 * comes back with a head rewritten for the client.  When the response
 * ends by its own framing (Content-Length, chunked up to the origin's
 * close, or no body) the client is handed back to the proxy for its
 * next request, whatever host that names; a response delimited only by
 * the close, or any doubt, closes the client too.  Bytes the client
 * sends ahead (its next request) wait here, bounded.  A response head
 * with ambiguous framing (http.c) is answered with 502; a chunked body
 * is followed chunk by chunk to its last chunk, so what an origin sends
 * past its end can never pass for the answer to the client's next
 * request, and a malformed one closes both sides.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cbuf.h"
#include "err.h"
#include "log.h"
#include "proto/proto.h"
#include "worker.h"
#include "core/conn.h"
#include "core/stats.h"
#include "core/relay.h"
#include "handler/handler.h"

#define HF_BUF		(64 * 1024)
#define HF_AHEAD_MAX	(HTTP_HEAD_MAX + 4096)	/* pipelined bytes kept */

enum { HF_HEAD, HF_BODY, HF_DONE };

struct httpfwd {
	struct worker	*wk;
	void		*px;
	struct conn	*c;		/* the client */
	struct conn	*u;		/* the origin */
	uint64_t	 body_left;	/* request body still to send */
	int		 head_req;
	int		 state;
	int		 framing;
	uint64_t	 resp_left;
	struct http_chunked chunk;	/* HTTP_BODY_CHUNKED: where it ends */
	int		 chunk_done;
	int		 answered;	/* bytes of an answer went out */
	int		 keep;
	int		 ueof;
	struct cbuf	 cin;		/* from the client */
	struct cbuf	 uin;		/* from the origin */
	struct cbuf	 toc;		/* to the client */
};

/* Frees the origin's connection, and the client's unless kept. */
static void
hf_free(struct httpfwd *h, int close_client)
{
	conn_free(h->u);
	if (close_client) {
		conn_free(h->c);
		worker_conn_closed(h->wk);
	}
	cbuf_release(&h->cin);
	cbuf_release(&h->uin);
	cbuf_release(&h->toc);
	free(h);
}

static void
hf_error(struct httpfwd *h, const char *why)
{
	static const char bad[] = "HTTP/1.1 502 Bad Gateway\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n";

	debug("http: %s", why);
	/*
	 * Nothing sent yet: 502.  Else the client's answer is cut short
	 * and it learns so from the close.  Either way the close lingers:
	 * the client may be sending its next request.
	 */
	if (!h->answered)
		linger_conn(h->wk, h->c, bad, sizeof(bad) - 1);
	else
		linger_conn(h->wk, h->c, NULL, 0);
	h->c = NULL;
	hf_free(h, 1);
}

/* The response head from the origin: rewritten into toc. */
static int
hf_head(struct httpfwd *h)
{
	struct http_request r;
	char *head;
	size_t hlen;
	int code, e;

	e = http_parse_response(h->uin.p + h->uin.off, h->uin.len, &r, &code);
	if (e == ERR_INCOMPLETE)
		return h->ueof ? -1 : 0;
	if (e != 0) {
		/* malformed, or framed two ways (smuggling): 502 */
		debug("http: bad response head from the origin");
		return -1;
	}
	if (code >= 100 && code < 200 && code != 101) {
		/* interim (100 Continue): as it came; the final one follows */
		cbuf_append(&h->toc, h->uin.p + h->uin.off, r.rawlen);
		cbuf_consume(&h->uin, r.rawlen);
		http_request_free(&r);
		return 1;
	}
	h->framing = http_body(&r, code, h->head_req, &h->resp_left);
	if (h->framing < 0) {
		/* http_parse_response refuses these already */
		http_request_free(&r);
		return -1;
	}
	h->keep = code != 101 && (h->framing == HTTP_BODY_NONE ||
	    h->framing == HTTP_BODY_LENGTH || h->framing == HTTP_BODY_CHUNKED);
	http_chunked_init(&h->chunk);
	head = http_rewrite_response(&r, h->keep, &hlen);
	cbuf_consume(&h->uin, r.rawlen);
	http_request_free(&r);
	if (head == NULL || cbuf_append(&h->toc, head, hlen) != 0) {
		free(head);
		return -1;
	}
	free(head);
	h->state = HF_BODY;
	return 1;
}

/* Move what can move; -1 on failure, 1 when the exchange is over. */
static int
hf_pump(struct httpfwd *h)
{
	size_t n;
	ssize_t k;
	size_t uheld;
	int r, cw = 0, uw = 0;

	for (;;) {
		uheld = h->uin.len;
		/* request body: client -> origin, exactly its length */
		if (h->body_left > 0 && h->cin.len > 0) {
			n = h->cin.len < h->body_left ? h->cin.len :
			    (size_t)h->body_left;
			k = conn_send(h->u, h->cin.p + h->cin.off, n);
			if (k > 0) {
				cbuf_consume(&h->cin, (size_t)k);
				h->body_left -= (uint64_t)k;
				h->wk->stats.bytes_in += (uint64_t)k;
				stconn_bytes(conn_stats(h->c), 0, (size_t)k);
			} else if (k == 0 || errno != EAGAIN)
				return -1;
		}
		if (h->state == HF_HEAD && h->uin.len > 0) {
			if ((r = hf_head(h)) < 0)
				return -1;
			if (r == 1)
				continue;
		}
		if (h->state == HF_BODY && h->uin.len > 0) {
			n = h->uin.len;
			if (h->framing == HTTP_BODY_LENGTH &&
			    n > h->resp_left)
				n = (size_t)h->resp_left;
			if (h->framing == HTTP_BODY_NONE)
				n = 0;
			if (cbuf_room(&h->toc) < n)
				n = cbuf_room(&h->toc);
			if (h->framing == HTTP_BODY_CHUNKED) {
				size_t used;

				r = http_chunked_scan(&h->chunk, h->uin.p +
				    h->uin.off, n, &used);
				if (r < 0) {
					debug("http: malformed chunked body "
					    "from the origin");
					return -1;
				}
				n = used;
				if (r == 1)
					h->chunk_done = 1;
			}
			cbuf_append(&h->toc, h->uin.p + h->uin.off, n);
			cbuf_consume(&h->uin, n);
			if (h->framing == HTTP_BODY_LENGTH)
				h->resp_left -= n;
			/* past the announced end: the origin's excess */
			if ((h->framing == HTTP_BODY_LENGTH &&
			    h->resp_left == 0) ||
			    h->framing == HTTP_BODY_NONE ||
			    (h->framing == HTTP_BODY_CHUNKED && h->chunk_done))
				cbuf_consume(&h->uin, h->uin.len);
		}
		n = h->toc.len;
		if (conn_send_buf(h->c, &h->toc) != 0)
			return -1;
		/* the counters report plain HTTP as they do any relay */
		h->wk->stats.bytes_out += n - h->toc.len;
		stconn_bytes(conn_stats(h->c), 1, n - h->toc.len);
		if (h->toc.len < n)
			h->answered = 1;
		/*
		 * The client took it all but the origin's bytes did not fit:
		 * again, as no event would come for what is already here.
		 */
		if (h->toc.len == 0 && h->state == HF_BODY &&
		    h->uin.len > 0 && h->uin.len < uheld)
			continue;
		break;
	}
	if (h->state == HF_BODY && h->toc.len == 0 && h->body_left == 0 &&
	    ((h->framing == HTTP_BODY_LENGTH && h->resp_left == 0) ||
	    (h->framing == HTTP_BODY_CHUNKED && h->chunk_done) ||
	    h->framing == HTTP_BODY_NONE || h->ueof))
		h->state = HF_DONE;
	if (h->state == HF_DONE)
		return 1;
	/*
	 * Level-triggered: ask only for what can be used now.  The
	 * client's answer is written before more is read from the origin;
	 * the request body waits for the origin to take it.
	 */
	if (h->toc.len > 0)
		cw |= CONN_WRITE;
	else if (!h->ueof && cbuf_room(&h->uin) > 0)
		uw |= CONN_READ;
	if (h->body_left > 0 && h->cin.len > 0)
		uw |= CONN_WRITE;
	/* client bytes: the body, then a bounded look-ahead */
	if (h->cin.len < (h->body_left > 0 ? HF_BUF / 2 : HF_AHEAD_MAX))
		cw |= CONN_READ;
	conn_want(h->c, cw);
	conn_want(h->u, uw);
	return 0;
}

static void
hf_finish(struct httpfwd *h)
{
	void *px = h->px;
	struct conn *c = h->c;
	struct cbuf rest = h->cin;
	int keep = h->keep && h->framing != HTTP_BODY_CLOSE &&
	    !(h->framing == HTTP_BODY_LENGTH && h->resp_left > 0) &&
	    !(h->framing == HTTP_BODY_CHUNKED && !h->chunk_done);

	memset(&h->cin, 0, sizeof(h->cin));
	if (keep) {
		/* the proxy's pconn takes the connection and its count */
		conn_set_cb(c, NULL, NULL);
		conn_want(c, 0);
		h->c = NULL;
	}
	hf_free(h, !keep);
	if (keep) {
		debug("http: exchange done; the connection stays");
		proxy_http_next(px, c, rest.p + rest.off, rest.len);
	}
	cbuf_release(&rest);
}

static void
hf_run(struct httpfwd *h)
{
	int r = hf_pump(h);

	if (r < 0)
		hf_error(h, "exchange failed");
	else if (r == 1)
		hf_finish(h);
}

static void
hf_client_cb(struct conn *c, int what, void *arg)
{
	struct httpfwd *h = arg;
	size_t room;
	ssize_t n;

	if ((what & CONN_READ) && (room = cbuf_room(&h->cin)) > 0) {
		n = conn_recv(c, cbuf_tail(&h->cin), room);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			hf_free(h, 1);	/* the client left */
			return;
		}
		if (n > 0)
			h->cin.len += (size_t)n;
	}
	hf_run(h);
}

static void
hf_origin_cb(struct conn *c, int what, void *arg)
{
	struct httpfwd *h = arg;
	size_t room;
	ssize_t n;

	if ((what & CONN_READ) && !h->ueof &&
	    (room = cbuf_room(&h->uin)) > 0) {
		n = conn_recv(c, cbuf_tail(&h->uin), room);
		if (n == 0)
			h->ueof = 1;
		else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			hf_error(h, strerror(errno));
			return;
		} else if (n > 0)
			h->uin.len += (size_t)n;
	}
	if (h->ueof && h->state == HF_HEAD && h->uin.len == 0) {
		hf_error(h, "the origin closed before answering");
		return;
	}
	hf_run(h);
}

/*
 * Takes both connections (and the client's count): pending, what the
 * client sent past its request head, is read again first.
 */
void
httpfwd_start(struct worker *wk, void *px, struct conn *client,
    struct conn *upstream, const unsigned char *pending, size_t npending,
    uint64_t bodylen, int head_request)
{
	struct httpfwd *h;

	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    cbuf_alloc(&h->cin, HF_BUF) != 0 ||
	    cbuf_alloc(&h->uin, HF_BUF) != 0 ||
	    cbuf_alloc(&h->toc, HF_BUF + HTTP_HEAD_MAX) != 0 ||
	    conn_unread(client, pending, npending) != 0) {
		if (h != NULL) {
			cbuf_release(&h->cin);
			cbuf_release(&h->uin);
			cbuf_release(&h->toc);
			free(h);
		}
		conn_free(client);
		conn_free(upstream);
		worker_conn_closed(wk);
		return;
	}
	h->wk = wk;
	h->px = px;
	h->c = client;
	h->u = upstream;
	h->body_left = bodylen;
	h->head_req = head_request;
	conn_set_cb(client, hf_client_cb, h);
	conn_set_cb(upstream, hf_origin_cb, h);
	hf_run(h);
}
