/* The capture's first look at a packet (proto/ippkt.c). */
#include "config.h"

#include <sys/socket.h>

#include <stdint.h>
#include <string.h>

#include "compat.h"
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

/* One family's destination unreachable, and what it must say. */
struct unreach_case {
	const char	*name;
	int		 family, proto;
	unsigned char	 q[48];		/* a UDP datagram's headers */
	size_t		 ql;
	size_t		 hl;		/* the error's IP header */
	size_t		 saddr, alen;	/* the addresses: source, length */
	size_t		 daddr;
	int		 hdrsum;	/* the IP header has a checksum */
	int		 pseudo;	/* the ICMP checksum covers one */
	unsigned char	 type, codes[4];	/* by IPPKT_UNREACH_* */
	size_t		 max;		/* the longest error */
	size_t		 lenoff, lenhl;	/* its length field; not counted */
	size_t		 shortql;	/* a q too short for the family */
	unsigned char	 badq0;		/* a q[0] that is no such header */
};

static const struct unreach_case unreach_cases[] = {
	/* 10.215.0.1:40000 -> 10.214.0.2:53, 12 bytes of payload */
	{ "IPv4", AF_INET, IPPKT_ICMP, {
		0x45, 0x00, 0x00, 0x28, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11,
		0x00, 0x00, 10, 215, 0, 1, 10, 214, 0, 2,
		0x9c, 0x40, 0x00, 0x35, 0x00, 0x14, 0xab, 0xcd,
	  }, 28, 20, 12, 4, 16, 1, 0, 3, { 0, 1, 3, 13 }, 576, 2, 0, 20,
	  0x46 },
	/* [fd00:215::1]:40000 -> [fd00:214::2]:53 */
	{ "IPv6", AF_INET6, IPPKT_ICMP6, {
		[0] = 0x60, [5] = 8 + 12, [6] = IPPKT_UDP, [7] = 64,
		[8] = 0xfd, [10] = 2, [11] = 0x15, [23] = 1,
		[24] = 0xfd, [26] = 2, [27] = 0x14, [39] = 2,
		[40] = 0x9c, [41] = 0x40, [43] = 53, [45] = 8 + 12,
	  }, 48, 40, 8, 16, 24, 0, 1, 1, { 0, 3, 4, 1 }, 1280, 4, 40, 28,
	  0x70 },
};

/* The Internet checksum of the ICMP message of error out (n bytes). */
static uint16_t
unreach_sum(const struct unreach_case *c, const unsigned char *out,
    size_t n)
{
	return sum_ok(out + c->hl, n - c->hl, c->pseudo ?
	    vnet_pseudo_sum(out, c->proto, n - c->hl) : 0);
}

static void
unreach_check(const struct unreach_case *c)
{
	unsigned char q[48], pay[2000], out[IPPKT_UNREACH_MAX];
	struct ippkt pk;
	size_t n;
	int why;

	memset(pay, 'x', sizeof(pay));
	n = ippkt_unreach(out, sizeof(out), IPPKT_UNREACH_PORT, c->q, c->ql,
	    pay, 12);
	ASSERT_EQ_UINT(n, c->hl + 8 + c->ql + 12);
	ASSERT_EQ_INT(ippkt_parse(out, n, &pk), 0);
	ASSERT_EQ_INT(pk.family, c->family);
	ASSERT_EQ_INT(pk.proto, c->proto);
	ASSERT_EQ_UINT(pk.len, n);
	/* from where the datagram went, to its sender */
	ASSERT_EQ_INT(memcmp(out + c->saddr, c->q + c->daddr, c->alen), 0);
	ASSERT_EQ_INT(memcmp(out + c->daddr, c->q + c->saddr, c->alen), 0);
	if (c->hdrsum)
		ASSERT_EQ_UINT(sum_ok(out, c->hl, 0), 0);
	ASSERT_EQ_UINT(out[c->hl], c->type);
	ASSERT_EQ_UINT(out[c->hl + 1], c->codes[IPPKT_UNREACH_PORT]);
	ASSERT_EQ_UINT(unreach_sum(c, out, n), 0);
	ASSERT_EQ_INT(memcmp(out + c->hl + 8, c->q, c->ql), 0);
	ASSERT_EQ_INT(memcmp(out + c->hl + 8 + c->ql, pay, 12), 0);
	/* every reason's code */
	for (why = IPPKT_UNREACH_NET; why <= IPPKT_UNREACH_ADMIN; why++) {
		n = ippkt_unreach(out, sizeof(out), why, c->q, c->ql, NULL, 0);
		ASSERT_EQ_UINT(n, c->hl + 8 + c->ql);
		ASSERT_EQ_UINT(out[c->hl + 1], c->codes[why]);
		ASSERT_EQ_UINT(unreach_sum(c, out, n), 0);
	}
	/* a long payload: the error stops at the family's minimum MTU */
	n = ippkt_unreach(out, sizeof(out), IPPKT_UNREACH_PORT, c->q, c->ql,
	    pay, sizeof(pay));
	ASSERT_EQ_UINT(n, c->max);
	ASSERT_EQ_UINT(be16dec(out + c->lenoff), c->max - c->lenhl);
	ASSERT_EQ_UINT(unreach_sum(c, out, n), 0);
	/* too little room; no such reason; a short q; not such a header */
	ASSERT_EQ_UINT(ippkt_unreach(out, 60, IPPKT_UNREACH_PORT, c->q,
	    c->ql, pay, 12), 0);
	ASSERT_EQ_UINT(ippkt_unreach(out, sizeof(out), 4, c->q, c->ql,
	    NULL, 0), 0);
	ASSERT_EQ_UINT(ippkt_unreach(out, sizeof(out), IPPKT_UNREACH_PORT,
	    c->q, c->shortql, NULL, 0), 0);
	memcpy(q, c->q, sizeof(q));
	q[0] = c->badq0;
	ASSERT_EQ_UINT(ippkt_unreach(out, sizeof(out), IPPKT_UNREACH_PORT, q,
	    c->ql, NULL, 0), 0);
}

TEST(test_unreach)
{
	size_t i;
	int before;

	for (i = 0; i < sizeof(unreach_cases) / sizeof(unreach_cases[0]);
	    i++) {
		before = test_failed;
		unreach_check(&unreach_cases[i]);
		if (test_failed != before)
			fprintf(stderr, "  (in the %s case)\n",
			    unreach_cases[i].name);
	}
}

int
main(void)
{
	RUN(test_ipv4_tcp);
	RUN(test_ipv4_fragments);
	RUN(test_unroutable);
	RUN(test_ipv6);
	RUN(test_unreach);
	return TEST_EXIT();
}
