/*
 * libFuzzer harness for vnet.c: the input is a virtio_net_hdr, a
 * tunnel MTU (2 bytes) and a packet, as a tun device or a peer may
 * give them.  Segmentation must stay within its buffers and cut only
 * packets of at most the MTU; joining what it cut (or the packet
 * itself, as a peer's) must stay within the join buffer.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/vnet.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static unsigned char pkt[VNET_PKT_MAX + 64];
static unsigned char out[VNET_SPLIT_MAX];
static unsigned char gbuf[VNET_HDR + VNET_PKT_MAX];
static size_t lens[VNET_SEGS_MAX];

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct virtio_net_hdr vh;
	struct vnet_gro g;
	size_t mtu, n, i, off, total;
	int k;

	if (size < VNET_HDR + 2 || size - VNET_HDR - 2 > sizeof(pkt))
		return 0;
	memcpy(&vh, data, VNET_HDR);
	mtu = (size_t)data[VNET_HDR] << 8 | data[VNET_HDR + 1];
	n = size - VNET_HDR - 2;
	memcpy(pkt, data + VNET_HDR + 2, n);
	(void)vnet_csum(&vh, pkt, n);
	memset(&g, 0, sizeof(g));
	g.buf = gbuf;
	g.verify = data[0] & 1;
	if ((k = vnet_tso_split(&vh, pkt, n, mtu, out, sizeof(out), lens,
	    VNET_SEGS_MAX)) < 0) {
		if (vnet_gro_add(&g, pkt, n) < 0)
			return 0;
		if (vnet_gro_finish(&g) != VNET_HDR + n)
			abort();
		return 0;
	}
	if (k == 0 || (size_t)k > VNET_SEGS_MAX)
		abort();
	for (i = 0, off = 0, total = 0; i < (size_t)k; off += lens[i], i++) {
		if (lens[i] > mtu || off + lens[i] > sizeof(out))
			abort();
		(void)vnet_gro_other(&g, out + off, lens[i]);
		(void)vnet_gro_other(&g, pkt, n);
		if (vnet_gro_add(&g, out + off, lens[i]) < 0) {
			total += vnet_gro_finish(&g);
			(void)vnet_gro_add(&g, out + off, lens[i]);
		}
	}
	total += vnet_gro_finish(&g);
	if (total > (size_t)k * (VNET_HDR + VNET_PKT_MAX))
		abort();
	return 0;
}
