/*
 * Byte buffers of a fixed capacity: data at p + off, len bytes.  Room
 * at the end is made by moving the data to the front when that pays.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cbuf.h"
#include "err.h"

int
cbuf_alloc(struct cbuf *b, size_t cap)
{
	if (b->p != NULL)
		return 0;
	if ((b->p = malloc(cap)) == NULL)
		return -1;
	b->off = b->len = 0;
	b->cap = cap;
	return 0;
}

void
cbuf_release(struct cbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* The bytes to the front when the free part at the end runs short. */
static void
cbuf_compact(struct cbuf *b)
{
	if (b->off > 0 && (b->len == 0 || b->off + b->len > b->cap / 2)) {
		memmove(b->p, b->p + b->off, b->len);
		b->off = 0;
	}
}

size_t
cbuf_room(struct cbuf *b)
{
	cbuf_compact(b);
	return b->cap - b->off - b->len;
}

/*
 * It compacts as cbuf_room does, so that recv(cbuf_tail(b),
 * cbuf_room(b)) is right in either order of evaluation: a tail taken
 * before a move would point past the room.
 */
unsigned char *
cbuf_tail(struct cbuf *b)
{
	cbuf_compact(b);
	return b->p + b->off + b->len;
}

int
cbuf_append(struct cbuf *b, const void *p, size_t n)
{
	if (cbuf_room(b) < n)
		return ERR_NO_SPACE;
	memcpy(cbuf_tail(b), p, n);
	b->len += n;
	return 0;
}

int
cbuf_reserve(struct cbuf *b, size_t need, size_t min, size_t max)
{
	unsigned char *np;
	size_t cap;

	if (b->p == NULL && cbuf_alloc(b, need > min ? need : min) != 0)
		return -1;
	if (cbuf_room(b) >= need)
		return 0;
	if (b->len > max || need > max - b->len)
		return -1;
	for (cap = b->cap; cap - b->len < need; cap *= 2)
		;
	if (cap > max && (cap = max) - b->len < need)
		return -1;
	if ((np = malloc(cap)) == NULL)
		return -1;
	memcpy(np, b->p + b->off, b->len);
	free(b->p);
	b->p = np;
	b->off = 0;
	b->cap = cap;
	return 0;
}

void
cbuf_consume(struct cbuf *b, size_t n)
{
	if (n >= b->len) {
		b->off = b->len = 0;
		return;
	}
	b->off += n;
	b->len -= n;
}

