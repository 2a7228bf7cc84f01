/*
 * libFuzzer harness for both JSON front ends and the model they build:
 * the input is a configuration file; whatever loads must also print and
 * load again to the same text (the -t round trip).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"

static char *
print(const struct conf *c, size_t *len)
{
	char *out = NULL;
	FILE *f;

	if ((f = open_memstream(&out, len)) == NULL)
		abort();
	if (conf_print_json(c, f) != 0)
		abort();
	fclose(f);
	return out;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct conf_args a;
	struct conf c, c2;
	char err[512], *out1, *out2;
	size_t l1, l2;

	log_init("fuzz", LOG_LEVEL_FATAL, 0);
	memset(&a, 0, sizeof(a));
	a.path = "fuzz.json";
	a.text = (const char *)data;
	a.textlen = size;
	if (conf_load(&c, &a, err, sizeof(err)) != 0)
		return 0;
	out1 = print(&c, &l1);
	conf_free(&c);
	a.text = out1;
	a.textlen = l1;
	if (conf_load(&c2, &a, err, sizeof(err)) != 0) {
		fprintf(stderr, "printed config does not load: %s\n%s\n", err,
		    out1);
		abort();
	}
	out2 = print(&c2, &l2);
	conf_free(&c2);
	if (l1 != l2 || memcmp(out1, out2, l1) != 0)
		abort();
	free(out1);
	free(out2);
	return 0;
}
