/*
 * libFuzzer harness for the Shadowsocks stream codec.  Byte 0 picks the
 * method, byte 1 the mode: 0 feeds the rest to a server's decoder as
 * wire bytes, in pieces whose sizes the input also picks (anything must
 * be refused cleanly, never read or written out of bounds); 1 encodes
 * the rest as a client and decodes it as a server, which must give the
 * target address and exactly the data back.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proto/sscodec.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static const char *const methods[] = {
	"aes-128-gcm", "chacha20-ietf-poly1305", "2022-blake3-aes-128-gcm",
	"none",
};
static const char *const keys[] = {
	"fuzz", "fuzz", "AAECAwQFBgcICQoLDA0ODw==", "",
};

static void
decode_all(struct ss_codec *sv, struct cbuf *in, struct cbuf *out,
    const unsigned char *p, size_t n, size_t step)
{
	size_t k;

	while (n > 0) {
		k = step < n ? step : n;
		if (cbuf_room(in) < k)
			k = cbuf_room(in);
		if (k == 0)
			abort();	/* the decoder must drain its input */
		cbuf_append(in, p, k);
		p += k;
		n -= k;
		if (ssc_decode(&sv->c, in, out) != 0)
			return;
		if (out->len > out->cap)
			abort();
		if (out->len > out->cap / 2)
			cbuf_consume(out, out->len);	/* the relay wrote it */
	}
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static unsigned char mkeys[4][32];
	static int init;
	const struct ss_method *m;
	struct ss_codec *sv;
	struct codec *cl;
	struct cbuf in, mid, out, wire;
	struct proxy_target t;
	char err[200];
	size_t i, used;
	int mi;

	if (!init) {
		for (i = 0; i < 4; i++)
			if (ss_master_key(ss_method_find(methods[i]), keys[i],
			    mkeys[i], err, sizeof(err)) != 0)
				abort();
		init = 1;
	}
	if (size < 3)
		return 0;
	mi = data[0] % 4;
	m = ss_method_find(methods[mi]);
	memset(&in, 0, sizeof(in));
	memset(&mid, 0, sizeof(mid));
	memset(&out, 0, sizeof(out));
	memset(&wire, 0, sizeof(wire));
	if (cbuf_alloc(&in, CRELAY_IN_BUF) != 0 ||
	    cbuf_alloc(&out, CRELAY_BUF) != 0 ||
	    (sv = ssc_new(m, mkeys[mi], SSC_SERVER)) == NULL)
		abort();
	if ((data[1] & 1) == 0) {
		decode_all(sv, &in, &out, data + 3, size - 3,
		    1 + (size_t)data[2] * 37);
		goto done;
	}
	/* round trip: client encode, server decode */
	if ((cl = ss_codec_client(m, mkeys[mi], "fuzz.example", 443)) ==
	    NULL || cbuf_alloc(&wire, 4 * CRELAY_BUF) != 0 ||
	    cbuf_alloc(&mid, CRELAY_BUF) != 0)
		abort();
	if (cl->ops->start(cl, &wire) != 0)
		abort();
	cbuf_append(&mid, data + 3, size - 3 < CRELAY_BUF ? size - 3 :
	    CRELAY_BUF);
	if (cl->ops->encode(cl, &mid, &wire) != 0 || mid.len != 0)
		abort();
	if (ssc_decode(&sv->c, &wire, &out) != 0 && wire.len > 0)
		abort();
	while (wire.len > 0 && ssc_decode(&sv->c, &wire, &out) == 0 &&
	    wire.len > 0 && out.len < out.cap / 2)
		;
	if (socks5_parse_addr(out.p + out.off, out.len, &t, &used) != 0 ||
	    strcmp(t.host, "fuzz.example") != 0 || t.port != 443)
		abort();
	if (out.len - used != (size - 3 < CRELAY_BUF ? size - 3 : CRELAY_BUF)
	    && wire.len == 0)
		abort();
	if (memcmp(out.p + out.off + used, data + 3, out.len - used) != 0)
		abort();
	codec_free(cl);
 done:
	ssc_destroy(sv);
	cbuf_release(&in);
	cbuf_release(&mid);
	cbuf_release(&out);
	cbuf_release(&wire);
	return 0;
}
