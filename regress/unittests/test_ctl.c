/*
 * The control protocol (common/ctlproto.c): worker report records round
 * trip and refuse what is malformed, request lines, value escaping, the
 * metrics address.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "log.h"
#include "test.h"

static int
collect(void *arg, const struct ctl_rec *r)
{
	struct ctl_rec *out = arg;
	size_t i;

	for (i = 0; out[i].type != 0; i++)
		;
	out[i] = *r;
	return 0;
}

TEST(test_rec_round_trip)
{
	struct ctl_rec in[4], out[5];
	struct buf b, v;
	int last = -1;
	size_t i;

	memset(in, 0, sizeof(in));
	memset(out, 0, sizeof(out));
	in[0].type = CTL_R_WORKER;
	for (i = 0; i < CTL_W_N; i++)
		in[0].c[i] = 1000 + i;
	in[1].type = CTL_R_LIS;
	in[1].idx = 7;
	for (i = 0; i < CTL_C_N; i++)
		in[1].c[i] = (uint64_t)1 << (i * 4);
	in[2].type = CTL_R_USER;
	strcpy(in[2].name, "alice");
	in[2].c[CTL_C_IN] = 5;
	in[3].type = CTL_R_CONN;
	in[3].idx = 1;
	in[3].ob = CTL_NONE;
	in[3].rule = CTL_RULE_DEFAULT;
	in[3].mode = CTL_MODE_SPLICE;
	in[3].age_ms = 1234;
	in[3].c[CTL_C_IN] = 10;
	in[3].c[CTL_C_OUT] = 20;
	strcpy(in[3].client, "127.0.0.1:5000");
	strcpy(in[3].target, "example.org:443");
	buf_init(&b);
	REQUIRE(buf_put_u8(&b, 1) == 0);
	for (i = 0; i < 4; i++)
		REQUIRE(ctl_rec_enc(&b, &in[i]) == 0);
	buf_view(&v, buf_ptr(&b), buf_len(&b));
	ASSERT_EQ_INT(ctl_report_dec(&v, &last, collect, out), 0);
	ASSERT_EQ_INT(last, 1);
	ASSERT_EQ_INT(out[0].type, CTL_R_WORKER);
	ASSERT_EQ_UINT(out[0].c[CTL_W_DNS_MISSES], 1000 + CTL_W_DNS_MISSES);
	ASSERT_EQ_UINT(out[1].idx, 7);
	ASSERT_EQ_UINT(out[1].c[CTL_C_DF_OTHER], in[1].c[CTL_C_DF_OTHER]);
	ASSERT_STREQ(out[2].name, "alice");
	ASSERT_EQ_UINT(out[2].c[CTL_C_IN], 5);
	ASSERT_EQ_UINT(out[3].rule, CTL_RULE_DEFAULT);
	ASSERT_EQ_UINT(out[3].ob, CTL_NONE);
	ASSERT_EQ_UINT(out[3].age_ms, 1234);
	ASSERT_STREQ(out[3].target, "example.org:443");
	ASSERT_STREQ(out[3].user, "");
	ASSERT_EQ_INT(out[4].type, 0);
	buf_release(&b);
}

TEST(test_rec_refused)
{
	struct ctl_rec r, out[2];
	struct buf b, v;
	unsigned char *p;
	int last;
	size_t n;

	memset(&r, 0, sizeof(r));
	r.type = CTL_R_USER;
	strcpy(r.name, "bob");
	buf_init(&b);
	REQUIRE(buf_put_u8(&b, 0) == 0 && ctl_rec_enc(&b, &r) == 0);
	n = buf_len(&b);
	p = malloc(n + 1);
	REQUIRE(p != NULL);
	memcpy(p, buf_ptr(&b), n);
	/* every truncation is refused */
	for (size_t k = 1; k < n; k++) {
		memset(out, 0, sizeof(out));
		buf_view(&v, p, k);
		ASSERT(ctl_report_dec(&v, &last, collect, out) != 0 || k == 1);
	}
	/* a body longer than its record: refused */
	p[n] = 0;
	p[3]++;
	memset(out, 0, sizeof(out));
	buf_view(&v, p, n + 1);
	ASSERT(ctl_report_dec(&v, &last, collect, out) != 0);
	p[3]--;
	/* a NUL in a name, an empty name, an unknown type, a bad flag */
	p[6] = '\0';
	buf_view(&v, p, n);
	ASSERT(ctl_report_dec(&v, &last, collect, out) != 0);
	p[6] = 'b';
	p[0] = 2;
	buf_view(&v, p, n);
	ASSERT(ctl_report_dec(&v, &last, collect, out) != 0);
	p[0] = 0;
	p[1] = 99;
	buf_view(&v, p, n);
	ASSERT(ctl_report_dec(&v, &last, collect, out) != 0);
	free(p);
	buf_release(&b);
}

TEST(test_requests)
{
	int cmd, lv;

	ASSERT_EQ_INT(ctl_req_parse("status", 6, &cmd, &lv), 0);
	ASSERT_EQ_INT(cmd, CTL_CMD_STATUS);
	ASSERT_EQ_INT(ctl_req_parse("connections", 11, &cmd, &lv), 0);
	ASSERT_EQ_INT(cmd, CTL_CMD_CONNECTIONS);
	ASSERT_EQ_INT(ctl_req_parse("log-level debug2", 16, &cmd, &lv), 0);
	ASSERT_EQ_INT(cmd, CTL_CMD_LOGLEVEL);
	ASSERT_EQ_INT(lv, LOG_LEVEL_DEBUG2);
	ASSERT(ctl_req_parse("log-level fatal", 15, &cmd, &lv) != 0);
	ASSERT(ctl_req_parse("log-level", 9, &cmd, &lv) != 0);
	ASSERT(ctl_req_parse("status now", 10, &cmd, &lv) != 0);
	ASSERT(ctl_req_parse("stat\x01s", 6, &cmd, &lv) != 0);
	ASSERT(ctl_req_parse("", 0, &cmd, &lv) != 0);
	ASSERT(ctl_req_parse("Status", 6, &cmd, &lv) != 0);
	{
		char big[400];

		memset(big, 'a', sizeof(big));
		ASSERT(ctl_req_parse(big, sizeof(big), &cmd, &lv) != 0);
	}
}

TEST(test_escape)
{
	char out[64], s[64];

	ctl_escape("a b=c%d\n\xff", out, sizeof(out));
	ASSERT_STREQ(out, "a%20b%3Dc%25d%0A%FF");
	strcpy(s, out);
	ASSERT_EQ_INT(ctl_unescape(s), 0);
	ASSERT_STREQ(s, "a b=c%d\n\xff");
	strcpy(s, "bad%0");
	ASSERT(ctl_unescape(s) != 0);
	strcpy(s, "nul%00");
	ASSERT(ctl_unescape(s) != 0);
	/* truncated at a whole escape, never half of one */
	ctl_escape("     ", out, 8);
	ASSERT_STREQ(out, "%20%20");
}

TEST(test_addr)
{
	struct sockaddr_storage ss;
	unsigned int len;

	ASSERT_EQ_INT(ctl_addr_parse("127.0.0.1:9100", &ss, &len), 0);
	ASSERT_EQ_INT(ss.ss_family, AF_INET);
	ASSERT_EQ_UINT(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9100);
	ASSERT_EQ_INT(ctl_addr_parse("[::1]:9100", &ss, &len), 0);
	ASSERT_EQ_INT(ss.ss_family, AF_INET6);
	ASSERT(ctl_addr_parse("localhost:9100", &ss, &len) != 0);
	ASSERT(ctl_addr_parse("127.0.0.1", &ss, &len) != 0);
	ASSERT(ctl_addr_parse("127.0.0.1:0", &ss, &len) != 0);
	ASSERT(ctl_addr_parse("127.0.0.1:65536", &ss, &len) != 0);
	ASSERT(ctl_addr_parse(":9100", &ss, &len) != 0);
	ASSERT(ctl_addr_parse("::1:9100", &ss, &len) != 0);
	ASSERT(ctl_addr_parse("[::1]9100", &ss, &len) != 0);
}

int
main(void)
{
	RUN(test_rec_round_trip);
	RUN(test_rec_refused);
	RUN(test_requests);
	RUN(test_escape);
	RUN(test_addr);
	return TEST_EXIT();
}
