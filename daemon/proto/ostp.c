/*
 * OSTP wire version 5 (../shared/spec/ostp.md §2.1-§2.8, §3).  Every
 * byte layout here is the upstream code's, which the spec records; where
 * the upstream docs say otherwise the code wins (spec §7).
 *
 * Crypto is OpenSSL's: HMAC/HKDF-SHA256 for the per-key secrets, an
 * HMAC-SHA256 header mask, Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s for the
 * handshake (X25519, ChaCha20-Poly1305, BLAKE2s and HMAC-BLAKE2s) and
 * ChaCha20-Poly1305 for data; X25519 is libsodium's where configure
 * found it.  The per-datagram work (mask, seal, open) allocates
 * nothing.
 */
#include "config.h"

/*
 * The header mask runs on every datagram: see mask_hmac for why it uses
 * OpenSSL's low-level SHA-256 (deprecated in 3.0, still built by every
 * distribution) when it is there.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#ifdef HAVE_SODIUM
#include <sodium.h>
#endif

#include "compat.h"
#include "ostp.h"
#include "randpool.h"
#include "text.h"

#define NOISE_NAME	"Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s"
#define HASHLEN		32
#define DHLEN		32

static void	ostp_random_default(void *, size_t);

void	(*ostp_random)(void *, size_t) = ostp_random_default;

static void
ostp_random_default(void *p, size_t n)
{
	static __thread struct randpool pool;

	/*
	 * A key, session id or padding without randomness is worse than
	 * no daemon at all.
	 */
	if (randpool_bytes(&pool, p, n) != 0)
		abort();
}

/*
 * Bytes nobody may predict but nobody could use either: reserved frame
 * bytes, padding and the padding's length, all inside the AEAD or only
 * shaping sizes.  A per-process xoshiro256** seeded from RAND_bytes:
 * RAND_bytes per datagram cost a fifth of the sender's time.  A test
 * that replaces ostp_random gets its bytes here too.
 */
static uint64_t	noise_s[4];
static int	noise_seeded;

static inline uint64_t
rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
noise_next(void)
{
	uint64_t r = rotl64(noise_s[1] * 5, 7) * 9, t = noise_s[1] << 17;

	noise_s[2] ^= noise_s[0];
	noise_s[3] ^= noise_s[1];
	noise_s[1] ^= noise_s[2];
	noise_s[0] ^= noise_s[3];
	noise_s[2] ^= t;
	noise_s[3] = rotl64(noise_s[3], 45);
	return r;
}

void
ostp_noise(void *p, size_t n)
{
	unsigned char *q = p;
	uint64_t r;
	size_t k;

	if (ostp_random != ostp_random_default) {
		ostp_random(p, n);
		return;
	}
	if (!noise_seeded) {
		do
			ostp_random_default(noise_s, sizeof(noise_s));
		while ((noise_s[0] | noise_s[1] | noise_s[2] | noise_s[3]) == 0);
		noise_seeded = 1;
	}
	while (n > 0) {
		r = noise_next();
		k = n < sizeof(r) ? n : sizeof(r);
		memcpy(q, &r, k);
		q += k;
		n -= k;
	}
}

/* ---- HKDF-SHA256 (RFC 5869), for the per-key secrets ---- */

/*
 * HMAC-SHA256.  The server computes junk markers for every key on every
 * datagram from an unknown address (§2.3): with the low-level SHA-256
 * that is four blocks, where HMAC() fetches the algorithms by name each
 * time (measured 4.5 us a marker against 0.5 us).
 */
static int
hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
    unsigned char out[32])
{
#ifndef OPENSSL_NO_DEPRECATED_3_0
	unsigned char blk[SHA256_CBLOCK], ih[32];
	SHA256_CTX c;
	size_t i;
	int ok;

	memset(blk, 0, sizeof(blk));
	if (klen > sizeof(blk)) {
		if (SHA256(key, klen, blk) == NULL)
			return -1;
	} else if (klen > 0)
		memcpy(blk, key, klen);
	for (i = 0; i < sizeof(blk); i++)
		blk[i] ^= 0x36;
	ok = SHA256_Init(&c) == 1 && SHA256_Update(&c, blk, sizeof(blk)) == 1 &&
	    (mlen == 0 || SHA256_Update(&c, msg, mlen) == 1) &&
	    SHA256_Final(ih, &c) == 1;
	for (i = 0; i < sizeof(blk); i++)
		blk[i] ^= 0x36 ^ 0x5c;
	ok = ok && SHA256_Init(&c) == 1 &&
	    SHA256_Update(&c, blk, sizeof(blk)) == 1 &&
	    SHA256_Update(&c, ih, sizeof(ih)) == 1 &&
	    SHA256_Final(out, &c) == 1;
	OPENSSL_cleanse(blk, sizeof(blk));
	OPENSSL_cleanse(ih, sizeof(ih));
	OPENSSL_cleanse(&c, sizeof(c));
	return ok ? 0 : -1;
#else
	unsigned int mdlen = 0;

	if (klen > INT32_MAX || HMAC(EVP_sha256(), key, (int)klen, msg, mlen,
	    out, &mdlen) == NULL || mdlen != 32)
		return -1;
	return 0;
#endif
}

int
ostp_hkdf_extract(const void *salt, size_t saltlen, const void *ikm,
    size_t ikmlen, unsigned char prk[32])
{
	static const unsigned char zero[32];

	if (saltlen == 0) {
		salt = zero;
		saltlen = sizeof(zero);
	}
	return hmac_sha256(salt, saltlen, ikm, ikmlen, prk);
}

int
ostp_hkdf_expand(const unsigned char prk[32], const void *info,
    size_t infolen, unsigned char *out, size_t outlen)
{
	unsigned char buf[32 + OSTP_HKDF_INFO_MAX + 1], t[32];
	size_t tlen = 0, n, done = 0;
	unsigned char i;
	int rv = -1;

	if (infolen > OSTP_HKDF_INFO_MAX || outlen > 255 * 32)
		return -1;
	for (i = 1; done < outlen; i++) {
		/* T(i) = HMAC(PRK, T(i-1) || info || i) */
		memcpy(buf, t, tlen);
		if (infolen > 0)
			memcpy(buf + tlen, info, infolen);
		buf[tlen + infolen] = i;
		if (hmac_sha256(prk, 32, buf, tlen + infolen + 1, t) != 0)
			goto out;
		tlen = 32;
		n = outlen - done < 32 ? outlen - done : 32;
		memcpy(out + done, t, n);
		done += n;
	}
	rv = 0;
 out:
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(t, sizeof(t));
	return rv;
}

/* ---- per-key secrets and the header mask (§2.2, §2.4) ---- */

/*
 * HMAC-SHA256 with the 8-byte obf_key over exactly 32 bytes: the inner
 * and outer digests after their pad blocks are kept, and each datagram
 * continues copies of them, two SHA-256 blocks in all.
 *
 * The copies are plain SHA256_CTX structures where the low-level API is
 * available: EVP_MD_CTX_copy_ex allocates a provider context on every
 * copy, and measured 450 ns a mask against 100 ns this way (1350-byte
 * datagrams, SHA-NI), a quarter of the cost of sealing a datagram.
 */
#ifndef OPENSSL_NO_DEPRECATED_3_0

static void *
mask_state(const unsigned char obf_key[8], unsigned char padbyte)
{
	unsigned char blk[SHA256_CBLOCK];
	SHA256_CTX *ctx;
	size_t i;

	memset(blk, padbyte, sizeof(blk));
	for (i = 0; i < 8; i++)
		blk[i] ^= obf_key[i];
	if ((ctx = OPENSSL_malloc(sizeof(*ctx))) == NULL)
		return NULL;
	if (SHA256_Init(ctx) != 1 || SHA256_Update(ctx, blk,
	    sizeof(blk)) != 1) {
		OPENSSL_clear_free(ctx, sizeof(*ctx));
		ctx = NULL;
	}
	OPENSSL_cleanse(blk, sizeof(blk));
	return ctx;
}

static void
mask_state_free(void *ctx)
{
	OPENSSL_clear_free(ctx, sizeof(SHA256_CTX));
}

static int
mask_hmac(const struct ostp_keys *k, const unsigned char sample[32],
    unsigned char mac[32])
{
	SHA256_CTX c;
	unsigned char ih[32];
	int ok;

	c = *(const SHA256_CTX *)k->mask_in;
	ok = SHA256_Update(&c, sample, 32) == 1 && SHA256_Final(ih, &c) == 1;
	c = *(const SHA256_CTX *)k->mask_out;
	ok = ok && SHA256_Update(&c, ih, 32) == 1 && SHA256_Final(mac, &c) == 1;
	/* a mask is no secret, but the states are derived from the key */
	OPENSSL_cleanse(&c, sizeof(c));
	return ok ? 0 : -1;
}

#else	/* OPENSSL_NO_DEPRECATED_3_0 */

static void *
mask_state(const unsigned char obf_key[8], unsigned char padbyte)
{
	unsigned char blk[64];
	EVP_MD_CTX *ctx;
	size_t i;

	memset(blk, padbyte, sizeof(blk));
	for (i = 0; i < 8; i++)
		blk[i] ^= obf_key[i];
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return NULL;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, blk, sizeof(blk)) != 1) {
		EVP_MD_CTX_free(ctx);
		ctx = NULL;
	}
	OPENSSL_cleanse(blk, sizeof(blk));
	return ctx;
}

static void
mask_state_free(void *ctx)
{
	/* the provider's free wipes the digest state */
	EVP_MD_CTX_free(ctx);
}

/* The working copy; per thread, so that the keys can stay const. */
static __thread EVP_MD_CTX *mask_work;

static int
mask_hmac(const struct ostp_keys *k, const unsigned char sample[32],
    unsigned char mac[32])
{
	unsigned char ih[32];
	unsigned int len;

	if (mask_work == NULL && (mask_work = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_MD_CTX_copy_ex(mask_work, k->mask_in) != 1 ||
	    EVP_DigestUpdate(mask_work, sample, 32) != 1 ||
	    EVP_DigestFinal_ex(mask_work, ih, &len) != 1 ||
	    EVP_MD_CTX_copy_ex(mask_work, k->mask_out) != 1 ||
	    EVP_DigestUpdate(mask_work, ih, 32) != 1 ||
	    EVP_DigestFinal_ex(mask_work, mac, &len) != 1)
		return -1;
	return 0;
}

#endif	/* OPENSSL_NO_DEPRECATED_3_0 */

int
ostp_keys_init(struct ostp_keys *k, int version, const void *key,
    size_t keylen)
{
	unsigned char h[32], ikm[OSTP_KEY_MAX + 1], info[16 + 1], pad2[2];
	struct ostp_hs hs;
	unsigned int mdlen = 0;

	memset(k, 0, sizeof(*k));
	if (version != OSTP_WIRE_V5 || keylen == 0 || keylen > OSTP_KEY_MAX)
		return -1;
	k->version = version;
	memcpy(k->key, key, keylen);
	k->keylen = keylen;
	if (EVP_Digest(key, keylen, h, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		goto fail;
	memcpy(ikm, key, keylen);
	ikm[keylen] = OSTP_WIRE_V5;
	memcpy(k->info_b, h + 16, 16);
	memcpy(info, k->info_b, 16);
	if (ostp_hkdf_extract(h, 16, ikm, keylen + 1, k->prk) != 0)
		goto fail;
	info[16] = 0x01;
	if (ostp_hkdf_expand(k->prk, info, 17, k->obf_key, 8) != 0)
		goto fail;
	info[16] = 0x02;
	if (ostp_hkdf_expand(k->prk, info, 17, k->psk, 32) != 0)
		goto fail;
	info[16] = 0x03;
	if (ostp_hkdf_expand(k->prk, info, 17, pad2, 2) != 0)
		goto fail;
	k->hs_pad_min = 16 + pad2[0] % 64;
	k->hs_pad_max = k->hs_pad_min + 48 + pad2[1] % 128;
	/* it depends on the psk alone: four HMACs fewer per handshake */
	if (ostp_noise_init(&hs, NULL, 0, k->psk) != 0) {
		ostp_hs_clear(&hs);
		goto fail;
	}
	memcpy(k->hs_ck, hs.ck, sizeof(k->hs_ck));
	memcpy(k->hs_h, hs.h, sizeof(k->hs_h));
	memcpy(k->hs_k, hs.k, sizeof(k->hs_k));
	ostp_hs_clear(&hs);
	if ((k->mask_in = mask_state(k->obf_key, 0x36)) == NULL ||
	    (k->mask_out = mask_state(k->obf_key, 0x5c)) == NULL)
		goto fail;
	OPENSSL_cleanse(ikm, sizeof(ikm));
	OPENSSL_cleanse(h, sizeof(h));
	return 0;
 fail:
	OPENSSL_cleanse(ikm, sizeof(ikm));
	OPENSSL_cleanse(h, sizeof(h));
	ostp_keys_clear(k);
	return -1;
}

void
ostp_keys_clear(struct ostp_keys *k)
{
	if (k->mask_in != NULL)
		mask_state_free(k->mask_in);
	if (k->mask_out != NULL)
		mask_state_free(k->mask_out);
	explicit_bzero(k, sizeof(*k));
}

void
ostp_junk_marker(const struct ostp_keys *k, uint64_t window,
    unsigned char out[4])
{
	unsigned char info[16 + 1 + 8];
	int i;

	memcpy(info, k->info_b, 16);
	info[16] = 0x04;
	/* little-endian here, unlike everything else (§2.2) */
	for (i = 0; i < 8; i++)
		info[17 + i] = (window >> (8 * i)) & 0xff;
	if (ostp_hkdf_expand(k->prk, info, sizeof(info), out, 4) != 0)
		memset(out, 0, 4);
}

void
ostp_mask_compute(const struct ostp_keys *k, const unsigned char *d,
    size_t len, size_t hdrlen, unsigned char mask[12])
{
	unsigned char sample[32], mac[32];
	size_t n;

	memset(mask, 0, 12);
	if (hdrlen == 0 || hdrlen > OSTP_DATA_HDR || len <= hdrlen)
		return;
	/* always a 32-byte sample, zero-padded (§2.3, §7 item 2) */
	n = len - hdrlen < 32 ? len - hdrlen : 32;
	memset(sample, 0, sizeof(sample));
	memcpy(sample, d + hdrlen, n);
	if (mask_hmac(k, sample, mac) == 0)
		memcpy(mask, mac, hdrlen);
	else
		/* cannot happen short of allocation failure: no mask */
		abort();
}

void
ostp_mask(const struct ostp_keys *k, unsigned char *d, size_t len,
    size_t hdrlen)
{
	unsigned char mask[12];
	size_t i;

	if (hdrlen == 0 || hdrlen > OSTP_DATA_HDR || len <= hdrlen)
		return;
	ostp_mask_compute(k, d, len, hdrlen, mask);
	for (i = 0; i < hdrlen; i++)
		d[i] ^= mask[i];
}

/* ---- Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s (Noise rev 34) ---- */

/*
 * The handshake's BLAKE2s, HMAC-BLAKE2s and ChaCha20-Poly1305 run on
 * one context each per thread, their algorithms fetched once: HMAC()
 * and a new EVP_MD_CTX or EVP_CIPHER_CTX per call fetched the
 * algorithm by name and allocated each time, 3.6 us an HMAC against
 * about 0.8 us this way, with nine HMACs in a msg2.  BLAKE2s wipes its
 * state in its final; the cipher context is reset after each use,
 * which wipes the key it holds.
 */
static __thread EVP_MD		*hs_md;
static __thread EVP_MD_CTX	*hs_mdctx;
static __thread EVP_CIPHER	*hs_cipher;
static __thread EVP_CIPHER_CTX	*hs_cctx;

static int
blake2s2(const void *a, size_t alen, const void *b, size_t blen,
    unsigned char out[HASHLEN])
{
	unsigned int len = 0;

	if (hs_md == NULL &&
	    (hs_md = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL)) == NULL)
		return -1;
	if (hs_mdctx == NULL && (hs_mdctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex2(hs_mdctx, hs_md, NULL) != 1 ||
	    (alen > 0 && EVP_DigestUpdate(hs_mdctx, a, alen) != 1) ||
	    (blen > 0 && EVP_DigestUpdate(hs_mdctx, b, blen) != 1) ||
	    EVP_DigestFinal_ex(hs_mdctx, out, &len) != 1 || len != HASHLEN)
		return -1;
	return 0;
}

/* HMAC (RFC 2104) of two hashes; BLAKE2s takes 64-byte blocks. */
#define BLAKE2S_BLOCK	64

static int
hmac_blake2s(const unsigned char key[HASHLEN], const void *data,
    size_t len, unsigned char out[HASHLEN])
{
	unsigned char blk[BLAKE2S_BLOCK], ih[HASHLEN];
	size_t i;
	int rv;

	memset(blk, 0x36, sizeof(blk));
	for (i = 0; i < HASHLEN; i++)
		blk[i] ^= key[i];
	rv = blake2s2(blk, sizeof(blk), data, len, ih);
	for (i = 0; i < sizeof(blk); i++)
		blk[i] ^= 0x36 ^ 0x5c;
	if (rv == 0)
		rv = blake2s2(blk, sizeof(blk), ih, sizeof(ih), out);
	OPENSSL_cleanse(blk, sizeof(blk));
	OPENSSL_cleanse(ih, sizeof(ih));
	return rv;
}

/* Noise HKDF(ck, ikm) with two or three outputs (o3 NULL: two). */
static int
noise_hkdf(const unsigned char ck[HASHLEN], const void *ikm, size_t ikmlen,
    unsigned char o1[HASHLEN], unsigned char o2[HASHLEN],
    unsigned char o3[HASHLEN])
{
	unsigned char tk[HASHLEN], buf[HASHLEN + 1];
	int rv = -1;

	if (hmac_blake2s(ck, ikm, ikmlen, tk) != 0)
		goto out;
	buf[0] = 0x01;
	if (hmac_blake2s(tk, buf, 1, o1) != 0)
		goto out;
	memcpy(buf, o1, HASHLEN);
	buf[HASHLEN] = 0x02;
	if (hmac_blake2s(tk, buf, sizeof(buf), o2) != 0)
		goto out;
	if (o3 != NULL) {
		memcpy(buf, o2, HASHLEN);
		buf[HASHLEN] = 0x03;
		if (hmac_blake2s(tk, buf, sizeof(buf), o3) != 0)
			goto out;
	}
	rv = 0;
 out:
	OPENSSL_cleanse(tk, sizeof(tk));
	OPENSSL_cleanse(buf, sizeof(buf));
	return rv;
}

static int
mix_hash(struct ostp_hs *hs, const void *data, size_t len)
{
	return blake2s2(hs->h, HASHLEN, data, len, hs->h);
}

static int
mix_key(struct ostp_hs *hs, const void *ikm, size_t len)
{
	unsigned char ck[HASHLEN];
	int rv;

	rv = noise_hkdf(hs->ck, ikm, len, ck, hs->k, NULL);
	memcpy(hs->ck, ck, HASHLEN);
	OPENSSL_cleanse(ck, sizeof(ck));
	hs->n = 0;
	return rv;
}

static int
mix_key_and_hash(struct ostp_hs *hs, const void *ikm, size_t len)
{
	unsigned char ck[HASHLEN], th[HASHLEN];
	int rv;

	rv = noise_hkdf(hs->ck, ikm, len, ck, th, hs->k);
	memcpy(hs->ck, ck, HASHLEN);
	if (rv == 0)
		rv = mix_hash(hs, th, HASHLEN);
	OPENSSL_cleanse(ck, sizeof(ck));
	OPENSSL_cleanse(th, sizeof(th));
	hs->n = 0;
	return rv;
}

/*
 * One ChaCha20-Poly1305 operation of the handshake on the thread's
 * context (see blake2s2).  Decryption: in holds the tag after inlen
 * bytes.
 */
static int
aead_once(int enc, const unsigned char key[32], const unsigned char iv[12],
    const unsigned char *ad, size_t adlen, const unsigned char *in,
    size_t inlen, unsigned char *out)
{
	EVP_CIPHER_CTX *ctx;
	int l, ok;

	if (inlen > INT32_MAX - 64 || adlen > INT32_MAX)
		return -1;
	if (hs_cipher == NULL && (hs_cipher = EVP_CIPHER_fetch(NULL,
	    "ChaCha20-Poly1305", NULL)) == NULL)
		return -1;
	if (hs_cctx == NULL && (hs_cctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	ctx = hs_cctx;
	ok = EVP_CipherInit_ex2(ctx, hs_cipher, key, iv, enc, NULL) == 1 &&
	    (adlen == 0 ||
	    EVP_CipherUpdate(ctx, NULL, &l, ad, (int)adlen) == 1) &&
	    (inlen == 0 ||
	    EVP_CipherUpdate(ctx, out, &l, in, (int)inlen) == 1);
	if (ok && enc)
		ok = EVP_CipherFinal_ex(ctx, out + inlen, &l) == 1 &&
		    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, OSTP_TAG,
		    out + inlen) == 1;
	else if (ok)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, OSTP_TAG,
		    (void *)(in + inlen)) == 1 &&
		    EVP_CipherFinal_ex(ctx, out + inlen, &l) == 1;
	EVP_CIPHER_CTX_reset(ctx);
	if (!ok && !enc && inlen > 0)
		OPENSSL_cleanse(out, inlen);
	return ok ? 0 : -1;
}

/* Noise's nonce: 32 zero bits, then the counter little-endian. */
static void
noise_nonce(uint64_t n, unsigned char iv[12])
{
	int i;

	memset(iv, 0, 4);
	for (i = 0; i < 8; i++)
		iv[4 + i] = (n >> (8 * i)) & 0xff;
}

static int
encrypt_and_hash(struct ostp_hs *hs, const void *pt, size_t len,
    unsigned char *out)
{
	unsigned char iv[12];

	noise_nonce(hs->n, iv);
	if (aead_once(1, hs->k, iv, hs->h, HASHLEN, pt, len, out) != 0)
		return -1;
	hs->n++;
	return mix_hash(hs, out, len + OSTP_TAG);
}

static int
decrypt_and_hash(struct ostp_hs *hs, const unsigned char *ct, size_t len,
    unsigned char *out)
{
	unsigned char iv[12];

	if (len < OSTP_TAG)
		return -1;
	noise_nonce(hs->n, iv);
	if (aead_once(0, hs->k, iv, hs->h, HASHLEN, ct, len - OSTP_TAG,
	    out) != 0)
		return -1;
	hs->n++;
	return mix_hash(hs, ct, len);
}

/*
 * X25519 (RFC 7748) for the handshake: each side makes one ephemeral
 * key (a base-point multiplication for its public half) and computes
 * one DH with it.  struct dh carries what the two steps share.  An
 * all-zero DH result (a low-order peer point) is refused, by OpenSSL
 * and by libsodium alike, so such a handshake fails here where snow
 * would go on with a known key; no honest peer sends one.
 */
#ifdef HAVE_SODIUM

/*
 * libsodium's X25519 where it is built: the same constant-time ladder
 * cost as OpenSSL's, but straight on the bytes, where OpenSSL wants a
 * key object for each key and a derive context, which cost a server
 * about a tenth of a handshake (bench/ostpcodec x25519 compares them).
 */
struct dh {
	int		 unused;
};

static int
dh_ready(void)
{
	static int ok;

	/* picks the fastest implementation for this CPU; idempotent */
	if (!ok && sodium_init() >= 0)
		ok = 1;
	return ok ? 0 : -1;
}

static int
dh_ephemeral(struct ostp_hs *hs, struct dh *x)
{
	(void)x;
	if (dh_ready() != 0)
		return -1;
	return crypto_scalarmult_base(hs->e_pub, hs->e_priv) == 0 ? 0 : -1;
}

static int
dh_derive(struct ostp_hs *hs, struct dh *x, const unsigned char peer[32],
    unsigned char out[32])
{
	(void)x;
	if (dh_ready() != 0)
		return -1;
	return crypto_scalarmult(out, hs->e_priv, peer) == 0 ? 0 : -1;
}

static void
dh_done(struct dh *x)
{
	(void)x;
}

/*
 * A responder's ephemeral keys, made EPH_BATCH at a time ahead of the
 * handshakes that take them.  The public half is computed as an
 * Edwards fixed-base multiplication (libsodium's, on precomputed
 * tables: about half of what the Montgomery ladder costs for the base
 * point here) moved to the Montgomery form X25519 uses, u = (1 + y) /
 * (1 - y) (RFC 7748 §4.1), with one field inversion for the whole
 * batch (Montgomery's trick, on OpenSSL's BN).  Both multiplications
 * clamp the scalar the same way, so the public half is X25519(priv, 9)
 * (test_ostp's pooled handshakes agree on their keys only if it is).
 * The BN arithmetic is not constant-time;
 * it sees only the public halves, which go on the wire in the clear.
 * Every key is taken once and wiped from the pool as it is; a pool
 * filled before a fork is thrown away in the child.
 */
#define EPH_BATCH	32

struct eph_pool {
	unsigned char	 priv[EPH_BATCH][32];
	unsigned char	 pub[EPH_BATCH][32];
	size_t		 left;
	unsigned int	 forks;		/* randpool_generation() then */
};

static __thread struct eph_pool	 eph;
static __thread BN_CTX		*eph_bn;
static __thread BIGNUM		*eph_p;		/* 2^255 - 19 */

static int
eph_fill(struct eph_pool *ep)
{
	BIGNUM *num[EPH_BATCH], *den[EPH_BATCH], *pre[EPH_BATCH], *inv, *t;
	unsigned char ed[32];
	size_t i;
	int ok = 0;

	if (eph_p == NULL) {
		if ((eph_bn = BN_CTX_new()) == NULL ||
		    (eph_p = BN_new()) == NULL || BN_set_bit(eph_p, 255) != 1 ||
		    BN_sub_word(eph_p, 19) != 1) {
			BN_free(eph_p);
			eph_p = NULL;
			return -1;
		}
	}
	ostp_random_default(ep->priv, sizeof(ep->priv));
	BN_CTX_start(eph_bn);
	for (i = 0; i < EPH_BATCH; i++) {
		num[i] = BN_CTX_get(eph_bn);
		den[i] = BN_CTX_get(eph_bn);
		pre[i] = BN_CTX_get(eph_bn);
	}
	inv = BN_CTX_get(eph_bn);
	if ((t = BN_CTX_get(eph_bn)) == NULL)
		goto out;
	/* den[i] = 1 - y, num[i] = 1 + y, pre[i] = den[0] * ... * den[i] */
	for (i = 0; i < EPH_BATCH; i++) {
		if (crypto_scalarmult_ed25519_base(ed, ep->priv[i]) != 0)
			goto out;
		ed[31] &= 0x7f;		/* the sign of x */
		if (BN_lebin2bn(ed, 32, t) == NULL ||
		    BN_mod_add(num[i], BN_value_one(), t, eph_p, eph_bn) != 1 ||
		    BN_mod_sub(den[i], BN_value_one(), t, eph_p, eph_bn) != 1 ||
		    BN_is_zero(den[i]) ||
		    (i == 0 ? BN_copy(pre[0], den[0]) == NULL :
		    BN_mod_mul(pre[i], pre[i - 1], den[i], eph_p, eph_bn) != 1))
			goto out;
	}
	if (BN_mod_inverse(inv, pre[EPH_BATCH - 1], eph_p, eph_bn) == NULL)
		goto out;
	/* inv = 1 / (den[0] * ... * den[i]) going down */
	for (i = EPH_BATCH; i-- > 0;) {
		if (i > 0) {
			if (BN_mod_mul(t, inv, pre[i - 1], eph_p, eph_bn) != 1 ||
			    BN_mod_mul(inv, inv, den[i], eph_p, eph_bn) != 1)
				goto out;
		} else if (BN_copy(t, inv) == NULL)
			goto out;
		if (BN_mod_mul(t, t, num[i], eph_p, eph_bn) != 1 ||
		    BN_bn2lebinpad(t, ep->pub[i], 32) != 32)
			goto out;
	}
	ep->left = EPH_BATCH;
	ok = 1;
out:
	BN_CTX_end(eph_bn);
	if (!ok)
		explicit_bzero(ep->priv, sizeof(ep->priv));
	return ok ? 0 : -1;
}

/* The next key of the pool: 0, or -1 (make one the usual way). */
static int
eph_take(unsigned char priv[32], unsigned char pub[32])
{
	unsigned int gen = randpool_generation();

	if (gen == 0)
		return -1;
	if (eph.forks != gen) {
		explicit_bzero(&eph, sizeof(eph));
		eph.forks = gen;
	}
	if (eph.left == 0 && eph_fill(&eph) != 0)
		return -1;
	eph.left--;
	memcpy(priv, eph.priv[eph.left], 32);
	memcpy(pub, eph.pub[eph.left], 32);
	explicit_bzero(eph.priv[eph.left], 32);
	return 0;
}

#else	/* HAVE_SODIUM */

/*
 * X25519 keys straight from their bytes with both halves given, on a
 * reused context: EVP_PKEY_new_raw_private_key fetches the algorithm
 * by name and computes the public half again (an Edwards base-point
 * multiplication, more than the DH itself costs here), which made a
 * msg2 pay for three scalar multiplications instead of two.
 */
static __thread EVP_PKEY_CTX	*hs_pkctx;
/* The base point as a public key, made once (see x25519_pub). */
static __thread EVP_PKEY	*hs_base;

static EVP_PKEY *
x25519_key(const unsigned char *priv, const unsigned char pub[32])
{
	OSSL_PARAM p[3], *q = p;
	EVP_PKEY *pk = NULL;

	if (hs_pkctx == NULL && (hs_pkctx = EVP_PKEY_CTX_new_from_name(NULL,
	    "X25519", NULL)) == NULL)
		return NULL;
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)pub, 32);
	if (priv != NULL)
		*q++ = OSSL_PARAM_construct_octet_string(
		    OSSL_PKEY_PARAM_PRIV_KEY, (void *)priv, 32);
	*q = OSSL_PARAM_construct_end();
	if (EVP_PKEY_fromdata_init(hs_pkctx) != 1 ||
	    EVP_PKEY_fromdata(hs_pkctx, &pk, priv != NULL ?
	    EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, p) != 1)
		return NULL;
	return pk;
}

/*
 * A derive context for priv, for every DH one ephemeral key takes part
 * in: a msg2 computes its public key and the DH on one context, where
 * each used to cost its own two keys and context (about 9 us of the
 * 2 x 39 us the scalar multiplications take).  pub is priv's public
 * half, which OpenSSL keeps in the key but the derivation does not
 * read; NULL while it is not known.
 */
static EVP_PKEY_CTX *
x25519_ctx(const unsigned char priv[32], const unsigned char *pub)
{
	static const unsigned char base[32] = { 9 };
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk;

	if ((pk = x25519_key(priv, pub != NULL ? pub : base)) == NULL)
		return NULL;
	/* the context holds its own reference to the key */
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) != NULL &&
	    EVP_PKEY_derive_init(ctx) != 1) {
		EVP_PKEY_CTX_free(ctx);
		ctx = NULL;
	}
	EVP_PKEY_free(pk);
	return ctx;
}

/*
 * DH(ctx's key, peer), peer NULL: the base point.  The peer is not
 * checked first (set_peer's validation costs a context of its own and
 * only asks whether a public key is there): OpenSSL refuses an
 * all-zero result in the derivation itself.
 */
static int
x25519_derive(EVP_PKEY_CTX *ctx, const unsigned char *peer,
    unsigned char out[32])
{
	static const unsigned char base[32] = { 9 };
	EVP_PKEY *pp;
	size_t len = 32;
	int ok;

	if (peer == NULL) {
		if (hs_base == NULL &&
		    (hs_base = x25519_key(NULL, base)) == NULL)
			return -1;
		pp = hs_base;
	} else if ((pp = x25519_key(NULL, peer)) == NULL)
		return -1;
	ok = EVP_PKEY_derive_set_peer_ex(ctx, pp, 0) == 1 &&
	    EVP_PKEY_derive(ctx, out, &len) == 1 && len == 32;
	if (pp != hs_base)
		EVP_PKEY_free(pp);
	return ok ? 0 : -1;
}

/*
 * The public key as X25519(priv, 9) (RFC 7748 §6.1), the same bytes as
 * OpenSSL's own computation of it, but by the Montgomery ladder, which
 * OpenSSL has in assembly, where its base-point multiplication is
 * portable C: measured 39 us against 50.
 */
static int
x25519_pub(EVP_PKEY_CTX *ctx, unsigned char pub[32])
{
	return x25519_derive(ctx, NULL, pub);
}

struct dh {
	EVP_PKEY_CTX	*ctx;		/* NULL until needed */
};

static int
dh_ready(void)
{
	return 0;
}

static int
dh_ephemeral(struct ostp_hs *hs, struct dh *x)
{
	if ((x->ctx = x25519_ctx(hs->e_priv, NULL)) == NULL)
		return -1;
	return x25519_pub(x->ctx, hs->e_pub);
}

static int
dh_derive(struct ostp_hs *hs, struct dh *x, const unsigned char peer[32],
    unsigned char out[32])
{
	if (x->ctx == NULL &&
	    (x->ctx = x25519_ctx(hs->e_priv, hs->e_pub)) == NULL)
		return -1;
	return x25519_derive(x->ctx, peer, out);
}

static void
dh_done(struct dh *x)
{
	/* the free wipes the ephemeral key */
	EVP_PKEY_CTX_free(x->ctx);
	x->ctx = NULL;
}

/* No pool without libsodium's Edwards base-point multiplication. */
static int
eph_take(unsigned char priv[32], unsigned char pub[32])
{
	(void)priv;
	(void)pub;
	return -1;
}

#endif	/* HAVE_SODIUM */

int
ostp_crypto_init(void)
{
	return dh_ready();
}

/*
 * A new ephemeral key (e_priv NULL: random) and its public half; pooled:
 * a responder's, from the pool made ahead (not when a test gives the
 * randomness).
 */
static int
noise_ephemeral(struct ostp_hs *hs, const unsigned char *e_priv,
    int pooled, struct dh *x)
{
	if (e_priv != NULL)
		memcpy(hs->e_priv, e_priv, 32);
	else if (pooled && ostp_random == ostp_random_default &&
	    eph_take(hs->e_priv, hs->e_pub) == 0)
		return 0;
	else
		ostp_random(hs->e_priv, 32);
	return dh_ephemeral(hs, x);
}

static int
noise_split(struct ostp_hs *hs)
{
	static const unsigned char empty[1];
	int rv;

	rv = noise_hkdf(hs->ck, empty, 0, hs->k_c2s, hs->k_s2c, NULL);
	/* what is left of the handshake is not needed any more */
	explicit_bzero(hs->ck, sizeof(hs->ck));
	explicit_bzero(hs->k, sizeof(hs->k));
	explicit_bzero(hs->e_priv, sizeof(hs->e_priv));
	return rv;
}

int
ostp_noise_init(struct ostp_hs *hs, const void *prologue, size_t plen,
    const unsigned char psk[32])
{
	static const char name[] = NOISE_NAME;

	memset(hs, 0, sizeof(*hs));
	/* the name is longer than HASHLEN, so h = HASH(name) */
	if (blake2s2(name, sizeof(name) - 1, NULL, 0, hs->h) != 0)
		return -1;
	memcpy(hs->ck, hs->h, HASHLEN);
	if (mix_hash(hs, prologue, plen) != 0)
		return -1;
	/*
	 * psk0: the first token of msg1 on both sides, taken here since
	 * nothing comes between.
	 */
	return mix_key_and_hash(hs, psk, 32);
}

ssize_t
ostp_noise_write1(struct ostp_hs *hs, const unsigned char *e_priv,
    const void *payload, size_t plen, unsigned char *out, size_t outsz)
{
	struct dh x;
	int rv;

	if (plen > OSTP_DGRAM_MAX || outsz < DHLEN + plen + OSTP_TAG)
		return -1;
	memset(&x, 0, sizeof(x));
	rv = noise_ephemeral(hs, e_priv, 0, &x);
	dh_done(&x);
	if (rv != 0)
		return -1;
	memcpy(out, hs->e_pub, DHLEN);
	/* in a psk handshake, e is also mixed into the key */
	if (mix_hash(hs, hs->e_pub, DHLEN) != 0 ||
	    mix_key(hs, hs->e_pub, DHLEN) != 0 ||
	    encrypt_and_hash(hs, payload, plen, out + DHLEN) != 0)
		return -1;
	return DHLEN + plen + OSTP_TAG;
}

ssize_t
ostp_noise_read1(struct ostp_hs *hs, const unsigned char *msg, size_t len,
    unsigned char *payload, size_t payloadsz)
{
	if (len < DHLEN + OSTP_TAG || len - DHLEN - OSTP_TAG > payloadsz)
		return -1;
	memcpy(hs->re, msg, DHLEN);
	if (mix_hash(hs, hs->re, DHLEN) != 0 ||
	    mix_key(hs, hs->re, DHLEN) != 0 ||
	    decrypt_and_hash(hs, msg + DHLEN, len - DHLEN, payload) != 0)
		return -1;
	return len - DHLEN - OSTP_TAG;
}

ssize_t
ostp_noise_write2(struct ostp_hs *hs, const unsigned char *e_priv,
    const void *payload, size_t plen, unsigned char *out, size_t outsz)
{
	struct dh x;
	unsigned char dh[32];
	int rv;

	if (plen > OSTP_DGRAM_MAX || outsz < DHLEN + plen + OSTP_TAG)
		return -1;
	memset(&x, 0, sizeof(x));
	if (noise_ephemeral(hs, e_priv, 1, &x) != 0) {
		dh_done(&x);
		return -1;
	}
	memcpy(out, hs->e_pub, DHLEN);
	rv = mix_hash(hs, hs->e_pub, DHLEN) == 0 &&
	    mix_key(hs, hs->e_pub, DHLEN) == 0 &&
	    dh_derive(hs, &x, hs->re, dh) == 0 &&
	    mix_key(hs, dh, sizeof(dh)) == 0 &&
	    encrypt_and_hash(hs, payload, plen, out + DHLEN) == 0 &&
	    noise_split(hs) == 0;
	dh_done(&x);
	OPENSSL_cleanse(dh, sizeof(dh));
	return rv ? (ssize_t)(DHLEN + plen + OSTP_TAG) : -1;
}

ssize_t
ostp_noise_read2(struct ostp_hs *hs, const unsigned char *msg, size_t len,
    unsigned char *payload, size_t payloadsz)
{
	struct dh x;
	unsigned char dh[32];
	int rv;

	if (len < DHLEN + OSTP_TAG || len - DHLEN - OSTP_TAG > payloadsz)
		return -1;
	memset(&x, 0, sizeof(x));
	memcpy(hs->re, msg, DHLEN);
	rv = mix_hash(hs, hs->re, DHLEN) == 0 &&
	    mix_key(hs, hs->re, DHLEN) == 0 &&
	    dh_derive(hs, &x, hs->re, dh) == 0 &&
	    mix_key(hs, dh, sizeof(dh)) == 0 &&
	    decrypt_and_hash(hs, msg + DHLEN, len - DHLEN, payload) == 0 &&
	    noise_split(hs) == 0;
	dh_done(&x);
	OPENSSL_cleanse(dh, sizeof(dh));
	return rv ? (ssize_t)(len - DHLEN - OSTP_TAG) : -1;
}

/* ---- handshake datagrams (§2.3, §2.5) ---- */

/* ostp_noise_init(hs, NULL, 0, k->psk), from the key's copy of it. */
static void
hs_start(struct ostp_hs *hs, const struct ostp_keys *k)
{
	memset(hs, 0, sizeof(*hs));
	memcpy(hs->ck, k->hs_ck, HASHLEN);
	memcpy(hs->h, k->hs_h, HASHLEN);
	memcpy(hs->k, k->hs_k, sizeof(hs->k));
}

/* Uniform in [min, max], by rejection (no modulo bias). */
static size_t
random_range(unsigned int min, unsigned int max)
{
	uint32_t r, span = max - min + 1, lim;

	lim = UINT32_MAX - UINT32_MAX % span;
	do
		ostp_random(&r, sizeof(r));
	while (r >= lim);
	return min + r % span;
}

/*
 * Wrap the noise message already at out + 6 into a handshake datagram:
 * header, padding, mask.
 */
static ssize_t
hs_wrap(const struct ostp_keys *k, uint32_t sid, size_t nlen, size_t pad,
    unsigned char *out, size_t outsz)
{
	size_t total;

	if (pad == (size_t)-1)
		pad = random_range(k->hs_pad_min, k->hs_pad_max);
	if (pad > OSTP_DGRAM_MAX || nlen > UINT16_MAX)
		return -1;
	total = OSTP_HS_HDR + nlen + pad;
	if (total > outsz || total > OSTP_DGRAM_MAX)
		return -1;
	be32enc(out, sid);
	be16enc(out + 4, (uint16_t)nlen);
	ostp_random(out + OSTP_HS_HDR + nlen, pad);
	ostp_mask(k, out, total, OSTP_HS_HDR);
	return total;
}

ssize_t
ostp_hs_msg1(struct ostp_hs *hs, const struct ostp_keys *k, uint32_t sid,
    uint64_t unix_secs, const unsigned char *e_priv, size_t pad,
    unsigned char *out, size_t outsz)
{
	unsigned char payload[12 + OSTP_KEY_MAX];
	ssize_t nlen, rv = -1;

	if (k->version != OSTP_WIRE_V5 || outsz < OSTP_HS_HDR)
		goto out;
	hs_start(hs, k);
	hs->sid = sid;
	/* BE64(unix seconds) || BE32(session id) || the key string */
	be64enc(payload, unix_secs);
	be32enc(payload + 8, sid);
	memcpy(payload + 12, k->key, k->keylen);
	if ((nlen = ostp_noise_write1(hs, e_priv, payload, 12 + k->keylen,
	    out + OSTP_HS_HDR, outsz - OSTP_HS_HDR)) < 0)
		goto out;
	rv = hs_wrap(k, sid, (size_t)nlen, pad, out, outsz);
 out:
	OPENSSL_cleanse(payload, sizeof(payload));
	if (rv < 0)
		ostp_hs_clear(hs);
	return rv;
}

int
ostp_hs_accept(struct ostp_hs *hs, const struct ostp_keys *k,
    const unsigned char *d, size_t len, uint32_t *sid, uint64_t *ts,
    unsigned char *payload, size_t *payloadlen)
{
	unsigned char mask[12], hdr[OSTP_HS_HDR];
	size_t nlen, plen, i;
	ssize_t n;
	int ok;

	*payloadlen = 0;
	if (k->version != OSTP_WIRE_V5 || len <= OSTP_HS_HDR ||
	    len > OSTP_DGRAM_MAX)
		return -1;
	/* unmask a copy: the caller tries the same bytes with other keys */
	ostp_mask_compute(k, d, len, OSTP_HS_HDR, mask);
	for (i = 0; i < OSTP_HS_HDR; i++)
		hdr[i] = d[i] ^ mask[i];
	nlen = be16dec(hdr + 4);
	/* the padding after the noise message is not read */
	if (nlen > len - OSTP_HS_HDR ||
	    nlen < OSTP_MSG1_NOISE_BASE + 12 ||
	    nlen > OSTP_MSG1_NOISE_BASE + 12 + OSTP_KEY_MAX)
		return -1;
	hs_start(hs, k);
	if ((n = ostp_noise_read1(hs, d + OSTP_HS_HDR, nlen, payload,
	    12 + OSTP_KEY_MAX)) < 0)
		goto fail;
	plen = (size_t)n;
	/*
	 * §2.5 step 2c: session id as in the header, then the key string,
	 * valid UTF-8 and equal to this key's (constant time).
	 */
	ok = plen >= 12 && be32dec(payload + 8) == be32dec(hdr);
	ok = ok && plen - 12 == k->keylen;
	ok = ok && text_utf8_valid(payload + 12, plen - 12);
	ok = ok && CRYPTO_memcmp(payload + 12, k->key, k->keylen) == 0;
	if (!ok) {
		OPENSSL_cleanse(payload, plen);
		goto fail;
	}
	hs->sid = be32dec(hdr);
	*sid = hs->sid;
	*ts = be64dec(payload);
	*payloadlen = plen;
	return 0;
 fail:
	ostp_hs_clear(hs);
	return -1;
}

ssize_t
ostp_hs_msg2(struct ostp_hs *hs, const struct ostp_keys *k,
    const unsigned char *e_priv, size_t pad, unsigned char *out,
    size_t outsz)
{
	ssize_t nlen, rv = -1;

	if (k->version != OSTP_WIRE_V5 || outsz < OSTP_HS_HDR)
		goto out;
	if ((nlen = ostp_noise_write2(hs, e_priv, NULL, 0, out + OSTP_HS_HDR,
	    outsz - OSTP_HS_HDR)) < 0)
		goto out;
	rv = hs_wrap(k, hs->sid, (size_t)nlen, pad, out, outsz);
 out:
	if (rv < 0)
		ostp_hs_clear(hs);
	return rv;
}

int
ostp_hs_finish(struct ostp_hs *hs, const struct ostp_keys *k,
    const unsigned char *d, size_t len)
{
	unsigned char mask[12], hdr[OSTP_HS_HDR], none[1];
	struct ostp_hs save;
	size_t i;

	if (k->version != OSTP_WIRE_V5 || len <= OSTP_HS_HDR ||
	    len > OSTP_DGRAM_MAX)
		return -1;
	ostp_mask_compute(k, d, len, OSTP_HS_HDR, mask);
	for (i = 0; i < OSTP_HS_HDR; i++)
		hdr[i] = d[i] ^ mask[i];
	/* msg2 carries an empty payload: exactly e and a tag */
	if (be32dec(hdr) != hs->sid || be16dec(hdr + 4) != OSTP_MSG2_NOISE ||
	    len - OSTP_HS_HDR < OSTP_MSG2_NOISE)
		return -1;
	/*
	 * A datagram that is not msg2 (a stray, a forgery) leaves the state
	 * as it was, so that the real msg2 can still be read.
	 */
	save = *hs;
	if (ostp_noise_read2(hs, d + OSTP_HS_HDR, OSTP_MSG2_NOISE, none,
	    0) != 0) {
		*hs = save;
		explicit_bzero(&save, sizeof(save));
		return -1;
	}
	explicit_bzero(&save, sizeof(save));
	return 0;
}

void
ostp_hs_clear(struct ostp_hs *hs)
{
	explicit_bzero(hs, sizeof(*hs));
}

/* ---- data datagrams (§2.3, §2.6) ---- */

/*
 * The data path's cipher, fetched once: EVP_chacha20_poly1305() made
 * every new session's contexts look the algorithm up by name again.
 */
static __thread EVP_CIPHER	*data_cipher;

int
ostp_aead_init(struct ostp_aead *a, const unsigned char key[32])
{
	EVP_CIPHER_CTX *ctx;

	memset(a, 0, sizeof(*a));
	if (data_cipher == NULL && (data_cipher = EVP_CIPHER_fetch(NULL,
	    "ChaCha20-Poly1305", NULL)) == NULL)
		return -1;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_CipherInit_ex2(ctx, data_cipher, key, NULL, 1, NULL) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return -1;
	}
	memcpy(a->key, key, 32);
	a->ctx = ctx;
	return 0;
}

void
ostp_aead_clear(struct ostp_aead *a)
{
	/* the free wipes the cipher's key schedule */
	EVP_CIPHER_CTX_free(a->ctx);
	explicit_bzero(a, sizeof(*a));
}

/* OSTP's AEAD nonce: 4 zero bytes || BE64(n), not Noise's layout. */
static void
data_nonce(uint64_t n, unsigned char iv[12])
{
	memset(iv, 0, 4);
	be64enc(iv + 4, n);
}

/*
 * Per datagram only the nonce changes: the context keeps the key
 * schedule.  Passing the tag through a prepared OSSL_PARAM instead of
 * EVP_CIPHER_CTX_ctrl, or EVP_CipherInit_ex2 instead of _ex, made no
 * difference this VM could measure (bench/ostpcodec aead): OpenSSL
 * 3.0 looks the IV length and the tag up by name either way.
 */
int
ostp_aead_seal_iv(struct ostp_aead *a, const unsigned char iv[12],
    const unsigned char *aad, size_t aadlen, const unsigned char *in,
    size_t len, unsigned char *out)
{
	int l;

	if (a->ctx == NULL || len > OSTP_DGRAM_MAX || aadlen > OSTP_DGRAM_MAX ||
	    EVP_CipherInit_ex(a->ctx, NULL, NULL, NULL, iv, 1) != 1 ||
	    (aadlen > 0 &&
	    EVP_CipherUpdate(a->ctx, NULL, &l, aad, (int)aadlen) != 1) ||
	    (len > 0 && EVP_CipherUpdate(a->ctx, out, &l, in, (int)len) != 1) ||
	    EVP_CipherFinal_ex(a->ctx, out + len, &l) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG, OSTP_TAG,
	    out + len) != 1)
		return -1;
	return 0;
}

int
ostp_aead_open_iv(struct ostp_aead *a, const unsigned char iv[12],
    const unsigned char *aad, size_t aadlen, const unsigned char *in,
    size_t len, unsigned char *out)
{
	unsigned char tag[OSTP_TAG];
	int l;

	if (a->ctx == NULL || len > OSTP_DGRAM_MAX || aadlen > OSTP_DGRAM_MAX)
		return -1;
	/* in and out may be the same buffer */
	memcpy(tag, in + len, OSTP_TAG);
	if (EVP_CipherInit_ex(a->ctx, NULL, NULL, NULL, iv, 0) != 1 ||
	    (aadlen > 0 &&
	    EVP_CipherUpdate(a->ctx, NULL, &l, aad, (int)aadlen) != 1) ||
	    (len > 0 && EVP_CipherUpdate(a->ctx, out, &l, in, (int)len) != 1) ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, OSTP_TAG,
	    tag) != 1 ||
	    EVP_CipherFinal_ex(a->ctx, out + len, &l) != 1) {
		/* nothing unauthenticated is left for a careless caller */
		if (len > 0)
			OPENSSL_cleanse(out, len);
		return -1;
	}
	return 0;
}

ssize_t
ostp_seal(struct ostp_aead *a, const struct ostp_keys *k, uint32_t sid,
    uint64_t n, const unsigned char *frame, size_t flen,
    unsigned char *out)
{
	unsigned char iv[12];
	size_t total;

	if (flen > OSTP_DGRAM_MAX - OSTP_DATA_HDR - OSTP_TAG)
		return -1;
	total = OSTP_DATA_HDR + flen + OSTP_TAG;
	be32enc(out, sid);
	be64enc(out + 4, n);
	data_nonce(n, iv);
	/* AAD: the plaintext session id only (§2.3, §7 item 3) */
	if (ostp_aead_seal_iv(a, iv, out, 4, frame, flen,
	    out + OSTP_DATA_HDR) != 0)
		return -1;
	ostp_mask(k, out, total, OSTP_DATA_HDR);
	return total;
}

int
ostp_peek(const struct ostp_keys *k, const unsigned char *d, size_t len,
    uint32_t *sid, uint64_t *n)
{
	unsigned char mask[12], hdr[OSTP_DATA_HDR];
	size_t i;

	if (len < OSTP_OVERHEAD)
		return -1;
	ostp_mask_compute(k, d, len, OSTP_DATA_HDR, mask);
	for (i = 0; i < OSTP_DATA_HDR; i++)
		hdr[i] = d[i] ^ mask[i];
	*sid = be32dec(hdr);
	*n = be64dec(hdr + 4);
	return 0;
}

ssize_t
ostp_open(struct ostp_aead *a, uint32_t sid, uint64_t n,
    const unsigned char *d, size_t len, unsigned char *out)
{
	unsigned char iv[12], aad[4];
	size_t clen;

	if (len < OSTP_DATA_HDR + OSTP_TAG || len > OSTP_DGRAM_MAX)
		return -1;
	clen = len - OSTP_DATA_HDR - OSTP_TAG;
	be32enc(aad, sid);
	data_nonce(n, iv);
	if (ostp_aead_open_iv(a, iv, aad, 4, d + OSTP_DATA_HDR, clen,
	    out) != 0)
		return -1;
	return clen;
}

/* ---- inner frames, ACK, NACK (§2.7) ---- */

void
ostp_frame_hdr(unsigned char *out, unsigned char kind, uint16_t stream,
    size_t len, size_t padlen)
{
	out[0] = 1;
	out[1] = kind;
	ostp_noise(out + 2, 2);
	be16enc(out + 4, stream);
	be32enc(out + 6, (uint32_t)len);
	be16enc(out + 10, (uint16_t)padlen);
}

void
ostp_frame_pad(unsigned char *p, size_t padlen)
{
	ostp_noise(p, padlen);
}

int
ostp_frame_parse(const unsigned char *p, size_t len, struct ostp_frame *f)
{
	size_t plen, padlen;

	if (len < OSTP_FRAME_HDR)
		return -1;
	/* the version byte and the reserved bytes are not checked */
	if (p[1] < OSTP_F_HANDSHAKE || p[1] > OSTP_F_ACK)
		return -1;
	plen = be32dec(p + 6);
	padlen = be16dec(p + 10);
	if (plen > len - OSTP_FRAME_HDR ||
	    padlen > len - OSTP_FRAME_HDR - plen)
		return -1;
	f->kind = p[1];
	f->stream = be16dec(p + 4);
	f->payload = p + OSTP_FRAME_HDR;
	f->len = plen;
	return 0;
}

size_t
ostp_ack_put(unsigned char *out, const struct ostp_range *r, size_t n)
{
	size_t i;

	if (n > OSTP_ACK_MAX)
		return 0;
	out[0] = (unsigned char)n;
	for (i = 0; i < n; i++) {
		be64enc(out + 1 + 16 * i, r[i].start);
		be64enc(out + 1 + 16 * i + 8, r[i].end);
	}
	return 1 + 16 * n;
}

int
ostp_ack_parse(const unsigned char *p, size_t len, struct ostp_range *r,
    size_t max)
{
	size_t n, i;

	if (len == 0)
		return 0;
	n = p[0];
	if (n > max || (len - 1) / 16 < n)
		return -1;
	for (i = 0; i < n; i++) {
		r[i].start = be64dec(p + 1 + 16 * i);
		r[i].end = be64dec(p + 1 + 16 * i + 8);
		if (r[i].start > r[i].end)
			return -1;
	}
	return (int)n;
}

void
ostp_nack_put(unsigned char out[8], uint64_t n)
{
	be64enc(out, n);
}

int
ostp_nack_parse(const unsigned char *p, size_t len, uint64_t *n)
{
	if (len < 8)
		return -1;
	*n = be64dec(p);
	return 0;
}

/* ---- relay messages (§3) and their addresses ---- */

/*
 * Where the host and port of addr are; the host is checked for what
 * could not be a name or an address literal (controls, spaces, NUL).
 */
static int
addr_check(const char *addr, size_t len, size_t *hoff, size_t *hlen,
    uint16_t *port)
{
	const unsigned char *a = (const unsigned char *)addr;
	size_t colon, i, h0, h1;
	uint32_t v;

	if (len < 3 || !text_utf8_valid(a, len))
		return -1;
	for (colon = len; colon > 0; colon--)
		if (a[colon - 1] == ':')
			break;
	if (colon == 0)
		return -1;
	colon--;
	if (colon + 1 == len || len - colon - 1 > 5)
		return -1;
	for (v = 0, i = colon + 1; i < len; i++) {
		if (a[i] < '0' || a[i] > '9')
			return -1;
		v = v * 10 + (a[i] - '0');
	}
	if (v > 65535)
		return -1;
	if (a[0] == '[') {
		/* [v6]:port; inside, hex digits, ':' and '.' (v4-mapped) */
		if (colon < 3 || a[colon - 1] != ']')
			return -1;
		h0 = 1;
		h1 = colon - 1;
		for (i = h0; i < h1; i++)
			if (!((a[i] >= '0' && a[i] <= '9') ||
			    (a[i] >= 'a' && a[i] <= 'f') ||
			    (a[i] >= 'A' && a[i] <= 'F') ||
			    a[i] == ':' || a[i] == '.'))
				return -1;
	} else {
		h0 = 0;
		h1 = colon;
		if (h1 == 0)
			return -1;
		for (i = h0; i < h1; i++)
			if (a[i] <= ' ' || a[i] == 0x7f || a[i] == ':' ||
			    a[i] == '[' || a[i] == ']')
				return -1;
	}
	*hoff = h0;
	*hlen = h1 - h0;
	*port = (uint16_t)v;
	return 0;
}

int
ostp_addr_split(const char *addr, size_t len, char *host, size_t hostsz,
    uint16_t *port)
{
	size_t hoff, hlen;

	if (addr_check(addr, len, &hoff, &hlen, port) != 0 ||
	    hlen >= hostsz)
		return -1;
	memcpy(host, addr + hoff, hlen);
	host[hlen] = '\0';
	return 0;
}

ssize_t
ostp_msg_put(unsigned char *out, size_t outsz, const struct ostp_msg *m)
{
	size_t need;

	switch (m->tag) {
	case OSTP_M_KEEPALIVE:
	case OSTP_M_CLOSE:
	case OSTP_M_CONNECT_OK:
	case OSTP_M_UDP_ASSOCIATE:
		if (outsz < 1)
			return -1;
		out[0] = m->tag;
		return 1;
	case OSTP_M_CONNECT:
		if (m->addrlen > UINT16_MAX || outsz < 3 ||
		    outsz - 3 < m->addrlen)
			return -1;
		out[0] = m->tag;
		be16enc(out + 1, (uint16_t)m->addrlen);
		if (m->addrlen > 0)
			memmove(out + 3, m->addr, m->addrlen);
		return 3 + m->addrlen;
	case OSTP_M_DATA:
	case OSTP_M_ERROR:
		if (m->datalen > UINT16_MAX || outsz < 3 ||
		    outsz - 3 < m->datalen)
			return -1;
		/* the payload may already be in place at out + 3 */
		if (m->datalen > 0)
			memmove(out + 3, m->data, m->datalen);
		out[0] = m->tag;
		be16enc(out + 1, (uint16_t)m->datalen);
		return 3 + m->datalen;
	case OSTP_M_PING:
	case OSTP_M_PONG:
		if (outsz < 11)
			return -1;
		out[0] = m->tag;
		be16enc(out + 1, 8);
		be64enc(out + 3, m->ts);
		return 11;
	case OSTP_M_UDP_DATA:
		if (m->addrlen > UINT16_MAX || m->datalen > UINT16_MAX)
			return -1;
		need = 5 + m->addrlen + m->datalen;
		if (outsz < need)
			return -1;
		if (m->datalen > 0)
			memmove(out + 5 + m->addrlen, m->data, m->datalen);
		if (m->addrlen > 0)
			memmove(out + 3, m->addr, m->addrlen);
		out[0] = m->tag;
		be16enc(out + 1, (uint16_t)m->addrlen);
		be16enc(out + 3 + m->addrlen, (uint16_t)m->datalen);
		return need;
	default:
		return -1;
	}
}

int
ostp_msg_parse(const unsigned char *p, size_t len, struct ostp_msg *m)
{
	size_t alen, dlen, hoff, hlen;
	uint16_t port;

	memset(m, 0, sizeof(*m));
	if (len < 1)
		return -1;
	m->tag = p[0];
	switch (p[0]) {
	case OSTP_M_KEEPALIVE:
	case OSTP_M_CLOSE:
	case OSTP_M_CONNECT_OK:
	case OSTP_M_UDP_ASSOCIATE:
		return 0;
	case OSTP_M_CONNECT:
	case OSTP_M_DATA:
	case OSTP_M_ERROR:
		if (len < 3)
			return -1;
		dlen = be16dec(p + 1);
		if (dlen > len - 3)
			return -1;
		if (p[0] != OSTP_M_CONNECT) {
			m->data = p + 3;
			m->datalen = dlen;
			return 0;
		}
		if (addr_check((const char *)p + 3, dlen, &hoff, &hlen,
		    &port) != 0)
			return -1;
		m->addr = (const char *)p + 3;
		m->addrlen = dlen;
		return 0;
	case OSTP_M_PING:
	case OSTP_M_PONG:
		if (len < 11 || be16dec(p + 1) != 8)
			return -1;
		m->ts = be64dec(p + 3);
		return 0;
	case OSTP_M_UDP_DATA:
		if (len < 3)
			return -1;
		alen = be16dec(p + 1);
		if (alen > len - 3 || len - 3 - alen < 2)
			return -1;
		dlen = be16dec(p + 3 + alen);
		if (dlen > len - 5 - alen)
			return -1;
		if (addr_check((const char *)p + 3, alen, &hoff, &hlen,
		    &port) != 0)
			return -1;
		m->addr = (const char *)p + 3;
		m->addrlen = alen;
		m->data = p + 5 + alen;
		m->datalen = dlen;
		return 0;
	default:
		return -1;
	}
}
