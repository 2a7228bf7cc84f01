/*
 * Fake TCP segments: see ftcp.h.  Bounded reads of peer input, no I/O.
 */
#include "config.h"

#include <string.h>

#include <linux/filter.h>

#include "compat.h"
#include "proto/ftcp.h"
#include "proto/vnet.h"

#define IP4_MIN		20
#define TCP_MIN		20
#define PROTO_TCP	6

/* The one's complement sum of p, folded, not complemented. */
static uint64_t
part(const unsigned char *p, size_t n)
{
	return (uint16_t)~vnet_cksum(p, n, 0);
}

static uint64_t
pseudo4(const unsigned char *src, const unsigned char *dst, size_t len)
{
	unsigned char ph[12];

	memcpy(ph, src, 4);
	memcpy(ph + 4, dst, 4);
	ph[8] = 0;
	ph[9] = PROTO_TCP;
	be16enc(ph + 10, (uint16_t)len);
	return part(ph, sizeof(ph));
}

int
ftcp_parse(int v4, const unsigned char *p, size_t n, int verify,
    struct ftcp_seg *s)
{
	size_t ihl = 0, tot, doff;

	memset(s, 0, sizeof(*s));
	if (v4) {
		if (n < IP4_MIN || (p[0] >> 4) != 4)
			return -1;
		ihl = (size_t)(p[0] & 0x0f) * 4;
		tot = be16dec(p + 2);
		/* a fragment's segment is not whole here */
		if (ihl < IP4_MIN || tot < ihl || tot > n ||
		    p[9] != PROTO_TCP || (be16dec(p + 6) & 0x3fff) != 0)
			return -1;
		memcpy(s->src, p + 12, 4);
		memcpy(s->dst, p + 16, 4);
		n = tot;
	}
	if (n - ihl < TCP_MIN)
		return -1;
	doff = (size_t)(p[ihl + 12] >> 4) * 4;
	if (doff < TCP_MIN || doff > n - ihl)
		return -1;
	s->sport = be16dec(p + ihl);
	s->dport = be16dec(p + ihl + 2);
	s->seq = be32dec(p + ihl + 4);
	s->ack = be32dec(p + ihl + 8);
	s->flags = p[ihl + 13];
	s->data = p + ihl + doff;
	s->len = n - ihl - doff;
	if (verify && v4 && s->len > 0 &&
	    vnet_cksum(p + ihl, n - ihl, pseudo4(s->src, s->dst,
	    n - ihl)) != 0)
		return -1;
	return 0;
}

static void
header(unsigned char *h, uint16_t sport, uint16_t dport, uint32_t seq,
    uint32_t ack, uint8_t flags, uint16_t window, const unsigned char *src4,
    const unsigned char *dst4, const unsigned char *data, size_t len)
{
	uint64_t sum;

	be16enc(h, sport);
	be16enc(h + 2, dport);
	be32enc(h + 4, seq);
	be32enc(h + 8, ack);
	h[12] = (FTCP_HDR / 4) << 4;
	h[13] = flags;
	be16enc(h + 14, window);
	memset(h + 16, 0, 4);		/* checksum, urgent pointer */
	if (src4 == NULL || dst4 == NULL)
		return;
	/* the data follows a header of even length: sums add up */
	sum = pseudo4(src4, dst4, FTCP_HDR + len) + part(data, len);
	memcpy(h + 16, &(uint16_t){ vnet_cksum(h, FTCP_HDR, sum) }, 2);
}

void
ftcp_header(unsigned char *h, uint16_t sport, uint16_t dport, uint32_t seq,
    uint32_t ack, uint16_t window, const unsigned char *src4,
    const unsigned char *dst4, const unsigned char *data, size_t len)
{
	header(h, sport, dport, seq, ack, FTCP_PSH | FTCP_ACK, window, src4,
	    dst4, data, len);
}

/* RFC 793's reset for a segment of no connection (3.4, 3.9). */
void
ftcp_reset(unsigned char *h, const struct ftcp_seg *s,
    const unsigned char *src4, const unsigned char *dst4)
{
	uint32_t len = (uint32_t)s->len + ((s->flags & FTCP_SYN) != 0) +
	    ((s->flags & FTCP_FIN) != 0);

	if (s->flags & FTCP_ACK)
		header(h, s->dport, s->sport, s->ack, 0, FTCP_RST, 0, src4,
		    dst4, NULL, 0);
	else
		header(h, s->dport, s->sport, 0, s->seq + len,
		    FTCP_RST | FTCP_ACK, 0, src4, dst4, NULL, 0);
}

const struct sock_fprog *
ftcp_nodata(void)
{
	static struct sock_filter f[] = {
		/* X = the TCP header's length: data offset (high nibble) * 4 */
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 12),
		BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 2),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x3c),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		/* longer than that: data */
		BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
		BPF_JUMP(BPF_JMP | BPF_JGT | BPF_X, 0, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
	};
	static const struct sock_fprog p = {
		sizeof(f) / sizeof(f[0]), f
	};

	return &p;
}
