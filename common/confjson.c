/*
 * The JSON front ends: gost's format (ServeNodes, ChainNodes, Routes...)
 * and the native one (inbounds, outbounds, routing, mux, log), both
 * filling the one configuration model, and the printer behind -t.
 * Syntax errors name file:line:col; semantic errors name the key path.
 */
#include "err.h"
#include "config.h"

#include <sys/stat.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "conf.h"
#include "ctlproto.h"
#include "log.h"
#include "ostpkeys.h"

#define CONF_FILE_MAX	(1U << 20)

int
conf_src_push(char ***v, size_t *n, const char *s)
{
	char **nv;

	if ((nv = reallocarray(*v, *n + 2, sizeof(*nv))) == NULL)
		return -1;
	*v = nv;
	if ((nv[*n] = strdup(s)) == NULL)
		return -1;
	nv[++*n] = NULL;
	return 0;
}

static void
strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

void
conf_src_free(struct conf_src *s)
{
	size_t i;

	for (i = 0; i < s->nroutes; i++) {
		strv_free(s->routes[i].serve, s->routes[i].nserve);
		strv_free(s->routes[i].chain, s->routes[i].nchain);
	}
	free(s->routes);
	strv_free(s->serve, s->nserve);
	strv_free(s->tags, s->nserve);
	free(s->egress);
	for (i = 0; s->ostp != NULL && i < s->nserve; i++)
		ostp_conf_free(s->ostp[i]);
	free(s->ostp);
	strv_free(s->chain, s->nchain);
	memset(s, 0, sizeof(*s));
}

char *
conf_read_file(const char *path, size_t *lenp, char *err, size_t errlen)
{
	struct stat st;
	char *data;
	ssize_t n;
	size_t off = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)CONF_FILE_MAX) {
		seterr(err, errlen, "%s: not a regular file of at most %u "
		    "bytes", path, CONF_FILE_MAX);
		close(fd);
		return NULL;
	}
	if ((data = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, data + off, (size_t)st.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	data[off] = '\0';
	*lenp = off;
	return data;
}

/* Line and column (1-based) of byte offset off. */
static void
position(const char *data, size_t off, size_t *line, size_t *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && data[i] != '\0'; i++) {
		if (data[i] == '\n') {
			(*line)++;
			*col = 1;
		} else
			(*col)++;
	}
}

/*
 * A first pass with the event parser finds where a syntax error is
 * (yajl_tree only reports what); the tree parser then builds the value.
 */
int
conf_json_read(const char *path, void **rootp, char *err, size_t errlen)
{
	char *data;
	size_t len;
	int r;

	*rootp = NULL;
	if ((data = conf_read_file(path, &len, err, errlen)) == NULL)
		return -1;
	r = conf_json_parse(data, len, path, rootp, err, errlen);
	free(data);
	return r;
}

/*
 * A key given twice in one object: JSON leaves its meaning open and
 * the front ends would read one occurrence or both (and each section
 * is built once), so the file is refused.  Returns the key or NULL.
 */
static const char *
dup_key(yajl_val v)
{
	const char *k;
	size_t i, j;

	if (YAJL_IS_ARRAY(v)) {
		for (i = 0; i < v->u.array.len; i++)
			if ((k = dup_key(v->u.array.values[i])) != NULL)
				return k;
		return NULL;
	}
	if (!YAJL_IS_OBJECT(v))
		return NULL;
	for (i = 0; i < v->u.object.len; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(v->u.object.keys[i],
			    v->u.object.keys[j]) == 0)
				return v->u.object.keys[i];
		if ((k = dup_key(v->u.object.values[i])) != NULL)
			return k;
	}
	return NULL;
}

int
conf_json_parse(const char *data, size_t len, const char *path, void **rootp,
    char *err, size_t errlen)
{
	const char *k;
	yajl_handle h;
	yajl_status st;
	unsigned char *msg;
	char *nl, *copy, yerr[256];
	size_t off, line, col;

	*rootp = NULL;
	if (memchr(data, '\0', len) != NULL) {
		position(data, (size_t)((const char *)memchr(data, '\0', len) -
		    data), &line, &col);
		seterr(err, errlen, "%s:%zu:%zu: NUL byte in file", path, line,
		    col);
		return -1;
	}
	if ((h = yajl_alloc(NULL, NULL, NULL)) == NULL)
		return -1;
	/* OSTP's files have // comments (and yajl_tree allows them) */
	yajl_config(h, yajl_allow_comments, 1);
	st = yajl_parse(h, (const unsigned char *)data, len);
	/* Consumed bytes end just after the offending one. */
	off = yajl_get_bytes_consumed(h);
	off = off > 0 ? off - 1 : 0;
	if (st == yajl_status_ok && (st = yajl_complete_parse(h)) !=
	    yajl_status_ok)
		off = len;	/* the text ended too early */
	if (st != yajl_status_ok) {
		msg = yajl_get_error(h, 0, NULL, 0);
		if ((nl = strchr((char *)msg, '\n')) != NULL)
			*nl = '\0';
		if (off > len)
			off = len;
		position(data, off, &line, &col);
		seterr(err, errlen, "%s:%zu:%zu: %s", path, line, col,
		    (char *)msg);
		yajl_free_error(h, msg);
		yajl_free(h);
		return -1;
	}
	yajl_free(h);
	/* yajl_tree wants a terminated string. */
	if ((copy = strndup(data, len)) == NULL)
		return -1;
	yerr[0] = '\0';
	*rootp = yajl_tree_parse(copy, yerr, sizeof(yerr));
	free(copy);
	if (*rootp == NULL) {
		seterr(err, errlen, "%s: %s", path, yerr[0] ? yerr :
		    "invalid JSON");
		return -1;
	}
	if (!YAJL_IS_OBJECT((yajl_val)*rootp)) {
		seterr(err, errlen, "%s:1:1: the top level must be a JSON "
		    "object", path);
		yajl_tree_free(*rootp);
		*rootp = NULL;
		return -1;
	}
	if ((k = dup_key(*rootp)) != NULL) {
		seterr(err, errlen, "%s: key \"%s\" is given twice in one "
		    "object", path, k);
		yajl_tree_free(*rootp);
		*rootp = NULL;
		return -1;
	}
	return 0;
}

void
conf_json_free(void *root)
{
	if (root != NULL)
		yajl_tree_free(root);
}

static const char *const native_keys[] = {
	"log", "mark", "interface", "workers", "inbounds", "outbounds",
	"routing", "mux", "metrics", NULL
};

int
conf_json_is_native(const void *root)
{
	yajl_val o = (yajl_val)root;
	size_t i;

	for (i = 0; i < YAJL_GET_OBJECT(o)->len; i++) {
		const char *k = YAJL_GET_OBJECT(o)->keys[i];

		if (strcmp(k, "inbounds") == 0 || strcmp(k, "outbounds") == 0 ||
		    strcmp(k, "routing") == 0 || strcmp(k, "mux") == 0 ||
		    strcmp(k, "log") == 0)
			return 1;
	}
	return 0;
}

static yajl_val
obj_get(yajl_val obj, const char *key, int nocase)
{
	size_t i;

	/* a value of the wrong kind has no keys (its caller says so) */
	if (!YAJL_IS_OBJECT(obj))
		return NULL;
	for (i = 0; i < YAJL_GET_OBJECT(obj)->len; i++)
		if ((nocase ? strcasecmp : strcmp)(
		    YAJL_GET_OBJECT(obj)->keys[i], key) == 0)
			return YAJL_GET_OBJECT(obj)->values[i];
	return NULL;
}

/* Unknown keys are mistakes: name the first one. */
static int
check_keys(yajl_val obj, const char *const *known, int nocase,
    const char *path, const char *where, char *err, size_t errlen)
{
	size_t i;
	const char *const *k;

	for (i = 0; i < YAJL_GET_OBJECT(obj)->len; i++) {
		const char *key = YAJL_GET_OBJECT(obj)->keys[i];

		for (k = known; *k != NULL; k++)
			if ((nocase ? strcasecmp : strcmp)(*k, key) == 0)
				break;
		if (*k == NULL) {
			seterr(err, errlen, "%s: %s%sunknown key \"%s\"", path,
			    where, where[0] ? ": " : "", key);
			return -1;
		}
	}
	return 0;
}

static int
json_strings(yajl_val v, const char *path, const char *key, char ***out,
    size_t *nout, char *err, size_t errlen)
{
	size_t i;

	if (!YAJL_IS_ARRAY(v)) {
		seterr(err, errlen, "%s: %s must be an array of strings", path,
		    key);
		return -1;
	}
	for (i = 0; i < YAJL_GET_ARRAY(v)->len; i++) {
		yajl_val s = YAJL_GET_ARRAY(v)->values[i];

		if (!YAJL_IS_STRING(s) || YAJL_GET_STRING(s) == NULL) {
			seterr(err, errlen, "%s: %s[%zu] must be a string",
			    path, key, i);
			return -1;
		}
		if (conf_src_push(out, nout, YAJL_GET_STRING(s)) != 0) {
			seterr(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

static int
json_int(yajl_val v, long long min, long long max, long long *out)
{
	if (v == NULL || !YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < min ||
	    YAJL_GET_INTEGER(v) > max)
		return -1;
	*out = YAJL_GET_INTEGER(v);
	return 0;
}

static int
set_mark(struct conf *c, yajl_val v, const char *path, const char *key,
    char *err, size_t errlen)
{
	long long x;

	if (json_int(v, 0, UINT32_MAX, &x) != 0) {
		seterr(err, errlen, "%s: %s must be an integer from 0 to %u",
		    path, key, UINT32_MAX);
		return -1;
	}
	c->mark = (uint32_t)x;
	c->have_mark = x != 0;
	return 0;
}

static int
set_iface(struct conf *c, yajl_val v, const char *path, const char *key,
    char *err, size_t errlen)
{
	const char *s = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;

	if (s == NULL || (s[0] != '\0' && !conf_valid_ifname(s))) {
		seterr(err, errlen, "%s: %s must be an interface name", path,
		    key);
		return -1;
	}
	snprintf(c->iface, sizeof(c->iface), "%s", s);
	return 0;
}

/*
 * A route's (or a native inbound's) own Mark and Interface.  0 and ""
 * are Go's zero values, which gost cannot tell from absent keys: they
 * leave the route with the global setting.
 */
static int
json_egress(yajl_val o, int nocase, const char *path, const char *where,
    struct egress *e, char *err, size_t errlen)
{
	const char *mk = nocase ? "Mark" : "mark";
	const char *ik = nocase ? "Interface" : "interface";
	yajl_val v;
	long long x;
	const char *s;

	if ((v = obj_get(o, mk, nocase)) != NULL) {
		if (json_int(v, 0, UINT32_MAX, &x) != 0) {
			seterr(err, errlen, "%s: %s.%s must be an integer from "
			    "0 to %u", path, where, mk, UINT32_MAX);
			return -1;
		}
		e->mark = (uint32_t)x;
	}
	if ((v = obj_get(o, ik, nocase)) != NULL) {
		s = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
		if (s == NULL || (s[0] != '\0' && !conf_valid_ifname(s))) {
			seterr(err, errlen, "%s: %s.%s must be an interface "
			    "name", path, where, ik);
			return -1;
		}
		snprintf(e->iface, sizeof(e->iface), "%s", s);
	}
	return 0;
}

static int gost_route_rest(struct conf *, yajl_val, const char *,
    const char *, struct conf_route *, char *, size_t);

/* One gost route object: the top level or an entry of Routes. */
static int
gost_route(struct conf *c, yajl_val o, const char *path, const char *where,
    struct conf_route *rt, struct conf_src *src, char *err, size_t errlen)
{
	int top = rt == NULL;
	static const char *const top_keys[] = {
		"Debug", "ServeNodes", "ChainNodes", "Retries", "Mark",
		"Interface", "Routes", NULL
	};
	static const char *const route_keys[] = {
		"ServeNodes", "ChainNodes", "Retries", "Mark", "Interface", NULL
	};
	char key[64];
	yajl_val v;
	long long x;

	if (check_keys(o, top ? top_keys : route_keys, 1, path, where, err,
	    errlen) != 0)
		return -1;
	if (top && (v = obj_get(o, "Debug", 1)) != NULL) {
		if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
			seterr(err, errlen, "%s: Debug must be true or false",
			    path);
			return -1;
		}
		if (YAJL_IS_TRUE(v) && c->debug < 1)
			c->debug = 1;
	}
	if ((v = obj_get(o, "ServeNodes", 1)) != NULL) {
		/* The file's list replaces the command line's (gost). */
		if (top) {
			strv_free(src->serve, src->nserve);
			strv_free(src->tags, src->nserve);
			free(src->egress);
			src->egress = NULL;
			src->serve = src->tags = NULL;
			src->nserve = 0;
		}
		snprintf(key, sizeof(key), "%s%sServeNodes", where,
		    where[0] ? "." : "");
		if (!top)
			return json_strings(v, path, key, &rt->serve,
			    &rt->nserve, err, errlen) != 0 ? -1 :
			    gost_route_rest(c, o, path, where, rt, err, errlen);
		if (json_strings(v, path, key, &src->serve, &src->nserve, err,
		    errlen) != 0)
			return -1;
		free(src->tags);
		if ((src->tags = calloc(src->nserve + 1, sizeof(char *))) ==
		    NULL)
			return -1;
	} else if (!top)
		return gost_route_rest(c, o, path, where, rt, err, errlen);
	if ((v = obj_get(o, "ChainNodes", 1)) != NULL) {
		if (top) {
			strv_free(src->chain, src->nchain);
			src->chain = NULL;
			src->nchain = 0;
		}
		snprintf(key, sizeof(key), "%s%sChainNodes", where,
		    where[0] ? "." : "");
		if (json_strings(v, path, key, &src->chain, &src->nchain, err,
		    errlen) != 0)
			return -1;
	}
	if ((v = obj_get(o, "Retries", 1)) != NULL) {
		if (json_int(v, 0, 100, &x) != 0) {
			seterr(err, errlen, "%s: %s%sRetries must be an integer "
			    "from 0 to 100", path, where, where[0] ? "." : "");
			return -1;
		}
		c->retries = (unsigned int)x;
	}
	/* the top level's are the global ones (entries returned above) */
	if ((v = obj_get(o, "Mark", 1)) != NULL &&
	    set_mark(c, v, path, "Mark", err, errlen) != 0)
		return -1;
	if ((v = obj_get(o, "Interface", 1)) != NULL &&
	    set_iface(c, v, path, "Interface", err, errlen) != 0)
		return -1;
	return 0;
}

int
conf_json_gost(struct conf *c, const void *rootp, const char *path,
    struct conf_src *src, char *err, size_t errlen)
{
	yajl_val root = (yajl_val)rootp, routes;
	char where[48], one[512];
	size_t i;

	if (gost_route(c, root, path, "", NULL, src, err, errlen) != 0)
		return -1;
	if ((routes = obj_get(root, "Routes", 1)) == NULL)
		return 0;
	if (!YAJL_IS_ARRAY(routes)) {
		seterr(err, errlen, "%s: Routes must be an array of objects",
		    path);
		return -1;
	}
	if ((src->routes = calloc(YAJL_GET_ARRAY(routes)->len + 1,
	    sizeof(*src->routes))) == NULL)
		return -1;
	for (i = 0; i < YAJL_GET_ARRAY(routes)->len; i++) {
		yajl_val r = YAJL_GET_ARRAY(routes)->values[i];

		snprintf(where, sizeof(where), "Routes[%zu]", i);
		if (!YAJL_IS_OBJECT(r)) {
			seterr(err, errlen, "%s: %s must be an object", path,
			    where);
			return -1;
		}
		src->nroutes++;
		/*
		 * A bad route is named and left out; the others are still
		 * built, so that one run names every mistake.
		 */
		snprintf(one, sizeof(one), "out of memory");
		if (gost_route(c, r, path, where, &src->routes[i], src, one,
		    sizeof(one)) != 0) {
			conf_err_add(err, errlen, &src->nerr, one);
			strv_free(src->routes[i].serve, src->routes[i].nserve);
			src->routes[i].serve = NULL;
			src->routes[i].nserve = 0;
		}
	}
	return 0;
}

/* A Routes entry past its ServeNodes: its chain, retries, mark. */
static int
gost_route_rest(struct conf *c, yajl_val o, const char *path,
    const char *where, struct conf_route *rt, char *err, size_t errlen)
{
	char key[64];
	yajl_val v;
	long long x;

	if ((v = obj_get(o, "ChainNodes", 1)) != NULL) {
		snprintf(key, sizeof(key), "%s.ChainNodes", where);
		if (json_strings(v, path, key, &rt->chain, &rt->nchain, err,
		    errlen) != 0)
			return -1;
	}
	if ((v = obj_get(o, "Retries", 1)) != NULL) {
		if (json_int(v, 0, 100, &x) != 0) {
			seterr(err, errlen, "%s: %s.Retries must be an integer "
			    "from 0 to 100", path, where);
			return -1;
		}
		rt->has_retries = 1;
		rt->retries = (unsigned int)x;
	}
	/* its listeners' sockets carry them (conf_egress) */
	return json_egress(o, 1, path, where, &rt->egress, err, errlen);
}

static const char *const level_names[] = {
	"fatal", "error", "info", "verbose", "debug", "debug2", "debug3", NULL
};

static int
tag_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len >= CONF_TAG_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("-_.", *s) == NULL)
			return 0;
	return 1;
}

/* "%XX" for everything but unreserved characters. */
static int
url_append(char *out, size_t len, const char *s)
{
	size_t o = strlen(out);

	for (; *s != '\0'; s++) {
		if (isalnum((unsigned char)*s) || strchr("-._~/:,[]", *s)) {
			if (o + 1 >= len)
				return -1;
			out[o++] = *s;
		} else {
			if (o + 3 >= len)
				return -1;
			snprintf(out + o, len - o, "%%%02X",
			    (unsigned char)*s);
			o += 3;
		}
	}
	out[o] = '\0';
	return 0;
}

static const char *
json_str(yajl_val o, const char *key)
{
	yajl_val v = obj_get(o, key, 0);

	return v != NULL && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
}

/* "%XX" for all but RFC 3986's unreserved: a key in user information. */
static int
url_append_strict(char *out, size_t len, const char *s)
{
	size_t o = strlen(out);

	for (; *s != '\0'; s++) {
		if (o + 4 >= len)
			return -1;
		if (isalnum((unsigned char)*s) || strchr("-._~", *s))
			out[o++] = *s;
		else {
			snprintf(out + o, len - o, "%%%02X",
			    (unsigned char)*s);
			o += 3;
		}
	}
	out[o] = '\0';
	return 0;
}

/* "&key=value" (the first one "?"), the value encoded. */
static int
url_param(char *url, size_t len, const char *key, const char *val)
{
	size_t o = strlen(url);

	if (snprintf(url + o, len - o, "%c%s=", strchr(url, '?') ? '&' : '?',
	    key) >= (int)(len - o))
		return -1;
	return url_append(url, len, val);
}

/*
 * An access_keys (or file_keys) array of strings and {access_key, name,
 * limit_bytes} objects, appended to *extra (made on first use).
 */
static int
json_ostp_keys(yajl_val arr, const char *path, const char *where,
    const char *key, int from_file, struct ostp_conf **extra, char *err,
    size_t errlen)
{
	char w[128];
	size_t i;

	if (!YAJL_IS_ARRAY(arr)) {
		seterr(err, errlen, "%s: %s%s%s must be an array of keys and "
		    "{\"access_key\", \"name\", \"limit_bytes\"} objects", path,
		    where, where[0] ? "." : "", key);
		return -1;
	}
	if (*extra == NULL && (*extra = calloc(1, sizeof(**extra))) == NULL)
		return -1;
	for (i = 0; i < YAJL_GET_ARRAY(arr)->len; i++) {
		snprintf(w, sizeof(w), "%s: %s%s%s[%zu]", path, where,
		    where[0] ? "." : "", key, i);
		if (ostp_keys_add_json(YAJL_GET_ARRAY(arr)->values[i], w,
		    &(*extra)->keys, &(*extra)->nkeys, err, errlen) != 0)
			return -1;
		(*extra)->keys[(*extra)->nkeys - 1].from_file = from_file;
	}
	return 0;
}

/* The keys of the inbound just pushed (src->serve[nserve - 1]). */
static int
src_set_ostp(struct conf_src *src, struct ostp_conf *extra)
{
	struct ostp_conf **no;
	size_t i;

	if ((no = reallocarray(src->ostp, src->nserve, sizeof(*no))) == NULL)
		return -1;
	for (i = src->ostp == NULL ? 0 : src->nserve - 1; i < src->nserve; i++)
		no[i] = NULL;
	src->ostp = no;
	src->ostp[src->nserve - 1] = extra;
	return 0;
}

static int
json_bool(yajl_val v, int *out)
{
	if (v == NULL || (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)))
		return -1;
	*out = YAJL_IS_TRUE(v);
	return 0;
}

/*
 * An OSTP server inbound (spec/ostp.md §4.3, §6): the ostp:// node URL
 * of its settings, its access_keys in *extra.
 */
static int
native_ostp_inbound(yajl_val o, const char *path, const char *where,
    char *url, size_t len, struct ostp_conf **extra, char *err,
    size_t errlen)
{
	static const char *const keys[] = {
		"type", "tag", "listen", "access_keys", "keys_file", "mtu",
		"max_sessions", "max_sessions_key", "max_flows",
		"handshake_rate", "local_access", "tcp", "path", "cert", "key",
		"stats", NULL
	};
	static const char *const strs[] = { "path", "cert", "key", "stats" };
	static const struct {
		const char	*key;
		long long	 lo, hi;
	} nums[] = {
		{ "mtu", 576, 65000 },
		{ "max_sessions", 1, 1000000 },
		{ "max_sessions_key", 1, 1000000 },
		{ "max_flows", 1, 1000000 },
		{ "handshake_rate", 1, 1000000 },
	};
	const char *listen, *kf;
	yajl_val v;
	long long x;
	size_t i;
	int b;
	char num[32];

	if (check_keys(o, keys, 0, path, where, err, errlen) != 0)
		return -1;
	if ((listen = json_str(o, "listen")) == NULL) {
		seterr(err, errlen, "%s: %s: an ostp inbound needs \"listen\" "
		    "([host]:port)", path, where);
		return -1;
	}
	snprintf(url, len, "ostp://");
	if (url_append(url, len, listen) != 0)
		goto toolong;
	if ((v = obj_get(o, "keys_file", 0)) != NULL) {
		if ((kf = json_str(o, "keys_file")) == NULL || kf[0] == '\0') {
			seterr(err, errlen, "%s: %s: keys_file must be a path",
			    path, where);
			return -1;
		}
		if (url_param(url, len, "keys", kf) != 0)
			goto toolong;
	}
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		if ((v = obj_get(o, nums[i].key, 0)) == NULL)
			continue;
		if (json_int(v, nums[i].lo, nums[i].hi, &x) != 0) {
			seterr(err, errlen, "%s: %s: %s must be an integer "
			    "from %lld to %lld", path, where, nums[i].key,
			    nums[i].lo, nums[i].hi);
			return -1;
		}
		snprintf(num, sizeof(num), "%lld", x);
		if (url_param(url, len, nums[i].key, num) != 0)
			goto toolong;
	}
	for (i = 0; i < 2; i++) {
		const char *k = i == 0 ? "local_access" : "tcp";

		if ((v = obj_get(o, k, 0)) == NULL)
			continue;
		if (json_bool(v, &b) != 0) {
			seterr(err, errlen, "%s: %s: %s must be true or false",
			    path, where, k);
			return -1;
		}
		if (url_param(url, len, k, b ? "true" : "false") != 0)
			goto toolong;
	}
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if ((v = obj_get(o, strs[i], 0)) == NULL)
			continue;
		if (!YAJL_IS_STRING(v) || YAJL_GET_STRING(v)[0] == '\0') {
			seterr(err, errlen, "%s: %s: %s must be a non-empty "
			    "string", path, where, strs[i]);
			return -1;
		}
		if (url_param(url, len, strs[i], YAJL_GET_STRING(v)) != 0)
			goto toolong;
	}
	if ((v = obj_get(o, "access_keys", 0)) != NULL &&
	    json_ostp_keys(v, path, where, "access_keys", 0, extra, err,
	    errlen) != 0)
		return -1;
	return 0;
 toolong:
	seterr(err, errlen, "%s: %s: too long", path, where);
	return -1;
}

/* The share link of an OSTP client (spec/ostp.md §4.1) as a hop URL. */
struct ostp_client {
	const char	*server;
	const char	*key;
	long long	 mtu;		/* 0: the default */
	long long	 sessions;	/* 0: no mux */
	int		 uot;		/* UDP over TCP */
	int		 tls;		/* UoT inside TLS */
	int		 insecure;	/* no certificate check */
	const char	*sni;
	const char	*path;		/* HTTP upgrade path */
	const char	*ca;
	int		 frag;		/* tcp_fragmentation */
	long long	 frag_chunk;	/* 0: the default */
	long long	 frag_sleep;	/* -1: the default */
	long long	 junk_pc[2];	/* [0] -1: the default */
	long long	 junk_ps[2];
	int		 obfs_set;	/* any of the five given */
	const char	*stun;		/* "ip:port" */
	const char	*turn;		/* "ip:port" */
	const char	*turn_user;
	const char	*turn_pass;
	int		 desync;	/* ttl_desync */
	long long	 desync_ttl;	/* 0: the default */
	long long	 desync_count;	/* 0: the default */
	int		 desync_auto;	/* -1: the default */
};

static int
ostp_client_url(const struct ostp_client *oc, char *url, size_t len)
{
	char num[32];
	size_t o;

	snprintf(url, len, "ostp://");
	if (url_append_strict(url, len, oc->key) != 0 ||
	    (o = strlen(url)) + 2 > len)
		return -1;
	url[o++] = '@';		/* url_append would encode it */
	url[o] = '\0';
	if (url_append(url, len, oc->server) != 0 ||
	    url_param(url, len, "type", oc->uot ? "uot" : "udp") != 0 ||
	    (oc->tls && url_param(url, len, "tls", "1") != 0) ||
	    (oc->sni != NULL && url_param(url, len, "sni", oc->sni) != 0) ||
	    (oc->insecure && url_param(url, len, "insecure", "1") != 0) ||
	    (oc->ca != NULL && url_param(url, len, "ca", oc->ca) != 0) ||
	    (oc->path != NULL && url_param(url, len, "path", oc->path) != 0) ||
	    (oc->stun != NULL && url_param(url, len, "stun", oc->stun) != 0) ||
	    (oc->turn != NULL && (url_param(url, len, "turn", oc->turn) != 0 ||
	    url_param(url, len, "turn_user", oc->turn_user) != 0 ||
	    url_param(url, len, "turn_pass", oc->turn_pass) != 0)))
		return -1;
	/* the plain UoT carrier's knobs (§2.12); nothing else has them */
	if (oc->uot && !oc->tls && oc->path == NULL && oc->obfs_set) {
		if (oc->frag && url_param(url, len, "tcp_fragmentation",
		    "1") != 0)
			return -1;
		if (oc->frag_chunk > 0) {
			snprintf(num, sizeof(num), "%lld", oc->frag_chunk);
			if (url_param(url, len, "frag_chunk", num) != 0)
				return -1;
		}
		if (oc->frag_sleep >= 0) {
			snprintf(num, sizeof(num), "%lld", oc->frag_sleep);
			if (url_param(url, len, "frag_sleep", num) != 0)
				return -1;
		}
		if (oc->junk_pc[0] >= 0) {
			snprintf(num, sizeof(num), "%lld-%lld", oc->junk_pc[0],
			    oc->junk_pc[1]);
			if (url_param(url, len, "junk_pc", num) != 0)
				return -1;
		}
		if (oc->junk_ps[0] >= 0) {
			snprintf(num, sizeof(num), "%lld-%lld", oc->junk_ps[0],
			    oc->junk_ps[1]);
			if (url_param(url, len, "junk_ps", num) != 0)
				return -1;
		}
	}
	/* TTL decoys: the plain UDP carrier's; 0.4 files leave them unused */
	if (oc->desync && !oc->uot) {
		if (url_param(url, len, "ttl_desync", "1") != 0)
			return -1;
		if (oc->desync_ttl > 0) {
			snprintf(num, sizeof(num), "%lld", oc->desync_ttl);
			if (url_param(url, len, "ttl_desync_ttl", num) != 0)
				return -1;
		}
		if (oc->desync_count > 0) {
			snprintf(num, sizeof(num), "%lld", oc->desync_count);
			if (url_param(url, len, "ttl_desync_count", num) != 0)
				return -1;
		}
		if (oc->desync_auto >= 0 && url_param(url, len,
		    "ttl_desync_auto", oc->desync_auto ? "1" : "0") != 0)
			return -1;
	}
	if (oc->sessions > 0) {
		snprintf(num, sizeof(num), "%lld", oc->sessions);
		if (url_param(url, len, "mux", num) != 0)
			return -1;
	}
	if (oc->mtu > 0) {
		snprintf(num, sizeof(num), "%lld", oc->mtu);
		if (url_param(url, len, "mtu", num) != 0)
			return -1;
	}
	return 0;
}

/*
 * An OSTP client's transport object (spec/ostp.md §4.1): mode udp, uot
 * or tcp (UoT), tls, tls_sni, tls_insecure, ws_path, and tls_ca here.
 * strict: no other key (native); otherwise the 0.4 file's obfuscation
 * knobs are let through, and those this build lacks must be off.
 */
/* [min, max] of integers within lo..hi. */
static int
json_range(yajl_val v, long long lo, long long hi, long long out[2])
{
	if (!YAJL_IS_ARRAY(v) || v->u.array.len != 2 ||
	    json_int(v->u.array.values[0], lo, hi, &out[0]) != 0 ||
	    json_int(v->u.array.values[1], lo, hi, &out[1]) != 0 ||
	    out[0] > out[1])
		return -1;
	return 0;
}

/* The transport's obfuscation knobs (§2.12, §4.1). */
static int
ostp_transport_obfs(yajl_val t, struct ostp_client *cl, const char *path,
    const char *w, char *err, size_t errlen)
{
	yajl_val v;

	cl->frag_sleep = -1;
	cl->junk_pc[0] = cl->junk_ps[0] = -1;
	if ((v = obj_get(t, "tcp_fragmentation", 0)) != NULL) {
		if (json_bool(v, &cl->frag) != 0) {
			seterr(err, errlen, "%s: %s.tcp_fragmentation must be "
			    "true or false", path, w);
			return -1;
		}
		cl->obfs_set |= cl->frag;
	}
	if ((v = obj_get(t, "frag_chunk", 0)) != NULL) {
		if (json_int(v, 1, 1400, &cl->frag_chunk) != 0) {
			seterr(err, errlen, "%s: %s.frag_chunk must be an "
			    "integer from 1 to 1400", path, w);
			return -1;
		}
		cl->obfs_set = 1;
	}
	if ((v = obj_get(t, "frag_sleep", 0)) != NULL) {
		if (json_int(v, 0, 1000, &cl->frag_sleep) != 0) {
			seterr(err, errlen, "%s: %s.frag_sleep must be an "
			    "integer from 0 to 1000 (ms)", path, w);
			return -1;
		}
		cl->obfs_set = 1;
	}
	if ((v = obj_get(t, "junk_pc", 0)) != NULL) {
		if (json_range(v, 0, 64, cl->junk_pc) != 0) {
			seterr(err, errlen, "%s: %s.junk_pc must be [min, max] "
			    "from 0 to 64", path, w);
			return -1;
		}
		cl->obfs_set = 1;
	}
	if ((v = obj_get(t, "junk_ps", 0)) != NULL) {
		if (json_range(v, 4, 1400, cl->junk_ps) != 0) {
			seterr(err, errlen, "%s: %s.junk_ps must be [min, max] "
			    "from 4 to 1400 (bytes)", path, w);
			return -1;
		}
		cl->obfs_set = 1;
	}
	cl->desync_auto = -1;
	if ((v = obj_get(t, "ttl_desync", 0)) != NULL &&
	    !YAJL_IS_NULL(v) && json_bool(v, &cl->desync) != 0) {
		seterr(err, errlen, "%s: %s.ttl_desync must be true or false",
		    path, w);
		return -1;
	}
	if ((v = obj_get(t, "ttl_desync_ttl", 0)) != NULL &&
	    json_int(v, 1, 255, &cl->desync_ttl) != 0) {
		seterr(err, errlen, "%s: %s.ttl_desync_ttl must be an integer "
		    "from 1 to 255", path, w);
		return -1;
	}
	if ((v = obj_get(t, "ttl_desync_count", 0)) != NULL &&
	    json_int(v, 1, 16, &cl->desync_count) != 0) {
		seterr(err, errlen, "%s: %s.ttl_desync_count must be an "
		    "integer from 1 to 16", path, w);
		return -1;
	}
	if ((v = obj_get(t, "ttl_desync_auto", 0)) != NULL &&
	    json_bool(v, &cl->desync_auto) != 0) {
		seterr(err, errlen, "%s: %s.ttl_desync_auto must be true or "
		    "false", path, w);
		return -1;
	}
	return 0;
}

static int
ostp_transport(yajl_val t, int strict, struct ostp_client *cl,
    const char *path, const char *where, char *err, size_t errlen)
{
	static const char *const keys[] = { "mode", "tls", "tls_sni",
	    "tls_insecure", "ws_path", "tls_ca", "tcp_fragmentation",
	    "frag_chunk", "frag_sleep", "junk_pc", "junk_ps", "ttl_desync",
	    "ttl_desync_ttl", "ttl_desync_count", "ttl_desync_auto", NULL };
	static const char *const any04[] = {
		"mode", "frag_chunk", "frag_sleep", "junk_pc", "junk_ps",
		"ttl_desync_ttl", "ttl_desync_count", "ttl_desync_auto",
		"tls_sni", "ws_path", "tcp_fragmentation", "ttl_desync", "tls",
		"tls_insecure", "tls_ca", NULL
	};
	const char *mode;
	yajl_val v;
	char w[80];

	snprintf(w, sizeof(w), "%s%stransport", where, where[0] ? "." : "");
	if (!YAJL_IS_OBJECT(t)) {
		seterr(err, errlen, "%s: %s must be an object", path, w);
		return -1;
	}
	if (check_keys(t, strict ? keys : any04, 0, path, w, err,
	    errlen) != 0)
		return -1;
	if ((v = obj_get(t, "mode", 0)) != NULL) {
		mode = json_str(t, "mode");
		if (mode == NULL || (strcmp(mode, "udp") != 0 &&
		    strcmp(mode, "uot") != 0 && strcmp(mode, "tcp") != 0)) {
			seterr(err, errlen, "%s: %s.mode must be \"udp\", "
			    "\"uot\" or \"tcp\"", path, w);
			return -1;
		}
		cl->uot = strcmp(mode, "udp") != 0;
	}
	if (((v = obj_get(t, "tls", 0)) != NULL &&
	    json_bool(v, &cl->tls) != 0) ||
	    ((v = obj_get(t, "tls_insecure", 0)) != NULL &&
	    json_bool(v, &cl->insecure) != 0)) {
		seterr(err, errlen, "%s: %s.tls and tls_insecure must be true "
		    "or false", path, w);
		return -1;
	}
	if (((v = obj_get(t, "tls_sni", 0)) != NULL && !YAJL_IS_NULL(v) &&
	    (cl->sni = json_str(t, "tls_sni")) == NULL) ||
	    ((v = obj_get(t, "ws_path", 0)) != NULL && !YAJL_IS_NULL(v) &&
	    (cl->path = json_str(t, "ws_path")) == NULL) ||
	    ((v = obj_get(t, "tls_ca", 0)) != NULL &&
	    (cl->ca = json_str(t, "tls_ca")) == NULL)) {
		seterr(err, errlen, "%s: %s.tls_sni, ws_path and tls_ca must "
		    "be strings", path, w);
		return -1;
	}
	/* empty: upstream's "not set" */
	if (cl->sni != NULL && cl->sni[0] == '\0')
		cl->sni = NULL;
	if (cl->path != NULL && cl->path[0] == '\0')
		cl->path = NULL;
	if (ostp_transport_obfs(t, cl, path, w, err, errlen) != 0)
		return -1;
	/* native files say what they mean; 0.4's leave them unused */
	if (strict && cl->obfs_set && (!cl->uot || cl->tls ||
	    cl->path != NULL)) {
		seterr(err, errlen, "%s: %s: tcp_fragmentation, frag_chunk, "
		    "frag_sleep, junk_pc and junk_ps need mode \"uot\" "
		    "without tls or ws_path", path, w);
		return -1;
	}
	if (strict && (cl->desync_ttl > 0 || cl->desync_count > 0 ||
	    cl->desync_auto >= 0) && !cl->desync) {
		seterr(err, errlen, "%s: %s: ttl_desync_ttl, ttl_desync_count "
		    "and ttl_desync_auto need ttl_desync true", path, w);
		return -1;
	}
	if (strict && cl->desync && cl->uot) {
		seterr(err, errlen, "%s: %s: ttl_desync needs mode \"udp\"",
		    path, w);
		return -1;
	}
	return 0;
}

/* mux {enabled, sessions}: the number of sessions, 0 without mux. */
static int
ostp_mux(yajl_val m, const char *path, const char *where, long long *out,
    char *err, size_t errlen)
{
	static const char *const keys[] = { "enabled", "sessions", NULL };
	yajl_val v;
	long long n = 1;
	int en = 0;
	char w[80];

	snprintf(w, sizeof(w), "%s%smux", where, where[0] ? "." : "");
	if (!YAJL_IS_OBJECT(m)) {
		seterr(err, errlen, "%s: %s must be an object", path, w);
		return -1;
	}
	if (check_keys(m, keys, 0, path, w, err, errlen) != 0)
		return -1;
	if ((v = obj_get(m, "enabled", 0)) != NULL && json_bool(v, &en) != 0) {
		seterr(err, errlen, "%s: %s.enabled must be true or false",
		    path, w);
		return -1;
	}
	if ((v = obj_get(m, "sessions", 0)) != NULL &&
	    json_int(v, 1, 64, &n) != 0) {
		seterr(err, errlen, "%s: %s.sessions must be an integer "
		    "from 1 to 64", path, w);
		return -1;
	}
	*out = en ? n : 0;
	return 0;
}

/*
 * An OSTP client outbound: a chain of one ostp:// hop, so that the
 * printed configuration (and a worker) sees an ordinary chain.
 */
static int
native_ostp_outbound(struct outbound_conf *ob, yajl_val o, const char *path,
    const char *where, char *err, size_t errlen)
{
	static const char *const keys[] = {
		"type", "tag", "server", "access_key", "transport", "mux",
		"mtu", "stun", "turn", NULL
	};
	static const char *const turn_keys[] = {
		"server", "username", "password", NULL
	};
	struct ostp_client cl;
	const char *why;
	char url[2048];
	yajl_val v;

	memset(&cl, 0, sizeof(cl));
	if (check_keys(o, keys, 0, path, where, err, errlen) != 0)
		return -1;
	if ((cl.server = json_str(o, "server")) == NULL ||
	    (cl.key = json_str(o, "access_key")) == NULL) {
		seterr(err, errlen, "%s: %s: an ostp outbound needs \"server\" "
		    "(host:port) and \"access_key\"", path, where);
		return -1;
	}
	if ((why = ostp_key_invalid(cl.key)) != NULL) {
		seterr(err, errlen, "%s: %s: access_key: %s", path, where, why);
		return -1;
	}
	if ((v = obj_get(o, "mtu", 0)) != NULL &&
	    json_int(v, 576, 65000, &cl.mtu) != 0) {
		seterr(err, errlen, "%s: %s: mtu must be an integer from 576 "
		    "to 65000", path, where);
		return -1;
	}
	if ((v = obj_get(o, "transport", 0)) != NULL &&
	    ostp_transport(v, 1, &cl, path, where, err, errlen) != 0)
		return -1;
	if ((v = obj_get(o, "mux", 0)) != NULL &&
	    ostp_mux(v, path, where, &cl.sessions, err, errlen) != 0)
		return -1;
	/* "stun": "ip:port"; "turn": {"server", "username", "password"} */
	if ((v = obj_get(o, "stun", 0)) != NULL &&
	    (cl.stun = json_str(o, "stun")) == NULL) {
		seterr(err, errlen, "%s: %s: stun must be a string (ip:port)",
		    path, where);
		return -1;
	}
	if ((v = obj_get(o, "turn", 0)) != NULL) {
		if (!YAJL_IS_OBJECT(v) ||
		    (cl.turn = json_str(v, "server")) == NULL ||
		    (cl.turn_user = json_str(v, "username")) == NULL ||
		    (cl.turn_pass = json_str(v, "password")) == NULL) {
			seterr(err, errlen, "%s: %s: turn must be an object "
			    "with \"server\" (ip:port), \"username\" and "
			    "\"password\"", path, where);
			return -1;
		}
		if (check_keys(v, turn_keys, 0, path, "turn", err,
		    errlen) != 0)
			return -1;
	}
	if (ostp_client_url(&cl, url, sizeof(url)) != 0) {
		seterr(err, errlen, "%s: %s: too long", path, where);
		return -1;
	}
	ob->type = OB_CHAIN;
	if ((ob->hops = calloc(1, sizeof(*ob->hops))) == NULL)
		return -1;
	ob->nhops = 1;
	return conf_hop_build(&ob->hops[0], url, 1, err, errlen);
}

/* A typed tun/tap inbound becomes the node URL it stands for. */
static int
native_tun_url(yajl_val o, const char *type, const char *path,
    const char *where, char *url, size_t len, char *err, size_t errlen)
{
	static const char *const keys[] = {
		"type", "tag", "listen", "peer", "name", "net", "net6", "mtu",
		"routes",
		"gw", "mark", "interface", "dns", "fake_ip", "auto_route",
		"table", "sniff", "exclude", "icmp", "tcp", NULL
	};
	const char *listen, *s;
	yajl_val v;
	long long mtu;
	size_t i, li;
	char sep = '?';
	int capture;

	if (check_keys(o, keys, 0, path, where, err, errlen) != 0)
		return -1;
	if ((v = obj_get(o, "listen", 0)) != NULL && !YAJL_IS_STRING(v)) {
		seterr(err, errlen, "%s: %s: listen must be a string "
		    "([host]:port)", path, where);
		return -1;
	}
	/*
	 * Without listen and peer a tun inbound is a capture (sing-box's
	 * tun): its flows go through the routing rules, not to a peer.
	 */
	capture = strcmp(type, "tun") == 0 && obj_get(o, "listen", 0) ==
	    NULL && obj_get(o, "peer", 0) == NULL;
	listen = (s = json_str(o, "listen")) != NULL ? s : ":0";
	snprintf(url, len, "%s://", type);
	if (capture) {
		snprintf(url + strlen(url), len - strlen(url),
		    "?capture=true");
		sep = '&';
	} else if (url_append(url, len, listen) != 0)
		goto toolong;
	if ((s = json_str(o, "peer")) != NULL) {
		if (url_append(url, len, "/") != 0)
			goto toolong;
		if (url_append(url, len, s) != 0)
			goto toolong;
	}
	for (i = 0; i < 7; i++) {
		const char *k = (const char *[]){ "name", "net", "net6", "gw",
		    "dns", "fake_ip", "icmp" }[i];
		/* the URL's dns= is a resolver list: this is an address */
		const char *uk = (const char *[]){ "name", "net", "net6", "gw",
		    "dns_addr", "fake_ip", "icmp" }[i];

		if ((v = obj_get(o, k, 0)) == NULL)
			continue;
		if (!YAJL_IS_STRING(v)) {
			seterr(err, errlen, "%s: %s: %s must be a string", path,
			    where, k);
			return -1;
		}
		snprintf(url + strlen(url), len - strlen(url), "%c%s=", sep,
		    uk);
		sep = '&';
		if (url_append(url, len, YAJL_GET_STRING(v)) != 0)
			goto toolong;
	}
	if ((v = obj_get(o, "mtu", 0)) != NULL) {
		if (json_int(v, 68, 65535, &mtu) != 0) {
			seterr(err, errlen, "%s: %s: mtu must be an integer "
			    "from 68 to 65535", path, where);
			return -1;
		}
		snprintf(url + strlen(url), len - strlen(url), "%cmtu=%lld",
		    sep, mtu);
		sep = '&';
	}
	/* tcp: over fake TCP (gost's tcp=true) */
	for (i = 0; i < 3; i++) {
		const char *k = (const char *[]){ "auto_route", "sniff",
		    "tcp" }[i];

		if ((v = obj_get(o, k, 0)) == NULL)
			continue;
		if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
			seterr(err, errlen, "%s: %s: %s must be true or false",
			    path, where, k);
			return -1;
		}
		snprintf(url + strlen(url), len - strlen(url), "%c%s=%s", sep,
		    k, YAJL_IS_TRUE(v) ? "true" : "false");
		sep = '&';
	}
	if ((v = obj_get(o, "table", 0)) != NULL) {
		long long tb;

		if (json_int(v, 1, 4294967039LL, &tb) != 0) {
			seterr(err, errlen, "%s: %s: table must be an integer "
			    "from 1 to 4294967039", path, where);
			return -1;
		}
		snprintf(url + strlen(url), len - strlen(url), "%ctable=%lld",
		    sep, tb);
		sep = '&';
	}
	for (li = 0; li < 2; li++) {
		/* a list of CIDRs: the URL's comma-separated parameter */
		const char *jk = li == 0 ? "routes" : "exclude";
		const char *uk = li == 0 ? "route" : "exclude";

		if ((v = obj_get(o, jk, 0)) == NULL)
			continue;
		if (!YAJL_IS_ARRAY(v) || YAJL_GET_ARRAY(v)->len == 0) {
			seterr(err, errlen, "%s: %s: %s must be a non-empty "
			    "array of address/prefix strings", path, where, jk);
			return -1;
		}
		snprintf(url + strlen(url), len - strlen(url), "%c%s=", sep,
		    uk);
		sep = '&';
		for (i = 0; i < YAJL_GET_ARRAY(v)->len; i++) {
			yajl_val r = YAJL_GET_ARRAY(v)->values[i];

			if (!YAJL_IS_STRING(r)) {
				seterr(err, errlen, "%s: %s: %s[%zu] must "
				    "be a string", path, where, jk, i);
				return -1;
			}
			if (i > 0)
				if (url_append(url, len, ",") != 0)
					goto toolong;
			if (url_append(url, len, YAJL_GET_STRING(r)) != 0)
				goto toolong;
		}
	}
	return 0;
 toolong:
	seterr(err, errlen, "%s: %s: too long", path, where);
	return -1;
}

/*
 * A local proxy inbound (SOCKS5/SOCKS4/HTTP on one port, as an OSTP
 * client offers its applications) is the proxy node URL it stands for.
 */
static int
native_local_proxy_url(yajl_val o, const char *path, const char *where,
    char *url, size_t len, char *err, size_t errlen)
{
	static const char *const keys[] = {
		"type", "tag", "listen", "protocol", "user", "password", NULL
	};
	const char *listen, *proto, *user, *pass;

	if (check_keys(o, keys, 0, path, where, err, errlen) != 0)
		return -1;
	if ((listen = json_str(o, "listen")) == NULL) {
		seterr(err, errlen, "%s: %s: a local_proxy needs \"listen\" "
		    "([host]:port)", path, where);
		return -1;
	}
	proto = json_str(o, "protocol");
	if (proto == NULL)
		proto = "auto";
	if (strcmp(proto, "auto") != 0 && strcmp(proto, "socks5") != 0 &&
	    strcmp(proto, "socks4") != 0 && strcmp(proto, "http") != 0) {
		seterr(err, errlen, "%s: %s: protocol must be auto, socks5, "
		    "socks4 or http", path, where);
		return -1;
	}
	user = json_str(o, "user");
	pass = json_str(o, "password");
	if ((pass != NULL) != (user != NULL)) {
		seterr(err, errlen, "%s: %s: user and password go together",
		    path, where);
		return -1;
	}
	snprintf(url, len, "%s://", proto);
	if (user != NULL) {
		if (url_append(url, len, user) != 0)
			goto toolong;
		snprintf(url + strlen(url), len - strlen(url), ":");
		if (url_append(url, len, pass) != 0)
			goto toolong;
		snprintf(url + strlen(url), len - strlen(url), "@");
	}
	if (url_append(url, len, listen) != 0)
		goto toolong;
	return 0;
 toolong:
	seterr(err, errlen, "%s: %s: too long", path, where);
	return -1;
}

static int
native_inbounds(yajl_val arr, const char *path, struct conf_src *src,
    char *err, size_t errlen)
{
	char where[48], url[2048];
	const char *tag, *type, *u;
	struct ostp_conf *extra;
	struct egress eg;
	size_t i;
	yajl_val kv;

	if (!YAJL_IS_ARRAY(arr)) {
		seterr(err, errlen, "%s: inbounds must be an array", path);
		return -1;
	}
	for (i = 0; i < YAJL_GET_ARRAY(arr)->len; i++) {
		yajl_val o = YAJL_GET_ARRAY(arr)->values[i];

		snprintf(where, sizeof(where), "inbounds[%zu]", i);
		tag = NULL;
		extra = NULL;
		memset(&eg, 0, sizeof(eg));
		if (YAJL_IS_STRING(o))
			u = YAJL_GET_STRING(o);
		else if (YAJL_IS_OBJECT(o)) {
			yajl_val tv = obj_get(o, "tag", 0);

			if (tv != NULL && (!YAJL_IS_STRING(tv) ||
			    !tag_ok(YAJL_GET_STRING(tv)))) {
				seterr(err, errlen, "%s: %s: tag must be 1-%d "
				    "letters, digits, '-', '_' or '.'", path,
				    where, CONF_TAG_MAX - 1);
				return -1;
			}
			tag = tv ? YAJL_GET_STRING(tv) : NULL;
			type = json_str(o, "type");
			if ((u = json_str(o, "url")) != NULL) {
				static const char *const k[] = { "tag", "url",
				    "mark", "interface", "access_keys",
				    "file_keys", NULL };

				if (check_keys(o, k, 0, path, where, err,
				    errlen) != 0 || json_egress(o, 0, path,
				    where, &eg, err, errlen) != 0)
					return -1;
				/* an ostp:// inbound's keys beside its URL's */
				if (((kv = obj_get(o, "access_keys", 0)) !=
				    NULL && json_ostp_keys(kv, path, where,
				    "access_keys", 0, &extra, err, errlen) !=
				    0) || ((kv = obj_get(o, "file_keys", 0)) !=
				    NULL && json_ostp_keys(kv, path, where,
				    "file_keys", 1, &extra, err, errlen) !=
				    0)) {
					ostp_conf_free(extra);
					return -1;
				}
			} else if (type != NULL && (strcmp(type, "tun") == 0 ||
			    strcmp(type, "tap") == 0)) {
				if (native_tun_url(o, type, path, where, url,
				    sizeof(url), err, errlen) != 0 ||
				    json_egress(o, 0, path, where, &eg, err,
				    errlen) != 0)
					return -1;
				u = url;
			} else if (type != NULL && strcmp(type, "ostp") == 0) {
				if (native_ostp_inbound(o, path, where, url,
				    sizeof(url), &extra, err, errlen) != 0) {
					ostp_conf_free(extra);
					return -1;
				}
				u = url;
			} else if (type != NULL &&
			    strcmp(type, "local_proxy") == 0) {
				if (native_local_proxy_url(o, path, where, url,
				    sizeof(url), err, errlen) != 0)
					return -1;
				u = url;
			} else if (type != NULL) {
				seterr(err, errlen, "%s: %s: inbound type %s is "
				    "not supported in this build", path, where,
				    type);
				return -1;
			} else {
				seterr(err, errlen, "%s: %s: needs \"url\" or "
				    "\"type\"", path, where);
				return -1;
			}
		} else {
			seterr(err, errlen, "%s: %s must be a node URL or an "
			    "object", path, where);
			return -1;
		}
		if (conf_src_push(&src->serve, &src->nserve, u) != 0) {
			ostp_conf_free(extra);
			return -1;
		}
		if ((extra != NULL || src->ostp != NULL) &&
		    src_set_ostp(src, extra) != 0) {
			ostp_conf_free(extra);
			return -1;
		}
		if (tag != NULL) {
			src->tags[src->nserve - 1] = strdup(tag);
			if (src->tags[src->nserve - 1] == NULL)
				return -1;
		}
		/* keep tags as long as serve, NULL-filled */
		{
			char **nt = reallocarray(src->tags, src->nserve + 1,
			    sizeof(char *));

			if (nt == NULL)
				return -1;
			src->tags = nt;
			src->tags[src->nserve] = NULL;
		}
		if (src->egress != NULL || conf_egress_any(&eg)) {
			struct egress *ne = reallocarray(src->egress,
			    src->nserve, sizeof(*ne));

			if (ne == NULL)
				return -1;
			if (src->egress == NULL)
				memset(ne, 0, src->nserve * sizeof(*ne));
			src->egress = ne;
			src->egress[src->nserve - 1] = eg;
		}
	}
	return 0;
}

size_t
conf_outbound_find(const struct conf *c, const char *tag)
{
	size_t i;

	for (i = 0; i < c->nobs; i++)
		if (strcmp(c->obs[i].tag, tag) == 0)
			return i;
	return (size_t)-1;
}

static int
native_outbounds(struct conf *c, yajl_val arr, const char *path, char *err,
    size_t errlen)
{
	static const char *const keys[] = { "type", "tag", "hops", "retries",
	    NULL };
	static const char *const okeys[] = { "type", "tag", "server",
	    "access_key", "transport", "mux", "mtu", "stun", "turn", NULL };
	char where[48];
	const char *type, *tag;
	yajl_val hops, v;
	size_t i, j;

	if (!YAJL_IS_ARRAY(arr)) {
		seterr(err, errlen, "%s: outbounds must be an array", path);
		return -1;
	}
	if ((c->obs = calloc(YAJL_GET_ARRAY(arr)->len + 1,
	    sizeof(*c->obs))) == NULL)
		return -1;
	for (i = 0; i < YAJL_GET_ARRAY(arr)->len; i++) {
		yajl_val o = YAJL_GET_ARRAY(arr)->values[i];
		struct outbound_conf *ob = &c->obs[c->nobs];

		snprintf(where, sizeof(where), "outbounds[%zu]", i);
		if (!YAJL_IS_OBJECT(o)) {
			seterr(err, errlen, "%s: %s must be an object", path,
			    where);
			return -1;
		}
		type = json_str(o, "type");
		if (check_keys(o, type != NULL && strcmp(type, "ostp") == 0 ?
		    okeys : keys, 0, path, where, err, errlen) != 0)
			return -1;
		tag = json_str(o, "tag");
		if (tag == NULL || !tag_ok(tag)) {
			seterr(err, errlen, "%s: %s: tag must be 1-%d letters, "
			    "digits, '-', '_' or '.'", path, where,
			    CONF_TAG_MAX - 1);
			return -1;
		}
		if (conf_outbound_find(c, tag) != (size_t)-1) {
			seterr(err, errlen, "%s: %s: tag \"%s\" is used twice",
			    path, where, tag);
			return -1;
		}
		snprintf(ob->tag, sizeof(ob->tag), "%s", tag);
		hops = obj_get(o, "hops", 0);
		if (type != NULL && strcmp(type, "direct") == 0)
			ob->type = OB_DIRECT;
		else if (type != NULL && strcmp(type, "block") == 0)
			ob->type = OB_BLOCK;
		else if (type != NULL && strcmp(type, "chain") == 0) {
			ob->type = OB_CHAIN;
			if (hops == NULL || !YAJL_IS_ARRAY(hops) ||
			    YAJL_GET_ARRAY(hops)->len == 0) {
				seterr(err, errlen, "%s: %s: a chain needs "
				    "\"hops\", an array of node URLs", path,
				    where);
				return -1;
			}
			if ((ob->hops = calloc(YAJL_GET_ARRAY(hops)->len,
			    sizeof(*ob->hops))) == NULL)
				return -1;
			for (j = 0; j < YAJL_GET_ARRAY(hops)->len; j++) {
				yajl_val h = YAJL_GET_ARRAY(hops)->values[j];

				if (!YAJL_IS_STRING(h)) {
					seterr(err, errlen, "%s: %s: hops[%zu] "
					    "must be a node URL", path, where, j);
					c->nobs++;
					return -1;
				}
				if (conf_hop_build(&ob->hops[j],
				    YAJL_GET_STRING(h), j == 0, err,
				    errlen) != 0) {
					c->nobs++;	/* so conf_free sees it */
					return -1;
				}
				ob->nhops++;
			}
			if ((v = obj_get(o, "retries", 0)) != NULL) {
				long long x;

				if (json_int(v, 0, 100, &x) != 0) {
					seterr(err, errlen, "%s: %s: retries "
					    "must be an integer from 0 to 100",
					    path, where);
					c->nobs++;
					return -1;
				}
				ob->retries = (unsigned int)x;
			}
		} else if (type != NULL && strcmp(type, "ostp") == 0) {
			if (native_ostp_outbound(ob, o, path, where, err,
			    errlen) != 0) {
				c->nobs++;	/* so conf_free sees it */
				return -1;
			}
			hops = NULL;
		} else {
			seterr(err, errlen, "%s: %s: outbound type %s is unknown "
			    "(direct, block, chain or ostp)", path, where,
			    type ? type : "(missing)");
			return -1;
		}
		if ((hops != NULL || obj_get(o, "retries", 0) != NULL) &&
		    ob->type != OB_CHAIN) {
			seterr(err, errlen, "%s: %s: only a chain has hops and "
			    "retries",
			    path, where);
			return -1;
		}
		c->nobs++;
	}
	return 0;
}

static int
rule_strings(yajl_val v, char ***out, size_t *n)
{
	size_t i;

	if (!YAJL_IS_ARRAY(v))
		return -1;
	for (i = 0; i < YAJL_GET_ARRAY(v)->len; i++) {
		yajl_val s = YAJL_GET_ARRAY(v)->values[i];

		if (!YAJL_IS_STRING(s) || YAJL_GET_STRING(s)[0] == '\0' ||
		    conf_src_push(out, n, YAJL_GET_STRING(s)) != 0)
			return -1;
		for (char *p = (*out)[*n - 1]; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	return 0;
}

static int
rule_port(yajl_val v, struct port_range *pr)
{
	long long x;
	const char *s;
	char *ep;
	unsigned long lo, hi;

	if (json_int(v, 1, 65535, &x) == 0) {
		pr->lo = pr->hi = (uint16_t)x;
		return 0;
	}
	if (!YAJL_IS_STRING(v))
		return -1;
	s = YAJL_GET_STRING(v);
	if (!isdigit((unsigned char)*s))
		return -1;
	lo = strtoul(s, &ep, 10);
	hi = lo;
	if (*ep == '-') {
		if (!isdigit((unsigned char)ep[1]))
			return -1;
		hi = strtoul(ep + 1, &ep, 10);
	}
	if (*ep != '\0' || lo < 1 || hi > 65535 || lo > hi)
		return -1;
	pr->lo = (uint16_t)lo;
	pr->hi = (uint16_t)hi;
	return 0;
}

static int
native_routing(struct conf *c, yajl_val o, const char *path, char *err,
    size_t errlen)
{
	static const char *const keys[] = { "rules", "default_outbound",
	    NULL };
	static const char *const rkeys[] = { "domain_suffix", "domain",
	    "ip_cidr", "port", "inbound", "outbound", NULL };
	yajl_val rules, v;
	const char *s;
	char where[48];
	size_t i, j;

	if (!YAJL_IS_OBJECT(o)) {
		seterr(err, errlen, "%s: routing must be an object", path);
		return -1;
	}
	if (check_keys(o, keys, 0, path, "routing", err, errlen) != 0)
		return -1;
	if ((v = obj_get(o, "default_outbound", 0)) != NULL) {
		if (!YAJL_IS_STRING(v) || (c->default_ob = conf_outbound_find(c,
		    YAJL_GET_STRING(v))) == (size_t)-1) {
			seterr(err, errlen, "%s: routing: default_outbound must "
			    "name an outbound tag", path);
			return -1;
		}
	}
	if ((rules = obj_get(o, "rules", 0)) == NULL)
		return 0;
	if (!YAJL_IS_ARRAY(rules) || YAJL_GET_ARRAY(rules)->len >
	    CONF_MAX_RULES) {
		seterr(err, errlen, "%s: routing: rules must be an array of at "
		    "most %d objects", path, CONF_MAX_RULES);
		return -1;
	}
	if ((c->rules = calloc(YAJL_GET_ARRAY(rules)->len + 1,
	    sizeof(*c->rules))) == NULL)
		return -1;
	for (i = 0; i < YAJL_GET_ARRAY(rules)->len; i++) {
		yajl_val r = YAJL_GET_ARRAY(rules)->values[i];
		struct rule_conf *rc = &c->rules[c->nrules];

		snprintf(where, sizeof(where), "routing.rules[%zu]", i);
		if (!YAJL_IS_OBJECT(r)) {
			seterr(err, errlen, "%s: %s must be an object", path,
			    where);
			return -1;
		}
		c->nrules++;
		if (check_keys(r, rkeys, 0, path, where, err, errlen) != 0)
			return -1;
		if ((s = json_str(r, "outbound")) == NULL ||
		    (rc->outbound = conf_outbound_find(c, s)) == (size_t)-1) {
			seterr(err, errlen, "%s: %s: outbound must name an "
			    "outbound tag", path, where);
			return -1;
		}
		if (((v = obj_get(r, "domain_suffix", 0)) != NULL &&
		    rule_strings(v, &rc->domain_suffix, &rc->ndomain_suffix)
		    != 0) || ((v = obj_get(r, "domain", 0)) != NULL &&
		    rule_strings(v, &rc->domain, &rc->ndomain) != 0) ||
		    ((v = obj_get(r, "inbound", 0)) != NULL &&
		    rule_strings(v, &rc->inbound, &rc->ninbound) != 0)) {
			seterr(err, errlen, "%s: %s: domain_suffix, domain and "
			    "inbound must be arrays of non-empty strings", path,
			    where);
			return -1;
		}
		if ((v = obj_get(r, "ip_cidr", 0)) != NULL) {
			if (!YAJL_IS_ARRAY(v) || (rc->cidr = calloc(
			    YAJL_GET_ARRAY(v)->len + 1, sizeof(*rc->cidr))) ==
			    NULL)
				goto badcidr;
			for (j = 0; j < YAJL_GET_ARRAY(v)->len; j++) {
				yajl_val e = YAJL_GET_ARRAY(v)->values[j];

				if (!YAJL_IS_STRING(e) || inet_prefix_parse(
				    YAJL_GET_STRING(e), &rc->cidr[j]) != 0)
					goto badcidr;
				rc->ncidr++;
			}
		}
		if ((v = obj_get(r, "port", 0)) != NULL) {
			if (!YAJL_IS_ARRAY(v) || (rc->ports = calloc(
			    YAJL_GET_ARRAY(v)->len + 1, sizeof(*rc->ports))) ==
			    NULL)
				goto badport;
			for (j = 0; j < YAJL_GET_ARRAY(v)->len; j++) {
				if (rule_port(YAJL_GET_ARRAY(v)->values[j],
				    &rc->ports[j]) != 0)
					goto badport;
				rc->nports++;
			}
		}
		if (rc->ndomain_suffix + rc->ndomain + rc->ncidr + rc->nports +
		    rc->ninbound == 0) {
			seterr(err, errlen, "%s: %s: a rule needs at least one "
			    "condition", path, where);
			return -1;
		}
	}
	return 0;
 badcidr:
	seterr(err, errlen, "%s: %s: ip_cidr must be an array of "
	    "address/prefix strings", path, where);
	return -1;
 badport:
	seterr(err, errlen, "%s: %s: port must be an array of ports (1-65535) "
	    "or \"lo-hi\" ranges", path, where);
	return -1;
}

int
conf_json_native(struct conf *c, const void *rootp, const char *path,
    struct conf_src *src, char *err, size_t errlen)
{
	yajl_val root = (yajl_val)rootp, v, l;
	const char *s;
	size_t i;

	if (check_keys(root, native_keys, 0, path, "", err, errlen) != 0)
		return -1;
	if ((v = obj_get(root, "log", 0)) != NULL) {
		static const char *const k[] = { "level", "access", NULL };

		if (!YAJL_IS_OBJECT(v) ||
		    check_keys(v, k, 0, path, "log", err, errlen) != 0) {
			if (!YAJL_IS_OBJECT(v))
				seterr(err, errlen, "%s: log must be an object",
				    path);
			return -1;
		}
		if ((l = obj_get(v, "level", 0)) != NULL) {
			s = YAJL_IS_STRING(l) ? YAJL_GET_STRING(l) : "";
			for (i = 1; level_names[i] != NULL; i++)
				if (strcmp(level_names[i], s) == 0)
					break;
			if (level_names[i] == NULL) {
				seterr(err, errlen, "%s: log.level must be one "
				    "of error, info, verbose, debug, debug2, "
				    "debug3", path);
				return -1;
			}
			/* -D on the command line still raises it. */
			c->log_level = (int)i;
			if (c->debug > 0 && c->log_level <
			    LOG_LEVEL_INFO + c->debug + 1)
				c->log_level = LOG_LEVEL_INFO + c->debug + 1;
		}
		/* a line per connection at its end (core/stats.c) */
		if ((l = obj_get(v, "access", 0)) != NULL &&
		    json_bool(l, &c->access_log) != 0) {
			seterr(err, errlen, "%s: log.access must be true or "
			    "false", path);
			return -1;
		}
	}
	if ((v = obj_get(root, "metrics", 0)) != NULL) {
		struct sockaddr_storage ss;
		socklen_t sl;
		const char *ms = YAJL_IS_STRING(v) ? v->u.string : "";

		/* the monitor's /metrics (monitor/mon_ctl.c) */
		if (ctl_addr_parse(ms, &ss, &sl) != 0) {
			seterr(err, errlen, "%s: metrics must be an address "
			    "and port, as \"127.0.0.1:9100\" or \"[::1]:9100\"",
			    path);
			return -1;
		}
		free(c->metrics);
		if ((c->metrics = strdup(ms)) == NULL)
			return -1;
	}
	if ((v = obj_get(root, "mark", 0)) != NULL &&
	    set_mark(c, v, path, "mark", err, errlen) != 0)
		return -1;
	if ((v = obj_get(root, "interface", 0)) != NULL &&
	    set_iface(c, v, path, "interface", err, errlen) != 0)
		return -1;
	if ((v = obj_get(root, "workers", 0)) != NULL) {
		long long n;

		/* "auto": one worker per core, sharing ports (SO_REUSEPORT) */
		const char *w = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;

		if (w != NULL && strcmp(w, "auto") == 0)
			c->workers = 0;
		else if (json_int(v, 1, 64, &n) == 0)
			c->workers = (unsigned int)n;
		else {
			seterr(err, errlen, "%s: workers must be \"auto\" or an "
			    "integer from 1 to 64", path);
			return -1;
		}
	}
	if ((v = obj_get(root, "inbounds", 0)) != NULL) {
		/* The file's inbounds replace -L, like ServeNodes. */
		for (i = 0; src->ostp != NULL && i < src->nserve; i++)
			ostp_conf_free(src->ostp[i]);
		free(src->ostp);
		src->ostp = NULL;
		strv_free(src->serve, src->nserve);
		strv_free(src->tags, src->nserve);
		free(src->egress);
		src->serve = NULL;
		src->egress = NULL;
		src->nserve = 0;
		if ((src->tags = calloc(1, sizeof(char *))) == NULL)
			return -1;
		if (native_inbounds(v, path, src, err, errlen) != 0)
			return -1;
	}
	if ((v = obj_get(root, "outbounds", 0)) != NULL) {
		c->obs_explicit = 1;
		if (native_outbounds(c, v, path, err, errlen) != 0)
			return -1;
	}
	if (c->nobs == 0) {
		if ((c->obs = calloc(1, sizeof(*c->obs))) == NULL)
			return -1;
		snprintf(c->obs[0].tag, sizeof(c->obs[0].tag), "direct");
		c->obs[0].type = OB_DIRECT;
		c->nobs = 1;
	}
	if ((v = obj_get(root, "routing", 0)) != NULL &&
	    native_routing(c, v, path, err, errlen) != 0)
		return -1;
	if ((v = obj_get(root, "mux", 0)) != NULL) {
		static const char *const k[] = { "enabled", "sessions", NULL };
		long long n;

		if (!YAJL_IS_OBJECT(v)) {
			seterr(err, errlen, "%s: mux must be an object", path);
			return -1;
		}
		if (check_keys(v, k, 0, path, "mux", err, errlen) != 0)
			return -1;
		if ((l = obj_get(v, "enabled", 0)) != NULL) {
			if (!YAJL_IS_TRUE(l) && !YAJL_IS_FALSE(l)) {
				seterr(err, errlen, "%s: mux.enabled must be "
				    "true or false", path);
				return -1;
			}
			c->mux_enabled = YAJL_IS_TRUE(l);
		}
		if ((l = obj_get(v, "sessions", 0)) != NULL) {
			if (json_int(l, 0, 1024, &n) != 0) {
				seterr(err, errlen, "%s: mux.sessions must be "
				    "an integer from 0 to 1024", path);
				return -1;
			}
			c->mux_sessions = (unsigned int)n;
		}
		/* Multiplexing is an OSTP outbound feature. */
		if (c->mux_enabled) {
			seterr(err, errlen, "%s: mux.enabled needs an ostp "
			    "outbound: give it there (\"mux\": {\"enabled\": "
			    "true, \"sessions\": N})", path);
			return -1;
		}
	}
	return 0;
}

/*
 * OSTP 0.4 files (spec/ostp.md §4.1, §4.3): one JSON object with
 * "mode": "server" or "client", mapped onto the same model: a server is
 * an ostp inbound on each listen address; a client is a local proxy
 * (SOCKS5 and HTTP on socks5_bind) with an ostp chain as the default
 * outbound and its exclusions as rules to a direct outbound.
 */
int
conf_json_is_ostp04(const void *root)
{
	yajl_val v = obj_get((yajl_val)root, "mode", 0);

	return v != NULL && YAJL_IS_STRING(v);
}

/* debug (bool) and log_level: upstream's level names onto ours. */
static int
ostp04_log(struct conf *c, yajl_val root, const char *path, char *err,
    size_t errlen)
{
	static const struct {
		const char	*name;
		int		 level;
	} lv[] = {
		{ "error", LOG_LEVEL_ERROR }, { "warn", LOG_LEVEL_ERROR },
		{ "info", LOG_LEVEL_INFO }, { "debug", LOG_LEVEL_DEBUG1 },
		{ "trace", LOG_LEVEL_DEBUG3 },
	};
	yajl_val v;
	const char *s;
	size_t i;
	int b;

	if ((v = obj_get(root, "log_level", 0)) != NULL) {
		s = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : "";
		for (i = 0; i < sizeof(lv) / sizeof(lv[0]); i++)
			if (strcasecmp(lv[i].name, s) == 0)
				break;
		if (i == sizeof(lv) / sizeof(lv[0])) {
			seterr(err, errlen, "%s: log_level must be one of "
			    "error, warn, info, debug, trace", path);
			return -1;
		}
		c->log_level = lv[i].level;
	}
	if ((v = obj_get(root, "debug", 0)) != NULL) {
		if (json_bool(v, &b) != 0) {
			seterr(err, errlen, "%s: debug must be true or false",
			    path);
			return -1;
		}
		if (b && c->log_level < LOG_LEVEL_DEBUG1)
			c->log_level = LOG_LEVEL_DEBUG1;
	}
	/* -D on the command line still raises it */
	if (c->log_level != 0 && c->debug > 0 &&
	    c->log_level < LOG_LEVEL_INFO + c->debug + 1)
		c->log_level = LOG_LEVEL_INFO + c->debug + 1;
	return 0;
}

/* A feature object this build does not have: refused when enabled. */
static int
ostp04_off(yajl_val root, const char *key, const char *what,
    const char *path, char *err, size_t errlen)
{
	yajl_val v = obj_get(root, key, 0), en;

	if (v == NULL || YAJL_IS_NULL(v) || YAJL_IS_FALSE(v))
		return 0;
	if (YAJL_IS_OBJECT(v) && ((en = obj_get(v, "enabled", 0)) == NULL ||
	    YAJL_IS_FALSE(en)))
		return 0;
	seterr(err, errlen, "%s: %s (%s) is not supported in this build", path,
	    key, what);
	return -1;
}

/*
 * A 0.4 server's tls object: the built-in frontend with a certificate
 * of its own (cert "manual", cert_path, key_path) and the secret
 * upgrade path ws_path become cert=, key= and path= of each listener;
 * https_listen adds TCP-only listeners.  ACME and other frontends are
 * refused.
 */
struct ostp04_tls {
	const char	*cert;
	const char	*key;
	const char	*path;
	yajl_val	 https;
};

static int
ostp04_tls(yajl_val root, const char *path, struct ostp04_tls *t,
    char *err, size_t errlen)
{
	static const char *const keys[] = {
		"enabled", "frontend", "ws_path", "cert", "cert_path",
		"key_path", "acme", "https_listen", "http_listen",
		"public_port", "reload_command", NULL
	};
	yajl_val o = obj_get(root, "tls", 0), v;
	const char *s;
	size_t i;
	int en = 0;

	memset(t, 0, sizeof(*t));
	if (o == NULL || YAJL_IS_NULL(o))
		return 0;
	if (!YAJL_IS_OBJECT(o)) {
		seterr(err, errlen, "%s: tls must be an object", path);
		return -1;
	}
	if (check_keys(o, keys, 0, path, "tls", err, errlen) != 0)
		return -1;
	if ((v = obj_get(o, "enabled", 0)) != NULL && json_bool(v, &en) != 0) {
		seterr(err, errlen, "%s: tls.enabled must be true or false",
		    path);
		return -1;
	}
	if (!en)
		return 0;
	if ((s = json_str(o, "frontend")) != NULL &&
	    strcmp(s, "builtin") != 0) {
		seterr(err, errlen, "%s: tls.frontend \"%s\" is not supported "
		    "in this build (builtin)", path, s);
		return -1;
	}
	if ((s = json_str(o, "cert")) != NULL && strcmp(s, "manual") != 0) {
		seterr(err, errlen, "%s: tls.cert \"%s\" is not supported in "
		    "this build (manual, with cert_path and key_path)", path,
		    s);
		return -1;
	}
	t->cert = json_str(o, "cert_path");
	t->key = json_str(o, "key_path");
	if (t->cert == NULL || t->key == NULL || t->cert[0] == '\0' ||
	    t->key[0] == '\0') {
		seterr(err, errlen, "%s: tls needs cert_path and key_path "
		    "(certificates from ACME are not supported in this build)",
		    path);
		return -1;
	}
	if ((t->path = json_str(o, "ws_path")) != NULL && t->path[0] == '\0')
		t->path = NULL;
	if ((v = obj_get(o, "https_listen", 0)) != NULL) {
		if (!YAJL_IS_ARRAY(v)) {
			seterr(err, errlen, "%s: tls.https_listen must be an "
			    "array of addresses", path);
			return -1;
		}
		for (i = 0; i < YAJL_GET_ARRAY(v)->len; i++)
			if (!YAJL_IS_STRING(YAJL_GET_ARRAY(v)->values[i])) {
				seterr(err, errlen, "%s: tls.https_listen must "
				    "be an array of addresses", path);
				return -1;
			}
		t->https = v;
	}
	return 0;
}

/*
 * fallback {enabled, target, listen}: with enabled, the decoy splices
 * to target (host:port); another listener for it is not built.
 */
static int
ostp04_fallback(yajl_val root, const char *path, const char **target,
    const char **listen, char *err, size_t errlen)
{
	static const char *const keys[] = { "enabled", "target", "listen",
	    NULL };
	yajl_val f, v;
	int en = 0;

	if ((f = obj_get(root, "fallback", 0)) == NULL || YAJL_IS_NULL(f))
		return 0;
	if (!YAJL_IS_OBJECT(f)) {
		seterr(err, errlen, "%s: fallback must be an object", path);
		return -1;
	}
	if (check_keys(f, keys, 0, path, "fallback", err, errlen) != 0)
		return -1;
	if ((v = obj_get(f, "enabled", 0)) != NULL && json_bool(v, &en) != 0) {
		seterr(err, errlen, "%s: fallback.enabled must be true or "
		    "false", path);
		return -1;
	}
	if (!en)
		return 0;
	if ((*target = json_str(f, "target")) == NULL || (*target)[0] == '\0') {
		seterr(err, errlen, "%s: fallback.target must be host:port",
		    path);
		return -1;
	}
	/*
	 * listen: one more TCP address of the server (the cover site's
	 * usual port, say), classified as the others: OSTP's carriers are
	 * served there too, and everything else goes to the target.
	 */
	if ((v = obj_get(f, "listen", 0)) != NULL && !YAJL_IS_NULL(v) &&
	    !(YAJL_IS_STRING(v) && YAJL_GET_STRING(v)[0] == '\0')) {
		if (!YAJL_IS_STRING(v)) {
			seterr(err, errlen, "%s: fallback.listen must be an "
			    "address (\"0.0.0.0:80\")", path);
			return -1;
		}
		*listen = YAJL_GET_STRING(v);
	}
	return 0;
}

static int
ostp04_server(struct conf *c, yajl_val root, const char *path,
    struct conf_src *src, char *err, size_t errlen)
{
	static const char *const keys[] = {
		"mode", "log_level", "config_version", "debug", "listen",
		"bind_ip", "access_keys", "outbound", "api", "fallback",
		"transport", "dns", "domain", "tls", "subscription", "overnet",
		"local_access", NULL
	};
	struct ostp_conf *extra = NULL, *dup;
	struct ostp04_tls tls;
	char url[2048], w[48];
	yajl_val v, lv;
	const char *listen, *fallback = NULL, *fblisten = NULL, *sl;
	char stats[PATH_MAX];
	size_t i, nl;
	int b = 0;

	(void)c;
	if (check_keys(root, keys, 0, path, "", err, errlen) != 0)
		return -1;
	if (ostp04_off(root, "outbound", "egress chaining", path, err,
	    errlen) != 0 ||
	    ostp04_off(root, "api", "the REST API and panel", path, err,
	    errlen) != 0 ||
	    ostp04_off(root, "dns", "the filtering resolver", path, err,
	    errlen) != 0 ||
	    ostp04_off(root, "subscription", "subscription links", path, err,
	    errlen) != 0 ||
	    ostp04_off(root, "overnet", "the .ov gateway", path, err,
	    errlen) != 0)
		return -1;
	if ((v = obj_get(root, "bind_ip", 0)) != NULL && !YAJL_IS_NULL(v) &&
	    !(YAJL_IS_STRING(v) && YAJL_GET_STRING(v)[0] == '\0')) {
		seterr(err, errlen, "%s: bind_ip (the egress source address) is "
		    "not supported in this build", path);
		return -1;
	}
	if ((v = obj_get(root, "local_access", 0)) != NULL &&
	    json_bool(v, &b) != 0) {
		seterr(err, errlen, "%s: local_access must be true or false",
		    path);
		return -1;
	}
	if (ostp04_tls(root, path, &tls, err, errlen) != 0 ||
	    ostp04_fallback(root, path, &fallback, &fblisten, err,
	    errlen) != 0)
		return -1;
	/* upstream keeps the keys' counters beside its working files */
	sl = strrchr(path, '/');
	snprintf(stats, sizeof(stats), "%.*s%s.ostp_stats.json",
	    sl != NULL ? (int)(sl - path + 1) : 0, path, "");
	if ((v = obj_get(root, "access_keys", 0)) == NULL) {
		seterr(err, errlen, "%s: a server needs access_keys (make one "
		    "with ostp-keygen)", path);
		return -1;
	}
	if (json_ostp_keys(v, path, "", "access_keys", 0, &extra, err,
	    errlen) != 0)
		goto fail;
	if (extra->nkeys == 0) {
		seterr(err, errlen, "%s: access_keys is empty", path);
		goto fail;
	}
	if ((lv = obj_get(root, "listen", 0)) == NULL ||
	    (!YAJL_IS_STRING(lv) && !YAJL_IS_ARRAY(lv)) ||
	    (YAJL_IS_ARRAY(lv) && YAJL_GET_ARRAY(lv)->len == 0)) {
		seterr(err, errlen, "%s: listen must be an address "
		    "(\"0.0.0.0:50000\") or an array of them", path);
		goto fail;
	}
	nl = YAJL_IS_STRING(lv) ? 1 : YAJL_GET_ARRAY(lv)->len;
	/* then TLS's own addresses, TCP only (https_listen), fallback's */
	if (tls.https != NULL)
		nl += YAJL_GET_ARRAY(tls.https)->len;
	if (fblisten != NULL)
		nl++;
	for (i = 0; i < nl; i++) {
		size_t nu = YAJL_IS_STRING(lv) ? 1 : YAJL_GET_ARRAY(lv)->len;

		if (i < nu) {
			v = YAJL_IS_STRING(lv) ? lv :
			    YAJL_GET_ARRAY(lv)->values[i];
			snprintf(w, sizeof(w), "listen[%zu]", i);
			listen = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
		} else if (fblisten != NULL && i == nl - 1) {
			snprintf(w, sizeof(w), "fallback.listen");
			listen = fblisten;
		} else {
			v = YAJL_GET_ARRAY(tls.https)->values[i - nu];
			snprintf(w, sizeof(w), "tls.https_listen[%zu]", i - nu);
			listen = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
		}
		if (listen == NULL || listen[0] == '\0') {
			seterr(err, errlen, "%s: %s must be an address", path,
			    w);
			goto fail;
		}
		snprintf(url, sizeof(url), "%s", i < nu ? "ostp://" :
		    "ostp+tcp://");
		if (url_append(url, sizeof(url), listen) != 0 ||
		    (b && url_param(url, sizeof(url), "local_access",
		    "true") != 0) ||
		    (tls.cert != NULL && (url_param(url, sizeof(url), "cert",
		    tls.cert) != 0 || url_param(url, sizeof(url), "key",
		    tls.key) != 0)) ||
		    (tls.path != NULL && url_param(url, sizeof(url), "path",
		    tls.path) != 0) ||
		    (fallback != NULL && url_param(url, sizeof(url),
		    "fallback", fallback) != 0) ||
		    url_param(url, sizeof(url), "stats", stats) != 0) {
			seterr(err, errlen, "%s: %s: too long", path, w);
			goto fail;
		}
		if (conf_src_push(&src->serve, &src->nserve, url) != 0 ||
		    (dup = ostp_conf_dup(extra)) == NULL)
			goto oom;
		if (src_set_ostp(src, dup) != 0) {
			ostp_conf_free(dup);
			goto oom;
		}
	}
	/* domain, transport: informational for a server (links, panel) */
	ostp_conf_free(extra);
	return 0;
 oom:
	seterr(err, errlen, "out of memory");
 fail:
	ostp_conf_free(extra);
	return -1;
}

/*
 * tun.enable: the system-wide capture (ostpd(8), tun://?capture=true),
 * as the upstream client's TUN mode: a device with a default route in
 * its own table (auto_route), DNS to any address answered by the
 * daemon at tun.dns, exclude.ips kept out of the device.  The daemon's
 * own sockets (the OSTP server's) must bypass it: without -M or a
 * "mark", they carry CONF_CAPTURE_TABLE as their mark.  tun.stack and
 * tun.wintun_path mean nothing here; kill_switch is what the capture
 * does anyway (it never falls open: with the tunnel down, flows fail).
 */
static int
ostp04_tun(struct conf *c, yajl_val tun, yajl_val exclude, long long mtu,
    const char *path, struct conf_src *src, char *err, size_t errlen)
{
	static const char *const tkeys[] = { "enable", "wintun_path",
	    "ipv4_address", "dns", "stack", "kill_switch", NULL };
	char url[2048];
	const char *s;
	yajl_val x, e;
	size_t i;
	int b;

	if (check_keys(tun, tkeys, 0, path, "tun", err, errlen) != 0)
		return -1;
	if ((x = obj_get(tun, "enable", 0)) == NULL)
		return 0;
	if (json_bool(x, &b) != 0) {
		seterr(err, errlen, "%s: tun.enable must be true or false",
		    path);
		return -1;
	}
	if (!b)
		return 0;
	if ((x = obj_get(tun, "kill_switch", 0)) != NULL &&
	    json_bool(x, &b) != 0) {
		seterr(err, errlen, "%s: tun.kill_switch must be true or "
		    "false", path);
		return -1;
	}
	for (i = 0; i < 2; i++) {
		const char *k = i == 0 ? "ipv4_address" : "dns";

		if ((x = obj_get(tun, k, 0)) != NULL && (!YAJL_IS_STRING(x) ||
		    YAJL_GET_STRING(x)[0] == '\0')) {
			seterr(err, errlen, "%s: tun.%s must be an address "
			    "string", path, k);
			return -1;
		}
	}
	snprintf(url, sizeof(url), "tun://?capture=true&name=ostp0&net=");
	/* sing-box's default address; a bare address gets a /30 */
	s = json_str(tun, "ipv4_address");
	if (url_append(url, sizeof(url), s != NULL ? s : "172.19.0.1/30") !=
	    0)
		goto toolong;
	if (s != NULL && strchr(s, '/') == NULL &&
	    url_append(url, sizeof(url), "/30") != 0)
		goto toolong;
	snprintf(url + strlen(url), sizeof(url) - strlen(url),
	    "&mtu=%lld&auto_route=true", mtu);
	if ((s = json_str(tun, "dns")) != NULL) {
		snprintf(url + strlen(url), sizeof(url) - strlen(url),
		    "&dns_addr=");
		if (url_append(url, sizeof(url), s) != 0)
			goto toolong;
	}
	if (exclude != NULL && YAJL_IS_OBJECT(exclude) &&
	    (x = obj_get(exclude, "ips", 0)) != NULL &&
	    YAJL_IS_ARRAY(x) && YAJL_GET_ARRAY(x)->len > 0) {
		snprintf(url + strlen(url), sizeof(url) - strlen(url),
		    "&exclude=");
		for (i = 0; i < YAJL_GET_ARRAY(x)->len; i++) {
			e = YAJL_GET_ARRAY(x)->values[i];
			if (!YAJL_IS_STRING(e))
				continue;	/* refused with the rules */
			if ((i > 0 && url_append(url, sizeof(url), ",") != 0) ||
			    url_append(url, sizeof(url),
			    YAJL_GET_STRING(e)) != 0)
				goto toolong;
		}
	}
	if (!c->have_mark) {
		c->mark = CONF_CAPTURE_TABLE;
		c->have_mark = 1;
	}
	if (conf_src_push(&src->serve, &src->nserve, url) != 0) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	return 0;
 toolong:
	seterr(err, errlen, "%s: tun: too long", path);
	return -1;
}

static int
ostp04_client(struct conf *c, yajl_val root, const char *path,
    struct conf_src *src, char *err, size_t errlen)
{
	static const char *const keys[] = {
		"mode", "log_level", "config_version", "debug", "server",
		"access_key", "mtu", "socks5_bind", "tun", "exclude", "mux",
		"transport", "gui", NULL
	};
	static const char *const xkeys[] = { "domains", "ips", "processes",
	    NULL };
	struct ostp_client cl;
	struct rule_conf *rc;
	char url[2048];
	const char *bind;
	yajl_val v, x, e;
	size_t i;

	memset(&cl, 0, sizeof(cl));
	if (check_keys(root, keys, 0, path, "", err, errlen) != 0)
		return -1;
	if ((cl.server = json_str(root, "server")) == NULL ||
	    cl.server[0] == '\0' ||
	    (cl.key = json_str(root, "access_key")) == NULL) {
		seterr(err, errlen, "%s: a client needs \"server\" (host:port) "
		    "and \"access_key\"", path);
		return -1;
	}
	if ((bind = ostp_key_invalid(cl.key)) != NULL) {
		seterr(err, errlen, "%s: access_key: %s", path, bind);
		return -1;
	}
	if ((v = obj_get(root, "mtu", 0)) != NULL &&
	    json_int(v, 576, 65000, &cl.mtu) != 0) {
		seterr(err, errlen, "%s: mtu must be an integer from 576 to "
		    "65000", path);
		return -1;
	}
	if ((v = obj_get(root, "tun", 0)) != NULL && !YAJL_IS_OBJECT(v)) {
		seterr(err, errlen, "%s: tun must be an object", path);
		return -1;
	}
	if ((v = obj_get(root, "transport", 0)) != NULL &&
	    ostp_transport(v, 0, &cl, path, "", err, errlen) != 0)
		return -1;
	if ((v = obj_get(root, "mux", 0)) != NULL &&
	    ostp_mux(v, path, "", &cl.sessions, err, errlen) != 0)
		return -1;
	bind = "127.0.0.1:1088";
	if ((v = obj_get(root, "socks5_bind", 0)) != NULL &&
	    ((bind = json_str(root, "socks5_bind")) == NULL ||
	    bind[0] == '\0')) {
		seterr(err, errlen, "%s: socks5_bind must be an address "
		    "(\"127.0.0.1:1088\")", path);
		return -1;
	}
	snprintf(url, sizeof(url), "auto://");
	if (url_append(url, sizeof(url), bind) != 0 ||
	    conf_src_push(&src->serve, &src->nserve, url) != 0)
		goto oom;
	if ((v = obj_get(root, "tun", 0)) != NULL && ostp04_tun(c, v,
	    obj_get(root, "exclude", 0), cl.mtu ? cl.mtu : 1140, path, src,
	    err, errlen) != 0)
		return -1;
	if (ostp_client_url(&cl, url, sizeof(url)) != 0) {
		seterr(err, errlen, "%s: server or access_key too long", path);
		return -1;
	}
	/* outbounds: the tunnel (default) and direct for the exclusions */
	if ((c->obs = calloc(2, sizeof(*c->obs))) == NULL)
		goto oom;
	c->obs_explicit = 1;
	snprintf(c->obs[0].tag, sizeof(c->obs[0].tag), "ostp");
	c->obs[0].type = OB_CHAIN;
	if ((c->obs[0].hops = calloc(1, sizeof(*c->obs[0].hops))) == NULL)
		goto oom;
	c->obs[0].nhops = 1;
	c->nobs = 1;
	if (conf_hop_build(&c->obs[0].hops[0], url, 1, err, errlen) != 0)
		return -1;
	snprintf(c->obs[1].tag, sizeof(c->obs[1].tag), "direct");
	c->obs[1].type = OB_DIRECT;
	c->nobs = 2;
	c->default_ob = 0;
	if ((v = obj_get(root, "exclude", 0)) == NULL)
		return 0;
	if (!YAJL_IS_OBJECT(v)) {
		seterr(err, errlen, "%s: exclude must be an object", path);
		return -1;
	}
	if (check_keys(v, xkeys, 0, path, "exclude", err, errlen) != 0)
		return -1;
	if ((x = obj_get(v, "processes", 0)) != NULL && !(YAJL_IS_ARRAY(x) &&
	    YAJL_GET_ARRAY(x)->len == 0)) {
		seterr(err, errlen, "%s: exclude.processes is not supported in "
		    "this build (a proxy does not see processes)", path);
		return -1;
	}
	/* one rule each: the lists of one rule must all match */
	if ((c->rules = calloc(2, sizeof(*c->rules))) == NULL)
		goto oom;
	if ((x = obj_get(v, "domains", 0)) != NULL) {
		rc = &c->rules[c->nrules++];
		rc->outbound = 1;
		if (rule_strings(x, &rc->domain_suffix,
		    &rc->ndomain_suffix) != 0) {
			seterr(err, errlen, "%s: exclude.domains must be an "
			    "array of domain suffixes", path);
			return -1;
		}
		/* ".example.com" and "example.com" alike */
		for (i = 0; i < rc->ndomain_suffix; i++)
			if (rc->domain_suffix[i][0] == '.')
				memmove(rc->domain_suffix[i],
				    rc->domain_suffix[i] + 1,
				    strlen(rc->domain_suffix[i]));
		if (rc->ndomain_suffix == 0)
			c->nrules--;
	}
	if ((x = obj_get(v, "ips", 0)) != NULL) {
		rc = &c->rules[c->nrules++];
		rc->outbound = 1;
		if (!YAJL_IS_ARRAY(x) || (rc->cidr = calloc(
		    YAJL_GET_ARRAY(x)->len + 1, sizeof(*rc->cidr))) == NULL)
			goto badips;
		for (i = 0; i < YAJL_GET_ARRAY(x)->len; i++) {
			e = YAJL_GET_ARRAY(x)->values[i];
			if (!YAJL_IS_STRING(e) || inet_prefix_parse(
			    YAJL_GET_STRING(e), &rc->cidr[i]) != 0)
				goto badips;
			rc->ncidr++;
		}
		if (rc->ncidr == 0) {
			free(rc->cidr);
			rc->cidr = NULL;
			c->nrules--;
		}
	}
	return 0;
 badips:
	seterr(err, errlen, "%s: exclude.ips must be an array of "
	    "address/prefix strings", path);
	return -1;
 oom:
	seterr(err, errlen, "out of memory");
	return -1;
}

int
conf_json_ostp04(struct conf *c, const void *rootp, const char *path,
    struct conf_src *src, char *err, size_t errlen)
{
	yajl_val root = (yajl_val)rootp;
	const char *mode = json_str(root, "mode");
	size_t i;

	if (ostp04_log(c, root, path, err, errlen) != 0)
		return -1;
	if (strcmp(mode, "server") != 0 && strcmp(mode, "client") != 0) {
		seterr(err, errlen, "%s: mode \"%s\" is not supported in this "
		    "build (server or client)", path, mode);
		return -1;
	}
	/* the file's listeners replace -L, as a native file's inbounds */
	for (i = 0; src->ostp != NULL && i < src->nserve; i++)
		ostp_conf_free(src->ostp[i]);
	free(src->ostp);
	src->ostp = NULL;
	strv_free(src->serve, src->nserve);
	strv_free(src->tags, src->nserve);
	free(src->egress);
	src->serve = NULL;
	src->egress = NULL;
	src->tags = NULL;
	src->nserve = 0;
	if ((strcmp(mode, "server") == 0 ? ostp04_server(c, root, path, src,
	    err, errlen) : ostp04_client(c, root, path, src, err,
	    errlen)) != 0)
		return -1;
	if ((src->tags = calloc(src->nserve + 1, sizeof(char *))) == NULL)
		return -1;
	if (c->nobs == 0) {
		if ((c->obs = calloc(1, sizeof(*c->obs))) == NULL)
			return -1;
		snprintf(c->obs[0].tag, sizeof(c->obs[0].tag), "direct");
		c->obs[0].type = OB_DIRECT;
		c->nobs = 1;
	}
	return 0;
}

/* -t: the effective configuration, keys always in this order. */
#define G(x) do { if ((x) != yajl_gen_status_ok) goto fail; } while (0)
#define GS(s) do { if (gen_str(g, (s)) != 0) goto fail; } while (0)

static int
gen_str(yajl_gen g, const char *s)
{
	return yajl_gen_string(g, (const unsigned char *)s, strlen(s)) ==
	    yajl_gen_status_ok ? 0 : -1;
}

static int
gen_strv(yajl_gen g, const char *key, char **v, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	if (gen_str(g, key) != 0 || yajl_gen_array_open(g) !=
	    yajl_gen_status_ok)
		return -1;
	for (i = 0; i < n; i++)
		if (gen_str(g, v[i]) != 0)
			return -1;
	return yajl_gen_array_close(g) == yajl_gen_status_ok ? 0 : -1;
}

/*
 * An ostp inbound's keys beside its URL's: the inline ones
 * (access_keys) and what its keys= file held (file_keys), which a
 * worker takes as read by the monitor.  A key without name and limit
 * is a plain string.
 */
static int
gen_ostp_keys(yajl_gen g, const struct listener_conf *l)
{
	const struct ostp_conf *oc = l->ostp;
	size_t i, first = l->node->user != NULL ? 1 : 0;
	int pass, any;

	for (pass = 0; pass < 2; pass++) {
		for (i = first, any = 0; i < oc->nkeys; i++) {
			const struct ostp_key_conf *k = &oc->keys[i];

			if (k->from_file != pass)
				continue;
			if (!any && (gen_str(g, pass ? "file_keys" :
			    "access_keys") != 0 || yajl_gen_array_open(g) !=
			    yajl_gen_status_ok))
				return -1;
			any = 1;
			if (k->name == NULL && k->limit_bytes == 0) {
				if (gen_str(g, k->key) != 0)
					return -1;
				continue;
			}
			if (yajl_gen_map_open(g) != yajl_gen_status_ok ||
			    gen_str(g, "access_key") != 0 ||
			    gen_str(g, k->key) != 0 ||
			    (k->name != NULL && (gen_str(g, "name") != 0 ||
			    gen_str(g, k->name) != 0)) ||
			    (k->limit_bytes != 0 &&
			    (gen_str(g, "limit_bytes") != 0 ||
			    yajl_gen_integer(g, (long long)k->limit_bytes) !=
			    yajl_gen_status_ok)) ||
			    yajl_gen_map_close(g) != yajl_gen_status_ok)
				return -1;
		}
		if (any && yajl_gen_array_close(g) != yajl_gen_status_ok)
			return -1;
	}
	return 0;
}

int
conf_print_json(const struct conf *c, FILE *f)
{
	yajl_gen g;
	const unsigned char *out;
	size_t len, i, j;
	char tmp[INET6_ADDRSTRLEN + 8];

	if ((g = yajl_gen_alloc(NULL)) == NULL)
		return -1;
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_config(g, yajl_gen_indent_string, "  ");
	G(yajl_gen_map_open(g));
	GS("log");
	G(yajl_gen_map_open(g));
	GS("level");
	GS(level_names[c->log_level]);
	if (c->access_log) {
		GS("access");
		G(yajl_gen_bool(g, 1));
	}
	G(yajl_gen_map_close(g));
	if (c->metrics != NULL) {
		GS("metrics");
		GS(c->metrics);
	}
	GS("mark");
	G(yajl_gen_integer(g, c->have_mark ? c->mark : 0));
	GS("interface");
	GS(c->iface);
	GS("workers");
	if (c->workers == 0)
		GS("auto");
	else
		G(yajl_gen_integer(g, c->workers));

	GS("inbounds");
	G(yajl_gen_array_open(g));
	for (i = 0; i < c->nlis; i++) {
		if (c->lis[i].kind == LIS_DIAG || c->lis[i].twin)
			continue;	/* -P is not configuration; a twin
					   comes again from its URL */
		G(yajl_gen_map_open(g));
		GS("tag");
		GS(c->lis[i].tag);
		GS("url");
		GS(c->lis[i].node->raw);
		/* a route's own, as the worker must learn it */
		if (c->lis[i].egress.mark != 0) {
			GS("mark");
			G(yajl_gen_integer(g, c->lis[i].egress.mark));
		}
		if (c->lis[i].egress.iface[0] != '\0') {
			GS("interface");
			GS(c->lis[i].egress.iface);
		}
		if (c->lis[i].ostp != NULL &&
		    gen_ostp_keys(g, &c->lis[i]) != 0)
			goto fail;
		G(yajl_gen_map_close(g));
	}
	G(yajl_gen_array_close(g));

	GS("outbounds");
	G(yajl_gen_array_open(g));
	for (i = 0; i < c->nobs; i++) {
		static const char *const tn[] = { "direct", "block", "chain" };

		G(yajl_gen_map_open(g));
		GS("tag");
		GS(c->obs[i].tag);
		GS("type");
		GS(tn[c->obs[i].type]);
		if (c->obs[i].type == OB_CHAIN) {
			GS("hops");
			G(yajl_gen_array_open(g));
			for (j = 0; j < c->obs[i].nhops; j++)
				GS(c->obs[i].hops[j].node->raw);
			G(yajl_gen_array_close(g));
			GS("retries");
			G(yajl_gen_integer(g, c->obs[i].retries));
		}
		G(yajl_gen_map_close(g));
	}
	G(yajl_gen_array_close(g));

	GS("routing");
	G(yajl_gen_map_open(g));
	GS("rules");
	G(yajl_gen_array_open(g));
	for (i = 0; i < c->nrules; i++) {
		const struct rule_conf *r = &c->rules[i];

		G(yajl_gen_map_open(g));
		if (gen_strv(g, "domain_suffix", r->domain_suffix,
		    r->ndomain_suffix) != 0 ||
		    gen_strv(g, "domain", r->domain, r->ndomain) != 0)
			goto fail;
		if (r->ncidr > 0) {
			GS("ip_cidr");
			G(yajl_gen_array_open(g));
			for (j = 0; j < r->ncidr; j++) {
				inet_ntop(r->cidr[j].family, r->cidr[j].addr,
				    tmp, sizeof(tmp));
				snprintf(tmp + strlen(tmp), sizeof(tmp) -
				    strlen(tmp), "/%d", r->cidr[j].plen);
				GS(tmp);
			}
			G(yajl_gen_array_close(g));
		}
		if (r->nports > 0) {
			GS("port");
			G(yajl_gen_array_open(g));
			for (j = 0; j < r->nports; j++) {
				if (r->ports[j].lo == r->ports[j].hi) {
					G(yajl_gen_integer(g, r->ports[j].lo));
					continue;
				}
				snprintf(tmp, sizeof(tmp), "%u-%u",
				    r->ports[j].lo, r->ports[j].hi);
				GS(tmp);
			}
			G(yajl_gen_array_close(g));
		}
		if (gen_strv(g, "inbound", r->inbound, r->ninbound) != 0)
			goto fail;
		GS("outbound");
		GS(c->obs[r->outbound].tag);
		G(yajl_gen_map_close(g));
	}
	G(yajl_gen_array_close(g));
	GS("default_outbound");
	GS(c->obs[c->default_ob].tag);
	G(yajl_gen_map_close(g));

	GS("mux");
	G(yajl_gen_map_open(g));
	GS("enabled");
	G(yajl_gen_bool(g, c->mux_enabled));
	GS("sessions");
	G(yajl_gen_integer(g, c->mux_sessions));
	G(yajl_gen_map_close(g));
	G(yajl_gen_map_close(g));
	G(yajl_gen_get_buf(g, &out, &len));
	fwrite(out, 1, len, f);
	fputc('\n', f);
	yajl_gen_free(g);
	return 0;
 fail:
	yajl_gen_free(g);
	return -1;
}
