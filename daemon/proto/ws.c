/*
 * WebSocket (RFC 6455): handshake heads and frame headers.  A head is
 * at most WS_HEAD_MAX bytes; every line must end in CRLF, and a bare
 * CR, a bare LF or a control character fails the head as soon as it
 * arrives.  The server side checks what gorilla/websocket's Upgrader
 * checks (GET, Upgrade and Connection tokens, version 13, a key of 16
 * bytes), and also refuses what two parsers could read differently: a
 * second Host or Sec-WebSocket-Key, a body.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "err.h"
#include "ws.h"
#include "text.h"

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

void
ws_key_encode(const unsigned char key[WS_KEY_LEN],
    char out[WS_KEY_B64_LEN + 1])
{
	EVP_EncodeBlock((unsigned char *)out, key, WS_KEY_LEN);
}

int
ws_accept_value(const char *key_b64, size_t keylen,
    char out[WS_ACCEPT_B64_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	int ok;

	out[0] = '\0';
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return ERR_ALLOC;
	ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, key_b64, keylen) == 1 &&
	    EVP_DigestUpdate(ctx, WS_GUID, sizeof(WS_GUID) - 1) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 20;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return ERR_INTERNAL;
	EVP_EncodeBlock((unsigned char *)out, md, 20);
	return 0;
}

static int
is_b64(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || c == '+' || c == '/';
}

/* "HTTP/1.x" with x >= 1: WebSocket needs HTTP/1.1 (RFC 6455 4.1). */
static int
http11(const char *p, size_t len)
{
	return len == 8 && memcmp(p, "HTTP/1.", 7) == 0 && p[7] >= '1' &&
	    p[7] <= '9';
}

/* Printable ASCII without spaces: safe inside a request line. */
static int
visible(const char *s, int space_ok)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < (space_ok ? 0x20 : 0x21) ||
		    (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

int
ws_build_request(char *out, size_t outlen, size_t *olen, const char *path,
    const char *host, const char *agent, const unsigned char key[WS_KEY_LEN])
{
	char k[WS_KEY_B64_LEN + 1];
	int n;

	*olen = 0;
	if (agent == NULL)
		agent = WS_AGENT_DEFAULT;
	if (path[0] != '/' || !visible(path, 0) || !visible(host, 0) ||
	    !visible(agent, 1))
		return ERR_FORMAT;
	ws_key_encode(key, k);
	/* gorilla's order: Host, User-Agent, then the rest sorted */
	n = snprintf(out, outlen, "GET %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "User-Agent: %s\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Upgrade: websocket\r\n"
	    "\r\n", path, host, agent, k);
	if (n < 0 || (size_t)n >= outlen)
		return ERR_NO_SPACE;
	*olen = (size_t)n;
	return 0;
}

int
ws_parse_response(const unsigned char *p, size_t len,
    const unsigned char key[WS_KEY_LEN], size_t *headlen, int *status)
{
	char k[WS_KEY_B64_LEN + 1], want[WS_ACCEPT_B64_LEN + 1];
	const char *s = (const char *)p, *cur, *end, *eol;
	struct text_field f;
	size_t hlen;
	int e, upgrade = 0, connection = 0, accept = 0;

	*headlen = 0;
	*status = 0;
	if ((e = text_head_scan(p, len, WS_HEAD_MAX, &hlen)) != 0)
		return e;
	end = s + hlen;
	eol = memchr(s, '\r', hlen);
	/* HTTP/1.x SP 3DIGIT [SP reason] */
	if (eol - s < 12 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' ||
	    s[7] > '9' || s[8] != ' ' || s[9] < '1' || s[9] > '5' ||
	    s[10] < '0' || s[10] > '9' || s[11] < '0' || s[11] > '9' ||
	    (eol - s > 12 && s[12] != ' '))
		return ERR_FORMAT;
	*status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	*headlen = hlen;
	/* any refusal is reported as one, even from an HTTP/1.0 server */
	if (*status != 101)
		return ERR_DENIED;
	if (!http11(s, 8))
		return ERR_FORMAT;
	ws_key_encode(key, k);
	if ((e = ws_accept_value(k, WS_KEY_B64_LEN, want)) != 0)
		return e;
	for (cur = eol + 2; (e = text_next_field(&cur, end, &f)) == 1;) {
		if (text_field_is(&f, "Upgrade"))
			upgrade |= text_has_token(&f, "websocket");
		else if (text_field_is(&f, "Connection"))
			connection |= text_has_token(&f, "upgrade");
		else if (text_field_is(&f, "Sec-WebSocket-Accept")) {
			if (accept++ > 0 || f.vallen != WS_ACCEPT_B64_LEN ||
			    memcmp(f.val, want, WS_ACCEPT_B64_LEN) != 0)
				return ERR_FORMAT;
		} else if (text_field_is(&f, "Sec-WebSocket-Extensions") ||
		    text_field_is(&f, "Sec-WebSocket-Protocol"))
			/* we offered none: RFC 6455 4.1 says fail */
			return ERR_FORMAT;
	}
	if (e < 0 || !upgrade || !connection || !accept)
		return ERR_FORMAT;
	return 0;
}

/* A Sec-WebSocket-Key: base64 of exactly 16 bytes (24 characters). */
static int
key_valid(const char *v, size_t len)
{
	size_t i;

	if (len != WS_KEY_B64_LEN || v[22] != '=' || v[23] != '=')
		return 0;
	for (i = 0; i < 22; i++)
		if (!is_b64((unsigned char)v[i]))
			return 0;
	return 1;
}

/* Visible ASCII only. */
static int
printable(const char *v, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e)
			return 0;
	return 1;
}

static int
copy_value(char *dst, size_t dstlen, const char *v, size_t len)
{
	if (len >= dstlen)
		return ERR_TOO_LONG;
	memcpy(dst, v, len);
	dst[len] = '\0';
	return 0;
}

/* The request line: GET origin-form HTTP/1.1. */
static int
request_line(const char *s, const char *eol, struct ws_request *r)
{
	const char *sp1, *sp2, *q;
	size_t i;

	if ((sp1 = memchr(s, ' ', (size_t)(eol - s))) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1))) == NULL)
		return ERR_FORMAT;
	for (i = 0; i < (size_t)(sp1 - s); i++)
		if (!text_tchar((unsigned char)s[i]))
			return ERR_FORMAT;
	if (sp1 == s || !http11(sp2 + 1, (size_t)(eol - sp2 - 1)))
		return ERR_FORMAT;
	if (sp1 - s != 3 || memcmp(s, "GET", 3) != 0) {
		r->status = 405;
		return ERR_FORMAT;
	}
	if (sp1[1] != '/')
		return ERR_FORMAT;
	if (!printable(sp1 + 1, (size_t)(sp2 - sp1 - 1)))
		return ERR_FORMAT;
	if ((q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1))) == NULL)
		q = sp2;
	if (copy_value(r->path, sizeof(r->path), sp1 + 1,
	    (size_t)(q - sp1 - 1)) != 0) {
		r->status = 414;
		return ERR_TOO_LONG;
	}
	return 0;
}

int
ws_parse_request(const unsigned char *p, size_t len, struct ws_request *r)
{
	const char *s = (const char *)p, *cur, *end, *eol;
	struct text_field f;
	size_t hlen;
	int e, upgrade = 0, connection = 0, version = 0, hosts = 0, keys = 0;

	memset(r, 0, sizeof(*r));
	r->status = 400;
	if ((e = text_head_scan(p, len, WS_HEAD_MAX, &hlen)) != 0) {
		if (e == ERR_TOO_LONG)
			r->status = 431;
		return e;
	}
	end = s + hlen;
	eol = memchr(s, '\r', hlen);
	if ((e = request_line(s, eol, r)) != 0)
		return e;
	for (cur = eol + 2; (e = text_next_field(&cur, end, &f)) == 1;) {
		if (text_field_is(&f, "Host")) {
			/* one authority, printable: it is logged and compared */
			if (hosts++ > 0 || f.vallen == 0 ||
			    !printable(f.val, f.vallen) ||
			    memchr(f.val, ',', f.vallen) != NULL)
				return ERR_FORMAT;
			if (copy_value(r->host, sizeof(r->host), f.val,
			    f.vallen) != 0)
				return ERR_TOO_LONG;
		} else if (text_field_is(&f, "Upgrade"))
			upgrade |= text_has_token(&f, "websocket");
		else if (text_field_is(&f, "Connection"))
			connection |= text_has_token(&f, "upgrade");
		else if (text_field_is(&f, "Sec-WebSocket-Version"))
			version |= text_has_token(&f, "13");
		else if (text_field_is(&f, "Sec-WebSocket-Key")) {
			if (keys++ > 0 || !key_valid(f.val, f.vallen))
				return ERR_FORMAT;
			memcpy(r->key, f.val, WS_KEY_B64_LEN);
			r->key[WS_KEY_B64_LEN] = '\0';
		} else if (text_field_is(&f, "Transfer-Encoding") ||
		    (text_field_is(&f, "Content-Length") &&
		    (f.vallen != 1 || f.val[0] != '0')))
			/* frames follow the head, never a body */
			return ERR_FORMAT;
	}
	if (e < 0 || hosts != 1 || keys != 1 || !upgrade || !connection)
		return ERR_FORMAT;
	if (!version) {
		r->status = 426;
		return ERR_VERSION;
	}
	r->headlen = hlen;
	r->status = 101;
	return 0;
}

int
ws_build_response(char *out, size_t outlen, size_t *olen,
    const char *key_b64)
{
	char acc[WS_ACCEPT_B64_LEN + 1];
	int n, e;

	*olen = 0;
	if ((e = ws_accept_value(key_b64, strlen(key_b64), acc)) != 0)
		return e;
	n = snprintf(out, outlen, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n"
	    "\r\n", acc);
	if (n < 0 || (size_t)n >= outlen)
		return ERR_NO_SPACE;
	*olen = (size_t)n;
	return 0;
}

int
ws_build_refusal(char *out, size_t outlen, size_t *olen, int status)
{
	static const struct {
		int		 status;
		const char	*text;
	} reasons[] = {
		{ 400, "Bad Request" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 414, "URI Too Long" },
		{ 426, "Upgrade Required" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" },
		{ 503, "Service Unavailable" },
	};
	const char *text = reasons[0].text;
	size_t i;
	int n;

	*olen = 0;
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			break;
	if (i == sizeof(reasons) / sizeof(reasons[0]))
		status = 400;
	else
		text = reasons[i].text;
	/* as gorilla: every refusal names the version we speak */
	n = snprintf(out, outlen, "HTTP/1.1 %d %s\r\n"
	    "Connection: close\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "%s"
	    "Content-Length: %zu\r\n"
	    "\r\n"
	    "%s\n", status, text, status == 405 ? "Allow: GET\r\n" : "",
	    strlen(text) + 1, text);
	if (n < 0 || (size_t)n >= outlen)
		return ERR_NO_SPACE;
	*olen = (size_t)n;
	return 0;
}

void
ws_rx_init(struct ws_rx *rx, int server, size_t max_payload)
{
	memset(rx, 0, sizeof(*rx));
	rx->server = server != 0;
	rx->msg_op = -1;
	rx->max_payload = max_payload;
}

int
ws_frame_parse(struct ws_rx *rx, const unsigned char *p, size_t len,
    struct ws_frame *f)
{
	uint64_t n;
	size_t hl, i;
	int fin, op, masked;

	if (len < 2)
		return ERR_INCOMPLETE;
	if (rx->closed)
		return ERR_CLOSED;
	fin = (p[0] & 0x80) != 0;
	op = p[0] & 0x0f;
	masked = (p[1] & 0x80) != 0;
	n = p[1] & 0x7f;
	/* no extension was negotiated, so no RSV bit has a meaning */
	if ((p[0] & 0x70) != 0)
		return ERR_FORMAT;
	switch (op) {
	case WS_OP_CONT:
		if (rx->msg_op < 0)
			return ERR_FORMAT;
		break;
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		if (rx->msg_op >= 0)
			return ERR_FORMAT;
		break;
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		/* control frames may come between fragments, whole */
		if (!fin || n > WS_CONTROL_MAX || (op == WS_OP_CLOSE &&
		    n == 1))
			return ERR_FORMAT;
		break;
	default:
		return ERR_FORMAT;
	}
	/* RFC 6455 5.1: clients mask every frame, servers none */
	if (masked != rx->server)
		return ERR_FORMAT;
	hl = 2 + (n == 126 ? 2 : n == 127 ? 8 : 0) + (masked ? 4 : 0);
	if (len < hl)
		return ERR_INCOMPLETE;
	if (n == 126)
		n = (uint64_t)p[2] << 8 | p[3];
	else if (n == 127) {
		if ((p[2] & 0x80) != 0)
			return ERR_FORMAT;
		for (n = 0, i = 2; i < 10; i++)
			n = n << 8 | p[i];
	}
	if (n > rx->max_payload)
		return ERR_TOO_LONG;
	f->fin = fin;
	f->opcode = op;
	f->masked = masked;
	if (masked)
		memcpy(f->mask, p + hl - 4, 4);
	else
		memset(f->mask, 0, sizeof(f->mask));
	f->hdrlen = hl;
	f->len = (size_t)n;
	if (op == WS_OP_CLOSE)
		rx->closed = 1;
	else if (op == WS_OP_CONT && fin)
		rx->msg_op = -1;
	else if (op != WS_OP_CONT && !WS_OP_IS_CONTROL(op) && !fin)
		rx->msg_op = op;
	return 0;
}

void
ws_mask(unsigned char *p, size_t len, const unsigned char key[4],
    size_t off)
{
	unsigned char k[8];
	uint64_t kw, w;
	size_t i;

	for (i = 0; i < 8; i++)
		k[i] = key[(off + i) & 3];
	memcpy(&kw, k, sizeof(kw));
	/* eight bytes at a time: a step of 8 keeps the key's phase */
	for (i = 0; i + 32 <= len; i += 32) {
		memcpy(&w, p + i, 8);
		w ^= kw;
		memcpy(p + i, &w, 8);
		memcpy(&w, p + i + 8, 8);
		w ^= kw;
		memcpy(p + i + 8, &w, 8);
		memcpy(&w, p + i + 16, 8);
		w ^= kw;
		memcpy(p + i + 16, &w, 8);
		memcpy(&w, p + i + 24, 8);
		w ^= kw;
		memcpy(p + i + 24, &w, 8);
	}
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		w ^= kw;
		memcpy(p + i, &w, 8);
	}
	for (; i < len; i++)
		p[i] ^= k[i & 7];
}

size_t
ws_frame_hdrlen(size_t len, int masked)
{
	return 2 + (len < 126 ? 0 : len <= 0xffff ? 2 : 8) +
	    (masked ? 4 : 0);
}

int
ws_frame_header(unsigned char out[WS_HDR_MAX], size_t *hdrlen, int fin,
    int opcode, size_t len, const unsigned char *mask)
{
	uint64_t n = len;
	size_t hl = 2;
	int i;

	*hdrlen = 0;
	switch (opcode) {
	case WS_OP_CONT:
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		break;
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		if (!fin || len > WS_CONTROL_MAX || (opcode == WS_OP_CLOSE &&
		    len == 1))
			return ERR_FORMAT;
		break;
	default:
		return ERR_FORMAT;
	}
	if (n >> 63 != 0)
		return ERR_TOO_LONG;
	out[0] = (unsigned char)((fin ? 0x80 : 0) | opcode);
	out[1] = mask != NULL ? 0x80 : 0;
	if (len < 126)
		out[1] |= (unsigned char)len;
	else if (len <= 0xffff) {
		out[1] |= 126;
		out[2] = (unsigned char)(len >> 8);
		out[3] = (unsigned char)len;
		hl = 4;
	} else {
		out[1] |= 127;
		for (i = 0; i < 8; i++)
			out[2 + i] = (unsigned char)(n >> (56 - 8 * i));
		hl = 10;
	}
	if (mask != NULL) {
		memcpy(out + hl, mask, 4);
		hl += 4;
	}
	*hdrlen = hl;
	return 0;
}

/* RFC 6455 7.4 and the IANA registry: the codes a peer may send. */
static int
close_code_valid(int code)
{
	return (code >= 1000 && code <= 1003) ||
	    (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

int
ws_close_parse(const unsigned char *p, size_t len, int *code,
    const unsigned char **reason, size_t *reasonlen)
{
	*code = WS_CLOSE_NO_STATUS;
	*reason = NULL;
	*reasonlen = 0;
	if (len == 0)
		return 0;
	if (len == 1 || len > WS_CONTROL_MAX)
		return ERR_FORMAT;
	*code = p[0] << 8 | p[1];
	if (!close_code_valid(*code) || !text_utf8_valid(p + 2, len - 2))
		return ERR_FORMAT;
	*reason = p + 2;
	*reasonlen = len - 2;
	return 0;
}

int
ws_close_build(unsigned char out[WS_CONTROL_MAX], size_t *olen, int code,
    const char *reason)
{
	size_t rl = reason != NULL ? strlen(reason) : 0;

	*olen = 0;
	if (code == WS_CLOSE_NO_STATUS && rl == 0)
		return 0;
	if (!close_code_valid(code) ||
	    !text_utf8_valid((const unsigned char *)reason, rl))
		return ERR_FORMAT;
	if (rl > WS_CONTROL_MAX - 2)
		return ERR_TOO_LONG;
	out[0] = (unsigned char)(code >> 8);
	out[1] = (unsigned char)code;
	if (rl > 0)
		memcpy(out + 2, reason, rl);
	*olen = 2 + rl;
	return 0;
}
