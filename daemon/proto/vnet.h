/*
 * Packets of a tun device opened with IFF_VNET_HDR: each one read or
 * written is preceded by a struct virtio_net_hdr (host byte order)
 * that says whether the checksum is left to complete
 * (VIRTIO_NET_HDR_F_NEEDS_CSUM) and whether the packet is one TCP
 * segment of many packets' worth (GSO: the kernel's TSO handed to us,
 * or ours handed to it).  The cost of a tunnel is per packet: these
 * let the kernel and the daemon trade 64 KiB at a time.
 *
 * Pure codecs, no I/O: completing a checksum, cutting a super-segment
 * into packets (TCP segmentation in user space, for a peer that takes
 * one plain IP packet per datagram), and joining consecutive segments
 * of one TCP connection into one super-segment (GRO in user space).
 * Every length is checked against the bytes given; a packet that does
 * not parse is refused, never guessed at.
 */
#ifndef OSTP_PROTO_VNET_H
#define OSTP_PROTO_VNET_H

#include <linux/virtio_net.h>
#include <stddef.h>
#include <stdint.h>

#define VNET_HDR	10		/* sizeof(struct virtio_net_hdr) */
#define VNET_PKT_MAX	65535		/* an IP packet, either way */
/*
 * The segments one super-segment may be cut into: 64 KiB at an MSS
 * of 128 (a tunnel MTU near 250; see conf_tun_vnet()).  Output: the
 * payload once, the headers (at most 60 + 60 bytes) each time.
 */
#define VNET_SEGS_MAX	512
#define VNET_SPLIT_MAX	(VNET_PKT_MAX + VNET_SEGS_MAX * 120)

/*
 * The Internet checksum (RFC 1071) of p, continuing the partial sum
 * sum (0 to start), complemented: the two bytes to store as they are
 * (the sums run in the host's byte order over bytes in the network's,
 * which the one's complement sum allows).
 */
uint16_t vnet_cksum(const unsigned char *p, size_t n, uint64_t sum);
/* The partial sum to carry into vnet_cksum: the pseudo-header's. */
uint64_t vnet_pseudo_sum(const unsigned char *ip, uint8_t proto, size_t len);

/*
 * A packet (n bytes) with header vh: its checksum completed in place
 * when vh asks for it, over the whole packet (a TCP super-segment
 * stays one).  0, or -1: a GSO type other than TCP's, or a checksum
 * outside the packet.
 */
int	vnet_csum(const struct virtio_net_hdr *vh, unsigned char *p,
	    size_t n);

/*
 * A TCP super-segment (vh: GSO_TCPV4 or GSO_TCPV6, with or without
 * ECN) cut into IP packets of at most mtu bytes, as a TSO card would:
 * each with its own lengths, IPv4 identifier and header checksum,
 * sequence number, FIN and PSH on the last only, CWR on the first
 * only, and a complete TCP checksum.  They go back to back into out
 * (outlen bytes, VNET_SPLIT_MAX is enough), their lengths into lens
 * (maxsegs).  The number of packets, or -1: a packet that is not
 * what vh says (IPv6 extension headers included), an MTU its
 * headers fill, more segments than maxsegs, or no room.
 */
int	vnet_tso_split(const struct virtio_net_hdr *vh,
	    const unsigned char *p, size_t n, size_t mtu, unsigned char *out,
	    size_t outlen, size_t *lens, size_t maxsegs);

/*
 * TCP segments joined into one super-segment for the kernel.  buf is
 * the caller's, VNET_HDR + VNET_PKT_MAX bytes: the vnet header, then
 * the packet.  Joined are data segments (ACK, maybe PSH; IPv4 without
 * options or fragments, IPv6 without extension headers) of one
 * connection that follow each other in sequence, with the same
 * headers but lengths and sequence number, all as long as the first
 * but a shorter or pushed last one.
 */
struct vnet_gro {
	unsigned char	*buf;
	int		 verify;	/* check each TCP checksum first */
	size_t		 len;		/* held; 0: none */
	size_t		 hl;		/* its IP header */
	size_t		 thl;		/* its TCP header */
	size_t		 mss;		/* each segment's payload */
	unsigned int	 nseg;
	uint32_t	 seq;		/* the next one's */
	int		 closed;	/* no more joins */
};

/*
 * Hold p (n bytes) to join: 1 when it starts a new super-segment, 0
 * when it joined the one held, -1 when it cannot (the caller writes
 * what is held, then tries again; -1 then means p goes as it is).
 * verify: a packet whose TCP checksum is wrong is not taken, so that
 * the kernel, which trusts a GSO packet's checksum, still sees it.
 */
int	vnet_gro_add(struct vnet_gro *, const unsigned char *p, size_t n);
/*
 * 1 when packet p (n bytes) is surely of another connection than the
 * one held (another protocol, or other addresses or ports), and no
 * data segment that could start a join of its own (an ACK, a ping):
 * it may be written before what is held, which keeps joining.
 */
int	vnet_gro_other(const struct vnet_gro *, const unsigned char *p,
	    size_t n);
/*
 * What is held, ready to write: its vnet header and fixed lengths in
 * buf; the bytes to write (VNET_HDR + the packet), or 0: none held.
 * Nothing is held afterwards.
 */
size_t	vnet_gro_finish(struct vnet_gro *);

#endif
