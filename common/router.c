/*
 * Routing rules: the first rule whose every given condition matches picks
 * the outbound; none matching means the default outbound.  Within one
 * condition the listed values are alternatives.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <string.h>
#include <strings.h>

#include "conf.h"

static int
prefix_match(const struct inet_prefix *p, const struct sockaddr *sa)
{
	const unsigned char *a;
	int bits = p->plen, i;

	if (sa->sa_family != p->family)
		return 0;
	a = sa->sa_family == AF_INET ?
	    (const unsigned char *)&((const struct sockaddr_in *)(const void *)
	    sa)->sin_addr :
	    (const unsigned char *)&((const struct sockaddr_in6 *)(const void *)
	    sa)->sin6_addr;
	for (i = 0; bits >= 8; i++, bits -= 8)
		if (a[i] != p->addr[i])
			return 0;
	if (bits > 0) {
		unsigned char mask = (unsigned char)(0xff << (8 - bits));

		if ((a[i] & mask) != (p->addr[i] & mask))
			return 0;
	}
	return 1;
}

static uint16_t
sa_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)sa)->
		    sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_port);
	return 0;
}

/* "example.com" matches example.com and any name below it. */
static int
suffix_match(const char *suffix, const char *name)
{
	size_t ls = strlen(suffix), ln = strlen(name);

	if (ln < ls || strcasecmp(name + ln - ls, suffix) != 0)
		return 0;
	return ln == ls || name[ln - ls - 1] == '.' || suffix[0] == '.';
}

static int
rule_match(const struct conf *c, const struct rule_conf *r, size_t lis_idx,
    const struct sockaddr *dst, const char *domain, uint16_t port)
{
	size_t i;
	int m;

	if (r->ninbound > 0) {
		for (m = 0, i = 0; i < r->ninbound && !m; i++)
			m = strcmp(r->inbound[i], c->lis[lis_idx].tag) == 0;
		if (!m)
			return 0;
	}
	if (r->nports > 0) {
		for (m = 0, i = 0; i < r->nports && !m; i++)
			m = port >= r->ports[i].lo && port <= r->ports[i].hi;
		if (!m)
			return 0;
	}
	if (r->ncidr > 0) {
		for (m = 0, i = 0; dst != NULL && i < r->ncidr && !m; i++)
			m = prefix_match(&r->cidr[i], dst);
		if (!m)
			return 0;
	}
	if (r->ndomain > 0) {
		for (m = 0, i = 0; domain != NULL && i < r->ndomain && !m; i++)
			m = strcasecmp(r->domain[i], domain) == 0;
		if (!m)
			return 0;
	}
	if (r->ndomain_suffix > 0) {
		for (m = 0, i = 0; domain != NULL && i < r->ndomain_suffix &&
		    !m; i++)
			m = suffix_match(r->domain_suffix[i], domain);
		if (!m)
			return 0;
	}
	return 1;
}

size_t
router_pick(const struct conf *c, size_t lis_idx, const struct sockaddr *dst,
    const char *domain, uint16_t port)
{
	size_t rule;

	return router_pick_rule(c, lis_idx, dst, domain, port, &rule);
}

size_t
router_pick_rule(const struct conf *c, size_t lis_idx,
    const struct sockaddr *dst, const char *domain, uint16_t port,
    size_t *rule)
{
	size_t i;

	if (dst != NULL)
		port = sa_port(dst);

	for (i = 0; i < c->nrules; i++)
		if (rule_match(c, &c->rules[i], lis_idx, dst, domain, port)) {
			*rule = i;
			return c->rules[i].outbound;
		}
	*rule = SIZE_MAX;
	return c->default_ob;
}
