/* SOCKS5 server-side message parsing (RFC 1928, RFC 1929). */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include "err.h"
#include "proto.h"

int
socks5_parse_greeting(struct buf *b, struct socks5_greeting *g)
{
	const unsigned char *p = buf_ptr(b);
	size_t len = buf_len(b), i, n;

	memset(g, 0, sizeof(*g));
	if (len < 2)
		return ERR_INCOMPLETE;
	if (p[0] != SOCKS5_VER || p[1] == 0)
		return ERR_FORMAT;
	n = p[1];
	if (len < 2 + n)
		return ERR_INCOMPLETE;
	for (i = 0; i < n; i++) {
		if (p[2 + i] == SOCKS5_AUTH_NONE)
			g->offers_none = 1;
		else if (p[2 + i] == SOCKS5_AUTH_USERPASS)
			g->offers_userpass = 1;
		else if (p[2 + i] == SOCKS5_AUTH_TLS)
			g->offers_tls = 1;
		else if (p[2 + i] == SOCKS5_AUTH_TLSAUTH)
			g->offers_tlsauth = 1;
	}
	return buf_consume(b, 2 + n);
}

int
socks5_parse_auth(struct buf *b, struct socks5_auth *a)
{
	const unsigned char *p = buf_ptr(b);
	size_t len = buf_len(b), ulen, plen;

	memset(a, 0, sizeof(*a));
	if (len < 2)
		return ERR_INCOMPLETE;
	if (p[0] != 0x01)
		return ERR_FORMAT;
	ulen = p[1];
	if (len < 2 + ulen + 1)
		return ERR_INCOMPLETE;
	plen = p[2 + ulen];
	if (len < 3 + ulen + plen)
		return ERR_INCOMPLETE;
	if (ulen == 0 || memchr(p + 2, '\0', ulen) != NULL ||
	    memchr(p + 3 + ulen, '\0', plen) != NULL)
		return ERR_FORMAT;
	memcpy(a->user, p + 2, ulen);
	memcpy(a->pass, p + 3 + ulen, plen);
	return buf_consume(b, 3 + ulen + plen);
}

/* ATYP + address + port, shared by requests and UDP headers. */
int
socks5_parse_addr(const unsigned char *p, size_t len, struct proxy_target *t,
    size_t *used)
{
	size_t alen;

	if (len < 1)
		return ERR_INCOMPLETE;
	t->atyp = p[0];
	switch (p[0]) {
	case SOCKS5_ATYP_IPV4:
		alen = 4;
		if (len < 1 + alen + 2)
			return ERR_INCOMPLETE;
		inet_ntop(AF_INET, p + 1, t->host, sizeof(t->host));
		break;
	case SOCKS5_ATYP_IPV6:
		alen = 16;
		if (len < 1 + alen + 2)
			return ERR_INCOMPLETE;
		inet_ntop(AF_INET6, p + 1, t->host, sizeof(t->host));
		break;
	case SOCKS5_ATYP_DOMAIN:
		if (len < 2)
			return ERR_INCOMPLETE;
		alen = 1 + (size_t)p[1];
		if (len < 1 + alen + 2)
			return ERR_INCOMPLETE;
		if (p[1] == 0 || memchr(p + 2, '\0', p[1]) != NULL)
			return ERR_FORMAT;
		memcpy(t->host, p + 2, p[1]);
		t->host[p[1]] = '\0';
		break;
	default:
		return ERR_VERSION;	/* address type not supported */
	}
	t->port = (uint16_t)(p[1 + alen] << 8 | p[2 + alen]);
	*used = 1 + alen + 2;
	return 0;
}

int
socks5_parse_request(struct buf *b, struct socks5_request *r)
{
	const unsigned char *p = buf_ptr(b);
	size_t len = buf_len(b), used;
	int e;

	memset(r, 0, sizeof(*r));
	if (len < 4)
		return ERR_INCOMPLETE;
	if (p[0] != SOCKS5_VER || p[2] != 0)
		return ERR_FORMAT;
	r->cmd = p[1];
	if ((e = socks5_parse_addr(p + 3, len - 3, &r->dst, &used)) != 0)
		return e;
	return buf_consume(b, 3 + used);
}

size_t
socks5_reply(unsigned char *out, size_t outlen, int rep,
    const struct sockaddr *bound)
{
	const struct sockaddr_in *sin = (const void *)bound;
	const struct sockaddr_in6 *sin6 = (const void *)bound;

	if (outlen < 22)
		return 0;
	out[0] = SOCKS5_VER;
	out[1] = (unsigned char)rep;
	out[2] = 0;
	if (bound != NULL && bound->sa_family == AF_INET6) {
		out[3] = SOCKS5_ATYP_IPV6;
		memcpy(out + 4, &sin6->sin6_addr, 16);
		memcpy(out + 20, &sin6->sin6_port, 2);
		return 22;
	}
	out[3] = SOCKS5_ATYP_IPV4;
	if (bound != NULL && bound->sa_family == AF_INET) {
		memcpy(out + 4, &sin->sin_addr, 4);
		memcpy(out + 8, &sin->sin_port, 2);
	} else
		memset(out + 4, 0, 6);
	return 10;
}

/*
 * UDP request header (RFC 1928 section 7): RSV(2) FRAG(1) ATYP ADDR PORT.
 * Fragments are not supported (FRAG != 0 is refused, as most servers do).
 */
int
socks5_parse_udp(const unsigned char *p, size_t len, struct proxy_target *t,
    size_t *hdrlen)
{
	size_t used;
	int e;

	memset(t, 0, sizeof(*t));
	if (len < 4)
		return ERR_INCOMPLETE;
	if (p[0] != 0 || p[1] != 0 || p[2] != 0)
		return ERR_FORMAT;
	if ((e = socks5_parse_addr(p + 3, len - 3, t, &used)) != 0)
		return e;
	*hdrlen = 3 + used;
	return 0;
}

size_t
socks5_udp_header(unsigned char *out, size_t outlen, const struct sockaddr *src)
{
	size_t n = socks5_reply(out, outlen, 0, src);

	/* Same layout as a reply, with RSV RSV FRAG in front of ATYP. */
	if (n == 0)
		return 0;
	out[0] = out[1] = out[2] = 0;
	return n;
}

/*
 * Client side: how long the server's reply is.  Returns 0 with *len set
 * (and *rep the reply code), ERR_INCOMPLETE, or ERR_FORMAT.
 */
int
socks5_reply_length(const unsigned char *p, size_t avail, size_t *len,
    int *rep)
{
	if (avail < 5)
		return ERR_INCOMPLETE;
	if (p[0] != SOCKS5_VER)
		return ERR_FORMAT;
	*rep = p[1];
	switch (p[3]) {
	case SOCKS5_ATYP_IPV4:
		*len = 10;
		return 0;
	case SOCKS5_ATYP_IPV6:
		*len = 22;
		return 0;
	case SOCKS5_ATYP_DOMAIN:
		*len = 7 + (size_t)p[4];
		return 0;
	default:
		/* a failure reply may carry no usable address */
		return p[1] != SOCKS5_REP_OK ? (*len = 5, 0) : ERR_FORMAT;
	}
}

/*
 * gost's UDP-over-TCP frame (CMD 0xF3): DLEN(2) FRAG(1) ATYP ADDR PORT
 * DATA, DLEN being the payload length.  Returns 0 with the frame's total
 * length in *framelen, ERR_INCOMPLETE, or an error; a zero DLEN is
 * refused (gost reads it as "everything available").
 */
int
socks5_parse_udptun(const unsigned char *p, size_t avail,
    struct proxy_target *t, size_t *hdrlen, size_t *framelen)
{
	size_t dlen, used;
	int e;

	memset(t, 0, sizeof(*t));
	if (avail < 4)
		return ERR_INCOMPLETE;
	dlen = (size_t)(p[0] << 8 | p[1]);
	if (dlen == 0)
		return ERR_FORMAT;
	if ((e = socks5_parse_addr(p + 3, avail - 3, t, &used)) != 0)
		return e;
	*hdrlen = 3 + used;
	if (avail - *hdrlen < dlen)
		return ERR_INCOMPLETE;
	*framelen = *hdrlen + dlen;
	return 0;
}

size_t
socks5_udptun_header(unsigned char *out, size_t outlen,
    const struct sockaddr *src, size_t dlen)
{
	size_t n = socks5_udp_header(out, outlen, src);

	if (n == 0 || dlen == 0 || dlen > 0xffff)
		return 0;
	out[0] = (unsigned char)(dlen >> 8);
	out[1] = (unsigned char)dlen;
	return n;
}

/*
 * ATYP + address + port for host (an IP literal or a name) and port;
 * returns the length, 0 if it does not fit or the name is too long.
 */
size_t
socks5_put_addr(unsigned char *out, size_t outlen, const char *host,
    uint16_t port)
{
	size_t n, hl;

	if (outlen < 1 + 16 + 2)
		return 0;
	if (inet_pton(AF_INET, host, out + 1) == 1) {
		out[0] = SOCKS5_ATYP_IPV4;
		n = 5;
	} else if (inet_pton(AF_INET6, host, out + 1) == 1) {
		out[0] = SOCKS5_ATYP_IPV6;
		n = 17;
	} else {
		hl = strlen(host);
		if (hl == 0 || hl > PROXY_HOST_MAX || outlen < 2 + hl + 2)
			return 0;
		out[0] = SOCKS5_ATYP_DOMAIN;
		out[1] = (unsigned char)hl;
		memcpy(out + 2, host, hl);
		n = 2 + hl;
	}
	out[n++] = (unsigned char)(port >> 8);
	out[n++] = (unsigned char)port;
	return n;
}
