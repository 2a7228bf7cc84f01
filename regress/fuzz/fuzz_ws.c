/*
 * libFuzzer harness for the WebSocket codec.  The input is read as a
 * client's upgrade request, as a server's answer (to RFC 6455's sample
 * key) and as a stream of frames in both directions, alone and after a
 * head that parsed, as the transports do.  Checked along the way: a
 * head that parsed was incomplete one byte earlier; a request rebuilt
 * from what was parsed parses back the same, and the answer to it is
 * accepted; a frame header rebuilt parses back the same; masking in
 * pieces is masking at once; a close payload rebuilt is the same bytes.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "err.h"
#include "proto/ws.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static const unsigned char sample_key[WS_KEY_LEN] = "the sample nonce";

static void
check_close(const unsigned char *p, size_t len)
{
	unsigned char out[WS_CONTROL_MAX];
	char reason[WS_CONTROL_MAX + 1];
	const unsigned char *r;
	size_t rl, n;
	int code;

	if (ws_close_parse(p, len, &code, &r, &rl) != 0)
		return;
	if (len > 0 && rl != len - 2)
		abort();
	if (rl > 0 && memchr(r, '\0', rl) != NULL)
		return;
	if (rl > 0)
		memcpy(reason, r, rl);
	reason[rl] = '\0';
	if (ws_close_build(out, &n, code, reason) != 0 || n != len ||
	    memcmp(out, p, len) != 0)
		abort();
}

static void
walk_frames(const unsigned char *p, size_t n, int server, size_t max)
{
	static unsigned char pl[1 << 16], pl2[1 << 16];
	unsigned char h[WS_HDR_MAX];
	struct ws_frame f, g;
	struct ws_rx rx, fresh;
	size_t hl, avail, cut;
	int e;

	ws_rx_init(&rx, server, max);
	while ((e = ws_frame_parse(&rx, p, n, &f)) == 0) {
		if (f.hdrlen > n || f.hdrlen > WS_HDR_MAX || f.len > max ||
		    f.hdrlen < ws_frame_hdrlen(f.len, f.masked) ||
		    f.masked != server)
			abort();
		if (WS_OP_IS_CONTROL(f.opcode) && (!f.fin ||
		    f.len > WS_CONTROL_MAX))
			abort();
		if (ws_frame_header(h, &hl, f.fin, f.opcode, f.len,
		    f.masked ? f.mask : NULL) != 0)
			abort();
		/* a fresh reader, past a message start if needed */
		ws_rx_init(&fresh, server, max);
		if (f.opcode == WS_OP_CONT)
			fresh.msg_op = WS_OP_BINARY;
		if (ws_frame_parse(&fresh, h, hl, &g) != 0 || g.fin != f.fin ||
		    g.opcode != f.opcode || g.len != f.len ||
		    g.hdrlen != hl || memcmp(g.mask, f.mask, 4) != 0)
			abort();
		/* lengths need not be minimal on the wire; ours are */
		if (hl == f.hdrlen && memcmp(h, p, hl) != 0)
			abort();
		p += f.hdrlen;
		n -= f.hdrlen;
		avail = f.len < n ? f.len : n;
		if (avail > sizeof(pl))
			avail = sizeof(pl);
		memcpy(pl, p, avail);
		memcpy(pl2, p, avail);
		ws_mask(pl, avail, f.mask, 0);
		cut = avail / 3;
		ws_mask(pl2, cut, f.mask, 0);
		ws_mask(pl2 + cut, avail - cut, f.mask, cut);
		if (memcmp(pl, pl2, avail) != 0)
			abort();
		if (f.opcode == WS_OP_CLOSE && avail == f.len)
			check_close(pl, f.len);
		if (f.len > n)
			break;
		p += f.len;
		n -= f.len;
	}
}

/* What a server makes of the request, and the client of the answer. */
static void
check_request(const unsigned char *data, size_t size)
{
	unsigned char raw[WS_KEY_B64_LEN];
	char out[WS_HEAD_MAX + 64], resp[256];
	struct ws_request r, r2;
	size_t n, hl;
	int st;

	if (ws_parse_request(data, size, &r) != 0)
		return;
	if (r.headlen > size || r.headlen > WS_HEAD_MAX || r.path[0] != '/' ||
	    strlen(r.key) != WS_KEY_B64_LEN || r.host[0] == '\0')
		abort();
	if (ws_parse_request(data, r.headlen - 1, &r2) != ERR_INCOMPLETE ||
	    ws_parse_request(data, r.headlen, &r2) != 0 ||
	    memcmp(&r, &r2, sizeof(r)) != 0)
		abort();
	walk_frames(data + r.headlen, size - r.headlen, 1, SIZE_MAX);

	if (EVP_DecodeBlock(raw, (const unsigned char *)r.key,
	    WS_KEY_B64_LEN) != 18)
		abort();
	if (ws_build_request(out, sizeof(out), &n, r.path, r.host, NULL,
	    raw) != 0 || ws_parse_request((unsigned char *)out, n, &r2) != 0 ||
	    r2.headlen != n || strcmp(r.path, r2.path) != 0 ||
	    strcmp(r.host, r2.host) != 0)
		abort();
	if (ws_build_response(resp, sizeof(resp), &n, r2.key) != 0 ||
	    ws_parse_response((unsigned char *)resp, n, raw, &hl, &st) != 0 ||
	    hl != n || st != 101)
		abort();
}

static void
check_response(const unsigned char *data, size_t size)
{
	size_t hl, hl2;
	int st, st2, e;

	e = ws_parse_response(data, size, sample_key, &hl, &st);
	if (e != 0 && e != ERR_DENIED)
		return;
	if (hl == 0 || hl > size || hl > WS_HEAD_MAX ||
	    (e == 0) != (st == 101) || st < 100 || st > 599)
		abort();
	if (ws_parse_response(data, hl - 1, sample_key, &hl2, &st2) !=
	    ERR_INCOMPLETE || ws_parse_response(data, hl, sample_key, &hl2,
	    &st2) != e || hl2 != hl || st2 != st)
		abort();
	if (e == 0)
		walk_frames(data + hl, size - hl, 0, SIZE_MAX);
}

/* A refusal for any status is a complete head that says so. */
static void
check_refusal(const unsigned char *data, size_t size)
{
	char out[512], *body;
	size_t n, hl;
	int status, st;

	if (size < 2)
		return;
	status = data[0] << 8 | data[1];
	if (ws_build_refusal(out, sizeof(out), &n, status) != 0 ||
	    (body = strstr(out, "\r\n\r\n")) == NULL ||
	    ws_parse_response((unsigned char *)out, n, sample_key, &hl,
	    &st) != ERR_DENIED || hl != (size_t)(body + 4 - out) ||
	    (st != status && st != 400))
		abort();
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	check_refusal(data, size);
	check_request(data, size);
	check_response(data, size);
	walk_frames(data, size, 0, SIZE_MAX);
	walk_frames(data, size, 1, 300);
	return 0;
}
