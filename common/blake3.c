/*
 * BLAKE3 (https://github.com/BLAKE3-team/BLAKE3-specs), written from the
 * specification.  Input is cut into 1024-byte chunks of 64-byte blocks;
 * chunk chaining values are combined pairwise into a binary tree whose
 * root is compressed with the ROOT flag to produce any amount of output.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "blake3.h"

#define B3_CHUNK_START		(1U << 0)
#define B3_CHUNK_END		(1U << 1)
#define B3_PARENT		(1U << 2)
#define B3_ROOT			(1U << 3)
#define B3_KEYED_HASH		(1U << 4)
#define B3_DERIVE_KEY_CONTEXT	(1U << 5)
#define B3_DERIVE_KEY_MATERIAL	(1U << 6)

#define B3_BLOCKS_PER_CHUNK	(BLAKE3_CHUNK_LEN / BLAKE3_BLOCK_LEN)

/* The same IV as SHA-256. */
static const uint32_t b3_iv[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
};

/*
 * Message word order for each of the 7 rounds: the spec's permutation
 * (2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8) applied
 * repeatedly, precomputed so no words are moved between rounds.
 */
static const uint8_t b3_sched[7][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8 },
	{ 3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1 },
	{ 10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6 },
	{ 12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4 },
	{ 9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7 },
	{ 11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13 }
};

/* A node whose chaining value or root output is not computed yet. */
struct b3_node {
	uint32_t	cv[8];
	uint32_t	m[16];
	uint64_t	counter;
	uint32_t	len;
	uint32_t	flags;
};

static inline uint32_t
b3_load32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 |
	    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void
b3_store32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static inline uint32_t
b3_rotr(uint32_t v, int n)
{
	return (v >> n) | (v << (32 - n));
}

static void
b3_words(uint32_t w[], const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		w[i] = b3_load32(p + 4 * i);
}

#define B3_G(a, b, c, d, x, y) do {					\
	v[a] += v[b] + (x);						\
	v[d] = b3_rotr(v[d] ^ v[a], 16);				\
	v[c] += v[d];							\
	v[b] = b3_rotr(v[b] ^ v[c], 12);				\
	v[a] += v[b] + (y);						\
	v[d] = b3_rotr(v[d] ^ v[a], 8);					\
	v[c] += v[d];							\
	v[b] = b3_rotr(v[b] ^ v[c], 7);					\
} while (0)

/* Unrolled so that the schedule indices are constants. */
#define B3_ROUND(r) do {						\
	B3_G(0, 4, 8, 12, m[b3_sched[r][0]], m[b3_sched[r][1]]);	\
	B3_G(1, 5, 9, 13, m[b3_sched[r][2]], m[b3_sched[r][3]]);	\
	B3_G(2, 6, 10, 14, m[b3_sched[r][4]], m[b3_sched[r][5]]);	\
	B3_G(3, 7, 11, 15, m[b3_sched[r][6]], m[b3_sched[r][7]]);	\
	B3_G(0, 5, 10, 15, m[b3_sched[r][8]], m[b3_sched[r][9]]);	\
	B3_G(1, 6, 11, 12, m[b3_sched[r][10]], m[b3_sched[r][11]]);	\
	B3_G(2, 7, 8, 13, m[b3_sched[r][12]], m[b3_sched[r][13]]);	\
	B3_G(3, 4, 9, 14, m[b3_sched[r][14]], m[b3_sched[r][15]]);	\
} while (0)

/*
 * The compression function.  out gets the 8-word chaining value, or with
 * xof the full 16 words a root node outputs; it may be cv itself when
 * xof is 0.  One function with a local state lets the compiler keep the
 * state in registers.
 */
static void
b3_compress(const uint32_t cv[8], const uint32_t m[16], uint64_t counter,
    uint32_t len, uint32_t flags, uint32_t *out, int xof)
{
	uint32_t v[16];
	int i;

	memcpy(v, cv, 8 * sizeof(*v));
	memcpy(v + 8, b3_iv, 4 * sizeof(*v));
	v[12] = (uint32_t)counter;
	v[13] = (uint32_t)(counter >> 32);
	v[14] = len;
	v[15] = flags;
	B3_ROUND(0);
	B3_ROUND(1);
	B3_ROUND(2);
	B3_ROUND(3);
	B3_ROUND(4);
	B3_ROUND(5);
	B3_ROUND(6);
	if (xof) {
		for (i = 0; i < 8; i++)
			out[i + 8] = v[i + 8] ^ cv[i];
	}
	for (i = 0; i < 8; i++)
		out[i] = v[i] ^ v[i + 8];
}

static void
b3_compress_bytes(uint32_t cv[8], const uint8_t *block, uint64_t counter,
    uint32_t flags)
{
	uint32_t m[16];

	b3_words(m, block, 16);
	b3_compress(cv, m, counter, BLAKE3_BLOCK_LEN, flags, cv, 0);
}

/* Parent node of two subtrees: both CVs form its one block. */
static void
b3_parent_node(struct b3_node *n, const uint32_t key[8], uint32_t flags,
    const uint32_t left[8], const uint32_t right[8])
{
	memcpy(n->cv, key, sizeof(n->cv));
	memcpy(n->m, left, 8 * sizeof(*n->m));
	memcpy(n->m + 8, right, 8 * sizeof(*n->m));
	n->counter = 0;
	n->len = BLAKE3_BLOCK_LEN;
	n->flags = flags | B3_PARENT;
}

static void
b3_node_cv(const struct b3_node *n, uint32_t cv[8])
{
	b3_compress(n->cv, n->m, n->counter, n->len, n->flags, cv, 0);
}

static void
b3_start(struct blake3 *h, const uint32_t key[8], uint32_t flags)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->key, key, sizeof(h->key));
	memcpy(h->cv, key, sizeof(h->cv));
	h->flags = flags;
}

static uint32_t
b3_chunk_flags(const struct blake3 *h)
{
	return h->flags | (h->nblocks == 0 ? B3_CHUNK_START : 0);
}

/*
 * Finish a full chunk known not to be the last and push its CV.  Each
 * trailing zero bit of n, the count of chunks done, completes a pair of
 * equal subtrees; input follows them, so neither is the root: merge them
 * now, and the stack holds one CV per set bit of n (at most 54).
 */
static void
b3_chunk_push(struct blake3 *h)
{
	uint32_t cv[8];
	struct b3_node n;
	uint64_t total;

	b3_compress_bytes(h->cv, h->buf, h->chunk,
	    b3_chunk_flags(h) | B3_CHUNK_END);
	memcpy(cv, h->cv, sizeof(cv));
	for (total = h->chunk + 1; (total & 1) == 0; total >>= 1) {
		h->depth--;
		b3_parent_node(&n, h->key, h->flags, h->stack[h->depth], cv);
		b3_node_cv(&n, cv);
	}
	memcpy(h->stack[h->depth++], cv, sizeof(cv));

	h->chunk++;
	memcpy(h->cv, h->key, sizeof(h->cv));
	h->nblocks = 0;
	h->buflen = 0;
	explicit_bzero(cv, sizeof(cv));
	explicit_bzero(&n, sizeof(n));
}

void
blake3_init(struct blake3 *h)
{
	b3_start(h, b3_iv, 0);
}

void
blake3_init_keyed(struct blake3 *h, const uint8_t key[BLAKE3_KEY_LEN])
{
	uint32_t k[8];

	b3_words(k, key, 8);
	b3_start(h, k, B3_KEYED_HASH);
	explicit_bzero(k, sizeof(k));
}

/* The context string is hashed into the key for the material hash. */
void
blake3_init_derive_key(struct blake3 *h, const char *context)
{
	struct blake3 c;
	uint8_t ck[BLAKE3_KEY_LEN];
	uint32_t k[8];

	b3_start(&c, b3_iv, B3_DERIVE_KEY_CONTEXT);
	blake3_update(&c, context, strlen(context));
	blake3_final(&c, ck, sizeof(ck));
	b3_words(k, ck, 8);
	b3_start(h, k, B3_DERIVE_KEY_MATERIAL);
	blake3_clear(&c);
	explicit_bzero(ck, sizeof(ck));
	explicit_bzero(k, sizeof(k));
}

void
blake3_update(struct blake3 *h, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t n;

	/*
	 * The last block of a chunk and the last chunk of the input get
	 * different flags, so a full block or chunk is compressed only
	 * once more input shows that it is not the last one.
	 */
	while (len > 0) {
		if (h->buflen == BLAKE3_BLOCK_LEN) {
			if (h->nblocks == B3_BLOCKS_PER_CHUNK - 1)
				b3_chunk_push(h);
			else {
				b3_compress_bytes(h->cv, h->buf, h->chunk,
				    b3_chunk_flags(h));
				h->nblocks++;
				h->buflen = 0;
			}
		}
		/* Blocks followed by more input in the same chunk. */
		if (h->buflen == 0) {
			while (len > BLAKE3_BLOCK_LEN &&
			    h->nblocks < B3_BLOCKS_PER_CHUNK - 1) {
				b3_compress_bytes(h->cv, p, h->chunk,
				    b3_chunk_flags(h));
				h->nblocks++;
				p += BLAKE3_BLOCK_LEN;
				len -= BLAKE3_BLOCK_LEN;
			}
		}
		n = BLAKE3_BLOCK_LEN - h->buflen;
		if (n > len)
			n = len;
		memcpy(h->buf + h->buflen, p, n);
		h->buflen += n;
		p += n;
		len -= n;
	}
}

void
blake3_final(const struct blake3 *h, uint8_t *out, size_t outlen)
{
	struct b3_node n;
	uint32_t cv[8], w[16];
	uint8_t block[BLAKE3_BLOCK_LEN];
	uint64_t counter;
	size_t i, take;
	int d;

	/* The current chunk is the last: its final block may be partial. */
	memset(block, 0, sizeof(block));
	memcpy(block, h->buf, h->buflen);
	memcpy(n.cv, h->cv, sizeof(n.cv));
	b3_words(n.m, block, 16);
	n.counter = h->chunk;
	n.len = h->buflen;
	n.flags = b3_chunk_flags(h) | B3_CHUNK_END;

	/* Fold the stack from the right: the last parent is the root. */
	for (d = h->depth - 1; d >= 0; d--) {
		b3_node_cv(&n, cv);
		b3_parent_node(&n, h->key, h->flags, h->stack[d], cv);
	}

	/* The root block compressed with output block numbers as counter. */
	for (counter = 0; outlen > 0; counter++) {
		b3_compress(n.cv, n.m, counter, n.len, n.flags | B3_ROOT, w,
		    1);
		for (i = 0; i < 16; i++)
			b3_store32(block + 4 * i, w[i]);
		take = outlen < sizeof(block) ? outlen : sizeof(block);
		memcpy(out, block, take);
		out += take;
		outlen -= take;
	}

	explicit_bzero(&n, sizeof(n));
	explicit_bzero(cv, sizeof(cv));
	explicit_bzero(w, sizeof(w));
	explicit_bzero(block, sizeof(block));
}

void
blake3_clear(struct blake3 *h)
{
	explicit_bzero(h, sizeof(*h));
}

void
blake3_derive_key(const char *context, const void *material, size_t len,
    uint8_t *out, size_t outlen)
{
	struct blake3 h;

	blake3_init_derive_key(&h, context);
	blake3_update(&h, material, len);
	blake3_final(&h, out, outlen);
	blake3_clear(&h);
}
