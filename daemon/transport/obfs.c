/*
 * gost's obfuscating transports, ohttp and otls, as codecs (core/codec.h)
 * for the codec layer: the client's first write carries the fake
 * handshake and the first bytes, the server's first write answers it,
 * and after that the bytes go raw (ohttp) or in TLS-looking records
 * (otls).  The wire work is in proto/obfs.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cbuf.h"
#include "err.h"
#include "log.h"
#include "proto/obfs.h"
#include "core/codec.h"
#include "transport/transport.h"

struct obfs {
	struct codec		 c;		/* first: see core/codec.h */
	int			 server;
	int			 shook;		/* handshake read */
	int			 sent;		/* first write made */
	char			 host[OBFS_HOST_MAX + 1];
	struct otls_hello	 hello;		/* otls server: what to echo */
	struct otls_reader	 rd;
	unsigned char		 reply[OHTTP_RESPONSE_MAX]; /* ohttp server */
	size_t			 replylen;
};

static void
obfs_free(struct codec *c)
{
	free(c);
}

/* ohttp */

static int
ohttp_decode(struct codec *cc, struct cbuf *in, struct cbuf *out)
{
	struct obfs *o = (struct obfs *)cc;
	struct ohttp_request rq;
	size_t hl, n;
	int e, status;

	if (!o->shook) {
		if (o->server) {
			if ((e = ohttp_server_request(in->p + in->off, in->len,
			    &rq)) == ERR_INCOMPLETE)
				return 0;
			if (e != 0)
				return e;
			hl = rq.head_len;
			if (!ohttp_server_accepts(&rq)) {
				/* gost's answer to anything else */
				(void)ohttp_server_refusal(time(NULL), o->reply,
				    sizeof(o->reply), &o->replylen);
				return ERR_FORMAT;
			}
			if ((e = ohttp_server_response(rq.key, time(NULL),
			    o->reply, sizeof(o->reply), &o->replylen)) != 0)
				return e;
		} else {
			if ((e = ohttp_client_response(in->p + in->off,
			    in->len, &hl, &status)) == ERR_INCOMPLETE)
				return 0;
			if (e != 0)
				return e;
		}
		cbuf_consume(in, hl);
		o->shook = 1;
	}
	n = in->len < cbuf_room(out) ? in->len : cbuf_room(out);
	memcpy(cbuf_tail(out), in->p + in->off, n);
	out->len += n;
	cbuf_consume(in, n);
	return 0;
}

static int
ohttp_encode(struct codec *cc, struct cbuf *in, struct cbuf *out)
{
	struct obfs *o = (struct obfs *)cc;
	size_t room = cbuf_room(out), n, olen;
	int e;

	if (!o->sent && !o->server) {
		/* the request head goes out with the first bytes */
		if (room <= OHTTP_REQUEST_HEAD_MAX)
			return 0;
		n = in->len < room - OHTTP_REQUEST_HEAD_MAX ? in->len :
		    room - OHTTP_REQUEST_HEAD_MAX;
		if ((e = ohttp_client_request(o->host, in->p + in->off, n,
		    cbuf_tail(out), room, &olen)) != 0)
			return e;
		out->len += olen;
		cbuf_consume(in, n);
		o->sent = 1;
		return 0;
	}
	if (!o->sent && o->replylen > 0) {
		/* the 101 is held for the server's first write */
		if (room < o->replylen)
			return 0;
		memcpy(cbuf_tail(out), o->reply, o->replylen);
		out->len += o->replylen;
		room -= o->replylen;
		o->replylen = 0;
	}
	o->sent = 1;
	n = in->len < room ? in->len : room;
	memcpy(cbuf_tail(out), in->p + in->off, n);
	out->len += n;
	cbuf_consume(in, n);
	return 0;
}

/*
 * A server that read a request without a payload answers at once;
 * one that refused sends gost's 503 before it closes.
 */
static int
ohttp_reply(struct codec *cc, struct cbuf *out)
{
	struct obfs *o = (struct obfs *)cc;

	if (!o->server || o->replylen == 0 || o->sent)
		return 0;
	if (cbuf_room(out) < o->replylen)
		return 0;
	memcpy(cbuf_tail(out), o->reply, o->replylen);
	out->len += o->replylen;
	o->replylen = 0;
	o->sent = 1;
	return 0;
}

static const struct codec_ops ohttp_ops = {
	.name = "ohttp",
	.decode = ohttp_decode,
	.encode = ohttp_encode,
	.reply = ohttp_reply,
	.free = obfs_free,
};

/* otls */

static int
otls_decode(struct codec *cc, struct cbuf *in, struct cbuf *out)
{
	struct obfs *o = (struct obfs *)cc;
	size_t used, olen;
	int e;

	if (!o->shook && o->server) {
		if ((e = otls_parse_hello(in->p + in->off, in->len,
		    &o->hello)) == ERR_INCOMPLETE)
			return 0;
		if (e != 0)
			return e;
		/* the first payload rides in the session ticket */
		if (o->hello.ticket_len > cbuf_room(out))
			return 0;	/* the layer decodes into a bigger one */
		memcpy(cbuf_tail(out), in->p + in->off + o->hello.ticket_off,
		    o->hello.ticket_len);
		out->len += o->hello.ticket_len;
		cbuf_consume(in, o->hello.hello_len);
		o->shook = 1;
	}
	if ((e = otls_read(&o->rd, in->p + in->off, in->len, &used,
	    cbuf_tail(out), cbuf_room(out), &olen)) != 0)
		return e;
	cbuf_consume(in, used);
	out->len += olen;
	return 0;
}

static int
otls_encode(struct codec *cc, struct cbuf *in, struct cbuf *out)
{
	struct obfs *o = (struct obfs *)cc;
	size_t room = cbuf_room(out), n, used, olen;
	int e;

	if (!o->sent && !o->server) {
		n = in->len < OTLS_FIRST_MAX ? in->len : OTLS_FIRST_MAX;
		if ((e = otls_client_hello(o->host, time(NULL),
		    in->p + in->off, n, cbuf_tail(out), room, &olen)) != 0)
			return e == ERR_NO_SPACE ? 0 : e;
		out->len += olen;
		cbuf_consume(in, n);
		o->sent = 1;
		return 0;
	}
	if (!o->sent) {
		if ((e = otls_server_flight(&o->hello, time(NULL),
		    in->p + in->off, in->len, &used, cbuf_tail(out), room,
		    &olen)) != 0)
			return e == ERR_NO_SPACE ? 0 : e;
		out->len += olen;
		cbuf_consume(in, used);
		o->sent = 1;
		room = cbuf_room(out);
	}
	if (in->len == 0)
		return 0;
	if ((e = otls_frame(in->p + in->off, in->len, &used, cbuf_tail(out),
	    room, &olen)) != 0)
		return e;
	out->len += olen;
	cbuf_consume(in, used);
	return 0;
}

static int
otls_eof(struct codec *cc)
{
	struct obfs *o = (struct obfs *)cc;

	return otls_read_eof(&o->rd, 0);
}

static const struct codec_ops otls_ops = {
	.name = "otls",
	.decode = otls_decode,
	.encode = otls_encode,
	.eof = otls_eof,
	.free = obfs_free,
};

static struct codec *
obfs_new(const struct codec_ops *ops, int server, const char *host)
{
	struct obfs *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->c.ops = ops;
	o->server = server;
	snprintf(o->host, sizeof(o->host), "%s", host != NULL &&
	    *host != '\0' ? host : "localhost");
	otls_reader_init(&o->rd, server);
	return &o->c;
}

struct codec *
ohttp_codec(int server, const char *host)
{
	return obfs_new(&ohttp_ops, server, host);
}

struct codec *
otls_codec(int server, const char *host)
{
	return obfs_new(&otls_ops, server, host);
}
