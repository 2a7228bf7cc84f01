/*
 * BLAKE3, written from the specification: the hash, keyed_hash and
 * derive_key modes with extendable output.  Portable C, no SIMD; used
 * for the Shadowsocks 2022 (SIP022) session and identity subkeys.
 *
 * A struct blake3 is reusable after blake3_final(), which does not change
 * it; call blake3_clear() when done with one that held key material.
 */
#ifndef OSTP_BLAKE3_H
#define OSTP_BLAKE3_H

#include <stddef.h>
#include <stdint.h>

#define BLAKE3_KEY_LEN		32
#define BLAKE3_OUT_LEN		32	/* default output length */
#define BLAKE3_BLOCK_LEN	64
#define BLAKE3_CHUNK_LEN	1024
/* Pending subtree CVs: enough for 2^64 bytes of input (2^54 chunks). */
#define BLAKE3_MAX_DEPTH	54

struct blake3 {
	uint32_t	key[8];		/* IV, key or derived context key */
	uint32_t	cv[8];		/* chaining value, current chunk */
	uint64_t	chunk;		/* index of the current chunk */
	uint8_t		buf[BLAKE3_BLOCK_LEN];	/* block not yet compressed */
	uint8_t		buflen;
	uint8_t		nblocks;	/* blocks compressed in this chunk */
	uint8_t		flags;		/* mode flags for every compression */
	uint8_t		depth;		/* entries in stack */
	uint32_t	stack[BLAKE3_MAX_DEPTH][8];	/* subtree CVs */
};

void	blake3_init(struct blake3 *);
void	blake3_init_keyed(struct blake3 *, const uint8_t [BLAKE3_KEY_LEN]);
void	blake3_init_derive_key(struct blake3 *, const char *);
void	blake3_update(struct blake3 *, const void *, size_t);
void	blake3_final(const struct blake3 *, uint8_t *, size_t);
void	blake3_clear(struct blake3 *);

/* One call derive_key: context string, key material, output. */
void	blake3_derive_key(const char *, const void *, size_t, uint8_t *,
	    size_t);

#endif
