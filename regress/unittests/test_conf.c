/*
 * The JSON front ends and the model: native JSON (inbounds, outbounds,
 * routing, mux, log), syntax error positions, the -t round trip, the
 * parameter table and the router.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "test.h"

static int
load(struct conf *c, const char *text, char *err, size_t errlen)
{
	struct conf_args a;

	memset(&a, 0, sizeof(a));
	a.path = "t.json";
	a.text = text;
	a.textlen = strlen(text);
	return conf_load(c, &a, err, errlen);
}

static int
load_args(struct conf *c, const char *url, const char *text, char *err,
    size_t errlen)
{
	struct conf_args a;
	char *serve[1] = { (char *)url };

	memset(&a, 0, sizeof(a));
	a.serve = serve;
	a.nserve = url ? 1 : 0;
	if (text != NULL) {
		a.path = "t.json";
		a.text = text;
		a.textlen = strlen(text);
	}
	return conf_load(c, &a, err, errlen);
}

static char *
print(const struct conf *c)
{
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	if (f == NULL || conf_print_json(c, f) != 0)
		return NULL;
	fclose(f);
	return out;
}

static const char native[] =
    "{\n"
    "  \"log\": {\"level\": \"verbose\"},\n"
    "  \"mark\": 7, \"interface\": \"lo\",\n"
    "  \"inbounds\": [\n"
    "    \"tcp://127.0.0.1:2000/127.0.0.1:22\",\n"
    "    {\"tag\": \"web\", \"url\": \"tcp://127.0.0.1:2001/10.1.2.3:80\"},\n"
    "    {\"type\": \"tun\", \"tag\": \"t0\", \"listen\": \":8421\",\n"
    "     \"name\": \"ostp9\", \"net\": \"10.9.0.1/24\", \"mtu\": 1400,\n"
    "     \"routes\": [\"10.10.0.0/16\"]}\n"
    "  ],\n"
    "  \"outbounds\": [{\"type\": \"direct\", \"tag\": \"out\"},\n"
    "                {\"type\": \"block\", \"tag\": \"deny\"}],\n"
    "  \"routing\": {\"rules\": [\n"
    "      {\"ip_cidr\": [\"10.0.0.0/8\"], \"port\": [80, \"8000-8010\"],\n"
    "       \"outbound\": \"deny\"},\n"
    "      {\"inbound\": [\"web\"], \"domain_suffix\": [\"Example.COM\"],\n"
    "       \"outbound\": \"out\"},\n"
    "      {\"domain\": [\"exact.org\"], \"outbound\": \"deny\"}],\n"
    "    \"default_outbound\": \"out\"},\n"
    "  \"mux\": {\"enabled\": false, \"sessions\": 4}\n"
    "}\n";

/* A native inbound's own mark and interface, and what -t prints. */
TEST(test_native_egress)
{
	struct conf c;
	char err[512], *out = NULL;
	size_t outlen = 0;
	FILE *f;

	REQUIRE(load(&c, "{\"inbounds\": ["
	    "{\"url\": \"tcp://:40001/127.0.0.1:9\", \"mark\": 9,"
	    " \"interface\": \"lo\"},"
	    "{\"url\": \"tcp://:40002/127.0.0.1:9\", \"mark\": 0},"
	    "\"tcp://:40003/127.0.0.1:9\"], \"mark\": 2}", err,
	    sizeof(err)) == 0);
	ASSERT_EQ_UINT(c.nlis, 3);
	ASSERT_EQ_UINT(c.lis[0].egress.mark, 9);
	ASSERT_STREQ(c.lis[0].egress.iface, "lo");
	ASSERT_EQ_UINT(c.lis[1].egress.mark, 0);
	ASSERT_EQ_UINT(c.lis[2].egress.mark, 0);
	REQUIRE((f = open_memstream(&out, &outlen)) != NULL);
	ASSERT_EQ_INT(conf_print_json(&c, f), 0);
	fclose(f);
	ASSERT(strstr(out, "\"mark\": 9,") != NULL);
	ASSERT(strstr(out, "\"interface\": \"lo\"") != NULL);
	free(out);
	conf_free(&c);

	ASSERT_EQ_INT(load(&c, "{\"inbounds\": [{\"url\": \"tcp://:40001/"
	    "127.0.0.1:9\", \"mark\": \"9\"}]}", err, sizeof(err)), -1);
	ASSERT(strstr(err, "inbounds[0].mark must be an integer") != NULL);
	ASSERT_EQ_INT(load(&c, "{\"inbounds\": [{\"url\": \"tcp://:40001/"
	    "127.0.0.1:9\", \"interface\": \"a b\"}]}", err, sizeof(err)),
	    -1);
	ASSERT(strstr(err, "inbounds[0].interface must be") != NULL);
}

TEST(test_native_full)
{
	struct conf c;
	char err[512];

	REQUIRE(load(&c, native, err, sizeof(err)) == 0);
	ASSERT_EQ_INT(c.log_level, LOG_LEVEL_VERBOSE);
	ASSERT_EQ_UINT(c.mark, 7);
	ASSERT_STREQ(c.iface, "lo");
	ASSERT_EQ_UINT(c.nlis, 3);
	ASSERT_STREQ(c.lis[0].tag, "in0");
	ASSERT_STREQ(c.lis[1].tag, "web");
	ASSERT_STREQ(c.lis[2].tag, "t0");
	ASSERT_EQ_INT(c.lis[2].kind, LIS_TUN);
	ASSERT_STREQ(c.lis[2].tun.name, "ostp9");
	ASSERT_EQ_UINT(c.lis[2].tun.mtu, 1400);
	ASSERT_EQ_UINT(c.lis[2].tun.nroutes, 1);
	ASSERT_EQ_UINT(c.nobs, 2);
	ASSERT_EQ_INT(c.obs[1].type, OB_BLOCK);
	ASSERT_EQ_UINT(c.nrules, 3);
	ASSERT_EQ_UINT(c.rules[0].nports, 2);
	ASSERT_EQ_UINT(c.rules[0].ports[1].lo, 8000);
	ASSERT_EQ_UINT(c.rules[0].ports[1].hi, 8010);
	ASSERT_STREQ(c.rules[1].domain_suffix[0], "example.com");
	ASSERT_EQ_UINT(c.default_ob, 0);
	ASSERT_EQ_UINT(c.mux_sessions, 4);
	conf_free(&c);
}

static void
sin_set(struct sockaddr_in *sin, const char *ip, int port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sin->sin_addr);
	sin->sin_port = htons((uint16_t)port);
}

TEST(test_router)
{
	struct conf c;
	struct sockaddr_in sin;
	char err[512];

	REQUIRE(load(&c, native, err, sizeof(err)) == 0);
	sin_set(&sin, "10.1.2.3", 80);
	ASSERT_EQ_UINT(router_pick(&c, 0, (struct sockaddr *)&sin, NULL, 0), 1);
	sin_set(&sin, "10.1.2.3", 8005);
	ASSERT_EQ_UINT(router_pick(&c, 0, (struct sockaddr *)&sin, NULL, 0), 1);
	sin_set(&sin, "10.1.2.3", 8011);
	ASSERT_EQ_UINT(router_pick(&c, 0, (struct sockaddr *)&sin, NULL, 0), 0);
	sin_set(&sin, "11.1.2.3", 80);
	ASSERT_EQ_UINT(router_pick(&c, 0, (struct sockaddr *)&sin, NULL, 0), 0);
	/* inbound + domain_suffix: both must hold */
	sin_set(&sin, "192.0.2.1", 443);
	ASSERT_EQ_UINT(router_pick(&c, 1, (struct sockaddr *)&sin,
	    "www.example.com", 0), 0);
	ASSERT_EQ_UINT(router_pick(&c, 1, (struct sockaddr *)&sin,
	    "example.com", 0), 0);
	ASSERT_EQ_UINT(router_pick(&c, 0, (struct sockaddr *)&sin,
	    "exact.org", 0), 1);
	ASSERT_EQ_UINT(router_pick(&c, 0, (struct sockaddr *)&sin,
	    "www.exact.org", 0), 0);
	ASSERT_EQ_UINT(router_pick(&c, 0, (struct sockaddr *)&sin,
	    "badexample.com", 0), 0);
	/* a name not resolved yet: the port comes separately */
	ASSERT_EQ_UINT(router_pick(&c, 0, NULL, "a.test", 8005), 0);
	ASSERT_EQ_UINT(router_pick(&c, 0, NULL, "exact.org", 1), 1);
	conf_free(&c);
}

TEST(test_round_trip)
{
	struct conf c, c2;
	char err[512], *a, *b;

	REQUIRE(load(&c, native, err, sizeof(err)) == 0);
	REQUIRE((a = print(&c)) != NULL);
	conf_free(&c);
	REQUIRE(load(&c2, a, err, sizeof(err)) == 0);
	REQUIRE((b = print(&c2)) != NULL);
	ASSERT_STREQ(a, b);
	ASSERT(strstr(a, "\"url\": \"tun://:8421?name=ostp9&net=10.9.0.1/24"
	    "&mtu=1400&route=10.10.0.0/16\"") != NULL);
	conf_free(&c2);
	free(a);
	free(b);

	/* CLI-only configuration prints a direct default outbound. */
	REQUIRE(load_args(&c, "tcp://:1/127.0.0.1:2", NULL, err,
	    sizeof(err)) == 0);
	REQUIRE((a = print(&c)) != NULL);
	ASSERT(strstr(a, "\"default_outbound\": \"direct\"") != NULL);
	ASSERT(strstr(a, "\"tag\": \"in0\"") != NULL);
	conf_free(&c);
	REQUIRE(load(&c2, a, err, sizeof(err)) == 0);
	REQUIRE((b = print(&c2)) != NULL);
	ASSERT_STREQ(a, b);
	conf_free(&c2);
	free(a);
	free(b);
}

static const struct {
	const char	*text;
	const char	*want;
} bad[] = {
	{ "{\"inbounds\": [\n  \"tcp://:1/1.2.3.4:5\",\n  x]}",
	    "t.json:3:3: lexical error" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"", "t.json:1:35: parse error" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"], \"bogus\": 1}",
	    "unknown key \"bogus\"" },
	{ "{\"inbounds\": {}}", "inbounds must be an array" },
	{ "{\"inbounds\": [7]}", "inbounds[0] must be a node URL or an object" },
	{ "{\"inbounds\": [{\"tag\": \"a b\", \"url\": \"tcp://:1/1.2.3.4:5\"}]}",
	    "inbounds[0]: tag must be" },
	{ "{\"inbounds\": [{\"type\": \"local_proxy\"}]}",
	    "a local_proxy needs \"listen\"" },
	{ "{\"inbounds\": [{\"type\": \"local_proxy\", \"listen\": "
	    "\":1080\", \"protocol\": \"ss\"}]}", "protocol must be" },
	{ "{\"inbounds\": [{\"type\": \"local_proxy\", \"listen\": "
	    "\":1080\", \"user\": \"u\"}]}", "user and password go together" },
	{ "{\"inbounds\": [{\"type\": \"warp\"}]}",
	    "inbound type warp is not supported in this build" },
	{ "{\"inbounds\": [{\"type\": \"tun\", \"mtu\": 10}]}",
	    "mtu must be an integer from 68 to 65535" },
	{ "{\"inbounds\": [{\"type\": \"tun\", \"net\": \"10.0.0.1/24\", "
	    "\"colour\": 1}]}", "inbounds[0]: unknown key \"colour\"" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\", {\"tag\": \"in0\", "
	    "\"url\": \"tcp://:2/1.2.3.4:5\"}]}", "inbound tag \"in0\"" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"], \"outbounds\": "
	    "[{\"type\": \"ostp\", \"tag\": \"o\"}]}",
	    "an ostp outbound needs \"server\" (host:port) and "
	    "\"access_key\"" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"], \"outbounds\": "
	    "[{\"type\": \"ostp\", \"tag\": \"o\", \"server\": \"h:1\", "
	    "\"access_key\": \"k\", \"transport\": {\"mode\": \"quic\"}}]}",
	    "outbounds[0].transport.mode must be \"udp\", \"uot\" or "
	    "\"tcp\"" },
	{ "{\"inbounds\": [{\"type\": \"ostp\", \"listen\": \":1\", "
	    "\"access_keys\": [\"k\"], \"users\": 1}]}",
	    "t.json: inbounds[0]: unknown key \"users\"" },
	{ "{\"inbounds\": [{\"type\": \"ostp\", \"listen\": \":1\", "
	    "\"access_keys\": [\"k\", {\"access_key\": \"k\"}]}]}",
	    "an access key is given twice" },
	{ "{\"inbounds\": [{\"url\": \"tcp://:1/1.2.3.4:5\", "
	    "\"access_keys\": [\"k\"]}]}",
	    "access_keys and file_keys belong to an ostp:// inbound" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"], \"outbounds\": "
	    "[{\"type\": \"warp\", \"tag\": \"o\"}]}", "is unknown" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"], \"outbounds\": "
	    "[{\"type\": \"chain\", \"tag\": \"c\", \"hops\": "
	    "[\"ssh://1.2.3.4:1080\"]}]}",
	    "not supported for chain nodes in this build" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"], \"outbounds\": "
	    "[{\"type\": \"chain\", \"tag\": \"c\", \"hops\": "
	    "[\"socks5://1.2.3.4:1080\"], \"retries\": 500}]}",
	    "retries must be an integer" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"], \"outbounds\": "
	    "[{\"type\": \"direct\", \"tag\": \"c\", \"retries\": 1}]}",
	    "only a chain has hops and retries" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"], \"outbounds\": "
	    "[{\"type\": \"direct\", \"tag\": \"d\"}, {\"type\": \"block\", "
	    "\"tag\": \"d\"}]}", "tag \"d\" is used twice" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"], \"routing\": "
	    "{\"default_outbound\": \"nope\"}}", "default_outbound must name" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"], \"routing\": {\"rules\": "
	    "[{\"port\": [80], \"outbound\": \"nope\"}]}}",
	    "rules[0]: outbound must name" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"], \"routing\": {\"rules\": "
	    "[{\"outbound\": \"direct\"}]}}", "at least one condition" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"], \"routing\": {\"rules\": "
	    "[{\"port\": [70000], \"outbound\": \"direct\"}]}}",
	    "port must be an array" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"], \"routing\": {\"rules\": "
	    "[{\"port\": [\"9-3\"], \"outbound\": \"direct\"}]}}",
	    "port must be an array" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"], \"routing\": {\"rules\": "
	    "[{\"ip_cidr\": [\"10.0.0.0/33\"], \"outbound\": \"direct\"}]}}",
	    "ip_cidr must be" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"], \"routing\": {\"rules\": "
	    "[{\"inbound\": [\"zz\"], \"outbound\": \"direct\"}]}}",
	    "unknown inbound \"zz\"" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"], \"mux\": "
	    "{\"enabled\": true}}", "mux.enabled needs an ostp outbound" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"], \"mux\": "
	    "{\"sessions\": -1}}", "mux.sessions must be" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"], \"log\": "
	    "{\"level\": \"loud\"}}", "log.level must be one of" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"], \"mark\": \"x\"}",
	    "mark must be an integer" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"], \"interface\": "
	    "\"a/b\"}", "interface must be an interface name" },
	{ "{\"inbounds\": []}", "no listener" },
	/* a key twice (the second outbounds leaked the first: fuzz_conf) */
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5\"], \"outbounds\": [], "
	    "\"outbounds\": []}", "key \"outbounds\" is given twice" },
	{ "{\"ServeNodes\": [\"tcp://:1/1.2.3.4:5\"], \"Routes\": [{\"Retries\": "
	    "1, \"Retries\": 2}]}", "key \"Retries\" is given twice" },
	/* the parameter table */
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5?timeout=abc\"]}",
	    "bad duration \"abc\" for timeout" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5?strategy=best\"]}",
	    "bad value \"best\" for strategy (one of round|random|fifo)" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5?retry=x\"]}",
	    "bad value \"x\" for retry (an integer from 0 to 100)" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5?secure=maybe\"]}",
	    "bad value \"maybe\" for secure (true or false)" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5?auth=%%%\"]}",
	    "malformed query parameter" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5?auth=abc\"]}",
	    "bad value \"***\" for auth (base64" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5?probe_resist=code:999\"]}",
	    "for probe_resist" },
	{ "{\"inbounds\": [\"tcp://:1/1.2.3.4:5?prefer=ipv5\"]}",
	    "for prefer" },
	{ "{\"inbounds\": [\"tun://:1?net=10.0.0.1/24&gw=10.0.0.0/8\"]}",
	    "for gw" },
	{ "{\"inbounds\": [\"tun://:1?net=10.0.0.1/24&route=10.0.0.0/40\"]}",
	    "in route" },
};

TEST(test_native_errors)
{
	struct conf c;
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (load(&c, bad[i].text, err, sizeof(err)) == 0) {
			TEST_FAIL_AT("case %zu accepted: %s", i, bad[i].text);
			conf_free(&c);
			continue;
		}
		if (strstr(err, bad[i].want) == NULL)
			TEST_FAIL_AT("case %zu: \"%s\" lacks \"%s\"", i, err,
			    bad[i].want);
		if (strchr(err, '\n') != NULL)
			TEST_FAIL_AT("case %zu: message spans lines", i);
	}
}

TEST(test_params_ok)
{
	struct conf c;
	char err[512];

	/* well-formed values of every type, unknown keys only warn */
	ASSERT_EQ_INT(load_args(&c, "tcp://:1/1.2.3.4:5?timeout=1m30s&"
	    "retry=3&strategy=fifo&secure=true&auth=dXNlcjpwYXNz&"
	    "probe_resist=code:404&prefer=ipv6&max_fails=-1&whatever=1",
	    NULL, err, sizeof(err)), 0);
	ASSERT_EQ_UINT(c.lis[0].timeout_ms, 90000);
	conf_free(&c);
	/* a local proxy inbound is the proxy URL it stands for */
	ASSERT_EQ_INT(load(&c, "{\"inbounds\": [{\"type\": \"local_proxy\", "
	    "\"tag\": \"lp\", \"listen\": \"127.0.0.1:1080\", \"protocol\": "
	    "\"socks5\", \"user\": \"a b\", \"password\": \"p@ss\"}]}", err,
	    sizeof(err)), 0);
	ASSERT_EQ_INT(c.lis[0].kind, LIS_PROXY);
	ASSERT_STREQ(c.lis[0].node->raw, "socks5://a%20b:p%40ss@127.0.0.1:1080");
	ASSERT_STREQ(c.lis[0].user, "a b");
	ASSERT_STREQ(c.lis[0].pass, "p@ss");
	conf_free(&c);
	/* the file replaces -L: inbounds win */
	ASSERT_EQ_INT(load_args(&c, "tcp://:1/1.2.3.4:5",
	    "{\"inbounds\": [\"tcp://:9/1.2.3.4:5\"]}", err, sizeof(err)), 0);
	ASSERT_EQ_UINT(c.nlis, 1);
	ASSERT_EQ_UINT(c.lis[0].node->port, 9);
	conf_free(&c);
	/* without inbounds in the file, -L stays */
	ASSERT_EQ_INT(load_args(&c, "tcp://:1/1.2.3.4:5",
	    "{\"log\": {\"level\": \"error\"}}", err, sizeof(err)), 0);
	ASSERT_EQ_UINT(c.nlis, 1);
	ASSERT_EQ_INT(c.log_level, LOG_LEVEL_ERROR);
	conf_free(&c);
}

TEST(test_gost_routes)
{
	struct conf c;
	char err[512];

	/* each route keeps its own chain; the top level has its own */
	REQUIRE(load(&c, "{\"ServeNodes\":[\"127.0.0.1:1080\"],"
	    "\"ChainNodes\":[\"socks5://127.0.0.1:9050\"],\"Retries\":2,"
	    "\"Routes\":[{\"ServeNodes\":[\"127.0.0.1:1081\"]},"
	    "{\"ServeNodes\":[\"127.0.0.1:1082\",\"127.0.0.1:1083\"],"
	    "\"ChainNodes\":[\"http://127.0.0.1:3128\"],\"Retries\":5}]}", err,
	    sizeof(err)) == 0);
	ASSERT_EQ_UINT(c.nlis, 4);
	ASSERT_STREQ(c.lis[1].tag, "route0-0");
	ASSERT_STREQ(c.lis[3].tag, "route1-1");
	ASSERT_EQ_INT(c.obs[c.default_ob].type, OB_CHAIN);
	ASSERT_EQ_UINT(c.obs[c.default_ob].retries, 2);
	ASSERT_EQ_UINT(router_pick(&c, 0, NULL, "x", 80), c.default_ob);
	ASSERT_EQ_INT(c.obs[router_pick(&c, 1, NULL, "x", 80)].type,
	    OB_DIRECT);
	ASSERT_STREQ(c.obs[router_pick(&c, 3, NULL, "x", 80)].tag, "route1");
	ASSERT_EQ_UINT(c.obs[router_pick(&c, 3, NULL, "x", 80)].retries, 5);
	conf_free(&c);
	/* Routes alone are enough listeners */
	REQUIRE(load(&c, "{\"Routes\":[{\"ServeNodes\":[\"127.0.0.1:1081\"]}]}",
	    err, sizeof(err)) == 0);
	ASSERT_EQ_UINT(c.nlis, 1);
	conf_free(&c);
	ASSERT_EQ_INT(load(&c, "{\"Routes\":[{\"ServeNodes\":[\"127.0.0.1:1"
	    "\"],\"ChainNodes\":[\"ssh://a:b@1.2.3.4:1\"]}]}", err, sizeof(err)),
	    -1);
	ASSERT(strstr(err, "not supported for chain nodes") != NULL);
	ASSERT_EQ_INT(load(&c, "{\"Routes\":[{\"ServeNodes\":[\"127.0.0.1:1"
	    "\"],\"Retries\":-1}]}", err, sizeof(err)), -1);
	ASSERT(strstr(err, "Routes[0].Retries") != NULL);
}

/* gost's http2: protocol and transport only together */
TEST(test_http2)
{
	struct conf c;
	struct hop_conf h;
	char err[512];

	REQUIRE(load_args(&c, "http2://u:p@127.0.0.1:8443?ping=30s", NULL,
	    err, sizeof(err)) == 0);
	ASSERT_EQ_INT(c.lis[0].kind, LIS_PROXY);
	ASSERT_EQ_INT(c.lis[0].tp.kind, TP_HTTP2);
	ASSERT(conf_tp_tls(&c.lis[0].tp));
	ASSERT_EQ_UINT(c.lis[0].tp.ping_ms, 30000);
	ASSERT_STREQ(c.lis[0].user, "u");
	conf_free(&c);
	ASSERT_EQ_INT(load_args(&c, "http2+tls://127.0.0.1:8443", NULL, err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "http2+tls is not supported: the http2 protocol "
	    "runs only on the http2 transport") != NULL);
	ASSERT_EQ_INT(load_args(&c, "socks5+http2://127.0.0.1:8443", NULL,
	    err, sizeof(err)), -1);
	ASSERT(strstr(err, "socks5+http2 is not supported") != NULL);
	REQUIRE(conf_hop_build(&h, "http2://u:p@127.0.0.1:443?agent=ag&"
	    "host=a.example&secure=true", 1, err, sizeof(err)) == 0);
	ASSERT_EQ_INT(h.kind, HOP_HTTP2);
	ASSERT_EQ_INT(h.tp.kind, TP_HTTP2);
	ASSERT_STREQ(h.tp.agent, "ag");
	ASSERT_STREQ(h.tp.sni, "a.example");
	ASSERT_EQ_INT(h.tp.secure, 1);
	ASSERT_STREQ(h.user, "u");
	ASSERT_STREQ(h.pass, "p");
	conf_hop_free(&h);
	ASSERT_EQ_INT(conf_hop_build(&h, "http+http2://127.0.0.1:443", 1, err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "http+http2 is not supported") != NULL);
}

int
main(void)
{
	log_init("test_conf", LOG_LEVEL_ERROR, 0);
	RUN(test_gost_routes);
	RUN(test_native_full);
	RUN(test_native_egress);
	RUN(test_router);
	RUN(test_round_trip);
	RUN(test_native_errors);
	RUN(test_params_ok);
	RUN(test_http2);
	return TEST_EXIT();
}
