/*
 * OSTP wire version 5 (../shared/spec/ostp.md §2, §3): the secrets
 * derived from an access key, header masking, the
 * Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s handshake datagrams, data
 * datagrams, inner frames with their ACK/NACK payloads, and relay
 * messages.  Pure functions over caller buffers, no I/O; every crypto
 * primitive is OpenSSL's but X25519, which is libsodium's where it is
 * built (HAVE_SODIUM).  The version is a field of the derived keys, so
 * another wire version is a switch in this file, not a new API.
 */
#ifndef OSTP_PROTO_OSTP_H
#define OSTP_PROTO_OSTP_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define OSTP_WIRE_V5		5

#define OSTP_HS_HDR		6	/* session_id, noise_len */
#define OSTP_DATA_HDR		12	/* session_id, nonce */
#define OSTP_TAG		16
#define OSTP_FRAME_HDR		12
#define OSTP_OVERHEAD		40	/* data header + frame header + tag */
#define OSTP_DGRAM_MAX		65535	/* what a receiver accepts */
#define OSTP_KEY_MAX		512	/* access key string, bytes */
#define OSTP_MSG1_NOISE_BASE	48	/* e (32) + tag (16), + payload */
#define OSTP_MSG2_NOISE		48	/* e (32) + tag of the empty payload */
#define OSTP_TS_WINDOW		300	/* handshake clock skew, seconds */
#define OSTP_JUNK_WINDOW	60	/* junk marker window, seconds */

/* Inner frame kinds (§2.7). */
#define OSTP_F_HANDSHAKE	1
#define OSTP_F_DATA		2
#define OSTP_F_CLOSE		3
#define OSTP_F_KEEPALIVE	4
#define OSTP_F_NACK		5
#define OSTP_F_ACK		6

#define OSTP_ACK_MAX		8	/* ranges in one ACK */

/* Relay message tags (§3). */
#define OSTP_M_CONNECT		1
#define OSTP_M_DATA		2
#define OSTP_M_KEEPALIVE	3
#define OSTP_M_CLOSE		4
#define OSTP_M_CONNECT_OK	5
#define OSTP_M_ERROR		6
#define OSTP_M_PING		7
#define OSTP_M_PONG		8
#define OSTP_M_UDP_ASSOCIATE	9
#define OSTP_M_UDP_DATA		10

/*
 * Everything one access key gives (§2.2), computed once per key.  The
 * precomputed HMAC states make masking two SHA-256 blocks per datagram.
 */
struct ostp_keys {
	int		 version;		/* OSTP_WIRE_V5 */
	unsigned char	 key[OSTP_KEY_MAX];	/* the string, as written */
	size_t		 keylen;
	unsigned char	 obf_key[8];
	unsigned char	 psk[32];
	unsigned int	 hs_pad_min;		/* handshake padding range */
	unsigned int	 hs_pad_max;
	unsigned char	 prk[32];		/* for junk markers */
	unsigned char	 info_b[16];
	void		*mask_in;		/* opaque: HMAC inner state */
	void		*mask_out;		/* and outer */
	/*
	 * The Noise state after the name, the empty prologue and psk0,
	 * where every handshake of this key starts (§2.5).
	 */
	unsigned char	 hs_ck[32];
	unsigned char	 hs_h[32];
	unsigned char	 hs_k[32];
};

/*
 * HKDF-SHA256 (RFC 5869) as the key schedule uses it; exposed for the
 * known-answer tests.  Empty salt: HashLen zero bytes.  0 or -1.
 */
#define OSTP_HKDF_INFO_MAX	64
int	ostp_hkdf_extract(const void *salt, size_t saltlen, const void *ikm,
	    size_t ikmlen, unsigned char prk[32]);
int	ostp_hkdf_expand(const unsigned char prk[32], const void *info,
	    size_t infolen, unsigned char *out, size_t outlen);

/*
 * 0, or -1 (version unknown, key empty or longer than OSTP_KEY_MAX).  The
 * struct is overwritten: ostp_keys_clear one that was in use first.  The
 * key is not checked for UTF-8 here; ostp_hs_accept refuses one that is
 * not, as upstream does.
 */
int	ostp_keys_init(struct ostp_keys *, int version, const void *key,
	    size_t keylen);
/* Wipes the secrets. */
void	ostp_keys_clear(struct ostp_keys *);
/* junk_marker(w) for w = unix seconds / 60 (§2.2). */
void	ostp_junk_marker(const struct ostp_keys *, uint64_t window,
	    unsigned char out[4]);
/*
 * XOR the header mask onto d[0..hdrlen) (hdrlen OSTP_HS_HDR or
 * OSTP_DATA_HDR): its own inverse.  Nothing when len <= hdrlen.
 */
void	ostp_mask(const struct ostp_keys *, unsigned char *d, size_t len,
	    size_t hdrlen);
/* The mask alone, for trying a header against many sessions' keys. */
void	ostp_mask_compute(const struct ostp_keys *, const unsigned char *d,
	    size_t len, size_t hdrlen, unsigned char mask[12]);

/*
 * Randomness: RAND_bytes unless a test sets a deterministic source
 * (padding, ephemeral keys, session ids, reserved frame bytes).
 */
extern void	(*ostp_random)(void *, size_t);
/* Fast non-secret randomness: reserved bytes, padding (and its length). */
void	ostp_noise(void *, size_t);

/*
 * The Noise handshake state of one side (§2.5).  After a successful
 * msg2 the direction keys are k_c2s (initiator to responder) and k_s2c.
 */
struct ostp_hs {
	unsigned char	 ck[32];
	unsigned char	 h[32];
	unsigned char	 k[32];
	uint64_t	 n;
	unsigned char	 e_priv[32];
	unsigned char	 e_pub[32];
	unsigned char	 re[32];
	uint32_t	 sid;
	unsigned char	 k_c2s[32];
	unsigned char	 k_s2c[32];
};

/*
 * Client: msg1 as a whole masked handshake datagram in out (outsz at
 * least 6 + 48 + 12 + keylen + hs_pad_max).  e_priv NULL: a fresh
 * ephemeral key; pad (size_t)-1: uniform in the key's range.  Returns
 * the datagram length, or -1.
 */
ssize_t	ostp_hs_msg1(struct ostp_hs *, const struct ostp_keys *,
	    uint32_t sid, uint64_t unix_secs, const unsigned char *e_priv,
	    size_t pad, unsigned char *out, size_t outsz);

/*
 * Server: try msg1 datagram d (not modified) with one key.  On success
 * hs holds the responder state, *sid the session id, *ts the client's
 * timestamp, and payload/payloadlen (at most 12 + OSTP_KEY_MAX bytes)
 * the decrypted payload, which is the replay cache's key.  -1: not this
 * key or not a valid msg1 (the caller checks the timestamp window).
 */
int	ostp_hs_accept(struct ostp_hs *, const struct ostp_keys *,
	    const unsigned char *d, size_t len, uint32_t *sid, uint64_t *ts,
	    unsigned char *payload, size_t *payloadlen);

/* Server: msg2 datagram into out (as ostp_hs_msg1); splits the keys. */
ssize_t	ostp_hs_msg2(struct ostp_hs *, const struct ostp_keys *,
	    const unsigned char *e_priv, size_t pad, unsigned char *out,
	    size_t outsz);

/*
 * Client: read msg2 (d not modified); splits the keys.  0, or -1 (another
 * session id, a noise_len other than 48, a failed AEAD), which leaves hs
 * as it was so that the real msg2 can still come.
 */
int	ostp_hs_finish(struct ostp_hs *, const struct ostp_keys *,
	    const unsigned char *d, size_t len);

void	ostp_hs_clear(struct ostp_hs *);

/*
 * Once per process before a sandbox: the X25519 library's setup
 * (libsodium picks its code for the CPU).  0, or -1.  Handshakes call
 * it too, for the programs that have no sandbox.
 */
int	ostp_crypto_init(void);

/*
 * The Noise messages alone, for the test vectors (any prologue and
 * payloads); the datagram functions above are built on them.
 * ostp_noise_init also takes the psk0 token.  write1/write2: e_priv as
 * above, the message length or -1; read1/read2: the payload length or -1.
 * write2 and read2 end in Split().
 */
int	ostp_noise_init(struct ostp_hs *, const void *prologue, size_t plen,
	    const unsigned char psk[32]);
ssize_t	ostp_noise_write1(struct ostp_hs *, const unsigned char *e_priv,
	    const void *payload, size_t plen, unsigned char *out,
	    size_t outsz);
ssize_t	ostp_noise_read1(struct ostp_hs *, const unsigned char *msg,
	    size_t len, unsigned char *payload, size_t payloadsz);
ssize_t	ostp_noise_write2(struct ostp_hs *, const unsigned char *e_priv,
	    const void *payload, size_t plen, unsigned char *out,
	    size_t outsz);
ssize_t	ostp_noise_read2(struct ostp_hs *, const unsigned char *msg,
	    size_t len, unsigned char *payload, size_t payloadsz);

/* One direction's AEAD (ChaCha20-Poly1305, nonce 0^4 || BE64(n)). */
struct ostp_aead {
	void		*ctx;		/* opaque: the cipher context */
	unsigned char	 key[32];
};

int	ostp_aead_init(struct ostp_aead *, const unsigned char key[32]);
void	ostp_aead_clear(struct ostp_aead *);
/*
 * The AEAD with any 96-bit nonce and AAD (ostp_seal and ostp_open use
 * them; exposed for the RFC 8439 test).  seal writes len bytes and the
 * tag; open reads len bytes and the tag after them and writes len bytes
 * (in == out is allowed).  0, or -1 (open: it does not authenticate).
 */
int	ostp_aead_seal_iv(struct ostp_aead *, const unsigned char iv[12],
	    const unsigned char *aad, size_t aadlen, const unsigned char *in,
	    size_t len, unsigned char *out);
int	ostp_aead_open_iv(struct ostp_aead *, const unsigned char iv[12],
	    const unsigned char *aad, size_t aadlen, const unsigned char *in,
	    size_t len, unsigned char *out);

/*
 * A data datagram: seal the inner frame (frame, flen) with nonce n into
 * out (12 + flen + 16 bytes, may not overlap frame) and mask it.
 * Returns its length, or -1.
 */
ssize_t	ostp_seal(struct ostp_aead *, const struct ostp_keys *, uint32_t sid,
	    uint64_t n, const unsigned char *frame, size_t flen,
	    unsigned char *out);
/*
 * The unmasked session id and nonce of a received data datagram (d not
 * modified); -1 when len < OSTP_OVERHEAD.
 */
int	ostp_peek(const struct ostp_keys *, const unsigned char *d, size_t len,
	    uint32_t *sid, uint64_t *n);
/*
 * Open a data datagram whose header ostp_peek read: the inner frame
 * into out (len - 28 bytes).  Returns the plaintext length, or -1 when
 * it does not authenticate.
 */
ssize_t	ostp_open(struct ostp_aead *, uint32_t sid, uint64_t n,
	    const unsigned char *d, size_t len, unsigned char *out);

/* An inner frame (§2.7); payload points into the decoded buffer. */
struct ostp_frame {
	unsigned char		 kind;
	uint16_t		 stream;
	const unsigned char	*payload;
	size_t			 len;
};

/*
 * Write a frame header for (kind, stream, len, padlen) into out[0..12);
 * the caller puts the payload at out + 12 and padding after it
 * (ostp_frame_pad fills it).  Reserved bytes random, version 1.
 */
void	ostp_frame_hdr(unsigned char *out, unsigned char kind, uint16_t stream,
	    size_t len, size_t padlen);
void	ostp_frame_pad(unsigned char *p, size_t padlen);
/* 0, or -1 (short, unknown kind, lengths past the plaintext). */
int	ostp_frame_parse(const unsigned char *p, size_t len,
	    struct ostp_frame *);

struct ostp_range {
	uint64_t	 start;			/* inclusive */
	uint64_t	 end;
};
/*
 * ACK payload for n ranges (n <= OSTP_ACK_MAX) into out; its length, 0
 * when n is over OSTP_ACK_MAX.
 */
size_t	ostp_ack_put(unsigned char *out, const struct ostp_range *, size_t n);
/*
 * Ranges of an ACK payload: their number (0 for an empty payload), or -1
 * (truncated, more than max ranges, a range whose start is past its
 * end).  Bytes after the ranges are ignored.
 */
int	ostp_ack_parse(const unsigned char *p, size_t len,
	    struct ostp_range *, size_t max);
/* NACK payload: the missing nonce (parse: at least 8 bytes). */
void	ostp_nack_put(unsigned char out[8], uint64_t n);
int	ostp_nack_parse(const unsigned char *p, size_t len, uint64_t *n);

/* A relay message (§3); pointers into the decoded buffer. */
struct ostp_msg {
	unsigned char		 tag;
	const char		*addr;		/* Connect, UdpData */
	size_t			 addrlen;
	const unsigned char	*data;		/* Data, UdpData, Error */
	size_t			 datalen;
	uint64_t		 ts;		/* Ping, Pong */
};

/*
 * Encode into out (outsz bytes): the length, or -1 when it does not fit
 * or a length exceeds 65535.
 */
ssize_t	ostp_msg_put(unsigned char *out, size_t outsz,
	    const struct ostp_msg *);
/* Header size of a Data message: the payload follows at out + 3. */
#define OSTP_MSG_DATA_HDR	3
/*
 * Decode exactly one message from p (bytes after it are ignored, as
 * upstream does): 0, or -1 (truncated, unknown tag, an address that is
 * not UTF-8 "host:port" text, a Ping/Pong length other than 8).
 */
int	ostp_msg_parse(const unsigned char *p, size_t len, struct ostp_msg *);

/*
 * "host:port", "a.b.c.d:port" or "[v6]:port" into host (NUL-terminated,
 * brackets removed) and port: 0, or -1.
 */
int	ostp_addr_split(const char *addr, size_t len, char *host,
	    size_t hostsz, uint16_t *port);

#endif
