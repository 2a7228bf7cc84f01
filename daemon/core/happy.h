/*
 * Connecting to host:port, a name or an address, the way RFC 8305
 * (Happy Eyeballs v2) says: both families asked at once, IPv6 answers
 * used at once and IPv4 ones after a short wait for them, the
 * addresses interleaved by family, a new attempt started every 250 ms
 * while the earlier ones are still trying, the first connection that
 * succeeds kept and the others closed.
 */
#ifndef OSTP_HAPPY_H
#define OSTP_HAPPY_H

#include <sys/socket.h>
#include <stdint.h>

struct worker;
struct resolver;
struct hosts;
struct happy;

#define HAPPY_RESOLUTION_DELAY_MS	50	/* RFC 8305 3 */
#define HAPPY_ATTEMPT_DELAY_MS		250	/* RFC 8305 5 */

/*
 * fd is connected (non-blocking) to sa, or -1 with err: ENOENT and the
 * other resolver errors (resolve.h), or the last attempt's errno.
 */
typedef void (*happy_cb)(void *arg, int fd, const struct sockaddr *sa,
    socklen_t salen, int err);
/* 0: sa may be dialed; else the errno its attempt fails with. */
typedef int (*happy_filter)(void *arg, const struct sockaddr *sa);

struct happy_opts {
	unsigned long	 timeout_ms;	/* per attempt; 0: the kernel's */
	int		 prefer;	/* AF_INET or AF_INET6 first; 0: v6 */
	const struct hosts *hosts;	/* before the resolver, or NULL */
	happy_filter	 filter;	/* or NULL */
	void		*farg;
	const struct egress *egress;	/* the sockets' mark and interface
					   (a route's); NULL: -M/-I */
};

/* cb never runs inside this call.  NULL only when out of memory. */
struct happy *happy_connect(struct worker *, struct resolver *,
	    const char *host, uint16_t port, const struct happy_opts *,
	    happy_cb, void *arg);
void	happy_cancel(struct happy *);

#endif
