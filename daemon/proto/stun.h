/*
 * STUN (RFC 5389) and the client side of TURN (RFC 5766) over UDP, for
 * the OSTP client's optional mapping discovery and relay allocation on
 * its one UDP socket.  Pure builders and parsers over caller buffers;
 * no I/O, no timers: retransmission and the transaction table are the
 * caller's.  Functions return 0 or a negative error from err.h unless
 * they say otherwise.
 *
 * Long-term credentials: the key is MD5(username ":" realm ":"
 * password) over the bytes as given.  SASLprep (RFC 4013) is not
 * applied: give it ASCII (or already prepared) strings.
 */
#ifndef OSTP_PROTO_STUN_H
#define OSTP_PROTO_STUN_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define STUN_HDR_LEN		20
#define STUN_MAGIC		0x2112a442u
#define STUN_TID_LEN		12
#define STUN_KEY_LEN		16	/* MD5: a long-term key */
#define STUN_HMAC_LEN		20	/* MESSAGE-INTEGRITY: HMAC-SHA1 */
#define STUN_FINGERPRINT_XOR	0x5354554eu
#define STUN_TEXT_MAX		763	/* REALM, NONCE, reason phrase */
#define STUN_USER_MAX		512	/* USERNAME */

/* Classes, as their bits sit in the message type (C1 bit 8, C0 bit 4). */
#define STUN_CLASS_REQUEST	0x0000
#define STUN_CLASS_INDICATION	0x0010
#define STUN_CLASS_SUCCESS	0x0100
#define STUN_CLASS_ERROR	0x0110
#define STUN_CLASS_MASK		0x0110

/* Methods (12 bits, before they are spread around the class bits). */
#define STUN_METHOD_BINDING		0x001
#define TURN_METHOD_ALLOCATE		0x003
#define TURN_METHOD_REFRESH		0x004
#define TURN_METHOD_SEND		0x006
#define TURN_METHOD_DATA		0x007
#define TURN_METHOD_CREATE_PERMISSION	0x008
#define TURN_METHOD_CHANNEL_BIND	0x009

/* Attributes */
#define STUN_ATTR_MAPPED_ADDRESS	0x0001
#define STUN_ATTR_USERNAME		0x0006
#define STUN_ATTR_MESSAGE_INTEGRITY	0x0008
#define STUN_ATTR_ERROR_CODE		0x0009
#define STUN_ATTR_UNKNOWN_ATTRIBUTES	0x000a
#define TURN_ATTR_CHANNEL_NUMBER	0x000c
#define TURN_ATTR_LIFETIME		0x000d
#define TURN_ATTR_XOR_PEER_ADDRESS	0x0012
#define TURN_ATTR_DATA			0x0013
#define STUN_ATTR_REALM			0x0014
#define STUN_ATTR_NONCE			0x0015
#define TURN_ATTR_XOR_RELAYED_ADDRESS	0x0016
#define TURN_ATTR_REQUESTED_TRANSPORT	0x0019
#define STUN_ATTR_XOR_MAPPED_ADDRESS	0x0020
#define STUN_ATTR_SOFTWARE		0x8022
#define STUN_ATTR_FINGERPRINT		0x8028

/* Error codes a TURN client acts on */
#define STUN_ERR_TRY_ALTERNATE		300
#define STUN_ERR_BAD_REQUEST		400
#define STUN_ERR_UNAUTHORIZED		401
#define STUN_ERR_UNKNOWN_ATTRIBUTE	420
#define TURN_ERR_ALLOCATION_MISMATCH	437
#define STUN_ERR_STALE_NONCE		438
#define TURN_ERR_WRONG_CREDENTIALS	441
#define TURN_ERR_UNSUPPORTED_TRANSPORT	442
#define TURN_ERR_ALLOCATION_QUOTA	486
#define STUN_ERR_SERVER_ERROR		500
#define TURN_ERR_INSUFFICIENT_CAPACITY	508

#define TURN_TRANSPORT_UDP		17
#define TURN_CHANNEL_MIN		0x4000
#define TURN_CHANNEL_MAX		0x7fff
#define TURN_CHANNEL_HDR_LEN		4

/* Builder flags */
#define STUN_F_FINGERPRINT		0x01

/* stun_classify: what a datagram on the shared socket is. */
enum stun_kind {
	STUN_KIND_OTHER,	/* not ours: an OSTP datagram, say */
	STUN_KIND_MESSAGE,	/* a STUN message */
	STUN_KIND_CHANNEL	/* TURN ChannelData */
};

/*
 * A STUN message: the top two bits 0, the magic cookie, a length that
 * is a multiple of 4 and matches the datagram.  ChannelData: a first
 * byte 0x40-0x7f and a length that fits the datagram with at most 3
 * bytes of padding.  A masked OSTP header can pass the ChannelData
 * test by chance (its first byte is random): classify only datagrams
 * that come from the STUN/TURN server's address.
 */
enum stun_kind	stun_classify(const unsigned char *p, size_t len);

/* The message type of method and class, and its parts. */
uint16_t	stun_type(uint16_t method, uint16_t cls);
uint16_t	stun_type_method(uint16_t type);
uint16_t	stun_type_class(uint16_t type);

/* A random transaction id (RAND_bytes). */
int	stun_new_tid(unsigned char tid[STUN_TID_LEN]);

/* MD5(username ":" realm ":" password): the long-term key. */
int	stun_longterm_key(const char *username, const unsigned char *realm,
	    size_t realmlen, const char *password,
	    unsigned char key[STUN_KEY_LEN]);

/*
 * A parsed message.  Only the first of repeated attributes counts (RFC
 * 5389 15); attributes after MESSAGE-INTEGRITY other than FINGERPRINT
 * are ignored; nothing may follow FINGERPRINT.  The has bits say which
 * fields hold a value.  Addresses are AF_INET or AF_INET6, XOR already
 * undone.  data points into the parsed buffer.
 */
#define STUN_HAS_MAPPED		0x0001	/* MAPPED-ADDRESS */
#define STUN_HAS_XOR_MAPPED	0x0002
#define STUN_HAS_RELAYED	0x0004	/* XOR-RELAYED-ADDRESS */
#define STUN_HAS_PEER		0x0008	/* XOR-PEER-ADDRESS */
#define STUN_HAS_LIFETIME	0x0010
#define STUN_HAS_CHANNEL	0x0020
#define STUN_HAS_ERROR		0x0040
#define STUN_HAS_REALM		0x0080
#define STUN_HAS_NONCE		0x0100
#define STUN_HAS_DATA		0x0200
#define STUN_HAS_INTEGRITY	0x0400
#define STUN_HAS_FINGERPRINT	0x0800
#define STUN_HAS_USERNAME	0x1000
#define STUN_HAS_TRANSPORT	0x2000	/* REQUESTED-TRANSPORT */

struct stun_msg {
	uint16_t		type;
	uint16_t		method;
	uint16_t		cls;
	size_t			len;		/* header and attributes */
	unsigned char		tid[STUN_TID_LEN];
	uint32_t		has;
	struct sockaddr_storage	mapped;		/* MAPPED-ADDRESS */
	struct sockaddr_storage	xor_mapped;
	struct sockaddr_storage	relayed;
	struct sockaddr_storage	peer;
	uint32_t		lifetime;	/* seconds */
	uint16_t		channel;
	uint8_t			transport;
	int			error;		/* 300..699 */
	/* the reason phrase, NUL-terminated, controls made '?' */
	char			reason[STUN_TEXT_MAX + 1];
	unsigned char		realm[STUN_TEXT_MAX];
	size_t			realmlen;
	unsigned char		nonce[STUN_TEXT_MAX];
	size_t			noncelen;
	unsigned char		username[STUN_USER_MAX];
	size_t			usernamelen;
	const unsigned char	*data;
	size_t			datalen;
	size_t			integrity_off;	/* its attribute header */
	size_t			fingerprint_off;
	/* comprehension-required attributes not understood (RFC 5389 7.3) */
	int			nunknown;
	uint16_t		unknown[8];
};

/*
 * Parse the datagram p[0..len) as one message.  ERR_FORMAT for
 * anything that is not a well-formed STUN message of exactly len
 * bytes, or an attribute of ours with a bad value (an address family
 * or length, an ERROR-CODE class outside 3-6).  A response with
 * nunknown > 0 must be taken as a failed transaction.
 */
int	stun_parse(const unsigned char *p, size_t len, struct stun_msg *);
/*
 * MESSAGE-INTEGRITY of a parsed message (p, len as parsed) against
 * key: 0 when it matches (compared in constant time), ERR_DENIED when
 * it does not, ERR_FORMAT when there is none.
 */
int	stun_check_integrity(const unsigned char *p, size_t len,
	    const struct stun_msg *, const unsigned char *key, size_t keylen);
/* FINGERPRINT: 0, ERR_DENIED, or ERR_FORMAT when there is none. */
int	stun_check_fingerprint(const unsigned char *p, size_t len,
	    const struct stun_msg *);
/*
 * Whether m is a success or error response to the request of method
 * with tid (the tid compared in constant time: it is what stops an
 * off-path spoofer).
 */
int	stun_is_response(const struct stun_msg *, uint16_t method,
	    const unsigned char tid[STUN_TID_LEN]);

/*
 * A message builder over a caller buffer.  Errors are sticky: after the
 * first one (ERR_NO_SPACE, ERR_FORMAT) the adds do nothing and
 * stun_build_end returns it.  MESSAGE-INTEGRITY and FINGERPRINT go
 * last, in this order; the length field is kept right as RFC 5389
 * 15.4 and 15.5 say.
 */
struct stun_builder {
	unsigned char	*buf;
	size_t		 cap;
	size_t		 len;
	int		 err;
};

void	stun_build_start(struct stun_builder *, unsigned char *buf,
	    size_t cap, uint16_t type, const unsigned char tid[STUN_TID_LEN]);
void	stun_add(struct stun_builder *, uint16_t attr, const void *val,
	    size_t len);
void	stun_add_u32(struct stun_builder *, uint16_t attr, uint32_t v);
/* An address attribute; xor for the XOR- kinds. */
void	stun_add_addr(struct stun_builder *, uint16_t attr,
	    const struct sockaddr *, int xor);
void	stun_add_integrity(struct stun_builder *, const unsigned char *key,
	    size_t keylen);
void	stun_add_fingerprint(struct stun_builder *);
int	stun_build_end(struct stun_builder *, size_t *olen);

/*
 * Long-term credentials of a TURN client after a challenge: REALM and
 * NONCE as the server sent them, and the key.
 */
struct turn_auth {
	char		username[STUN_USER_MAX + 1];
	unsigned char	realm[STUN_TEXT_MAX];
	size_t		realmlen;
	unsigned char	nonce[STUN_TEXT_MAX];
	size_t		noncelen;
	unsigned char	key[STUN_KEY_LEN];
};

/*
 * Whether the error response m says to retry with (new) credentials:
 * 401 with REALM and NONCE when the request carried none (authed 0),
 * 438 Stale Nonce with a NONCE at any time.  Other errors (a 401 to an
 * authenticated request: wrong credentials) fail the transaction.
 */
int	turn_should_retry(const struct stun_msg *, int authed);
/*
 * Take REALM and NONCE from the challenge m (401 or 438) and derive the
 * key; the retry then goes out with a new transaction id.  ERR_FORMAT
 * when m has no NONCE, or no REALM and auth has none yet (a 438 may
 * leave REALM out), ERR_TOO_LONG for a username over STUN_USER_MAX.
 * The caller wipes auth (explicit_bzero) when done.
 */
int	turn_auth_from_challenge(struct turn_auth *, const struct stun_msg *,
	    const char *username, const char *password);

/* Binding request (RFC 5389), no attributes but an optional FINGERPRINT. */
int	stun_build_binding(unsigned char *out, size_t outlen, size_t *olen,
	    const unsigned char tid[STUN_TID_LEN], unsigned int flags);
/*
 * TURN requests: auth NULL for the first, unauthenticated try (the
 * server answers 401 with REALM and NONCE), else USERNAME, REALM,
 * NONCE and MESSAGE-INTEGRITY.  Allocate asks for UDP relaying, with a
 * LIFETIME when lifetime is not 0; Refresh always carries LIFETIME (0
 * deletes the allocation).
 */
int	turn_build_allocate(unsigned char *out, size_t outlen, size_t *olen,
	    const unsigned char tid[STUN_TID_LEN], uint32_t lifetime,
	    const struct turn_auth *, unsigned int flags);
int	turn_build_refresh(unsigned char *out, size_t outlen, size_t *olen,
	    const unsigned char tid[STUN_TID_LEN], uint32_t lifetime,
	    const struct turn_auth *, unsigned int flags);
int	turn_build_create_permission(unsigned char *out, size_t outlen,
	    size_t *olen, const unsigned char tid[STUN_TID_LEN],
	    const struct sockaddr *peer, const struct turn_auth *,
	    unsigned int flags);
/* ERR_FORMAT for a channel outside TURN_CHANNEL_MIN..MAX. */
int	turn_build_channel_bind(unsigned char *out, size_t outlen,
	    size_t *olen, const unsigned char tid[STUN_TID_LEN],
	    uint16_t channel, const struct sockaddr *peer,
	    const struct turn_auth *, unsigned int flags);
/* Send indication: XOR-PEER-ADDRESS and DATA (never authenticated). */
int	turn_build_send(unsigned char *out, size_t outlen, size_t *olen,
	    const unsigned char tid[STUN_TID_LEN], const struct sockaddr *peer,
	    const void *data, size_t datalen, unsigned int flags);
/*
 * A Data indication: the peer and the data (pointing into p).
 * ERR_FORMAT for another message or one without both attributes.
 */
int	turn_parse_data_indication(const unsigned char *p, size_t len,
	    struct sockaddr_storage *peer, const unsigned char **data,
	    size_t *datalen);

/*
 * ChannelData: the 4-byte header for len bytes of data on channel
 * (ERR_FORMAT for a channel outside the range, ERR_TOO_LONG over
 * 65535).  Over UDP we send no padding.
 */
int	turn_channel_header(unsigned char out[TURN_CHANNEL_HDR_LEN],
	    uint16_t channel, size_t len);
/*
 * A ChannelData datagram: up to 3 bytes of padding after the data are
 * allowed (RFC 5766 11.5: optional over UDP), more is ERR_FORMAT.
 */
int	turn_channel_parse(const unsigned char *p, size_t len,
	    uint16_t *channel, const unsigned char **data, size_t *datalen);

#endif
