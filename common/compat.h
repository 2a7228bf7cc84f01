/* What glibc lacks that the BSD-style code here expects. */
#ifndef OSTP_COMPAT_H
#define OSTP_COMPAT_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif
#ifndef LIST_FOREACH_SAFE
#define LIST_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = LIST_FIRST(head);					\
	    (var) != NULL && ((tvar) = LIST_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

/* The port of an IPv4 or IPv6 socket address (0 for other families). */
static inline uint16_t
sockaddr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

/* Seconds of the monotonic clock: ages, expiries, back-offs. */
static inline time_t
mono_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* OpenBSD's: wipe, then free (secrets, configuration text). */
static inline void
freezero(void *p, size_t n)
{
	if (p == NULL)
		return;
	explicit_bzero(p, n);
	free(p);
}

/*
 * FreeBSD's byte-order codecs (byteorder(9)): integers read from and
 * written to unaligned bytes, big-endian (network order) unless named
 * le; be24enc, not in FreeBSD, for TLS's 3-byte lengths.
 */
static inline uint16_t
be16dec(const void *pp)
{
	const unsigned char *p = pp;

	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
be32dec(const void *pp)
{
	const unsigned char *p = pp;

	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
be64dec(const void *pp)
{
	const unsigned char *p = pp;

	return (uint64_t)be32dec(p) << 32 | be32dec(p + 4);
}

static inline uint32_t
le32dec(const void *pp)
{
	const unsigned char *p = pp;

	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline void
be16enc(void *pp, uint16_t v)
{
	unsigned char *p = pp;

	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static inline void
be24enc(void *pp, uint32_t v)
{
	unsigned char *p = pp;

	p[0] = (unsigned char)(v >> 16);
	be16enc(p + 1, (uint16_t)v);
}

static inline void
be32enc(void *pp, uint32_t v)
{
	unsigned char *p = pp;

	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static inline void
be64enc(void *pp, uint64_t v)
{
	unsigned char *p = pp;

	be32enc(p, (uint32_t)(v >> 32));
	be32enc(p + 4, (uint32_t)v);
}

#endif
