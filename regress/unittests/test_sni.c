/* ClientHello inspection, gost's name obfuscation, HTTP Host (sni.c). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "err.h"
#include "proto/sni.h"
#include "test.h"

/*
 * "openssl s_client -servername www.example.com -alpn h2,http/1.1"
 * (OpenSSL 3.0), captured on loopback.
 */
static const unsigned char openssl_hello[] = {
	0x16, 0x03, 0x01, 0x01, 0x4e, 0x01, 0x00, 0x01, 0x4a, 0x03, 0x03, 0xce,
	0xe8, 0x52, 0xfe, 0x3a, 0xd3, 0x77, 0x78, 0xa3, 0x49, 0x63, 0x43, 0x3a,
	0x5e, 0x1b, 0x82, 0xf0, 0x74, 0x6e, 0xe3, 0xac, 0xaf, 0x37, 0x8d, 0xc0,
	0x02, 0x08, 0x0d, 0x15, 0xee, 0x07, 0xe4, 0x20, 0xcc, 0x12, 0x98, 0x6d,
	0x6d, 0x07, 0x0d, 0xa6, 0xcb, 0x6f, 0x13, 0x18, 0xea, 0x1f, 0x4a, 0x14,
	0xcf, 0x8b, 0x20, 0x2c, 0x79, 0x7e, 0x88, 0xb6, 0xae, 0xdc, 0xbb, 0xf6,
	0x60, 0x75, 0xfd, 0x10, 0x00, 0x3e, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01,
	0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
	0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b,
	0xc0, 0x23, 0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39,
	0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d,
	0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0xc3,
	0x00, 0x00, 0x00, 0x14, 0x00, 0x12, 0x00, 0x00, 0x0f, 0x77, 0x77, 0x77,
	0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6f, 0x6d,
	0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x16,
	0x00, 0x14, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18,
	0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x00, 0x23,
	0x00, 0x00, 0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, 0x68, 0x32, 0x08,
	0x68, 0x74, 0x74, 0x70, 0x2f, 0x31, 0x2e, 0x31, 0x00, 0x16, 0x00, 0x00,
	0x00, 0x17, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x2a, 0x00, 0x28, 0x04, 0x03,
	0x05, 0x03, 0x06, 0x03, 0x08, 0x07, 0x08, 0x08, 0x08, 0x09, 0x08, 0x0a,
	0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01,
	0x06, 0x01, 0x03, 0x03, 0x03, 0x01, 0x03, 0x02, 0x04, 0x02, 0x05, 0x02,
	0x06, 0x02, 0x00, 0x2b, 0x00, 0x09, 0x08, 0x03, 0x04, 0x03, 0x03, 0x03,
	0x02, 0x03, 0x01, 0x00, 0x2d, 0x00, 0x02, 0x01, 0x01, 0x00, 0x33, 0x00,
	0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, 0x02, 0x47, 0xed, 0xab, 0x19,
	0xcc, 0x22, 0x58, 0x18, 0x58, 0xc7, 0xb5, 0x5d, 0x53, 0x05, 0xc5, 0xbc,
	0xe5, 0x6d, 0x4c, 0x2a, 0x6d, 0x48, 0x99, 0x0d, 0x3a, 0x63, 0x79, 0x44,
	0x31, 0x49, 0x73
};

/* Offsets of the hellos build_hello() makes. */
#define B_SID		43
#define B_SUITES	76
#define B_COMP		86
#define B_EXTLEN	88
#define B_EXTS		90

struct ext {
	uint16_t	 type;
	const void	*data;
	size_t		 len;
};

/*
 * A ClientHello laid out as in RFC 8446 4.1.2: legacy_version, random,
 * a 32-byte session id, four suites, null compression, then the given
 * extensions (none at all, not even the length, when next < 0).
 */
static size_t
build_hello(unsigned char *out, const struct ext *ext, int next)
{
	static const unsigned char suites[] = {
		0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 0xc0, 0x2f
	};
	size_t o = 9, eo;
	int i;

	out[0] = 0x16;
	out[1] = 0x03;
	out[2] = 0x01;
	out[5] = 0x01;
	out[o++] = 0x03;
	out[o++] = 0x03;
	for (i = 0; i < 32; i++)
		out[o++] = (unsigned char)(i * 7);
	out[o++] = 32;
	for (i = 0; i < 32; i++)
		out[o++] = (unsigned char)(0xa0 + i);
	be16enc(out + o, sizeof(suites));
	memcpy(out + o + 2, suites, sizeof(suites));
	o += 2 + sizeof(suites);
	out[o++] = 1;
	out[o++] = 0;
	if (next >= 0) {
		eo = o;
		o += 2;
		for (i = 0; i < next; i++) {
			be16enc(out + o, ext[i].type);
			be16enc(out + o + 2, ext[i].len);
			memcpy(out + o + 4, ext[i].data, ext[i].len);
			o += 4 + ext[i].len;
		}
		be16enc(out + eo, o - eo - 2);
	}
	be16enc(out + 3, o - 5);
	out[6] = 0;
	be16enc(out + 7, o - 9);
	return o;
}

/* server_name extension data for one host_name. */
static size_t
sni_data(unsigned char *out, const char *name)
{
	size_t n = strlen(name);

	be16enc(out, n + 3);
	out[2] = 0;
	be16enc(out + 3, n);
	memcpy(out + 5, name, n);
	return n + 5;
}

static const unsigned char versions[] = { 0x04, 0x03, 0x04, 0x03, 0x03 };
static const unsigned char groups[] = { 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17 };

/* A TLS 1.3 style hello for name, and its length. */
static size_t
simple_hello(unsigned char *out, const char *name)
{
	unsigned char sn[300];
	struct ext e[3] = {
		{ 0x0000, sn, 0 },
		{ 0x002b, versions, sizeof(versions) },
		{ 0x000a, groups, sizeof(groups) },
	};

	e[0].len = sni_data(sn, name);
	return build_hello(out, e, 3);
}

TEST(test_crc32)
{
	ASSERT_EQ_UINT(sni_crc32((const unsigned char *)"123456789", 9),
	    0xcbf43926U);
	ASSERT_EQ_UINT(sni_crc32((const unsigned char *)"", 0), 0);
}

TEST(test_gost_name)
{
	char enc[SNI_GOST_ENC_MAX], dec[SNI_GOST_NAME_MAX + 1];
	char longname[SNI_GOST_NAME_MAX + 2];

	/* expected values computed independently (Python zlib/base64) */
	ASSERT_EQ_INT(sni_encode_gost_name("www.example.com", enc,
	    sizeof(enc)), 0);
	ASSERT_STREQ(enc, "LtZCu2QzZDNMbVY0WVcxd2JHVXVZMjl0");
	ASSERT_EQ_INT(sni_encode_gost_name("example.org:8080", enc,
	    sizeof(enc)), 0);
	ASSERT_STREQ(enc, "keyfx1pYaGhiWEJzWlM1dmNtYzZPREE0TUE");
	ASSERT_EQ_INT(sni_decode_gost_name(enc, strlen(enc), dec,
	    sizeof(dec)), 0);
	ASSERT_STREQ(dec, "example.org:8080");
	ASSERT_EQ_INT(sni_encode_gost_name("a", enc, sizeof(enc)), 0);
	ASSERT_STREQ(enc, "6Le-Q1lR");
	ASSERT_EQ_INT(sni_decode_gost_name("6Le-Q1lR", 8, dec, sizeof(dec)),
	    0);
	ASSERT_STREQ(dec, "a");

	/* CRC mismatch: one bit of the CRC flipped */
	ASSERT_EQ_INT(sni_decode_gost_name("6Lf-Q1lR", 8, dec, sizeof(dec)),
	    ERR_FORMAT);
	ASSERT_STREQ(dec, "");
	/* CRC mismatch: the name changed */
	ASSERT_EQ_INT(sni_decode_gost_name(
	    "LtZCu2QzZDNMbVY0WVcxd2JHVXVZMjl1", 32, dec, sizeof(dec)),
	    ERR_FORMAT);
	/* padding, standard alphabet, stray bits, impossible length */
	ASSERT_EQ_INT(sni_decode_gost_name("6Le-Q1lR==", 10, dec,
	    sizeof(dec)), ERR_FORMAT);
	ASSERT_EQ_INT(sni_decode_gost_name("6Le+Q1lR", 8, dec, sizeof(dec)),
	    ERR_FORMAT);
	ASSERT_EQ_INT(sni_decode_gost_name("6Le-Q1lS", 8, dec, sizeof(dec)),
	    ERR_FORMAT);
	ASSERT_EQ_INT(sni_decode_gost_name("6Le-Q", 5, dec, sizeof(dec)),
	    ERR_FORMAT);
	ASSERT_EQ_INT(sni_decode_gost_name("", 0, dec, sizeof(dec)),
	    ERR_FORMAT);
	/* CRC alone, no name */
	ASSERT_EQ_INT(sni_decode_gost_name("AAAAAA", 6, dec, sizeof(dec)),
	    ERR_FORMAT);
	/* a control character in an otherwise valid encoding */
	ASSERT_EQ_INT(sni_encode_gost_name("a\nb", enc, sizeof(enc)), 0);
	ASSERT_EQ_INT(sni_decode_gost_name(enc, strlen(enc), dec,
	    sizeof(dec)), ERR_FORMAT);

	/* bounds */
	ASSERT_EQ_INT(sni_encode_gost_name("", enc, sizeof(enc)), ERR_FORMAT);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ASSERT_EQ_INT(sni_encode_gost_name(longname, enc, sizeof(enc)),
	    ERR_TOO_LONG);
	longname[SNI_GOST_NAME_MAX] = '\0';
	ASSERT_EQ_INT(sni_encode_gost_name(longname, enc, sizeof(enc)), 0);
	ASSERT_EQ_UINT(strlen(enc), SNI_GOST_ENC_MAX - 1);
	ASSERT_EQ_INT(sni_decode_gost_name(enc, strlen(enc), dec,
	    sizeof(dec)), 0);
	ASSERT_STREQ(dec, longname);
	ASSERT_EQ_INT(sni_decode_gost_name(enc, strlen(enc), dec, 10),
	    ERR_NO_SPACE);
	ASSERT_EQ_INT(sni_encode_gost_name("www.example.com", enc, 32),
	    ERR_NO_SPACE);
	ASSERT_EQ_INT(sni_encode_gost_name("www.example.com", enc, 33), 0);
}

TEST(test_openssl_hello)
{
	struct sni_hello h;
	unsigned char big[sizeof(openssl_hello) + 16];
	size_t i;

	ASSERT_EQ_INT(sni_parse(openssl_hello, sizeof(openssl_hello), &h), 0);
	ASSERT_STREQ(h.host, "www.example.com");
	ASSERT_STREQ(h.gost_host, "");
	ASSERT_EQ_UINT(h.hello_len, sizeof(openssl_hello));
	ASSERT_EQ_UINT(h.gost_off, 0);
	REQUIRE(h.sni_off != 0);
	ASSERT_EQ_UINT(openssl_hello[h.sni_off], 0);
	ASSERT_EQ_UINT(openssl_hello[h.sni_off + 1], 0);
	ASSERT_EQ_UINT(h.sni_len, 4 + 5 + strlen("www.example.com"));
	for (i = 0; i < sizeof(openssl_hello); i++)
		if (sni_parse(openssl_hello, i, &h) != ERR_INCOMPLETE)
			TEST_FAIL_AT("truncated at %zu", i);
	/* what follows the hello is not looked at */
	memcpy(big, openssl_hello, sizeof(openssl_hello));
	memset(big + sizeof(openssl_hello), 0xee, 16);
	ASSERT_EQ_INT(sni_parse(big, sizeof(big), &h), 0);
	ASSERT_EQ_UINT(h.hello_len, sizeof(openssl_hello));
}

TEST(test_built_hello)
{
	unsigned char b[1024];
	struct sni_hello h;
	struct ext e = { 0x002b, versions, sizeof(versions) };
	size_t len, i;

	len = simple_hello(b, "Mail-1.Example.ORG");
	ASSERT_EQ_INT(sni_parse(b, len, &h), 0);
	ASSERT_STREQ(h.host, "Mail-1.Example.ORG");
	ASSERT_EQ_UINT(h.hello_len, len);
	ASSERT_EQ_UINT(h.ext_off, B_EXTLEN);
	ASSERT_EQ_UINT(h.sni_off, B_EXTS);
	for (i = 0; i < len; i++)
		if (sni_parse(b, i, &h) != ERR_INCOMPLETE)
			TEST_FAIL_AT("truncated at %zu", i);

	/* no SNI: parses, no host */
	len = build_hello(b, &e, 1);
	ASSERT_EQ_INT(sni_parse(b, len, &h), 0);
	ASSERT_STREQ(h.host, "");
	ASSERT_EQ_UINT(h.sni_off, 0);
	/* an empty extensions block, and none at all (TLS 1.2) */
	len = build_hello(b, NULL, 0);
	ASSERT_EQ_INT(sni_parse(b, len, &h), 0);
	ASSERT_EQ_UINT(h.ext_off, B_EXTLEN);
	len = build_hello(b, NULL, -1);
	ASSERT_EQ_INT(sni_parse(b, len, &h), 0);
	ASSERT_EQ_UINT(h.ext_off, 0);
	ASSERT_EQ_UINT(h.hello_len, len);
}

/* Parse a copy of hello with one byte changed. */
static int
parse_with(const unsigned char *hello, size_t len, size_t off,
    unsigned char v)
{
	unsigned char b[1024];
	struct sni_hello h;

	memcpy(b, hello, len);
	b[off] = v;
	return sni_parse(b, len, &h);
}

static int
parse_sni(const char *name)
{
	unsigned char b[1024];
	struct sni_hello h;

	return sni_parse(b, simple_hello(b, name), &h);
}

TEST(test_corrupt)
{
	unsigned char b[1024], c[1024], sn[64];
	struct sni_hello h;
	struct ext e[2];
	size_t len;

	len = simple_hello(b, "example.com");
	ASSERT_EQ_INT(parse_with(b, len, 0, 0x17), ERR_FORMAT);
	ASSERT_EQ_INT(parse_with(b, len, 1, 0x02), ERR_FORMAT);
	ASSERT_EQ_INT(parse_with(b, len, 5, 0x02), ERR_FORMAT);
	/* the early decisions: one byte is enough to tell TLS from HTTP */
	ASSERT_EQ_INT(sni_parse((const unsigned char *)"G", 1, &h),
	    ERR_FORMAT);
	ASSERT_EQ_INT(sni_parse((const unsigned char *)"\x16\x03\x01\x00\x10"
	    "\x02", 6, &h), ERR_FORMAT);
	/* handshake length shorter than the record: trailing bytes */
	ASSERT_EQ_INT(parse_with(b, len, 8, b[8] - 1), ERR_FORMAT);
	/* longer: would continue in a second record, unsupported */
	ASSERT_EQ_INT(parse_with(b, len, 8, b[8] + 1), ERR_TOO_LONG);
	/* record over 2^14 */
	ASSERT_EQ_INT(sni_parse((const unsigned char *)"\x16\x03\x01\x40\x01"
	    "\x01\x00\x3f\xfd", 9, &h), ERR_TOO_LONG);
	ASSERT_EQ_INT(sni_parse((const unsigned char *)"\x16\x03\x01\x00\x03"
	    "\x01\x00\x00\x00", 9, &h), ERR_FORMAT);
	/* legacy_version, session id, suites, compression */
	ASSERT_EQ_INT(parse_with(b, len, 9, 0x02), ERR_FORMAT);
	ASSERT_EQ_INT(parse_with(b, len, B_SID, 33), ERR_FORMAT);
	ASSERT_EQ_INT(parse_with(b, len, B_SID, 31), ERR_FORMAT);
	ASSERT_EQ_INT(parse_with(b, len, B_SUITES + 1, 7), ERR_FORMAT);
	ASSERT_EQ_INT(parse_with(b, len, B_SUITES + 1, 0), ERR_FORMAT);
	ASSERT_EQ_INT(parse_with(b, len, B_COMP, 0), ERR_FORMAT);
	/* extensions length too long, too short */
	ASSERT_EQ_INT(parse_with(b, len, B_EXTLEN + 1, b[B_EXTLEN + 1] + 1),
	    ERR_FORMAT);
	ASSERT_EQ_INT(parse_with(b, len, B_EXTLEN + 1, b[B_EXTLEN + 1] - 1),
	    ERR_FORMAT);
	/* one extension's length past the block */
	ASSERT_EQ_INT(parse_with(b, len, B_EXTS + 3, 0xff), ERR_FORMAT);
	/* server_name list length and name length inconsistent */
	ASSERT_EQ_INT(parse_with(b, len, B_EXTS + 5, b[B_EXTS + 5] - 1),
	    ERR_FORMAT);
	ASSERT_EQ_INT(parse_with(b, len, B_EXTS + 8, b[B_EXTS + 8] + 1),
	    ERR_FORMAT);

	/* garbage after the extensions, inside the hello */
	memcpy(c, b, len);
	c[len] = 0;
	be16enc(c + 3, len + 1 - 5);
	be16enc(c + 7, len + 1 - 9);
	ASSERT_EQ_INT(sni_parse(c, len + 1, &h), ERR_FORMAT);

	/* duplicate server_name; empty server_name; two host_names */
	e[0].type = e[1].type = 0;
	e[0].data = e[1].data = sn;
	e[0].len = e[1].len = sni_data(sn, "example.com");
	len = build_hello(c, e, 2);
	ASSERT_EQ_INT(sni_parse(c, len, &h), ERR_FORMAT);
	e[0].len = 0;
	len = build_hello(c, e, 1);
	ASSERT_EQ_INT(sni_parse(c, len, &h), ERR_FORMAT);
	memcpy(sn, "\x00\x0e\x00\x00\x04" "a.bc\x00\x00\x04" "d.ef", 16);
	e[0].len = 16;
	len = build_hello(c, e, 1);
	ASSERT_EQ_INT(sni_parse(c, len, &h), ERR_FORMAT);
	/* an unknown name type is skipped */
	sn[9] = 0x01;
	len = build_hello(c, e, 1);
	ASSERT_EQ_INT(sni_parse(c, len, &h), 0);
	ASSERT_STREQ(h.host, "a.bc");

	/* host names */
	ASSERT_EQ_INT(parse_sni("a"), 0);
	ASSERT_EQ_INT(parse_sni("xn--bcher-kva.example"), 0);
	ASSERT_EQ_INT(parse_sni("a_b.example"), ERR_FORMAT);
	ASSERT_EQ_INT(parse_sni("a..b"), ERR_FORMAT);
	ASSERT_EQ_INT(parse_sni("example.com."), ERR_FORMAT);
	ASSERT_EQ_INT(parse_sni(".example.com"), ERR_FORMAT);
	ASSERT_EQ_INT(parse_sni("exa mple.com"), ERR_FORMAT);
	ASSERT_EQ_INT(parse_sni("example.com:443"), ERR_FORMAT);
	ASSERT_EQ_INT(parse_sni("0123456789012345678901234567890123456789"
	    "01234567890123456789012.com"), 0);
	ASSERT_EQ_INT(parse_sni("0123456789012345678901234567890123456789"
	    "012345678901234567890123.com"), ERR_FORMAT);
}

TEST(test_gost_ext)
{
	unsigned char b[1024], o[1024];
	struct sni_hello h, h2;
	size_t len, olen, before;
	char enc[SNI_GOST_ENC_MAX];
	unsigned char sn[64];
	struct ext e[3];

	/* client side: obfuscate the openssl hello */
	ASSERT_EQ_INT(sni_parse(openssl_hello, sizeof(openssl_hello), &h), 0);
	ASSERT_EQ_INT(sni_obfuscate(openssl_hello, sizeof(openssl_hello), &h,
	    "cdn.example.net", o, sizeof(o), &olen), 0);
	ASSERT_EQ_INT(sni_parse(o, olen, &h), 0);
	ASSERT_STREQ(h.host, "cdn.example.net");
	ASSERT_STREQ(h.gost_host, "www.example.com");
	ASSERT_EQ_UINT(h.gost_off + h.gost_len, olen);
	ASSERT_EQ_INT(sni_obfuscate(o, olen, &h, "x.y", b, sizeof(b), &len),
	    ERR_FORMAT);		/* already carries 0xfffe */

	/* server side: strip it, with bytes following the hello */
	memcpy(o + olen, "DATA", 4);
	len = olen + 4;
	before = h.gost_len;
	ASSERT_EQ_INT(sni_strip_gost_ext(o, &len, &h), 0);
	ASSERT_EQ_UINT(len, olen + 4 - before);
	ASSERT_STREQ(h.gost_host, "www.example.com");	/* kept */
	ASSERT_EQ_UINT(h.gost_off, 0);
	ASSERT_EQ_UINT(h.hello_len, len - 4);
	ASSERT(memcmp(o + len - 4, "DATA", 4) == 0);
	ASSERT_EQ_INT(sni_parse(o, len, &h2), 0);
	ASSERT_STREQ(h2.host, "cdn.example.net");
	ASSERT_STREQ(h2.gost_host, "");
	/* the stripped hello is the original with SNI replaced */
	ASSERT_EQ_UINT(h2.hello_len, sizeof(openssl_hello) - 15 +
	    strlen("cdn.example.net"));
	ASSERT(memcmp(o + h2.sni_off + h2.sni_len, openssl_hello + h2.sni_off +
	    (4 + 5 + 15), sizeof(openssl_hello) - h2.sni_off - (4 + 5 + 15)) ==
	    0);
	/* nothing to strip: unchanged */
	before = len;
	ASSERT_EQ_INT(sni_strip_gost_ext(o, &len, &h2), 0);
	ASSERT_EQ_UINT(len, before);
	/* a struct that does not describe the bytes */
	h2.ext_off++;
	ASSERT_EQ_INT(sni_strip_gost_ext(o, &len, &h2), ERR_INTERNAL);

	/* 0xfffe first, before SNI, in a built hello */
	sni_encode_gost_name("real.example", enc, sizeof(enc));
	e[0].type = SNI_EXT_GOST;
	e[0].data = enc;
	e[0].len = strlen(enc);
	e[1].type = 0;
	e[1].data = sn;
	e[1].len = sni_data(sn, "fake.example");
	e[2].type = 0x002b;
	e[2].data = versions;
	e[2].len = sizeof(versions);
	len = build_hello(b, e, 3);
	ASSERT_EQ_INT(sni_parse(b, len, &h), 0);
	ASSERT_STREQ(h.gost_host, "real.example");
	ASSERT_EQ_UINT(h.gost_off, B_EXTS);
	ASSERT_EQ_INT(sni_strip_gost_ext(b, &len, &h), 0);
	ASSERT_EQ_UINT(h.sni_off, B_EXTS);
	ASSERT_STREQ(h.host, "fake.example");

	/* bad CRC: the extension is seen but no name comes out of it */
	enc[0] = enc[0] == 'A' ? 'B' : 'A';
	len = build_hello(b, e, 3);
	ASSERT_EQ_INT(sni_parse(b, len, &h), 0);
	ASSERT(h.gost_off != 0);
	ASSERT_STREQ(h.gost_host, "");
	ASSERT_STREQ(h.host, "fake.example");
	/* a decoded name that is not a host name is ignored too */
	sni_encode_gost_name("real.example:443", enc, sizeof(enc));
	e[0].len = strlen(enc);
	len = build_hello(b, e, 3);
	ASSERT_EQ_INT(sni_parse(b, len, &h), 0);
	ASSERT_STREQ(h.gost_host, "");
	/* two of them */
	e[1] = e[0];
	len = build_hello(b, e, 2);
	ASSERT_EQ_INT(sni_parse(b, len, &h), ERR_FORMAT);

	/* obfuscate refuses a hello without SNI and a bad fake name */
	len = build_hello(b, e + 2, 1);
	ASSERT_EQ_INT(sni_parse(b, len, &h), 0);
	ASSERT_EQ_INT(sni_obfuscate(b, len, &h, "x.y", o, sizeof(o), &olen),
	    ERR_FORMAT);
	len = simple_hello(b, "example.com");
	ASSERT_EQ_INT(sni_parse(b, len, &h), 0);
	ASSERT_EQ_INT(sni_obfuscate(b, len, &h, "x y", o, sizeof(o), &olen),
	    ERR_FORMAT);
	ASSERT_EQ_INT(sni_obfuscate(b, len, &h, "x.y", o, len, &olen),
	    ERR_NO_SPACE);
}

static int
host_of(const char *req, char *host, uint16_t *port)
{
	return sni_http_host((const unsigned char *)req, strlen(req), host,
	    SNI_HOST_MAX + 1, port);
}

TEST(test_http_host)
{
	char host[SNI_HOST_MAX + 1], *big;
	uint16_t port;
	const char *req;
	size_t i;

	ASSERT_EQ_INT(host_of("GET / HTTP/1.1\r\nUser-Agent: x\r\n"
	    "hOsT:  www.example.com \r\n\r\n", host, &port), 0);
	ASSERT_STREQ(host, "www.example.com");
	ASSERT_EQ_UINT(port, 0);
	ASSERT_EQ_INT(host_of("GET / HTTP/1.0\nHost: a.b:8080\n\n", host,
	    &port), 0);
	ASSERT_STREQ(host, "a.b");
	ASSERT_EQ_UINT(port, 8080);
	ASSERT_EQ_INT(host_of("GET / HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n"
	    "\r\nbody", host, &port), 0);
	ASSERT_STREQ(host, "2001:db8::1");
	ASSERT_EQ_UINT(port, 443);
	ASSERT_EQ_INT(host_of("GET / HTTP/1.1\r\nHost: [::ffff:1.2.3.4]\r\n"
	    "\r\n", host, &port), 0);
	ASSERT_STREQ(host, "::ffff:1.2.3.4");
	ASSERT_EQ_UINT(port, 0);
	ASSERT_EQ_INT(host_of("GET / HTTP/1.1\r\nHost: 10.0.0.1:1\r\n\r\n",
	    host, &port), 0);
	ASSERT_STREQ(host, "10.0.0.1");
	ASSERT_EQ_UINT(port, 1);

	/* every prefix of a complete head is incomplete */
	req = "GET / HTTP/1.1\r\nHost: a.b\r\n\r\n";
	for (i = 0; i < strlen(req); i++)
		if (sni_http_host((const unsigned char *)req, i, host,
		    sizeof(host), &port) != ERR_INCOMPLETE)
			TEST_FAIL_AT("prefix %zu", i);

	ASSERT_EQ_INT(host_of("GET / HTTP/1.1\r\nX-Host: a\r\n\r\n", host,
	    &port), ERR_FORMAT);
	ASSERT_EQ_INT(host_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	    host, &port), ERR_FORMAT);
	ASSERT_EQ_INT(host_of("GET / HTTP/1.1\r\nHost:\r\n\r\n", host, &port),
	    ERR_FORMAT);
	ASSERT_EQ_INT(host_of("GET / HTTP/1.1\r\nHost : a\r\n\r\n", host,
	    &port), ERR_FORMAT);
	ASSERT_EQ_INT(host_of("GET / HTTP/1.1\r\nX: y\r\n Host: a\r\n\r\n",
	    host, &port), ERR_FORMAT);
	ASSERT_EQ_INT(host_of("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", host,
	    &port), ERR_FORMAT);
	ASSERT_EQ_INT(host_of("GET / HTTP/2.0\r\nHost: a\r\n\r\n", host,
	    &port), ERR_FORMAT);
	ASSERT_EQ_INT(host_of("\x16\x03\x01\n\n", host, &port), ERR_FORMAT);
	ASSERT_EQ_INT(host_of("GET / HTTP/1.1\r\nHost: a:0\r\n\r\n", host,
	    &port), ERR_FORMAT);
	ASSERT_EQ_INT(host_of("GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n", host,
	    &port), ERR_FORMAT);
	ASSERT_EQ_INT(host_of("GET / HTTP/1.1\r\nHost: a:\r\n\r\n", host,
	    &port), ERR_FORMAT);
	ASSERT_EQ_INT(host_of("GET / HTTP/1.1\r\nHost: 2001:db8::1\r\n\r\n",
	    host, &port), ERR_FORMAT);
	ASSERT_EQ_INT(host_of("GET / HTTP/1.1\r\nHost: [2001:db8::1\r\n\r\n",
	    host, &port), ERR_FORMAT);
	ASSERT_EQ_INT(host_of("GET / HTTP/1.1\r\nHost: [a.b]\r\n\r\n",
	    host, &port), ERR_FORMAT);
	ASSERT_EQ_INT(host_of("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", host,
	    &port), ERR_FORMAT);
	ASSERT_EQ_INT(sni_http_host((const unsigned char *)
	    "GET / HTTP/1.1\r\nHost: abcdef\r\n\r\n", 32, host, 6, &port),
	    ERR_NO_SPACE);

	/* the head is bounded */
	REQUIRE((big = malloc(SNI_HTTP_HEAD_MAX + 10)) != NULL);
	memset(big, 'a', SNI_HTTP_HEAD_MAX + 10);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	ASSERT_EQ_INT(sni_http_host((unsigned char *)big,
	    SNI_HTTP_HEAD_MAX - 1, host, sizeof(host), &port), ERR_INCOMPLETE);
	ASSERT_EQ_INT(sni_http_host((unsigned char *)big,
	    SNI_HTTP_HEAD_MAX + 10, host, sizeof(host), &port), ERR_TOO_LONG);
	free(big);
}

int
main(void)
{
	RUN(test_crc32);
	RUN(test_gost_name);
	RUN(test_openssl_hello);
	RUN(test_built_hello);
	RUN(test_corrupt);
	RUN(test_gost_ext);
	RUN(test_http_host);
	return TEST_EXIT();
}
