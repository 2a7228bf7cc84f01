/*
 * gost's http2 connector: one TLS + HTTP/2 session per node address
 * (mux/pool.c builds and keeps it), and for every dial a stream
 * "CONNECT host:port" with the User-Agent and, with credentials,
 * Proxy-Authorization: Basic.  The node answers 200 and the stream is
 * then the tunnel (gost.md 2.12); any other answer fails the dial.
 */
#include "config.h"

#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "conf.h"
#include "connector/connector.h"
#include "core/conn.h"
#include "log.h"
#include "mux/h2.h"
#include "mux/pool.h"

/* gost's connectors' User-Agent when agent= is not given */
#define HTTP2_AGENT	"Chrome/78.0.3904.106"

static struct conn *
http2_connect_open(struct pooled_session *ps, const struct hop_conf *h,
    const char *host, uint16_t port)
{
	struct h2_hdr hdr[2];
	struct h2 *s;
	struct conn *c;
	unsigned char a6[16];
	char auth[300], up[520], b64[720];
	size_t n = 0;
	int len;

	if (ps == NULL || (s = muxpool_h2(ps)) == NULL) {
		errno = ECONNRESET;
		return NULL;
	}
	snprintf(auth, sizeof(auth), inet_pton(AF_INET6, host, a6) == 1 ?
	    "[%s]:%u" : "%s:%u", host, port);
	hdr[n].name = "user-agent";
	hdr[n++].value = h->tp.agent != NULL ? h->tp.agent : HTTP2_AGENT;
	if (h->user != NULL) {
		/* user and password are at most 255 bytes each (conf.c) */
		len = snprintf(up, sizeof(up), "%s:%s", h->user, h->pass);
		memcpy(b64, "Basic ", 6);
		EVP_EncodeBlock((unsigned char *)b64 + 6, (unsigned char *)up,
		    len);
		explicit_bzero(up, sizeof(up));
		hdr[n].name = "proxy-authorization";
		hdr[n++].value = b64;
	}
	c = h2_open(s, auth, NULL, hdr, n);
	explicit_bzero(b64, sizeof(b64));
	if (c == NULL)
		errno = ECONNRESET;
	return c;
}

/* 1 a tunnel (200), 0 not yet, or -1 with errno. */
static int
http2_connect_reply(struct conn *c, const struct hop_conf *h)
{
	int st = h2_status(c);

	if (st == 0)
		return 0;
	if (st == 200)
		return 1;
	if (st < 0) {
		debug("http2 node %s:%u: the stream ended without an answer",
		    h->host, h->port);
		errno = ECONNRESET;
		return -1;
	}
	/* wrong credentials are the configuration's matter */
	if (st == 407)
		error("http2 node %s:%u: authentication failed (407)",
		    h->host, h->port);
	else
		debug("http2 node %s:%u: answered %d", h->host, h->port, st);
	errno = st == 403 ? EACCES : st == 407 ? EPERM : st == 504 ?
	    ETIMEDOUT : ECONNREFUSED;
	return -1;
}

static int
http2_request(struct chain_dial *cd, const struct hop_conf *h)
{
	const char *host;
	uint16_t port;
	struct conn *c;

	hop_next(cd, &host, &port);
	if ((c = http2_connect_open(hop_session(cd), h, host, port)) == NULL)
		return hop_fail(cd, errno);
	hop_set_conn(cd, c);
	return HOP_WAIT;
}

static int
http2_reply(struct chain_dial *cd, const struct hop_conf *h)
{
	int r;

	if ((r = http2_connect_reply(hop_conn(cd), h)) < 0)
		return hop_fail(cd, errno);
	return r == 0 ? HOP_WAIT : HOP_DONE;
}

/* the session reads the answer: nothing to parse in the stream */
const struct connector connector_http2 = {
	"http2", http2_request, http2_reply, 1
};
