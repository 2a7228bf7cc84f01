/* A tun device's vnet framing: checksums, segmentation, joining. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "compat.h"
#include "proto/vnet.h"
#include "test.h"

static unsigned char pkt[VNET_PKT_MAX];
static unsigned char out[VNET_SPLIT_MAX];
static unsigned char gbuf[VNET_HDR + VNET_PKT_MAX];
static unsigned char again[VNET_SPLIT_MAX];

/*
 * A TCP packet of plen payload bytes, 10.0.0.1:1000 -> 10.0.0.2:2000
 * (v6: fd00::1 -> fd00::2), seq 0xfffff000 (it wraps), ACK|PSH|FIN|CWR
 * when flags says so, a timestamp option; checksums as a TSO sender
 * leaves them (TCP: the pseudo-header's sum only).
 */
static size_t
mkpkt(int v6, size_t plen, unsigned char flags)
{
	size_t hl = v6 ? 40 : 20, thl = 32, n = hl + thl + plen, i;
	unsigned char *t;

	memset(pkt, 0, hl + thl);
	if (!v6) {
		pkt[0] = 0x45;
		pkt[2] = (unsigned char)(n >> 8);
		pkt[3] = (unsigned char)n;
		pkt[4] = 0x12;
		pkt[5] = 0x34;
		pkt[6] = 0x40;		/* DF */
		pkt[8] = 64;
		pkt[9] = 6;
		pkt[12] = 10, pkt[15] = 1;
		pkt[16] = 10, pkt[19] = 2;
	} else {
		pkt[0] = 0x60;
		pkt[4] = (unsigned char)((n - 40) >> 8);
		pkt[5] = (unsigned char)(n - 40);
		pkt[6] = 6;
		pkt[7] = 64;
		pkt[8] = 0xfd, pkt[23] = 1;
		pkt[24] = 0xfd, pkt[39] = 2;
	}
	t = pkt + hl;
	t[0] = 1000 >> 8, t[1] = 1000 & 0xff;
	t[2] = 2000 >> 8, t[3] = 2000 & 0xff;
	t[4] = 0xff, t[5] = 0xff, t[6] = 0xf0, t[7] = 0;
	t[11] = 7;			/* ack */
	t[12] = 8 << 4;
	t[13] = flags;
	t[14] = 0x10;			/* window */
	t[20] = 1, t[21] = 1, t[22] = 8, t[23] = 10;	/* NOP NOP TS */
	t[27] = 5;
	for (i = 0; i < plen; i++)
		t[thl + i] = (unsigned char)(i * 7 + 3);
	return n;
}

static int
tcp_ok(const unsigned char *s, size_t n)
{
	size_t hl = (s[0] >> 4) == 4 ? 20 : 40;

	return vnet_cksum(s + hl, n - hl, vnet_pseudo_sum(s, 6,
	    n - hl)) == 0;
}

static void
check_split(int v6)
{
	struct virtio_net_hdr vh;
	struct vnet_gro g;
	size_t lens[VNET_SEGS_MAX], hl = v6 ? 40 : 20, n, off, i, w;
	int k;

	n = mkpkt(v6, 5000, 0x10 | 0x08 | 0x01 | 0x80);
	memset(&vh, 0, sizeof(vh));
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 :
	    VIRTIO_NET_HDR_GSO_TCPV4;
	vh.gso_size = 1000;
	/* the tunnel's MTU is the limit: 1000 bytes fit */
	k = vnet_tso_split(&vh, pkt, n, hl + 32 + 1000, out, sizeof(out),
	    lens, VNET_SEGS_MAX);
	ASSERT_EQ_INT(k, 5);
	for (i = 0, off = 0; i < 5; off += lens[i], i++) {
		unsigned char *s = out + off;

		ASSERT_EQ_UINT(lens[i], hl + 32 + 1000);
		if (!v6) {
			ASSERT_EQ_UINT((size_t)(s[2] << 8 | s[3]), lens[i]);
			ASSERT_EQ_UINT((size_t)(s[4] << 8 | s[5]),
			    0x1234 + i);
			ASSERT_EQ_UINT(vnet_cksum(s, 20, 0), 0);
		} else
			ASSERT_EQ_UINT((size_t)(s[4] << 8 | s[5]),
			    lens[i] - 40);
		ASSERT_EQ_UINT(be32dec(s + hl + 4),
		    (uint32_t)(0xfffff000U + i * 1000));
		ASSERT(tcp_ok(s, lens[i]));
		ASSERT(memcmp(s + hl + 32, pkt + hl + 32 + i * 1000,
		    1000) == 0);
		/* FIN and PSH on the last only, CWR on the first only */
		ASSERT_EQ_UINT(s[hl + 13], i == 4 ? 0x19 :
		    i == 0 ? 0x90 : 0x10);
	}
	/* a smaller MTU cuts finer */
	k = vnet_tso_split(&vh, pkt, n, hl + 32 + 600, out, sizeof(out),
	    lens, VNET_SEGS_MAX);
	ASSERT_EQ_INT(k, 9);
	ASSERT_EQ_UINT(lens[8], hl + 32 + 200);

	/* joined again: the packet it was (but FIN and CWR) */
	n = mkpkt(v6, 5000, 0x10 | 0x08);
	k = vnet_tso_split(&vh, pkt, n, hl + 32 + 1000, out, sizeof(out),
	    lens, VNET_SEGS_MAX);
	ASSERT_EQ_INT(k, 5);
	memset(&g, 0, sizeof(g));
	g.buf = gbuf;
	g.verify = 1;
	for (i = 0, off = 0; i < 5; off += lens[i], i++)
		ASSERT_EQ_INT(vnet_gro_add(&g, out + off, lens[i]),
		    i == 0 ? 1 : 0);
	/* pushed: nothing joins after */
	ASSERT_EQ_INT(vnet_gro_add(&g, out, lens[0]), -1);
	w = vnet_gro_finish(&g);
	ASSERT_EQ_UINT(w, VNET_HDR + n);
	memcpy(&vh, gbuf, sizeof(vh));
	ASSERT_EQ_UINT(vh.gso_type, v6 ? VIRTIO_NET_HDR_GSO_TCPV6 :
	    VIRTIO_NET_HDR_GSO_TCPV4);
	ASSERT_EQ_UINT(vh.gso_size, 1000);
	ASSERT_EQ_UINT(vh.csum_start, hl);
	ASSERT_EQ_UINT(vh.csum_offset, 16);
	ASSERT_EQ_UINT(vh.hdr_len, hl + 32);
	ASSERT(memcmp(gbuf + VNET_HDR + hl + 32, pkt + hl + 32, 5000) == 0);
	ASSERT_EQ_UINT(vnet_gro_finish(&g), 0);
	/* and cut once more: the same packets */
	k = vnet_tso_split(&vh, gbuf + VNET_HDR, n, hl + 32 + 1000, again,
	    sizeof(again), lens, VNET_SEGS_MAX);
	ASSERT_EQ_INT(k, 5);
	ASSERT(memcmp(again, out, 5 * (hl + 32) + 5000) == 0);
}

TEST(test_split4)
{
	check_split(0);
}

TEST(test_split6)
{
	check_split(1);
}

TEST(test_split_bad)
{
	struct virtio_net_hdr vh;
	size_t lens[VNET_SEGS_MAX], n;

	n = mkpkt(0, 3000, 0x10);
	memset(&vh, 0, sizeof(vh));
	vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	vh.gso_size = 1000;
	/* too many segments for the room given */
	ASSERT_EQ_INT(vnet_tso_split(&vh, pkt, n, 1500, out, sizeof(out),
	    lens, 2), -1);
	ASSERT_EQ_INT(vnet_tso_split(&vh, pkt, n, 1500, out, 3000, lens,
	    VNET_SEGS_MAX), -1);
	/* no MSS; an MTU the headers fill */
	vh.gso_size = 0;
	ASSERT_EQ_INT(vnet_tso_split(&vh, pkt, n, 1500, out, sizeof(out),
	    lens, VNET_SEGS_MAX), -1);
	vh.gso_size = 1000;
	ASSERT_EQ_INT(vnet_tso_split(&vh, pkt, n, 52, out, sizeof(out),
	    lens, VNET_SEGS_MAX), -1);
	/* the family vh says is not the packet's */
	vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	ASSERT_EQ_INT(vnet_tso_split(&vh, pkt, n, 1500, out, sizeof(out),
	    lens, VNET_SEGS_MAX), -1);
	vh.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	ASSERT_EQ_INT(vnet_tso_split(&vh, pkt, n, 1500, out, sizeof(out),
	    lens, VNET_SEGS_MAX), -1);
	vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	/* lengths that disagree, a cut packet, a TCP header past it */
	ASSERT_EQ_INT(vnet_tso_split(&vh, pkt, n - 1, 1500, out,
	    sizeof(out), lens, VNET_SEGS_MAX), -1);
	ASSERT_EQ_INT(vnet_tso_split(&vh, pkt, 19, 1500, out, sizeof(out),
	    lens, VNET_SEGS_MAX), -1);
	n = mkpkt(0, 0, 0x10);
	pkt[32] = 15 << 4;
	ASSERT_EQ_INT(vnet_tso_split(&vh, pkt, n, 1500, out, sizeof(out),
	    lens, VNET_SEGS_MAX), -1);
	/* a fragment */
	n = mkpkt(0, 3000, 0x10);
	pkt[6] = 0x20;
	ASSERT_EQ_INT(vnet_tso_split(&vh, pkt, n, 1500, out, sizeof(out),
	    lens, VNET_SEGS_MAX), -1);
	/* no payload: one packet */
	n = mkpkt(0, 0, 0x10);
	ASSERT_EQ_INT(vnet_tso_split(&vh, pkt, n, 1500, out, sizeof(out),
	    lens, VNET_SEGS_MAX), 1);
	ASSERT_EQ_UINT(lens[0], n);
	ASSERT(tcp_ok(out, n));
}

TEST(test_csum)
{
	struct virtio_net_hdr vh;
	uint16_t s;
	size_t n;

	n = mkpkt(0, 101, 0x10);
	memset(&vh, 0, sizeof(vh));
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.csum_start = 20;
	vh.csum_offset = 16;
	/* the pseudo-header's sum in place, as the kernel leaves it */
	s = (uint16_t)~vnet_cksum(NULL, 0, vnet_pseudo_sum(pkt, 6, n - 20));
	memcpy(pkt + 36, &s, 2);
	ASSERT_EQ_INT(vnet_csum(&vh, pkt, n), 0);
	ASSERT(tcp_ok(pkt, n));
	vh.csum_offset = (uint16_t)(n - 21);
	ASSERT_EQ_INT(vnet_csum(&vh, pkt, n), -1);
	vh.csum_offset = 16;
	vh.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	ASSERT_EQ_INT(vnet_csum(&vh, pkt, n), -1);
}

TEST(test_gro_refuse)
{
	struct vnet_gro g;
	size_t n;

	memset(&g, 0, sizeof(g));
	g.buf = gbuf;
	g.verify = 1;
	/* a checksum that is wrong: left for the kernel to drop */
	n = mkpkt(0, 100, 0x10);
	ASSERT_EQ_INT(vnet_gro_add(&g, pkt, n), -1);
	/* no payload, a SYN: never joined */
	g.verify = 0;
	n = mkpkt(0, 0, 0x10);
	ASSERT_EQ_INT(vnet_gro_add(&g, pkt, n), -1);
	n = mkpkt(0, 10, 0x12);
	ASSERT_EQ_INT(vnet_gro_add(&g, pkt, n), -1);
	/* one held, then another connection's, then a gap */
	n = mkpkt(0, 100, 0x10);
	ASSERT_EQ_INT(vnet_gro_add(&g, pkt, n), 1);
	pkt[19] = 3;
	ASSERT_EQ_INT(vnet_gro_add(&g, pkt, n), -1);
	pkt[19] = 2;
	ASSERT_EQ_INT(vnet_gro_add(&g, pkt, n), -1);	/* same seq */
	/* a single one goes as it came, with no GSO */
	ASSERT_EQ_UINT(vnet_gro_finish(&g), VNET_HDR + n);
	ASSERT(gbuf[0] == 0 && gbuf[1] == 0);
	ASSERT(memcmp(gbuf + VNET_HDR, pkt, n) == 0);
	ASSERT_EQ_INT(vnet_gro_add(&g, pkt, 30), -1);
}

TEST(test_gro_other)
{
	struct vnet_gro g;
	size_t n;

	memset(&g, 0, sizeof(g));
	g.buf = gbuf;
	n = mkpkt(0, 100, 0x10);
	/* nothing held: nothing to pass */
	ASSERT_EQ_INT(vnet_gro_other(&g, pkt, n), 0);
	ASSERT_EQ_INT(vnet_gro_add(&g, pkt, n), 1);
	/* the same connection's ACK: after what is held */
	n = mkpkt(0, 0, 0x10);
	ASSERT_EQ_INT(vnet_gro_other(&g, pkt, n), 0);
	/* the other way's ACK (ports swapped), a ping: before it */
	pkt[20] = 2000 >> 8, pkt[21] = 2000 & 0xff;
	pkt[22] = 1000 >> 8, pkt[23] = 1000 & 0xff;
	ASSERT_EQ_INT(vnet_gro_other(&g, pkt, n), 1);
	pkt[9] = 1;
	ASSERT_EQ_INT(vnet_gro_other(&g, pkt, n), 1);
	/* another connection's data: it starts its own join */
	n = mkpkt(0, 100, 0x10);
	pkt[19] = 9;
	ASSERT_EQ_INT(vnet_gro_other(&g, pkt, n), 0);
	/* an IPv6 packet, a fragment: cannot tell, or another */
	n = mkpkt(1, 0, 0x10);
	ASSERT_EQ_INT(vnet_gro_other(&g, pkt, n), 1);
	n = mkpkt(0, 0, 0x10);
	pkt[6] = 0x00, pkt[7] = 0x10;
	ASSERT_EQ_INT(vnet_gro_other(&g, pkt, n), 0);
	ASSERT_EQ_INT(vnet_gro_other(&g, pkt, 10), 0);
}

int
main(void)
{
	RUN(test_split4);
	RUN(test_split6);
	RUN(test_split_bad);
	RUN(test_csum);
	RUN(test_gro_refuse);
	RUN(test_gro_other);
	return TEST_EXIT();
}
