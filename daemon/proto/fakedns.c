/* Fake-IP DNS answers: see fakedns.h. */
#include "config.h"

#include <string.h>

#include "proto/dns.h"
#include "proto/fakedns.h"

#define FAKEDNS_RR_LEN	16	/* pointer, type, class, TTL, length, A */

size_t
fakedns_answer(const unsigned char *query, const struct dns_query *q,
    const unsigned char *addr, uint32_t ttl, unsigned char *out,
    size_t outlen)
{
	size_t n = q->question_end;

	if (n < DNS_HDR_LEN || n + FAKEDNS_RR_LEN > outlen)
		return 0;
	memcpy(out, query, n);
	/* QR, the query's opcode and RD; RA; NOERROR */
	out[2] = (unsigned char)(0x80 | (query[2] & 0x79));
	out[3] = 0x80;
	out[4] = 0;
	out[5] = 1;				/* QDCOUNT */
	memset(out + 6, 0, 6);
	if (addr == NULL)
		return n;
	out[7] = 1;				/* ANCOUNT */
	out[n++] = 0xc0;			/* the question's name */
	out[n++] = DNS_HDR_LEN;
	out[n++] = 0;
	out[n++] = DNS_TYPE_A;
	out[n++] = (unsigned char)(q->qclass >> 8);
	out[n++] = (unsigned char)q->qclass;
	out[n++] = (unsigned char)(ttl >> 24);
	out[n++] = (unsigned char)(ttl >> 16);
	out[n++] = (unsigned char)(ttl >> 8);
	out[n++] = (unsigned char)ttl;
	out[n++] = 0;
	out[n++] = 4;
	memcpy(out + n, addr, 4);
	return n + 4;
}
