/*
 * WebSocket codec: the RFC 6455 examples (1.3 key, 5.7 frames), heads
 * built and parsed back byte by byte, and every refusal.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proto/ws.h"
#include "test.h"

static const unsigned char sample_key[WS_KEY_LEN] = "the sample nonce";

#define RFC_REQUEST \
	"GET /chat?x=1 HTTP/1.1\r\n" \
	"Host: server.example.com\r\n" \
	"Upgrade: websocket\r\n" \
	"Connection: Upgrade\r\n" \
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" \
	"Origin: http://example.com\r\n" \
	"Sec-WebSocket-Protocol: chat, superchat\r\n" \
	"Sec-WebSocket-Version: 13\r\n" \
	"\r\n"

#define RFC_RESPONSE \
	"HTTP/1.1 101 Switching Protocols\r\n" \
	"Upgrade: websocket\r\n" \
	"Connection: Upgrade\r\n" \
	"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" \
	"\r\n"

static int
req(const char *s, struct ws_request *r)
{
	return ws_parse_request((const unsigned char *)s, strlen(s), r);
}

static int
resp(const char *s, size_t *hl, int *status)
{
	return ws_parse_response((const unsigned char *)s, strlen(s),
	    sample_key, hl, status);
}

TEST(test_accept)
{
	char k[WS_KEY_B64_LEN + 1], a[WS_ACCEPT_B64_LEN + 1];

	ws_key_encode(sample_key, k);
	ASSERT_STREQ(k, "dGhlIHNhbXBsZSBub25jZQ==");
	ASSERT_EQ_INT(ws_accept_value(k, strlen(k), a), 0);
	ASSERT_STREQ(a, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(test_request_build)
{
	static const char want[] =
	    "GET /ws HTTP/1.1\r\n"
	    "Host: example.com:8443\r\n"
	    "User-Agent: Chrome/78.0.3904.106\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Upgrade: websocket\r\n"
	    "\r\n";
	char out[512];
	size_t n, i;

	ASSERT_EQ_INT(ws_build_request(out, sizeof(out), &n, "/ws",
	    "example.com:8443", NULL, sample_key), 0);
	ASSERT_EQ_UINT(n, strlen(want));
	ASSERT_STREQ(out, want);
	ASSERT_EQ_INT(ws_build_request(out, sizeof(out), &n, "/a/b?c=d",
	    "h", "curl/8.0 (x)", sample_key), 0);
	ASSERT(strncmp(out, "GET /a/b?c=d HTTP/1.1\r\nHost: h\r\n"
	    "User-Agent: curl/8.0 (x)\r\n", 55) == 0);
	for (i = 0; i <= strlen(want); i++)
		ASSERT_EQ_INT(ws_build_request(out, i, &n, "/ws",
		    "example.com:8443", NULL, sample_key), ERR_NO_SPACE);
	ASSERT_EQ_INT(ws_build_request(out, strlen(want) + 1, &n, "/ws",
	    "example.com:8443", NULL, sample_key), 0);
	/* values that would break the head */
	ASSERT_EQ_INT(ws_build_request(out, sizeof(out), &n, "ws", "h",
	    NULL, sample_key), ERR_FORMAT);
	ASSERT_EQ_INT(ws_build_request(out, sizeof(out), &n, "", "h",
	    NULL, sample_key), ERR_FORMAT);
	ASSERT_EQ_INT(ws_build_request(out, sizeof(out), &n, "/a b", "h",
	    NULL, sample_key), ERR_FORMAT);
	ASSERT_EQ_INT(ws_build_request(out, sizeof(out), &n, "/", "",
	    NULL, sample_key), ERR_FORMAT);
	ASSERT_EQ_INT(ws_build_request(out, sizeof(out), &n, "/",
	    "h\r\nX: y", NULL, sample_key), ERR_FORMAT);
	ASSERT_EQ_INT(ws_build_request(out, sizeof(out), &n, "/", "h",
	    "a\nb", sample_key), ERR_FORMAT);
	ASSERT_EQ_INT(ws_build_request(out, sizeof(out), &n, "/", "h",
	    "", sample_key), ERR_FORMAT);
	ASSERT_EQ_INT(ws_build_request(out, sizeof(out), &n, "/\xc3\xa9",
	    "h", NULL, sample_key), ERR_FORMAT);
}

/* What a client builds, a server parses, one byte at a time. */
TEST(test_request_roundtrip)
{
	unsigned char key[WS_KEY_LEN];
	char out[512], acc[WS_ACCEPT_B64_LEN + 1];
	struct ws_request r;
	size_t n, i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 37 + 11);
	REQUIRE(ws_build_request(out, sizeof(out), &n, "/ws", "[::1]:443",
	    NULL, key) == 0);
	/* frame bytes may follow the head in the same read */
	memcpy(out + n, "\x82\x80", 2);
	for (i = 0; i < n; i++)
		ASSERT_EQ_INT(ws_parse_request((unsigned char *)out, i, &r),
		    ERR_INCOMPLETE);
	for (i = n; i <= n + 2; i++) {
		ASSERT_EQ_INT(ws_parse_request((unsigned char *)out, i, &r),
		    0);
		ASSERT_EQ_UINT(r.headlen, n);
	}
	ASSERT_STREQ(r.path, "/ws");
	ASSERT_STREQ(r.host, "[::1]:443");
	ASSERT_EQ_INT(r.status, 101);
	REQUIRE(ws_accept_value(r.key, strlen(r.key), acc) == 0);

	/* and the server's answer is what the client expects */
	REQUIRE(ws_build_response(out, sizeof(out), &n, r.key) == 0);
	memcpy(out + n, "\x82\x00", 2);
	for (i = 0; i < n; i++) {
		size_t hl;
		int st;

		ASSERT_EQ_INT(ws_parse_response((unsigned char *)out, i, key,
		    &hl, &st), ERR_INCOMPLETE);
	}
	for (i = n; i <= n + 2; i++) {
		size_t hl;
		int st;

		ASSERT_EQ_INT(ws_parse_response((unsigned char *)out, i, key,
		    &hl, &st), 0);
		ASSERT_EQ_UINT(hl, n);
		ASSERT_EQ_INT(st, 101);
	}
	ASSERT(strstr(out, acc) != NULL);
}

TEST(test_request_rfc)
{
	struct ws_request r;

	ASSERT_EQ_INT(req(RFC_REQUEST, &r), 0);
	ASSERT_EQ_UINT(r.headlen, strlen(RFC_REQUEST));
	ASSERT_STREQ(r.path, "/chat");
	ASSERT_STREQ(r.host, "server.example.com");
	ASSERT_STREQ(r.key, "dGhlIHNhbXBsZSBub25jZQ==");
	/* names and tokens are case-insensitive; tokens may be in lists */
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\nhost:h\r\n"
	    "UPGRADE: WebSocket\r\nconnection: keep-alive,  Upgrade \r\n"
	    "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "SEC-WEBSOCKET-VERSION: 8, 13\r\nContent-Length: 0\r\n\r\n",
	    &r), 0);
	ASSERT_STREQ(r.path, "/");
	ASSERT_STREQ(r.host, "h");
	/* the tokens may come in several lines */
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\nHost: h\r\n"
	    "Upgrade: h2c\r\nUpgrade: websocket\r\nConnection: close\r\n"
	    "Connection: upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", &r), 0);
}

/* Every refusal, with its status, and with nothing past the error. */
TEST(test_request_errors)
{
	static const struct {
		const char	*lines;		/* after the Host line */
		const char	*first;		/* NULL: GET /ws HTTP/1.1 */
		int		 err;
		int		 status;
	} t[] = {
		{ "", "POST /ws HTTP/1.1", ERR_FORMAT, 405 },
		{ "", "get /ws HTTP/1.1", ERR_FORMAT, 405 },
		{ "", "GET /ws HTTP/1.0", ERR_FORMAT, 400 },
		{ "", "GET /ws HTTP/2.0", ERR_FORMAT, 400 },
		{ "", "GET /ws HTTP/1.1 ", ERR_FORMAT, 400 },
		{ "", "GET  /ws HTTP/1.1", ERR_FORMAT, 400 },
		{ "", "GET ws HTTP/1.1", ERR_FORMAT, 400 },
		{ "", "GET http://h/ws HTTP/1.1", ERR_FORMAT, 400 },
		{ "", "GET /w\ts HTTP/1.1", ERR_FORMAT, 400 },
		{ "", "GET /w\xc3\xa9 HTTP/1.1", ERR_FORMAT, 400 },
		{ "", "GET /ws", ERR_FORMAT, 400 },
		{ "", "G(T /ws HTTP/1.1", ERR_FORMAT, 400 },
		{ "Host: h2\r\n", NULL, ERR_FORMAT, 400 },
		{ "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", NULL,
		    ERR_FORMAT, 400 },
		{ "Transfer-Encoding: chunked\r\n", NULL, ERR_FORMAT, 400 },
		{ "Content-Length: 5\r\n", NULL, ERR_FORMAT, 400 },
		{ "Content-Length: 00\r\n", NULL, ERR_FORMAT, 400 },
		{ " folded\r\n", NULL, ERR_FORMAT, 400 },
		{ "X-A : b\r\n", NULL, ERR_FORMAT, 400 },
		{ ": b\r\n", NULL, ERR_FORMAT, 400 },
		{ "X-A b\r\n", NULL, ERR_FORMAT, 400 },
		{ "X(A: b\r\n", NULL, ERR_FORMAT, 400 },
	};
	char buf[1024];
	struct ws_request r;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(buf, sizeof(buf), "%s\r\nHost: h\r\n%s"
		    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		    "Sec-WebSocket-Version: 13\r\n\r\n",
		    t[i].first ? t[i].first : "GET /ws HTTP/1.1", t[i].lines);
		ASSERT_EQ_INT(req(buf, &r), t[i].err);
		if (r.status != t[i].status)
			TEST_FAIL_AT("case %zu: status %d", i, r.status);
		ASSERT_EQ_UINT(r.headlen, 0);
	}
}

TEST(test_request_missing)
{
	static const char *t[] = {
		/* no Host */
		"GET / HTTP/1.1\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		/* empty Host */
		"GET / HTTP/1.1\r\nHost: \r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		/* Host with a space, a list, a tab, past ASCII */
		"GET / HTTP/1.1\r\nHost: a b\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a,b\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\tb\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: \xc3\xa9\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		/* no Upgrade websocket */
		"GET / HTTP/1.1\r\nHost: h\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websockets\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		/* no Connection upgrade */
		"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
		"Connection: keep-alive\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		/* no key, keys that are not 16 bytes of base64 */
		"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ===\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j-Q==\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQo=\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		/* an empty head, and a request line alone */
		"\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",
	};
	struct ws_request r;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (req(t[i], &r) != ERR_FORMAT)
			TEST_FAIL_AT("case %zu: %d", i, req(t[i], &r));
		ASSERT_EQ_INT(r.status, 400);
	}
}

TEST(test_request_version)
{
	struct ws_request r;

	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 8\r\n\r\n", &r), ERR_VERSION);
	ASSERT_EQ_INT(r.status, 426);
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 130\r\n\r\n", &r), ERR_VERSION);
	ASSERT_EQ_INT(req("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", &r),
	    ERR_VERSION);
	ASSERT_EQ_INT(r.status, 426);
}

/*
 * Bare LF, bare CR and control characters fail as soon as they arrive,
 * without waiting for the end of the head.
 */
TEST(test_request_bytes)
{
	static const char *t[] = {
		"GET / HTTP/1.1\nHost: h\r\n",
		"GET / HTTP/1.1\r\nHost: h\n",
		"GET / HTTP/1.1\r\nHost: h\r\r\n",
		"GET / HTTP/1.1\r\nHo\rst: h\r\n",
		"GET / HTTP/1.1\r\nHost: h\001\r\n",
		"GET / HTTP/1.1\r\nHost: h\177\r\n",
		"GET / HTTP/1.1\r\n\n",
		"\n",
	};
	struct ws_request r;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (req(t[i], &r) != ERR_FORMAT)
			TEST_FAIL_AT("case %zu", i);
	/* a NUL, which strlen would stop at */
	ASSERT_EQ_INT(ws_parse_request((const unsigned char *)
	    "GET /\0 HTTP/1.1\r\n", 17, &r), ERR_FORMAT);
	ASSERT_EQ_INT(ws_parse_request((const unsigned char *)"GET", 3, &r),
	    ERR_INCOMPLETE);
	ASSERT_EQ_INT(ws_parse_request((const unsigned char *)"", 0, &r),
	    ERR_INCOMPLETE);
	/* a CR as the last byte so far may still be followed by LF */
	ASSERT_EQ_INT(ws_parse_request((const unsigned char *)"GET /\r", 6,
	    &r), ERR_INCOMPLETE);
}

TEST(test_request_limits)
{
	char *buf;
	struct ws_request r;
	size_t n, pad;
	static const char head[] = "GET /ws HTTP/1.1\r\nHost: h\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\nX-Pad: ";

	REQUIRE((buf = malloc(2 * WS_HEAD_MAX)) != NULL);
	/* a head of exactly WS_HEAD_MAX bytes is fine, one more is not */
	pad = WS_HEAD_MAX - strlen(head) - 4;
	memcpy(buf, head, strlen(head));
	memset(buf + strlen(head), 'a', pad);
	memcpy(buf + strlen(head) + pad, "\r\n\r\n", 4);
	n = strlen(head) + pad + 4;
	ASSERT_EQ_UINT(n, WS_HEAD_MAX);
	ASSERT_EQ_INT(ws_parse_request((unsigned char *)buf, n, &r), 0);
	ASSERT_EQ_UINT(r.headlen, WS_HEAD_MAX);
	memset(buf + strlen(head), 'a', pad + 1);
	memcpy(buf + strlen(head) + pad + 1, "\r\n\r\n", 4);
	ASSERT_EQ_INT(ws_parse_request((unsigned char *)buf, n, &r),
	    ERR_TOO_LONG);
	ASSERT_EQ_INT(r.status, 431);
	ASSERT_EQ_INT(ws_parse_request((unsigned char *)buf, n - 1, &r),
	    ERR_INCOMPLETE);

	/* a path of WS_PATH_MAX bytes is fine, one more is not */
	n = (size_t)snprintf(buf, 2 * WS_HEAD_MAX, "GET /%0*d HTTP/1.1\r\n"
	    "Host: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", WS_PATH_MAX - 1, 0);
	ASSERT_EQ_INT(ws_parse_request((unsigned char *)buf, n, &r), 0);
	ASSERT_EQ_UINT(strlen(r.path), WS_PATH_MAX);
	n = (size_t)snprintf(buf, 2 * WS_HEAD_MAX, "GET /%0*d HTTP/1.1\r\n"
	    "Host: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", WS_PATH_MAX, 0);
	ASSERT_EQ_INT(ws_parse_request((unsigned char *)buf, n, &r),
	    ERR_TOO_LONG);
	ASSERT_EQ_INT(r.status, 414);
	/* the query does not count */
	n = (size_t)snprintf(buf, 2 * WS_HEAD_MAX, "GET /ws?%0*d HTTP/1.1\r\n"
	    "Host: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", WS_PATH_MAX + 10, 0);
	ASSERT_EQ_INT(ws_parse_request((unsigned char *)buf, n, &r), 0);
	ASSERT_STREQ(r.path, "/ws");

	/* a Host of WS_HOST_MAX bytes is fine, one more is not */
	n = (size_t)snprintf(buf, 2 * WS_HEAD_MAX, "GET / HTTP/1.1\r\n"
	    "Host: %0*d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", WS_HOST_MAX, 0);
	ASSERT_EQ_INT(ws_parse_request((unsigned char *)buf, n, &r), 0);
	n = (size_t)snprintf(buf, 2 * WS_HEAD_MAX, "GET / HTTP/1.1\r\n"
	    "Host: %0*d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", WS_HOST_MAX + 1, 0);
	ASSERT_EQ_INT(ws_parse_request((unsigned char *)buf, n, &r),
	    ERR_TOO_LONG);
	ASSERT_EQ_INT(r.status, 400);
	free(buf);
}

TEST(test_response)
{
	char out[256];
	size_t hl, n;
	int st;

	ASSERT_EQ_INT(ws_build_response(out, sizeof(out), &n,
	    "dGhlIHNhbXBsZSBub25jZQ=="), 0);
	ASSERT_STREQ(out, RFC_RESPONSE);
	ASSERT_EQ_UINT(n, strlen(RFC_RESPONSE));
	ASSERT_EQ_INT(ws_build_response(out, n, &n,
	    "dGhlIHNhbXBsZSBub25jZQ=="), ERR_NO_SPACE);
	ASSERT_EQ_INT(resp(RFC_RESPONSE, &hl, &st), 0);
	ASSERT_EQ_UINT(hl, strlen(RFC_RESPONSE));
	ASSERT_EQ_INT(st, 101);
	/* other servers' spelling, extra fields, a reasonless status */
	ASSERT_EQ_INT(resp("HTTP/1.1 101\r\nserver: x\r\n"
	    "connection: keep-alive, upgrade\r\nupgrade: WEBSOCKET\r\n"
	    "sec-websocket-accept:   s3pPLMBiTxaQ9kYGzzhZRbK+xOo=  \r\n\r\n",
	    &hl, &st), 0);
}

TEST(test_response_errors)
{
	static const struct {
		const char	*s;
		int		 err;
		int		 status;
	} t[] = {
		{ "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
		    ERR_DENIED, 403 },
		{ "HTTP/1.1 200 OK\r\n\r\n", ERR_DENIED, 200 },
		{ "HTTP/1.0 403 Forbidden\r\n\r\n", ERR_DENIED, 403 },
		{ "HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\n"
		    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		    "\r\n",
		    ERR_FORMAT, 101 },
		{ "HTTP/2.0 200 OK\r\n\r\n", ERR_FORMAT, 0 },
		{ "HTTP/1.1 1O1 Switching Protocols\r\n\r\n", ERR_FORMAT, 0 },
		{ "HTTP/1.1 101Switching Protocols\r\n\r\n", ERR_FORMAT, 0 },
		{ "HTTP/1.1 601 x\r\n\r\n", ERR_FORMAT, 0 },
		{ "ICY 200 OK\r\n\r\n", ERR_FORMAT, 0 },
		{ "HTTP/1.1 101 S\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		    "\r\n",
		    ERR_FORMAT, 101 },
		{ "HTTP/1.1 101 S\r\nUpgrade: websocket\r\n"
		    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		    "\r\n",
		    ERR_FORMAT, 101 },
		{ "HTTP/1.1 101 S\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\n\r\n", ERR_FORMAT, 101 },
		{ "HTTP/1.1 101 S\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\n"
		    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOA=\r\n"
		    "\r\n",
		    ERR_FORMAT, 101 },
		{ "HTTP/1.1 101 S\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\n"
		    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo\r\n\r\n",
		    ERR_FORMAT, 101 },
		{ "HTTP/1.1 101 S\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\n"
		    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		    "\r\n",
		    ERR_FORMAT, 101 },
		{ "HTTP/1.1 101 S\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\n"
		    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		    "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
		    ERR_FORMAT, 101 },
		{ "HTTP/1.1 101 S\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\n"
		    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		    "Sec-WebSocket-Protocol: chat\r\n\r\n", ERR_FORMAT, 101 },
		{ "HTTP/1.1 101 S\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\n"
		    " Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		    "\r\n",
		    ERR_FORMAT, 101 },
		{ "HTTP/1.1 101 S\nUpgrade: websocket\r\n", ERR_FORMAT, 0 },
		{ "HTTP/1.1 101 S\r\nUpgrade: web\rsocket\r\n", ERR_FORMAT, 0 },
	};
	size_t i, hl;
	int st;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (resp(t[i].s, &hl, &st) != t[i].err || st != t[i].status)
			TEST_FAIL_AT("case %zu: %d status %d", i,
			    resp(t[i].s, &hl, &st), st);
	}
}

TEST(test_response_limits)
{
	char *buf;
	size_t hl;
	int st;

	REQUIRE((buf = malloc(WS_HEAD_MAX + 1)) != NULL);
	memcpy(buf, "HTTP/1.1 101 S\r\nX: ", 19);
	memset(buf + 19, 'x', WS_HEAD_MAX + 1 - 19);
	ASSERT_EQ_INT(ws_parse_response((unsigned char *)buf, WS_HEAD_MAX - 1,
	    sample_key, &hl, &st), ERR_INCOMPLETE);
	ASSERT_EQ_INT(ws_parse_response((unsigned char *)buf, WS_HEAD_MAX,
	    sample_key, &hl, &st), ERR_TOO_LONG);
	ASSERT_EQ_INT(ws_parse_response((unsigned char *)buf, WS_HEAD_MAX + 1,
	    sample_key, &hl, &st), ERR_TOO_LONG);
	free(buf);
}

TEST(test_refusal)
{
	static const char want[] = "HTTP/1.1 404 Not Found\r\n"
	    "Connection: close\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Content-Length: 10\r\n"
	    "\r\n"
	    "Not Found\n";
	char out[512];
	size_t n;

	ASSERT_EQ_INT(ws_build_refusal(out, sizeof(out), &n, 404), 0);
	ASSERT_STREQ(out, want);
	ASSERT_EQ_UINT(n, strlen(want));
	ASSERT_EQ_INT(ws_build_refusal(out, sizeof(out), &n, 405), 0);
	ASSERT(strstr(out, "\r\nAllow: GET\r\n") != NULL);
	ASSERT_EQ_INT(ws_build_refusal(out, sizeof(out), &n, 426), 0);
	ASSERT(strncmp(out, "HTTP/1.1 426 Upgrade Required\r\n", 31) == 0);
	ASSERT_EQ_INT(ws_build_refusal(out, sizeof(out), &n, 999), 0);
	ASSERT(strncmp(out, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
	ASSERT(strstr(out, "Content-Length: 12\r\n\r\nBad Request\n") != NULL);
	ASSERT_EQ_INT(ws_build_refusal(out, 20, &n, 404), ERR_NO_SPACE);
	ASSERT_EQ_UINT(n, 0);
}

/* A fresh reader for one direction; no payload bound. */
static struct ws_rx
rx_new(int server)
{
	struct ws_rx rx;

	ws_rx_init(&rx, server, SIZE_MAX);
	return rx;
}

/* Parse one frame from scratch, every prefix first. */
static int
parse_whole(int server, const unsigned char *p, size_t len,
    struct ws_frame *f)
{
	struct ws_rx rx;
	size_t i;
	int e;

	for (i = 0; i < len; i++) {
		rx = rx_new(server);
		e = ws_frame_parse(&rx, p, i, f);
		if (e != ERR_INCOMPLETE)
			return e == 0 ? ERR_INTERNAL : e;
		/* an incomplete header changes nothing */
		if (rx.msg_op != -1 || rx.closed)
			return ERR_INTERNAL;
	}
	rx = rx_new(server);
	return ws_frame_parse(&rx, p, len, f);
}

/* RFC 6455 5.7 */
TEST(test_frames_rfc)
{
	static const unsigned char hello[] = "\x81\x05\x48\x65\x6c\x6c\x6f";
	static const unsigned char mhello[] =
	    "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
	static const unsigned char ping[] = "\x89\x05\x48\x65\x6c\x6c\x6f";
	static const unsigned char mpong[] =
	    "\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
	unsigned char h[WS_HDR_MAX], pl[16];
	struct ws_frame f;
	size_t hl;

	ASSERT_EQ_INT(parse_whole(0, hello, 2, &f), 0);
	ASSERT_EQ_INT(f.fin, 1);
	ASSERT_EQ_INT(f.opcode, WS_OP_TEXT);
	ASSERT_EQ_INT(f.masked, 0);
	ASSERT_EQ_UINT(f.hdrlen, 2);
	ASSERT_EQ_UINT(f.len, 5);
	ASSERT(memcmp(hello + f.hdrlen, "Hello", 5) == 0);
	/* a server refuses it unmasked, a client refuses it masked */
	ASSERT_EQ_INT(parse_whole(1, hello, 2, &f), ERR_FORMAT);
	ASSERT_EQ_INT(parse_whole(0, mhello, 6, &f), ERR_FORMAT);
	ASSERT_EQ_INT(ws_frame_header(h, &hl, 1, WS_OP_TEXT, 5, NULL), 0);
	ASSERT_EQ_UINT(hl, 2);
	ASSERT(memcmp(h, hello, 2) == 0);

	ASSERT_EQ_INT(parse_whole(1, mhello, 6, &f), 0);
	ASSERT_EQ_INT(f.masked, 1);
	ASSERT_EQ_UINT(f.hdrlen, 6);
	ASSERT_EQ_UINT(f.len, 5);
	ASSERT(memcmp(f.mask, "\x37\xfa\x21\x3d", 4) == 0);
	memcpy(pl, mhello + f.hdrlen, 5);
	ws_mask(pl, 5, f.mask, 0);
	ASSERT(memcmp(pl, "Hello", 5) == 0);
	ASSERT_EQ_INT(ws_frame_header(h, &hl, 1, WS_OP_TEXT, 5,
	    (const unsigned char *)"\x37\xfa\x21\x3d"), 0);
	ASSERT_EQ_UINT(hl, 6);
	ASSERT(memcmp(h, mhello, 6) == 0);
	ws_mask(pl, 5, f.mask, 0);
	ASSERT(memcmp(pl, mhello + 6, 5) == 0);

	ASSERT_EQ_INT(parse_whole(0, ping, 2, &f), 0);
	ASSERT_EQ_INT(f.opcode, WS_OP_PING);
	ASSERT_EQ_UINT(f.len, 5);
	ASSERT_EQ_INT(ws_frame_header(h, &hl, 1, WS_OP_PING, 5, NULL), 0);
	ASSERT(hl == 2 && memcmp(h, ping, 2) == 0);
	ASSERT_EQ_INT(parse_whole(1, mpong, 6, &f), 0);
	ASSERT_EQ_INT(f.opcode, WS_OP_PONG);
	ASSERT_EQ_INT(ws_frame_header(h, &hl, 1, WS_OP_PONG, 5, f.mask), 0);
	ASSERT(hl == 6 && memcmp(h, mpong, 6) == 0);
}

TEST(test_frames_fragmented)
{
	static const unsigned char hel[] = "\x01\x03\x48\x65\x6c";
	static const unsigned char lo[] = "\x80\x02\x6c\x6f";
	unsigned char h[WS_HDR_MAX];
	struct ws_rx rx = rx_new(0);
	struct ws_frame f;
	size_t hl;

	ASSERT_EQ_INT(ws_frame_parse(&rx, hel, 1, &f), ERR_INCOMPLETE);
	ASSERT_EQ_INT(ws_frame_parse(&rx, hel, 5, &f), 0);
	ASSERT_EQ_INT(f.fin, 0);
	ASSERT_EQ_INT(f.opcode, WS_OP_TEXT);
	ASSERT_EQ_UINT(f.len, 3);
	ASSERT_EQ_INT(rx.msg_op, WS_OP_TEXT);
	/* a control frame may come between the fragments */
	ASSERT_EQ_INT(ws_frame_parse(&rx, (const unsigned char *)"\x89\x00",
	    2, &f), 0);
	ASSERT_EQ_INT(rx.msg_op, WS_OP_TEXT);
	/* but no new message */
	ASSERT_EQ_INT(ws_frame_parse(&rx, (const unsigned char *)"\x82\x00",
	    2, &f), ERR_FORMAT);
	ASSERT_EQ_INT(ws_frame_parse(&rx, (const unsigned char *)"\x01\x00",
	    2, &f), ERR_FORMAT);
	ASSERT_EQ_INT(ws_frame_parse(&rx, lo, 1, &f), ERR_INCOMPLETE);
	ASSERT_EQ_INT(ws_frame_parse(&rx, lo, 4, &f), 0);
	ASSERT_EQ_INT(f.fin, 1);
	ASSERT_EQ_INT(f.opcode, WS_OP_CONT);
	ASSERT_EQ_UINT(f.len, 2);
	ASSERT_EQ_INT(rx.msg_op, -1);
	/* the message is over: no continuation, a new message is fine */
	ASSERT_EQ_INT(ws_frame_parse(&rx, lo, 4, &f), ERR_FORMAT);
	ASSERT_EQ_INT(ws_frame_parse(&rx, (const unsigned char *)"\x02\x00",
	    2, &f), 0);
	ASSERT_EQ_INT(ws_frame_parse(&rx, (const unsigned char *)"\x00\x00",
	    2, &f), 0);
	ASSERT_EQ_INT(rx.msg_op, WS_OP_BINARY);
	ASSERT_EQ_INT(ws_frame_parse(&rx, (const unsigned char *)"\x80\x00",
	    2, &f), 0);
	ASSERT_EQ_INT(rx.msg_op, -1);

	ASSERT_EQ_INT(ws_frame_header(h, &hl, 0, WS_OP_TEXT, 3, NULL), 0);
	ASSERT(hl == 2 && memcmp(h, hel, 2) == 0);
	ASSERT_EQ_INT(ws_frame_header(h, &hl, 1, WS_OP_CONT, 2, NULL), 0);
	ASSERT(hl == 2 && memcmp(h, lo, 2) == 0);
}

TEST(test_frames_lengths)
{
	static const unsigned char b256[] = "\x82\x7e\x01\x00";
	static const unsigned char b64k[] =
	    "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00";
	static const struct {
		size_t	len;
		size_t	hl;
	} t[] = {
		{ 0, 2 }, { 125, 2 }, { 126, 4 }, { 0xffff, 4 },
		{ 0x10000, 10 }, { SIZE_MAX >> 1, 10 },
	};
	unsigned char h[WS_HDR_MAX];
	struct ws_frame f;
	struct ws_rx rx;
	size_t hl, i;
	int m;

	ASSERT_EQ_INT(parse_whole(0, b256, 4, &f), 0);
	ASSERT_EQ_UINT(f.len, 256);
	ASSERT_EQ_UINT(f.hdrlen, 4);
	ASSERT_EQ_INT(ws_frame_header(h, &hl, 1, WS_OP_BINARY, 256, NULL), 0);
	ASSERT(hl == 4 && memcmp(h, b256, 4) == 0);
	ASSERT_EQ_INT(parse_whole(0, b64k, 10, &f), 0);
	ASSERT_EQ_UINT(f.len, 65536);
	ASSERT_EQ_UINT(f.hdrlen, 10);
	ASSERT_EQ_INT(ws_frame_header(h, &hl, 1, WS_OP_BINARY, 65536, NULL),
	    0);
	ASSERT(hl == 10 && memcmp(h, b64k, 10) == 0);

	/* header length, build and parse agree at every boundary */
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (m = 0; m <= 1; m++) {
			ASSERT_EQ_UINT(ws_frame_hdrlen(t[i].len, m),
			    t[i].hl + (m ? 4 : 0));
			ASSERT_EQ_INT(ws_frame_header(h, &hl, 1, WS_OP_BINARY,
			    t[i].len, m ? (const unsigned char *)"abcd" :
			    NULL), 0);
			ASSERT_EQ_UINT(hl, t[i].hl + (m ? 4 : 0));
			ASSERT_EQ_INT(parse_whole(m, h, hl, &f), 0);
			ASSERT_EQ_UINT(f.len, t[i].len);
			ASSERT_EQ_UINT(f.hdrlen, hl);
		}
	}

	/* the payload bound */
	ws_rx_init(&rx, 0, 256);
	ASSERT_EQ_INT(ws_frame_parse(&rx, b256, 4, &f), 0);
	ws_rx_init(&rx, 0, 255);
	ASSERT_EQ_INT(ws_frame_parse(&rx, b256, 4, &f), ERR_TOO_LONG);
	ws_rx_init(&rx, 0, 65535);
	ASSERT_EQ_INT(ws_frame_parse(&rx, b64k, 10, &f), ERR_TOO_LONG);
	ASSERT_EQ_INT(rx.msg_op, -1);
	/* the 64-bit length's most significant bit must be 0 */
	ASSERT_EQ_INT(parse_whole(0, (const unsigned char *)
	    "\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 10, &f), ERR_FORMAT);
	ASSERT_EQ_INT(parse_whole(0, (const unsigned char *)
	    "\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff", 10, &f),
	    SIZE_MAX >= UINT64_MAX >> 1 ? 0 : ERR_TOO_LONG);
	/* lengths need not be minimal */
	ASSERT_EQ_INT(parse_whole(0, (const unsigned char *)"\x82\x7e\x00\x05",
	    4, &f), 0);
	ASSERT_EQ_UINT(f.len, 5);
}

TEST(test_frames_errors)
{
	static const struct {
		const char	*h;
		size_t		 len;
		int		 server;
		int		 err;
	} t[] = {
		{ "\xc2\x00", 2, 0, ERR_FORMAT },	/* RSV1 */
		{ "\xa2\x00", 2, 0, ERR_FORMAT },	/* RSV2 */
		{ "\x92\x00", 2, 0, ERR_FORMAT },	/* RSV3 */
		{ "\x83\x00", 2, 0, ERR_FORMAT },	/* reserved opcodes */
		{ "\x84\x00", 2, 0, ERR_FORMAT },
		{ "\x85\x00", 2, 0, ERR_FORMAT },
		{ "\x86\x00", 2, 0, ERR_FORMAT },
		{ "\x87\x00", 2, 0, ERR_FORMAT },
		{ "\x8b\x00", 2, 0, ERR_FORMAT },	/* reserved control */
		{ "\x8c\x00", 2, 0, ERR_FORMAT },
		{ "\x8d\x00", 2, 0, ERR_FORMAT },
		{ "\x8e\x00", 2, 0, ERR_FORMAT },
		{ "\x8f\x00", 2, 0, ERR_FORMAT },
		{ "\x09\x00", 2, 0, ERR_FORMAT },	/* fragmented ping */
		{ "\x08\x00", 2, 0, ERR_FORMAT },
		{ "\x0a\x00", 2, 0, ERR_FORMAT },
		{ "\x89\x7e", 2, 0, ERR_FORMAT },	/* long ping */
		{ "\x89\x7f", 2, 0, ERR_FORMAT },
		{ "\x8a\xfe", 2, 1, ERR_FORMAT },
		{ "\x88\x01", 2, 0, ERR_FORMAT },	/* 1-byte close */
		{ "\x88\x81", 2, 1, ERR_FORMAT },
		{ "\x80\x00", 2, 0, ERR_FORMAT },	/* no message */
		{ "\x00\x00", 2, 0, ERR_FORMAT },
		{ "\x82\x80", 2, 0, ERR_FORMAT },	/* masked from server */
		{ "\x82\x00", 2, 1, ERR_FORMAT },	/* unmasked to server */
		{ "\x89\x7d", 2, 0, 0 },		/* 125 is fine */
		{ "\x88\x00", 2, 0, 0 },
		{ "\x88\x82\x00\x00\x00\x00", 6, 1, 0 },
	};
	struct ws_frame f;
	struct ws_rx rx;
	size_t i;
	int e;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		rx = rx_new(t[i].server);
		/* two bytes show all these: no need to wait for more */
		e = ws_frame_parse(&rx, (const unsigned char *)t[i].h,
		    t[i].len, &f);
		if (e != t[i].err)
			TEST_FAIL_AT("case %zu: %d", i, e);
	}

	/* nothing after a close */
	rx = rx_new(0);
	ASSERT_EQ_INT(ws_frame_parse(&rx, (const unsigned char *)"\x88\x02",
	    2, &f), 0);
	ASSERT_EQ_INT(ws_frame_parse(&rx, (const unsigned char *)"\x82\x00",
	    2, &f), ERR_CLOSED);
	ASSERT_EQ_INT(ws_frame_parse(&rx, (const unsigned char *)"\x88\x00",
	    2, &f), ERR_CLOSED);
	ASSERT_EQ_INT(ws_frame_parse(&rx, (const unsigned char *)"\x88",
	    1, &f), ERR_INCOMPLETE);

	/* builder refusals */
	{
		unsigned char h[WS_HDR_MAX];
		size_t hl;

		ASSERT_EQ_INT(ws_frame_header(h, &hl, 0, WS_OP_PING, 0, NULL),
		    ERR_FORMAT);
		ASSERT_EQ_INT(ws_frame_header(h, &hl, 1, WS_OP_PONG, 126,
		    NULL), ERR_FORMAT);
		ASSERT_EQ_INT(ws_frame_header(h, &hl, 1, WS_OP_CLOSE, 1,
		    NULL), ERR_FORMAT);
		ASSERT_EQ_INT(ws_frame_header(h, &hl, 1, 3, 0, NULL),
		    ERR_FORMAT);
		ASSERT_EQ_INT(ws_frame_header(h, &hl, 1, 0xb, 0, NULL),
		    ERR_FORMAT);
		ASSERT_EQ_INT(ws_frame_header(h, &hl, 1, 0x12, 0, NULL),
		    ERR_FORMAT);
		ASSERT_EQ_UINT(hl, 0);
		if (SIZE_MAX > UINT64_MAX >> 1)
			ASSERT_EQ_INT(ws_frame_header(h, &hl, 1, WS_OP_BINARY,
			    SIZE_MAX, NULL), ERR_TOO_LONG);
		ASSERT_EQ_INT(ws_frame_header(h, &hl, 1, WS_OP_CLOSE, 125,
		    NULL), 0);
	}
}

/* Masking in pieces, at any alignment, is masking byte by byte. */
TEST(test_mask)
{
	static const unsigned char key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	unsigned char ref[300], buf[310], *p;
	size_t len, al, off, cut, i;

	for (i = 0; i < sizeof(ref); i++)
		ref[i] = (unsigned char)(i * 7 + 3);
	for (al = 0; al < 8; al++) {
		p = buf + al;
		for (len = 0; len < sizeof(ref); len += (len < 70 ? 1 : 23)) {
			for (off = 0; off < 4; off++) {
				memcpy(p, ref, len);
				ws_mask(p, len, key, off);
				for (i = 0; i < len; i++)
					if (p[i] != (ref[i] ^
					    key[(i + off) & 3]))
						break;
				if (i != len)
					TEST_FAIL_AT("al %zu len %zu off %zu",
					    al, len, off);
			}
			/* in two pieces */
			cut = len / 3;
			memcpy(p, ref, len);
			ws_mask(p, cut, key, 0);
			ws_mask(p + cut, len - cut, key, cut);
			ws_mask(p, len, key, 0);
			if (memcmp(p, ref, len) != 0)
				TEST_FAIL_AT("pieces: al %zu len %zu", al, len);
		}
	}
}

TEST(test_close)
{
	unsigned char out[WS_CONTROL_MAX], big[WS_CONTROL_MAX];
	const unsigned char *reason;
	size_t n, rl, i;
	int code;
	char r[WS_CONTROL_MAX];
	static const int bad[] = { 0, 999, 1004, 1005, 1006, 1015, 1016,
	    2999, 5000, 65535 };
	static const int good[] = { 1000, 1001, 1002, 1003, 1007, 1011,
	    1012, 1014, 3000, 4999 };
	static const char *badutf8[] = {
		"\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xe2\x82",
		"\x80", "\xff", "a\xc3",
	};

	ASSERT_EQ_INT(ws_close_parse((const unsigned char *)"", 0, &code,
	    &reason, &rl), 0);
	ASSERT_EQ_INT(code, WS_CLOSE_NO_STATUS);
	ASSERT_EQ_UINT(rl, 0);
	ASSERT_EQ_INT(ws_close_parse((const unsigned char *)"\x03", 1, &code,
	    &reason, &rl), ERR_FORMAT);
	ASSERT_EQ_INT(ws_close_parse((const unsigned char *)"\x03\xe8", 2,
	    &code, &reason, &rl), 0);
	ASSERT_EQ_INT(code, 1000);
	ASSERT_EQ_UINT(rl, 0);
	ASSERT_EQ_INT(ws_close_parse((const unsigned char *)
	    "\x03\xe9" "bye \xe2\x82\xac\xf0\x9f\x98\x80", 13, &code, &reason,
	    &rl), 0);
	ASSERT_EQ_INT(code, 1001);
	ASSERT(rl == 11 && memcmp(reason, "bye \xe2\x82\xac", 7) == 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out[0] = (unsigned char)(bad[i] >> 8);
		out[1] = (unsigned char)bad[i];
		if (ws_close_parse(out, 2, &code, &reason, &rl) != ERR_FORMAT)
			TEST_FAIL_AT("code %d accepted", bad[i]);
		if (ws_close_build(out, &n, bad[i], "x") != ERR_FORMAT)
			TEST_FAIL_AT("code %d built", bad[i]);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ASSERT_EQ_INT(ws_close_build(out, &n, good[i], "x"), 0);
		ASSERT_EQ_UINT(n, 3);
		ASSERT_EQ_INT(ws_close_parse(out, n, &code, &reason, &rl), 0);
		ASSERT_EQ_INT(code, good[i]);
	}
	for (i = 0; i < sizeof(badutf8) / sizeof(badutf8[0]); i++) {
		n = strlen(badutf8[i]);
		memcpy(out, "\x03\xe8", 2);
		memcpy(out + 2, badutf8[i], n);
		if (ws_close_parse(out, 2 + n, &code, &reason, &rl) !=
		    ERR_FORMAT)
			TEST_FAIL_AT("utf-8 case %zu accepted", i);
		if (ws_close_build(out, &n, 1000, badutf8[i]) != ERR_FORMAT)
			TEST_FAIL_AT("utf-8 case %zu built", i);
	}
	memset(big, 'a', sizeof(big));
	big[0] = 0x03;
	big[1] = 0xe8;
	ASSERT_EQ_INT(ws_close_parse(big, WS_CONTROL_MAX, &code, &reason, &rl),
	    0);
	ASSERT_EQ_UINT(rl, WS_CONTROL_MAX - 2);

	ASSERT_EQ_INT(ws_close_build(out, &n, 1000, "bye"), 0);
	ASSERT(n == 5 && memcmp(out, "\x03\xe8" "bye", 5) == 0);
	ASSERT_EQ_INT(ws_close_build(out, &n, WS_CLOSE_NO_STATUS, NULL), 0);
	ASSERT_EQ_UINT(n, 0);
	ASSERT_EQ_INT(ws_close_build(out, &n, WS_CLOSE_NO_STATUS, ""), 0);
	ASSERT_EQ_INT(ws_close_build(out, &n, WS_CLOSE_NO_STATUS, "x"),
	    ERR_FORMAT);
	ASSERT_EQ_INT(ws_close_build(out, &n, WS_CLOSE_PROTOCOL, NULL), 0);
	ASSERT(n == 2 && memcmp(out, "\x03\xea", 2) == 0);
	memset(r, 'a', sizeof(r));
	r[WS_CONTROL_MAX - 2] = '\0';
	ASSERT_EQ_INT(ws_close_build(out, &n, 1000, r), 0);
	ASSERT_EQ_UINT(n, WS_CONTROL_MAX);
	r[WS_CONTROL_MAX - 2] = 'a';
	r[WS_CONTROL_MAX - 1] = '\0';
	ASSERT_EQ_INT(ws_close_build(out, &n, 1000, r), ERR_TOO_LONG);
}

/*
 * Bytes python3-websockets 10.4 (sans-I/O) produced, with its key and
 * mask generators fixed to the RFC's: its client's request, its
 * server's answer, and its client's frames.  (In the other direction,
 * its ServerConnection accepted the request ws_build_request makes and
 * read our masked frames of 0 to 70000 bytes.)
 */
TEST(test_websockets_bytes)
{
	static const char request[] = "GET /ws HTTP/1.1\r\n"
	    "Host: example.com:8443\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "\r\n";
	static const char response[] = "HTTP/1.1 101 Switching Protocols\r\n"
	    "Date: Sun, 06 Dec 2026 19:18:40 GMT\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	    "\r\n";
	/* binary "Hello", text "Hel" (not final), ping "p", "lo" */
	static const unsigned char frames[] =
	    "\x82\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"
	    "\x01\x83\x37\xfa\x21\x3d\x7f\x9f\x4d"
	    "\x89\x81\x37\xfa\x21\x3d\x47"
	    "\x80\x82\x37\xfa\x21\x3d\x5b\x95"
	    "\x82\xfe\x01\x00\x37\xfa\x21\x3d";
	/* then 256 zero bytes masked, and close 1000 "bye" */
	static const unsigned char close[] =
	    "\x88\x85\x37\xfa\x21\x3d\x34\x12\x43\x44\x52";
	static const struct {
		int	op;
		int	fin;
		size_t	len;
		const char *data;
	} want[] = {
		{ WS_OP_BINARY, 1, 5, "Hello" },
		{ WS_OP_TEXT, 0, 3, "Hel" },
		{ WS_OP_PING, 1, 1, "p" },
		{ WS_OP_CONT, 1, 2, "lo" },
		{ WS_OP_BINARY, 1, 256, NULL },
		{ WS_OP_CLOSE, 1, 5, "\x03\xe8" "bye" },
	};
	unsigned char stream[512], zero[256];
	struct ws_request r;
	struct ws_rx rx;
	struct ws_frame f;
	const unsigned char *reason;
	size_t hl, n = 0, off, i;
	int st, code;

	ASSERT_EQ_INT(req(request, &r), 0);
	ASSERT_STREQ(r.path, "/ws");
	ASSERT_STREQ(r.host, "example.com:8443");
	ASSERT_EQ_INT(resp(response, &hl, &st), 0);
	ASSERT_EQ_UINT(hl, strlen(response));

	memcpy(stream, frames, sizeof(frames) - 1);
	n = sizeof(frames) - 1;
	for (i = 0; i < 256; i++)
		stream[n++] = "\x37\xfa\x21\x3d"[i & 3];
	memcpy(stream + n, close, sizeof(close) - 1);
	n += sizeof(close) - 1;
	memset(zero, 0, sizeof(zero));
	ws_rx_init(&rx, 1, 1024);
	for (off = 0, i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		REQUIRE(ws_frame_parse(&rx, stream + off, n - off, &f) == 0);
		ASSERT_EQ_INT(f.opcode, want[i].op);
		ASSERT_EQ_INT(f.fin, want[i].fin);
		REQUIRE(f.len == want[i].len && off + f.hdrlen + f.len <= n);
		off += f.hdrlen;
		ws_mask(stream + off, f.len, f.mask, 0);
		ASSERT(memcmp(stream + off, want[i].data ? want[i].data :
		    (const char *)zero, f.len) == 0);
		if (f.opcode == WS_OP_CLOSE) {
			ASSERT_EQ_INT(ws_close_parse(stream + off, f.len, &code,
			    &reason, &hl), 0);
			ASSERT_EQ_INT(code, 1000);
		}
		off += f.len;
	}
	ASSERT_EQ_UINT(off, n);
}

int
main(void)
{
	RUN(test_accept);
	RUN(test_request_build);
	RUN(test_request_roundtrip);
	RUN(test_request_rfc);
	RUN(test_request_errors);
	RUN(test_request_missing);
	RUN(test_request_version);
	RUN(test_request_bytes);
	RUN(test_request_limits);
	RUN(test_response);
	RUN(test_response_errors);
	RUN(test_response_limits);
	RUN(test_refusal);
	RUN(test_frames_rfc);
	RUN(test_frames_fragmented);
	RUN(test_frames_lengths);
	RUN(test_frames_errors);
	RUN(test_mask);
	RUN(test_close);
	RUN(test_websockets_bytes);
	return TEST_EXIT();
}
