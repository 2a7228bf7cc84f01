/*
 * libFuzzer harness for the OSTP UoT carrier codec.  The input is read
 * as a stream of frames (fed whole and in pieces whose sizes come from
 * the input itself, which must give the same frames), as a server's
 * upgrade request for a fixed path, and as a server's answer to the
 * RFC 6455 sample key.  Checked: a head that parsed was incomplete one
 * byte earlier and parses the same on its own; an accepted key gets an
 * answer the client accepts.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proto/uot.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static const unsigned char sample_key[UOT_KEY_LEN] = "the sample nonce";
static struct uot_reader r1, r2;
static unsigned char saved[UOT_FRAME_MAX];

static void
check_frames(const unsigned char *p, size_t n)
{
	const unsigned char *f, *g;
	size_t off = 0, off2 = 0, used, fl, gl, step, end;
	int e;

	uot_reader_init(&r1);
	uot_reader_init(&r2);
	while (off < n) {
		e = uot_reader_feed(&r1, p + off, n - off, &used, &f, &fl);
		if (used > n - off || (e == 0 && used != n - off))
			abort();
		off += used;
		if (e == 0)
			break;
		if (fl > UOT_FRAME_MAX)
			abort();
		memcpy(saved, f, fl);
		/* the same frame fed in pieces of 1..8 bytes */
		for (;;) {
			step = 1 + (off2 < n ? p[off2] % 8 : 0);
			end = off2 + step < n ? off2 + step : n;
			if (off2 == end)
				abort();
			e = uot_reader_feed(&r2, p + off2, end - off2, &used,
			    &g, &gl);
			if (used > end - off2)
				abort();
			off2 += used;
			if (e == 1)
				break;
		}
		if (off2 != off || gl != fl || memcmp(g, saved, fl) != 0)
			abort();
	}
	if (off != n)
		abort();
	/* the stateless parser sees the same frames */
	off = 0;
	while (uot_frame_parse(p + off, n - off, &f, &fl, &used) == 0) {
		if (used != fl + UOT_HDR_LEN || used > n - off ||
		    f != p + off + UOT_HDR_LEN)
			abort();
		off += used;
	}
	if (n - off >= UOT_HDR_LEN &&
	    (size_t)(p[off] << 8 | p[off + 1]) <= n - off - UOT_HDR_LEN)
		abort();
}

static void
check_request(const unsigned char *p, size_t n)
{
	struct uot_upgrade u, u2;
	char resp[256];
	size_t m;
	int e, e2;

	e = uot_parse_upgrade(p, n, "/fuzz", &u);
	if (e != 0 && e != ERR_DENIED)
		return;
	if (u.headlen == 0 || u.headlen > n || u.headlen > UOT_HEAD_MAX)
		abort();
	if (uot_parse_upgrade(p, u.headlen - 1, "/fuzz", &u2) !=
	    ERR_INCOMPLETE)
		abort();
	e2 = uot_parse_upgrade(p, u.headlen, "/fuzz", &u2);
	if (e2 != e || memcmp(&u, &u2, sizeof(u)) != 0)
		abort();
	if (e != 0)
		return;
	if (u.key[0] == '\0' || strlen(u.key) > UOT_KEY_B64_MAX)
		abort();
	if (uot_build_upgrade_response(resp, sizeof(resp), &m, u.key) != 0)
		abort();
	check_frames(p + u.headlen, n - u.headlen);
}

static void
check_response(const unsigned char *p, size_t n)
{
	size_t hl, hl2;
	int st, st2, e;

	e = uot_parse_upgrade_response(p, n, sample_key, &hl, &st);
	if (e != 0 && e != ERR_DENIED)
		return;
	if (hl == 0 || hl > n || hl > UOT_HEAD_MAX ||
	    (e == 0) != (st == 101) || st < 100 || st > 599)
		abort();
	if (uot_parse_upgrade_response(p, hl - 1, sample_key, &hl2, &st2) !=
	    ERR_INCOMPLETE || uot_parse_upgrade_response(p, hl, sample_key,
	    &hl2, &st2) != e || hl2 != hl || st2 != st)
		abort();
	if (e == 0)
		check_frames(p + hl, n - hl);
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size > 0)
		(void)uot_classify(data[0]);
	check_frames(data, size);
	check_request(data, size);
	check_response(data, size);
	return 0;
}
