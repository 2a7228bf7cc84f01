/*
 * gost's reloadable files (spec/gost.md 3.3, 3.5-3.9).  Each parser reads
 * a whole buffer line by line through a bounded reader, and answers with
 * a fresh structure or one "NAME:LINE: message" line.  gost itself skips
 * most malformed lines silently; here they are errors, so that a typo is
 * seen at start or reload instead of at the first connection.
 */
#include "err.h"
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "cfgfile.h"
#include "match.h"
#include "node.h"

#define CFG_MAX_LIST		65536	/* an inline "dns=" value */
#define CFG_JSON_MAX_DEPTH	4	/* a peer file needs 2 */

struct cfg_reader {
	const char	*name;
	const char	*data;
	size_t		 len;
	size_t		 off;
	size_t		 lineno;
	char		 line[CFG_MAX_LINE + 1];
	char		*err;
	size_t		 errlen;
};

static void	cfg_error(struct cfg_reader *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
cfg_error(struct cfg_reader *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	seterr(r->err, r->errlen, "%s:%zu: %s", r->name, r->lineno, msg);
}

static void
cfg_reader_init(struct cfg_reader *r, const char *data, size_t len,
    const char *name, char *err, size_t errlen)
{
	r->name = name != NULL ? name : "(input)";
	r->data = data != NULL ? data : "";
	r->len = data != NULL ? len : 0;
	r->off = 0;
	r->lineno = 0;
	r->line[0] = '\0';
	r->err = err;
	r->errlen = errlen;
}

/* 1: the next line is in r->line; 0: end of input; -1: error. */
static int
cfg_next_line(struct cfg_reader *r)
{
	const char *p, *nl;
	size_t n;

	if (r->off >= r->len)
		return 0;
	r->lineno++;
	p = r->data + r->off;
	nl = memchr(p, '\n', r->len - r->off);
	n = nl != NULL ? (size_t)(nl - p) : r->len - r->off;
	r->off += n + (nl != NULL ? 1 : 0);
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n > CFG_MAX_LINE) {
		cfg_error(r, "line too long (max %d bytes)", CFG_MAX_LINE);
		return -1;
	}
	if (memchr(p, '\0', n) != NULL) {
		cfg_error(r, "NUL byte in line");
		return -1;
	}
	memcpy(r->line, p, n);
	r->line[n] = '\0';
	return 1;
}

static int
is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void
strip_comment(char *s)
{
	char *h;

	if ((h = strchr(s, '#')) != NULL)
		*h = '\0';
}

/* Split s in place at blanks. */
static int
cfg_split(struct cfg_reader *r, char *s, char **tok, size_t *ntok)
{
	size_t n = 0;

	for (;;) {
		while (is_blank((unsigned char)*s))
			s++;
		if (*s == '\0')
			break;
		if (n == CFG_MAX_FIELDS) {
			cfg_error(r, "too many fields (max %d)",
			    CFG_MAX_FIELDS);
			return -1;
		}
		tok[n++] = s;
		while (*s != '\0' && !is_blank((unsigned char)*s))
			s++;
		if (*s != '\0')
			*s++ = '\0';
	}
	*ntok = n;
	return 0;
}

/* Room for entry n of an array; callers check CFG_MAX_ENTRIES first. */
static int
cfg_grow(void **vp, size_t *alloc, size_t n, size_t size)
{
	void *nv;
	size_t na;

	if (n < *alloc)
		return 0;
	na = *alloc == 0 ? 16 : *alloc * 2;
	if (na > CFG_MAX_ENTRIES)
		na = CFG_MAX_ENTRIES;
	if (na <= n)
		return -1;
	if ((nv = reallocarray(*vp, na, size)) == NULL)
		return -1;
	*vp = nv;
	*alloc = na;
	return 0;
}

static int
cfg_room(struct cfg_reader *r, void **vp, size_t *alloc, size_t n,
    size_t size)
{
	if (n >= CFG_MAX_ENTRIES) {
		cfg_error(r, "too many entries (max %d)", CFG_MAX_ENTRIES);
		return -1;
	}
	if (cfg_grow(vp, alloc, n, size) == -1) {
		cfg_error(r, "out of memory");
		return -1;
	}
	return 0;
}

int
cfg_parse_duration(const char *s, long long *msec)
{
	static const struct {
		const char		*name;
		unsigned long long	 ns;
	} units[] = {
		/* Two-letter units first, so "ms" is not read as "m". */
		{ "ns", 1ULL },
		{ "us", 1000ULL },
		{ "\xc2\xb5s", 1000ULL },	/* U+00B5 micro sign */
		{ "\xce\xbcs", 1000ULL },	/* U+03BC mu */
		{ "ms", 1000000ULL },
		{ "s", 1000000000ULL },
		{ "m", 60000000000ULL },
		{ "h", 3600000000000ULL },
	};
	const unsigned long long max_ns =
	    (unsigned long long)CFG_DURATION_MAX_MS * 1000000ULL;
	unsigned long long total = 0, x, f, scale, mul = 0, add;
	const char *p, *q;
	size_t i, ulen;
	int neg = 0, digits;

	if (s == NULL)
		return -1;
	p = s;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (*p == '\0')
		return -1;
	/* A bare integer is seconds (gost's node parameters). */
	for (q = p; *q >= '0' && *q <= '9'; q++)
		;
	if (*q == '\0') {
		for (x = 0, q = p; *q != '\0'; q++) {
			x = x * 10 + (unsigned long long)(*q - '0');
			if (x > (unsigned long long)CFG_DURATION_MAX_MS / 1000)
				return -1;
		}
		*msec = (long long)(x * 1000) * (neg ? -1 : 1);
		return 0;
	}
	while (*p != '\0') {
		for (x = 0, digits = 0; *p >= '0' && *p <= '9'; p++) {
			x = x * 10 + (unsigned long long)(*p - '0');
			if (x > max_ns)
				return -1;
			digits++;
		}
		f = 0;
		scale = 1;
		if (*p == '.') {
			/* Six fractional digits are kept, the rest ignored. */
			for (p++; *p >= '0' && *p <= '9'; p++) {
				if (scale < 1000000) {
					f = f * 10 + (unsigned long long)
					    (*p - '0');
					scale *= 10;
				}
				digits++;
			}
		}
		if (digits == 0)
			return -1;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			ulen = strlen(units[i].name);
			if (strncmp(p, units[i].name, ulen) == 0) {
				mul = units[i].ns;
				p += ulen;
				break;
			}
		}
		if (i == sizeof(units) / sizeof(units[0]))
			return -1;
		if (x > max_ns / mul)
			return -1;
		/* f < 10^6 and mul <= 3.6e12: no overflow. */
		add = x * mul + f * mul / scale;
		if (add > max_ns || total > max_ns - add)
			return -1;
		total += add;
	}
	*msec = (long long)(total / 1000000ULL) * (neg ? -1 : 1);
	return 0;
}

static int
cfg_duration_arg(struct cfg_reader *r, char **tok, size_t ntok,
    int nonneg, long long *ms)
{
	if (ntok != 2) {
		cfg_error(r, "%s needs one duration", tok[0]);
		return -1;
	}
	if (cfg_parse_duration(tok[1], ms) == -1 || (nonneg && *ms < 0)) {
		cfg_error(r, "bad duration \"%.64s\" for %s (e.g. 30s, 1m, "
		    "500ms or seconds)", tok[1], tok[0]);
		return -1;
	}
	return 0;
}

static int
cfg_reload(struct cfg_reader *r, char **tok, size_t ntok,
    unsigned long *reload_ms)
{
	long long ms;

	if (cfg_duration_arg(r, tok, ntok, 0, &ms) == -1)
		return -1;
	/* gost: zero disables the watcher, negative stops it, 1 s minimum. */
	if (ms <= 0)
		*reload_ms = 0;
	else if (ms < 1000)
		*reload_ms = 1000;
	else
		*reload_ms = (unsigned long)ms;
	return 0;
}

/* Go's strconv.ParseBool. */
static int
parse_bool(const char *s, int *v)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true",
	    "True", NULL };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false",
	    "False", NULL };
	size_t i;

	for (i = 0; yes[i] != NULL; i++)
		if (strcmp(s, yes[i]) == 0) {
			*v = 1;
			return 0;
		}
	for (i = 0; no[i] != NULL; i++)
		if (strcmp(s, no[i]) == 0) {
			*v = 0;
			return 0;
		}
	return -1;
}

static int
parse_long(const char *s, long min, long max, long *v)
{
	long x = 0;
	int neg = 0, d;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		d = *s - '0';
		if (x > (LONG_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	if (neg)
		x = -x;
	if (x < min || x > max)
		return -1;
	*v = x;
	return 0;
}

static int
ip_literal(const char *s, int *family, unsigned char *addr)
{
	struct in_addr a4;
	struct in6_addr a6;

	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, &a4) == 1) {
		*family = AF_INET;
		memcpy(addr, &a4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		*family = AF_INET6;
		memcpy(addr, &a6, 16);
		return 0;
	}
	return -1;
}

/* A DNS name: letters, digits, '-', '_', non-empty labels of <= 63. */
static int
hostname_ok(const char *s, size_t len)
{
	size_t i, label = 0;
	int alldigits = 1;

	if (len == 0 || len > 253 || (len == 1 && s[0] == '.'))
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_'))
			return 0;
		if (s[i] < '0' || s[i] > '9')
			alldigits = 0;
		if (++label > 63)
			return 0;
	}
	/* "1.2.3.256" is a broken IPv4 address, not a name. */
	return !alldigits;
}

/* A constant-time string compare; only the lengths may show. */
static int
timingsafe_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n, i;
	volatile unsigned char d = 0;
	unsigned char ca, cb;

	n = la > lb ? la : lb;
	for (i = 0; i < n; i++) {
		ca = i < la ? (unsigned char)a[i] : 0;
		cb = i < lb ? (unsigned char)b[i] : 0;
		d |= ca ^ cb;
	}
	return d == 0 && la == lb;
}

/* Secrets. */

void
secrets_free(struct secrets *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		free(s->v[i].user);
		if (s->v[i].pass != NULL) {
			explicit_bzero(s->v[i].pass, strlen(s->v[i].pass));
			free(s->v[i].pass);
		}
	}
	free(s->v);
	explicit_bzero(s, sizeof(*s));
	free(s);
}

/* The last reference is gone (ref.h). */
static void
secrets_unref(void *p)
{
	secrets_free(p);
}

int
secrets_parse(const char *data, size_t len, const char *name,
    struct secrets **sp, char *err, size_t errlen)
{
	struct cfg_reader r;
	struct secrets *s;
	struct secret_entry *e;
	char *line, *end, *sp1, *pass, *tok[2];
	long long ms;
	int rv;

	*sp = NULL;
	cfg_reader_init(&r, data, len, name, err, errlen);
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		seterr(err, errlen, "%s: out of memory", r.name);
		return -1;
	}
	ref_init(s, secrets_unref);
	while ((rv = cfg_next_line(&r)) == 1) {
		/*
		 * As gost: tabs become spaces (inside a password too), the
		 * line is trimmed, a leading '#' makes a comment and any
		 * other '#' is data.  The password is the rest of the line.
		 */
		for (line = r.line; *line != '\0'; line++)
			if (*line == '\t')
				*line = ' ';
		for (line = r.line; is_blank((unsigned char)*line); line++)
			;
		end = line + strlen(line);
		while (end > line && is_blank((unsigned char)end[-1]))
			*--end = '\0';
		if (*line == '\0' || *line == '#')
			continue;
		pass = NULL;
		if ((sp1 = strchr(line, ' ')) != NULL) {
			*sp1 = '\0';
			for (pass = sp1 + 1; *pass == ' '; pass++)
				;
		}
		if (strcmp(line, "reload") == 0) {
			tok[0] = line;
			tok[1] = pass;
			if (cfg_duration_arg(&r, tok, pass != NULL ? 2 : 1, 0,
			    &ms) == -1)
				goto fail;
			s->reload_ms = ms <= 0 ? 0 : ms < 1000 ? 1000 :
			    (unsigned long)ms;
			continue;
		}
		if (cfg_room(&r, (void **)&s->v, &s->alloc, s->n,
		    sizeof(*s->v)) == -1)
			goto fail;
		e = &s->v[s->n];
		e->user = strdup(line);
		e->pass = strdup(pass != NULL ? pass : "");
		s->n++;
		if (e->user == NULL || e->pass == NULL) {
			cfg_error(&r, "out of memory");
			goto fail;
		}
	}
	explicit_bzero(r.line, sizeof(r.line));
	if (rv == -1)
		goto fail;
	*sp = s;
	return 0;
 fail:
	explicit_bzero(r.line, sizeof(r.line));
	secrets_free(s);
	return -1;
}

size_t
secrets_count(const struct secrets *s)
{
	return s != NULL ? s->n : 0;
}

int
secrets_check(const struct secrets *s, const char *user, const char *pass)
{
	size_t i;

	if (s == NULL || user == NULL)
		return 0;
	if (pass == NULL)
		pass = "";
	/* From the end: a later line for the same user wins, as in gost. */
	for (i = s->n; i > 0; i--)
		if (strcmp(s->v[i - 1].user, user) == 0)
			return timingsafe_streq(s->v[i - 1].pass, pass);
	return 0;
}

/* Bypass file. */

int
bypass_file_parse(const char *data, size_t len, const char *name,
    struct matcher_set **setp, unsigned long *reload_ms, char *err,
    size_t errlen)
{
	struct cfg_reader r;
	struct matcher_set *set;
	char *tok[CFG_MAX_FIELDS], msg[256];
	size_t ntok;
	int rv, reversed = 0;

	*setp = NULL;
	*reload_ms = 0;
	cfg_reader_init(&r, data, len, name, err, errlen);
	if ((set = matcher_set_new()) == NULL) {
		seterr(err, errlen, "%s: out of memory", r.name);
		return -1;
	}
	while ((rv = cfg_next_line(&r)) == 1) {
		strip_comment(r.line);
		if (cfg_split(&r, r.line, tok, &ntok) == -1)
			goto fail;
		if (ntok == 0)
			continue;
		if (strcmp(tok[0], "reload") == 0) {
			if (cfg_reload(&r, tok, ntok, reload_ms) == -1)
				goto fail;
		} else if (strcmp(tok[0], "reverse") == 0) {
			if (ntok != 2 || parse_bool(tok[1], &reversed) == -1) {
				cfg_error(&r, "reverse needs true or false");
				goto fail;
			}
		} else if (ntok != 1) {
			cfg_error(&r, "one matcher per line, extra text after "
			    "\"%.64s\"", tok[0]);
			goto fail;
		} else if (set->count >= CFG_MAX_ENTRIES) {
			cfg_error(&r, "too many entries (max %d)",
			    CFG_MAX_ENTRIES);
			goto fail;
		} else if (matcher_set_add(set, tok[0], msg,
		    sizeof(msg)) == -1) {
			cfg_error(&r, "%s", msg);
			goto fail;
		}
	}
	if (rv == -1)
		goto fail;
	/* gost quirk: the file's reverse, default false, beats a '~'. */
	set->reversed = reversed;
	*setp = set;
	return 0;
 fail:
	matcher_set_free(set);
	*reload_ms = 0;
	return -1;
}

/* ip= files. */

void
ip_list_free(struct ip_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->addrs[i]);
	free(l->addrs);
	free(l);
}

/* The last reference is gone (ref.h). */
static void
ip_list_unref(void *p)
{
	ip_list_free(p);
}

/* host, host:port, [v6]:port or a bare IPv6 address. */
static int
ip_entry_ok(const char *s)
{
	unsigned char addr[16];
	const char *colon, *host = s;
	char buf[CFG_MAX_LINE + 1];
	size_t hlen;
	long port;
	int family;

	if (ip_literal(s, &family, addr) == 0)
		return 1;
	if (s[0] == '[') {
		if ((colon = strstr(s, "]:")) == NULL)
			return 0;
		hlen = (size_t)(colon - s - 1);
		host = s + 1;
		colon++;
	} else if ((colon = strchr(s, ':')) != NULL) {
		if (strchr(colon + 1, ':') != NULL)
			return 0;
		hlen = (size_t)(colon - s);
	} else
		hlen = strlen(s);
	if (colon != NULL && (parse_long(colon + 1, 1, 65535, &port) == -1 ||
	    colon[1] == '+' || colon[1] == '-'))
		return 0;
	memcpy(buf, host, hlen);
	buf[hlen] = '\0';
	if (s[0] == '[')
		return ip_literal(buf, &family, addr) == 0 &&
		    family == AF_INET6;
	return ip_literal(buf, &family, addr) == 0 || hostname_ok(buf, hlen);
}

int
ip_list_parse(const char *data, size_t len, const char *name,
    struct ip_list **lp, char *err, size_t errlen)
{
	struct cfg_reader r;
	struct ip_list *l;
	char *tok[CFG_MAX_FIELDS];
	size_t ntok;
	int rv;

	*lp = NULL;
	cfg_reader_init(&r, data, len, name, err, errlen);
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		seterr(err, errlen, "%s: out of memory", r.name);
		return -1;
	}
	ref_init(l, ip_list_unref);
	while ((rv = cfg_next_line(&r)) == 1) {
		strip_comment(r.line);
		if (cfg_split(&r, r.line, tok, &ntok) == -1)
			goto fail;
		if (ntok == 0)
			continue;
		if (strcmp(tok[0], "reload") == 0) {
			if (cfg_reload(&r, tok, ntok, &l->reload_ms) == -1)
				goto fail;
			continue;
		}
		if (ntok != 1) {
			cfg_error(&r, "one address per line, extra text after "
			    "\"%.64s\"", tok[0]);
			goto fail;
		}
		if (!ip_entry_ok(tok[0])) {
			cfg_error(&r, "bad address \"%.64s\" (host, host:port "
			    "or [IPv6]:port)", tok[0]);
			goto fail;
		}
		if (cfg_room(&r, (void **)&l->addrs, &l->alloc, l->n,
		    sizeof(*l->addrs)) == -1)
			goto fail;
		if ((l->addrs[l->n] = strdup(tok[0])) == NULL) {
			cfg_error(&r, "out of memory");
			goto fail;
		}
		l->n++;
	}
	if (rv == -1)
		goto fail;
	*lp = l;
	return 0;
 fail:
	ip_list_free(l);
	return -1;
}

/* Hosts. */

static void
hosts_entry_release(struct hosts_entry *e)
{
	size_t i;

	free(e->name);
	for (i = 0; i < e->naliases; i++)
		free(e->aliases[i]);
	free(e->aliases);
}

void
hosts_free(struct hosts *h)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < h->n; i++)
		hosts_entry_release(&h->v[i]);
	free(h->v);
	free(h);
}

/* The last reference is gone (ref.h). */
static void
hosts_unref(void *p)
{
	hosts_free(p);
}

int
hosts_parse(const char *data, size_t len, const char *name,
    struct hosts **hp, char *err, size_t errlen)
{
	struct cfg_reader r;
	struct hosts *h;
	struct hosts_entry *e;
	char *tok[CFG_MAX_FIELDS];
	size_t ntok, i;
	int rv;

	*hp = NULL;
	cfg_reader_init(&r, data, len, name, err, errlen);
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		seterr(err, errlen, "%s: out of memory", r.name);
		return -1;
	}
	ref_init(h, hosts_unref);
	while ((rv = cfg_next_line(&r)) == 1) {
		strip_comment(r.line);
		if (cfg_split(&r, r.line, tok, &ntok) == -1)
			goto fail;
		if (ntok == 0)
			continue;
		if (strcmp(tok[0], "reload") == 0) {
			if (cfg_reload(&r, tok, ntok, &h->reload_ms) == -1)
				goto fail;
			continue;
		}
		if (cfg_room(&r, (void **)&h->v, &h->alloc, h->n,
		    sizeof(*h->v)) == -1)
			goto fail;
		e = &h->v[h->n];
		memset(e, 0, sizeof(*e));
		if (ip_literal(tok[0], &e->family, e->addr) == -1) {
			cfg_error(&r, "bad IP address \"%.64s\"", tok[0]);
			goto fail;
		}
		if (ntok < 2) {
			cfg_error(&r, "missing host name after %.64s", tok[0]);
			goto fail;
		}
		if (inet_ntop(e->family, e->addr, e->ip, sizeof(e->ip)) ==
		    NULL) {
			cfg_error(&r, "bad IP address \"%.64s\"", tok[0]);
			goto fail;
		}
		h->n++;		/* from here hosts_free() releases e */
		if ((e->name = strdup(tok[1])) == NULL)
			goto nomem;
		if (ntok > 2) {
			if ((e->aliases = calloc(ntok - 2,
			    sizeof(*e->aliases))) == NULL)
				goto nomem;
			for (i = 2; i < ntok; i++) {
				if ((e->aliases[i - 2] = strdup(tok[i])) ==
				    NULL)
					goto nomem;
				e->naliases++;
			}
		}
	}
	if (rv == -1)
		goto fail;
	*hp = h;
	return 0;
 nomem:
	cfg_error(&r, "out of memory");
 fail:
	hosts_free(h);
	return -1;
}

const struct hosts_entry *
hosts_lookup(const struct hosts *h, const char *name)
{
	const struct hosts_entry *hit = NULL, *e;
	size_t i, k;

	if (h == NULL || name == NULL || *name == '\0')
		return NULL;
	/*
	 * gost quirk: a canonical-name match ends the scan, an alias match
	 * does not, so a later line may override an earlier alias hit.
	 */
	for (i = 0; i < h->n; i++) {
		e = &h->v[i];
		if (strcasecmp(e->name, name) == 0)
			return e;
		for (k = 0; k < e->naliases; k++) {
			if (strcasecmp(e->aliases[k], name) == 0) {
				hit = e;
				break;
			}
		}
	}
	return hit;
}

/* Peer file. */

void
peer_conf_free(struct peer_conf *pc)
{
	size_t i;

	if (pc == NULL)
		return;
	for (i = 0; i < pc->nurls; i++)
		free(pc->urls[i]);
	free(pc->urls);
	free(pc);
}

/* The last reference is gone (ref.h). */
static void
peer_conf_unref(void *p)
{
	peer_conf_free(p);
}

static int
peer_strategy_parse(const char *s, enum peer_strategy *st)
{
	if (strcasecmp(s, "round") == 0)
		*st = PEER_STRATEGY_ROUND;
	else if (strcasecmp(s, "random") == 0)
		*st = PEER_STRATEGY_RANDOM;
	else if (strcasecmp(s, "fifo") == 0)
		*st = PEER_STRATEGY_FIFO;
	else
		return -1;
	return 0;
}

/* Check a node URL and keep it; msg gets the reason, without position. */
static int
peer_add_url(struct peer_conf *pc, const char *url, char *msg, size_t msglen)
{
	struct node *n;
	char nerr[256];

	if (node_parse(url, &n, nerr, sizeof(nerr)) == -1) {
		seterr(msg, msglen, "bad peer: %s", nerr);
		return -1;
	}
	node_free(n);
	if (pc->nurls >= CFG_MAX_ENTRIES) {
		seterr(msg, msglen, "too many entries (max %d)",
		    CFG_MAX_ENTRIES);
		return -1;
	}
	if (cfg_grow((void **)&pc->urls, &pc->alloc, pc->nurls,
	    sizeof(*pc->urls)) == -1 ||
	    (pc->urls[pc->nurls] = strdup(url)) == NULL) {
		seterr(msg, msglen, "out of memory");
		return -1;
	}
	pc->nurls++;
	return 0;
}

static void
peer_clear_urls(struct peer_conf *pc)
{
	size_t i;

	for (i = 0; i < pc->nurls; i++)
		free(pc->urls[i]);
	pc->nurls = 0;
}

static int
peer_conf_parse_text(struct cfg_reader *r, struct peer_conf *pc)
{
	char *tok[CFG_MAX_FIELDS], msg[384];
	size_t ntok;
	long long ms;
	long v;
	int rv;

	while ((rv = cfg_next_line(r)) == 1) {
		strip_comment(r->line);
		if (cfg_split(r, r->line, tok, &ntok) == -1)
			return -1;
		if (ntok == 0)
			continue;
		if (strcmp(tok[0], "reload") == 0) {
			if (cfg_reload(r, tok, ntok, &pc->reload_ms) == -1)
				return -1;
			continue;
		}
		if (strcmp(tok[0], "fail_timeout") == 0) {
			if (cfg_duration_arg(r, tok, ntok, 1, &ms) == -1)
				return -1;
			pc->fail_timeout_ms = (unsigned long)ms;
			pc->has_fail_timeout = 1;
			continue;
		}
		if (strcmp(tok[0], "strategy") != 0 &&
		    strcmp(tok[0], "max_fails") != 0 &&
		    strcmp(tok[0], "fastest_count") != 0 &&
		    strcmp(tok[0], "peer") != 0) {
			cfg_error(r, "unknown directive \"%.64s\"", tok[0]);
			return -1;
		}
		if (ntok != 2) {
			cfg_error(r, "%s needs one value", tok[0]);
			return -1;
		}
		if (strcmp(tok[0], "strategy") == 0) {
			if (peer_strategy_parse(tok[1], &pc->strategy) == -1) {
				cfg_error(r, "bad strategy \"%.64s\" (round, "
				    "random or fifo)", tok[1]);
				return -1;
			}
			pc->has_strategy = 1;
		} else if (strcmp(tok[0], "max_fails") == 0) {
			if (parse_long(tok[1], INT_MIN, INT_MAX, &v) == -1) {
				cfg_error(r, "bad max_fails \"%.64s\"", tok[1]);
				return -1;
			}
			pc->max_fails = (int)v;
			pc->has_max_fails = 1;
		} else if (strcmp(tok[0], "fastest_count") == 0) {
			if (parse_long(tok[1], 0, CFG_MAX_ENTRIES, &v) == -1) {
				cfg_error(r, "bad fastest_count \"%.64s\" "
				    "(0-%d)", tok[1], CFG_MAX_ENTRIES);
				return -1;
			}
			pc->fastest_count = (unsigned int)v;
			pc->has_fastest_count = 1;
		} else if (peer_add_url(pc, tok[1], msg, sizeof(msg)) == -1) {
			cfg_error(r, "%s", msg);
			return -1;
		}
	}
	return rv;
}

/*
 * JSON peer files.  A first pass with the event parser finds syntax
 * errors with their position, refuses deep nesting (yajl_tree_free
 * recurses) and strings with NUL bytes; the tree API then reads values.
 */
struct json_check {
	int	depth;
	int	too_deep;
	int	nul;
};

static int
json_check_open(void *ctx)
{
	struct json_check *jc = ctx;

	if (++jc->depth > CFG_JSON_MAX_DEPTH) {
		jc->too_deep = 1;
		return 0;
	}
	return 1;
}

static int
json_check_close(void *ctx)
{
	struct json_check *jc = ctx;

	jc->depth--;
	return 1;
}

static int
json_check_string(void *ctx, const unsigned char *s, size_t len)
{
	struct json_check *jc = ctx;

	if (memchr(s, '\0', len) != NULL) {
		jc->nul = 1;
		return 0;
	}
	return 1;
}

static const yajl_callbacks json_check_callbacks = {
	.yajl_string = json_check_string,
	.yajl_start_map = json_check_open,
	.yajl_map_key = json_check_string,
	.yajl_end_map = json_check_close,
	.yajl_start_array = json_check_open,
	.yajl_end_array = json_check_close,
};

static size_t
line_at(const char *buf, size_t off)
{
	size_t i, line = 1;

	for (i = 0; i < off; i++)
		if (buf[i] == '\n')
			line++;
	return line;
}

/* The line of the first "needle" in quotes; values only have a guess. */
static size_t
json_line_of(const char *buf, size_t len, const char *needle)
{
	size_t nl = strlen(needle), off;

	if (len < nl + 2)
		return 1;
	for (off = 0; off <= len - nl - 2; off++) {
		if (buf[off] == '"' && buf[off + nl + 1] == '"' &&
		    memcmp(buf + off + 1, needle, nl) == 0)
			return line_at(buf, off);
	}
	return 1;
}

static int
json_syntax_check(struct cfg_reader *r, const char *buf, size_t len)
{
	struct json_check jc;
	yajl_handle h;
	yajl_status st;
	unsigned char *ye;
	size_t off, n;
	char msg[128];

	memset(&jc, 0, sizeof(jc));
	if ((h = yajl_alloc(&json_check_callbacks, NULL, &jc)) == NULL) {
		cfg_error(r, "out of memory");
		return -1;
	}
	off = len;
	if ((st = yajl_parse(h, (const unsigned char *)buf, len)) !=
	    yajl_status_ok)
		off = yajl_get_bytes_consumed(h);
	else
		st = yajl_complete_parse(h);
	if (st == yajl_status_ok) {
		yajl_free(h);
		return 0;
	}
	if (jc.too_deep)
		snprintf(msg, sizeof(msg), "nested too deep");
	else if (jc.nul)
		snprintf(msg, sizeof(msg), "NUL in a string");
	else if ((ye = yajl_get_error(h, 0, NULL, 0)) != NULL) {
		snprintf(msg, sizeof(msg), "%s", (char *)ye);
		yajl_free_error(h, ye);
		n = strcspn(msg, "\r\n");
		msg[n] = '\0';
	} else
		snprintf(msg, sizeof(msg), "parse error");
	yajl_free(h);
	if (off > len)
		off = len;
	/* At the end of a file that ends in a newline: its last line. */
	if (off == len && len > 0 && buf[len - 1] == '\n')
		off--;
	r->lineno = line_at(buf, off);
	cfg_error(r, "bad JSON: %s", msg);
	return -1;
}

static int
json_int(yajl_val v, long long min, long long max, long long *out)
{
	if (!YAJL_IS_INTEGER(v))
		return -1;
	if (YAJL_GET_INTEGER(v) < min || YAJL_GET_INTEGER(v) > max)
		return -1;
	*out = YAJL_GET_INTEGER(v);
	return 0;
}

static int
peer_conf_parse_json(struct cfg_reader *r, struct peer_conf *pc)
{
	yajl_val tree = NULL, v, u;
	const char *key, *where;
	char *buf, ebuf[128], msg[384];
	long long x;
	size_t i, k;
	int ret = -1;

	r->lineno = 1;
	if (r->len > CFG_MAX_JSON) {
		cfg_error(r, "JSON peer file too large (max %d bytes)",
		    CFG_MAX_JSON);
		return -1;
	}
	if (memchr(r->data, '\0', r->len) != NULL) {
		cfg_error(r, "NUL byte in JSON");
		return -1;
	}
	if ((buf = malloc(r->len + 1)) == NULL) {
		cfg_error(r, "out of memory");
		return -1;
	}
	memcpy(buf, r->data, r->len);
	buf[r->len] = '\0';
	if (json_syntax_check(r, buf, r->len) == -1)
		goto out;
	if ((tree = yajl_tree_parse(buf, ebuf, sizeof(ebuf))) == NULL ||
	    !YAJL_IS_OBJECT(tree)) {
		cfg_error(r, "bad JSON: not an object");
		goto out;
	}
	/*
	 * Keys compare without case, as Go's encoding/json does.  The tree
	 * has no positions: a failure is placed at the first line quoting
	 * its key or value, found only then to keep big files linear.
	 */
	for (i = 0; i < tree->u.object.len; i++) {
		key = where = tree->u.object.keys[i];
		v = tree->u.object.values[i];
		if (YAJL_IS_NULL(v))
			continue;	/* Go leaves the field alone */
		if (strcasecmp(key, "strategy") == 0) {
			if (!YAJL_IS_STRING(v) || peer_strategy_parse(
			    YAJL_GET_STRING(v), &pc->strategy) == -1) {
				seterr(msg, sizeof(msg), "bad strategy "
				    "(round, random or fifo)");
				goto bad;
			}
			pc->has_strategy = 1;
		} else if (strcasecmp(key, "max_fails") == 0) {
			if (json_int(v, INT_MIN, INT_MAX, &x) == -1) {
				seterr(msg, sizeof(msg), "bad max_fails "
				    "(an integer)");
				goto bad;
			}
			pc->max_fails = (int)x;
			pc->has_max_fails = 1;
		} else if (strcasecmp(key, "fastest_count") == 0) {
			if (json_int(v, 0, CFG_MAX_ENTRIES, &x) == -1) {
				seterr(msg, sizeof(msg), "bad fastest_count "
				    "(0-%d)", CFG_MAX_ENTRIES);
				goto bad;
			}
			pc->fastest_count = (unsigned int)x;
			pc->has_fastest_count = 1;
		} else if (strcasecmp(key, "failtimeout") == 0) {
			/* A Go time.Duration: integer nanoseconds. */
			if (json_int(v, 0, CFG_DURATION_MAX_MS * 1000000LL,
			    &x) == -1) {
				seterr(msg, sizeof(msg), "bad FailTimeout "
				    "(integer nanoseconds)");
				goto bad;
			}
			pc->fail_timeout_ms = (unsigned long)(x / 1000000);
			pc->has_fail_timeout = 1;
		} else if (strcasecmp(key, "nodes") == 0) {
			if (!YAJL_IS_ARRAY(v)) {
				seterr(msg, sizeof(msg), "nodes must be an "
				    "array of node URLs");
				goto bad;
			}
			peer_clear_urls(pc);
			for (k = 0; k < v->u.array.len; k++) {
				u = v->u.array.values[k];
				if (!YAJL_IS_STRING(u)) {
					seterr(msg, sizeof(msg), "nodes[%zu] "
					    "is not a string", k);
					goto bad;
				}
				where = YAJL_GET_STRING(u);
				if (peer_add_url(pc, where, msg,
				    sizeof(msg)) == -1)
					goto bad;
			}
		} else {
			seterr(msg, sizeof(msg), "unknown key \"%.64s\"", key);
			goto bad;
		}
	}
	ret = 0;
	goto out;
 bad:
	r->lineno = json_line_of(buf, r->len, where);
	cfg_error(r, "%s", msg);
 out:
	if (tree != NULL)
		yajl_tree_free(tree);
	free(buf);
	return ret;
}

int
peer_conf_parse(const char *data, size_t len, const char *name,
    struct peer_conf **pcp, char *err, size_t errlen)
{
	struct cfg_reader r;
	struct peer_conf *pc;
	size_t i;
	int rv;

	*pcp = NULL;
	cfg_reader_init(&r, data, len, name, err, errlen);
	if ((pc = calloc(1, sizeof(*pc))) == NULL) {
		seterr(err, errlen, "%s: out of memory", r.name);
		return -1;
	}
	ref_init(pc, peer_conf_unref);
	for (i = 0; i < r.len && (is_blank((unsigned char)r.data[i]) ||
	    r.data[i] == '\n'); i++)
		;
	if (i < r.len && r.data[i] == '{')
		rv = peer_conf_parse_json(&r, pc);
	else
		rv = peer_conf_parse_text(&r, pc);
	if (rv == -1) {
		peer_conf_free(pc);
		return -1;
	}
	*pcp = pc;
	return 0;
}

/* Resolver. */

void
resolver_conf_free(struct resolver_conf *rc)
{
	size_t i;

	if (rc == NULL)
		return;
	for (i = 0; i < rc->nns; i++) {
		free(rc->ns[i].addr);
		free(rc->ns[i].hostname);
	}
	free(rc->ns);
	free(rc->domain);
	free(rc);
}

/* The last reference is gone (ref.h). */
static void
resolver_conf_unref(void *p)
{
	resolver_conf_free(p);
}

static int
ns_proto_parse(const char *s, enum ns_proto *proto, int *chain)
{
	static const struct {
		const char	*name;
		enum ns_proto	 proto;
	} protos[] = {
		{ "udp", NS_PROTO_UDP },
		{ "tcp", NS_PROTO_TCP },
		{ "tls", NS_PROTO_TLS },
		{ "https", NS_PROTO_HTTPS },
	};
	size_t i, n;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		n = strlen(protos[i].name);
		if (strncasecmp(s, protos[i].name, n) != 0)
			continue;
		if (s[n] == '\0')
			*chain = 0;
		else if (strcasecmp(s + n, "-chain") == 0)
			*chain = 1;
		else
			continue;
		*proto = protos[i].proto;
		return 0;
	}
	return -1;
}

/*
 * [s, s+len) is "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6
 * literal; host is an IP literal or a DNS name.  The result is
 * "host:port" or "[v6]:port", with defport when no port was given.
 */
static int
hostport_normalize(const char *s, size_t len, unsigned int defport,
    char **out)
{
	char host[256];
	const char *h, *close, *colon, *pp = NULL;
	unsigned char ip[16];
	size_t hl, i;
	unsigned long port = defport;
	int family = 0, r;

	h = s;
	hl = len;
	if (len > 0 && s[0] == '[') {
		if ((close = memchr(s, ']', len)) == NULL)
			return -1;
		h = s + 1;
		hl = close - h;
		if (close + 1 < s + len) {
			if (close[1] != ':')
				return -1;
			pp = close + 2;
		}
	} else if ((colon = memchr(s, ':', len)) != NULL &&
	    memchr(colon + 1, ':', len - (colon + 1 - s)) == NULL) {
		hl = colon - s;
		pp = colon + 1;
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (ip_literal(host, &family, ip) == 0) {
		if (family == AF_INET && h != s)
			return -1;	/* "[1.2.3.4]" */
	} else if (h != s || !hostname_ok(host, hl))
		return -1;
	if (pp != NULL) {
		if (pp == s + len || (size_t)(s + len - pp) > 5)
			return -1;
		for (port = 0, i = 0; pp + i < s + len; i++) {
			if (pp[i] < '0' || pp[i] > '9')
				return -1;
			port = port * 10 + (unsigned long)(pp[i] - '0');
		}
		if (port == 0 || port > 65535)
			return -1;
	}
	if (family == AF_INET6)
		r = asprintf(out, "[%s]:%lu", host, port);
	else
		r = asprintf(out, "%s:%lu", host, port);
	if (r == -1) {
		*out = NULL;
		return -1;
	}
	return 0;
}

/* A DoH URL: https:// or https-chain://, a host[:port], any path. */
static int
doh_url_normalize(const char *s, int *chain, char **out)
{
	const char *auth, *end, *p;
	char *hp;
	size_t alen;

	if (strncasecmp(s, "https://", 8) == 0) {
		auth = s + 8;
		*chain = 0;
	} else if (strncasecmp(s, "https-chain://", 14) == 0) {
		auth = s + 14;
		*chain = 1;
	} else
		return -1;
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return -1;
	end = auth + strcspn(auth, "/?#");
	alen = end - auth;
	if (alen == 0 || memchr(auth, '@', alen) != NULL)
		return -1;
	if (hostport_normalize(auth, alen, 443, &hp) == -1)
		return -1;
	free(hp);
	if (asprintf(out, "https://%s", auth) == -1) {
		*out = NULL;
		return -1;
	}
	return 0;
}

/* One nameserver from its fields: addr [proto [hostname]]. */
static int
ns_parse(char *const *f, size_t n, struct nameserver *ns, char *msg,
    size_t msglen)
{
	const char *addr = f[0];
	int urlchain = 0;

	memset(ns, 0, sizeof(*ns));
	if (n > 3) {
		seterr(msg, msglen, "too many fields for a nameserver "
		    "(addr [proto [hostname]])");
		return -1;
	}
	if (n > 1 && ns_proto_parse(f[1], &ns->proto, &ns->chain) == -1) {
		seterr(msg, msglen, "bad nameserver protocol \"%.32s\" (udp, "
		    "tcp, tls, https, or one of them with -chain)", f[1]);
		return -1;
	}
	/* Without a protocol, a URL says DoH (gost's dns= list does). */
	if (n == 1 && (strncasecmp(addr, "https://", 8) == 0 ||
	    strncasecmp(addr, "https-chain://", 14) == 0))
		ns->proto = NS_PROTO_HTTPS;
	if (ns->proto == NS_PROTO_HTTPS) {
		if (doh_url_normalize(addr, &urlchain, &ns->addr) == -1) {
			seterr(msg, msglen, "bad DoH URL \"%.128s\"", addr);
			return -1;
		}
		ns->chain |= urlchain;
	} else if (hostport_normalize(addr, strlen(addr),
	    ns->proto == NS_PROTO_TLS ? 853 : 53, &ns->addr) == -1) {
		seterr(msg, msglen, "bad nameserver address \"%.128s\" (IP, "
		    "host:port or [IPv6]:port)", addr);
		return -1;
	}
	if (n > 2) {
		if (!hostname_ok(f[2], strlen(f[2]))) {
			seterr(msg, msglen, "bad nameserver host name "
			    "\"%.64s\"", f[2]);
			free(ns->addr);
			ns->addr = NULL;
			return -1;
		}
		if ((ns->hostname = strdup(f[2])) == NULL) {
			seterr(msg, msglen, "out of memory");
			free(ns->addr);
			ns->addr = NULL;
			return -1;
		}
	}
	return 0;
}

static int
resolver_add_ns(struct cfg_reader *r, struct resolver_conf *rc,
    char *const *f, size_t n, const char *what)
{
	char msg[256];

	if (cfg_room(r, (void **)&rc->ns, &rc->alloc, rc->nns,
	    sizeof(*rc->ns)) == -1)
		return -1;
	if (ns_parse(f, n, &rc->ns[rc->nns], msg, sizeof(msg)) == -1) {
		cfg_error(r, "%s%s", what, msg);
		return -1;
	}
	rc->nns++;
	return 0;
}

int
resolver_conf_parse(const char *data, size_t len, const char *name,
    struct resolver_conf **rcp, char *err, size_t errlen)
{
	struct cfg_reader r;
	struct resolver_conf *rc;
	char *tok[CFG_MAX_FIELDS];
	size_t ntok;
	long long ms;
	int rv;

	*rcp = NULL;
	cfg_reader_init(&r, data, len, name, err, errlen);
	if ((rc = calloc(1, sizeof(*rc))) == NULL) {
		seterr(err, errlen, "%s: out of memory", r.name);
		return -1;
	}
	ref_init(rc, resolver_conf_unref);
	while ((rv = cfg_next_line(&r)) == 1) {
		strip_comment(r.line);
		if (cfg_split(&r, r.line, tok, &ntok) == -1)
			goto fail;
		if (ntok == 0)
			continue;
		if (strcmp(tok[0], "search") == 0 ||
		    strcmp(tok[0], "sortlist") == 0 ||
		    strcmp(tok[0], "options") == 0)
			continue;	/* resolv.conf lines gost ignores */
		if (strcmp(tok[0], "reload") == 0) {
			if (cfg_reload(&r, tok, ntok, &rc->reload_ms) == -1)
				goto fail;
		} else if (strcmp(tok[0], "timeout") == 0) {
			if (cfg_duration_arg(&r, tok, ntok, 1, &ms) == -1)
				goto fail;
			rc->timeout_ms = (unsigned long)ms;
			rc->has_timeout = 1;
		} else if (strcmp(tok[0], "ttl") == 0) {
			if (cfg_duration_arg(&r, tok, ntok, 0, &ms) == -1)
				goto fail;
			rc->ttl_ms = ms;
			rc->has_ttl = 1;
		} else if (strcmp(tok[0], "domain") == 0) {
			if (ntok != 2 || !hostname_ok(tok[1],
			    strlen(tok[1]))) {
				cfg_error(&r, "domain needs one domain name");
				goto fail;
			}
			free(rc->domain);
			if ((rc->domain = strdup(tok[1])) == NULL) {
				cfg_error(&r, "out of memory");
				goto fail;
			}
		} else if (strcmp(tok[0], "prefer") == 0) {
			if (ntok == 2 && strcasecmp(tok[1], "ipv4") == 0)
				rc->prefer = AF_INET;
			else if (ntok == 2 && strcasecmp(tok[1], "ipv6") == 0)
				rc->prefer = AF_INET6;
			else {
				cfg_error(&r, "prefer needs ipv4 or ipv6");
				goto fail;
			}
		} else if (strcmp(tok[0], "ip") == 0) {
			if (ntok != 2 || ip_literal(tok[1], &rc->ip_family,
			    rc->ip) == -1) {
				cfg_error(&r, "ip needs one IP address");
				goto fail;
			}
			rc->has_ip = 1;
		} else if (strcmp(tok[0], "nameserver") == 0) {
			if (ntok < 2) {
				cfg_error(&r, "nameserver needs an address");
				goto fail;
			}
			if (resolver_add_ns(&r, rc, tok + 1, ntok - 1, "") ==
			    -1)
				goto fail;
		} else if (strpbrk(tok[0], ".:[") == NULL) {
			/*
			 * gost takes any other line for a nameserver; a
			 * word that cannot be an address is a typo here.
			 */
			cfg_error(&r, "unknown directive \"%.64s\"", tok[0]);
			goto fail;
		} else if (resolver_add_ns(&r, rc, tok, ntok, "") == -1)
			goto fail;
	}
	if (rv == -1)
		goto fail;
	*rcp = rc;
	return 0;
 fail:
	resolver_conf_free(rc);
	return -1;
}

int
resolver_conf_parse_list(const char *list, struct resolver_conf **rcp,
    char *err, size_t errlen)
{
	struct resolver_conf *rc;
	const char *p, *next;
	char item[CFG_MAX_LINE + 1], msg[256], *f[2], *slash;
	size_t len, n;

	*rcp = NULL;
	if (list == NULL)
		list = "";
	if (strnlen(list, CFG_MAX_LIST + 1) > CFG_MAX_LIST) {
		seterr(err, errlen, "dns list too long (max %d)",
		    CFG_MAX_LIST);
		return -1;
	}
	if ((rc = calloc(1, sizeof(*rc))) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	ref_init(rc, resolver_conf_unref);
	for (next = list; list_next(&next, &p, &len);) {
		if (len > CFG_MAX_LINE) {
			seterr(err, errlen, "dns entry too long");
			goto fail;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		f[0] = item;
		n = 1;
		/* gost: an entry beginning with "https" is a DoH URL. */
		if (strncasecmp(item, "https", 5) != 0 &&
		    (slash = strchr(item, '/')) != NULL) {
			*slash = '\0';
			f[1] = slash + 1;
			n = 2;
		}
		if (rc->nns >= CFG_MAX_ENTRIES || cfg_grow((void **)&rc->ns,
		    &rc->alloc, rc->nns, sizeof(*rc->ns)) == -1) {
			seterr(err, errlen, "too many dns entries");
			goto fail;
		}
		if (strncasecmp(item, "https", 5) == 0 &&
		    strncasecmp(item, "https://", 8) != 0 &&
		    strncasecmp(item, "https-chain://", 14) != 0) {
			seterr(err, errlen, "dns entry \"%.128s\": bad DoH URL",
			    p);
			goto fail;
		}
		if (ns_parse(f, n, &rc->ns[rc->nns], msg, sizeof(msg)) == -1) {
			seterr(err, errlen, "dns entry \"%.*s\": %s",
			    (int)(len > 128 ? 128 : len), p, msg);
			goto fail;
		}
		rc->nns++;
	}
	*rcp = rc;
	return 0;
 fail:
	resolver_conf_free(rc);
	return -1;
}
