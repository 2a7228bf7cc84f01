/*
 * Random bytes for keys, salts and wire-visible padding, taken from a
 * buffer that one RAND_bytes call fills for many uses: each call takes
 * the generator's lock and checks for a fork, about 1.2 us here however
 * few bytes it makes.  Bytes handed out are wiped from the buffer; a
 * pool filled by another process (a fork) is thrown away, so that two
 * processes never hand out the same bytes.
 *
 * Header only: each user keeps its own pool (static, or __thread where
 * threads could share it), so nothing is linked in.
 */
#ifndef OSTP_RANDPOOL_H
#define OSTP_RANDPOOL_H

#include <sys/types.h>

#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

struct randpool {
	unsigned char	 b[1024];
	size_t		 left;		/* unused bytes, at the front */
	pid_t		 pid;		/* who filled it */
};

/* n bytes into p: 0, or -1 (no randomness). */
static inline int
randpool_bytes(struct randpool *rp, void *p, size_t n)
{
	unsigned char *q = p;
	pid_t pid = getpid();
	size_t k;

	if (rp->pid != pid) {
		explicit_bzero(rp->b, sizeof(rp->b));
		rp->left = 0;
		rp->pid = pid;
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
