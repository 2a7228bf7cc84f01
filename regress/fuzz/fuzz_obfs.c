/*
 * libFuzzer harness for obfs.c: the input is what a peer sent, read by
 * each of the four parsers (obfs-http request and response heads, the
 * obfs-tls ClientHello and the record readers of both sides).  A head
 * or hello that parses must be ERR_INCOMPLETE when cut short by one
 * byte and must lead to an answer the other side reads back; the
 * record readers must give the same result whether the input comes in
 * one piece or two, with a small output buffer; and the input used as
 * a payload must survive each builder and its parser.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proto/obfs.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define WORK_MAX	(2 * OTLS_HELLO_MAX + 4 * OHTTP_HEAD_MAX)

static unsigned char wire[WORK_MAX];
static unsigned char plain[WORK_MAX];
static unsigned char plain2[WORK_MAX];

static void
check_http(const unsigned char *data, size_t size)
{
	struct ohttp_request r, r2;
	unsigned char resp[OHTTP_RESPONSE_MAX];
	size_t hl, olen;
	int st;

	if (ohttp_server_request(data, size, &r) == 0) {
		if (r.head_len == 0 || r.head_len > size ||
		    r.head_len > OHTTP_HEAD_MAX ||
		    strlen(r.key) > OHTTP_KEY_MAX ||
		    ohttp_server_request(data, r.head_len - 1, &r2) !=
		    ERR_INCOMPLETE ||
		    ohttp_server_request(data, r.head_len, &r2) != 0 ||
		    memcmp(&r, &r2, sizeof(r)) != 0)
			abort();
		if (ohttp_server_response(r.key, 1, resp, sizeof(resp),
		    &olen) != 0 ||
		    ohttp_client_response(resp, olen, &hl, &st) != 0 ||
		    hl != olen || st != 101)
			abort();
		if (ohttp_server_refusal(1, resp, sizeof(resp), &olen) != 0 ||
		    ohttp_client_response(resp, olen, &hl, &st) != 0 ||
		    hl != olen || st != 503)
			abort();
	}
	if (ohttp_client_response(data, size, &hl, &st) == 0) {
		if (hl < 2 || hl > size || hl > OHTTP_HEAD_MAX ||
		    (st != 0 && (st < 100 || st > 599)) ||
		    ohttp_client_response(data, hl - 1, &olen, &st) !=
		    ERR_INCOMPLETE)
			abort();
	}
	/* the input as the client's first payload */
	if (size <= sizeof(wire) - OHTTP_REQUEST_HEAD_MAX) {
		if (ohttp_client_request("fuzz.example:80", data, size, wire,
		    sizeof(wire), &olen) != 0 ||
		    ohttp_server_request(wire, olen, &r) != 0 ||
		    !ohttp_server_accepts(&r) || olen - r.head_len != size ||
		    memcmp(wire + r.head_len, data, size) != 0)
			abort();
	}
}

/* Read in with a reader, split at cut, out room at most room a call. */
static int
read_split(int server, const unsigned char *in, size_t len, size_t cut,
    size_t room, unsigned char *out, size_t *olen, size_t *left)
{
	struct otls_reader r;
	size_t off = 0, avail, used, n, o = 0;
	int rv;

	otls_reader_init(&r, server);
	avail = cut;
	for (;;) {
		n = room < WORK_MAX - o ? room : WORK_MAX - o;
		if ((rv = otls_read(&r, in + off, avail - off, &used, out + o,
		    n, olen)) != 0)
			return rv;
		if (used > avail - off || *olen > n)
			abort();
		off += used;
		o += *olen;
		if (used == 0 && *olen == 0) {
			if (avail == len)
				break;
			avail = len;
		}
	}
	/* Only a header cut short may be left over. */
	if (len - off >= OTLS_REC_HDR ||
	    (otls_read_eof(&r, len - off) == 0) != (r.left == 0 && off == len))
		abort();
	*olen = o;
	*left = len - off;
	return 0;
}

static void
check_records(const unsigned char *data, size_t size)
{
	size_t cut, room, n1, n2, l1, l2;
	int server, r1, r2;

	if (size < 2)
		return;
	/* the first byte chooses the split and the room */
	cut = data[0] % (size + 1);
	room = 1 + data[1] % 64;
	for (server = 0; server <= 1; server++) {
		r1 = read_split(server, data, size, size, WORK_MAX, plain,
		    &n1, &l1);
		r2 = read_split(server, data, size, cut, room, plain2, &n2,
		    &l2);
		if (r1 != r2)
			abort();
		if (r1 == 0 && (n1 != n2 || l1 != l2 ||
		    memcmp(plain, plain2, n1) != 0 || n1 > size))
			abort();
	}
}

static void
check_tls(const unsigned char *data, size_t size)
{
	struct otls_hello h, h2;
	struct otls_reader r;
	size_t olen, used, n, off;

	if (otls_parse_hello(data, size, &h) == 0) {
		if (h.hello_len > size || h.hello_len > OTLS_HELLO_MAX ||
		    h.sid_len > OTLS_SID_MAX ||
		    (h.ticket_len == 0) != (h.ticket_off == 0) ||
		    (h.ticket_len != 0 && (h.ticket_off < OTLS_REC_HDR ||
		    h.ticket_off + h.ticket_len > h.hello_len)) ||
		    otls_parse_hello(data, h.hello_len - 1, &h2) !=
		    ERR_INCOMPLETE)
			abort();
		/* answer with the payload; a gost client reads it back */
		if (otls_server_flight(&h, 1, data + h.ticket_off,
		    h.ticket_len, &used, wire, sizeof(wire), &olen) != 0 ||
		    used != h.ticket_len)
			abort();
		if (h.sid_len == OTLS_SID_MAX) {
			otls_reader_init(&r, 0);
			if (otls_read(&r, wire, olen, &n, plain, sizeof(plain),
			    &off) != 0 || n != olen || off != h.ticket_len ||
			    memcmp(plain, data + h.ticket_off, off) != 0)
				abort();
		}
	}
	/* the input as the client's first write, then as a later one */
	switch (otls_client_hello("fuzz.example", 1, data, size, wire,
	    sizeof(wire), &olen)) {
	case 0:
		if (size > OTLS_FIRST_MAX + OBFS_HOST_MAX - 12)
			abort();
		if (otls_parse_hello(wire, olen, &h) != 0 ||
		    h.hello_len != olen || h.ticket_len != size ||
		    memcmp(wire + h.ticket_off, data, size) != 0)
			abort();
		break;
	case ERR_TOO_LONG:
		if (size <= OTLS_FIRST_MAX)
			abort();
		break;
	default:
		abort();
	}
	if (otls_frame_len(size, &n) != 0 || n > sizeof(wire) ||
	    otls_frame(data, size, &used, wire, sizeof(wire), &olen) != 0 ||
	    used != size || olen != n)
		abort();
	otls_reader_init(&r, 1);
	if (otls_read(&r, wire, olen, &n, plain, sizeof(plain), &off) != 0 ||
	    n != olen || off != size || memcmp(plain, data, size) != 0 ||
	    otls_read_eof(&r, 0) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size > OTLS_HELLO_MAX + OHTTP_HEAD_MAX)
		return 0;
	check_http(data, size);
	check_records(data, size);
	check_tls(data, size);
	return 0;
}
