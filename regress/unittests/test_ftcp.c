/* Fake TCP segments (proto/ftcp.c): the header built, what is read. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "compat.h"
#include "proto/ftcp.h"
#include "proto/vnet.h"
#include "test.h"

static const unsigned char src4[4] = { 10, 0, 0, 1 };
static const unsigned char dst4[4] = { 10, 0, 0, 2 };

/* An IPv4 packet around a segment (h, then n data bytes): its length. */
static size_t
ip4(unsigned char *p, const unsigned char *h, const unsigned char *d,
    size_t n, size_t ihl)
{
	size_t tot = ihl + FTCP_HDR + n;

	memset(p, 0, ihl);
	p[0] = (unsigned char)(0x40 | ihl / 4);
	be16enc(p + 2, (uint16_t)tot);
	p[6] = 0x40;			/* DF */
	p[8] = 64;
	p[9] = 6;
	memcpy(p + 12, src4, 4);
	memcpy(p + 16, dst4, 4);
	memcpy(p + ihl, h, FTCP_HDR);
	if (n > 0)
		memcpy(p + ihl + FTCP_HDR, d, n);
	return tot;
}

/* The pseudo-header's sum (IPv4, a bare header), for vnet_cksum. */
static uint64_t
sum4(const unsigned char *s, const unsigned char *d)
{
	unsigned char ph[12];

	memcpy(ph, s, 4);
	memcpy(ph + 4, d, 4);
	ph[8] = 0;
	ph[9] = 6;
	be16enc(ph + 10, FTCP_HDR);
	return (uint16_t)~vnet_cksum(ph, sizeof(ph), 0);
}

/* The header's bytes, checksum against one computed elsewhere. */
TEST(test_header_known)
{
	unsigned char h[FTCP_HDR];
	static const unsigned char want[FTCP_HDR] = {
		0x20, 0xe5, 0x9c, 0x40,		/* 8421 -> 40000 */
		0x01, 0x02, 0x03, 0x04,		/* seq */
		0xa0, 0xb0, 0xc0, 0xd0,		/* ack */
		0x50, 0x18, 0x9a, 0xbc,		/* 5 words, PSH|ACK, window */
		0x9a, 0x89, 0x00, 0x00,		/* checksum, urgent */
	};

	ftcp_header(h, 8421, 40000, 0x01020304, 0xa0b0c0d0, 0x9abc, src4,
	    dst4, (const unsigned char *)"hello", 5);
	ASSERT(memcmp(h, want, sizeof(want)) == 0);
	/* IPv6: the kernel's to fill in */
	ftcp_header(h, 8421, 40000, 0x01020304, 0xa0b0c0d0, 0x9abc, NULL,
	    NULL, (const unsigned char *)"hello", 5);
	ASSERT_EQ_INT(h[16] | h[17], 0);
}

/* Built, wrapped, read back: the same fields, the checksum right. */
TEST(test_roundtrip)
{
	unsigned char h[FTCP_HDR], p[2000], d[1400];
	struct ftcp_seg s;
	size_t n, len, i;
	static const size_t lens[] = { 1, 2, 3, 100, 1400 };

	for (i = 0; i < sizeof(d); i++)
		d[i] = (unsigned char)(i * 13 + 5);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		len = lens[i];
		ftcp_header(h, 1234, 8421, 0xfffffff0u, 77, 0x8001, src4, dst4,
		    d, len);
		n = ip4(p, h, d, len, 20);
		ASSERT_EQ_INT(ftcp_parse(1, p, n, 1, &s), 0);
		ASSERT_EQ_UINT(s.sport, 1234);
		ASSERT_EQ_UINT(s.dport, 8421);
		ASSERT_EQ_UINT(s.seq, 0xfffffff0u);
		ASSERT_EQ_UINT(s.ack, 77);
		ASSERT_EQ_UINT(s.flags, FTCP_PSH | FTCP_ACK);
		ASSERT_EQ_UINT(s.len, len);
		ASSERT(s.data == p + 40 && memcmp(s.data, d, len) == 0);
		ASSERT(memcmp(s.src, src4, 4) == 0 &&
		    memcmp(s.dst, dst4, 4) == 0);
		/* one bit off in the data: refused when checked only */
		p[n - 1] ^= 0x10;
		ASSERT_EQ_INT(ftcp_parse(1, p, n, 1, &s), -1);
		ASSERT_EQ_INT(ftcp_parse(1, p, n, 0, &s), 0);
	}
	/* IP options: the segment after them; padding after the datagram */
	ftcp_header(h, 1, 2, 3, 4, 0x8000, src4, dst4, d, 10);
	n = ip4(p, h, d, 10, 24);
	ASSERT_EQ_INT(ftcp_parse(1, p, n + 6, 1, &s), 0);
	ASSERT_EQ_UINT(s.len, 10);
	ASSERT(s.data == p + 44);
}

TEST(test_refused)
{
	unsigned char h[FTCP_HDR], p[200], d[10] = { 0 };
	struct ftcp_seg s;
	size_t n;

	ftcp_header(h, 1, 2, 3, 4, 0x8000, src4, dst4, d, sizeof(d));
	n = ip4(p, h, d, sizeof(d), 20);
	ASSERT_EQ_INT(ftcp_parse(1, p, n, 1, &s), 0);
	/* short; the datagram longer than what was read */
	ASSERT_EQ_INT(ftcp_parse(1, p, 19, 0, &s), -1);
	ASSERT_EQ_INT(ftcp_parse(1, p, n - 1, 0, &s), -1);
	ASSERT_EQ_INT(ftcp_parse(1, p, 39, 0, &s), -1);
	/* IPv6 in an IPv4 socket's read; header length below 5 words */
	p[0] = 0x65;
	ASSERT_EQ_INT(ftcp_parse(1, p, n, 0, &s), -1);
	p[0] = 0x44;
	ASSERT_EQ_INT(ftcp_parse(1, p, n, 0, &s), -1);
	p[0] = 0x45;
	/* a fragment, first or later */
	p[6] = 0x20;
	ASSERT_EQ_INT(ftcp_parse(1, p, n, 0, &s), -1);
	p[6] = 0x00, p[7] = 0x08;
	ASSERT_EQ_INT(ftcp_parse(1, p, n, 0, &s), -1);
	p[6] = 0x40, p[7] = 0;
	/* UDP */
	p[9] = 17;
	ASSERT_EQ_INT(ftcp_parse(1, p, n, 0, &s), -1);
	p[9] = 6;
	/* TCP data offset below 5 words, or past the datagram */
	p[32] = 0x40;
	ASSERT_EQ_INT(ftcp_parse(1, p, n, 0, &s), -1);
	p[32] = 0x80;
	ASSERT_EQ_INT(ftcp_parse(1, p, n, 0, &s), -1);
	p[32] = 0x50;
	ASSERT_EQ_INT(ftcp_parse(1, p, n, 0, &s), 0);
}

/*
 * Without payload the checksum is not looked at (the local kernel's
 * SYN-ACK on a veth has only the pseudo-header's sum); an IPv6 read
 * starts at the TCP header.
 */
TEST(test_control_and_v6)
{
	unsigned char p[100];
	struct ftcp_seg s;

	memset(p, 0, sizeof(p));
	p[0] = 0x45;
	be16enc(p + 2, 40);
	p[9] = 6;
	be16enc(p + 20, 8421);
	be16enc(p + 22, 5555);
	be32enc(p + 24, 1000);
	be32enc(p + 28, 2000);
	p[32] = 0x50;
	p[33] = FTCP_SYN | FTCP_ACK;
	p[36] = 0xde, p[37] = 0xad;	/* a checksum that is wrong */
	ASSERT_EQ_INT(ftcp_parse(1, p, 40, 1, &s), 0);
	ASSERT_EQ_UINT(s.flags, FTCP_SYN | FTCP_ACK);
	ASSERT_EQ_UINT(s.seq, 1000);
	ASSERT_EQ_UINT(s.len, 0);
	ASSERT_EQ_INT(ftcp_parse(0, p + 20, 20, 1, &s), 0);
	ASSERT_EQ_UINT(s.sport, 8421);
	ASSERT_EQ_UINT(s.ack, 2000);
	ASSERT_EQ_INT(ftcp_parse(0, p + 20, 19, 1, &s), -1);
}

/* RFC 793's reset: its sequence number the segment's acknowledgement. */
TEST(test_reset)
{
	unsigned char h[FTCP_HDR], p[100];
	struct ftcp_seg in, r;
	size_t n;

	memset(&in, 0, sizeof(in));
	in.sport = 40000;
	in.dport = 8421;
	in.seq = 500;
	in.ack = 0x11223344;
	in.flags = FTCP_PSH | FTCP_ACK;
	in.len = 100;
	ftcp_reset(h, &in, dst4, src4);
	n = ip4(p, h, NULL, 0, 20);
	memcpy(p + 12, dst4, 4);
	memcpy(p + 16, src4, 4);
	/* without data the checksum is not looked at: check it here */
	ASSERT_EQ_INT(ftcp_parse(1, p, n, 0, &r), 0);
	ASSERT_EQ_UINT(r.sport, 8421);
	ASSERT_EQ_UINT(r.dport, 40000);
	ASSERT_EQ_UINT(r.seq, 0x11223344);
	ASSERT_EQ_UINT(r.flags, FTCP_RST);
	ASSERT_EQ_UINT(vnet_cksum(p + 20, FTCP_HDR, sum4(dst4, src4)), 0);
	/* no acknowledgement in it: the reset acknowledges it, FIN too */
	in.flags = FTCP_FIN;
	ftcp_reset(h, &in, dst4, src4);
	n = ip4(p, h, NULL, 0, 20);
	ASSERT_EQ_INT(ftcp_parse(1, p, n, 0, &r), 0);
	ASSERT_EQ_UINT(r.seq, 0);
	ASSERT_EQ_UINT(r.ack, 601);
	ASSERT_EQ_UINT(r.flags, FTCP_RST | FTCP_ACK);
}

int
main(void)
{
	RUN(test_header_known);
	RUN(test_roundtrip);
	RUN(test_refused);
	RUN(test_control_and_v6);
	RUN(test_reset);
	return TEST_EXIT();
}
