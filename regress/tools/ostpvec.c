/*
 * ostpvec: the fixed-input vectors of "ostptool.py vectors" computed by
 * daemon/proto/ostp.c, one "name hex" line each in the same order, so
 * that regress/ostpwire.sh can compare the two implementations byte for
 * byte.  The inputs: key "0123456789abcdef0123456789abcdef", client
 * ephemeral private key 01..20, server 21..40, session id 0x01020304,
 * timestamp 1700000000, msg1 padding pad_min bytes and msg2 padding
 * pad_min + 1 bytes; every random byte (padding, reserved frame bytes)
 * is 0x5a, so the order in which the codec asks for them does not
 * matter.
 */
#include "config.h"

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/proto/ostp.h"

#define KEY	"0123456789abcdef0123456789abcdef"
#define SID	0x01020304U
#define TS	1700000000ULL

static void
fixed_random(void *p, size_t n)
{
	memset(p, 0x5a, n);
}

static void
hex(const char *name, const unsigned char *p, size_t n)
{
	size_t i;

	printf("%s ", name);
	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
}

static void
die(const char *what)
{
	fprintf(stderr, "ostpvec: %s failed\n", what);
	exit(1);
}

/* A frame of one relay message with reserved bytes 5a5a, no padding. */
static size_t
msg_frame(unsigned char *f, size_t fsz, unsigned char kind,
    const unsigned char *payload, size_t plen)
{
	if (12 + plen > fsz)
		die("frame size");
	ostp_frame_hdr(f, kind, 0, plen, 0);
	f[2] = f[3] = 0x5a;
	memcpy(f + 12, payload, plen);
	return 12 + plen;
}

int
main(void)
{
	struct ostp_keys k;
	struct ostp_hs c, s;
	struct ostp_aead c2s, s2c;
	struct ostp_msg m;
	struct ostp_range r;
	unsigned char e_c[32], e_s[32], d1[1024], d2[1024], pl[1024];
	unsigned char marker[4], msg[64], f[128], dg[256];
	size_t plen, flen, mlen;
	ssize_t n1, n2, n;
	uint64_t ts;
	uint32_t sid;
	int i;

	ostp_random = fixed_random;
	for (i = 0; i < 32; i++) {
		e_c[i] = 1 + i;
		e_s[i] = 33 + i;
	}
	if (ostp_keys_init(&k, OSTP_WIRE_V5, KEY, strlen(KEY)) == -1)
		die("ostp_keys_init");
	hex("obf_key", k.obf_key, 8);
	hex("psk", k.psk, 32);
	printf("pad_min %u\npad_max %u\n", k.hs_pad_min, k.hs_pad_max);
	ostp_junk_marker(&k, 28333333, marker);
	hex("junk_marker_28333333", marker, 4);

	if ((n1 = ostp_hs_msg1(&c, &k, SID, TS, e_c, k.hs_pad_min, d1,
	    sizeof(d1))) == -1)
		die("ostp_hs_msg1");
	hex("msg1", d1, n1);
	plen = sizeof(pl);
	if (ostp_hs_accept(&s, &k, d1, n1, &sid, &ts, pl, &plen) == -1)
		die("ostp_hs_accept");
	if (sid != SID || ts != TS)
		die("ostp_hs_accept's session id or timestamp");
	if ((n2 = ostp_hs_msg2(&s, &k, e_s, k.hs_pad_min + 1, d2,
	    sizeof(d2))) == -1)
		die("ostp_hs_msg2");
	hex("msg2", d2, n2);
	if (ostp_hs_finish(&c, &k, d2, n2) == -1)
		die("ostp_hs_finish");
	if (memcmp(c.k_c2s, s.k_c2s, 32) != 0 ||
	    memcmp(c.k_s2c, s.k_s2c, 32) != 0)
		die("the two sides' keys agree:");
	hex("k_c2s", c.k_c2s, 32);
	hex("k_s2c", c.k_s2c, 32);
	if (ostp_aead_init(&c2s, c.k_c2s) == -1 ||
	    ostp_aead_init(&s2c, c.k_s2c) == -1)
		die("ostp_aead_init");

	memset(&m, 0, sizeof(m));
	m.tag = OSTP_M_PING;
	m.ts = 1;
	if ((n = ostp_msg_put(msg, sizeof(msg), &m)) == -1)
		die("ostp_msg_put");
	flen = msg_frame(f, sizeof(f), OSTP_F_DATA, msg, n);
	hex("ping_frame", f, flen);
	if ((n = ostp_seal(&c2s, &k, SID, 0, f, flen, dg)) == -1)
		die("ostp_seal");
	hex("data_c2s_n0", dg, n);

	m.tag = OSTP_M_PONG;
	if ((n = ostp_msg_put(msg, sizeof(msg), &m)) == -1)
		die("ostp_msg_put");
	flen = msg_frame(f, sizeof(f), OSTP_F_DATA, msg, n);
	if ((n = ostp_seal(&s2c, &k, SID, 0, f, flen, dg)) == -1)
		die("ostp_seal");
	hex("data_s2c_n0", dg, n);

	r.start = r.end = 0;
	mlen = ostp_ack_put(msg, &r, 1);
	flen = msg_frame(f, sizeof(f), OSTP_F_ACK, msg, mlen);
	if ((n = ostp_seal(&c2s, &k, SID, 1, f, flen, dg)) == -1)
		die("ostp_seal");
	hex("ack_c2s_n1", dg, n);

	ostp_aead_clear(&c2s);
	ostp_aead_clear(&s2c);
	ostp_hs_clear(&c);
	ostp_hs_clear(&s);
	ostp_keys_clear(&k);
	return 0;
}
