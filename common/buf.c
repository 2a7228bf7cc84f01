#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"

struct buf *
buf_new(void)
{
	struct buf *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	buf_init(b);
	return b;
}

void
buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
	b->max = BUF_MAX_DEFAULT;
}

void
buf_view(struct buf *b, const void *p, size_t len)
{
	buf_init(b);
	b->d = (unsigned char *)p;
	b->size = b->alloc = b->max = len;
	b->readonly = 1;
}

void
buf_release(struct buf *b)
{
	if (b == NULL)
		return;
	if (!b->readonly && b->d != NULL) {
		explicit_bzero(b->d, b->alloc);
		free(b->d);
	}
	buf_init(b);
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	buf_release(b);
	free(b);
}

void
buf_reset(struct buf *b)
{
	if (b->readonly) {
		b->off = 0;
		return;
	}
	b->off = b->size = 0;
}

int
buf_set_max(struct buf *b, size_t max)
{
	if (max < b->size)
		return ERR_NO_SPACE;
	b->max = max;
	return 0;
}

size_t
buf_len(const struct buf *b)
{
	return b->size - b->off;
}

const unsigned char *
buf_ptr(const struct buf *b)
{
	return b->d == NULL ? (const unsigned char *)"" : b->d + b->off;
}

int
buf_consume(struct buf *b, size_t n)
{
	if (n > buf_len(b))
		return ERR_INCOMPLETE;
	b->off += n;
	if (b->off == b->size && !b->readonly)
		b->off = b->size = 0;
	return 0;
}

int
buf_reserve(struct buf *b, size_t n, unsigned char **dp)
{
	size_t need, nalloc;
	unsigned char *nd;

	if (b->readonly)
		return ERR_INTERNAL;
	if (n > b->max || b->size - b->off > b->max - n)
		return ERR_NO_SPACE;
	/* Compact before growing: consumed bytes are dead. */
	if (b->off > 0 && b->size + n > b->alloc) {
		memmove(b->d, b->d + b->off, b->size - b->off);
		b->size -= b->off;
		b->off = 0;
	}
	need = b->size + n;
	if (need > b->alloc) {
		nalloc = b->alloc < 256 ? 256 : b->alloc;
		while (nalloc < need)
			nalloc = nalloc > b->max / 2 ? b->max : nalloc * 2;
		if ((nd = malloc(nalloc)) == NULL)
			return ERR_ALLOC;
		if (b->d != NULL) {
			memcpy(nd, b->d, b->size);
			explicit_bzero(b->d, b->alloc);
			free(b->d);
		}
		b->d = nd;
		b->alloc = nalloc;
	}
	*dp = b->d + b->size;
	b->size += n;
	return 0;
}

int
buf_put(struct buf *b, const void *p, size_t n)
{
	unsigned char *d;
	int r;

	if ((r = buf_reserve(b, n, &d)) != 0)
		return r;
	if (n > 0)
		memcpy(d, p, n);
	return 0;
}

int
buf_put_u8(struct buf *b, uint8_t v)
{
	return buf_put(b, &v, 1);
}

int
buf_put_u16(struct buf *b, uint16_t v)
{
	unsigned char x[2] = { v >> 8, v };

	return buf_put(b, x, sizeof(x));
}

int
buf_put_u32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = { v >> 24, v >> 16, v >> 8, v };

	return buf_put(b, x, sizeof(x));
}

int
buf_put_u64(struct buf *b, uint64_t v)
{
	int r;

	if ((r = buf_put_u32(b, v >> 32)) != 0)
		return r;
	return buf_put_u32(b, (uint32_t)v);
}

int
buf_put_cstring(struct buf *b, const char *s)
{
	size_t len = s == NULL ? 0 : strlen(s);
	int r;

	if (len > UINT16_MAX)
		return ERR_TOO_LONG;
	if ((r = buf_put_u16(b, (uint16_t)len)) != 0)
		return r;
	return buf_put(b, s, len);
}

int
buf_get(struct buf *b, void *p, size_t n)
{
	if (n > buf_len(b))
		return ERR_INCOMPLETE;
	if (p != NULL && n > 0)
		memcpy(p, buf_ptr(b), n);
	b->off += n;
	return 0;
}

int
buf_get_u8(struct buf *b, uint8_t *v)
{
	return buf_get(b, v, 1);
}

int
buf_get_u16(struct buf *b, uint16_t *v)
{
	unsigned char x[2];
	int r;

	if ((r = buf_get(b, x, sizeof(x))) != 0)
		return r;
	*v = (uint16_t)(x[0] << 8 | x[1]);
	return 0;
}

int
buf_get_u32(struct buf *b, uint32_t *v)
{
	unsigned char x[4];
	int r;

	if ((r = buf_get(b, x, sizeof(x))) != 0)
		return r;
	*v = (uint32_t)x[0] << 24 | (uint32_t)x[1] << 16 |
	    (uint32_t)x[2] << 8 | x[3];
	return 0;
}

int
buf_get_u64(struct buf *b, uint64_t *v)
{
	uint32_t hi, lo;
	int r;

	if (buf_len(b) < 8)
		return ERR_INCOMPLETE;
	if ((r = buf_get_u32(b, &hi)) != 0 || (r = buf_get_u32(b, &lo)) != 0)
		return r;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

int
buf_get_cstring(struct buf *b, char **sp, size_t maxlen)
{
	uint16_t len;
	char *s;

	*sp = NULL;
	if (buf_len(b) < 2)
		return ERR_INCOMPLETE;
	len = (uint16_t)(buf_ptr(b)[0] << 8 | buf_ptr(b)[1]);
	if (len > maxlen)
		return ERR_TOO_LONG;
	if (buf_len(b) - 2 < len)
		return ERR_INCOMPLETE;
	if (memchr(buf_ptr(b) + 2, '\0', len) != NULL)
		return ERR_FORMAT;
	if ((s = malloc((size_t)len + 1)) == NULL)
		return ERR_ALLOC;
	memcpy(s, buf_ptr(b) + 2, len);
	s[len] = '\0';
	b->off += 2 + (size_t)len;
	*sp = s;
	return 0;
}

int
buf_expect_end(const struct buf *b)
{
	return buf_len(b) == 0 ? 0 : ERR_TRAILING;
}

void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	char *p;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	for (p = err; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

const char *
ostp_err(int r)
{
	switch (r) {
	case ERR_SUCCESS:	return "success";
	case ERR_INTERNAL:	return "internal error";
	case ERR_ALLOC:		return "out of memory";
	case ERR_INCOMPLETE:	return "message incomplete";
	case ERR_FORMAT:	return "invalid format";
	case ERR_NO_SPACE:	return "buffer bound exceeded";
	case ERR_TRAILING:	return "trailing bytes after message";
	case ERR_SYSTEM:	return strerror(errno);
	case ERR_VERSION:	return "protocol version mismatch";
	case ERR_TOO_LONG:	return "length over limit";
	case ERR_CLOSED:	return "connection closed";
	case ERR_DENIED:	return "not permitted by configuration";
	default:		return "unknown error";
	}
}

/*
 * A vector with a one- or two-byte length prefix (TLS's <0..2^8-1> and
 * <0..2^16-1>): v views its bytes, b moves past them.
 */
int
buf_get_vec(struct buf *b, int lenbytes, struct buf *v)
{
	uint8_t n8;
	uint16_t n16;
	size_t n;

	if (lenbytes == 1) {
		if (buf_get_u8(b, &n8) != 0)
			return ERR_FORMAT;
		n = n8;
	} else {
		if (buf_get_u16(b, &n16) != 0)
			return ERR_FORMAT;
		n = n16;
	}
	if (n > buf_len(b))
		return ERR_FORMAT;
	buf_view(v, buf_ptr(b), n);
	return buf_consume(b, n);
}
