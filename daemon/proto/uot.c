/*
 * OSTP UDP-over-TCP carrier: framing, classification, the v5 HTTP
 * upgrade and the decoy (spec ostp.md 2.13), junk datagrams (2.3).
 * Upgrade heads are at most UOT_HEAD_MAX bytes; every line must end in
 * CRLF, and a bare CR, a bare LF or a control character fails a head
 * as soon as it arrives, so that no reverse proxy in front of us can
 * split the lines differently.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "err.h"
#include "proto/uot.h"
#include "proto/ws.h"
#include "proto/text.h"

enum uot_class
uot_classify(unsigned char first)
{
	if (first <= 0x05)
		return UOT_CLASS_UOT;
	if (first == 0x16)
		return UOT_CLASS_TLS;
	if (first >= 'A' && first <= 'Z')
		return UOT_CLASS_HTTP;
	return UOT_CLASS_OTHER;
}

void
uot_reader_init(struct uot_reader *r)
{
	r->hdrhave = 0;
	r->have = 0;
	r->need = 0;
}

int
uot_reader_pending(const struct uot_reader *r)
{
	return r->hdrhave != 0;
}

int
uot_reader_feed(struct uot_reader *r, const unsigned char *p, size_t len,
    size_t *used, const unsigned char **frame, size_t *framelen)
{
	size_t off = 0, n;

	*used = 0;
	*frame = NULL;
	*framelen = 0;
	/* the common case: a whole frame in what was read, no copy */
	if (r->hdrhave == 0 && len >= UOT_HDR_LEN) {
		n = (size_t)p[0] << 8 | p[1];
		if (len - UOT_HDR_LEN >= n) {
			*frame = p + UOT_HDR_LEN;
			*framelen = n;
			*used = UOT_HDR_LEN + n;
			return 1;
		}
	}
	while (r->hdrhave < UOT_HDR_LEN && off < len)
		r->hdr[r->hdrhave++] = p[off++];
	if (r->hdrhave < UOT_HDR_LEN) {
		*used = off;
		return 0;
	}
	if (r->have == 0)
		r->need = (size_t)r->hdr[0] << 8 | r->hdr[1];
	n = r->need - r->have;
	if (n > len - off)
		n = len - off;
	memcpy(r->buf + r->have, p + off, n);
	r->have += n;
	off += n;
	*used = off;
	if (r->have < r->need)
		return 0;
	*frame = r->buf;
	*framelen = r->need;
	r->hdrhave = 0;
	r->have = 0;
	return 1;
}

int
uot_frame_parse(const unsigned char *p, size_t len,
    const unsigned char **frame, size_t *framelen, size_t *used)
{
	size_t n;

	*frame = NULL;
	*framelen = 0;
	*used = 0;
	if (len < UOT_HDR_LEN)
		return ERR_INCOMPLETE;
	n = (size_t)p[0] << 8 | p[1];
	if (len - UOT_HDR_LEN < n)
		return ERR_INCOMPLETE;
	*frame = p + UOT_HDR_LEN;
	*framelen = n;
	*used = UOT_HDR_LEN + n;
	return 0;
}

int
uot_frame_header(unsigned char out[UOT_HDR_LEN], size_t len)
{
	if (len > UOT_FRAME_MAX)
		return ERR_TOO_LONG;
	out[0] = (unsigned char)(len >> 8);
	out[1] = (unsigned char)len;
	return 0;
}

/* Printable ASCII without spaces: safe inside a request line or header. */
static int
visible(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/* The last entry of a comma-separated value, trimmed. */
static void
last_entry(const struct text_field *f, const char **v, size_t *vlen)
{
	const char *s = f->val, *e = f->val + f->vallen, *c;

	for (c = e; c > s && c[-1] != ','; c--)
		;
	while (c < e && (*c == ' ' || *c == '\t'))
		c++;
	*v = c;
	*vlen = (size_t)(e - c);
}

/* A forwarded address as sent, or empty when it cannot be one. */
static void
copy_addr(char dst[UOT_ADDR_MAX + 1], const char *v, size_t len)
{
	size_t i;

	dst[0] = '\0';
	if (len == 0 || len > UOT_ADDR_MAX)
		return;
	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e)
			return;
	memcpy(dst, v, len);
	dst[len] = '\0';
}

/*
 * Whether the request-target a (alen bytes) is path, in time that does
 * not depend on where they differ or on the secret path's length: both
 * are hashed and the digests compared.
 */
static int
path_equal(const char *a, size_t alen, const char *path)
{
	unsigned char da[32], dp[32];
	unsigned int la = 0, lp = 0;
	int ok;

	ok = EVP_Digest(a, alen, da, &la, EVP_sha256(), NULL) == 1 &&
	    EVP_Digest(path, strlen(path), dp, &lp, EVP_sha256(), NULL) == 1 &&
	    la == sizeof(da) && lp == sizeof(dp) &&
	    CRYPTO_memcmp(da, dp, sizeof(da)) == 0;
	return ok;
}

int
uot_build_upgrade_request(char *out, size_t outlen, size_t *olen,
    const char *path, const char *host, const unsigned char key[UOT_KEY_LEN])
{
	char k[WS_KEY_B64_LEN + 1];
	int n;

	*olen = 0;
	if (path[0] != '/' || !visible(path) || !visible(host))
		return ERR_FORMAT;
	ws_key_encode(key, k);
	n = snprintf(out, outlen, "GET %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "\r\n", path, host, k);
	if (n < 0 || (size_t)n >= outlen)
		return ERR_NO_SPACE;
	*olen = (size_t)n;
	return 0;
}

int
uot_parse_upgrade_response(const unsigned char *p, size_t len,
    const unsigned char key[UOT_KEY_LEN], size_t *headlen, int *status)
{
	char k[WS_KEY_B64_LEN + 1], want[WS_ACCEPT_B64_LEN + 1];
	const char *s = (const char *)p, *cur, *end, *eol;
	struct text_field f;
	size_t hlen;
	int e, accept = 0;

	*headlen = 0;
	*status = 0;
	if ((e = text_head_scan(p, len, UOT_HEAD_MAX, &hlen)) != 0)
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
	if (*status != 101)
		return ERR_DENIED;
	ws_key_encode(key, k);
	if ((e = ws_accept_value(k, WS_KEY_B64_LEN, want)) != 0)
		return e;
	/* spec 2.13: the client checks the status and the accept value */
	for (cur = eol + 2; (e = text_next_field(&cur, end, &f)) == 1;) {
		if (!text_field_is(&f, "Sec-WebSocket-Accept"))
			continue;
		if (accept++ > 0 || f.vallen != WS_ACCEPT_B64_LEN ||
		    memcmp(f.val, want, WS_ACCEPT_B64_LEN) != 0)
			return ERR_FORMAT;
	}
	if (e < 0 || !accept)
		return ERR_FORMAT;
	return 0;
}

int
uot_parse_upgrade(const unsigned char *p, size_t len, const char *path,
    struct uot_upgrade *u)
{
	const char *s = (const char *)p, *cur, *end, *eol, *sp1, *sp2, *v;
	struct text_field f;
	size_t hlen, vlen;
	int e, ok = 1, upgrade = 0, connection = 0, keys = 0;

	memset(u, 0, sizeof(*u));
	if ((e = text_head_scan(p, len, UOT_HEAD_MAX, &hlen)) != 0)
		return e;
	end = s + hlen;
	eol = memchr(s, '\r', hlen);
	/* method SP request-target SP HTTP/1.x */
	if ((sp1 = memchr(s, ' ', (size_t)(eol - s))) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1))) == NULL ||
	    sp2 == sp1 + 1 || eol - sp2 - 1 != 8 ||
	    memcmp(sp2 + 1, "HTTP/1.", 7) != 0 || sp2[8] < '0' ||
	    sp2[8] > '9')
		return ERR_FORMAT;
	if (sp1 - s != 3 || memcmp(s, "GET", 3) != 0 || sp2[8] == '0')
		ok = 0;
	/* hashed whatever the method, so a probe learns nothing from time */
	if (!path_equal(sp1 + 1, (size_t)(sp2 - sp1 - 1), path))
		ok = 0;
	for (cur = eol + 2; (e = text_next_field(&cur, end, &f)) == 1;) {
		if (text_field_is(&f, "Upgrade"))
			upgrade |= f.vallen == 9 &&
			    strncasecmp(f.val, "websocket", 9) == 0;
		else if (text_field_is(&f, "Connection"))
			connection |= text_has_token(&f, "upgrade");
		else if (text_field_is(&f, "Sec-WebSocket-Key")) {
			/* two keys: which one a proxy passed is unclear */
			if (keys++ > 0 || f.vallen == 0 ||
			    f.vallen > UOT_KEY_B64_MAX)
				ok = 0;
			else {
				memcpy(u->key, f.val, f.vallen);
				u->key[f.vallen] = '\0';
			}
		} else if (text_field_is(&f, "X-Real-IP"))
			copy_addr(u->real_ip, f.val, f.vallen);
		else if (text_field_is(&f, "X-Forwarded-For")) {
			last_entry(&f, &v, &vlen);
			copy_addr(u->forwarded, v, vlen);
		}
	}
	if (e < 0) {
		memset(u, 0, sizeof(*u));
		return ERR_FORMAT;
	}
	u->headlen = hlen;
	if (!ok || !upgrade || !connection || keys != 1) {
		u->key[0] = '\0';
		return ERR_DENIED;
	}
	return 0;
}

int
uot_build_upgrade_response(char *out, size_t outlen, size_t *olen,
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

#define UOT_DECOY_BODY \
	"<html>\r\n<head><title>404 Not Found</title></head>\r\n" \
	"<body>\r\n<center><h1>404 Not Found</h1></center>\r\n" \
	"</body>\r\n</html>\r\n"

int
uot_build_decoy(char *out, size_t outlen, size_t *olen)
{
	int n;

	*olen = 0;
	n = snprintf(out, outlen, "HTTP/1.1 404 Not Found\r\n"
	    "Content-Type: text/html\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n"
	    "\r\n"
	    "%s", sizeof(UOT_DECOY_BODY) - 1, UOT_DECOY_BODY);
	if (n < 0 || (size_t)n >= outlen)
		return ERR_NO_SPACE;
	*olen = (size_t)n;
	return 0;
}

static size_t
junk_clamp(size_t n)
{
	if (n < UOT_JUNK_MIN)
		return UOT_JUNK_MIN;
	if (n > UOT_JUNK_MAX)
		return UOT_JUNK_MAX;
	return n;
}

size_t
uot_junk_size(size_t min, size_t max, uint32_t rnd)
{
	min = junk_clamp(min);
	max = junk_clamp(max);
	if (max < min)
		max = min;
	return min + rnd % (max - min + 1);
}

int
uot_junk_build(unsigned char *out, size_t outlen,
    const unsigned char marker[UOT_JUNK_MARKER_LEN], size_t len)
{
	if (len < UOT_JUNK_MIN || len > UOT_JUNK_MAX)
		return ERR_FORMAT;
	if (outlen < len)
		return ERR_NO_SPACE;
	memcpy(out, marker, UOT_JUNK_MARKER_LEN);
	if (RAND_bytes(out + UOT_JUNK_MARKER_LEN,
	    (int)(len - UOT_JUNK_MARKER_LEN)) != 1)
		return ERR_INTERNAL;
	return 0;
}
