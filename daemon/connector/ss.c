/*
 * Shadowsocks chain nodes: no answer to wait for.  The request header
 * goes out with the salt, and what follows is the cipher's layer; the
 * codec layer holds them for the first data (a few milliseconds at
 * most) unless the node says nodelay=true.
 */
#include "config.h"

#include <errno.h>

#include "conf.h"
#include "core/chain.h"
#include "core/conn.h"
#include "proto/ss.h"
#include "proto/sscodec.h"
#include "connector/connector.h"

static int
ss_request(struct chain_dial *cd, const struct hop_conf *h)
{
	struct codec *c;
	const char *host;
	uint16_t port;

	hop_next(cd, &host, &port);
	if (hop_last(cd) && (hop_flags(cd) & CHAIN_UDPTUN)) {
		/*
		 * gost's ssu over a stream: no request header, the stream
		 * carries UDP-over-TCP frames, each with its destination.
		 */
		if (h->ss_method->kind == SS_KIND_2022)
			return hop_fail(cd, EPROTONOSUPPORT);
		c = (struct codec *)ssc_new(h->ss_method, h->ss_key,
		    SSC_CLIENT);
	} else
		c = ss_codec_client(h->ss_method, h->ss_key, host, port);
	if (c == NULL)
		return hop_fail(cd, ENOMEM);
	if (hop_push_codec(cd, c) != 0)
		return HOP_FAILED;
	if (h->nodelay)
		conn_codec_nodelay(hop_conn(cd));
	return HOP_DONE;
}

static int
ss_reply(struct chain_dial *cd, const struct hop_conf *h)
{
	return HOP_DONE;	/* not reached: the request is the hop */
}

const struct connector connector_ss = {
	"ss", ss_request, ss_reply, 0
};
