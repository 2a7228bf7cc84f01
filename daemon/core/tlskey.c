/*
 * A TLS listener's context.
 *
 * XXX Until the monitor holds the listeners' keys, every TLS listener
 * serves the worker's throwaway self-signed identity (tls.c).
 */
#include "config.h"

#include <stddef.h>

#include "core/tls.h"

SSL_CTX *
tlskey_server_ctx(struct worker *wk, size_t lis)
{
	(void)wk;
	(void)lis;
	return tls_selfsigned_ctx_get();
}
