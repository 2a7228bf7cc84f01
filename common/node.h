/*
 * Node URLs, the unit of configuration (-L, -F, ServeNodes, ChainNodes):
 *
 *	[scheme://][user[:pass]@][host]:port[/remote[,remote...]][?k=v&...]
 */
#ifndef OSTP_NODE_H
#define OSTP_NODE_H

#include <sys/queue.h>

#include "compat.h"
#include <stddef.h>
#include <stdint.h>

struct node_param {
	char			*key;
	char			*val;
	TAILQ_ENTRY(node_param)	 entry;
};

struct node {
	char			*url;		/* for messages: secrets
						   masked (node_display) */
	char			*raw;		/* as given: the effective
						   configuration only */
	char			*scheme;	/* as written ("auto" if none) */
	char			*proto;		/* normalised protocol */
	char			*transport;	/* normalised transport */
	char			*user;		/* NULL when absent */
	char			*pass;
	char			*host;		/* "" = all interfaces */
	uint16_t		 port;
	char			**remotes;
	size_t			 nremotes;
	TAILQ_HEAD(, node_param) params;
};

int		 node_parse(const char *url, struct node **, char *err,
		    size_t errlen);
void		 node_free(struct node *);
/* A URL's form for messages and logs: passwords and keys as ***. */
char		*node_display(const char *url);
/* 1: a parameter whose value messages must not show. */
int		 node_param_secret(const char *key, const char *val);
const char	*node_param(const struct node *, const char *key);
/* A parameter's new value, in the URL's text too (0, or -1). */
int		 node_param_replace(struct node *, const char *key,
		    const char *val);
/* Typed parameter readers: 0 = absent (default kept), 1 = set, -1 = bad. */
int		 node_param_uint(const struct node *, const char *key,
		    unsigned long min, unsigned long max, unsigned long *,
		    char *err, size_t errlen);
/*
 * Comma lists: the next non-empty item of *pp, blanks trimmed, as a span
 * [*item, *item + *len); 0 at the end of the list.
 */
int		 list_next(const char **pp, const char **item, size_t *len);
/* A decimal port of len digits, 0-65535; 0 on success. */
int		 port_parse(const char *, size_t len, uint16_t *);
/* Go durations (30s, 1m, 500ms, 1h2m) or bare seconds -> ms. */
int		 duration_parse(const char *, unsigned long *msec);
int		 node_param_duration(const struct node *, const char *key,
		    unsigned long *msec, char *err, size_t errlen);

#endif
