#include "err.h"
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"

/* gost v2 normalisation tables (spec/gost.md 1.2). */
static const char *const known_transports[] = {
	"tls", "mtls", "http2", "h2", "h2c", "ws", "mws", "wss", "mwss",
	"kcp", "ssh", "quic", "ohttp", "otls", "obfs4", "tcp", "udp", "rtcp",
	"rudp", "tun", "tap", "ftcp", "dns", "redu", "redirectu", "vsock",
	NULL
};
static const char *const known_protocols[] = {
	"http", "http2", "socks4", "socks4a", "socks5", "ss", "ssu", "sni",
	"tcp", "udp", "rtcp", "rudp", "direct", "remote", "forward", "red",
	"redirect", "redu", "redirectu", "tun", "tap", "ftcp", "dns", "dot",
	"doh", "relay", "ostp", NULL
};

static int
in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

/* A protocol (proto) or transport name as gost normalises it. */
static int
scheme_token_known(const char *s, int proto)
{
	if (strcmp(s, "https") == 0)
		return 1;
	if (proto)
		return strcmp(s, "auto") == 0 || strcmp(s, "socks") == 0 ||
		    strcmp(s, "ss2") == 0 || in_list(known_protocols, s);
	return strcmp(s, "ssu") == 0 || in_list(known_transports, s);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decode [s, s+len) into a fresh string; NUL bytes are refused. */
static char *
pct_decode(const char *s, size_t len, int plus_is_space)
{
	char *out, *o;
	size_t i;
	int hi, lo;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0, o = out; i < len; i++) {
		if (s[i] == '%') {
			if (len - i < 3)
				goto bad;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '+' && plus_is_space)
			*o++ = ' ';
		else
			*o++ = s[i];
	}
	*o = '\0';
	return out;
 bad:
	free(out);
	return NULL;
}

void
node_free(struct node *n)
{
	struct node_param *p;
	size_t i;

	if (n == NULL)
		return;
	while ((p = TAILQ_FIRST(&n->params)) != NULL) {
		TAILQ_REMOVE(&n->params, p, entry);
		free(p->key);
		free(p->val);
		free(p);
	}
	for (i = 0; i < n->nremotes; i++)
		free(n->remotes[i]);
	free(n->remotes);
	free(n->url);
	free(n->raw);
	free(n->scheme);
	free(n->proto);
	free(n->transport);
	free(n->user);
	if (n->pass != NULL)
		explicit_bzero(n->pass, strlen(n->pass));
	free(n->pass);
	free(n->host);
	free(n);
}

int
port_parse(const char *s, size_t len, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int
parse_query(struct node *n, const char *q, char *err, size_t errlen)
{
	const char *p = q, *amp, *eq;
	struct node_param *np;

	while (*p != '\0') {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		if (amp == p) {
			p++;
			continue;
		}
		eq = memchr(p, '=', (size_t)(amp - p));
		if ((np = calloc(1, sizeof(*np))) == NULL)
			goto oom;
		np->key = pct_decode(p, (size_t)((eq ? eq : amp) - p), 1);
		np->val = eq ? pct_decode(eq + 1, (size_t)(amp - eq - 1), 1) :
		    strdup("");
		if (np->key == NULL || np->val == NULL || np->key[0] == '\0') {
			seterr(err, errlen, "%s: malformed query parameter "
			    "\"%.*s\"", n->url, (int)(amp - p), p);
			free(np->key);
			free(np->val);
			free(np);
			return -1;
		}
		TAILQ_INSERT_TAIL(&n->params, np, entry);
		p = *amp ? amp + 1 : amp;
	}
	return 0;
 oom:
	seterr(err, errlen, "out of memory");
	return -1;
}

static int
parse_remotes(struct node *n, const char *path, size_t len, char *err,
    size_t errlen)
{
	const char *p = path, *end = path + len, *comma;
	char **nr;

	while (p < end && *p == '/')
		p++;
	while (end > p && end[-1] == '/')
		end--;
	while (p < end) {
		comma = memchr(p, ',', (size_t)(end - p));
		if (comma == NULL)
			comma = end;
		if (comma == p) {
			seterr(err, errlen, "%s: empty forward target", n->url);
			return -1;
		}
		nr = reallocarray(n->remotes, n->nremotes + 1, sizeof(*nr));
		if (nr == NULL)
			return -1;
		n->remotes = nr;
		if ((n->remotes[n->nremotes] = pct_decode(p,
		    (size_t)(comma - p), 0)) == NULL) {
			seterr(err, errlen, "%s: malformed forward target",
			    n->url);
			return -1;
		}
		n->nremotes++;
		if (comma < end && comma + 1 == end) {
			seterr(err, errlen, "%s: empty forward target", n->url);
			return -1;
		}
		p = comma < end ? comma + 1 : end;
	}
	return 0;
}

/*
 * Query parameters whose values are secrets: a URL in a message shows
 * them as ***.  key= is a secret unless it names a file (a path).
 */
static const char *const secret_params[] = {
	"auth", "knock", "pass", "passwd", "password", "psk", "secret",
	"token", "turn_pass", NULL
};

static int
secret_param(const char *k, size_t klen, const char *v, size_t vlen)
{
	size_t i;

	if (klen == 3 && strncasecmp(k, "key", 3) == 0)
		return memchr(v, '/', vlen) == NULL;
	for (i = 0; secret_params[i] != NULL; i++)
		if (strlen(secret_params[i]) == klen &&
		    strncasecmp(k, secret_params[i], klen) == 0)
			return 1;
	return 0;
}

int
node_param_secret(const char *key, const char *val)
{
	return secret_param(key, strlen(key), val, strlen(val));
}

/*
 * The form of a node URL for messages: a password in the user
 * information (user:***@), user information without a colon (an access
 * key, SIP002's base64 of method:password) and secret parameters
 * (key=***) masked.  Everything else as given.  NULL: out of memory.
 */
char *
node_display(const char *url)
{
	const char *p, *sep, *auth, *at, *colon, *q, *seg, *amp, *eq;
	size_t len;
	char *out;
	FILE *f;

	if ((f = open_memstream(&out, &len)) == NULL)
		return NULL;
	sep = strstr(url, "://");
	auth = sep != NULL ? sep + 3 : url;
	fwrite(url, 1, (size_t)(auth - url), f);
	/* the authority ends at the first '/', '?' or '#' */
	len = strcspn(auth, "/?#");
	at = NULL;
	for (p = auth; p < auth + len; p++)
		if (*p == '@')
			at = p;
	p = auth;
	if (at != NULL) {
		colon = memchr(auth, ':', (size_t)(at - auth));
		if (colon != NULL)
			fprintf(f, "%.*s:***", (int)(colon - auth), auth);
		else
			fputs("***", f);
		p = at;
	}
	if ((q = strchr(p, '?')) == NULL) {
		fputs(p, f);
		goto done;
	}
	fwrite(p, 1, (size_t)(q + 1 - p), f);
	for (seg = q + 1; *seg != '\0' && *seg != '#';
	    seg = *amp == '&' ? amp + 1 : amp) {
		amp = seg + strcspn(seg, "&#");
		eq = memchr(seg, '=', (size_t)(amp - seg));
		if (eq != NULL && secret_param(seg, (size_t)(eq - seg), eq + 1,
		    (size_t)(amp - eq - 1)))
			fprintf(f, "%.*s=***", (int)(eq - seg), seg);
		else
			fwrite(seg, 1, (size_t)(amp - seg), f);
		if (*amp == '&')
			fputc('&', f);
	}
	fputs(seg, f);
 done:
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

int
node_parse(const char *url, struct node **np, char *err, size_t errlen)
{
	struct node *n;
	const char *s, *e, *sep, *rest, *q, *slash, *auth_end, *at, *hp;
	const char *colon, *hostend, *plus;
	size_t len;
	char *scheme = NULL, *proto = NULL, *transport = NULL;

	*np = NULL;
	if (url == NULL)
		url = "";
	for (s = url; isspace((unsigned char)*s); s++)
		;
	for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]); e--)
		;
	if (e == s) {
		seterr(err, errlen, "empty node URL");
		return -1;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return -1;
	TAILQ_INIT(&n->params);
	if ((n->raw = strndup(s, (size_t)(e - s))) == NULL ||
	    (n->url = node_display(n->raw)) == NULL)
		goto oom;
	for (const char *c = n->raw; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			seterr(err, errlen, "%s: control character in URL",
			    n->url);
			goto fail;
		}
	}
	s = n->raw;
	e = s + strlen(s);

	if ((sep = strstr(s, "://")) != NULL) {
		if (sep == s) {
			seterr(err, errlen, "%s: empty scheme", n->url);
			goto fail;
		}
		if ((scheme = strndup(s, (size_t)(sep - s))) == NULL)
			goto oom;
		for (char *c = scheme; *c; c++) {
			if (!isalnum((unsigned char)*c) && *c != '+' &&
			    *c != '-' && *c != '.') {
				seterr(err, errlen, "%s: malformed scheme",
				    n->url);
				goto fail;
			}
			*c = (char)tolower((unsigned char)*c);
		}
		rest = sep + 3;
	} else {
		if ((scheme = strdup("auto")) == NULL)
			goto oom;
		rest = s;
	}

	/* protocol+transport; three or more parts leave both unset. */
	plus = strchr(scheme, '+');
	if (plus == NULL) {
		proto = strdup(scheme);
		transport = strdup(scheme);
	} else if (strchr(plus + 1, '+') == NULL) {
		proto = strndup(scheme, (size_t)(plus - scheme));
		transport = strdup(plus + 1);
	} else {
		proto = strdup("");
		transport = strdup("");
	}
	if (proto == NULL || transport == NULL)
		goto oom;
	/*
	 * gost turns an unknown protocol into auto and an unknown transport
	 * into tcp, so socsk5:// or socks5+tsl:// silently serve something
	 * else.  We refuse a name neither table knows (a deviation, see
	 * ostpd.8); a one-token scheme needs to be known in one of them.
	 */
	if (plus == NULL ? !scheme_token_known(scheme, 1) &&
	    !scheme_token_known(scheme, 0) : strchr(plus + 1, '+') == NULL &&
	    (!scheme_token_known(proto, 1) ||
	    !scheme_token_known(transport, 0))) {
		seterr(err, errlen, "%s: unknown scheme \"%s\" (a typing "
		    "mistake? e.g. socks5://, http://, relay+tls://)", n->url,
		    plus == NULL || !scheme_token_known(proto, 1) ? proto :
		    transport);
		goto fail;
	}
	if (strcmp(transport, "https") == 0) {
		free(transport);
		transport = strdup("tls");
	} else if (strcmp(transport, "ssu") == 0 ||
	    strcmp(transport, "ostp") == 0) {
		/* OSTP's datagrams; its TCP carriers are parameters */
		free(transport);
		transport = strdup("udp");
	} else if (!in_list(known_transports, transport)) {
		free(transport);
		transport = strdup("tcp");
	}
	if (strcmp(proto, "https") == 0) {
		free(proto);
		proto = strdup("http");
	} else if (strcmp(proto, "socks") == 0) {
		free(proto);
		proto = strdup("socks5");
	} else if (strcmp(proto, "ss2") == 0) {
		free(proto);
		proto = strdup("ss");
	} else if (!in_list(known_protocols, proto)) {
		free(proto);
		proto = strdup("auto");
	}
	if (proto == NULL || transport == NULL)
		goto oom;
	n->scheme = scheme;
	n->proto = proto;
	n->transport = transport;
	scheme = proto = transport = NULL;

	q = strchr(rest, '?');
	if (q != NULL && parse_query(n, q + 1, err, errlen) != 0)
		goto fail;
	if (q == NULL)
		q = e;
	slash = memchr(rest, '/', (size_t)(q - rest));
	auth_end = slash ? slash : q;
	if (slash != NULL &&
	    parse_remotes(n, slash, (size_t)(q - slash), err, errlen) != 0)
		goto fail;

	/* userinfo: up to the last '@' of the authority */
	at = NULL;
	for (const char *c = rest; c < auth_end; c++)
		if (*c == '@')
			at = c;
	hp = rest;
	if (at != NULL) {
		colon = memchr(rest, ':', (size_t)(at - rest));
		len = (size_t)((colon ? colon : at) - rest);
		if ((n->user = pct_decode(rest, len, 0)) == NULL)
			goto badauth;
		if (colon != NULL && (n->pass = pct_decode(colon + 1,
		    (size_t)(at - colon - 1), 0)) == NULL)
			goto badauth;
		hp = at + 1;
	}

	if (hp < auth_end && *hp == '[') {
		hostend = memchr(hp, ']', (size_t)(auth_end - hp));
		if (hostend == NULL) {
			seterr(err, errlen, "%s: missing ']' after IPv6 "
			    "address", n->url);
			goto fail;
		}
		if ((n->host = strndup(hp + 1, (size_t)(hostend - hp - 1))) ==
		    NULL)
			goto oom;
		colon = hostend + 1;
		if (colon >= auth_end || *colon != ':') {
			seterr(err, errlen, "%s: missing port after IPv6 "
			    "address", n->url);
			goto fail;
		}
	} else {
		colon = NULL;
		for (const char *c = hp; c < auth_end; c++)
			if (*c == ':')
				colon = c;
		/* a capture (tun://?capture=true) has no socket at all */
		if (colon == NULL && hp == auth_end &&
		    strcmp(n->proto, "tun") == 0) {
			if ((n->host = strdup("")) == NULL)
				goto oom;
			*np = n;
			return 0;
		}
		if (colon == NULL) {
			seterr(err, errlen, "%s: missing port (the form is "
			    "[host]:port)", n->url);
			goto fail;
		}
		if ((n->host = strndup(hp, (size_t)(colon - hp))) == NULL)
			goto oom;
		if (strchr(n->host, ':') != NULL) {
			seterr(err, errlen, "%s: IPv6 addresses need brackets",
			    n->url);
			goto fail;
		}
	}
	if (port_parse(colon + 1, (size_t)(auth_end - colon - 1),
	    &n->port) != 0) {
		seterr(err, errlen, "%s: bad port \"%.*s\" (0-65535)", n->url,
		    (int)(auth_end - colon - 1), colon + 1);
		goto fail;
	}
	*np = n;
	return 0;
 badauth:
	seterr(err, errlen, "%s: malformed user information", n->url);
	goto fail;
 oom:
	seterr(err, errlen, "out of memory");
 fail:
	free(scheme);
	free(proto);
	free(transport);
	node_free(n);
	return -1;
}

const char *
node_param(const struct node *n, const char *key)
{
	struct node_param *p;
	const char *v = NULL;

	/* The last occurrence wins, as with repeated flags. */
	TAILQ_FOREACH(p, &n->params, entry)
		if (strcmp(p->key, key) == 0)
			v = p->val;
	return v;
}

/*
 * Give parameter key (its last occurrence, the one that counts) a new
 * value, in the list and in the URL's text, so that the URL printed for
 * the workers and by -t says the same.  0, or -1 (no memory, no such
 * parameter in the query).
 */
int
node_param_replace(struct node *n, const char *key, const char *val)
{
	static const char hex[] = "0123456789ABCDEF";
	struct node_param *p, *last = NULL;
	const char *q, *seg, *amp, *eq, *lseg = NULL, *leq = NULL;
	const char *lend = NULL, *c;
	char *k, *nv, *nurl;
	FILE *f;
	size_t len;

	TAILQ_FOREACH(p, &n->params, entry)
		if (strcmp(p->key, key) == 0)
			last = p;
	if (last == NULL || (q = strchr(n->raw, '?')) == NULL)
		return -1;
	for (seg = q + 1; *seg != '\0'; seg = *amp != '\0' ? amp + 1 : amp) {
		amp = seg + strcspn(seg, "&");
		eq = memchr(seg, '=', (size_t)(amp - seg));
		if ((k = pct_decode(seg, (size_t)((eq ? eq : amp) - seg),
		    1)) == NULL)
			continue;
		if (strcmp(k, key) == 0) {
			lseg = seg;
			leq = eq ? eq : amp;
			lend = amp;
		}
		free(k);
	}
	if (lseg == NULL || (nv = strdup(val)) == NULL)
		return -1;
	if ((f = open_memstream(&nurl, &len)) == NULL) {
		free(nv);
		return -1;
	}
	fprintf(f, "%.*s=", (int)(leq - n->raw), n->raw);
	for (c = val; *c != '\0'; c++) {
		if (isalnum((unsigned char)*c) || strchr("-._~/:", *c) != NULL)
			fputc(*c, f);
		else
			fprintf(f, "%%%c%c", hex[(unsigned char)*c >> 4],
			    hex[(unsigned char)*c & 15]);
	}
	fputs(lend, f);
	if (fclose(f) != 0) {
		free(nv);
		return -1;
	}
	if ((c = node_display(nurl)) == NULL) {
		free(nurl);
		free(nv);
		return -1;
	}
	free(n->raw);
	n->raw = nurl;
	free(n->url);
	n->url = (char *)c;
	free(last->val);
	last->val = nv;
	return 0;
}

int
node_param_uint(const struct node *n, const char *key, unsigned long min,
    unsigned long max, unsigned long *out, char *err, size_t errlen)
{
	const char *v = node_param(n, key);
	unsigned long x;
	char *ep;

	if (v == NULL)
		return 0;
	errno = 0;
	x = strtoul(v, &ep, 10);
	if (*v == '\0' || *ep != '\0' || errno != 0 || !isdigit((unsigned char)*v) ||
	    x < min || x > max) {
		seterr(err, errlen, "%s: bad value \"%s\" for %s (an integer "
		    "from %lu to %lu)", n->url, v, key, min, max);
		return -1;
	}
	*out = x;
	return 1;
}

/* Go durations (1h2m3s, 500ms) or bare seconds, into milliseconds. */
int
duration_parse(const char *v, unsigned long *msec)
{
	unsigned long total = 0, x, mul;
	const char *p = v;
	char *ep;

	if (*p == '\0')
		return -1;
	while (*p != '\0') {
		if (!isdigit((unsigned char)*p))
			return -1;
		errno = 0;
		x = strtoul(p, &ep, 10);
		if (errno != 0 || x > 100000000UL)
			return -1;
		if (*ep == '\0' && p == v)
			mul = 1000;
		else if (strncmp(ep, "ms", 2) == 0) {
			mul = 1;
			ep += 2;
		} else if (*ep == 's') {
			mul = 1000;
			ep++;
		} else if (*ep == 'm') {
			mul = 60000;
			ep++;
		} else if (*ep == 'h') {
			mul = 3600000;
			ep++;
		} else
			return -1;
		total += x * mul;
		if (total > 100000000000UL)
			return -1;
		p = ep;
	}
	*msec = total;
	return 0;
}

int
node_param_duration(const struct node *n, const char *key,
    unsigned long *msec, char *err, size_t errlen)
{
	const char *v = node_param(n, key);

	if (v == NULL)
		return 0;
	if (duration_parse(v, msec) != 0) {
		seterr(err, errlen, "%s: bad duration \"%s\" for %s (e.g. 30s, "
		    "1m, 500ms or seconds)", n->url, v, key);
		return -1;
	}
	return 1;
}

int
list_next(const char **pp, const char **item, size_t *len)
{
	const char *p = *pp, *e;

	while (*p != '\0') {
		if ((e = strchr(p, ',')) == NULL)
			e = p + strlen(p);
		*pp = *e == ',' ? e + 1 : e;
		while (p < e && isspace((unsigned char)*p))
			p++;
		while (e > p && isspace((unsigned char)e[-1]))
			e--;
		if (e > p) {
			*item = p;
			*len = (size_t)(e - p);
			return 1;
		}
		p = *pp;
	}
	*pp = p;
	return 0;
}
