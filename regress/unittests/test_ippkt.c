/* The capture's first look at a packet (proto/ippkt.c). */
#include "config.h"

#include <sys/socket.h>

#include <stdint.h>
#include <string.h>

#include "proto/ippkt.h"
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

int
main(void)
{
	RUN(test_ipv4_tcp);
	RUN(test_ipv4_fragments);
	RUN(test_unroutable);
	RUN(test_ipv6);
	return TEST_EXIT();
}
