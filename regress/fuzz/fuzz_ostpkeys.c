/*
 * libFuzzer harness for the OSTP keys file parser (common/ostpkeys.c):
 * an error is one line naming the file; what parses has valid,
 * distinct keys and names.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ostpkeys.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NAME	"fuzz.keys"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ostp_key_conf *k;
	size_t n, i, a, b;
	char err[512];

	if (ostp_keys_parse((const char *)data, size, NAME, &k, &n, err,
	    sizeof(err)) != 0) {
		if (strncmp(err, NAME, sizeof(NAME) - 1) != 0 ||
		    strchr(err, '\n') != NULL || k != NULL || n != 0)
			abort();
		return 0;
	}
	if ((n == 0) != (k == NULL))
		abort();
	for (i = 0; i < n; i++)
		if (ostp_key_invalid(k[i].key) != NULL || !k[i].from_file ||
		    (int64_t)k[i].limit_bytes < 0)
			abort();
	if (ostp_keys_dup(k, n, &a, &b) != 0)
		abort();
	ostp_keys_free(k, n);
	return 0;
}
