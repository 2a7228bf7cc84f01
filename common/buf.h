/*
 * A bounded byte buffer with typed getters and putters in network byte
 * order.  Peer input is read only through these calls: each checks that
 * the value is fully present and each putter checks the buffer's bound.
 */
#ifndef OSTP_BUF_H
#define OSTP_BUF_H

#include <stddef.h>
#include <stdint.h>

#define BUF_MAX_DEFAULT	(1U << 20)

struct buf {
	unsigned char	*d;
	size_t		 off;	/* read position */
	size_t		 size;	/* end of data */
	size_t		 alloc;
	size_t		 max;	/* bound on size */
	int		 readonly;
};

struct buf	*buf_new(void);
void		 buf_init(struct buf *);
/* A read-only view of caller memory; the caller keeps ownership. */
void		 buf_view(struct buf *, const void *, size_t);
void		 buf_free(struct buf *);
void		 buf_release(struct buf *);	/* free contents of a struct */
void		 buf_reset(struct buf *);
int		 buf_set_max(struct buf *, size_t);

size_t		 buf_len(const struct buf *);
const unsigned char *buf_ptr(const struct buf *);
int		 buf_consume(struct buf *, size_t);
int		 buf_reserve(struct buf *, size_t, unsigned char **);

int		 buf_put(struct buf *, const void *, size_t);
int		 buf_put_u8(struct buf *, uint8_t);
int		 buf_put_u16(struct buf *, uint16_t);
int		 buf_put_u32(struct buf *, uint32_t);
int		 buf_put_u64(struct buf *, uint64_t);
/* String: u16 length then bytes, no terminating NUL on the wire. */
int		 buf_put_cstring(struct buf *, const char *);

int		 buf_get(struct buf *, void *, size_t);
int		 buf_get_u8(struct buf *, uint8_t *);
int		 buf_get_u16(struct buf *, uint16_t *);
/* A vector with a 1- or 2-byte length prefix; v views it. */
int		 buf_get_vec(struct buf *, int lenbytes, struct buf *v);
int		 buf_get_u32(struct buf *, uint32_t *);
int		 buf_get_u64(struct buf *, uint64_t *);
/*
 * Read a string of at most maxlen bytes into a fresh NUL-terminated
 * allocation.  Embedded NULs are refused.
 */
int		 buf_get_cstring(struct buf *, char **, size_t maxlen);
/* 0 when everything was consumed, ERR_TRAILING otherwise. */
int		 buf_expect_end(const struct buf *);

#endif
