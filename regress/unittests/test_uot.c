/*
 * OSTP UoT carrier: framing fed byte by byte and all at once, the
 * first-byte table, the upgrade heads of spec 2.13 byte for byte (with
 * the RFC 6455 sample key), every refusal, the decoy and junk.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proto/uot.h"
#include "test.h"

static const unsigned char sample_key[UOT_KEY_LEN] = "the sample nonce";

#define REQ_HEAD(path, extra) \
	"GET " path " HTTP/1.1\r\n" \
	"Host: example.com\r\n" \
	"Upgrade: websocket\r\n" \
	"Connection: Upgrade\r\n" \
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" \
	"Sec-WebSocket-Version: 13\r\n" \
	extra \
	"\r\n"

#define GOOD_RESPONSE \
	"HTTP/1.1 101 Switching Protocols\r\n" \
	"Upgrade: websocket\r\n" \
	"Connection: Upgrade\r\n" \
	"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" \
	"\r\n"

static int
up(const char *s, const char *path, struct uot_upgrade *u)
{
	return uot_parse_upgrade((const unsigned char *)s, strlen(s), path, u);
}

TEST(test_classify)
{
	unsigned int c;

	for (c = 0; c < 256; c++) {
		enum uot_class k = uot_classify((unsigned char)c);

		if (c <= 5)
			ASSERT_EQ_INT(k, UOT_CLASS_UOT);
		else if (c == 0x16)
			ASSERT_EQ_INT(k, UOT_CLASS_TLS);
		else if (c >= 'A' && c <= 'Z')
			ASSERT_EQ_INT(k, UOT_CLASS_HTTP);
		else
			ASSERT_EQ_INT(k, UOT_CLASS_OTHER);
	}
}

TEST(test_frame_header)
{
	unsigned char h[2];

	ASSERT_EQ_INT(uot_frame_header(h, 0), 0);
	ASSERT(h[0] == 0 && h[1] == 0);
	ASSERT_EQ_INT(uot_frame_header(h, 1400), 0);
	ASSERT(h[0] == 0x05 && h[1] == 0x78);
	ASSERT_EQ_INT(uot_frame_header(h, 65535), 0);
	ASSERT(h[0] == 0xff && h[1] == 0xff);
	ASSERT_EQ_INT(uot_frame_header(h, 65536), ERR_TOO_LONG);
}

/* Three frames (5 bytes, empty, 65535 bytes) and one started. */
static unsigned char stream[2 + 5 + 2 + 2 + 65535 + 3];
static size_t streamlen;

static void
make_stream(void)
{
	size_t i, o = 0;

	uot_frame_header(stream + o, 5);
	memcpy(stream + o + 2, "hello", 5);
	o += 7;
	uot_frame_header(stream + o, 0);
	o += 2;
	uot_frame_header(stream + o, 65535);
	o += 2;
	for (i = 0; i < 65535; i++)
		stream[o++] = (unsigned char)(i * 7);
	uot_frame_header(stream + o, 300);
	stream[o + 2] = 0xaa;
	o += 3;
	streamlen = o;
}

static int
check_frames(size_t chunk, struct uot_reader *r)
{
	const unsigned char *f;
	size_t off = 0, end, used, fl, i;
	int n = 0, e;

	uot_reader_init(r);
	while (off < streamlen) {
		end = off + chunk < streamlen ? off + chunk : streamlen;
		while (off < end) {
			e = uot_reader_feed(r, stream + off, end - off, &used,
			    &f, &fl);
			if (used > end - off)
				return -1;
			off += used;
			if (e == 0) {
				if (off != end)
					return -1;
				continue;
			}
			switch (n++) {
			case 0:
				if (fl != 5 || memcmp(f, "hello", 5) != 0)
					return -1;
				break;
			case 1:
				if (fl != 0)
					return -1;
				break;
			case 2:
				if (fl != 65535)
					return -1;
				for (i = 0; i < fl; i++)
					if (f[i] != (unsigned char)(i * 7))
						return -1;
				break;
			default:
				return -1;
			}
		}
	}
	return n == 3 && uot_reader_pending(r) ? 0 : -1;
}

TEST(test_reader)
{
	struct uot_reader *r;
	const unsigned char *f;
	size_t used, fl;

	REQUIRE((r = malloc(sizeof(*r))) != NULL);
	make_stream();
	ASSERT_EQ_INT(check_frames(streamlen, r), 0);
	ASSERT_EQ_INT(check_frames(1, r), 0);
	ASSERT_EQ_INT(check_frames(2, r), 0);
	ASSERT_EQ_INT(check_frames(3, r), 0);
	ASSERT_EQ_INT(check_frames(1000, r), 0);
	ASSERT_EQ_INT(check_frames(4097, r), 0);
	/* a whole frame in one read is not copied */
	uot_reader_init(r);
	ASSERT_EQ_INT(uot_reader_feed(r, stream, 7, &used, &f, &fl), 1);
	ASSERT(f == stream + 2 && fl == 5 && used == 7);
	ASSERT(!uot_reader_pending(r));
	ASSERT_EQ_INT(uot_reader_feed(r, stream, 0, &used, &f, &fl), 0);
	ASSERT_EQ_INT(used, 0);
	free(r);
}

TEST(test_frame_parse)
{
	const unsigned char *f;
	size_t i, off = 0, fl, used;
	int n = 0;

	make_stream();
	for (i = 0; i < 7; i++)
		ASSERT_EQ_INT(uot_frame_parse(stream, i, &f, &fl, &used),
		    ERR_INCOMPLETE);
	while (uot_frame_parse(stream + off, streamlen - off, &f, &fl,
	    &used) == 0) {
		ASSERT(f == stream + off + 2 && used == fl + 2);
		off += used;
		n++;
	}
	ASSERT_EQ_INT(n, 3);
	/* the last frame (300 bytes announced, 1 there) is not complete */
	ASSERT_EQ_UINT(streamlen - off, 3);
	ASSERT_EQ_UINT(used, 0);
}

TEST(test_request_build)
{
	static const char want[] = REQ_HEAD("/s3cr3t", "");
	char out[512];
	size_t n;

	ASSERT_EQ_INT(uot_build_upgrade_request(out, sizeof(out), &n,
	    "/s3cr3t", "example.com", sample_key), 0);
	ASSERT_EQ_UINT(n, strlen(want));
	ASSERT_STREQ(out, want);
	ASSERT_EQ_INT(uot_build_upgrade_request(out, sizeof(out), &n,
	    "nopath", "example.com", sample_key), ERR_FORMAT);
	ASSERT_EQ_INT(uot_build_upgrade_request(out, sizeof(out), &n,
	    "/a b", "example.com", sample_key), ERR_FORMAT);
	ASSERT_EQ_INT(uot_build_upgrade_request(out, sizeof(out), &n,
	    "/a", "ex\r\nX: y", sample_key), ERR_FORMAT);
	ASSERT_EQ_INT(uot_build_upgrade_request(out, sizeof(out), &n,
	    "/a", "", sample_key), ERR_FORMAT);
	ASSERT_EQ_INT(uot_build_upgrade_request(out, 20, &n,
	    "/a", "example.com", sample_key), ERR_NO_SPACE);
}

TEST(test_request_parse)
{
	static const char good[] = REQ_HEAD("/s3cr3t", "") "\x00\x05hello";
	struct uot_upgrade u;
	size_t i, hl = strlen(REQ_HEAD("/s3cr3t", ""));
	char out[256];
	size_t n;

	ASSERT_EQ_INT(uot_parse_upgrade((const unsigned char *)good,
	    sizeof(good) - 1, "/s3cr3t", &u), 0);
	ASSERT_EQ_UINT(u.headlen, hl);
	ASSERT_STREQ(u.key, "dGhlIHNhbXBsZSBub25jZQ==");
	ASSERT_STREQ(u.real_ip, "");
	ASSERT_STREQ(u.forwarded, "");
	/* need more until the blank line */
	for (i = 0; i < hl; i++)
		ASSERT_EQ_INT(uot_parse_upgrade((const unsigned char *)good, i,
		    "/s3cr3t", &u), ERR_INCOMPLETE);
	ASSERT_EQ_INT(uot_build_upgrade_response(out, sizeof(out), &n,
	    "dGhlIHNhbXBsZSBub25jZQ=="), 0);
	ASSERT_STREQ(out, GOOD_RESPONSE);

	/* header names and tokens in any case, Connection as a list */
	ASSERT_EQ_INT(up("GET /p HTTP/1.1\r\nhost: x\r\nUPGRADE: WebSocket\r\n"
	    "connection: keep-alive, Upgrade\r\nsec-websocket-key: k\r\n\r\n",
	    "/p", &u), 0);
	ASSERT_STREQ(u.key, "k");

	/* every refusal is ERR_DENIED, with the head's length */
	ASSERT_EQ_INT(up(REQ_HEAD("/s3cr3t", ""), "/s3cr3", &u), ERR_DENIED);
	ASSERT_EQ_UINT(u.headlen, hl);
	ASSERT_STREQ(u.key, "");
	ASSERT_EQ_INT(up(REQ_HEAD("/s3cr3t", ""), "/s3cr3tt", &u), ERR_DENIED);
	ASSERT_EQ_INT(up(REQ_HEAD("/s3cr3t?x", ""), "/s3cr3t", &u),
	    ERR_DENIED);
	ASSERT_EQ_INT(up(REQ_HEAD("/S3cr3t", ""), "/s3cr3t", &u), ERR_DENIED);
	ASSERT_EQ_INT(up("POST /p HTTP/1.1\r\nUpgrade: websocket\r\n"
	    "Connection: upgrade\r\nSec-WebSocket-Key: k\r\n\r\n", "/p", &u),
	    ERR_DENIED);
	ASSERT_EQ_INT(up("GET /p HTTP/1.0\r\nUpgrade: websocket\r\n"
	    "Connection: upgrade\r\nSec-WebSocket-Key: k\r\n\r\n", "/p", &u),
	    ERR_DENIED);
	ASSERT_EQ_INT(up("GET /p HTTP/1.1\r\nUpgrade: websockets\r\n"
	    "Connection: upgrade\r\nSec-WebSocket-Key: k\r\n\r\n", "/p", &u),
	    ERR_DENIED);
	ASSERT_EQ_INT(up("GET /p HTTP/1.1\r\nUpgrade: websocket\r\n"
	    "Connection: upgraded\r\nSec-WebSocket-Key: k\r\n\r\n", "/p", &u),
	    ERR_DENIED);
	ASSERT_EQ_INT(up("GET /p HTTP/1.1\r\nUpgrade: websocket\r\n"
	    "Connection: upgrade\r\nSec-WebSocket-Key:\r\n\r\n", "/p", &u),
	    ERR_DENIED);
	ASSERT_EQ_INT(up("GET /p HTTP/1.1\r\nUpgrade: websocket\r\n"
	    "Connection: upgrade\r\n\r\n", "/p", &u), ERR_DENIED);
	ASSERT_EQ_INT(up("GET /p HTTP/1.1\r\nUpgrade: websocket\r\n"
	    "Connection: upgrade\r\nSec-WebSocket-Key: k\r\n"
	    "Sec-WebSocket-Key: k\r\n\r\n", "/p", &u), ERR_DENIED);
	ASSERT_EQ_INT(up("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "/p", &u),
	    ERR_DENIED);

	/* malformed heads */
	ASSERT_EQ_INT(up("GET /p HTTP/1.1\nHost: x\r\n\r\n", "/p", &u),
	    ERR_FORMAT);
	ASSERT_EQ_INT(up("GET /p HTTP/1.1\r\nHost x\r\n\r\n", "/p", &u),
	    ERR_FORMAT);
	ASSERT_EQ_INT(up("GET /p HTTP/1.1\r\nHost : x\r\n\r\n", "/p", &u),
	    ERR_FORMAT);
	ASSERT_EQ_INT(up("GET /p\r\n\r\n", "/p", &u), ERR_FORMAT);
	ASSERT_EQ_INT(up("GET  HTTP/1.1\r\n\r\n", "/p", &u), ERR_FORMAT);
	ASSERT_EQ_INT(up("GET /p HTTP/2.0\r\n\r\n", "/p", &u), ERR_FORMAT);
	ASSERT_EQ_INT(up("GET /p HTTP/1.1\r\nA: \x01\r\n\r\n", "/p", &u),
	    ERR_FORMAT);
	ASSERT_EQ_INT(up("GET /p HTTP/1.1\rHost", "/p", &u), ERR_FORMAT);
}

TEST(test_request_limit)
{
	static unsigned char big[UOT_HEAD_MAX + 10];
	struct uot_upgrade u;
	static const char start[] = "GET /p HTTP/1.1\r\nX: ";
	static const char tail[] = "\r\nUpgrade: websocket\r\n"
	    "Connection: upgrade\r\nSec-WebSocket-Key: k\r\n\r\n";
	size_t fill;

	/* exactly UOT_HEAD_MAX bytes of head is allowed, one more is not */
	fill = UOT_HEAD_MAX - strlen(start) - strlen(tail);
	memcpy(big, start, strlen(start));
	memset(big + strlen(start), 'a', fill);
	memcpy(big + strlen(start) + fill, tail, strlen(tail));
	ASSERT_EQ_INT(uot_parse_upgrade(big, UOT_HEAD_MAX, "/p", &u), 0);
	ASSERT_EQ_UINT(u.headlen, UOT_HEAD_MAX);
	memset(big + strlen(start), 'a', fill + 1);
	memcpy(big + strlen(start) + fill + 1, tail, strlen(tail));
	ASSERT_EQ_INT(uot_parse_upgrade(big, UOT_HEAD_MAX + 1, "/p", &u),
	    ERR_TOO_LONG);
	ASSERT_EQ_INT(uot_parse_upgrade(big, UOT_HEAD_MAX, "/p", &u),
	    ERR_TOO_LONG);
	ASSERT_EQ_INT(uot_parse_upgrade(big, UOT_HEAD_MAX - 1, "/p", &u),
	    ERR_INCOMPLETE);
}

TEST(test_forwarded)
{
	struct uot_upgrade u;

	ASSERT_EQ_INT(up(REQ_HEAD("/p", "X-Real-IP: 192.0.2.7\r\n"
	    "X-Forwarded-For: 10.0.0.1, 2001:db8::1 , 198.51.100.9\r\n"),
	    "/p", &u), 0);
	ASSERT_STREQ(u.real_ip, "192.0.2.7");
	ASSERT_STREQ(u.forwarded, "198.51.100.9");
	/* the last header's last entry; also on a refusal */
	ASSERT_EQ_INT(up("GET / HTTP/1.1\r\nX-Forwarded-For: 10.0.0.1\r\n"
	    "x-forwarded-for: 10.0.0.2,2001:db8::2\r\n\r\n", "/p", &u),
	    ERR_DENIED);
	ASSERT_STREQ(u.forwarded, "2001:db8::2");
	ASSERT_STREQ(u.real_ip, "");
	/* an empty last entry or an overlong value is no address */
	ASSERT_EQ_INT(up("GET / HTTP/1.1\r\nX-Forwarded-For: 10.0.0.1,\r\n"
	    "X-Real-IP: 1234567890123456789012345678901234567890"
	    "123456789012345678901234\r\n\r\n", "/p", &u), ERR_DENIED);
	ASSERT_STREQ(u.forwarded, "");
	ASSERT_STREQ(u.real_ip, "");
}

TEST(test_response_parse)
{
	static const char good[] = GOOD_RESPONSE "\x00\x02hi";
	const unsigned char *p = (const unsigned char *)good;
	size_t hl, i, n = strlen(GOOD_RESPONSE);
	int st;

	ASSERT_EQ_INT(uot_parse_upgrade_response(p, sizeof(good) - 1,
	    sample_key, &hl, &st), 0);
	ASSERT_EQ_UINT(hl, n);
	ASSERT_EQ_INT(st, 101);
	for (i = 0; i < n; i++)
		ASSERT_EQ_INT(uot_parse_upgrade_response(p, i, sample_key,
		    &hl, &st), ERR_INCOMPLETE);
	/* only status and accept are required */
	p = (const unsigned char *)"HTTP/1.1 101 OK\r\n"
	    "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
	ASSERT_EQ_INT(uot_parse_upgrade_response(p, strlen((const char *)p),
	    sample_key, &hl, &st), 0);
	p = (const unsigned char *)"HTTP/1.1 101 OK\r\n"
	    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOp=\r\n\r\n";
	ASSERT_EQ_INT(uot_parse_upgrade_response(p, strlen((const char *)p),
	    sample_key, &hl, &st), ERR_FORMAT);
	p = (const unsigned char *)"HTTP/1.1 101 OK\r\n"
	    "Upgrade: websocket\r\n\r\n";
	ASSERT_EQ_INT(uot_parse_upgrade_response(p, strlen((const char *)p),
	    sample_key, &hl, &st), ERR_FORMAT);
	p = (const unsigned char *)"HTTP/1.1 404 Not Found\r\n\r\n";
	ASSERT_EQ_INT(uot_parse_upgrade_response(p, strlen((const char *)p),
	    sample_key, &hl, &st), ERR_DENIED);
	ASSERT_EQ_INT(st, 404);
	ASSERT_EQ_UINT(hl, strlen((const char *)p));
	p = (const unsigned char *)"SSH-2.0-x\r\n\r\n";
	ASSERT_EQ_INT(uot_parse_upgrade_response(p, strlen((const char *)p),
	    sample_key, &hl, &st), ERR_FORMAT);
}

TEST(test_roundtrip)
{
	char rq[512], rs[512];
	struct uot_upgrade u;
	size_t n, m, hl;
	int st;

	REQUIRE(uot_build_upgrade_request(rq, sizeof(rq), &n, "/a/b%20c",
	    "[2001:db8::1]:443", sample_key) == 0);
	REQUIRE(uot_parse_upgrade((unsigned char *)rq, n, "/a/b%20c", &u) == 0);
	ASSERT_EQ_UINT(u.headlen, n);
	REQUIRE(uot_build_upgrade_response(rs, sizeof(rs), &m, u.key) == 0);
	ASSERT_EQ_INT(uot_parse_upgrade_response((unsigned char *)rs, m,
	    sample_key, &hl, &st), 0);
	ASSERT_EQ_UINT(hl, m);
}

TEST(test_decoy)
{
	char out[1024], *body;
	size_t n;
	int st;
	size_t hl;

	ASSERT_EQ_INT(uot_build_decoy(out, sizeof(out), &n), 0);
	ASSERT_EQ_UINT(n, strlen(out));
	ASSERT(strncmp(out, "HTTP/1.1 404 Not Found\r\n", 24) == 0);
	ASSERT(strstr(out, "\r\nConnection: close\r\n") != NULL);
	ASSERT(strstr(out, "\r\nContent-Type: text/html\r\n") != NULL);
	REQUIRE((body = strstr(out, "\r\n\r\n")) != NULL);
	body += 4;
	ASSERT(strstr(out, "<html>") == body);
	{
		char cl[64];

		snprintf(cl, sizeof(cl), "\r\nContent-Length: %zu\r\n",
		    strlen(body));
		ASSERT(strstr(out, cl) != NULL);
	}
	ASSERT_EQ_INT(uot_parse_upgrade_response((unsigned char *)out, n,
	    sample_key, &hl, &st), ERR_DENIED);
	ASSERT_EQ_INT(st, 404);
	ASSERT_EQ_INT(uot_build_decoy(out, 50, &n), ERR_NO_SPACE);
}

TEST(test_junk)
{
	static const unsigned char marker[4] = { 0xde, 0xad, 0xbe, 0xef };
	unsigned char out[UOT_JUNK_MAX], h[2];
	uint32_t r;

	ASSERT_EQ_UINT(uot_junk_size(100, 1000, 0), 100);
	ASSERT_EQ_UINT(uot_junk_size(100, 1000, 900), 1000);
	ASSERT_EQ_UINT(uot_junk_size(100, 1000, 901), 100);
	ASSERT_EQ_UINT(uot_junk_size(100, 5000, 0xffffffff) <= 1400, 1);
	ASSERT_EQ_UINT(uot_junk_size(2000, 5000, 12345), 1400);
	ASSERT_EQ_UINT(uot_junk_size(0, 0, 7), 4);
	ASSERT_EQ_UINT(uot_junk_size(500, 100, 7), 500);
	for (r = 0; r < 5000; r += 7) {
		size_t n = uot_junk_size(0, 100000, r * 2654435761u);

		ASSERT(n >= UOT_JUNK_MIN && n <= UOT_JUNK_MAX);
		/* the junk frame's first byte reads as UoT */
		uot_frame_header(h, n);
		ASSERT_EQ_INT(uot_classify(h[0]), UOT_CLASS_UOT);
	}
	ASSERT_EQ_INT(uot_junk_build(out, sizeof(out), marker, 100), 0);
	ASSERT(memcmp(out, marker, 4) == 0);
	ASSERT_EQ_INT(uot_junk_build(out, sizeof(out), marker, 4), 0);
	ASSERT_EQ_INT(uot_junk_build(out, sizeof(out), marker, 3), ERR_FORMAT);
	ASSERT_EQ_INT(uot_junk_build(out, sizeof(out), marker, 1401),
	    ERR_FORMAT);
	ASSERT_EQ_INT(uot_junk_build(out, 99, marker, 100), ERR_NO_SPACE);
}

int
main(void)
{
	RUN(test_classify);
	RUN(test_frame_header);
	RUN(test_reader);
	RUN(test_frame_parse);
	RUN(test_request_build);
	RUN(test_request_parse);
	RUN(test_request_limit);
	RUN(test_forwarded);
	RUN(test_response_parse);
	RUN(test_roundtrip);
	RUN(test_decoy);
	RUN(test_junk);
	return TEST_EXIT();
}
