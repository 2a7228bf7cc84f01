/*
 * libFuzzer harness for the node URL parser: the input, cut at its first
 * NUL, is one URL.  Whatever parses is then read through the typed
 * parameter readers, for every key it carries.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "node.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
read_params(const struct node *n, const char *key)
{
	unsigned long v, ms;
	char err[128];
	struct inet_prefix p;
	const char *val;

	v = 0;
	if (node_param_uint(n, key, 0, 65535, &v, err, sizeof(err)) == 1 &&
	    v > 65535)
		abort();
	(void)node_param_uint(n, key, 68, 65535, &v, err, sizeof(err));
	(void)node_param_uint(n, key, 0, ~0UL, &v, err, sizeof(err));
	ms = 0;
	if (node_param_duration(n, key, &ms, err, sizeof(err)) == 1 &&
	    ms > 100000000000UL)
		abort();
	if ((val = node_param(n, key)) != NULL)
		(void)inet_prefix_parse(val, &p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct node_param *np;
	struct node *n;
	char *url, err[256];
	size_t i;

	if ((url = malloc(size + 1)) == NULL)
		return 0;
	memcpy(url, data, size);
	url[size] = '\0';
	if (node_parse(url, &n, err, sizeof(err)) != 0) {
		if (n != NULL)
			abort();
		free(url);
		return 0;
	}
	if (n->url == NULL || n->scheme == NULL || n->proto == NULL ||
	    n->transport == NULL || n->host == NULL ||
	    (n->nremotes > 0 && n->remotes == NULL))
		abort();
	for (i = 0; i < n->nremotes; i++)
		if (n->remotes[i] == NULL || n->remotes[i][0] == '\0')
			abort();
	TAILQ_FOREACH(np, &n->params, entry) {
		if (np->key == NULL || np->key[0] == '\0' || np->val == NULL)
			abort();
		read_params(n, np->key);
	}
	read_params(n, "timeout");
	read_params(n, "mtu");
	node_free(n);
	free(url);
	return 0;
}
