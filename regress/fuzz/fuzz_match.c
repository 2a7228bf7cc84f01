/*
 * libFuzzer harness for the bypass and permission matchers: the input is
 * up to three lines, a bypass list, a permission string and a target
 * address.  Whatever parses is run against a few fixed addresses and the
 * third line, and the results are checked against each other.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const addrs[] = {
	"example.com", "a.example.com:443", "badexample.com", "EXAMPLE.COM",
	"10.1.2.3", "10.1.2.3:8080", "[2001:db8::1]:80", "2001:db8::1",
	"::ffff:10.0.0.1", "[::1]", ":80", "", "host:0", "x:y:z",
};

static void
check_bypass(const struct matcher_set *set, const char *addr)
{
	int m, b;

	m = matcher_set_match(set, addr);
	b = bypass_match(set, addr);
	if ((m != 0 && m != 1) || (b != 0 && b != 1))
		abort();
	if (set->count == 0 || *addr == '\0') {
		if (m != 0 || b != 0)
			abort();
	} else if (b != (set->reversed ? !m : m))
		abort();
}

static void
check_perm(const struct permissions *p, const char *addr)
{
	static const char *const actions[] = { "tcp", "udp", "rtcp", "rudp" };
	char host[256];
	uint16_t port;
	size_t i;
	int m;

	if (perm_split_addr(addr, host, sizeof(host), &port) == -1)
		return;
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		m = permission_match(p, actions[i], host, port);
		if (m != 0 && m != 1)
			abort();
		if (access_allowed(p, NULL, actions[i], host, port) != m ||
		    access_allowed(NULL, p, actions[i], host, port) != !m ||
		    access_allowed(p, p, actions[i], host, port) != 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct matcher_set *set;
	struct permissions *perm;
	char *buf, *line[3], *nl, err[256];
	size_t i, n;

	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	line[0] = buf;
	line[1] = line[2] = "";
	for (n = 1; n < 3; n++) {
		if ((nl = strchr(line[n - 1], '\n')) == NULL)
			break;
		*nl = '\0';
		line[n] = nl + 1;
	}
	if (matcher_set_parse_list(line[0], &set, err, sizeof(err)) == 0) {
		for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
			check_bypass(set, addrs[i]);
		check_bypass(set, line[2]);
		check_bypass(set, line[0]);
		matcher_set_free(set);
	} else if (set != NULL || strchr(err, '\n') != NULL)
		abort();
	if (permission_parse(line[1], &perm, err, sizeof(err)) == 0) {
		if (perm->count == 0)
			abort();
		for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
			check_perm(perm, addrs[i]);
		check_perm(perm, line[2]);
		permission_free(perm);
	} else if (perm != NULL || strchr(err, '\n') != NULL)
		abort();
	free(buf);
	return 0;
}
