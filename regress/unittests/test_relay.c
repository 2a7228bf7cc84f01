/* gost relay protocol v1: header codec and UDP-mode datagrams. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proto/relay.h"
#include "test.h"

#define LIT(s)	(const unsigned char *)(s), sizeof(s) - 1

/* v2 TCP client: cmd 0, UserAuth user/pass, Addr example.com:443. */
static const unsigned char req_v2_tcp[] =
    "\x01\x00\x00\x1f"
    "\x01\x00\x0a\x04" "user" "\x04" "pass"
    "\x02\x00\x0f\x03\x0b" "example.com" "\x01\xbb";
/* v2 UDP client: 0x80, Addr 1.2.3.4:53. */
static const unsigned char req_v2_udp[] =
    "\x01\x80\x00\x0a"
    "\x02\x00\x07\x01\x01\x02\x03\x04\x00\x35";
/* v3 UDP client: CONNECT|UDP, Network(udp), Addr 10.0.0.1:53. */
static const unsigned char req_v3_udp[] =
    "\x01\x81\x00\x0f"
    "\x04\x00\x02\x00\x01"
    "\x02\x00\x07\x01\x0a\x00\x00\x01\x00\x35";
static const unsigned char resp_plain[] = "\x01\x00\x00\x00";
/* OK with Addr [::1]:8080. */
static const unsigned char resp_addr[] =
    "\x01\x00\x00\x16"
    "\x02\x00\x13\x04"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
    "\x1f\x90";

/*
 * Every proper prefix is ERR_INCOMPLETE, the whole is n bytes, and what
 * follows it is not taken.
 */
static void
check_req_prefixes(const unsigned char *p, size_t n)
{
	struct relay_request r;
	unsigned char *q;
	size_t i, used;

	for (i = 0; i < n; i++)
		ASSERT_EQ_INT(relay_parse_request(p, i, &r, &used),
		    ERR_INCOMPLETE);
	if ((q = malloc(n + 8)) == NULL)
		abort();
	memcpy(q, p, n);
	memset(q + n, 0xee, 8);
	used = 0;
	ASSERT_EQ_INT(relay_parse_request(q, n + 8, &r, &used), 0);
	ASSERT_EQ_UINT(used, n);
	free(q);
}

static void
check_resp_prefixes(const unsigned char *p, size_t n)
{
	struct relay_response r;
	size_t i, used;

	for (i = 0; i < n; i++)
		ASSERT_EQ_INT(relay_parse_response(p, i, &r, &used),
		    ERR_INCOMPLETE);
	used = 0;
	ASSERT_EQ_INT(relay_parse_response(p, n, &r, &used), 0);
	ASSERT_EQ_UINT(used, n);
}

TEST(test_v2_tcp_request)
{
	unsigned char out[128];
	struct relay_request r;
	size_t n, used;

	n = relay_build_request(out, sizeof(out), 0, 0, "user", "pass",
	    "example.com", 443);
	REQUIRE(n == sizeof(req_v2_tcp) - 1);
	ASSERT(memcmp(out, req_v2_tcp, n) == 0);
	ASSERT_EQ_INT(relay_parse_request(out, n, &r, &used), 0);
	ASSERT_EQ_UINT(used, n);
	ASSERT_EQ_INT(r.cmd, RELAY_CMD_CONNECT);
	ASSERT_EQ_INT(r.udp, 0);
	ASSERT(r.has_auth);
	ASSERT_STREQ(r.user, "user");
	ASSERT_STREQ(r.pass, "pass");
	ASSERT_EQ_INT(r.naddr, 1);
	ASSERT_STREQ(r.addr[0].host, "example.com");
	ASSERT_EQ_UINT(r.addr[0].port, 443);
	ASSERT_EQ_INT(r.addr[0].atyp, SOCKS5_ATYP_DOMAIN);
	ASSERT(!r.has_tunnel && !r.has_network);
	check_req_prefixes(req_v2_tcp, sizeof(req_v2_tcp) - 1);
	/* exact fit, and one byte short */
	ASSERT_EQ_UINT(relay_build_request(out, n, 0, 0, "user", "pass",
	    "example.com", 443), n);
	ASSERT_EQ_UINT(relay_build_request(out, n - 1, 0, 0, "user", "pass",
	    "example.com", 443), 0);
}

TEST(test_v2_udp_request)
{
	unsigned char out[64];
	struct relay_request r;
	size_t n, used;

	n = relay_build_request(out, sizeof(out), 0, 1, NULL, NULL,
	    "1.2.3.4", 53);
	REQUIRE(n == sizeof(req_v2_udp) - 1);
	ASSERT(memcmp(out, req_v2_udp, n) == 0);
	ASSERT_EQ_INT(relay_parse_request(out, n, &r, &used), 0);
	ASSERT_EQ_INT(r.cmd, RELAY_CMD_CONNECT);
	ASSERT_EQ_INT(r.udp, 1);
	ASSERT(!r.has_auth);
	ASSERT_EQ_INT(r.naddr, 1);
	ASSERT_STREQ(r.addr[0].host, "1.2.3.4");
	ASSERT_EQ_UINT(r.addr[0].port, 53);
	ASSERT_EQ_INT(r.addr[0].atyp, SOCKS5_ATYP_IPV4);
	check_req_prefixes(req_v2_udp, sizeof(req_v2_udp) - 1);
	ASSERT_EQ_UINT(relay_build_request(out, n - 1, 0, 1, NULL, NULL,
	    "1.2.3.4", 53), 0);
}

TEST(test_v3_udp_request)
{
	struct relay_request r;
	size_t used;

	ASSERT_EQ_INT(relay_parse_request(LIT(req_v3_udp), &r, &used), 0);
	ASSERT_EQ_UINT(used, sizeof(req_v3_udp) - 1);
	ASSERT_EQ_INT(r.cmd, RELAY_CMD_CONNECT);
	ASSERT_EQ_INT(r.udp, 1);
	ASSERT(r.has_network);
	ASSERT_EQ_UINT(r.network, RELAY_NETWORK_UDP);
	ASSERT_EQ_INT(r.naddr, 1);
	ASSERT_STREQ(r.addr[0].host, "10.0.0.1");
	check_req_prefixes(req_v3_udp, sizeof(req_v3_udp) - 1);

	/* v3 BIND with two Addr and a Tunnel ID; 0x70 bits are ignored */
	ASSERT_EQ_INT(relay_parse_request(LIT("\x01\x72\x00\x2b"
	    "\x02\x00\x07\x01\x7f\x00\x00\x01\x1f\x90"
	    "\x02\x00\x07\x01\x7f\x00\x00\x02\x00\x50"
	    "\x03\x00\x14" "0123456789abcdef" "\x80\x00\x00\x01"),
	    &r, &used), 0);
	ASSERT_EQ_UINT(used, 47);
	ASSERT_EQ_INT(r.cmd, RELAY_CMD_BIND);
	ASSERT_EQ_INT(r.udp, 0);
	ASSERT_EQ_INT(r.naddr, 2);
	ASSERT_STREQ(r.addr[0].host, "127.0.0.1");
	ASSERT_EQ_UINT(r.addr[0].port, 8080);
	ASSERT_STREQ(r.addr[1].host, "127.0.0.2");
	ASSERT_EQ_UINT(r.addr[1].port, 80);
	ASSERT(r.has_tunnel);
	ASSERT(memcmp(r.tunnel, "0123456789abcdef\x80\x00\x00\x01", 20) == 0);

	/* no features at all; BIND|UDP */
	ASSERT_EQ_INT(relay_parse_request(LIT("\x01\x82\x00\x00"), &r, &used),
	    0);
	ASSERT_EQ_UINT(used, 4);
	ASSERT_EQ_INT(r.cmd, RELAY_CMD_BIND);
	ASSERT_EQ_INT(r.udp, 1);
	ASSERT_EQ_INT(r.naddr, 0);
	/* unknown commands are passed up */
	ASSERT_EQ_INT(relay_parse_request(LIT("\x01\x0f\x00\x00"), &r, &used),
	    0);
	ASSERT_EQ_INT(r.cmd, 15);
}

TEST(test_responses)
{
	unsigned char out[64];
	struct relay_response r;
	size_t n, used;

	n = relay_build_response(out, sizeof(out), RELAY_OK, NULL, 0);
	REQUIRE(n == 4);
	ASSERT(memcmp(out, resp_plain, n) == 0);
	ASSERT_EQ_INT(relay_parse_response(out, n, &r, &used), 0);
	ASSERT_EQ_INT(r.status, RELAY_OK);
	ASSERT_EQ_INT(r.naddr, 0);
	check_resp_prefixes(resp_plain, 4);

	n = relay_build_response(out, sizeof(out), RELAY_OK, "::1", 8080);
	REQUIRE(n == sizeof(resp_addr) - 1);
	ASSERT(memcmp(out, resp_addr, n) == 0);
	ASSERT_EQ_INT(relay_parse_response(out, n, &r, &used), 0);
	ASSERT_EQ_INT(r.naddr, 1);
	ASSERT_STREQ(r.addr[0].host, "::1");
	ASSERT_EQ_UINT(r.addr[0].port, 8080);
	ASSERT_EQ_INT(r.addr[0].atyp, SOCKS5_ATYP_IPV6);
	check_resp_prefixes(resp_addr, sizeof(resp_addr) - 1);
	ASSERT_EQ_UINT(relay_build_response(out, n, RELAY_OK, "::1", 8080),
	    n);
	ASSERT_EQ_UINT(relay_build_response(out, n - 1, RELAY_OK, "::1",
	    8080), 0);

	n = relay_build_response(out, sizeof(out), RELAY_FORBIDDEN, NULL, 0);
	REQUIRE(n == 4);
	ASSERT(memcmp(out, "\x01\x03\x00\x00", 4) == 0);
	ASSERT_EQ_INT(relay_parse_response(out, n, &r, &used), 0);
	ASSERT_EQ_INT(r.status, RELAY_FORBIDDEN);
	ASSERT_EQ_UINT(relay_build_response(out, sizeof(out),
	    RELAY_INTERNAL_ERROR, NULL, 0), 4);
	ASSERT_EQ_INT(out[1], 8);
	ASSERT_EQ_UINT(relay_build_response(out, sizeof(out), 256, NULL, 0),
	    0);
	ASSERT_EQ_UINT(relay_build_response(out, sizeof(out), -1, NULL, 0),
	    0);
	ASSERT_EQ_UINT(relay_build_response(out, 3, RELAY_OK, NULL, 0), 0);

	/* v3 tunnel: Addr + connector ID */
	ASSERT_EQ_INT(relay_parse_response(LIT("\x01\x00\x00\x21"
	    "\x02\x00\x07\x01\xc0\x00\x02\x01\x04\xd2"
	    "\x03\x00\x14" "fedcba9876543210" "\x01\x00\x00\x02"),
	    &r, &used), 0);
	ASSERT_EQ_UINT(used, 37);
	ASSERT_STREQ(r.addr[0].host, "192.0.2.1");
	ASSERT_EQ_UINT(r.addr[0].port, 1234);
	ASSERT(r.has_tunnel);
	ASSERT_EQ_INT(r.tunnel[16], 1);
	/* a UserAuth in a response is checked, then ignored */
	ASSERT_EQ_INT(relay_parse_response(LIT("\x01\x00\x00\x06"
	    "\x01\x00\x03\x01u\x00"), &r, &used), 0);
	ASSERT_EQ_INT(relay_parse_response(LIT("\x01\x00\x00\x06"
	    "\x01\x00\x03\x02u\x00"), &r, &used), ERR_FORMAT);
	ASSERT_EQ_INT(relay_parse_response(LIT("\x05\x00"), &r, &used),
	    ERR_VERSION);
}

TEST(test_corrupt)
{
	struct relay_request r;
	struct relay_response rs;
	unsigned char q[sizeof(req_v2_tcp)];
	size_t n = sizeof(req_v2_tcp) - 1, used;

	/* versions, even before the rest arrives */
	ASSERT_EQ_INT(relay_parse_request(LIT("\x02"), &r, &used),
	    ERR_VERSION);
	ASSERT_EQ_INT(relay_parse_request(LIT("\x00\x01\x00\x00"), &r, &used),
	    ERR_VERSION);
	ASSERT_EQ_INT(relay_parse_request(LIT("\x05\x01\x00"), &r, &used),
	    ERR_VERSION);
	ASSERT_EQ_INT(relay_parse_response(LIT("\x02\x00\x00\x00"), &rs,
	    &used), ERR_VERSION);

	/* FEALEN one short: the Addr feature runs past it */
	memcpy(q, req_v2_tcp, n);
	q[3]--;
	ASSERT_EQ_INT(relay_parse_request(q, n, &r, &used), ERR_FORMAT);
	ASSERT_EQ_INT(r.has_auth, 0);
	ASSERT_EQ_INT(r.user[0], 0);
	/* FEALEN ends inside a feature header */
	ASSERT_EQ_INT(relay_parse_request(LIT("\x01\x00\x00\x02\x02\x00"),
	    &r, &used), ERR_FORMAT);
	ASSERT_EQ_INT(relay_parse_request(LIT("\x01\x00\x00\x01\x7f"),
	    &r, &used), ERR_FORMAT);
	/* UserAuth: ULEN past LEN; PLEN short of LEN; empty data */
	memcpy(q, req_v2_tcp, n);
	q[7] = 5;
	ASSERT_EQ_INT(relay_parse_request(q, n, &r, &used), ERR_FORMAT);
	memcpy(q, req_v2_tcp, n);
	q[12] = 3;
	ASSERT_EQ_INT(relay_parse_request(q, n, &r, &used), ERR_FORMAT);
	memcpy(q, req_v2_tcp, n);
	q[12] = 5;
	ASSERT_EQ_INT(relay_parse_request(q, n, &r, &used), ERR_FORMAT);
	ASSERT_EQ_INT(relay_parse_request(LIT("\x01\x00\x00\x03"
	    "\x01\x00\x00"), &r, &used), ERR_FORMAT);
	ASSERT_EQ_INT(relay_parse_request(LIT("\x01\x00\x00\x04"
	    "\x01\x00\x01\x00"), &r, &used), ERR_FORMAT);
	/* NUL inside the name or password */
	memcpy(q, req_v2_tcp, n);
	q[9] = 0;
	ASSERT_EQ_INT(relay_parse_request(q, n, &r, &used), ERR_FORMAT);
	memcpy(q, req_v2_tcp, n);
	q[16] = 0;
	ASSERT_EQ_INT(relay_parse_request(q, n, &r, &used), ERR_FORMAT);
	/* empty user and password are allowed */
	ASSERT_EQ_INT(relay_parse_request(LIT("\x01\x00\x00\x05"
	    "\x01\x00\x02\x00\x00"), &r, &used), 0);
	ASSERT(r.has_auth && r.user[0] == '\0' && r.pass[0] == '\0');
	/* duplicate UserAuth */
	ASSERT_EQ_INT(relay_parse_request(LIT("\x01\x00\x00\x0a"
	    "\x01\x00\x02\x00\x00\x01\x00\x02\x00\x00"), &r, &used),
	    ERR_FORMAT);
	/* Addr: unknown ATYP, too long, too short, empty domain */
	memcpy(q, req_v2_tcp, n);
	q[20] = 0x05;
	ASSERT_EQ_INT(relay_parse_request(q, n, &r, &used), ERR_FORMAT);
	ASSERT_EQ_INT(relay_parse_request(LIT("\x01\x00\x00\x0b"
	    "\x02\x00\x08\x01\x01\x02\x03\x04\x00\x35\x00"), &r, &used),
	    ERR_FORMAT);
	ASSERT_EQ_INT(relay_parse_request(LIT("\x01\x00\x00\x09"
	    "\x02\x00\x06\x01\x01\x02\x03\x04\x00"), &r, &used),
	    ERR_FORMAT);
	ASSERT_EQ_INT(relay_parse_request(LIT("\x01\x00\x00\x07"
	    "\x02\x00\x04\x03\x00\x00\x35"), &r, &used), ERR_FORMAT);
	ASSERT_EQ_INT(relay_parse_request(LIT("\x01\x00\x00\x03"
	    "\x02\x00\x00"), &r, &used), ERR_FORMAT);
	/* domain length past the feature */
	memcpy(q, req_v2_tcp, n);
	q[21] = 0x0c;
	ASSERT_EQ_INT(relay_parse_request(q, n, &r, &used), ERR_FORMAT);
	/* a third Addr */
	ASSERT_EQ_INT(relay_parse_request(LIT("\x01\x00\x00\x1e"
	    "\x02\x00\x07\x01\x01\x02\x03\x04\x00\x35"
	    "\x02\x00\x07\x01\x01\x02\x03\x04\x00\x35"
	    "\x02\x00\x07\x01\x01\x02\x03\x04\x00\x35"), &r, &used),
	    ERR_FORMAT);
	/* Network and Tunnel lengths, duplicates */
	ASSERT_EQ_INT(relay_parse_request(LIT("\x01\x81\x00\x04"
	    "\x04\x00\x01\x01"), &r, &used), ERR_FORMAT);
	ASSERT_EQ_INT(relay_parse_request(LIT("\x01\x81\x00\x06"
	    "\x04\x00\x03\x00\x01\x00"), &r, &used), ERR_FORMAT);
	ASSERT_EQ_INT(relay_parse_request(LIT("\x01\x81\x00\x0a"
	    "\x04\x00\x02\x00\x01\x04\x00\x02\x00\x01"), &r, &used),
	    ERR_FORMAT);
	ASSERT_EQ_INT(relay_parse_request(LIT("\x01\x02\x00\x16"
	    "\x03\x00\x13" "0123456789abcdef" "\x00\x00\x00"), &r, &used),
	    ERR_FORMAT);
	ASSERT_EQ_INT(relay_parse_response(LIT("\x01\x00\x00\x18"
	    "\x03\x00\x15" "0123456789abcdef" "\x00\x00\x00\x00\x00"), &rs,
	    &used), ERR_FORMAT);
	/* the same rules in responses */
	ASSERT_EQ_INT(relay_parse_response(LIT("\x01\x00\x00\x0a"
	    "\x02\x00\x07\x09\x01\x02\x03\x04\x00\x35"), &rs, &used),
	    ERR_FORMAT);
	ASSERT_EQ_INT(relay_parse_response(LIT("\x01\x00\x00\x09"
	    "\x02\x00\x07\x01\x01\x02\x03\x04\x00\x35"), &rs, &used),
	    ERR_FORMAT);
}

TEST(test_unknown_feature)
{
	struct relay_request r;
	struct relay_response rs;
	size_t used;

	/* a v0.7.0 metadata-like feature and an empty 0xff between */
	ASSERT_EQ_INT(relay_parse_request(LIT("\x01\x01\x00\x1c"
	    "\x01\x00\x04\x01u\x01p"
	    "\x05\x00\x05" "k=v;x"
	    "\xff\x00\x00"
	    "\x02\x00\x07\x01\x01\x02\x03\x04\x00\x35"), &r, &used), 0);
	ASSERT_EQ_UINT(used, 32);
	ASSERT_STREQ(r.user, "u");
	ASSERT_STREQ(r.pass, "p");
	ASSERT_EQ_INT(r.naddr, 1);
	ASSERT_STREQ(r.addr[0].host, "1.2.3.4");
	ASSERT_EQ_INT(relay_parse_response(LIT("\x01\x00\x00\x06"
	    "\x00\x00\x03" "abc"), &rs, &used), 0);
	ASSERT_EQ_INT(rs.naddr, 0);
	/* still bounded by FEALEN */
	ASSERT_EQ_INT(relay_parse_request(LIT("\x01\x01\x00\x06"
	    "\x05\x00\x04" "abc"), &r, &used), ERR_FORMAT);
}

TEST(test_round_trip)
{
	static const struct {
		int		 cmd, udp;
		const char	*user, *pass, *host;
		uint16_t	 port;
		int		 atyp;
	} c[] = {
		{ 0, 0, NULL, NULL, NULL, 0, 0 },
		{ 1, 1, "", NULL, "0.0.0.0", 0, SOCKS5_ATYP_IPV4 },
		{ 2, 0, "alice", "", "2001:db8::1", 65535, SOCKS5_ATYP_IPV6 },
		{ 3, 1, NULL, "ignored", "a", 1, SOCKS5_ATYP_DOMAIN },
		{ 15, 0, "u", "p", "host.example", 80, SOCKS5_ATYP_DOMAIN },
	};
	unsigned char out[1024];
	char user[300], pass[300], host[300];
	struct relay_request r;
	struct relay_response rs;
	size_t i, n, used;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		n = relay_build_request(out, sizeof(out), c[i].cmd, c[i].udp,
		    c[i].user, c[i].pass, c[i].host, c[i].port);
		REQUIRE(n >= 4);
		check_req_prefixes(out, n);
		ASSERT_EQ_INT(relay_parse_request(out, n, &r, &used), 0);
		ASSERT_EQ_INT(r.cmd, c[i].cmd == 0 ? 1 : c[i].cmd);
		ASSERT_EQ_INT(r.udp, c[i].udp);
		ASSERT_EQ_INT(r.has_auth, c[i].user != NULL);
		if (c[i].user != NULL) {
			ASSERT_STREQ(r.user, c[i].user);
			ASSERT_STREQ(r.pass, c[i].pass ? c[i].pass : "");
		}
		ASSERT_EQ_INT(r.naddr, c[i].host != NULL);
		if (c[i].host != NULL) {
			ASSERT_STREQ(r.addr[0].host, c[i].host);
			ASSERT_EQ_UINT(r.addr[0].port, c[i].port);
			ASSERT_EQ_INT(r.addr[0].atyp, c[i].atyp);
		}
		ASSERT_EQ_UINT(relay_build_request(out, n - 1, c[i].cmd,
		    c[i].udp, c[i].user, c[i].pass, c[i].host, c[i].port), 0);

		n = relay_build_response(out, sizeof(out), (int)i, c[i].host,
		    c[i].port);
		REQUIRE(n >= 4);
		check_resp_prefixes(out, n);
		ASSERT_EQ_INT(relay_parse_response(out, n, &rs, &used), 0);
		ASSERT_EQ_INT(rs.status, (int)i);
		ASSERT_EQ_INT(rs.naddr, c[i].host != NULL);
		if (c[i].host != NULL)
			ASSERT_STREQ(rs.addr[0].host, c[i].host);
	}

	/* the longest fields */
	memset(user, 'u', 255);
	user[255] = '\0';
	memset(pass, 'p', 255);
	pass[255] = '\0';
	memset(host, 'h', 255);
	host[255] = '\0';
	n = relay_build_request(out, sizeof(out), 1, 0, user, pass, host,
	    443);
	ASSERT_EQ_UINT(n, 4 + 3 + 2 + 255 + 255 + 3 + 1 + 1 + 255 + 2);
	ASSERT_EQ_INT(relay_parse_request(out, n, &r, &used), 0);
	ASSERT_STREQ(r.user, user);
	ASSERT_STREQ(r.pass, pass);
	ASSERT_STREQ(r.addr[0].host, host);
	ASSERT_EQ_UINT(relay_build_response(out, sizeof(out), 0, host, 1),
	    4 + 3 + 1 + 1 + 255 + 2);

	/* one too long, empty host, bad cmd */
	user[255] = 'u';
	user[256] = '\0';
	ASSERT_EQ_UINT(relay_build_request(out, sizeof(out), 1, 0, user,
	    NULL, NULL, 0), 0);
	ASSERT_EQ_UINT(relay_build_request(out, sizeof(out), 1, 0, "u",
	    user, NULL, 0), 0);
	host[255] = 'h';
	host[256] = '\0';
	ASSERT_EQ_UINT(relay_build_request(out, sizeof(out), 1, 0, NULL,
	    NULL, host, 0), 0);
	ASSERT_EQ_UINT(relay_build_response(out, sizeof(out), 0, host, 0),
	    0);
	ASSERT_EQ_UINT(relay_build_request(out, sizeof(out), 1, 0, NULL,
	    NULL, "", 0), 0);
	ASSERT_EQ_UINT(relay_build_request(out, sizeof(out), 16, 0, NULL,
	    NULL, NULL, 0), 0);
	ASSERT_EQ_UINT(relay_build_request(out, sizeof(out), -1, 0, NULL,
	    NULL, NULL, 0), 0);
	ASSERT_EQ_UINT(relay_build_request(out, 3, 1, 0, NULL, NULL, NULL,
	    0), 0);
	ASSERT_EQ_UINT(relay_build_request(out, 4, 1, 0, NULL, NULL, NULL,
	    0), 4);
}

/* FEALEN = 65535: one big unknown feature, then an Addr to the end. */
TEST(test_fealen_max)
{
	struct relay_request r;
	struct relay_response rs;
	unsigned char *p;
	size_t n = 4 + 65535, used, big = 65535 - 3 - 10;

	REQUIRE((p = calloc(1, n + 1)) != NULL);
	memcpy(p, "\x01\x01\xff\xff", 4);
	p[4] = 0x7f;
	p[5] = (unsigned char)(big >> 8);
	p[6] = (unsigned char)big;
	memcpy(p + 7 + big, "\x02\x00\x07\x01\x01\x02\x03\x04\x00\x35", 10);
	ASSERT_EQ_INT(relay_parse_request(p, n, &r, &used), 0);
	ASSERT_EQ_UINT(used, n);
	ASSERT_EQ_INT(r.naddr, 1);
	ASSERT_STREQ(r.addr[0].host, "1.2.3.4");
	ASSERT_EQ_INT(relay_parse_request(p, n + 1, &r, &used), 0);
	ASSERT_EQ_UINT(used, n);
	ASSERT_EQ_INT(relay_parse_request(p, n - 1, &r, &used),
	    ERR_INCOMPLETE);
	ASSERT_EQ_INT(relay_parse_request(p, 4, &r, &used), ERR_INCOMPLETE);
	p[1] = 0;
	ASSERT_EQ_INT(relay_parse_response(p, n, &rs, &used), 0);
	ASSERT_EQ_UINT(used, n);
	ASSERT_EQ_INT(rs.naddr, 1);

	/* the Addr one byte past FEALEN */
	big++;
	p[5] = (unsigned char)(big >> 8);
	p[6] = (unsigned char)big;
	ASSERT_EQ_INT(relay_parse_request(p, n, &r, &used), ERR_FORMAT);
	/* one feature of 65532 filling it, and one of 65533 overrunning */
	big = 65532;
	p[5] = (unsigned char)(big >> 8);
	p[6] = (unsigned char)big;
	ASSERT_EQ_INT(relay_parse_request(p, n, &r, &used), 0);
	ASSERT_EQ_INT(r.naddr, 0);
	p[6]++;
	ASSERT_EQ_INT(relay_parse_request(p, n, &r, &used), ERR_FORMAT);
	free(p);
}

TEST(test_datagram)
{
	static const unsigned char two[] = "\x00\x03" "abc" "\x00\x00"
	    "\x00\x01" "z";
	unsigned char *p, l[2] = { 0x55, 0x55 };
	size_t i, hl, dl, off;

	for (i = 0; i < 5; i++)
		ASSERT_EQ_INT(relay_parse_datagram(two, i, &hl, &dl),
		    ERR_INCOMPLETE);
	/* three datagrams back to back, the middle one empty */
	off = 0;
	ASSERT_EQ_INT(relay_parse_datagram(two, sizeof(two) - 1, &hl, &dl),
	    0);
	ASSERT_EQ_UINT(hl, 2);
	ASSERT_EQ_UINT(dl, 3);
	ASSERT(memcmp(two + hl, "abc", 3) == 0);
	off += hl + dl;
	ASSERT_EQ_INT(relay_parse_datagram(two + off, 2, &hl, &dl), 0);
	ASSERT_EQ_UINT(dl, 0);
	off += hl + dl;
	ASSERT_EQ_INT(relay_parse_datagram(two + off, 2, &hl, &dl),
	    ERR_INCOMPLETE);
	ASSERT_EQ_INT(relay_parse_datagram(two + off, 3, &hl, &dl), 0);
	ASSERT_EQ_UINT(dl, 1);
	ASSERT_EQ_INT(two[off + hl], 'z');

	REQUIRE((p = calloc(1, 2 + 65535)) != NULL);
	ASSERT_EQ_INT(relay_put_datagram_len(p, 65535), 0);
	ASSERT(p[0] == 0xff && p[1] == 0xff);
	ASSERT_EQ_INT(relay_parse_datagram(p, 2 + 65535, &hl, &dl), 0);
	ASSERT_EQ_UINT(dl, 65535);
	ASSERT_EQ_INT(relay_parse_datagram(p, 2 + 65534, &hl, &dl),
	    ERR_INCOMPLETE);
	free(p);

	ASSERT_EQ_INT(relay_put_datagram_len(l, 65536), ERR_TOO_LONG);
	ASSERT(l[0] == 0x55 && l[1] == 0x55);
	ASSERT_EQ_INT(relay_put_datagram_len(l, 0), 0);
	ASSERT(l[0] == 0 && l[1] == 0);
	ASSERT_EQ_INT(relay_put_datagram_len(l, 0x1234), 0);
	ASSERT(l[0] == 0x12 && l[1] == 0x34);
}

int
main(void)
{
	RUN(test_v2_tcp_request);
	RUN(test_v2_udp_request);
	RUN(test_v3_udp_request);
	RUN(test_responses);
	RUN(test_corrupt);
	RUN(test_unknown_feature);
	RUN(test_round_trip);
	RUN(test_fealen_max);
	RUN(test_datagram);
	return TEST_EXIT();
}
