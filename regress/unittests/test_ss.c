/*
 * Shadowsocks primitives: EVP_BytesToKey and HKDF-SHA1 subkeys (SIP004)
 * and sealed chunks, checked against values computed independently
 * with python3-cryptography; SIP022 keys and subkeys; UDP packets;
 * tampering detected.
 */
#include "config.h"

#include <string.h>

#include "err.h"
#include "proto/ss.h"
#include "test.h"

static int
unhex(const char *h, unsigned char *out, size_t max)
{
	size_t i, n = strlen(h) / 2;
	unsigned int v;

	if (n > max)
		return -1;
	for (i = 0; i < n; i++) {
		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return (int)n;
}

static void
check_vector(const char *method, const char *keyhex, const char *chunkhex)
{
	const struct ss_method *m = ss_method_find(method);
	unsigned char key[32], want[32], salt[32], chunk[64], exp[64];
	struct ss_aead a;
	char err[200];
	size_t i;
	int n;

	ASSERT(m != NULL);
	if (m == NULL)
		return;
	ASSERT_EQ_INT(ss_master_key(m, "barfoo!", key, err, sizeof(err)), 0);
	n = unhex(keyhex, want, sizeof(want));
	ASSERT_EQ_INT(n, (int)m->keylen);
	ASSERT(memcmp(key, want, m->keylen) == 0);
	for (i = 0; i < m->keylen; i++)
		salt[i] = (unsigned char)i;
	ASSERT_EQ_INT(ss_aead_init(&a, m, key, salt, 1), 0);
	ASSERT_EQ_INT(ss_aead_seal(&a, (const unsigned char *)"\0\5", 2,
	    chunk), 0);
	ASSERT_EQ_INT(ss_aead_seal(&a, (const unsigned char *)"hello", 5,
	    chunk + 18), 0);
	ss_aead_clear(&a);
	n = unhex(chunkhex, exp, sizeof(exp));
	ASSERT_EQ_INT(n, 2 + 16 + 5 + 16);
	ASSERT(memcmp(chunk, exp, (size_t)n) == 0);
	/* and back, in order; a flipped bit fails */
	ASSERT_EQ_INT(ss_aead_init(&a, m, key, salt, 0), 0);
	ASSERT_EQ_INT(ss_aead_open(&a, chunk, 18, exp), 0);
	ASSERT(exp[0] == 0 && exp[1] == 5);
	chunk[20] ^= 1;
	ASSERT_EQ_INT(ss_aead_open(&a, chunk + 18, 21, exp), ERR_FORMAT);
	ss_aead_clear(&a);
}

TEST(test_sip004_vectors)
{
	check_vector("aes-128-gcm", "b3adc47839e047eb228870526dc8fc30",
	    "6f516de5fb51219959820fba2fbaa7060cf6e8a53f65d182c3e7fdb60757cc6d"
	    "e4a54367cb74a8");
	check_vector("chacha20-ietf-poly1305",
	    "b3adc47839e047eb228870526dc8fc30b347287ffca3045dcea06b3fdf090acb",
	    "a02a7867f0725260f542fb1ffd407f07a60c26d76ee13a692cabd05d0c89b363"
	    "6c1ec8c0eab347");
}

TEST(test_methods)
{
	ASSERT(ss_method_find("AEAD_AES_128_GCM") == ss_method_find("aes-128-gcm"));
	ASSERT(ss_method_find("AES-256-GCM") != NULL);
	ASSERT(ss_method_find("rc4-md5") == NULL);
	ASSERT(ss_method_find("2022-blake3-chacha20-poly1305")->kind ==
	    SS_KIND_2022);
	ASSERT(ss_method_find("dummy")->kind == SS_KIND_NONE);
}

TEST(test_sip022_keys)
{
	const struct ss_method *m = ss_method_find("2022-blake3-aes-128-gcm");
	unsigned char key[32], salt[16] = { 0 }, c[40], p[40];
	struct ss_aead e, d;
	char err[200];

	/* base64 of exactly the key size, nothing else */
	ASSERT_EQ_INT(ss_master_key(m, "AAECAwQFBgcICQoLDA0ODw==", key, err,
	    sizeof(err)), 0);
	ASSERT(key[0] == 0 && key[15] == 15);
	ASSERT_EQ_INT(ss_master_key(m, "AAECAwQFBgcICQoLDA0ODxA=", key, err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "16 bytes") != NULL);
	ASSERT_EQ_INT(ss_master_key(m, "not base64!", key, err,
	    sizeof(err)), -1);
	ASSERT_EQ_INT(ss_master_key(m, "AAECAwQFBgcICQoLDA0ODw==", key, err,
	    sizeof(err)), 0);
	ASSERT_EQ_INT(ss_aead_init(&e, m, key, salt, 1), 0);
	ASSERT_EQ_INT(ss_aead_init(&d, m, key, salt, 0), 0);
	ASSERT_EQ_INT(ss_aead_seal(&e, (const unsigned char *)"2022", 4, c), 0);
	ASSERT_EQ_INT(ss_aead_open(&d, c, 20, p), 0);
	ASSERT(memcmp(p, "2022", 4) == 0);
	/* a different salt, a different subkey */
	salt[0] = 1;
	ss_aead_clear(&d);
	ASSERT_EQ_INT(ss_aead_init(&d, m, key, salt, 0), 0);
	ASSERT_EQ_INT(ss_aead_open(&d, c, 20, p), ERR_FORMAT);
	ss_aead_clear(&e);
	ss_aead_clear(&d);
}

TEST(test_udp_packets)
{
	const struct ss_method *m = ss_method_find("aes-256-gcm");
	unsigned char key[32], pkt[128], out[128];
	size_t len, olen;
	char err[200];

	ASSERT_EQ_INT(ss_master_key(m, "udp", key, err, sizeof(err)), 0);
	ASSERT_EQ_INT(ss_udp_seal(m, key, (const unsigned char *)"datagram", 8,
	    pkt, sizeof(pkt), &len), 0);
	ASSERT_EQ_UINT(len, 32 + 8 + 16);
	ASSERT_EQ_INT(ss_udp_open(m, key, pkt, len, out, sizeof(out), &olen),
	    0);
	ASSERT_EQ_UINT(olen, 8);
	ASSERT(memcmp(out, "datagram", 8) == 0);
	pkt[len - 1] ^= 0x80;
	ASSERT_EQ_INT(ss_udp_open(m, key, pkt, len, out, sizeof(out), &olen),
	    ERR_FORMAT);
	ASSERT_EQ_INT(ss_udp_open(m, key, pkt, 20, out, sizeof(out), &olen),
	    ERR_FORMAT);
	ASSERT_EQ_INT(ss_udp_seal(m, key, out, 100, pkt, sizeof(pkt), &len),
	    ERR_NO_SPACE);
}

TEST(test_hchacha20)
{
	/* the XChaCha20 draft's HChaCha20 vector */
	unsigned char key[32], out[32], want[32];
	const unsigned char nonce[16] = { 0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0,
	    0, 0x31, 0x41, 0x59, 0x27 };
	size_t i;

	for (i = 0; i < 32; i++)
		key[i] = (unsigned char)i;
	ss_hchacha20(key, nonce, out);
	unhex("82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc",
	    want, sizeof(want));
	ASSERT(memcmp(out, want, 32) == 0);
}

static void
udp22_roundtrip(const char *method, const char *b64)
{
	const struct ss_method *m = ss_method_find(method);
	unsigned char key[32], pkt[256], copy[256];
	const unsigned char *d;
	struct ss22_packet pk, got;
	char err[200];
	size_t len, dl;

	ASSERT_EQ_INT(ss_master_key(m, b64, key, err, sizeof(err)), 0);
	memset(&pk, 0, sizeof(pk));
	memcpy(pk.sid, "sessid01", 8);
	pk.pid = 7;
	pk.type = 1;
	memcpy(pk.csid, "client01", 8);
	ASSERT_EQ_INT(ss22_udp_seal(m, key, &pk, (const unsigned char *)
	    "\x01\x7f\0\0\1\0\x35payload", 14, pkt, sizeof(pkt), &len), 0);
	memcpy(copy, pkt, len);
	ASSERT_EQ_INT(ss22_udp_open(m, key, pkt, len, &got, &d, &dl), 0);
	ASSERT(memcmp(got.sid, "sessid01", 8) == 0);
	ASSERT_EQ_UINT(got.pid, 7);
	ASSERT_EQ_INT(got.type, 1);
	ASSERT(memcmp(got.csid, "client01", 8) == 0);
	ASSERT_EQ_UINT(dl, 14);
	ASSERT(memcmp(d + 7, "payload", 7) == 0);
	copy[len / 2] ^= 4;
	ASSERT_EQ_INT(ss22_udp_open(m, key, copy, len, &got, &d, &dl),
	    ERR_FORMAT);
	ASSERT_EQ_INT(ss22_udp_open(m, key, copy, 20, &got, &d, &dl),
	    ERR_FORMAT);
}

TEST(test_sip022_udp)
{
	struct ss22_window w;

	udp22_roundtrip("2022-blake3-aes-128-gcm", "AAECAwQFBgcICQoLDA0ODw==");
	udp22_roundtrip("2022-blake3-aes-256-gcm",
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
	udp22_roundtrip("2022-blake3-chacha20-poly1305",
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
	/* the sliding window: new ids pass once, old ones within 64 */
	memset(&w, 0, sizeof(w));
	ASSERT_EQ_INT(ss22_window_check(&w, 5), 0);
	ASSERT_EQ_INT(ss22_window_check(&w, 5), -1);
	ASSERT_EQ_INT(ss22_window_check(&w, 3), 0);
	ASSERT_EQ_INT(ss22_window_check(&w, 3), -1);
	ASSERT_EQ_INT(ss22_window_check(&w, 100), 0);
	ASSERT_EQ_INT(ss22_window_check(&w, 5), -1);	/* out of window */
	ASSERT_EQ_INT(ss22_window_check(&w, 99), 0);
}

int
main(void)
{
	RUN(test_sip004_vectors);
	RUN(test_methods);
	RUN(test_sip022_keys);
	RUN(test_udp_packets);
	RUN(test_hchacha20);
	RUN(test_sip022_udp);
	return TEST_EXIT();
}
