#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "params.h"

enum param_type {
	PT_STRING,	/* any text */
	PT_BOOL,
	PT_INT,		/* signed integer in [min, max] */
	PT_DURATION,
	PT_ENUM,	/* one of a '|' list */
	PT_CIDR,
	PT_CIDR_LIST,	/* comma list of CIDRs, or a file path */
	PT_IP,
	PT_BASE64,	/* base64 of user:pass */
	PT_PROBE,	/* code:N | web:URL | host:ADDR | file:PATH */
};

struct param_def {
	const char	*key;
	enum param_type	 type;
	long		 min;
	long		 max;
	const char	*choices;
};

/* spec/gost.md 1.5, plus the few v2 keys read outside route.go. */
static const struct param_def param_defs[] = {
	{ "agent",		PT_STRING, 0, 0, NULL },
	{ "auth",		PT_BASE64, 0, 0, NULL },
	{ "auto_route",		PT_BOOL, 0, 0, NULL },
	{ "backlog",		PT_INT, 1, 65535, NULL },
	{ "blacklist",		PT_STRING, 0, 0, NULL },
	{ "bypass",		PT_STRING, 0, 0, NULL },
	{ "c",			PT_STRING, 0, 0, NULL },
	{ "ca",			PT_STRING, 0, 0, NULL },
	{ "capture",		PT_BOOL, 0, 0, NULL },
	{ "cert",		PT_STRING, 0, 0, NULL },
	{ "cipher",		PT_STRING, 0, 0, NULL },
	{ "compression",	PT_BOOL, 0, 0, NULL },
	{ "dns",		PT_STRING, 0, 0, NULL },
	{ "dns_addr",		PT_IP, 0, 0, NULL },
	{ "exclude",		PT_STRING, 0, 0, NULL },
	{ "fail_timeout",	PT_DURATION, 0, 0, NULL },
	{ "fake_ip",		PT_STRING, 0, 0, NULL },
	{ "fallback",		PT_STRING, 0, 0, NULL },
	{ "fastest_count",	PT_INT, 0, 1000, NULL },
	{ "frag_chunk",		PT_INT, 1, 1400, NULL },
	{ "frag_sleep",		PT_INT, 0, 1000, NULL },
	{ "gw",			PT_IP, 0, 0, NULL },
	{ "handshake_rate",	PT_INT, 1, 1000000, NULL },
	{ "host",		PT_STRING, 0, 0, NULL },
	{ "hosts",		PT_STRING, 0, 0, NULL },
	{ "httpTunnel",		PT_BOOL, 0, 0, NULL },
	{ "iat-mode",		PT_INT, 0, 2, NULL },
	{ "icmp",		PT_STRING, 0, 0, NULL },
	{ "junk_pc",		PT_STRING, 0, 0, NULL },
	{ "junk_ps",		PT_STRING, 0, 0, NULL },
	{ "idle",		PT_DURATION, 0, 0, NULL },
	{ "insecure",		PT_STRING, 0, 0, NULL },
	{ "ip",			PT_STRING, 0, 0, NULL },
	{ "keepalive",		PT_BOOL, 0, 0, NULL },
	{ "keys",		PT_STRING, 0, 0, NULL },
	{ "key",		PT_STRING, 0, 0, NULL },
	{ "knock",		PT_STRING, 0, 0, NULL },
	{ "local_access",	PT_BOOL, 0, 0, NULL },
	{ "max_fails",		PT_INT, -1, 1000000, NULL },
	{ "max_flows",		PT_INT, 1, 1000000, NULL },
	{ "max_sessions",	PT_INT, 1, 1000000, NULL },
	{ "max_sessions_key",	PT_INT, 1, 1000000, NULL },
	{ "mbind",		PT_BOOL, 0, 0, NULL },
	{ "method",		PT_STRING, 0, 0, NULL },
	{ "mode",		PT_ENUM, 0, 0, "udp|tcp|tls|https" },
	{ "mtu",		PT_INT, 68, 65535, NULL },
	{ "mux",		PT_INT, 1, 64, NULL },
	{ "name",		PT_STRING, 0, 0, NULL },
	{ "net",		PT_CIDR, 0, 0, NULL },
	{ "net6",		PT_CIDR, 0, 0, NULL },
	{ "nodelay",		PT_BOOL, 0, 0, NULL },
	{ "notls",		PT_BOOL, 0, 0, NULL },
	{ "owndns",		PT_STRING, 0, 0, NULL },
	{ "path",		PT_STRING, 0, 0, NULL },
	{ "peer",		PT_STRING, 0, 0, NULL },
	{ "ping",		PT_DURATION, 0, 0, NULL },
	{ "prefer",		PT_ENUM, 0, 0, "ipv4|ipv6" },
	{ "probe_resist",	PT_PROBE, 0, 0, NULL },
	{ "proxyAgent",		PT_STRING, 0, 0, NULL },
	{ "queue",		PT_INT, 1, 65535, NULL },
	{ "rbuf",		PT_INT, 1, 1 << 26, NULL },
	{ "retry",		PT_INT, 0, 100, NULL },
	{ "route",		PT_CIDR_LIST, 0, 0, NULL },
	{ "sessions",		PT_INT, 1, 64, NULL },
	{ "secrets",		PT_STRING, 0, 0, NULL },
	{ "secure",		PT_BOOL, 0, 0, NULL },
	{ "sni",		PT_STRING, 0, 0, NULL },
	{ "sniff",		PT_BOOL, 0, 0, NULL },
	{ "ssh_authorized_keys", PT_STRING, 0, 0, NULL },
	{ "ssh_key",		PT_STRING, 0, 0, NULL },
	{ "state-dir",		PT_STRING, 0, 0, NULL },
	{ "strategy",		PT_ENUM, 0, 0, "round|random|fifo" },
	{ "stun",		PT_STRING, 0, 0, NULL },
	{ "table",		PT_INT, 1, 4294967039L, NULL },
	{ "tcp",		PT_BOOL, 0, 0, NULL },
	{ "tcp_fragmentation",	PT_BOOL, 0, 0, NULL },
	{ "tls",		PT_STRING, 0, 0, NULL },
	{ "timeout",		PT_DURATION, 0, 0, NULL },
	{ "stats",		PT_STRING, 0, 0, NULL },
	{ "tun",		PT_STRING, 0, 0, NULL },
	{ "turn",		PT_STRING, 0, 0, NULL },
	{ "turn_pass",		PT_STRING, 0, 0, NULL },
	{ "turn_user",		PT_STRING, 0, 0, NULL },
	{ "type",		PT_ENUM, 0, 0, "udp|uot|tcp|http" },
	{ "ttl",		PT_DURATION, 0, 0, NULL },
	{ "ttl_desync",		PT_BOOL, 0, 0, NULL },
	{ "ttl_desync_auto",	PT_BOOL, 0, 0, NULL },
	{ "ttl_desync_count",	PT_INT, 1, 16, NULL },
	{ "ttl_desync_ttl",	PT_INT, 1, 255, NULL },
	{ "wbuf",		PT_INT, 1, 1 << 26, NULL },
	{ "whitelist",		PT_STRING, 0, 0, NULL },
};

static const struct param_def *
param_find(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(param_defs) / sizeof(param_defs[0]); i++)
		if (strcmp(param_defs[i].key, key) == 0)
			return &param_defs[i];
	return NULL;
}

int
param_bool_parse(const char *v, int *out)
{
	static const char *const t[] = { "1", "t", "T", "TRUE", "true",
	    "True", NULL };
	static const char *const f[] = { "0", "f", "F", "FALSE", "false",
	    "False", NULL };
	size_t i;

	for (i = 0; t[i] != NULL; i++)
		if (strcmp(v, t[i]) == 0) {
			*out = 1;
			return 0;
		}
	for (i = 0; f[i] != NULL; i++)
		if (strcmp(v, f[i]) == 0) {
			*out = 0;
			return 0;
		}
	return -1;
}

int
node_param_bool(const struct node *n, const char *key, int *out, char *err,
    size_t errlen)
{
	const char *v = node_param(n, key);

	if (v == NULL)
		return 0;
	if (param_bool_parse(v, out) != 0) {
		snprintf(err, errlen, "%s: bad value \"%s\" for %s (true or "
		    "false)", n->url, v, key);
		return -1;
	}
	return 1;
}

static int
int_ok(const char *v, long min, long max)
{
	long x;
	char *ep;

	errno = 0;
	x = strtol(v, &ep, 10);
	if (*v == '\0' || *ep != '\0' || errno != 0 || isspace((unsigned char)*v) ||
	    *v == '+' || x < min || x > max)
		return 0;
	return 1;
}

static int
enum_ok(const char *v, const char *choices)
{
	size_t len = strlen(v);
	const char *p = choices, *bar;

	while (*p != '\0') {
		bar = strchr(p, '|');
		if (bar == NULL)
			bar = p + strlen(p);
		if ((size_t)(bar - p) == len && strncmp(p, v, len) == 0)
			return 1;
		p = *bar ? bar + 1 : bar;
	}
	return 0;
}

static int
base64_ok(const char *v)
{
	size_t len = strlen(v), i, pad = 0;

	if (len == 0 || len % 4 != 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (v[i] == '=') {
			if (i < len - 2)
				return 0;
			pad++;
		} else if (pad > 0 || (!isalnum((unsigned char)v[i]) &&
		    v[i] != '+' && v[i] != '/'))
			return 0;
	}
	return 1;
}

static int
cidr_list_ok(const char *v)
{
	struct inet_prefix p;
	char *dup, *tok, *save;
	int ok = 1;

	/* gost also takes a route file here; not in this build. */
	if ((dup = strdup(v)) == NULL)
		return 0;
	for (tok = strtok_r(dup, ",", &save); tok != NULL && ok;
	    tok = strtok_r(NULL, ",", &save))
		ok = inet_prefix_parse(tok, &p) == 0;
	free(dup);
	return ok && v[0] != '\0';
}

static int
probe_ok(const char *v)
{
	const char *colon = strchr(v, ':');

	if (colon == NULL || colon[1] == '\0')
		return 0;
	if (strncmp(v, "code:", 5) == 0)
		return int_ok(colon + 1, 100, 599);
	return strncmp(v, "web:", 4) == 0 || strncmp(v, "host:", 5) == 0 ||
	    strncmp(v, "file:", 5) == 0;
}

static const char *
type_form(const struct param_def *d, char *buf, size_t len)
{
	switch (d->type) {
	case PT_BOOL:
		return "true or false";
	case PT_INT:
		snprintf(buf, len, "an integer from %ld to %ld", d->min,
		    d->max);
		return buf;
	case PT_DURATION:
		return "a duration such as 30s, 1m, 500ms or seconds";
	case PT_ENUM:
		snprintf(buf, len, "one of %s", d->choices);
		return buf;
	case PT_CIDR:
		return "address/prefix, e.g. 10.0.0.1/24";
	case PT_CIDR_LIST:
		return "a comma list of address/prefix";
	case PT_IP:
		return "an IP address";
	case PT_BASE64:
		return "base64 of user:password";
	case PT_PROBE:
		return "code:N, web:URL, host:ADDR or file:PATH";
	default:
		return "text";
	}
}

/* What each transport reads of a node's parameters. */
static const char *const tls_used[] = {
	"cert", "key", "ca", "secure", "host", NULL
};

static const char *const obfs_used[] = {
	"host", NULL
};
static const char *const ws_used[] = {
	"path", "host", "agent", NULL
};
static const char *const wss_used[] = {
	"path", "host", "agent", "cert", "key", "ca", "secure", NULL
};

static const char *const h2_used[] = {
	"path", "host", "ping", "cert", "key", "ca", "secure", NULL
};
static const char *const http2_used[] = {
	"host", "agent", "ping", "cert", "key", "ca", "secure", NULL
};
static const char *const h2c_used[] = {
	"path", "host", "ping", NULL
};

static const char *const *
transport_used(const char *transport)
{
	if (strcmp(transport, "tls") == 0 || strcmp(transport, "mtls") == 0)
		return tls_used;
	if (strcmp(transport, "ohttp") == 0 || strcmp(transport, "otls") == 0)
		return obfs_used;
	if (strcmp(transport, "ws") == 0 || strcmp(transport, "mws") == 0)
		return ws_used;
	if (strcmp(transport, "wss") == 0 || strcmp(transport, "mwss") == 0)
		return wss_used;
	if (strcmp(transport, "h2") == 0)
		return h2_used;
	if (strcmp(transport, "h2c") == 0)
		return h2c_used;
	if (strcmp(transport, "http2") == 0)
		return http2_used;
	return NULL;
}

static int
in_used(const char *const *u, const char *key)
{
	for (; u != NULL && *u != NULL; u++)
		if (strcmp(*u, key) == 0)
			return 1;
	return 0;
}

int
params_check(const struct node *n, const char *const *used, char *err,
    size_t errlen)
{
	const struct param_def *d;
	struct node_param *p;
	struct inet_prefix pfx;
	unsigned long ms;
	char form[96];
	int ok, b;

	TAILQ_FOREACH(p, &n->params, entry) {
		if ((d = param_find(p->key)) == NULL) {
			logit("%s: unknown parameter \"%s\"; ignoring it",
			    n->url, p->key);
			continue;
		}
		/* Repeated keys: the last wins, but every value must parse. */
		switch (d->type) {
		case PT_BOOL:
			ok = param_bool_parse(p->val, &b) == 0;
			break;
		case PT_INT:
			ok = int_ok(p->val, d->min, d->max);
			break;
		case PT_DURATION:
			ok = duration_parse(p->val, &ms) == 0;
			break;
		case PT_ENUM:
			ok = enum_ok(p->val, d->choices);
			break;
		case PT_CIDR:
			ok = inet_prefix_parse(p->val, &pfx) == 0;
			break;
		case PT_CIDR_LIST:
			ok = cidr_list_ok(p->val);
			break;
		case PT_IP:
			ok = inet_prefix_parse(p->val, &pfx) == 0 &&
			    strchr(p->val, '/') == NULL;
			break;
		case PT_BASE64:
			ok = base64_ok(p->val);
			break;
		case PT_PROBE:
			ok = probe_ok(p->val);
			break;
		default:
			ok = 1;
			break;
		}
		if (!ok) {
			snprintf(err, errlen, "%s: bad value \"%s\" for %s (%s)",
			    n->url, node_param_secret(p->key, p->val) ? "***" :
			    p->val, p->key, type_form(d, form, sizeof(form)));
			return -1;
		}
		if (!in_used(used, p->key) &&
		    !in_used(transport_used(n->transport), p->key))
			logit("%s: parameter \"%s\" is not used by scheme %s; "
			    "ignoring it", n->url, p->key, n->scheme);
	}
	return 0;
}
