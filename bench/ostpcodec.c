/*
 * The OSTP codec's per-datagram cost on one core: header mask, seal,
 * peek+open, and a seal+open round, for datagrams of SIZE bytes
 * (default 1350, the server's mtu); then the handshake's four steps
 * (client msg1, server accept and msg2, client finish) in us each.
 * "hs" runs only the handshake, COUNT times (default 2000); "aead"
 * compares OpenSSL call sequences for one sealed and one opened
 * datagram of SIZE bytes (the codec uses the cheapest); "x25519"
 * compares one X25519 by OpenSSL, on a context made once and as a
 * handshake has to (key objects for each key), with libsodium's when
 * configure found it (the codec uses it then).  Not part of make check.
 * After a build, under the CPU lock (-lsodium where config.h has
 * HAVE_SODIUM):
 *
 *   cc -O2 -Wall -I. -Idaemon -o build/ostpcodec bench/ostpcodec.c \
 *       build/obj/daemon/proto/ostp.o -lcrypto -lsodium
 *   flock -o /tmp/ostp-cpu.lock build/ostpcodec [SIZE [COUNT]]
 *   flock -o /tmp/ostp-cpu.lock build/ostpcodec hs [COUNT]
 *   flock -o /tmp/ostp-cpu.lock build/ostpcodec aead [SIZE [COUNT]]
 *   flock -o /tmp/ostp-cpu.lock build/ostpcodec x25519 [COUNT]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#ifdef HAVE_SODIUM
#include <sodium.h>
#endif

#include "proto/ostp.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
report(const char *what, long n, double t, size_t bytes)
{
	printf("%-10s %9.0f /s  %7.1f ns  %5.2f GB/s\n", what, n / t,
	    t / n * 1e9, bytes ? n * (double)bytes / t / 1e9 : 0.0);
}

static void
report_us(const char *what, long n, double t)
{
	printf("%-22s %9.0f /s  %7.2f us\n", what, n / t, t / n * 1e6);
}

/*
 * Each step over n handshakes in turn, so that one step's cost is not
 * blurred by the others' cache footprint.
 */
static int
bench_hs(const struct ostp_keys *k, long n)
{
	struct ostp_hs *cli, *srv;
	unsigned char (*m1)[1024], (*m2)[1024];
	size_t *m1len, *m2len;
	unsigned char payload[12 + OSTP_KEY_MAX];
	size_t plen;
	uint32_t sid;
	uint64_t ts;
	ssize_t r;
	double t0;
	long i;

	cli = calloc(n, sizeof(*cli));
	srv = calloc(n, sizeof(*srv));
	m1 = calloc(n, sizeof(*m1));
	m2 = calloc(n, sizeof(*m2));
	m1len = calloc(n, sizeof(*m1len));
	m2len = calloc(n, sizeof(*m2len));
	if (cli == NULL || srv == NULL || m1 == NULL || m2 == NULL ||
	    m1len == NULL || m2len == NULL)
		return -1;

	t0 = now();
	for (i = 0; i < n; i++) {
		if ((r = ostp_hs_msg1(&cli[i], k, (uint32_t)i + 1,
		    (uint64_t)time(NULL), NULL, (size_t)-1, m1[i],
		    sizeof(m1[i]))) < 0)
			return -1;
		m1len[i] = r;
	}
	report_us("msg1", n, now() - t0);

	t0 = now();
	for (i = 0; i < n; i++)
		if (ostp_hs_accept(&srv[i], k, m1[i], m1len[i], &sid, &ts,
		    payload, &plen) != 0 || sid != (uint32_t)i + 1)
			return -1;
	report_us("accept", n, now() - t0);

	t0 = now();
	for (i = 0; i < n; i++) {
		if ((r = ostp_hs_msg2(&srv[i], k, NULL, (size_t)-1, m2[i],
		    sizeof(m2[i]))) < 0)
			return -1;
		m2len[i] = r;
	}
	report_us("msg2", n, now() - t0);

	t0 = now();
	for (i = 0; i < n; i++)
		if (ostp_hs_finish(&cli[i], k, m2[i], m2len[i]) != 0 ||
		    memcmp(cli[i].k_c2s, srv[i].k_c2s, 32) != 0 ||
		    memcmp(cli[i].k_s2c, srv[i].k_s2c, 32) != 0)
			return -1;
	report_us("finish", n, now() - t0);

	for (i = 0; i < n; i++) {
		ostp_hs_clear(&cli[i]);
		ostp_hs_clear(&srv[i]);
	}
	free(cli);
	free(srv);
	free(m1);
	free(m2);
	free(m1len);
	free(m2len);
	return 0;
}

/*
 * One datagram's AEAD on a context keyed once, by each call sequence:
 * 0: EVP_CipherInit_ex with the IV, tag by EVP_CIPHER_CTX_ctrl;
 * 1: EVP_CipherInit_ex2 with the IV, tag by ctrl;
 * 2: EVP_CipherInit_ex2, tag by EVP_CIPHER_CTX_get_params/set_params
 *    with a prepared OSSL_PARAM (open: the tag in the init's params).
 */
static int
aead_seq(EVP_CIPHER_CTX *c, int seq, int enc, const unsigned char iv[12],
    const unsigned char *in, size_t len, unsigned char *out,
    unsigned char tag[16])
{
	OSSL_PARAM p[2];
	int l;

	p[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
	    tag, 16);
	p[1] = OSSL_PARAM_construct_end();
	if (seq == 0) {
		if (EVP_CipherInit_ex(c, NULL, NULL, NULL, iv, enc) != 1)
			return -1;
	} else if (EVP_CipherInit_ex2(c, NULL, NULL, iv, enc,
	    seq == 2 && !enc ? p : NULL) != 1)
		return -1;
	if (EVP_CipherUpdate(c, NULL, &l, iv, 4) != 1 ||
	    EVP_CipherUpdate(c, out, &l, in, (int)len) != 1)
		return -1;
	if (!enc && seq < 2 && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG,
	    16, tag) != 1)
		return -1;
	if (EVP_CipherFinal_ex(c, out + len, &l) != 1)
		return -1;
	if (enc && seq < 2)
		return EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16,
		    tag) == 1 ? 0 : -1;
	if (enc)
		return EVP_CIPHER_CTX_get_params(c, p) == 1 ? 0 : -1;
	return 0;
}

static int
bench_aead(size_t size, long n)
{
	static const char *name[] = { "init_ex+ctrl", "init_ex2+ctrl",
	    "init_ex2+params" };
	static unsigned char pt[OSTP_DGRAM_MAX], ct[OSTP_DGRAM_MAX + 16];
	unsigned char key[32], iv[12], tag[16];
	EVP_CIPHER_CTX *e, *d;
	EVP_CIPHER *ciph;
	char what[32];
	double t0;
	long i;
	int seq;

	memset(key, 7, sizeof(key));
	memset(iv, 0, sizeof(iv));
	memset(pt, 'x', size);
	if ((ciph = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL)) ==
	    NULL || (e = EVP_CIPHER_CTX_new()) == NULL ||
	    (d = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex2(e, ciph, key, NULL, 1, NULL) != 1 ||
	    EVP_CipherInit_ex2(d, ciph, key, NULL, 0, NULL) != 1)
		return -1;
	for (seq = 0; seq < 3; seq++) {
		t0 = now();
		for (i = 0; i < n; i++) {
			iv[11] = (unsigned char)i;
			if (aead_seq(e, seq, 1, iv, pt, size, ct, tag) != 0)
				return -1;
		}
		snprintf(what, sizeof(what), "seal %s", name[seq]);
		printf("%-22s %7.1f ns\n", what, (now() - t0) / n * 1e9);
		t0 = now();
		for (i = 0; i < n; i++) {
			iv[11] = (unsigned char)i;
			if (aead_seq(e, seq, 1, iv, pt, size, ct, tag) != 0 ||
			    aead_seq(d, seq, 0, iv, ct, size, pt, tag) != 0)
				return -1;
		}
		snprintf(what, sizeof(what), "seal+open %s", name[seq]);
		printf("%-22s %7.1f ns\n", what, (now() - t0) / n * 1e9);
	}
	EVP_CIPHER_CTX_free(e);
	EVP_CIPHER_CTX_free(d);
	EVP_CIPHER_free(ciph);
	return 0;
}

/* An X25519 key from its bytes as the codec makes one (pub given). */
static EVP_PKEY *
x25519_fromdata(EVP_PKEY_CTX *fc, const unsigned char *priv,
    const unsigned char pub[32])
{
	OSSL_PARAM p[3], *q = p;
	EVP_PKEY *pk = NULL;

	*q++ = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)pub, 32);
	if (priv != NULL)
		*q++ = OSSL_PARAM_construct_octet_string(
		    OSSL_PKEY_PARAM_PRIV_KEY, (void *)priv, 32);
	*q = OSSL_PARAM_construct_end();
	if (EVP_PKEY_fromdata_init(fc) != 1 || EVP_PKEY_fromdata(fc, &pk,
	    priv != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, p) != 1)
		return NULL;
	return pk;
}

/*
 * One X25519 (scalar times a peer's point) n times: by OpenSSL on a
 * derive context keyed once; by OpenSSL with what each DH of a
 * handshake needs made and freed around it, as the codec makes them
 * (the private key's object from both halves and its context, the
 * peer's key object); by libsodium; and libsodium's base-point
 * multiplication (an ephemeral key's public half).
 */
static int
bench_x25519(long n)
{
	unsigned char priv[32], pub[32], peer[32], out[32], ref[32];
	EVP_PKEY *k, *pk;
	EVP_PKEY_CTX *c, *fc;
	size_t len;
	double t0;
	long i;

	memset(priv, 0x42, sizeof(priv));
	memset(peer, 0x17, sizeof(peer));
	peer[31] &= 0x7f;
	if ((k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv,
	    32)) == NULL || (pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519,
	    NULL, peer, 32)) == NULL || (c = EVP_PKEY_CTX_new(k, NULL)) ==
	    NULL || EVP_PKEY_derive_init(c) != 1 ||
	    EVP_PKEY_derive_set_peer(c, pk) != 1)
		return -1;
	len = 32;
	if (EVP_PKEY_derive(c, ref, &len) != 1 ||
	    EVP_PKEY_get_raw_public_key(k, pub, &len) != 1 ||
	    (fc = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL)) == NULL)
		return -1;
	t0 = now();
	for (i = 0; i < n; i++) {
		len = 32;
		if (EVP_PKEY_derive(c, out, &len) != 1)
			return -1;
	}
	report_us("openssl, context kept", n, now() - t0);
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(k);
	EVP_PKEY_free(pk);

	t0 = now();
	for (i = 0; i < n; i++) {
		k = x25519_fromdata(fc, priv, pub);
		pk = x25519_fromdata(fc, NULL, peer);
		c = k != NULL ? EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL) :
		    NULL;
		len = 32;
		if (pk == NULL || c == NULL || EVP_PKEY_derive_init(c) != 1 ||
		    EVP_PKEY_derive_set_peer(c, pk) != 1 ||
		    EVP_PKEY_derive(c, out, &len) != 1)
			return -1;
		EVP_PKEY_CTX_free(c);
		EVP_PKEY_free(k);
		EVP_PKEY_free(pk);
	}
	report_us("openssl, objects each", n, now() - t0);
	EVP_PKEY_CTX_free(fc);
#ifdef HAVE_SODIUM
	if (sodium_init() < 0 || crypto_scalarmult(out, priv, peer) != 0 ||
	    memcmp(out, ref, 32) != 0)
		return -1;
	t0 = now();
	for (i = 0; i < n; i++)
		if (crypto_scalarmult(out, priv, peer) != 0)
			return -1;
	report_us("libsodium", n, now() - t0);
	t0 = now();
	for (i = 0; i < n; i++)
		if (crypto_scalarmult_base(out, priv) != 0)
			return -1;
	report_us("libsodium, base", n, now() - t0);
#endif
	return 0;
}

int
main(int argc, char **argv)
{
	static unsigned char frame[OSTP_DGRAM_MAX], dg[OSTP_DGRAM_MAX];
	static unsigned char pt[OSTP_DGRAM_MAX];
	struct ostp_keys k;
	struct ostp_aead tx, rx;
	unsigned char key[32];
	size_t size = argc > 1 ? strtoul(argv[1], NULL, 10) : 1350;
	long i, n = argc > 2 ? strtol(argv[2], NULL, 10) : 1000000;
	size_t flen;
	double t0;
	uint32_t sid;
	uint64_t seq;

	if (argc > 1 && strcmp(argv[1], "hs") == 0) {
		n = argc > 2 ? strtol(argv[2], NULL, 10) : 2000;
		if (n < 1 || ostp_keys_init(&k, OSTP_WIRE_V5,
		    "0123456789abcdef0123456789abcdef", 32) != 0 ||
		    bench_hs(&k, n) != 0)
			return 1;
		ostp_keys_clear(&k);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "x25519") == 0) {
		n = argc > 2 ? strtol(argv[2], NULL, 10) : 5000;
		return n >= 1 && bench_x25519(n) == 0 ? 0 : 1;
	}
	if (argc > 1 && strcmp(argv[1], "aead") == 0) {
		size = argc > 2 ? strtoul(argv[2], NULL, 10) : 1350;
		n = argc > 3 ? strtol(argv[3], NULL, 10) : 1000000;
		if (size > OSTP_DGRAM_MAX || n < 1)
			return 2;
		return bench_aead(size, n) == 0 ? 0 : 1;
	}
	if (size < OSTP_OVERHEAD || size > OSTP_DGRAM_MAX || n < 1) {
		fprintf(stderr, "usage: ostpcodec [size 40..65535 [count]]\n");
		return 2;
	}
	flen = size - OSTP_DATA_HDR - OSTP_TAG;
	memset(key, 7, sizeof(key));
	memset(frame, 'x', flen);
	if (ostp_keys_init(&k, OSTP_WIRE_V5, "0123456789abcdef0123456789abcdef",
	    32) != 0 || ostp_aead_init(&tx, key) != 0 ||
	    ostp_aead_init(&rx, key) != 0)
		return 1;

	t0 = now();
	for (i = 0; i < n; i++)
		ostp_mask(&k, dg, size, OSTP_DATA_HDR);
	report("mask", n, now() - t0, 0);

	t0 = now();
	for (i = 0; i < n; i++)
		if (ostp_seal(&tx, &k, 1, (uint64_t)i, frame, flen, dg) < 0)
			return 1;
	report("seal", n, now() - t0, size);

	t0 = now();
	for (i = 0; i < n; i++)
		if (ostp_peek(&k, dg, size, &sid, &seq) != 0 ||
		    ostp_open(&rx, sid, seq, dg, size, pt) != (ssize_t)flen)
			return 1;
	report("peek+open", n, now() - t0, size);

	t0 = now();
	for (i = 0; i < n; i++)
		if (ostp_seal(&tx, &k, 1, (uint64_t)i, frame, flen, dg) < 0 ||
		    ostp_peek(&k, dg, size, &sid, &seq) != 0 ||
		    ostp_open(&rx, sid, seq, dg, size, pt) != (ssize_t)flen)
			return 1;
	report("seal+open", n, now() - t0, size);

	if (bench_hs(&k, 2000) != 0)
		return 1;

	ostp_aead_clear(&tx);
	ostp_aead_clear(&rx);
	ostp_keys_clear(&k);
	return 0;
}
