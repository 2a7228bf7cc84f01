/* What glibc lacks that the BSD-style code here expects. */
#ifndef OSTP_COMPAT_H
#define OSTP_COMPAT_H

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

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

/* OpenBSD's: wipe, then free (secrets, configuration text). */
static inline void
freezero(void *p, size_t n)
{
	if (p == NULL)
		return;
	explicit_bzero(p, n);
	free(p);
}

#endif
