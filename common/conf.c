#include "err.h"
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
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "conf.h"
#include "ctlproto.h"
#include "log.h"
#include "params.h"
#include "match.h"
#include "cfgfile.h"
#include "ostpkeys.h"
#include "proto/ss.h"


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

int
conf_valid_ifname(const char *s)
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
static const char *const tcp_params[] = {
	"timeout", "bypass", "hosts", "whitelist", "blacklist", "prefer",
	"dns", NULL
};
static const char *const proxy_params[] = {
	"timeout", "bypass", "hosts", "whitelist", "blacklist", "secrets",
	"auth", "proxyAgent", "prefer", "dns", "probe_resist", "knock", "notls",
	NULL
};
static const char *const tun_params[] = {
	"name", "net", "net6", "mtu", "route", "gw", "capture", "dns_addr",
	"fake_ip", "sniff", "exclude", "icmp",
	"ttl", "auto_route", "table", "tcp", NULL
};

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
		if (!conf_valid_ifname(v)) {
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
	if ((v = node_param(n, "net6")) != NULL) {
		if (inet_prefix_parse(v, &t->net6) != 0 ||
		    t->net6.family != AF_INET6 || !t->has_net ||
		    t->net.family != AF_INET) {
			seterr(err, errlen, "%s: bad value \"%s\" for net6 (an "
			    "IPv6 address/prefix beside an IPv4 net)", n->url,
			    v);
			return -1;
		}
		t->has_net6 = 1;
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
	l->targetnames = calloc(n->nremotes, sizeof(*l->targetnames));
	if (l->targets == NULL || l->targetlens == NULL ||
	    l->targetnames == NULL)
		return -1;
	for (i = 0; i < n->nremotes; i++) {
		if (parse_hostport(n->remotes[i], &host, &port) != 0) {
			seterr(err, errlen, "%s: bad forward target \"%s\" "
			    "(host:port with port 1-65535)", n->url,
			    n->remotes[i]);
			return -1;
		}
		/* gost (Go's dialer): a target without a host is this host */
		if (host[0] == '\0') {
			free(host);
			if ((host = strdup("127.0.0.1")) == NULL)
				return -1;
		}
		if (host_to_sockaddr(host, port, 0, &l->targets[i],
		    &l->targetlens[i]) != 0) {
			/* a name, resolved at each dial */
			l->targetnames[i] = host;
			host = NULL;
			/* the port travels in targets[i] */
			((struct sockaddr_in *)&l->targets[i])->sin_family =
			    AF_UNSPEC;
			((struct sockaddr_in *)&l->targets[i])->sin_port =
			    htons(port);
		}
		free(host);
		l->ntargets++;
	}
	return 0;
}

static int
conf_add_file(struct conf *c, const char *path)
{
	size_t i;

	for (i = 0; i < c->nfiles; i++)
		if (strcmp(c->files[i], path) == 0)
			return 0;
	return conf_src_push(&c->files, &c->nfiles, path);
}

/* Read and parse a reloadable file now, so mistakes stop startup. */
enum { CF_BYPASS, CF_HOSTS, CF_SECRETS, CF_RESOLVER, CF_PEERS, CF_PLAIN,
    CF_IPS };

/*
 * What the resolver does not do in this build: queries through the
 * chain (gost's "-chain" nameservers).
 */
int
resolver_supported(const struct resolver_conf *rc, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < rc->nns; i++)
		if (rc->ns[i].chain) {
			seterr(err, errlen, "nameserver %s: queries through "
			    "the chain (-chain) are not supported in this "
			    "build", rc->ns[i].addr);
			return -1;
		}
	return 0;
}

void
conf_egress(const struct conf *c, const struct listener_conf *l,
    struct egress *e)
{
	memset(e, 0, sizeof(*e));
	if (l != NULL && l->egress.mark != 0)
		e->mark = l->egress.mark;
	else if (c->have_mark)
		e->mark = c->mark;
	snprintf(e->iface, sizeof(e->iface), "%s", l != NULL &&
	    l->egress.iface[0] != '\0' ? l->egress.iface : c->iface);
}

int
conf_egress_any(const struct egress *e)
{
	return e->mark != 0 || e->iface[0] != '\0';
}

static int
egress_equal(const struct egress *a, const struct egress *b)
{
	return a->mark == b->mark && strcmp(a->iface, b->iface) == 0;
}

int
conf_egress_allowed(const struct conf *c, const struct egress *e)
{
	struct egress have;
	size_t i;

	if (!conf_egress_any(e))
		return 0;	/* the worker makes such sockets itself */
	conf_egress(c, NULL, &have);
	if (egress_equal(e, &have))
		return 1;
	for (i = 0; i < c->nlis; i++) {
		conf_egress(c, &c->lis[i], &have);
		if (egress_equal(e, &have))
			return 1;
	}
	return 0;
}

/* Whether some rule names listener k among its inbounds. */
static int
lis_in_rules(const struct conf *c, size_t k)
{
	size_t i, j;

	for (i = 0; i < c->nrules; i++)
		for (j = 0; j < c->rules[i].ninbound; j++)
			if (strcmp(c->rules[i].inbound[j], c->lis[k].tag) == 0)
				return 1;
	return 0;
}

void
conf_outbound_egress(const struct conf *c, size_t ob, struct egress *e)
{
	struct egress one;
	size_t i, j, k;
	int found = 0, uses;

	/*
	 * The listeners a rule on their tags sends to ob, and, for the
	 * default outbound, those no rule names.
	 */
	for (k = 0; k < c->nlis; k++) {
		uses = ob == c->default_ob && !lis_in_rules(c, k);
		for (i = 0; i < c->nrules && !uses; i++) {
			if (c->rules[i].outbound != ob)
				continue;
			for (j = 0; j < c->rules[i].ninbound && !uses; j++)
				uses = strcmp(c->rules[i].inbound[j],
				    c->lis[k].tag) == 0;
		}
		if (!uses)
			continue;
		conf_egress(c, &c->lis[k], &one);
		if (found && !egress_equal(&one, e)) {
			conf_egress(c, NULL, e);
			return;
		}
		*e = one;
		found = 1;
	}
	if (!found)
		conf_egress(c, NULL, e);
}

/* Set by conf_load for a worker's copy of the configuration. */
static int files_checked;
/*
 * The keys a JSON inbound gives its ostp listener beside its URL
 * (access_keys, and in a worker's copy file_keys), for build_lis_ostp.
 */
static const struct ostp_conf *lis_ostp_extra;

/*
 * Every parameter that takes a file or an inline list (bypass= and dns=
 * of a listener, bypass= and ip= of a chain node) decides here, as gost
 * does: a path (/, ./, ../) is a file, and so is any other value that
 * names a regular file that exists (bypass=bypass.txt: gost opens it
 * before it reads a list), even when it would also be a valid list.
 * Such a bare name is written back into the node's URL as an absolute
 * path: the workers, which cannot look, read the same URL, and so does
 * a reload after -b has changed to /.  tilde: a leading "~" (reverse)
 * is not part of the name.  1: a file, its path in *pathp; 0: a list;
 * -1: out of memory.
 */
int
conf_param_file(struct node *n, const char *key, int tilde,
    const char **pathp)
{
	const char *v = node_param(n, key), *p;
	struct stat st;
	char *abs, *nv;
	int r;

	if (v == NULL)
		return 0;
	p = tilde && v[0] == '~' ? v + 1 : v;
	*pathp = p;
	if (p[0] == '/' || strncmp(p, "./", 2) == 0 ||
	    strncmp(p, "../", 3) == 0)
		return 1;
	if (files_checked || p[0] == '\0' || stat(p, &st) == -1 ||
	    !S_ISREG(st.st_mode))
		return 0;
	if ((abs = realpath(p, NULL)) == NULL)
		return 0;
	r = asprintf(&nv, "%s%s", p != v ? "~" : "", abs);
	free(abs);
	if (r == -1)
		return -1;
	r = node_param_replace(n, key, nv);
	free(nv);
	if (r != 0)
		return -1;
	v = node_param(n, key);
	*pathp = tilde && v[0] == '~' ? v + 1 : v;
	return 1;
}

static int
check_file(const char *url, const char *key, const char *path, int kind,
    char *err, size_t errlen)
{
	struct matcher_set *ms = NULL;
	struct hosts *h = NULL;
	struct secrets *sec = NULL;
	struct resolver_conf *rc = NULL;
	struct peer_conf *pe = NULL;
	struct ip_list *ipl = NULL;
	unsigned long reload;
	char *data, e[400];
	size_t len;
	int r;

	/*
	 * The monitor read and parsed every named file before it passed the
	 * configuration on; a worker reads them only through the monitor.
	 */
	if (files_checked)
		return 0;
	if ((data = conf_read_file(path, &len, e, sizeof(e))) == NULL) {
		seterr(err, errlen, "%s: %s file %s", url, key, e);
		return -1;
	}
	if (kind == CF_PLAIN) {		/* any content, it is only served */
		free(data);
		return 0;
	}
	if (strlen(data) != len) {
		seterr(err, errlen, "%s: NUL byte in file", path);
		free(data);
		return -1;
	}
	r = kind == CF_HOSTS ? hosts_parse(data, len, path, &h, e, sizeof(e)) :
	    kind == CF_SECRETS ? secrets_parse(data, len, path, &sec, e,
	    sizeof(e)) : kind == CF_RESOLVER ? resolver_conf_parse(data, len,
	    path, &rc, e, sizeof(e)) : kind == CF_PEERS ? peer_conf_parse(data,
	    len, path, &pe, e, sizeof(e)) : kind == CF_IPS ?
	    ip_list_parse(data, len, path, &ipl, e, sizeof(e)) :
	    bypass_file_parse(data, len, path, &ms, &reload, e, sizeof(e));
	if (r == 0 && rc != NULL && resolver_supported(rc, e, sizeof(e)) != 0) {
		seterr(err, errlen, "%s: %s", path, e);
		resolver_conf_free(rc);
		free(data);
		return -1;
	}
	free(data);
	resolver_conf_free(rc);
	peer_conf_free(pe);
	ip_list_free(ipl);
	hosts_free(h);
	secrets_free(sec);
	matcher_set_free(ms);
	if (r != 0)
		seterr(err, errlen, "%s", e);
	return r;
}

/*
 * A PEM file of TLS: certificates (a chain, the first is ours) or a
 * private key.  With a key, cert is the certificate it must match.
 * The key is read here in the monitor only (a worker's copy of the
 * configuration checks no files), and wiped after.
 */
static int
check_pem(const char *url, const char *what, const char *path, int key,
    const char *cert, char *err, size_t errlen)
{
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	BIO *b = NULL;
	char *data = NULL, e[400];
	size_t len = 0;
	int r = -1;

	if (files_checked)
		return 0;
	if ((data = conf_read_file(path, &len, e, sizeof(e))) == NULL) {
		seterr(err, errlen, "%s: %s file %s", url, what, e);
		return -1;
	}
	if ((b = BIO_new_mem_buf(data, (int)len)) == NULL)
		goto out;
	if (!key) {
		if ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL)
			seterr(err, errlen, "%s: %s file %s: no PEM certificate "
			    "in it", url, what, path);
		else
			r = 0;
		goto out;
	}
	if ((pk = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"")) ==
	    NULL) {
		seterr(err, errlen, "%s: %s file %s: no unencrypted PEM private "
		    "key in it", url, what, path);
		goto out;
	}
	/* the monitor signs for workers with RSA and ECDSA keys only */
	if (!conf_tls_key_supported(pk)) {
		seterr(err, errlen, "%s: %s file %s: %s keys are not supported "
		    "(only RSA and ECDSA)", url, what, path,
		    EVP_PKEY_get0_type_name(pk));
		goto out;
	}
	BIO_free(b);
	freezero(data, len);
	data = NULL;
	if ((data = conf_read_file(cert, &len, e, sizeof(e))) == NULL ||
	    (b = BIO_new_mem_buf(data, (int)len)) == NULL ||
	    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL)
		goto out;	/* named by the cert check */
	if (X509_check_private_key(x, pk) != 1) {
		seterr(err, errlen, "%s: key file %s does not belong to the "
		    "certificate in %s", url, path, cert);
		goto out;
	}
	r = 0;
 out:
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(pk);
	BIO_free(b);
	if (data != NULL)
		freezero(data, len);
	return r;
}

/*
 * A listener or hop whose transport has a TLS layer; for a listener,
 * the monitor holds its identity (mon_tls.c).
 */
int
conf_tp_tls(const struct tp_conf *tp)
{
	return tp->kind == TP_TLS || tp->kind == TP_MTLS ||
	    tp->kind == TP_WSS || tp->kind == TP_MWSS || tp->kind == TP_H2 ||
	    tp->kind == TP_HTTP2 || tp->sniff;
}

/*
 * A private key a TLS listener can use: the operations the monitor
 * performs for workers (mon_tls.c) are RSA's and ECDSA's.
 */
int
conf_tls_key_supported(const EVP_PKEY *pk)
{
	int t = EVP_PKEY_get_base_id(pk);

	return t == EVP_PKEY_RSA || t == EVP_PKEY_EC;
}

/* A stream transport this build has layers for. */
static int
stream_tp(const struct node *n)
{
	static const char *const names[] = {
		"tcp", "tls", "mtls", "ws", "wss", "mws", "mwss", "ohttp",
		"otls", "h2", "h2c", "http2", NULL
	};
	size_t i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(n->transport, names[i]) == 0)
			return 1;
	return 0;
}

/*
 * The transport of a listener (server) or a chain node: the layers its
 * protocol rides on.  A TLS listener without cert= and key= takes
 * cert.pem and key.pem of the working directory when both are there
 * (gost), else a certificate the monitor makes at start.
 */
static int
build_transport(const struct node *n, struct tp_conf *tp, int server,
    char *err, size_t errlen)
{
	static const struct {
		const char	*name;
		enum tp_kind	 kind;
		int		 ws, tls;
	} tps[] = {
		{ "tcp",	TP_TCP,		0, 0 },
		{ "tls",	TP_TLS,		0, 1 },
		{ "mtls",	TP_MTLS,	0, 1 },
		{ "ws",		TP_WS,		1, 0 },
		{ "wss",	TP_WSS,		1, 1 },
		{ "mws",	TP_MWS,		1, 0 },
		{ "mwss",	TP_MWSS,	1, 1 },
		{ "ohttp",	TP_OHTTP,	0, 0 },
		{ "otls",	TP_OTLS,	0, 0 },
		{ "h2",		TP_H2,		2, 1 },
		{ "h2c",	TP_H2C,		2, 0 },
		{ "http2",	TP_HTTP2,	0, 1 },
	};
	const char *v;
	size_t i;
	int b;

	memset(tp, 0, sizeof(*tp));
	for (i = 0; i < sizeof(tps) / sizeof(tps[0]); i++)
		if (strcmp(n->transport, tps[i].name) == 0)
			break;
	if (i == sizeof(tps) / sizeof(tps[0])) {
		seterr(err, errlen, "%s: transport %s is not supported in this "
		    "build", n->url, n->transport);
		return -1;
	}
	tp->kind = tps[i].kind;
	/* the name a client shows: Host of ohttp, SNI of otls and TLS */
	tp->sni = (v = node_param(n, "host")) != NULL ? v : n->host;
	if (strlen(tp->sni) > 255) {
		seterr(err, errlen, "%s: host is limited to 255 bytes", n->url);
		return -1;
	}
	if ((tps[i].ws == 2 || tp->kind == TP_HTTP2) &&
	    node_param_duration(n, "ping", &tp->ping_ms, err, errlen) < 0)
		return -1;
	if (tp->kind == TP_HTTP2)
		tp->agent = node_param(n, "agent");
	if (tps[i].ws) {
		/* h2: GET path tunnels when path= is set, else CONNECT */
		tp->path = (v = node_param(n, "path")) != NULL ? v :
		    tps[i].ws == 2 ? NULL : "/ws";
		tp->agent = node_param(n, "agent");
		if (tp->path != NULL && (tp->path[0] != '/' ||
		    strlen(tp->path) > 1024 ||
		    strpbrk(tp->path, " ?#") != NULL)) {
			seterr(err, errlen, "%s: bad value \"%s\" for path (an "
			    "absolute path, at most 1024 bytes)", n->url,
			    tp->path);
			return -1;
		}
		/* gost's client: the host= value, else the node's address */
		if ((v = node_param(n, "host")) != NULL)
			snprintf(tp->wshost, sizeof(tp->wshost), "%s", v);
		else
			snprintf(tp->wshost, sizeof(tp->wshost),
			    strchr(n->host, ':') != NULL ? "[%s]:%u" : "%s:%u",
			    n->host, n->port);
	}
	if (!tps[i].tls)
		return 0;
	tp->cert = node_param(n, "cert");
	tp->key = node_param(n, "key");
	tp->ca = node_param(n, "ca");
	if ((v = node_param(n, "secure")) != NULL &&
	    param_bool_parse(v, &b) == 0)
		tp->secure = b;
	if (server && (tp->cert == NULL) != (tp->key == NULL)) {
		seterr(err, errlen, "%s: %s= without %s=", n->url,
		    tp->cert != NULL ? "cert" : "key",
		    tp->cert != NULL ? "key" : "cert");
		return -1;
	}
	if (!server && (tp->cert != NULL || tp->key != NULL)) {
		seterr(err, errlen, "%s: client certificates (cert=, key=) are "
		    "not supported in this build", n->url);
		return -1;
	}
	if (tp->cert != NULL &&
	    (check_pem(n->url, "cert", tp->cert, 0, NULL, err, errlen) != 0 ||
	    check_pem(n->url, "key", tp->key, 1, tp->cert, err, errlen) != 0))
		return -1;
	if (tp->ca != NULL &&
	    check_pem(n->url, "ca", tp->ca, 0, NULL, err, errlen) != 0)
		return -1;
	return 0;
}

static int
build_access(struct conf *c, struct listener_conf *l, char *err,
    size_t errlen)
{
	struct node *n = l->node;
	const char *v, *p;
	char e[400];
	int r;

	if ((v = node_param(n, "bypass")) != NULL) {
		/* gost: a file, or an inline list ("~" reverses it). */
		if ((r = conf_param_file(n, "bypass", 1, &p)) == -1)
			return -1;
		v = node_param(n, "bypass");
		if (r == 1) {
			if (check_file(n->url, "bypass", p, CF_BYPASS, err,
			    errlen) != 0)
				return -1;
			if ((l->bypass_path = strdup(p)) == NULL ||
			    conf_add_file(c, p) != 0)
				return -1;
		} else if (matcher_set_parse_list(v, &l->bypass, e,
		    sizeof(e)) != 0) {
			seterr(err, errlen, "%s: bypass: %s", n->url, e);
			return -1;
		}
	}
	if ((v = node_param(n, "hosts")) != NULL) {
		if (check_file(n->url, "hosts", v, CF_HOSTS, err, errlen) != 0)
			return -1;
		if ((l->hosts_path = strdup(v)) == NULL ||
		    conf_add_file(c, v) != 0)
			return -1;
	}
	if ((v = node_param(n, "whitelist")) != NULL &&
	    permission_parse(v, &l->whitelist, e, sizeof(e)) != 0) {
		seterr(err, errlen, "%s: whitelist: %s", n->url, e);
		return -1;
	}
	if ((v = node_param(n, "blacklist")) != NULL &&
	    permission_parse(v, &l->blacklist, e, sizeof(e)) != 0) {
		seterr(err, errlen, "%s: blacklist: %s", n->url, e);
		return -1;
	}
	return 0;
}

static int
b64decode(const char *in, char *out, size_t outlen)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned int acc = 0, bits = 0;
	size_t o = 0;
	const char *p;

	for (; *in != '\0' && *in != '='; in++) {
		if ((p = strchr(tbl, *in)) == NULL)
			return -1;
		acc = (acc << 6) | (unsigned int)(p - tbl);
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (o + 1 >= outlen)
				return -1;
			out[o++] = (char)(acc >> bits);
		}
	}
	out[o] = '\0';
	return memchr(out, '\0', o) == NULL ? 0 : -1;
}

/*
 * probe_resist=code:N|web:URL|host:ADDR|file:PATH and knock=HOST: an HTTP
 * client that fails authentication sees a web server instead of a 407,
 * unless it asked for the knock host (gost).  Addresses are IP literals
 * in this build; the file is read through the monitor.
 */
static int
build_probe(struct conf *c, struct listener_conf *l, char *err,
    size_t errlen)
{
	struct node *n = l->node;
	const char *v = node_param(n, "probe_resist"), *arg, *slash;
	char *host, hp[300];
	uint16_t port;
	unsigned long code;

	if ((arg = node_param(n, "knock")) != NULL &&
	    (l->knock = strdup(arg)) == NULL)
		return -1;
	if (v == NULL)
		return 0;
	if ((arg = strchr(v, ':')) == NULL)
		goto bad;
	arg++;
	if (strncmp(v, "code:", 5) == 0) {
		code = strtoul(arg, NULL, 10);
		if (code < 100 || code > 599)
			goto bad;
		l->probe = PROBE_CODE;
		l->probe_code = (int)code;
		return 0;
	}
	if (strncmp(v, "file:", 5) == 0) {
		if (check_file(n->url, "probe_resist", arg, CF_PLAIN, err,
		    errlen) != 0)
			return -1;
		l->probe = PROBE_FILE;
		if ((l->probe_arg = strdup(arg)) == NULL ||
		    conf_add_file(c, arg) != 0)
			return -1;
		return 0;
	}
	if (strncmp(v, "host:", 5) == 0) {
		l->probe = PROBE_HOST;
		snprintf(hp, sizeof(hp), "%s", arg);
	} else if (strncmp(v, "web:", 4) == 0) {
		/* http://host:port/path, "http://" optional */
		if (strncmp(arg, "http://", 7) == 0)
			arg += 7;
		else if (strstr(arg, "://") != NULL)
			goto bad;
		slash = strchr(arg, '/');
		snprintf(hp, sizeof(hp), "%.*s", (int)(slash ? slash - arg :
		    (long)strlen(arg)), arg);
		if (strchr(hp, ':') == NULL || (hp[0] == '[' &&
		    strstr(hp, "]:") == NULL))
			snprintf(hp + strlen(hp), sizeof(hp) - strlen(hp), ":80");
		l->probe = PROBE_WEB;
		/* "path host": what the GET asks and the Host it names */
		if ((l->probe_arg = malloc(strlen(arg) + 4)) == NULL)
			return -1;
		sprintf(l->probe_arg, "%s %.*s", slash ? slash : "/",
		    (int)(slash ? slash - arg : (long)strlen(arg)), arg);
	} else
		goto bad;
	if (parse_hostport(hp, &host, &port) != 0)
		goto bad;
	if (host[0] == '\0') {
		free(host);
		goto bad;
	}
	/* a name is resolved when a probe comes */
	l->probe_host = host;
	l->probe_port = port;
	return 0;
 bad:
	seterr(err, errlen, "%s: bad value \"%s\" for probe_resist "
	    "(code:N, web:URL, host:ADDR or file:PATH)", n->url, v);
	return -1;
}

/*
 * What a listener that dials for its clients needs: access control,
 * hosts files, the resolver (dns=, prefer=).
 */
static int
build_dialer(struct conf *c, struct listener_conf *l, char *err,
    size_t errlen)
{
	struct node *n = l->node;
	const char *v;
	char e[400];
	int r;

	if (build_access(c, l, err, errlen) != 0)
		return -1;
	if ((v = node_param(n, "prefer")) != NULL)
		l->prefer = strcmp(v, "ipv6") == 0 ? AF_INET6 : AF_INET;
	if ((v = node_param(n, "dns")) != NULL) {
		if ((r = conf_param_file(n, "dns", 0, &v)) == -1)
			return -1;
		if (r == 1) {
			/* a resolver file, reloadable like the others */
			if (check_file(n->url, "dns", v, CF_RESOLVER, err,
			    errlen) != 0)
				return -1;
			if ((l->dns_path = strdup(v)) == NULL ||
			    conf_add_file(c, v) != 0)
				return -1;
		} else {
			if (resolver_conf_parse_list(v, &l->dns, e,
			    sizeof(e)) != 0) {
				seterr(err, errlen, "%s: dns: %s", n->url, e);
				return -1;
			}
			if (resolver_supported(l->dns, e, sizeof(e)) != 0) {
				seterr(err, errlen, "%s: dns: %s", n->url, e);
				return -1;
			}
		}
	}
	return 0;
}

static const char *const ss_params[] = {
	"timeout", "bypass", "hosts", "whitelist", "blacklist", "prefer",
	"dns", NULL
};
static const char *const dnsl_params[] = {
	"timeout", "ttl", "mode", "dns", "whitelist", "blacklist", NULL
};

/*
 * dns://[host]:port[/upstream,...]: upstreams as node remotes
 * (udp://, tcp://, tls:// URLs, DoH https:// URLs, or gost's
 * addr/proto) or in dns=; the mode picks a UDP or TCP listener.
 */
static int
build_dns(struct conf *c, struct listener_conf *l, char *err, size_t errlen)
{
	struct node *n = l->node;
	char list[2048], e[400];
	const char *v;
	size_t i, off = 0;
	int w;

	list[0] = '\0';
	for (i = 0; i < n->nremotes; i++) {
		const char *r = n->remotes[i], *proto = NULL;

		if (strncmp(r, "tls://", 6) == 0)
			proto = "tls";
		else if (strncmp(r, "tcp://", 6) == 0)
			proto = "tcp";
		else if (strncmp(r, "udp://", 6) == 0)
			proto = "udp";
		w = snprintf(list + off, sizeof(list) - off, "%s%s%s%s",
		    i ? "," : "", proto ? r + 6 : r, proto ? "/" : "",
		    proto ? proto : "");
		if (w < 0 || (size_t)w >= sizeof(list) - off) {
			seterr(err, errlen, "%s: upstream list too long",
			    n->url);
			return -1;
		}
		off += (size_t)w;
	}
	if ((v = node_param(n, "dns")) != NULL && n->nremotes == 0)
		snprintf(list, sizeof(list), "%s", v);
	if (list[0] == '\0') {
		seterr(err, errlen, "%s: dns:// needs an upstream "
		    "(dns://:53/1.1.1.1:53, tls://..., https://..., or dns=)",
		    n->url);
		return -1;
	}
	if (resolver_conf_parse_list(list, &l->dns_up, e, sizeof(e)) != 0) {
		seterr(err, errlen, "%s: upstream: %s", n->url, e);
		return -1;
	}
	if (resolver_supported(l->dns_up, e, sizeof(e)) != 0) {
		seterr(err, errlen, "%s: upstream: %s", n->url, e);
		return -1;
	}
	for (i = 0; i < l->dns_up->nns; i++) {
		char *host = NULL;
		uint16_t port;
		const char *a = l->dns_up->ns[i].addr;

		if (l->dns_up->ns[i].proto == NS_PROTO_HTTPS)
			continue;	/* a URL, checked when parsed */
		/* a name is resolved by the system resolver when asked */
		if (parse_hostport(a, &host, &port) != 0 || host[0] == '\0') {
			free(host);
			seterr(err, errlen, "%s: upstream %s must be a host "
			    "and port", n->url, a);
			return -1;
		}
		free(host);
	}
	if ((v = node_param(n, "mode")) != NULL && strcmp(v, "udp") != 0 &&
	    strcmp(v, "tcp") != 0) {
		seterr(err, errlen, "%s: bad value \"%s\" for mode (udp or "
		    "tcp)", n->url, v);
		return -1;
	}
	l->socktype = v != NULL && strcmp(v, "tcp") == 0 ? SOCK_STREAM :
	    SOCK_DGRAM;
	if (build_access(c, l, err, errlen) != 0)
		return -1;
	return 0;
}

static const char *const relay_params[] = {
	"timeout", "bypass", "hosts", "whitelist", "blacklist", "prefer",
	"dns", "auth", "secrets", "nodelay", NULL
};

static const char *const sni_params[] = {
	"timeout", "host", "bypass", "hosts", "whitelist", "blacklist", "prefer",
	"dns", NULL
};

static const char *const udp_params[] = {
	"timeout", "ttl", "bypass", "hosts", "whitelist", "blacklist", "prefer",
	"dns", NULL
};

/* ss://method:password@...: the cipher and its master key. */
static int
build_ss_key(const struct node *n, const struct ss_method **mp,
    unsigned char *key, char *err, size_t errlen)
{
	const struct ss_method *m;
	char e[300];

	if (n->user == NULL || n->user[0] == '\0') {
		seterr(err, errlen, "%s: Shadowsocks needs method:password "
		    "(e.g. ss://aes-128-gcm:secret@host:8338)", n->url);
		return -1;
	}
	if ((m = ss_method_find(n->user)) == NULL) {
		seterr(err, errlen, "%s: unknown Shadowsocks method \"%s\" "
		    "(one of %s)", n->url, n->user, ss_method_names());
		return -1;
	}
	if (m->kind == SS_KIND_NONE)
		logit("%s: method %s sends everything in clear; use it only "
		    "for tests", n->url, m->name);
	else if (n->pass == NULL || n->pass[0] == '\0') {
		seterr(err, errlen, "%s: Shadowsocks needs a password",
		    n->url);
		return -1;
	}
	if (ss_master_key(m, n->pass ? n->pass : "", key, e,
	    sizeof(e)) != 0) {
		seterr(err, errlen, "%s: %s", n->url, e);
		return -1;
	}
	*mp = m;
	return 0;
}

/* user:pass from the userinfo, else from auth=base64(user:pass). */
static int
node_userpass(const struct node *n, char **user, char **pass, char *err,
    size_t errlen)
{
	const char *v;
	char up[512], *colon;
	int r = 0;

	if (n->user != NULL) {
		if ((*user = strdup(n->user)) == NULL ||
		    (*pass = strdup(n->pass ? n->pass : "")) == NULL)
			goto oom;
	} else if ((v = node_param(n, "auth")) != NULL) {
		if (b64decode(v, up, sizeof(up)) != 0 ||
		    (colon = strchr(up, ':')) == NULL) {
			seterr(err, errlen, "%s: bad value for auth (base64 of "
			    "user:password)", n->url);
			return -1;
		}
		*colon = '\0';
		if ((*user = strdup(up)) == NULL ||
		    (*pass = strdup(colon + 1)) == NULL)
			r = -1;
		explicit_bzero(up, sizeof(up));
		if (r != 0)
			goto oom;
	}
	return 0;
 oom:
	seterr(err, errlen, "out of memory");
	return -1;
}

/* Credentials: userinfo, else auth=base64(user:pass); secrets=. */
static int
build_creds(struct conf *c, struct listener_conf *l, char *err,
    size_t errlen)
{
	struct node *n = l->node;
	const char *v;

	if (node_userpass(n, &l->user, &l->pass, err, errlen) != 0)
		return -1;
	if ((v = node_param(n, "secrets")) != NULL) {
		if (check_file(n->url, "secrets", v, CF_SECRETS, err,
		    errlen) != 0)
			return -1;
		if ((l->secrets_path = strdup(v)) == NULL ||
		    conf_add_file(c, v) != 0)
			return -1;
	}
	return 0;
}

static int
build_proxy(struct conf *c, struct listener_conf *l, char *err,
    size_t errlen)
{
	struct node *n = l->node;
	const char *v;

	if (build_dialer(c, l, err, errlen) != 0)
		return -1;
	if (build_creds(c, l, err, errlen) != 0)
		return -1;
	if (build_probe(c, l, err, errlen) != 0)
		return -1;
	if ((v = node_param(n, "notls")) != NULL)
		l->notls = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
	if ((v = node_param(n, "proxyAgent")) != NULL &&
	    (l->proxy_agent = strdup(v)) == NULL)
		return -1;
	return 0;
}

/* "lo-hi" as two ports, lo <= hi; 0 if s[0..len) is such a range. */
static int
port_range_parse(const char *s, size_t len, uint16_t *lo, uint16_t *hi)
{
	const char *dash = memchr(s, '-', len);

	if (dash == NULL || port_parse(s, (size_t)(dash - s), lo) != 0 ||
	    port_parse(dash + 1, len - (size_t)(dash - s) - 1, hi) != 0 ||
	    *lo == 0 || *hi < *lo)
		return -1;
	return 0;
}

/*
 * Listener builders, one per handler: each reads its node's parameters
 * into the listener.  The scheme table below says which runs.
 */
static int
build_lis_forward(struct conf *c, struct listener_conf *l, char *err,
    size_t errlen)
{
	struct node *n = l->node;

	if (n->nremotes == 0) {
		seterr(err, errlen, "%s: tcp:// needs a forward target "
		    "(tcp://[host]:port/target:port)", n->url);
		return -1;
	}
	if (build_targets(l, err, errlen) != 0 ||
	    build_dialer(c, l, err, errlen) != 0)
		return -1;
	return 0;
}

static int
build_lis_remote(struct conf *c, struct listener_conf *l, char *err,
    size_t errlen)
{
	if (build_targets(l, err, errlen) != 0 ||
	    build_dialer(c, l, err, errlen) != 0)
		return -1;
	l->socktype = 0;	/* nothing listens here */
	return 0;
}

static int
build_lis_dialer(struct conf *c, struct listener_conf *l, char *err,
    size_t errlen)
{
	return build_dialer(c, l, err, errlen);
}

static int
build_lis_relay(struct conf *c, struct listener_conf *l, char *err,
    size_t errlen)
{
	if ((l->node->nremotes > 0 && build_targets(l, err, errlen) != 0) ||
	    build_dialer(c, l, err, errlen) != 0 ||
	    build_creds(c, l, err, errlen) != 0)
		return -1;
	return 0;
}

static int
build_lis_sni(struct conf *c, struct listener_conf *l, char *err,
    size_t errlen)
{
	const char *v, *colon;
	uint16_t hp;

	if ((v = node_param(l->node, "host")) != NULL &&
	    (((colon = strrchr(v, ':')) != NULL &&
	    (port_parse(colon + 1, strlen(colon + 1), &hp) != 0 ||
	    hp == 0)) || strlen(v) > 255)) {
		seterr(err, errlen, "%s: bad value \"%s\" for host "
		    "([name][:port])", l->node->url, v);
		return -1;
	}
	return build_dialer(c, l, err, errlen);
}

static int
build_lis_udp(struct conf *c, struct listener_conf *l, char *err,
    size_t errlen)
{
	struct node *n = l->node;

	if (l->kind == LIS_UDP_FORWARD && build_targets(l, err, errlen) != 0)
		return -1;
	if (l->kind == LIS_SSU && n->nremotes > 0) {
		seterr(err, errlen, "%s: ssu:// takes no forward target",
		    n->url);
		return -1;
	}
	if (l->kind == LIS_SSU && build_ss_key(n, &l->ss_method, l->ss_key,
	    err, errlen) != 0)
		return -1;
	return build_dialer(c, l, err, errlen);
}

static int
build_lis_ss(struct conf *c, struct listener_conf *l, char *err,
    size_t errlen)
{
	if (build_ss_key(l->node, &l->ss_method, l->ss_key, err,
	    errlen) != 0)
		return -1;
	/* gost's ssu over a stream: no request header for SIP022's */
	if (strcmp(l->node->proto, "ssu") == 0 &&
	    l->ss_method->kind == SS_KIND_2022) {
		seterr(err, errlen, "%s: ssu over a stream transport takes "
		    "an AEAD or stream cipher, not %s (gost has no SIP022)",
		    l->node->url, l->ss_method->name);
		return -1;
	}
	return build_dialer(c, l, err, errlen);
}

int
conf_ss_packets(const struct hop_conf *last, size_t nhops)
{
	const struct node *n = last->node;

	if (n == NULL)
		return nhops == 1;
	return nhops == 1 && (strcmp(n->transport, "udp") == 0 ||
	    (strcmp(n->transport, "tcp") == 0 &&
	    strcmp(n->proto, "ss") == 0));
}

/* exclude=CIDR,...: only with auto_route, whose rules it comes before. */
static int
build_excludes(struct node *n, struct tun_conf *t, const char *v, char *err,
    size_t errlen)
{
	struct inet_prefix *x;
	char *list, *tok, *save = NULL;
	size_t i;

	if (!t->auto_route) {
		seterr(err, errlen, "%s: exclude needs auto_route=true (with "
		    "explicit routes, route only what to capture)", n->url);
		return -1;
	}
	if ((list = strdup(v)) == NULL)
		return -1;
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (t->nexcludes >= CONF_MAX_ROUTES) {
			seterr(err, errlen, "%s: more than %d exclude "
			    "entries", n->url, CONF_MAX_ROUTES);
			free(list);
			return -1;
		}
		if ((x = reallocarray(t->excludes, t->nexcludes + 1,
		    sizeof(*x))) == NULL) {
			free(list);
			return -1;
		}
		t->excludes = x;
		x = &t->excludes[t->nexcludes];
		if (inet_prefix_parse(tok, x) != 0) {
			seterr(err, errlen, "%s: bad value \"%s\" in exclude "
			    "(address/prefix list)", n->url, tok);
			free(list);
			return -1;
		}
		/* the kernel takes no host bits in a rule's prefix */
		for (i = 0; i < sizeof(x->addr); i++) {
			size_t bits = (size_t)x->plen;
			size_t keep = bits > i * 8 ? bits - i * 8 : 0;

			if (keep < 8)
				x->addr[i] &= (unsigned char)(0xff00 >> keep);
		}
		t->nexcludes++;
	}
	free(list);
	return 0;
}

/*
 * A capture's own parameters: where the daemon answers DNS, and the
 * fake-IP range, which is routed into the device too.
 */
static int
build_capture(struct listener_conf *l, char *err, size_t errlen)
{
	struct node *n = l->node;
	struct tun_conf *t = &l->tun;
	struct route_conf *r;
	const char *v;

	if ((v = node_param(n, "dns_addr")) != NULL) {
		if (inet_prefix_parse(v, &t->dns) != 0 || strchr(v, '/')) {
			seterr(err, errlen, "%s: bad value \"%s\" for dns_addr "
			    "(an IP address)", n->url, v);
			return -1;
		}
		t->has_dns = 1;
	}
	if ((v = node_param(n, "sniff")) != NULL) {
		int b;

		if (param_bool_parse(v, &b) != 0) {
			seterr(err, errlen, "%s: bad value \"%s\" for sniff "
			    "(true or false)", n->url, v);
			return -1;
		}
		t->no_sniff = !b;
	}
	if ((v = node_param(n, "icmp")) != NULL) {
		if (strcmp(v, "local") == 0)
			t->icmp = CONF_ICMP_LOCAL;
		else if (strcmp(v, "direct") == 0)
			t->icmp = CONF_ICMP_DIRECT;
		else if (strcmp(v, "drop") == 0)
			t->icmp = CONF_ICMP_DROP;
		else {
			seterr(err, errlen, "%s: bad value \"%s\" for icmp "
			    "(local, direct or drop)", n->url, v);
			return -1;
		}
	}
	if ((v = node_param(n, "auto_route")) != NULL &&
	    param_bool_parse(v, &t->auto_route) != 0) {
		seterr(err, errlen, "%s: bad value \"%s\" for auto_route "
		    "(true or false)", n->url, v);
		return -1;
	}
	if (t->auto_route) {
		unsigned long tb = CONF_CAPTURE_TABLE;

		if (node_param_uint(n, "table", 1, 0xfffffeffUL, &tb, err,
		    errlen) < 0)
			return -1;
		if (tb == 253 || tb == 254 || tb == 255) {
			seterr(err, errlen, "%s: table=%lu is one of the "
			    "kernel's own", n->url, tb);
			return -1;
		}
		t->table = (uint32_t)tb;
		/* without routes: everything of the device's family */
		if (t->nroutes == 0) {
			if ((t->routes = calloc(1, sizeof(*t->routes))) ==
			    NULL)
				return -1;
			t->routes[0].dst.family = t->net.family;
			t->nroutes = 1;
		}
	} else if (node_param(n, "table") != NULL) {
		seterr(err, errlen, "%s: table needs auto_route=true",
		    n->url);
		return -1;
	}
	if ((v = node_param(n, "exclude")) != NULL &&
	    build_excludes(n, t, v, err, errlen) != 0)
		return -1;
	if ((v = node_param(n, "fake_ip")) == NULL)
		goto tables;
	if (inet_prefix_parse(v, &t->fake) != 0 || !strchr(v, '/') ||
	    t->fake.family != AF_INET || t->fake.plen < 8 ||
	    t->fake.plen > 30) {
		seterr(err, errlen, "%s: bad value \"%s\" for fake_ip (an "
		    "IPv4 network from /8 to /30, e.g. 198.18.0.0/15)", n->url,
		    v);
		return -1;
	}
	if (!t->has_dns) {
		seterr(err, errlen, "%s: fake_ip needs dns_addr: the names "
		    "come from the daemon's DNS answers", n->url);
		return -1;
	}
	t->has_fake = 1;
	if (t->nroutes >= CONF_MAX_ROUTES) {
		seterr(err, errlen, "%s: more than %d routes", n->url,
		    CONF_MAX_ROUTES);
		return -1;
	}
	if ((r = reallocarray(t->routes, t->nroutes + 1, sizeof(*r))) == NULL)
		return -1;
	t->routes = r;
	r = &t->routes[t->nroutes++];
	memset(r, 0, sizeof(*r));
	r->dst = t->fake;
 tables:
	if (t->auto_route) {
		size_t i;

		for (i = 0; i < t->nroutes; i++)
			t->routes[i].table = t->table;
	}
	return 0;
}

static int
build_lis_tun(struct conf *c, struct listener_conf *l, char *err,
    size_t errlen)
{
	struct node *n = l->node;
	const char *v;
	int b;

	if (build_tun(l, c->nlis - 1, l->kind == LIS_TAP, err, errlen) != 0)
		return -1;
	if ((v = node_param(n, "tcp")) != NULL) {
		if (param_bool_parse(v, &b) != 0) {
			seterr(err, errlen, "%s: bad value \"%s\" for tcp (true "
			    "or false)", n->url, v);
			return -1;
		}
		if (b) {
			l->tun.tcp = 1;
			l->socktype = n->nremotes > 0 ? 0 : SOCK_STREAM;
		}
	}
	if ((v = node_param(n, "capture")) != NULL) {
		if (param_bool_parse(v, &b) != 0) {
			seterr(err, errlen, "%s: bad value \"%s\" for capture "
			    "(true or false)", n->url, v);
			return -1;
		}
		if (b && l->kind == LIS_TAP) {
			seterr(err, errlen, "%s: capture needs a tun device, "
			    "not tap", n->url);
			return -1;
		}
		if (b && l->tun.tcp) {
			seterr(err, errlen, "%s: a capture has no peer to "
			    "reach over fake TCP (tcp=true)", n->url);
			return -1;
		}
		if (b && n->nremotes > 0) {
			seterr(err, errlen, "%s: a capture has no peer: its "
			    "flows go where the routing rules say", n->url);
			return -1;
		}
		if (b) {
			/* no socket: the device is the inbound */
			l->kind = LIS_CAPTURE;
			l->socktype = 0;
			l->tun.capture = 1;
			return build_capture(l, err, errlen);
		}
	}
	if (node_param(n, "dns_addr") != NULL ||
	    node_param(n, "fake_ip") != NULL ||
	    node_param(n, "sniff") != NULL ||
	    node_param(n, "icmp") != NULL ||
	    node_param(n, "exclude") != NULL) {
		seterr(err, errlen, "%s: dns_addr, fake_ip, sniff, icmp and "
		    "exclude belong to a capture (capture=true)", n->url);
		return -1;
	}
	if (n->nremotes == 1 && (build_targets(l, err, errlen) != 0 ||
	    l->targetnames[0] != NULL)) {
		if (l->targetnames != NULL && l->targetnames[0] != NULL)
			seterr(err, errlen, "%s: the peer must be an IP "
			    "address", n->url);
		return -1;
	}
	return 0;
}

/* OSTP parameters (spec/ostp.md §4, §6). */
static const char *const ostp_lis_params[] = {
	"timeout", "bypass", "hosts", "whitelist", "blacklist", "prefer",
	"dns", "mtu", "max_sessions", "max_sessions_key", "max_flows",
	"local_access", "tcp", "path", "cert", "key", "handshake_rate",
	"keys", "name", "fallback", "stats", NULL
};

void
ostp_conf_free(struct ostp_conf *oc)
{
	size_t i;

	if (oc == NULL)
		return;
	for (i = 0; i < oc->nkeys; i++) {
		if (oc->keys[i].key != NULL)
			explicit_bzero(oc->keys[i].key,
			    strlen(oc->keys[i].key));
		free(oc->keys[i].key);
		free(oc->keys[i].name);
	}
	free(oc->keys);
	free(oc->keys_path);
	free(oc->stats_path);
	free(oc->path);
	free(oc->sni);
	free(oc->ca);
	free(oc->turn_user);
	free(oc->turn_name);
	free(oc->stun_name);
	free(oc->fallback_host);
	if (oc->turn_pass != NULL)
		explicit_bzero(oc->turn_pass, strlen(oc->turn_pass));
	free(oc->turn_pass);
	free(oc);
}

struct ostp_conf *
ostp_conf_dup(const struct ostp_conf *oc)
{
	struct ostp_conf *d;
	size_t i;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	*d = *oc;
	d->keys = NULL;
	d->nkeys = 0;
	d->keys_path = NULL;
	d->stats_path = NULL;
	d->path = NULL;
	d->sni = NULL;
	d->ca = NULL;
	d->turn_user = d->turn_pass = NULL;
	d->turn_name = d->stun_name = NULL;
	d->fallback_host = NULL;
	if ((oc->ca != NULL && (d->ca = strdup(oc->ca)) == NULL) ||
	    (oc->fallback_host != NULL &&
	    (d->fallback_host = strdup(oc->fallback_host)) == NULL) ||
	    (oc->turn_user != NULL &&
	    (d->turn_user = strdup(oc->turn_user)) == NULL) ||
	    (oc->turn_name != NULL &&
	    (d->turn_name = strdup(oc->turn_name)) == NULL) ||
	    (oc->stun_name != NULL &&
	    (d->stun_name = strdup(oc->stun_name)) == NULL) ||
	    (oc->turn_pass != NULL &&
	    (d->turn_pass = strdup(oc->turn_pass)) == NULL) ||
	    (oc->path != NULL && (d->path = strdup(oc->path)) == NULL) ||
	    (oc->sni != NULL && (d->sni = strdup(oc->sni)) == NULL) ||
	    (oc->keys_path != NULL &&
	    (d->keys_path = strdup(oc->keys_path)) == NULL) ||
	    (oc->stats_path != NULL &&
	    (d->stats_path = strdup(oc->stats_path)) == NULL) ||
	    (oc->nkeys > 0 && (d->keys = calloc(oc->nkeys,
	    sizeof(*d->keys))) == NULL))
		goto fail;
	for (i = 0; i < oc->nkeys; i++, d->nkeys++) {
		d->keys[i].limit_bytes = oc->keys[i].limit_bytes;
		d->keys[i].from_file = oc->keys[i].from_file;
		if ((d->keys[i].key = strdup(oc->keys[i].key)) == NULL ||
		    (oc->keys[i].name != NULL && (d->keys[i].name =
		    strdup(oc->keys[i].name)) == NULL)) {
			d->nkeys++;
			goto fail;
		}
	}
	return d;
 fail:
	ostp_conf_free(d);
	return NULL;
}

/*
 * An access key as a URL's user information gives it: the string as
 * written (ostp://KEY@host:port; a ':' in it splits user and password,
 * which are joined again).  Printable, at most 512 bytes.
 */
static int
ostp_key_from_node(const struct node *n, char **keyp, char *err,
    size_t errlen)
{
	char *k;
	size_t i;

	*keyp = NULL;
	if (n->user == NULL || n->user[0] == '\0') {
		seterr(err, errlen, "%s: OSTP needs an access key "
		    "(ostp://KEY@host:port; make one with ostp-keygen)",
		    n->url);
		return -1;
	}
	if (asprintf(&k, "%s%s%s", n->user, n->pass != NULL ? ":" : "",
	    n->pass != NULL ? n->pass : "") == -1) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; k[i] != '\0'; i++)
		if ((unsigned char)k[i] < 0x20 || k[i] == 0x7f)
			break;
	if (k[i] != '\0' || i > 512) {
		explicit_bzero(k, strlen(k));
		free(k);
		seterr(err, errlen, "%s: the access key must be printable "
		    "and at most 512 bytes", n->url);
		return -1;
	}
	*keyp = k;
	return 0;
}

/* The share link's truthy values (spec/ostp.md §4.1). */
static int
ostp_truthy(const char *s)
{
	return strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0 ||
	    strcasecmp(s, "yes") == 0;
}

/*
 * What a server and a client both take: the key, mtu.  A server's URL
 * may leave the key out (its keys come from keys= or access_keys).
 */
static struct ostp_conf *
build_ostp_common(const struct node *n, int server, char *err,
    size_t errlen)
{
	struct ostp_conf *oc;
	unsigned long v;
	char *key = NULL;

	if ((!server || (n->user != NULL && n->user[0] != '\0')) &&
	    ostp_key_from_node(n, &key, err, errlen) != 0)
		return NULL;
	if ((oc = calloc(1, sizeof(*oc))) == NULL ||
	    (oc->keys = calloc(1, sizeof(*oc->keys))) == NULL) {
		free(oc);
		if (key != NULL)
			explicit_bzero(key, strlen(key));
		free(key);
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	if (key != NULL) {
		oc->keys[0].key = key;
		oc->nkeys = 1;
	}
	oc->version = 5;
	oc->sessions = 1;
	v = server ? OSTP_CONF_MTU_SERVER : OSTP_CONF_MTU_CLIENT;
	/* a datagram carries mtu bytes at most; 64 KiB is UDP's own bound */
	if (node_param_uint(n, "mtu", 576, 65000, &v, err, errlen) < 0)
		goto fail;
	oc->mtu = (unsigned int)v;
	return oc;
 fail:
	ostp_conf_free(oc);
	return NULL;
}

/* Append copies of the keys of src (from_file as given) to oc. */
static int
ostp_keys_append(struct ostp_conf *oc, const struct ostp_key_conf *src,
    size_t n, int from_file)
{
	struct ostp_key_conf *nk;
	size_t i;

	if (n == 0)
		return 0;
	if ((nk = reallocarray(oc->keys, oc->nkeys + n, sizeof(*nk))) == NULL)
		return -1;
	oc->keys = nk;
	for (i = 0; i < n; i++) {
		nk = &oc->keys[oc->nkeys];
		memset(nk, 0, sizeof(*nk));
		if ((nk->key = strdup(src[i].key)) == NULL)
			return -1;
		oc->nkeys++;
		if (src[i].name != NULL &&
		    (nk->name = strdup(src[i].name)) == NULL)
			return -1;
		nk->limit_bytes = src[i].limit_bytes;
		nk->from_file = from_file;
	}
	return 0;
}

/*
 * stats=FILE: the keys' byte counters, which the monitor writes there
 * every 30 s, on SIGHUP and at exit, and reads at start (spec §6's
 * .ostp_stats.json).  Made absolute: the monitor keeps writing it
 * whatever its directory.
 */
static int
ostp_stats_param(struct node *n, struct ostp_conf *oc, char *err,
    size_t errlen)
{
	const char *v;
	char cwd[PATH_MAX], *abs;
	int r;

	if ((v = node_param(n, "stats")) == NULL)
		return 0;
	if (v[0] == '\0' || v[strlen(v) - 1] == '/') {
		seterr(err, errlen, "%s: stats= needs a file", n->url);
		return -1;
	}
	if (v[0] != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL ||
		    asprintf(&abs, "%s/%s", cwd, v) == -1) {
			seterr(err, errlen, "%s: stats=%s: %s", n->url, v,
			    strerror(errno));
			return -1;
		}
		r = node_param_replace(n, "stats", abs);
		free(abs);
		if (r != 0) {
			seterr(err, errlen, "out of memory");
			return -1;
		}
		v = node_param(n, "stats");
	}
	if ((oc->stats_path = strdup(v)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * A server's keys: its URL's, the inline ones of a JSON inbound, then
 * those of the keys= file (spec/ostp.md §4.3, §6).  The monitor reads
 * the file; a worker's copy takes what the monitor read (file_keys).
 */
static int
build_ostp_keys(struct conf *c, struct node *n, struct ostp_conf *oc,
    char *err, size_t errlen)
{
	const struct ostp_conf *x = lis_ostp_extra;
	struct ostp_key_conf *fk = NULL;
	const char *v;
	char *abs, *data, e[400];
	size_t i, nfk = 0, len, a, b;
	int kind, r;

	if ((v = node_param(n, "name")) != NULL) {
		if (oc->nkeys == 0 || v[0] == '\0') {
			seterr(err, errlen, "%s: name= names the URL's key "
			    "(ostp://KEY@:port?name=NAME)", n->url);
			return -1;
		}
		if ((oc->keys[0].name = strdup(v)) == NULL)
			goto oom;
	}
	for (i = 0; x != NULL && i < x->nkeys; i++)
		if (!x->keys[i].from_file &&
		    ostp_keys_append(oc, &x->keys[i], 1, 0) != 0)
			goto oom;
	if ((v = node_param(n, "keys")) != NULL) {
		if (v[0] == '\0') {
			seterr(err, errlen, "%s: keys= needs a file", n->url);
			return -1;
		}
		/* absolute: the monitor reads it again on reload */
		if (!files_checked && v[0] != '/') {
			if ((abs = realpath(v, NULL)) == NULL) {
				seterr(err, errlen, "%s: keys file %s: %s",
				    n->url, v, strerror(errno));
				return -1;
			}
			r = node_param_replace(n, "keys", abs);
			free(abs);
			if (r != 0)
				goto oom;
			v = node_param(n, "keys");
		}
		if ((oc->keys_path = strdup(v)) == NULL ||
		    conf_add_file(c, v) != 0)
			goto oom;
		if (files_checked) {
			for (i = 0; x != NULL && i < x->nkeys; i++)
				if (x->keys[i].from_file &&
				    ostp_keys_append(oc, &x->keys[i], 1, 1) !=
				    0)
					goto oom;
		} else {
			if ((data = conf_read_file(v, &len, e,
			    sizeof(e))) == NULL) {
				seterr(err, errlen, "%s: keys file %s", n->url,
				    e);
				return -1;
			}
			if (ostp_keys_parse(data, len, v, &fk, &nfk, err,
			    errlen) != 0) {
				explicit_bzero(data, len);
				free(data);
				return -1;
			}
			explicit_bzero(data, len);
			free(data);
			r = ostp_keys_append(oc, fk, nfk, 1);
			ostp_keys_free(fk, nfk);
			if (r != 0)
				goto oom;
		}
	} else {
		for (i = 0; x != NULL && i < x->nkeys; i++)
			if (x->keys[i].from_file) {
				seterr(err, errlen, "%s: file_keys without a "
				    "keys file (keys=)", n->url);
				return -1;
			}
	}
	if (oc->nkeys == 0) {
		seterr(err, errlen, "%s: OSTP needs an access key "
		    "(ostp://KEY@:port, keys=FILE or access_keys; make one "
		    "with ostp-keygen)", n->url);
		return -1;
	}
	if ((kind = ostp_keys_dup(oc->keys, oc->nkeys, &a, &b)) != 0) {
		const char *where = oc->keys[b].from_file ? oc->keys_path :
		    "the configuration";

		if (kind == 1)
			seterr(err, errlen, "%s: an access key is given twice "
			    "(the second time in %s)", n->url, where);
		else
			seterr(err, errlen, "%s: the key name \"%s\" is given "
			    "twice (the second time in %s)", n->url,
			    oc->keys[b].name, where);
		return -1;
	}
	return 0;
 oom:
	seterr(err, errlen, "out of memory");
	return -1;
}

static int
build_lis_ostp(struct conf *c, struct listener_conf *l, char *err,
    size_t errlen)
{
	struct node *n = l->node;
	struct ostp_conf *oc;
	unsigned long v;
	const char *s;

	if (n->nremotes > 0) {
		seterr(err, errlen, "%s: ostp:// takes no forward target "
		    "(its clients name their targets)", n->url);
		return -1;
	}
	if ((oc = build_ostp_common(n, 1, err, errlen)) == NULL)
		return -1;
	l->ostp = oc;
	if (build_ostp_keys(c, n, oc, err, errlen) != 0)
		return -1;
	/* spec/ostp.md §6's limits are the defaults */
	v = 1024;
	if (node_param_uint(n, "max_sessions", 1, 1000000, &v, err,
	    errlen) < 0)
		return -1;
	oc->max_sessions = (unsigned int)v;
	v = 32;
	if (node_param_uint(n, "max_sessions_key", 1, 1000000, &v, err,
	    errlen) < 0)
		return -1;
	oc->max_sessions_key = (unsigned int)v;
	v = 4096;
	if (node_param_uint(n, "max_flows", 1, 1000000, &v, err,
	    errlen) < 0)
		return -1;
	oc->max_flows_key = (unsigned int)v;
	v = 100;
	if (node_param_uint(n, "handshake_rate", 1, 1000000, &v, err,
	    errlen) < 0)
		return -1;
	oc->hs_rate = (unsigned int)v;
	if ((s = node_param(n, "local_access")) != NULL)
		(void)param_bool_parse(s, &oc->local_access);
	if (ostp_stats_param(n, oc, err, errlen) != 0)
		return -1;
	/* fallback=host:port: the decoy splices to it (§2.13) */
	if ((s = node_param(n, "fallback")) != NULL &&
	    parse_hostport(s, &oc->fallback_host, &oc->fallback_port) != 0) {
		seterr(err, errlen, "%s: fallback=%s: give host:port of the "
		    "web server the decoy connections go to", n->url, s);
		return -1;
	}
	/*
	 * cert= and key=: the TCP carrier serves TLS too, to a connection
	 * that opens with a ClientHello (spec §2.13); the key stays in the
	 * monitor.  Without them a ClientHello gets the decoy's silence.
	 */
	l->tp.cert = node_param(n, "cert");
	l->tp.key = node_param(n, "key");
	if ((l->tp.cert == NULL) != (l->tp.key == NULL)) {
		seterr(err, errlen, "%s: %s= needs %s= too", n->url,
		    l->tp.cert != NULL ? "cert" : "key",
		    l->tp.cert != NULL ? "key" : "cert");
		return -1;
	}
	if (l->tp.cert != NULL &&
	    (check_pem(n->url, "cert", l->tp.cert, 0, NULL, err, errlen) != 0 ||
	    check_pem(n->url, "key", l->tp.key, 1, l->tp.cert, err,
	    errlen) != 0))
		return -1;
	if (l->tp.cert != NULL && l->socktype == SOCK_STREAM)
		l->tp.sniff = 1;
	else
		l->tp.cert = l->tp.key = NULL;
	return build_dialer(c, l, err, errlen);
}

/*
 * A client node: ostp://KEY@host:port?type=udp&mtu=...&mux=N, the
 * share link of spec/ostp.md §4.1.
 */

/* An address parameter of the client: a literal IP and a port. */
static int
ostp_param_addr(const struct node *n, const char *name,
    struct sockaddr_storage *ss, socklen_t *len, char **hname,
    uint16_t *hport, char *err, size_t errlen)
{
	const char *s;
	char *host = NULL;
	uint16_t port;

	*hname = NULL;
	if ((s = node_param(n, name)) == NULL)
		return 0;
	if (parse_hostport(s, &host, &port) != 0 || host[0] == '\0' ||
	    port == 0) {
		free(host);
		seterr(err, errlen, "%s: %s=%s: give a host and a port "
		    "(e.g. 192.0.2.7:3478 or stun.example.org:3478)", n->url,
		    name, s);
		return -1;
	}
	if (host_to_sockaddr(host, port, 0, ss, len) != 0) {
		/* a name: the tunnel resolves it at each attempt */
		if (strspn(host, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") != strlen(host) ||
		    strlen(host) > 253 || host[0] == '.' || host[0] == '-') {
			free(host);
			seterr(err, errlen, "%s: %s=%s: not a host name or IP "
			    "address", n->url, name, s);
			return -1;
		}
		memset(ss, 0, sizeof(*ss));
		*len = 0;
		*hname = host;
		*hport = port;
		return 0;
	}
	free(host);
	return 0;
}

/* A range "min-max" (or one number) within lo..hi. */
static int
ostp_param_range(const struct node *n, const char *name, unsigned int lo,
    unsigned int hi, unsigned int out[2], char *err, size_t errlen)
{
	const char *s;
	unsigned long a, b;
	char *ep;

	if ((s = node_param(n, name)) == NULL)
		return 0;
	errno = 0;
	a = strtoul(s, &ep, 10);
	b = a;
	if (ep != s && *ep == '-')
		b = strtoul(ep + 1, &ep, 10);
	if (!isdigit((unsigned char)s[0]) || *ep != '\0' || errno != 0 ||
	    a < lo || b > hi || a > b) {
		seterr(err, errlen, "%s: %s=%s: give MIN-MAX from %u to %u",
		    n->url, name, s, lo, hi);
		return -1;
	}
	out[0] = (unsigned int)a;
	out[1] = (unsigned int)b;
	return 0;
}

/*
 * junk_pc=, junk_ps=, tcp_fragmentation=, frag_chunk=, frag_sleep=
 * (§2.12): the plain UoT carrier's, refused for any other.
 */
static int
ostp_hop_obfs(const struct node *n, struct ostp_conf *oc, char *err,
    size_t errlen)
{
	unsigned long v;
	const char *s;
	static const char *const names[] = { "tcp_fragmentation",
	    "frag_chunk", "frag_sleep", "junk_pc", "junk_ps", NULL };
	size_t i;

	oc->junk_pc[0] = 2;
	oc->junk_pc[1] = 5;
	oc->junk_ps[0] = 100;
	oc->junk_ps[1] = 1000;
	oc->frag_chunk = 2;
	oc->frag_sleep = 2;
	for (i = 0; names[i] != NULL; i++)
		if (node_param(n, names[i]) != NULL &&
		    (!oc->uot || oc->tls || oc->path != NULL)) {
			seterr(err, errlen, "%s: %s= needs the plain UoT "
			    "carrier (type=uot, without tls or path)", n->url,
			    names[i]);
			return -1;
		}
	/* a junk frame over 1400 bytes would not classify as UoT */
	if (ostp_param_range(n, "junk_pc", 0, 64, oc->junk_pc, err,
	    errlen) != 0 || ostp_param_range(n, "junk_ps", 4, 1400,
	    oc->junk_ps, err, errlen) != 0)
		return -1;
	if ((s = node_param(n, "tcp_fragmentation")) != NULL &&
	    ostp_truthy(s))
		oc->frag = 1;
	v = oc->frag_chunk;
	if (node_param(n, "frag_chunk") != NULL &&
	    node_param_uint(n, "frag_chunk", 1, 1400, &v, err, errlen) < 0)
		return -1;
	oc->frag_chunk = (unsigned int)v;
	v = oc->frag_sleep;
	if (node_param(n, "frag_sleep") != NULL &&
	    node_param_uint(n, "frag_sleep", 0, 1000, &v, err, errlen) < 0)
		return -1;
	oc->frag_sleep = (unsigned int)v;
	return 0;
}

/*
 * ttl_desync=, ttl_desync_ttl=, ttl_desync_count=, ttl_desync_auto=
 * (§2.12): decoys before the handshake, on the plain UDP carrier only
 * (a TURN relay would carry them to the server).
 */
static int
ostp_hop_desync(const struct node *n, struct ostp_conf *oc, char *err,
    size_t errlen)
{
	static const char *const names[] = { "ttl_desync_ttl",
	    "ttl_desync_count", "ttl_desync_auto", NULL };
	const char *s;
	unsigned long v;
	size_t i;
	int b;

	oc->ttl_desync_ttl = 8;
	oc->ttl_desync_count = 2;
	oc->ttl_desync_auto = 1;
	if ((s = node_param(n, "ttl_desync")) != NULL) {
		if (param_bool_parse(s, &b) != 0) {
			seterr(err, errlen, "%s: ttl_desync=%s: give true or "
			    "false", n->url, s);
			return -1;
		}
		oc->ttl_desync = b;
	}
	for (i = 0; names[i] != NULL; i++)
		if (node_param(n, names[i]) != NULL && !oc->ttl_desync) {
			seterr(err, errlen, "%s: %s= needs ttl_desync=true",
			    n->url, names[i]);
			return -1;
		}
	if (!oc->ttl_desync)
		return 0;
	if (oc->uot || OSTP_HAS_TURN(oc)) {
		seterr(err, errlen, "%s: ttl_desync= needs the UDP carrier "
		    "(type=udp) without turn=", n->url);
		return -1;
	}
	v = oc->ttl_desync_ttl;
	if (node_param(n, "ttl_desync_ttl") != NULL &&
	    node_param_uint(n, "ttl_desync_ttl", 1, 255, &v, err, errlen) < 0)
		return -1;
	oc->ttl_desync_ttl = (unsigned int)v;
	v = oc->ttl_desync_count;
	if (node_param(n, "ttl_desync_count") != NULL &&
	    node_param_uint(n, "ttl_desync_count", 1, 16, &v, err,
	    errlen) < 0)
		return -1;
	oc->ttl_desync_count = (unsigned int)v;
	if ((s = node_param(n, "ttl_desync_auto")) != NULL) {
		if (param_bool_parse(s, &b) != 0) {
			seterr(err, errlen, "%s: ttl_desync_auto=%s: give true "
			    "or false", n->url, s);
			return -1;
		}
		oc->ttl_desync_auto = b;
	}
	return 0;
}

/* turn=, turn_user=, turn_pass=, stun= (UDP carrier only). */
static int
ostp_hop_stun_turn(const struct node *n, struct ostp_conf *oc, char *err,
    size_t errlen)
{
	const char *u = node_param(n, "turn_user");
	const char *pw = node_param(n, "turn_pass");

	if (ostp_param_addr(n, "turn", &oc->turn, &oc->turnlen,
	    &oc->turn_name, &oc->turn_port, err, errlen) != 0 ||
	    ostp_param_addr(n, "stun", &oc->stun, &oc->stunlen,
	    &oc->stun_name, &oc->stun_port, err, errlen) != 0)
		return -1;
	if ((OSTP_HAS_TURN(oc) || OSTP_HAS_STUN(oc)) && oc->uot) {
		seterr(err, errlen, "%s: turn= and stun= need the UDP carrier "
		    "(type=udp)", n->url);
		return -1;
	}
	if (!OSTP_HAS_TURN(oc)) {
		if (u != NULL || pw != NULL) {
			seterr(err, errlen, "%s: turn_user= and turn_pass= "
			    "need turn=", n->url);
			return -1;
		}
		return 0;
	}
	if (u == NULL || pw == NULL || u[0] == '\0' || strlen(u) > 512) {
		seterr(err, errlen, "%s: turn= needs turn_user= (1 to 512 "
		    "bytes) and turn_pass=", n->url);
		return -1;
	}
	if ((oc->turn_user = strdup(u)) == NULL ||
	    (oc->turn_pass = strdup(pw)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int
build_hop_ostp(struct hop_conf *h, char *err, size_t errlen)
{
	const struct node *n = h->node;
	unsigned long v = 1;
	const char *s;

	if ((h->ostp = build_ostp_common(n, 0, err, errlen)) == NULL)
		return -1;
	/* a flow waits for its ConnectOk 15 s, as upstream's local proxy */
	if (node_param(n, "timeout") == NULL)
		h->timeout_ms = 15000;
	/* the share link's "sessions" is our mux */
	if (node_param(n, "sessions") != NULL &&
	    node_param_uint(n, "sessions", 1, 64, &v, err, errlen) < 0)
		return -1;
	/* type tcp and http are uot; a path or TLS forces it (§4.1) */
	if ((s = node_param(n, "type")) != NULL && strcmp(s, "udp") != 0)
		h->ostp->uot = 1;
	if ((s = node_param(n, "path")) != NULL) {
		if (s[0] != '/' || strlen(s) > 1024 ||
		    strpbrk(s, " \r\n\t") != NULL) {
			seterr(err, errlen, "%s: path must be an absolute "
			    "request path (e.g. /secret-path)", n->url);
			return -1;
		}
		if ((h->ostp->path = strdup(s)) == NULL) {
			seterr(err, errlen, "out of memory");
			return -1;
		}
		h->ostp->uot = 1;
	}
	if ((s = node_param(n, "tls")) != NULL && ostp_truthy(s))
		h->ostp->tls = h->ostp->uot = 1;
	if ((s = node_param(n, "insecure")) != NULL && ostp_truthy(s))
		h->ostp->insecure = 1;
	if ((s = node_param(n, "ca")) != NULL && (s[0] != '/' ||
	    (h->ostp->ca = strdup(s)) == NULL)) {
		seterr(err, errlen, "%s: ca must be an absolute path", n->url);
		return -1;
	}
	if ((s = node_param(n, "sni")) != NULL && s[0] != '\0' &&
	    (h->ostp->sni = strdup(s)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	if (ostp_hop_stun_turn(n, h->ostp, err, errlen) != 0 ||
	    ostp_hop_obfs(n, h->ostp, err, errlen) != 0 ||
	    ostp_hop_desync(n, h->ostp, err, errlen) != 0)
		return -1;
	if ((s = node_param(n, "tun")) != NULL && ostp_truthy(s)) {
		seterr(err, errlen, "%s: tun=%s: capture needs a tun inbound, "
		    "which this build does not have", n->url, s);
		return -1;
	}
	if (node_param(n, "mux") != NULL &&
	    node_param_uint(n, "mux", 1, 64, &v, err, errlen) < 0)
		return -1;
	h->ostp->sessions = (unsigned int)v;
	return 0;
}

/*
 * What carries a node: plain TCP, a stream transport this build has
 * layers for (TLS, WebSocket, ...), datagrams, or its own tun/tap
 * device.
 */
#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define CARRY_TCP	0x01
#define CARRY_LAYER	0x02
#define CARRY_UDP	0x04
#define CARRY_DEV	0x08
#define CARRY_OTHER	0x10
#define CARRY_STREAM	(CARRY_TCP | CARRY_LAYER)
#define CARRY_ANY	0xff

static unsigned int
node_carry(const struct node *n)
{
	if (strcmp(n->transport, "tcp") == 0)
		return CARRY_TCP;
	if (stream_tp(n))
		return CARRY_LAYER;
	if (strcmp(n->transport, "udp") == 0)
		return CARRY_UDP;
	if ((strcmp(n->proto, "tun") == 0 || strcmp(n->proto, "tap") == 0) &&
	    strcmp(n->transport, n->proto) == 0)
		return CARRY_DEV;
	return CARRY_OTHER;
}

enum remotes { REM_ANY, REM_NONE, REM_SOME };

/*
 * The schemes: for each protocol (as node_parse normalises it), the
 * handler a listener runs and the connector a chain node speaks, what
 * may carry each, and the parameters it takes.  The first row whose
 * protocol, carrier and forward targets fit a listener's node is its
 * handler; gost's auto is a TCP forward with targets, else a proxy.
 */
static const struct scheme {
	const char		*proto;
	int			 lis;		/* listener kind, -1: none */
	unsigned int		 lis_carry;
	enum remotes		 remotes;
	int			 socktype;
	int			 userinfo;	/* user:pass@ is its own */
	unsigned int		 accept;	/* proxy: protocols served */
	int			 ttl;		/* datagram sessions */
	int			(*build)(struct conf *, struct listener_conf *,
				    char *, size_t);
	const char *const	*params;
	int			 hop;		/* hop kind, -1: none */
	unsigned int		 hop_carry;
} schemes[] = {
	{ "tcp", LIS_TCP_FORWARD, CARRY_STREAM, REM_ANY, SOCK_STREAM, 0, 0, 0,
	    build_lis_forward, tcp_params, -1, 0 },
	{ "auto", LIS_TCP_FORWARD, CARRY_STREAM, REM_SOME, SOCK_STREAM, 0, 0,
	    0, build_lis_forward, tcp_params, HOP_HTTP, CARRY_STREAM },
	{ "auto", LIS_PROXY, CARRY_STREAM, REM_NONE, SOCK_STREAM, 1,
	    PROXY_SOCKS5 | PROXY_SOCKS4 | PROXY_SOCKS4A | PROXY_HTTP, 0,
	    build_proxy, proxy_params, HOP_HTTP, CARRY_STREAM },
	{ "socks5", LIS_PROXY, CARRY_STREAM, REM_NONE, SOCK_STREAM, 1,
	    PROXY_SOCKS5, 0, build_proxy, proxy_params, HOP_SOCKS5,
	    CARRY_STREAM },
	/* a socks4 listener takes the 4a form too (gost, rustun) */
	{ "socks4", LIS_PROXY, CARRY_STREAM, REM_NONE, SOCK_STREAM, 1,
	    PROXY_SOCKS4 | PROXY_SOCKS4A, 0, build_proxy, proxy_params,
	    HOP_SOCKS4, CARRY_STREAM },
	{ "socks4a", LIS_PROXY, CARRY_STREAM, REM_NONE, SOCK_STREAM, 1,
	    PROXY_SOCKS4 | PROXY_SOCKS4A, 0, build_proxy, proxy_params,
	    HOP_SOCKS4A, CARRY_STREAM },
	{ "http", LIS_PROXY, CARRY_STREAM, REM_NONE, SOCK_STREAM, 1,
	    PROXY_HTTP, 0, build_proxy, proxy_params, HOP_HTTP,
	    CARRY_STREAM },
	/* gost's http2: the HTTP proxy on HTTP/2 streams (and HTTP/1.1) */
	{ "http2", LIS_PROXY, CARRY_STREAM, REM_NONE, SOCK_STREAM, 1,
	    PROXY_HTTP, 0, build_proxy, proxy_params, HOP_HTTP2,
	    CARRY_STREAM },
	{ "relay", LIS_RELAY, CARRY_STREAM, REM_ANY, SOCK_STREAM, 1, 0, 0,
	    build_lis_relay, relay_params, HOP_RELAY, CARRY_STREAM },
	{ "ss", LIS_SS, CARRY_STREAM, REM_NONE, SOCK_STREAM, 1, 0, 0,
	    build_lis_ss, ss_params, HOP_SS, CARRY_STREAM },
	/*
	 * gost's ssu over a stream: UDP-over-TCP frames inside the cipher.
	 * (A chain node takes the first row of its protocol: both carriers.)
	 */
	{ "ssu", LIS_SS, CARRY_STREAM, REM_NONE, SOCK_STREAM, 1, 0, 0,
	    build_lis_ss, ss_params, HOP_SS, CARRY_STREAM | CARRY_UDP },
	{ "ssu", LIS_SSU, CARRY_ANY, REM_ANY, SOCK_DGRAM, 1, 0, 1,
	    build_lis_udp, udp_params, HOP_SS, CARRY_STREAM | CARRY_UDP },
	{ "udp", LIS_UDP_FORWARD, CARRY_ANY, REM_SOME, SOCK_DGRAM, 0, 0, 1,
	    build_lis_udp, udp_params, -1, 0 },
	{ "rtcp", LIS_RTCP, CARRY_ANY, REM_SOME, 0, 0, 0, 1,
	    build_lis_remote, udp_params, -1, 0 },
	{ "rudp", LIS_RUDP, CARRY_ANY, REM_SOME, 0, 0, 0, 1,
	    build_lis_remote, udp_params, -1, 0 },
	{ "red", LIS_REDIRECT, CARRY_TCP, REM_NONE, SOCK_STREAM, 0, 0, 0,
	    build_lis_dialer, ss_params, -1, 0 },
	{ "redirect", LIS_REDIRECT, CARRY_TCP, REM_NONE, SOCK_STREAM, 0, 0, 0,
	    build_lis_dialer, ss_params, -1, 0 },
	{ "redu", LIS_REDU, CARRY_ANY, REM_NONE, SOCK_DGRAM, 0, 0, 1,
	    build_lis_dialer, udp_params, -1, 0 },
	{ "redirectu", LIS_REDU, CARRY_ANY, REM_NONE, SOCK_DGRAM, 0, 0, 1,
	    build_lis_dialer, udp_params, -1, 0 },
	{ "sni", LIS_SNI, CARRY_TCP, REM_NONE, SOCK_STREAM, 0, 0, 0,
	    build_lis_sni, sni_params, -1, 0 },
	{ "dns", LIS_DNS, CARRY_ANY, REM_ANY, 0, 0, 0, 0,
	    build_dns, dnsl_params, -1, 0 },
	{ "ostp", LIS_OSTP, CARRY_UDP, REM_ANY, SOCK_DGRAM, 1, 0, 0,
	    build_lis_ostp, ostp_lis_params, HOP_OSTP, CARRY_UDP },
	/* its TCP carriers: UoT, HTTP upgrade, decoy (spec/ostp.md §2.13) */
	{ "ostp", LIS_OSTP, CARRY_TCP, REM_ANY, SOCK_STREAM, 1, 0, 0,
	    build_lis_ostp, ostp_lis_params, -1, 0 },
	{ "tun", LIS_TUN, CARRY_DEV, REM_ANY, 0, 0, 0, 0,
	    build_lis_tun, tun_params, -1, 0 },
	{ "tap", LIS_TAP, CARRY_DEV, REM_ANY, 0, 0, 0, 0,
	    build_lis_tun, tun_params, -1, 0 },
};

/*
 * The handler of a listener's node; NULL with why in err when none
 * fits: the protocol unknown here, its transport, or its targets.
 */
static const struct scheme *
scheme_listener(const struct node *n, char *err, size_t errlen)
{
	unsigned int carry = node_carry(n);
	int known = 0, carried = 0;
	size_t i;

	for (i = 0; i < nitems(schemes); i++) {
		const struct scheme *s = &schemes[i];

		if (s->lis < 0 || strcmp(s->proto, n->proto) != 0)
			continue;
		known = 1;
		if (!(s->lis_carry & carry))
			continue;
		carried = 1;
		if ((s->remotes == REM_NONE && n->nremotes > 0) ||
		    (s->remotes == REM_SOME && n->nremotes == 0))
			continue;
		return s;
	}
	if (!known || !carried)
		seterr(err, errlen, "%s: scheme %s is not supported in this "
		    "build", n->url, n->scheme);
	else if (n->nremotes == 0)
		seterr(err, errlen, "%s: %s:// needs a forward target "
		    "(%s://[host]:port/target:port)", n->url, n->proto,
		    n->proto);
	else
		seterr(err, errlen, "%s: %s:// takes no forward target",
		    n->url, n->proto);
	return NULL;
}

/* The row of a chain node's protocol; *carried: may its transport. */
static const struct scheme *
scheme_hop(const struct node *n, int *carried)
{
	size_t i;

	for (i = 0; i < nitems(schemes); i++)
		if (schemes[i].hop >= 0 &&
		    strcmp(schemes[i].proto, n->proto) == 0) {
			*carried = (schemes[i].hop_carry & node_carry(n)) != 0;
			return &schemes[i];
		}
	return NULL;
}

static int build_listener_one(struct conf *, const char *, const char *,
    char *, size_t);
static void listener_conf_free(struct listener_conf *);

/* gost's http2 protocol and transport exist only together (http2://). */
static int
http2_pair_ok(const struct node *n, char *err, size_t errlen)
{
	if ((strcmp(n->proto, "http2") == 0) ==
	    (strcmp(n->transport, "http2") == 0))
		return 0;
	seterr(err, errlen, "%s: %s+%s is not supported: the http2 protocol "
	    "runs only on the http2 transport (http2://)", n->url, n->proto,
	    n->transport);
	return -1;
}

/*
 * Port ranges (tcp://:8000-8010/host:9000-9010): one listener per port,
 * each forwarding to the port at the same offset of a target's range,
 * or to a target's single port.
 */
static int
build_listener(struct conf *c, const char *url, const char *tag, char *err,
    size_t errlen)
{
	const char *auth, *end, *colon, *p, *q, *rend, *item;
	char *one = NULL, tagbuf[CONF_TAG_MAX];
	uint16_t lo, hi, tlo, thi;
	size_t len, ilen, n, i, cap;
	FILE *f;
	int r = -1;

	auth = strstr(url, "://");
	auth = auth != NULL ? auth + 3 : url;
	end = auth + strcspn(auth, "/?");
	colon = NULL;
	for (p = auth; p < end; p++)
		if (*p == ':')
			colon = p;
	if (colon == NULL || port_range_parse(colon + 1,
	    (size_t)(end - colon - 1), &lo, &hi) != 0)
		return build_listener_one(c, url, tag, err, errlen);
	n = (size_t)(hi - lo) + 1;
	if (c->nlis + n > CONF_MAX_LISTENERS) {
		seterr(err, errlen, "%s: the port range makes more than %d "
		    "listeners", url, CONF_MAX_LISTENERS);
		return -1;
	}
	rend = *end == '/' ? end + 1 + strcspn(end + 1, "?") : end;
	for (i = 0; i < n; i++) {
		if ((f = open_memstream(&one, &cap)) == NULL)
			return -1;
		fprintf(f, "%.*s%u", (int)(colon + 1 - url), url,
		    (unsigned int)(lo + i));
		if (*end == '/') {
			fputc('/', f);
			q = end + 1;
			while (list_next(&q, &item, &ilen)) {
				const char *tc = NULL;

				if (q > rend || item + ilen > rend)
					break;
				for (p = item; p < item + ilen; p++)
					if (*p == ':')
						tc = p;
				if (q - 1 > end + 1 && item != end + 1)
					fputc(',', f);
				if (tc != NULL && port_range_parse(tc + 1,
				    (size_t)(item + ilen - tc - 1), &tlo,
				    &thi) == 0) {
					if ((size_t)(thi - tlo) + 1 != n) {
						fclose(f);
						seterr(err, errlen, "%s: target "
						    "range %.*s is not as long as "
						    "the listening range", url,
						    (int)ilen, item);
						goto out;
					}
					fprintf(f, "%.*s%u", (int)(tc + 1 -
					    item), item, (unsigned int)(tlo +
					    i));
				} else
					fprintf(f, "%.*s", (int)ilen, item);
			}
		}
		fputs(rend, f);
		if (fclose(f) != 0)
			goto out;
		if (tag != NULL)
			snprintf(tagbuf, sizeof(tagbuf), "%s-%u", tag,
			    (unsigned int)(lo + i));
		len = strlen(one);
		(void)len;
		if (build_listener_one(c, one, tag != NULL ? tagbuf : NULL,
		    err, errlen) != 0)
			goto out;
		free(one);
		one = NULL;
	}
	r = 0;
 out:
	free(one);
	return r;
}

static int param_false(const char *);

static int
build_listener_one(struct conf *c, const char *url, const char *tag,
    char *err, size_t errlen)
{
	const struct scheme *s;
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
	if (tag != NULL)
		snprintf(l->tag, sizeof(l->tag), "%s", tag);
	else
		snprintf(l->tag, sizeof(l->tag), "in%zu", c->nlis - 1);
	if (http2_pair_ok(n, err, errlen) != 0)
		return -1;

	if ((s = scheme_listener(n, err, errlen)) == NULL)
		return -1;
	l->kind = s->lis;
	l->socktype = s->socktype;
	l->accept = s->accept;
	if (s->ttl)
		l->ttl_ms = CONF_TTL_DEFAULT;
	if ((s->lis_carry == CARRY_STREAM &&
	    build_transport(n, &l->tp, 1, err, errlen) != 0) ||
	    node_param_duration(n, "timeout", &tmo, err, errlen) < 0 ||
	    node_param_duration(n, "ttl", &l->ttl_ms, err, errlen) < 0)
		return -1;
	l->timeout_ms = tmo;
	if (s->ttl && l->ttl_ms == 0)
		l->ttl_ms = CONF_TTL_DEFAULT;
	if (s->build(c, l, err, errlen) != 0 ||
	    params_check(n, s->params, err, errlen) != 0)
		return -1;
	if (n->port == 0 && !LIS_HAS_DEV(l->kind)) {
		seterr(err, errlen, "%s: bad port 0 (1-65535)", n->url);
		return -1;
	}
	if (n->user != NULL && !s->userinfo) {
		seterr(err, errlen, "%s: scheme %s takes no user information",
		    n->url, n->scheme);
		return -1;
	}
	/*
	 * A wildcard address is dual-stack IPv6, except for a tun/tap client
	 * with an IPv4 peer: its one socket must speak the peer's family.
	 */
	if (host_to_sockaddr(n->host, n->port, !(l->ntargets > 0 &&
	    (l->kind == LIS_TUN || l->kind == LIS_TAP) &&
	    l->targets[0].ss_family == AF_INET),
	    &l->addr, &l->addrlen) != 0) {
		seterr(err, errlen, "%s: listen address \"%s\" must be an IP "
		    "address, localhost or empty", n->url, n->host);
		return -1;
	}
	/*
	 * An OSTP server takes its TCP carriers on the same port (spec
	 * §2.13) unless tcp=false: a twin listener, which the workers make
	 * again from the same URL (the dump leaves it out).
	 */
	if (l->kind == LIS_OSTP && l->socktype == SOCK_DGRAM &&
	    !param_false(node_param(n, "tcp"))) {
		const char *rest = strstr(url, "://");
		char *twin;
		int r;

		if (rest == NULL || asprintf(&twin, "ostp+tcp%s", rest) == -1)
			return -1;
		r = build_listener_one(c, twin, NULL, err, errlen);
		free(twin);
		if (r != 0)
			return -1;
		c->lis[c->nlis - 1].twin = 1;
	}
	return 0;
}

/* A parameter given as false (absent: not false). */
static int
param_false(const char *v)
{
	int b;

	return v != NULL && param_bool_parse(v, &b) == 0 && !b;
}

/* The share link's own (spec/ostp.md §4.1); dns, owndns: tun mode's. */
static const char *const ostp_hop_params[] = {
	"timeout", "ip", "peer", "strategy", "max_fails", "fail_timeout",
	"bypass", "type", "tls", "sni", "insecure", "path", "tun", "dns",
	"owndns", "name", "mtu", "mux", "sessions", "ca", "turn",
	"turn_user", "turn_pass", "stun", "tcp_fragmentation", "frag_chunk",
	"frag_sleep", "junk_pc", "junk_ps", "ttl_desync", "ttl_desync_ttl",
	"ttl_desync_count", "ttl_desync_auto", NULL
};

static const char *const hop_params[] = {
	"timeout", "auth", "ip", "peer", "strategy", "max_fails",
	"fail_timeout", "bypass", "fastest_count", "nodelay", "mbind", "notls",
	NULL
};

/*
 * An ip= file: its form, and that every entry makes a member, so that
 * startup refuses what the worker would leave out.
 */
static int
check_ip_file(const struct hop_conf *h, const char *url, const char *path,
    char *err, size_t errlen)
{
	struct ip_list *ipl;
	struct hop_conf a;
	char *data, e[400];
	size_t len, i;
	int r = 0;

	if (files_checked)
		return 0;
	if ((data = conf_read_file(path, &len, e, sizeof(e))) == NULL) {
		seterr(err, errlen, "%s: ip file %s", url, e);
		return -1;
	}
	if (strlen(data) != len) {
		seterr(err, errlen, "%s: NUL byte in file", path);
		free(data);
		return -1;
	}
	if (ip_list_parse(data, len, path, &ipl, e, sizeof(e)) != 0) {
		seterr(err, errlen, "%s", e);
		free(data);
		return -1;
	}
	free(data);
	for (i = 0; i < ipl->n && r == 0; i++) {
		if ((r = conf_hop_alt(&a, h, ipl->addrs[i], e,
		    sizeof(e))) != 0)
			seterr(err, errlen, "%s: %s: %s", url, path, e);
		else
			conf_hop_free(&a);
	}
	ip_list_free(ipl);
	return r;
}

/*
 * Load balancing (gost's node groups): ip= members share everything
 * but the address; peer= names a file of more nodes; strategy,
 * max_fails and fail_timeout tune the choice.
 */
static int
hop_group_build(struct hop_conf *h, int first, const char *url, char *err,
    size_t errlen)
{
	const struct node *n = h->node;
	unsigned long ms = 30000;
	const char *v;
	char *list, *tok, *save;
	long mf = 1;
	char *ep;
	int r;

	h->strategy = STRATEGY_ROUND;
	if ((v = node_param(n, "strategy")) != NULL)
		h->strategy = strcmp(v, "random") == 0 ? STRATEGY_RANDOM :
		    strcmp(v, "fifo") == 0 ? STRATEGY_FIFO : STRATEGY_ROUND;
	if ((v = node_param(n, "max_fails")) != NULL) {
		mf = strtol(v, &ep, 10);
		if (*v == '\0' || *ep != '\0')
			mf = 1;		/* params_check names the mistake */
	}
	h->max_fails = (int)mf;
	if (node_param_duration(n, "fail_timeout", &ms, err, errlen) < 0)
		return -1;
	h->fail_timeout_ms = ms;
	{
		unsigned long fc = 0;

		if (node_param_uint(n, "fastest_count", 0, 1000, &fc, err,
		    errlen) < 0)
			return -1;
		h->fastest_count = (unsigned int)fc;
	}
	if ((v = node_param(n, "peer")) != NULL) {
		if (check_file(url, "peer", v, CF_PEERS, err, errlen) != 0)
			return -1;
		if ((h->peer_path = strdup(v)) == NULL)
			return -1;
	}
	if ((v = node_param(n, "ip")) == NULL)
		return 0;
	if ((r = conf_param_file(h->node, "ip", 0, &v)) == -1)
		return -1;
	if (r == 1) {
		/* members the worker reads, and reads again when it changes */
		if (check_ip_file(h, url, v, err, errlen) != 0 ||
		    (h->ip_path = strdup(v)) == NULL)
			return -1;
		return 0;
	}
	if ((list = strdup(v)) == NULL)
		return -1;
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		struct hop_conf *na;
		char e[300];

		if ((na = reallocarray(h->alts, h->nalts + 1,
		    sizeof(*na))) == NULL) {
			free(list);
			return -1;
		}
		h->alts = na;
		if (conf_hop_alt(&h->alts[h->nalts], h, tok, e,
		    sizeof(e)) != 0) {
			seterr(err, errlen, "%s: %s in ip=", url, e);
			free(list);
			return -1;
		}
		h->nalts++;
	}
	free(list);
	return 0;
}

int
conf_hop_alt(struct hop_conf *a, const struct hop_conf *h, const char *entry,
    char *err, size_t errlen)
{
	char buf[300], *host;
	uint16_t port;

	memset(a, 0, sizeof(*a));
	/* an entry without a port takes the node's */
	if (strchr(entry, ':') == NULL || (entry[0] == '[' &&
	    strstr(entry, "]:") == NULL))
		snprintf(buf, sizeof(buf), "%s:%u", entry, h->port);
	else
		snprintf(buf, sizeof(buf), "%s", entry);
	if (parse_hostport(buf, &host, &port) != 0 || host[0] == '\0') {
		seterr(err, errlen, "bad address \"%s\"", entry);
		return -1;
	}
	a->kind = h->kind;
	a->tp = h->tp;
	a->timeout_ms = h->timeout_ms;
	a->mbind = h->mbind;
	a->notls = h->notls;
	a->nodelay = h->nodelay;
	a->ss_method = h->ss_method;
	memcpy(a->ss_key, h->ss_key, sizeof(a->ss_key));
	if (h->ostp != NULL && (a->ostp = ostp_conf_dup(h->ostp)) == NULL) {
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	snprintf(a->host, sizeof(a->host), "%s", host);
	a->port = port;
	if ((h->user != NULL && (a->user = strdup(h->user)) == NULL) ||
	    (h->pass != NULL && (a->pass = strdup(h->pass)) == NULL)) {
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	/* a name is resolved at each dial, as the node's own */
	(void)host_to_sockaddr(host, port, 0, &a->addr, &a->addrlen);
	free(host);
	return 0;
 fail:
	free(host);
	conf_hop_free(a);
	return -1;
}

void
conf_hop_free(struct hop_conf *h)
{
	size_t i;

	for (i = 0; i < h->nalts; i++)
		conf_hop_free(&h->alts[i]);
	free(h->alts);
	free(h->peer_path);
	free(h->bypass_path);
	free(h->ip_path);
	matcher_set_free(h->bypass);
	node_free(h->node);
	free(h->user);
	if (h->pass != NULL)
		explicit_bzero(h->pass, strlen(h->pass));
	free(h->pass);
	explicit_bzero(h->ss_key, sizeof(h->ss_key));
	ostp_conf_free(h->ostp);
	memset(h, 0, sizeof(*h));
}

int
conf_hop_build(struct hop_conf *h, const char *url, int first, char *err,
    size_t errlen)
{
	const struct scheme *sc;
	struct node *n;
	unsigned long tmo = CONF_TIMEOUT_DEFAULT;
	const char *v;
	int carried;

	memset(h, 0, sizeof(*h));
	if (node_parse(url, &n, err, errlen) != 0)
		return -1;
	url = n->url;		/* messages show it with secrets masked */
	h->node = n;
	if (http2_pair_ok(n, err, errlen) != 0)
		goto fail;
	if ((sc = scheme_hop(n, &carried)) == NULL) {
		seterr(err, errlen, "%s: scheme %s is not supported for chain "
		    "nodes in this build", url, n->scheme);
		goto fail;
	}
	if (!carried) {
		seterr(err, errlen, "%s: transport %s is not supported for "
		    "chain nodes in this build", url, n->transport);
		goto fail;
	}
	h->kind = sc->hop;
	if (strcmp(n->transport, "udp") != 0 &&
	    build_transport(n, &h->tp, 0, err, errlen) != 0)
		goto fail;
	if (n->host[0] == '\0' || n->port == 0) {
		seterr(err, errlen, "%s: a chain node needs host:port", url);
		goto fail;
	}
	if (n->nremotes > 0) {
		seterr(err, errlen, "%s: a chain node takes no forward target",
		    url);
		goto fail;
	}
	if (node_param_duration(n, "timeout", &tmo, err, errlen) < 0)
		goto fail;
	h->timeout_ms = tmo;
	if (h->kind == HOP_SS) {
		if (build_ss_key(n, &h->ss_method, h->ss_key, err,
		    errlen) != 0)
			goto fail;
	} else if (h->kind == HOP_OSTP) {
		if (build_hop_ostp(h, err, errlen) != 0)
			goto fail;
	} else if (node_userpass(n, &h->user, &h->pass, err, errlen) != 0)
		goto fail;
	if (h->user != NULL && (h->kind == HOP_SOCKS4 ||
	    h->kind == HOP_SOCKS4A)) {
		seterr(err, errlen, "%s: SOCKS4 has no passwords", url);
		goto fail;
	}
	if (h->user != NULL && (strlen(h->user) > 255 ||
	    strlen(h->pass) > 255)) {
		seterr(err, errlen, "%s: user and password are limited to 255 "
		    "bytes", url);
		goto fail;
	}
	/*
	 * Later hops are reached through the earlier ones, by name; the
	 * first hop's name is resolved at each dial (addrlen 0).
	 */
	(void)first;
	(void)host_to_sockaddr(n->host, n->port, 0, &h->addr, &h->addrlen);
	snprintf(h->host, sizeof(h->host), "%s", n->host);
	h->port = n->port;
	if ((v = node_param(n, "bypass")) != NULL) {
		char e[400];

		const char *p;
		int r;

		/*
		 * On a chain node: where the chain stops (gost).  A file is
		 * live in the worker; its own "reverse" beats the '~'.
		 */
		if ((r = conf_param_file(n, "bypass", 1, &p)) == -1)
			goto fail;
		if (r == 1) {
			if (check_file(url, "bypass", p, CF_BYPASS, err,
			    errlen) != 0 ||
			    (h->bypass_path = strdup(p)) == NULL)
				goto fail;
		} else if (matcher_set_parse_list(v, &h->bypass, e,
		    sizeof(e)) != 0) {
			seterr(err, errlen, "%s: bypass: %s", url, e);
			goto fail;
		}
	}
	if ((v = node_param(n, "mbind")) != NULL)
		h->mbind = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
	if (h->mbind && h->kind != HOP_SOCKS5) {
		seterr(err, errlen, "%s: mbind is for socks5 nodes", url);
		goto fail;
	}
	if ((v = node_param(n, "notls")) != NULL)
		h->notls = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
	if ((v = node_param(n, "nodelay")) != NULL)
		h->nodelay = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
	if (hop_group_build(h, first, url, err, errlen) != 0)
		goto fail;
	if (h->kind == HOP_OSTP && !first) {
		seterr(err, errlen, "%s: an OSTP node must be the chain's first "
		    "(its datagrams leave this host)", url);
		goto fail;
	}
	if (params_check(n, h->kind == HOP_OSTP ? ostp_hop_params :
	    hop_params, err, errlen) != 0)
		goto fail;
	return 0;
 fail:
	conf_hop_free(h);
	return -1;
}

/*
 * -t and startup name every mistake they find, one line each: a
 * listener, chain node or route that fails adds its line to err and the
 * build goes on with the next; what failed is left out, so the checks
 * across listeners do not repeat the same mistake.
 */
void
conf_err_add(char *err, size_t errlen, size_t *nerr, const char *line)
{
	size_t len;

	if (errlen == 0)
		return;
	if (*nerr == 0)
		err[0] = '\0';
	len = strlen(err);
	if (len + 1 < errlen)
		snprintf(err + len, errlen - len, "%s%s", len > 0 ? "\n" : "",
		    line);
	(*nerr)++;
}

/* A listener URL (or port range) into c->lis, or one line in err. */
static int
listener_try(struct conf *c, const char *url, const char *tag, char *err,
    size_t errlen, size_t *nerr)
{
	char one[512];
	size_t n0 = c->nlis, i;

	snprintf(one, sizeof(one), "out of memory");
	if (build_listener(c, url, tag, one, sizeof(one)) == 0)
		return 0;
	for (i = n0; i < c->nlis; i++)
		listener_conf_free(&c->lis[i]);
	c->nlis = n0;
	conf_err_add(err, errlen, nerr, one);
	return -1;
}

/* The hops of a chain outbound, every bad one named; -1 if any. */
static int
hops_build(struct outbound_conf *ob, char **urls, size_t n, char *err,
    size_t errlen, size_t *nerr)
{
	char one[512];
	size_t i;
	int r = 0;

	for (i = 0; i < n; i++) {
		snprintf(one, sizeof(one), "out of memory");
		if (conf_hop_build(&ob->hops[i], urls[i], i == 0, one,
		    sizeof(one)) != 0) {
			conf_err_add(err, errlen, nerr, one);
			r = -1;
		}
		/* a failed hop is zeroed: conf_free takes it as it is */
		ob->nhops++;
	}
	return r;
}

/* -F / ChainNodes: one chain outbound shared by all listeners (gost). */
static int
add_chain(struct conf *c, struct conf_src *src, char *err, size_t errlen,
    size_t *nerr)
{
	struct outbound_conf *ob, *nobs;
	char one[512];

	if (src->nchain == 0)
		return 0;
	if (c->obs_explicit) {
		seterr(one, sizeof(one), "%s: -F/ChainNodes and outbounds "
		    "cannot be combined; put the hops into a chain outbound",
		    c->path ? c->path : "configuration");
		conf_err_add(err, errlen, nerr, one);
		return -1;
	}
	if ((nobs = reallocarray(c->obs, c->nobs + 1, sizeof(*nobs))) == NULL)
		return -1;
	c->obs = nobs;
	ob = &c->obs[c->nobs];
	memset(ob, 0, sizeof(*ob));
	c->default_ob = c->nobs++;
	snprintf(ob->tag, sizeof(ob->tag), "chain");
	ob->type = OB_CHAIN;
	ob->retries = c->retries;
	if ((ob->hops = calloc(src->nchain, sizeof(*ob->hops))) == NULL)
		return -1;
	return hops_build(ob, src->chain, src->nchain, err, errlen, nerr);
}

/*
 * -P addr: a diagnostics endpoint (gost's pprof slot).  It serves the
 * worker's counters as JSON over HTTP and is not part of the printed
 * configuration, as -P is a command-line switch only.
 */
static int
build_diag(struct conf *c, const char *addr, char *err, size_t errlen)
{
	struct listener_conf *l, *nl;
	char *host;
	uint16_t port;

	if (parse_hostport(addr[0] == ':' ? addr : addr, &host, &port) != 0) {
		seterr(err, errlen, "-P: bad address \"%s\" ([host]:port)",
		    addr);
		return -1;
	}
	if ((nl = reallocarray(c->lis, c->nlis + 1, sizeof(*nl))) == NULL) {
		free(host);
		return -1;
	}
	c->lis = nl;
	l = &c->lis[c->nlis];
	memset(l, 0, sizeof(*l));
	if (host_to_sockaddr(host, port, 1, &l->addr, &l->addrlen) != 0) {
		seterr(err, errlen, "-P: address \"%s\" must be an IP address, "
		    "localhost or empty", addr);
		free(host);
		return -1;
	}
	free(host);
	if (node_parse("tcp://127.0.0.1:1/127.0.0.1:1", &l->node, err,
	    errlen) != 0)
		return -1;
	c->nlis++;
	/* messages (a busy port) name what the user wrote */
	free(l->node->url);
	if (asprintf(&l->node->url, "-P %s", addr) == -1) {
		l->node->url = NULL;
		return -1;
	}
	l->kind = LIS_DIAG;
	l->socktype = SOCK_STREAM;
	snprintf(l->tag, sizeof(l->tag), "profiling");
	return 0;
}

static int
build_outbound_default(struct conf *c)
{
	if ((c->obs = calloc(1, sizeof(*c->obs))) == NULL)
		return -1;
	snprintf(c->obs[0].tag, sizeof(c->obs[0].tag), "direct");
	c->obs[0].type = OB_DIRECT;
	c->nobs = 1;
	c->default_ob = 0;
	return 0;
}

/*
 * gost's Routes: each route's listeners use that route's chain (or none)
 * whatever the top level says.  In the model that is one outbound and
 * one rule on the route's inbound tags per route, which is also how -t
 * prints it.
 */
static int
build_routes(struct conf *c, struct conf_src *src, char *err, size_t errlen,
    size_t *nerr)
{
	struct outbound_conf *ob, *nobs;
	struct rule_conf *rule, *nr;
	struct conf_route *rt;
	char tag[CONF_TAG_MAX];
	size_t k, i, obi, direct = (size_t)-1;
	int r = 0;

	for (k = 0; k < src->nroutes; k++) {
		rt = &src->routes[k];
		if (rt->nserve == 0)
			continue;
		if (rt->nchain > 0) {
			if ((nobs = reallocarray(c->obs, c->nobs + 1,
			    sizeof(*nobs))) == NULL)
				return -1;
			c->obs = nobs;
			ob = &c->obs[c->nobs];
			memset(ob, 0, sizeof(*ob));
			obi = c->nobs++;
			snprintf(ob->tag, sizeof(ob->tag), "route%zu", k);
			ob->type = OB_CHAIN;
			ob->retries = rt->has_retries ? rt->retries : c->retries;
			if ((ob->hops = calloc(rt->nchain, sizeof(*ob->hops))) ==
			    NULL)
				return -1;
			if (hops_build(ob, rt->chain, rt->nchain, err, errlen,
			    nerr) != 0)
				r = -1;
		} else {
			if (direct == (size_t)-1) {
				for (i = 0; i < c->nobs; i++)
					if (c->obs[i].type == OB_DIRECT)
						direct = i;
			}
			if (direct == (size_t)-1) {
				if ((nobs = reallocarray(c->obs, c->nobs + 1,
				    sizeof(*nobs))) == NULL)
					return -1;
				c->obs = nobs;
				memset(&c->obs[c->nobs], 0, sizeof(*nobs));
				snprintf(c->obs[c->nobs].tag,
				    sizeof(c->obs[c->nobs].tag), "direct");
				c->obs[c->nobs].type = OB_DIRECT;
				direct = c->nobs++;
			}
			obi = direct;
		}
		if ((nr = reallocarray(c->rules, c->nrules + 1,
		    sizeof(*nr))) == NULL)
			return -1;
		c->rules = nr;
		rule = &c->rules[c->nrules++];
		memset(rule, 0, sizeof(*rule));
		rule->outbound = obi;
		for (i = 0; i < rt->nserve; i++) {
			size_t first = c->nlis, j;

			snprintf(tag, sizeof(tag), "route%zu-%zu", k, i);
			if (listener_try(c, rt->serve[i], tag, err, errlen,
			    nerr) != 0) {
				r = -1;
				continue;
			}
			/*
			 * A port range made several listeners, tagged
			 * "TAG-PORT": all are the route's.
			 */
			for (j = first; j < c->nlis; j++) {
				c->lis[j].egress = rt->egress;
				if (conf_src_push(&rule->inbound,
				    &rule->ninbound, c->lis[j].tag) != 0)
					return -1;
			}
		}
	}
	return r;
}

/* The port of a listener's address; 0 when it has none. */
static uint16_t
lis_port(const struct listener_conf *l)
{
	if (l->addr.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&l->addr)->sin_port);
	if (l->addr.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)
		    &l->addr)->sin6_port);
	return 0;
}

static int
lis_wildcard(const struct listener_conf *l)
{
	static const unsigned char zero[16];

	if (l->addr.ss_family == AF_INET)
		return ((const struct sockaddr_in *)
		    &l->addr)->sin_addr.s_addr == INADDR_ANY;
	return memcmp(&((const struct sockaddr_in6 *)&l->addr)->sin6_addr,
	    zero, sizeof(zero)) == 0;
}

/*
 * Two listeners that cannot both work: every listener's sockets share
 * their port (SO_REUSEPORT, one per worker), so the kernel binds both
 * and then spreads connections over the two at random.  A specific
 * address next to a wildcard on the same port is fine (the kernel
 * prefers the exact match); [::] (dual-stack) next to 0.0.0.0 is not,
 * as both match every IPv4 connection.
 */
static int
listeners_clash(const struct listener_conf *a, const struct listener_conf *b,
    char *line, size_t linelen)
{
	char as[128];
	uint16_t port = lis_port(a);

	if (a->socktype == 0 || a->socktype != b->socktype || port == 0 ||
	    port != lis_port(b))
		return 0;
	if (a->addr.ss_family == b->addr.ss_family) {
		if (a->addr.ss_family == AF_INET ? memcmp(
		    &((const struct sockaddr_in *)&a->addr)->sin_addr,
		    &((const struct sockaddr_in *)&b->addr)->sin_addr, 4) != 0 :
		    memcmp(&((const struct sockaddr_in6 *)&a->addr)->sin6_addr,
		    &((const struct sockaddr_in6 *)&b->addr)->sin6_addr,
		    16) != 0)
			return 0;
	} else if (!lis_wildcard(a) || !lis_wildcard(b))
		return 0;
	sockaddr_ntop((const struct sockaddr *)&a->addr, as, sizeof(as));
	seterr(line, linelen, "%s: %s port %s is already used by %s",
	    a->node->url, a->socktype == SOCK_STREAM ? "TCP" : "UDP", as,
	    b->node->url);
	return 1;
}

/*
 * Datagrams go through a chain only when its last hop can carry them
 * (handler/udp.c): SOCKS5 (UDP-over-TCP), relay, or a Shadowsocks node
 * that is the whole chain.  A listener of datagrams behind any other
 * chain would drop all it gets; refuse it here, naming the hop.
 */
static int
check_datagram_chain(const struct conf *c, const struct listener_conf *l,
    char *line, size_t linelen)
{
	const struct outbound_conf *ob;
	const struct hop_conf *last;
	size_t i, j;

	/* a tun/tap client dials its peer with datagrams (gost) */
	if (l->kind != LIS_UDP_FORWARD && l->kind != LIS_REDU &&
	    l->kind != LIS_SSU && !((l->kind == LIS_TUN ||
	    l->kind == LIS_TAP) && l->ntargets > 0))
		return 0;
	/* the default, and every rule that may take this listener */
	for (i = 0; i <= c->nrules; i++) {
		if (i < c->nrules) {
			for (j = 0; j < c->rules[i].ninbound; j++)
				if (strcmp(c->rules[i].inbound[j], l->tag) == 0)
					break;
			if (c->rules[i].ninbound > 0 &&
			    j == c->rules[i].ninbound)
				continue;
			ob = &c->obs[c->rules[i].outbound];
		} else
			ob = &c->obs[c->default_ob];
		/* a rule on the inbound alone takes all: nothing after it */
		if (i < c->nrules && c->rules[i].ndomain_suffix == 0 &&
		    c->rules[i].ndomain == 0 && c->rules[i].ncidr == 0 &&
		    c->rules[i].nports == 0)
			i = c->nrules;
		if (ob->type != OB_CHAIN || ob->nhops == 0)
			continue;
		last = &ob->hops[ob->nhops - 1];
		if (last->kind == HOP_SOCKS5 || last->kind == HOP_RELAY ||
		    (last->kind == HOP_OSTP && ob->nhops == 1))
			continue;
		if (last->kind == HOP_SS && (conf_ss_packets(last,
		    ob->nhops) || (last->node != NULL &&
		    strcmp(last->node->transport, "udp") != 0 &&
		    last->ss_method->kind != SS_KIND_2022)))
			continue;
		if (last->kind == HOP_SS && last->ss_method->kind ==
		    SS_KIND_2022) {
			seterr(line, linelen, "%s: datagrams cannot go through "
			    "chain node %s: behind other nodes or over a "
			    "stream transport they go as gost's ssu frames, "
			    "which SIP022 ciphers have not", l->node->url,
			    last->node != NULL ? last->node->url : last->host);
			return -1;
		}
		seterr(line, linelen, "%s: datagrams cannot go through chain "
		    "node %s (the last node must be socks5, relay, ss or ssu "
		    "over a stream transport, or ss, ssu or ostp alone)",
		    l->node->url, last->node != NULL ? last->node->url :
		    last->host);
		return -1;
	}
	return 0;
}

int
conf_load(struct conf *c, const struct conf_args *args, char *err,
    size_t errlen)
{
	struct conf_src src;
	void *root = NULL;
	char line[512];
	size_t i, n, nerr = 0;
	int ret = -1, chain_bad = 0, r;

	memset(c, 0, sizeof(*c));
	memset(&src, 0, sizeof(src));
	c->workers = 0;		/* one per core, as nginx's "auto" */
	snprintf(err, errlen, "out of memory");
	files_checked = args->from_monitor;
	c->debug = args->debug;
	c->have_mark = args->have_mark;
	c->mark = args->mark;
	if (args->iface != NULL) {
		if (!conf_valid_ifname(args->iface)) {
			seterr(err, errlen, "-I: bad interface name \"%s\"",
			    args->iface);
			return -1;
		}
		snprintf(c->iface, sizeof(c->iface), "%s", args->iface);
	}
	for (i = 0; i < args->nserve; i++)
		if (conf_src_push(&src.serve, &src.nserve, args->serve[i]) != 0)
			goto out;
	if ((src.tags = calloc(src.nserve + 1, sizeof(char *))) == NULL)
		goto out;
	for (i = 0; i < args->nchain; i++)
		if (conf_src_push(&src.chain, &src.nchain, args->chain[i]) != 0)
			goto out;
	if (args->path != NULL) {
		if ((c->path = strdup(args->path)) == NULL)
			goto out;
		if ((args->text != NULL ? conf_json_parse(args->text,
		    args->textlen, args->path, &root, err, errlen) :
		    conf_json_read(args->path, &root, err, errlen)) != 0)
			goto out;
		if (conf_json_is_ostp04(root)) {
			if (conf_json_ostp04(c, root, args->path, &src, err,
			    errlen) != 0)
				goto out;
		} else if (conf_json_is_native(root)) {
			if (conf_json_native(c, root, args->path, &src, err,
			    errlen) != 0)
				goto out;
		} else if (conf_json_gost(c, root, args->path, &src, err,
		    errlen) != 0)
			goto out;
	}
	if (args->have_workers)
		c->workers = args->workers;
	if (args->access_log)
		c->access_log = 1;
	if (args->metrics != NULL) {
		struct sockaddr_storage ss;
		socklen_t sl;

		if (ctl_addr_parse(args->metrics, &ss, &sl) != 0) {
			seterr(err, errlen, "-m: bad metrics address \"%s\" "
			    "(an address and port, as 127.0.0.1:9100)",
			    args->metrics);
			goto out;
		}
		free(c->metrics);
		if ((c->metrics = strdup(args->metrics)) == NULL)
			goto out;
	}
	if (c->log_level == 0)
		c->log_level = LOG_LEVEL_INFO +
		    (c->debug > 0 ? c->debug + 1 : 0);
	if (c->log_level > LOG_LEVEL_DEBUG3)
		c->log_level = LOG_LEVEL_DEBUG3;
	for (i = 0, n = src.nserve; i < src.nroutes; i++)
		n += src.routes[i].nserve;
	if (n == 0) {
		if (src.nerr == 0)
			seterr(err, errlen, "no listener: give -L node or "
			    "ServeNodes in %s", args->path ? args->path :
			    "a -C file");
		goto out;
	}
	nerr = src.nerr;
	/*
	 * An interface that does not exist would fail every connection,
	 * each with its own line; say it once now.  (A worker's copy was
	 * checked by the monitor, and its sandbox has no ioctl for it.)
	 */
	if (c->iface[0] != '\0' && !args->from_monitor &&
	    if_nametoindex(c->iface) == 0) {
		if (args->iface != NULL && strcmp(args->iface, c->iface) == 0)
			seterr(line, sizeof(line), "-I %s: no such network "
			    "interface", c->iface);
		else
			seterr(line, sizeof(line), "%s: Interface \"%s\": no "
			    "such network interface", c->path, c->iface);
		conf_err_add(err, errlen, &nerr, line);
	}
	for (i = 0; i < src.nserve; i++) {
		size_t first = c->nlis, j;

		lis_ostp_extra = src.ostp != NULL ? src.ostp[i] : NULL;
		r = listener_try(c, src.serve[i], src.tags[i], err, errlen,
		    &nerr);
		lis_ostp_extra = NULL;
		if (r != 0)
			continue;
		for (j = first; src.egress != NULL && j < c->nlis; j++)
			c->lis[j].egress = src.egress[i];
		if (src.ostp != NULL && src.ostp[i] != NULL &&
		    c->nlis > first && c->lis[first].kind != LIS_OSTP) {
			seterr(line, sizeof(line), "%s: access_keys and "
			    "file_keys belong to an ostp:// inbound",
			    c->lis[first].node->url);
			conf_err_add(err, errlen, &nerr, line);
		}
	}
	n = nerr;
	if (add_chain(c, &src, err, errlen, &nerr) != 0) {
		if (nerr == n)
			goto oom;
		chain_bad = 1;
	}
	/* Listeners without a chain go direct, Routes or not. */
	if (c->nobs == 0 && build_outbound_default(c) != 0)
		goto oom;
	n = nerr;
	if (build_routes(c, &src, err, errlen, &nerr) != 0 && nerr == n)
		goto oom;
	if (args->profile != NULL) {
		char one[512];

		snprintf(one, sizeof(one), "out of memory");
		if (build_diag(c, args->profile, one, sizeof(one)) != 0)
			conf_err_add(err, errlen, &nerr, one);
	}
	/*
	 * peer= files of chain nodes and the CAs TLS verifies against:
	 * the worker may have them read
	 */
	for (i = 0; i < c->nobs; i++) {
		size_t j;

		for (j = 0; j < c->obs[i].nhops; j++) {
			const struct hop_conf *h = &c->obs[i].hops[j];

			if ((h->peer_path != NULL &&
			    conf_add_file(c, h->peer_path) != 0) ||
			    (h->bypass_path != NULL &&
			    conf_add_file(c, h->bypass_path) != 0) ||
			    (h->ip_path != NULL &&
			    conf_add_file(c, h->ip_path) != 0) ||
			    (h->tp.ca != NULL &&
			    conf_add_file(c, h->tp.ca) != 0) ||
			    (h->tp.ca == NULL && h->tp.secure &&
			    conf_add_file(c, TLS_SYSTEM_CAS) != 0) ||
			    (h->ostp != NULL && h->ostp->tls &&
			    !h->ostp->insecure && (h->ostp->ca != NULL ?
			    conf_add_file(c, h->ostp->ca) :
			    conf_add_file(c, TLS_SYSTEM_CAS)) != 0))
				goto out;
		}
	}
	for (i = 0; i < c->nlis; i++)
		if (c->lis[i].tp.ca != NULL &&
		    conf_add_file(c, c->lis[i].tp.ca) != 0)
			goto out;
	if (c->nobs == 0 && build_outbound_default(c) != 0)
		goto out;
	/*
	 * rtcp/rudp open their port on the last hop of the chain that the
	 * rules give the listener (a gost route's own): that chain must
	 * exist and end in a hop that can bind (SOCKS5).
	 */
	for (i = 0; i < c->nlis && !chain_bad; i++) {
		const struct outbound_conf *ob;

		if (c->lis[i].kind != LIS_RTCP && c->lis[i].kind != LIS_RUDP)
			continue;
		ob = &c->obs[router_pick(c, i, NULL, NULL,
		    c->lis[i].node->port)];
		if (ob->type != OB_CHAIN || ob->nhops == 0 ||
		    (ob->hops[ob->nhops - 1].kind != HOP_SOCKS5 &&
		    (c->lis[i].kind != LIS_RTCP ||
		    ob->hops[ob->nhops - 1].kind != HOP_RELAY))) {
			seterr(line, sizeof(line), "%s: remote forwarding needs "
			    "a chain whose last node is socks5 (-F "
			    "socks5://...) or, for rtcp, relay",
			    c->lis[i].node->url);
			conf_err_add(err, errlen, &nerr, line);
		}
	}
	for (i = 0; i < c->nlis && !chain_bad; i++)
		if (check_datagram_chain(c, &c->lis[i], line,
		    sizeof(line)) != 0)
			conf_err_add(err, errlen, &nerr, line);
	/* auto_route: the daemon's own sockets must be told apart */
	for (i = 0; i < c->nlis; i++) {
		struct listener_conf *l = &c->lis[i];
		struct egress e;

		if (l->kind != LIS_CAPTURE || !l->tun.auto_route)
			continue;
		conf_egress(c, l, &e);
		if (e.mark == 0) {
			seterr(line, sizeof(line), "%s: auto_route needs a "
			    "mark for the daemon's own sockets (the inbound's "
			    "mark, or -M)", l->node->url);
			conf_err_add(err, errlen, &nerr, line);
		}
		l->tun.rule_mark = e.mark;
	}
	/* Tags name inbounds in rules: they must be unique. */
	for (i = 0; i < c->nlis; i++) {
		size_t j;

		for (j = 0; j < i; j++) {
			if (strcmp(c->lis[i].tag, c->lis[j].tag) == 0) {
				seterr(line, sizeof(line), "%s: inbound tag "
				    "\"%s\" is already used by %s",
				    c->lis[i].node->url, c->lis[i].tag,
				    c->lis[j].node->url);
				conf_err_add(err, errlen, &nerr, line);
				break;
			}
			if (listeners_clash(&c->lis[i], &c->lis[j], line,
			    sizeof(line))) {
				conf_err_add(err, errlen, &nerr, line);
				break;
			}
			/* Two devices with one name would fight. */
			if (!LIS_HAS_DEV(c->lis[i].kind) ||
			    !LIS_HAS_DEV(c->lis[j].kind))
				continue;
			if (strcmp(c->lis[i].tun.name, c->lis[j].tun.name) ==
			    0) {
				seterr(line, sizeof(line), "%s: device name %s "
				    "is already used by %s",
				    c->lis[i].node->url, c->lis[i].tun.name,
				    c->lis[j].node->url);
				conf_err_add(err, errlen, &nerr, line);
				break;
			}
		}
	}
	/* a rule naming a listener that failed would repeat its line */
	for (i = 0; i < c->nrules && nerr == 0; i++) {
		size_t j;

		for (j = 0; j < c->rules[i].ninbound; j++) {
			size_t k;

			for (k = 0; k < c->nlis; k++)
				if (strcmp(c->lis[k].tag,
				    c->rules[i].inbound[j]) == 0)
					break;
			if (k == c->nlis) {
				seterr(line, sizeof(line), "%s: routing rule "
				    "%zu names unknown inbound \"%s\"",
				    c->path, i, c->rules[i].inbound[j]);
				conf_err_add(err, errlen, &nerr, line);
			}
		}
	}
	if (nerr > 0)
		goto out;
	ret = 0;
	goto out;
 oom:
	conf_err_add(err, errlen, &nerr, "out of memory");
 out:
	conf_json_free(root);
	conf_src_free(&src);
	if (ret != 0)
		conf_free(c);
	return ret;
}

static void
listener_conf_free(struct listener_conf *l)
{
	size_t j;

	for (j = 0; l->targetnames != NULL && j < l->ntargets; j++)
		free(l->targetnames[j]);
	free(l->targetnames);
	free(l->bypass_path);
	free(l->hosts_path);
	free(l->secrets_path);
	free(l->user);
	if (l->pass != NULL)
		explicit_bzero(l->pass, strlen(l->pass));
	free(l->pass);
	free(l->proxy_agent);
	free(l->dns_path);
	free(l->probe_host);
	free(l->probe_arg);
	free(l->knock);
	explicit_bzero(l->ss_key, sizeof(l->ss_key));
	ostp_conf_free(l->ostp);
	resolver_conf_free(l->dns_up);
	resolver_conf_free(l->dns);
	matcher_set_free(l->bypass);
	permission_free(l->whitelist);
	permission_free(l->blacklist);
	node_free(l->node);
	free(l->targets);
	free(l->targetlens);
	free(l->tun.routes);
	free(l->tun.excludes);
	memset(l, 0, sizeof(*l));
}

void
conf_free(struct conf *c)
{
	size_t i;

	for (i = 0; i < c->nlis; i++)
		listener_conf_free(&c->lis[i]);
	free(c->lis);
	for (i = 0; i < c->nchain; i++)
		node_free(c->chain[i]);
	free(c->chain);
	for (i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	free(c->metrics);
	for (i = 0; i < c->nobs; i++) {
		size_t j;

		for (j = 0; j < c->obs[i].nhops; j++)
			conf_hop_free(&c->obs[i].hops[j]);
		free(c->obs[i].hops);
	}
	free(c->obs);
	for (i = 0; i < c->nrules; i++) {
		struct rule_conf *r = &c->rules[i];
		size_t j;

		for (j = 0; j < r->ndomain_suffix; j++)
			free(r->domain_suffix[j]);
		for (j = 0; j < r->ndomain; j++)
			free(r->domain[j]);
		for (j = 0; j < r->ninbound; j++)
			free(r->inbound[j]);
		free(r->domain_suffix);
		free(r->domain);
		free(r->inbound);
		free(r->cidr);
		free(r->ports);
	}
	free(c->rules);
	free(c->path);
	memset(c, 0, sizeof(*c));
}

int
conf_file_allowed(const struct conf *c, const char *path)
{
	size_t i;

	/* the system resolver's: any name anywhere may need them */
	if (strcmp(path, "/etc/resolv.conf") == 0 ||
	    strcmp(path, "/etc/hosts") == 0)
		return 1;
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
		if (LIS_HAS_DEV(c->lis[i].kind) &&
		    strcmp(c->lis[i].tun.name, name) == 0)
			return &c->lis[i];
	return NULL;
}

int
conf_tun_vnet(const struct tun_conf *tc)
{
	/*
	 * Below 576 bytes a 64 KiB segment would be cut into more
	 * packets than the worker takes apart (proto/vnet.h): plain
	 * packets then.  A capture's stack takes any segment whole.
	 */
	return tc->capture || (!tc->tap && tc->mtu >= 576);
}

int
conf_tun_equal(const struct tun_conf *a, const struct tun_conf *b)
{
	if (strcmp(a->name, b->name) != 0 || a->tap != b->tap ||
	    a->capture != b->capture || a->has_dns != b->has_dns ||
	    a->has_fake != b->has_fake || a->auto_route != b->auto_route ||
	    a->table != b->table || a->rule_mark != b->rule_mark ||
	    a->has_net != b->has_net || a->mtu != b->mtu ||
	    a->nroutes != b->nroutes || a->has_gw != b->has_gw ||
	    a->nexcludes != b->nexcludes)
		return 0;
	if (a->nexcludes > 0 && memcmp(a->excludes, b->excludes,
	    a->nexcludes * sizeof(*a->excludes)) != 0)
		return 0;
	if (a->has_net && memcmp(&a->net, &b->net, sizeof(a->net)) != 0)
		return 0;
	if (a->has_net6 != b->has_net6 || (a->has_net6 &&
	    memcmp(&a->net6, &b->net6, sizeof(a->net6)) != 0))
		return 0;
	if ((a->has_dns && memcmp(&a->dns, &b->dns, sizeof(a->dns)) != 0) ||
	    (a->has_fake && memcmp(&a->fake, &b->fake, sizeof(a->fake)) != 0))
		return 0;
	if (a->nroutes > 0 && memcmp(a->routes, b->routes,
	    a->nroutes * sizeof(*a->routes)) != 0)
		return 0;
	return 1;
}
