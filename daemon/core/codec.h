/*
 * Codecs: the framing of a connection layer's bytes (the
 * Shadowsocks AEAD framing, later obfuscation layers) on their way to
 * and from the peer.  A codec turns wire bytes into plaintext (decode)
 * and plaintext into wire bytes (encode), one connection's state for
 * both directions.  core/codec.c makes a codec a connection layer.
 */
#ifndef OSTP_CORE_CODEC_H
#define OSTP_CORE_CODEC_H

#include <stddef.h>
#include <stdint.h>

struct worker;

#include "cbuf.h"

struct codec;

struct codec_ops {
	const char	*name;
	/*
	 * Bytes to send before any data (a client's salt and request
	 * header); NULL if none.
	 */
	int	(*start)(struct codec *, struct cbuf *out);
	/*
	 * Wire bytes to plaintext: consume whole units of in while out has
	 * room for their plaintext.  0, or a negative ERR_* when the peer
	 * sent something that does not authenticate or parse.
	 */
	int	(*decode)(struct codec *, struct cbuf *in, struct cbuf *out);
	/* Plaintext to wire bytes, as much of in as out has room for. */
	int	(*encode)(struct codec *, struct cbuf *in, struct cbuf *out);
	/* EOF from the peer: 0 if it fell on a unit boundary. */
	int	(*eof)(struct codec *);
	void	(*free)(struct codec *);
	/*
	 * Bytes to send now, after a decode, without data to carry them
	 * (a handshake's answer, a refusal before the end); NULL if none.
	 */
	int	(*reply)(struct codec *, struct cbuf *out);
};

struct codec {
	const struct codec_ops *ops;
};

static inline void
codec_free(struct codec *c)
{
	if (c != NULL)
		c->ops->free(c);
}

/* Room a relay direction keeps per buffer. */
#define CRELAY_BUF	(64 * 1024)
/* Wire input: a whole frame must fit (SIP022: 0xffff + tags). */
#define CRELAY_IN_BUF	(CRELAY_BUF + 4096)

#endif
