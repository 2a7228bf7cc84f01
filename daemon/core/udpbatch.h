/*
 * UDP datagrams in batches, for a tunnel whose cost is per packet:
 * sent with as few system calls as the kernel allows (UDP_SEGMENT:
 * one send of many equal datagrams, cut by the kernel or the card;
 * sendmmsg for the rest and for several of those at once), received
 * with recvmmsg and UDP_GRO (the kernel hands over equal datagrams of
 * one sender joined, with their size).  Without UDP_SEGMENT or
 * UDP_GRO (old kernels), each datagram its own message.  Used by the
 * tun handler and the OSTP sessions' sockets; the single reads with
 * control messages (ancillary data, the error queue) of any datagram
 * socket are here too.
 */
#ifndef OSTP_CORE_UDPBATCH_H
#define OSTP_CORE_UDPBATCH_H

#include <sys/types.h>
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
 * link, and counted in *lost (NULL: not counted).  0, or -1 when
 * none went.
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

/*
 * 0, or -1 (no memory).  Instead, a caller may point bufs at
 * UDPB_RX_MSGS * UDPB_DGRAM_MAX bytes of its own, in a zeroed struct.
 */
int	udpb_rx_init(struct udpb_rx *);
void	udpb_rx_free(struct udpb_rx *);
/*
 * Read up to rounds batches of UDPB_RX_MSGS messages, fewer when the
 * socket runs dry, and hand each message to fn: its bytes, length, the
 * size of each datagram in it (the last may be shorter; seg == len for
 * a lone one) and its sender; p NULL for a message cut short (larger
 * than UDPB_DGRAM_MAX, or its control data).  Returns how many batches
 * came.
 */
typedef void (*udpb_msg_fn)(void *arg, unsigned char *p, size_t len,
	    size_t seg, struct sockaddr_storage *from, socklen_t fromlen);
int	udpb_recv_each(struct udpb_rx *, int fd, int rounds, udpb_msg_fn,
	    void *arg);

/*
 * One datagram, on any datagram socket: recvmsg(2) with flags into buf
 * (len bytes), its address into *from, its control messages into ctl
 * (ctllen bytes, aligned for a struct cmsghdr).  *mh (its iovec in
 * *iov) is left for CMSG_FIRSTHDR() and msg_flags.
 */
ssize_t	udpb_recvmsg(int fd, int flags, struct msghdr *mh, struct iovec *iov,
	    void *buf, size_t len, struct sockaddr_storage *from, void *ctl,
	    size_t ctllen);
/*
 * The next error the socket's queue holds (IP_RECVERR or IPV6_RECVERR
 * set): the start of the datagram it is about into buf (len bytes),
 * where that went into *to, the error into *ee (all zero when the
 * message carried none: SO_EE_ORIGIN_NONE) and who reported it into
 * *offender (zeroed when nobody).  The bytes read, or -1 when the
 * queue is empty.
 */
struct sock_extended_err;
ssize_t	udpb_recverr(int fd, void *buf, size_t len,
	    struct sockaddr_storage *to, struct sock_extended_err *ee,
	    struct sockaddr_storage *offender);

#endif
