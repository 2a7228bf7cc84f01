/*
 * HTTP CONNECT chain nodes (also gost's auto connector): one request,
 * Basic credentials when the node has them, a 200 to go on.
 */
#include "config.h"

#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "conf.h"
#include "err.h"
#include "proto/proto.h"
#include "connector/connector.h"

static int
http_request(struct chain_dial *cd, const struct hop_conf *h)
{
	char req[1500], up[520], b64[700], hdr[760];
	unsigned char a6[16];
	const char *host;
	uint16_t port;
	int len;

	hop_next(cd, &host, &port);
	hdr[0] = '\0';
	if (h->user != NULL) {
		/* user and password are at most 255 bytes each */
		len = snprintf(up, sizeof(up), "%s:%s", h->user, h->pass);
		EVP_EncodeBlock((unsigned char *)b64, (unsigned char *)up,
		    len);
		snprintf(hdr, sizeof(hdr), "Proxy-Authorization: Basic %s\r\n",
		    b64);
		explicit_bzero(b64, sizeof(b64));
		explicit_bzero(up, sizeof(up));
	}
	len = snprintf(req, sizeof(req), inet_pton(AF_INET6, host, a6) == 1 ?
	    "CONNECT [%s]:%u HTTP/1.1\r\nHost: [%s]:%u\r\n"
	    "%sProxy-Connection: keep-alive\r\n\r\n" :
	    "CONNECT %s:%u HTTP/1.1\r\nHost: %s:%u\r\n"
	    "%sProxy-Connection: keep-alive\r\n\r\n", host, port, host, port,
	    hdr);
	explicit_bzero(hdr, sizeof(hdr));
	if (len < 0 || (size_t)len >= sizeof(req)) {
		explicit_bzero(req, sizeof(req));
		return hop_fail(cd, ENAMETOOLONG);
	}
	len = hop_send(cd, req, (size_t)len);
	explicit_bzero(req, sizeof(req));
	return len == 0 ? HOP_WAIT : HOP_FAILED;
}

static int
http_reply(struct chain_dial *cd, const struct hop_conf *h)
{
	const unsigned char *in;
	size_t inlen, hl;
	int code, e, eof;

	in = hop_input(cd, &inlen, &eof);
	e = http_parse_status(in, inlen < HTTP_HEAD_MAX ? inlen :
	    HTTP_HEAD_MAX, &hl, &code);
	if (e == ERR_INCOMPLETE && !eof && inlen < HTTP_HEAD_MAX)
		return HOP_WAIT;
	if (e != 0)
		return hop_fail(cd, EPROTO);
	hop_consume(cd, hl);
	if (code == 407)
		return connector_auth_failed(cd, h, "authentication failed "
		    "(407)");
	if (code != 200)
		return hop_fail(cd, code == 403 ? EACCES : code == 407 ? EPERM :
		    code == 504 ? ETIMEDOUT : ECONNREFUSED);
	return HOP_DONE;
}

const struct connector connector_http = {
	"http", http_request, http_reply, 0
};
