/*
 * SOCKS5 chain nodes (RFC 1928, 1929), as gost's client speaks it: its
 * TLS methods (0x80, 0x82) offered unless notls= or the transport is
 * TLS already, password methods only with a password, and gost's extra
 * commands (UDP-over-TCP, MBIND) or BIND at the last hop.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "err.h"
#include "proto/proto.h"
#include "core/chain.h"
#include "core/listen.h"
#include "connector/connector.h"

enum { S5_METHOD, S5_AUTH, S5_REPLY };

static int
s5_tls(const struct hop_conf *h)
{
	return !h->notls && !tp_has_tls(&h->tp);
}

static int
s5_request(struct chain_dial *cd, const struct hop_conf *h)
{
	unsigned char m[8];
	size_t n = 0;

	m[n++] = SOCKS5_VER;
	m[n++] = 0;
	m[n++] = SOCKS5_AUTH_NONE;
	if (h->user != NULL)
		m[n++] = SOCKS5_AUTH_USERPASS;
	if (s5_tls(h))
		m[n++] = SOCKS5_AUTH_TLS;
	if (s5_tls(h) && h->user != NULL)
		m[n++] = SOCKS5_AUTH_TLSAUTH;
	m[1] = (unsigned char)(n - 2);
	*hop_step(cd) = S5_METHOD;
	return hop_send(cd, m, n) == 0 ? HOP_WAIT : HOP_FAILED;
}

/* The CONNECT (or the last hop's other command) for the next address. */
static int
s5_connect(struct chain_dial *cd)
{
	unsigned char m[300];
	const char *host;
	uint16_t port;
	size_t n = 0, al;

	hop_next(cd, &host, &port);
	m[n++] = SOCKS5_VER;
	m[n++] = SOCKS5_CMD_CONNECT;
	m[n++] = 0;
	/*
	 * At the last hop: gost's UDP-over-TCP (host:port the address to
	 * bind, 0.0.0.0:0 for an association) or a BIND for rtcp.
	 */
	if (hop_last(cd) && (hop_flags(cd) & CHAIN_UDPTUN))
		m[1] = SOCKS5_CMD_UDPTUN;
	else if (hop_last(cd) && (hop_flags(cd) & CHAIN_BIND))
		m[1] = SOCKS5_CMD_BIND;
	else if (hop_last(cd) && (hop_flags(cd) & CHAIN_MBIND))
		m[1] = SOCKS5_CMD_MBIND;
	if ((al = socks5_put_addr(m + n, sizeof(m) - n, host, port)) == 0)
		return hop_fail(cd, ENAMETOOLONG);
	n += al;
	*hop_step(cd) = S5_REPLY;
	return hop_send(cd, m, n) == 0 ? HOP_WAIT : HOP_FAILED;
}

static int
s5_rep_errno(int rep)
{
	switch (rep) {
	case SOCKS5_REP_NOTALLOWED:	return EACCES;
	case SOCKS5_REP_NETUNREACH:	return ENETUNREACH;
	case SOCKS5_REP_HOSTUNREACH:	return EHOSTUNREACH;
	case SOCKS5_REP_REFUSED:	return ECONNREFUSED;
	case SOCKS5_REP_TTL:		return ETIMEDOUT;
	default:			return ECONNABORTED;
	}
}

/* The method chosen: TLS at once, a password, or straight on. */
static int
s5_method(struct chain_dial *cd, const struct hop_conf *h,
    const unsigned char *m)
{
	unsigned char a[3 + 255 + 255];
	size_t ul, pl;
	int r;

	if (m[0] != SOCKS5_VER)
		return hop_fail(cd, EPROTO);
	if ((m[1] == SOCKS5_AUTH_TLS || m[1] == SOCKS5_AUTH_TLSAUTH) &&
	    s5_tls(h)) {
		/* the rest of SOCKS5 runs inside TLS */
		if (hop_push_tls(cd, h->host) != 0)
			return HOP_FAILED;
		if (m[1] == SOCKS5_AUTH_TLS)
			return s5_connect(cd);
	} else if (m[1] == SOCKS5_AUTH_NONE)
		return s5_connect(cd);
	if ((m[1] != SOCKS5_AUTH_USERPASS && m[1] != SOCKS5_AUTH_TLSAUTH) ||
	    h->user == NULL)
		return hop_fail(cd, EPERM);
	ul = strlen(h->user);
	pl = strlen(h->pass);
	a[0] = 1;
	a[1] = (unsigned char)ul;
	memcpy(a + 2, h->user, ul);
	a[2 + ul] = (unsigned char)pl;
	memcpy(a + 3 + ul, h->pass, pl);
	r = hop_send(cd, a, 3 + ul + pl);
	explicit_bzero(a, sizeof(a));
	*hop_step(cd) = S5_AUTH;
	return r == 0 ? HOP_WAIT : HOP_FAILED;
}

static int
s5_reply(struct chain_dial *cd, const struct hop_conf *h)
{
	unsigned char m[2];
	const unsigned char *in;
	size_t len, inlen;
	int r, rep, e, eof;

	switch (*hop_step(cd)) {
	case S5_METHOD:
		if ((r = hop_take(cd, m, 2)) != 0)
			break;
		return s5_method(cd, h, m);
	case S5_AUTH:
		if ((r = hop_take(cd, m, 2)) != 0)
			break;
		if (m[1] != 0)
			return hop_fail(cd, EPERM);
		return s5_connect(cd);
	default:
		in = hop_input(cd, &inlen, &eof);
		e = socks5_reply_length(in, inlen, &len, &rep);
		if (e == ERR_INCOMPLETE) {
			r = eof ? -1 : 1;
			break;
		}
		if (e != 0)
			return hop_fail(cd, EPROTO);
		if (rep != SOCKS5_REP_OK) {
			char why[80];

			snprintf(why, sizeof(why), "%s (SOCKS5 reply %d)",
			    strerror(s5_rep_errno(rep)), rep);
			return hop_refused(cd, s5_rep_errno(rep), why);
		}
		hop_consume(cd, len);
		return HOP_DONE;
	}
	return r < 0 ? hop_fail(cd, EPROTO) : HOP_WAIT;
}

const struct connector connector_socks5 = {
	"socks5", s5_request, s5_reply, 0
};
