/*
 * Shadowsocks AEAD primitives (SIP004, SIP022).  Each session direction
 * has its own subkey derived from the master key and a random salt, and
 * a 96-bit little-endian nonce counter starting at zero, advanced after
 * every seal or open.
 */
#include "config.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "compat.h"
#include "blake3.h"
#include "err.h"
#include "ss.h"

static const struct ss_method methods[] = {
	{ "aes-128-gcm",		SS_KIND_AEAD, 16, 0 },
	{ "aes-256-gcm",		SS_KIND_AEAD, 32, 0 },
	{ "chacha20-ietf-poly1305",	SS_KIND_AEAD, 32, 1 },
	{ "2022-blake3-aes-128-gcm",	SS_KIND_2022, 16, 0 },
	{ "2022-blake3-aes-256-gcm",	SS_KIND_2022, 32, 0 },
	{ "2022-blake3-chacha20-poly1305", SS_KIND_2022, 32, 1 },
	{ "plain",			SS_KIND_NONE, 0, 0 },
	{ "none",			SS_KIND_NONE, 0, 0 },
};

static const struct {
	const char	*alias;
	const char	*name;
} aliases[] = {
	{ "AEAD_AES_128_GCM",		"aes-128-gcm" },
	{ "AEAD_AES_256_GCM",		"aes-256-gcm" },
	{ "AEAD_CHACHA20_POLY1305",	"chacha20-ietf-poly1305" },
	{ "dummy",			"none" },
};

static EVP_CIPHER *aes128gcm, *aes256gcm, *chachapoly, *aes128ecb, *aes256ecb;
static EVP_MD *md5;
/*
 * HKDF-SHA1 is done here over one HMAC context kept for the process:
 * OpenSSL's HKDF fetches HMAC and SHA-1 by name at every derivation,
 * which cost more than the derivation itself.
 */
static EVP_MAC *hmac;
static EVP_MAC_CTX *hmac_sha1;

/*
 * Cipher contexts of finished sessions, kept keyed with zeros for the
 * next: a new context allocates the provider's state at every init.
 * One cache per cipher, a few entries each.
 */
#define SHA1_LEN	20
#define CTX_CACHE	16
static struct {
	EVP_CIPHER_CTX	*ctx[CTX_CACHE];
	int		 n;
} ctx_cache[3];

const struct ss_method *
ss_method_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcasecmp(name, aliases[i].alias) == 0)
			name = aliases[i].name;
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcasecmp(name, methods[i].name) == 0)
			return &methods[i];
	return NULL;
}

const char *
ss_method_names(void)
{
	return "aes-128-gcm, aes-256-gcm, chacha20-ietf-poly1305, "
	    "2022-blake3-aes-128-gcm, 2022-blake3-aes-256-gcm, "
	    "2022-blake3-chacha20-poly1305, none";
}

int
ss_crypto_init(void)
{
	OSSL_PARAM p[2] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
		    (char *)"SHA1", 0),
		OSSL_PARAM_END
	};
	unsigned char b[1];

	if (aes128gcm != NULL)
		return 0;
	if ((aes128gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL)) == NULL ||
	    (aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL ||
	    (chachapoly = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305",
	    NULL)) == NULL ||
	    (aes128ecb = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL)) == NULL ||
	    (aes256ecb = EVP_CIPHER_fetch(NULL, "AES-256-ECB", NULL)) == NULL ||
	    (md5 = EVP_MD_fetch(NULL, "MD5", NULL)) == NULL ||
	    (hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (hmac_sha1 = EVP_MAC_CTX_new(hmac)) == NULL ||
	    EVP_MAC_CTX_set_params(hmac_sha1, p) != 1 ||
	    RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	return 0;
}

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Standard or URL-safe base64, padding optional; -1 if malformed. */
static int
b64decode(const char *s, unsigned char *out, size_t outcap, size_t *outlen)
{
	unsigned int acc = 0;
	size_t n = 0, i, len = strlen(s);
	int bits = 0, v;

	while (len > 0 && s[len - 1] == '=')
		len--;
	for (i = 0; i < len; i++) {
		if ((v = b64val((unsigned char)s[i])) < 0)
			return -1;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= outcap)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	*outlen = n;
	return 0;
}

int
ss_master_key(const struct ss_method *m, const char *password,
    unsigned char *key, char *err, size_t errlen)
{
	unsigned char d[EVP_MAX_MD_SIZE], raw[64];
	unsigned int dl = 0;
	size_t n = 0, take, rawlen;
	EVP_MD_CTX *ctx;

	if (m->kind == SS_KIND_NONE)
		return 0;
	if (m->kind == SS_KIND_2022) {
		/* SIP022: the key itself, base64, of the cipher's size */
		if (b64decode(password, raw, sizeof(raw), &rawlen) != 0 ||
		    rawlen != m->keylen) {
			seterr(err, errlen, "%s needs a base64 key of %zu bytes "
			    "(e.g. from openssl rand -base64 %zu)", m->name,
			    m->keylen, m->keylen);
			explicit_bzero(raw, sizeof(raw));
			return -1;
		}
		memcpy(key, raw, m->keylen);
		explicit_bzero(raw, sizeof(raw));
		return 0;
	}
	if (md5 == NULL && ss_crypto_init() != 0) {
		seterr(err, errlen, "OpenSSL lacks what Shadowsocks needs");
		return -1;
	}
	/* EVP_BytesToKey(MD5, no salt, one round): D_i = MD5(D_i-1 || pw) */
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	while (n < m->keylen) {
		if (EVP_DigestInit_ex(ctx, md5, NULL) != 1 ||
		    (n > 0 && EVP_DigestUpdate(ctx, d, dl) != 1) ||
		    EVP_DigestUpdate(ctx, password, strlen(password)) != 1 ||
		    EVP_DigestFinal_ex(ctx, d, &dl) != 1) {
			EVP_MD_CTX_free(ctx);
			return -1;
		}
		take = m->keylen - n < dl ? m->keylen - n : dl;
		memcpy(key + n, d, take);
		n += take;
	}
	EVP_MD_CTX_free(ctx);
	explicit_bzero(d, sizeof(d));
	return 0;
}

/* One HMAC-SHA1 over a and b (b may be empty) into out[20]. */
static int
hmac1(const unsigned char *key, size_t klen, const unsigned char *a,
    size_t alen, const unsigned char *b, size_t blen, unsigned char *out)
{
	size_t ol;

	return EVP_MAC_init(hmac_sha1, key, klen, NULL) == 1 &&
	    EVP_MAC_update(hmac_sha1, a, alen) == 1 &&
	    (blen == 0 || EVP_MAC_update(hmac_sha1, b, blen) == 1) &&
	    EVP_MAC_final(hmac_sha1, out, &ol, SHA1_LEN) == 1 &&
	    ol == SHA1_LEN ? 0 : -1;
}

/*
 * SIP004's subkey: HKDF-SHA1 (RFC 5869) of the master key with the
 * salt, info "ss-subkey", as long as the key (at most two blocks).
 */
static int
hkdf_sha1(const unsigned char *key, const unsigned char *salt, size_t len,
    unsigned char *out)
{
	static const unsigned char info[] = "ss-subkey\1", info2[] =
	    "ss-subkey\2";
	unsigned char prk[SHA1_LEN], t[2 * SHA1_LEN];
	int r = ERR_INTERNAL;

	if (hmac_sha1 == NULL && ss_crypto_init() != 0)
		return ERR_INTERNAL;
	if (len > sizeof(t) ||
	    hmac1(salt, len, key, len, NULL, 0, prk) != 0 ||
	    hmac1(prk, sizeof(prk), info, sizeof(info) - 1, NULL, 0, t) != 0 ||
	    (len > SHA1_LEN && hmac1(prk, sizeof(prk), t, SHA1_LEN, info2,
	    sizeof(info2) - 1, t + SHA1_LEN) != 0))
		goto out;
	memcpy(out, t, len);
	r = 0;
out:
	explicit_bzero(prk, sizeof(prk));
	explicit_bzero(t, sizeof(t));
	return r;
}

static int
subkey(const struct ss_method *m, const unsigned char *key,
    const unsigned char *salt, unsigned char *out)
{
	if (m->kind == SS_KIND_2022) {
		unsigned char mat[2 * SS_KEY_MAX];

		memcpy(mat, key, m->keylen);
		memcpy(mat + m->keylen, salt, m->keylen);
		blake3_derive_key("shadowsocks 2022 session subkey", mat,
		    2 * m->keylen, out, m->keylen);
		explicit_bzero(mat, sizeof(mat));
		return 0;
	}
	return hkdf_sha1(key, salt, m->keylen, out);
}


/* The cipher of a method, and its index in ctx_cache. */
static const EVP_CIPHER *
aead_cipher(const struct ss_method *m, int *idx)
{
	*idx = m->chacha ? 2 : m->keylen == 16 ? 0 : 1;
	return m->chacha ? chachapoly : m->keylen == 16 ? aes128gcm :
	    aes256gcm;
}

int
ss_aead_init(struct ss_aead *a, const struct ss_method *m,
    const unsigned char *key, const unsigned char *salt, int enc)
{
	unsigned char sk[SS_KEY_MAX];
	const EVP_CIPHER *c;
	int r, i;

	memset(a, 0, sizeof(*a));
	a->enc = enc;
	if (aes128gcm == NULL && ss_crypto_init() != 0)
		return ERR_INTERNAL;
	c = aead_cipher(m, &i);
	if ((r = subkey(m, key, salt, sk)) != 0)
		return r;
	if (ctx_cache[i].n > 0) {
		a->ctx = ctx_cache[i].ctx[--ctx_cache[i].n];
		c = NULL;	/* the context has it: only the key changes */
	} else if ((a->ctx = EVP_CIPHER_CTX_new()) == NULL) {
		explicit_bzero(sk, sizeof(sk));
		return ERR_ALLOC;
	}
	r = EVP_CipherInit_ex(a->ctx, c, NULL, sk, a->nonce, enc);
	explicit_bzero(sk, sizeof(sk));
	if (r != 1) {
		ss_aead_clear(a);
		return ERR_INTERNAL;
	}
	return 0;
}

void
ss_aead_clear(struct ss_aead *a)
{
	static const unsigned char zero[SS_KEY_MAX];
	const EVP_CIPHER *c;
	int i;

	if (a->ctx != NULL) {
		c = EVP_CIPHER_CTX_get0_cipher(a->ctx);
		i = c == aes128gcm ? 0 : c == aes256gcm ? 1 :
		    c == chachapoly ? 2 : -1;
		/* keyed with zeros, the session's key schedule is gone */
		if (i != -1 && ctx_cache[i].n < CTX_CACHE &&
		    EVP_CipherInit_ex(a->ctx, NULL, NULL, zero, zero,
		    -1) == 1)
			ctx_cache[i].ctx[ctx_cache[i].n++] = a->ctx;
		else
			EVP_CIPHER_CTX_free(a->ctx);	/* wipes it too */
	}
	memset(a, 0, sizeof(*a));
}

static void
nonce_next(unsigned char *n)
{
	size_t i;

	for (i = 0; i < SS_NONCE_LEN; i++)
		if (++n[i] != 0)
			break;
}

int
ss_aead_seal(struct ss_aead *a, const unsigned char *in, size_t n,
    unsigned char *out)
{
	int l = 0, l2 = 0;

	if (n > 0x7fffffff ||
	    EVP_EncryptInit_ex(a->ctx, NULL, NULL, NULL, a->nonce) != 1 ||
	    EVP_EncryptUpdate(a->ctx, out, &l, in, (int)n) != 1 ||
	    EVP_EncryptFinal_ex(a->ctx, out + l, &l2) != 1 ||
	    (size_t)(l + l2) != n ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG, SS_TAG_LEN,
	    out + n) != 1)
		return ERR_INTERNAL;
	nonce_next(a->nonce);
	return 0;
}

int
ss_aead_open(struct ss_aead *a, const unsigned char *in, size_t n,
    unsigned char *out)
{
	unsigned char tag[SS_TAG_LEN];
	int l = 0, l2 = 0;

	if (n < SS_TAG_LEN || n > 0x7fffffff)
		return ERR_FORMAT;
	n -= SS_TAG_LEN;
	memcpy(tag, in + n, SS_TAG_LEN);	/* out may overlap in */
	if (EVP_DecryptInit_ex(a->ctx, NULL, NULL, NULL, a->nonce) != 1 ||
	    EVP_DecryptUpdate(a->ctx, out, &l, in, (int)n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, SS_TAG_LEN,
	    tag) != 1)
		return ERR_INTERNAL;
	if (EVP_DecryptFinal_ex(a->ctx, out + l, &l2) != 1)
		return ERR_FORMAT;
	nonce_next(a->nonce);
	return 0;
}

int
ss_udp_seal(const struct ss_method *m, const unsigned char *key,
    const unsigned char *in, size_t n, unsigned char *out, size_t outcap,
    size_t *outlen)
{
	struct ss_aead a;
	int r;

	if (m->kind == SS_KIND_NONE) {
		if (n > outcap)
			return ERR_NO_SPACE;
		memmove(out, in, n);
		*outlen = n;
		return 0;
	}
	if (m->kind != SS_KIND_AEAD)
		return ERR_INTERNAL;
	if (outcap < m->keylen || outcap - m->keylen < n + SS_TAG_LEN)
		return ERR_NO_SPACE;
	memmove(out + m->keylen, in, n);
	if (RAND_bytes(out, (int)m->keylen) != 1)
		return ERR_INTERNAL;
	if ((r = ss_aead_init(&a, m, key, out, 1)) != 0)
		return r;
	r = ss_aead_seal(&a, out + m->keylen, n, out + m->keylen);
	ss_aead_clear(&a);
	*outlen = m->keylen + n + SS_TAG_LEN;
	return r;
}

int
ss_udp_open(const struct ss_method *m, const unsigned char *key,
    const unsigned char *in, size_t n, unsigned char *out, size_t outcap,
    size_t *outlen)
{
	struct ss_aead a;
	int r;

	if (m->kind == SS_KIND_NONE) {
		if (n > outcap)
			return ERR_NO_SPACE;
		memmove(out, in, n);
		*outlen = n;
		return 0;
	}
	if (m->kind != SS_KIND_AEAD)
		return ERR_INTERNAL;
	if (n < m->keylen + SS_TAG_LEN)
		return ERR_FORMAT;
	if (outcap < n - m->keylen - SS_TAG_LEN)
		return ERR_NO_SPACE;
	if ((r = ss_aead_init(&a, m, key, in, 0)) != 0)
		return r;
	r = ss_aead_open(&a, in + m->keylen, n - m->keylen, out);
	ss_aead_clear(&a);
	if (r == 0)
		*outlen = n - m->keylen - SS_TAG_LEN;
	return r;
}

/*
 * SIP022 UDP.  AES methods: a 16-byte separate header (session ID,
 * packet ID) encrypted with AES-ECB under the key, then the body sealed
 * with the session's subkey (BLAKE3 of key and session ID) and bytes
 * 4..16 of the separate header as nonce.  The ChaCha method: a random
 * 24-byte nonce and XChaCha20-Poly1305 under the key itself, the IDs
 * inside the body.
 */
#define ROTL32(v, n)	((uint32_t)((v) << (n)) | ((v) >> (32 - (n))))
#define QR(a, b, c, d) do {						\
	a += b; d ^= a; d = ROTL32(d, 16);				\
	c += d; b ^= c; b = ROTL32(b, 12);				\
	a += b; d ^= a; d = ROTL32(d, 8);				\
	c += d; b ^= c; b = ROTL32(b, 7);				\
} while (0)

/* HChaCha20 (the XChaCha draft): 32-byte subkey from key and nonce[16]. */
void
ss_hchacha20(const unsigned char key[32], const unsigned char nonce[16],
    unsigned char out[32])
{
	uint32_t x[16];
	int i;

	x[0] = 0x61707865;
	x[1] = 0x3320646e;
	x[2] = 0x79622d32;
	x[3] = 0x6b206574;
	for (i = 0; i < 8; i++)
		x[4 + i] = le32dec(key + 4 * i);
	for (i = 0; i < 4; i++)
		x[12 + i] = le32dec(nonce + 4 * i);
	for (i = 0; i < 10; i++) {
		QR(x[0], x[4], x[8], x[12]);
		QR(x[1], x[5], x[9], x[13]);
		QR(x[2], x[6], x[10], x[14]);
		QR(x[3], x[7], x[11], x[15]);
		QR(x[0], x[5], x[10], x[15]);
		QR(x[1], x[6], x[11], x[12]);
		QR(x[2], x[7], x[8], x[13]);
		QR(x[3], x[4], x[9], x[14]);
	}
	for (i = 0; i < 4; i++) {
		uint32_t a = x[i], b = x[12 + i];

		out[4 * i] = (unsigned char)a;
		out[4 * i + 1] = (unsigned char)(a >> 8);
		out[4 * i + 2] = (unsigned char)(a >> 16);
		out[4 * i + 3] = (unsigned char)(a >> 24);
		out[16 + 4 * i] = (unsigned char)b;
		out[16 + 4 * i + 1] = (unsigned char)(b >> 8);
		out[16 + 4 * i + 2] = (unsigned char)(b >> 16);
		out[16 + 4 * i + 3] = (unsigned char)(b >> 24);
	}
	explicit_bzero(x, sizeof(x));
}

/* One-shot AEAD with an explicit key and 12-byte nonce. */
static int
aead_once(const EVP_CIPHER *c, const unsigned char *key,
    const unsigned char nonce[12], int enc, const unsigned char *in,
    size_t n, unsigned char *out)
{
	EVP_CIPHER_CTX *ctx;
	unsigned char tag[SS_TAG_LEN];
	int l = 0, l2 = 0, r = ERR_INTERNAL;

	if (n > 0x7fffffff || (!enc && n < SS_TAG_LEN) ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return n > 0x7fffffff ? ERR_TOO_LONG : ERR_FORMAT;
	if (!enc) {
		n -= SS_TAG_LEN;
		memcpy(tag, in + n, SS_TAG_LEN);
	}
	if (EVP_CipherInit_ex(ctx, c, NULL, key, nonce, enc) != 1 ||
	    EVP_CipherUpdate(ctx, out, &l, in, (int)n) != 1)
		goto done;
	if (enc) {
		if (EVP_CipherFinal_ex(ctx, out + l, &l2) != 1 ||
		    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, SS_TAG_LEN,
		    out + n) != 1)
			goto done;
		r = 0;
	} else {
		if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, SS_TAG_LEN,
		    tag) != 1)
			goto done;
		r = EVP_CipherFinal_ex(ctx, out + l, &l2) == 1 ? 0 : ERR_FORMAT;
	}
 done:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

static int
ecb_block(const struct ss_method *m, const unsigned char *key, int enc,
    const unsigned char in[16], unsigned char out[16])
{
	EVP_CIPHER_CTX *ctx;
	int l = 0, r;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return ERR_ALLOC;
	r = EVP_CipherInit_ex(ctx, m->keylen == 16 ? aes128ecb : aes256ecb,
	    NULL, key, NULL, enc) == 1 &&
	    EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	    EVP_CipherUpdate(ctx, out, &l, in, 16) == 1 && l == 16 ? 0 :
	    ERR_INTERNAL;
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

int
ss22_udp_seal(const struct ss_method *m, const unsigned char *key,
    const struct ss22_packet *pk, const unsigned char *in, size_t n,
    unsigned char *out, size_t outcap, size_t *outlen)
{
	unsigned char body[SS22_HDR_MAX], sh[16], sub[SS_KEY_MAX], nonce[24];
	unsigned char xk[32], mat[SS_KEY_MAX + 8];
	size_t hl = 0, i;
	uint64_t ts = (uint64_t)time(NULL);
	int r;

	if (aes128gcm == NULL && ss_crypto_init() != 0)
		return ERR_INTERNAL;
	memcpy(sh, pk->sid, 8);
	for (i = 0; i < 8; i++)
		sh[8 + i] = (unsigned char)(pk->pid >> (56 - 8 * i));
	if (m->chacha) {
		memcpy(body, sh, 16);
		hl = 16;
	}
	body[hl++] = (unsigned char)pk->type;
	for (i = 0; i < 8; i++)
		body[hl++] = (unsigned char)(ts >> (56 - 8 * i));
	if (pk->type == 1) {
		memcpy(body + hl, pk->csid, 8);
		hl += 8;
	}
	body[hl++] = 0;			/* no padding */
	body[hl++] = 0;
	if (m->chacha) {
		if (outcap < 24 || outcap - 24 < hl + n + SS_TAG_LEN)
			return ERR_NO_SPACE;
		memmove(out + 24 + hl, in, n);
		memcpy(out + 24, body, hl);
		if (RAND_bytes(nonce, 24) != 1)
			return ERR_INTERNAL;
		memcpy(out, nonce, 24);
		ss_hchacha20(key, nonce, xk);
		memset(nonce + 4, 0, 4);	/* 0000 || nonce[16..24] */
		memcpy(nonce + 8, out + 16, 8);
		r = aead_once(chachapoly, xk, nonce + 4, 1, out + 24, hl + n,
		    out + 24);
		explicit_bzero(xk, sizeof(xk));
		*outlen = 24 + hl + n + SS_TAG_LEN;
		return r;
	}
	if (outcap < 16 || outcap - 16 < hl + n + SS_TAG_LEN)
		return ERR_NO_SPACE;
	memmove(out + 16 + hl, in, n);
	memcpy(out + 16, body, hl);
	memcpy(mat, key, m->keylen);
	memcpy(mat + m->keylen, pk->sid, 8);
	blake3_derive_key("shadowsocks 2022 session subkey", mat,
	    m->keylen + 8, sub, m->keylen);
	explicit_bzero(mat, sizeof(mat));
	r = aead_once(m->keylen == 16 ? aes128gcm : aes256gcm, sub, sh + 4, 1,
	    out + 16, hl + n, out + 16);
	explicit_bzero(sub, sizeof(sub));
	if (r == 0)
		r = ecb_block(m, key, 1, sh, out);
	*outlen = 16 + hl + n + SS_TAG_LEN;
	return r;
}

int
ss22_udp_open(const struct ss_method *m, const unsigned char *key,
    unsigned char *in, size_t n, struct ss22_packet *pk,
    const unsigned char **data, size_t *dlen)
{
	unsigned char sh[16], sub[SS_KEY_MAX], xk[32], nonce[12], *b;
	unsigned char mat[SS_KEY_MAX + 8];
	size_t bl, hl, pad, i;
	int64_t ts = 0, skew;
	int r;

	if (aes128gcm == NULL && ss_crypto_init() != 0)
		return ERR_INTERNAL;
	if (m->chacha) {
		if (n < 24 + 16 + SS_TAG_LEN)
			return ERR_FORMAT;
		ss_hchacha20(key, in, xk);
		memset(nonce, 0, 4);
		memcpy(nonce + 4, in + 16, 8);
		b = in + 24;
		bl = n - 24;
		r = aead_once(chachapoly, xk, nonce, 0, b, bl, b);
		explicit_bzero(xk, sizeof(xk));
		if (r != 0)
			return r;
		bl -= SS_TAG_LEN;
		memcpy(sh, b, 16);
		b += 16;
		bl -= 16;
	} else {
		if (n < 16 + SS_TAG_LEN)
			return ERR_FORMAT;
		if ((r = ecb_block(m, key, 0, in, sh)) != 0)
			return r;
		memcpy(mat, key, m->keylen);
		memcpy(mat + m->keylen, sh, 8);
		blake3_derive_key("shadowsocks 2022 session subkey", mat,
		    m->keylen + 8, sub, m->keylen);
		explicit_bzero(mat, sizeof(mat));
		b = in + 16;
		bl = n - 16;
		r = aead_once(m->keylen == 16 ? aes128gcm : aes256gcm, sub,
		    sh + 4, 0, b, bl, b);
		explicit_bzero(sub, sizeof(sub));
		if (r != 0)
			return r;
		bl -= SS_TAG_LEN;
	}
	memcpy(pk->sid, sh, 8);
	pk->pid = 0;
	for (i = 0; i < 8; i++)
		pk->pid = pk->pid << 8 | sh[8 + i];
	if (bl < 1 + 8 + 2)
		return ERR_FORMAT;
	pk->type = b[0];
	for (i = 0; i < 8; i++)
		ts = (int64_t)((uint64_t)ts << 8 | b[1 + i]);
	hl = 9;
	if (pk->type == 1) {
		if (bl < hl + 8 + 2)
			return ERR_FORMAT;
		memcpy(pk->csid, b + hl, 8);
		hl += 8;
	} else if (pk->type != 0)
		return ERR_FORMAT;
	skew = ts - (int64_t)time(NULL);
	if (skew > 30 || skew < -30)
		return ERR_FORMAT;
	pad = (size_t)b[hl] << 8 | b[hl + 1];
	hl += 2;
	if (pad > bl - hl)
		return ERR_FORMAT;
	hl += pad;
	*data = b + hl;
	*dlen = bl - hl;
	return 0;
}

/*
 * The packet IDs of one session: the highest seen and a 64-packet
 * window below it; 0 if pid is new (and now seen).
 */
int
ss22_window_check(struct ss22_window *w, uint64_t pid)
{
	uint64_t d;

	if (!w->any || pid > w->top) {
		d = w->any ? pid - w->top : 64;
		w->bits = d >= 64 ? 0 : w->bits << d;
		w->bits |= 1;
		w->top = pid;
		w->any = 1;
		return 0;
	}
	d = w->top - pid;
	if (d >= 64 || (w->bits & (1ULL << d)))
		return -1;
	w->bits |= 1ULL << d;
	return 0;
}
