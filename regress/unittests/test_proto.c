/* Proxy request parsers: SOCKS5 (RFC 1928/1929), SOCKS4/4a, HTTP/1.x. */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proto/proto.h"
#include "test.h"

#define VIEW(b, lit) buf_view(&(b), (lit), sizeof(lit) - 1)

TEST(test_socks5_greeting)
{
	struct socks5_greeting g;
	struct buf b;

	VIEW(b, "\x05\x02\x00\x02");
	ASSERT_EQ_INT(socks5_parse_greeting(&b, &g), 0);
	ASSERT(g.offers_none && g.offers_userpass);
	ASSERT_EQ_UINT(buf_len(&b), 0);
	VIEW(b, "\x05\x03\x00");
	ASSERT_EQ_INT(socks5_parse_greeting(&b, &g), ERR_INCOMPLETE);
	ASSERT_EQ_UINT(buf_len(&b), 3);
	VIEW(b, "\x05");
	ASSERT_EQ_INT(socks5_parse_greeting(&b, &g), ERR_INCOMPLETE);
	VIEW(b, "\x05\x00");
	ASSERT_EQ_INT(socks5_parse_greeting(&b, &g), ERR_FORMAT);
	VIEW(b, "\x04\x01\x00");
	ASSERT_EQ_INT(socks5_parse_greeting(&b, &g), ERR_FORMAT);
	VIEW(b, "\x05\x01\x80");
	ASSERT_EQ_INT(socks5_parse_greeting(&b, &g), 0);
	ASSERT(!g.offers_none && !g.offers_userpass);
}

TEST(test_socks5_auth)
{
	struct socks5_auth a;
	struct buf b;

	VIEW(b, "\x01\x05" "alice\x03" "pw!");
	ASSERT_EQ_INT(socks5_parse_auth(&b, &a), 0);
	ASSERT_STREQ(a.user, "alice");
	ASSERT_STREQ(a.pass, "pw!");
	VIEW(b, "\x01\x05" "ali");
	ASSERT_EQ_INT(socks5_parse_auth(&b, &a), ERR_INCOMPLETE);
	VIEW(b, "\x01\x01u\x05pw");
	ASSERT_EQ_INT(socks5_parse_auth(&b, &a), ERR_INCOMPLETE);
	VIEW(b, "\x02\x01u\x01p");
	ASSERT_EQ_INT(socks5_parse_auth(&b, &a), ERR_FORMAT);
	VIEW(b, "\x01\x00\x01p");
	ASSERT_EQ_INT(socks5_parse_auth(&b, &a), ERR_FORMAT);
	VIEW(b, "\x01\x02u\x00\x01p");
	ASSERT_EQ_INT(socks5_parse_auth(&b, &a), ERR_FORMAT);
	VIEW(b, "\x01\x01u\x00");
	ASSERT_EQ_INT(socks5_parse_auth(&b, &a), 0);
	ASSERT_STREQ(a.pass, "");
}

TEST(test_socks5_request)
{
	struct socks5_request r;
	struct buf b;
	unsigned char out[32];
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	VIEW(b, "\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50");
	ASSERT_EQ_INT(socks5_parse_request(&b, &r), 0);
	ASSERT_EQ_INT(r.cmd, SOCKS5_CMD_CONNECT);
	ASSERT_STREQ(r.dst.host, "127.0.0.1");
	ASSERT_EQ_UINT(r.dst.port, 80);
	VIEW(b, "\x05\x01\x00\x03\x0b" "example.org\x01\xbb" "extra");
	ASSERT_EQ_INT(socks5_parse_request(&b, &r), 0);
	ASSERT_STREQ(r.dst.host, "example.org");
	ASSERT_EQ_UINT(r.dst.port, 443);
	ASSERT_EQ_UINT(buf_len(&b), 5);		/* pipelined data stays */
	VIEW(b, "\x05\x01\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00"
	    "\x00\x00\x00\x00\x00\x00\x00\x01\x1f\x90");
	ASSERT_EQ_INT(socks5_parse_request(&b, &r), 0);
	ASSERT_STREQ(r.dst.host, "::1");
	ASSERT_EQ_UINT(r.dst.port, 8080);
	VIEW(b, "\x05\x01\x00\x03\x0b" "example");
	ASSERT_EQ_INT(socks5_parse_request(&b, &r), ERR_INCOMPLETE);
	ASSERT_EQ_UINT(buf_len(&b), 12);
	VIEW(b, "\x05\x01\x00\x03\x00\x00\x50");
	ASSERT_EQ_INT(socks5_parse_request(&b, &r), ERR_FORMAT);
	VIEW(b, "\x05\x01\x00\x03\x03" "a\x00" "b\x00\x50");
	ASSERT_EQ_INT(socks5_parse_request(&b, &r), ERR_FORMAT);
	VIEW(b, "\x05\x01\x00\x09\x00\x00");
	ASSERT_EQ_INT(socks5_parse_request(&b, &r), ERR_VERSION);
	VIEW(b, "\x05\x01\x01\x01\x7f\x00\x00\x01\x00\x50");
	ASSERT_EQ_INT(socks5_parse_request(&b, &r), ERR_FORMAT);
	VIEW(b, "\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00");
	ASSERT_EQ_INT(socks5_parse_request(&b, &r), 0);
	ASSERT_EQ_INT(r.cmd, SOCKS5_CMD_UDP);

	ASSERT_EQ_UINT(socks5_reply(out, sizeof(out), 5, NULL), 10);
	ASSERT(memcmp(out, "\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00", 10) ==
	    0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(1080);
	inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
	ASSERT_EQ_UINT(socks5_reply(out, sizeof(out), 0,
	    (struct sockaddr *)&sin), 10);
	ASSERT(memcmp(out, "\x05\x00\x00\x01\x0a\x01\x02\x03\x04\x38", 10) ==
	    0);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(443);
	ASSERT_EQ_UINT(socks5_reply(out, sizeof(out), 0,
	    (struct sockaddr *)&sin6), 22);
	ASSERT_EQ_INT(out[3], SOCKS5_ATYP_IPV6);
	ASSERT_EQ_UINT(socks5_reply(out, 8, 0, NULL), 0);
}

TEST(test_socks4)
{
	struct socks4_request r;
	struct buf b;
	unsigned char out[8];
	char big[600];

	VIEW(b, "\x04\x01\x00\x50\x7f\x00\x00\x01user\x00");
	ASSERT_EQ_INT(socks4_parse_request(&b, &r), 0);
	ASSERT_STREQ(r.dst.host, "127.0.0.1");
	ASSERT_EQ_UINT(r.dst.port, 80);
	ASSERT_STREQ(r.userid, "user");
	ASSERT(!r.is4a);
	VIEW(b, "\x04\x01\x01\xbb\x00\x00\x00\x07\x00" "example.org\x00");
	ASSERT_EQ_INT(socks4_parse_request(&b, &r), 0);
	ASSERT(r.is4a);
	ASSERT_STREQ(r.dst.host, "example.org");
	ASSERT_EQ_UINT(r.dst.port, 443);
	VIEW(b, "\x04\x01\x01\xbb\x00\x00\x00\x07\x00" "exam");
	ASSERT_EQ_INT(socks4_parse_request(&b, &r), ERR_INCOMPLETE);
	VIEW(b, "\x04\x01\x00\x50\x7f\x00\x00\x01use");
	ASSERT_EQ_INT(socks4_parse_request(&b, &r), ERR_INCOMPLETE);
	VIEW(b, "\x04\x01\x01\xbb\x00\x00\x00\x07\x00\x00");
	ASSERT_EQ_INT(socks4_parse_request(&b, &r), ERR_FORMAT);
	VIEW(b, "\x05\x01\x00\x50\x7f\x00\x00\x01\x00");
	ASSERT_EQ_INT(socks4_parse_request(&b, &r), ERR_FORMAT);
	memset(big, 'u', sizeof(big));
	memcpy(big, "\x04\x01\x00\x50\x7f\x00\x00\x01", 8);
	buf_view(&b, big, sizeof(big));
	ASSERT_EQ_INT(socks4_parse_request(&b, &r), ERR_TOO_LONG);
	socks4_reply(out, SOCKS4_REP_GRANTED);
	ASSERT(memcmp(out, "\x00\x5a\x00\x00\x00\x00\x00\x00", 8) == 0);
}

static int
http_parse_str(const char *s, struct http_request *r)
{
	struct buf b;

	buf_view(&b, s, strlen(s));
	return http_parse_request(&b, r);
}

TEST(test_http_parse)
{
	struct http_request r;
	const struct http_header *h;
	char *out;
	size_t len;

	REQUIRE(http_parse_str("CONNECT example.org:443 HTTP/1.1\r\n"
	    "Host: example.org:443\r\nProxy-Authorization: Basic "
	    "YWxpY2U6c2VjcmV0\r\n\r\n", &r) == 0);
	ASSERT(r.is_connect);
	ASSERT_STREQ(r.dst.host, "example.org");
	ASSERT_EQ_UINT(r.dst.port, 443);
	REQUIRE((h = http_header_get(&r, "proxy-authorization")) != NULL);
	{
		char u[64], p[64];

		ASSERT_EQ_INT(http_basic_decode(h->value, h->valuelen, u,
		    sizeof(u), p, sizeof(p)), 0);
		ASSERT_STREQ(u, "alice");
		ASSERT_STREQ(p, "secret");
	}
	http_request_free(&r);

	REQUIRE(http_parse_str("GET http://[::1]:8080/a/b?c=d HTTP/1.1\r\n"
	    "Host: [::1]:8080\r\nProxy-Connection: keep-alive\r\n"
	    "Connection: keep-alive\r\nAccept:*/*\r\n\r\n", &r) == 0);
	ASSERT(!r.is_connect);
	ASSERT_STREQ(r.dst.host, "::1");
	ASSERT_EQ_UINT(r.dst.port, 8080);
	REQUIRE((out = http_rewrite_request(&r, &len)) != NULL);
	ASSERT_EQ_UINT(strlen(out), len);
	ASSERT_STREQ(out, "GET /a/b?c=d HTTP/1.1\r\nHost: [::1]:8080\r\n"
	    "Accept: */*\r\nConnection: close\r\n\r\n");
	free(out);
	http_request_free(&r);

	REQUIRE(http_parse_str("HEAD http://example.org HTTP/1.0\r\n"
	    "X: y\r\n\r\n", &r) == 0);
	ASSERT_EQ_UINT(r.dst.port, 80);
	REQUIRE((out = http_rewrite_request(&r, &len)) != NULL);
	ASSERT(strncmp(out, "HEAD / HTTP/1.0\r\n", 17) == 0);
	free(out);
	http_request_free(&r);

	/* fields named by Connection, and TE/Upgrade, are hop-by-hop */
	REQUIRE(http_parse_str("GET http://example.org/ HTTP/1.1\r\n"
	    "Connection: X-Secret, keep-alive\r\nX-Secret: 1\r\nTE: trailers\r\n"
	    "Upgrade: h2c\r\nX-Kept: 2\r\n\r\n", &r) == 0);
	REQUIRE((out = http_rewrite_request(&r, &len)) != NULL);
	ASSERT_STREQ(out, "GET / HTTP/1.1\r\nX-Kept: 2\r\nConnection: close\r\n"
	    "\r\n");
	free(out);
	http_request_free(&r);

	REQUIRE(http_parse_str("GET http://example.org?q=1 HTTP/1.1\r\n\r\n",
	    &r) == 0);
	REQUIRE((out = http_rewrite_request(&r, &len)) != NULL);
	ASSERT(strncmp(out, "GET /?q=1 HTTP/1.1\r\n", 20) == 0);
	free(out);
	http_request_free(&r);
}

TEST(test_http_bad)
{
	static const char *const bad[] = {
		"GET /relative HTTP/1.1\r\n\r\n",
		"GET https://example.org/ HTTP/1.1\r\n\r\n",
		"GET ftp://example.org/ HTTP/1.1\r\n\r\n",
		"CONNECT example.org HTTP/1.1\r\n\r\n",
		"CONNECT example.org:0 HTTP/1.1\r\n\r\n",
		"CONNECT example.org:99999 HTTP/1.1\r\n\r\n",
		"CONNECT [::1:443 HTTP/1.1\r\n\r\n",
		"GET http://u:p@example.org/ HTTP/1.1\r\n\r\n",
		"GET http://example.org/ HTTP/2.0\r\n\r\n",
		"GET http://example.org/ HTTP/1.1 x\r\n\r\n",
		"G(T http://example.org/ HTTP/1.1\r\n\r\n",
		"GET  http://example.org/ HTTP/1.1\r\n\r\n",
		"GET http://example.org/ HTTP/1.1\r\nNoColon\r\n\r\n",
		"GET http://example.org/ HTTP/1.1\r\nBad Name: x\r\n\r\n",
		"GET http://example.org/ HTTP/1.1\r\n folded\r\n\r\n",
		"GET http://example.org/ HTTP/1.1\r\nA: b\rc\r\n\r\n",
		"GET http://exa mple.org/ HTTP/1.1\r\n\r\n",
		"GET http://example.org/\x01 HTTP/1.1\r\n\r\n",
		":x\r\n\r\n",
		/* bare LF ends no line (RFC 9112 2.2) */
		"HEAD http://example.org HTTP/1.0\nX: y\n\n",
		"GET http://example.org/ HTTP/1.1\r\nX: y\n\r\n",
		"GET http://example.org/ HTTP/1.1\r\nX: y\r\n\n",
	};
	struct http_request r;
	struct buf b;
	char *big;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (http_parse_str(bad[i], &r) != ERR_FORMAT)
			TEST_FAIL_AT("accepted: %s", bad[i]);
	ASSERT_EQ_INT(http_parse_str("GET http://example.org/ HTTP/1.1\r\n"
	    "Host: x\r\n", &r), ERR_INCOMPLETE);
	REQUIRE((big = malloc(HTTP_HEAD_MAX + 100)) != NULL);
	memset(big, 'a', HTTP_HEAD_MAX + 100);
	memcpy(big, "GET http://x/ HTTP/1.1\r\nX: ", 27);
	buf_view(&b, big, HTTP_HEAD_MAX + 100);
	ASSERT_EQ_INT(http_parse_request(&b, &r), ERR_TOO_LONG);
	free(big);
	{
		char u[8], p[8];

		ASSERT(http_basic_decode("Basic !!!!", 10, u, 8, p, 8) != 0);
		ASSERT(http_basic_decode("Digest abc", 10, u, 8, p, 8) != 0);
		/* "nocolon" */
		ASSERT(http_basic_decode("Basic bm9jb2xvbg==", 18, u, 8, p,
		    8) != 0);
	}
}

TEST(test_socks5_udp)
{
	struct proxy_target t;
	struct sockaddr_in sin;
	unsigned char out[32];
	size_t hl;

	ASSERT_EQ_INT(socks5_parse_udp((const unsigned char *)
	    "\x00\x00\x00\x01\x7f\x00\x00\x01\x00\x35" "data", 14, &t, &hl), 0);
	ASSERT_STREQ(t.host, "127.0.0.1");
	ASSERT_EQ_UINT(t.port, 53);
	ASSERT_EQ_UINT(hl, 10);
	ASSERT_EQ_INT(socks5_parse_udp((const unsigned char *)
	    "\x00\x00\x00\x03\x04" "host\x00\x35", 11, &t, &hl), 0);
	ASSERT_STREQ(t.host, "host");
	ASSERT_EQ_UINT(hl, 11);
	/* fragments are refused; so are bad reserved bytes */
	ASSERT_EQ_INT(socks5_parse_udp((const unsigned char *)
	    "\x00\x00\x01\x01\x7f\x00\x00\x01\x00\x35", 10, &t, &hl),
	    ERR_FORMAT);
	ASSERT_EQ_INT(socks5_parse_udp((const unsigned char *)
	    "\x01\x00\x00\x01\x7f\x00\x00\x01\x00\x35", 10, &t, &hl),
	    ERR_FORMAT);
	ASSERT_EQ_INT(socks5_parse_udp((const unsigned char *)
	    "\x00\x00\x00\x01\x7f\x00", 6, &t, &hl), ERR_INCOMPLETE);
	ASSERT_EQ_INT(socks5_parse_udp((const unsigned char *)"\x00\x00", 2,
	    &t, &hl), ERR_INCOMPLETE);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(53);
	inet_pton(AF_INET, "10.0.0.1", &sin.sin_addr);
	ASSERT_EQ_UINT(socks5_udp_header(out, sizeof(out),
	    (struct sockaddr *)&sin), 10);
	ASSERT(memcmp(out, "\x00\x00\x00\x01\x0a\x00\x00\x01\x00\x35", 10) ==
	    0);
}

TEST(test_client_replies)
{
	size_t len;
	int rep;

	ASSERT_EQ_INT(socks5_reply_length((const unsigned char *)
	    "\x05\x00\x00\x01\x7f", 5, &len, &rep), 0);
	ASSERT_EQ_UINT(len, 10);
	ASSERT_EQ_INT(rep, 0);
	ASSERT_EQ_INT(socks5_reply_length((const unsigned char *)
	    "\x05\x00\x00\x03\x09", 5, &len, &rep), 0);
	ASSERT_EQ_UINT(len, 16);
	ASSERT_EQ_INT(socks5_reply_length((const unsigned char *)
	    "\x05\x05\x00\x00\x00", 5, &len, &rep), 0);
	ASSERT_EQ_INT(rep, 5);
	ASSERT_EQ_INT(socks5_reply_length((const unsigned char *)
	    "\x05\x00\x00\x07\x00", 5, &len, &rep), ERR_FORMAT);
	ASSERT_EQ_INT(socks5_reply_length((const unsigned char *)
	    "\x04\x00\x00\x01\x00", 5, &len, &rep), ERR_FORMAT);
	ASSERT_EQ_INT(socks5_reply_length((const unsigned char *)
	    "\x05\x00", 2, &len, &rep), ERR_INCOMPLETE);
	{
		const char *ok = "HTTP/1.1 200 Connection established\r\n"
		    "Proxy-Agent: x\r\n\r\nTUNNEL";
		const char *no = "HTTP/1.0 407 Proxy Authentication Required\r\n"
		    "\r\n";
		size_t hl;
		int code;

		ASSERT_EQ_INT(http_parse_status((const unsigned char *)ok,
		    strlen(ok), &hl, &code), 0);
		ASSERT_EQ_INT(code, 200);
		ASSERT_EQ_UINT(hl, strlen(ok) - 6);
		ASSERT_EQ_INT(http_parse_status((const unsigned char *)no,
		    strlen(no), &hl, &code), 0);
		ASSERT_EQ_INT(code, 407);
		ASSERT_EQ_INT(http_parse_status((const unsigned char *)
		    "HTTP/1.1 200 OK\r\n", 17, &hl, &code), ERR_INCOMPLETE);
		ASSERT_EQ_INT(http_parse_status((const unsigned char *)
		    "SSH-2.0-x\r\n\r\n", 15, &hl, &code), ERR_FORMAT);
		ASSERT_EQ_INT(http_parse_status((const unsigned char *)
		    "HTTP/1.1 2x0 OK\r\n\r\n", 21, &hl, &code), ERR_FORMAT);
	}
}

TEST(test_udptun)
{
	struct proxy_target t;
	struct sockaddr_in sin;
	unsigned char out[32];
	size_t hl, fl;

	ASSERT_EQ_INT(socks5_parse_udptun((const unsigned char *)
	    "\x00\x04\x00\x01\x7f\x00\x00\x01\x00\x35" "dataMORE", 18, &t,
	    &hl, &fl), 0);
	ASSERT_EQ_UINT(hl, 10);
	ASSERT_EQ_UINT(fl, 14);
	ASSERT_STREQ(t.host, "127.0.0.1");
	ASSERT_EQ_INT(socks5_parse_udptun((const unsigned char *)
	    "\x00\x09\x00\x01\x7f\x00\x00\x01\x00\x35" "data", 14, &t, &hl,
	    &fl), ERR_INCOMPLETE);
	ASSERT_EQ_INT(socks5_parse_udptun((const unsigned char *)
	    "\x00\x00\x00\x01\x7f\x00\x00\x01\x00\x35", 10, &t, &hl, &fl),
	    ERR_FORMAT);
	ASSERT_EQ_INT(socks5_parse_udptun((const unsigned char *)
	    "\x00\x01\x00\x05\x00\x00\x00", 7, &t, &hl, &fl), ERR_VERSION);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(53);
	ASSERT_EQ_UINT(socks5_udptun_header(out, sizeof(out),
	    (struct sockaddr *)&sin, 300), 10);
	ASSERT_EQ_INT(out[0], 1);
	ASSERT_EQ_INT(out[1], 44);
	ASSERT_EQ_UINT(socks5_udptun_header(out, sizeof(out),
	    (struct sockaddr *)&sin, 0), 0);
}

/* Keep-alive forwarding: response heads, framing, the rewrite. */
static int
resp(const char *head, struct http_request *r, int *code)
{
	return http_parse_response((const unsigned char *)head, strlen(head),
	    r, code);
}

TEST(test_http_response)
{
	struct http_request r, r2;
	uint64_t len;
	size_t rl;
	char *rw;
	int code;

	ASSERT_EQ_INT(resp("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n"
	    "Connection: close, X-Hop\r\nX-Hop: 1\r\nServer: t\r\n\r\n", &r,
	    &code), 0);
	ASSERT_EQ_INT(code, 200);
	ASSERT_EQ_INT(http_body(&r, code, 0, &len), HTTP_BODY_LENGTH);
	ASSERT_EQ_UINT(len, 12);
	ASSERT_EQ_INT(http_body(&r, code, 1, &len), HTTP_BODY_NONE);	/* HEAD */
	ASSERT_EQ_INT(http_keepalive(&r), 0);
	rw = http_rewrite_response(&r, 1, &rl);
	ASSERT(rw != NULL);
	if (rw != NULL) {
		ASSERT(strstr(rw, "HTTP/1.1 200 OK\r\n") == rw);
		ASSERT(strstr(rw, "Connection: keep-alive\r\n\r\n") != NULL);
		ASSERT(strstr(rw, "X-Hop") == NULL);	/* named in Connection */
		ASSERT(strstr(rw, "Server: t\r\n") != NULL);
		ASSERT_EQ_INT(http_parse_response((unsigned char *)rw, rl, &r2,
		    &code), 0);
		http_request_free(&r2);
		free(rw);
	}
	http_request_free(&r);
	ASSERT_EQ_INT(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, "
	    "Chunked\r\n\r\n", &r, &code), 0);
	ASSERT_EQ_INT(http_body(&r, code, 0, &len), HTTP_BODY_CHUNKED);
	http_request_free(&r);
	ASSERT_EQ_INT(resp("HTTP/1.0 200 OK\r\n\r\n", &r, &code), 0);
	ASSERT_EQ_INT(http_body(&r, code, 0, &len), HTTP_BODY_CLOSE);
	http_request_free(&r);
	ASSERT_EQ_INT(resp("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n"
	    "\r\n", &r, &code), 0);
	ASSERT_EQ_INT(http_body(&r, code, 0, &len), HTTP_BODY_NONE);
	http_request_free(&r);
	/* conflicting or malformed lengths: refused with the head */
	ASSERT_EQ_INT(resp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	    "Content-Length: 6\r\n\r\n", &r, &code), ERR_FORMAT);
	ASSERT_EQ_INT(resp("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	    &r, &code), ERR_FORMAT);
	ASSERT_EQ_INT(resp("HTTP/1.1 200 OK\r\nBad\rHeader: x\r\n\r\n",
	    &r, &code), ERR_FORMAT);
	ASSERT_EQ_INT(resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n", &r,
	    &code), ERR_INCOMPLETE);
}

/*
 * Request smuggling (RFC 9112 6.1-6.3, 11.2): every head whose framing
 * two parsers could read differently is refused by the parser itself.
 */
#define RQ	"POST http://example.org/ HTTP/1.1\r\nHost: example.org\r\n"
TEST(test_http_smuggling)
{
	static const char *const bad[] = {
		/* both framings */
		RQ "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
		RQ "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
		RQ "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
		/* conflicting, repeated (even identical) lengths */
		RQ "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
		RQ "Content-Length: 5\r\nContent-Length: 5\r\n\r\n",
		RQ "Content-Length: 5, 6\r\n\r\n",
		RQ "Content-Length: 5, 5\r\n\r\n",
		RQ "Content-Length: 5,5\r\n\r\n",
		/* invalid lengths */
		RQ "Content-Length: -1\r\n\r\n",
		RQ "Content-Length: +5\r\n\r\n",
		RQ "Content-Length: 0x10\r\n\r\n",
		RQ "Content-Length: 5 5\r\n\r\n",
		RQ "Content-Length: 1e3\r\n\r\n",
		RQ "Content-Length: \r\n\r\n",
		RQ "Content-Length: 99999999999999999999\r\n\r\n",
		RQ "Content-Length: 18446744073709551617\r\n\r\n",
		RQ "Content-Length: 1234567890123456789\r\n\r\n",
		/* obfuscated Transfer-Encoding */
		RQ "Transfer-Encoding: chunked, identity\r\n\r\n",
		RQ "Transfer-Encoding: identity\r\n\r\n",
		RQ "Transfer-Encoding: xchunked\r\n\r\n",
		RQ "Transfer-Encoding: chunkedx\r\n\r\n",
		RQ "Transfer-Encoding: chunked, chunked\r\n\r\n",
		RQ "Transfer-Encoding: chunked;q=1\r\n\r\n",
		RQ "Transfer-Encoding: \"chunked\"\r\n\r\n",
		RQ "Transfer-Encoding: ,chunked\r\n\r\n",
		RQ "Transfer-Encoding: chunked,\r\n\r\n",
		RQ "Transfer-Encoding: gzip,,chunked\r\n\r\n",
		RQ "Transfer-Encoding:\r\n\r\n",
		RQ "Transfer-Encoding:  chunked\r\n\r\n",
		RQ "Transfer-Encoding:\tchunked\r\n\r\n",
		RQ "Transfer-Encoding: chunked \r\n\r\n",
		RQ "Transfer-Encoding: chunked\t\r\n\r\n",
		RQ "Transfer-Encoding: \tchunked\r\n\r\n",
		RQ "Transfer-Encoding: gzip,\tchunked\r\n\r\n",
		RQ "Transfer-Encoding: gzip,  chunked\r\n\r\n",
		RQ "Transfer-Encoding : chunked\r\n\r\n",
		RQ "Transfer-Encoding\t: chunked\r\n\r\n",
		RQ " Transfer-Encoding: chunked\r\n\r\n",
		RQ "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked"
		    "\r\n\r\n",
		RQ "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity"
		    "\r\n\r\n",
		RQ "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked"
		    "\r\n\r\n",
		/* obs-fold continuing a framing field, or making one */
		RQ "Transfer-Encoding: gzip,\r\n chunked\r\n\r\n",
		RQ "X: y\r\n\tTransfer-Encoding: chunked\r\n\r\n",
		RQ "Content-Length: 5\r\n 6\r\n\r\n",
		/* bare LF and CR inside the head */
		RQ "X: y\nTransfer-Encoding: chunked\r\n\r\n",
		RQ "X: y\rTransfer-Encoding: chunked\r\n\r\n",
		RQ "Transfer-Encoding: chunked\n\r\n",
		RQ "Transfer-Encoding\n: chunked\r\n\r\n",
		/* HTTP/1.0 has no chunked coding */
		"POST http://example.org/ HTTP/1.0\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n",
		/* CONNECT too */
		"CONNECT example.org:443 HTTP/1.1\r\nContent-Length: 1\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n",
	};
	static const struct {
		const char	*req;
		int		 body;
		uint64_t	 len;
	} good[] = {
		{ RQ "Content-Length: 5\r\n\r\n", HTTP_BODY_LENGTH, 5 },
		{ RQ "Content-Length:5\r\n\r\n", HTTP_BODY_LENGTH, 5 },
		{ RQ "content-length: 007\r\n\r\n", HTTP_BODY_LENGTH, 7 },
		{ RQ "Content-Length: 123456789012345678\r\n\r\n",
		    HTTP_BODY_LENGTH, 123456789012345678ULL },
		{ RQ "Content-Length: 0\r\n\r\n", HTTP_BODY_NONE, 0 },
		{ RQ "Transfer-Encoding: chunked\r\n\r\n", HTTP_BODY_CHUNKED,
		    0 },
		{ RQ "transfer-encoding: CHUNKED\r\n\r\n", HTTP_BODY_CHUNKED,
		    0 },
		{ RQ "Transfer-Encoding:chunked\r\n\r\n", HTTP_BODY_CHUNKED,
		    0 },
		{ RQ "Transfer-Encoding: gzip, chunked\r\n\r\n",
		    HTTP_BODY_CHUNKED, 0 },
		{ RQ "Transfer-Encoding: gzip,chunked\r\n\r\n",
		    HTTP_BODY_CHUNKED, 0 },
		{ RQ "\r\n", HTTP_BODY_NONE, 0 },
	};
	struct http_request r;
	uint64_t len;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (http_parse_str(bad[i], &r) != ERR_FORMAT)
			TEST_FAIL_AT("accepted: %s", bad[i] + sizeof(RQ) - 1);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (http_parse_str(good[i].req, &r) != 0) {
			TEST_FAIL_AT("refused: %s", good[i].req +
			    sizeof(RQ) - 1);
			continue;
		}
		ASSERT_EQ_INT(http_body(&r, -1, 0, &len), good[i].body);
		ASSERT_EQ_UINT(len, good[i].len);
		http_request_free(&r);
	}
}

/* The same shapes in an origin's response head. */
#define RS	"HTTP/1.1 200 OK\r\nServer: t\r\n"
TEST(test_http_response_smuggling)
{
	static const char *const bad[] = {
		RS "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
		RS "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
		RS "Content-Length: 5\r\nContent-Length: 5\r\n\r\n",
		RS "Content-Length: 5, 5\r\n\r\n",
		RS "Content-Length: -5\r\n\r\n",
		RS "Content-Length: 99999999999999999999\r\n\r\n",
		RS "Transfer-Encoding: chunked, identity\r\n\r\n",
		RS "Transfer-Encoding: identity\r\n\r\n",
		RS "Transfer-Encoding: gzip\r\n\r\n",
		RS "Transfer-Encoding: chunked \r\n\r\n",
		RS "Transfer-Encoding:\tchunked\r\n\r\n",
		RS "Transfer-Encoding : chunked\r\n\r\n",
		RS "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked"
		    "\r\n\r\n",
		RS "X: y\r\n Transfer-Encoding: chunked\r\n\r\n",
		RS "X: y\nContent-Length: 5\r\n\r\n",
		RS "X: y\rContent-Length: 5\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 5\n\n",
		"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		/* framing fields are checked even where no body follows */
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 1\r\n"
		    "Content-Length: 2\r\n\r\n",
	};
	struct http_request r;
	uint64_t len;
	size_t i;
	int code;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (resp(bad[i], &r, &code) != ERR_FORMAT)
			TEST_FAIL_AT("accepted: %s", bad[i]);
	ASSERT_EQ_INT(resp(RS "TRANSFER-ENCODING: Chunked\r\n\r\n", &r, &code),
	    0);
	ASSERT_EQ_INT(http_body(&r, code, 0, &len), HTTP_BODY_CHUNKED);
	http_request_free(&r);
}

/* Scan s in pieces of step bytes: the result and the body's length. */
static int
chunked_str(const char *s, size_t step, size_t *bodylen)
{
	struct http_chunked c;
	size_t len = strlen(s), off = 0, n, used;
	int r = 0;

	http_chunked_init(&c);
	*bodylen = 0;
	while (off < len) {
		n = len - off < step ? len - off : step;
		if ((r = http_chunked_scan(&c, (const unsigned char *)s + off,
		    n, &used)) < 0)
			return r;
		if (used > n)
			return -100;
		*bodylen += used;
		off += n;
		if (r == 1)
			return 1;
	}
	return r;
}

TEST(test_http_chunked)
{
	static const struct {
		const char	*body;
		int		 want;
		size_t		 len;	/* of the body, when it ends */
	} cases[] = {
		{ "0\r\n\r\n", 1, 5 },
		{ "5\r\nhello\r\n0\r\n\r\n", 1, 15 },
		{ "5\r\nhello\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", 1, 15 },
		{ "A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n", 1, 35 },
		{ "5;ext=1\r\nhello\r\n0\r\n\r\n", 1, 21 },
		{ "5 ;ext\r\nhello\r\n0\r\n\r\n", 1, 20 },
		{ "0\r\nX-Trailer: 1\r\n\r\n", 1, 19 },
		{ "000000000000000000000005\r\nhello\r\n0\r\n\r\n", 1, 38 },
		{ "ffffffffffffffff\r\n", 0, 0 },
		{ "5\r\nhel", 0, 0 },
		{ "5\r\nhello\r\n", 0, 0 },
		/* refused: never guessed */
		{ "10000000000000000\r\n", ERR_FORMAT, 0 },	/* 2^64 */
		{ "fffffffffffffffff\r\n", ERR_FORMAT, 0 },
		{ "-5\r\nhello\r\n0\r\n\r\n", ERR_FORMAT, 0 },
		{ "+5\r\nhello\r\n0\r\n\r\n", ERR_FORMAT, 0 },
		{ "0x5\r\nhello\r\n0\r\n\r\n", ERR_FORMAT, 0 },
		{ "\r\nhello\r\n0\r\n\r\n", ERR_FORMAT, 0 },
		{ " 5\r\nhello\r\n0\r\n\r\n", ERR_FORMAT, 0 },
		{ "5 \r\nhello\r\n0\r\n\r\n", ERR_FORMAT, 0 },
		{ "5\nhello\r\n0\r\n\r\n", ERR_FORMAT, 0 },
		{ "5\rhello\r\n0\r\n\r\n", ERR_FORMAT, 0 },
		{ "5\r\nhelloX\r\n0\r\n\r\n", ERR_FORMAT, 0 },	/* no CRLF */
		{ "5\r\nhello\n0\r\n\r\n", ERR_FORMAT, 0 },
		{ "5\r\nhello0\r\n\r\n", ERR_FORMAT, 0 },
		{ "5;a\nb\r\nhello\r\n0\r\n\r\n", ERR_FORMAT, 0 },
		{ "0\r\n\n", ERR_FORMAT, 0 },
		{ "0\r\nX: 1\n\r\n", ERR_FORMAT, 0 },
		{ "0\r\n folded\r\n\r\n", ERR_FORMAT, 0 },
		{ "0\r\nX: \x01\r\n\r\n", ERR_FORMAT, 0 },
	};
	char *big;
	size_t i, step, len;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* whole, and byte by byte: the same answer */
		for (step = 1; step <= 4096; step *= 4096) {
			r = chunked_str(cases[i].body, step, &len);
			if (r != cases[i].want || (r == 1 &&
			    len != cases[i].len))
				TEST_FAIL_AT("%s (step %zu): %d, %zu bytes",
				    cases[i].body, step, r, len);
		}
	}
	/* an endless chunk-size line or trailer section is refused */
	REQUIRE((big = malloc(HTTP_HEAD_MAX * 2 + 8)) != NULL);
	memset(big, '0', 8192);
	big[8192] = '\0';
	ASSERT_EQ_INT(chunked_str(big, 4096, &len), ERR_FORMAT);
	memcpy(big, "0\r\n", 3);
	for (i = 3; i + 4 < HTTP_HEAD_MAX * 2; i += 4)
		memcpy(big + i, "X:\r\n", 4);
	big[i] = '\0';
	ASSERT_EQ_INT(chunked_str(big, 4096, &len), ERR_FORMAT);
	free(big);
}

/* :authority of HTTP/2 requests (handler/http2.c) */
TEST(test_http_authority)
{
	struct proxy_target t;

	memset(&t, 0, sizeof(t));
	ASSERT_EQ_INT(http_parse_authority("example.com", 11, 80, &t), 0);
	ASSERT_STREQ(t.host, "example.com");
	ASSERT_EQ_UINT(t.port, 80);
	ASSERT_EQ_INT(http_parse_authority("[::1]:8443", 10, 80, &t), 0);
	ASSERT_STREQ(t.host, "::1");
	ASSERT_EQ_UINT(t.port, 8443);
	ASSERT_EQ_INT(http_parse_authority("a.b:0", 5, 80, &t), -1);
	ASSERT_EQ_INT(http_parse_authority("a b:1", 5, 80, &t), -1);
	ASSERT_EQ_INT(http_parse_authority("a.b", 3, 0, &t), -1);
	ASSERT_EQ_INT(http_parse_authority("", 0, 80, &t), -1);
	ASSERT_EQ_INT(http_parse_authority("[::1", 4, 80, &t), -1);
}

TEST(test_http_keepalive)
{
	struct buf b;
	struct http_request r;
	uint64_t len;
	const char *reqs[] = {
		"GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET http://h/ HTTP/1.1\r\nProxy-Connection: close\r\n\r\n",
		"GET http://h/ HTTP/1.0\r\n\r\n",
		"GET http://h/ HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
		"POST http://h/ HTTP/1.1\r\nContent-Length: 3\r\n\r\n",
		"POST http://h/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
	};
	const int keep[] = { 1, 0, 0, 1, 1, 1 };
	const int body[] = { HTTP_BODY_NONE, HTTP_BODY_NONE, HTTP_BODY_NONE,
	    HTTP_BODY_NONE, HTTP_BODY_LENGTH, HTTP_BODY_CHUNKED };
	size_t i;

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		buf_view(&b, reqs[i], strlen(reqs[i]));
		ASSERT_EQ_INT(http_parse_request(&b, &r), 0);
		ASSERT_EQ_INT(http_keepalive(&r), keep[i]);
		ASSERT_EQ_INT(http_body(&r, -1, 0, &len), body[i]);
		http_request_free(&r);
	}
}

int
main(void)
{
	RUN(test_udptun);
	RUN(test_client_replies);
	RUN(test_socks5_udp);
	RUN(test_socks5_greeting);
	RUN(test_socks5_auth);
	RUN(test_socks5_request);
	RUN(test_socks4);
	RUN(test_http_parse);
	RUN(test_http_bad);
	RUN(test_http_response);
	RUN(test_http_keepalive);
	RUN(test_http_authority);
	RUN(test_http_smuggling);
	RUN(test_http_response_smuggling);
	RUN(test_http_chunked);
	return TEST_EXIT();
}
