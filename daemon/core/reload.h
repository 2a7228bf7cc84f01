/*
 * Live files (core/reload.c): bypass lists, hosts, secrets, resolvers,
 * peers and ip= lists read through the monitor and parsed again when
 * they change.
 */
#ifndef OSTP_CORE_RELOAD_H
#define OSTP_CORE_RELOAD_H

#include <stddef.h>

#include "ref.h"

struct worker;

enum reload_kind {
	RELOAD_BYPASS,
	RELOAD_HOSTS,
	RELOAD_SECRETS,
	RELOAD_RESOLVER,
	RELOAD_PEERS,
	RELOAD_IPS,		/* a chain node's ip= file */
	RELOAD_OSTPKEYS,	/* an OSTP server's keys= file */
};

/*
 * What a keys= file holds now (RELOAD_OSTPKEYS), reference-counted; a
 * keys file has no reload directive: it is looked at every 5 s, as
 * upstream's server does (spec/ostp.md §4.3).
 */
#define OSTP_KEYS_RELOAD_MS	5000
struct ostp_key_conf;
struct ostp_keyset {
	struct ref		 ref;
	struct ostp_key_conf	*keys;
	size_t			 n;
};

/* hook (may be NULL) runs after every successful load, the first too. */
int	reload_register(struct worker *, const char *path, enum reload_kind,
	    void **obj, void (*hook)(void *), void *hookctx);
void	reload_file(struct worker *, const char *path, int fd);

#endif
