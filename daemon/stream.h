/*
 * Layered connections: a socket whose bytes pass through a codec (the
 * Shadowsocks AEAD framing, later obfuscation layers) on their way to
 * and from the peer.  A codec turns wire bytes into plaintext (decode)
 * and plaintext into wire bytes (encode), one connection's state for
 * both directions.  The copying relay (crelay.c) moves data between two
 * such ends; plain pairs keep the splice relay (relay.c).
 */
#ifndef OSTP_STREAM_H
#define OSTP_STREAM_H

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

/*
 * One side of a copying relay: the socket, its codec (NULL: plain) and
 * what was already read from it, as wire bytes not yet decoded and as
 * plaintext not yet passed on.  The relay takes the fd and the codec.
 */
struct relay_end {
	int		 fd;
	struct codec	*codec;
	const void	*wire;
	size_t		 wirelen;
	const void	*plain;
	size_t		 plainlen;
};

#define RELAY_UNCOUNTED	0x01	/* an inner leg, not a client connection */

int	crelay_start(struct worker *, struct relay_end *, struct relay_end *,
	    int flags);
/* Relay a plain client socket a with b (and b's codec, NULL: splice). */
int	relay_start_codec(struct worker *, int a, int b, struct codec *);
/*
 * A plain socket standing for fd + codec: the codec relay runs between
 * them inside the worker, so code that speaks to plain sockets (chain
 * handshakes after a layered hop) can use it.  -1 on failure (fd and
 * codec are released).
 */
int	crelay_flatten(struct worker *, int fd, struct codec *);

#endif
