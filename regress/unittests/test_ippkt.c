/* The capture's first look at a packet (proto/ippkt.c). */
#include "config.h"

#include <sys/socket.h>

#include <stdint.h>
#include <string.h>

#include "proto/ippkt.h"
#include "proto/vnet.h"
#include "test.h"

/* A SYN 10.215.0.1:40000 -> 10.214.0.2:8080 (checksums irrelevant). */
static const unsigned char syn4[] = {
	0x45, 0x00, 0x00, 0x28, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00,
	0x00, 10, 215, 0, 1, 10, 214, 0, 2,
	0x9c, 0x40, 0x1f, 0x90, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff,
	0xff, 0, 0, 0, 0,
};

TEST(test_ipv4_tcp)
{
	struct ippkt pk;
	unsigned char b[sizeof(syn4) + 4];

	ASSERT_EQ_INT(ippkt_parse(syn4, sizeof(syn4), &pk), 0);
	ASSERT_EQ_INT(pk.family, AF_INET);
	ASSERT_EQ_INT(pk.proto, IPPKT_TCP);
	ASSERT_EQ_UINT(pk.len, sizeof(syn4));
	ASSERT_EQ_INT(pk.ports, 1);
	ASSERT_EQ_UINT(pk.sport, 40000);
	ASSERT_EQ_UINT(pk.dport, 8080);
	ASSERT_EQ_INT(pk.tcpflags, IPPKT_TCP_SYN);
	ASSERT_EQ_INT(pk.frag, 0);
	ASSERT(memcmp(pk.dst, syn4 + 16, 4) == 0);
	ASSERT_EQ_INT(ippkt_unroutable(&pk), 0);
	/* padding after the datagram is not part of it */
	memcpy(b, syn4, sizeof(syn4));
	memset(b + sizeof(syn4), 0, 4);
	ASSERT_EQ_INT(ippkt_parse(b, sizeof(b), &pk), 0);
	ASSERT_EQ_UINT(pk.len, sizeof(syn4));
	/* cut short: the total length says more than there is */
	ASSERT_EQ_INT(ippkt_parse(syn4, sizeof(syn4) - 1, &pk), -1);
	ASSERT_EQ_INT(ippkt_parse(syn4, 19, &pk), -1);
	ASSERT_EQ_INT(ippkt_parse(syn4, 0, &pk), -1);
	/* a header length below 20 */
	memcpy(b, syn4, sizeof(syn4));
	b[0] = 0x44;
	ASSERT_EQ_INT(ippkt_parse(b, sizeof(syn4), &pk), -1);
	/* version 5 */
	b[0] = 0x55;
	ASSERT_EQ_INT(ippkt_parse(b, sizeof(syn4), &pk), -1);
}

TEST(test_ipv4_fragments)
{
	struct ippkt pk;
	unsigned char b[sizeof(syn4)];

	memcpy(b, syn4, sizeof(b));
	b[6] = 0x20;		/* more fragments, offset 0: ports seen */
	b[7] = 0x00;
	ASSERT_EQ_INT(ippkt_parse(b, sizeof(b), &pk), 0);
	ASSERT_EQ_INT(pk.frag, 1);
	ASSERT_EQ_INT(pk.ports, 1);
	b[7] = 0x10;		/* a later fragment: no upper header */
	ASSERT_EQ_INT(ippkt_parse(b, sizeof(b), &pk), 0);
	ASSERT_EQ_INT(pk.frag, 1);
	ASSERT_EQ_INT(pk.ports, 0);
}

TEST(test_unroutable)
{
	struct ippkt pk;
	unsigned char b[sizeof(syn4)];

	memcpy(b, syn4, sizeof(b));
	memcpy(b + 16, b + 12, 4);		/* source = destination */
	ASSERT_EQ_INT(ippkt_parse(b, sizeof(b), &pk), 0);
	ASSERT_EQ_INT(ippkt_unroutable(&pk), 1);
	memcpy(b, syn4, sizeof(b));
	b[16] = 127;				/* loopback */
	ASSERT_EQ_INT(ippkt_parse(b, sizeof(b), &pk), 0);
	ASSERT_EQ_INT(ippkt_unroutable(&pk), 1);
	memcpy(b, syn4, sizeof(b));
	b[16] = 239;				/* multicast */
	ASSERT_EQ_INT(ippkt_parse(b, sizeof(b), &pk), 0);
	ASSERT_EQ_INT(ippkt_unroutable(&pk), 1);
	memcpy(b, syn4, sizeof(b));
	memset(b + 12, 0, 4);			/* unspecified source */
	ASSERT_EQ_INT(ippkt_parse(b, sizeof(b), &pk), 0);
	ASSERT_EQ_INT(ippkt_unroutable(&pk), 1);
}

TEST(test_ipv6)
{
	unsigned char b[40 + 8 + 8 + 20];
	struct ippkt pk;

	memset(b, 0, sizeof(b));
	b[0] = 0x60;
	b[5] = 8 + 8 + 20;		/* payload length */
	b[6] = 0;			/* hop-by-hop, then destination opts */
	b[7] = 64;
	b[8] = 0xfd;			/* fd00::1 -> fd00::2 */
	b[23] = 1;
	b[24] = 0xfd;
	b[39] = 2;
	b[40] = 60;			/* next: destination options */
	b[48] = IPPKT_TCP;
	b[56] = 0x01;			/* 443 -> 80 */
	b[57] = 0xbb;
	b[59] = 80;
	b[69] = IPPKT_TCP_SYN | IPPKT_TCP_ACK;
	ASSERT_EQ_INT(ippkt_parse(b, sizeof(b), &pk), 0);
	ASSERT_EQ_INT(pk.family, AF_INET6);
	ASSERT_EQ_INT(pk.proto, IPPKT_TCP);
	ASSERT_EQ_INT(pk.ports, 1);
	ASSERT_EQ_UINT(pk.sport, 443);
	ASSERT_EQ_UINT(pk.dport, 80);
	ASSERT_EQ_INT(pk.tcpflags, IPPKT_TCP_SYN | IPPKT_TCP_ACK);
	ASSERT_EQ_INT(ippkt_unroutable(&pk), 0);
	/* an extension header longer than the packet */
	b[49] = 4;
	ASSERT_EQ_INT(ippkt_parse(b, sizeof(b), &pk), -1);
	b[49] = 0;
	/* a payload length past the end */
	b[5] = 200;
	ASSERT_EQ_INT(ippkt_parse(b, sizeof(b), &pk), -1);
	b[5] = 8 + 8 + 20;
	/* link-local destination: never captured */
	b[24] = 0xfe;
	b[25] = 0x80;
	ASSERT_EQ_INT(ippkt_parse(b, sizeof(b), &pk), 0);
	ASSERT_EQ_INT(ippkt_unroutable(&pk), 1);
}

/* The Internet checksum over a whole message: 0 when it is right. */
static uint16_t
sum_ok(const unsigned char *p, size_t n, uint64_t pseudo)
{
	return vnet_cksum(p, n, pseudo);
}

TEST(test_unreach4)
{
	/* UDP 10.215.0.1:40000 -> 10.214.0.2:53, 12 bytes of payload */
	unsigned char q[28] = {
		0x45, 0x00, 0x00, 0x28, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11,
		0x00, 0x00, 10, 215, 0, 1, 10, 214, 0, 2,
		0x9c, 0x40, 0x00, 0x35, 0x00, 0x14, 0xab, 0xcd,
	};
	unsigned char pay[1500], out[IPPKT_UNREACH_MAX];
	struct ippkt pk;
	size_t n;

	memset(pay, 'x', sizeof(pay));
	n = ippkt_unreach(out, sizeof(out), IPPKT_UNREACH_PORT, q, sizeof(q),
	    pay, 12);
	ASSERT_EQ_UINT(n, 20 + 8 + 28 + 12);
	ASSERT_EQ_INT(ippkt_parse(out, n, &pk), 0);
	ASSERT_EQ_INT(pk.proto, IPPKT_ICMP);
	ASSERT_EQ_UINT(pk.len, n);
	/* from where the datagram went, to its sender */
	ASSERT_EQ_INT(memcmp(out + 12, q + 16, 4), 0);
	ASSERT_EQ_INT(memcmp(out + 16, q + 12, 4), 0);
	ASSERT_EQ_UINT(sum_ok(out, 20, 0), 0);
	ASSERT_EQ_UINT(out[20], 3);
	ASSERT_EQ_UINT(out[21], 3);
	ASSERT_EQ_UINT(sum_ok(out + 20, n - 20, 0), 0);
	ASSERT_EQ_INT(memcmp(out + 28, q, sizeof(q)), 0);
	ASSERT_EQ_INT(memcmp(out + 56, pay, 12), 0);
	/* the other reasons' codes */
	n = ippkt_unreach(out, sizeof(out), IPPKT_UNREACH_HOST, q, sizeof(q),
	    NULL, 0);
	ASSERT_EQ_UINT(n, 56);
	ASSERT_EQ_UINT(out[21], 1);
	ASSERT_EQ_UINT(sum_ok(out + 20, n - 20, 0), 0);
	n = ippkt_unreach(out, sizeof(out), IPPKT_UNREACH_NET, q, sizeof(q),
	    NULL, 0);
	ASSERT_EQ_UINT(out[21], 0);
	n = ippkt_unreach(out, sizeof(out), IPPKT_UNREACH_ADMIN, q, sizeof(q),
	    NULL, 0);
	ASSERT_EQ_UINT(out[21], 13);
	/* a long payload: the error stops at 576 bytes */
	n = ippkt_unreach(out, sizeof(out), IPPKT_UNREACH_PORT, q, sizeof(q),
	    pay, sizeof(pay));
	ASSERT_EQ_UINT(n, 576);
	ASSERT_EQ_UINT(out[2] << 8 | out[3], 576);
	ASSERT_EQ_UINT(sum_ok(out + 20, n - 20, 0), 0);
	/* too little room; no such reason; not an option-less header */
	ASSERT_EQ_UINT(ippkt_unreach(out, 60, IPPKT_UNREACH_PORT, q,
	    sizeof(q), pay, 12), 0);
	ASSERT_EQ_UINT(ippkt_unreach(out, sizeof(out), 4, q, sizeof(q),
	    NULL, 0), 0);
	ASSERT_EQ_UINT(ippkt_unreach(out, sizeof(out), IPPKT_UNREACH_PORT, q,
	    20, NULL, 0), 0);
	q[0] = 0x46;
	ASSERT_EQ_UINT(ippkt_unreach(out, sizeof(out), IPPKT_UNREACH_PORT, q,
	    sizeof(q), NULL, 0), 0);
}

TEST(test_unreach6)
{
	unsigned char q[48], pay[2000], out[IPPKT_UNREACH_MAX];
	struct ippkt pk;
	size_t n;

	/* UDP [fd00:215::1]:40000 -> [fd00:214::2]:53 */
	memset(q, 0, sizeof(q));
	q[0] = 0x60;
	q[5] = 8 + 12;
	q[6] = IPPKT_UDP;
	q[7] = 64;
	q[8] = 0xfd;
	q[10] = 2;
	q[11] = 0x15;
	q[23] = 1;
	q[24] = 0xfd;
	q[26] = 2;
	q[27] = 0x14;
	q[39] = 2;
	q[40] = 0x9c;
	q[41] = 0x40;
	q[43] = 53;
	q[45] = 8 + 12;
	memset(pay, 'y', sizeof(pay));
	n = ippkt_unreach(out, sizeof(out), IPPKT_UNREACH_PORT, q, sizeof(q),
	    pay, 12);
	ASSERT_EQ_UINT(n, 40 + 8 + 48 + 12);
	ASSERT_EQ_INT(ippkt_parse(out, n, &pk), 0);
	ASSERT_EQ_INT(pk.family, AF_INET6);
	ASSERT_EQ_INT(pk.proto, IPPKT_ICMP6);
	ASSERT_EQ_INT(memcmp(out + 8, q + 24, 16), 0);
	ASSERT_EQ_INT(memcmp(out + 24, q + 8, 16), 0);
	ASSERT_EQ_UINT(out[40], 1);
	ASSERT_EQ_UINT(out[41], 4);
	ASSERT_EQ_UINT(sum_ok(out + 40, n - 40,
	    vnet_pseudo_sum(out, IPPKT_ICMP6, n - 40)), 0);
	ASSERT_EQ_INT(memcmp(out + 48, q, sizeof(q)), 0);
	n = ippkt_unreach(out, sizeof(out), IPPKT_UNREACH_HOST, q, sizeof(q),
	    NULL, 0);
	ASSERT_EQ_UINT(out[41], 3);
	n = ippkt_unreach(out, sizeof(out), IPPKT_UNREACH_NET, q, sizeof(q),
	    NULL, 0);
	ASSERT_EQ_UINT(out[41], 0);
	n = ippkt_unreach(out, sizeof(out), IPPKT_UNREACH_ADMIN, q, sizeof(q),
	    NULL, 0);
	ASSERT_EQ_UINT(out[41], 1);
	/* at most the minimum MTU */
	n = ippkt_unreach(out, sizeof(out), IPPKT_UNREACH_PORT, q, sizeof(q),
	    pay, sizeof(pay));
	ASSERT_EQ_UINT(n, 1280);
	ASSERT_EQ_UINT(out[4] << 8 | out[5], 1240);
	ASSERT_EQ_UINT(sum_ok(out + 40, n - 40,
	    vnet_pseudo_sum(out, IPPKT_ICMP6, n - 40)), 0);
	/* an IPv6 header with an IPv4 length */
	ASSERT_EQ_UINT(ippkt_unreach(out, sizeof(out), IPPKT_UNREACH_PORT, q,
	    28, NULL, 0), 0);
}

int
main(void)
{
	RUN(test_ipv4_tcp);
	RUN(test_ipv4_fragments);
	RUN(test_unroutable);
	RUN(test_ipv6);
	RUN(test_unreach4);
	RUN(test_unreach6);
	return TEST_EXIT();
}
