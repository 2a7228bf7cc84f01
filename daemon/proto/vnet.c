/*
 * The virtio_net_hdr framing of a tun device: checksums, TCP
 * segmentation and joining (see vnet.h).  IPv4: RFC 791; IPv6: RFC
 * 8200; TCP: RFC 9293; the checksum: RFC 1071.
 */
#include "config.h"

#include <string.h>

#include "compat.h"
#include "proto/vnet.h"

#define TCP_FIN		0x01
#define TCP_PSH		0x08
#define TCP_ACK		0x10
#define TCP_CWR		0x80
#define IPPROTO_TCP_	6

_Static_assert(sizeof(struct virtio_net_hdr) == VNET_HDR, "vnet header");

static uint64_t
sum_add(uint64_t sum, const unsigned char *p, size_t n)
{
	uint64_t a = 0, b = 0, c = 0, d = 0, x, y;
	uint32_t w;
	uint16_t h;

	/*
	 * 32-bit halves into 64-bit sums, no carry lost before the fold;
	 * four sums, 16 bytes a step, so that the additions overlap
	 */
	for (; n >= 16; p += 16, n -= 16) {
		memcpy(&x, p, 8);
		memcpy(&y, p + 8, 8);
		a += (uint32_t)x;
		b += x >> 32;
		c += (uint32_t)y;
		d += y >> 32;
	}
	sum += a + b + c + d;
	for (; n >= 4; p += 4, n -= 4) {
		memcpy(&w, p, 4);
		sum += w;
	}
	if (n >= 2) {
		memcpy(&h, p, 2);
		sum += h;
		p += 2;
		n -= 2;
	}
	if (n == 1) {
		h = 0;
		memcpy(&h, p, 1);
		sum += h;
	}
	return sum;
}

static uint16_t
sum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint16_t
vnet_cksum(const unsigned char *p, size_t n, uint64_t sum)
{
	return (uint16_t)~sum_fold(sum_add(sum, p, n));
}

uint64_t
vnet_pseudo_sum(const unsigned char *ip, uint8_t proto, size_t len)
{
	unsigned char t[4];

	t[0] = 0;
	t[1] = proto;
	t[2] = (unsigned char)(len >> 8);
	t[3] = (unsigned char)len;
	if ((ip[0] >> 4) == 4)
		return sum_add(sum_add(0, ip + 12, 8), t, 4);
	/* IPv6's upper-layer length is 32 bits; ours fit in 16 */
	return sum_add(sum_add(0, ip + 8, 32), t, 4);
}

int
vnet_csum(const struct virtio_net_hdr *vh, unsigned char *p, size_t n)
{
	uint16_t sum;

	if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE &&
	    (vh->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) !=
	    VIRTIO_NET_HDR_GSO_TCPV4 &&
	    (vh->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) !=
	    VIRTIO_NET_HDR_GSO_TCPV6)
		return -1;
	if (!(vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return 0;
	/* the pseudo-header's sum is in place: the rest completes it */
	if ((size_t)vh->csum_start + vh->csum_offset + 2 > n)
		return -1;
	sum = vnet_cksum(p + vh->csum_start, n - vh->csum_start, 0);
	memcpy(p + vh->csum_start + vh->csum_offset, &sum, 2);
	return 0;
}

/*
 * The IP and TCP header lengths of a TCP packet of n bytes: IPv4
 * whose total length is n and that is no fragment, or IPv6 whose
 * next header is TCP and whose payload length makes n.  0, or -1.
 */
static int
tcp_headers(const unsigned char *p, size_t n, int v6, size_t *hl,
    size_t *thl)
{
	size_t h;

	if (!v6) {
		if (n < 20 || (p[0] >> 4) != 4 || p[9] != IPPROTO_TCP_ ||
		    be16dec(p + 2) != n || (be16dec(p + 6) & 0x3fff) != 0)
			return -1;
		h = (size_t)(p[0] & 0x0f) * 4;
		if (h < 20)
			return -1;
	} else {
		if (n < 40 || (p[0] >> 4) != 6 || p[6] != IPPROTO_TCP_ ||
		    (size_t)be16dec(p + 4) + 40 != n)
			return -1;
		h = 40;
	}
	if (n < h + 20)
		return -1;
	*thl = (size_t)(p[h + 12] >> 4) * 4;
	if (*thl < 20 || *thl > n - h)
		return -1;
	*hl = h;
	return 0;
}

int
vnet_tso_split(const struct virtio_net_hdr *vh, const unsigned char *p,
    size_t n, size_t mtu, unsigned char *out, size_t outlen, size_t *lens,
    size_t maxsegs)
{
	size_t hl, thl, plen, mss, nseg, i, off, k, sl;
	unsigned char *s;
	uint32_t seq;
	uint16_t id, sum;
	int v6;

	switch (vh->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		v6 = 0;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		v6 = 1;
		break;
	default:
		return -1;
	}
	if (n > VNET_PKT_MAX + (v6 ? 40 : 0) ||
	    tcp_headers(p, n, v6, &hl, &thl) != 0)
		return -1;
	/* the sender's MSS, or less where the tunnel wants less */
	if ((mss = vh->gso_size) == 0 || mtu <= hl + thl)
		return -1;
	if (mss > mtu - hl - thl)
		mss = mtu - hl - thl;
	plen = n - hl - thl;
	nseg = plen == 0 ? 1 : (plen + mss - 1) / mss;
	if (nseg > maxsegs || nseg * (hl + thl) > outlen ||
	    outlen - nseg * (hl + thl) < plen)
		return -1;
	id = be16dec(p + 4);
	seq = be32dec(p + hl + 4);
	for (i = 0, off = 0, s = out; i < nseg; i++, off += k, s += sl) {
		k = plen - off < mss ? plen - off : mss;
		sl = hl + thl + k;
		memcpy(s, p, hl + thl);
		memcpy(s + hl + thl, p + hl + thl + off, k);
		if (!v6) {
			be16enc(s + 2, sl);
			be16enc(s + 4, (uint16_t)(id + i));
			s[10] = s[11] = 0;
			sum = vnet_cksum(s, hl, 0);
			memcpy(s + 10, &sum, 2);
		} else
			be16enc(s + 4, sl - 40);
		be32enc(s + hl + 4, seq + (uint32_t)off);
		if (i + 1 < nseg)
			s[hl + 13] &= ~(TCP_FIN | TCP_PSH);
		if (i > 0)
			s[hl + 13] &= ~TCP_CWR;
		s[hl + 16] = s[hl + 17] = 0;
		sum = vnet_cksum(s + hl, sl - hl,
		    vnet_pseudo_sum(s, IPPROTO_TCP_, sl - hl));
		memcpy(s + hl + 16, &sum, 2);
		lens[i] = sl;
	}
	return (int)nseg;
}

/*
 * A TCP data segment that may be joined to others: IPv4 without
 * options or fragmentation, IPv6 without extension headers, ACK with
 * at most PSH besides, some payload.  0 with the header lengths.
 */
static int
gro_segment(const unsigned char *b, size_t n, size_t *hl, size_t *thl)
{
	if (n < 1 || tcp_headers(b, n, (b[0] >> 4) == 6, hl, thl) != 0)
		return -1;
	if ((*hl != 20 && *hl != 40) || *hl + *thl >= n ||
	    (b[*hl + 13] & ~(TCP_ACK | TCP_PSH)) != 0 ||
	    !(b[*hl + 13] & TCP_ACK))
		return -1;
	return 0;
}

int
vnet_gro_add(struct vnet_gro *g, const unsigned char *b, size_t n)
{
	unsigned char *t = g->buf + VNET_HDR;
	size_t hl, thl, plen;

	if (gro_segment(b, n, &hl, &thl) != 0)
		return -1;
	plen = n - hl - thl;
	if (g->len != 0 && (g->closed || hl != g->hl || thl != g->thl ||
	    plen > g->mss || g->len + plen > VNET_PKT_MAX ||
	    be32dec(b + hl + 4) != g->seq ||
	    /*
	     * The next bytes of the same connection, with the same
	     * headers but sequence number and lengths: the addresses,
	     * IPv4's TOS, flags and TTL (IPv6's class, flow and hop
	     * limit), ports, acknowledgement, window and options.
	     */
	    (hl == 20 ? b[1] != t[1] || b[6] != t[6] || b[8] != t[8] ||
	    memcmp(b + 12, t + 12, 8) != 0 :
	    memcmp(b, t, 4) != 0 || b[7] != t[7] ||
	    memcmp(b + 8, t + 8, 32) != 0) ||
	    memcmp(b + hl, t + hl, 4) != 0 ||
	    memcmp(b + hl + 8, t + hl + 8, 4) != 0 ||
	    memcmp(b + hl + 14, t + hl + 14, 2) != 0 ||
	    memcmp(b + hl + 20, t + hl + 20, thl - 20) != 0))
		return -1;
	if (g->verify && vnet_cksum(b + hl, n - hl,
	    vnet_pseudo_sum(b, IPPROTO_TCP_, n - hl)) != 0)
		return -1;
	if (g->len == 0) {
		memcpy(t, b, n);
		g->len = n;
		g->hl = hl;
		g->thl = thl;
		g->mss = plen;
		g->nseg = 1;
		g->seq = be32dec(b + hl + 4) + (uint32_t)plen;
		g->closed = (b[hl + 13] & TCP_PSH) != 0;
		return 1;
	}
	memcpy(t + g->len, b + hl + thl, plen);
	g->len += plen;
	g->seq += (uint32_t)plen;
	g->nseg++;
	/* a push or a short segment ends a send: so does the packet */
	if (b[hl + 13] & TCP_PSH) {
		t[hl + 13] |= TCP_PSH;
		g->closed = 1;
	}
	if (plen < g->mss)
		g->closed = 1;
	return 0;
}

int
vnet_gro_other(const struct vnet_gro *g, const unsigned char *b, size_t n)
{
	const unsigned char *t = g->buf + VNET_HDR;
	size_t hl, thl;

	if (g->len == 0 || gro_segment(b, n, &hl, &thl) == 0)
		return 0;
	if (n < 1 || (b[0] >> 4) != (t[0] >> 4))
		return 1;
	if (g->hl == 20) {
		if (n < 20)
			return 0;
		if (b[9] != IPPROTO_TCP_ || memcmp(b + 12, t + 12, 8) != 0)
			return 1;
		/* a fragment after the first has no ports to tell */
		hl = (size_t)(b[0] & 0x0f) * 4;
		if ((be16dec(b + 6) & 0x1fff) != 0 || hl < 20 || n < hl + 4)
			return 0;
	} else {
		if (n < 40)
			return 0;
		if (memcmp(b + 8, t + 8, 32) != 0)
			return 1;
		/* behind extension headers: maybe the same */
		if (b[6] != IPPROTO_TCP_ || n < 44)
			return 0;
		hl = 40;
	}
	return memcmp(b + hl, t + g->hl, 4) != 0;
}

size_t
vnet_gro_finish(struct vnet_gro *g)
{
	struct virtio_net_hdr vh;
	unsigned char *t = g->buf + VNET_HDR;
	size_t n = g->len, hl = g->hl;
	uint16_t sum;

	if (n == 0)
		return 0;
	g->len = 0;
	memset(&vh, 0, sizeof(vh));
	if (g->nseg > 1) {
		/*
		 * One packet of many segments: the lengths of the whole,
		 * and, as a TSO sender leaves it, the TCP checksum field
		 * holding the pseudo-header's sum for the kernel to
		 * complete (or not: local delivery trusts it).
		 */
		if (hl == 20) {
			be16enc(t + 2, n);
			t[10] = t[11] = 0;
			sum = vnet_cksum(t, 20, 0);
			memcpy(t + 10, &sum, 2);
		} else
			be16enc(t + 4, n - 40);
		sum = sum_fold(vnet_pseudo_sum(t, IPPROTO_TCP_, n - hl));
		memcpy(t + hl + 16, &sum, 2);
		vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh.gso_type = hl == 20 ? VIRTIO_NET_HDR_GSO_TCPV4 :
		    VIRTIO_NET_HDR_GSO_TCPV6;
		vh.hdr_len = (uint16_t)(hl + g->thl);
		vh.gso_size = (uint16_t)g->mss;
		vh.csum_start = (uint16_t)hl;
		vh.csum_offset = 16;
	}
	memcpy(g->buf, &vh, sizeof(vh));
	return VNET_HDR + n;
}
