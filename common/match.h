/*
 * Matchers for the gost control plane (spec/gost.md 3.3, 3.4): bypass
 * lists of IPs, CIDRs and domain globs, and whitelist/blacklist
 * permission rules.  Pure functions: no I/O, no logging.
 */
#ifndef OSTP_MATCH_H
#define OSTP_MATCH_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "ref.h"

#define MATCH_MAX_PATTERN	1024	/* one bypass matcher */
#define MATCH_MAX_LIST		65536	/* an inline bypass= value */
#define PERM_MAX_LEN		65536	/* a whitelist=/blacklist= value */
#define PERM_DEFAULT_PORT	80	/* gost: an address without port */

enum matcher_kind {
	MATCHER_IP,
	MATCHER_CIDR,
	MATCHER_GLOB,
};

struct matcher {
	enum matcher_kind	 kind;
	int			 family;	/* IP, CIDR: AF_INET(6) */
	unsigned char		 addr[16];	/* CIDR: already masked */
	int			 plen;
	char			*glob;		/* GLOB: lower-cased */
	char			*exact;		/* ".x" form: "x", else NULL */
	TAILQ_ENTRY(matcher)	 entry;
};

struct matcher_set {
	struct ref		 ref;		/* first: see ref.h */
	TAILQ_HEAD(, matcher)	 list;
	size_t			 count;
	int			 reversed;	/* bypass what is NOT matched */
};

struct matcher_set *matcher_set_new(void);
void		 matcher_set_free(struct matcher_set *);
/* Add one matcher; an empty pattern is refused. */
int		 matcher_set_add(struct matcher_set *, const char *pattern,
		    char *err, size_t errlen);
/*
 * An inline "bypass=" value: comma-separated matchers, blanks around
 * them ignored, empty items skipped; leading "~" = reversed.
 */
int		 matcher_set_parse_list(const char *list, struct matcher_set **,
		    char *err, size_t errlen);
/* 1 when some matcher matches addr ("host", "host:port", "[v6]:port"). */
int		 matcher_set_match(const struct matcher_set *,
		    const char *addr);
/* 1 when addr is bypassed: matched, or not matched on a reversed set. */
int		 bypass_match(const struct matcher_set *, const char *addr);

struct perm_port_range {
	uint16_t		 min;
	uint16_t		 max;
};

struct perm_rule {
	char			**actions;	/* "*" globs */
	size_t			  nactions;
	char			**hosts;	/* "*" globs, lower-cased */
	size_t			  nhosts;
	struct perm_port_range	 *ports;
	size_t			  nports;
	TAILQ_ENTRY(perm_rule)	  entry;
};

struct permissions {
	TAILQ_HEAD(, perm_rule)	 rules;
	size_t			 count;
};

/* Space-separated "actions:hosts:ports" rules; empty input is refused. */
int		 permission_parse(const char *, struct permissions **,
		    char *err, size_t errlen);
void		 permission_free(struct permissions *);
/* 1 when some rule covers action, host and port. */
int		 permission_match(const struct permissions *,
		    const char *action, const char *host, uint16_t port);
/*
 * gost's Can(): (no whitelist or it matches) and (no blacklist or it does
 * not match).  NULL or an empty set counts as no list.
 */
int		 access_allowed(const struct permissions *white,
		    const struct permissions *black, const char *action,
		    const char *host, uint16_t port);
/*
 * Split "host:port", "[v6]:port", "[v6]", a bare IPv6 literal or a bare
 * host; a missing port is PERM_DEFAULT_PORT.  -1 when malformed or when
 * host does not fit.
 */
int		 perm_split_addr(const char *addr, char *host, size_t hostlen,
		    uint16_t *port);

#endif
