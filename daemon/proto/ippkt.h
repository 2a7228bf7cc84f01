/*
 * The first look at a packet read from a capture device: enough of its
 * IPv4 or IPv6 header and of its TCP or UDP header to decide whether
 * the stack may see it and what it needs ready (a listener on the
 * destination port).  lwIP checks everything again; this parser only
 * has to be bounded and exact about what it reports.
 */
#ifndef OSTP_PROTO_IPPKT_H
#define OSTP_PROTO_IPPKT_H

#include <stddef.h>
#include <stdint.h>

#define IPPKT_TCP	6
#define IPPKT_UDP	17
#define IPPKT_ICMP	1
#define IPPKT_ICMP6	58

#define IPPKT_TCP_FIN	0x01
#define IPPKT_TCP_SYN	0x02
#define IPPKT_TCP_RST	0x04
#define IPPKT_TCP_ACK	0x10

struct ippkt {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 src[16];	/* 4 or 16 bytes used */
	unsigned char	 dst[16];
	uint8_t		 proto;		/* upper layer, after extensions */
	size_t		 len;		/* the IP datagram's own length */
	int		 frag;		/* a fragment (any: first or not) */
	int		 ports;		/* sport, dport, tcpflags valid */
	uint16_t	 sport;
	uint16_t	 dport;
	uint8_t		 tcpflags;
};

/*
 * 0 with what the packet says, or -1: too short, lengths that
 * disagree, a version other than 4 or 6.  The packet may be longer
 * than its datagram (padding); pk->len says how much is the datagram.
 */
int	ippkt_parse(const unsigned char *p, size_t n, struct ippkt *pk);
/*
 * 1 when a capture must not hand the packet to its stack: a source or
 * destination that no flow can have (unspecified, loopback, multicast,
 * broadcast, link-local), or a source equal to its destination.
 */
int	ippkt_unroutable(const struct ippkt *pk);

/* What an ICMP destination unreachable says (ippkt_unreach). */
#define IPPKT_UNREACH_NET	0	/* no route */
#define IPPKT_UNREACH_HOST	1	/* the address */
#define IPPKT_UNREACH_PORT	2	/* nobody at the port */
#define IPPKT_UNREACH_ADMIN	3	/* administratively prohibited */
#define IPPKT_UNREACH_MAX	1280	/* the longest one built */

/*
 * An ICMP (RFC 792) or ICMPv6 (RFC 4443) destination unreachable about
 * a datagram, from the address it went to, to its sender: q holds the
 * datagram's IP header (IPv4 without options, or IPv6 without
 * extension headers) and the first 8 bytes after it, ql bytes (28 or
 * 48); p what else is known of its payload (n bytes), quoted as far
 * as the message stays within 576 bytes (IPv6: 1280).  The packet's
 * length in out (outlen bytes), or 0: q is not such headers, or out
 * too short.
 */
size_t	ippkt_unreach(unsigned char *out, size_t outlen, int why,
	    const unsigned char *q, size_t ql, const unsigned char *p,
	    size_t n);

#endif
