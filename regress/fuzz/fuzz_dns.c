/*
 * libFuzzer harness for dns.c.  The first byte picks the mode: a query
 * from a client (its error reply must parse as a response to it), or an
 * upstream response to a fixed query "www.example.com A" with id 0x4242
 * (its TTL rewrite must succeed and keep it parsable, with no larger
 * minimum TTL), or the TTL rewrite alone on anything; the resolver's
 * side: the addresses of a response to "www.example.com A" (found only
 * in what parses), or a query made of the input as a name.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proto/dns.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static const unsigned char fixed_query[] =
    "\x42\x42\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01"
    "\x03" "www" "\x07" "example" "\x03" "com" "\x00" "\x00\x01\x00\x01"
    "\x00\x00\x29\x10\x00\x00\x00\x80\x00\x00\x00";

static unsigned char copy[DNS_MSG_MAX];

static void
check_query(const unsigned char *p, size_t len)
{
	struct dns_query q;
	struct dns_answer_info a;
	unsigned char out[DNS_MSG_MAX];
	size_t n;

	n = dns_make_error(p, len, DNS_RCODE_FORMERR, out, sizeof(out));
	if (n != 0 && (n < DNS_HDR_LEN || n > len))
		abort();
	if (dns_parse_query(p, len, &q) != 0)
		return;
	if (q.qname_len == 0 || q.qname_len > DNS_NAME_MAX ||
	    strlen(q.qname) == 0 || strlen(q.qname) >= DNS_TEXT_MAX ||
	    q.question_end > len || q.udp_size < DNS_UDP_MIN)
		abort();
	n = dns_make_error(p, len, DNS_RCODE_SERVFAIL, out, sizeof(out));
	if (n != q.question_end ||
	    dns_parse_response(out, n, &q, &a) != 0 ||
	    a.rcode != DNS_RCODE_SERVFAIL || a.has_answer || a.min_ttl != 0)
		abort();
}

static void
check_response(const unsigned char *p, size_t len)
{
	struct dns_query q;
	struct dns_answer_info a, a2;

	if (dns_parse_query(fixed_query, sizeof(fixed_query) - 1, &q) != 0)
		abort();
	if (dns_parse_response(p, len, &q, &a) != 0)
		return;
	memcpy(copy, p, len);
	if (dns_rewrite_ttls(copy, len, 0) != 0 ||
	    dns_parse_response(copy, len, &q, &a2) != 0 ||
	    a2.min_ttl != a.min_ttl || a2.rcode != a.rcode ||
	    a2.has_answer != a.has_answer)
		abort();
	/* an SOA's MINIMUM is not a TTL and stays: "<=", not "-" */
	if (dns_rewrite_ttls(copy, len, 3600) != 0 ||
	    dns_parse_response(copy, len, &q, &a2) != 0 ||
	    a2.min_ttl > a.min_ttl || a2.rcode != a.rcode)
		abort();
	dns_set_id(copy, 7);
	if (dns_parse_response(copy, len, &q, &a2) != ERR_FORMAT)
		abort();
}

static void
check_addrs(const unsigned char *p, size_t len)
{
	struct dns_query q;
	struct dns_answer_info a;
	struct dns_addrs ad;
	int r;

	if (dns_parse_query(fixed_query, sizeof(fixed_query) - 1, &q) != 0)
		abort();
	r = dns_answer_addrs(p, len, &q, &ad);
	if ((r == 0) != (dns_parse_response(p, len, &q, &a) == 0) ||
	    ad.n > DNS_ADDRS_MAX)
		abort();
	q.qtype = DNS_TYPE_AAAA;
	if (dns_answer_addrs(p, len, &q, &ad) == 0 && ad.n > DNS_ADDRS_MAX)
		abort();
}

static void
check_make_query(const unsigned char *p, size_t len)
{
	char name[300];
	unsigned char out[600];
	struct dns_query q;
	size_t n, i, tl;

	if (len >= sizeof(name))
		return;
	memcpy(name, p, len);
	name[len] = '\0';
	if (dns_make_query(name, DNS_TYPE_A, 1, 1232, out, sizeof(out), &n,
	    &q) != 0)
		return;
	tl = strlen(name);
	if (tl > 0 && name[tl - 1] == '.')
		tl--;
	/* what was sent is the name asked for, in lower case */
	if (strlen(q.qname) != tl || n > sizeof(out))
		abort();
	for (i = 0; i < tl; i++)
		if (q.qname[i] != (name[i] >= 'A' && name[i] <= 'Z' ?
		    name[i] - 'A' + 'a' : name[i]))
			abort();
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size == 0 || size - 1 > DNS_MSG_MAX)
		return 0;
	switch (data[0] % 5) {
	case 0:
		check_query(data + 1, size - 1);
		break;
	case 1:
		check_response(data + 1, size - 1);
		break;
	case 2:
		memcpy(copy, data + 1, size - 1);
		(void)dns_rewrite_ttls(copy, size - 1, data[0]);
		break;
	case 3:
		check_addrs(data + 1, size - 1);
		break;
	case 4:
		check_make_query(data + 1, size - 1);
		break;
	}
	return 0;
}
