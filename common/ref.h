/*
 * Reference counts for whatever a live reload replaces.
 *
 * The rule: an object that a reload may replace (the contents of a
 * secrets, bypass, hosts, peer or resolver file, and the member set a
 * chain position builds from a peer file) embeds a struct ref as its
 * first member.  The live slot that publishes it holds one reference;
 * replacing the slot drops only that one.  Code that uses the object
 * within one call, without going back to the event loop, reads the slot
 * and needs nothing more.  Code that keeps a pointer into the object
 * across a callback (a chain dial waiting on a hop, a probe) takes its
 * own reference with ref_get and drops it with ref_put when done; the
 * object is freed by the last ref_put, so an operation always finishes
 * with what it started with, and a write into an object already
 * replaced (a fail count) lands in memory still alive and is harmless.
 *
 * The worker is single-threaded: no atomics.  File pushes from the
 * monitor are applied only from the event loop, never inside a
 * synchronous request (see mm_wait), so a function on the stack never
 * sees an object it read a moment ago disappear.  The configuration
 * itself (struct conf) is never replaced inside a worker: SIGHUP starts
 * a new worker generation and the old one drains with its own.
 */
#ifndef OSTP_REF_H
#define OSTP_REF_H

#include <stdlib.h>

struct ref {
	unsigned int	 n;
	void		(*free)(void *);	/* gets the object */
};

/* One reference, the creator's; fn frees the object. */
static inline void
ref_init(void *obj, void (*fn)(void *))
{
	struct ref *r = obj;

	r->n = 1;
	r->free = fn;
}

/* Another reference to obj (which may be NULL); returns obj. */
static inline void *
ref_get(void *obj)
{
	struct ref *r = obj;

	if (r != NULL) {
		if (r->n == 0 || r->n == ~0U)
			abort();	/* already freed, or overflow */
		r->n++;
	}
	return obj;
}

/* Drop a reference to obj (NULL is fine); the last one frees it. */
static inline void
ref_put(void *obj)
{
	struct ref *r = obj;

	if (r == NULL)
		return;
	if (r->n == 0)
		abort();		/* one put too many */
	if (--r->n == 0)
		r->free(obj);
}

#endif
