/*
 * gost "relay" protocol, version 1: request and response headers made of
 * typed features, and the length-prefixed datagrams of UDP mode.  Pure
 * functions over caller buffers; no I/O.
 */
#ifndef OSTP_PROTO_RELAY_H
#define OSTP_PROTO_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define RELAY_VERSION		1
#define RELAY_HDR_LEN		4		/* VER, CMD or STATUS, FEALEN */
#define RELAY_FEALEN_MAX	0xffff

/* CMD/FLAGS: command in the low nibble, flags in the high bits. */
#define RELAY_CMD_CONNECT	0x01
#define RELAY_CMD_BIND		0x02
#define RELAY_CMD_ASSOCIATE	0x03
#define RELAY_CMD_MASK		0x0f
#define RELAY_FLAG_UDP		0x80

#define RELAY_OK			0
#define RELAY_BAD_REQUEST		1
#define RELAY_UNAUTHORIZED		2
#define RELAY_FORBIDDEN			3
#define RELAY_TIMEOUT			4
#define RELAY_SERVICE_UNAVAILABLE	5
#define RELAY_HOST_UNREACHABLE		6
#define RELAY_NETWORK_UNREACHABLE	7
#define RELAY_INTERNAL_ERROR		8

/* Feature: TYPE(1) LEN(2 BE) DATA(LEN). */
#define RELAY_FEATURE_HDR_LEN	3
#define RELAY_FEATURE_USERAUTH	1
#define RELAY_FEATURE_ADDR	2
#define RELAY_FEATURE_TUNNEL	3
#define RELAY_FEATURE_NETWORK	4

#define RELAY_ADDR_MAX		2
#define RELAY_TUNNEL_ID_LEN	20
#define RELAY_NETWORK_TCP	0x00
#define RELAY_NETWORK_UDP	0x01
#define RELAY_NETWORK_IP	0x02
#define RELAY_NETWORK_UNIX	0x10
#define RELAY_NETWORK_SERIAL	0x11

#define RELAY_DATAGRAM_MAX	0xffff

struct relay_request {
	int			cmd;		/* 0 is read as CONNECT */
	int			udp;		/* RELAY_FLAG_UDP was set */
	int			has_auth;
	char			user[256];
	char			pass[256];
	int			naddr;
	struct proxy_target	addr[RELAY_ADDR_MAX];
	int			has_tunnel;
	unsigned char		tunnel[RELAY_TUNNEL_ID_LEN];
	int			has_network;
	uint16_t		network;
};

struct relay_response {
	int			status;
	int			naddr;
	struct proxy_target	addr[RELAY_ADDR_MAX];
	int			has_tunnel;
	unsigned char		tunnel[RELAY_TUNNEL_ID_LEN];
};

/*
 * Parse a header from p.  Returns 0 with *used = 4 + FEALEN,
 * ERR_INCOMPLETE until the whole header is there, ERR_VERSION, or
 * ERR_FORMAT for a malformed feature.  Unknown feature types are skipped.
 */
int	relay_parse_request(const unsigned char *p, size_t len,
	    struct relay_request *, size_t *used);
int	relay_parse_response(const unsigned char *p, size_t len,
	    struct relay_response *, size_t *used);

/*
 * Build a header into out; returns its length, or 0 if it does not fit
 * or a field is out of range.  user NULL: no UserAuth (pass NULL is
 * read as ""); host NULL: no Addr.  cmd 0 is what v2 clients send.
 */
size_t	relay_build_request(unsigned char *out, size_t outlen, int cmd,
	    int udp, const char *user, const char *pass, const char *host,
	    uint16_t port);
size_t	relay_build_response(unsigned char *out, size_t outlen, int status,
	    const char *host, uint16_t port);

/*
 * UDP mode: each datagram is LEN(2 BE) DATA.  Returns 0 with *hdrlen
 * (where DATA starts) and *dlen once the whole datagram is there, else
 * ERR_INCOMPLETE.  An empty datagram is valid.
 */
int	relay_parse_datagram(const unsigned char *p, size_t len,
	    size_t *hdrlen, size_t *dlen);
/* 0, or ERR_TOO_LONG when n > RELAY_DATAGRAM_MAX (out is left alone). */
int	relay_put_datagram_len(unsigned char out[2], size_t n);

#endif
