/*
 * bench/ostphs: handshakes per second one OSTP server accepts.  Makes
 * N msg1 datagrams first (each a new session, its own ephemeral key),
 * spread over sources 127.1.x.y so the per-source admission limit
 * (5/s, burst 20) is not what is measured, sends them all, and counts
 * the msg2 answers that complete a handshake until all came or SECS
 * passed.  Prints handshakes per second up to the last answer (msg1s
 * the server's socket buffer dropped would otherwise count SECS of
 * idle waiting); how many completed goes to stderr when not all did.
 * Loopback only.
 *
 *	ostphs HOST PORT KEY N SECS
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

#include "proto/ostp.h"

#define PER_SOURCE	16

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in srv, src;
	struct ostp_keys k;
	struct ostp_hs *hs;
	unsigned char (*m1)[1024], buf[2048];
	size_t *m1len;
	struct pollfd *pfd;
	int *fd, n, nsrc, i, j, done = 0, *owner;
	double t0, tlast, secs;
	ssize_t r;

	if (argc != 6) {
		fprintf(stderr, "usage: ostphs host port key n secs\n");
		return 1;
	}
	n = atoi(argv[4]);
	secs = atof(argv[5]);
	if (n <= 0 || ostp_keys_init(&k, OSTP_WIRE_V5, argv[3],
	    strlen(argv[3])) != 0)
		return 1;
	memset(&srv, 0, sizeof(srv));
	srv.sin_family = AF_INET;
	srv.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &srv.sin_addr) != 1)
		return 1;
	nsrc = (n + PER_SOURCE - 1) / PER_SOURCE;
	hs = calloc((size_t)n, sizeof(*hs));
	m1 = calloc((size_t)n, sizeof(*m1));
	m1len = calloc((size_t)n, sizeof(*m1len));
	owner = calloc((size_t)n, sizeof(*owner));
	fd = calloc((size_t)nsrc, sizeof(*fd));
	pfd = calloc((size_t)nsrc, sizeof(*pfd));
	if (hs == NULL || m1 == NULL || m1len == NULL || fd == NULL ||
	    pfd == NULL || owner == NULL)
		return 1;
	for (i = 0; i < nsrc; i++) {
		int sz = 1 << 20;

		if ((fd[i] = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
			return 1;
		setsockopt(fd[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(0x7f010000u | (uint32_t)(i + 1));
		if (bind(fd[i], (struct sockaddr *)&src, sizeof(src)) == -1 ||
		    connect(fd[i], (struct sockaddr *)&srv, sizeof(srv)) == -1) {
			perror("socket");
			return 1;
		}
		pfd[i].fd = fd[i];
		pfd[i].events = POLLIN;
	}
	for (i = 0; i < n; i++) {
		r = ostp_hs_msg1(&hs[i], &k, (uint32_t)i + 1,
		    (uint64_t)time(NULL), NULL, (size_t)-1, m1[i],
		    sizeof(m1[i]));
		if (r < 0)
			return 1;
		m1len[i] = (size_t)r;
	}
	t0 = tlast = now();
	for (i = 0; i < n; i++)
		(void)send(fd[i / PER_SOURCE], m1[i], m1len[i], 0);
	while (done < n && now() - t0 < secs) {
		if (poll(pfd, (nfds_t)nsrc, 100) <= 0)
			continue;
		for (i = 0; i < nsrc; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			while ((r = recv(fd[i], buf, sizeof(buf),
			    MSG_DONTWAIT)) > 0) {
				/* which of this source's sessions it answers */
				for (j = i * PER_SOURCE; j < n &&
				    j < (i + 1) * PER_SOURCE; j++) {
					if (owner[j])
						continue;
					if (ostp_hs_finish(&hs[j], &k, buf,
					    (size_t)r) == 0) {
						owner[j] = 1;
						done++;
						tlast = now();
						break;
					}
				}
			}
		}
	}
	if (done < n)
		fprintf(stderr, "ostphs: %d of %d handshakes completed\n",
		    done, n);
	printf("%.0f\n", tlast > t0 ? done / (tlast - t0) : 0.0);
	return 0;
}
