/*
 * DNS message checks for the caching DNS proxy (RFC 1035, RFC 2308,
 * RFC 6891, RFC 7766).  Pure functions over one message (for TCP, the
 * caller strips the 2-byte length prefix): no I/O, no allocation.
 * Functions return 0 or a negative error from err.h.
 */
#ifndef OSTP_DNS_H
#define OSTP_DNS_H

#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN		12
#define DNS_MSG_MAX		65535
#define DNS_UDP_MIN		512	/* RFC 1035 4.2.1, RFC 6891 6.2.5 */
#define DNS_NAME_MAX		255	/* wire form, RFC 1035 2.3.4 */
#define DNS_LABEL_MAX		63
/* Text form: "\DDD" for each odd byte, dots; 1003 bytes at worst. */
#define DNS_TEXT_MAX		1024

#define DNS_TYPE_A		1
#define DNS_TYPE_NS		2
#define DNS_TYPE_CNAME		5
#define DNS_TYPE_SOA		6
#define DNS_TYPE_PTR		12
#define DNS_TYPE_MX		15
#define DNS_TYPE_AAAA		28
#define DNS_TYPE_OPT		41
#define DNS_TYPE_ANY		255

#define DNS_RCODE_NOERROR	0
#define DNS_RCODE_FORMERR	1
#define DNS_RCODE_SERVFAIL	2
#define DNS_RCODE_NXDOMAIN	3
#define DNS_RCODE_NOTIMP	4
#define DNS_RCODE_REFUSED	5

struct dns_query {
	uint16_t	id;
	uint16_t	flags;		/* header flags word as sent */
	uint16_t	qtype;
	uint16_t	qclass;
	int		edns;		/* an OPT RR was present */
	uint16_t	udp_size;	/* DNS_UDP_MIN without EDNS */
	uint8_t		edns_version;
	int		do_bit;		/* DNSSEC OK (RFC 3225) */
	size_t		question_end;	/* offset past the question */
	size_t		qname_len;
	unsigned char	qname_wire[DNS_NAME_MAX];	/* lowercased */
	char		qname[DNS_TEXT_MAX];	/* lowercased, "." for root */
};

struct dns_answer_info {
	int		rcode;		/* with the EDNS extended bits */
	int		truncated;	/* TC: do not cache */
	int		edns;
	/* the answer section holds an RR of the question's type */
	int		has_answer;
	int		negative;	/* NXDOMAIN or NODATA (RFC 2308) */
	int		has_soa;	/* SOA in the authority section */
	/*
	 * Smallest TTL of the answer and authority RRs, an authority SOA
	 * counting as min(TTL, MINIMUM) (RFC 2308 5); 0 when there are
	 * none, so that such answers are not cached.
	 */
	uint32_t	min_ttl;
};

/*
 * A standard query: QR=0, opcode QUERY, one question, no answer or
 * authority RRs, at most one additional RR which must be EDNS OPT.  No
 * compression pointers in the question (there is nothing before it to
 * point at).  ERR_FORMAT when anything is off.
 */
int	dns_parse_query(const unsigned char *p, size_t len, struct dns_query *);
/*
 * An upstream response to q: same id, QR=1, the same single question
 * (names compared case-insensitively), every RR well-formed, the whole
 * message consumed.  A truncated (TC) response may end anywhere after
 * the question.
 */
int	dns_parse_response(const unsigned char *p, size_t len,
	    const struct dns_query *q, struct dns_answer_info *);
void	dns_set_id(unsigned char *p, uint16_t id);
/*
 * For an answer served from cache: subtract elapsed seconds from every
 * TTL but OPT's, flooring at 0.  ERR_FORMAT if the message is malformed
 * (then it may be partly rewritten).
 */
int	dns_rewrite_ttls(unsigned char *p, size_t len, uint32_t elapsed);
/*
 * An error reply (rcode 0-15) to query: its header, and its question
 * when that parses, with QR and RA set.  Returns the length, or 0 when
 * nothing can be sent: too short to have an id, a response (answering
 * it could start a loop between two proxies), or outlen too small.
 */
size_t	dns_make_error(const unsigned char *query, size_t qlen, int rcode,
	    unsigned char *out, size_t outlen);

/*
 * The resolver's side.  A query for name (text form, an optional final
 * dot) and type, with RD set and an EDNS OPT advertising udp_size (0:
 * none), into out; q receives what dns_parse_response checks answers
 * against.  ERR_FORMAT for a name a resolver must not send: empty,
 * longer than 253 bytes, an empty label or one over 63 bytes, or any
 * byte but letters, digits, '-', '_' and '.'.
 */
int	dns_make_query(const char *name, uint16_t qtype, uint16_t id,
	    uint16_t udp_size, unsigned char *out, size_t outlen,
	    size_t *lenp, struct dns_query *q);

#define DNS_ADDRS_MAX		16	/* addresses kept of one answer */
#define DNS_CNAME_MAX		8	/* aliases followed */

struct dns_addrs {
	size_t		n;
	unsigned char	addr[DNS_ADDRS_MAX][16];	/* 4 or 16 bytes used */
	uint32_t	ttl;	/* smallest TTL of the records used */
	/* where the CNAME chain led, in text form ("" if nowhere else) */
	char		cname[DNS_TEXT_MAX];
};

/*
 * The A or AAAA addresses (q's type) of a response that passed
 * dns_parse_response: those of the question's name, or of the name its
 * chain of CNAME records in the answer section leads to.  Records of
 * other owners are ignored (a resolver must not take addresses for
 * names it did not ask about).  n = 0 for a negative answer; ttl then
 * is the answer's min_ttl.  A chain that ends in a name with no
 * records here (some servers give only the alias) leaves that name in
 * cname, for the resolver to ask about (RFC 1034 5.3.3).
 */
int	dns_answer_addrs(const unsigned char *p, size_t len,
	    const struct dns_query *q, struct dns_addrs *);

#endif
