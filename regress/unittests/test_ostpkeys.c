/*
 * Unit tests for the OSTP keys file parser (common/ostpkeys.c,
 * spec/ostp.md §4.3, §6).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ostpkeys.h"
#include "test.h"

#define NAME	"keys.txt"

static int
parse(const char *text, struct ostp_key_conf **k, size_t *n, char *err,
    size_t errlen)
{
	err[0] = '\0';
	return ostp_keys_parse(text, strlen(text), NAME, k, n, err, errlen);
}

TEST(test_lines)
{
	struct ostp_key_conf *k;
	size_t n;
	char err[512];

	REQUIRE(parse("# users\n\nk1 name=alice limit=10M\n  k2\t\r\n"
	    "k3 limit=5 name=carol\nk4 limit=2k\nk5 limit=1T\n"
	    "k~!\"$%&'()*+,-./:;<=>?@[\\]^_`{|}\n", &k, &n, err,
	    sizeof(err)) == 0);
	REQUIRE(n == 6);
	ASSERT_STREQ(k[0].key, "k1");
	ASSERT_STREQ(k[0].name, "alice");
	ASSERT(k[0].limit_bytes == 10ULL << 20);
	ASSERT(k[0].from_file == 1);
	ASSERT_STREQ(k[1].key, "k2");
	ASSERT(k[1].name == NULL);
	ASSERT(k[1].limit_bytes == 0);
	ASSERT_STREQ(k[2].name, "carol");
	ASSERT(k[2].limit_bytes == 5);
	ASSERT(k[3].limit_bytes == 2048);
	ASSERT(k[4].limit_bytes == 1ULL << 40);
	ASSERT_STREQ(k[5].key, "k~!\"$%&'()*+,-./:;<=>?@[\\]^_`{|}");
	ostp_keys_free(k, n);

	REQUIRE(parse("", &k, &n, err, sizeof(err)) == 0);
	ASSERT(n == 0 && k == NULL);
	REQUIRE(parse("# only\n\n", &k, &n, err, sizeof(err)) == 0);
	ASSERT(n == 0);
}

TEST(test_json)
{
	struct ostp_key_conf *k;
	size_t n;
	char err[512];

	REQUIRE(parse(" // 0.4's access_keys\n[\"a\", {\"access_key\": \"b\", "
	    "\"name\": \"bob\", \"limit_bytes\": 123},\n {\"access_key\": "
	    "\"c\", \"name\": null}]", &k, &n, err, sizeof(err)) == 0);
	REQUIRE(n == 3);
	ASSERT_STREQ(k[0].key, "a");
	ASSERT(k[0].name == NULL);
	ASSERT_STREQ(k[1].key, "b");
	ASSERT_STREQ(k[1].name, "bob");
	ASSERT(k[1].limit_bytes == 123);
	ASSERT(k[1].from_file == 1);
	ASSERT_STREQ(k[2].key, "c");
	ASSERT(k[2].name == NULL);
	ostp_keys_free(k, n);
	REQUIRE(parse("[]", &k, &n, err, sizeof(err)) == 0);
	ASSERT(n == 0);
}

static const struct {
	const char	*text;
	const char	*msg;
} bad[] = {
	{ "k1\nk\001x\n", NAME ":2: the key has a control character" },
	{ "k1\nk1 name=a\n", NAME ":2: the key is given twice (first on "
	    "line 1)" },
	{ "a name=x\n#\nb name=y\nc name=x\n", NAME ":4: the name \"x\" is "
	    "given twice (first on line 1)" },
	{ "a limit=12X\n", NAME ":1: bad limit \"12X\"" },
	{ "a limit=\n", NAME ":1: bad limit" },
	{ "a limit=99999999999T\n", NAME ":1: bad limit" },
	{ "a limit=18446744073709551616\n", NAME ":1: bad limit" },
	{ "a limit=1 limit=2\n", NAME ":1: unexpected \"limit=2\"" },
	{ "a b\n", NAME ":1: unexpected \"b\"" },
	{ "a name=\n", NAME ":1: the name is empty" },
	{ "k\377\n", NAME ":1: the key is not UTF-8" },
	{ "k\300\200\n", NAME ":1: the key is not UTF-8" },
	{ "k\355\240\200\n", NAME ":1: the key is not UTF-8" },
	{ "k name=\342\202\n", NAME ":1: the name is not UTF-8" },
	{ "a\0b\n", NULL },
	{ "[\"a\", 1]", NAME ": entry 2 must be a key" },
	{ "[\"a\", \"a\"]", NAME ": entry 2: the key is given twice (first "
	    "in entry 1)" },
	{ "[{\"access_key\": \"a\", \"x\": 1}]", NAME ": entry 1: unknown key "
	    "\"x\"" },
	{ "[{\"name\": \"a\"}]", NAME ": entry 1: access_key must be a "
	    "string" },
	{ "[{\"access_key\": \"a\", \"limit_bytes\": -1}]", NAME ": entry 1: "
	    "limit_bytes must be" },
	{ "[{\"access_key\": \"a\", \"limit_bytes\": 1.5}]", NAME ": entry 1: "
	    "limit_bytes must be" },
	{ "[\"\"]", NAME ": entry 1: the key is empty" },
	{ "[[\"a\"]]", NAME ": entry 1 must be a key" },
	{ "[[[\"a\"]]]", NAME ":1: JSON nested too deep" },
	{ "[\"a\",\n", NAME ":2: " },
	{ "[\"a\"] x", NAME ":1: " },
	{ "[{\"access_key\": \"a\", \"name\": \"n\"}, {\"access_key\": \"b\", "
	    "\"name\": \"n\"}]", NAME ": entry 2: the name \"n\" is given "
	    "twice (first in entry 1)" },
};

TEST(test_bad)
{
	struct ostp_key_conf *k;
	size_t i, n;
	char err[512];

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		k = (struct ostp_key_conf *)1;
		n = 7;
		err[0] = '\0';
		if (ostp_keys_parse(bad[i].text, bad[i].msg == NULL ? 4 :
		    strlen(bad[i].text), NAME, &k, &n, err, sizeof(err)) !=
		    -1) {
			TEST_FAIL_AT("\"%s\" accepted", bad[i].text);
			continue;
		}
		if (k != NULL || n != 0)
			TEST_FAIL_AT("\"%s\": output not cleared", bad[i].text);
		if (strchr(err, '\n') != NULL)
			TEST_FAIL_AT("\"%s\": message has a newline: %s",
			    bad[i].text, err);
		if (strncmp(err, NAME, strlen(NAME)) != 0 ||
		    (bad[i].msg != NULL &&
		    strncmp(err, bad[i].msg, strlen(bad[i].msg)) != 0))
			TEST_FAIL_AT("\"%s\": got \"%s\", want \"%s\"",
			    bad[i].text, err, bad[i].msg ? bad[i].msg : NAME);
	}
}

TEST(test_long_key)
{
	struct ostp_key_conf *k;
	size_t n;
	char text[600], err[512];

	memset(text, 'x', 512);
	text[512] = '\0';
	REQUIRE(parse(text, &k, &n, err, sizeof(err)) == 0);
	ASSERT(n == 1 && strlen(k[0].key) == 512);
	ostp_keys_free(k, n);
	text[512] = 'x';
	text[513] = '\0';
	ASSERT(parse(text, &k, &n, err, sizeof(err)) == -1);
	ASSERT_STREQ(err, NAME ":1: the key is longer than 512 bytes");
}

TEST(test_dup)
{
	struct ostp_key_conf k[4];
	size_t a = 0, b = 0;

	memset(k, 0, sizeof(k));
	k[0].key = "x";
	k[1].key = "y";
	k[1].name = "n";
	k[2].key = "z";
	k[2].name = "n";
	k[3].key = "y";
	ASSERT(ostp_keys_dup(k, 4, &a, &b) == 1);
	ASSERT(a == 1 && b == 3);
	k[3].key = "w";
	ASSERT(ostp_keys_dup(k, 4, &a, &b) == 2);
	ASSERT(a == 1 && b == 2);
	k[2].name = NULL;
	ASSERT(ostp_keys_dup(k, 4, &a, &b) == 0);
	ASSERT(ostp_key_invalid("a b") == NULL);
	ASSERT(ostp_key_invalid("a\tb") != NULL);
	ASSERT(ostp_key_invalid("a\177") != NULL);
	ASSERT(ostp_key_invalid("") != NULL);
	ASSERT(ostp_key_invalid("\303\251t\342\202\254\360\237\224\221") ==
	    NULL);
}

int
main(void)
{
	RUN(test_lines);
	RUN(test_json);
	RUN(test_bad);
	RUN(test_long_key);
	RUN(test_dup);
	return TEST_EXIT();
}
