/*
 * Live files (core/reload.c): bypass lists, hosts, secrets, resolvers,
 * peers and ip= lists read through the monitor and parsed again when
 * they change.
 */
#ifndef OSTP_CORE_RELOAD_H
#define OSTP_CORE_RELOAD_H

struct worker;

enum reload_kind {
	RELOAD_BYPASS,
	RELOAD_HOSTS,
	RELOAD_SECRETS,
	RELOAD_RESOLVER,
	RELOAD_PEERS,
	RELOAD_IPS,		/* a chain node's ip= file */
};

/* hook (may be NULL) runs after every successful load, the first too. */
int	reload_register(struct worker *, const char *path, enum reload_kind,
	    void **obj, void (*hook)(void *), void *hookctx);
void	reload_file(struct worker *, const char *path, int fd);

#endif
