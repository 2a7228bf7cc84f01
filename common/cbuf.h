/* A simple byte buffer for relays and codecs. */
#ifndef OSTP_CBUF_H
#define OSTP_CBUF_H

#include <stddef.h>

/* A byte buffer: data at p + off, len bytes, room for cap. */
struct cbuf {
	unsigned char	*p;
	size_t		 off;
	size_t		 len;
	size_t		 cap;
};

int	cbuf_alloc(struct cbuf *, size_t cap);
void	cbuf_release(struct cbuf *);
/* Free space at the end, after moving the data to the front if useful. */
size_t	cbuf_room(struct cbuf *);
unsigned char *cbuf_tail(struct cbuf *);
int	cbuf_append(struct cbuf *, const void *, size_t);
void	cbuf_consume(struct cbuf *, size_t);
/*
 * Room for need more bytes: allocated (min bytes at least) when it has
 * no storage, grown by doubling up to max bytes.  0, or -1 (past max,
 * no memory).
 */
int	cbuf_reserve(struct cbuf *, size_t need, size_t min, size_t max);

#endif
