/*
 * gost v2's obfuscating transports as pure codecs (spec 2.7, 2.8):
 * obfs-http ("ohttp", a fake WebSocket upgrade) and obfs-tls ("otls", a
 * fake TLS 1.2 handshake, then records).  Builders write into a caller's
 * buffer, parsers read the bytes received so far; nothing here does I/O
 * or allocates.  The connection layer keeps the bytes, holds back what
 * gost holds back and decides when to send.  Functions return 0 or a
 * negative error from err.h; ERR_NO_SPACE always means "out is too
 * small" and leaves *olen at 0.  Times are Unix seconds from the
 * caller; random bytes come from arc4random_buf.
 */
#ifndef OSTP_OBFS_H
#define OSTP_OBFS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A Host header or server_name: 1-255 printable bytes, no space. */
#define OBFS_HOST_MAX		255

/*
 * Fetch SHA-1 before the sandbox goes up (the 101 answer needs it);
 * ohttp_server_response does it on first use otherwise.
 */
int	obfs_crypto_init(void);

/*
 * obfs-http.  Client: its first write is ohttp_client_request() (the
 * head then that write's bytes, in one send); its first reads go through
 * ohttp_client_response() until it returns 0, and everything after
 * head_len is data.  Server: ohttp_server_request() on what arrived;
 * bytes after head_len are the first payload (with or without a
 * Content-Length: gost's client never sends one).  If
 * ohttp_server_accepts() says no, send ohttp_server_refusal() and
 * close; on a parse error close without an answer, as gost does.
 * Otherwise build ohttp_server_response(): send it at once when no
 * payload came with the request, else hold it and prefix it to the
 * server's first write.  After that, raw bytes both ways.
 */
#define OHTTP_HEAD_MAX		8192	/* request or response head */
#define OHTTP_KEY_MAX		128	/* Sec-WebSocket-Key we take */
#define OHTTP_KEY_RAW		16	/* random bytes in our key */
#define OHTTP_ACCEPT_LEN	28	/* base64 of a SHA-1 */
/* Our request head with the longest host; the 101 or 503 answer. */
#define OHTTP_REQUEST_HEAD_MAX	(150 + OBFS_HOST_MAX)
#define OHTTP_RESPONSE_MAX	256

struct ohttp_request {
	size_t	head_len;		/* request line to the empty line */
	size_t	content_length;		/* 0 when absent */
	int	has_content_length;
	int	method_get;		/* the method is GET */
	int	upgrade_websocket;	/* the first Upgrade is "websocket" */
	char	key[OHTTP_KEY_MAX + 1];	/* Sec-WebSocket-Key, "" if none */
};

/* The request head of 2.7 for host, then len bytes of data. */
int	ohttp_client_request(const char *host, const void *data, size_t len,
	    unsigned char *out, size_t outlen, size_t *olen);
/*
 * The server's answer head: ERR_INCOMPLETE until the line "\r\n" that
 * ends it, ERR_TOO_LONG past OHTTP_HEAD_MAX.  *status is the code of
 * an "HTTP/1.x NNN" first line, 0 for any other first line (gost's
 * client does not look; a caller may insist on 101).
 */
int	ohttp_client_response(const unsigned char *p, size_t len,
	    size_t *head_len, int *status);
/*
 * A request head: ERR_INCOMPLETE until complete, ERR_TOO_LONG past
 * OHTTP_HEAD_MAX or for a longer key, ERR_FORMAT when malformed
 * (including a Transfer-Encoding, which gost's client never sends).
 */
int	ohttp_server_request(const unsigned char *p, size_t len,
	    struct ohttp_request *);
/* gost's rule: GET with "Upgrade: websocket" gets the 101. */
int	ohttp_server_accepts(const struct ohttp_request *);
/* "101 Switching Protocols" with the accept value for key. */
int	ohttp_server_response(const char *key, time_t now,
	    unsigned char *out, size_t outlen, size_t *olen);
/* "503 Service Unavailable", Content-Length: 0. */
int	ohttp_server_refusal(time_t now, unsigned char *out, size_t outlen,
	    size_t *olen);
/* base64(SHA-1(key || RFC 6455 GUID)), NUL-terminated. */
int	ohttp_accept_value(const char *key, char out[OHTTP_ACCEPT_LEN + 1]);

/*
 * obfs-tls.  Client: it must write first; that write is one
 * otls_client_hello() record carrying the bytes in its session_ticket
 * extension, later writes otls_frame().  Its reads go through an
 * otls_reader (client), which checks and strips the server's fake
 * handshake.  Server: otls_parse_hello() on the first record gives the
 * first payload; what follows hello_len goes through an otls_reader
 * (server).  Its first write is otls_server_flight() (ServerHello,
 * ChangeCipherSpec, data), later ones otls_frame().
 */
#define OTLS_REC_HDR		5
#define OTLS_DATA_MAX		16384	/* payload per record */
#define OTLS_SID_MAX		32
#define OTLS_SERVER_HELLO_LEN	91	/* ServerHello with 32-byte id */
/* Record header, ClientHello without host and payload. */
#define OTLS_HELLO_FIXED	217
/*
 * The largest first write that fits one ClientHello record whatever the
 * host: the caller keeps its first write at or under this.  gost's
 * client does not cap it; we refuse more (ERR_TOO_LONG).
 */
#define OTLS_FIRST_MAX		\
	(OTLS_DATA_MAX + OTLS_REC_HDR - OTLS_HELLO_FIXED - OBFS_HOST_MAX)
/*
 * A v2 client's ClientHello may exceed 16 KiB (it does not cap its
 * first write), so the server takes any 16-bit record length: its
 * input buffer must hold this much before the hello is complete.
 */
#define OTLS_HELLO_MAX		(OTLS_REC_HDR + 0xffff)
/* ServerHello and ChangeCipherSpec records with a 32-byte id. */
#define OTLS_FLIGHT_HDR		\
	(OTLS_REC_HDR + OTLS_SERVER_HELLO_LEN + OTLS_REC_HDR + 1)

struct otls_hello {
	size_t		hello_len;	/* the first record, header included */
	size_t		ticket_off;	/* first payload, from p[0]; 0: none */
	size_t		ticket_len;	/* 0 when absent or empty */
	size_t		sid_len;
	unsigned char	sid[OTLS_SID_MAX];
};

/*
 * Incoming records after the handshake message(s).  A client reader
 * checks record 1 (16 03 01: 91 bytes skipped, whatever its length
 * says, as gost does), record 2 (14 03 03: 1 byte skipped), record 3
 * (16 03 03) and records 4+ (17 03 03), whose payloads are data.  A
 * server reader takes every record's payload as data.  Any payload over
 * OTLS_DATA_MAX is ERR_TOO_LONG; an unexpected type ERR_FORMAT, version
 * ERR_VERSION.  Errors stick.
 */
struct otls_reader {
	int	server;
	int	step;		/* client: records begun, at most 3 */
	int	skip;		/* the current payload is discarded */
	int	err;
	size_t	left;		/* payload bytes of the current record */
};

/* One ClientHello record (2.8) for host carrying len bytes of data. */
int	otls_client_hello(const char *host, time_t now, const void *data,
	    size_t len, unsigned char *out, size_t outlen, size_t *olen);
/*
 * The client's first record: ERR_INCOMPLETE until whole (decided as
 * early as the bytes allow), ERR_FORMAT when it is not one handshake
 * record holding exactly one ClientHello.
 */
int	otls_parse_hello(const unsigned char *p, size_t len,
	    struct otls_hello *);
/*
 * The server's first write: ServerHello echoing h's session id, then
 * ChangeCipherSpec, then data as a 16 03 03 record (gost's client wants
 * its first data there) and further 17 03 03 records.  *used tells how
 * much of data fitted; the caller frames the rest with otls_frame().
 * ERR_NO_SPACE unless the two handshake records and one byte fit.
 */
int	otls_server_flight(const struct otls_hello *h, time_t now,
	    const void *data, size_t len, size_t *used, unsigned char *out,
	    size_t outlen, size_t *olen);
/*
 * 17 03 03 LEN records of at most OTLS_DATA_MAX bytes, as many as out
 * holds: *used may be short of len (0 when out has no room for a
 * header and a byte).  otls_frame_len() gives the room for all of len.
 */
int	otls_frame(const void *data, size_t len, size_t *used,
	    unsigned char *out, size_t outlen, size_t *olen);
int	otls_frame_len(size_t len, size_t *need);

void	otls_reader_init(struct otls_reader *, int server);
/*
 * Consume whole record headers and as much payload as in has and out
 * holds: *used bytes of in, *olen bytes of data in out.  A header cut
 * short stays unconsumed (the caller keeps it for the next call).
 */
int	otls_read(struct otls_reader *, const unsigned char *in, size_t inlen,
	    size_t *used, unsigned char *out, size_t outlen, size_t *olen);
/* EOF with inlen bytes unconsumed: 0 on a record boundary. */
int	otls_read_eof(const struct otls_reader *, size_t inlen);

#endif
