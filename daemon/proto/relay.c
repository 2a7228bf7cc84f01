/*
 * gost relay protocol v1 (go-gost/relay): header codec and UDP-mode
 * datagram framing.  See relay.h.
 */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "err.h"
#include "relay.h"

/* UserAuth data: ULEN USER PLEN PASS, each at most 255 bytes. */
static int
relay_parse_auth(const unsigned char *d, size_t dlen, struct relay_request *r)
{
	struct buf b;
	uint8_t ulen, plen;

	if (r->has_auth)
		return ERR_FORMAT;
	buf_view(&b, d, dlen);
	if (buf_get_u8(&b, &ulen) != 0 || buf_get(&b, r->user, ulen) != 0 ||
	    buf_get_u8(&b, &plen) != 0 || buf_get(&b, r->pass, plen) != 0 ||
	    buf_expect_end(&b) != 0)
		return ERR_FORMAT;
	/* A NUL would cut the name short of what the peer sent. */
	if (memchr(r->user, '\0', ulen) != NULL ||
	    memchr(r->pass, '\0', plen) != NULL)
		return ERR_FORMAT;
	r->user[ulen] = '\0';
	r->pass[plen] = '\0';
	r->has_auth = 1;
	return 0;
}

static int
relay_parse_addr(const unsigned char *d, size_t dlen, struct relay_request *r)
{
	size_t used;

	if (r->naddr >= RELAY_ADDR_MAX)
		return ERR_FORMAT;
	/* Inside a complete feature, short or unknown is just malformed. */
	if (socks5_parse_addr(d, dlen, &r->addr[r->naddr], &used) != 0 ||
	    used != dlen)
		return ERR_FORMAT;
	r->naddr++;
	return 0;
}

static int
relay_parse_feature(int type, const unsigned char *d, size_t dlen,
    struct relay_request *r)
{
	switch (type) {
	case RELAY_FEATURE_USERAUTH:
		return relay_parse_auth(d, dlen, r);
	case RELAY_FEATURE_ADDR:
		return relay_parse_addr(d, dlen, r);
	case RELAY_FEATURE_TUNNEL:
		if (r->has_tunnel || dlen != RELAY_TUNNEL_ID_LEN)
			return ERR_FORMAT;
		memcpy(r->tunnel, d, RELAY_TUNNEL_ID_LEN);
		r->has_tunnel = 1;
		return 0;
	case RELAY_FEATURE_NETWORK:
		if (r->has_network || dlen != 2)
			return ERR_FORMAT;
		r->network = (uint16_t)(d[0] << 8 | d[1]);
		r->has_network = 1;
		return 0;
	default:
		/*
		 * relay v0.7.0 (gost v3) skips types it does not know and
		 * adds a metadata feature; the 2021 library of gost v2
		 * refuses them.  Skipping lets v3 peers in.
		 */
		return 0;
	}
}

/*
 * The common header: VER, a code (CMD/FLAGS or STATUS), FEALEN and the
 * features, collected into r whichever direction it is.  The version is
 * checked as soon as its byte is there; features only once all of them
 * are, so that a short read is never mistaken for a malformed one.
 */
static int
relay_parse_header(const unsigned char *p, size_t len, int *code,
    struct relay_request *r, size_t *used)
{
	struct buf b, fb;
	const unsigned char *d;
	uint8_t ver, c, type;
	uint16_t fealen, flen;
	int e;

	memset(r, 0, sizeof(*r));
	buf_view(&b, p, len);
	if (buf_get_u8(&b, &ver) != 0)
		return ERR_INCOMPLETE;
	if (ver != RELAY_VERSION)
		return ERR_VERSION;
	if (buf_get_u8(&b, &c) != 0 || buf_get_u16(&b, &fealen) != 0 ||
	    buf_len(&b) < fealen)
		return ERR_INCOMPLETE;
	buf_view(&fb, buf_ptr(&b), fealen);
	while (buf_len(&fb) > 0) {
		if (buf_get_u8(&fb, &type) != 0 ||
		    buf_get_u16(&fb, &flen) != 0 || buf_len(&fb) < flen) {
			e = ERR_FORMAT;
			goto fail;
		}
		d = buf_ptr(&fb);
		if ((e = relay_parse_feature(type, d, flen, r)) != 0)
			goto fail;
		if ((e = buf_consume(&fb, flen)) != 0)
			goto fail;
	}
	*code = c;
	*used = RELAY_HDR_LEN + (size_t)fealen;
	return 0;
 fail:
	explicit_bzero(r, sizeof(*r));
	return e;
}

int
relay_parse_request(const unsigned char *p, size_t len,
    struct relay_request *r, size_t *used)
{
	int code, e;

	if ((e = relay_parse_header(p, len, &code, r, used)) != 0)
		return e;
	/* Unknown commands are the caller's to refuse (BadRequest). */
	r->cmd = code & RELAY_CMD_MASK;
	if (r->cmd == 0)
		r->cmd = RELAY_CMD_CONNECT;	/* what v2 clients send */
	r->udp = (code & RELAY_FLAG_UDP) != 0;
	return 0;
}

int
relay_parse_response(const unsigned char *p, size_t len,
    struct relay_response *resp, size_t *used)
{
	struct relay_request r;
	int code, e;

	memset(resp, 0, sizeof(*resp));
	if ((e = relay_parse_header(p, len, &code, &r, used)) != 0)
		return e;
	/* UserAuth and Network mean nothing here; checked, then dropped. */
	resp->status = code;
	resp->naddr = r.naddr;
	memcpy(resp->addr, r.addr, sizeof(resp->addr));
	resp->has_tunnel = r.has_tunnel;
	memcpy(resp->tunnel, r.tunnel, sizeof(resp->tunnel));
	explicit_bzero(&r, sizeof(r));
	return 0;
}

static void
relay_put_feature_hdr(unsigned char *out, int type, size_t dlen)
{
	out[0] = (unsigned char)type;
	out[1] = (unsigned char)(dlen >> 8);
	out[2] = (unsigned char)dlen;
}

static size_t
relay_put_auth(unsigned char *out, size_t outlen, const char *user,
    const char *pass)
{
	size_t ulen, plen, dlen;

	if (pass == NULL)
		pass = "";
	ulen = strlen(user);
	plen = strlen(pass);
	if (ulen > 255 || plen > 255)
		return 0;
	dlen = 2 + ulen + plen;
	if (outlen < RELAY_FEATURE_HDR_LEN + dlen)
		return 0;
	relay_put_feature_hdr(out, RELAY_FEATURE_USERAUTH, dlen);
	out += RELAY_FEATURE_HDR_LEN;
	*out++ = (unsigned char)ulen;
	memcpy(out, user, ulen);
	out += ulen;
	*out++ = (unsigned char)plen;
	memcpy(out, pass, plen);
	return RELAY_FEATURE_HDR_LEN + dlen;
}

static size_t
relay_put_addr(unsigned char *out, size_t outlen, const char *host,
    uint16_t port)
{
	unsigned char a[1 + 1 + PROXY_HOST_MAX + 2];
	size_t alen;

	/* socks5_put_addr wants room for any address; fit exactly here. */
	if ((alen = socks5_put_addr(a, sizeof(a), host, port)) == 0 ||
	    outlen < RELAY_FEATURE_HDR_LEN + alen)
		return 0;
	relay_put_feature_hdr(out, RELAY_FEATURE_ADDR, alen);
	memcpy(out + RELAY_FEATURE_HDR_LEN, a, alen);
	return RELAY_FEATURE_HDR_LEN + alen;
}

/* Header with the features from out + RELAY_HDR_LEN to out + n. */
static size_t
relay_put_header(unsigned char *out, int code, size_t n)
{
	size_t fealen = n - RELAY_HDR_LEN;

	if (fealen > RELAY_FEALEN_MAX)
		return 0;
	out[0] = RELAY_VERSION;
	out[1] = (unsigned char)code;
	out[2] = (unsigned char)(fealen >> 8);
	out[3] = (unsigned char)fealen;
	return n;
}

size_t
relay_build_request(unsigned char *out, size_t outlen, int cmd, int udp,
    const char *user, const char *pass, const char *host, uint16_t port)
{
	size_t n = RELAY_HDR_LEN, fl;

	if (cmd < 0 || cmd > RELAY_CMD_MASK || outlen < n)
		return 0;
	if (user != NULL) {
		if ((fl = relay_put_auth(out + n, outlen - n, user, pass)) == 0)
			return 0;
		n += fl;
	}
	if (host != NULL) {
		if ((fl = relay_put_addr(out + n, outlen - n, host, port)) == 0)
			return 0;
		n += fl;
	}
	return relay_put_header(out, cmd | (udp ? RELAY_FLAG_UDP : 0), n);
}

size_t
relay_build_response(unsigned char *out, size_t outlen, int status,
    const char *host, uint16_t port)
{
	size_t n = RELAY_HDR_LEN, fl;

	if (status < 0 || status > 0xff || outlen < n)
		return 0;
	if (host != NULL) {
		if ((fl = relay_put_addr(out + n, outlen - n, host, port)) == 0)
			return 0;
		n += fl;
	}
	return relay_put_header(out, status, n);
}

int
relay_parse_datagram(const unsigned char *p, size_t len, size_t *hdrlen,
    size_t *dlen)
{
	struct buf b;
	uint16_t n;

	buf_view(&b, p, len);
	if (buf_get_u16(&b, &n) != 0 || buf_len(&b) < n)
		return ERR_INCOMPLETE;
	/* Empty is valid: a v2 client with nodelay=true sends one. */
	*hdrlen = 2;
	*dlen = n;
	return 0;
}

int
relay_put_datagram_len(unsigned char out[2], size_t n)
{
	if (n > RELAY_DATAGRAM_MAX)
		return ERR_TOO_LONG;
	out[0] = (unsigned char)(n >> 8);
	out[1] = (unsigned char)n;
	return 0;
}
