/*
 * gost relay chain nodes: v2's request (the UDP flag for datagram
 * tunnels), v3's BIND for rtcp at the last hop.
 */
#include "config.h"

#include <errno.h>

#include "conf.h"
#include "err.h"
#include "proto/proto.h"
#include "proto/relay.h"
#include "core/chain.h"
#include "connector/connector.h"

static int
relay_request(struct chain_dial *cd, const struct hop_conf *h)
{
	unsigned char m[1100];
	const char *host;
	uint16_t port;
	size_t n;

	hop_next(cd, &host, &port);
	if ((n = relay_build_request(m, sizeof(m), hop_last(cd) &&
	    (hop_flags(cd) & CHAIN_BIND) ? RELAY_CMD_BIND : 0,
	    hop_last(cd) && (hop_flags(cd) & CHAIN_UDPTUN), h->user, h->pass,
	    host, port)) == 0)
		return hop_fail(cd, ENAMETOOLONG);
	return hop_send(cd, m, n) == 0 ? HOP_WAIT : HOP_FAILED;
}

static int
relay_reply(struct chain_dial *cd, const struct hop_conf *h)
{
	struct relay_response rr;
	const unsigned char *in;
	size_t inlen, used;
	int e, eof;

	in = hop_input(cd, &inlen, &eof);
	e = relay_parse_response(in, inlen, &rr, &used);
	if (e == ERR_INCOMPLETE && !eof && inlen < HTTP_HEAD_MAX)
		return HOP_WAIT;
	if (e != 0)
		return hop_fail(cd, EPROTO);
	hop_consume(cd, used);
	if (rr.status == RELAY_UNAUTHORIZED)
		return connector_auth_failed(cd, h, "authentication failed");
	if (rr.status != RELAY_OK)
		return hop_fail(cd, rr.status == RELAY_UNAUTHORIZED ? EPERM :
		    rr.status == RELAY_FORBIDDEN ? EACCES :
		    rr.status == RELAY_TIMEOUT ? ETIMEDOUT :
		    rr.status == RELAY_HOST_UNREACHABLE ? EHOSTUNREACH :
		    rr.status == RELAY_NETWORK_UNREACHABLE ? ENETUNREACH :
		    ECONNREFUSED);
	return HOP_DONE;
}

const struct connector connector_relay = {
	"relay", relay_request, relay_reply, 0
};
