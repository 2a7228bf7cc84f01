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

#endif
