/*
 * Fake TCP segments (gost's tcp=true, xtaci/tcpraw's wire): each
 * datagram is the payload of one TCP segment with PSH|ACK, sent on a
 * raw socket beside a real TCP connection that opened the flow.  Pure
 * codecs: reading what a raw socket received, building a header.
 */
#ifndef OSTP_PROTO_FTCP_H
#define OSTP_PROTO_FTCP_H

#include <stddef.h>
#include <stdint.h>

#define FTCP_HDR	20		/* the header built: no options */

#define FTCP_FIN	0x01
#define FTCP_SYN	0x02
#define FTCP_RST	0x04
#define FTCP_PSH	0x08
#define FTCP_ACK	0x10

struct ftcp_seg {
	unsigned char	 src[16];	/* IPv4: from the IP header */
	unsigned char	 dst[16];
	uint16_t	 sport;
	uint16_t	 dport;
	uint32_t	 seq;
	uint32_t	 ack;
	uint8_t		 flags;
	const unsigned char *data;	/* the payload */
	size_t		 len;
};

/*
 * What a raw IPPROTO_TCP socket of family v4 (1) or v6 (0) read: an
 * IPv4 socket gets the IP header, an IPv6 one the TCP header only (the
 * addresses are the caller's then).  0, or -1: not a whole TCP segment
 * (short, lengths that disagree, a fragment, another protocol).  With
 * verify, a segment with payload whose checksum is wrong is -1 too
 * (one without payload may be the local kernel's, whose checksum is
 * left to a device that never completes it on a veth or loopback).
 */
int	ftcp_parse(int v4, const unsigned char *p, size_t n, int verify,
	    struct ftcp_seg *s);

/*
 * The header of a segment carrying len bytes of data, into h
 * (FTCP_HDR bytes): PSH|ACK, the window given.  With src and dst
 * (IPv4 addresses) the checksum covers the pseudo-header, the header
 * and data; without (IPv6) it stays 0 for the kernel to fill in
 * (IPV6_CHECKSUM).
 */
void	ftcp_header(unsigned char *h, uint16_t sport, uint16_t dport,
	    uint32_t seq, uint32_t ack, uint16_t window,
	    const unsigned char *src4, const unsigned char *dst4,
	    const unsigned char *data, size_t len);

/*
 * The reset a host answers segment s with when it has no connection
 * for it (RFC 793): from s's destination to its source, its sequence
 * number s's acknowledgement, or acknowledging s when s has none.
 * Checksum as ftcp_header's (src4 and dst4: the reset's own).
 */
void	ftcp_reset(unsigned char *h, const struct ftcp_seg *s,
	    const unsigned char *src4, const unsigned char *dst4);

/*
 * A socket filter for the kernel's TCP socket of a flow (ftcp_nodata,
 * for SO_ATTACH_FILTER): segments that carry data are not its TCP's,
 * so that it neither queues nor acknowledges them; the handshake,
 * resets and bare acknowledgements pass.  It sees a segment from its
 * TCP header on, and only what the kernel took as the socket's.
 */
struct sock_fprog;
const struct sock_fprog *ftcp_nodata(void);

#endif
