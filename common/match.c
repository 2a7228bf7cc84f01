/*
 * Bypass matchers and permission rules, after gost v2 bypass.go and
 * permissions.go (spec/gost.md 3.3, 3.4).  Everything here is a pure
 * function of its arguments.
 */
#include "err.h"
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "match.h"
#include "node.h"

/* Longer target addresses never match: no real host name is this long. */
#define MATCH_MAX_ADDR		1024

static int	is_ctrl(int);

/* ASCII only, whatever the locale. */
static int
lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static int
is_ctrl(int c)
{
	return (unsigned char)c < 0x20 || c == 0x7f;
}

/*
 * An IP literal in [s, s+len).  With unmap, an IPv4-mapped IPv6 address
 * becomes IPv4, as Go's net.IP Equal() and IPNet.Contains() see it.
 */
static int
ip_parse(const char *s, size_t len, int unmap, int *family,
    unsigned char *addr)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in_addr a4;
	struct in6_addr a6;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		*family = AF_INET;
		memset(addr, 0, 16);
		memcpy(addr, &a4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, buf, &a6) == 1) {
		memset(addr, 0, 16);
		if (unmap && IN6_IS_ADDR_V4MAPPED(&a6)) {
			*family = AF_INET;
			memcpy(addr, &a6.s6_addr[12], 4);
		} else {
			*family = AF_INET6;
			memcpy(addr, &a6, 16);
		}
		return 0;
	}
	return -1;
}

static int
prefix_equal(const unsigned char *a, const unsigned char *b, int plen)
{
	int full = plen / 8, rest = plen % 8;
	unsigned char mask;

	if (memcmp(a, b, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

static int
cidr_parse(const char *s, int *family, unsigned char *addr, int *plen)
{
	const char *slash, *p;
	int v = 0, max, i;

	if ((slash = strchr(s, '/')) == NULL)
		return -1;
	if (ip_parse(s, slash - s, 0, family, addr) == -1)
		return -1;
	max = *family == AF_INET ? 32 : 128;
	for (p = slash + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || p - slash > 3)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (p == slash + 1 || v > max)
		return -1;
	/* Go's ParseCIDR keeps the network, not the host bits. */
	for (i = 0; i < 16; i++) {
		if (i * 8 >= v)
			addr[i] = 0;
		else if (i * 8 + 8 > v)
			addr[i] &= (unsigned char)(0xff << (8 - (v - i * 8)));
	}
	*plen = v;
	return 0;
}

/* Length of the UTF-8 sequence at s[i]; 1 for a malformed one, as Go. */
static size_t
utf8_width(const char *s, size_t len, size_t i)
{
	unsigned char c = (unsigned char)s[i];
	size_t n, k;

	if (c < 0xc0)
		return 1;
	else if (c < 0xe0)
		n = 2;
	else if (c < 0xf0)
		n = 3;
	else if (c < 0xf8)
		n = 4;
	else
		return 1;
	if (n > len - i)
		return 1;
	for (k = 1; k < n; k++)
		if (((unsigned char)s[i + k] & 0xc0) != 0x80)
			return 1;
	return n;
}

/*
 * Match [s, s+slen) against a lower-cased pattern, ignoring the subject's
 * case.  '*' matches any run, dots included (gobwas/glob compiled without
 * separators, ryanuber/go-glob); with qmark, '?' matches one character
 * (gobwas); without, '?' is literal (go-glob).  Other characters are
 * literal: gobwas classes and alternatives are not supported.  Iterative,
 * backtracking only to the last '*': O(pattern * subject).
 */
static int
glob_match(const char *pat, const char *s, size_t slen, int qmark)
{
	const char *p = pat, *star_p = NULL;
	size_t i = 0, star_i = 0;

	while (i < slen) {
		if (*p == '*') {
			star_p = ++p;
			star_i = i;
			continue;
		}
		if (qmark && *p == '?') {
			i += utf8_width(s, slen, i);
			p++;
			continue;
		}
		if (*p != '\0' && *p == lower((unsigned char)s[i])) {
			i++;
			p++;
			continue;
		}
		if (star_p == NULL)
			return 0;
		p = star_p;
		star_i += qmark ? utf8_width(s, slen, star_i) : 1;
		i = star_i;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* Is [s, s+len), lower-cased, equal to the lower-case string l? */
static int
eq_lower(const char *l, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (l[i] == '\0' || l[i] != lower((unsigned char)s[i]))
			return 0;
	return l[len] == '\0';
}

static char *
strndup_lower(const char *s, size_t len)
{
	char *d;
	size_t i;

	if ((d = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		d[i] = (char)lower((unsigned char)s[i]);
	d[len] = '\0';
	return d;
}

static void matcher_set_unref(void *);

struct matcher_set *
matcher_set_new(void)
{
	struct matcher_set *set;

	if ((set = calloc(1, sizeof(*set))) == NULL)
		return NULL;
	ref_init(set, matcher_set_unref);
	TAILQ_INIT(&set->list);
	return set;
}

/* The last reference is gone (ref.h). */
static void
matcher_set_unref(void *p)
{
	matcher_set_free(p);
}

static void
matcher_free(struct matcher *m)
{
	if (m == NULL)
		return;
	free(m->glob);
	free(m->exact);
	free(m);
}

void
matcher_set_free(struct matcher_set *set)
{
	struct matcher *m, *tmp;

	if (set == NULL)
		return;
	TAILQ_FOREACH_SAFE(m, &set->list, entry, tmp) {
		TAILQ_REMOVE(&set->list, m, entry);
		matcher_free(m);
	}
	free(set);
}

int
matcher_set_add(struct matcher_set *set, const char *pattern, char *err,
    size_t errlen)
{
	struct matcher *m;
	size_t len, i;

	if (pattern == NULL || *pattern == '\0') {
		seterr(err, errlen, "empty bypass pattern");
		return -1;
	}
	if ((len = strnlen(pattern, MATCH_MAX_PATTERN + 1)) >
	    MATCH_MAX_PATTERN) {
		seterr(err, errlen, "bypass pattern \"%.64s...\" too long "
		    "(max %d)", pattern, MATCH_MAX_PATTERN);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (is_ctrl(pattern[i]) || pattern[i] == ' ') {
			seterr(err, errlen, "bypass pattern \"%.64s\": blank "
			    "or control character", pattern);
			return -1;
		}
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	if (ip_parse(pattern, len, 1, &m->family, m->addr) == 0)
		m->kind = MATCHER_IP;
	else if (cidr_parse(pattern, &m->family, m->addr, &m->plen) == 0)
		m->kind = MATCHER_CIDR;
	else if (strchr(pattern, '/') != NULL) {
		/* gost would make a glob that never matches; say so. */
		seterr(err, errlen, "bypass pattern \"%.64s\": bad CIDR",
		    pattern);
		free(m);
		return -1;
	} else {
		m->kind = MATCHER_GLOB;
		if (pattern[0] == '.') {
			/*
			 * gost quirk: ".example.com" is the exact name
			 * "example.com" or the glob "*example.com", which
			 * also matches "badexample.com".  Kept for
			 * compatibility.
			 */
			m->exact = strndup_lower(pattern + 1, len - 1);
			if ((m->glob = malloc(len + 1)) != NULL) {
				m->glob[0] = '*';
				for (i = 1; i <= len; i++)
					m->glob[i] = (char)lower(
					    (unsigned char)pattern[i]);
			}
		} else
			m->glob = strndup_lower(pattern, len);
		if (m->glob == NULL || (pattern[0] == '.' &&
		    m->exact == NULL)) {
			matcher_free(m);
			seterr(err, errlen, "out of memory");
			return -1;
		}
	}
	TAILQ_INSERT_TAIL(&set->list, m, entry);
	set->count++;
	return 0;
}

int
matcher_set_parse_list(const char *list, struct matcher_set **setp,
    char *err, size_t errlen)
{
	struct matcher_set *set;
	const char *p, *next;
	char *item;
	size_t len;
	int r;

	*setp = NULL;
	if (list == NULL)
		list = "";
	if (strnlen(list, MATCH_MAX_LIST + 1) > MATCH_MAX_LIST) {
		seterr(err, errlen, "bypass list too long (max %d)",
		    MATCH_MAX_LIST);
		return -1;
	}
	if ((set = matcher_set_new()) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	/* gost trims every leading '~' (strings.TrimLeft). */
	for (p = list; *p == '~'; p++)
		set->reversed = 1;
	for (next = p; list_next(&next, &p, &len);) {
		if ((item = strndup(p, len)) == NULL) {
			seterr(err, errlen, "out of memory");
			matcher_set_free(set);
			return -1;
		}
		r = matcher_set_add(set, item, err, errlen);
		free(item);
		if (r == -1) {
			matcher_set_free(set);
			return -1;
		}
	}
	*setp = set;
	return 0;
}

/* Is [s, s+len) a port gost's Contains() strips: digits, value > 0? */
static int
strip_port_ok(const char *s, size_t len)
{
	size_t i;
	int nonzero = 0;

	if (len == 0 || len > 18)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		if (s[i] != '0')
			nonzero = 1;
	}
	return nonzero;
}

/* The host part of a tested address, after net.SplitHostPort. */
static void
host_span(const char *addr, size_t len, const char **hp, size_t *hlp)
{
	const char *close, *colon, *rest;
	size_t restlen;

	*hp = addr;
	*hlp = len;
	if (len > 0 && addr[0] == '[') {
		if ((close = memchr(addr, ']', len)) == NULL ||
		    close == addr + 1)
			return;
		rest = close + 1;
		restlen = len - (rest - addr);
		/* "[v6]" alone is unwrapped too, which gost does not do. */
		if (restlen == 0 || (rest[0] == ':' &&
		    strip_port_ok(rest + 1, restlen - 1))) {
			*hp = addr + 1;
			*hlp = close - addr - 1;
		}
		return;
	}
	if ((colon = memrchr(addr, ':', len)) == NULL || colon == addr)
		return;
	if (memchr(addr, ':', colon - addr) != NULL)
		return;		/* a bare IPv6 literal, or garbage */
	if (!strip_port_ok(colon + 1, len - (colon + 1 - addr)))
		return;
	*hlp = colon - addr;
}

int
matcher_set_match(const struct matcher_set *set, const char *addr)
{
	const struct matcher *m;
	const char *h;
	unsigned char ip[16];
	size_t len, hl;
	int family, isip;

	if (set == NULL || addr == NULL || *addr == '\0')
		return 0;
	if ((len = strnlen(addr, MATCH_MAX_ADDR + 1)) > MATCH_MAX_ADDR)
		return 0;
	host_span(addr, len, &h, &hl);
	isip = ip_parse(h, hl, 1, &family, ip) == 0;
	TAILQ_FOREACH(m, &set->list, entry) {
		switch (m->kind) {
		case MATCHER_IP:
			if (isip && family == m->family &&
			    memcmp(ip, m->addr, 16) == 0)
				return 1;
			break;
		case MATCHER_CIDR:
			if (isip && family == m->family &&
			    prefix_equal(ip, m->addr, m->plen))
				return 1;
			break;
		case MATCHER_GLOB:
			/* As in gost, a glob sees IP literals too. */
			if (m->exact != NULL && eq_lower(m->exact, h, hl))
				return 1;
			if (glob_match(m->glob, h, hl, 1))
				return 1;
			break;
		}
	}
	return 0;
}

int
bypass_match(const struct matcher_set *set, const char *addr)
{
	int matched;

	/* gost: an empty bypass bypasses nothing, reversed or not. */
	if (set == NULL || set->count == 0 || addr == NULL || *addr == '\0')
		return 0;
	matched = matcher_set_match(set, addr);
	return set->reversed ? !matched : matched;
}

/* Permissions. */

static void
perm_rule_free(struct perm_rule *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nactions; i++)
		free(r->actions[i]);
	free(r->actions);
	for (i = 0; i < r->nhosts; i++)
		free(r->hosts[i]);
	free(r->hosts);
	free(r->ports);
	free(r);
}

void
permission_free(struct permissions *perms)
{
	struct perm_rule *r, *tmp;

	if (perms == NULL)
		return;
	TAILQ_FOREACH_SAFE(r, &perms->rules, entry, tmp) {
		TAILQ_REMOVE(&perms->rules, r, entry);
		perm_rule_free(r);
	}
	free(perms);
}

/* Items of a comma list in [s, s+len); 0 when one is empty. */
static size_t
list_count(const char *s, size_t len)
{
	size_t i, n = 1, itemlen = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == ',') {
			if (itemlen == 0)
				return 0;
			n++;
			itemlen = 0;
		} else
			itemlen++;
	}
	return itemlen == 0 ? 0 : n;
}

static int
glob_list_parse(const char *rule, const char *what, const char *s,
    size_t len, char ***vp, size_t *np, char *err, size_t errlen)
{
	size_t n, i, start, k;
	char **v;

	if ((n = list_count(s, len)) == 0) {
		seterr(err, errlen, "permission rule \"%.128s\": empty %s",
		    rule, what);
		return -1;
	}
	if ((v = calloc(n, sizeof(*v))) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	*vp = v;
	for (i = 0, start = 0, k = 0; i <= len; i++) {
		if (i < len && s[i] != ',')
			continue;
		if ((v[k] = strndup_lower(s + start, i - start)) == NULL) {
			seterr(err, errlen, "out of memory");
			return -1;
		}
		*np = ++k;
		start = i + 1;
	}
	return 0;
}

static int
port_list_parse(const char *rule, const char *s, size_t len,
    struct perm_port_range **vp, size_t *np, char *err, size_t errlen)
{
	struct perm_port_range *v;
	const char *item, *dash;
	size_t n, i, start, itemlen;

	if ((n = list_count(s, len)) == 0) {
		seterr(err, errlen, "permission rule \"%.128s\": empty ports",
		    rule);
		return -1;
	}
	if ((v = calloc(n, sizeof(*v))) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	*vp = v;
	for (i = 0, start = 0; i <= len; i++) {
		if (i < len && s[i] != ',')
			continue;
		item = s + start;
		itemlen = i - start;
		start = i + 1;
		if (itemlen == 1 && item[0] == '*') {
			v[*np].min = 0;
			v[*np].max = 65535;
		} else if ((dash = memchr(item, '-', itemlen)) == NULL) {
			if (port_parse(item, itemlen, &v[*np].min) == -1)
				goto bad;
			v[*np].max = v[*np].min;
		} else {
			if (port_parse(item, dash - item, &v[*np].min) == -1 ||
			    port_parse(dash + 1, itemlen - (dash + 1 - item),
			    &v[*np].max) == -1)
				goto bad;
			/* gost swaps a reversed range; refuse it instead. */
			if (v[*np].min > v[*np].max) {
				seterr(err, errlen, "permission rule "
				    "\"%.128s\": port range \"%.*s\" starts "
				    "after its end", rule, (int)itemlen, item);
				return -1;
			}
		}
		(*np)++;
	}
	return 0;
 bad:
	seterr(err, errlen, "permission rule \"%.128s\": bad port \"%.*s\" "
	    "(N, N-M or *, ports 0-65535)", rule, (int)(itemlen > 32 ? 32 :
	    itemlen), item);
	return -1;
}

static int
perm_rule_parse(const char *s, size_t len, struct perm_rule **rp, char *err,
    size_t errlen)
{
	struct perm_rule *r = NULL;
	const char *first, *last;
	char *rule;
	int ret = -1;

	*rp = NULL;
	if ((rule = strndup(s, len)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	/*
	 * Actions end at the first ':' and ports start after the last, so
	 * hosts may be IPv6 literals; gost refuses those rules.
	 */
	first = strchr(rule, ':');
	last = strrchr(rule, ':');
	if (first == NULL || first == last) {
		seterr(err, errlen, "permission rule \"%.128s\": want "
		    "actions:hosts:ports", rule);
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	if (glob_list_parse(rule, "actions", rule, first - rule, &r->actions,
	    &r->nactions, err, errlen) == -1 ||
	    glob_list_parse(rule, "hosts", first + 1, last - first - 1,
	    &r->hosts, &r->nhosts, err, errlen) == -1 ||
	    port_list_parse(rule, last + 1, strlen(last + 1), &r->ports,
	    &r->nports, err, errlen) == -1)
		goto out;
	*rp = r;
	r = NULL;
	ret = 0;
 out:
	perm_rule_free(r);
	free(rule);
	return ret;
}

int
permission_parse(const char *s, struct permissions **pp, char *err,
    size_t errlen)
{
	struct permissions *perms;
	struct perm_rule *r;
	const char *p, *q;
	size_t len, i;

	*pp = NULL;
	if (s == NULL)
		s = "";
	if ((len = strnlen(s, PERM_MAX_LEN + 1)) > PERM_MAX_LEN) {
		seterr(err, errlen, "permission list too long (max %d)",
		    PERM_MAX_LEN);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (is_ctrl(s[i]) && s[i] != '\t') {
			seterr(err, errlen, "control character in permission "
			    "list");
			return -1;
		}
	}
	if ((perms = calloc(1, sizeof(*perms))) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	TAILQ_INIT(&perms->rules);
	for (p = s;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		for (q = p; *q != '\0' && *q != ' ' && *q != '\t'; q++)
			;
		if (perm_rule_parse(p, q - p, &r, err, errlen) == -1) {
			permission_free(perms);
			return -1;
		}
		TAILQ_INSERT_TAIL(&perms->rules, r, entry);
		perms->count++;
		p = q;
	}
	if (perms->count == 0) {
		seterr(err, errlen, "empty permission list");
		permission_free(perms);
		return -1;
	}
	*pp = perms;
	return 0;
}

static int
glob_list_match(char *const *v, size_t n, const char *s)
{
	size_t i, len = strlen(s);

	for (i = 0; i < n; i++)
		if (glob_match(v[i], s, len, 0))
			return 1;
	return 0;
}

int
permission_match(const struct permissions *perms, const char *action,
    const char *host, uint16_t port)
{
	const struct perm_rule *r;
	size_t i;

	if (perms == NULL || action == NULL || host == NULL)
		return 0;
	if (strnlen(host, MATCH_MAX_ADDR + 1) > MATCH_MAX_ADDR)
		return 0;
	TAILQ_FOREACH(r, &perms->rules, entry) {
		if (!glob_list_match(r->actions, r->nactions, action) ||
		    !glob_list_match(r->hosts, r->nhosts, host))
			continue;
		for (i = 0; i < r->nports; i++)
			if (port >= r->ports[i].min && port <= r->ports[i].max)
				return 1;
	}
	return 0;
}

int
access_allowed(const struct permissions *white,
    const struct permissions *black, const char *action, const char *host,
    uint16_t port)
{
	if (white != NULL && white->count > 0 &&
	    !permission_match(white, action, host, port))
		return 0;
	if (black != NULL && black->count > 0 &&
	    permission_match(black, action, host, port))
		return 0;
	return 1;
}

int
perm_split_addr(const char *addr, char *host, size_t hostlen, uint16_t *port)
{
	const char *h, *close, *colon, *pp = NULL;
	unsigned char ip[16];
	size_t len, hl;
	int family;

	if (addr == NULL || (len = strnlen(addr, MATCH_MAX_ADDR + 1)) == 0 ||
	    len > MATCH_MAX_ADDR)
		return -1;
	h = addr;
	hl = len;
	if (addr[0] == '[') {
		if ((close = strchr(addr, ']')) == NULL || close == addr + 1)
			return -1;
		h = addr + 1;
		hl = close - h;
		if (close[1] == ':')
			pp = close + 2;
		else if (close[1] != '\0')
			return -1;
	} else if ((colon = strchr(addr, ':')) != NULL) {
		if (strchr(colon + 1, ':') != NULL) {
			/* A bare IPv6 literal; gost refuses it. */
			if (ip_parse(addr, len, 0, &family, ip) == -1)
				return -1;
		} else {
			hl = colon - addr;
			pp = colon + 1;
		}
	}
	/* gost quirk: an address without a port gets ":80". */
	*port = PERM_DEFAULT_PORT;
	if (pp != NULL && port_parse(pp, strlen(pp), port) == -1)
		return -1;
	if (hl >= hostlen)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	return 0;
}
