/*
 * gost v2 obfs-http and obfs-tls (spec 2.7, 2.8): what goes on the wire
 * byte for byte, and the checks gost's own parsers make on the way
 * back.  The layouts must not drift: v2 peers parse them by position
 * (the client skips a ServerHello as exactly 91 bytes).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "compat.h"
#include "buf.h"
#include "err.h"
#include "obfs.h"
#include "text.h"

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define OHTTP_UA	"Chrome/78.0.3904.106"
#define OHTTP_KEY_LEN	24	/* base64 of OHTTP_KEY_RAW */
#define HTTP_DATE_LEN	29	/* "Sun, 06 Nov 1994 08:49:37 GMT" */

#define TLS_CT_CCS		0x14
#define TLS_CT_HANDSHAKE	0x16
#define TLS_CT_APPDATA		0x17
#define TLS_HS_CLIENT_HELLO	0x01
#define TLS_HS_SERVER_HELLO	0x02
#define TLS_HS_HDR		4
#define TLS_RANDOM_LEN		32
#define TLS_EXT_HDR		4
#define TLS_EXT_SERVER_NAME	0x0000
#define TLS_EXT_SESSION_TICKET	0x0023

/* Client reader steps: record 3 and later carry data. */
#define STEP_SERVER_HELLO	0
#define STEP_CCS		1
#define STEP_FINISHED		2
#define STEP_APPDATA		3

static EVP_MD *sha1;

/* gost's ClientHello (tls-dissector encoding of obfs.go's message). */
static const unsigned char hello_suites[] = {
	0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
	0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b,
	0xc0, 0x23, 0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39,
	0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d,
	0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff
};

/* The extensions after session_ticket and server_name, as sent. */
static const unsigned char hello_ext_tail[] = {
	0x00, 0x0b, 0x00, 0x04, 0x03, 0x01, 0x00, 0x02,	/* ec_point_formats */
	0x00, 0x0a, 0x00, 0x0a, 0x00, 0x08,		/* supported_groups */
	0x00, 0x1d, 0x00, 0x17, 0x00, 0x19, 0x00, 0x18,
	0x00, 0x0d, 0x00, 0x20, 0x00, 0x1e,		/* signature_algs */
	0x06, 0x01, 0x06, 0x02, 0x06, 0x03, 0x05, 0x01, 0x05, 0x02,
	0x05, 0x03, 0x04, 0x01, 0x04, 0x02, 0x04, 0x03, 0x03, 0x01,
	0x03, 0x02, 0x03, 0x03, 0x02, 0x01, 0x02, 0x02, 0x02, 0x03,
	0x00, 0x16, 0x00, 0x00,				/* encrypt_then_mac */
	0x00, 0x17, 0x00, 0x00				/* extended_ms */
};

/* ServerHello after the session id: suite, compression, extensions. */
static const unsigned char server_hello_tail[] = {
	0xcc, 0xa8, 0x00, 0x00, 0x0f,
	0xff, 0x01, 0x00, 0x01, 0x00,			/* renegotiation_info */
	0x00, 0x17, 0x00, 0x00,				/* extended_ms */
	0x00, 0x0b, 0x00, 0x02, 0x01, 0x00		/* ec_point_formats */
};

static const unsigned char ccs_record[] = {
	TLS_CT_CCS, 0x03, 0x03, 0x00, 0x01, 0x01
};

/*
 * A host goes into a header line and a server_name: anything that could
 * end the line or split the header is refused.
 */
static int
host_ok(const char *host, size_t *lenp)
{
	size_t i, len;

	if (host == NULL)
		return 0;
	len = strnlen(host, OBFS_HOST_MAX + 1);
	if (len == 0 || len > OBFS_HOST_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)host[i] <= 0x20 ||
		    (unsigned char)host[i] >= 0x7f)
			return 0;
	*lenp = len;
	return 1;
}

int
obfs_crypto_init(void)
{
	if (sha1 != NULL)
		return 0;
	if ((sha1 = EVP_MD_fetch(NULL, "SHA1", NULL)) == NULL)
		return ERR_INTERNAL;
	return 0;
}

/* RFC 7231 IMF-fixdate, as nginx writes it. */
static int
http_date(time_t now, char out[HTTP_DATE_LEN + 1])
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	struct tm tm;
	int n;

	/* strftime's names follow the locale; HTTP's do not. */
	if (gmtime_r(&now, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_year < 0 ||
	    tm.tm_year > 9999 - 1900)
		return ERR_INTERNAL;
	n = snprintf(out, HTTP_DATE_LEN + 1,
	    "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
	    tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
	if (n != HTTP_DATE_LEN)
		return ERR_INTERNAL;
	return 0;
}

int
ohttp_client_request(const char *host, const void *data, size_t len,
    unsigned char *out, size_t outlen, size_t *olen)
{
	char head[OHTTP_REQUEST_HEAD_MAX + 1];
	unsigned char raw[OHTTP_KEY_RAW];
	char key[OHTTP_KEY_LEN + 1];
	size_t hostlen, hlen;
	int n;

	*olen = 0;
	if (!host_ok(host, &hostlen))
		return ERR_FORMAT;
	arc4random_buf(raw, sizeof(raw));
	if (EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw)) !=
	    OHTTP_KEY_LEN)
		return ERR_INTERNAL;
	/*
	 * Go's Request.Write: Host, User-Agent, then the other headers
	 * sorted, with the key's name canonicalised to Sec-Websocket-Key.
	 */
	n = snprintf(head, sizeof(head),
	    "GET / HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "User-Agent: " OHTTP_UA "\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-Websocket-Key: %s\r\n"
	    "Upgrade: websocket\r\n"
	    "\r\n", host, key);
	if (n < 0 || (size_t)n >= sizeof(head))
		return ERR_INTERNAL;
	hlen = (size_t)n;
	if (len > SIZE_MAX - hlen)
		return ERR_TOO_LONG;
	if (hlen + len > outlen)
		return ERR_NO_SPACE;
	memcpy(out, head, hlen);
	if (len > 0)
		memcpy(out + hlen, data, len);
	*olen = hlen + len;
	return 0;
}

int
ohttp_client_response(const unsigned char *p, size_t len, size_t *head_len,
    int *status)
{
	const unsigned char *nl;
	size_t i, n = len < OHTTP_HEAD_MAX ? len : OHTTP_HEAD_MAX;

	*head_len = 0;
	*status = 0;
	/*
	 * gost reads lines up to '\n' and stops after one that is exactly
	 * "\r\n"; nothing else in the head is looked at.
	 */
	for (i = 0; i < n; i = (size_t)(nl - p) + 1) {
		if ((nl = memchr(p + i, '\n', n - i)) == NULL)
			break;
		if ((size_t)(nl - p) == i + 1 && p[i] == '\r') {
			*head_len = i + 2;
			break;
		}
	}
	if (*head_len == 0)
		return len >= OHTTP_HEAD_MAX ? ERR_TOO_LONG : ERR_INCOMPLETE;
	if (*head_len >= 13 && memcmp(p, "HTTP/1.", 7) == 0 &&
	    p[7] >= '0' && p[7] <= '9' && p[8] == ' ' &&
	    p[9] >= '1' && p[9] <= '5' && p[10] >= '0' && p[10] <= '9' &&
	    p[11] >= '0' && p[11] <= '9' &&
	    (p[12] == ' ' || p[12] == '\r' || p[12] == '\n'))
		*status = (p[9] - '0') * 100 + (p[10] - '0') * 10 +
		    (p[11] - '0');
	return 0;
}

/* One header line's name and its value without surrounding blanks. */
static int
split_header(const unsigned char *line, const unsigned char *ve,
    const unsigned char **colonp, const unsigned char **vsp,
    const unsigned char **vep)
{
	const unsigned char *colon, *c, *vs;

	if (*line == ' ' || *line == '\t')
		return ERR_FORMAT;	/* obsolete folding */
	if ((colon = memchr(line, ':', (size_t)(ve - line))) == NULL ||
	    colon == line)
		return ERR_FORMAT;
	for (c = line; c < colon; c++)
		if (!text_tchar(*c))
			return ERR_FORMAT;
	for (vs = colon + 1; vs < ve && (*vs == ' ' || *vs == '\t'); vs++)
		;
	while (ve > vs && (ve[-1] == ' ' || ve[-1] == '\t'))
		ve--;
	*colonp = colon;
	*vsp = vs;
	*vep = ve;
	return 0;
}

static int
header_is(const unsigned char *line, const unsigned char *colon,
    const char *name)
{
	size_t n = strlen(name);

	return (size_t)(colon - line) == n &&
	    strncasecmp((const char *)line, name, n) == 0;
}

/* Content-Length: digits only; repeated values must agree (RFC 9110). */
static int
parse_content_length(const unsigned char *vs, const unsigned char *ve,
    struct ohttp_request *r)
{
	size_t v = 0;

	if (vs == ve)
		return ERR_FORMAT;
	for (; vs < ve; vs++) {
		if (*vs < '0' || *vs > '9')
			return ERR_FORMAT;
		if (v > (SIZE_MAX - 9) / 10)
			return ERR_TOO_LONG;
		v = v * 10 + (size_t)(*vs - '0');
	}
	if (r->has_content_length && r->content_length != v)
		return ERR_FORMAT;
	r->has_content_length = 1;
	r->content_length = v;
	return 0;
}

int
ohttp_server_request(const unsigned char *p, size_t len,
    struct ohttp_request *r)
{
	const unsigned char *line, *eol, *end, *ve, *colon, *vs, *sp;
	size_t hlen, i;
	int seen_upgrade = 0, seen_key = 0, rv;

	memset(r, 0, sizeof(*r));
	if (len > OHTTP_HEAD_MAX)
		len = OHTTP_HEAD_MAX;
	/* An empty line first would end the head at once: refuse early. */
	if ((len >= 1 && p[0] == '\n') ||
	    (len >= 2 && p[0] == '\r' && p[1] == '\n'))
		return ERR_FORMAT;
	if ((hlen = text_head_end(p, len)) == 0)
		return len >= OHTTP_HEAD_MAX ? ERR_TOO_LONG : ERR_INCOMPLETE;
	for (i = 0; i < hlen; i++) {
		/* bare CR is refused: it splits lines differently elsewhere */
		if (p[i] == '\r' && (i + 1 == hlen || p[i + 1] != '\n'))
			return ERR_FORMAT;
		if ((p[i] < 0x20 && p[i] != '\r' && p[i] != '\n' &&
		    p[i] != '\t') || p[i] == 0x7f)
			return ERR_FORMAT;
	}
	end = p + hlen;

	/* METHOD SP target SP HTTP/1.x */
	eol = memchr(p, '\n', hlen);
	ve = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
	if ((sp = memchr(p, ' ', (size_t)(ve - p))) == NULL || sp == p)
		return ERR_FORMAT;
	for (line = p; line < sp; line++)
		if (!text_tchar(*line))
			return ERR_FORMAT;
	r->method_get = sp - p == 3 && memcmp(p, "GET", 3) == 0;
	if (ve - sp < 11 || sp[1] == ' ' || memcmp(ve - 9, " HTTP/1.", 8) ||
	    ve[-1] < '0' || ve[-1] > '9')
		return ERR_FORMAT;
	for (line = sp + 1; line < ve - 9; line++)
		if (*line == ' ' || *line == '\t')
			return ERR_FORMAT;

	for (line = eol + 1; line < end; line = eol + 1) {
		eol = memchr(line, '\n', (size_t)(end - line));
		ve = eol > line && eol[-1] == '\r' ? eol - 1 : eol;
		if (ve == line)
			break;			/* the empty line */
		if ((rv = split_header(line, ve, &colon, &vs, &ve)) != 0)
			return rv;
		/* Go's Header.Get: the first of repeated fields counts. */
		if (header_is(line, colon, "upgrade")) {
			if (!seen_upgrade)
				r->upgrade_websocket = ve - vs == 9 &&
				    memcmp(vs, "websocket", 9) == 0;
			seen_upgrade = 1;
		} else if (header_is(line, colon, "sec-websocket-key")) {
			if (seen_key)
				continue;
			seen_key = 1;
			if ((size_t)(ve - vs) > OHTTP_KEY_MAX)
				return ERR_TOO_LONG;
			memcpy(r->key, vs, (size_t)(ve - vs));
			r->key[ve - vs] = '\0';
		} else if (header_is(line, colon, "content-length")) {
			if ((rv = parse_content_length(vs, ve, r)) != 0)
				return rv;
		} else if (header_is(line, colon, "transfer-encoding"))
			return ERR_FORMAT;
	}
	r->head_len = hlen;
	return 0;
}

int
ohttp_server_accepts(const struct ohttp_request *r)
{
	return r->method_get && r->upgrade_websocket;
}

int
ohttp_accept_value(const char *key, char out[OHTTP_ACCEPT_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	EVP_MD_CTX *ctx;
	int ok;

	out[0] = '\0';
	if (sha1 == NULL && obfs_crypto_init() != 0)
		return ERR_INTERNAL;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return ERR_ALLOC;
	ok = EVP_DigestInit_ex(ctx, sha1, NULL) == 1 &&
	    EVP_DigestUpdate(ctx, key, strlen(key)) == 1 &&
	    EVP_DigestUpdate(ctx, WS_GUID, strlen(WS_GUID)) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 20;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return ERR_INTERNAL;
	if (EVP_EncodeBlock((unsigned char *)out, md, 20) != OHTTP_ACCEPT_LEN)
		return ERR_INTERNAL;
	return 0;
}

/* A formatted head into out; ERR_NO_SPACE leaves nothing behind. */
static int
put_head(unsigned char *out, size_t outlen, size_t *olen, const char *head,
    int n)
{
	if (n < 0 || (size_t)n >= OHTTP_RESPONSE_MAX)
		return ERR_INTERNAL;
	if ((size_t)n > outlen)
		return ERR_NO_SPACE;
	memcpy(out, head, (size_t)n);
	*olen = (size_t)n;
	return 0;
}

int
ohttp_server_response(const char *key, time_t now, unsigned char *out,
    size_t outlen, size_t *olen)
{
	char head[OHTTP_RESPONSE_MAX], date[HTTP_DATE_LEN + 1];
	char accept[OHTTP_ACCEPT_LEN + 1];
	int r, n;

	*olen = 0;
	if (strnlen(key, OHTTP_KEY_MAX + 1) > OHTTP_KEY_MAX)
		return ERR_TOO_LONG;
	if ((r = http_date(now, date)) != 0 ||
	    (r = ohttp_accept_value(key, accept)) != 0)
		return r;
	n = snprintf(head, sizeof(head),
	    "HTTP/1.1 101 Switching Protocols\r\n"
	    "Server: nginx/1.10.0\r\n"
	    "Date: %s\r\n"
	    "Connection: Upgrade\r\n"
	    "Upgrade: websocket\r\n"
	    "Sec-WebSocket-Accept: %s\r\n"
	    "\r\n", date, accept);
	return put_head(out, outlen, olen, head, n);
}

int
ohttp_server_refusal(time_t now, unsigned char *out, size_t outlen,
    size_t *olen)
{
	char head[OHTTP_RESPONSE_MAX], date[HTTP_DATE_LEN + 1];
	int r, n;

	*olen = 0;
	if ((r = http_date(now, date)) != 0)
		return r;
	n = snprintf(head, sizeof(head),
	    "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Length: 0\r\n"
	    "Date: %s\r\n"
	    "\r\n", date);
	return put_head(out, outlen, olen, head, n);
}

/* TLS random: 4 bytes of Unix time, 28 random bytes. */
static void
put_random(unsigned char *p, time_t now)
{
	be32enc(p, (uint32_t)now);
	arc4random_buf(p + 4, TLS_RANDOM_LEN - 4);
}

int
otls_client_hello(const char *host, time_t now, const void *data,
    size_t len, unsigned char *out, size_t outlen, size_t *olen)
{
	size_t hostlen, total, o;

	*olen = 0;
	if (!host_ok(host, &hostlen))
		return ERR_FORMAT;
	/* Refused rather than cut or spread: gost reads one record. */
	if (len > OTLS_DATA_MAX + OTLS_REC_HDR - OTLS_HELLO_FIXED - hostlen)
		return ERR_TOO_LONG;
	total = OTLS_HELLO_FIXED + hostlen + len;
	if (total > outlen)
		return ERR_NO_SPACE;

	out[0] = TLS_CT_HANDSHAKE;
	out[1] = 0x03;
	out[2] = 0x01;
	be16enc(out + 3, total - OTLS_REC_HDR);
	out[5] = TLS_HS_CLIENT_HELLO;
	be24enc(out + 6, total - OTLS_REC_HDR - TLS_HS_HDR);
	out[9] = 0x03;
	out[10] = 0x03;
	put_random(out + 11, now);
	o = 11 + TLS_RANDOM_LEN;
	out[o++] = OTLS_SID_MAX;
	arc4random_buf(out + o, OTLS_SID_MAX);
	o += OTLS_SID_MAX;
	be16enc(out + o, sizeof(hello_suites));
	memcpy(out + o + 2, hello_suites, sizeof(hello_suites));
	o += 2 + sizeof(hello_suites);
	out[o++] = 1;			/* compression: null only */
	out[o++] = 0;
	be16enc(out + o, total - o - 2);
	o += 2;
	/* session_ticket first: its data is the channel. */
	be16enc(out + o, TLS_EXT_SESSION_TICKET);
	be16enc(out + o + 2, len);
	o += TLS_EXT_HDR;
	if (len > 0)
		memcpy(out + o, data, len);
	o += len;
	be16enc(out + o, TLS_EXT_SERVER_NAME);
	be16enc(out + o + 2, 2 + 1 + 2 + hostlen);
	be16enc(out + o + 4, 1 + 2 + hostlen);
	out[o + 6] = 0;			/* host_name */
	be16enc(out + o + 7, hostlen);
	memcpy(out + o + 9, host, hostlen);
	o += 9 + hostlen;
	memcpy(out + o, hello_ext_tail, sizeof(hello_ext_tail));
	o += sizeof(hello_ext_tail);
	if (o != total)
		return ERR_INTERNAL;
	*olen = total;
	return 0;
}

int
otls_parse_hello(const unsigned char *p, size_t len, struct otls_hello *h)
{
	struct buf body, v, exts, ext;
	size_t reclen, hslen;
	uint16_t u16, type;

	memset(h, 0, sizeof(*h));
	if (len < 1)
		return ERR_INCOMPLETE;
	if (p[0] != TLS_CT_HANDSHAKE || (len > 1 && p[1] != 0x03))
		return ERR_FORMAT;
	if (len > OTLS_REC_HDR && p[OTLS_REC_HDR] != TLS_HS_CLIENT_HELLO)
		return ERR_FORMAT;
	if (len < OTLS_REC_HDR + TLS_HS_HDR)
		return ERR_INCOMPLETE;
	reclen = (size_t)p[3] << 8 | p[4];
	if (reclen < TLS_HS_HDR)
		return ERR_FORMAT;
	hslen = (size_t)p[6] << 16 | (size_t)p[7] << 8 | p[8];
	/* One record, one message: gost decodes the record's body. */
	if (hslen != reclen - TLS_HS_HDR)
		return ERR_FORMAT;
	if (len - OTLS_REC_HDR < reclen)
		return ERR_INCOMPLETE;

	buf_view(&body, p + OTLS_REC_HDR + TLS_HS_HDR, hslen);
	if (buf_get_u16(&body, &u16) != 0 || u16 >> 8 != 3 ||
	    buf_consume(&body, TLS_RANDOM_LEN) != 0)
		return ERR_FORMAT;
	if (buf_get_vec(&body, 1, &v) != 0 || buf_len(&v) > OTLS_SID_MAX)
		return ERR_FORMAT;
	h->sid_len = buf_len(&v);
	memcpy(h->sid, buf_ptr(&v), h->sid_len);
	if (buf_get_vec(&body, 2, &v) != 0 || buf_len(&v) < 2 ||
	    buf_len(&v) % 2 != 0)
		return ERR_FORMAT;
	if (buf_get_vec(&body, 1, &v) != 0 || buf_len(&v) < 1)
		return ERR_FORMAT;
	/* Extensions are optional (RFC 5246 7.4.1.2): then no payload. */
	if (buf_len(&body) != 0) {
		if (buf_get_vec(&body, 2, &exts) != 0 || buf_len(&body) != 0)
			return ERR_FORMAT;
		while (buf_len(&exts) > 0) {
			if (buf_get_u16(&exts, &type) != 0 ||
			    buf_get_vec(&exts, 2, &ext) != 0)
				return ERR_FORMAT;
			if (type != TLS_EXT_SESSION_TICKET)
				continue;
			/* gost's client sends one; two is not gost. */
			if (h->ticket_off != 0)
				return ERR_FORMAT;
			h->ticket_off = (size_t)(buf_ptr(&ext) - p);
			h->ticket_len = buf_len(&ext);
		}
	}
	if (h->ticket_len == 0)
		h->ticket_off = 0;
	h->hello_len = OTLS_REC_HDR + reclen;
	return 0;
}

/*
 * Records of at most OTLS_DATA_MAX bytes, the first of type first, the
 * others application data, for as much of data as out holds.  With
 * force, one record is written even for no data.
 */
static void
frame_records(int first, int force, const unsigned char *data, size_t len,
    size_t *used, unsigned char *out, size_t outlen, size_t *olen)
{
	size_t i = 0, o = 0, n;
	int type = first;

	while (i < len || force) {
		if (outlen - o < OTLS_REC_HDR + (force ? 0 : 1))
			break;
		n = len - i;
		if (n > OTLS_DATA_MAX)
			n = OTLS_DATA_MAX;
		if (n > outlen - o - OTLS_REC_HDR)
			n = outlen - o - OTLS_REC_HDR;
		out[o] = type;
		out[o + 1] = 0x03;
		out[o + 2] = 0x03;
		be16enc(out + o + 3, n);
		if (n > 0)
			memcpy(out + o + OTLS_REC_HDR, data + i, n);
		o += OTLS_REC_HDR + n;
		i += n;
		type = TLS_CT_APPDATA;
		force = 0;
	}
	*used = i;
	*olen = o;
}

int
otls_server_flight(const struct otls_hello *h, time_t now, const void *data,
    size_t len, size_t *used, unsigned char *out, size_t outlen,
    size_t *olen)
{
	size_t shlen, hdr, o, u, n;

	*used = 0;
	*olen = 0;
	if (h->sid_len > OTLS_SID_MAX)
		return ERR_INTERNAL;
	/* 91 bytes with gost's 32-byte id; other ids are echoed as sent. */
	shlen = OTLS_SERVER_HELLO_LEN - OTLS_SID_MAX + h->sid_len;
	hdr = OTLS_REC_HDR + shlen + sizeof(ccs_record);
	if (outlen < hdr + OTLS_REC_HDR + (len > 0 ? 1 : 0))
		return ERR_NO_SPACE;

	out[0] = TLS_CT_HANDSHAKE;
	out[1] = 0x03;
	out[2] = 0x01;
	be16enc(out + 3, shlen);
	out[5] = TLS_HS_SERVER_HELLO;
	be24enc(out + 6, shlen - TLS_HS_HDR);
	out[9] = 0x03;
	out[10] = 0x03;
	put_random(out + 11, now);
	o = 11 + TLS_RANDOM_LEN;
	out[o++] = h->sid_len;
	memcpy(out + o, h->sid, h->sid_len);
	o += h->sid_len;
	memcpy(out + o, server_hello_tail, sizeof(server_hello_tail));
	o += sizeof(server_hello_tail);
	memcpy(out + o, ccs_record, sizeof(ccs_record));
	o += sizeof(ccs_record);
	if (o != hdr)
		return ERR_INTERNAL;
	/* The first data as "Finished"; unlike gost, nothing is dropped. */
	frame_records(TLS_CT_HANDSHAKE, 1, data, len, &u, out + o,
	    outlen - o, &n);
	*used = u;
	*olen = o + n;
	return 0;
}

int
otls_frame(const void *data, size_t len, size_t *used, unsigned char *out,
    size_t outlen, size_t *olen)
{
	frame_records(TLS_CT_APPDATA, 0, data, len, used, out, outlen, olen);
	return 0;
}

int
otls_frame_len(size_t len, size_t *need)
{
	size_t recs = len / OTLS_DATA_MAX + (len % OTLS_DATA_MAX != 0);

	*need = 0;
	if (recs > (SIZE_MAX - len) / OTLS_REC_HDR)
		return ERR_TOO_LONG;
	*need = len + recs * OTLS_REC_HDR;
	return 0;
}

void
otls_reader_init(struct otls_reader *r, int server)
{
	memset(r, 0, sizeof(*r));
	r->server = server != 0;
	r->step = STEP_SERVER_HELLO;
}

/* A record header: what gost's client parser accepts at this step. */
static int
reader_header(struct otls_reader *r, const unsigned char *p)
{
	static const unsigned char types[] = {
		TLS_CT_HANDSHAKE, TLS_CT_CCS, TLS_CT_HANDSHAKE, TLS_CT_APPDATA
	};
	static const unsigned char minors[] = { 0x01, 0x03, 0x03, 0x03 };
	size_t len = (size_t)p[3] << 8 | p[4];

	r->skip = 0;
	if (r->server) {
		/* gost's server takes any record's body as data. */
		if (len > OTLS_DATA_MAX)
			return ERR_TOO_LONG;
		r->left = len;
		return 0;
	}
	if (p[0] != types[r->step])
		return ERR_FORMAT;
	if (p[1] != 0x03 || p[2] != minors[r->step])
		return ERR_VERSION;
	/*
	 * gost's client skips the ServerHello as 91 bytes and the CCS as
	 * one byte whatever their length fields say; we do the same so the
	 * stream stays in step with a v2 server.
	 */
	if (r->step == STEP_SERVER_HELLO) {
		r->left = OTLS_SERVER_HELLO_LEN;
		r->skip = 1;
	} else if (r->step == STEP_CCS) {
		r->left = 1;
		r->skip = 1;
	} else if (len > OTLS_DATA_MAX)
		return ERR_TOO_LONG;
	else
		r->left = len;
	return 0;
}

static void
reader_next(struct otls_reader *r)
{
	if (!r->server && r->step < STEP_APPDATA)
		r->step++;
}

int
otls_read(struct otls_reader *r, const unsigned char *in, size_t inlen,
    size_t *used, unsigned char *out, size_t outlen, size_t *olen)
{
	size_t i = 0, o = 0, n;
	int rv;

	*used = 0;
	*olen = 0;
	if (r->err != 0)
		return r->err;
	for (;;) {
		if (r->left == 0) {
			if (inlen - i < OTLS_REC_HDR)
				break;
			if ((rv = reader_header(r, in + i)) != 0) {
				r->err = rv;
				return rv;
			}
			i += OTLS_REC_HDR;
			if (r->left == 0) {
				reader_next(r);
				continue;
			}
		}
		n = inlen - i < r->left ? inlen - i : r->left;
		if (!r->skip) {
			if (n > outlen - o)
				n = outlen - o;
			if (n > 0)
				memcpy(out + o, in + i, n);
			o += n;
		}
		if (n == 0)
			break;
		i += n;
		r->left -= n;
		if (r->left == 0)
			reader_next(r);
	}
	*used = i;
	*olen = o;
	return 0;
}

int
otls_read_eof(const struct otls_reader *r, size_t inlen)
{
	if (r->err != 0)
		return r->err;
	return r->left == 0 && inlen == 0 ? 0 : ERR_INCOMPLETE;
}
