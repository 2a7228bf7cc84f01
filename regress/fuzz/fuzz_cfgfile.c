/*
 * libFuzzer harness for the reloadable file parsers: the first input
 * byte picks the format, the rest is the file.  Errors must be one line
 * naming the file; whatever parses is read back through the lookups.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfgfile.h"
#include "match.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NAME	"fuzz.conf"

static void
check_err(int r, const char *err)
{
	if (r != -1)
		abort();
	if (strncmp(err, NAME ":", sizeof(NAME)) != 0 ||
	    strchr(err, '\n') != NULL)
		abort();
}

static void
fuzz_secrets(const char *d, size_t n)
{
	struct secrets *s;
	const struct secret_entry *e;
	char err[512];

	if (secrets_parse(d, n, NAME, &s, err, sizeof(err)) == -1) {
		check_err(-1, err);
		return;
	}
	if (secrets_count(s) > 0) {
		/* The last line for a user is the one that counts. */
		e = &s->v[s->n - 1];
		if (secrets_check(s, e->user, e->pass) != 1)
			abort();
	}
	(void)secrets_check(s, "user", "pass");
	secrets_free(s);
}

/* An ip= file shares the line format of a bypass file. */
static void
fuzz_ips(const char *d, size_t n)
{
	struct ip_list *l;
	char err[512];
	size_t i;

	if (ip_list_parse(d, n, NAME, &l, err, sizeof(err)) == -1) {
		check_err(-1, err);
		return;
	}
	if (l->reload_ms != 0 && l->reload_ms < 1000)
		abort();
	for (i = 0; i < l->n; i++)
		if (l->addrs[i] == NULL || l->addrs[i][0] == '\0')
			abort();
	ip_list_free(l);
}

static void
fuzz_bypass(const char *d, size_t n)
{
	struct matcher_set *set;
	unsigned long reload;
	char err[512];

	fuzz_ips(d, n);
	if (bypass_file_parse(d, n, NAME, &set, &reload, err,
	    sizeof(err)) == -1) {
		check_err(-1, err);
		return;
	}
	if (reload != 0 && reload < 1000)
		abort();
	(void)bypass_match(set, "example.com:443");
	(void)bypass_match(set, "10.0.0.1");
	(void)bypass_match(set, "[::1]:53");
	matcher_set_free(set);
}

static void
fuzz_hosts(const char *d, size_t n)
{
	struct hosts *h;
	char err[512];
	size_t i;

	if (hosts_parse(d, n, NAME, &h, err, sizeof(err)) == -1) {
		check_err(-1, err);
		return;
	}
	for (i = 0; i < h->n && i < 8; i++) {
		if (hosts_lookup(h, h->v[i].name) == NULL)
			abort();
		if (h->v[i].naliases > 0 &&
		    hosts_lookup(h, h->v[i].aliases[0]) == NULL)
			abort();
	}
	(void)hosts_lookup(h, "localhost");
	hosts_free(h);
}

static void
fuzz_peers(const char *d, size_t n)
{
	struct peer_conf *pc;
	char err[512];
	size_t i;

	if (peer_conf_parse(d, n, NAME, &pc, err, sizeof(err)) == -1) {
		check_err(-1, err);
		return;
	}
	for (i = 0; i < pc->nurls; i++)
		if (pc->urls[i] == NULL)
			abort();
	peer_conf_free(pc);
}

static void
fuzz_resolver(const char *d, size_t n)
{
	struct resolver_conf *rc;
	char err[512];
	size_t i;

	if (resolver_conf_parse(d, n, NAME, &rc, err, sizeof(err)) == -1) {
		check_err(-1, err);
		return;
	}
	for (i = 0; i < rc->nns; i++)
		if (rc->ns[i].addr == NULL || rc->ns[i].addr[0] == '\0')
			abort();
	resolver_conf_free(rc);
}

/* NUL-terminated forms: the inline dns= list and a duration. */
static void
fuzz_strings(const char *d, size_t n)
{
	struct resolver_conf *rc;
	char *s, err[512];
	long long ms;

	if ((s = malloc(n + 1)) == NULL)
		return;
	memcpy(s, d, n);
	s[n] = '\0';
	if (resolver_conf_parse_list(s, &rc, err, sizeof(err)) == 0)
		resolver_conf_free(rc);
	else if (rc != NULL || strchr(err, '\n') != NULL)
		abort();
	if (cfg_parse_duration(s, &ms) == 0 &&
	    (ms > CFG_DURATION_MAX_MS || ms < -CFG_DURATION_MAX_MS))
		abort();
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data + 1;
	size_t n;

	if (size == 0)
		return 0;
	n = size - 1;
	switch (data[0] % 6) {
	case 0:
		fuzz_secrets(d, n);
		break;
	case 1:
		fuzz_bypass(d, n);
		break;
	case 2:
		fuzz_hosts(d, n);
		break;
	case 3:
		fuzz_peers(d, n);
		break;
	case 4:
		fuzz_resolver(d, n);
		break;
	default:
		fuzz_strings(d, n);
		break;
	}
	return 0;
}
