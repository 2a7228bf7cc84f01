/*
 * UDP datagrams in batches, for a tunnel whose cost is per packet:
 * sent with as few system calls as the kernel allows (UDP_SEGMENT:
 * one send of many equal datagrams, cut by the kernel or the card;
 * sendmmsg for the rest and for several of those at once), received
 * with recvmmsg and UDP_GRO (the kernel hands over equal datagrams of
 * one sender joined, with their size).  Without UDP_SEGMENT or
 * UDP_GRO (old kernels), each datagram its own message.
 */
#ifndef OSTP_CORE_UDPBATCH_H
#define OSTP_CORE_UDPBATCH_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#define UDPB_MSGS	64		/* messages per sendmmsg */
#define UDPB_RX_MSGS	16		/* per recvmmsg: 1 MiB to read */
#define UDPB_DGRAM_MAX	65535		/* a datagram, or a joined run */

/*
 * Send n datagrams of lens[i] bytes each, back to back in buf, to to
 * (tolen; NULL for a connected socket).  *gso says whether the kernel
 * takes UDP_SEGMENT; it is cleared the first time the kernel refuses.
 * Datagrams the socket refuses (a full buffer) are lost, as on a
 * link, and counted in *lost.  0, or -1 when none went.
 */
int	udpb_send(int fd, const struct sockaddr *to, socklen_t tolen,
	    const unsigned char *buf, const size_t *lens, size_t n, int *gso,
	    uint64_t *lost);

/* Ask the kernel for joined datagrams (UDP_GRO): 1, or 0 when not. */
int	udpb_gro(int fd);

/* One recvmmsg's worth of datagrams, each maybe a joined run. */
struct udpb_rx {
	struct mmsghdr		 msgs[UDPB_RX_MSGS];
	struct iovec		 iov[UDPB_RX_MSGS];
	struct sockaddr_storage	 from[UDPB_RX_MSGS];
	union {
		char		 buf[CMSG_SPACE(sizeof(int)) + 64];
		struct cmsghdr	 align;
	}			 ctl[UDPB_RX_MSGS];
	unsigned char		*bufs;		/* UDPB_RX_MSGS of those */
};

/* 0, or -1 (no memory). */
int	udpb_rx_init(struct udpb_rx *);
void	udpb_rx_free(struct udpb_rx *);
/*
 * Read what is queued, up to UDPB_RX_MSGS messages: how many (0 when
 * none), or -1 on an error.  Message i is udpb_rx_get()'s.
 */
int	udpb_recv(struct udpb_rx *, int fd);
/*
 * Message i: its bytes, length, the size of each datagram in it (the
 * last may be shorter; seg == len for a lone one) and its sender.
 * 0, or -1 for a message cut short (larger than UDPB_DGRAM_MAX, or
 * its control data).
 */
int	udpb_rx_get(struct udpb_rx *, int i, unsigned char **p, size_t *len,
	    size_t *seg, struct sockaddr_storage **from, socklen_t *fromlen);

#endif
