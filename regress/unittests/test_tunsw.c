/* The switch of a tun:// or tap:// server (proto/tunsw.c). */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <stdint.h>
#include <string.h>

#include "proto/tunsw.h"
#include "test.h"

static struct sockaddr_in
peer(uint8_t last, uint16_t port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(0xc0a84d00 | last);	/* 192.168.77.x */
	return sin;
}

/* An IPv4 header src -> dst (10.77.a.b), nothing else checked. */
static void
ip4(unsigned char *p, uint8_t s3, uint8_t s4, uint8_t d3, uint8_t d4)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	p[12] = 10; p[13] = 77; p[14] = s3; p[15] = s4;
	p[16] = 10; p[17] = 77; p[18] = d3; p[19] = d4;
}

static void
eth(unsigned char *p, const unsigned char *dst, const unsigned char *src)
{
	memset(p, 0, 60);
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	p[12] = 0x08;
	p[13] = 0x06;
}

#define SA(s)	((struct sockaddr *)&(s)), sizeof(s)

TEST(test_tun_learn_route)
{
	struct tunsw *sw = tunsw_new(0);
	struct tunsw_verdict v;
	struct sockaddr_in a = peer(2, 5000), b = peer(3, 5001);
	const struct tunsw_peer *tp;
	unsigned char p[20], me[4] = { 10, 77, 0, 1 };
	unsigned char net[4] = { 10, 78, 0, 0 }, gw[4] = { 10, 77, 0, 3 };

	REQUIRE(sw != NULL);
	tunsw_local_add(sw, me, 4);
	ASSERT_EQ_INT(tunsw_route_add(sw, AF_INET, net, 16, gw), 0);
	/* from a to the server: the device; a's source learned */
	ip4(p, 0, 2, 0, 1);
	ASSERT_EQ_INT(tunsw_input(sw, p, 20, SA(a), 100, &v), 0);
	ASSERT_EQ_INT(v.dev, 1);
	ASSERT_EQ_INT(v.peer, -1);
	ASSERT_EQ_INT(v.flood, 0);
	/* the server answers: to a */
	ip4(p, 0, 1, 0, 2);
	ASSERT_EQ_INT(tunsw_input(sw, p, 20, NULL, 0, 100, &v), 0);
	ASSERT_EQ_INT(v.dev, 0);
	REQUIRE(v.peer != -1);
	tp = tunsw_peer(sw, v.peer, 100);
	REQUIRE(tp != NULL);
	ASSERT(memcmp(&tp->addr, &a, sizeof(a)) == 0);
	/* an unknown destination from the device: dropped */
	ip4(p, 0, 1, 0, 9);
	ASSERT_EQ_INT(tunsw_input(sw, p, 20, NULL, 0, 100, &v), 0);
	ASSERT_EQ_INT(v.dev, 0);
	ASSERT_EQ_INT(v.peer, -1);
	/* 10.78.0.0/16 via 10.77.0.3: nobody there yet */
	p[18] = 0; p[17] = 78; p[19] = 5;
	ASSERT_EQ_INT(tunsw_input(sw, p, 20, NULL, 0, 100, &v), 0);
	ASSERT_EQ_INT(v.peer, -1);
	/* b speaks as 10.77.0.3: the route's gateway is b */
	ip4(p, 0, 3, 0, 1);
	ASSERT_EQ_INT(tunsw_input(sw, p, 20, SA(b), 101, &v), 0);
	ip4(p, 0, 1, 0, 5);
	p[17] = 78;
	ASSERT_EQ_INT(tunsw_input(sw, p, 20, NULL, 0, 102, &v), 0);
	REQUIRE(v.peer != -1);
	tp = tunsw_peer(sw, v.peer, 102);
	REQUIRE(tp != NULL);
	ASSERT(memcmp(&tp->addr, &b, sizeof(b)) == 0);
	/* a to b's network: straight to b, not the device */
	ip4(p, 0, 2, 0, 7);
	p[17] = 78;
	ASSERT_EQ_INT(tunsw_input(sw, p, 20, SA(a), 103, &v), 0);
	ASSERT_EQ_INT(v.dev, 0);
	ASSERT(memcmp(&tunsw_peer(sw, v.peer, 103)->addr, &b,
	    sizeof(b)) == 0);
	/* b claims the server's own address: not taken */
	ip4(p, 0, 1, 0, 2);
	ASSERT_EQ_INT(tunsw_input(sw, p, 20, SA(b), 104, &v), 0);
	ip4(p, 0, 2, 0, 1);
	ASSERT_EQ_INT(tunsw_input(sw, p, 20, SA(a), 105, &v), 0);
	ASSERT_EQ_INT(v.dev, 1);
	/* a client moves (another hop): its address follows */
	a = peer(2, 6000);
	ip4(p, 0, 2, 0, 1);
	ASSERT_EQ_INT(tunsw_input(sw, p, 20, SA(a), 106, &v), 0);
	ip4(p, 0, 1, 0, 2);
	ASSERT_EQ_INT(tunsw_input(sw, p, 20, NULL, 0, 107, &v), 0);
	REQUIRE(v.peer != -1);
	ASSERT(memcmp(&tunsw_peer(sw, v.peer, 107)->addr, &a,
	    sizeof(a)) == 0);
	/* tun entries do not age */
	ASSERT_EQ_INT(tunsw_input(sw, p, 20, NULL, 0, 107 + 10 * TUNSW_AGE,
	    &v), 0);
	ASSERT(v.peer != -1);
	tunsw_free(sw);
}

TEST(test_malformed)
{
	struct tunsw *sw = tunsw_new(0), *tw = tunsw_new(1);
	struct tunsw_verdict v;
	struct sockaddr_in a = peer(2, 5000);
	unsigned char p[60];
	unsigned char bc[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	REQUIRE(sw != NULL && tw != NULL);
	memset(p, 0, sizeof(p));
	ASSERT_EQ_INT(tunsw_input(sw, p, 0, SA(a), 1, &v), -1);
	ASSERT_EQ_INT(tunsw_input(sw, p, 19, SA(a), 1, &v), -1);
	p[0] = 0x60;
	ASSERT_EQ_INT(tunsw_input(sw, p, 39, SA(a), 1, &v), -1);
	ASSERT_EQ_INT(tunsw_input(sw, p, 40, SA(a), 1, &v), 0);
	p[0] = 0x50;
	ASSERT_EQ_INT(tunsw_input(sw, p, 60, SA(a), 1, &v), -1);
	ASSERT_EQ_INT(tunsw_input(tw, p, 13, SA(a), 1, &v), -1);
	/* a broadcast source */
	eth(p, bc, bc);
	ASSERT_EQ_INT(tunsw_input(tw, p, 60, SA(a), 1, &v), -1);
	ASSERT_EQ_UINT(tunsw_count(tw), 0);
	tunsw_free(sw);
	tunsw_free(tw);
}

TEST(test_tap_bridge)
{
	struct tunsw *sw = tunsw_new(1);
	struct tunsw_verdict v;
	struct sockaddr_in a = peer(2, 5000), b = peer(3, 5000);
	unsigned char p[60];
	unsigned char bc[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	unsigned char ma[6] = { 2, 0, 0, 0, 0, 0xa };
	unsigned char mb[6] = { 2, 0, 0, 0, 0, 0xb };
	unsigned char md[6] = { 2, 0, 0, 0, 0, 0xd };	/* the device */
	unsigned char mx[6] = { 2, 0, 0, 0, 0, 0xe };	/* nobody known */
	int ia, ib, i, n;

	REQUIRE(sw != NULL);
	/* ARP request from a: the device and every other peer */
	eth(p, bc, ma);
	ASSERT_EQ_INT(tunsw_input(sw, p, 60, SA(a), 10, &v), 0);
	ASSERT_EQ_INT(v.dev, 1);
	ASSERT_EQ_INT(v.flood, 1);
	ia = v.from;
	eth(p, bc, mb);
	ASSERT_EQ_INT(tunsw_input(sw, p, 60, SA(b), 10, &v), 0);
	ib = v.from;
	ASSERT(ia != ib);
	/* the flood reaches both peers but the sender */
	for (i = 0, n = 0; i < TUNSW_PEERS; i++)
		if (i != v.from && tunsw_peer(sw, i, 10) != NULL)
			n++;
	ASSERT_EQ_INT(n, 1);
	/* the device's reply to a: a only */
	eth(p, ma, md);
	ASSERT_EQ_INT(tunsw_input(sw, p, 60, NULL, 0, 11, &v), 0);
	ASSERT_EQ_INT(v.peer, ia);
	ASSERT_EQ_INT(v.dev, 0);
	ASSERT_EQ_INT(v.flood, 0);
	/* a to the device's MAC: the device only */
	eth(p, md, ma);
	ASSERT_EQ_INT(tunsw_input(sw, p, 60, SA(a), 12, &v), 0);
	ASSERT_EQ_INT(v.dev, 1);
	ASSERT_EQ_INT(v.peer, -1);
	ASSERT_EQ_INT(v.flood, 0);
	/* a to b: b only */
	eth(p, mb, ma);
	ASSERT_EQ_INT(tunsw_input(sw, p, 60, SA(a), 12, &v), 0);
	ASSERT_EQ_INT(v.peer, ib);
	ASSERT_EQ_INT(v.dev, 0);
	/* a to an unknown station: flooded, the device included */
	eth(p, mx, ma);
	ASSERT_EQ_INT(tunsw_input(sw, p, 60, SA(a), 12, &v), 0);
	ASSERT_EQ_INT(v.dev, 1);
	ASSERT_EQ_INT(v.flood, 1);
	ASSERT_EQ_INT(v.from, ia);
	/* a to a MAC behind a itself: dropped */
	eth(p, ma, ma);
	p[11] = 0xc;
	ASSERT_EQ_INT(tunsw_input(sw, p, 60, SA(a), 12, &v), 0);
	ASSERT_EQ_INT(v.dev, 0);
	ASSERT_EQ_INT(v.peer, -1);
	ASSERT_EQ_INT(v.flood, 0);
	/* b's MAC ages out: flooded again; b silent: out of floods */
	eth(p, mb, md);
	ASSERT_EQ_INT(tunsw_input(sw, p, 60, NULL, 0, 12 + TUNSW_AGE, &v), 0);
	ASSERT_EQ_INT(v.flood, 1);
	ASSERT(tunsw_peer(sw, ib, 12 + TUNSW_AGE) == NULL);
	ASSERT(tunsw_peer(sw, ia, 12 + TUNSW_AGE) != NULL);
	tunsw_free(sw);
}

TEST(test_bounded)
{
	struct tunsw *sw = tunsw_new(0);
	struct tunsw_verdict v;
	struct sockaddr_in a;
	unsigned char p[20];
	int i;

	REQUIRE(sw != NULL);
	/* ever new sources from ever new peers: the tables stay full */
	for (i = 0; i < 3 * TUNSW_ENTRIES; i++) {
		a = peer((uint8_t)i, (uint16_t)(1000 + i));
		ip4(p, (uint8_t)(i >> 8), (uint8_t)i, 0, 1);
		ASSERT_EQ_INT(tunsw_input(sw, p, 20, SA(a), i, &v), 0);
	}
	ASSERT_EQ_UINT(tunsw_count(sw), TUNSW_ENTRIES);
	/* the newest is there, the oldest gave way */
	ip4(p, 0, 1, (uint8_t)((3 * TUNSW_ENTRIES - 1) >> 8),
	    (uint8_t)(3 * TUNSW_ENTRIES - 1));
	ASSERT_EQ_INT(tunsw_input(sw, p, 20, NULL, 0, i, &v), 0);
	ASSERT(v.peer != -1);
	/* its peer's slot went to another: its entries are stale */
	ip4(p, 0, 1, 0, 0);
	ASSERT_EQ_INT(tunsw_input(sw, p, 20, NULL, 0, i, &v), 0);
	ASSERT_EQ_INT(v.peer, -1);
	tunsw_free(sw);
}

int
main(void)
{
	RUN(test_tun_learn_route);
	RUN(test_malformed);
	RUN(test_tap_bridge);
	RUN(test_bounded);
	return TEST_EXIT();
}
