/*
 * libFuzzer harness for the STUN/TURN codec.  The input is read as a
 * datagram on the client's shared socket: classified, parsed as a
 * message (integrity and fingerprint checked against a fixed key), as
 * a Data indication and as ChannelData.  Checked: the classifier and
 * the parsers agree; an offset the parser reports lies inside the
 * datagram; a challenge the client would answer gives a request that
 * parses back and verifies with the derived key.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proto/stun.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static const unsigned char tid[STUN_TID_LEN] = "fuzzfuzzfuzz";

static void
check_challenge(const struct stun_msg *m)
{
	unsigned char out[2048];
	struct turn_auth a;
	struct stun_msg r;
	size_t n;

	if (!turn_should_retry(m, 0) && !turn_should_retry(m, 1))
		return;
	memset(&a, 0, sizeof(a));
	if (turn_auth_from_challenge(&a, m, "user", "pass") != 0) {
		/* only a 438 without REALM may fail here */
		if (m->error != STUN_ERR_STALE_NONCE ||
		    (m->has & STUN_HAS_REALM))
			abort();
		return;
	}
	if (turn_build_allocate(out, sizeof(out), &n, tid, 600, &a,
	    STUN_F_FINGERPRINT) != 0)
		return;
	if (stun_parse(out, n, &r) != 0 ||
	    stun_check_integrity(out, n, &r, a.key, sizeof(a.key)) != 0 ||
	    stun_check_fingerprint(out, n, &r) != 0 ||
	    r.noncelen != m->noncelen ||
	    memcmp(r.nonce, m->nonce, m->noncelen) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const unsigned char key[STUN_KEY_LEN] = "0123456789abcdef";
	struct sockaddr_storage peer;
	const unsigned char *d;
	struct stun_msg m;
	enum stun_kind k;
	size_t dl;
	uint16_t ch;
	int e;

	k = stun_classify(data, size);
	e = stun_parse(data, size, &m);
	if (e == 0) {
		if (k != STUN_KIND_MESSAGE || m.len != size)
			abort();
		if ((m.has & STUN_HAS_INTEGRITY) &&
		    m.integrity_off + 24 > size)
			abort();
		if ((m.has & STUN_HAS_FINGERPRINT) &&
		    m.fingerprint_off + 8 != size)
			abort();
		if ((m.has & STUN_HAS_DATA) && (m.data < data ||
		    m.data + m.datalen > data + size))
			abort();
		(void)stun_check_integrity(data, size, &m, key, sizeof(key));
		(void)stun_check_fingerprint(data, size, &m);
		(void)stun_is_response(&m, TURN_METHOD_ALLOCATE, tid);
		check_challenge(&m);
	}
	if (turn_parse_data_indication(data, size, &peer, &d, &dl) == 0 &&
	    (e != 0 || d < data || d + dl > data + size))
		abort();
	e = turn_channel_parse(data, size, &ch, &d, &dl);
	if ((e == 0) != (k == STUN_KIND_CHANNEL))
		abort();
	if (e == 0 && (ch < TURN_CHANNEL_MIN || ch > TURN_CHANNEL_MAX ||
	    d + dl > data + size))
		abort();
	return 0;
}
