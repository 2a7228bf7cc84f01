/*
 * The typed table of node parameters (gost's query keys).  Every key a
 * node carries is checked here: a bad value is an error naming the URL,
 * the key and the allowed form; an unknown key, or one the scheme does
 * not use, is a warning.
 */
#ifndef OSTP_PARAMS_H
#define OSTP_PARAMS_H

#include <stddef.h>

#include "node.h"

/*
 * Check every parameter of n.  used lists the keys the node's scheme
 * acts on (NULL-terminated).  Returns 0, or -1 with err set.
 */
int	params_check(const struct node *n, const char *const *used, char *err,
	    size_t errlen);
/* Go's strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE false False */
int	param_bool_parse(const char *, int *);
int	node_param_bool(const struct node *, const char *key, int *out,
	    char *err, size_t errlen);

#endif
