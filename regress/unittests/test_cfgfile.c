/*
 * Unit tests for the reloadable file parsers (common/cfgfile.c,
 * spec/gost.md 3.3, 3.5-3.9).
 */
#include "config.h"

#include <sys/socket.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgfile.h"
#include "match.h"
#include "test.h"

enum kind {
	K_SECRETS,
	K_BYPASS,
	K_HOSTS,
	K_PEERS,
	K_RESOLVER,
	K_IPS,
};

static const char *const kind_file[] = {
	"secrets.txt", "bypass.txt", "hosts.txt", "peers.txt", "resolv.txt",
	"ips.txt",
};

/* Parse text of the given kind, freeing whatever was built. */
static int
parse_kind(enum kind k, const char *text, size_t len, char *err,
    size_t errlen)
{
	struct secrets *s;
	struct matcher_set *set;
	struct hosts *h;
	struct peer_conf *pc;
	struct resolver_conf *rc;
	struct ip_list *il;
	unsigned long reload;
	const char *name = kind_file[k];
	int r = -1;

	switch (k) {
	case K_SECRETS:
		s = (struct secrets *)1;
		r = secrets_parse(text, len, name, &s, err, errlen);
		if (r == -1 && s != NULL)
			return -2;
		secrets_free(s);
		break;
	case K_BYPASS:
		set = (struct matcher_set *)1;
		r = bypass_file_parse(text, len, name, &set, &reload, err,
		    errlen);
		if (r == -1 && set != NULL)
			return -2;
		matcher_set_free(set);
		break;
	case K_HOSTS:
		h = (struct hosts *)1;
		r = hosts_parse(text, len, name, &h, err, errlen);
		if (r == -1 && h != NULL)
			return -2;
		hosts_free(h);
		break;
	case K_PEERS:
		pc = (struct peer_conf *)1;
		r = peer_conf_parse(text, len, name, &pc, err, errlen);
		if (r == -1 && pc != NULL)
			return -2;
		peer_conf_free(pc);
		break;
	case K_RESOLVER:
		rc = (struct resolver_conf *)1;
		r = resolver_conf_parse(text, len, name, &rc, err, errlen);
		if (r == -1 && rc != NULL)
			return -2;
		resolver_conf_free(rc);
		break;
	case K_IPS:
		il = (struct ip_list *)1;
		r = ip_list_parse(text, len, name, &il, err, errlen);
		if (r == -1 && il != NULL)
			return -2;
		ip_list_free(il);
		break;
	}
	return r;
}

struct file_case {
	enum kind	 kind;
	const char	*text;
	const char	*prefix;	/* NULL: must parse */
	const char	*errsub;
};

#define GOOD(k, t)		{ k, t, NULL, NULL }
#define BAD(k, t, p, e)		{ k, t, p, e }

static const struct file_case file_cases[] = {
	/* every format: comments, blank lines, reload, empty files */
	GOOD(K_SECRETS, ""),
	GOOD(K_SECRETS, "# only a comment\n\n   \n"),
	GOOD(K_SECRETS, "reload 10s\nalice pw\n"),
	GOOD(K_BYPASS, ""),
	GOOD(K_BYPASS, "# c\n\nreload 1m # why\nreverse false\n*.lan\n"),
	GOOD(K_HOSTS, "\n# c\nreload 500ms\n127.0.0.1 localhost # me\n"),
	GOOD(K_PEERS, "# c\n\nreload 30\npeer http://10.0.0.1:8080\n"),
	GOOD(K_PEERS, "  \n {\"nodes\": []}\n"),
	GOOD(K_RESOLVER, "# c\n\nreload 1h\nsearch a b\noptions x:1\n"
	    "sortlist 10.0.0.0/8\n1.1.1.1\n"),
	GOOD(K_RESOLVER, "nameserver 10.0.0.1\r\nttl 0\r\n"),

	/* secrets */
	BAD(K_SECRETS, "alice pw\nreload 1x\n", "secrets.txt:2: ",
	    "bad duration \"1x\" for reload"),
	BAD(K_SECRETS, "alice pw\nbob x\nreload\n", "secrets.txt:3: ",
	    "reload needs one duration"),
	BAD(K_SECRETS, "reload 1s 2s\n", "secrets.txt:1: ", "bad duration"),

	/* bypass */
	BAD(K_BYPASS, "# c\n\n10.0.0.0/33\n", "bypass.txt:3: ", "bad CIDR"),
	BAD(K_BYPASS, "reverse maybe\n", "bypass.txt:1: ",
	    "reverse needs true or false"),
	BAD(K_BYPASS, "reverse\n", "bypass.txt:1: ", "reverse needs"),
	BAD(K_BYPASS, "a.com\nb.com c.com\n", "bypass.txt:2: ",
	    "one matcher per line"),
	BAD(K_BYPASS, "reload -\n", "bypass.txt:1: ", "bad duration"),
	BAD(K_BYPASS, "reload 1 h\n", "bypass.txt:1: ",
	    "reload needs one duration"),

	/* hosts */
	BAD(K_HOSTS, "127.0.0.1 localhost\n1.2.3.x foo\n", "hosts.txt:2: ",
	    "bad IP address \"1.2.3.x\""),
	BAD(K_HOSTS, "1.2.3.4\n", "hosts.txt:1: ", "missing host name"),
	BAD(K_HOSTS, "reload 5q\n", "hosts.txt:1: ", "bad duration"),
	BAD(K_HOSTS, "::1::2 x\n", "hosts.txt:1: ", "bad IP address"),
	BAD(K_HOSTS, "1.2.3.4 x\tfoo\x01 y\n\n1.2.3.4.5 z\n", "hosts.txt:3: ",
	    "bad IP"),

	/* peers, text */
	BAD(K_PEERS, "strategy best\n", "peers.txt:1: ",
	    "bad strategy \"best\""),
	BAD(K_PEERS, "max_fails x\n", "peers.txt:1: ", "bad max_fails"),
	BAD(K_PEERS, "max_fails 99999999999\n", "peers.txt:1: ",
	    "bad max_fails"),
	BAD(K_PEERS, "fastest_count -1\n", "peers.txt:1: ",
	    "bad fastest_count"),
	BAD(K_PEERS, "\npeer http://\n", "peers.txt:2: ", "bad peer: "),
	BAD(K_PEERS, "peer tcp://:99999\n", "peers.txt:1: ", "bad port"),
	BAD(K_PEERS, "peer\n", "peers.txt:1: ", "peer needs one value"),
	BAD(K_PEERS, "peer a:1 b:2\n", "peers.txt:1: ", "peer needs one"),
	BAD(K_PEERS, "foo bar\n", "peers.txt:1: ",
	    "unknown directive \"foo\""),
	BAD(K_PEERS, "fail_timeout -1s\n", "peers.txt:1: ",
	    "bad duration \"-1s\" for fail_timeout"),
	BAD(K_PEERS, "reload 1d\n", "peers.txt:1: ", "bad duration"),

	/* peers, JSON */
	BAD(K_PEERS, "{\"nodes\": [\"http://1.2.3.4:8080\"", "peers.txt:1: ",
	    "bad JSON"),
	BAD(K_PEERS, "{\n  \"strategy\": \"round\",\n", "peers.txt:2: ",
	    "bad JSON"),
	BAD(K_PEERS, "{\n  \"strategy\": \"round\",\n  x\n}\n",
	    "peers.txt:3: ", "bad JSON"),
	BAD(K_PEERS, "{}\n{}\n", "peers.txt:2: ", "bad JSON"),
	BAD(K_PEERS, "{\"a\":[[[[[1]]]]]}", "peers.txt:1: ", "nested too deep"),
	BAD(K_PEERS, "{\"nodes\":[\"a\\u0000b\"]}", "peers.txt:1: ",
	    "NUL in a string"),
	BAD(K_PEERS, "{\n\"x\": 1}", "peers.txt:2: ", "unknown key \"x\""),
	BAD(K_PEERS, "{\"max_fails\": \"3\"}", "peers.txt:1: ",
	    "bad max_fails"),
	BAD(K_PEERS, "{\"max_fails\": 1.5}", "peers.txt:1: ", "bad max_fails"),
	BAD(K_PEERS, "{\"FailTimeout\": \"30s\"}", "peers.txt:1: ",
	    "bad FailTimeout"),
	BAD(K_PEERS, "{\"strategy\": \"best\"}", "peers.txt:1: ",
	    "bad strategy"),
	BAD(K_PEERS, "{\"nodes\": \"x\"}", "peers.txt:1: ", "array"),
	BAD(K_PEERS, "{\"nodes\": [1]}", "peers.txt:1: ",
	    "nodes[0] is not a string"),
	BAD(K_PEERS, "{\n\"nodes\": [\n\"http://:1\",\n\"bad\"\n]}",
	    "peers.txt:4: ", "bad peer: "),

	/* ip= files */
	GOOD(K_IPS, ""),
	GOOD(K_IPS, "# c\n\nreload 2s\n10.0.0.1\n10.0.0.2:8080 # b\n"
	    "[::1]:1080\n::1\nproxy.example\nproxy.example:3128\n"),
	BAD(K_IPS, "10.0.0.1\n10.0.0.2 10.0.0.3\n", "ips.txt:2: ",
	    "one address per line"),
	BAD(K_IPS, "10.0.0.1:0\n", "ips.txt:1: ", "bad address \"10.0.0.1:0\""),
	BAD(K_IPS, "10.0.0.1:65536\n", "ips.txt:1: ", "bad address"),
	BAD(K_IPS, "10.0.0.1:+80\n", "ips.txt:1: ", "bad address"),
	BAD(K_IPS, "[10.0.0.1]:80\n", "ips.txt:1: ", "bad address"),
	BAD(K_IPS, "[::1]\n", "ips.txt:1: ", "bad address"),
	BAD(K_IPS, "a:1:2\n", "ips.txt:1: ", "bad address"),
	BAD(K_IPS, "bad/host:80\n", "ips.txt:1: ", "bad address"),
	BAD(K_IPS, ":80\n", "ips.txt:1: ", "bad address"),
	BAD(K_IPS, "reload x\n", "ips.txt:1: ", "bad duration"),

	/* resolver */
	BAD(K_RESOLVER, "nameserver 1.2.3.4 quic\n", "resolv.txt:1: ",
	    "bad nameserver protocol \"quic\""),
	BAD(K_RESOLVER, "\n\nnameserver 1.2.3.4:99999\n", "resolv.txt:3: ",
	    "bad nameserver address"),
	BAD(K_RESOLVER, "nameserver 1.2.3.256\n", "resolv.txt:1: ",
	    "bad nameserver address"),
	BAD(K_RESOLVER, "nameserver [1.2.3.4]:53\n", "resolv.txt:1: ",
	    "bad nameserver address"),
	BAD(K_RESOLVER, "frobnicate 1\n", "resolv.txt:1: ",
	    "unknown directive \"frobnicate\""),
	BAD(K_RESOLVER, "timeout -1s\n", "resolv.txt:1: ", "bad duration"),
	BAD(K_RESOLVER, "ttl forever\n", "resolv.txt:1: ", "bad duration"),
	BAD(K_RESOLVER, "prefer ipv5\n", "resolv.txt:1: ",
	    "prefer needs ipv4 or ipv6"),
	BAD(K_RESOLVER, "ip 1.2.3\n", "resolv.txt:1: ", "ip needs one IP"),
	BAD(K_RESOLVER, "nameserver https://\n", "resolv.txt:1: ",
	    "bad DoH URL"),
	BAD(K_RESOLVER, "nameserver https://u@h/x\n", "resolv.txt:1: ",
	    "bad DoH URL"),
	BAD(K_RESOLVER, "nameserver 1.1.1.1 https\n", "resolv.txt:1: ",
	    "bad DoH URL"),
	BAD(K_RESOLVER, "domain a..b\n", "resolv.txt:1: ", "domain needs"),
	BAD(K_RESOLVER, "nameserver\n", "resolv.txt:1: ",
	    "nameserver needs an address"),
	BAD(K_RESOLVER, "nameserver 1.1.1.1 tls bad_host! x\n",
	    "resolv.txt:1: ", "too many fields"),
	BAD(K_RESOLVER, "nameserver 1.1.1.1 tls bad/host\n", "resolv.txt:1: ",
	    "bad nameserver host name"),
};

TEST(test_file_table)
{
	const struct file_case *c;
	char err[512];
	size_t i, ngood = 0, nbad = 0;
	int r;

	for (i = 0; i < sizeof(file_cases) / sizeof(file_cases[0]); i++) {
		c = &file_cases[i];
		err[0] = '\0';
		r = parse_kind(c->kind, c->text, strlen(c->text), err,
		    sizeof(err));
		if (r == -2) {
			TEST_FAIL_AT("case %zu: failure left a result", i);
			continue;
		}
		if (c->prefix == NULL) {
			ngood++;
			if (r != 0)
				TEST_FAIL_AT("case %zu (%s) refused: %s", i,
				    kind_file[c->kind], err);
			continue;
		}
		nbad++;
		if (r != -1) {
			TEST_FAIL_AT("case %zu (%s) accepted", i,
			    kind_file[c->kind]);
			continue;
		}
		if (strncmp(err, c->prefix, strlen(c->prefix)) != 0 ||
		    strstr(err, c->errsub) == NULL)
			TEST_FAIL_AT("case %zu: message \"%s\", want \"%s\" "
			    "... \"%s\"", i, err, c->prefix, c->errsub);
		if (strchr(err, '\n') != NULL)
			TEST_FAIL_AT("case %zu: message has a newline", i);
	}
	ASSERT(ngood >= 10);
	ASSERT(nbad >= 50);
}

/* Bounds and bytes every format shares. */
TEST(test_file_bounds)
{
	struct hosts *h;
	char err[512], *buf;
	size_t i, len;
	int k;

	REQUIRE((buf = malloc(2 * CFG_MAX_LINE + 16)) != NULL);
	for (k = K_SECRETS; k <= K_RESOLVER; k++) {
		/* a long comment line: exactly the bound is fine */
		memcpy(buf, "# c\n#", 5);
		memset(buf + 5, 'a', CFG_MAX_LINE - 1);
		len = 4 + CFG_MAX_LINE;
		buf[len++] = '\n';
		ASSERT_EQ_INT(parse_kind(k, buf, len, err, sizeof(err)), 0);
		/* CRLF does not count */
		buf[len - 1] = '\r';
		buf[len++] = '\n';
		ASSERT_EQ_INT(parse_kind(k, buf, len, err, sizeof(err)), 0);
		/* one more byte is too long, named with its line */
		buf[len - 2] = 'a';
		buf[len - 1] = 'a';
		ASSERT_EQ_INT(parse_kind(k, buf, len, err, sizeof(err)), -1);
		if (strncmp(err, kind_file[k], strlen(kind_file[k])) != 0 ||
		    strstr(err, ":2: line too long") == NULL)
			TEST_FAIL_AT("%s: %s", kind_file[k], err);
		/* NUL bytes are refused */
		ASSERT_EQ_INT(parse_kind(k, "# a\n#b\0c\n", 9, err,
		    sizeof(err)), -1);
		ASSERT(strstr(err, ":2: NUL byte") != NULL);
		/* too many fields */
		for (i = 0, len = 0; i <= CFG_MAX_FIELDS; i++) {
			memcpy(buf + len, "1.2.3.4 ", 8);
			len += 8;
		}
		ASSERT_EQ_INT(parse_kind(k, buf, len, err, sizeof(err)),
		    k == K_SECRETS ? 0 : -1);
		if (k != K_SECRETS)
			ASSERT(strstr(err, ":1: too many fields") != NULL);
	}
	/* the default name, and a NULL err */
	h = (struct hosts *)1;
	ASSERT_EQ_INT(hosts_parse("x", 1, NULL, &h, err, sizeof(err)), -1);
	ASSERT(h == NULL);
	ASSERT(strncmp(err, "(input):1: ", 11) == 0);
	ASSERT_EQ_INT(parse_kind(K_HOSTS, "x", 1, NULL, 0), -1);
	free(buf);
}

TEST(test_file_entry_limit)
{
	char err[256], *buf;
	size_t len, i;

	len = 2 * (CFG_MAX_ENTRIES + 1);
	REQUIRE((buf = malloc(len)) != NULL);
	for (i = 0; i < CFG_MAX_ENTRIES + 1; i++) {
		buf[2 * i] = 'u';
		buf[2 * i + 1] = '\n';
	}
	ASSERT_EQ_INT(parse_kind(K_SECRETS, buf, len - 2, err, sizeof(err)),
	    0);
	ASSERT_EQ_INT(parse_kind(K_SECRETS, buf, len, err, sizeof(err)), -1);
	ASSERT(strstr(err, "secrets.txt:100001: too many entries") != NULL);
	ASSERT_EQ_INT(parse_kind(K_BYPASS, buf, len, err, sizeof(err)), -1);
	ASSERT(strstr(err, "bypass.txt:100001: too many entries") != NULL);
	free(buf);
}

struct duration_case {
	const char	*s;
	int		 ok;
	long long	 ms;
};

static const struct duration_case duration_cases[] = {
	{ "30s", 1, 30000 },
	{ "1m", 1, 60000 },
	{ "500ms", 1, 500 },
	{ "1h2m3s", 1, 3723000 },
	{ "1h0.5m", 1, 3630000 },
	{ "10", 1, 10000 },
	{ "0", 1, 0 },
	{ "+5", 1, 5000 },
	{ "-5", 1, -5000 },
	{ "-1s", 1, -1000 },
	{ "1.5s", 1, 1500 },
	{ ".5s", 1, 500 },
	{ "5.s", 1, 5000 },
	{ "1.5h", 1, 5400000 },
	{ "100us", 1, 0 },
	{ "1500\xc2\xb5s", 1, 1 },
	{ "2000000ns", 1, 2 },
	{ "1.0000009s", 1, 1000 },
	{ "100000000", 1, 100000000000LL },
	{ "27777h46m40s", 1, 100000000000LL },
	{ "", 0, 0 },
	{ "s", 0, 0 },
	{ "-", 0, 0 },
	{ ".s", 0, 0 },
	{ "1x", 0, 0 },
	{ "1.5", 0, 0 },
	{ "1s2", 0, 0 },
	{ "1 s", 0, 0 },
	{ "1d", 0, 0 },
	{ "--1s", 0, 0 },
	{ "100000001", 0, 0 },
	{ "27777h46m41s", 0, 0 },
	{ "99999999999999999999999s", 0, 0 },
	{ "9223372036854775807ns", 0, 0 },
};

TEST(test_duration)
{
	const struct duration_case *c;
	long long ms;
	size_t i;
	int r;

	for (i = 0; i < sizeof(duration_cases) / sizeof(duration_cases[0]);
	    i++) {
		c = &duration_cases[i];
		ms = -42;
		r = cfg_parse_duration(c->s, &ms);
		if (c->ok && (r != 0 || ms != c->ms))
			TEST_FAIL_AT("\"%s\": r=%d ms=%lld, want %lld", c->s,
			    r, ms, c->ms);
		if (!c->ok && r != -1)
			TEST_FAIL_AT("\"%s\" accepted (%lld)", c->s, ms);
	}
	ASSERT_EQ_INT(cfg_parse_duration(NULL, &ms), -1);
}

TEST(test_secrets)
{
	static const char text[] =
	    "# users\n"
	    "alice  secret\n"
	    " bob\tpass word with # hash  \n"
	    "   # an indented comment\n"
	    "carol\n"
	    "dave #pw\n"
	    "erin\tx\ty\n"
	    "reload 10s\r\n"
	    "alice newpass\n"
	    "frank last";
	struct secrets *s, *empty;
	char err[256];

	REQUIRE(secrets_parse(text, strlen(text), "s", &s, err,
	    sizeof(err)) == 0);
	ASSERT_EQ_UINT(secrets_count(s), 7);
	ASSERT_EQ_UINT(s->reload_ms, 10000);
	/* the last line for a user wins */
	ASSERT_EQ_INT(secrets_check(s, "alice", "newpass"), 1);
	ASSERT_EQ_INT(secrets_check(s, "alice", "secret"), 0);
	/* '#' is data unless it starts the line */
	ASSERT_EQ_INT(secrets_check(s, "bob", "pass word with # hash"), 1);
	ASSERT_EQ_INT(secrets_check(s, "bob", "pass word with"), 0);
	ASSERT_EQ_INT(secrets_check(s, "dave", "#pw"), 1);
	ASSERT_EQ_INT(secrets_check(s, "#", ""), 0);
	/* a single token is a user with an empty password */
	ASSERT_EQ_INT(secrets_check(s, "carol", ""), 1);
	ASSERT_EQ_INT(secrets_check(s, "carol", NULL), 1);
	ASSERT_EQ_INT(secrets_check(s, "carol", "x"), 0);
	/* tabs became spaces, inside the password too */
	ASSERT_EQ_INT(secrets_check(s, "erin", "x y"), 1);
	ASSERT_EQ_INT(secrets_check(s, "erin", "x\ty"), 0);
	ASSERT_EQ_INT(secrets_check(s, "frank", "last"), 1);
	ASSERT_EQ_INT(secrets_check(s, "frank", "las"), 0);
	ASSERT_EQ_INT(secrets_check(s, "frank", "lastt"), 0);
	ASSERT_EQ_INT(secrets_check(s, "Alice", "newpass"), 0);
	ASSERT_EQ_INT(secrets_check(s, "nobody", ""), 0);
	ASSERT_EQ_INT(secrets_check(s, NULL, ""), 0);
	secrets_free(s);

	/* zero entries: the caller accepts everyone, as gost */
	REQUIRE(secrets_parse("# none\nreload 0\n", 16, "s", &empty, err,
	    sizeof(err)) == 0);
	ASSERT_EQ_UINT(secrets_count(empty), 0);
	ASSERT_EQ_UINT(empty->reload_ms, 0);
	ASSERT_EQ_INT(secrets_check(empty, "x", ""), 0);
	ASSERT_EQ_UINT(secrets_count(NULL), 0);
	secrets_free(empty);
	secrets_free(NULL);
	/* sub-second reloads are raised to gost's one second */
	REQUIRE(secrets_parse("reload 10ms", 11, "s", &s, err,
	    sizeof(err)) == 0);
	ASSERT_EQ_UINT(s->reload_ms, 1000);
	secrets_free(s);
	REQUIRE(secrets_parse("reload -5s", 10, "s", &s, err,
	    sizeof(err)) == 0);
	ASSERT_EQ_UINT(s->reload_ms, 0);
	secrets_free(s);
}

TEST(test_bypass_file)
{
	static const char text[] =
	    "# bypass\n"
	    "reload 30s   # trailing comment\n"
	    "reverse true\n"
	    "\n"
	    "10.0.0.0/8\n"
	    "*.example.com# glued comment\n"
	    ".corp\n";
	struct matcher_set *set, *inl;
	unsigned long reload;
	char err[256];

	REQUIRE(bypass_file_parse(text, strlen(text), "b", &set, &reload, err,
	    sizeof(err)) == 0);
	ASSERT_EQ_UINT(set->count, 3);
	ASSERT_EQ_INT(set->reversed, 1);
	ASSERT_EQ_UINT(reload, 30000);
	ASSERT_EQ_INT(bypass_match(set, "10.1.1.1:80"), 0);
	ASSERT_EQ_INT(bypass_match(set, "a.example.com"), 0);
	ASSERT_EQ_INT(bypass_match(set, "x.corp"), 0);
	ASSERT_EQ_INT(bypass_match(set, "github.com"), 1);
	matcher_set_free(set);

	/*
	 * gost quirk: with "~/path/file" the list would be reversed, but
	 * the file's own reverse (default false) wins.
	 */
	REQUIRE(matcher_set_parse_list("~a.com", &inl, err, sizeof(err)) ==
	    0);
	ASSERT_EQ_INT(inl->reversed, 1);
	matcher_set_free(inl);
	REQUIRE(bypass_file_parse("a.com\n", 6, "b", &set, &reload, err,
	    sizeof(err)) == 0);
	ASSERT_EQ_INT(set->reversed, 0);
	ASSERT_EQ_UINT(reload, 0);
	ASSERT_EQ_INT(bypass_match(set, "a.com"), 1);
	matcher_set_free(set);
	REQUIRE(bypass_file_parse("reverse 1\nreverse False\na.com", 29, "b",
	    &set, &reload, err, sizeof(err)) == 0);
	ASSERT_EQ_INT(set->reversed, 0);
	matcher_set_free(set);
}

TEST(test_hosts)
{
	static const char text[] =
	    "# hosts\n"
	    "127.0.0.1 localhost\n"
	    "10.0.0.1 alpha a1 shared\n"
	    "10.0.0.2 beta shared  # comment\n"
	    "10.0.0.3\ta1\n"
	    "10.0.0.4 alpha\n"
	    "::1 ip6-localhost ip6-loopback\n"
	    "::ffff:192.0.2.1 mapped\n"
	    "reload 1m\n";
	const struct hosts_entry *e;
	struct hosts *h;
	char err[256];

	REQUIRE(hosts_parse(text, strlen(text), "h", &h, err,
	    sizeof(err)) == 0);
	ASSERT_EQ_UINT(h->n, 7);
	ASSERT_EQ_UINT(h->reload_ms, 60000);
	/* a canonical name stops the scan at its first line */
	REQUIRE((e = hosts_lookup(h, "alpha")) != NULL);
	ASSERT_STREQ(e->ip, "10.0.0.1");
	ASSERT_EQ_INT(e->family, AF_INET);
	/* alias hit on line 3, overridden by the canonical name on line 5 */
	REQUIRE((e = hosts_lookup(h, "a1")) != NULL);
	ASSERT_STREQ(e->ip, "10.0.0.3");
	/* two alias hits: the later line wins */
	REQUIRE((e = hosts_lookup(h, "shared")) != NULL);
	ASSERT_STREQ(e->ip, "10.0.0.2");
	REQUIRE((e = hosts_lookup(h, "ALPHA")) != NULL);
	ASSERT_STREQ(e->ip, "10.0.0.1");
	REQUIRE((e = hosts_lookup(h, "ip6-loopback")) != NULL);
	ASSERT_STREQ(e->ip, "::1");
	ASSERT_EQ_INT(e->family, AF_INET6);
	ASSERT_EQ_UINT(e->naliases, 1);
	REQUIRE((e = hosts_lookup(h, "mapped")) != NULL);
	ASSERT_STREQ(e->ip, "::ffff:192.0.2.1");
	ASSERT(hosts_lookup(h, "nobody") == NULL);
	ASSERT(hosts_lookup(h, "") == NULL);
	ASSERT(hosts_lookup(h, NULL) == NULL);
	ASSERT(hosts_lookup(NULL, "alpha") == NULL);
	hosts_free(h);
	hosts_free(NULL);
}

TEST(test_peers)
{
	static const char text[] =
	    "# peers\n"
	    "strategy fifo\n"
	    "max_fails 3\n"
	    "fail_timeout 1m\n"
	    "fastest_count 2\n"
	    "reload 5s\n"
	    "peer http://10.0.0.1:8080\n"
	    "peer socks5://user:pass@10.0.0.2:1080 # comment\n";
	static const char json[] =
	    "{\n"
	    "  \"strategy\": \"random\",\n"
	    "  \"MAX_FAILS\": -1,\n"
	    "  \"FailTimeout\": 30000000000,\n"
	    "  \"fastest_count\": null,\n"
	    "  \"nodes\": [\"http://10.0.0.1:8080\",\n"
	    "    \"relay+tls://10.0.0.2:443\"]\n"
	    "}\n";
	struct peer_conf *pc;
	char err[256];

	REQUIRE(peer_conf_parse(text, strlen(text), "p", &pc, err,
	    sizeof(err)) == 0);
	ASSERT(pc->has_strategy && pc->strategy == PEER_STRATEGY_FIFO);
	ASSERT(pc->has_max_fails && pc->max_fails == 3);
	ASSERT(pc->has_fail_timeout && pc->fail_timeout_ms == 60000);
	ASSERT(pc->has_fastest_count && pc->fastest_count == 2);
	ASSERT_EQ_UINT(pc->reload_ms, 5000);
	REQUIRE(pc->nurls == 2);
	ASSERT_STREQ(pc->urls[0], "http://10.0.0.1:8080");
	ASSERT_STREQ(pc->urls[1], "socks5://user:pass@10.0.0.2:1080");
	peer_conf_free(pc);

	REQUIRE(peer_conf_parse(json, strlen(json), "p", &pc, err,
	    sizeof(err)) == 0);
	ASSERT(pc->has_strategy && pc->strategy == PEER_STRATEGY_RANDOM);
	ASSERT(pc->has_max_fails && pc->max_fails == -1);
	ASSERT(pc->has_fail_timeout && pc->fail_timeout_ms == 30000);
	ASSERT(!pc->has_fastest_count);
	ASSERT_EQ_UINT(pc->reload_ms, 0);
	REQUIRE(pc->nurls == 2);
	ASSERT_STREQ(pc->urls[1], "relay+tls://10.0.0.2:443");
	peer_conf_free(pc);

	/* nothing set: defaults are the caller's */
	REQUIRE(peer_conf_parse("", 0, "p", &pc, err, sizeof(err)) == 0);
	ASSERT(!pc->has_strategy && !pc->has_max_fails &&
	    !pc->has_fail_timeout && pc->nurls == 0);
	peer_conf_free(pc);
	peer_conf_free(NULL);
}

TEST(test_resolver)
{
	static const char text[] =
	    "# resolver\n"
	    "timeout 3s\n"
	    "ttl -1s\n"
	    "reload 10s\n"
	    "domain example.org\n"
	    "prefer IPv6\n"
	    "ip 192.0.2.1\n"
	    "search foo bar\n"
	    "options ndots:2\n"
	    "nameserver 1.1.1.1\n"
	    "nameserver 8.8.8.8:5353 tcp\n"
	    "nameserver 1.1.1.1 tls cloudflare-dns.com\n"
	    "nameserver https://1.0.0.1/dns-query https\n"
	    "2001:4860:4860::8888 udp-chain\n"
	    "dns.google TLS\n"
	    "[2001:db8::1]:5300 tcp-chain\n"
	    "https-chain://dns.example:8443/q?x=1\n";
	struct resolver_conf *rc;
	char err[256];

	REQUIRE(resolver_conf_parse(text, strlen(text), "r", &rc, err,
	    sizeof(err)) == 0);
	ASSERT(rc->has_timeout && rc->timeout_ms == 3000);
	ASSERT(rc->has_ttl && rc->ttl_ms == -1000);
	ASSERT_EQ_UINT(rc->reload_ms, 10000);
	ASSERT_STREQ(rc->domain, "example.org");
	ASSERT_EQ_INT(rc->prefer, AF_INET6);
	ASSERT(rc->has_ip && rc->ip_family == AF_INET);
	REQUIRE(rc->nns == 8);
	ASSERT_STREQ(rc->ns[0].addr, "1.1.1.1:53");
	ASSERT_EQ_INT(rc->ns[0].proto, NS_PROTO_UDP);
	ASSERT(rc->ns[0].hostname == NULL && !rc->ns[0].chain);
	ASSERT_STREQ(rc->ns[1].addr, "8.8.8.8:5353");
	ASSERT_EQ_INT(rc->ns[1].proto, NS_PROTO_TCP);
	ASSERT_STREQ(rc->ns[2].addr, "1.1.1.1:853");
	ASSERT_EQ_INT(rc->ns[2].proto, NS_PROTO_TLS);
	ASSERT_STREQ(rc->ns[2].hostname, "cloudflare-dns.com");
	ASSERT_STREQ(rc->ns[3].addr, "https://1.0.0.1/dns-query");
	ASSERT_EQ_INT(rc->ns[3].proto, NS_PROTO_HTTPS);
	ASSERT_STREQ(rc->ns[4].addr, "[2001:4860:4860::8888]:53");
	ASSERT(rc->ns[4].chain && rc->ns[4].proto == NS_PROTO_UDP);
	ASSERT_STREQ(rc->ns[5].addr, "dns.google:853");
	ASSERT_STREQ(rc->ns[6].addr, "[2001:db8::1]:5300");
	ASSERT(rc->ns[6].chain && rc->ns[6].proto == NS_PROTO_TCP);
	ASSERT_STREQ(rc->ns[7].addr, "https://dns.example:8443/q?x=1");
	ASSERT(rc->ns[7].chain && rc->ns[7].proto == NS_PROTO_HTTPS);
	resolver_conf_free(rc);
	resolver_conf_free(NULL);
}

TEST(test_resolver_list)
{
	struct resolver_conf *rc;
	char err[256];

	REQUIRE(resolver_conf_parse_list("1.1.1.1, 8.8.8.8:53/tcp,, "
	    "https://dns.google/dns-query ,https-chain://1.1.1.1/dns-query,"
	    "[::1]:5353/tls-chain", &rc, err, sizeof(err)) == 0);
	REQUIRE(rc->nns == 5);
	ASSERT_STREQ(rc->ns[0].addr, "1.1.1.1:53");
	ASSERT_STREQ(rc->ns[1].addr, "8.8.8.8:53");
	ASSERT_EQ_INT(rc->ns[1].proto, NS_PROTO_TCP);
	ASSERT_STREQ(rc->ns[2].addr, "https://dns.google/dns-query");
	ASSERT(rc->ns[2].proto == NS_PROTO_HTTPS && !rc->ns[2].chain);
	ASSERT_STREQ(rc->ns[3].addr, "https://1.1.1.1/dns-query");
	ASSERT(rc->ns[3].proto == NS_PROTO_HTTPS && rc->ns[3].chain);
	ASSERT_STREQ(rc->ns[4].addr, "[::1]:5353");
	ASSERT(rc->ns[4].proto == NS_PROTO_TLS && rc->ns[4].chain);
	resolver_conf_free(rc);

	REQUIRE(resolver_conf_parse_list("", &rc, err, sizeof(err)) == 0);
	ASSERT_EQ_UINT(rc->nns, 0);
	resolver_conf_free(rc);
	ASSERT_EQ_INT(resolver_conf_parse_list("1.1.1.1/quic", &rc, err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "dns entry \"1.1.1.1/quic\": bad nameserver "
	    "protocol") != NULL);
	ASSERT_EQ_INT(resolver_conf_parse_list("a.b/tcp/x", &rc, err,
	    sizeof(err)), -1);
	ASSERT_EQ_INT(resolver_conf_parse_list("httpsx", &rc, err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "bad DoH URL") != NULL);
	ASSERT_EQ_INT(resolver_conf_parse_list("1.1.1.1:0", &rc, err,
	    sizeof(err)), -1);
	ASSERT(rc == NULL);
}

/*
 * Every reloadable result starts with one reference (ref.h); a user's
 * reference keeps it alive after the slot let go, and the last put
 * frees it (ASan builds see any use after that).
 */
TEST(test_refs)
{
	static const char sec[] = "alice wonderland\n";
	static const char hst[] = "127.0.0.1 backend\n";
	static const char byp[] = "10.0.0.0/8\n";
	static const char per[] = "peer socks5://127.0.0.1:1080\n";
	static const char res[] = "127.0.0.1:53 udp\n";
	struct secrets *s, *user;
	struct hosts *h;
	struct matcher_set *m;
	struct peer_conf *pc;
	struct resolver_conf *rc;
	unsigned long ms;
	char err[256];

	ASSERT_EQ_INT(secrets_parse(sec, sizeof(sec) - 1, "s", &s, err,
	    sizeof(err)), 0);
	ASSERT_EQ_UINT(s->ref.n, 1);
	user = ref_get(s);
	ASSERT(user == s);
	ASSERT_EQ_UINT(s->ref.n, 2);
	ref_put(s);			/* the slot lets go */
	ASSERT_EQ_INT(secrets_check(user, "alice", "wonderland"), 1);
	ref_put(user);			/* freed here */
	ASSERT(ref_get(NULL) == NULL);
	ref_put(NULL);

	ASSERT_EQ_INT(hosts_parse(hst, sizeof(hst) - 1, "h", &h, err,
	    sizeof(err)), 0);
	ASSERT_EQ_UINT(h->ref.n, 1);
	ref_put(h);
	ASSERT_EQ_INT(bypass_file_parse(byp, sizeof(byp) - 1, "b", &m, &ms,
	    err, sizeof(err)), 0);
	ASSERT_EQ_UINT(m->ref.n, 1);
	ref_put(m);
	ASSERT_EQ_INT(peer_conf_parse(per, sizeof(per) - 1, "p", &pc, err,
	    sizeof(err)), 0);
	ASSERT_EQ_UINT(pc->ref.n, 1);
	ref_put(pc);
	ASSERT_EQ_INT(resolver_conf_parse(res, sizeof(res) - 1, "r", &rc, err,
	    sizeof(err)), 0);
	ASSERT_EQ_UINT(rc->ref.n, 1);
	ref_put(rc);
	ASSERT_EQ_INT(resolver_conf_parse_list("1.1.1.1", &rc, err,
	    sizeof(err)), 0);
	ASSERT_EQ_UINT(rc->ref.n, 1);
	ref_put(rc);
}

int
main(void)
{
	RUN(test_file_table);
	RUN(test_file_bounds);
	RUN(test_file_entry_limit);
	RUN(test_duration);
	RUN(test_secrets);
	RUN(test_bypass_file);
	RUN(test_hosts);
	RUN(test_peers);
	RUN(test_resolver);
	RUN(test_resolver_list);
	RUN(test_refs);
	return TEST_EXIT();
}
