/*
 * Unit tests for the bypass matchers and permission rules
 * (common/match.c, spec/gost.md 3.3 and 3.4).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"
#include "test.h"

struct bypass_case {
	const char	*list;
	const char	*addr;
	int		 bypass;
};

static const struct bypass_case bypass_cases[] = {
	/* IP literals */
	{ "192.168.1.1", "192.168.1.1", 1 },
	{ "192.168.1.1", "192.168.1.1:8080", 1 },
	{ "192.168.1.1", "192.168.1.2", 0 },
	{ "::1", "[::1]:80", 1 },
	{ "::1", "[::1]", 1 },
	{ "::1", "::1", 1 },
	{ "::1", "::2", 0 },
	{ "1.2.3.4", "[::ffff:1.2.3.4]:80", 1 },
	{ "10.0.0.1", "10.0.0.1.example.com", 0 },
	/* CIDRs */
	{ "10.0.0.0/8", "10.1.2.3", 1 },
	{ "10.0.0.0/8", "10.1.2.3:443", 1 },
	{ "10.0.0.0/8", "11.0.0.1", 0 },
	{ "10.1.2.3/8", "10.200.0.1", 1 },
	{ "10.0.0.0/8", "::ffff:10.0.0.1", 1 },
	{ "192.168.0.0/23", "192.168.1.255", 1 },
	{ "192.168.0.0/23", "192.168.2.0", 0 },
	{ "0.0.0.0/0", "8.8.8.8", 1 },
	{ "0.0.0.0/0", "::1", 0 },
	{ "2001:db8::/32", "[2001:db8::1]:443", 1 },
	{ "2001:db8::/32", "2001:db8:ffff::1", 1 },
	{ "2001:db8::/32", "2001:db9::1", 0 },
	{ "fe80::/10", "[fe80::1]:22", 1 },
	{ "fe80::/10", "fec0::1", 0 },
	{ "10.0.0.0/8", "example.com", 0 },
	/* globs: '*' crosses dots */
	{ "*.example.com", "a.example.com", 1 },
	{ "*.example.com", "a.b.example.com", 1 },
	{ "*.example.com", "example.com", 0 },
	{ "*.example.com", "a.example.com.evil", 0 },
	{ "example.com", "example.com", 1 },
	{ "example.com", "www.example.com", 0 },
	{ "a*b*c", "aXXbYYc", 1 },
	{ "a*b*c", "aXXbYY", 0 },
	{ "*", "anything:1", 1 },
	{ "192.168.*", "192.168.5.5", 1 },
	{ "ex?mple.com", "example.com", 1 },
	{ "ex?mple.com", "exmple.com", 0 },
	{ "caf?", "caf\xc3\xa9", 1 },		/* '?' is one character */
	{ "caf?", "caf\xc3\xa9x", 0 },
	/* the ".example.com" quirk */
	{ ".example.com", "example.com", 1 },
	{ ".example.com", "www.example.com", 1 },
	{ ".example.com", "badexample.com", 1 },
	{ ".example.com", "example.org", 0 },
	{ ".", "anything", 1 },
	/* case */
	{ "example.com", "EXAMPLE.com", 1 },
	{ "*.EXAMPLE.com", "a.Example.COM:443", 1 },
	{ ".Example.COM", "EXAMPLE.COM", 1 },
	/* ports */
	{ "example.com", "example.com:443", 1 },
	{ "example.com", "example.com:0", 0 },
	{ "example.com", "example.com:abc", 0 },
	{ "*.example.com", ":443", 0 },
	{ "*", "", 0 },
	/* lists and reversal */
	{ "a.com,10.0.0.0/8", "10.2.2.2:22", 1 },
	{ " a.com , ,b.com ", "b.com", 1 },
	{ " a.com , ,b.com ", "c.com", 0 },
	{ "~example.com", "example.com", 0 },
	{ "~example.com", "other.com:80", 1 },
	{ "~~a.com", "b.com", 1 },
	{ "~10.0.0.0/8,*.lan", "10.9.9.9", 0 },
	{ "~10.0.0.0/8,*.lan", "printer.lan", 0 },
	{ "~10.0.0.0/8,*.lan", "example.com", 1 },
	{ "", "example.com", 0 },
	{ "~", "example.com", 0 },	/* empty bypasses nothing */
};

TEST(test_bypass_table)
{
	const struct bypass_case *c;
	struct matcher_set *set;
	char err[256];
	size_t i;
	int got;

	for (i = 0; i < sizeof(bypass_cases) / sizeof(bypass_cases[0]); i++) {
		c = &bypass_cases[i];
		if (matcher_set_parse_list(c->list, &set, err,
		    sizeof(err)) != 0) {
			TEST_FAIL_AT("\"%s\" refused: %s", c->list, err);
			continue;
		}
		got = bypass_match(set, c->addr);
		if (got != c->bypass)
			TEST_FAIL_AT("bypass \"%s\" on \"%s\": got %d, want %d",
			    c->list, c->addr, got, c->bypass);
		matcher_set_free(set);
	}
	ASSERT(i >= 40);
}

struct bad_list {
	const char	*list;
	const char	*errsub;
};

static const struct bad_list bad_lists[] = {
	{ "10.0.0.0/33", "bad CIDR" },
	{ "1.2.3.4/", "bad CIDR" },
	{ "::1/129", "bad CIDR" },
	{ "a.com,10.0.0.0/x", "\"10.0.0.0/x\": bad CIDR" },
	{ "a\001b", "\"a?b\": blank or control character" },
	{ "a b", "blank" },
};

TEST(test_bypass_bad)
{
	struct matcher_set *set;
	char err[256], *big;
	size_t i;

	for (i = 0; i < sizeof(bad_lists) / sizeof(bad_lists[0]); i++) {
		set = (struct matcher_set *)1;
		err[0] = '\0';
		ASSERT_EQ_INT(matcher_set_parse_list(bad_lists[i].list, &set,
		    err, sizeof(err)), -1);
		ASSERT(set == NULL);
		if (strstr(err, bad_lists[i].errsub) == NULL)
			TEST_FAIL_AT("\"%s\": message \"%s\" lacks \"%s\"",
			    bad_lists[i].list, err, bad_lists[i].errsub);
	}
	REQUIRE((big = malloc(MATCH_MAX_PATTERN + 2)) != NULL);
	memset(big, 'a', MATCH_MAX_PATTERN + 1);
	big[MATCH_MAX_PATTERN + 1] = '\0';
	ASSERT_EQ_INT(matcher_set_parse_list(big, &set, err, sizeof(err)), -1);
	ASSERT(strstr(err, "too long") != NULL);
	big[MATCH_MAX_PATTERN] = '\0';
	REQUIRE(matcher_set_parse_list(big, &set, err, sizeof(err)) == 0);
	ASSERT_EQ_INT(bypass_match(set, big), 1);
	matcher_set_free(set);
	free(big);
}

TEST(test_bypass_api)
{
	struct matcher_set *set;
	const struct matcher *m;
	char err[128];

	REQUIRE((set = matcher_set_new()) != NULL);
	ASSERT_EQ_INT(bypass_match(set, "example.com"), 0);
	set->reversed = 1;
	/* gost: no matchers, nothing bypassed even when reversed. */
	ASSERT_EQ_INT(bypass_match(set, "example.com"), 0);
	ASSERT_EQ_INT(matcher_set_add(set, "", err, sizeof(err)), -1);
	ASSERT(strstr(err, "empty") != NULL);
	REQUIRE(matcher_set_add(set, "10.0.0.0/8", err, sizeof(err)) == 0);
	REQUIRE(matcher_set_add(set, "::1", err, sizeof(err)) == 0);
	REQUIRE(matcher_set_add(set, ".Example.com", err, sizeof(err)) == 0);
	ASSERT_EQ_UINT(set->count, 3);
	m = TAILQ_FIRST(&set->list);
	ASSERT_EQ_INT(m->kind, MATCHER_CIDR);
	ASSERT_EQ_INT(m->plen, 8);
	m = TAILQ_NEXT(m, entry);
	ASSERT_EQ_INT(m->kind, MATCHER_IP);
	m = TAILQ_NEXT(m, entry);
	ASSERT_EQ_INT(m->kind, MATCHER_GLOB);
	ASSERT_STREQ(m->glob, "*example.com");
	ASSERT_STREQ(m->exact, "example.com");
	ASSERT_EQ_INT(matcher_set_match(set, "10.0.0.1"), 1);
	ASSERT_EQ_INT(bypass_match(set, "10.0.0.1"), 0);
	ASSERT_EQ_INT(bypass_match(set, "192.0.2.1"), 1);
	ASSERT_EQ_INT(bypass_match(NULL, "192.0.2.1"), 0);
	ASSERT_EQ_INT(bypass_match(set, NULL), 0);
	matcher_set_free(set);
	matcher_set_free(NULL);
}

struct perm_case {
	const char	*rules;
	const char	*action;
	const char	*host;
	uint16_t	 port;
	int		 match;
};

static const struct perm_case perm_cases[] = {
	{ "tcp:*:*", "tcp", "example.com", 80, 1 },
	{ "tcp:*:*", "udp", "example.com", 80, 0 },
	{ "tcp:*.example.com:80,443", "tcp", "a.example.com", 443, 1 },
	{ "tcp:*.example.com:80,443", "tcp", "a.example.com", 8080, 0 },
	{ "tcp:*.example.com:80,443", "tcp", "example.com", 80, 0 },
	{ "tcp:*.example.com:80,443", "udp", "a.example.com", 80, 0 },
	{ "tcp,udp:*:1000-2000", "udp", "x", 1500, 1 },
	{ "tcp,udp:*:1000-2000", "udp", "x", 999, 0 },
	{ "tcp,udp:*:1000-2000", "tcp", "x", 1000, 1 },
	{ "tcp,udp:*:1000-2000", "tcp", "x", 2000, 1 },
	{ "tcp,udp:*:1000-2000", "tcp", "x", 2001, 0 },
	{ "tcp:*:80,1000-2000,*", "tcp", "x", 65535, 1 },
	{ "*:example.com:*", "rtcp", "example.com", 1, 1 },
	{ "t*:*:80", "tcp", "x", 80, 1 },
	{ "tcp:EXAMPLE.com:80", "tcp", "Example.COM", 80, 1 },
	{ "tcp:a.com:80 udp:b.com:53", "udp", "b.com", 53, 1 },
	{ "tcp:a.com:80 udp:b.com:53", "tcp", "b.com", 53, 0 },
	{ "  tcp:a.com:80 \t udp:b.com:53  ", "tcp", "a.com", 80, 1 },
	{ "tcp:*:0", "tcp", "x", 0, 1 },
	{ "tcp:*:65535", "tcp", "x", 65535, 1 },
	{ "tcp:*:65535", "tcp", "x", 65534, 0 },
	{ "tcp:192.168.*:22", "tcp", "192.168.1.1", 22, 1 },
	{ "tcp:::1:22", "tcp", "::1", 22, 1 },	/* IPv6 host: extension */
	/* go-glob: '?' is literal */
	{ "tcp:?.com:80", "tcp", "a.com", 80, 0 },
	{ "tcp:?.com:80", "tcp", "?.com", 80, 1 },
	{ "tcp:a*a:80", "tcp", "a", 80, 0 },
	{ "tcp:a*a:80", "tcp", "aa", 80, 1 },
};

TEST(test_permission_table)
{
	const struct perm_case *c;
	struct permissions *p;
	char err[256];
	size_t i;
	int got;

	for (i = 0; i < sizeof(perm_cases) / sizeof(perm_cases[0]); i++) {
		c = &perm_cases[i];
		if (permission_parse(c->rules, &p, err, sizeof(err)) != 0) {
			TEST_FAIL_AT("\"%s\" refused: %s", c->rules, err);
			continue;
		}
		got = permission_match(p, c->action, c->host, c->port);
		if (got != c->match)
			TEST_FAIL_AT("\"%s\" on %s %s:%u: got %d, want %d",
			    c->rules, c->action, c->host, c->port, got,
			    c->match);
		permission_free(p);
	}
}

static const struct bad_list bad_perms[] = {
	{ "tcp:host", "\"tcp:host\": want actions:hosts:ports" },
	{ "tcp", "want actions:hosts:ports" },
	{ "tcp:*:70000", "\"tcp:*:70000\": bad port \"70000\"" },
	{ "tcp:*:5-3", "\"tcp:*:5-3\": port range \"5-3\" starts after" },
	{ "", "empty permission list" },
	{ "  \t ", "empty permission list" },
	{ "tcp::80", "empty hosts" },
	{ ":*:80", "empty actions" },
	{ "tcp,,udp:*:80", "empty actions" },
	{ "tcp:*:", "empty ports" },
	{ "tcp:*:80,", "empty ports" },
	{ "tcp:*:8a", "bad port \"8a\"" },
	{ "tcp:*:-5", "bad port" },
	{ "tcp:*:5-", "bad port" },
	{ "tcp:*:**", "bad port" },
	{ "tcp:*:80 bad", "\"bad\"" },
	{ "tcp:*:80\nudp:*:53", "control character" },
};

TEST(test_permission_bad)
{
	struct permissions *p;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad_perms) / sizeof(bad_perms[0]); i++) {
		p = (struct permissions *)1;
		err[0] = '\0';
		ASSERT_EQ_INT(permission_parse(bad_perms[i].list, &p, err,
		    sizeof(err)), -1);
		ASSERT(p == NULL);
		if (strstr(err, bad_perms[i].errsub) == NULL)
			TEST_FAIL_AT("\"%s\": message \"%s\" lacks \"%s\"",
			    bad_perms[i].list, err, bad_perms[i].errsub);
		if (strchr(err, '\n') != NULL)
			TEST_FAIL_AT("\"%s\": message has a newline",
			    bad_perms[i].list);
	}
	ASSERT_EQ_INT(permission_parse(NULL, &p, err, sizeof(err)), -1);
	ASSERT_EQ_INT(permission_parse("tcp", &p, NULL, 0), -1);
}

TEST(test_access_allowed)
{
	struct permissions *w, *b, *w2, empty;

	REQUIRE(permission_parse("tcp:*.example.com:*", &w, NULL, 0) == 0);
	REQUIRE(permission_parse("tcp:*:25 udp:*:*", &b, NULL, 0) == 0);
	REQUIRE(permission_parse("tcp:*:* udp:*:53", &w2, NULL, 0) == 0);
	memset(&empty, 0, sizeof(empty));
	TAILQ_INIT(&empty.rules);

	ASSERT_EQ_INT(access_allowed(NULL, NULL, "tcp", "x", 1), 1);
	ASSERT_EQ_INT(access_allowed(&empty, &empty, "tcp", "x", 1), 1);
	/* whitelist only */
	ASSERT_EQ_INT(access_allowed(w, NULL, "tcp", "a.example.com", 80), 1);
	ASSERT_EQ_INT(access_allowed(w, NULL, "tcp", "b.org", 80), 0);
	ASSERT_EQ_INT(access_allowed(w, NULL, "udp", "a.example.com", 80), 0);
	/* blacklist only */
	ASSERT_EQ_INT(access_allowed(NULL, b, "tcp", "mail.org", 25), 0);
	ASSERT_EQ_INT(access_allowed(NULL, b, "tcp", "mail.org", 80), 1);
	ASSERT_EQ_INT(access_allowed(NULL, b, "udp", "dns.org", 53), 0);
	ASSERT_EQ_INT(access_allowed(NULL, b, "rtcp", "x", 25), 1);
	/* both: the blacklist cuts into the whitelist */
	ASSERT_EQ_INT(access_allowed(w2, b, "tcp", "x", 80), 1);
	ASSERT_EQ_INT(access_allowed(w2, b, "tcp", "x", 25), 0);
	ASSERT_EQ_INT(access_allowed(w2, b, "udp", "x", 53), 0);
	ASSERT_EQ_INT(access_allowed(w2, b, "rudp", "x", 53), 0);
	ASSERT_EQ_INT(access_allowed(w, b, "tcp", "a.example.com", 25), 0);
	ASSERT_EQ_INT(access_allowed(w, &empty, "tcp", "a.example.com", 25),
	    1);
	permission_free(w);
	permission_free(b);
	permission_free(w2);
	permission_free(NULL);
}

TEST(test_perm_split_addr)
{
	char host[64];
	uint16_t port;

	REQUIRE(perm_split_addr("example.com", host, sizeof(host),
	    &port) == 0);
	ASSERT_STREQ(host, "example.com");
	ASSERT_EQ_UINT(port, 80);
	REQUIRE(perm_split_addr("example.com:443", host, sizeof(host),
	    &port) == 0);
	ASSERT_STREQ(host, "example.com");
	ASSERT_EQ_UINT(port, 443);
	REQUIRE(perm_split_addr("[::1]:22", host, sizeof(host), &port) == 0);
	ASSERT_STREQ(host, "::1");
	ASSERT_EQ_UINT(port, 22);
	REQUIRE(perm_split_addr("[::1]", host, sizeof(host), &port) == 0);
	ASSERT_STREQ(host, "::1");
	ASSERT_EQ_UINT(port, 80);
	REQUIRE(perm_split_addr("2001:db8::1", host, sizeof(host),
	    &port) == 0);
	ASSERT_STREQ(host, "2001:db8::1");
	ASSERT_EQ_UINT(port, 80);
	REQUIRE(perm_split_addr("1.2.3.4:0", host, sizeof(host), &port) == 0);
	ASSERT_EQ_UINT(port, 0);
	REQUIRE(perm_split_addr(":8080", host, sizeof(host), &port) == 0);
	ASSERT_STREQ(host, "");
	ASSERT_EQ_UINT(port, 8080);
	ASSERT_EQ_INT(perm_split_addr("a:b:c", host, sizeof(host), &port), -1);
	ASSERT_EQ_INT(perm_split_addr("host:99999", host, sizeof(host),
	    &port), -1);
	ASSERT_EQ_INT(perm_split_addr("host:", host, sizeof(host), &port), -1);
	ASSERT_EQ_INT(perm_split_addr("[::1]x", host, sizeof(host), &port),
	    -1);
	ASSERT_EQ_INT(perm_split_addr("[::1", host, sizeof(host), &port), -1);
	ASSERT_EQ_INT(perm_split_addr("", host, sizeof(host), &port), -1);
	ASSERT_EQ_INT(perm_split_addr(NULL, host, sizeof(host), &port), -1);
	ASSERT_EQ_INT(perm_split_addr("example.com", host, 11, &port), -1);
	ASSERT_EQ_INT(perm_split_addr("example.com", host, 12, &port), 0);
}

int
main(void)
{
	RUN(test_bypass_table);
	RUN(test_bypass_bad);
	RUN(test_bypass_api);
	RUN(test_permission_table);
	RUN(test_permission_bad);
	RUN(test_access_allowed);
	RUN(test_perm_split_addr);
	return TEST_EXIT();
}
