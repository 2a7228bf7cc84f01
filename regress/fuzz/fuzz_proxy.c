/*
 * libFuzzer harness for the proxy request parsers: the first byte picks
 * SOCKS5 (greeting, auth, request in sequence), SOCKS4/4a or HTTP; the
 * rest is what a client sent.  Parsers must never read past the input,
 * must consume nothing on ERR_INCOMPLETE, and HTTP rewriting of anything
 * that parses must itself parse.  The rest is also read as an origin's
 * response head (bit 0 of the first byte: a HEAD request; bit 1:
 * keep-alive) and, after any head, as a chunked body fed in pieces of
 * 1 + (first byte >> 2) bytes: the scanner must give the same end
 * whatever the pieces, and what it frames must parse again as one body.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void
check_incomplete(struct buf *b, size_t before, int r)
{
	if (r == ERR_INCOMPLETE && buf_len(b) != before)
		abort();
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct buf b, b2;
	struct socks5_greeting g;
	struct socks5_auth a;
	struct socks5_request r5;
	struct socks4_request r4;
	struct http_request h, h2;
	char user[256], pass[256], *out;
	size_t before, len;
	int r;

	if (size == 0)
		return 0;
	buf_view(&b, data + 1, size - 1);
	/* client side: replies of the hops a chain talks to */
	{
		size_t len, hl;
		int rep, code;

		if (socks5_reply_length(data, size, &len, &rep) == 0 &&
		    len < 5)
			abort();
		if (http_parse_status(data, size, &hl, &code) == 0 &&
		    (hl > size || code < 0 || code > 999))
			abort();
	}
	/* an origin's response head, as the keep-alive forwarder reads it */
	{
		struct http_request rs, rs2;
		uint64_t blen;
		size_t rl;
		int code, code2, fr;
		char *rw;

		if (http_parse_response(data + 1, size - 1, &rs, &code) == 0) {
			fr = http_body(&rs, code, data[0] & 1, &blen);
			/* ambiguous framing never gets past the parser */
			if (fr < HTTP_BODY_NONE || fr > HTTP_BODY_CLOSE)
				abort();
			(void)http_keepalive(&rs);
			if ((rw = http_rewrite_response(&rs, data[0] & 2,
			    &rl)) == NULL)
				abort();
			/*
			 * What the client gets must itself parse, unless
			 * our Connection field makes it one field more
			 * than our own parser takes.
			 */
			if (rs.nhdr < HTTP_MAX_HEADERS) {
				if (http_parse_response((unsigned char *)rw,
				    rl, &rs2, &code2) != 0 || code2 != code)
					abort();
				http_request_free(&rs2);
			}
			free(rw);
			http_request_free(&rs);
		}
	}
	/* a chunked body: whole, in pieces, and its framed part again */
	{
		const unsigned char *p = data + 1, *body;
		size_t n = size - 1, step = 1 + (data[0] >> 2), off, used;
		size_t whole_used, piece_used = 0;
		struct http_chunked c;
		int whole, piece = 0;

		/* after a head, if there is one */
		if ((body = memmem(p, n, "\r\n\r\n", 4)) != NULL) {
			n -= (size_t)(body + 4 - p);
			p = body + 4;
		}
		http_chunked_init(&c);
		whole = http_chunked_scan(&c, p, n, &whole_used);
		if (whole_used > n || (whole == 0 && whole_used != n))
			abort();
		http_chunked_init(&c);
		for (off = 0; off < n; off += step) {
			size_t k = n - off < step ? n - off : step;

			piece = http_chunked_scan(&c, p + off, k, &used);
			if (piece < 0)
				break;
			if (used > k)
				abort();
			piece_used += used;
			if (piece == 1)
				break;
		}
		if (n > 0 && (piece != whole || (whole == 1 &&
		    piece_used != whole_used)))
			abort();
		if (whole == 1) {
			http_chunked_init(&c);
			if (http_chunked_scan(&c, p, whole_used, &used) != 1 ||
			    used != whole_used)
				abort();
		}
	}
	switch (data[0] % 3) {
	case 0:
		before = buf_len(&b);
		r = socks5_parse_greeting(&b, &g);
		check_incomplete(&b, before, r);
		before = buf_len(&b);
		r = socks5_parse_auth(&b, &a);
		check_incomplete(&b, before, r);
		before = buf_len(&b);
		r = socks5_parse_request(&b, &r5);
		check_incomplete(&b, before, r);
		if (r == 0 && strlen(r5.dst.host) > PROXY_HOST_MAX)
			abort();
		{
			struct proxy_target t;
			size_t hl, fl;

			if (socks5_parse_udp(data + 1, size - 1, &t, &hl) ==
			    0 && hl > size - 1)
				abort();
			if (socks5_parse_udptun(data + 1, size - 1, &t, &hl,
			    &fl) == 0 && (fl > size - 1 || hl >= fl))
				abort();
		}
		break;
	case 1:
		before = buf_len(&b);
		r = socks4_parse_request(&b, &r4);
		check_incomplete(&b, before, r);
		break;
	case 2:
		before = buf_len(&b);
		r = http_parse_request(&b, &h);
		check_incomplete(&b, before, r);
		if (r != 0)
			break;
		for (size_t i = 0; i < h.nhdr; i++)
			if (h.hdr[i].namelen == 19 &&
			    strncasecmp(h.hdr[i].name, "Proxy-Authorization",
			    19) == 0)
				(void)http_basic_decode(h.hdr[i].value,
				    h.hdr[i].valuelen, user, sizeof(user), pass,
				    sizeof(pass));
		(void)http_keepalive(&h);
		if (!h.is_connect) {
			uint64_t blen;

			(void)http_body(&h, -1, 0, &blen);
			if ((out = http_rewrite_request(&h, &len)) == NULL)
				abort();
			/* origin-form does not parse as a proxy request;
			 * but it must be one well-formed head */
			if (len < 4 || memcmp(out + len - 4, "\r\n\r\n", 4))
				abort();
			buf_view(&b2, out, len);
			(void)http_parse_request(&b2, &h2);
			http_request_free(&h2);
			free(out);
		}
		http_request_free(&h);
		break;
	}
	return 0;
}
