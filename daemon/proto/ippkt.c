/*
 * IPv4 (RFC 791) and IPv6 (RFC 8200) headers as a capture device gives
 * them: see ippkt.h.
 */
#include "config.h"

#include <sys/socket.h>

#include <string.h>

#include "compat.h"
#include "proto/ippkt.h"
#include "proto/vnet.h"

#define IP6_HDR_LEN	40
#define IP6_EXT_MAX	8	/* extension headers walked, at most */

/* The ports and flags of the upper layer at p (n bytes of it). */
static void
l4_parse(const unsigned char *p, size_t n, struct ippkt *pk)
{
	if (pk->proto == IPPKT_TCP && n >= 20) {
		pk->sport = be16dec(p);
		pk->dport = be16dec(p + 2);
		pk->tcpflags = p[13];
		pk->ports = 1;
	} else if (pk->proto == IPPKT_UDP && n >= 8) {
		pk->sport = be16dec(p);
		pk->dport = be16dec(p + 2);
		pk->ports = 1;
	}
}

static int
ip4_parse(const unsigned char *p, size_t n, struct ippkt *pk)
{
	size_t hl, tl;
	uint16_t off;

	if (n < 20)
		return -1;
	hl = (size_t)(p[0] & 0x0f) * 4;
	tl = be16dec(p + 2);
	if (hl < 20 || tl < hl || tl > n)
		return -1;
	pk->family = AF_INET;
	pk->len = tl;
	pk->proto = p[9];
	memcpy(pk->src, p + 12, 4);
	memcpy(pk->dst, p + 16, 4);
	off = be16dec(p + 6);
	if ((off & 0x3fff) != 0) {
		pk->frag = 1;
		/* only the first fragment holds the upper header */
		if ((off & 0x1fff) != 0)
			return 0;
	}
	l4_parse(p + hl, tl - hl, pk);
	return 0;
}

static int
ip6_parse(const unsigned char *p, size_t n, struct ippkt *pk)
{
	size_t off, tl, el;
	uint8_t nh;
	int i;

	if (n < IP6_HDR_LEN)
		return -1;
	tl = IP6_HDR_LEN + (size_t)be16dec(p + 4);
	if (tl > n)
		return -1;
	pk->family = AF_INET6;
	pk->len = tl;
	memcpy(pk->src, p + 8, 16);
	memcpy(pk->dst, p + 24, 16);
	nh = p[6];
	off = IP6_HDR_LEN;
	for (i = 0; i < IP6_EXT_MAX; i++) {
		switch (nh) {
		case 0:		/* hop-by-hop */
		case 43:	/* routing */
		case 60:	/* destination options */
			if (tl - off < 8)
				return -1;
			el = ((size_t)p[off + 1] + 1) * 8;
			break;
		case 44:	/* fragment */
			if (tl - off < 8)
				return -1;
			pk->frag = 1;
			el = 8;
			if ((be16dec(p + off + 2) & 0xfff8) != 0) {
				pk->proto = p[off];
				return 0;
			}
			break;
		default:
			pk->proto = nh;
			l4_parse(p + off, tl - off, pk);
			return 0;
		}
		if (el > tl - off)
			return -1;
		nh = p[off];
		off += el;
	}
	/* more extension headers than any real packet carries */
	return -1;
}

int
ippkt_parse(const unsigned char *p, size_t n, struct ippkt *pk)
{
	memset(pk, 0, sizeof(*pk));
	if (n < 1)
		return -1;
	switch (p[0] >> 4) {
	case 4:
		return ip4_parse(p, n, pk);
	case 6:
		return ip6_parse(p, n, pk);
	default:
		return -1;
	}
}

static int
ip4_bad(const unsigned char *a)
{
	/* 0/8, 127/8, 169.254/16, multicast, reserved, broadcast */
	return a[0] == 0 || a[0] == 127 || (a[0] == 169 && a[1] == 254) ||
	    a[0] >= 224;
}

static int
ip6_bad(const unsigned char *a)
{
	static const unsigned char zero[16];

	if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1))
		return 1;			/* :: and ::1 */
	if (a[0] == 0xff)
		return 1;			/* multicast */
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return 1;			/* link-local */
	/* IPv4-mapped: never on the wire */
	return memcmp(a, zero, 10) == 0 && a[10] == 0xff && a[11] == 0xff;
}

int
ippkt_unroutable(const struct ippkt *pk)
{
	size_t alen = pk->family == AF_INET ? 4 : 16;

	if (memcmp(pk->src, pk->dst, alen) == 0)
		return 1;
	if (pk->family == AF_INET)
		return ip4_bad(pk->src) || ip4_bad(pk->dst);
	return ip6_bad(pk->src) || ip6_bad(pk->dst);
}

size_t
ippkt_unreach(unsigned char *out, size_t outlen, int why,
    const unsigned char *q, size_t ql, const unsigned char *p, size_t n)
{
	/* ICMP's codes, then ICMPv6's, by why */
	static const unsigned char code4[] = { 0, 1, 3, 13 };
	static const unsigned char code6[] = { 0, 3, 4, 1 };
	size_t hl, max, len;
	uint16_t sum;
	int v6;

	if (ql == 28 && q[0] == 0x45)
		v6 = 0;
	else if (ql == IP6_HDR_LEN + 8 && (q[0] >> 4) == 6)
		v6 = 1;
	else
		return 0;
	if (why < 0 || why > IPPKT_UNREACH_ADMIN)
		return 0;
	/* an error stays within the smallest MTU (RFC 1812, RFC 4443) */
	hl = v6 ? IP6_HDR_LEN : 20;
	max = v6 ? 1280 : 576;
	if (n > max - hl - 8 - ql)
		n = max - hl - 8 - ql;
	len = hl + 8 + ql + n;
	if (outlen < len)
		return 0;
	memset(out, 0, hl + 8);
	if (v6) {
		out[0] = 0x60;
		out[4] = (unsigned char)((len - hl) >> 8);
		out[5] = (unsigned char)(len - hl);
		out[6] = IPPKT_ICMP6;
		out[7] = 64;
		memcpy(out + 8, q + 24, 16);
		memcpy(out + 24, q + 8, 16);
	} else {
		out[0] = 0x45;
		out[2] = (unsigned char)(len >> 8);
		out[3] = (unsigned char)len;
		out[8] = 64;
		out[9] = IPPKT_ICMP;
		memcpy(out + 12, q + 16, 4);
		memcpy(out + 16, q + 12, 4);
		sum = vnet_cksum(out, hl, 0);
		memcpy(out + 10, &sum, 2);
	}
	out[hl] = v6 ? 1 : 3;		/* destination unreachable */
	out[hl + 1] = v6 ? code6[why] : code4[why];
	memcpy(out + hl + 8, q, ql);
	if (n > 0)
		memcpy(out + hl + 8 + ql, p, n);
	/* ICMPv6 covers a pseudo-header, ICMP its message only */
	sum = vnet_cksum(out + hl, len - hl, v6 ?
	    vnet_pseudo_sum(out, IPPKT_ICMP6, len - hl) : 0);
	memcpy(out + hl + 2, &sum, 2);
	return len;
}
