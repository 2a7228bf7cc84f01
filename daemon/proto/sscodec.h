/* Shadowsocks sessions as codecs (see daemon/core/codec.h). */
#ifndef OSTP_SSCODEC_H
#define OSTP_SSCODEC_H

#include "proto.h"
#include "ss.h"
#include "core/codec.h"

enum { SSC_CLIENT, SSC_SERVER };
enum { DS_SALT, DS_FIXED, DS_FIRST, DS_LEN, DS_PAYLOAD };

#define SS2022_MAX_SKEW		30	/* seconds of clock difference */
#define SS2022_PAD_MAX		900

struct ss_codec {
	struct codec		 c;
	const struct ss_method	*m;
	const unsigned char	*key;		/* the configuration's */
	int			 role;
	struct ss_aead		 enc;
	struct ss_aead		 dec;
	int			 enc_on;
	int			 dec_on;
	int			 dstate;
	int			 authed;	/* a chunk authenticated */
	size_t			 need;		/* sealed bytes awaited */
	unsigned char		 salt[SS_SALT_MAX];	/* the peer's */
	unsigned char		 mysalt[SS_SALT_MAX];	/* ours */
	unsigned char		 hdr[2 + PROXY_HOST_MAX + 2 + 1];
	size_t			 hdrlen;	/* client: target address */
};

/* Set by the daemon: SIP022's exact salt store (NULL: none). */
extern int	(*ssc_salt_seen)(const unsigned char *, size_t);

struct ss_codec	*ssc_new(const struct ss_method *, const unsigned char *key,
		    int role);
void		 ssc_destroy(struct ss_codec *);
int		 ssc_decode(struct codec *, struct cbuf *in, struct cbuf *out);
struct codec	*ss_codec_client(const struct ss_method *,
		    const unsigned char *key, const char *host, uint16_t port);

#endif
