/* obfs-http and obfs-tls codecs (obfs.c; spec 2.7, 2.8). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "compat.h"
#include "err.h"
#include "proto/obfs.h"
#include "proto/sni.h"
#include "test.h"

/* 1994-11-06 08:49:37 UTC, RFC 7231's example date. */
#define T_1994		784111777
#define T_HELLO		0x5f5e1000	/* 2020-09-13 */

static unsigned char big[70000];
static unsigned char wire[140000];
static unsigned char out[140000];

static void
fill(unsigned char *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)((i * 131 + seed) ^ (i >> 8));
}

/* ---- obfs-http ---- */

static const char req_a[] =
    "GET / HTTP/1.1\r\n"
    "Host: example.com:8080\r\n"
    "User-Agent: Chrome/78.0.3904.106\r\n"
    "Connection: Upgrade\r\n"
    "Sec-Websocket-Key: ";
static const char req_b[] =
    "\r\n"
    "Upgrade: websocket\r\n"
    "\r\n";

TEST(test_ohttp_request_layout)
{
	unsigned char raw[32], key2[24];
	size_t olen, olen2, a = strlen(req_a), b = strlen(req_b);
	char host[OBFS_HOST_MAX + 2];

	ASSERT_EQ_INT(ohttp_client_request("example.com:8080", "hello", 5,
	    out, sizeof(out), &olen), 0);
	REQUIRE(olen == a + 24 + b + 5);
	ASSERT(memcmp(out, req_a, a) == 0);
	/* the key is base64 of 16 random bytes */
	ASSERT_EQ_INT(EVP_DecodeBlock(raw, out + a, 24), 18);
	ASSERT(out[a + 22] == '=' && out[a + 23] == '=');
	ASSERT(memcmp(out + a + 24, req_b, b) == 0);
	ASSERT(memcmp(out + olen - 5, "hello", 5) == 0);
	memcpy(key2, out + a, 24);
	ASSERT_EQ_INT(ohttp_client_request("example.com:8080", NULL, 0,
	    out, sizeof(out), &olen2), 0);
	ASSERT_EQ_UINT(olen2, olen - 5);
	ASSERT(memcmp(key2, out + a, 24) != 0);

	/* exact room, one byte short */
	ASSERT_EQ_INT(ohttp_client_request("example.com:8080", "hello", 5,
	    out, olen, &olen2), 0);
	ASSERT_EQ_INT(ohttp_client_request("example.com:8080", "hello", 5,
	    out, olen - 1, &olen2), ERR_NO_SPACE);
	ASSERT_EQ_UINT(olen2, 0);
	ASSERT_EQ_INT(ohttp_client_request("example.com", "x", SIZE_MAX,
	    out, sizeof(out), &olen2), ERR_TOO_LONG);

	/* hosts that would break the line */
	ASSERT_EQ_INT(ohttp_client_request("", NULL, 0, out, sizeof(out),
	    &olen), ERR_FORMAT);
	ASSERT_EQ_INT(ohttp_client_request("a b", NULL, 0, out, sizeof(out),
	    &olen), ERR_FORMAT);
	ASSERT_EQ_INT(ohttp_client_request("a\r\nX: y", NULL, 0, out,
	    sizeof(out), &olen), ERR_FORMAT);
	ASSERT_EQ_INT(ohttp_client_request("a\x80", NULL, 0, out,
	    sizeof(out), &olen), ERR_FORMAT);
	memset(host, 'h', sizeof(host));
	host[OBFS_HOST_MAX + 1] = '\0';
	ASSERT_EQ_INT(ohttp_client_request(host, NULL, 0, out, sizeof(out),
	    &olen), ERR_FORMAT);
	host[OBFS_HOST_MAX] = '\0';
	ASSERT_EQ_INT(ohttp_client_request(host, NULL, 0, out, sizeof(out),
	    &olen), 0);
	ASSERT(olen <= OHTTP_REQUEST_HEAD_MAX);
}

TEST(test_ohttp_accept)
{
	char acc[OHTTP_ACCEPT_LEN + 1];

	/* RFC 6455 1.3 */
	ASSERT_EQ_INT(ohttp_accept_value("dGhlIHNhbXBsZSBub25jZQ==", acc), 0);
	ASSERT_STREQ(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	/* gost computes it for a missing key too */
	ASSERT_EQ_INT(ohttp_accept_value("", acc), 0);
	ASSERT_EQ_UINT(strlen(acc), OHTTP_ACCEPT_LEN);
}

static const char resp_101[] =
    "HTTP/1.1 101 Switching Protocols\r\n"
    "Server: nginx/1.10.0\r\n"
    "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
    "Connection: Upgrade\r\n"
    "Upgrade: websocket\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    "\r\n";
static const char resp_503[] =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Length: 0\r\n"
    "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
    "\r\n";

TEST(test_ohttp_responses)
{
	char key[OHTTP_KEY_MAX + 2];
	size_t olen;

	ASSERT_EQ_INT(ohttp_server_response("dGhlIHNhbXBsZSBub25jZQ==",
	    T_1994, out, sizeof(out), &olen), 0);
	ASSERT_EQ_UINT(olen, strlen(resp_101));
	ASSERT(memcmp(out, resp_101, strlen(resp_101)) == 0);
	ASSERT(olen <= OHTTP_RESPONSE_MAX);
	ASSERT_EQ_INT(ohttp_server_response("dGhlIHNhbXBsZSBub25jZQ==",
	    T_1994, out, olen - 1, &olen), ERR_NO_SPACE);
	ASSERT_EQ_UINT(olen, 0);

	ASSERT_EQ_INT(ohttp_server_refusal(T_1994, out, sizeof(out), &olen),
	    0);
	ASSERT_EQ_UINT(olen, strlen(resp_503));
	ASSERT(memcmp(out, resp_503, strlen(resp_503)) == 0);
	ASSERT_EQ_INT(ohttp_server_refusal(T_1994, out, olen - 1, &olen),
	    ERR_NO_SPACE);

	/* another date: leap day, Thursday */
	ASSERT_EQ_INT(ohttp_server_refusal(1709164800 + 3661, out,
	    sizeof(out), &olen), 0);
	ASSERT(memmem(out, olen, "Date: Thu, 29 Feb 2024 01:01:01 GMT\r\n",
	    37) != NULL);

	memset(key, 'k', sizeof(key));
	key[OHTTP_KEY_MAX + 1] = '\0';
	ASSERT_EQ_INT(ohttp_server_response(key, T_1994, out, sizeof(out),
	    &olen), ERR_TOO_LONG);
	key[OHTTP_KEY_MAX] = '\0';
	ASSERT_EQ_INT(ohttp_server_response(key, T_1994, out, sizeof(out),
	    &olen), 0);
}

TEST(test_ohttp_client_response)
{
	unsigned char buf[600];
	size_t hl, n = strlen(resp_101), i;
	int st;

	memcpy(buf, resp_101, n);
	memcpy(buf + n, "DATA", 4);
	for (i = 0; i < n; i++)
		ASSERT_EQ_INT(ohttp_client_response(buf, i, &hl, &st),
		    ERR_INCOMPLETE);
	ASSERT_EQ_INT(ohttp_client_response(buf, n, &hl, &st), 0);
	ASSERT_EQ_UINT(hl, n);
	ASSERT_EQ_INT(st, 101);
	ASSERT_EQ_INT(ohttp_client_response(buf, n + 4, &hl, &st), 0);
	ASSERT_EQ_UINT(hl, n);

	ASSERT_EQ_INT(ohttp_client_response((const unsigned char *)resp_503,
	    strlen(resp_503), &hl, &st), 0);
	ASSERT_EQ_INT(st, 503);

	/* gost's client ends the head only at a line that is "\r\n" */
#define S(s)	(const unsigned char *)(s), sizeof(s) - 1
	ASSERT_EQ_INT(ohttp_client_response(S("HTTP/1.1 101 OK\n\nxx"), &hl,
	    &st), ERR_INCOMPLETE);
	ASSERT_EQ_INT(ohttp_client_response(S("HTTP/1.1 101 OK\n\r\nxx"),
	    &hl, &st), 0);
	ASSERT_EQ_UINT(hl, 18);
	ASSERT_EQ_INT(st, 101);
	ASSERT_EQ_INT(ohttp_client_response(S("\r\nabc"), &hl, &st), 0);
	ASSERT_EQ_UINT(hl, 2);
	ASSERT_EQ_INT(st, 0);
	ASSERT_EQ_INT(ohttp_client_response(S("garbage\r\n\r\n"), &hl, &st),
	    0);
	ASSERT_EQ_INT(st, 0);
	ASSERT_EQ_INT(ohttp_client_response(S("HTTP/1.1 1011\r\n\r\n"), &hl,
	    &st), 0);
	ASSERT_EQ_INT(st, 0);
	ASSERT_EQ_INT(ohttp_client_response(S("HTTP/1.0 200\r\n\r\n"), &hl,
	    &st), 0);
	ASSERT_EQ_INT(st, 200);
	ASSERT_EQ_INT(ohttp_client_response(S("HTTP/2 200 OK\r\n\r\n"), &hl,
	    &st), 0);
	ASSERT_EQ_INT(st, 0);

	/* bounded */
	memset(big, 'a', OHTTP_HEAD_MAX);
	ASSERT_EQ_INT(ohttp_client_response(big, OHTTP_HEAD_MAX - 1, &hl,
	    &st), ERR_INCOMPLETE);
	ASSERT_EQ_INT(ohttp_client_response(big, OHTTP_HEAD_MAX, &hl, &st),
	    ERR_TOO_LONG);
	memcpy(big + OHTTP_HEAD_MAX - 4, "\r\n\r\n", 4);
	ASSERT_EQ_INT(ohttp_client_response(big, OHTTP_HEAD_MAX + 10, &hl,
	    &st), 0);
	ASSERT_EQ_UINT(hl, OHTTP_HEAD_MAX);
	memcpy(big + OHTTP_HEAD_MAX - 4, "aa\r\n", 4);
	memcpy(big + OHTTP_HEAD_MAX, "\r\n", 2);
	ASSERT_EQ_INT(ohttp_client_response(big, OHTTP_HEAD_MAX + 2, &hl,
	    &st), ERR_TOO_LONG);
}

static int
req(const char *s, struct ohttp_request *r)
{
	return ohttp_server_request((const unsigned char *)s, strlen(s), r);
}

TEST(test_ohttp_server_request)
{
	struct ohttp_request r;
	size_t olen, i;
	char key[OHTTP_KEY_MAX + 1];

	/* the client's own request, then data, byte by byte */
	ASSERT_EQ_INT(ohttp_client_request("h.example", "\r\n\r\nDATA", 8,
	    out, sizeof(out), &olen), 0);
	for (i = 0; i < olen - 8; i++)
		ASSERT_EQ_INT(ohttp_server_request(out, i, &r),
		    ERR_INCOMPLETE);
	ASSERT_EQ_INT(ohttp_server_request(out, olen, &r), 0);
	ASSERT_EQ_UINT(r.head_len, olen - 8);
	ASSERT(ohttp_server_accepts(&r));
	ASSERT_EQ_UINT(strlen(r.key), 24);
	ASSERT(memcmp(r.key, (char *)memmem(out, olen, "Key: ", 5) + 5,
	    24) == 0);
	ASSERT_EQ_INT(r.has_content_length, 0);

	/* what gost looks at */
	ASSERT_EQ_INT(req("POST / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
	    &r), 0);
	ASSERT(!r.method_get && r.upgrade_websocket);
	ASSERT(!ohttp_server_accepts(&r));
	ASSERT_EQ_INT(req("get / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
	    &r), 0);
	ASSERT(!ohttp_server_accepts(&r));
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\nupgrade:WebSocket\r\n\r\n",
	    &r), 0);
	ASSERT(r.method_get && !r.upgrade_websocket);
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\nUPGRADE: \t websocket \r\n\r\n",
	    &r), 0);
	ASSERT(ohttp_server_accepts(&r));
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\nUpgrade: h2c\r\n"
	    "Upgrade: websocket\r\n\r\n", &r), 0);
	ASSERT(!ohttp_server_accepts(&r));
	ASSERT_EQ_INT(req("GET / HTTP/1.0\r\n\r\n", &r), 0);
	ASSERT(!ohttp_server_accepts(&r));
	ASSERT_STREQ(r.key, "");
	ASSERT_EQ_INT(req("GET /ws?x=1 HTTP/1.1\nSec-WebSocket-Key: a\n"
	    "sec-websocket-key: b\nContent-Length: 12\n"
	    "Content-Length: 12\n\n", &r), 0);
	ASSERT_STREQ(r.key, "a");
	ASSERT(r.has_content_length && r.content_length == 12);
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &r),
	    0);
	ASSERT(r.has_content_length && r.content_length == 0);

	/* malformed */
	ASSERT_EQ_INT(req("\r\nGET / HTTP/1.1\r\n\r\n", &r), ERR_FORMAT);
	ASSERT_EQ_INT(req("\n", &r), ERR_FORMAT);
	ASSERT_EQ_INT(req("\r", &r), ERR_INCOMPLETE);
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\n\r", &r), ERR_INCOMPLETE);
	ASSERT_EQ_INT(req("GET / HTTP/2.0\r\n\r\n", &r), ERR_FORMAT);
	ASSERT_EQ_INT(req("GET /  HTTP/1.1\r\n\r\n", &r), ERR_FORMAT);
	ASSERT_EQ_INT(req("GET  / HTTP/1.1\r\n\r\n", &r), ERR_FORMAT);
	ASSERT_EQ_INT(req("GET HTTP/1.1\r\n\r\n", &r), ERR_FORMAT);
	ASSERT_EQ_INT(req(" / HTTP/1.1\r\n\r\n", &r), ERR_FORMAT);
	ASSERT_EQ_INT(req("G(T / HTTP/1.1\r\n\r\n", &r), ERR_FORMAT);
	ASSERT_EQ_INT(req("GET / HTTP/1.x\r\n\r\n", &r), ERR_FORMAT);
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\nNoColon\r\n\r\n", &r),
	    ERR_FORMAT);
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\n: v\r\n\r\n", &r), ERR_FORMAT);
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\nA B: v\r\n\r\n", &r),
	    ERR_FORMAT);
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\nA: v\r\n folded\r\n\r\n", &r),
	    ERR_FORMAT);
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\nA: v\rw\r\n\r\n", &r),
	    ERR_FORMAT);
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\nA: v\x01\r\n\r\n", &r),
	    ERR_FORMAT);
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\nA: \x7f\r\n\r\n", &r),
	    ERR_FORMAT);
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\nContent-Length: 1\r\n"
	    "Content-Length: 2\r\n\r\n", &r), ERR_FORMAT);
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
	    &r), ERR_FORMAT);
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n",
	    &r), ERR_FORMAT);
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\nContent-Length:\r\n\r\n", &r),
	    ERR_FORMAT);
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\nContent-Length: "
	    "99999999999999999999999\r\n\r\n", &r), ERR_TOO_LONG);
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n", &r), ERR_FORMAT);

	/* key bound */
	memset(key, 'k', OHTTP_KEY_MAX);
	key[OHTTP_KEY_MAX] = '\0';
	olen = (size_t)snprintf((char *)out, sizeof(out),
	    "GET / HTTP/1.1\r\nSec-WebSocket-Key: %s\r\n\r\n", key);
	ASSERT_EQ_INT(ohttp_server_request(out, olen, &r), 0);
	ASSERT_STREQ(r.key, key);
	olen = (size_t)snprintf((char *)out, sizeof(out),
	    "GET / HTTP/1.1\r\nSec-WebSocket-Key: %sk\r\n\r\n", key);
	ASSERT_EQ_INT(ohttp_server_request(out, olen, &r), ERR_TOO_LONG);

	/* head bound */
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	memset(big + 19, 'a', OHTTP_HEAD_MAX);
	ASSERT_EQ_INT(ohttp_server_request(big, OHTTP_HEAD_MAX - 1, &r),
	    ERR_INCOMPLETE);
	ASSERT_EQ_INT(ohttp_server_request(big, OHTTP_HEAD_MAX + 19, &r),
	    ERR_TOO_LONG);
	memcpy(big + OHTTP_HEAD_MAX - 4, "\r\n\r\n", 4);
	ASSERT_EQ_INT(ohttp_server_request(big, OHTTP_HEAD_MAX + 19, &r), 0);
	ASSERT_EQ_UINT(r.head_len, OHTTP_HEAD_MAX);
}

TEST(test_ohttp_round_trip)
{
	struct ohttp_request r;
	unsigned char resp[OHTTP_RESPONSE_MAX + 16];
	char acc[OHTTP_ACCEPT_LEN + 1];
	size_t olen, rlen, hl;
	int st;

	fill(big, 1000, 1);
	ASSERT_EQ_INT(ohttp_client_request("10.0.0.1:443", big, 1000, wire,
	    sizeof(wire), &olen), 0);
	REQUIRE(ohttp_server_request(wire, olen, &r) == 0);
	ASSERT(ohttp_server_accepts(&r));
	ASSERT_EQ_UINT(olen - r.head_len, 1000);
	ASSERT(memcmp(wire + r.head_len, big, 1000) == 0);
	REQUIRE(ohttp_server_response(r.key, T_1994, resp, sizeof(resp),
	    &rlen) == 0);
	/* held and prefixed to the server's first write */
	memcpy(resp + rlen, "reply", 5);
	ASSERT_EQ_INT(ohttp_client_response(resp, rlen + 5, &hl, &st), 0);
	ASSERT_EQ_UINT(hl, rlen);
	ASSERT_EQ_INT(st, 101);
	ASSERT_EQ_INT(ohttp_accept_value(r.key, acc), 0);
	ASSERT(memmem(resp, rlen, acc, OHTTP_ACCEPT_LEN) != NULL);
}

/* ---- obfs-tls ---- */

static const unsigned char suites_ref[] = {
	0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
	0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b,
	0xc0, 0x23, 0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39,
	0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d,
	0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff
};
static const unsigned char sigalgs_ref[] = {
	0x06, 0x01, 0x06, 0x02, 0x06, 0x03, 0x05, 0x01, 0x05, 0x02, 0x05, 0x03,
	0x04, 0x01, 0x04, 0x02, 0x04, 0x03, 0x03, 0x01, 0x03, 0x02, 0x03, 0x03,
	0x02, 0x01, 0x02, 0x02, 0x02, 0x03
};

/* Offsets in gost's ClientHello record. */
#define H_TIME		11
#define H_SID		44
#define H_SUITES	78
#define H_COMP		134
#define H_EXTLEN	136
#define H_TICKET	138

TEST(test_otls_hello_layout)
{
	static const char host[] = "example.com";
	static const unsigned char tail[] = {
		0x00, 0x0b, 0x00, 0x04, 0x03, 0x01, 0x00, 0x02,
		0x00, 0x0a, 0x00, 0x0a, 0x00, 0x08, 0x00, 0x1d, 0x00, 0x17,
		0x00, 0x19, 0x00, 0x18,
	};
	struct sni_hello sh;
	unsigned char sid[32];
	size_t olen, hl = strlen(host), o, plen = 100;
	static const uint16_t order[] = {
		0x0023, 0x0000, 0x000b, 0x000a, 0x000d, 0x0016, 0x0017
	};
	size_t i;

	fill(big, plen, 7);
	ASSERT_EQ_INT(otls_client_hello(host, T_HELLO, big, plen, out,
	    sizeof(out), &olen), 0);
	REQUIRE(olen == OTLS_HELLO_FIXED + hl + plen);
	ASSERT(out[0] == 0x16 && out[1] == 0x03 && out[2] == 0x01);
	ASSERT_EQ_UINT(be16dec(out + 3), olen - 5);
	ASSERT(out[5] == 0x01 && out[6] == 0);
	ASSERT_EQ_UINT(be16dec(out + 7), olen - 9);
	ASSERT(out[9] == 0x03 && out[10] == 0x03);
	ASSERT(out[H_TIME] == 0x5f && out[H_TIME + 1] == 0x5e &&
	    out[H_TIME + 2] == 0x10 && out[H_TIME + 3] == 0x00);
	ASSERT_EQ_UINT(out[H_SID - 1], 32);
	memcpy(sid, out + H_SID, 32);
	ASSERT_EQ_UINT(be16dec(out + H_SUITES - 2), 56);
	ASSERT(memcmp(out + H_SUITES, suites_ref, 56) == 0);
	ASSERT(out[H_COMP] == 0x01 && out[H_COMP + 1] == 0x00);
	ASSERT_EQ_UINT(be16dec(out + H_EXTLEN), olen - H_EXTLEN - 2);

	/* extensions in gost's order */
	o = H_TICKET;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		REQUIRE(o + 4 <= olen);
		ASSERT_EQ_UINT(be16dec(out + o), order[i]);
		o += 4 + be16dec(out + o + 2);
	}
	ASSERT_EQ_UINT(o, olen);
	o = H_TICKET;
	ASSERT_EQ_UINT(be16dec(out + o + 2), plen);
	ASSERT(memcmp(out + o + 4, big, plen) == 0);
	o += 4 + plen;
	ASSERT_EQ_UINT(be16dec(out + o + 2), hl + 5);
	ASSERT_EQ_UINT(be16dec(out + o + 4), hl + 3);
	ASSERT_EQ_UINT(out[o + 6], 0);
	ASSERT_EQ_UINT(be16dec(out + o + 7), hl);
	ASSERT(memcmp(out + o + 9, host, hl) == 0);
	o += 9 + hl;
	ASSERT(memcmp(out + o, tail, sizeof(tail)) == 0);
	o += sizeof(tail);
	ASSERT(out[o] == 0x00 && out[o + 1] == 0x0d);
	ASSERT_EQ_UINT(be16dec(out + o + 2), 32);
	ASSERT_EQ_UINT(be16dec(out + o + 4), 30);
	ASSERT(memcmp(out + o + 6, sigalgs_ref, 30) == 0);
	o += 36;
	ASSERT(memcmp(out + o, "\x00\x16\x00\x00\x00\x17\x00\x00", 8) == 0);

	/* a TLS parser sees a hello for the host */
	ASSERT_EQ_INT(sni_parse(out, olen, &sh), 0);
	ASSERT_STREQ(sh.host, host);

	/* fresh random and session id each time */
	ASSERT_EQ_INT(otls_client_hello(host, T_HELLO, big, plen, out,
	    sizeof(out), &olen), 0);
	ASSERT(memcmp(out + H_SID, sid, 32) != 0);
}

TEST(test_otls_hello_limits)
{
	char host[OBFS_HOST_MAX + 2];
	size_t olen, max;

	memset(host, 'h', sizeof(host));
	host[OBFS_HOST_MAX] = '\0';
	/* OTLS_FIRST_MAX fits with the longest host; a record is 16 KiB */
	ASSERT_EQ_INT(otls_client_hello(host, 0, big, OTLS_FIRST_MAX, out,
	    sizeof(out), &olen), 0);
	ASSERT_EQ_UINT(olen, 5 + 16384);
	ASSERT_EQ_UINT(be16dec(out + 3), 16384);
	ASSERT_EQ_INT(otls_client_hello(host, 0, big, OTLS_FIRST_MAX + 1,
	    out, sizeof(out), &olen), ERR_TOO_LONG);
	ASSERT_EQ_UINT(olen, 0);
	max = 16384 + 5 - OTLS_HELLO_FIXED - 1;
	ASSERT_EQ_INT(otls_client_hello("h", 0, big, max, out, sizeof(out),
	    &olen), 0);
	ASSERT_EQ_UINT(olen, 5 + 16384);
	ASSERT_EQ_INT(otls_client_hello("h", 0, big, max + 1, out,
	    sizeof(out), &olen), ERR_TOO_LONG);
	ASSERT_EQ_INT(otls_client_hello("h", 0, big, SIZE_MAX, out,
	    sizeof(out), &olen), ERR_TOO_LONG);
	/* room */
	ASSERT_EQ_INT(otls_client_hello("h", 0, NULL, 0, out,
	    OTLS_HELLO_FIXED + 1, &olen), 0);
	ASSERT_EQ_INT(otls_client_hello("h", 0, NULL, 0, out,
	    OTLS_HELLO_FIXED, &olen), ERR_NO_SPACE);
	ASSERT_EQ_UINT(olen, 0);
	/* hosts */
	ASSERT_EQ_INT(otls_client_hello("", 0, NULL, 0, out, sizeof(out),
	    &olen), ERR_FORMAT);
	ASSERT_EQ_INT(otls_client_hello("a b", 0, NULL, 0, out, sizeof(out),
	    &olen), ERR_FORMAT);
	host[OBFS_HOST_MAX] = 'h';
	host[OBFS_HOST_MAX + 1] = '\0';
	ASSERT_EQ_INT(otls_client_hello(host, 0, NULL, 0, out, sizeof(out),
	    &olen), ERR_FORMAT);
}

/*
 * A ClientHello written independently of obfs.c: sid_len id bytes, the
 * given extensions block (NULL: none at all), no length checks, so
 * that the parser can be fed anything.
 */
static size_t
mk_hello(unsigned char *p, size_t sid_len, const unsigned char *ext,
    size_t extlen, int with_exts)
{
	size_t o = 9, i;

	p[0] = 0x16;
	p[1] = 0x03;
	p[2] = 0x01;
	p[5] = 0x01;
	p[o++] = 0x03;
	p[o++] = 0x03;
	for (i = 0; i < 32; i++)
		p[o++] = (unsigned char)i;
	p[o++] = (unsigned char)sid_len;
	for (i = 0; i < sid_len; i++)
		p[o++] = (unsigned char)(0xa0 + i);
	be16enc(p + o, 4);
	memcpy(p + o + 2, "\xc0\x2f\x00\xff", 4);
	o += 6;
	p[o++] = 1;
	p[o++] = 0;
	if (with_exts) {
		be16enc(p + o, extlen);
		memcpy(p + o + 2, ext, extlen);
		o += 2 + extlen;
	}
	be16enc(p + 3, o - 5);
	p[6] = (unsigned char)((o - 9) >> 16);
	be16enc(p + 7, (o - 9) & 0xffff);
	return o;
}

TEST(test_otls_parse_hello)
{
	struct otls_hello h;
	unsigned char *p = wire;
	size_t olen, i, n;

	/* our own hello, byte by byte, followed by a data record */
	fill(big, 300, 3);
	ASSERT_EQ_INT(otls_client_hello("example.net", T_HELLO, big, 300,
	    p, sizeof(wire), &olen), 0);
	memcpy(p + olen, "\x17\x03\x03\x00\x01z", 6);
	for (i = 0; i < olen; i++)
		ASSERT_EQ_INT(otls_parse_hello(p, i, &h), ERR_INCOMPLETE);
	ASSERT_EQ_INT(otls_parse_hello(p, olen + 6, &h), 0);
	ASSERT_EQ_UINT(h.hello_len, olen);
	ASSERT_EQ_UINT(h.ticket_off, H_TICKET + 4);
	ASSERT_EQ_UINT(h.ticket_len, 300);
	ASSERT(memcmp(p + h.ticket_off, big, 300) == 0);
	ASSERT_EQ_UINT(h.sid_len, 32);
	ASSERT(memcmp(h.sid, p + H_SID, 32) == 0);

	/* an empty payload; no extensions at all; other session ids */
	ASSERT_EQ_INT(otls_client_hello("e", 0, NULL, 0, p, sizeof(wire),
	    &olen), 0);
	ASSERT_EQ_INT(otls_parse_hello(p, olen, &h), 0);
	ASSERT(h.ticket_off == 0 && h.ticket_len == 0);
	n = mk_hello(p, 0, NULL, 0, 0);
	ASSERT_EQ_INT(otls_parse_hello(p, n, &h), 0);
	ASSERT(h.hello_len == n && h.ticket_len == 0 && h.sid_len == 0);
	n = mk_hello(p, 7, (const unsigned char *)"\x00\x23\x00\x02hi"
	    "\x00\x17\x00\x00", 10, 1);
	ASSERT_EQ_INT(otls_parse_hello(p, n, &h), 0);
	ASSERT(h.sid_len == 7 && h.sid[0] == 0xa0 && h.sid[6] == 0xa6);
	ASSERT(h.ticket_len == 2 && memcmp(p + h.ticket_off, "hi", 2) == 0);

	/* a v2 client's hello past 16 KiB (it does not cap) */
	fill(big, 40000, 9);
	n = mk_hello(p, 32, NULL, 0, 0);
	be16enc(p + n, 40004);
	memcpy(p + n + 2, "\x00\x23", 2);
	be16enc(p + n + 4, 40000);
	memmove(p + n + 6, big, 40000);
	n += 6 + 40000;
	be16enc(p + 3, n - 5);
	p[6] = (unsigned char)((n - 9) >> 16);
	be16enc(p + 7, (n - 9) & 0xffff);
	ASSERT_EQ_INT(otls_parse_hello(p, n - 1, &h), ERR_INCOMPLETE);
	ASSERT_EQ_INT(otls_parse_hello(p, n, &h), 0);
	ASSERT(h.ticket_len == 40000 &&
	    memcmp(p + h.ticket_off, big, 40000) == 0);
	ASSERT(n <= OTLS_HELLO_MAX);

	/* decided as early as the bytes allow */
	ASSERT_EQ_INT(otls_parse_hello((const unsigned char *)"", 0, &h),
	    ERR_INCOMPLETE);
	ASSERT_EQ_INT(otls_parse_hello((const unsigned char *)"\x17", 1, &h),
	    ERR_FORMAT);
	ASSERT_EQ_INT(otls_parse_hello((const unsigned char *)"GET / ", 6,
	    &h), ERR_FORMAT);
	ASSERT_EQ_INT(otls_parse_hello((const unsigned char *)"\x16\x02", 2,
	    &h), ERR_FORMAT);
	ASSERT_EQ_INT(otls_parse_hello((const unsigned char *)
	    "\x16\x03\x01\x00\x30\x02", 6, &h), ERR_FORMAT);
	ASSERT_EQ_INT(otls_parse_hello((const unsigned char *)
	    "\x16\x03\x01\x00\x03\x01\x00\x00\x00", 9, &h), ERR_FORMAT);
	/* handshake length must fill the record exactly */
	ASSERT_EQ_INT(otls_parse_hello((const unsigned char *)
	    "\x16\x03\x01\x00\x30\x01\x00\x00\x2b", 9, &h), ERR_FORMAT);
	ASSERT_EQ_INT(otls_parse_hello((const unsigned char *)
	    "\x16\x03\x01\x00\x30\x01\x00\x00\x2d", 9, &h), ERR_FORMAT);
	ASSERT_EQ_INT(otls_parse_hello((const unsigned char *)
	    "\x16\x03\x01\x00\x30\x01\x01\x00\x2c", 9, &h), ERR_FORMAT);

#define BAD(stmt) do {							\
	n = mk_hello(p, 32, (const unsigned char *)"\x00\x23\x00\x01x", 5, 1); \
	stmt;								\
	ASSERT_EQ_INT(otls_parse_hello(p, n, &h), ERR_FORMAT);		\
} while (0)
	ASSERT_EQ_INT(otls_parse_hello(p, mk_hello(p, 32,
	    (const unsigned char *)"\x00\x23\x00\x01x", 5, 1), &h), 0);
	BAD(p[9] = 0x02);			/* hello version */
	BAD(p[43] = 33);			/* session id length */
	BAD(p[43] = 0xff);
	BAD(be16enc(p + 76, 3));			/* odd suites */
	BAD(be16enc(p + 76, 0));
	BAD(p[82] = 0);				/* no compression */
	BAD(p[82] = 200);
	BAD(be16enc(p + 84, 4));			/* extensions length */
	BAD(be16enc(p + 84, 6));
	BAD(be16enc(p + 88, 2));			/* extension length */
	BAD(be16enc(p + 88, 0xffff));
	BAD((p[n++] = 0, be16enc(p + 3, n - 5), be16enc(p + 7, n - 9)));
	/* two session tickets */
	n = mk_hello(p, 32, (const unsigned char *)"\x00\x23\x00\x01x"
	    "\x00\x23\x00\x00", 9, 1);
	ASSERT_EQ_INT(otls_parse_hello(p, n, &h), ERR_FORMAT);
	/* a stray byte after the compression methods */
	n = mk_hello(p, 32, NULL, 0, 0);
	p[n++] = 0;
	be16enc(p + 3, n - 5);
	be16enc(p + 7, n - 9);
	ASSERT_EQ_INT(otls_parse_hello(p, n, &h), ERR_FORMAT);
#undef BAD
}

static const unsigned char sh_tail[] = {
	0xcc, 0xa8, 0x00, 0x00, 0x0f, 0xff, 0x01, 0x00, 0x01, 0x00,
	0x00, 0x17, 0x00, 0x00, 0x00, 0x0b, 0x00, 0x02, 0x01, 0x00
};

TEST(test_otls_flight_layout)
{
	struct otls_hello h;
	size_t used, olen, i, o;

	memset(&h, 0, sizeof(h));
	h.sid_len = 32;
	for (i = 0; i < 32; i++)
		h.sid[i] = (unsigned char)(0x40 + i);
	ASSERT_EQ_INT(otls_server_flight(&h, T_HELLO, "0123456789", 10,
	    &used, out, sizeof(out), &olen), 0);
	ASSERT_EQ_UINT(used, 10);
	REQUIRE(olen == 96 + 6 + 15);
	ASSERT_EQ_UINT(OTLS_FLIGHT_HDR, 102);
	ASSERT(memcmp(out, "\x16\x03\x01\x00\x5b\x02\x00\x00\x57\x03\x03",
	    11) == 0);
	ASSERT(memcmp(out + 11, "\x5f\x5e\x10\x00", 4) == 0);
	ASSERT_EQ_UINT(out[43], 32);
	ASSERT(memcmp(out + 44, h.sid, 32) == 0);
	ASSERT(memcmp(out + 76, sh_tail, sizeof(sh_tail)) == 0);
	ASSERT(memcmp(out + 96, "\x14\x03\x03\x00\x01\x01", 6) == 0);
	ASSERT(memcmp(out + 102, "\x16\x03\x03\x00\x0a" "0123456789", 15)
	    == 0);

	/* past 16 KiB: the rest goes in application data records */
	fill(big, 40000, 5);
	ASSERT_EQ_INT(otls_server_flight(&h, 0, big, 40000, &used, out,
	    sizeof(out), &olen), 0);
	ASSERT_EQ_UINT(used, 40000);
	ASSERT_EQ_UINT(olen, 102 + 3 * 5 + 40000);
	o = 102;
	ASSERT(memcmp(out + o, "\x16\x03\x03\x40\x00", 5) == 0);
	ASSERT(memcmp(out + o + 5, big, 16384) == 0);
	o += 5 + 16384;
	ASSERT(memcmp(out + o, "\x17\x03\x03\x40\x00", 5) == 0);
	ASSERT(memcmp(out + o + 5, big + 16384, 16384) == 0);
	o += 5 + 16384;
	ASSERT(memcmp(out + o, "\x17\x03\x03\x1c\x40", 5) == 0);
	ASSERT(memcmp(out + o + 5, big + 32768, 7232) == 0);

	/* out short: as much as fits, the caller frames the rest */
	ASSERT_EQ_INT(otls_server_flight(&h, 0, big, 40000, &used, out,
	    102 + 5 + 100, &olen), 0);
	ASSERT_EQ_UINT(used, 100);
	ASSERT_EQ_UINT(olen, 207);
	ASSERT_EQ_UINT(be16dec(out + 105), 100);
	ASSERT_EQ_INT(otls_server_flight(&h, 0, big, 40000, &used, out,
	    102 + 5 + 16384 + 6, &olen), 0);
	ASSERT_EQ_UINT(used, 16385);
	ASSERT(memcmp(out + 102 + 5 + 16384, "\x17\x03\x03\x00\x01", 5) == 0);
	ASSERT_EQ_INT(otls_server_flight(&h, 0, big, 40000, &used, out,
	    102 + 5 + 16384 + 5, &olen), 0);
	ASSERT_EQ_UINT(used, 16384);
	ASSERT_EQ_UINT(olen, 102 + 5 + 16384);
	ASSERT_EQ_INT(otls_server_flight(&h, 0, big, 1, &used, out,
	    102 + 5, &olen), ERR_NO_SPACE);
	ASSERT(used == 0 && olen == 0);
	/* nothing to send yet: an empty "Finished" keeps v2 in step */
	ASSERT_EQ_INT(otls_server_flight(&h, 0, NULL, 0, &used, out,
	    102 + 5, &olen), 0);
	ASSERT_EQ_UINT(olen, 107);
	ASSERT(memcmp(out + 102, "\x16\x03\x03\x00\x00", 5) == 0);
	ASSERT_EQ_INT(otls_server_flight(&h, 0, NULL, 0, &used, out,
	    102 + 4, &olen), ERR_NO_SPACE);

	/* other session ids are echoed */
	h.sid_len = 0;
	ASSERT_EQ_INT(otls_server_flight(&h, 0, "x", 1, &used, out,
	    sizeof(out), &olen), 0);
	ASSERT_EQ_UINT(olen, 5 + 59 + 6 + 6);
	ASSERT(memcmp(out, "\x16\x03\x01\x00\x3b\x02\x00\x00\x37", 9) == 0);
	ASSERT_EQ_UINT(out[43], 0);
	ASSERT(memcmp(out + 44, sh_tail, sizeof(sh_tail)) == 0);
	h.sid_len = 33;
	ASSERT_EQ_INT(otls_server_flight(&h, 0, "x", 1, &used, out,
	    sizeof(out), &olen), ERR_INTERNAL);
}

TEST(test_otls_frame)
{
	size_t used, olen, need;

	ASSERT_EQ_INT(otls_frame(big, 0, &used, out, sizeof(out), &olen), 0);
	ASSERT(used == 0 && olen == 0);
	ASSERT_EQ_INT(otls_frame("ab", 2, &used, out, sizeof(out), &olen), 0);
	ASSERT(used == 2 && olen == 7);
	ASSERT(memcmp(out, "\x17\x03\x03\x00\x02" "ab", 7) == 0);
	fill(big, 40000, 2);
	ASSERT_EQ_INT(otls_frame(big, 32768, &used, out, sizeof(out), &olen),
	    0);
	ASSERT(used == 32768 && olen == 32778);
	ASSERT(memcmp(out + 16389, "\x17\x03\x03\x40\x00", 5) == 0);
	ASSERT_EQ_INT(otls_frame(big, 32769, &used, out, sizeof(out), &olen),
	    0);
	ASSERT(used == 32769 && olen == 32784);
	/* no room for a header and a byte: nothing, not an error */
	ASSERT_EQ_INT(otls_frame(big, 10, &used, out, 5, &olen), 0);
	ASSERT(used == 0 && olen == 0);
	ASSERT_EQ_INT(otls_frame(big, 10, &used, out, 6, &olen), 0);
	ASSERT(used == 1 && olen == 6);
	ASSERT_EQ_INT(otls_frame(big, 10, &used, NULL, 0, &olen), 0);
	ASSERT(used == 0 && olen == 0);

	ASSERT_EQ_INT(otls_frame_len(0, &need), 0);
	ASSERT_EQ_UINT(need, 0);
	ASSERT_EQ_INT(otls_frame_len(1, &need), 0);
	ASSERT_EQ_UINT(need, 6);
	ASSERT_EQ_INT(otls_frame_len(16384, &need), 0);
	ASSERT_EQ_UINT(need, 16389);
	ASSERT_EQ_INT(otls_frame_len(16385, &need), 0);
	ASSERT_EQ_UINT(need, 16395);
	ASSERT_EQ_INT(otls_frame_len(SIZE_MAX, &need), ERR_TOO_LONG);
	ASSERT_EQ_INT(otls_frame_len(SIZE_MAX - 10, &need), ERR_TOO_LONG);
	ASSERT_EQ_INT(otls_frame_len(SIZE_MAX / 2, &need), 0);
	ASSERT_EQ_UINT(need, SIZE_MAX / 2 + 5 * (SIZE_MAX / 2 / 16384 + 1));
}

/*
 * Feed wire to a reader in chunks of step bytes (0: random sizes) with
 * out room of room bytes per call (0: plenty), as a caller with a
 * buffer would: unconsumed bytes stay in front.  Returns the data
 * length or an error.
 */
static long
read_all(int server, const unsigned char *w, size_t wlen, size_t step,
    size_t room, unsigned char *data, size_t datacap, int *eof)
{
	struct otls_reader r;
	size_t have = 0, fed = 0, used, olen, dl = 0, n;
	static unsigned char pend[140000];
	static uint32_t seed = 1;
	int rv, idle = 0;

	otls_reader_init(&r, server);
	while (fed < wlen || have > 0) {
		seed = seed * 1103515245 + 12345;
		n = step ? step : 1 + (size_t)(seed >> 8) % 23000;
		if (n > wlen - fed)
			n = wlen - fed;
		memcpy(pend + have, w + fed, n);
		have += n;
		fed += n;
		rv = otls_read(&r, pend, have, &used, data + dl,
		    room ? (room < datacap - dl ? room : datacap - dl) :
		    datacap - dl, &olen);
		if (rv != 0)
			return rv;
		memmove(pend, pend + used, have - used);
		have -= used;
		dl += olen;
		if (n == 0 && used == 0 && olen == 0 && ++idle > 2)
			break;
	}
	*eof = otls_read_eof(&r, have);
	return (long)dl;
}

/* A server's first write of len bytes of big, then more data. */
static size_t
server_stream(size_t len, size_t more)
{
	struct otls_hello h;
	size_t used, olen, o, n;

	memset(&h, 0, sizeof(h));
	h.sid_len = 32;
	if (otls_server_flight(&h, 0, big, len, &used, wire, sizeof(wire),
	    &olen) != 0)
		return 0;
	o = olen;
	if (used < len) {
		otls_frame(big + used, len - used, &n, wire + o,
		    sizeof(wire) - o, &olen);
		o += olen;
	}
	otls_frame(big + len, more, &n, wire + o, sizeof(wire) - o, &olen);
	return o + olen;
}

TEST(test_otls_client_reader)
{
	static unsigned char data[100000];
	static const size_t steps[] = { 1, 2, 4, 5, 6, 7, 90, 91, 96, 97,
	    101, 102, 1000, 16389, 0, 0, 0 };
	size_t wl, i;
	long dl;
	int eof;

	fill(big, 60000, 11);
	wl = server_stream(20000, 20000);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		memset(data, 0, 40000);
		dl = read_all(0, wire, wl, steps[i], 0, data, sizeof(data),
		    &eof);
		ASSERT_EQ_INT(dl, 40000);
		ASSERT(memcmp(data, big, 40000) == 0);
		ASSERT_EQ_INT(eof, 0);
	}
	/* a tiny output buffer */
	dl = read_all(0, wire, wl, 0, 1, data, sizeof(data), &eof);
	ASSERT_EQ_INT(dl, 40000);
	ASSERT(memcmp(data, big, 40000) == 0);
	dl = read_all(0, wire, wl, 3, 7, data, sizeof(data), &eof);
	ASSERT_EQ_INT(dl, 40000);

	/* EOF inside a record or header is not clean */
	dl = read_all(0, wire, wl - 1, 0, 0, data, sizeof(data), &eof);
	ASSERT_EQ_INT(dl, 40000 - 1);
	ASSERT_EQ_INT(eof, ERR_INCOMPLETE);
	dl = read_all(0, wire, 102 + 3, 0, 0, data, sizeof(data), &eof);
	ASSERT_EQ_INT(dl, 0);
	ASSERT_EQ_INT(eof, ERR_INCOMPLETE);
	dl = read_all(0, wire, 102, 0, 0, data, sizeof(data), &eof);
	ASSERT_EQ_INT(eof, 0);

	/* an empty first data record, empty records later */
	wl = server_stream(0, 0);
	memcpy(wire + wl, "\x17\x03\x03\x00\x00\x17\x03\x03\x00\x01Z", 11);
	dl = read_all(0, wire, wl + 11, 1, 0, data, sizeof(data), &eof);
	ASSERT_EQ_INT(dl, 1);
	ASSERT(data[0] == 'Z');
}

/* The server's flight with one byte changed, read by a client. */
static long
client_reads_patched(size_t off, unsigned char v)
{
	static unsigned char data[100];
	size_t wl;
	int eof;

	wl = server_stream(10, 10);
	wire[off] = v;
	return read_all(0, wire, wl, 0, 0, data, sizeof(data), &eof);
}

TEST(test_otls_client_reader_errors)
{
	struct otls_reader r;
	unsigned char data[32];
	size_t used, olen, wl;

	/* the ServerHello's length field does not matter; its type does */
	ASSERT_EQ_INT(client_reads_patched(3, 0xff), 20);
	ASSERT_EQ_INT(client_reads_patched(4, 0x00), 20);
	ASSERT_EQ_INT(client_reads_patched(0, 0x17), ERR_FORMAT);
	ASSERT_EQ_INT(client_reads_patched(1, 0x02), ERR_VERSION);
	ASSERT_EQ_INT(client_reads_patched(2, 0x03), ERR_VERSION);
	/* the CCS: 1 byte whatever its length field says */
	ASSERT_EQ_INT(client_reads_patched(96, 0x16), ERR_FORMAT);
	ASSERT_EQ_INT(client_reads_patched(98, 0x01), ERR_VERSION);
	ASSERT_EQ_INT(client_reads_patched(99, 0x40), 20);
	/* the first data record */
	ASSERT_EQ_INT(client_reads_patched(102, 0x17), ERR_FORMAT);
	ASSERT_EQ_INT(client_reads_patched(103, 0x04), ERR_VERSION);
	ASSERT_EQ_INT(client_reads_patched(104, 0x01), ERR_VERSION);
	ASSERT_EQ_INT(client_reads_patched(105, 0x40), ERR_TOO_LONG);
	/* later records */
	ASSERT_EQ_INT(client_reads_patched(117, 0x16), ERR_FORMAT);
	ASSERT_EQ_INT(client_reads_patched(117, 0x15), ERR_FORMAT);
	ASSERT_EQ_INT(client_reads_patched(119, 0x01), ERR_VERSION);
	ASSERT_EQ_INT(client_reads_patched(120, 0x40), ERR_TOO_LONG);

	/* 16384 is allowed, one more is not */
	wl = server_stream(0, 0);
	memcpy(wire + wl, "\x17\x03\x03\x40\x00", 5);
	otls_reader_init(&r, 0);
	ASSERT_EQ_INT(otls_read(&r, wire, wl + 5, &used, data, sizeof(data),
	    &olen), 0);
	ASSERT_EQ_UINT(used, wl + 5);
	memcpy(wire + wl, "\x17\x03\x03\x40\x01", 5);
	otls_reader_init(&r, 0);
	ASSERT_EQ_INT(otls_read(&r, wire, wl + 5, &used, data, sizeof(data),
	    &olen), ERR_TOO_LONG);
	/* errors stick */
	ASSERT_EQ_INT(otls_read(&r, wire, 0, &used, data, sizeof(data),
	    &olen), ERR_TOO_LONG);
	ASSERT_EQ_INT(otls_read_eof(&r, 0), ERR_TOO_LONG);
}

TEST(test_otls_server_reader)
{
	static unsigned char data[100000];
	struct otls_reader r;
	size_t used, olen, wl, i;
	long dl;
	int eof;

	fill(big, 50000, 13);
	ASSERT_EQ_INT(otls_frame(big, 50000, &used, wire, sizeof(wire),
	    &wl), 0);
	/* any record type counts as data on the server */
	wire[0] = 0x16;
	wire[16389] = 0x15;
	wire[16390] = 0x07;
	for (i = 1; i < 20; i += 6) {
		dl = read_all(1, wire, wl, i, 0, data, sizeof(data), &eof);
		ASSERT_EQ_INT(dl, 50000);
		ASSERT(memcmp(data, big, 50000) == 0);
		ASSERT_EQ_INT(eof, 0);
	}
	dl = read_all(1, wire, wl, 0, 0, data, sizeof(data), &eof);
	ASSERT_EQ_INT(dl, 50000);

	otls_reader_init(&r, 1);
	ASSERT_EQ_INT(otls_read(&r, (const unsigned char *)
	    "\x17\x03\x03\x40\x01", 5, &used, data, sizeof(data), &olen),
	    ERR_TOO_LONG);
	otls_reader_init(&r, 1);
	ASSERT_EQ_INT(otls_read(&r, (const unsigned char *)
	    "\x17\x03\x03\x00\x00\x17\x03", 7, &used, data, sizeof(data),
	    &olen), 0);
	ASSERT(used == 5 && olen == 0);
	ASSERT_EQ_INT(otls_read_eof(&r, 2), ERR_INCOMPLETE);
	ASSERT_EQ_INT(otls_read_eof(&r, 0), 0);
}

TEST(test_otls_round_trip)
{
	static unsigned char data[100000];
	struct otls_hello h;
	struct otls_reader cr, sr;
	size_t olen, used, o, n, dl;

	/* client's first write, then two more */
	fill(big, 60000, 17);
	ASSERT_EQ_INT(otls_client_hello("obfs.example", T_HELLO, big, 5000,
	    wire, sizeof(wire), &olen), 0);
	o = olen;
	ASSERT_EQ_INT(otls_frame(big + 5000, 30000, &used, wire + o,
	    sizeof(wire) - o, &olen), 0);
	o += olen;
	REQUIRE(otls_parse_hello(wire, o, &h) == 0);
	ASSERT(h.ticket_len == 5000 &&
	    memcmp(wire + h.ticket_off, big, 5000) == 0);
	otls_reader_init(&sr, 1);
	ASSERT_EQ_INT(otls_read(&sr, wire + h.hello_len, o - h.hello_len,
	    &used, data, sizeof(data), &dl), 0);
	ASSERT_EQ_UINT(used, o - h.hello_len);
	ASSERT(dl == 30000 && memcmp(data, big + 5000, 30000) == 0);

	/* the server's answer echoes the id; the client reads its data */
	ASSERT_EQ_INT(otls_server_flight(&h, T_HELLO, big, 20000, &used, out,
	    sizeof(out), &olen), 0);
	ASSERT(used == 20000 && memcmp(out + 44, wire + H_SID, 32) == 0);
	otls_reader_init(&cr, 0);
	ASSERT_EQ_INT(otls_read(&cr, out, olen, &n, data, sizeof(data), &dl),
	    0);
	ASSERT(n == olen && dl == 20000 && memcmp(data, big, 20000) == 0);
}

int
main(void)
{
	RUN(test_ohttp_request_layout);
	RUN(test_ohttp_accept);
	RUN(test_ohttp_responses);
	RUN(test_ohttp_client_response);
	RUN(test_ohttp_server_request);
	RUN(test_ohttp_round_trip);
	RUN(test_otls_hello_layout);
	RUN(test_otls_hello_limits);
	RUN(test_otls_parse_hello);
	RUN(test_otls_flight_layout);
	RUN(test_otls_frame);
	RUN(test_otls_client_reader);
	RUN(test_otls_client_reader_errors);
	RUN(test_otls_server_reader);
	RUN(test_otls_round_trip);
	return TEST_EXIT();
}
