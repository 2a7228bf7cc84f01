/*
 * Chain node kinds to connectors: the worker's half of the scheme
 * table for the client side (common/conf.c picks the kind).
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>

#include "log.h"

#include "connector/connector.h"

static const struct connector *const connectors[] = {
	[HOP_HTTP]	= &connector_http,
	[HOP_SOCKS4]	= &connector_socks4,
	[HOP_SOCKS4A]	= &connector_socks4,
	[HOP_SOCKS5]	= &connector_socks5,
	[HOP_SS]	= &connector_ss,
	[HOP_RELAY]	= &connector_relay,
	[HOP_HTTP2]	= &connector_http2,
	[HOP_OSTP]	= &connector_ostp,
};

const struct connector *
connector_for(enum hop_kind k)
{
	if ((size_t)k >= sizeof(connectors) / sizeof(connectors[0]))
		return NULL;
	return connectors[k];
}

int
connector_auth_failed(struct chain_dial *cd, const struct hop_conf *h,
    const char *what)
{
	const struct connector *c = connector_for(h->kind);

	if (h->user != NULL)
		error("%s node %s:%u: %s: user \"%s\" or its password is "
		    "wrong", c != NULL ? c->name : "chain", h->host, h->port,
		    what, h->user);
	else
		error("%s node %s:%u: %s: it wants a user and password "
		    "(user:pass@ in the node's URL)", c != NULL ? c->name :
		    "chain", h->host, h->port, what);
	return hop_fail(cd, EPERM);
}
