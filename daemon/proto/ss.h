/*
 * Shadowsocks AEAD (SIP004) and 2022 (SIP022) framing: methods, keys,
 * per-session subkeys and the sealing of chunks and packets.  Pure
 * functions over caller buffers; the connection logic is daemon/handler/ss.c.
 */
#ifndef OSTP_PROTO_SS_H
#define OSTP_PROTO_SS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define SS_KEY_MAX		32
#define SS_SALT_MAX		32
#define SS_TAG_LEN		16
#define SS_NONCE_LEN		12
#define SS_PAYLOAD_MAX		0x3fff		/* SIP004 chunk */
#define SS_2022_PAYLOAD_MAX	0xffff		/* SIP022 chunk */
/* One chunk: sealed length, then sealed payload. */
#define SS_CHUNK_OVERHEAD	(2 + 2 * SS_TAG_LEN)

enum ss_kind {
	SS_KIND_AEAD,		/* SIP004 */
	SS_KIND_2022,		/* SIP022 */
	SS_KIND_NONE,		/* plain: tests only */
};

struct ss_method {
	const char	*name;
	enum ss_kind	 kind;
	size_t		 keylen;	/* = salt length */
	int		 chacha;	/* else AES-GCM */
};

/* By name, case-insensitive, with go-shadowsocks2's AEAD_* aliases. */
const struct ss_method *ss_method_find(const char *);
/* Comma-separated list of the names, for error messages. */
const char *ss_method_names(void);

/*
 * The master key: SIP004 derives it from the password with OpenSSL's
 * EVP_BytesToKey(MD5); SIP022 takes it as base64 of exactly keylen
 * bytes.  Returns 0, or -1 with err set.
 */
int	ss_master_key(const struct ss_method *, const char *password,
	    unsigned char *key, char *err, size_t errlen);

/* One direction of a session: the cipher keyed with the subkey. */
struct ss_aead {
	EVP_CIPHER_CTX	*ctx;
	unsigned char	 nonce[SS_NONCE_LEN];	/* little-endian counter */
	int		 enc;
};

/*
 * Key a direction from the master key and the salt: HKDF-SHA1 with
 * "ss-subkey" for SIP004, BLAKE3 derive_key for SIP022.
 */
int	ss_aead_init(struct ss_aead *, const struct ss_method *,
	    const unsigned char *key, const unsigned char *salt, int enc);
void	ss_aead_clear(struct ss_aead *);
/* Seal n bytes into out (n + SS_TAG_LEN bytes); the nonce advances. */
int	ss_aead_seal(struct ss_aead *, const unsigned char *in, size_t n,
	    unsigned char *out);
/* Open n bytes (payload + tag); ERR_FORMAT when the tag is wrong. */
int	ss_aead_open(struct ss_aead *, const unsigned char *in, size_t n,
	    unsigned char *out);

/* Fetch ciphers and digests before the sandbox closes the filesystem. */
int	ss_crypto_init(void);

/*
 * SIP004 UDP: salt || seal(payload) with a zero nonce.  out needs
 * saltlen + n + SS_TAG_LEN bytes.
 */
int	ss_udp_seal(const struct ss_method *, const unsigned char *key,
	    const unsigned char *in, size_t n, unsigned char *out,
	    size_t outcap, size_t *outlen);
int	ss_udp_open(const struct ss_method *, const unsigned char *key,
	    const unsigned char *in, size_t n, unsigned char *out,
	    size_t outcap, size_t *outlen);

/* SIP022 UDP */
#define SS22_HDR_MAX	64	/* main header without padding or address */

struct ss22_packet {
	unsigned char	sid[8];		/* the sender's session */
	uint64_t	pid;
	int		type;		/* 0 client, 1 server */
	unsigned char	csid[8];	/* server packets: the client's */
};

struct ss22_window {
	int		any;
	uint64_t	top;
	uint64_t	bits;
};

void	ss_hchacha20(const unsigned char key[32], const unsigned char nonce[16],
	    unsigned char out[32]);
/* in: SOCKS address and payload; the header is added in front. */
int	ss22_udp_seal(const struct ss_method *, const unsigned char *key,
	    const struct ss22_packet *, const unsigned char *in, size_t n,
	    unsigned char *out, size_t outcap, size_t *outlen);
/* Opened in place; *data: SOCKS address and payload within in. */
int	ss22_udp_open(const struct ss_method *, const unsigned char *key,
	    unsigned char *in, size_t n, struct ss22_packet *,
	    const unsigned char **data, size_t *dlen);
int	ss22_window_check(struct ss22_window *, uint64_t pid);

#endif
