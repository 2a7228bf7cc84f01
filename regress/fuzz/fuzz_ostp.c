/*
 * libFuzzer harness for ostp.c: the first input byte chooses what reads
 * the rest, as a peer's datagram or payload.
 *   0  a data datagram: unmask, peek, open with fixed keys, then the
 *      frame and what it carries; masking twice is the identity
 *   1  a handshake msg1 on the server's trial path (ostp_hs_accept with
 *      a fixed key): the input is never modified
 *   2  msg2 for a client that sent a fixed msg1 (ostp_hs_finish)
 *   3  an inner frame
 *   4  an ACK payload: what parses is written back byte for byte
 *   5  a NACK payload
 *   6  a relay message: what parses is written back byte for byte
 *   7  a relay address (ostp_addr_split)
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ostp.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define FUZZ_KEY	"0123456789abcdef0123456789abcdef"
#define FUZZ_MAX	(OSTP_DGRAM_MAX + 64)

static struct ostp_keys keys;
static struct ostp_aead aead;
static struct ostp_hs client;		/* after a fixed msg1 */
static unsigned char buf[FUZZ_MAX], buf2[FUZZ_MAX];

static void
fuzz_init(void)
{
	static int done;
	unsigned char k[32], msg1[1024];

	if (done)
		return;
	done = 1;
	memset(k, 0x42, sizeof(k));
	if (ostp_keys_init(&keys, OSTP_WIRE_V5, FUZZ_KEY,
	    sizeof(FUZZ_KEY) - 1) != 0 || ostp_aead_init(&aead, k) != 0)
		abort();
	memset(k, 0x11, sizeof(k));
	if (ostp_hs_msg1(&client, &keys, 0x01020304, 1700000000, k, 0, msg1,
	    sizeof(msg1)) < 0)
		abort();
}

static void
check_payloads(unsigned char kind, const unsigned char *p, size_t len)
{
	struct ostp_range r[OSTP_ACK_MAX];
	struct ostp_msg m;
	uint64_t n;

	switch (kind) {
	case OSTP_F_DATA:
		(void)ostp_msg_parse(p, len, &m);
		break;
	case OSTP_F_ACK:
		(void)ostp_ack_parse(p, len, r, OSTP_ACK_MAX);
		break;
	case OSTP_F_NACK:
		(void)ostp_nack_parse(p, len, &n);
		break;
	}
}

static void
check_data(const unsigned char *d, size_t len)
{
	struct ostp_frame f;
	uint32_t sid;
	uint64_t n;
	ssize_t pl;

	if (len > OSTP_DGRAM_MAX)
		return;
	memcpy(buf, d, len);
	ostp_mask(&keys, buf, len, OSTP_DATA_HDR);
	ostp_mask(&keys, buf, len, OSTP_DATA_HDR);
	if (memcmp(buf, d, len) != 0)
		abort();
	if (ostp_peek(&keys, d, len, &sid, &n) != 0) {
		if (len >= OSTP_OVERHEAD)
			abort();
		return;
	}
	if (memcmp(buf, d, len) != 0)
		abort();
	pl = ostp_open(&aead, sid, n, d, len, buf2);
	if (pl >= 0) {
		if ((size_t)pl != len - 28)
			abort();
		if (ostp_frame_parse(buf2, (size_t)pl, &f) == 0)
			check_payloads(f.kind, f.payload, f.len);
	}
	/* the same bytes, taken as plaintext, sealed and opened again */
	if (len <= OSTP_DGRAM_MAX - 28) {
		pl = ostp_seal(&aead, &keys, 7, len, d, len, buf);
		if (pl != (ssize_t)(len + 28) ||
		    ostp_peek(&keys, buf, (size_t)pl, &sid, &n) != 0 ||
		    sid != 7 || n != len ||
		    ostp_open(&aead, sid, n, buf, (size_t)pl, buf2) !=
		    (ssize_t)len || memcmp(buf2, d, len) != 0)
			abort();
	}
}

static void
check_accept(const unsigned char *d, size_t len)
{
	struct ostp_hs s;
	unsigned char payload[12 + OSTP_KEY_MAX];
	size_t plen;
	uint32_t sid;
	uint64_t ts;

	if (len > OSTP_DGRAM_MAX)
		return;
	memcpy(buf, d, len);
	if (ostp_hs_accept(&s, &keys, buf, len, &sid, &ts, payload,
	    &plen) == 0) {
		if (plen != 12 + keys.keylen || sid != s.sid ||
		    ostp_hs_msg2(&s, &keys, NULL, (size_t)-1, buf2,
		    sizeof(buf2)) < 0)
			abort();
	} else if (plen != 0)
		abort();
	if (memcmp(buf, d, len) != 0)
		abort();
	ostp_hs_clear(&s);
}

/* A failed msg2 leaves the client as it was. */
static int
hs_same(const struct ostp_hs *a, const struct ostp_hs *b)
{
	return memcmp(a->ck, b->ck, 32) == 0 && memcmp(a->h, b->h, 32) == 0 &&
	    memcmp(a->k, b->k, 32) == 0 && a->n == b->n &&
	    memcmp(a->e_priv, b->e_priv, 32) == 0 && a->sid == b->sid;
}

static void
check_finish(const unsigned char *d, size_t len)
{
	struct ostp_hs c = client;

	if (len > OSTP_DGRAM_MAX)
		return;
	memcpy(buf, d, len);
	if (ostp_hs_finish(&c, &keys, buf, len) != 0 &&
	    !hs_same(&c, &client))
		abort();
	if (memcmp(buf, d, len) != 0)
		abort();
	ostp_hs_clear(&c);
}

static void
check_frame(const unsigned char *d, size_t len)
{
	struct ostp_frame f;

	if (ostp_frame_parse(d, len, &f) != 0)
		return;
	if (len < OSTP_FRAME_HDR || f.payload != d + OSTP_FRAME_HDR ||
	    f.len > len - OSTP_FRAME_HDR || f.kind < 1 || f.kind > 6)
		abort();
	check_payloads(f.kind, f.payload, f.len);
}

static void
check_ack(const unsigned char *d, size_t len)
{
	struct ostp_range r[OSTP_ACK_MAX];
	unsigned char out[1 + 16 * OSTP_ACK_MAX];
	size_t olen;
	int n, i;

	if ((n = ostp_ack_parse(d, len, r, OSTP_ACK_MAX)) < 0)
		return;
	if (n > OSTP_ACK_MAX)
		abort();
	for (i = 0; i < n; i++)
		if (r[i].start > r[i].end)
			abort();
	if (len == 0) {
		if (n != 0)
			abort();
		return;
	}
	olen = ostp_ack_put(out, r, (size_t)n);
	if (olen != 1 + 16 * (size_t)n || olen > len ||
	    memcmp(out, d, olen) != 0)
		abort();
}

static void
check_nack(const unsigned char *d, size_t len)
{
	unsigned char out[8];
	uint64_t n;

	if (ostp_nack_parse(d, len, &n) != 0) {
		if (len >= 8)
			abort();
		return;
	}
	ostp_nack_put(out, n);
	if (memcmp(out, d, 8) != 0)
		abort();
}

static void
check_msg(const unsigned char *d, size_t len)
{
	struct ostp_msg m, m2;
	static char host[OSTP_DGRAM_MAX];
	uint16_t port;
	ssize_t n;

	if (ostp_msg_parse(d, len, &m) != 0)
		return;
	n = ostp_msg_put(buf, sizeof(buf), &m);
	if (n < 1 || (size_t)n > len || memcmp(buf, d, (size_t)n) != 0)
		abort();
	if (ostp_msg_parse(buf, (size_t)n, &m2) != 0 || m2.tag != m.tag ||
	    m2.addrlen != m.addrlen || m2.datalen != m.datalen ||
	    m2.ts != m.ts)
		abort();
	if (m.addr != NULL && ostp_addr_split(m.addr, m.addrlen, host,
	    sizeof(host), &port) != 0)
		abort();
}

static void
check_addr(const unsigned char *d, size_t len)
{
	char host[300];
	uint16_t port;
	size_t hl;

	if (ostp_addr_split((const char *)d, len, host, sizeof(host),
	    &port) != 0)
		return;
	hl = strlen(host);
	if (hl == 0 || hl >= len || memchr(d, ':', len) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size < 1)
		return 0;
	fuzz_init();
	switch (data[0] % 8) {
	case 0:
		check_data(data + 1, size - 1);
		break;
	case 1:
		check_accept(data + 1, size - 1);
		break;
	case 2:
		check_finish(data + 1, size - 1);
		break;
	case 3:
		check_frame(data + 1, size - 1);
		break;
	case 4:
		check_ack(data + 1, size - 1);
		break;
	case 5:
		check_nack(data + 1, size - 1);
		break;
	case 6:
		check_msg(data + 1, size - 1);
		break;
	case 7:
		check_addr(data + 1, size - 1);
		break;
	}
	return 0;
}
