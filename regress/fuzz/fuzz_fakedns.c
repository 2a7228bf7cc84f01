/*
 * libFuzzer harness for the capture's fake-IP answers (fakedns.c): the
 * input is a query a captured host sent.  Every query that parses gets
 * an answer that parses as the response to it, with the one address
 * for A and none for NODATA.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dns.h"
#include "proto/fakedns.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static unsigned char out[DNS_HDR_LEN + DNS_NAME_MAX + 4 + 16];

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const unsigned char a4[4] = { 198, 18, 0, 1 };
	struct dns_answer_info ai;
	struct dns_query q;
	size_t n;

	if (dns_parse_query(data, size, &q) != 0)
		return 0;
	n = fakedns_answer(data, &q, a4, 10, out, sizeof(out));
	if (n == 0 || n > sizeof(out))
		abort();
	if (dns_parse_response(out, n, &q, &ai) != 0 ||
	    ai.rcode != DNS_RCODE_NOERROR)
		abort();
	if (q.qtype == DNS_TYPE_A && !ai.has_answer)
		abort();
	n = fakedns_answer(data, &q, NULL, 0, out, sizeof(out));
	if (n == 0 || dns_parse_response(out, n, &q, &ai) != 0 ||
	    ai.has_answer)
		abort();
	return 0;
}
