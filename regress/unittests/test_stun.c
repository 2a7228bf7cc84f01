/*
 * STUN/TURN codec: the RFC 5769 test vectors (2.1 to 2.4: parsing,
 * MESSAGE-INTEGRITY with short- and long-term keys, FINGERPRINT, and
 * 2.4 rebuilt byte for byte), TURN messages round trips, ChannelData,
 * the classifier, and malformed messages.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proto/stun.h"
#include "test.h"

/* RFC 5769 2.1: a Binding request, short-term credentials */
static const unsigned char v21[] = {
	0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42,
	0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
	0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
	0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
	0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74,
	0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
	0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1,
	0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
	0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
	0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
	0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56,
	0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
	0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04,
	0xe5, 0x7a, 0x3b, 0xcf
};

/* 2.2: the IPv4 response, 192.0.2.1 port 32853 */
static const unsigned char v22[] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42,
	0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
	0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
	0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08,
	0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
	0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99,
	0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
	0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
	0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96
};

/* 2.3: the IPv6 response, 2001:db8:1234:5678:11:2233:4455:6677 32853 */
static const unsigned char v23[] = {
	0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42,
	0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
	0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
	0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14,
	0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
	0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5,
	0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
	0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
	0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
	0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04,
	0xc8, 0xfb, 0x0b, 0x4c
};

/* 2.4: a request with long-term credentials */
static const unsigned char v24[] = {
	0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42,
	0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0,
	0x29, 0xda, 0x41, 0x2e, 0x00, 0x06, 0x00, 0x12,
	0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88, 0xe3, 0x83,
	0xaa, 0xe3, 0x83, 0x83, 0xe3, 0x82, 0xaf, 0xe3,
	0x82, 0xb9, 0x00, 0x00, 0x00, 0x15, 0x00, 0x1c,
	0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39,
	0x35, 0x34, 0x64, 0x36, 0x4f, 0x4c, 0x33, 0x34,
	0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79,
	0x36, 0x34, 0x73, 0x41, 0x00, 0x14, 0x00, 0x0b,
	0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e,
	0x6f, 0x72, 0x67, 0x00, 0x00, 0x08, 0x00, 0x14,
	0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6, 0x4a, 0x3e,
	0x02, 0xb8, 0xe0, 0x71, 0x2e, 0x85, 0xc9, 0xa2,
	0x8c, 0xa8, 0x96, 0x66
};

static const char short_pw[] = "VOkJxbRl1RmTxUk/WvJxBt";
/* U+30DE U+30C8 U+30EA U+30C3 U+30AF U+30B9 */
static const char v24_user[] =
    "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";
static const char v24_pw[] = "TheMatrIX";	/* after SASLprep */
static const unsigned char tid1[STUN_TID_LEN] = "0123456789ab";

static void
sa4(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in *s = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	inet_pton(AF_INET, ip, &s->sin_addr);
}

static void
sa6(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	s->sin6_family = AF_INET6;
	s->sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &s->sin6_addr);
}

static int
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		    &((const struct sockaddr_in *)b)->sin_addr, 4) == 0 &&
		    ((const struct sockaddr_in *)a)->sin_port ==
		    ((const struct sockaddr_in *)b)->sin_port;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	    &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0 &&
	    ((const struct sockaddr_in6 *)a)->sin6_port ==
	    ((const struct sockaddr_in6 *)b)->sin6_port;
}

TEST(test_type)
{
	ASSERT_EQ_UINT(stun_type(STUN_METHOD_BINDING, STUN_CLASS_REQUEST),
	    0x0001);
	ASSERT_EQ_UINT(stun_type(STUN_METHOD_BINDING, STUN_CLASS_SUCCESS),
	    0x0101);
	ASSERT_EQ_UINT(stun_type(STUN_METHOD_BINDING, STUN_CLASS_ERROR),
	    0x0111);
	ASSERT_EQ_UINT(stun_type(TURN_METHOD_ALLOCATE, STUN_CLASS_ERROR),
	    0x0113);
	ASSERT_EQ_UINT(stun_type(TURN_METHOD_SEND, STUN_CLASS_INDICATION),
	    0x0016);
	ASSERT_EQ_UINT(stun_type(TURN_METHOD_DATA, STUN_CLASS_INDICATION),
	    0x0017);
	ASSERT_EQ_UINT(stun_type(TURN_METHOD_CHANNEL_BIND,
	    STUN_CLASS_SUCCESS), 0x0109);
	ASSERT_EQ_UINT(stun_type(0xfff, STUN_CLASS_ERROR), 0x3fff);
	ASSERT_EQ_UINT(stun_type_method(0x3fff), 0xfff);
	ASSERT_EQ_UINT(stun_type_method(0x0118), TURN_METHOD_CREATE_PERMISSION);
	ASSERT_EQ_UINT(stun_type_class(0x0118), STUN_CLASS_ERROR);
}

TEST(test_rfc5769_request)
{
	struct stun_msg m;
	const unsigned char *k = (const unsigned char *)short_pw;

	REQUIRE(stun_parse(v21, sizeof(v21), &m) == 0);
	ASSERT_EQ_UINT(m.type, 0x0001);
	ASSERT_EQ_UINT(m.method, STUN_METHOD_BINDING);
	ASSERT_EQ_UINT(m.cls, STUN_CLASS_REQUEST);
	ASSERT(memcmp(m.tid, v21 + 8, 12) == 0);
	ASSERT(m.has & STUN_HAS_USERNAME);
	ASSERT(m.usernamelen == 9 && memcmp(m.username, "evtj:h6vY", 9) == 0);
	/* PRIORITY (0x0024) is comprehension-required and not ours */
	ASSERT_EQ_INT(m.nunknown, 1);
	ASSERT_EQ_UINT(m.unknown[0], 0x0024);
	ASSERT_EQ_UINT(m.integrity_off, 76);
	ASSERT_EQ_UINT(m.fingerprint_off, 100);
	ASSERT_EQ_INT(stun_check_integrity(v21, sizeof(v21), &m, k,
	    strlen(short_pw)), 0);
	ASSERT_EQ_INT(stun_check_integrity(v21, sizeof(v21), &m, k,
	    strlen(short_pw) - 1), ERR_DENIED);
	ASSERT_EQ_INT(stun_check_fingerprint(v21, sizeof(v21), &m), 0);
	ASSERT_EQ_INT(stun_classify(v21, sizeof(v21)), STUN_KIND_MESSAGE);
}

TEST(test_rfc5769_responses)
{
	struct stun_msg m;
	struct sockaddr_storage want;
	const unsigned char *k = (const unsigned char *)short_pw;

	REQUIRE(stun_parse(v22, sizeof(v22), &m) == 0);
	ASSERT_EQ_UINT(m.cls, STUN_CLASS_SUCCESS);
	ASSERT(m.has & STUN_HAS_XOR_MAPPED);
	ASSERT(!(m.has & STUN_HAS_MAPPED));
	sa4(&want, "192.0.2.1", 32853);
	ASSERT(same_addr(&m.xor_mapped, &want));
	ASSERT_EQ_INT(m.nunknown, 0);
	ASSERT_EQ_INT(stun_check_integrity(v22, sizeof(v22), &m, k,
	    strlen(short_pw)), 0);
	ASSERT_EQ_INT(stun_check_fingerprint(v22, sizeof(v22), &m), 0);
	ASSERT(stun_is_response(&m, STUN_METHOD_BINDING, v22 + 8));
	ASSERT(!stun_is_response(&m, STUN_METHOD_BINDING, tid1));
	ASSERT(!stun_is_response(&m, TURN_METHOD_ALLOCATE, v22 + 8));

	REQUIRE(stun_parse(v23, sizeof(v23), &m) == 0);
	sa6(&want, "2001:db8:1234:5678:11:2233:4455:6677", 32853);
	ASSERT(m.has & STUN_HAS_XOR_MAPPED);
	ASSERT(same_addr(&m.xor_mapped, &want));
	ASSERT_EQ_INT(stun_check_integrity(v23, sizeof(v23), &m, k,
	    strlen(short_pw)), 0);
	ASSERT_EQ_INT(stun_check_fingerprint(v23, sizeof(v23), &m), 0);
}

TEST(test_rfc5769_longterm)
{
	struct stun_msg m;
	struct stun_builder b;
	unsigned char key[STUN_KEY_LEN], out[256];
	size_t n;

	REQUIRE(stun_parse(v24, sizeof(v24), &m) == 0);
	ASSERT(m.has & STUN_HAS_REALM && m.has & STUN_HAS_NONCE);
	ASSERT(m.realmlen == 11 && memcmp(m.realm, "example.org", 11) == 0);
	ASSERT(m.noncelen == 28 &&
	    memcmp(m.nonce, "f//499k954d6OL34oL9FSTvy64sA", 28) == 0);
	ASSERT(!(m.has & STUN_HAS_FINGERPRINT));
	ASSERT_EQ_INT(stun_check_fingerprint(v24, sizeof(v24), &m),
	    ERR_FORMAT);
	REQUIRE(stun_longterm_key(v24_user, m.realm, m.realmlen, v24_pw,
	    key) == 0);
	ASSERT_EQ_INT(stun_check_integrity(v24, sizeof(v24), &m, key,
	    sizeof(key)), 0);

	/* rebuilt byte for byte */
	stun_build_start(&b, out, sizeof(out), 0x0001, v24 + 8);
	stun_add(&b, STUN_ATTR_USERNAME, v24_user, strlen(v24_user));
	stun_add(&b, STUN_ATTR_NONCE, m.nonce, m.noncelen);
	stun_add(&b, STUN_ATTR_REALM, m.realm, m.realmlen);
	stun_add_integrity(&b, key, sizeof(key));
	ASSERT_EQ_INT(stun_build_end(&b, &n), 0);
	ASSERT_EQ_UINT(n, sizeof(v24));
	ASSERT(memcmp(out, v24, sizeof(v24)) == 0);
}

TEST(test_tamper)
{
	unsigned char c[sizeof(v22)];
	struct stun_msg m;
	const unsigned char *k = (const unsigned char *)short_pw;
	size_t i;

	/* any flipped bit before MESSAGE-INTEGRITY breaks it */
	for (i = 0; i < 48; i++) {
		if (i == 2 || i == 3 || (i >= 4 && i < 8))
			continue;	/* length and cookie: not a message */
		memcpy(c, v22, sizeof(c));
		c[i] ^= 0x01;
		if (stun_parse(c, sizeof(c), &m) != 0)
			continue;
		ASSERT_EQ_INT(stun_check_integrity(c, sizeof(c), &m, k,
		    strlen(short_pw)), ERR_DENIED);
		ASSERT_EQ_INT(stun_check_fingerprint(c, sizeof(c), &m),
		    ERR_DENIED);
	}
	memcpy(c, v22, sizeof(c));
	c[sizeof(c) - 1] ^= 0x80;
	REQUIRE(stun_parse(c, sizeof(c), &m) == 0);
	ASSERT_EQ_INT(stun_check_fingerprint(c, sizeof(c), &m), ERR_DENIED);
	ASSERT_EQ_INT(stun_check_integrity(c, sizeof(c), &m, k,
	    strlen(short_pw)), 0);
}

TEST(test_binding)
{
	unsigned char out[64];
	struct stun_msg m;
	size_t n;

	ASSERT_EQ_INT(stun_build_binding(out, sizeof(out), &n, tid1, 0), 0);
	ASSERT_EQ_UINT(n, 20);
	ASSERT(memcmp(out, "\x00\x01\x00\x00\x21\x12\xa4\x42", 8) == 0);
	ASSERT(memcmp(out + 8, tid1, 12) == 0);
	ASSERT_EQ_INT(stun_build_binding(out, sizeof(out), &n, tid1,
	    STUN_F_FINGERPRINT), 0);
	ASSERT_EQ_UINT(n, 28);
	REQUIRE(stun_parse(out, n, &m) == 0);
	ASSERT_EQ_INT(stun_check_fingerprint(out, n, &m), 0);
	ASSERT_EQ_INT(stun_build_binding(out, 19, &n, tid1, 0), ERR_NO_SPACE);
	ASSERT_EQ_INT(stun_build_binding(out, 27, &n, tid1,
	    STUN_F_FINGERPRINT), ERR_NO_SPACE);
	ASSERT_EQ_UINT(n, 0);
	{
		unsigned char t1[12], t2[12];

		ASSERT_EQ_INT(stun_new_tid(t1), 0);
		ASSERT_EQ_INT(stun_new_tid(t2), 0);
		ASSERT(memcmp(t1, t2, 12) != 0);
	}
}

/* A server's answer, as coturn would make it. */
static size_t
server_msg(unsigned char *out, size_t cap, uint16_t type,
    const unsigned char *tid, int error, const char *realm,
    const char *nonce, const unsigned char *key)
{
	struct stun_builder b;
	struct sockaddr_storage relayed, mapped;
	unsigned char ec[4 + 16];
	size_t n;

	stun_build_start(&b, out, cap, type, tid);
	if (error != 0) {
		memset(ec, 0, 4);
		ec[2] = (unsigned char)(error / 100);
		ec[3] = (unsigned char)(error % 100);
		memcpy(ec + 4, "Unauthorized\x01", 13);
		stun_add(&b, STUN_ATTR_ERROR_CODE, ec, 17);
	} else {
		sa4(&relayed, "127.0.0.1", 49152);
		sa6(&mapped, "2001:db8::7", 40000);
		stun_add_addr(&b, TURN_ATTR_XOR_RELAYED_ADDRESS,
		    (struct sockaddr *)&relayed, 1);
		stun_add_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS,
		    (struct sockaddr *)&mapped, 1);
		stun_add_u32(&b, TURN_ATTR_LIFETIME, 600);
	}
	if (realm != NULL)
		stun_add(&b, STUN_ATTR_REALM, realm, strlen(realm));
	if (nonce != NULL)
		stun_add(&b, STUN_ATTR_NONCE, nonce, strlen(nonce));
	if (key != NULL)
		stun_add_integrity(&b, key, STUN_KEY_LEN);
	stun_add_fingerprint(&b);
	return stun_build_end(&b, &n) == 0 ? n : 0;
}

TEST(test_allocate_flow)
{
	unsigned char out[512], resp[512], key[STUN_KEY_LEN];
	struct turn_auth a;
	struct stun_msg m;
	struct sockaddr_storage want;
	size_t n, rn;

	/* first try: REQUESTED-TRANSPORT UDP only */
	ASSERT_EQ_INT(turn_build_allocate(out, sizeof(out), &n, tid1, 0, NULL,
	    0), 0);
	ASSERT_EQ_UINT(n, 28);
	REQUIRE(stun_parse(out, n, &m) == 0);
	ASSERT_EQ_UINT(m.type, 0x0003);
	ASSERT(m.has & STUN_HAS_TRANSPORT);
	ASSERT_EQ_UINT(m.transport, 17);
	ASSERT(!(m.has & (STUN_HAS_LIFETIME | STUN_HAS_INTEGRITY)));

	/* the 401 challenge */
	rn = server_msg(resp, sizeof(resp), 0x0113, tid1, 401, "ostp.test",
	    "nonce-1", NULL);
	REQUIRE(rn > 0 && stun_parse(resp, rn, &m) == 0);
	ASSERT(stun_is_response(&m, TURN_METHOD_ALLOCATE, tid1));
	ASSERT_EQ_UINT(m.cls, STUN_CLASS_ERROR);
	ASSERT_EQ_INT(m.error, 401);
	ASSERT_STREQ(m.reason, "Unauthorized?");
	ASSERT_EQ_INT(turn_should_retry(&m, 0), 1);
	ASSERT_EQ_INT(turn_should_retry(&m, 1), 0);
	memset(&a, 0, sizeof(a));
	REQUIRE(turn_auth_from_challenge(&a, &m, "alice", "secret") == 0);
	REQUIRE(stun_longterm_key("alice", (const unsigned char *)"ostp.test",
	    9, "secret", key) == 0);
	ASSERT(memcmp(a.key, key, sizeof(key)) == 0);

	/* the authenticated retry */
	ASSERT_EQ_INT(turn_build_allocate(out, sizeof(out), &n, tid1, 600, &a,
	    STUN_F_FINGERPRINT), 0);
	REQUIRE(stun_parse(out, n, &m) == 0);
	ASSERT(m.has & STUN_HAS_LIFETIME && m.lifetime == 600);
	ASSERT(m.usernamelen == 5 && memcmp(m.username, "alice", 5) == 0);
	ASSERT(m.realmlen == 9 && m.noncelen == 7);
	ASSERT_EQ_INT(stun_check_integrity(out, n, &m, key, sizeof(key)), 0);
	ASSERT_EQ_INT(stun_check_fingerprint(out, n, &m), 0);
	ASSERT_EQ_UINT(m.fingerprint_off + 8, n);
	ASSERT_EQ_UINT(m.integrity_off + 24, m.fingerprint_off);

	/* 438: a new nonce, the realm kept */
	rn = server_msg(resp, sizeof(resp), 0x0113, tid1, 438, NULL,
	    "nonce-2", NULL);
	REQUIRE(rn > 0 && stun_parse(resp, rn, &m) == 0);
	ASSERT_EQ_INT(m.error, 438);
	ASSERT_EQ_INT(turn_should_retry(&m, 1), 1);
	REQUIRE(turn_auth_from_challenge(&a, &m, "alice", "secret") == 0);
	ASSERT(a.noncelen == 7 && memcmp(a.nonce, "nonce-2", 7) == 0);
	ASSERT(a.realmlen == 9);
	ASSERT(memcmp(a.key, key, sizeof(key)) == 0);
	/* other errors are final */
	rn = server_msg(resp, sizeof(resp), 0x0113, tid1, 441, "r", "n",
	    NULL);
	REQUIRE(rn > 0 && stun_parse(resp, rn, &m) == 0);
	ASSERT_EQ_INT(turn_should_retry(&m, 0), 0);

	/* the success, with MESSAGE-INTEGRITY */
	rn = server_msg(resp, sizeof(resp), 0x0103, tid1, 0, NULL, NULL, key);
	REQUIRE(rn > 0 && stun_parse(resp, rn, &m) == 0);
	ASSERT(stun_is_response(&m, TURN_METHOD_ALLOCATE, tid1));
	ASSERT_EQ_UINT(m.cls, STUN_CLASS_SUCCESS);
	ASSERT_EQ_INT(stun_check_integrity(resp, rn, &m, key, sizeof(key)),
	    0);
	sa4(&want, "127.0.0.1", 49152);
	ASSERT(m.has & STUN_HAS_RELAYED && same_addr(&m.relayed, &want));
	sa6(&want, "2001:db8::7", 40000);
	ASSERT(m.has & STUN_HAS_XOR_MAPPED && same_addr(&m.xor_mapped, &want));
	ASSERT(m.has & STUN_HAS_LIFETIME && m.lifetime == 600);
	a.key[0] ^= 1;
	ASSERT_EQ_INT(stun_check_integrity(resp, rn, &m, a.key, sizeof(a.key)),
	    ERR_DENIED);
}

TEST(test_turn_requests)
{
	unsigned char out[512], key[STUN_KEY_LEN];
	struct turn_auth a;
	struct stun_msg m;
	struct sockaddr_storage peer, peer6, got;
	const unsigned char *d;
	size_t n, dl;

	memset(&a, 0, sizeof(a));
	strcpy(a.username, "bob");
	memcpy(a.realm, "r", 1);
	a.realmlen = 1;
	memcpy(a.nonce, "nnn", 3);
	a.noncelen = 3;
	REQUIRE(stun_longterm_key("bob", a.realm, 1, "pw", a.key) == 0);
	memcpy(key, a.key, sizeof(key));
	sa4(&peer, "127.0.0.1", 7777);
	sa6(&peer6, "::1", 8888);

	ASSERT_EQ_INT(turn_build_refresh(out, sizeof(out), &n, tid1, 0, &a, 0),
	    0);
	REQUIRE(stun_parse(out, n, &m) == 0);
	ASSERT_EQ_UINT(m.type, 0x0004);
	ASSERT(m.has & STUN_HAS_LIFETIME && m.lifetime == 0);
	ASSERT_EQ_INT(stun_check_integrity(out, n, &m, key, sizeof(key)), 0);

	ASSERT_EQ_INT(turn_build_create_permission(out, sizeof(out), &n, tid1,
	    (struct sockaddr *)&peer6, &a, 0), 0);
	REQUIRE(stun_parse(out, n, &m) == 0);
	ASSERT_EQ_UINT(m.type, 0x0008);
	ASSERT(m.has & STUN_HAS_PEER && same_addr(&m.peer, &peer6));
	ASSERT_EQ_INT(stun_check_integrity(out, n, &m, key, sizeof(key)), 0);

	ASSERT_EQ_INT(turn_build_channel_bind(out, sizeof(out), &n, tid1,
	    0x4001, (struct sockaddr *)&peer, &a, 0), 0);
	REQUIRE(stun_parse(out, n, &m) == 0);
	ASSERT_EQ_UINT(m.type, 0x0009);
	ASSERT(m.has & STUN_HAS_CHANNEL && m.channel == 0x4001);
	ASSERT(m.has & STUN_HAS_PEER && same_addr(&m.peer, &peer));
	ASSERT_EQ_INT(turn_build_channel_bind(out, sizeof(out), &n, tid1,
	    0x3fff, (struct sockaddr *)&peer, &a, 0), ERR_FORMAT);
	ASSERT_EQ_INT(turn_build_channel_bind(out, sizeof(out), &n, tid1,
	    0x8000, (struct sockaddr *)&peer, &a, 0), ERR_FORMAT);

	/* Send indication: not authenticated; DATA padded */
	ASSERT_EQ_INT(turn_build_send(out, sizeof(out), &n, tid1,
	    (struct sockaddr *)&peer, "hello", 5, 0), 0);
	ASSERT_EQ_UINT(n, 20 + 12 + 4 + 8);
	REQUIRE(stun_parse(out, n, &m) == 0);
	ASSERT_EQ_UINT(m.type, 0x0016);
	ASSERT(m.has & STUN_HAS_DATA && m.datalen == 5 &&
	    memcmp(m.data, "hello", 5) == 0);
	ASSERT(!(m.has & STUN_HAS_INTEGRITY));
	/* not a Data indication */
	ASSERT_EQ_INT(turn_parse_data_indication(out, n, &got, &d, &dl),
	    ERR_FORMAT);
	/* a Data indication as a server sends it */
	{
		struct stun_builder b;

		stun_build_start(&b, out, sizeof(out), 0x0017, tid1);
		stun_add_addr(&b, TURN_ATTR_XOR_PEER_ADDRESS,
		    (struct sockaddr *)&peer6, 1);
		stun_add(&b, TURN_ATTR_DATA, "", 0);
		REQUIRE(stun_build_end(&b, &n) == 0);
		ASSERT_EQ_INT(turn_parse_data_indication(out, n, &got, &d,
		    &dl), 0);
		ASSERT(same_addr(&got, &peer6) && dl == 0);
		stun_build_start(&b, out, sizeof(out), 0x0017, tid1);
		stun_add(&b, TURN_ATTR_DATA, "xyz", 3);
		REQUIRE(stun_build_end(&b, &n) == 0);
		ASSERT_EQ_INT(turn_parse_data_indication(out, n, &got, &d,
		    &dl), ERR_FORMAT);
	}
	/* a builder error is sticky */
	ASSERT_EQ_INT(turn_build_send(out, 40, &n, tid1,
	    (struct sockaddr *)&peer, "hello", 5, 0), ERR_NO_SPACE);
	ASSERT_EQ_UINT(n, 0);
	{
		struct sockaddr_storage un;

		memset(&un, 0, sizeof(un));
		un.ss_family = AF_UNIX;
		ASSERT_EQ_INT(turn_build_create_permission(out, sizeof(out),
		    &n, tid1, (struct sockaddr *)&un, &a, 0), ERR_FORMAT);
	}
}

TEST(test_channel)
{
	unsigned char buf[16];
	const unsigned char *d;
	uint16_t ch;
	size_t dl, pad;

	ASSERT_EQ_INT(turn_channel_header(buf, 0x4000, 5), 0);
	ASSERT(memcmp(buf, "\x40\x00\x00\x05", 4) == 0);
	ASSERT_EQ_INT(turn_channel_header(buf, 0x3fff, 5), ERR_FORMAT);
	ASSERT_EQ_INT(turn_channel_header(buf, 0x8000, 5), ERR_FORMAT);
	ASSERT_EQ_INT(turn_channel_header(buf, 0x7fff, 65536), ERR_TOO_LONG);
	memcpy(buf + 4, "hello\0\0\0\0", 9);
	for (pad = 0; pad <= 4; pad++) {
		int e = turn_channel_parse(buf, 9 + pad, &ch, &d, &dl);

		ASSERT_EQ_INT(e, pad <= 3 ? 0 : ERR_FORMAT);
		ASSERT_EQ_INT(stun_classify(buf, 9 + pad),
		    pad <= 3 ? STUN_KIND_CHANNEL : STUN_KIND_OTHER);
		if (e == 0)
			ASSERT(ch == 0x4000 && dl == 5 && d == buf + 4);
	}
	ASSERT_EQ_INT(turn_channel_parse(buf, 8, &ch, &d, &dl), ERR_FORMAT);
	ASSERT_EQ_INT(turn_channel_parse(buf, 3, &ch, &d, &dl), ERR_FORMAT);
	/* 4 bytes of data take no padding */
	turn_channel_header(buf, 0x4000, 4);
	ASSERT_EQ_INT(turn_channel_parse(buf, 8, &ch, &d, &dl), 0);
	ASSERT_EQ_INT(turn_channel_parse(buf, 9, &ch, &d, &dl), ERR_FORMAT);
	turn_channel_header(buf, 0x4000, 0);
	ASSERT_EQ_INT(turn_channel_parse(buf, 4, &ch, &d, &dl), 0);
	ASSERT_EQ_UINT(dl, 0);
	buf[0] = 0x80;
	ASSERT_EQ_INT(turn_channel_parse(buf, 4, &ch, &d, &dl), ERR_FORMAT);
}

TEST(test_classify)
{
	unsigned char b[40];

	memset(b, 0xaa, sizeof(b));
	ASSERT_EQ_INT(stun_classify(b, sizeof(b)), STUN_KIND_OTHER);
	ASSERT_EQ_INT(stun_classify(b, 0), STUN_KIND_OTHER);
	ASSERT_EQ_INT(stun_classify(v22, sizeof(v22) - 1), STUN_KIND_OTHER);
	ASSERT_EQ_INT(stun_classify(v22, 19), STUN_KIND_OTHER);
	memcpy(b, v22, 20);
	b[3] = 0;
	ASSERT_EQ_INT(stun_classify(b, 20), STUN_KIND_MESSAGE);
	b[0] |= 0x40;
	ASSERT_EQ_INT(stun_classify(b, 20), STUN_KIND_OTHER);
	b[0] = 0x01;
	b[4] = 0x22;	/* another cookie */
	ASSERT_EQ_INT(stun_classify(b, 20), STUN_KIND_OTHER);
}

TEST(test_malformed)
{
	unsigned char c[128];
	struct stun_msg m;
	size_t i;

	for (i = 0; i < sizeof(v22); i++)
		ASSERT_EQ_INT(stun_parse(v22, i, &m), ERR_FORMAT);
	/* an attribute running past the end */
	memcpy(c, v22, sizeof(v22));
	c[23] = 0x40;
	ASSERT_EQ_INT(stun_parse(c, sizeof(v22), &m), ERR_FORMAT);
	/* an XOR-MAPPED-ADDRESS of family 2 but IPv4's length */
	memcpy(c, v22, sizeof(v22));
	c[41] = 0x02;
	ASSERT_EQ_INT(stun_parse(c, sizeof(v22), &m), ERR_FORMAT);
	/* something after FINGERPRINT */
	memcpy(c, v22, sizeof(v22));
	memcpy(c + sizeof(v22), "\x80\x22\x00\x00", 4);
	c[3] += 4;
	ASSERT_EQ_INT(stun_parse(c, sizeof(v22) + 4, &m), ERR_FORMAT);
	/* after MESSAGE-INTEGRITY, ignored (and not in has) */
	{
		unsigned char d[sizeof(v24) + 8];
		struct stun_msg n;

		memcpy(d, v24, sizeof(v24));
		memcpy(d + sizeof(v24), "\x00\x0d\x00\x04\x00\x00\x00\x05", 8);
		d[3] += 8;
		REQUIRE(stun_parse(d, sizeof(d), &n) == 0);
		ASSERT(!(n.has & STUN_HAS_LIFETIME));
	}
	/* ERROR-CODE with class 7, with number 100, too short */
	{
		struct stun_builder b;
		size_t n;

		stun_build_start(&b, c, sizeof(c), 0x0111, tid1);
		stun_add(&b, STUN_ATTR_ERROR_CODE, "\0\0\x07\x00", 4);
		REQUIRE(stun_build_end(&b, &n) == 0);
		ASSERT_EQ_INT(stun_parse(c, n, &m), ERR_FORMAT);
		stun_build_start(&b, c, sizeof(c), 0x0111, tid1);
		stun_add(&b, STUN_ATTR_ERROR_CODE, "\0\0\x04\x64", 4);
		REQUIRE(stun_build_end(&b, &n) == 0);
		ASSERT_EQ_INT(stun_parse(c, n, &m), ERR_FORMAT);
		stun_build_start(&b, c, sizeof(c), 0x0111, tid1);
		stun_add(&b, STUN_ATTR_ERROR_CODE, "\0\0\x04", 3);
		REQUIRE(stun_build_end(&b, &n) == 0);
		ASSERT_EQ_INT(stun_parse(c, n, &m), ERR_FORMAT);
		stun_build_start(&b, c, sizeof(c), 0x0111, tid1);
		stun_add(&b, STUN_ATTR_ERROR_CODE, "\0\0\x04\x00", 4);
		stun_add(&b, TURN_ATTR_LIFETIME, "\0\0\0", 3);
		REQUIRE(stun_build_end(&b, &n) == 0);
		ASSERT_EQ_INT(stun_parse(c, n, &m), ERR_FORMAT);
		/* the first of two counts */
		stun_build_start(&b, c, sizeof(c), 0x0111, tid1);
		stun_add(&b, STUN_ATTR_ERROR_CODE, "\0\0\x04\x26", 4);
		stun_add(&b, STUN_ATTR_ERROR_CODE, "\0\0\x05\x00", 4);
		REQUIRE(stun_build_end(&b, &n) == 0);
		REQUIRE(stun_parse(c, n, &m) == 0);
		ASSERT_EQ_INT(m.error, 438);
		ASSERT_STREQ(m.reason, "");
	}
}

int
main(void)
{
	RUN(test_type);
	RUN(test_rfc5769_request);
	RUN(test_rfc5769_responses);
	RUN(test_rfc5769_longterm);
	RUN(test_tamper);
	RUN(test_binding);
	RUN(test_allocate_flow);
	RUN(test_turn_requests);
	RUN(test_channel);
	RUN(test_classify);
	RUN(test_malformed);
	return TEST_EXIT();
}
