/*
 * WebSocket (RFC 6455) codec for the ws, wss, mws and mwss transports,
 * wire-compatible with gost v2 (gorilla/websocket): the opening
 * handshake of both sides and frame headers.  Pure functions and a
 * small per-direction state: no I/O.  Functions return 0 or a negative
 * error from err.h.  No extension (permessage-deflate) and no
 * subprotocol is offered or accepted, so RSV bits are always an error.
 * Text payloads are not checked for UTF-8 (gorilla does not either: the
 * transports carry bytes); close reasons are.
 */
#ifndef OSTP_WS_H
#define OSTP_WS_H

#include <stddef.h>
#include <stdint.h>

#define WS_KEY_LEN		16	/* Sec-WebSocket-Key, decoded */
#define WS_KEY_B64_LEN		24
#define WS_ACCEPT_B64_LEN	28	/* base64 of a SHA-1 digest */
#define WS_HEAD_MAX		8192	/* a handshake head, with CRLFCRLF */
#define WS_PATH_MAX		1024
#define WS_HOST_MAX		263	/* "[" 255 "]:65535" */
#define WS_AGENT_DEFAULT	"Chrome/78.0.3904.106"	/* gost's */

#define WS_HDR_MAX		14	/* 2 + 8 (length) + 4 (mask key) */
#define WS_CONTROL_MAX		125	/* a control frame's payload */

#define WS_OP_CONT		0x0
#define WS_OP_TEXT		0x1
#define WS_OP_BINARY		0x2
#define WS_OP_CLOSE		0x8
#define WS_OP_PING		0x9
#define WS_OP_PONG		0xa
#define WS_OP_IS_CONTROL(op)	(((op) & 0x8) != 0)

/* Close status codes (RFC 6455 7.4.1) */
#define WS_CLOSE_NORMAL		1000
#define WS_CLOSE_GOING_AWAY	1001
#define WS_CLOSE_PROTOCOL	1002
#define WS_CLOSE_UNSUPPORTED	1003
#define WS_CLOSE_NO_STATUS	1005	/* never sent: an empty close */
#define WS_CLOSE_ABNORMAL	1006	/* never sent: no close frame */
#define WS_CLOSE_INVALID_DATA	1007
#define WS_CLOSE_POLICY		1008
#define WS_CLOSE_TOO_BIG	1009
#define WS_CLOSE_INTERNAL	1011

/* base64 of the 16 key bytes, NUL-terminated. */
void	ws_key_encode(const unsigned char key[WS_KEY_LEN],
	    char out[WS_KEY_B64_LEN + 1]);
/* base64(SHA-1(key as sent || the RFC 6455 GUID)), NUL-terminated. */
int	ws_accept_value(const char *key_b64, size_t keylen,
	    char out[WS_ACCEPT_B64_LEN + 1]);

/*
 * Client side.  The upgrade request for path (origin-form, starting
 * with '/'), host (the Host header: host param or node address) and
 * agent (NULL: WS_AGENT_DEFAULT), written to out with a NUL after it;
 * *olen excludes the NUL.  ERR_FORMAT when a value could break the
 * head (control characters, spaces in path or host), ERR_NO_SPACE when
 * it does not fit.
 */
int	ws_build_request(char *out, size_t outlen, size_t *olen,
	    const char *path, const char *host, const char *agent,
	    const unsigned char key[WS_KEY_LEN]);
/*
 * The server's answer to the request made with key.  0 when it is a
 * valid 101 with the expected Sec-WebSocket-Accept: *headlen bytes are
 * the head, frames start after them.  ERR_INCOMPLETE until the head is
 * complete, ERR_TOO_LONG past WS_HEAD_MAX, ERR_DENIED for a complete
 * head with another status (in *status; *headlen is set too),
 * ERR_FORMAT for anything else.
 */
int	ws_parse_response(const unsigned char *p, size_t len,
	    const unsigned char key[WS_KEY_LEN], size_t *headlen, int *status);

/*
 * Server side: a client's upgrade request.  On 0, headlen bytes are the
 * head and the strings are NUL-terminated copies: path is the
 * request-target up to any '?', as sent (not percent-decoded), for the
 * caller's exact path match.  On an error other than ERR_INCOMPLETE,
 * status is the HTTP status to refuse with (400, 405, 414, 426, 431).
 */
struct ws_request {
	size_t	headlen;
	int	status;
	char	path[WS_PATH_MAX + 1];
	char	host[WS_HOST_MAX + 1];
	char	key[WS_KEY_B64_LEN + 1];	/* Sec-WebSocket-Key */
};

/*
 * ERR_INCOMPLETE until the head is complete (a bare LF, a bare CR or a
 * control character fails at once), ERR_TOO_LONG past WS_HEAD_MAX or
 * for a too long path or Host, ERR_VERSION without
 * Sec-WebSocket-Version 13, ERR_FORMAT for anything else: a method
 * other than GET, no or several Host or Sec-WebSocket-Key, no
 * websocket/upgrade tokens, a body.
 */
int	ws_parse_request(const unsigned char *p, size_t len,
	    struct ws_request *);
/* The 101 answer to a request with the key key_b64. */
int	ws_build_response(char *out, size_t outlen, size_t *olen,
	    const char *key_b64);
/*
 * A refusal with status (400, 404, 405, 414, 426, 431, 500, 503 ...;
 * others become 400) and a short text body; Connection: close.
 */
int	ws_build_refusal(char *out, size_t outlen, size_t *olen, int status);

/*
 * Frames.  One ws_rx per direction of a connection tracks what the
 * peer may send next.
 */
struct ws_rx {
	int	server;		/* reading a client: frames are masked */
	int	msg_op;		/* an unfinished message's opcode, or -1 */
	int	closed;		/* a close frame came */
	size_t	max_payload;	/* per frame */
};

struct ws_frame {
	int		fin;
	int		opcode;
	int		masked;
	unsigned char	mask[4];
	size_t		hdrlen;		/* where the payload starts */
	size_t		len;		/* payload length */
};

/*
 * server: 1 to read a client's frames (which must be masked), 0 to read
 * a server's (which must not be).  max_payload bounds each frame's
 * payload (SIZE_MAX: no bound beyond 2^63 - 1).
 */
void	ws_rx_init(struct ws_rx *, int server, size_t max_payload);
/*
 * A frame header at p.  On 0 the frame is taken: rx now expects what
 * may follow it, and the caller consumes f->hdrlen bytes; the payload
 * (f->len bytes, unmask with ws_mask) may not all be there yet: compare
 * len - f->hdrlen with f->len rather than adding them, which can wrap
 * when max_payload is SIZE_MAX.  Do not parse the same header twice.  ERR_INCOMPLETE (nothing taken),
 * ERR_TOO_LONG over max_payload (close 1009), ERR_CLOSED for a frame
 * after a close frame, ERR_FORMAT for a protocol error (close 1002): RSV
 * bits, a reserved opcode, the wrong masking, a fragmented or long
 * control frame, a close payload of 1 byte, a length with its MSB set,
 * a continuation out of a message, a new message inside one.  Errors
 * that two bytes show are reported as soon as they are there.
 */
int	ws_frame_parse(struct ws_rx *, const unsigned char *p, size_t len,
	    struct ws_frame *);
/*
 * Mask or unmask len bytes in place; off is the offset of p[0] in the
 * frame's payload, for payloads handled in pieces.
 */
void	ws_mask(unsigned char *p, size_t len, const unsigned char key[4],
	    size_t off);
/* The header length for a payload of len bytes. */
size_t	ws_frame_hdrlen(size_t len, int masked);
/*
 * A frame header into out (*hdrlen bytes); mask NULL for an unmasked
 * frame (server to client), else the 4-byte key the caller then masks
 * the payload with.  ERR_FORMAT for a reserved opcode or a fragmented
 * or too long control frame.
 */
int	ws_frame_header(unsigned char out[WS_HDR_MAX], size_t *hdrlen,
	    int fin, int opcode, size_t len, const unsigned char *mask);

/*
 * A close frame's (unmasked) payload: *code WS_CLOSE_NO_STATUS when it
 * is empty; the reason (not NUL-terminated) points into p.  ERR_FORMAT
 * for 1 byte, a code that may not be sent, or a reason that is not
 * UTF-8 (all close 1002).
 */
int	ws_close_parse(const unsigned char *p, size_t len, int *code,
	    const unsigned char **reason, size_t *reasonlen);
/*
 * A close payload into out: empty for WS_CLOSE_NO_STATUS, else code and
 * reason (NULL: none; UTF-8, at most 123 bytes).
 */
int	ws_close_build(unsigned char out[WS_CONTROL_MAX], size_t *olen,
	    int code, const char *reason);

#endif
