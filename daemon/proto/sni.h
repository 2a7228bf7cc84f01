/*
 * TLS ClientHello inspection for the SNI proxy and gost's server name
 * obfuscation (gost sni.go; spec 2.15).  Pure functions over the bytes a
 * client sent so far: no I/O, no allocation.  Functions return 0 or a
 * negative error from err.h.
 */
#ifndef OSTP_SNI_H
#define OSTP_SNI_H

#include <stddef.h>
#include <stdint.h>

#define SNI_HOST_MAX		255
#define SNI_RECORD_HDR		5
#define SNI_FRAGMENT_MAX	16384	/* RFC 8446 5.1 */
#define SNI_HELLO_MAX		(SNI_RECORD_HDR + SNI_FRAGMENT_MAX)
#define SNI_EXT_SERVER_NAME	0x0000
#define SNI_EXT_GOST		0xfffe	/* gost's private extension */
#define SNI_HTTP_HEAD_MAX	(16 * 1024)

/*
 * gost encodes "host" (TLS) or "host:port" (HTTP Gost-Target); names up
 * to SNI_GOST_NAME_MAX bytes fit in SNI_GOST_ENC_MAX bytes with the NUL.
 */
#define SNI_GOST_NAME_MAX	300
#define SNI_B64_LEN(n)		(((n) * 4 + 2) / 3)
#define SNI_GOST_ENC_MAX	\
	(SNI_B64_LEN(4 + SNI_B64_LEN(SNI_GOST_NAME_MAX)) + 1)

/*
 * What sni_parse found.  Offsets count from the record header; an
 * offset of 0 means "absent" (nothing but the header can start at 0).
 * Extension offsets and lengths include the 4-byte extension header.
 */
struct sni_hello {
	size_t	hello_len;	/* record header + ClientHello */
	size_t	ext_off;	/* the extensions length field */
	size_t	sni_off;	/* server_name extension */
	size_t	sni_len;
	size_t	gost_off;	/* 0xfffe extension */
	size_t	gost_len;
	char	host[SNI_HOST_MAX + 1];		/* "" without SNI */
	char	gost_host[SNI_HOST_MAX + 1];	/* "" unless 0xfffe decodes */
};

/*
 * Parse a ClientHello that starts at p.  0 when complete, ERR_INCOMPLETE
 * when more bytes are needed, ERR_TOO_LONG when it does not fit in one
 * record, ERR_FORMAT when malformed.  Bytes after hello_len are not
 * looked at.
 */
int	sni_parse(const unsigned char *p, size_t len, struct sni_hello *);
/*
 * Remove the 0xfffe extension in place, moving the bytes after it
 * (including any past hello_len) and fixing the record, handshake and
 * extensions lengths.  h is re-parsed from the result except that
 * gost_host is kept: it is the name the caller dials.  A hello without
 * the extension is left alone.
 */
int	sni_strip_gost_ext(unsigned char *p, size_t *len, struct sni_hello *h);
/*
 * Client side: write into out a copy of the hello with SNI = fake and
 * h->host hidden in an appended 0xfffe extension.
 */
int	sni_obfuscate(const unsigned char *p, size_t len,
	    const struct sni_hello *h, const char *fake, unsigned char *out,
	    size_t outlen, size_t *olen);

/* base64url_nopad(CRC32_BE(name) || base64url_nopad(name)) */
int	sni_encode_gost_name(const char *name, char *out, size_t outlen);
/* Decode and check the CRC; control characters are refused. */
int	sni_decode_gost_name(const char *in, size_t inlen, char *out,
	    size_t outlen);
uint32_t sni_crc32(const unsigned char *, size_t);

/*
 * The Host header of an HTTP/1.x request head: host without brackets,
 * *port 0 when absent.  ERR_INCOMPLETE until the head is complete,
 * ERR_TOO_LONG past SNI_HTTP_HEAD_MAX, ERR_FORMAT without exactly one
 * valid Host.
 */
int	sni_http_host(const unsigned char *p, size_t len, char *host,
	    size_t hostlen, uint16_t *port);

#endif
