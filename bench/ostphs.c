/*
 * bench/ostphs: handshakes per second one OSTP server accepts.
 *
 * Everything the client side of a handshake costs is paid before the
 * clock starts or after it stops, so that the load tool does not take
 * the cores the server is measured on: N msg1 datagrams are made first
 * (each a new session with its own ephemeral key and session id, so
 * the server's replay cache takes every one), and the msg2 answers are
 * only matched to their session by the masked header while timing;
 * whether they complete the handshake (one X25519 each) is checked
 * afterwards, and only those that do count.
 *
 * At most WINDOW handshakes are in flight, so the server's socket
 * buffer never overflows and the rate is its own, not a drop rate.
 * Sixteen handshakes share a source address (127.1.x.y, chosen per
 * datagram with IP_PKTINFO on one socket), below the server's
 * per-source admission burst of 20.  One that is not answered within
 * a second counts as lost.  Prints handshakes per second (completed
 * ones over the time until the last answer, or SECS); the counts go to
 * stderr.  Loopback only.
 *
 *	ostphs HOST PORT KEY N SECS [WINDOW]
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "proto/ostp.h"

#define PER_SOURCE	16
#define BATCH		64
#define ANS_MAX		320	/* msg2: 6 + 48 + padding up to 254 */
#define LOST_SECS	1.0

struct hsent {
	struct ostp_hs	 hs;
	double		 sent;
	unsigned short	 m1len;
	unsigned short	 anslen;	/* 0: no answer (yet) */
	unsigned char	 lost;
};

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The source address of handshake i, in network order. */
static uint32_t
source(int i)
{
	return htonl(0x7f010000u + 1 + (uint32_t)(i / PER_SOURCE));
}

/* Send handshakes [from, to) in batches; the number sent. */
static int
send_range(int fd, const struct sockaddr_in *srv, unsigned char (*m1)[1024],
    struct hsent *e, int from, int to, double t)
{
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	union {
		char		buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr	align;
	} ctl[BATCH];
	struct in_pktinfo pi;
	struct cmsghdr *cm;
	int i, n, r;

	if (to - from > BATCH)
		to = from + BATCH;
	n = to - from;
	if (n <= 0)
		return 0;
	memset(msgs, 0, sizeof(msgs));
	memset(ctl, 0, sizeof(ctl));
	for (i = 0; i < n; i++) {
		iov[i].iov_base = m1[from + i];
		iov[i].iov_len = e[from + i].m1len;
		msgs[i].msg_hdr.msg_name = (void *)srv;
		msgs[i].msg_hdr.msg_namelen = sizeof(*srv);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_control = ctl[i].buf;
		msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
		cm = CMSG_FIRSTHDR(&msgs[i].msg_hdr);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memset(&pi, 0, sizeof(pi));
		pi.ipi_spec_dst.s_addr = source(from + i);
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
	if ((r = sendmmsg(fd, msgs, (unsigned int)n, 0)) < 0)
		return errno == EAGAIN || errno == ENOBUFS ? 0 : -1;
	for (i = 0; i < r; i++)
		e[from + i].sent = t;
	return r;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in srv, any;
	struct ostp_keys k;
	struct hsent *e;
	unsigned char (*m1)[1024], (*ans)[ANS_MAX], buf[BATCH][2048];
	unsigned char mask[12];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct pollfd pfd;
	uint32_t base, sid;
	double t0, t, tlast, secs;
	int fd, n, i, j, r, window, next = 0, lo = 0, inflight = 0;
	int answered = 0, lost = 0, done = 0, sz = 4 << 20, on = 1;
	ssize_t len;

	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: ostphs host port key n secs "
		    "[window]\n");
		return 1;
	}
	n = atoi(argv[4]);
	secs = atof(argv[5]);
	window = argc == 7 ? atoi(argv[6]) : 256;
	if (n <= 0 || n > 1000000 || window <= 0 ||
	    ostp_keys_init(&k, OSTP_WIRE_V5, argv[3], strlen(argv[3])) != 0)
		return 1;
	memset(&srv, 0, sizeof(srv));
	srv.sin_family = AF_INET;
	srv.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &srv.sin_addr) != 1)
		return 1;
	e = calloc((size_t)n, sizeof(*e));
	m1 = calloc((size_t)n, sizeof(*m1));
	ans = calloc((size_t)n, sizeof(*ans));
	if (e == NULL || m1 == NULL || ans == NULL)
		return 1;
	/* the port each source sends from; sources differ by address */
	memset(&any, 0, sizeof(any));
	any.sin_family = AF_INET;
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) == -1 ||
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) == -1 ||
	    bind(fd, (struct sockaddr *)&any, sizeof(any)) == -1) {
		perror("socket");
		return 1;
	}
	/* ids unlike those of a run a moment ago: no replays, no clashes */
	if (RAND_bytes((unsigned char *)&base, sizeof(base)) != 1)
		return 1;
	base &= 0x7fffffff;
	for (i = 0; i < n; i++) {
		len = ostp_hs_msg1(&e[i].hs, &k, base + (uint32_t)i,
		    (uint64_t)time(NULL), NULL, (size_t)-1, m1[i],
		    sizeof(m1[i]));
		if (len < 0)
			return 1;
		e[i].m1len = (unsigned short)len;
	}

	pfd.fd = fd;
	pfd.events = POLLIN;
	t0 = tlast = now();
	while (done < n && (t = now()) - t0 < secs) {
		/* a handshake not answered by now will not be */
		while (lo < next && (e[lo].anslen > 0 || e[lo].lost ||
		    t - e[lo].sent > LOST_SECS)) {
			if (e[lo].anslen == 0 && !e[lo].lost) {
				e[lo].lost = 1;
				lost++;
				done++;
				inflight--;
			}
			lo++;
		}
		while (inflight < window && next < n) {
			r = send_range(fd, &srv, m1, e, next,
			    next + window - inflight < n ?
			    next + window - inflight : n, t);
			if (r < 0) {
				perror("sendmmsg");
				return 1;
			}
			if (r == 0)
				break;
			next += r;
			inflight += r;
		}
		if (poll(&pfd, 1, 10) <= 0)
			continue;
		for (;;) {
			for (i = 0; i < BATCH; i++) {
				iov[i].iov_base = buf[i];
				iov[i].iov_len = sizeof(buf[i]);
				memset(&msgs[i], 0, sizeof(msgs[i]));
				msgs[i].msg_hdr.msg_iov = &iov[i];
				msgs[i].msg_hdr.msg_iovlen = 1;
			}
			if ((r = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT,
			    NULL)) <= 0)
				break;
			for (i = 0; i < r; i++) {
				len = msgs[i].msg_len;
				if (len <= OSTP_HS_HDR || len > ANS_MAX)
					continue;
				/* whose answer: the unmasked session id */
				ostp_mask_compute(&k, buf[i], (size_t)len,
				    OSTP_HS_HDR, mask);
				sid = 0;
				for (j = 0; j < 4; j++)
					sid = sid << 8 | (buf[i][j] ^ mask[j]);
				if (sid - base >= (uint32_t)next)
					continue;
				j = (int)(sid - base);
				if (e[j].lost || e[j].anslen > 0)
					continue;
				memcpy(ans[j], buf[i], (size_t)len);
				e[j].anslen = (unsigned short)len;
				answered++;
				done++;
				inflight--;
				tlast = now();
			}
			if (r < BATCH)
				break;
		}
	}
	t = done < n ? now() : tlast;

	/* the clock has stopped: which answers complete the handshake */
	for (i = 0, r = 0; i < next; i++)
		if (e[i].anslen > 0 && ostp_hs_finish(&e[i].hs, &k, ans[i],
		    e[i].anslen) == 0)
			r++;
	fprintf(stderr, "ostphs: %d sent, %d answered, %d completed, %d lost, "
	    "%.2f s\n", next, answered, r, lost, t - t0);
	printf("%.0f\n", t > t0 ? r / (t - t0) : 0.0);
	return 0;
}
