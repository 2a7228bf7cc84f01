/*
 * The Shadowsocks stream codec, both roles, both framings; pure enough
 * for the fuzzers (no event loop, no sockets).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "compat.h"
#include "err.h"
#include "proto.h"
#include "randpool.h"
#include "sscodec.h"

/*
 * One session's codec.  SIP004: salt, then chunks of a sealed length
 * and a sealed payload of at most 0x3fff bytes.  SIP022 (2022-blake3):
 * salt, a fixed-length header (type, timestamp, and the length of what
 * follows; a server's also carries the request's salt), a header chunk
 * (the client's: target address, padding and initial data; the
 * server's: its first data), then chunks of up to 0xffff bytes.  Either
 * way decode yields, on a server, the target address followed by data,
 * so the handshake reads both kinds alike.
 */
int	(*ssc_salt_seen)(const unsigned char *, size_t);

/* Salts from a buffer that one RAND_bytes call fills for many sessions. */
static int
salt_bytes(unsigned char *p, size_t n)
{
	static struct randpool pool;

	return randpool_bytes(&pool, p, n);
}

static int
ssc_start_enc(struct ss_codec *c, struct cbuf *out)
{
	if (cbuf_room(out) < c->m->keylen)
		return ERR_NO_SPACE;
	if (salt_bytes(c->mysalt, c->m->keylen) != 0 ||
	    ss_aead_init(&c->enc, c->m, c->key, c->mysalt, 1) != 0)
		return ERR_INTERNAL;
	cbuf_append(out, c->mysalt, c->m->keylen);
	c->enc_on = 1;
	return 0;
}

/* Seal one unit: plaintext p of n bytes at the tail of out. */
static int
seal_to(struct ss_codec *c, const unsigned char *p, size_t n, struct cbuf *out)
{
	if (cbuf_room(out) < n + SS_TAG_LEN)
		return ERR_NO_SPACE;
	if (ss_aead_seal(&c->enc, p, n, cbuf_tail(out)) != 0)
		return ERR_INTERNAL;
	out->len += n + SS_TAG_LEN;
	return 0;
}

/* SIP022 first output: the fixed-length header and its chunk. */
static int
ssc_2022_header(struct ss_codec *c, struct cbuf *in, struct cbuf *out)
{
	unsigned char fh[1 + 8 + SS_SALT_MAX + 2], *v;
	size_t kl = c->m->keylen, n, pad = 0, vlen, fl;
	int e;

	if ((e = ssc_start_enc(c, out)) != 0)
		return e;
	n = in != NULL ? in->len : 0;
	if (c->role == SSC_CLIENT) {
		/* address, padding (when no data goes with it), data */
		if (n == 0)
			pad = 1 + arc4random_uniform(SS2022_PAD_MAX);
		if (n > SS_2022_PAYLOAD_MAX - c->hdrlen - 2 - pad)
			n = SS_2022_PAYLOAD_MAX - c->hdrlen - 2 - pad;
		vlen = c->hdrlen + 2 + pad + n;
		fh[0] = 0;
		be64enc(fh + 1, (uint64_t)time(NULL));
		fh[9] = (unsigned char)(vlen >> 8);
		fh[10] = (unsigned char)vlen;
		fl = 11;
	} else {
		if (n > SS_2022_PAYLOAD_MAX)
			n = SS_2022_PAYLOAD_MAX;
		vlen = n;
		fh[0] = 1;
		be64enc(fh + 1, (uint64_t)time(NULL));
		memcpy(fh + 9, c->salt, kl);
		fh[9 + kl] = (unsigned char)(vlen >> 8);
		fh[10 + kl] = (unsigned char)vlen;
		fl = 11 + kl;
	}
	if (cbuf_room(out) < fl + vlen + 2 * SS_TAG_LEN)
		return ERR_NO_SPACE;
	if ((e = seal_to(c, fh, fl, out)) != 0)
		return e;
	if ((v = malloc(vlen ? vlen : 1)) == NULL)
		return ERR_ALLOC;
	if (c->role == SSC_CLIENT) {
		memcpy(v, c->hdr, c->hdrlen);
		v[c->hdrlen] = (unsigned char)(pad >> 8);
		v[c->hdrlen + 1] = (unsigned char)pad;
		RAND_bytes(v + c->hdrlen + 2, (int)pad);
		if (n > 0)
			memcpy(v + c->hdrlen + 2 + pad, in->p + in->off, n);
		c->hdrlen = 0;
	} else if (n > 0)
		memcpy(v, in->p + in->off, n);
	e = seal_to(c, v, vlen, out);
	free(v);
	if (e == 0 && n > 0)
		cbuf_consume(in, n);
	return e;
}

static int
ssc_encode(struct codec *cc, struct cbuf *in, struct cbuf *out)
{
	struct ss_codec *c = (struct ss_codec *)cc;
	size_t max = c->m->kind == SS_KIND_2022 ? SS_2022_PAYLOAD_MAX :
	    SS_PAYLOAD_MAX;
	unsigned char len2[2];
	size_t room, n;
	int e;

	if (c->m->kind == SS_KIND_NONE) {
		n = cbuf_room(out);
		n = n < in->len ? n : in->len;
		cbuf_append(out, in->p + in->off, n);
		cbuf_consume(in, n);
		return 0;
	}
	if (!c->enc_on) {
		if (c->m->kind == SS_KIND_2022) {
			/* the server's header waits for its first data */
			if (c->role == SSC_SERVER && in->len == 0)
				return 0;
			if ((e = ssc_2022_header(c, in, out)) != 0)
				return e == ERR_NO_SPACE ? 0 : e;
		} else if ((e = ssc_start_enc(c, out)) != 0)
			return e == ERR_NO_SPACE ? 0 : e;
	}
	while (in->len > 0) {
		if ((room = cbuf_room(out)) <= SS_CHUNK_OVERHEAD)
			break;
		n = room - SS_CHUNK_OVERHEAD;
		n = n < in->len ? n : in->len;
		n = n < max ? n : max;
		len2[0] = (unsigned char)(n >> 8);
		len2[1] = (unsigned char)n;
		if (seal_to(c, len2, 2, out) != 0 ||
		    seal_to(c, in->p + in->off, n, out) != 0)
			return ERR_INTERNAL;
		cbuf_consume(in, n);
	}
	return 0;
}

/* Open the unit of c->need bytes at the head of in into out. */
static int
open_unit(struct ss_codec *c, struct cbuf *in, unsigned char *out)
{
	int e;

	if ((e = ss_aead_open(&c->dec, in->p + in->off, c->need, out)) != 0)
		return e;
	cbuf_consume(in, c->need);
	c->authed = 1;
	return 0;
}

/* SIP022: the fixed header, then the first chunk it announces. */
static int
ssc_2022_fixed(struct ss_codec *c, struct cbuf *in)
{
	unsigned char fh[1 + 8 + SS_SALT_MAX + 2];
	size_t kl = c->m->keylen, fl;
	int64_t skew;
	int e;

	fl = c->role == SSC_SERVER ? 11 : 11 + kl;
	c->need = fl + SS_TAG_LEN;
	if (in->len < c->need)
		return ERR_INCOMPLETE;
	if ((e = open_unit(c, in, fh)) != 0)
		return e;
	skew = (int64_t)be64dec(fh + 1) - (int64_t)time(NULL);
	if (fh[0] != (c->role == SSC_SERVER ? 0 : 1) ||
	    skew > SS2022_MAX_SKEW || skew < -SS2022_MAX_SKEW)
		return ERR_FORMAT;
	if (c->role == SSC_CLIENT && CRYPTO_memcmp(fh + 9, c->mysalt, kl) != 0)
		return ERR_FORMAT;	/* not the answer to our request */
	c->need = ((size_t)fh[fl - 2] << 8 | fh[fl - 1]) + SS_TAG_LEN;
	c->dstate = DS_FIRST;
	return 0;
}

/* The client's header chunk: address, padding, data -> address, data. */
static int
ssc_2022_first(struct ss_codec *c, struct cbuf *in, struct cbuf *out)
{
	struct proxy_target t;
	unsigned char *p = cbuf_tail(out);
	size_t n = c->need - SS_TAG_LEN, used, pad;
	int e;

	if (in->len < c->need || cbuf_room(out) < n)
		return ERR_INCOMPLETE;
	if ((e = open_unit(c, in, p)) != 0)
		return e;
	if (c->role == SSC_SERVER) {
		if (socks5_parse_addr(p, n, &t, &used) != 0 || n - used < 2)
			return ERR_FORMAT;
		pad = (size_t)p[used] << 8 | p[used + 1];
		/* padding or data must be there, within the chunk */
		if (pad > n - used - 2 || (pad == 0 && n - used - 2 == 0))
			return ERR_FORMAT;
		memmove(p + used, p + used + 2 + pad, n - used - 2 - pad);
		n -= 2 + pad;
	}
	out->len += n;
	c->dstate = DS_LEN;
	return 0;
}

int
ssc_decode(struct codec *cc, struct cbuf *in, struct cbuf *out)
{
	struct ss_codec *c = (struct ss_codec *)cc;
	size_t max = c->m->kind == SS_KIND_2022 ? SS_2022_PAYLOAD_MAX :
	    SS_PAYLOAD_MAX;
	unsigned char len2[2];
	size_t n;
	int e;

	if (c->m->kind == SS_KIND_NONE) {
		n = cbuf_room(out);
		n = n < in->len ? n : in->len;
		cbuf_append(out, in->p + in->off, n);
		cbuf_consume(in, n);
		c->authed = 1;
		return 0;
	}
	for (;;) {
		switch (c->dstate) {
		case DS_SALT:
			if (in->len < c->m->keylen)
				return 0;
			memcpy(c->salt, in->p + in->off, c->m->keylen);
			if ((e = ss_aead_init(&c->dec, c->m, c->key, c->salt,
			    0)) != 0)
				return e;
			cbuf_consume(in, c->m->keylen);
			c->dec_on = 1;
			/* SIP022: clients keep servers' salts too */
			if (c->m->kind == SS_KIND_2022 &&
			    c->role == SSC_CLIENT && ssc_salt_seen != NULL &&
			    ssc_salt_seen(c->salt, c->m->keylen))
				return ERR_FORMAT;
			c->dstate = c->m->kind == SS_KIND_2022 ? DS_FIXED :
			    DS_LEN;
			break;
		case DS_FIXED:
			if ((e = ssc_2022_fixed(c, in)) != 0)
				return e == ERR_INCOMPLETE ? 0 : e;
			break;
		case DS_FIRST:
			if ((e = ssc_2022_first(c, in, out)) != 0)
				return e == ERR_INCOMPLETE ? 0 : e;
			break;
		case DS_LEN:
			c->need = 2 + SS_TAG_LEN;
			if (in->len < c->need)
				return 0;
			if ((e = open_unit(c, in, len2)) != 0)
				return e;
			n = (size_t)len2[0] << 8 | len2[1];
			if (n > max)
				return ERR_TOO_LONG;
			c->need = n + SS_TAG_LEN;
			c->dstate = DS_PAYLOAD;
			break;
		case DS_PAYLOAD:
			if (in->len < c->need ||
			    cbuf_room(out) < c->need - SS_TAG_LEN)
				return 0;
			if ((e = open_unit(c, in, cbuf_tail(out))) != 0)
				return e;
			out->len += c->need - SS_TAG_LEN;
			c->dstate = DS_LEN;
			break;
		}
	}
}

static int
ssc_start(struct codec *cc, struct cbuf *out)
{
	struct ss_codec *c = (struct ss_codec *)cc;
	struct cbuf h;

	if (c->hdrlen == 0)
		return 0;
	/*
	 * The request header goes out at once rather than with the first
	 * payload, so that protocols where the server speaks first work.
	 */
	if (c->m->kind == SS_KIND_2022)
		return ssc_2022_header(c, NULL, out);
	memset(&h, 0, sizeof(h));
	h.p = c->hdr;
	h.len = c->hdrlen;
	h.cap = sizeof(c->hdr);
	c->hdrlen = 0;
	return ssc_encode(cc, &h, out);
}

static int
ssc_eof(struct codec *cc)
{
	struct ss_codec *c = (struct ss_codec *)cc;

	return c->dstate != DS_LEN && c->dstate != DS_SALT &&
	    c->m->kind != SS_KIND_NONE ? ERR_INCOMPLETE : 0;
}

void
ssc_destroy(struct ss_codec *c)
{
	if (c->enc_on)
		ss_aead_clear(&c->enc);
	if (c->dec_on)
		ss_aead_clear(&c->dec);
	explicit_bzero(c, sizeof(*c));
	free(c);
}

static void
ssc_free(struct codec *cc)
{
	ssc_destroy((struct ss_codec *)cc);
}

static const struct codec_ops ss_codec_ops = {
	.name = "shadowsocks",
	.start = ssc_start,
	.decode = ssc_decode,
	.encode = ssc_encode,
	.eof = ssc_eof,
	.free = ssc_free,
};

struct ss_codec *
ssc_new(const struct ss_method *m, const unsigned char *key, int role)
{
	struct ss_codec *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->c.ops = &ss_codec_ops;
	c->m = m;
	c->key = key;
	c->role = role;
	return c;
}

struct codec *
ss_codec_client(const struct ss_method *m, const unsigned char *key,
    const char *host, uint16_t port)
{
	struct ss_codec *c;

	if ((c = ssc_new(m, key, SSC_CLIENT)) == NULL)
		return NULL;
	if ((c->hdrlen = socks5_put_addr(c->hdr, sizeof(c->hdr), host,
	    port)) == 0) {
		ssc_destroy(c);
		errno = ENAMETOOLONG;
		return NULL;
	}
	return &c->c;
}

