/*
 * TLS ClientHello inspection (RFC 8446 4.1.2, RFC 6066 3) for the SNI
 * proxy, gost's 0xfffe server name obfuscation, and the Host header of
 * the plain HTTP fallback.
 *
 * Only a ClientHello that fits in ONE TLS record is supported: a hello
 * whose handshake length runs past its first record is refused with
 * ERR_TOO_LONG.  Browsers send the hello in one record (a 16 KiB
 * fragment holds even post-quantum key shares), and reassembly would
 * let a client make us buffer up to 16 MiB.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "compat.h"
#include "buf.h"
#include "err.h"
#include "sni.h"
#include "text.h"

#define TLS_CT_HANDSHAKE	0x16
#define TLS_HS_CLIENT_HELLO	0x01
#define TLS_HS_HDR		4
#define TLS_HELLO_OFF		(SNI_RECORD_HDR + TLS_HS_HDR)
#define TLS_RANDOM_LEN		32
#define TLS_SESSION_ID_MAX	32
#define TLS_EXT_HDR		4
#define SNI_NAME_TYPE_HOST	0
#define DNS_LABEL_MAX		63

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static int
is_hex(int c)
{
	return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	    (c >= '0' && c <= '9');
}

/*
 * A host name as RFC 6066 3 wants it in server_name: LDH labels of 1-63
 * bytes separated by dots, no trailing dot.  Anything else could smuggle
 * separators or control characters into a dial string or a log line.
 */
static int
host_valid(const char *s, size_t len)
{
	size_t i, lab = 0;

	if (len == 0 || len > SNI_HOST_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (lab == 0)
				return 0;
			lab = 0;
			continue;
		}
		if (!is_alnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
		if (++lab > DNS_LABEL_MAX)
			return 0;
	}
	return lab != 0;
}

uint32_t
sni_crc32(const unsigned char *p, size_t len)
{
	uint32_t c = 0xffffffffU;
	size_t i;
	int k;

	/* Bitwise: names are short, a table would be 1 KiB for nothing. */
	for (i = 0; i < len; i++) {
		c ^= p[i];
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ ((c & 1) ? 0xedb88320U : 0);
	}
	return ~c;
}

/* out must hold SNI_B64_LEN(len) + 1 bytes. */
static size_t
b64_encode(const unsigned char *in, size_t len, char *out)
{
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
		out[o++] = b64url[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Strict base64url without padding: stray bits in the last character
 * are refused, so that each name has exactly one encoding.
 */
static int
b64_decode(const char *in, size_t len, unsigned char *out, size_t outlen,
    size_t *olen)
{
	size_t i, o = 0;
	uint32_t acc = 0;
	int bits = 0, v;

	*olen = 0;
	if (len % 4 == 1)
		return ERR_FORMAT;
	if (len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1) > outlen)
		return ERR_TOO_LONG;
	for (i = 0; i < len; i++) {
		if ((v = b64_value((unsigned char)in[i])) < 0)
			return ERR_FORMAT;
		acc = ((acc << 6) | (uint32_t)v) & 0xfff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (acc >> bits) & 0xff;
		}
	}
	if (bits > 0 && (acc & ((1U << bits) - 1)) != 0)
		return ERR_FORMAT;
	*olen = o;
	return 0;
}

int
sni_encode_gost_name(const char *name, char *out, size_t outlen)
{
	unsigned char raw[4 + SNI_B64_LEN(SNI_GOST_NAME_MAX) + 1];
	size_t n = strlen(name), m;
	uint32_t crc;

	if (outlen > 0)
		out[0] = '\0';
	if (n == 0)
		return ERR_FORMAT;
	if (n > SNI_GOST_NAME_MAX)
		return ERR_TOO_LONG;
	crc = sni_crc32((const unsigned char *)name, n);
	raw[0] = crc >> 24;
	raw[1] = (crc >> 16) & 0xff;
	raw[2] = (crc >> 8) & 0xff;
	raw[3] = crc & 0xff;
	m = b64_encode((const unsigned char *)name, n, (char *)raw + 4);
	if (SNI_B64_LEN(4 + m) >= outlen)
		return ERR_NO_SPACE;
	b64_encode(raw, 4 + m, out);
	return 0;
}

int
sni_decode_gost_name(const char *in, size_t inlen, char *out, size_t outlen)
{
	unsigned char raw[4 + SNI_B64_LEN(SNI_GOST_NAME_MAX)];
	unsigned char name[SNI_GOST_NAME_MAX];
	size_t rawlen, n, i;
	uint32_t crc;
	int r;

	if (outlen > 0)
		out[0] = '\0';
	if ((r = b64_decode(in, inlen, raw, sizeof(raw), &rawlen)) != 0)
		return r;
	if (rawlen <= 4)
		return ERR_FORMAT;
	if ((r = b64_decode((const char *)raw + 4, rawlen - 4, name,
	    sizeof(name), &n)) != 0)
		return r;
	crc = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 |
	    (uint32_t)raw[2] << 8 | raw[3];
	if (crc != sni_crc32(name, n))
		return ERR_FORMAT;
	/* The name ends up in a dial string and in logs. */
	for (i = 0; i < n; i++)
		if (name[i] < 0x21 || name[i] > 0x7e)
			return ERR_FORMAT;
	if (n >= outlen)
		return ERR_NO_SPACE;
	memcpy(out, name, n);
	out[n] = '\0';
	return 0;
}

/* server_name (RFC 6066 3): a non-empty list, at most one host_name. */
static int
parse_server_name(struct buf *ext, struct sni_hello *h)
{
	struct buf list, name;
	uint8_t type;

	if (buf_get_vec(ext, 2, &list) != 0 || buf_len(ext) != 0 ||
	    buf_len(&list) == 0)
		return ERR_FORMAT;
	while (buf_len(&list) > 0) {
		if (buf_get_u8(&list, &type) != 0 ||
		    buf_get_vec(&list, 2, &name) != 0 || buf_len(&name) == 0)
			return ERR_FORMAT;
		if (type != SNI_NAME_TYPE_HOST)
			continue;
		if (h->host[0] != '\0' ||
		    !host_valid((const char *)buf_ptr(&name), buf_len(&name)))
			return ERR_FORMAT;
		memcpy(h->host, buf_ptr(&name), buf_len(&name));
		h->host[buf_len(&name)] = '\0';
	}
	return 0;
}

/*
 * gost's extension: a name that does not decode is not an error, gost
 * then routes by SNI and forwards the extension untouched.
 */
static void
parse_gost_ext(struct buf *ext, struct sni_hello *h)
{
	char name[SNI_GOST_NAME_MAX + 1];

	if (sni_decode_gost_name((const char *)buf_ptr(ext), buf_len(ext),
	    name, sizeof(name)) != 0 || !host_valid(name, strlen(name)))
		return;
	memcpy(h->gost_host, name, strlen(name) + 1);
}

int
sni_parse(const unsigned char *p, size_t len, struct sni_hello *h)
{
	struct buf body, v, exts, ext;
	size_t reclen, hslen, off;
	uint16_t u16, type;

	memset(h, 0, sizeof(*h));
	/*
	 * Decide as early as the bytes allow: the caller falls back to
	 * HTTP when the first byte is not a handshake record.
	 */
	if (len < 1)
		return ERR_INCOMPLETE;
	if (p[0] != TLS_CT_HANDSHAKE || (len > 1 && p[1] != 3))
		return ERR_FORMAT;
	if (len > SNI_RECORD_HDR && p[SNI_RECORD_HDR] != TLS_HS_CLIENT_HELLO)
		return ERR_FORMAT;
	if (len < TLS_HELLO_OFF)
		return ERR_INCOMPLETE;
	reclen = (size_t)p[3] << 8 | p[4];
	if (reclen > SNI_FRAGMENT_MAX)
		return ERR_TOO_LONG;
	if (reclen < TLS_HS_HDR)
		return ERR_FORMAT;
	hslen = (size_t)p[6] << 16 | (size_t)p[7] << 8 | p[8];
	if (hslen > reclen - TLS_HS_HDR)
		return ERR_TOO_LONG;	/* continues in another record */
	/* A client sends nothing after its hello before ServerHello. */
	if (hslen < reclen - TLS_HS_HDR)
		return ERR_FORMAT;
	if (len - SNI_RECORD_HDR < reclen)
		return ERR_INCOMPLETE;
	h->hello_len = SNI_RECORD_HDR + reclen;

	buf_view(&body, p + TLS_HELLO_OFF, hslen);
	if (buf_get_u16(&body, &u16) != 0 || u16 >> 8 != 3 ||
	    buf_consume(&body, TLS_RANDOM_LEN) != 0)
		return ERR_FORMAT;
	if (buf_get_vec(&body, 1, &v) != 0 || buf_len(&v) > TLS_SESSION_ID_MAX)
		return ERR_FORMAT;
	if (buf_get_vec(&body, 2, &v) != 0 || buf_len(&v) < 2 ||
	    buf_len(&v) % 2 != 0)
		return ERR_FORMAT;
	if (buf_get_vec(&body, 1, &v) != 0 || buf_len(&v) < 1)
		return ERR_FORMAT;
	/* Extensions are optional before TLS 1.3 (RFC 5246 7.4.1.2). */
	if (buf_len(&body) == 0)
		return 0;
	h->ext_off = (size_t)(buf_ptr(&body) - p);
	if (buf_get_vec(&body, 2, &exts) != 0 || buf_len(&body) != 0)
		return ERR_FORMAT;
	/*
	 * Duplicates are checked for the two extensions we act on; the
	 * target server enforces RFC 8446 4.2 for the others.
	 */
	while (buf_len(&exts) > 0) {
		off = (size_t)(buf_ptr(&exts) - p);
		if (buf_get_u16(&exts, &type) != 0 ||
		    buf_get_vec(&exts, 2, &ext) != 0)
			return ERR_FORMAT;
		if (type == SNI_EXT_SERVER_NAME) {
			if (h->sni_off != 0)
				return ERR_FORMAT;
			h->sni_off = off;
			h->sni_len = TLS_EXT_HDR + buf_len(&ext);
			if (parse_server_name(&ext, h) != 0)
				return ERR_FORMAT;
		} else if (type == SNI_EXT_GOST) {
			if (h->gost_off != 0)
				return ERR_FORMAT;
			h->gost_off = off;
			h->gost_len = TLS_EXT_HDR + buf_len(&ext);
			parse_gost_ext(&ext, h);
		}
	}
	return 0;
}

/*
 * The extensions block is the last field of the hello, so the three
 * lengths follow from the hello's total length alone.
 */
static void
set_lengths(unsigned char *p, size_t hello_len, size_t ext_off)
{
	be16enc(p + 3, hello_len - SNI_RECORD_HDR);
	be24enc(p + 6, hello_len - TLS_HELLO_OFF);
	be16enc(p + ext_off, hello_len - ext_off - 2);
}

int
sni_strip_gost_ext(unsigned char *p, size_t *lenp, struct sni_hello *h)
{
	struct sni_hello cur;
	size_t len = *lenp;
	int r;

	/* The offsets come from the caller: hold them against the bytes. */
	if ((r = sni_parse(p, len, &cur)) != 0)
		return r;
	if (cur.hello_len != h->hello_len || cur.ext_off != h->ext_off ||
	    cur.gost_off != h->gost_off || cur.gost_len != h->gost_len)
		return ERR_INTERNAL;
	if (cur.gost_off == 0)
		return 0;
	memmove(p + cur.gost_off, p + cur.gost_off + cur.gost_len,
	    len - cur.gost_off - cur.gost_len);
	set_lengths(p, cur.hello_len - cur.gost_len, cur.ext_off);
	*lenp = len - cur.gost_len;
	/*
	 * Removing a whole extension keeps every length consistent, so
	 * this parse fails only on a bug.  Note that a TLS 1.3 PSK binder
	 * covers the hello: resumption through gost's obfuscation fails
	 * the binder check, as it does with gost itself.
	 */
	if (sni_parse(p, *lenp, h) != 0)
		return ERR_INTERNAL;
	memcpy(h->gost_host, cur.gost_host, sizeof(h->gost_host));
	return 0;
}

int
sni_obfuscate(const unsigned char *p, size_t len, const struct sni_hello *h,
    const char *fake, unsigned char *out, size_t outlen, size_t *olen)
{
	struct sni_hello cur;
	char enc[SNI_GOST_ENC_MAX];
	size_t fakelen, enclen, snilen, total, o, tail;
	int r;

	*olen = 0;
	if ((r = sni_parse(p, len, &cur)) != 0)
		return r;
	if (cur.hello_len != h->hello_len || cur.sni_off != h->sni_off ||
	    cur.sni_len != h->sni_len)
		return ERR_INTERNAL;
	/* Nothing to hide without SNI; a second 0xfffe would be refused. */
	if (cur.host[0] == '\0' || cur.gost_off != 0)
		return ERR_FORMAT;
	fakelen = strlen(fake);
	if (!host_valid(fake, fakelen))
		return ERR_FORMAT;
	if ((r = sni_encode_gost_name(cur.host, enc, sizeof(enc))) != 0)
		return r;
	enclen = strlen(enc);
	/* header, list length, name type, name length, name */
	snilen = TLS_EXT_HDR + 2 + 1 + 2 + fakelen;
	total = cur.hello_len - cur.sni_len + snilen + TLS_EXT_HDR + enclen;
	if (total - SNI_RECORD_HDR > SNI_FRAGMENT_MAX)
		return ERR_TOO_LONG;
	if (total > outlen)
		return ERR_NO_SPACE;

	memcpy(out, p, cur.sni_off);
	o = cur.sni_off;
	be16enc(out + o, SNI_EXT_SERVER_NAME);
	be16enc(out + o + 2, snilen - TLS_EXT_HDR);
	be16enc(out + o + 4, snilen - TLS_EXT_HDR - 2);
	out[o + 6] = SNI_NAME_TYPE_HOST;
	be16enc(out + o + 7, fakelen);
	memcpy(out + o + 9, fake, fakelen);
	o += snilen;
	tail = cur.hello_len - cur.sni_off - cur.sni_len;
	memcpy(out + o, p + cur.sni_off + cur.sni_len, tail);
	o += tail;
	/* Appended last, where gost puts it. */
	be16enc(out + o, SNI_EXT_GOST);
	be16enc(out + o + 2, enclen);
	memcpy(out + o + TLS_EXT_HDR, enc, enclen);
	set_lengths(out, total, cur.ext_off);
	if (sni_parse(out, total, &cur) != 0)
		return ERR_INTERNAL;
	*olen = total;
	return 0;
}

/* host, host:port, [v6] or [v6]:port (RFC 9110 7.2, RFC 3986 3.2.2) */
static int
split_authority(const unsigned char *s, size_t len, char *host,
    size_t hostlen, uint16_t *port)
{
	const unsigned char *h, *he, *ps = NULL, *pe = s + len, *c;
	unsigned long v = 0;
	size_t hl;
	int colons = 0;

	if (len == 0)
		return ERR_FORMAT;
	if (s[0] == '[') {
		if ((he = memchr(s, ']', len)) == NULL)
			return ERR_FORMAT;
		h = s + 1;
		if (he + 1 < pe) {
			if (he[1] != ':')
				return ERR_FORMAT;
			ps = he + 2;
		}
		for (c = h; c < he; c++) {
			if (*c == ':')
				colons++;
			else if (!is_hex(*c) && *c != '.')
				return ERR_FORMAT;
		}
		if (colons < 2)
			return ERR_FORMAT;
	} else {
		h = s;
		if ((he = memchr(s, ':', len)) != NULL)
			ps = he + 1;
		else
			he = pe;
		for (c = h; c < he; c++)
			if (!is_alnum(*c) && *c != '-' && *c != '.' &&
			    *c != '_')
				return ERR_FORMAT;
	}
	hl = (size_t)(he - h);
	if (hl == 0 || hl > SNI_HOST_MAX)
		return ERR_FORMAT;
	if (hl >= hostlen)
		return ERR_NO_SPACE;
	if (ps != NULL) {
		if (ps == pe || pe - ps > 5)
			return ERR_FORMAT;
		for (c = ps; c < pe; c++) {
			if (*c < '0' || *c > '9')
				return ERR_FORMAT;
			v = v * 10 + (unsigned long)(*c - '0');
		}
		if (v == 0 || v > 65535)
			return ERR_FORMAT;
		*port = (uint16_t)v;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	return 0;
}

int
sni_http_host(const unsigned char *p, size_t len, char *host,
    size_t hostlen, uint16_t *port)
{
	const unsigned char *line, *eol, *end, *colon, *vs, *ve, *c;
	const unsigned char *hv = NULL, *hve = NULL;
	size_t hlen, i;

	if (hostlen > 0)
		host[0] = '\0';
	*port = 0;
	if (len > SNI_HTTP_HEAD_MAX)
		len = SNI_HTTP_HEAD_MAX;
	if ((hlen = text_head_end(p, len)) == 0)
		return len >= SNI_HTTP_HEAD_MAX ? ERR_TOO_LONG :
		    ERR_INCOMPLETE;
	for (i = 0; i < hlen; i++) {
		/* bare CR is refused: it splits lines differently elsewhere */
		if (p[i] == '\r' && (i + 1 == hlen || p[i + 1] != '\n'))
			return ERR_FORMAT;
		if ((p[i] < 0x20 && p[i] != '\r' && p[i] != '\n' &&
		    p[i] != '\t') || p[i] == 0x7f)
			return ERR_FORMAT;
	}
	end = p + hlen;

	/* The request line ends in "HTTP/1.x"; the rest is not ours. */
	eol = memchr(p, '\n', hlen);
	if (eol > p && eol[-1] == '\r')
		ve = eol - 1;
	else
		ve = eol;
	if (ve - p < 10 || memcmp(ve - 9, " HTTP/1.", 8) != 0 ||
	    ve[-1] < '0' || ve[-1] > '9')
		return ERR_FORMAT;

	for (line = eol + 1; line < end; line = eol + 1) {
		eol = memchr(line, '\n', (size_t)(end - line));
		ve = eol > line && eol[-1] == '\r' ? eol - 1 : eol;
		if (ve == line)
			break;			/* the empty line */
		if (*line == ' ' || *line == '\t')
			return ERR_FORMAT;	/* obsolete folding */
		if ((colon = memchr(line, ':', (size_t)(ve - line))) == NULL ||
		    colon == line)
			return ERR_FORMAT;
		for (c = line; c < colon; c++)
			if (!text_tchar(*c))
				return ERR_FORMAT;
		if (colon - line != 4 || strncasecmp((const char *)line,
		    "host", 4) != 0)
			continue;
		/* RFC 9112 3.2: more than one Host is an error. */
		if (hv != NULL)
			return ERR_FORMAT;
		for (vs = colon + 1; vs < ve && (*vs == ' ' || *vs == '\t');
		    vs++)
			;
		while (ve > vs && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		hv = vs;
		hve = ve;
	}
	if (hv == NULL)
		return ERR_FORMAT;
	return split_authority(hv, (size_t)(hve - hv), host, hostlen, port);
}
