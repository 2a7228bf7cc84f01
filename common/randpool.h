/*
 * Random bytes for keys, salts and wire-visible padding, taken from a
 * buffer that one RAND_bytes call fills for many uses: each call takes
 * the generator's lock and checks for a fork, about 1.2 us here however
 * few bytes it makes.  Bytes handed out are wiped from the buffer; a
 * pool filled before a fork is thrown away in the child, so that two
 * processes never hand out the same bytes.
 *
 * Header only: each user keeps its own pool (static, or __thread where
 * threads could share it), so nothing is linked in.
 */
#ifndef OSTP_RANDPOOL_H
#define OSTP_RANDPOOL_H

#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include <openssl/rand.h>

struct randpool {
	unsigned char	 b[1024];
	size_t		 left;		/* unused bytes, at the front */
	unsigned int	 forks;		/* randpool_forks when filled */
};

/*
 * Forks this process came through, counted by a handler each file that
 * uses a pool registers once (a getpid() per use was a system call per
 * connection, and a pass through the worker's seccomp filter).
 */
static unsigned int	randpool_forks;
static int		randpool_registered;

static inline void
randpool_forked(void)
{
	randpool_forks++;
}

/* The fork count, from 1 once the handler is in; 0: it cannot be. */
static inline unsigned int
randpool_generation(void)
{
	if (!randpool_registered) {
		if (pthread_atfork(NULL, NULL, randpool_forked) != 0)
			return 0;
		randpool_registered = 1;
		randpool_forks++;
	}
	return randpool_forks;
}

/* n bytes into p: 0, or -1 (no randomness). */
static inline int
randpool_bytes(struct randpool *rp, void *p, size_t n)
{
	unsigned char *q = p;
	unsigned int gen = randpool_generation();
	size_t k;

	if (gen == 0)
		return -1;
	if (rp->forks != gen) {
		explicit_bzero(rp->b, sizeof(rp->b));
		rp->left = 0;
		rp->forks = gen;
	}
	while (n > 0) {
		if (rp->left == 0) {
			if (RAND_bytes(rp->b, (int)sizeof(rp->b)) != 1)
				return -1;
			rp->left = sizeof(rp->b);
		}
		k = n < rp->left ? n : rp->left;
		rp->left -= k;
		memcpy(q, rp->b + rp->left, k);
		explicit_bzero(rp->b + rp->left, k);
		q += k;
		n -= k;
	}
	return 0;
}

#endif
