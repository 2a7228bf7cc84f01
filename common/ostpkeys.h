/*
 * OSTP access keys (spec/ostp.md §4.3, §6): the keys= file of a server
 * and the access_keys lists of the JSON configurations.
 *
 * A keys file is either lines "KEY [name=NAME] [limit=BYTES]" ('#'
 * comments, blank lines; BYTES with an optional K, M, G or T suffix of
 * 1024) or, when its first non-blank byte is '[', the JSON array of the
 * OSTP 0.4 server file: ["key", {"access_key": "k", "name": "n",
 * "limit_bytes": 123}].  A key is 1-512 printable bytes (no control
 * characters); neither a key nor a name may be given twice.
 */
#ifndef OSTP_OSTPKEYS_H
#define OSTP_OSTPKEYS_H

#include <stddef.h>

#include "conf.h"

#define OSTP_KEY_MAX		512	/* bytes */
#define OSTP_KEY_NAME_MAX	128	/* bytes */
#define OSTP_KEYS_MAX		100000	/* per file */

/*
 * Parse a keys file (text of len bytes, name for messages) into a fresh
 * array of *n keys (from_file set), or write one line "NAME:LINE: what
 * is wrong" (JSON: "NAME: entry N: ...") to err and return -1.  An
 * empty file gives 0 keys and *keys NULL.
 */
int	ostp_keys_parse(const char *text, size_t len, const char *name,
	    struct ostp_key_conf **keys, size_t *n, char *err, size_t errlen);
/*
 * One entry of a JSON access_keys array (a yajl_val: a string or an
 * object with access_key, name, limit_bytes) appended to *keys.  where
 * prefixes messages.  0 or -1.
 */
int	ostp_keys_add_json(const void *val, const char *where,
	    struct ostp_key_conf **keys, size_t *n, char *err, size_t errlen);
/* NULL if k is a valid key, else what is wrong with it. */
const char *ostp_key_invalid(const char *k);
/*
 * The first duplicate in keys[0..n): 1 a key, 2 a name, with *first the
 * earlier and *second the later index; 0 none.
 */
int	ostp_keys_dup(const struct ostp_key_conf *, size_t n, size_t *first,
	    size_t *second);
void	ostp_keys_free(struct ostp_key_conf *, size_t n);

#endif
