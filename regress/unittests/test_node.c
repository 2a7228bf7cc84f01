/*
 * Unit tests for the node URL parser (common/node.c) and the
 * configuration built from node URLs and gost JSON files (common/conf.c).
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "node.h"
#include "test.h"

struct node_case {
	const char	*url;
	int		 ok;
	const char	*scheme;
	const char	*proto;
	const char	*transport;
	const char	*host;
	int		 port;
	const char	*user;		/* NULL = absent */
	const char	*pass;
	size_t		 nremotes;
	const char	*r0;
	const char	*r1;
	const char	*errsub;	/* failures: part of the message */
};

#define OK(u, s, p, t, h, port, user, pass, n, r0, r1) \
	{ u, 1, s, p, t, h, port, user, pass, n, r0, r1, NULL }
#define BAD(u, e) \
	{ u, 0, NULL, NULL, NULL, NULL, 0, NULL, NULL, 0, NULL, NULL, e }

static const struct node_case node_cases[] = {
	OK(":8080", "auto", "auto", "tcp", "", 8080, NULL, NULL, 0, 0, 0),
	OK("tcp://:2222/192.0.2.1:22", "tcp", "tcp", "tcp", "", 2222, NULL,
	    NULL, 1, "192.0.2.1:22", 0),
	OK("socks5://user:pass@127.0.0.1:1080", "socks5", "socks5", "tcp",
	    "127.0.0.1", 1080, "user", "pass", 0, 0, 0),
	OK("http://[::1]:8080", "http", "http", "tcp", "::1", 8080, NULL,
	    NULL, 0, 0, 0),
	OK("[::1]:8080", "auto", "auto", "tcp", "::1", 8080, NULL, NULL, 0,
	    0, 0),
	OK("ss://aes-128-gcm:pass@:8338", "ss", "ss", "tcp", "", 8338,
	    "aes-128-gcm", "pass", 0, 0, 0),
	OK("tls://:443", "tls", "auto", "tls", "", 443, NULL, NULL, 0, 0, 0),
	OK("https://:443", "https", "http", "tls", "", 443, NULL, NULL, 0,
	    0, 0),
	OK("socks://:1080", "socks", "socks5", "tcp", "", 1080, NULL, NULL,
	    0, 0, 0),
	OK("ss2://aes-256-gcm:k@:8338", "ss2", "ss", "tcp", "", 8338,
	    "aes-256-gcm", "k", 0, 0, 0),
	OK("http+ws://:80", "http+ws", "http", "ws", "", 80, NULL, NULL, 0,
	    0, 0),
	OK("a+b+c://:1", "a+b+c", "auto", "tcp", "", 1, NULL, NULL, 0, 0, 0),
	OK("tcp://:80/a:1,b:2", "tcp", "tcp", "tcp", "", 80, NULL, NULL, 2,
	    "a:1", "b:2"),
	OK("tcp://:80//a:1,b:2//", "tcp", "tcp", "tcp", "", 80, NULL, NULL,
	    2, "a:1", "b:2"),
	OK("u%40x:p%3Ass@:1", "auto", "auto", "tcp", "", 1, "u@x", "p:ss", 0,
	    0, 0),
	OK("http://user@:8080", "http", "http", "tcp", "", 8080, "user", NULL,
	    0, 0, 0),
	OK("http://:pw@:8080", "http", "http", "tcp", "", 8080, "", "pw", 0,
	    0, 0),
	OK("http://a@b@:80", "http", "http", "tcp", "", 80, "a@b", NULL, 0,
	    0, 0),
	OK("  tcp://:80/1.2.3.4:5 \t", "tcp", "tcp", "tcp", "", 80, NULL,
	    NULL, 1, "1.2.3.4:5", 0),
	OK("TCP://:80/x:1", "tcp", "tcp", "tcp", "", 80, NULL, NULL, 1, "x:1",
	    0),
	OK("socks5+tls://:1080", "socks5+tls", "socks5", "tls", "", 1080,
	    NULL, NULL, 0, 0, 0),
	OK("http2://:443", "http2", "http2", "http2", "", 443, NULL, NULL, 0,
	    0, 0),
	OK("ssu://:8338", "ssu", "ssu", "udp", "", 8338, NULL, NULL, 0, 0, 0),
	OK("relay+wss://:443", "relay+wss", "relay", "wss", "", 443, NULL,
	    NULL, 0, 0, 0),
	OK("forward+ssh://:2222", "forward+ssh", "forward", "ssh", "", 2222,
	    NULL, NULL, 0, 0, 0),
	OK("tun://:8421?net=10.0.0.1/24", "tun", "tun", "tun", "", 8421,
	    NULL, NULL, 0, 0, 0),
	OK("udp://:53/8.8.8.8:53", "udp", "udp", "udp", "", 53, NULL, NULL,
	    1, "8.8.8.8:53", 0),
	OK("red://:12345", "red", "red", "tcp", "", 12345, NULL, NULL, 0, 0,
	    0),
	OK("http://localhost:8080", "http", "http", "tcp", "localhost", 8080,
	    NULL, NULL, 0, 0, 0),
	OK("http://example.com:65535", "http", "http", "tcp", "example.com",
	    65535, NULL, NULL, 0, 0, 0),
	OK("http://:0", "http", "http", "tcp", "", 0, NULL, NULL, 0, 0, 0),
	OK("socks5://u:p@[2001:db8::1]:1080", "socks5", "socks5", "tcp",
	    "2001:db8::1", 1080, "u", "p", 0, 0, 0),
	OK("tcp://:80/[::1]:22", "tcp", "tcp", "tcp", "", 80, NULL, NULL, 1,
	    "[::1]:22", 0),
	OK("http://:8080?", "http", "http", "tcp", "", 8080, NULL, NULL, 0, 0,
	    0),
	OK("tcp://:80/a%2Cb+c:1", "tcp", "tcp", "tcp", "", 80, NULL, NULL, 1,
	    "a,b+c:1", 0),
	OK("ws://:80", "ws", "auto", "ws", "", 80, NULL, NULL, 0, 0, 0),
	OK("mwss://:443", "mwss", "auto", "mwss", "", 443, NULL, NULL, 0, 0,
	    0),
	OK("socks4a://:1080", "socks4a", "socks4a", "tcp", "", 1080, NULL,
	    NULL, 0, 0, 0),
	OK("http+https://:443", "http+https", "http", "tls", "", 443, NULL,
	    NULL, 0, 0, 0),
	OK("https+ws://:443", "https+ws", "http", "ws", "", 443, NULL, NULL,
	    0, 0, 0),
	OK("tcp://:00080/x:1", "tcp", "tcp", "tcp", "", 80, NULL, NULL, 1,
	    "x:1", 0),
	OK("tcp://:80?a=1/b:2", "tcp", "tcp", "tcp", "", 80, NULL, NULL, 0, 0,
	    0),

	BAD("", "empty node URL"),
	BAD("   ", "empty node URL"),
	BAD("tcp://", "missing port"),
	BAD("tcp://host", "missing port"),
	BAD("tcp://:65536", "bad port"),
	BAD("tcp://:99999", "bad port"),
	BAD("tcp://:123456", "bad port"),
	BAD("tcp://:abc", "bad port"),
	BAD("tcp://:", "bad port"),
	BAD("tcp://:-1", "bad port"),
	BAD("tcp://: 80", "bad port"),
	BAD("http://[::1:8080", "missing ']'"),
	BAD("http://[::1]8080", "missing port after IPv6"),
	BAD("http://[::1]", "missing port after IPv6"),
	BAD("http://::1:8080", "need brackets"),
	BAD("://:80", "empty scheme"),
	BAD("tc p://:80", "malformed scheme"),
	BAD("tcp_x://:80", "malformed scheme"),
	BAD("socsk5://:1080", "unknown scheme \"socsk5\""),
	BAD("htp://:8080", "unknown scheme \"htp\""),
	BAD("socks5+tsl://:1080", "unknown scheme \"tsl\""),
	BAD("sock5+tls://:1080", "unknown scheme \"sock5\""),
	BAD("tcp://:80/a:1,,b:2", "empty forward target"),
	BAD("tcp://:80/a:1,", "empty forward target"),
	BAD("tcp://:80/,a:1", "empty forward target"),
	BAD("tcp://:80/a%zz:1", "malformed forward target"),
	BAD("tcp://u%zz:p@:1", "malformed user information"),
	BAD("tcp://u:p%zz@:1", "malformed user information"),
	BAD("tcp://u%00:p@:1", "malformed user information"),
	BAD("tcp://u:p%4@:1", "malformed user information"),
	BAD("tcp://:80\001", "control character"),
	BAD("tcp://:80/a\n:1", "control character"),
	BAD("tcp://:80\177", "control character"),
	BAD("tcp://:80?=x", "malformed query parameter"),
	BAD("tcp://:80?a=%zz", "malformed query parameter"),
	BAD("tcp://:80?a=%", "malformed query parameter"),
	BAD("http://:80@", "missing port"),
};

static int
check_case(const struct node_case *c)
{
	struct node *n = (struct node *)1;
	char err[256];
	int r, bad = 0;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "FAIL %s:%d: \"%s\": %s\n", __FILE__,	\
		    __LINE__, c->url, #cond);				\
		bad++;							\
	}								\
} while (0)
#define STREQ_NULL(a, b) \
	((a) == NULL || (b) == NULL ? (a) == (b) : strcmp((a), (b)) == 0)

	err[0] = '\0';
	r = node_parse(c->url, &n, err, sizeof(err));
	if (!c->ok) {
		CHECK(r == -1);
		CHECK(n == NULL);
		CHECK(strstr(err, c->errsub) != NULL);
		if (r == 0) {
			node_free(n);
		} else if (strstr(err, c->errsub) == NULL)
			fprintf(stderr, "  message was: %s\n", err);
		return bad;
	}
	if (r != 0 || n == NULL) {
		fprintf(stderr, "FAIL %s:%d: \"%s\" refused: %s\n", __FILE__,
		    __LINE__, c->url, err);
		return 1;
	}
	CHECK(STREQ_NULL(n->scheme, c->scheme));
	CHECK(STREQ_NULL(n->proto, c->proto));
	CHECK(STREQ_NULL(n->transport, c->transport));
	CHECK(STREQ_NULL(n->host, c->host));
	CHECK(n->port == c->port);
	CHECK(STREQ_NULL(n->user, c->user));
	CHECK(STREQ_NULL(n->pass, c->pass));
	CHECK(n->nremotes == c->nremotes);
	if (c->nremotes > 0 && n->nremotes > 0)
		CHECK(STREQ_NULL(n->remotes[0], c->r0));
	if (c->nremotes > 1 && n->nremotes > 1)
		CHECK(STREQ_NULL(n->remotes[1], c->r1));
	if (bad)
		fprintf(stderr, "  got scheme=%s proto=%s transport=%s host=%s "
		    "port=%u user=%s pass=%s nremotes=%zu\n", n->scheme,
		    n->proto, n->transport, n->host, n->port,
		    n->user ? n->user : "(null)", n->pass ? n->pass : "(null)",
		    n->nremotes);
	node_free(n);
	return bad;
#undef CHECK
#undef STREQ_NULL
}

TEST(test_node_table)
{
	size_t i, nok = 0, nbad = 0;

	for (i = 0; i < sizeof(node_cases) / sizeof(node_cases[0]); i++) {
		if (check_case(&node_cases[i]) != 0)
			test_failed++;
		if (node_cases[i].ok)
			nok++;
		else
			nbad++;
	}
	ASSERT(nok + nbad >= 40);
}

TEST(test_node_url_kept)
{
	struct node *n;
	char err[256];

	REQUIRE(node_parse("  tcp://:80/1.2.3.4:5?timeout=3s ", &n, err,
	    sizeof(err)) == 0);
	ASSERT_STREQ(n->url, "tcp://:80/1.2.3.4:5?timeout=3s");
	node_free(n);
	node_free(NULL);
	/* NULL is an empty URL, and err may be NULL. */
	n = (struct node *)1;
	ASSERT_EQ_INT(node_parse(NULL, &n, NULL, 0), -1);
	ASSERT(n == NULL);
	ASSERT_EQ_INT(node_parse("tcp://", &n, err, 0), -1);
	/* A short error buffer is truncated, not overrun. */
	memset(err, 'Z', sizeof(err));
	ASSERT_EQ_INT(node_parse("tcp://:99999", &n, err, 8), -1);
	ASSERT(strlen(err) == 7 && err[8] == 'Z');
}

/* Messages show a URL with its secrets masked; the raw form stays. */
TEST(test_node_display)
{
	static const struct {
		const char	*in, *out;
	} c[] = {
		{ "socks5://u:pw@h:1", "socks5://u:***@h:1" },
		{ "ostp://0123abcd@h:1?turn_pass=x&mtu=1400",
		    "ostp://***@h:1?turn_pass=***&mtu=1400" },
		{ "ss://aes-128-gcm:p@ss@h:2", "ss://aes-128-gcm:***@h:2" },
		{ "tls://h:3?key=/etc/k.pem&auth=dTpw",
		    "tls://h:3?key=/etc/k.pem&auth=***" },
		{ "relay://h:4?key=abc&secret=&x", "relay://h:4?key=***&secret=***&x" },
		{ "tcp://:80/1.2.3.4:5?timeout=3s",
		    "tcp://:80/1.2.3.4:5?timeout=3s" },
		{ ":8080", ":8080" },
	};
	struct node *n;
	char err[256], *d;
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		REQUIRE((d = node_display(c[i].in)) != NULL);
		ASSERT_STREQ(d, c[i].out);
		free(d);
	}
	REQUIRE(node_parse("socks5://u:pw@127.0.0.1:1?timeout=3s", &n, err,
	    sizeof(err)) == 0);
	ASSERT_STREQ(n->url, "socks5://u:***@127.0.0.1:1?timeout=3s");
	ASSERT_STREQ(n->raw, "socks5://u:pw@127.0.0.1:1?timeout=3s");
	ASSERT_EQ_INT(node_param_replace(n, "timeout", "5s"), 0);
	ASSERT_STREQ(n->url, "socks5://u:***@127.0.0.1:1?timeout=5s");
	ASSERT_STREQ(n->raw, "socks5://u:pw@127.0.0.1:1?timeout=5s");
	node_free(n);
	/* an error names the URL without its password */
	ASSERT_EQ_INT(node_parse("http://u:pw@h:99999", &n, err, sizeof(err)),
	    -1);
	ASSERT(strstr(err, "http://u:***@h:99999") != NULL);
	ASSERT(strstr(err, "pw") == NULL);
}

TEST(test_node_params)
{
	struct node_param *p;
	struct node *n;
	char err[256];
	int cnt;

	REQUIRE(node_parse("tcp://:80?a=1&b=2&a=3", &n, err,
	    sizeof(err)) == 0);
	ASSERT_STREQ(node_param(n, "a"), "3");
	ASSERT_STREQ(node_param(n, "b"), "2");
	ASSERT(node_param(n, "c") == NULL);
	ASSERT(node_param(n, "A") == NULL);
	cnt = 0;
	TAILQ_FOREACH(p, &n->params, entry)
		cnt++;
	ASSERT_EQ_INT(cnt, 3);
	ASSERT_EQ_UINT(n->nremotes, 0);
	node_free(n);

	REQUIRE(node_parse("tcp://:80/x:1?x&y=&&k=a+b%20c&%61%62=%3D", &n,
	    err, sizeof(err)) == 0);
	ASSERT_STREQ(node_param(n, "x"), "");
	ASSERT_STREQ(node_param(n, "y"), "");
	ASSERT_STREQ(node_param(n, "k"), "a b c");
	ASSERT_STREQ(node_param(n, "ab"), "=");
	ASSERT_EQ_UINT(n->nremotes, 1);
	cnt = 0;
	TAILQ_FOREACH(p, &n->params, entry)
		cnt++;
	ASSERT_EQ_INT(cnt, 4);
	node_free(n);

	/* The first '=' splits; later ones belong to the value. */
	REQUIRE(node_parse("tcp://:80?net=a=b", &n, err, sizeof(err)) == 0);
	ASSERT_STREQ(node_param(n, "net"), "a=b");
	node_free(n);
}

static int
param_uint(const char *v, unsigned long min, unsigned long max,
    unsigned long *out)
{
	struct node *n;
	char url[256], err[256];
	int r;

	snprintf(url, sizeof(url), "tcp://:1?v=%s", v);
	if (node_parse(url, &n, err, sizeof(err)) != 0)
		return -99;
	err[0] = '\0';
	r = node_param_uint(n, "v", min, max, out, err, sizeof(err));
	if (r < 0 && strstr(err, " for v (") == NULL)
		r = -98;	/* the message must name the key */
	node_free(n);
	return r;
}

static int
param_duration(const char *v, unsigned long *out)
{
	struct node *n;
	char url[256], err[256];
	int r;

	snprintf(url, sizeof(url), "tcp://:1?d=%s", v);
	if (node_parse(url, &n, err, sizeof(err)) != 0)
		return -99;
	err[0] = '\0';
	r = node_param_duration(n, "d", out, err, sizeof(err));
	if (r < 0 && strstr(err, "bad duration") == NULL)
		r = -98;
	node_free(n);
	return r;
}

TEST(test_param_uint)
{
	struct node *n;
	unsigned long v;
	char err[64];

	v = 42;
	ASSERT_EQ_INT(param_uint("5", 1, 10, &v), 1);
	ASSERT_EQ_UINT(v, 5);
	ASSERT_EQ_INT(param_uint("1", 1, 10, &v), 1);
	ASSERT_EQ_UINT(v, 1);
	ASSERT_EQ_INT(param_uint("10", 1, 10, &v), 1);
	ASSERT_EQ_UINT(v, 10);
	ASSERT_EQ_INT(param_uint("007", 1, 10, &v), 1);
	ASSERT_EQ_UINT(v, 7);
	v = 42;
	ASSERT_EQ_INT(param_uint("0", 1, 10, &v), -1);
	ASSERT_EQ_INT(param_uint("11", 1, 10, &v), -1);
	ASSERT_EQ_INT(param_uint("", 0, 10, &v), -1);
	ASSERT_EQ_INT(param_uint("-1", 0, ULONG_MAX, &v), -1);
	ASSERT_EQ_INT(param_uint("+1", 0, 10, &v), -1);
	ASSERT_EQ_INT(param_uint("1x", 0, 10, &v), -1);
	ASSERT_EQ_INT(param_uint("0x10", 0, 100, &v), -1);
	ASSERT_EQ_INT(param_uint("%201", 0, 10, &v), -1);
	ASSERT_EQ_INT(param_uint("1.0", 0, 10, &v), -1);
	ASSERT_EQ_INT(param_uint("18446744073709551616", 0, ULONG_MAX, &v),
	    -1);
	ASSERT_EQ_INT(param_uint("99999999999999999999999", 0, ULONG_MAX,
	    &v), -1);
	ASSERT_EQ_UINT(v, 42);	/* untouched on error */
	ASSERT_EQ_INT(param_uint("18446744073709551615", 0, ULONG_MAX, &v),
	    1);
	ASSERT_EQ_UINT(v, ULONG_MAX);
	ASSERT_EQ_INT(param_uint("65535", 68, 65535, &v), 1);
	ASSERT_EQ_INT(param_uint("65536", 68, 65535, &v), -1);
	ASSERT_EQ_INT(param_uint("67", 68, 65535, &v), -1);

	/* Absent: 0 and the default is kept. */
	REQUIRE(node_parse("tcp://:1?w=3", &n, err, sizeof(err)) == 0);
	v = 42;
	ASSERT_EQ_INT(node_param_uint(n, "v", 0, 10, &v, err, sizeof(err)),
	    0);
	ASSERT_EQ_UINT(v, 42);
	node_free(n);
}

TEST(test_param_duration)
{
	struct node *n;
	unsigned long v;
	char err[64];

	ASSERT_EQ_INT(param_duration("30s", &v), 1);
	ASSERT_EQ_UINT(v, 30000);
	ASSERT_EQ_INT(param_duration("1m", &v), 1);
	ASSERT_EQ_UINT(v, 60000);
	ASSERT_EQ_INT(param_duration("500ms", &v), 1);
	ASSERT_EQ_UINT(v, 500);
	ASSERT_EQ_INT(param_duration("5", &v), 1);
	ASSERT_EQ_UINT(v, 5000);
	ASSERT_EQ_INT(param_duration("1h2m", &v), 1);
	ASSERT_EQ_UINT(v, 3720000);
	ASSERT_EQ_INT(param_duration("1h2m3s", &v), 1);
	ASSERT_EQ_UINT(v, 3723000);
	ASSERT_EQ_INT(param_duration("2m500ms", &v), 1);
	ASSERT_EQ_UINT(v, 120500);
	ASSERT_EQ_INT(param_duration("0", &v), 1);
	ASSERT_EQ_UINT(v, 0);
	ASSERT_EQ_INT(param_duration("0s", &v), 1);
	ASSERT_EQ_UINT(v, 0);
	ASSERT_EQ_INT(param_duration("1h", &v), 1);
	ASSERT_EQ_UINT(v, 3600000);

	v = 42;
	ASSERT_EQ_INT(param_duration("abc", &v), -1);
	ASSERT_EQ_INT(param_duration("", &v), -1);
	ASSERT_EQ_INT(param_duration("-1", &v), -1);
	ASSERT_EQ_INT(param_duration("-1s", &v), -1);
	ASSERT_EQ_INT(param_duration("+1s", &v), -1);
	ASSERT_EQ_INT(param_duration("5x", &v), -1);
	ASSERT_EQ_INT(param_duration("1.5s", &v), -1);
	ASSERT_EQ_INT(param_duration("s", &v), -1);
	ASSERT_EQ_INT(param_duration("5s5", &v), -1);
	ASSERT_EQ_INT(param_duration("5 s", &v), -1);
	ASSERT_EQ_INT(param_duration("1d", &v), -1);
	ASSERT_EQ_INT(param_duration("100000001", &v), -1);
	ASSERT_EQ_INT(param_duration("99999999h", &v), -1);
	ASSERT_EQ_INT(param_duration("99999999999999999999999s", &v), -1);
	ASSERT_EQ_UINT(v, 42);

	REQUIRE(node_parse("tcp://:1", &n, err, sizeof(err)) == 0);
	ASSERT_EQ_INT(node_param_duration(n, "d", &v, err, sizeof(err)), 0);
	ASSERT_EQ_UINT(v, 42);
	node_free(n);
}

/* conf_load() with some serve nodes and nothing else. */
static int
load_serve(struct conf *c, const char *const *serve, size_t nserve,
    char *err, size_t errlen)
{
	struct conf_args a;

	memset(&a, 0, sizeof(a));
	a.serve = (char **)serve;
	a.nserve = nserve;
	err[0] = '\0';
	return conf_load(c, &a, err, errlen);
}

static int
load_one(struct conf *c, const char *url, char *err, size_t errlen)
{
	const char *serve[1] = { url };

	return load_serve(c, serve, 1, err, errlen);
}

/* Write a temporary -C file and load it (plus optional -L nodes). */
static int
load_json(struct conf *c, const char *json, char *err, size_t errlen)
{
	struct conf_args a;
	char path[] = "/tmp/ostp-test-XXXXXX";
	size_t len = strlen(json);
	int fd, r;

	if ((fd = mkstemp(path)) == -1)
		return -99;
	if (write(fd, json, len) != (ssize_t)len) {
		close(fd);
		unlink(path);
		return -99;
	}
	close(fd);
	memset(&a, 0, sizeof(a));
	a.path = path;
	err[0] = '\0';
	r = conf_load(c, &a, err, errlen);
	unlink(path);
	return r;
}

TEST(test_conf_tcp_forward)
{
	const struct sockaddr_in *sin;
	struct conf c;
	char err[256];

	REQUIRE(load_one(&c, "tcp://127.0.0.1:40000/127.0.0.1:9", err,
	    sizeof(err)) == 0);
	ASSERT_EQ_UINT(c.nlis, 1);
	ASSERT_EQ_INT(c.lis[0].kind, LIS_TCP_FORWARD);
	ASSERT_EQ_INT(c.lis[0].socktype, SOCK_STREAM);
	ASSERT_EQ_UINT(c.lis[0].ntargets, 1);
	ASSERT_EQ_UINT(c.lis[0].timeout_ms, CONF_TIMEOUT_DEFAULT);
	sin = (const struct sockaddr_in *)&c.lis[0].addr;
	ASSERT_EQ_INT(sin->sin_family, AF_INET);
	ASSERT_EQ_UINT(ntohs(sin->sin_port), 40000);
	ASSERT_EQ_UINT(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	sin = (const struct sockaddr_in *)&c.lis[0].targets[0];
	ASSERT_EQ_INT(sin->sin_family, AF_INET);
	ASSERT_EQ_UINT(ntohs(sin->sin_port), 9);
	ASSERT_EQ_INT(c.nchain, 0);
	ASSERT_EQ_INT(c.nfiles, 0);
	ASSERT(c.path == NULL);
	ASSERT(conf_tun_by_name(&c, "") == NULL);
	ASSERT(!conf_file_allowed(&c, "/etc/passwd"));
	conf_free(&c);
	ASSERT_EQ_UINT(c.nlis, 0);

	/* Wildcard listen address, two targets, a timeout. */
	REQUIRE(load_one(&c, "tcp://:40000/127.0.0.1:9,[::1]:10?timeout=30s",
	    err, sizeof(err)) == 0);
	ASSERT_EQ_INT(c.lis[0].addr.ss_family, AF_INET6);
	ASSERT_EQ_UINT(c.lis[0].ntargets, 2);
	ASSERT_EQ_INT(c.lis[0].targets[1].ss_family, AF_INET6);
	ASSERT_EQ_UINT(c.lis[0].timeout_ms, 30000);
	conf_free(&c);
}

TEST(test_conf_refused)
{
	struct conf c;
	char err[256];

	ASSERT_EQ_INT(load_one(&c, "tcp://:0/1.2.3.4:5", err, sizeof(err)),
	    -1);
	ASSERT(strstr(err, "port 0") != NULL);
	ASSERT_EQ_UINT(c.nlis, 0);

	ASSERT_EQ_INT(load_one(&c, "ss://aes-999-gcm:pw@:8338", err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "unknown Shadowsocks method \"aes-999-gcm\"") !=
	    NULL);
	ASSERT_EQ_INT(load_one(&c, "ss://aes-128-gcm@:8338", err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "needs a password") != NULL);
	ASSERT_EQ_INT(load_one(&c, "ss://:8338", err, sizeof(err)), -1);
	ASSERT(strstr(err, "needs method:password") != NULL);
	ASSERT_EQ_INT(load_one(&c, "ss://2022-blake3-aes-128-gcm:short@:8338",
	    err, sizeof(err)), -1);
	ASSERT(strstr(err, "base64 key of 16 bytes") != NULL);
	ASSERT_EQ_INT(load_one(&c, "ss://AEAD_CHACHA20_POLY1305:pw@:8338",
	    err, sizeof(err)), 0);
	ASSERT_EQ_INT(c.lis[c.nlis - 1].kind, LIS_SS);
	conf_free(&c);
	/* port ranges: one listener per port, targets at the same offset */
	ASSERT_EQ_INT(load_one(&c, "tcp://:8000-8002/10.0.0.1:9000-9002,"
	    "10.0.0.2:53", err, sizeof(err)), 0);
	ASSERT_EQ_UINT(c.nlis, 3);
	if (c.nlis == 3) {
		ASSERT_EQ_UINT(c.lis[2].node->port, 8002);
		ASSERT_EQ_UINT(c.lis[2].ntargets, 2);
		ASSERT_EQ_UINT(ntohs(((struct sockaddr_in *)
		    &c.lis[2].targets[0])->sin_port), 9002);
		ASSERT_EQ_UINT(ntohs(((struct sockaddr_in *)
		    &c.lis[2].targets[1])->sin_port), 53);
	}
	conf_free(&c);
	ASSERT_EQ_INT(load_one(&c, "udp://:8000-8002/10.0.0.1:9000-9001",
	    err, sizeof(err)), -1);
	ASSERT(strstr(err, "is not as long as the listening range") != NULL);
	ASSERT_EQ_INT(load_one(&c, "tcp://:8002-8000/10.0.0.1:1", err,
	    sizeof(err)), -1);
	ASSERT_EQ_INT(load_one(&c, "udp://:53/10.0.0.1:53?ttl=bogus", err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "ttl") != NULL);
	ASSERT_EQ_INT(load_one(&c, "socks5+kcp://:1080", err, sizeof(err)),
	    -1);
	ASSERT(strstr(err, "not supported in this build") != NULL);
	/* transports: the kind and what each takes from the node */
	ASSERT_EQ_INT(load_one(&c, "socks5+ws://:1080", err, sizeof(err)), 0);
	ASSERT_EQ_INT(c.lis[0].tp.kind, TP_WS);
	ASSERT_STREQ(c.lis[0].tp.path, "/ws");
	conf_free(&c);
	ASSERT_EQ_INT(load_one(&c, "relay+mwss://:1080?path=/x", err,
	    sizeof(err)), 0);
	ASSERT_EQ_INT(c.lis[0].tp.kind, TP_MWSS);
	ASSERT_STREQ(c.lis[0].tp.path, "/x");
	conf_free(&c);
	ASSERT_EQ_INT(load_one(&c, "ss+otls://aes-128-gcm:p@:1080", err,
	    sizeof(err)), 0);
	ASSERT_EQ_INT(c.lis[0].tp.kind, TP_OTLS);
	conf_free(&c);
	/* h2, h2c: CONNECT without path=, GET path with it; ping= */
	ASSERT_EQ_INT(load_one(&c, "socks5+h2://:1080", err, sizeof(err)), 0);
	ASSERT_EQ_INT(c.lis[0].tp.kind, TP_H2);
	ASSERT(c.lis[0].tp.path == NULL);
	ASSERT(conf_tp_tls(&c.lis[0].tp));
	ASSERT_EQ_UINT(c.lis[0].tp.ping_ms, 0);
	conf_free(&c);
	ASSERT_EQ_INT(load_one(&c, "relay+h2c://:1080?path=/t&ping=1m", err,
	    sizeof(err)), 0);
	ASSERT_EQ_INT(c.lis[0].tp.kind, TP_H2C);
	ASSERT_STREQ(c.lis[0].tp.path, "/t");
	ASSERT(!conf_tp_tls(&c.lis[0].tp));
	ASSERT_EQ_UINT(c.lis[0].tp.ping_ms, 60000);
	conf_free(&c);
	ASSERT_EQ_INT(load_one(&c, "relay+h2c://:1080?ping=often", err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "ping") != NULL);
	ASSERT_EQ_INT(load_one(&c, "relay+h2://:1080?path=t", err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "path") != NULL);
	ASSERT_EQ_INT(load_one(&c, "socks5+ws://:1080?path=nopath", err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "path") != NULL);
	ASSERT_EQ_INT(load_one(&c, "http+tls://:1080?cert=/nonexistent", err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "key=") != NULL);

	ASSERT_EQ_INT(load_one(&c, "tcp://:8080", err, sizeof(err)), -1);
	ASSERT(strstr(err, "forward target") != NULL);
	/* a name is resolved at each dial */
	ASSERT_EQ_INT(load_one(&c, "tcp://:8080/host.example:22", err,
	    sizeof(err)), 0);
	ASSERT_STREQ(c.lis[0].targetnames[0], "host.example");
	conf_free(&c);
	ASSERT_EQ_INT(load_one(&c, "tcp://:8080/1.2.3.4:0", err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "bad forward target") != NULL);
	ASSERT_EQ_INT(load_one(&c, "tcp://:8080/1.2.3.4", err, sizeof(err)),
	    -1);
	ASSERT_EQ_INT(load_one(&c, "tcp://u:p@:8080/1.2.3.4:5", err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "user information") != NULL);
	ASSERT_EQ_INT(load_one(&c, "tcp://:8080/1.2.3.4:5?timeout=abc", err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "timeout") != NULL);
	ASSERT_EQ_INT(load_one(&c, "tcp://example.com:8080/1.2.3.4:5", err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "listen address") != NULL);
	ASSERT_EQ_INT(load_one(&c, "tcp://:99999/1.2.3.4:5", err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "bad port") != NULL);

	/* Nothing to serve. */
	ASSERT_EQ_INT(load_serve(&c, NULL, 0, err, sizeof(err)), -1);
	ASSERT(strstr(err, "no listener") != NULL);
}

TEST(test_conf_tun)
{
	const struct listener_conf *l;
	struct conf c;
	char err[256];

	ASSERT_EQ_INT(load_one(&c, "tun://:8421", err, sizeof(err)), -1);
	ASSERT(strstr(err, "net") != NULL);

	ASSERT_EQ_INT(load_one(&c, "tun://:8421?net=10.0.0.1/24&mtu=70000",
	    err, sizeof(err)), -1);
	ASSERT(strstr(err, "mtu") != NULL);
	ASSERT_EQ_INT(load_one(&c, "tun://:8421?net=10.0.0.1/24&mtu=67",
	    err, sizeof(err)), -1);
	ASSERT(strstr(err, "mtu") != NULL);
	ASSERT_EQ_INT(load_one(&c, "tun://:8421?net=10.0.0.1/33", err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "net") != NULL);
	ASSERT_EQ_INT(load_one(&c, "tun://:8421?net=10.0.0.1/24&name=a/b",
	    err, sizeof(err)), -1);
	ASSERT(strstr(err, "name") != NULL);
	ASSERT_EQ_INT(load_one(&c, "tun://:8421?net=10.0.0.1/24&"
	    "name=abcdefghijklmnop", err, sizeof(err)), -1);
	ASSERT_EQ_INT(load_one(&c, "tun://:8421?net=10.0.0.1/24&route=x",
	    err, sizeof(err)), -1);
	ASSERT(strstr(err, "route") != NULL);
	ASSERT_EQ_INT(load_one(&c, "tun://:8421/1.2.3.4:1,1.2.3.4:2?"
	    "net=10.0.0.1/24", err, sizeof(err)), -1);

	REQUIRE(load_one(&c, "tun://:8421?net=10.0.0.1/24&"
	    "route=10.1.0.0/16,10.2.0.0/16&name=t0", err, sizeof(err)) == 0);
	ASSERT_EQ_UINT(c.nlis, 1);
	ASSERT_EQ_INT(c.lis[0].kind, LIS_TUN);
	ASSERT_EQ_INT(c.lis[0].socktype, SOCK_DGRAM);
	ASSERT_STREQ(c.lis[0].tun.name, "t0");
	ASSERT_EQ_UINT(c.lis[0].tun.mtu, CONF_TUN_MTU_DEFAULT);
	ASSERT_EQ_INT(c.lis[0].tun.has_net, 1);
	ASSERT_EQ_INT(c.lis[0].tun.net.family, AF_INET);
	ASSERT_EQ_INT(c.lis[0].tun.net.plen, 24);
	ASSERT_EQ_UINT(c.lis[0].tun.nroutes, 2);
	if (c.lis[0].tun.nroutes == 2)
		ASSERT_EQ_INT(c.lis[0].tun.routes[1].dst.plen, 16);
	l = conf_tun_by_name(&c, "t0");
	ASSERT(l == &c.lis[0]);
	ASSERT(conf_tun_by_name(&c, "t1") == NULL);
	ASSERT(conf_tun_equal(&c.lis[0].tun, &c.lis[0].tun));
	conf_free(&c);

	/* tap needs no net; default names follow the index. */
	REQUIRE(load_one(&c, "tap://:8422", err, sizeof(err)) == 0);
	ASSERT_EQ_INT(c.lis[0].kind, LIS_TAP);
	ASSERT_STREQ(c.lis[0].tun.name, "ostp0");
	conf_free(&c);

	/* Two devices with one name. */
	{
		const char *two[] = { "tun://:1?net=10.0.0.1/24&name=x0",
		    "tap://:2?name=x0" };

		ASSERT_EQ_INT(load_serve(&c, two, 2, err, sizeof(err)), -1);
		ASSERT(strstr(err, "already used") != NULL);
	}
}

TEST(test_conf_chain_refused)
{
	struct conf_args a;
	struct conf c;
	char *serve[] = { "tcp://:40000/127.0.0.1:9" };
	char *chain[] = { "socks5://192.0.2.1:1080" };
	char *badchain[] = { "tcp://" };
	char err[256];

	memset(&a, 0, sizeof(a));
	a.serve = serve;
	a.nserve = 1;
	a.chain = chain;
	a.nchain = 1;
	/* A chain becomes the default outbound of every listener. */
	ASSERT_EQ_INT(conf_load(&c, &a, err, sizeof(err)), 0);
	ASSERT_EQ_INT(c.obs[c.default_ob].type, OB_CHAIN);
	ASSERT_EQ_UINT(c.obs[c.default_ob].nhops, 1);
	ASSERT_EQ_INT(c.obs[c.default_ob].hops[0].kind, HOP_SOCKS5);
	conf_free(&c);
	a.chain = (char *[]){ "ss://aes-128-gcm:x@192.0.2.1:8338" };
	ASSERT_EQ_INT(conf_load(&c, &a, err, sizeof(err)), 0);
	ASSERT_EQ_INT(c.obs[c.default_ob].hops[0].kind, HOP_SS);
	conf_free(&c);
	a.chain = (char *[]){ "ss://rc4:x@192.0.2.1:8338" };
	ASSERT_EQ_INT(conf_load(&c, &a, err, sizeof(err)), -1);
	ASSERT(strstr(err, "unknown Shadowsocks method") != NULL);
	a.chain = (char *[]){ "kcp://192.0.2.1:8338" };
	ASSERT_EQ_INT(conf_load(&c, &a, err, sizeof(err)), -1);
	ASSERT(strstr(err, "not supported for chain nodes") != NULL);
	/* a named first node: resolved at each dial */
	a.chain = (char *[]){ "http://proxy.example:3128" };
	ASSERT_EQ_INT(conf_load(&c, &a, err, sizeof(err)), 0);
	ASSERT_EQ_UINT(c.obs[c.default_ob].hops[0].addrlen, 0);
	ASSERT_STREQ(c.obs[c.default_ob].hops[0].host, "proxy.example");
	conf_free(&c);
	a.chain = (char *[]){ "socks4://u:p@127.0.0.1:1080" };
	ASSERT_EQ_INT(conf_load(&c, &a, err, sizeof(err)), -1);
	ASSERT(strstr(err, "SOCKS4 has no passwords") != NULL);
	a.chain = badchain;
	ASSERT_EQ_INT(conf_load(&c, &a, err, sizeof(err)), -1);
	ASSERT(strstr(err, "missing port") != NULL);

	/* -I is checked. */
	a.chain = NULL;
	a.nchain = 0;
	a.iface = "a/b";
	ASSERT_EQ_INT(conf_load(&c, &a, err, sizeof(err)), -1);
	ASSERT(strstr(err, "-I") != NULL);
	a.iface = "lo";
	ASSERT_EQ_INT(conf_load(&c, &a, err, sizeof(err)), 0);
	ASSERT_STREQ(c.iface, "lo");
	conf_free(&c);
}

TEST(test_conf_json)
{
	struct conf c;
	char err[256];

	REQUIRE(load_json(&c, "{\"ServeNodes\":[\"tcp://127.0.0.1:40001/"
	    "127.0.0.1:9\"],\"Debug\":true}", err, sizeof(err)) == 0);
	ASSERT_EQ_UINT(c.nlis, 1);
	ASSERT_EQ_INT(c.debug, 1);
	ASSERT(c.path != NULL);
	conf_free(&c);

	ASSERT_EQ_INT(load_json(&c, "{\"ServeNodes\":[\"tcp://127.0.0.1:"
	    "40001/127.0.0.1:9\"", err, sizeof(err)), -1);
	ASSERT(strstr(err, "/tmp/ostp-test-") != NULL);
	ASSERT(strchr(err, '\n') == NULL);
	ASSERT_EQ_INT(load_json(&c, "", err, sizeof(err)), -1);

	ASSERT_EQ_INT(load_json(&c, "{\"ServeNodes\":[\"tcp://:40001/"
	    "127.0.0.1:9\"],\"Bogus\":1}", err, sizeof(err)), -1);
	ASSERT(strstr(err, "unknown key \"Bogus\"") != NULL);
	/* Routes: each route's ServeNodes become listeners too. */
	ASSERT_EQ_INT(load_json(&c, "{\"ServeNodes\":[\"tcp://:40001/"
	    "127.0.0.1:9\"],\"Routes\":[{\"ServeNodes\":[\"tcp://:40002/"
	    "127.0.0.1:9\"]}]}", err, sizeof(err)), 0);
	ASSERT_EQ_UINT(c.nlis, 2);
	conf_free(&c);
	/* a route's own Mark and Interface go to its listeners */
	ASSERT_EQ_INT(load_json(&c, "{\"ServeNodes\":[\"tcp://:40001/"
	    "127.0.0.1:9\"],\"Mark\":3,\"Routes\":[{\"Mark\":5,"
	    "\"ServeNodes\":[\"tcp://:40002-40003/127.0.0.1:9\"]},"
	    "{\"interface\":\"lo\",\"ServeNodes\":[\"tcp://:40004/"
	    "127.0.0.1:9\"]}]}", err, sizeof(err)), 0);
	ASSERT_EQ_UINT(c.nlis, 4);
	ASSERT_EQ_UINT(c.lis[0].egress.mark, 0);
	ASSERT_EQ_UINT(c.lis[1].egress.mark, 5);
	ASSERT_EQ_UINT(c.lis[2].egress.mark, 5);
	ASSERT_STREQ(c.lis[3].egress.iface, "lo");
	conf_free(&c);
	/* a chain's probes leave as the listeners that use it */
	REQUIRE(load_json(&c, "{\"ServeNodes\":[\"tcp://:40001/127.0.0.1:9\"],"
	    "\"ChainNodes\":[\"socks5://127.0.0.1:1\"],\"Mark\":3,"
	    "\"Routes\":[{\"Mark\":5,\"ServeNodes\":[\"tcp://:40002/"
	    "127.0.0.1:9\"],\"ChainNodes\":[\"socks5://127.0.0.1:2\"]}]}",
	    err, sizeof(err)) == 0);
	{
		struct egress e;

		ASSERT_EQ_UINT(c.nobs, 2);
		ASSERT_STREQ(c.obs[1].tag, "route0");
		conf_outbound_egress(&c, c.default_ob, &e);
		ASSERT_EQ_UINT(e.mark, 3);
		conf_outbound_egress(&c, 1, &e);
		ASSERT_EQ_UINT(e.mark, 5);
		conf_egress(&c, NULL, &e);
		ASSERT_EQ_UINT(e.mark, 3);
		ASSERT_EQ_INT(conf_egress_allowed(&c, &e), 1);
		e.mark = 4;
		ASSERT_EQ_INT(conf_egress_allowed(&c, &e), 0);
		e.mark = 0;
		ASSERT_EQ_INT(conf_egress_allowed(&c, &e), 0);
	}
	conf_free(&c);
	ASSERT_EQ_INT(load_json(&c, "{\"ServeNodes\":[\"tcp://:40001/"
	    "127.0.0.1:9\"],\"Routes\":[{\"Mark\":\"5\"}]}", err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "Routes[0].Mark must be an integer") != NULL);

	ASSERT_EQ_INT(load_json(&c, "{\"ServeNodes\":\"tcp://:40001/"
	    "127.0.0.1:9\"}", err, sizeof(err)), -1);
	ASSERT(strstr(err, "must be an array") != NULL);
	ASSERT_EQ_INT(load_json(&c, "{\"ServeNodes\":[1]}", err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "must be a string") != NULL);
	ASSERT_EQ_INT(load_json(&c, "[]", err, sizeof(err)), -1);
	ASSERT(strstr(err, "JSON object") != NULL);
	ASSERT_EQ_INT(load_json(&c, "{\"ServeNodes\":[]}", err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "no listener") != NULL);
	ASSERT_EQ_INT(load_json(&c, "{\"Debug\":1,\"ServeNodes\":[\"tcp://"
	    ":40001/127.0.0.1:9\"]}", err, sizeof(err)), -1);
	ASSERT(strstr(err, "Debug") != NULL);

	/* Keys match case-insensitively, as with Go. */
	REQUIRE(load_json(&c, "{\"servenodes\":[\"tcp://:40001/127.0.0.1:9\","
	    "\"tcp://:40002/127.0.0.1:9\"],\"RETRIES\":3,\"mark\":7,"
	    "\"Interface\":\"lo\"}", err, sizeof(err)) == 0);
	ASSERT_EQ_UINT(c.nlis, 2);
	ASSERT_EQ_UINT(c.retries, 3);
	ASSERT_EQ_INT(c.have_mark, 1);
	ASSERT_EQ_UINT(c.mark, 7);
	ASSERT_STREQ(c.iface, "lo");
	conf_free(&c);

	ASSERT_EQ_INT(load_json(&c, "{\"ServeNodes\":[\"tcp://:40001/"
	    "127.0.0.1:9\"],\"Retries\":101}", err, sizeof(err)), -1);
	ASSERT(strstr(err, "Retries") != NULL);
	ASSERT_EQ_INT(load_json(&c, "{\"ServeNodes\":[\"tcp://:40001/"
	    "127.0.0.1:9\"],\"Mark\":-1}", err, sizeof(err)), -1);
	ASSERT(strstr(err, "Mark") != NULL);
	ASSERT_EQ_INT(load_json(&c, "{\"ServeNodes\":[\"tcp://:40001/"
	    "127.0.0.1:9\"],\"Interface\":5}", err, sizeof(err)), -1);
	ASSERT(strstr(err, "Interface") != NULL);
	ASSERT_EQ_INT(load_json(&c, "{\"ServeNodes\":[\"tcp://:40001/"
	    "127.0.0.1:9\"],\"ChainNodes\":[\"http://1.2.3.4:8080\", "
	    "\"socks5://proxy2:1080\"],\"Retries\":3}", err, sizeof(err)), 0);
	ASSERT_EQ_UINT(c.obs[c.default_ob].nhops, 2);
	ASSERT_EQ_UINT(c.obs[c.default_ob].retries, 3);
	conf_free(&c);

	/* A missing file names the path. */
	{
		struct conf_args a;

		memset(&a, 0, sizeof(a));
		a.path = "/nonexistent/ostpd.json";
		ASSERT_EQ_INT(conf_load(&c, &a, err, sizeof(err)), -1);
		ASSERT(strstr(err, "/nonexistent/ostpd.json") != NULL);
		a.path = "/tmp";
		ASSERT_EQ_INT(conf_load(&c, &a, err, sizeof(err)), -1);
		ASSERT(strstr(err, "regular file") != NULL);
	}
}

TEST(test_inet_prefix)
{
	struct inet_prefix p;

	ASSERT_EQ_INT(inet_prefix_parse("10.0.0.1/24", &p), 0);
	ASSERT_EQ_INT(p.family, AF_INET);
	ASSERT_EQ_INT(p.plen, 24);
	ASSERT_EQ_INT(inet_prefix_parse("10.0.0.1", &p), 0);
	ASSERT_EQ_INT(p.plen, 32);
	ASSERT_EQ_INT(inet_prefix_parse("fd00::1/64", &p), 0);
	ASSERT_EQ_INT(p.family, AF_INET6);
	ASSERT_EQ_INT(p.plen, 64);
	ASSERT_EQ_INT(inet_prefix_parse("fd00::1/129", &p), -1);
	ASSERT_EQ_INT(inet_prefix_parse("10.0.0.1/", &p), -1);
	ASSERT_EQ_INT(inet_prefix_parse("10.0.0.1/-1", &p), -1);
	ASSERT_EQ_INT(inet_prefix_parse("10.0.0.1/+8", &p), -1);
	ASSERT_EQ_INT(inet_prefix_parse("10.0.0/8", &p), -1);
	ASSERT_EQ_INT(inet_prefix_parse("", &p), -1);
	ASSERT_EQ_INT(inet_prefix_parse("ffff:ffff:ffff:ffff:ffff:ffff:"
	    "255.255.255.255/128xxxxxxxxxxxxxxx", &p), -1);
}

/* Every mistake, one line each; what failed is not checked again. */
TEST(test_conf_all_errors)
{
	static const char *const serve[] = {
		"socsk5://:1080",
		"tcp://127.0.0.1:2000/127.0.0.1:9",
		"tcp://127.0.0.1:2000/127.0.0.1:9?timeout=x",
		"http://127.0.0.1:2000",
		"tcp://:2001/:22",
	};
	struct conf c;
	char err[2048];
	const char *p;
	int lines = 1;

	ASSERT_EQ_INT(load_serve(&c, serve, sizeof(serve) / sizeof(serve[0]),
	    err, sizeof(err)), -1);
	for (p = err; *p != '\0'; p++)
		lines += *p == '\n';
	ASSERT_EQ_INT(lines, 3);
	ASSERT(strstr(err, "socsk5://:1080: unknown scheme \"socsk5\"") !=
	    NULL);
	ASSERT(strstr(err, "timeout=x: bad duration") != NULL);
	ASSERT(strstr(err, "http://127.0.0.1:2000: TCP port 127.0.0.1:2000 "
	    "is already used by tcp://127.0.0.1:2000/127.0.0.1:9") != NULL);

	/* a target without a host is this host */
	ASSERT_EQ_INT(load_one(&c, "tcp://:2001/:22", err, sizeof(err)), 0);
	ASSERT_EQ_INT(c.lis[0].targets[0].ss_family, AF_INET);
	ASSERT(memcmp(&((struct sockaddr_in *)&c.lis[0].targets[0])->sin_addr,
	    "\x7f\x00\x00\x01", 4) == 0);
	conf_free(&c);
}

int
main(void)
{
	/* conf.c reports unused parameters; keep the output short. */
	if (getenv("TEST_VERBOSE") == NULL)
		log_set_level(LOG_LEVEL_FATAL);
	RUN(test_node_table);
	RUN(test_node_url_kept);
	RUN(test_node_display);
	RUN(test_node_params);
	RUN(test_param_uint);
	RUN(test_param_duration);
	RUN(test_conf_tcp_forward);
	RUN(test_conf_all_errors);
	RUN(test_conf_refused);
	RUN(test_conf_tun);
	RUN(test_conf_chain_refused);
	RUN(test_conf_json);
	RUN(test_inet_prefix);
	return TEST_EXIT();
}
