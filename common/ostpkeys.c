/*
 * OSTP access keys files and lists (spec/ostp.md §4.3, §6).  A pure
 * parser: the monitor checks a keys= file with it at start and -t, and
 * a worker parses the same bytes at a live reload.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "err.h"
#include "ostpkeys.h"

#define KEYS_JSON_MAX_DEPTH	2	/* the array, an entry object */

/*
 * Well-formed UTF-8 (RFC 3629): the printed configuration carries keys
 * and names as JSON strings, which yajl reads back only so.
 */
static int
utf8_ok(const unsigned char *s)
{
	unsigned int c, n, i;

	while (*s != '\0') {
		if (*s < 0x80) {
			s++;
			continue;
		}
		if (*s >= 0xc2 && *s <= 0xdf)
			n = 1, c = *s & 0x1f;
		else if (*s >= 0xe0 && *s <= 0xef)
			n = 2, c = *s & 0x0f;
		else if (*s >= 0xf0 && *s <= 0xf4)
			n = 3, c = *s & 0x07;
		else
			return 0;
		for (i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (s[i] & 0x3f);
		}
		if ((n == 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
		    (n == 3 && (c < 0x10000 || c > 0x10ffff)))
			return 0;
		s += n + 1;
	}
	return 1;
}

/* Printable (no C0 control character, no DEL), UTF-8, 1-max bytes. */
static const char *
text_invalid(const char *s, size_t max, const char *empty, const char *ctl,
    const char *utf8, const char *toolong)
{
	size_t i;

	if (s[0] == '\0')
		return empty;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return ctl;
	if (i > max)
		return toolong;
	if (!utf8_ok((const unsigned char *)s))
		return utf8;
	return NULL;
}

const char *
ostp_key_invalid(const char *k)
{
	return text_invalid(k, OSTP_KEY_MAX, "the key is empty",
	    "the key has a control character", "the key is not UTF-8",
	    "the key is longer than 512 bytes");
}

static const char *
name_invalid(const char *s)
{
	return text_invalid(s, OSTP_KEY_NAME_MAX, "the name is empty",
	    "the name has a control character", "the name is not UTF-8",
	    "the name is longer than 128 bytes");
}

void
ostp_keys_free(struct ostp_key_conf *keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (keys[i].key != NULL)
			explicit_bzero(keys[i].key, strlen(keys[i].key));
		free(keys[i].key);
		free(keys[i].name);
	}
	free(keys);
}

/* Sorting indices by key or by name finds duplicates in n log n. */
struct dup_sort {
	const struct ostp_key_conf	*keys;
	size_t				 idx;
	int				 byname;
};

static int
dup_cmp(const void *a, const void *b)
{
	const struct dup_sort *x = a, *y = b;
	int r;

	r = x->byname ? strcmp(x->keys[x->idx].name, y->keys[y->idx].name) :
	    strcmp(x->keys[x->idx].key, y->keys[y->idx].key);
	if (r != 0)
		return r;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static const char *
dup_str(const struct ostp_key_conf *k, int byname)
{
	return byname ? k->name : k->key;
}

int
ostp_keys_dup(const struct ostp_key_conf *keys, size_t n, size_t *first,
    size_t *second)
{
	struct dup_sort *v;
	size_t i, m;
	int pass, kind = 0;

	if (n < 2)
		return 0;
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return 0;
	*second = SIZE_MAX;
	for (pass = 0; pass < 2 && kind == 0; pass++) {
		for (i = 0, m = 0; i < n; i++) {
			if (pass == 1 && keys[i].name == NULL)
				continue;
			v[m].keys = keys;
			v[m].idx = i;
			v[m++].byname = pass;
		}
		qsort(v, m, sizeof(*v), dup_cmp);
		/*
		 * Equal strings sort by index: a run's first two are its
		 * first occurrence and its first repetition.  Report the
		 * repetition that comes first in the input.
		 */
		for (i = 1; i < m; i++) {
			if (strcmp(dup_str(&keys[v[i - 1].idx], pass),
			    dup_str(&keys[v[i].idx], pass)) != 0 ||
			    (i >= 2 && strcmp(dup_str(&keys[v[i - 2].idx],
			    pass), dup_str(&keys[v[i].idx], pass)) == 0))
				continue;
			if (v[i].idx < *second) {
				*first = v[i - 1].idx;
				*second = v[i].idx;
				kind = pass + 1;
			}
		}
	}
	free(v);
	return kind;
}

/* BYTES[K|M|G|T] (powers of 1024); 0 or -1. */
static int
parse_limit(const char *s, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	size_t i;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	for (i = 0; isdigit((unsigned char)s[i]); i++) {
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (s[i] != '\0') {
		const char *u = strchr("KMGT", toupper((unsigned char)s[i]));

		if (u == NULL || s[i + 1] != '\0')
			return -1;
		mul = (uint64_t)1 << (10 * (u - "KMGT" + 1));
	}
	/* JSON (and the printed configuration) carries it as an int64 */
	if (v > (uint64_t)INT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int
keys_push(struct ostp_key_conf **keys, size_t *n, char *key, char *name,
    uint64_t limit)
{
	struct ostp_key_conf *nk;

	if (*n >= OSTP_KEYS_MAX)
		return -1;
	if ((nk = reallocarray(*keys, *n + 1, sizeof(*nk))) == NULL)
		return -1;
	*keys = nk;
	memset(&nk[*n], 0, sizeof(nk[*n]));
	nk[*n].key = key;
	nk[*n].name = name;
	nk[*n].limit_bytes = limit;
	(*n)++;
	return 0;
}

int
ostp_keys_add_json(const void *valp, const char *where,
    struct ostp_key_conf **keys, size_t *n, char *err, size_t errlen)
{
	yajl_val v = (yajl_val)valp, k = NULL, nm = NULL, lim = NULL;
	const char *why, *ks, *nms;
	char *key = NULL, *name = NULL;
	uint64_t limit = 0;
	size_t i;

	if (YAJL_IS_STRING(v))
		ks = YAJL_GET_STRING(v);
	else if (YAJL_IS_OBJECT(v)) {
		for (i = 0; i < YAJL_GET_OBJECT(v)->len; i++) {
			const char *f = YAJL_GET_OBJECT(v)->keys[i];
			yajl_val x = YAJL_GET_OBJECT(v)->values[i];

			if (strcmp(f, "access_key") == 0)
				k = x;
			else if (strcmp(f, "name") == 0)
				nm = x;
			else if (strcmp(f, "limit_bytes") == 0)
				lim = x;
			else {
				seterr(err, errlen, "%s: unknown key \"%s\" "
				    "(access_key, name, limit_bytes)", where,
				    f);
				return -1;
			}
		}
		if (k == NULL || !YAJL_IS_STRING(k)) {
			seterr(err, errlen, "%s: access_key must be a string",
			    where);
			return -1;
		}
		ks = YAJL_GET_STRING(k);
		if (nm != NULL && !YAJL_IS_NULL(nm)) {
			if (!YAJL_IS_STRING(nm)) {
				seterr(err, errlen, "%s: name must be a string",
				    where);
				return -1;
			}
			if ((why = name_invalid(YAJL_GET_STRING(nm))) != NULL) {
				seterr(err, errlen, "%s: %s", where, why);
				return -1;
			}
		}
		if (lim != NULL && !YAJL_IS_NULL(lim)) {
			if (!YAJL_IS_INTEGER(lim) ||
			    YAJL_GET_INTEGER(lim) < 0) {
				seterr(err, errlen, "%s: limit_bytes must be a "
				    "number of bytes (0: no limit)", where);
				return -1;
			}
			limit = (uint64_t)YAJL_GET_INTEGER(lim);
		}
	} else {
		seterr(err, errlen, "%s must be a key or an object with "
		    "access_key", where);
		return -1;
	}
	if ((why = ostp_key_invalid(ks)) != NULL) {
		seterr(err, errlen, "%s: %s", where, why);
		return -1;
	}
	nms = nm != NULL && YAJL_IS_STRING(nm) ? YAJL_GET_STRING(nm) : NULL;
	if ((key = strdup(ks)) == NULL || (nms != NULL &&
	    (name = strdup(nms)) == NULL) ||
	    keys_push(keys, n, key, name, limit) != 0) {
		if (key != NULL)
			explicit_bzero(key, strlen(key));
		free(key);
		free(name);
		seterr(err, errlen, "%s: out of memory or more than %d keys",
		    where, OSTP_KEYS_MAX);
		return -1;
	}
	return 0;
}

/* The event pass: syntax, depth (yajl_tree_free recurses), NUL bytes. */
struct jcheck {
	int	depth;
	int	bad;
};

static int
jc_open(void *ctx)
{
	struct jcheck *jc = ctx;

	if (++jc->depth > KEYS_JSON_MAX_DEPTH) {
		jc->bad = 1;
		return 0;
	}
	return 1;
}

static int
jc_close(void *ctx)
{
	((struct jcheck *)ctx)->depth--;
	return 1;
}

static int
jc_string(void *ctx, const unsigned char *s, size_t len)
{
	if (memchr(s, '\0', len) != NULL) {
		((struct jcheck *)ctx)->bad = 2;
		return 0;
	}
	return 1;
}

static const yajl_callbacks jc_callbacks = {
	.yajl_string = jc_string,
	.yajl_map_key = jc_string,
	.yajl_start_map = jc_open,
	.yajl_end_map = jc_close,
	.yajl_start_array = jc_open,
	.yajl_end_array = jc_close,
};

static size_t
line_of(const char *text, size_t off)
{
	size_t i, line = 1;

	for (i = 0; i < off; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

static int
parse_json(const char *text, size_t len, const char *name,
    struct ostp_key_conf **keys, size_t *n, char *err, size_t errlen)
{
	struct jcheck jc;
	yajl_handle h;
	yajl_status st;
	yajl_val root;
	unsigned char *msg;
	char *copy, *nl, where[64], yerr[128];
	size_t i, off;

	memset(&jc, 0, sizeof(jc));
	if ((h = yajl_alloc(&jc_callbacks, NULL, &jc)) == NULL)
		goto oom;
	yajl_config(h, yajl_allow_comments, 1);
	st = yajl_parse(h, (const unsigned char *)text, len);
	/* consumed bytes end just after the offending one */
	off = yajl_get_bytes_consumed(h);
	off = off > 0 ? off - 1 : 0;
	if (st == yajl_status_ok && (st = yajl_complete_parse(h)) !=
	    yajl_status_ok)
		off = len;	/* the text ended too early */
	if (st != yajl_status_ok) {
		if (jc.bad == 1)
			seterr(err, errlen, "%s:%zu: JSON nested too deep (an "
			    "array of keys and objects)", name,
			    line_of(text, off));
		else if (jc.bad == 2)
			seterr(err, errlen, "%s:%zu: NUL byte in a string",
			    name, line_of(text, off));
		else {
			msg = yajl_get_error(h, 0, NULL, 0);
			if ((nl = strchr((char *)msg, '\n')) != NULL)
				*nl = '\0';
			seterr(err, errlen, "%s:%zu: %s", name,
			    line_of(text, off), (char *)msg);
			yajl_free_error(h, msg);
		}
		yajl_free(h);
		return -1;
	}
	yajl_free(h);
	if ((copy = strndup(text, len)) == NULL)
		goto oom;
	root = yajl_tree_parse(copy, yerr, sizeof(yerr));
	free(copy);
	if (root == NULL) {
		seterr(err, errlen, "%s: %s", name, yerr);
		return -1;
	}
	if (!YAJL_IS_ARRAY(root)) {
		seterr(err, errlen, "%s:1: a JSON keys file is an array of "
		    "keys", name);
		yajl_tree_free(root);
		return -1;
	}
	for (i = 0; i < YAJL_GET_ARRAY(root)->len; i++) {
		snprintf(where, sizeof(where), "%s: entry %zu", name, i + 1);
		if (ostp_keys_add_json(YAJL_GET_ARRAY(root)->values[i], where,
		    keys, n, err, errlen) != 0) {
			yajl_tree_free(root);
			return -1;
		}
		(*keys)[*n - 1].from_file = 1;
	}
	yajl_tree_free(root);
	return 0;
 oom:
	seterr(err, errlen, "%s: out of memory", name);
	return -1;
}

/* One line "KEY [name=NAME] [limit=BYTES]", NUL-terminated in place. */
static int
parse_line(char *line, const char *name, size_t lineno,
    struct ostp_key_conf **keys, size_t *n, char *err, size_t errlen)
{
	char *tok, *key = NULL, *nm = NULL, *sp = NULL;
	const char *why, *nmv = NULL;
	uint64_t limit = 0;
	int have_limit = 0;

	if ((tok = strtok_r(line, " \t\r", &sp)) == NULL)
		return 0;
	if ((why = ostp_key_invalid(tok)) != NULL) {
		seterr(err, errlen, "%s:%zu: %s", name, lineno, why);
		return -1;
	}
	key = tok;
	while ((tok = strtok_r(NULL, " \t\r", &sp)) != NULL) {
		if (strncmp(tok, "name=", 5) == 0 && nmv == NULL) {
			nmv = tok + 5;
			if ((why = name_invalid(nmv)) != NULL) {
				seterr(err, errlen, "%s:%zu: %s", name, lineno,
				    why);
				return -1;
			}
		} else if (strncmp(tok, "limit=", 6) == 0 && !have_limit) {
			if (parse_limit(tok + 6, &limit) != 0) {
				seterr(err, errlen, "%s:%zu: bad limit \"%s\" "
				    "(bytes, with an optional K, M, G or T)",
				    name, lineno, tok + 6);
				return -1;
			}
			have_limit = 1;
		} else {
			seterr(err, errlen, "%s:%zu: unexpected \"%s\" after "
			    "the key (name=NAME, limit=BYTES, each once)",
			    name, lineno, tok);
			return -1;
		}
	}
	if ((key = strdup(key)) == NULL ||
	    (nmv != NULL && (nm = strdup(nmv)) == NULL) ||
	    keys_push(keys, n, key, nm, limit) != 0) {
		if (key != NULL)
			explicit_bzero(key, strlen(key));
		free(key);
		free(nm);
		seterr(err, errlen, "%s:%zu: out of memory or more than %d "
		    "keys", name, lineno, OSTP_KEYS_MAX);
		return -1;
	}
	(*keys)[*n - 1].from_file = 1;
	return 0;
}

int
ostp_keys_parse(const char *text, size_t len, const char *name,
    struct ostp_key_conf **keysp, size_t *np, char *err, size_t errlen)
{
	struct ostp_key_conf *keys = NULL;
	size_t n = 0, off, eol, lineno, *lines = NULL, a, b, nl = 0;
	char *line = NULL;
	int json, kind;

	*keysp = NULL;
	*np = 0;
	if (memchr(text, '\0', len) != NULL) {
		seterr(err, errlen, "%s:%zu: NUL byte in file", name,
		    line_of(text, (size_t)((const char *)memchr(text, '\0',
		    len) - text)));
		return -1;
	}
	/* JSON when it starts with '[', after blanks and comments */
	for (off = 0; off < len; ) {
		if (strchr(" \t\r\n", text[off]) != NULL)
			off++;
		else if (len - off >= 2 && memcmp(text + off, "//", 2) == 0)
			while (off < len && text[off] != '\n')
				off++;
		else if (len - off >= 2 && memcmp(text + off, "/*", 2) == 0) {
			for (off += 2; off < len && (len - off < 2 ||
			    memcmp(text + off, "*/", 2) != 0); off++)
				;
			off += 2;
		} else
			break;
	}
	json = off < len && text[off] == '[';
	if (json) {
		if (parse_json(text, len, name, &keys, &n, err, errlen) != 0)
			goto fail;
	} else {
		for (off = 0, lineno = 1; off < len; off = eol + 1, lineno++) {
			char *hash;
			size_t *nlines;

			for (eol = off; eol < len && text[eol] != '\n'; eol++)
				;
			free(line);
			if ((line = strndup(text + off, eol - off)) == NULL) {
				seterr(err, errlen, "%s: out of memory", name);
				goto fail;
			}
			/* a key has no '#' at its start: comments are lines */
			hash = line + strspn(line, " \t\r");
			if (*hash == '#')
				continue;
			if (parse_line(line, name, lineno, &keys, &n, err,
			    errlen) != 0)
				goto fail;
			if (n > nl) {
				if ((nlines = reallocarray(lines, n,
				    sizeof(*lines))) == NULL) {
					seterr(err, errlen, "%s: out of memory",
					    name);
					goto fail;
				}
				lines = nlines;
				lines[n - 1] = lineno;
				nl = n;
			}
		}
	}
	if ((kind = ostp_keys_dup(keys, n, &a, &b)) != 0) {
		char what[OSTP_KEY_NAME_MAX + 16];

		if (kind == 1)
			snprintf(what, sizeof(what), "the key");
		else
			snprintf(what, sizeof(what), "the name \"%s\"",
			    keys[b].name);
		if (json)
			seterr(err, errlen, "%s: entry %zu: %s is given twice "
			    "(first in entry %zu)", name, b + 1, what, a + 1);
		else
			seterr(err, errlen, "%s:%zu: %s is given twice (first "
			    "on line %zu)", name, lines[b], what, lines[a]);
		goto fail;
	}
	free(line);
	free(lines);
	*keysp = keys;
	*np = n;
	return 0;
 fail:
	if (line != NULL)
		explicit_bzero(line, strlen(line));
	free(line);
	free(lines);
	ostp_keys_free(keys, n);
	return -1;
}
