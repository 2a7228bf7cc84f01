/*
 * SOCKS4 and SOCKS4a chain nodes: IPv4 addresses, names only with 4a,
 * no passwords (the scheme table refuses them).
 */
#include "config.h"

#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "proto/proto.h"
#include "connector/connector.h"

static int
s4_request(struct chain_dial *cd, const struct hop_conf *h)
{
	unsigned char m[16 + PROXY_HOST_MAX + 1], a4[4];
	const char *host;
	uint16_t port;
	size_t n = 0, hl;

	hop_next(cd, &host, &port);
	hl = strlen(host);
	m[n++] = SOCKS4_VER;
	m[n++] = SOCKS4_CMD_CONNECT;
	m[n++] = (unsigned char)(port >> 8);
	m[n++] = (unsigned char)port;
	if (inet_pton(AF_INET, host, a4) == 1) {
		memcpy(m + n, a4, 4);
		n += 4;
		m[n++] = 0;	/* empty user id */
	} else if (h->kind == HOP_SOCKS4A && hl <= PROXY_HOST_MAX) {
		memcpy(m + n, "\0\0\0\1", 4);
		n += 4;
		m[n++] = 0;
		memcpy(m + n, host, hl + 1);
		n += hl + 1;
	} else {
		/* SOCKS4 carries IPv4 only; names need socks4a */
		return hop_fail(cd, EAFNOSUPPORT);
	}
	return hop_send(cd, m, n) == 0 ? HOP_WAIT : HOP_FAILED;
}

static int
s4_reply(struct chain_dial *cd, const struct hop_conf *h)
{
	unsigned char m[8];
	int r;

	if ((r = hop_take(cd, m, 8)) != 0)
		return r < 0 ? hop_fail(cd, EPROTO) : HOP_WAIT;
	if (m[1] != SOCKS4_REP_GRANTED) {
		char why[64];

		snprintf(why, sizeof(why), "request rejected (SOCKS4 reply "
		    "%u)", m[1]);
		return hop_refused(cd, ECONNREFUSED, why);
	}
	return HOP_DONE;
}

const struct connector connector_socks4 = {
	"socks4", s4_request, s4_reply, 0
};
