/*
 * OSTP chain nodes: a flow of the node's tunnel (ostp/client.c) with a
 * Connect for the next address; its answer (ConnectOk or Error) is a
 * relay message the session reads, not bytes of the flow.
 */
#include "config.h"

#include <errno.h>

#include "conf.h"
#include "core/chain.h"
#include "connector/connector.h"
#include "ostp/client.h"
#include "ostp/session.h"

static int
ostp_request(struct chain_dial *cd, const struct hop_conf *h)
{
	const char *host;
	struct conn *c;
	uint16_t port;

	hop_next(cd, &host, &port);
	if ((c = ostp_client_flow(hop_worker(cd), h, hop_egress(cd),
	    hop_resolver(cd), host, port)) == NULL)
		return hop_fail(cd, ENOMEM);
	hop_set_conn(cd, c);
	return HOP_WAIT;
}

static int
ostp_reply(struct chain_dial *cd, const struct hop_conf *h)
{
	const char *why;

	(void)h;
	switch (ostp_stream_status(hop_conn(cd), &why)) {
	case 0:
		return HOP_WAIT;
	case 1:
		return HOP_DONE;
	case -1:
		/* the server answered: it cannot reach the address */
		return hop_refused(cd, ECONNREFUSED, why);
	default:
		/* no tunnel: the node itself failed */
		return hop_fail(cd, ETIMEDOUT);
	}
}

const struct connector connector_ostp = {
	.name = "ostp",
	.request = ostp_request,
	.reply = ostp_reply,
	.session_answers = 1,
};
