/* DNS query and response checks (dns.c). */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "err.h"
#include "proto/dns.h"
#include "test.h"

/* Messages are built with these; offsets in comments count from 0. */
struct msg {
	unsigned char	b[1024];
	size_t		n;
};

static void
m_u8(struct msg *m, unsigned int v)
{
	m->b[m->n++] = v & 0xff;
}

static void
m_u16(struct msg *m, unsigned int v)
{
	m_u8(m, v >> 8);
	m_u8(m, v);
}

static void
m_u32(struct msg *m, uint32_t v)
{
	m_u16(m, v >> 16);
	m_u16(m, v & 0xffff);
}

static void
m_raw(struct msg *m, const void *p, size_t len)
{
	memcpy(m->b + m->n, p, len);
	m->n += len;
}

#define M_RAW(m, lit)	m_raw((m), (lit), sizeof(lit) - 1)

static void
m_hdr(struct msg *m, unsigned int id, unsigned int flags, unsigned int qd,
    unsigned int an, unsigned int ns, unsigned int ar)
{
	m->n = 0;
	m_u16(m, id);
	m_u16(m, flags);
	m_u16(m, qd);
	m_u16(m, an);
	m_u16(m, ns);
	m_u16(m, ar);
}

/* An RR's type, class, TTL and rdlength, after its owner. */
static void
m_rr(struct msg *m, unsigned int type, uint32_t ttl, unsigned int rdlen)
{
	m_u16(m, type);
	m_u16(m, 1);
	m_u32(m, ttl);
	m_u16(m, rdlen);
}

/* An OPT RR: 4096 bytes, DO set when do_bit, a cookie option. */
static void
m_opt(struct msg *m, int do_bit, int cookie)
{
	m_u8(m, 0);
	m_u16(m, DNS_TYPE_OPT);
	m_u16(m, 4096);
	m_u32(m, do_bit ? 0x8000 : 0);
	if (cookie) {
		m_u16(m, 12);
		m_u16(m, 10);
		m_u16(m, 8);
		M_RAW(m, "\x01\x02\x03\x04\x05\x06\x07\x08");
	} else
		m_u16(m, 0);
}

/* example.com A, RD, without or with EDNS */
static void
q_example(struct msg *m, int edns)
{
	m_hdr(m, 0x1234, 0x0100, 1, 0, 0, edns ? 1 : 0);
	M_RAW(m, "\x07" "example" "\x03" "com" "\x00");
	m_u16(m, 1);
	m_u16(m, 1);
	if (edns)
		m_opt(m, 1, 1);
}

static int
parse_q(struct msg *m, struct dns_query *q)
{
	return dns_parse_query(m->b, m->n, q);
}

/* A query for name (wire form) and type. */
static int
query_for(const char *wire, size_t len, unsigned int type,
    struct dns_query *q)
{
	struct msg m;

	m_hdr(&m, 0x1234, 0x0100, 1, 0, 0, 0);
	m_raw(&m, wire, len);
	m_u16(&m, type);
	m_u16(&m, 1);
	return parse_q(&m, q);
}

TEST(test_query)
{
	struct msg m;
	struct dns_query q;
	size_t i;

	q_example(&m, 0);
	ASSERT_EQ_UINT(m.n, 29);
	ASSERT_EQ_INT(parse_q(&m, &q), 0);
	ASSERT_EQ_UINT(q.id, 0x1234);
	ASSERT_STREQ(q.qname, "example.com");
	ASSERT_EQ_UINT(q.qname_len, 13);
	ASSERT_EQ_UINT(q.qtype, 1);
	ASSERT_EQ_UINT(q.qclass, 1);
	ASSERT_EQ_INT(q.edns, 0);
	ASSERT_EQ_UINT(q.udp_size, 512);
	ASSERT_EQ_UINT(q.question_end, 29);
	for (i = 0; i < m.n; i++)
		if (dns_parse_query(m.b, i, &q) != ERR_FORMAT)
			TEST_FAIL_AT("truncated at %zu", i);

	q_example(&m, 1);
	ASSERT_EQ_INT(parse_q(&m, &q), 0);
	ASSERT_EQ_INT(q.edns, 1);
	ASSERT_EQ_UINT(q.udp_size, 4096);
	ASSERT_EQ_INT(q.do_bit, 1);
	ASSERT_EQ_UINT(q.edns_version, 0);
	ASSERT_EQ_UINT(q.question_end, 29);
	for (i = 0; i < m.n; i++)
		if (dns_parse_query(m.b, i, &q) != ERR_FORMAT)
			TEST_FAIL_AT("truncated at %zu", i);

	/* case folding, root, odd bytes */
	ASSERT_EQ_INT(query_for("\x03WwW\x07" "EXAMPLE\x03" "cOm", 17, 28,
	    &q), 0);
	ASSERT_STREQ(q.qname, "www.example.com");
	ASSERT(memcmp(q.qname_wire, "\x03www\x07" "example\x03" "com", 17) ==
	    0);
	ASSERT_EQ_UINT(q.qtype, 28);
	ASSERT_EQ_INT(query_for("", 1, 2, &q), 0);
	ASSERT_STREQ(q.qname, ".");
	ASSERT_EQ_INT(query_for("\x04" "a.\\ \x02_\x7f", 9, 1, &q), 0);
	ASSERT_STREQ(q.qname, "a\\.\\\\\\032._\\127");
}

TEST(test_query_bad)
{
	struct msg m;
	struct dns_query q;
	unsigned char name[300];
	size_t i;

	/* header: QR, opcode, counts */
	q_example(&m, 0);
	m.b[2] |= 0x80;
	ASSERT_EQ_INT(parse_q(&m, &q), ERR_FORMAT);
	q_example(&m, 0);
	m.b[2] |= 0x08;		/* opcode 1 */
	ASSERT_EQ_INT(parse_q(&m, &q), ERR_FORMAT);
	q_example(&m, 0);
	m.b[2] |= 0x28;		/* opcode 5, UPDATE */
	ASSERT_EQ_INT(parse_q(&m, &q), ERR_FORMAT);
	q_example(&m, 0);
	m.b[5] = 0;
	ASSERT_EQ_INT(parse_q(&m, &q), ERR_FORMAT);
	m.b[5] = 2;
	ASSERT_EQ_INT(parse_q(&m, &q), ERR_FORMAT);
	q_example(&m, 0);
	m.b[7] = 1;
	ASSERT_EQ_INT(parse_q(&m, &q), ERR_FORMAT);
	q_example(&m, 0);
	m.b[9] = 1;
	ASSERT_EQ_INT(parse_q(&m, &q), ERR_FORMAT);
	q_example(&m, 1);
	m.b[11] = 2;
	ASSERT_EQ_INT(parse_q(&m, &q), ERR_FORMAT);

	/* trailing byte, with and without EDNS */
	q_example(&m, 0);
	m_u8(&m, 0);
	ASSERT_EQ_INT(parse_q(&m, &q), ERR_FORMAT);
	q_example(&m, 1);
	m_u8(&m, 0);
	ASSERT_EQ_INT(parse_q(&m, &q), ERR_FORMAT);

	/* the additional RR is not OPT; OPT not at the root; bad options */
	q_example(&m, 0);
	m.b[11] = 1;
	m_u8(&m, 0);
	m_rr(&m, 1, 0, 4);
	m_u32(&m, 0x7f000001);
	ASSERT_EQ_INT(parse_q(&m, &q), ERR_FORMAT);
	q_example(&m, 0);
	m.b[11] = 1;
	M_RAW(&m, "\x01" "a");
	m_opt(&m, 0, 0);
	ASSERT_EQ_INT(parse_q(&m, &q), ERR_FORMAT);
	q_example(&m, 1);
	m.b[m.n - 9] = 9;	/* option length past rdata */
	ASSERT_EQ_INT(parse_q(&m, &q), ERR_FORMAT);
	q_example(&m, 1);
	m.b[m.n - 13] = 11;	/* rdlength cuts the option */
	ASSERT_EQ_INT(dns_parse_query(m.b, m.n - 1, &q), ERR_FORMAT);
	/* a small payload size counts as 512 */
	q_example(&m, 1);
	m.b[m.n - 20] = 0;
	m.b[m.n - 19] = 100;
	ASSERT_EQ_INT(parse_q(&m, &q), 0);
	ASSERT_EQ_UINT(q.udp_size, 512);

	/* names: pointer, label types, label and name length */
	ASSERT_EQ_INT(query_for("\xc0\x0c", 2, 1, &q), ERR_FORMAT);
	ASSERT_EQ_INT(query_for("\x01" "a\xc0\x0c", 4, 1, &q), ERR_FORMAT);
	ASSERT_EQ_INT(query_for("\x41" "a\x00", 3, 1, &q), ERR_FORMAT);
	ASSERT_EQ_INT(query_for("\x81" "a\x00", 3, 1, &q), ERR_FORMAT);
	memset(name, 'a', sizeof(name));
	name[0] = 63;
	name[64] = 0;
	ASSERT_EQ_INT(query_for((char *)name, 65, 1, &q), 0);
	memset(name, 'a', sizeof(name));
	name[0] = 64;
	name[65] = 0;
	ASSERT_EQ_INT(query_for((char *)name, 66, 1, &q), ERR_FORMAT);
	/* 63+63+63+61 is 255 bytes in wire form, one more is too long */
	memset(name, 'a', sizeof(name));
	for (i = 0; i < 3; i++)
		name[i * 64] = 63;
	name[192] = 61;
	name[254] = 0;
	ASSERT_EQ_INT(query_for((char *)name, 255, 1, &q), 0);
	ASSERT_EQ_UINT(q.qname_len, 255);
	ASSERT_EQ_UINT(strlen(q.qname), 253);
	name[192] = 62;
	name[254] = 'a';
	name[255] = 0;
	ASSERT_EQ_INT(query_for((char *)name, 256, 1, &q), ERR_FORMAT);
	ASSERT_EQ_INT(dns_parse_query(name, 5, &q), ERR_FORMAT);
}

/*
 * Response to "www.example.com A": a CNAME to web.example.com, then its
 * A record, both compressed.
 *  12 question  3www 7example 3com 0, A IN
 *  33 AN1       c00c CNAME 300 "3web c010"
 *  45           (the web label: web.example.com)
 *  51 AN2       c02d A 60 93.184.216.34
 */
static void
r_cname(struct msg *m, int edns)
{
	m_hdr(m, 0x4242, 0x8180, 1, 2, 0, edns ? 1 : 0);
	M_RAW(m, "\x03" "www" "\x07" "example" "\x03" "com" "\x00");
	m_u16(m, 1);
	m_u16(m, 1);
	M_RAW(m, "\xc0\x0c");
	m_rr(m, DNS_TYPE_CNAME, 300, 6);
	M_RAW(m, "\x03" "web" "\xc0\x10");
	M_RAW(m, "\xc0\x2d");
	m_rr(m, 1, 60, 4);
	M_RAW(m, "\x5d\xb8\xd8\x22");
	if (edns)
		m_opt(m, 1, 0);
}

static void
q_www(struct dns_query *q, unsigned int type)
{
	struct msg m;

	m_hdr(&m, 0x4242, 0x0100, 1, 0, 0, 0);
	M_RAW(&m, "\x03" "WWW" "\x07" "example" "\x03" "com" "\x00");
	m_u16(&m, type);
	m_u16(&m, 1);
	if (dns_parse_query(m.b, m.n, q) != 0)
		memset(q, 0, sizeof(*q));
}

/*
 * NXDOMAIN for "nx.example.com A" with the zone's SOA:
 *  12 question  2nx 7example 3com 0, A IN
 *  32 NS1       c00f SOA 3600 "3ns1 c00f" "10hostmaster c00f" + 20
 */
static void
r_nxdomain(struct msg *m, uint32_t soa_ttl, uint32_t minimum)
{
	m_hdr(m, 0x0707, 0x8183, 1, 0, 1, 0);
	M_RAW(m, "\x02" "nx" "\x07" "example" "\x03" "com" "\x00");
	m_u16(m, 1);
	m_u16(m, 1);
	M_RAW(m, "\xc0\x0f");
	m_rr(m, DNS_TYPE_SOA, soa_ttl, 39);
	M_RAW(m, "\x03" "ns1" "\xc0\x0f");
	M_RAW(m, "\x0a" "hostmaster" "\xc0\x0f");
	m_u32(m, 2024010101);
	m_u32(m, 7200);
	m_u32(m, 3600);
	m_u32(m, 1209600);
	m_u32(m, minimum);
}

static void
q_nx(struct dns_query *q)
{
	struct msg m;

	m_hdr(&m, 0x0707, 0x0100, 1, 0, 0, 0);
	M_RAW(&m, "\x02" "nx" "\x07" "example" "\x03" "com" "\x00");
	m_u16(&m, 1);
	m_u16(&m, 1);
	if (dns_parse_query(m.b, m.n, q) != 0)
		memset(q, 0, sizeof(*q));
}

static int
parse_r(struct msg *m, const struct dns_query *q, struct dns_answer_info *a)
{
	return dns_parse_response(m->b, m->n, q, a);
}

TEST(test_response)
{
	struct msg m;
	struct dns_query q;
	struct dns_answer_info a;
	size_t i;

	q_www(&q, 1);
	r_cname(&m, 0);
	ASSERT_EQ_UINT(m.n, 67);
	ASSERT_EQ_INT(parse_r(&m, &q, &a), 0);
	ASSERT_EQ_INT(a.rcode, 0);
	ASSERT_EQ_INT(a.has_answer, 1);
	ASSERT_EQ_INT(a.negative, 0);
	ASSERT_EQ_INT(a.truncated, 0);
	ASSERT_EQ_UINT(a.min_ttl, 60);
	for (i = 0; i < m.n; i++)
		if (dns_parse_response(m.b, i, &q, &a) != ERR_FORMAT)
			TEST_FAIL_AT("truncated at %zu", i);

	r_cname(&m, 1);
	ASSERT_EQ_INT(parse_r(&m, &q, &a), 0);
	ASSERT_EQ_INT(a.edns, 1);
	ASSERT_EQ_UINT(a.min_ttl, 60);	/* OPT's TTL field is flags */
	for (i = 0; i < m.n; i++)
		if (dns_parse_response(m.b, i, &q, &a) != ERR_FORMAT)
			TEST_FAIL_AT("truncated at %zu", i);

	/* the CNAME alone is NODATA for AAAA, an answer for CNAME */
	r_cname(&m, 0);
	m.b[7] = 1;
	m.n = 51;
	m.b[30] = 28;
	q_www(&q, 28);
	ASSERT_EQ_INT(parse_r(&m, &q, &a), 0);
	ASSERT_EQ_INT(a.has_answer, 0);
	ASSERT_EQ_INT(a.negative, 1);
	ASSERT_EQ_UINT(a.min_ttl, 300);
	m.b[30] = DNS_TYPE_CNAME;
	q_www(&q, DNS_TYPE_CNAME);
	ASSERT_EQ_INT(parse_r(&m, &q, &a), 0);
	ASSERT_EQ_INT(a.has_answer, 1);

	/* AN2's owner as a pointer to AN1's owner, itself a pointer */
	q_www(&q, 1);
	r_cname(&m, 0);
	m.b[52] = 33;
	m.b[51 + 3] = DNS_TYPE_CNAME;
	m.b[51 + 11] = 2;
	m.b[63] = 0xc0;
	m.b[64] = 0x2d;
	m.n = 65;
	ASSERT_EQ_INT(parse_r(&m, &q, &a), 0);
	ASSERT_EQ_INT(a.has_answer, 0);

	/* a TTL with the top bit set counts as 0 (RFC 2181 8) */
	q_www(&q, 1);
	r_cname(&m, 0);
	m.b[51 + 6] = 0x80;
	ASSERT_EQ_INT(parse_r(&m, &q, &a), 0);
	ASSERT_EQ_UINT(a.min_ttl, 0);

	/* extended rcode: BADVERS = 16 */
	r_cname(&m, 1);
	m.b[67 + 5] = 1;
	ASSERT_EQ_INT(parse_r(&m, &q, &a), 0);
	ASSERT_EQ_INT(a.rcode, 16);

	/* truncated: may stop anywhere after the question */
	r_cname(&m, 0);
	m.b[2] |= 0x02;
	for (i = 33; i <= m.n; i++) {
		if (dns_parse_response(m.b, i, &q, &a) != 0 || !a.truncated)
			TEST_FAIL_AT("TC cut at %zu", i);
		if (dns_rewrite_ttls(m.b, i, 10) != 0)
			TEST_FAIL_AT("TC rewrite at %zu", i);
	}
	ASSERT_EQ_INT(dns_parse_response(m.b, 32, &q, &a), ERR_FORMAT);
}

TEST(test_negative)
{
	struct msg m;
	struct dns_query q;
	struct dns_answer_info a;
	size_t i;

	q_nx(&q);
	r_nxdomain(&m, 3600, 300);
	ASSERT_EQ_UINT(m.n, 83);
	ASSERT_EQ_INT(parse_r(&m, &q, &a), 0);
	ASSERT_EQ_INT(a.rcode, DNS_RCODE_NXDOMAIN);
	ASSERT_EQ_INT(a.negative, 1);
	ASSERT_EQ_INT(a.has_soa, 1);
	ASSERT_EQ_INT(a.has_answer, 0);
	ASSERT_EQ_UINT(a.min_ttl, 300);
	r_nxdomain(&m, 60, 300);
	ASSERT_EQ_INT(parse_r(&m, &q, &a), 0);
	ASSERT_EQ_UINT(a.min_ttl, 60);
	for (i = 0; i < m.n; i++)
		if (dns_parse_response(m.b, i, &q, &a) != ERR_FORMAT)
			TEST_FAIL_AT("truncated at %zu", i);

	/* NODATA: NOERROR, no answer, SOA */
	r_nxdomain(&m, 3600, 900);
	m.b[3] = 0x80;
	ASSERT_EQ_INT(parse_r(&m, &q, &a), 0);
	ASSERT_EQ_INT(a.rcode, 0);
	ASSERT_EQ_INT(a.negative, 1);
	ASSERT_EQ_UINT(a.min_ttl, 900);

	/* without SOA nothing says how long: 0 */
	m_hdr(&m, 0x0707, 0x8183, 1, 0, 0, 0);
	M_RAW(&m, "\x02" "nx" "\x07" "example" "\x03" "com" "\x00");
	m_u32(&m, 0x00010001);
	ASSERT_EQ_INT(parse_r(&m, &q, &a), 0);
	ASSERT_EQ_UINT(a.min_ttl, 0);
	ASSERT_EQ_INT(a.negative, 1);

	/* SOA rdata: short, long, names running past it */
	r_nxdomain(&m, 3600, 300);
	m.b[43] = 38;
	ASSERT_EQ_INT(dns_parse_response(m.b, m.n - 1, &q, &a), ERR_FORMAT);
	r_nxdomain(&m, 3600, 300);
	m.b[43] = 40;
	m_u8(&m, 0);
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);
	r_nxdomain(&m, 3600, 300);
	m.b[43] = 3;
	m.b[9] = 2;		/* the rest as one more RR: garbage */
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);
}

TEST(test_response_bad)
{
	struct msg m;
	struct dns_query q;
	struct dns_answer_info a;

	q_www(&q, 1);
	r_cname(&m, 0);
	m.b[1] ^= 1;				/* id */
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);
	r_cname(&m, 0);
	m.b[2] &= 0x7f;				/* QR */
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);
	r_cname(&m, 0);
	m.b[5] = 2;				/* QDCOUNT */
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);
	r_cname(&m, 0);
	m.b[13] = 'x';				/* another name */
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);
	r_cname(&m, 0);
	m.b[13] = 'W';				/* case differs: fine */
	ASSERT_EQ_INT(parse_r(&m, &q, &a), 0);
	r_cname(&m, 0);
	m.b[30] = 28;				/* another type */
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);
	r_cname(&m, 0);
	m_u8(&m, 0);				/* trailing byte */
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);
	r_cname(&m, 0);
	m.b[7] = 3;				/* more RRs than sent */
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);

	/* pointers: to itself, forward, into the header, in a loop */
	r_cname(&m, 0);
	m.b[33] = 0xc0;
	m.b[34] = 33;
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);
	r_cname(&m, 0);
	m.b[34] = 51;				/* forward, to AN2 */
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);
	r_cname(&m, 0);
	m.b[34] = 4;				/* into the header */
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);
	r_cname(&m, 0);
	m.b[50] = 45;	/* web -> web -> ...: backwards, but a loop */
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);
	r_cname(&m, 0);
	m.b[50] = 44;	/* into the middle of the CNAME's RR fields */
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);
	r_cname(&m, 0);
	m.b[52] = 39;	/* at a TTL whose first byte reads as the root */
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);
	ASSERT_EQ_INT(dns_rewrite_ttls(m.b, m.n, 1), ERR_FORMAT);
	r_cname(&m, 0);
	m.b[52] = 13;	/* into a label, not at its start */
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);
	r_cname(&m, 0);
	m.b[51] = 0x80;				/* label type 0x80 */
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);

	/* CNAME rdata: a name longer or shorter than rdlength */
	r_cname(&m, 0);
	m.b[44] = 5;
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);
	r_cname(&m, 0);
	m.b[44] = 7;
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);
	/* an RR's rdata past the end */
	r_cname(&m, 0);
	m.b[66 - 4] = 5;
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);

	/* OPT: in the answer section, twice, with a non-root owner */
	r_cname(&m, 0);
	m.b[7] = 3;
	m_opt(&m, 0, 0);
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);
	r_cname(&m, 1);
	m.b[11] = 2;
	m_opt(&m, 0, 0);
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);
	r_cname(&m, 0);
	m.b[11] = 1;
	M_RAW(&m, "\xc0\x10");
	m_u16(&m, DNS_TYPE_OPT);
	m_u16(&m, 4096);
	m_u32(&m, 0);
	m_u16(&m, 0);
	ASSERT_EQ_INT(parse_r(&m, &q, &a), ERR_FORMAT);
}

TEST(test_rewrite_ttls)
{
	struct msg m;
	struct dns_query q;
	struct dns_answer_info a;
	size_t i;

	q_www(&q, 1);
	r_cname(&m, 1);
	ASSERT_EQ_INT(dns_rewrite_ttls(m.b, m.n, 100), 0);
	ASSERT_EQ_INT(parse_r(&m, &q, &a), 0);
	ASSERT_EQ_UINT(m.b[33 + 6] << 24 | m.b[33 + 7] << 16 |
	    m.b[33 + 8] << 8 | m.b[33 + 9], 200);
	ASSERT_EQ_UINT(a.min_ttl, 0);		/* 60 - 100, floored */
	ASSERT_EQ_UINT(m.b[67 + 7], 0x80);	/* OPT flags kept */
	ASSERT_EQ_INT(dns_rewrite_ttls(m.b, m.n, 0), 0);
	ASSERT_EQ_INT(dns_rewrite_ttls(m.b, m.n, 500), 0);
	ASSERT_EQ_INT(parse_r(&m, &q, &a), 0);
	ASSERT_EQ_UINT(m.b[33 + 9], 0);

	q_nx(&q);
	r_nxdomain(&m, 3600, 300);
	ASSERT_EQ_INT(dns_rewrite_ttls(m.b, m.n, 3500), 0);
	ASSERT_EQ_INT(parse_r(&m, &q, &a), 0);
	ASSERT_EQ_UINT(a.min_ttl, 100);
	for (i = 0; i < m.n; i++)
		if (dns_rewrite_ttls(m.b, i, 1) != ERR_FORMAT)
			TEST_FAIL_AT("truncated at %zu", i);
	/* a top-bit TTL becomes 0 */
	r_nxdomain(&m, 0x80000000U, 300);
	ASSERT_EQ_INT(dns_rewrite_ttls(m.b, m.n, 1), 0);
	ASSERT(memcmp(m.b + 38, "\x00\x00\x00\x00", 4) == 0);

	dns_set_id(m.b, 0xbeef);
	ASSERT_EQ_UINT(m.b[0], 0xbe);
	ASSERT_EQ_UINT(m.b[1], 0xef);
}

TEST(test_make_error)
{
	struct msg m;
	struct dns_query q;
	struct dns_answer_info a;
	unsigned char out[512];
	size_t n;

	q_example(&m, 1);
	REQUIRE(parse_q(&m, &q) == 0);
	n = dns_make_error(m.b, m.n, DNS_RCODE_SERVFAIL, out, sizeof(out));
	ASSERT_EQ_UINT(n, 29);			/* OPT dropped */
	ASSERT_EQ_INT(dns_parse_response(out, n, &q, &a), 0);
	ASSERT_EQ_INT(a.rcode, DNS_RCODE_SERVFAIL);
	ASSERT_EQ_INT(a.negative, 0);
	ASSERT_EQ_UINT(a.min_ttl, 0);
	ASSERT_EQ_UINT(out[2], 0x81);		/* QR, RD */
	ASSERT_EQ_UINT(out[3], 0x82);		/* RA, SERVFAIL */
	ASSERT(memcmp(out + 4, "\x00\x01\x00\x00\x00\x00\x00\x00", 8) == 0);
	ASSERT_EQ_UINT(dns_make_error(m.b, m.n, DNS_RCODE_REFUSED, out, 28),
	    0);

	/* unparsable question: the header only */
	q_example(&m, 0);
	m.b[12] = 0xc0;
	n = dns_make_error(m.b, m.n, DNS_RCODE_FORMERR, out, sizeof(out));
	ASSERT_EQ_UINT(n, 12);
	ASSERT(memcmp(out, "\x12\x34\x81\x81\x00\x00\x00\x00\x00\x00\x00\x00",
	    12) == 0);
	ASSERT_EQ_UINT(dns_make_error(m.b, 11, DNS_RCODE_FORMERR, out,
	    sizeof(out)), 0);
	/* an opcode is echoed (NOTIMP for a NOTIFY) */
	q_example(&m, 0);
	m.b[2] = 0x20;
	n = dns_make_error(m.b, m.n, DNS_RCODE_NOTIMP, out, sizeof(out));
	ASSERT_EQ_UINT(n, 29);
	ASSERT_EQ_UINT(out[2], 0xa0);
	/* never answer a response; rcode range */
	q_example(&m, 0);
	m.b[2] |= 0x80;
	ASSERT_EQ_UINT(dns_make_error(m.b, m.n, 2, out, sizeof(out)), 0);
	m.b[2] &= 0x7f;
	ASSERT_EQ_UINT(dns_make_error(m.b, m.n, 16, out, sizeof(out)), 0);
}

TEST(test_make_query)
{
	unsigned char out[600], big[300];
	struct dns_query q;
	size_t n;

	ASSERT_EQ_INT(dns_make_query("Example.COM.", DNS_TYPE_AAAA, 0xbeef,
	    1232, out, sizeof(out), &n, &q), 0);
	ASSERT_EQ_UINT(n, 12 + 13 + 4 + 11);
	ASSERT_EQ_UINT(q.id, 0xbeef);
	ASSERT_STREQ(q.qname, "example.com");
	ASSERT_EQ_UINT(q.qtype, 28);
	ASSERT_EQ_INT(q.edns, 1);
	ASSERT_EQ_UINT(q.udp_size, 1232);
	ASSERT_EQ_UINT(out[2], 0x01);		/* RD */
	ASSERT_EQ_INT(dns_make_query("a_b-c.d", DNS_TYPE_A, 1, 0, out,
	    sizeof(out), &n, &q), 0);
	ASSERT_EQ_UINT(n, 12 + 9 + 4);
	ASSERT_EQ_INT(q.edns, 0);

	/* what a resolver must not send */
	ASSERT_EQ_INT(dns_make_query("", 1, 1, 0, out, sizeof(out), &n, &q),
	    ERR_FORMAT);
	ASSERT_EQ_INT(dns_make_query(".", 1, 1, 0, out, sizeof(out), &n, &q),
	    ERR_FORMAT);
	ASSERT_EQ_INT(dns_make_query("a..b", 1, 1, 0, out, sizeof(out), &n,
	    &q), ERR_FORMAT);
	ASSERT_EQ_INT(dns_make_query(".a", 1, 1, 0, out, sizeof(out), &n,
	    &q), ERR_FORMAT);
	ASSERT_EQ_INT(dns_make_query("a b", 1, 1, 0, out, sizeof(out), &n,
	    &q), ERR_FORMAT);
	ASSERT_EQ_INT(dns_make_query("a\nb", 1, 1, 0, out, sizeof(out), &n,
	    &q), ERR_FORMAT);
	ASSERT_EQ_INT(dns_make_query("a\x80.b", 1, 1, 0, out, sizeof(out), &n,
	    &q), ERR_FORMAT);
	/* labels: 63 bytes pass, 64 do not */
	memset(big, 'a', sizeof(big));
	big[63] = '\0';
	ASSERT_EQ_INT(dns_make_query((char *)big, 1, 1, 0, out, sizeof(out),
	    &n, &q), 0);
	big[63] = 'a';
	big[64] = '\0';
	ASSERT_EQ_INT(dns_make_query((char *)big, 1, 1, 0, out, sizeof(out),
	    &n, &q), ERR_FORMAT);
	/* names: 253 bytes pass, 254 do not */
	memset(big, 'a', sizeof(big));
	big[63] = big[127] = big[191] = '.';
	big[253] = '\0';
	ASSERT_EQ_INT(dns_make_query((char *)big, 1, 1, 0, out, sizeof(out),
	    &n, &q), 0);
	big[253] = 'a';
	big[254] = '\0';
	ASSERT_EQ_INT(dns_make_query((char *)big, 1, 1, 0, out, sizeof(out),
	    &n, &q), ERR_FORMAT);
	big[253] = '.';
	ASSERT_EQ_INT(dns_make_query((char *)big, 1, 1, 0, out, sizeof(out),
	    &n, &q), 0);
	/* too small a buffer */
	ASSERT_EQ_INT(dns_make_query("example.com", 1, 1, 0, out, 20, &n, &q),
	    ERR_FORMAT);
}

/* www.example.com A: a CNAME to cdn.example.net, its two A records. */
TEST(test_answer_addrs)
{
	struct msg m;
	struct dns_query q;
	struct dns_addrs a;
	unsigned char out[600];
	size_t n;

	ASSERT_EQ_INT(dns_make_query("www.example.com", DNS_TYPE_A, 0x4242,
	    0, out, sizeof(out), &n, &q), 0);
	m_hdr(&m, 0x4242, 0x8180, 1, 4, 0, 0);
	M_RAW(&m, "\x03" "www" "\x07" "example" "\x03" "com" "\x00");
	m_u16(&m, 1);
	m_u16(&m, 1);
	/* an A for another owner first: not ours */
	M_RAW(&m, "\x05" "other" "\xc0\x10");
	m_rr(&m, 1, 30, 4);
	M_RAW(&m, "\x0a\x00\x00\x09");
	/* the addresses before the alias that leads to them */
	M_RAW(&m, "\x03" "cdn" "\x07" "example" "\x03" "net" "\x00");
	m_rr(&m, 1, 300, 4);
	M_RAW(&m, "\x0a\x00\x00\x01");
	M_RAW(&m, "\xc0\x0c");
	m_rr(&m, DNS_TYPE_CNAME, 120, 2);
	M_RAW(&m, "\xc0\x37");
	M_RAW(&m, "\xc0\x37");
	m_rr(&m, 1, 600, 4);
	M_RAW(&m, "\x0a\x00\x00\x02");
	ASSERT_EQ_INT(dns_answer_addrs(m.b, m.n, &q, &a), 0);
	ASSERT_EQ_UINT(a.n, 2);
	ASSERT(memcmp(a.addr[0], "\x0a\x00\x00\x01", 4) == 0);
	ASSERT(memcmp(a.addr[1], "\x0a\x00\x00\x02", 4) == 0);
	ASSERT_EQ_UINT(a.ttl, 120);

	/* a CNAME loop: no address, no crash */
	m_hdr(&m, 0x4242, 0x8180, 1, 1, 0, 0);
	M_RAW(&m, "\x03" "www" "\x07" "example" "\x03" "com" "\x00");
	m_u16(&m, 1);
	m_u16(&m, 1);
	M_RAW(&m, "\xc0\x0c");
	m_rr(&m, DNS_TYPE_CNAME, 120, 2);
	M_RAW(&m, "\xc0\x0c");
	ASSERT_EQ_INT(dns_answer_addrs(m.b, m.n, &q, &a), 0);
	ASSERT_EQ_UINT(a.n, 0);

	/* an A with the wrong length is not an address */
	m_hdr(&m, 0x4242, 0x8180, 1, 1, 0, 0);
	M_RAW(&m, "\x03" "www" "\x07" "example" "\x03" "com" "\x00");
	m_u16(&m, 1);
	m_u16(&m, 1);
	M_RAW(&m, "\xc0\x0c");
	m_rr(&m, 1, 120, 5);
	M_RAW(&m, "\x0a\x00\x00\x02\x00");
	ASSERT_EQ_INT(dns_answer_addrs(m.b, m.n, &q, &a), 0);
	ASSERT_EQ_UINT(a.n, 0);

	/* the wrong id, or a query type that is not an address */
	dns_set_id(m.b, 1);
	ASSERT_EQ_INT(dns_answer_addrs(m.b, m.n, &q, &a), ERR_FORMAT);
	q.qtype = DNS_TYPE_MX;
	ASSERT_EQ_INT(dns_answer_addrs(m.b, m.n, &q, &a), ERR_FORMAT);
}

int
main(void)
{
	RUN(test_query);
	RUN(test_query_bad);
	RUN(test_response);
	RUN(test_negative);
	RUN(test_response_bad);
	RUN(test_rewrite_ttls);
	RUN(test_make_error);
	RUN(test_make_query);
	RUN(test_answer_addrs);
	return TEST_EXIT();
}
