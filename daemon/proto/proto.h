/*
 * Proxy protocol parsers (server side).  Pure functions over a bounded
 * buffer of what the client sent so far: each returns 0 with the parsed
 * message consumed, ERR_INCOMPLETE when more bytes are needed (nothing
 * consumed), or another negative error for malformed input.  The
 * connection logic lives in daemon/handler/ (proxy.c, socks5.c, ...);
 * these are what the fuzzers exercise.
 */
#ifndef OSTP_PROTO_H
#define OSTP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct sockaddr;

#define PROXY_HOST_MAX	255

/* A request target: a name or an IP literal, and a port. */
struct proxy_target {
	char		host[PROXY_HOST_MAX + 1];
	uint16_t	port;
	int		atyp;		/* SOCKS5 ATYP it came as */
};

/* SOCKS5 (RFC 1928, RFC 1929) */
#define SOCKS5_VER		0x05
#define SOCKS5_AUTH_NONE	0x00
#define SOCKS5_AUTH_USERPASS	0x02
#define SOCKS5_AUTH_NOACCEPT	0xff
#define SOCKS5_AUTH_TLS		0x80	/* gost: TLS, then no auth */
#define SOCKS5_AUTH_TLSAUTH	0x82	/* gost: TLS, then RFC 1929 */
#define SOCKS5_CMD_CONNECT	0x01
#define SOCKS5_CMD_BIND		0x02
#define SOCKS5_CMD_UDP		0x03
#define SOCKS5_ATYP_IPV4	0x01
#define SOCKS5_ATYP_DOMAIN	0x03
#define SOCKS5_ATYP_IPV6	0x04
#define SOCKS5_REP_OK		0x00
#define SOCKS5_REP_FAIL		0x01
#define SOCKS5_REP_NOTALLOWED	0x02
#define SOCKS5_REP_NETUNREACH	0x03
#define SOCKS5_REP_HOSTUNREACH	0x04
#define SOCKS5_REP_REFUSED	0x05
#define SOCKS5_REP_TTL		0x06
#define SOCKS5_REP_CMD		0x07
#define SOCKS5_REP_ATYP		0x08

struct socks5_greeting {
	int		offers_none;
	int		offers_userpass;
	int		offers_tls;
	int		offers_tlsauth;
};

struct socks5_auth {
	char		user[256];
	char		pass[256];
};

struct socks5_request {
	int			cmd;
	struct proxy_target	dst;
};

int	socks5_parse_greeting(struct buf *, struct socks5_greeting *);
int	socks5_parse_auth(struct buf *, struct socks5_auth *);
int	socks5_parse_request(struct buf *, struct socks5_request *);
/* Reply with a bound address (NULL: 0.0.0.0:0); returns its length. */
size_t	socks5_reply(unsigned char *out, size_t outlen, int rep,
	    const struct sockaddr *bound);

/* Client side: the length of the server's reply and its code. */
int	socks5_reply_length(const unsigned char *, size_t avail, size_t *len,
	    int *rep);

/* ATYP, address, port: parse (used = its length) and build. */
int	socks5_parse_addr(const unsigned char *, size_t, struct proxy_target *,
	    size_t *used);
size_t	socks5_put_addr(unsigned char *out, size_t outlen, const char *host,
	    uint16_t port);

/* UDP datagram header; *hdrlen is where the payload starts. */
int	socks5_parse_udp(const unsigned char *, size_t, struct proxy_target *,
	    size_t *hdrlen);
size_t	socks5_udp_header(unsigned char *out, size_t outlen,
	    const struct sockaddr *src);

/* gost's UDP-over-TCP frames (CMD 0xF3). */
#define SOCKS5_CMD_UDPTUN	0xf3
#define SOCKS5_CMD_MBIND	0xf2	/* gost: BIND multiplexed with smux */
int	socks5_parse_udptun(const unsigned char *, size_t avail,
	    struct proxy_target *, size_t *hdrlen, size_t *framelen);
size_t	socks5_udptun_header(unsigned char *out, size_t outlen,
	    const struct sockaddr *src, size_t dlen);

/* SOCKS4 / 4a */
#define SOCKS4_VER		0x04
#define SOCKS4_CMD_CONNECT	0x01
#define SOCKS4_CMD_BIND		0x02
#define SOCKS4_REP_GRANTED	0x5a
#define SOCKS4_REP_REJECTED	0x5b

struct socks4_request {
	int			cmd;
	int			is4a;
	char			userid[256];
	struct proxy_target	dst;
};

int	socks4_parse_request(struct buf *, struct socks4_request *);
void	socks4_reply(unsigned char out[8], int rep);
void	socks4_reply_addr(unsigned char out[8], int rep,
	    const struct sockaddr *);

/* HTTP/1.x proxy requests (RFC 9110, 9112) */
#define HTTP_HEAD_MAX		(16 * 1024)
#define HTTP_MAX_HEADERS	100

struct http_header {
	const char	*name;		/* into http_request.raw */
	size_t		 namelen;
	const char	*value;
	size_t		 valuelen;
};

struct http_request {
	char			*raw;		/* copy of the head, owned */
	size_t			 rawlen;
	char			*orig;		/* the head as received */
	const char		*method;
	size_t			 methodlen;
	const char		*path;		/* origin-form for non-CONNECT */
	size_t			 pathlen;
	int			 minor;		/* HTTP/1.minor */
	int			 is_connect;
	struct proxy_target	 dst;
	struct http_header	 hdr[HTTP_MAX_HEADERS];
	size_t			 nhdr;
};

int	http_parse_request(struct buf *, struct http_request *);
/* host[:port] or [v6][:port] (defport 0: the port is required). */
int	http_parse_authority(const char *, size_t, uint16_t defport,
	    struct proxy_target *);
void	http_request_free(struct http_request *);
/* Client side: a response head's length and status code. */
int	http_parse_status(const unsigned char *, size_t avail,
	    size_t *headlen, int *code);
/* The value of a header (first occurrence), or NULL. */
const struct http_header *http_header_get(const struct http_request *,
	    const char *name);
/* Response heads and message framing, for keep-alive forwarding. */
#define HTTP_BODY_NONE		0
#define HTTP_BODY_LENGTH	1
#define HTTP_BODY_CHUNKED	2
#define HTTP_BODY_CLOSE		3
int	http_parse_response(const unsigned char *, size_t avail,
	    struct http_request *, int *code);
int	http_keepalive(const struct http_request *);
int	http_body(const struct http_request *, int code, int head_request,
	    uint64_t *len);
/* The framing fields alone; ERR_FORMAT for ambiguous ones (smuggling). */
int	http_framing(const struct http_request *, uint64_t *len);
/* Following a chunked body to its end, to frame it exactly. */
struct http_chunked {
	int		 state;
	unsigned int	 digits;
	uint64_t	 left;		/* chunk-size, then data bytes left */
	size_t		 line;		/* bytes of the current line */
	size_t		 trailer;	/* bytes of the trailer section */
};
void	http_chunked_init(struct http_chunked *);
int	http_chunked_scan(struct http_chunked *, const unsigned char *,
	    size_t len, size_t *used);
char	*http_rewrite_response(const struct http_request *, int keep,
	    size_t *lenp);
/* Decode "Basic b64" into user and password; 0 on success. */
int	http_basic_decode(const char *value, size_t len, char *user,
	    size_t userlen, char *pass, size_t passlen);
/*
 * Rewrite a plain request for the origin server: origin-form target, no
 * Proxy-* headers, "Connection: close".  Returns a malloc'ed head.
 */
char	*http_rewrite_request(const struct http_request *, size_t *lenp);

#endif
