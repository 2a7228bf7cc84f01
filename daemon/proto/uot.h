/*
 * OSTP UDP-over-TCP carrier (spec ostp.md 2.13, wire version 5): the
 * [u16 BE length][datagram] framing, the first-byte classification of
 * a server's TCP connection, the HTTP upgrade that precedes raw UoT
 * frames when a ws_path is set (v5: no WebSocket framing after the
 * 101), the decoy answer, and junk datagrams (2.3, 2.12).  Pure
 * functions over caller buffers; no I/O.  Functions return 0 or a
 * negative error from err.h unless they say otherwise.
 */
#ifndef OSTP_PROTO_UOT_H
#define OSTP_PROTO_UOT_H

#include <stddef.h>
#include <stdint.h>

#define UOT_HDR_LEN		2
#define UOT_FRAME_MAX		65535	/* receivers accept up to this */
#define UOT_HEAD_MAX		8192	/* an upgrade head, CRLFCRLF included */
#define UOT_KEY_LEN		16	/* Sec-WebSocket-Key, decoded */
#define UOT_KEY_B64_MAX		128	/* a peer's key, as sent */
#define UOT_ACCEPT_B64_LEN	28
#define UOT_ADDR_MAX		63	/* X-Real-IP, X-Forwarded-For entry */

#define UOT_JUNK_MARKER_LEN	4
#define UOT_JUNK_MIN		UOT_JUNK_MARKER_LEN
/* Junk frames stay at most this long so their first byte is <= 0x05. */
#define UOT_JUNK_MAX		1400

/* What the first byte of a server's TCP connection says it is. */
enum uot_class {
	UOT_CLASS_UOT,		/* 0x00-0x05: a raw UoT frame length */
	UOT_CLASS_TLS,		/* 0x16: a TLS ClientHello */
	UOT_CLASS_HTTP,		/* 'A'-'Z': an HTTP method */
	UOT_CLASS_OTHER		/* anything else: read as UoT as well */
};

enum uot_class	uot_classify(unsigned char first);

/*
 * The incremental frame reader of one direction of a connection.  A
 * frame of length 0 is a valid frame (an empty datagram, which the
 * OSTP layer drops silently as too short, spec 2.11): the framing
 * itself has no invalid input, so a reader never fails and never
 * answers differently to a prober.  A caller that closes idle
 * connections should not count empty frames as datagrams.
 */
struct uot_reader {
	size_t		hdrhave;	/* bytes of the header in hdr */
	size_t		have;		/* bytes of the frame in buf */
	size_t		need;		/* its length, once the header is in */
	unsigned char	hdr[UOT_HDR_LEN];
	unsigned char	buf[UOT_FRAME_MAX];
};

void	uot_reader_init(struct uot_reader *);
/*
 * Take bytes from p[0..len) toward the next frame; *used says how many
 * were taken.  1 when a frame is complete: *frame (*framelen bytes)
 * points into the reader, or into p when the whole frame was there at
 * once, and stays valid until the next call or until p changes.  0
 * when all of p was taken and no frame is complete yet.  Call again
 * with the rest of p after a 1.
 */
int	uot_reader_feed(struct uot_reader *, const unsigned char *p,
	    size_t len, size_t *used, const unsigned char **frame,
	    size_t *framelen);
/* Whether a frame has been started but not completed (for EOF). */
int	uot_reader_pending(const struct uot_reader *);

/*
 * Without a reader: the frame at the start of p[0..len), for a caller
 * that keeps unread bytes in its own buffer (a connection's read-ahead)
 * and so needs no 64 KiB per connection.  0 with the frame pointing
 * into p and *used = 2 + *framelen, or ERR_INCOMPLETE (wait for more).
 */
int	uot_frame_parse(const unsigned char *p, size_t len,
	    const unsigned char **frame, size_t *framelen, size_t *used);

/* The 2-byte header of a frame of len bytes; ERR_TOO_LONG over 65535. */
int	uot_frame_header(unsigned char out[UOT_HDR_LEN], size_t len);

/*
 * Client side of the upgrade: exactly the head of spec 2.13 for path
 * (origin-form, starting with '/') and host (the Host header), with the
 * base64 of key, NUL-terminated in out; *olen excludes the NUL.
 * ERR_FORMAT for a value that could break the head, ERR_NO_SPACE.
 */
int	uot_build_upgrade_request(char *out, size_t outlen, size_t *olen,
	    const char *path, const char *host,
	    const unsigned char key[UOT_KEY_LEN]);

/*
 * The server's answer to the request made with key: 0 when it is a
 * complete head with status 101 and the right Sec-WebSocket-Accept;
 * *headlen bytes are the head, the UoT stream starts after them.
 * ERR_INCOMPLETE until the head is complete, ERR_TOO_LONG past
 * UOT_HEAD_MAX, ERR_DENIED for another status (in *status), ERR_FORMAT
 * for anything else (a missing or wrong accept value).
 */
int	uot_parse_upgrade_response(const unsigned char *p, size_t len,
	    const unsigned char key[UOT_KEY_LEN], size_t *headlen,
	    int *status);

/*
 * Server side: a request head from a connection classified as HTTP.
 * The forwarded addresses are reported for any complete head, valid
 * upgrade or not, as sent (the caller checks them with inet_pton and
 * uses them only for a loopback peer, spec 2.13); empty when absent,
 * empty or longer than UOT_ADDR_MAX.
 */
struct uot_upgrade {
	size_t	headlen;		/* the head; the UoT stream follows */
	char	key[UOT_KEY_B64_MAX + 1];	/* Sec-WebSocket-Key */
	char	real_ip[UOT_ADDR_MAX + 1];	/* X-Real-IP */
	char	forwarded[UOT_ADDR_MAX + 1];	/* last X-Forwarded-For */
};

/*
 * ERR_INCOMPLETE until the head (CRLFCRLF) is there, ERR_TOO_LONG when
 * it is not within UOT_HEAD_MAX bytes, ERR_FORMAT for a malformed head
 * (a bare CR or LF or a control character fails at once), ERR_DENIED
 * for a well-formed head that is not the upgrade: a method other than
 * GET, a request-target other than path (compared whole and in
 * constant time), no "Upgrade: websocket", no "upgrade" token in
 * Connection, an empty, missing or repeated key.  All but
 * ERR_INCOMPLETE get the same decoy (uot_build_decoy).
 */
int	uot_parse_upgrade(const unsigned char *p, size_t len,
	    const char *path, struct uot_upgrade *);
/* The 101 answer to a request with the key key_b64. */
int	uot_build_upgrade_response(char *out, size_t outlen, size_t *olen,
	    const char *key_b64);
/* The decoy: a bare HTTP/1.1 404 with a small HTML body, Connection: close. */
int	uot_build_decoy(char *out, size_t outlen, size_t *olen);

/*
 * The length of a junk datagram: uniform in [min, max] from the random
 * value rnd, after both bounds are clamped to [UOT_JUNK_MIN,
 * UOT_JUNK_MAX] (and max raised to min).
 */
size_t	uot_junk_size(size_t min, size_t max, uint32_t rnd);
/*
 * A junk datagram of len bytes into out: the key's marker for the
 * current window (the caller derives it, spec 2.2), then random bytes.
 * ERR_FORMAT when len is outside [UOT_JUNK_MIN, UOT_JUNK_MAX],
 * ERR_NO_SPACE when out is shorter.
 */
int	uot_junk_build(unsigned char *out, size_t outlen,
	    const unsigned char marker[UOT_JUNK_MARKER_LEN], size_t len);

#endif
