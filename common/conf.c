#include "config.h"

#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "conf.h"
#include "log.h"

#define CONF_FILE_MAX	(1U << 20)

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *
sockaddr_ntop(const struct sockaddr *sa, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(out, len, "%s:%u", host, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(out, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else
		snprintf(out, len, "(family %d)", sa->sa_family);
	return out;
}

/* Numeric hosts only: the worker's resolver is not part of this build. */
static int
host_to_sockaddr(const char *host, uint16_t port, int wildcard6,
    struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (void *)ss;
	struct sockaddr_in6 *sin6 = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (host[0] == '\0' && wildcard6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	if (host[0] == '\0' || strcasecmp(host, "localhost") == 0)
		host = host[0] == '\0' ? "0.0.0.0" : "127.0.0.1";
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

int
inet_prefix_parse(const char *s, struct inet_prefix *p)
{
	char tmp[INET6_ADDRSTRLEN + 8], *slash, *ep;
	unsigned long plen;
	int max;

	if (strlen(s) >= sizeof(tmp))
		return -1;
	strcpy(tmp, s);
	memset(p, 0, sizeof(*p));
	if ((slash = strchr(tmp, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, tmp, p->addr) == 1) {
		p->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, tmp, p->addr) == 1) {
		p->family = AF_INET6;
		max = 128;
	} else
		return -1;
	if (slash == NULL) {
		p->plen = max;
		return 0;
	}
	errno = 0;
	plen = strtoul(slash, &ep, 10);
	if (*slash == '\0' || *ep != '\0' || errno != 0 ||
	    !isdigit((unsigned char)*slash) || plen > (unsigned long)max)
		return -1;
	p->plen = (int)plen;
	return 0;
}

static int
valid_ifname(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len >= IFNAMSIZ || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return 0;
	for (; *s != '\0'; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s) ||
		    !isprint((unsigned char)*s))
			return 0;
	return 1;
}

/*
 * Parameters each scheme uses.  Anything else is reported, never
 * silently accepted.
 */
static const char *const tcp_params[] = { "timeout", NULL };
static const char *const tun_params[] = {
	"name", "net", "mtu", "route", "gw", NULL
};

static void
warn_unused(const struct node *n, const char *const *used)
{
	struct node_param *p;
	const char *const *u;

	TAILQ_FOREACH(p, &n->params, entry) {
		for (u = used; *u != NULL; u++)
			if (strcmp(*u, p->key) == 0)
				break;
		if (*u == NULL)
			logit("%s: parameter \"%s\" is not used by scheme "
			    "%s; ignoring it", n->url, p->key, n->scheme);
	}
}

static int
build_tun(struct listener_conf *l, size_t idx, int tap, char *err,
    size_t errlen)
{
	struct node *n = l->node;
	struct tun_conf *t = &l->tun;
	const char *v;
	unsigned long mtu = CONF_TUN_MTU_DEFAULT;
	char *list, *tok, *save;

	t->tap = tap;
	if ((v = node_param(n, "name")) != NULL) {
		if (!valid_ifname(v)) {
			seterr(err, errlen, "%s: bad value \"%s\" for name "
			    "(an interface name of 1-%d characters)", n->url, v,
			    IFNAMSIZ - 1);
			return -1;
		}
		snprintf(t->name, sizeof(t->name), "%s", v);
	} else
		snprintf(t->name, sizeof(t->name), "ostp%zu", idx);
	if ((v = node_param(n, "net")) != NULL) {
		if (inet_prefix_parse(v, &t->net) != 0) {
			seterr(err, errlen, "%s: bad value \"%s\" for net "
			    "(address/prefix, e.g. 10.0.0.1/24)", n->url, v);
			return -1;
		}
		t->has_net = 1;
	} else if (!tap) {
		seterr(err, errlen, "%s: net=address/prefix is required for "
		    "tun", n->url);
		return -1;
	}
	if (node_param_uint(n, "mtu", 68, 65535, &mtu, err, errlen) < 0)
		return -1;
	t->mtu = (unsigned int)mtu;
	if ((v = node_param(n, "gw")) != NULL) {
		struct inet_prefix gp;

		if (inet_prefix_parse(v, &gp) != 0 || strchr(v, '/')) {
			seterr(err, errlen, "%s: bad value \"%s\" for gw (an IP "
			    "address)", n->url, v);
			return -1;
		}
		t->has_gw = 1;
		t->gw_family = gp.family;
		memcpy(t->gw, gp.addr, sizeof(t->gw));
	}
	if ((v = node_param(n, "route")) != NULL) {
		if ((list = strdup(v)) == NULL)
			return -1;
		for (tok = strtok_r(list, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save)) {
			struct route_conf *r;

			if (t->nroutes >= CONF_MAX_ROUTES) {
				seterr(err, errlen, "%s: more than %d routes",
				    n->url, CONF_MAX_ROUTES);
				free(list);
				return -1;
			}
			r = reallocarray(t->routes, t->nroutes + 1,
			    sizeof(*r));
			if (r == NULL) {
				free(list);
				return -1;
			}
			t->routes = r;
			r = &t->routes[t->nroutes];
			memset(r, 0, sizeof(*r));
			if (inet_prefix_parse(tok, &r->dst) != 0) {
				seterr(err, errlen, "%s: bad value \"%s\" in "
				    "route (address/prefix list)", n->url, tok);
				free(list);
				return -1;
			}
			if (t->has_gw && t->gw_family == r->dst.family) {
				r->has_gw = 1;
				memcpy(r->gw, t->gw, sizeof(r->gw));
			}
			t->nroutes++;
		}
		free(list);
	}
	/* The UDP socket that carries the packets is the node address. */
	l->socktype = SOCK_DGRAM;
	if (n->nremotes > 1) {
		seterr(err, errlen, "%s: a tun/tap node takes at most one "
		    "peer address", n->url);
		return -1;
	}
	warn_unused(n, tun_params);
	return 0;
}

static int
parse_hostport(const char *s, char **host, uint16_t *port)
{
	const char *colon, *h = s, *he;
	unsigned long v;
	char *ep;

	if (*s == '[') {
		if ((he = strchr(s, ']')) == NULL || he[1] != ':')
			return -1;
		h = s + 1;
		colon = he + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		he = colon;
	}
	errno = 0;
	v = strtoul(colon + 1, &ep, 10);
	if (colon[1] == '\0' || *ep != '\0' || errno != 0 ||
	    !isdigit((unsigned char)colon[1]) || v == 0 || v > 65535)
		return -1;
	if ((*host = strndup(h, (size_t)(he - h))) == NULL)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int
build_targets(struct listener_conf *l, char *err, size_t errlen)
{
	struct node *n = l->node;
	size_t i;
	char *host;
	uint16_t port;

	l->targets = calloc(n->nremotes, sizeof(*l->targets));
	l->targetlens = calloc(n->nremotes, sizeof(*l->targetlens));
	if (l->targets == NULL || l->targetlens == NULL)
		return -1;
	for (i = 0; i < n->nremotes; i++) {
		if (parse_hostport(n->remotes[i], &host, &port) != 0) {
			seterr(err, errlen, "%s: bad forward target \"%s\" "
			    "(host:port with port 1-65535)", n->url,
			    n->remotes[i]);
			return -1;
		}
		if (host[0] == '\0' || host_to_sockaddr(host, port, 0,
		    &l->targets[i], &l->targetlens[i]) != 0) {
			seterr(err, errlen, "%s: forward target \"%s\" must be "
			    "an IP address in this build (no resolver yet)",
			    n->url, n->remotes[i]);
			free(host);
			return -1;
		}
		free(host);
		l->ntargets++;
	}
	return 0;
}

static int
build_listener(struct conf *c, const char *url, char *err, size_t errlen)
{
	struct listener_conf *l, *nl;
	struct node *n;
	unsigned long tmo = CONF_TIMEOUT_DEFAULT;

	if (c->nlis >= CONF_MAX_LISTENERS) {
		seterr(err, errlen, "more than %d listeners",
		    CONF_MAX_LISTENERS);
		return -1;
	}
	if (node_parse(url, &n, err, errlen) != 0)
		return -1;
	nl = reallocarray(c->lis, c->nlis + 1, sizeof(*nl));
	if (nl == NULL) {
		node_free(n);
		return -1;
	}
	c->lis = nl;
	l = &c->lis[c->nlis++];
	memset(l, 0, sizeof(*l));
	l->node = n;

	if (strcmp(n->scheme, "tcp") == 0) {
		l->kind = LIS_TCP_FORWARD;
		l->socktype = SOCK_STREAM;
		if (n->nremotes == 0) {
			seterr(err, errlen, "%s: tcp:// needs a forward target "
			    "(tcp://[host]:port/target:port)", url);
			return -1;
		}
		if (node_param_duration(n, "timeout", &tmo, err, errlen) < 0)
			return -1;
		l->timeout_ms = tmo;
		if (build_targets(l, err, errlen) != 0)
			return -1;
		warn_unused(n, tcp_params);
	} else if (strcmp(n->scheme, "tun") == 0 ||
	    strcmp(n->scheme, "tap") == 0) {
		l->kind = strcmp(n->scheme, "tap") == 0 ? LIS_TAP : LIS_TUN;
		if (build_tun(l, c->nlis - 1, l->kind == LIS_TAP, err,
		    errlen) != 0)
			return -1;
		if (n->nremotes == 1 && build_targets(l, err, errlen) != 0)
			return -1;
	} else {
		seterr(err, errlen, "%s: scheme %s is not supported in this "
		    "build", url, n->scheme);
		return -1;
	}
	if (n->port == 0 && l->kind == LIS_TCP_FORWARD) {
		seterr(err, errlen, "%s: bad port 0 (1-65535)", url);
		return -1;
	}
	if (n->user != NULL) {
		seterr(err, errlen, "%s: scheme %s takes no user information",
		    url, n->scheme);
		return -1;
	}
	/*
	 * A wildcard address is dual-stack IPv6, except for a tun/tap client
	 * with an IPv4 peer: its one socket must speak the peer's family.
	 */
	if (host_to_sockaddr(n->host, n->port, !(l->ntargets > 0 &&
	    l->kind != LIS_TCP_FORWARD && l->targets[0].ss_family == AF_INET),
	    &l->addr, &l->addrlen) != 0) {
		seterr(err, errlen, "%s: listen address \"%s\" must be an IP "
		    "address, localhost or empty", url, n->host);
		return -1;
	}
	return 0;
}

static int
add_chain(struct conf *c, const char *url, char *err, size_t errlen)
{
	struct node *n;

	if (node_parse(url, &n, err, errlen) != 0)
		return -1;
	/* No connector exists yet; refusing is better than ignoring. */
	seterr(err, errlen, "%s: chain nodes are not supported in this "
	    "build", url);
	node_free(n);
	return -1;
}

static char *
read_file(const char *path, size_t *lenp, char *err, size_t errlen)
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

/* Go's JSON decoder matches field names case-insensitively; so do we. */
static yajl_val
obj_get(yajl_val obj, const char *key)
{
	size_t i;

	for (i = 0; i < YAJL_GET_OBJECT(obj)->len; i++)
		if (strcasecmp(YAJL_GET_OBJECT(obj)->keys[i], key) == 0)
			return YAJL_GET_OBJECT(obj)->values[i];
	return NULL;
}

static int
json_strings(yajl_val v, const char *path, const char *key, char ***out,
    size_t *nout, char *err, size_t errlen)
{
	size_t i;

	if (!YAJL_IS_ARRAY(v)) {
		seterr(err, errlen, "%s: %s must be an array of node URLs",
		    path, key);
		return -1;
	}
	for (i = 0; i < *nout; i++)
		free((*out)[i]);
	free(*out);
	*out = NULL;
	*nout = 0;
	if (YAJL_GET_ARRAY(v)->len == 0)
		return 0;
	if ((*out = calloc(YAJL_GET_ARRAY(v)->len, sizeof(char *))) == NULL)
		return -1;
	for (i = 0; i < YAJL_GET_ARRAY(v)->len; i++) {
		yajl_val s = YAJL_GET_ARRAY(v)->values[i];
		const char *str;

		if (!YAJL_IS_STRING(s)) {
			seterr(err, errlen, "%s: %s[%zu] must be a string",
			    path, key, i);
			return -1;
		}
		str = YAJL_GET_STRING(s);
		if (str == NULL || ((*out)[i] = strdup(str)) == NULL)
			return -1;
		(*nout)++;
	}
	return 0;
}

/* The gost JSON format: Debug, ServeNodes, ChainNodes, Retries, Mark... */
static int
load_gost_json(struct conf *c, struct conf_args *a, char ***serve,
    size_t *nserve, char ***chain, size_t *nchain, char *err, size_t errlen)
{
	char *data, yerr[256];
	size_t len, i;
	yajl_val root, v;
	static const char *const known[] = {
		"Debug", "ServeNodes", "ChainNodes", "Retries", "Mark",
		"Interface", NULL
	};
	int ret = -1;

	if ((data = read_file(a->path, &len, err, errlen)) == NULL)
		return -1;
	if (strlen(data) != len) {
		seterr(err, errlen, "%s: NUL byte in file", a->path);
		free(data);
		return -1;
	}
	yerr[0] = '\0';
	root = yajl_tree_parse(data, yerr, sizeof(yerr));
	free(data);
	if (root == NULL) {
		char *nl;

		/* yajl's message spans lines; keep the first. */
		if ((nl = strchr(yerr, '\n')) != NULL)
			*nl = '\0';
		seterr(err, errlen, "%s: %s", a->path,
		    yerr[0] ? yerr : "invalid JSON");
		return -1;
	}
	if (!YAJL_IS_OBJECT(root)) {
		seterr(err, errlen, "%s: the top level must be a JSON object",
		    a->path);
		goto out;
	}
	for (i = 0; i < YAJL_GET_OBJECT(root)->len; i++) {
		const char *k = YAJL_GET_OBJECT(root)->keys[i];
		const char *const *kk;

		for (kk = known; *kk != NULL; kk++)
			if (strcasecmp(*kk, k) == 0)
				break;
		if (*kk == NULL) {
			seterr(err, errlen, "%s: unknown key \"%s\"%s", a->path,
			    k, strcasecmp(k, "Routes") == 0 ?
			    " (Routes are not supported in this build)" : "");
			goto out;
		}
	}
	if ((v = obj_get(root, "Debug")) != NULL) {
		if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
			seterr(err, errlen, "%s: Debug must be true or false",
			    a->path);
			goto out;
		}
		if (YAJL_IS_TRUE(v) && c->debug < 1)
			c->debug = 1;
	}
	if ((v = obj_get(root, "ServeNodes")) != NULL &&
	    json_strings(v, a->path, "ServeNodes", serve, nserve, err,
	    errlen) != 0)
		goto out;
	if ((v = obj_get(root, "ChainNodes")) != NULL &&
	    json_strings(v, a->path, "ChainNodes", chain, nchain, err,
	    errlen) != 0)
		goto out;
	if ((v = obj_get(root, "Retries")) != NULL) {
		if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0 ||
		    YAJL_GET_INTEGER(v) > 100) {
			seterr(err, errlen, "%s: Retries must be an integer "
			    "from 0 to 100", a->path);
			goto out;
		}
		c->retries = (unsigned int)YAJL_GET_INTEGER(v);
	}
	if ((v = obj_get(root, "Mark")) != NULL) {
		if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0 ||
		    YAJL_GET_INTEGER(v) > (long long)UINT32_MAX) {
			seterr(err, errlen, "%s: Mark must be an integer from "
			    "0 to %u", a->path, UINT32_MAX);
			goto out;
		}
		c->mark = (uint32_t)YAJL_GET_INTEGER(v);
		c->have_mark = c->mark != 0;
	}
	if ((v = obj_get(root, "Interface")) != NULL) {
		if (!YAJL_IS_STRING(v) || (YAJL_GET_STRING(v)[0] != '\0' &&
		    !valid_ifname(YAJL_GET_STRING(v)))) {
			seterr(err, errlen, "%s: Interface must be an interface "
			    "name", a->path);
			goto out;
		}
		snprintf(c->iface, sizeof(c->iface), "%s", YAJL_GET_STRING(v));
	}
	ret = 0;
 out:
	yajl_tree_free(root);
	return ret;
}

static void
free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static char **
dup_strv(char **v, size_t n)
{
	char **o;
	size_t i;

	if ((o = calloc(n + 1, sizeof(*o))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if ((o[i] = strdup(v[i])) == NULL) {
			free_strv(o, i);
			return NULL;
		}
	return o;
}

int
conf_load(struct conf *c, const struct conf_args *args, char *err,
    size_t errlen)
{
	struct conf_args a = *args;
	char **serve = NULL, **chain = NULL;
	size_t nserve = a.nserve, nchain = a.nchain, i;
	int ret = -1;

	memset(c, 0, sizeof(*c));
	snprintf(err, errlen, "out of memory");
	c->debug = a.debug;
	c->have_mark = a.have_mark;
	c->mark = a.mark;
	if (a.iface != NULL) {
		if (!valid_ifname(a.iface)) {
			seterr(err, errlen, "-I: bad interface name \"%s\"",
			    a.iface);
			return -1;
		}
		snprintf(c->iface, sizeof(c->iface), "%s", a.iface);
	}
	if ((serve = dup_strv(a.serve, a.nserve)) == NULL ||
	    (chain = dup_strv(a.chain, a.nchain)) == NULL)
		goto out;
	if (a.path != NULL) {
		if ((c->path = strdup(a.path)) == NULL)
			goto out;
		if (load_gost_json(c, &a, &serve, &nserve, &chain, &nchain,
		    err, errlen) != 0)
			goto out;
	}
	if (nserve == 0) {
		seterr(err, errlen, "no listener: give -L node or ServeNodes "
		    "in %s", a.path ? a.path : "a -C file");
		goto out;
	}
	for (i = 0; i < nserve; i++)
		if (build_listener(c, serve[i], err, errlen) != 0)
			goto out;
	for (i = 0; i < nchain; i++)
		if (add_chain(c, chain[i], err, errlen) != 0)
			goto out;
	/* Two devices with one name would fight over the interface. */
	for (i = 0; i < c->nlis; i++) {
		size_t j;

		for (j = 0; j < i; j++) {
			if (c->lis[i].kind == LIS_TCP_FORWARD ||
			    c->lis[j].kind == LIS_TCP_FORWARD)
				continue;
			if (strcmp(c->lis[i].tun.name, c->lis[j].tun.name) ==
			    0) {
				seterr(err, errlen, "%s: device name %s is "
				    "already used by %s", c->lis[i].node->url,
				    c->lis[i].tun.name, c->lis[j].node->url);
				goto out;
			}
		}
	}
	ret = 0;
 out:
	free_strv(serve, nserve);
	free_strv(chain, nchain);
	if (ret != 0)
		conf_free(c);
	return ret;
}

void
conf_free(struct conf *c)
{
	size_t i;

	for (i = 0; i < c->nlis; i++) {
		node_free(c->lis[i].node);
		free(c->lis[i].targets);
		free(c->lis[i].targetlens);
		free(c->lis[i].tun.routes);
	}
	free(c->lis);
	for (i = 0; i < c->nchain; i++)
		node_free(c->chain[i]);
	free(c->chain);
	free_strv(c->files, c->nfiles);
	free(c->path);
	memset(c, 0, sizeof(*c));
}

int
conf_file_allowed(const struct conf *c, const char *path)
{
	size_t i;

	for (i = 0; i < c->nfiles; i++)
		if (strcmp(c->files[i], path) == 0)
			return 1;
	return 0;
}

const struct listener_conf *
conf_tun_by_name(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nlis; i++)
		if ((c->lis[i].kind == LIS_TUN || c->lis[i].kind == LIS_TAP) &&
		    strcmp(c->lis[i].tun.name, name) == 0)
			return &c->lis[i];
	return NULL;
}

int
conf_tun_equal(const struct tun_conf *a, const struct tun_conf *b)
{
	if (strcmp(a->name, b->name) != 0 || a->tap != b->tap ||
	    a->has_net != b->has_net || a->mtu != b->mtu ||
	    a->nroutes != b->nroutes || a->has_gw != b->has_gw)
		return 0;
	if (a->has_net && memcmp(&a->net, &b->net, sizeof(a->net)) != 0)
		return 0;
	if (a->nroutes > 0 && memcmp(a->routes, b->routes,
	    a->nroutes * sizeof(*a->routes)) != 0)
		return 0;
	return 1;
}
