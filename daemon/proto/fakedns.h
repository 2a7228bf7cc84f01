/*
 * The answers of a capture's fake-IP DNS (daemon/capture/dns.c): built
 * from the client's own query, which dns_parse_query accepted.
 */
#ifndef OSTP_PROTO_FAKEDNS_H
#define OSTP_PROTO_FAKEDNS_H

#include <stddef.h>
#include <stdint.h>

struct dns_query;

/*
 * The answer to query (len bytes, parsed as q): its header and question
 * with QR and RA set, and with addr (4 bytes) one A record of the
 * question's name and ttl; addr NULL: no record (NODATA, for AAAA).
 * An OPT record of the query is not repeated.  Returns the length, or
 * 0 when out is too small.
 */
size_t	fakedns_answer(const unsigned char *query, const struct dns_query *q,
	    const unsigned char *addr, uint32_t ttl, unsigned char *out,
	    size_t outlen);

#endif
