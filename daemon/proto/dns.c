/*
 * DNS message checks (RFC 1035 4.1, RFC 2308, RFC 6891) for the caching
 * DNS proxy.
 *
 * Compression pointers (RFC 1035 4.1.4) must point at a label of a name
 * read earlier in the message, strictly before every byte already read
 * for the name being expanded.  Every jump therefore lands on bytes not
 * yet visited, so no loop is possible, and a name costs at most
 * DNS_NAME_MAX label bytes plus DNS_PTR_MAX jumps to expand.  A pointer
 * can never reach into a TTL, so rewriting TTLs cannot change a name.
 * Real compressors point at earlier names only, which these rules allow.
 */
#include "config.h"

#include <sys/socket.h>

#include <string.h>

#include "compat.h"
#include "err.h"
#include "dns.h"

#define DNS_PTR_MAX		(DNS_NAME_MAX / 2)
#define DNS_PTR_RANGE		0x4000	/* 14-bit offsets */

/* header flags word */
#define DNS_F_QR		0x8000
#define DNS_F_OPCODE(f)		(((f) >> 11) & 0x0f)
#define DNS_F_TC		0x0200
#define DNS_F_RCODE(f)		((f) & 0x000f)

/* byte 2 and 3 of the header */
#define DNS_B2_QR		0x80
#define DNS_B2_OPCODE		0x78
#define DNS_B2_TC		0x02
/* the UDP size our own OPT offers (DNS flag day 2020) */
#define DNS_OPT_SIZE		1232
#define DNS_B2_RD		0x01
#define DNS_B3_RA		0x80
#define DNS_B3_CD		0x10

/* RR fixed part after the owner: type, class, ttl, rdlength */
#define DNS_RR_FIXED		10
#define DNS_SOA_FIXED		20	/* serial refresh retry expire min */
#define DNS_TTL_MSB		0x80000000U

enum dns_section { SEC_AN, SEC_NS, SEC_AR };

/* Where labels of names read so far start: where pointers may go. */
struct dns_marks {
	uint8_t		bits[DNS_PTR_RANGE / 8];
};

struct dns_rr {
	size_t		name_off;
	uint16_t	type;
	uint16_t	class;
	uint32_t	ttl;
	size_t		ttl_off;
	size_t		rdata_off;
	size_t		rdlen;
};

static int
lower(int c)
{
	/* DNS names compare case-insensitively in ASCII only (RFC 4343). */
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static void
mark(struct dns_marks *mk, size_t off)
{
	if (off < DNS_PTR_RANGE)
		mk->bits[off / 8] |= 1U << (off % 8);
}

static int
marked(const struct dns_marks *mk, size_t off)
{
	return (mk->bits[off / 8] & (1U << (off % 8))) != 0;
}

/*
 * Read the name at *offp; on success *offp is past it where it was
 * found (past the first pointer, if any).  Without mk, pointers are
 * refused.  When wire is not NULL it receives the expanded name,
 * *wirelen its length.
 */
static int
name_read(const unsigned char *p, size_t len, size_t *offp,
    struct dns_marks *mk, unsigned char *wire, size_t *wirelen)
{
	size_t off = *offp, low = *offp, end = 0, wl = 0, jumps = 0, ptr, n;

	for (;;) {
		if (off >= len)
			return ERR_FORMAT;
		n = p[off];
		if (end == 0 && mk != NULL)
			mark(mk, off);
		if ((n & 0xc0) == 0xc0) {
			if (mk == NULL || len - off < 2 ||
			    ++jumps > DNS_PTR_MAX)
				return ERR_FORMAT;
			ptr = (n & 0x3f) << 8 | p[off + 1];
			if (ptr < DNS_HDR_LEN || ptr >= low ||
			    !marked(mk, ptr))
				return ERR_FORMAT;
			if (end == 0)
				end = off + 2;
			off = low = ptr;
			continue;
		}
		/* 0x40 and 0x80 are extended label types, not in use */
		if ((n & 0xc0) != 0 || n >= len - off ||
		    wl + 1 + n > DNS_NAME_MAX)
			return ERR_FORMAT;
		if (wire != NULL)
			memcpy(wire + wl, p + off, 1 + n);
		wl += 1 + n;
		off += 1 + n;
		if (n == 0)
			break;
	}
	*offp = end != 0 ? end : off;
	if (wirelen != NULL)
		*wirelen = wl;
	return 0;
}

/* Presentation form (RFC 1035 5.1): "." for root, \. \\ and \DDD. */
static void
name_text(const unsigned char *wire, char *out)
{
	size_t i = 0, o = 0, k, n;
	unsigned char c;

	if (wire[0] == 0) {
		out[o++] = '.';
		out[o] = '\0';
		return;
	}
	while ((n = wire[i]) != 0) {
		if (o != 0)
			out[o++] = '.';
		for (k = 1; k <= n; k++) {
			c = wire[i + k];
			if (c == '.' || c == '\\') {
				out[o++] = '\\';
				out[o++] = (char)c;
			} else if (c <= 0x20 || c >= 0x7f) {
				out[o++] = '\\';
				out[o++] = (char)('0' + c / 100);
				out[o++] = (char)('0' + c / 10 % 10);
				out[o++] = (char)('0' + c % 10);
			} else
				out[o++] = (char)c;
		}
		i += n + 1;
	}
	out[o] = '\0';
}

/* An RR's owner and fixed part; rdata must lie inside the message. */
static int
rr_read(const unsigned char *p, size_t len, size_t *offp,
    struct dns_marks *mk, struct dns_rr *rr)
{
	size_t off = *offp;

	rr->name_off = off;
	if (name_read(p, len, &off, mk, NULL, NULL) != 0 ||
	    len - off < DNS_RR_FIXED)
		return ERR_FORMAT;
	rr->type = be16dec(p + off);
	rr->class = be16dec(p + off + 2);
	rr->ttl_off = off + 4;
	rr->ttl = be32dec(p + off + 4);
	rr->rdlen = be16dec(p + off + 8);
	off += DNS_RR_FIXED;
	if (rr->rdlen > len - off)
		return ERR_FORMAT;
	rr->rdata_off = off;
	*offp = off + rr->rdlen;
	return 0;
}

/* OPT (RFC 6891 6.1.2): root owner, options exactly filling rdata. */
static int
opt_check(const unsigned char *p, const struct dns_rr *rr)
{
	size_t off = rr->rdata_off, end = rr->rdata_off + rr->rdlen, n;

	if (p[rr->name_off] != 0)
		return ERR_FORMAT;
	while (off < end) {
		if (end - off < 4)
			return ERR_FORMAT;
		n = be16dec(p + off + 2);
		off += 4;
		if (n > end - off)
			return ERR_FORMAT;
		off += n;
	}
	return 0;
}

/* A name inside rdata: it starts there and its uncompressed part fits. */
static int
rdata_name(const unsigned char *p, size_t len, size_t *offp, size_t end,
    struct dns_marks *mk)
{
	if (*offp >= end || name_read(p, len, offp, mk, NULL, NULL) != 0 ||
	    *offp > end)
		return ERR_FORMAT;
	return 0;
}

/*
 * The rdata of the types whose names may be compressed (RFC 3597 4)
 * and of SOA, whose MINIMUM is needed for negative caching.  Other
 * types are opaque to a cache.
 */
static int
rdata_check(const unsigned char *p, size_t len, const struct dns_rr *rr,
    struct dns_marks *mk, uint32_t *soa_min)
{
	size_t off = rr->rdata_off, end = rr->rdata_off + rr->rdlen;

	switch (rr->type) {
	case DNS_TYPE_NS:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_PTR:
		if (rdata_name(p, len, &off, end, mk) != 0)
			return ERR_FORMAT;
		break;
	case DNS_TYPE_MX:
		if (rr->rdlen < 2)
			return ERR_FORMAT;
		off += 2;
		if (rdata_name(p, len, &off, end, mk) != 0)
			return ERR_FORMAT;
		break;
	case DNS_TYPE_SOA:
		if (rdata_name(p, len, &off, end, mk) != 0 ||
		    rdata_name(p, len, &off, end, mk) != 0 ||
		    end - off != DNS_SOA_FIXED)
			return ERR_FORMAT;
		*soa_min = be32dec(p + off + 16);
		off += DNS_SOA_FIXED;
		break;
	default:
		off = end;
		break;
	}
	return off == end ? 0 : ERR_FORMAT;
}

/* RFC 2181 8: a TTL with the top bit set is taken as zero. */
static uint32_t
ttl_value(uint32_t ttl)
{
	return (ttl & DNS_TTL_MSB) != 0 ? 0 : ttl;
}

int
dns_parse_query(const unsigned char *p, size_t len, struct dns_query *q)
{
	struct dns_rr rr;
	size_t off = DNS_HDR_LEN, i;
	uint16_t ar;

	memset(q, 0, sizeof(*q));
	if (len < DNS_HDR_LEN || len > DNS_MSG_MAX)
		return ERR_FORMAT;
	q->id = be16dec(p);
	q->flags = be16dec(p + 2);
	ar = be16dec(p + 10);
	if ((q->flags & DNS_F_QR) != 0 || DNS_F_OPCODE(q->flags) != 0 ||
	    be16dec(p + 4) != 1 || be16dec(p + 6) != 0 || be16dec(p + 8) != 0 ||
	    ar > 1)
		return ERR_FORMAT;
	if (name_read(p, len, &off, NULL, q->qname_wire, &q->qname_len) != 0 ||
	    len - off < 4)
		return ERR_FORMAT;
	q->qtype = be16dec(p + off);
	q->qclass = be16dec(p + off + 2);
	off += 4;
	q->question_end = off;
	q->udp_size = DNS_UDP_MIN;
	if (ar == 1) {
		/* anything else here (TSIG, SIG(0)) is not for a cache */
		if (rr_read(p, len, &off, NULL, &rr) != 0 ||
		    rr.type != DNS_TYPE_OPT || opt_check(p, &rr) != 0)
			return ERR_FORMAT;
		q->edns = 1;
		if (rr.class > DNS_UDP_MIN)
			q->udp_size = rr.class;
		q->edns_version = (rr.ttl >> 16) & 0xff;
		q->do_bit = (rr.ttl & 0x8000) != 0;
	}
	if (off != len)
		return ERR_FORMAT;
	for (i = 0; i < q->qname_len; i++)
		q->qname_wire[i] = (unsigned char)lower(q->qname_wire[i]);
	name_text(q->qname_wire, q->qname);
	return 0;
}

/* The question of a response against the query's. */
static int
question_check(const unsigned char *p, size_t len, size_t *offp,
    struct dns_marks *mk, const struct dns_query *q)
{
	unsigned char wire[DNS_NAME_MAX];
	size_t wl, i;

	if (name_read(p, len, offp, mk, wire, &wl) != 0 ||
	    len - *offp < 4 || wl != q->qname_len)
		return ERR_FORMAT;
	for (i = 0; i < wl; i++)
		if (lower(wire[i]) != q->qname_wire[i])
			return ERR_FORMAT;
	if (be16dec(p + *offp) != q->qtype ||
	    be16dec(p + *offp + 2) != q->qclass)
		return ERR_FORMAT;
	*offp += 4;
	return 0;
}

int
dns_parse_response(const unsigned char *p, size_t len,
    const struct dns_query *q, struct dns_answer_info *a)
{
	struct dns_marks mk;
	struct dns_rr rr;
	size_t off = DNS_HDR_LEN, i, nrr, an, ns;
	uint32_t soa_min, ttl, min_ttl = UINT32_MAX;
	uint16_t flags;
	enum dns_section sec;
	int ext_rcode = 0, counted = 0;

	memset(a, 0, sizeof(*a));
	if (len < DNS_HDR_LEN || len > DNS_MSG_MAX)
		return ERR_FORMAT;
	flags = be16dec(p + 2);
	if (be16dec(p) != q->id || (flags & DNS_F_QR) == 0 ||
	    DNS_F_OPCODE(flags) != 0 || be16dec(p + 4) != 1)
		return ERR_FORMAT;
	a->truncated = (flags & DNS_F_TC) != 0;
	memset(&mk, 0, sizeof(mk));
	if (question_check(p, len, &off, &mk, q) != 0)
		return ERR_FORMAT;
	an = be16dec(p + 6);
	ns = be16dec(p + 8);
	nrr = an + ns + be16dec(p + 10);
	for (i = 0; i < nrr; i++) {
		sec = i < an ? SEC_AN : i < an + ns ? SEC_NS : SEC_AR;
		soa_min = UINT32_MAX;
		if (rr_read(p, len, &off, &mk, &rr) != 0) {
			/* RFC 2181 9: a truncated message may stop anywhere */
			if (a->truncated)
				break;
			return ERR_FORMAT;
		}
		if (rr.type == DNS_TYPE_OPT) {
			if (sec != SEC_AR || a->edns || opt_check(p, &rr) != 0)
				return ERR_FORMAT;
			a->edns = 1;
			ext_rcode = (rr.ttl >> 24) & 0xff;
			continue;
		}
		if (rdata_check(p, len, &rr, &mk, &soa_min) != 0)
			return ERR_FORMAT;
		if (sec == SEC_AR)
			continue;
		ttl = ttl_value(rr.ttl);
		if (sec == SEC_NS && rr.type == DNS_TYPE_SOA) {
			a->has_soa = 1;
			if (soa_min < ttl)
				ttl = soa_min;
		}
		if (ttl < min_ttl)
			min_ttl = ttl;
		counted = 1;
		if (sec == SEC_AN &&
		    (rr.type == q->qtype || q->qtype == DNS_TYPE_ANY))
			a->has_answer = 1;
	}
	if (!a->truncated && off != len)
		return ERR_FORMAT;
	a->rcode = ext_rcode << 4 | DNS_F_RCODE(flags);
	a->negative = a->rcode == DNS_RCODE_NXDOMAIN ||
	    (a->rcode == DNS_RCODE_NOERROR && !a->has_answer);
	a->min_ttl = counted ? min_ttl : 0;
	return 0;
}

void
dns_set_id(unsigned char *p, uint16_t id)
{
	be16enc(p, id);
}

/*
 * The walk is the one of dns_parse_response, so that the names (the
 * places pointers may go) are the same: what parsed still parses.
 */
int
dns_rewrite_ttls(unsigned char *p, size_t len, uint32_t elapsed)
{
	struct dns_marks mk;
	struct dns_rr rr;
	size_t off = DNS_HDR_LEN, i, nrr;
	uint32_t ttl, soa_min;
	int tc;

	if (len < DNS_HDR_LEN || len > DNS_MSG_MAX)
		return ERR_FORMAT;
	tc = (be16dec(p + 2) & DNS_F_TC) != 0;
	memset(&mk, 0, sizeof(mk));
	for (i = be16dec(p + 4); i > 0; i--) {
		if (name_read(p, len, &off, &mk, NULL, NULL) != 0 ||
		    len - off < 4)
			return ERR_FORMAT;
		off += 4;
	}
	nrr = (size_t)be16dec(p + 6) + be16dec(p + 8) + be16dec(p + 10);
	for (i = 0; i < nrr; i++) {
		if (rr_read(p, len, &off, &mk, &rr) != 0) {
			if (tc)
				break;
			return ERR_FORMAT;
		}
		if (rr.type == DNS_TYPE_OPT)
			continue;	/* its TTL holds flags */
		if (rdata_check(p, len, &rr, &mk, &soa_min) != 0)
			return ERR_FORMAT;
		ttl = ttl_value(rr.ttl);
		be32enc(p + rr.ttl_off, ttl > elapsed ? ttl - elapsed : 0);
	}
	if (!tc && off != len)
		return ERR_FORMAT;
	return 0;
}

size_t
dns_make_error(const unsigned char *query, size_t qlen, int rcode,
    unsigned char *out, size_t outlen)
{
	size_t off = DNS_HDR_LEN, n = DNS_HDR_LEN;
	int withq = 0;

	if (qlen < DNS_HDR_LEN || rcode < 0 || rcode > 0x0f ||
	    (query[2] & DNS_B2_QR) != 0)
		return 0;
	if (be16dec(query + 4) == 1 &&
	    name_read(query, qlen, &off, NULL, NULL, NULL) == 0 &&
	    qlen - off >= 4) {
		n = off + 4;
		withq = 1;
	}
	if (n > outlen)
		return 0;
	memcpy(out, query, n);
	/* RFC 1035 4.1.1: id, opcode and RD are copied; AA, TC cleared */
	out[2] = DNS_B2_QR | (query[2] & (DNS_B2_OPCODE | DNS_B2_RD));
	out[3] = DNS_B3_RA | (query[3] & DNS_B3_CD) | (unsigned char)rcode;
	memset(out + 4, 0, DNS_HDR_LEN - 4);
	out[5] = (unsigned char)withq;
	return n;
}

int
dns_make_query(const char *name, uint16_t qtype, uint16_t id,
    uint16_t udp_size, unsigned char *out, size_t outlen, size_t *lenp,
    struct dns_query *q)
{
	size_t tl = strlen(name), off = DNS_HDR_LEN, lab = 0, i;
	unsigned char c;

	if (tl > 0 && name[tl - 1] == '.')
		tl--;
	/* 253 text bytes: 255 on the wire with the first length and root */
	if (tl == 0 || tl > DNS_NAME_MAX - 2 ||
	    outlen < DNS_HDR_LEN + tl + 2 + 4 + 11)
		return ERR_FORMAT;
	memset(out, 0, DNS_HDR_LEN);
	out[0] = id >> 8;
	out[1] = id & 0xff;
	out[2] = DNS_B2_RD;
	out[5] = 1;
	out[11] = udp_size != 0;
	for (i = 0; i <= tl; i++) {
		c = i < tl ? (unsigned char)name[i] : '.';
		if (c == '.') {
			if (i == lab || i - lab > DNS_LABEL_MAX)
				return ERR_FORMAT;
			out[off++] = (unsigned char)(i - lab);
			memcpy(out + off, name + lab, i - lab);
			off += i - lab;
			lab = i + 1;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return ERR_FORMAT;
	}
	out[off++] = 0;
	out[off++] = qtype >> 8;
	out[off++] = qtype & 0xff;
	out[off++] = 0;
	out[off++] = 1;			/* IN */
	if (udp_size != 0) {
		out[off++] = 0;		/* root */
		out[off++] = 0;
		out[off++] = DNS_TYPE_OPT;
		out[off++] = udp_size >> 8;
		out[off++] = udp_size & 0xff;
		memset(out + off, 0, 6);	/* TTL (flags), rdlength */
		off += 6;
	}
	*lenp = off;
	return dns_parse_query(out, off, q);
}

static int
name_equal(const unsigned char *a, size_t al, const unsigned char *b,
    size_t bl)
{
	size_t i;

	if (al != bl)
		return 0;
	for (i = 0; i < al; i++)
		if (lower(a[i]) != lower(b[i]))
			return 0;
	return 1;
}

/*
 * One pass over the answer section of a parsed response.  With addrs
 * NULL: the target of a CNAME owned by cur, into cur (1 found, 0 none).
 * Otherwise: cur's records of type qtype, into addrs.  ttl takes the
 * minimum of the records used.
 */
static int
answer_pass(const unsigned char *p, size_t len, unsigned char *cur,
    size_t *curlen, uint16_t qtype, struct dns_addrs *addrs, uint32_t *ttl)
{
	unsigned char owner[DNS_NAME_MAX], target[DNS_NAME_MAX];
	struct dns_marks mk;
	struct dns_rr rr;
	size_t off = DNS_HDR_LEN, i, an, ol, tl, no, alen;
	uint32_t soa_min;

	memset(&mk, 0, sizeof(mk));
	for (i = be16dec(p + 4); i > 0; i--) {
		if (name_read(p, len, &off, &mk, NULL, NULL) != 0 ||
		    len - off < 4)
			return ERR_FORMAT;
		off += 4;
	}
	an = be16dec(p + 6);
	alen = qtype == DNS_TYPE_A ? 4 : 16;
	for (i = 0; i < an; i++) {
		if (rr_read(p, len, &off, &mk, &rr) != 0)
			return 0;	/* truncated: what was read counts */
		if (rr.type == DNS_TYPE_OPT ||
		    rdata_check(p, len, &rr, &mk, &soa_min) != 0)
			return ERR_FORMAT;
		no = rr.name_off;
		if (rr.class != 1 ||
		    name_read(p, len, &no, &mk, owner, &ol) != 0 ||
		    !name_equal(owner, ol, cur, *curlen))
			continue;
		if (addrs == NULL && rr.type == DNS_TYPE_CNAME) {
			no = rr.rdata_off;
			if (name_read(p, len, &no, &mk, target, &tl) != 0)
				return ERR_FORMAT;
			memcpy(cur, target, tl);
			*curlen = tl;
			if (ttl_value(rr.ttl) < *ttl)
				*ttl = ttl_value(rr.ttl);
			return 1;
		}
		if (addrs != NULL && rr.type == qtype && rr.rdlen == alen &&
		    addrs->n < DNS_ADDRS_MAX) {
			memcpy(addrs->addr[addrs->n++], p + rr.rdata_off, alen);
			if (ttl_value(rr.ttl) < *ttl)
				*ttl = ttl_value(rr.ttl);
		}
	}
	return 0;
}

int
dns_answer_addrs(const unsigned char *p, size_t len,
    const struct dns_query *q, struct dns_addrs *a)
{
	struct dns_answer_info ai;
	unsigned char cur[DNS_NAME_MAX];
	size_t curlen = q->qname_len, hops;
	uint32_t ttl = UINT32_MAX;
	int r;

	memset(a, 0, sizeof(*a));
	if ((q->qtype != DNS_TYPE_A && q->qtype != DNS_TYPE_AAAA) ||
	    dns_parse_response(p, len, q, &ai) != 0)
		return ERR_FORMAT;
	memcpy(cur, q->qname_wire, curlen);
	for (hops = 0; hops <= DNS_CNAME_MAX; hops++) {
		if ((r = answer_pass(p, len, cur, &curlen, q->qtype, NULL,
		    &ttl)) < 0)
			return r;
		if (r == 0)
			break;
	}
	if (hops > DNS_CNAME_MAX)
		return 0;		/* a loop, or too long: no address */
	if ((r = answer_pass(p, len, cur, &curlen, q->qtype, a, &ttl)) < 0)
		return r;
	a->ttl = a->n > 0 ? ttl : ai.min_ttl;
	if (a->n == 0 && !name_equal(cur, curlen, q->qname_wire, q->qname_len))
		name_text(cur, a->cname);
	return 0;
}

int
dns_add_ecs(unsigned char *msg, size_t *lenp, size_t outlen, int family,
    const unsigned char *addr)
{
	size_t len = *lenp, n, i;
	unsigned int prefix = family == AF_INET ? 24 : 56;
	unsigned char *opt;

	/* dns_make_query's OPT: the last 11 bytes, rdata empty */
	n = (prefix + 7) / 8;
	if ((family != AF_INET && family != AF_INET6) || len < DNS_HDR_LEN +
	    11 || be16dec(msg + 10) != 1 || msg[len - 11] != 0 ||
	    be16dec(msg + len - 10) != DNS_TYPE_OPT ||
	    be16dec(msg + len - 2) != 0 || outlen - len < 8 + n)
		return ERR_FORMAT;
	opt = msg + len;
	opt[0] = 0;
	opt[1] = 8;			/* EDNS-CLIENT-SUBNET */
	opt[2] = 0;
	opt[3] = (unsigned char)(4 + n);
	opt[4] = 0;
	opt[5] = family == AF_INET ? 1 : 2;
	opt[6] = (unsigned char)prefix;
	opt[7] = 0;			/* scope: 0 in queries */
	for (i = 0; i < n; i++)
		opt[8 + i] = addr[i];
	msg[len - 2] = 0;
	msg[len - 1] = (unsigned char)(8 + n);
	*lenp = len + 8 + n;
	return 0;
}

size_t
dns_truncate(const unsigned char *msg, size_t len, int edns,
    unsigned char *out, size_t outlen)
{
	size_t off = DNS_HDR_LEN;

	if (len < DNS_HDR_LEN || (msg[2] & DNS_B2_QR) == 0 ||
	    be16dec(msg + 4) > 1)
		return 0;
	if (be16dec(msg + 4) == 1) {
		if (name_read(msg, len, &off, NULL, NULL, NULL) != 0 ||
		    len - off < 4)
			return 0;
		off += 4;
	}
	if (off + (edns ? 11 : 0) > outlen)
		return 0;
	memcpy(out, msg, off);
	out[2] |= DNS_B2_TC;
	memset(out + 6, 0, DNS_HDR_LEN - 6);
	if (edns) {
		/* RFC 6891 7: an OPT answers an OPT; our own size, no flags */
		static const unsigned char opt[11] = {
			0, 0, DNS_TYPE_OPT, DNS_OPT_SIZE >> 8, DNS_OPT_SIZE & 0xff,
			0, 0, 0, 0, 0, 0
		};

		memcpy(out + off, opt, sizeof(opt));
		off += sizeof(opt);
		out[11] = 1;
	}
	return off;
}
