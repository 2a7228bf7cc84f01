/*
 * What the codecs that read text share: HTTP's token characters and
 * the end of its head (http, the obfs-http and gost SNI heads, the
 * UoT and WebSocket upgrades), strict UTF-8 (OSTP, WebSocket).  Pure
 * functions of their bytes, inline.
 */
#ifndef OSTP_PROTO_TEXT_H
#define OSTP_PROTO_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "err.h"

/* A tchar of RFC 9110 5.6.2: what a method or a field name is made of. */
static inline int
text_tchar(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/*
 * The length of an HTTP head up to and with its empty line (LF LF or
 * LF CR LF), or 0 when p (len bytes) holds none yet.
 */
static inline size_t
text_head_end(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/*
 * Well-formed UTF-8 (RFC 3629, as Rust's str::from_utf8): no overlong
 * forms, no surrogates, nothing past U+10FFFF.
 */
static inline int
text_utf8_valid(const unsigned char *p, size_t len)
{
	size_t i = 0, n, k;
	uint32_t c, min;

	while (i < len) {
		c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			c &= 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			c &= 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			c &= 0x07;
			min = 0x10000;
		} else
			return 0;
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (p[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/*
 * A field line of an HTTP head that text_head_scan checked: its name
 * and its value without surrounding whitespace (neither ends in NUL).
 */
struct text_field {
	const char	*name;
	size_t		 namelen;
	const char	*val;
	size_t		 vallen;
};

/*
 * Find the end of a head in p[0..len), at most max bytes: 0 with
 * *hlen, ERR_INCOMPLETE, ERR_TOO_LONG, or ERR_FORMAT as soon as a bare
 * CR or LF or a control character shows (lines split differently by
 * the next parser are how requests are smuggled).  The upgrades of
 * WebSocket and UoT read their heads so.
 */
static inline int
text_head_scan(const unsigned char *p, size_t len, size_t max, size_t *hlen)
{
	size_t i, n = len < max ? len : max;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = p[i];
		if (c == '\n') {
			if (i == 0 || p[i - 1] != '\r')
				return ERR_FORMAT;
			/* p[i - 2] == '\n' implies p[i - 3] == '\r' */
			if (i >= 3 && p[i - 2] == '\n') {
				*hlen = i + 1;
				return 0;
			}
		} else if (c == '\r') {
			if (i + 1 < n && p[i + 1] != '\n')
				return ERR_FORMAT;
		} else if ((c < 0x20 && c != '\t') || c == 0x7f)
			return ERR_FORMAT;
	}
	return len >= max ? ERR_TOO_LONG : ERR_INCOMPLETE;
}

/*
 * The next field line of a head checked by text_head_scan: 1 with f,
 * 0 at the empty line, ERR_FORMAT.  Obsolete line folding and
 * whitespace before the colon are refused (RFC 9112 5.1, 5.2).
 */
static inline int
text_next_field(const char **cur, const char *end, struct text_field *f)
{
	const char *line = *cur, *eol, *c, *vs, *ve;

	/* text_head_scan saw that every CR is followed by LF */
	if ((eol = memchr(line, '\r', (size_t)(end - line))) == NULL)
		return ERR_FORMAT;
	if (eol == line)
		return 0;
	*cur = eol + 2;
	for (c = line; c < eol && text_tchar((unsigned char)*c); c++)
		;
	if (c == line || c == eol || *c != ':')
		return ERR_FORMAT;
	for (vs = c + 1; vs < eol && (*vs == ' ' || *vs == '\t'); vs++)
		;
	for (ve = eol; ve > vs && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
		;
	f->name = line;
	f->namelen = (size_t)(c - line);
	f->val = vs;
	f->vallen = (size_t)(ve - vs);
	return 1;
}

/* Whether the field is called name (case-insensitive). */
static inline int
text_field_is(const struct text_field *f, const char *name)
{
	size_t n = strlen(name);

	return f->namelen == n && strncasecmp(f->name, name, n) == 0;
}

/* Whether the comma-separated value holds token (case-insensitive). */
static inline int
text_has_token(const struct text_field *f, const char *token)
{
	const char *p = f->val, *e = f->val + f->vallen, *s, *t;
	size_t tl = strlen(token);

	while (p < e) {
		while (p < e && (*p == ',' || *p == ' ' || *p == '\t'))
			p++;
		s = p;
		while (p < e && *p != ',')
			p++;
		for (t = p; t > s && (t[-1] == ' ' || t[-1] == '\t'); t--)
			;
		if ((size_t)(t - s) == tl && strncasecmp(s, token, tl) == 0)
			return 1;
	}
	return 0;
}

#endif
