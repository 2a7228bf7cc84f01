/*
 * UDP datagrams in batches (see udpbatch.h).  Kernel documentation:
 * Documentation/networking/segmentation-offloads.rst (UDP_SEGMENT),
 * udp(7) (UDP_GRO).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <linux/errqueue.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/udpbatch.h"

#ifndef SOL_UDP
#define SOL_UDP		17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT	103
#endif
#ifndef UDP_GRO
#define UDP_GRO		104
#endif

/*
 * One UDP_SEGMENT send: at most 64 datagrams (the kernel's
 * UDP_MAX_SEGMENTS before 6.2), at most what one IPv4 datagram of
 * 64 KiB holds (the kernel builds one before it cuts it).
 */
#define UDPB_GSO_SEGS	64
#define UDPB_GSO_BYTES	(65535 - 60 - 8)

/* A refused UDP_SEGMENT send's datagrams, one by one. */
static void
send_each(int fd, const struct msghdr *m, size_t seg, uint64_t *lost)
{
	const unsigned char *p = m->msg_iov[0].iov_base;
	size_t left = m->msg_iov[0].iov_len, k;

	for (; left > 0; p += k, left -= k) {
		k = left < seg ? left : seg;
		if (sendto(fd, p, k, 0, m->msg_name, m->msg_namelen) == -1 &&
		    lost != NULL)
			(*lost)++;
	}
}

int
udpb_send(int fd, const struct sockaddr *to, socklen_t tolen,
    const unsigned char *buf, const size_t *lens, size_t n, int *gso,
    uint64_t *lost)
{
	struct mmsghdr msgs[UDPB_MSGS];
	struct iovec iov[UDPB_MSGS];
	union {
		char		buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr	align;
	} ctl[UDPB_MSGS];
	size_t segs[UDPB_MSGS], segsz[UDPB_MSGS], i = 0, off = 0, m, done;
	size_t cnt, total;
	struct cmsghdr *cm;
	uint16_t gs;
	int r, sent = 0;

	while (i < n) {
		for (m = 0; i < n && m < UDPB_MSGS; m++) {
			/* a run of equal lengths, ended by a shorter one */
			total = lens[i];
			cnt = 1;
			while (*gso && lens[i] > 0 && i + cnt < n &&
			    cnt < UDPB_GSO_SEGS && lens[i + cnt] > 0 &&
			    lens[i + cnt] <= lens[i] &&
			    total + lens[i + cnt] <= UDPB_GSO_BYTES) {
				total += lens[i + cnt++];
				if (lens[i + cnt - 1] < lens[i])
					break;
			}
			memset(&msgs[m], 0, sizeof(msgs[m]));
			iov[m].iov_base = (void *)(uintptr_t)(buf + off);
			iov[m].iov_len = total;
			msgs[m].msg_hdr.msg_iov = &iov[m];
			msgs[m].msg_hdr.msg_iovlen = 1;
			msgs[m].msg_hdr.msg_name = (void *)(uintptr_t)to;
			msgs[m].msg_hdr.msg_namelen = to != NULL ? tolen : 0;
			if (cnt > 1) {
				msgs[m].msg_hdr.msg_control = ctl[m].buf;
				msgs[m].msg_hdr.msg_controllen =
				    sizeof(ctl[m].buf);
				cm = CMSG_FIRSTHDR(&msgs[m].msg_hdr);
				cm->cmsg_level = SOL_UDP;
				cm->cmsg_type = UDP_SEGMENT;
				cm->cmsg_len = CMSG_LEN(sizeof(gs));
				gs = (uint16_t)lens[i];
				memcpy(CMSG_DATA(cm), &gs, sizeof(gs));
			}
			segs[m] = cnt;
			segsz[m] = lens[i];
			i += cnt;
			off += total;
		}
		for (done = 0; done < m; ) {
			r = sendmmsg(fd, msgs + done, (unsigned int)(m - done),
			    0);
			if (r > 0) {
				done += (size_t)r;
				sent = 1;
				continue;
			}
			if (r == -1 && errno == EINTR)
				continue;
			/*
			 * msgs[done] was refused: a kernel without
			 * UDP_SEGMENT (or a path it cannot cut for)
			 * gets each datagram in a message of its own
			 * from now on; a full socket loses them, as a
			 * link would.
			 */
			if (segs[done] > 1 && (errno == EINVAL ||
			    errno == EOPNOTSUPP || errno == ENOPROTOOPT ||
			    errno == EIO)) {
				*gso = 0;
				send_each(fd, &msgs[done].msg_hdr,
				    segsz[done], lost);
			} else if (lost != NULL)
				*lost += segs[done];
			done++;
		}
	}
	return sent || n == 0 ? 0 : -1;
}

int
udpb_gro(int fd)
{
	int one = 1;

	return setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
}

int
udpb_rx_init(struct udpb_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
	if ((rx->bufs = malloc((size_t)UDPB_RX_MSGS * UDPB_DGRAM_MAX)) ==
	    NULL)
		return -1;
	return 0;
}

void
udpb_rx_free(struct udpb_rx *rx)
{
	free(rx->bufs);
	rx->bufs = NULL;
}

/* A message header for one datagram into buf, from *from, with ctl. */
static void
msg_set(struct msghdr *m, struct iovec *iov, void *buf, size_t len,
    struct sockaddr_storage *from, void *ctl, size_t ctllen)
{
	memset(m, 0, sizeof(*m));
	iov->iov_base = buf;
	iov->iov_len = len;
	m->msg_iov = iov;
	m->msg_iovlen = 1;
	m->msg_name = from;
	m->msg_namelen = sizeof(*from);
	m->msg_control = ctl;
	m->msg_controllen = ctllen;
}

/*
 * Read what is queued, up to UDPB_RX_MSGS messages: how many (0 when
 * none), or -1 on an error.
 */
static int
udpb_recv(struct udpb_rx *rx, int fd)
{
	int i, n;

	for (i = 0; i < UDPB_RX_MSGS; i++)
		msg_set(&rx->msgs[i].msg_hdr, &rx->iov[i],
		    rx->bufs + (size_t)i * UDPB_DGRAM_MAX, UDPB_DGRAM_MAX,
		    &rx->from[i], rx->ctl[i].buf, sizeof(rx->ctl[i].buf));
	while ((n = recvmmsg(fd, rx->msgs, UDPB_RX_MSGS, MSG_DONTWAIT,
	    NULL)) == -1 && errno == EINTR)
		;
	if (n == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	return n;
}

/* Message i (see udpb_recv_each): 0, or -1 for one cut short. */
static int
udpb_rx_get(struct udpb_rx *rx, int i, unsigned char **p, size_t *len,
    size_t *seg, struct sockaddr_storage **from, socklen_t *fromlen)
{
	struct msghdr *m = &rx->msgs[i].msg_hdr;
	struct cmsghdr *cm;
	int gs;

	*from = &rx->from[i];
	*fromlen = m->msg_namelen;
	if (m->msg_flags & MSG_TRUNC)
		return -1;
	*p = rx->iov[i].iov_base;
	*len = rx->msgs[i].msg_len;
	*seg = *len;
	/* a joined run whose size was cut off cannot be taken apart */
	if (m->msg_flags & MSG_CTRUNC)
		return -1;
	for (cm = CMSG_FIRSTHDR(m); cm != NULL; cm = CMSG_NXTHDR(m, cm))
		if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(gs))) {
			memcpy(&gs, CMSG_DATA(cm), sizeof(gs));
			if (gs > 0 && (size_t)gs < *len)
				*seg = (size_t)gs;
		}
	return 0;
}

int
udpb_recv_each(struct udpb_rx *rx, int fd, int rounds, udpb_msg_fn fn,
    void *arg)
{
	struct sockaddr_storage *from;
	unsigned char *p;
	socklen_t fromlen;
	size_t len, seg;
	int r, i, n;

	for (r = 0; r < rounds; r++) {
		if ((n = udpb_recv(rx, fd)) <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (udpb_rx_get(rx, i, &p, &len, &seg, &from,
			    &fromlen) != 0)
				fn(arg, NULL, 0, 0, from, fromlen);
			else
				fn(arg, p, len, seg, from, fromlen);
		}
		if (n < UDPB_RX_MSGS)
			return r + 1;
	}
	return r;
}

ssize_t
udpb_recvmsg(int fd, int flags, struct msghdr *mh, struct iovec *iov,
    void *buf, size_t len, struct sockaddr_storage *from, void *ctl,
    size_t ctllen)
{
	msg_set(mh, iov, buf, len, from, ctl, ctllen);
	return recvmsg(fd, mh, flags);
}

ssize_t
udpb_recverr(int fd, void *buf, size_t len, struct sockaddr_storage *to,
    struct sock_extended_err *ee, struct sockaddr_storage *offender)
{
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(sizeof(*ee) +
				    sizeof(struct sockaddr_in6)) + 64];
	} cb;
	struct cmsghdr *cm;
	struct msghdr mh;
	struct iovec iov;
	ssize_t n;
	size_t k;

	memset(to, 0, sizeof(*to));
	memset(ee, 0, sizeof(*ee));
	memset(offender, 0, sizeof(*offender));
	if ((n = udpb_recvmsg(fd, MSG_ERRQUEUE | MSG_DONTWAIT, &mh, &iov, buf,
	    len, to, cb.buf, sizeof(cb.buf))) < 0)
		return -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (!((cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_RECVERR) ||
		    (cm->cmsg_level == IPPROTO_IPV6 &&
		    cm->cmsg_type == IPV6_RECVERR)) ||
		    cm->cmsg_len < CMSG_LEN(sizeof(*ee)))
			continue;
		memcpy(ee, CMSG_DATA(cm), sizeof(*ee));
		/* the reporter's address follows the error (SO_EE_OFFENDER) */
		k = cm->cmsg_len - CMSG_LEN(sizeof(*ee));
		memcpy(offender, CMSG_DATA(cm) + sizeof(*ee),
		    k < sizeof(*offender) ? k : sizeof(*offender));
	}
	return n;
}
