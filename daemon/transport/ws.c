/*
 * WebSocket (RFC 6455) as a connection layer, as gost's ws and wss
 * transports use it: a client's GET upgrade with gost's User-Agent,
 * the server's exact path, and then every write one binary message;
 * reads flatten message boundaries.  Pings are answered, pongs ignored.
 *
 * WebSocket has no half-close.  Sending a close frame is how our side
 * says its writing has ended, and a close frame from the peer reads as
 * EOF; our answering close waits until our own writing ends, which RFC
 * 6455 allows (5.5.1: the current message first), so a relay's
 * half-close crosses the transport intact.
 *
 * Data is unmasked straight into the reader's buffer, and read from
 * below into it when nothing is buffered: the payload is copied once.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbuf.h"
#include "conf.h"
#include "core/conn.h"
#include "err.h"
#include "log.h"
#include "proto/ws.h"
#include "transport/transport.h"

#define WS_IN_BUF	(64 * 1024 + WS_HDR_MAX)
#define WS_SEND_MAX	(64 * 1024)	/* payload per message we send */
#define WS_OUT_BUF	(WS_SEND_MAX + WS_HDR_MAX + 2 * (WS_HDR_MAX + \
			    WS_CONTROL_MAX))

enum ws_state {
	WSS_HANDSHAKE,
	WSS_OPEN,
};

struct wsl {
	int		 server;
	enum ws_state	 state;
	char		 path[WS_PATH_MAX + 1];
	char		 host[WS_HOST_MAX + 1];	/* client: Host */
	unsigned char	 key[WS_KEY_LEN];	/* client: its key */
	struct ws_rx	 rx;
	struct ws_frame	 f;			/* the frame being read */
	int		 infr;
	size_t		 left;			/* of its payload */
	size_t		 off;			/* in its payload */
	unsigned char	 ctl[WS_CONTROL_MAX];	/* a control payload */
	size_t		 ctllen;
	struct cbuf	 in;
	struct cbuf	 out;
	int		 eof;			/* peer's close, or below */
	int		 close_sent;
	int		 err;			/* sticky errno */
};

static int
wsl_flush(struct conn *c)
{
	struct wsl *l = c->layer;

	if (conn_send_buf(c->lower, &l->out) != 0) {
		l->err = errno;
		return -1;
	}
	return 0;
}

/* A control frame (close, pong) into the output: there is always room. */
static void
wsl_control(struct wsl *l, int op, const unsigned char *p, size_t n)
{
	unsigned char hdr[WS_HDR_MAX], mask[4];
	size_t hl;

	if (cbuf_alloc(&l->out, WS_OUT_BUF) != 0 ||
	    cbuf_room(&l->out) < WS_HDR_MAX + n)
		return;
	if (!l->server)
		arc4random_buf(mask, sizeof(mask));
	if (ws_frame_header(hdr, &hl, 1, op, n, l->server ? NULL : mask) != 0)
		return;
	cbuf_append(&l->out, hdr, hl);
	if (n > 0) {
		memcpy(cbuf_tail(&l->out), p, n);
		if (!l->server)
			ws_mask(cbuf_tail(&l->out), n, mask, 0);
		l->out.len += n;
	}
}

/* A protocol error: close with code, best effort, and fail. */
static void
wsl_error(struct conn *c, int code, const char *why)
{
	struct wsl *l = c->layer;
	unsigned char p[WS_CONTROL_MAX];
	size_t n;

	debug("ws: %s", why);
	if (!l->close_sent && l->state == WSS_OPEN &&
	    ws_close_build(p, &n, code, NULL) == 0) {
		wsl_control(l, WS_OP_CLOSE, p, n);
		l->close_sent = 1;
		(void)wsl_flush(c);
	}
	l->err = EPROTO;
}

/* Read what is there from below into in; 0, or -1 (EOF: l->eof). */
static int
wsl_fill(struct conn *c)
{
	struct wsl *l = c->layer;
	size_t room;
	ssize_t n;

	if (cbuf_alloc(&l->in, WS_IN_BUF) != 0)
		return -1;
	if ((room = cbuf_room(&l->in)) == 0)
		return 0;
	n = conn_recv(c->lower, cbuf_tail(&l->in), room);
	if (n > 0) {
		l->in.len += (size_t)n;
		return 0;
	}
	if (n == 0) {
		/* the transport ended without a close frame: an end too */
		l->eof = 1;
		return 0;
	}
	if (errno != EAGAIN)
		l->err = errno;
	return -1;
}

/* The handshake, from what arrived; 1 when it is done. */
static int
wsl_handshake(struct conn *c)
{
	struct wsl *l = c->layer;
	struct ws_request rq;
	char out[WS_HEAD_MAX];
	size_t hl, olen;
	int e, status;

	if (l->server) {
		e = ws_parse_request(l->in.p + l->in.off, l->in.len, &rq);
		if (e == ERR_INCOMPLETE)
			return 0;
		if (e == 0 && strcmp(rq.path, l->path) != 0) {
			debug("ws: path %s is not %s", rq.path, l->path);
			rq.status = 404;
			e = ERR_FORMAT;
		}
		if (e != 0) {
			if (ws_build_refusal(out, sizeof(out), &olen,
			    rq.status) == 0 && cbuf_alloc(&l->out,
			    WS_OUT_BUF) == 0 && cbuf_append(&l->out, out,
			    olen) == 0)
				(void)wsl_flush(c);
			debug("ws: refused an upgrade: %s", ostp_err(e));
			l->err = EPROTO;
			return 0;
		}
		if (ws_build_response(out, sizeof(out), &olen, rq.key) != 0 ||
		    cbuf_alloc(&l->out, WS_OUT_BUF) != 0 ||
		    cbuf_append(&l->out, out, olen) != 0) {
			l->err = ENOMEM;
			return 0;
		}
		hl = rq.headlen;
		if (wsl_flush(c) != 0)
			return 0;
	} else {
		e = ws_parse_response(l->in.p + l->in.off, l->in.len, l->key,
		    &hl, &status);
		if (e == ERR_INCOMPLETE)
			return 0;
		if (e != 0) {
			debug("ws: the server refused the upgrade (%d): %s",
			    status, ostp_err(e));
			l->err = ECONNREFUSED;
			return 0;
		}
	}
	cbuf_consume(&l->in, hl);
	l->state = WSS_OPEN;
	return 1;
}

/*
 * Take frame headers and control frames from in until a data frame's
 * payload is next (or more bytes are needed): then what recv returns
 * without waiting is exactly what pending() says.
 */
static void
wsl_advance(struct conn *c)
{
	struct wsl *l = c->layer;
	size_t k;
	int e, code;
	const unsigned char *reason;
	size_t rlen;

	while (l->err == 0 && l->state == WSS_OPEN && !l->eof) {
		if (!l->infr) {
			e = ws_frame_parse(&l->rx, l->in.p + l->in.off,
			    l->in.len, &l->f);
			if (e == ERR_INCOMPLETE)
				return;
			if (e != 0) {
				wsl_error(c, e == ERR_TOO_LONG ?
				    WS_CLOSE_TOO_BIG : WS_CLOSE_PROTOCOL,
				    ostp_err(e));
				return;
			}
			cbuf_consume(&l->in, l->f.hdrlen);
			l->infr = 1;
			l->left = l->f.len;
			l->off = 0;
			l->ctllen = 0;
			if (!WS_OP_IS_CONTROL(l->f.opcode)) {
				if (l->left > 0)
					return;
				l->infr = 0;	/* an empty data frame */
				continue;
			}
		}
		if (!WS_OP_IS_CONTROL(l->f.opcode))
			return;
		/* a control frame: its payload whole, then its meaning */
		k = l->left < l->in.len ? l->left : l->in.len;
		memcpy(l->ctl + l->ctllen, l->in.p + l->in.off, k);
		if (l->f.masked)
			ws_mask(l->ctl + l->ctllen, k, l->f.mask, l->ctllen);
		l->ctllen += k;
		l->left -= k;
		cbuf_consume(&l->in, k);
		if (l->left > 0)
			return;
		l->infr = 0;
		switch (l->f.opcode) {
		case WS_OP_PING:
			wsl_control(l, WS_OP_PONG, l->ctl, l->ctllen);
			(void)wsl_flush(c);
			break;
		case WS_OP_CLOSE:
			if (ws_close_parse(l->ctl, l->ctllen, &code, &reason,
			    &rlen) != 0) {
				wsl_error(c, WS_CLOSE_PROTOCOL, "bad close");
				return;
			}
			l->eof = 1;	/* our close follows our writing's end */
			return;
		default:
			break;		/* a pong */
		}
	}
}

static ssize_t
wsl_recv(struct conn *c, void *p, size_t n)
{
	struct wsl *l = c->layer;
	ssize_t r;
	size_t k;

	for (;;) {
		if (l->err != 0) {
			errno = l->err;
			return -1;
		}
		if (l->state == WSS_HANDSHAKE) {
			if (l->in.len > 0 && wsl_handshake(c))
				continue;
		} else {
			wsl_advance(c);
			if (l->err != 0)
				continue;
			if (l->infr && l->in.len > 0) {
				k = l->left < l->in.len ? l->left : l->in.len;
				if (k > n)
					k = n;
				memcpy(p, l->in.p + l->in.off, k);
				cbuf_consume(&l->in, k);
				goto got;
			}
			if (l->eof)
				return 0;
			if (l->infr) {
				/* straight from below into the reader's buffer */
				k = l->left < n ? l->left : n;
				if ((r = conn_recv(c->lower, p, k)) > 0) {
					k = (size_t)r;
					goto got;
				}
				if (r == 0) {
					l->eof = 1;
					return 0;
				}
				if (errno != EAGAIN)
					l->err = errno;
				return -1;
			}
		}
		if (l->eof)
			return l->state == WSS_OPEN ? 0 : (errno = ECONNRESET, -1);
		if (wsl_fill(c) != 0)
			return -1;
		if (!l->eof && cbuf_room(&l->in) > 0 && l->in.len == 0) {
			errno = EAGAIN;
			return -1;
		}
	}
 got:
	if (l->f.masked)
		ws_mask(p, k, l->f.mask, l->off);
	l->off += k;
	l->left -= k;
	if (l->left == 0) {
		l->infr = 0;
		/* the next frame's header now: pending() must see its data */
		wsl_advance(c);
	}
	return (ssize_t)k;
}

static ssize_t
wsl_send(struct conn *c, const void *p, size_t n)
{
	struct wsl *l = c->layer;
	unsigned char hdr[WS_HDR_MAX], mask[4];
	size_t hl;

	if (l->err != 0) {
		errno = l->err;
		return -1;
	}
	if (l->close_sent) {
		errno = EPIPE;
		return -1;
	}
	if (l->state != WSS_OPEN || wsl_flush(c) != 0 || l->out.len > 0) {
		if (l->err != 0)
			errno = l->err;
		else {
			c->ops->update(c);
			errno = EAGAIN;
		}
		return -1;
	}
	if (cbuf_alloc(&l->out, WS_OUT_BUF) != 0)
		return -1;
	if (n > WS_SEND_MAX)
		n = WS_SEND_MAX;
	if (!l->server)
		arc4random_buf(mask, sizeof(mask));
	(void)ws_frame_header(hdr, &hl, 1, WS_OP_BINARY, n,
	    l->server ? NULL : mask);
	cbuf_append(&l->out, hdr, hl);
	memcpy(cbuf_tail(&l->out), p, n);
	if (!l->server)
		ws_mask(cbuf_tail(&l->out), n, mask, 0);
	l->out.len += n;
	if (wsl_flush(c) != 0)
		return -1;
	if (l->out.len > 0)
		c->ops->update(c);
	return (ssize_t)n;
}

/* A close frame says our writing ended; done once it is out. */
static int
wsl_shutw(struct conn *c)
{
	struct wsl *l = c->layer;
	unsigned char p[WS_CONTROL_MAX];
	size_t n;

	if (l->err != 0) {
		errno = l->err;
		return -1;
	}
	if (l->state != WSS_OPEN) {
		errno = EAGAIN;
		return -1;
	}
	if (wsl_flush(c) != 0)
		return -1;
	if (!l->close_sent && l->out.len == 0 &&
	    ws_close_build(p, &n, WS_CLOSE_NORMAL, NULL) == 0) {
		wsl_control(l, WS_OP_CLOSE, p, n);
		l->close_sent = 1;
		if (wsl_flush(c) != 0)
			return -1;
	}
	if (!l->close_sent || l->out.len > 0) {
		c->ops->update(c);
		errno = EAGAIN;
		return -1;
	}
	return 0;
}

static size_t
wsl_pending(const struct conn *c)
{
	const struct wsl *l = c->layer;

	if (l->state != WSS_OPEN || !l->infr ||
	    WS_OP_IS_CONTROL(l->f.opcode))
		return 0;
	return l->left < l->in.len ? l->left : l->in.len;
}

static void
wsl_update(struct conn *c)
{
	struct wsl *l = c->layer;
	int lw = 0;

	if (l->err != 0) {
		conn_kick(c, c->want);
		conn_want(c->lower, 0);
		return;
	}
	/*
	 * Bytes held are read at once (kick), and the layer below stays
	 * armed all the same, as the TLS layer's: the read that takes the
	 * last of them finds nothing more and returns without arming, and
	 * an owner that does not ask again would wait for nothing.
	 */
	if (l->state == WSS_HANDSHAKE)
		lw |= CONN_READ;	/* the other side's head */
	else if (c->want & CONN_READ) {
		if (wsl_pending(c) > 0 || l->eof)
			conn_kick(c, CONN_READ);
		if (!l->eof)
			lw |= CONN_READ;
	}
	if (l->out.len > 0)
		lw |= CONN_WRITE;
	else if ((c->want & CONN_WRITE) && l->state == WSS_OPEN)
		conn_kick(c, CONN_WRITE);
	conn_want(c->lower, lw);
}

static void
wsl_lower_cb(struct conn *lower, int what, void *arg)
{
	struct conn *c = arg;
	struct wsl *l = c->layer;
	int w = 0;

	(void)lower;
	if ((what & CONN_WRITE) && wsl_flush(c) != 0)
		w = CONN_READ | CONN_WRITE;
	if ((what & CONN_READ) && l->state == WSS_HANDSHAKE) {
		/* the handshake goes on whoever waits above */
		while (l->err == 0 && !l->eof && l->state == WSS_HANDSHAKE &&
		    wsl_fill(c) == 0 && !wsl_handshake(c) &&
		    cbuf_room(&l->in) > 0)
			;
		if (l->state == WSS_OPEN)
			w |= CONN_READ | CONN_WRITE;
		if (l->err != 0 || l->eof)
			w |= CONN_READ | CONN_WRITE;
	} else if (what & CONN_READ)
		w |= CONN_READ;
	if (l->out.len == 0 && l->state == WSS_OPEN)
		w |= CONN_WRITE;
	wsl_update(c);
	conn_notify(c, w);
}

static void
wsl_free(struct conn *c)
{
	struct wsl *l = c->layer;

	cbuf_release(&l->in);
	cbuf_release(&l->out);
	free(l);
}

static const struct conn_ops ws_ops = {
	.name = "ws",
	.recv = wsl_recv,
	.send = wsl_send,
	.shutw = wsl_shutw,
	.update = wsl_update,
	.pending = wsl_pending,
	.free = wsl_free,
};

static struct conn *
ws_push(struct conn *lower, int server, const char *path, const char *host,
    const char *agent)
{
	char req[WS_HEAD_MAX];
	struct wsl *l;
	struct conn *c;
	size_t n;

	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (c = conn_layer_new(lower, &ws_ops, l)) == NULL) {
		free(l);
		conn_free(lower);
		return NULL;
	}
	l->server = server;
	snprintf(l->path, sizeof(l->path), "%s", path != NULL && *path != '\0' ?
	    path : "/ws");
	snprintf(l->host, sizeof(l->host), "%s", host != NULL ? host : "");
	ws_rx_init(&l->rx, server, SIZE_MAX);
	conn_set_cb(lower, wsl_lower_cb, c);
	if (!server) {
		arc4random_buf(l->key, sizeof(l->key));
		if (ws_build_request(req, sizeof(req), &n, l->path, l->host,
		    agent, l->key) != 0 || cbuf_alloc(&l->out,
		    WS_OUT_BUF) != 0 || cbuf_append(&l->out, req, n) != 0 ||
		    wsl_flush(c) != 0) {
			conn_free(c);
			return NULL;
		}
	}
	wsl_update(c);
	return c;
}

/* The client side of a ws transport over lower (taken); NULL: freed. */
struct conn *
ws_client_push(struct conn *lower, const char *path, const char *host,
    const char *agent)
{
	return ws_push(lower, 0, path, host, agent);
}

/* The server side: the upgrade on path, then frames. */
struct conn *
ws_server_push(struct conn *lower, const char *path)
{
	return ws_push(lower, 1, path, NULL, NULL);
}
