/*
 * libFuzzer harness for ftcp.c: the input is what a raw TCP socket
 * read (its first byte picks IPv4 or IPv6 and checksum checking).  A
 * segment read must lie within the input; rebuilt from its fields in
 * an IPv4 packet, it must read back the same, checksum checked.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "proto/ftcp.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static unsigned char pkt[70000];

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct ftcp_seg s, t;
	unsigned char *p;
	size_t n;
	int v4;

	if (size < 1 || size - 1 > 65535)
		return 0;
	v4 = data[0] & 1;
	if (ftcp_parse(v4, data + 1, size - 1, data[0] & 2, &s) != 0)
		return 0;
	if (s.data < data + 1 || s.data + s.len > data + size)
		abort();
	/* rebuilt: 20 bytes of IP header, the header, the data */
	p = pkt;
	n = 20 + FTCP_HDR + s.len;
	if (n > 65535)
		return 0;
	memset(p, 0, 20);
	p[0] = 0x45;
	be16enc(p + 2, (uint16_t)n);
	p[9] = 6;
	memcpy(p + 12, s.src, 4);
	memcpy(p + 16, s.dst, 4);
	memcpy(p + 40, s.data, s.len);
	ftcp_header(p + 20, s.sport, s.dport, s.seq, s.ack, 0x8000, s.src,
	    s.dst, p + 40, s.len);
	if (ftcp_parse(1, p, n, 1, &t) != 0 || t.sport != s.sport ||
	    t.dport != s.dport || t.seq != s.seq || t.ack != s.ack ||
	    t.len != s.len || t.flags != (FTCP_PSH | FTCP_ACK) ||
	    memcmp(t.data, s.data, s.len) != 0)
		abort();
	return 0;
}
