/*
 * HTTP/1.x proxy request parsing (RFC 9112): the request head only.  A
 * head is at most HTTP_HEAD_MAX bytes and HTTP_MAX_HEADERS fields; line
 * folding, bare CR, bare LF, control characters and whitespace before a
 * colon are refused.  So is every head whose message framing two
 * parsers could read differently (RFC 9112 6.1-6.3, 11.2: request
 * smuggling): Content-Length with Transfer-Encoding, repeated or
 * malformed Content-Length (even repeated identical values, as nginx
 * does), a repeated Transfer-Encoding, one with padding inside its
 * value, one whose last coding is not chunked, or any in HTTP/1.0.
 * A proxy that forwards such a head lets the next hop find a different
 * end of the message than it did.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "node.h"
#include "proto.h"
#include "text.h"

/*
 * Every line of a head ends in CRLF (RFC 9112 2.2): a bare LF that we
 * took as a line end could be part of a line for the next hop.
 */
static int
crlf_only(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			return 0;
	return 1;
}

/* Ports in requests: 1-65535. */
static int
parse_port(const char *s, size_t len, uint16_t *port)
{
	return port_parse(s, len, port) != 0 || *port == 0 ? -1 : 0;
}

/* host[:port] or [v6][:port] */
static int
parse_authority(const char *s, size_t len, uint16_t defport,
    struct proxy_target *t)
{
	const char *h = s, *colon = NULL, *he;
	size_t i;

	if (len == 0)
		return -1;
	if (s[0] == '[') {
		if ((he = memchr(s, ']', len)) == NULL)
			return -1;
		h = s + 1;
		if ((size_t)(he + 1 - s) < len) {
			if (he[1] != ':')
				return -1;
			colon = he + 1;
		}
	} else {
		for (i = 0; i < len; i++)
			if (s[i] == ':')
				colon = s + i;
		he = colon ? colon : s + len;
	}
	if (he == h || (size_t)(he - h) > PROXY_HOST_MAX)
		return -1;
	for (i = 0; i < (size_t)(he - h); i++)
		if (!isalnum((unsigned char)h[i]) && strchr("-._:~%", h[i]) ==
		    NULL)
			return -1;
	memcpy(t->host, h, (size_t)(he - h));
	t->host[he - h] = '\0';
	if (colon != NULL)
		return parse_port(colon + 1, (size_t)(s + len - colon - 1),
		    &t->port);
	if (defport == 0)
		return -1;
	t->port = defport;
	return 0;
}

int
http_parse_authority(const char *s, size_t len, uint16_t defport,
    struct proxy_target *t)
{
	return parse_authority(s, len, defport, t);
}

void
http_request_free(struct http_request *r)
{
	free(r->orig);
	free(r->raw);
	memset(r, 0, sizeof(*r));
}

/* Header fields of a head from s up to e (NUL-terminated in place). */
static int
parse_fields(char *s, char *e, struct http_request *r)
{
	char *nl, *t;

	for (; s < e; s = nl + 1) {
		char *colon, *v, *ve;

		if ((nl = memchr(s, '\n', (size_t)(e - s))) == NULL)
			return -1;
		*nl = '\0';
		if (nl > s && nl[-1] == '\r')
			nl[-1] = '\0';
		if (*s == '\0')
			break;			/* the empty line */
		if (strchr(s, '\r') != NULL || *s == ' ' || *s == '\t')
			return -1;		/* bare CR, obs-fold */
		if (r->nhdr == HTTP_MAX_HEADERS)
			return -1;
		if ((colon = strchr(s, ':')) == NULL || colon == s)
			return -1;
		for (t = s; t < colon; t++)
			if (!text_tchar((unsigned char)*t))
				return -1;
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (ve = v + strlen(v); ve > v && (ve[-1] == ' ' ||
		    ve[-1] == '\t'); ve--)
			;
		/*
		 * "Transfer-Encoding:\tchunked", "...: chunked " and
		 * the like: OWS allowed by RFC 9110, but padding that
		 * some parsers keep; only the plain spelling passes.
		 */
		if (colon - s == 17 && strncasecmp(s, "Transfer-Encoding",
		    17) == 0 && (v - colon > 2 || colon[1] == '\t' ||
		    *ve != '\0'))
			return -1;
		r->hdr[r->nhdr].name = s;
		r->hdr[r->nhdr].namelen = (size_t)(colon - s);
		r->hdr[r->nhdr].value = v;
		r->hdr[r->nhdr].valuelen = (size_t)(ve - v);
		r->nhdr++;
	}
	return 0;
}

int
http_parse_request(struct buf *b, struct http_request *r)
{
	const unsigned char *p = buf_ptr(b);
	size_t len = buf_len(b), hlen, i;
	char *s, *e, *line, *nl, *sp1, *sp2, *t;

	memset(r, 0, sizeof(*r));
	if (len > HTTP_HEAD_MAX)
		len = HTTP_HEAD_MAX;
	if ((hlen = text_head_end(p, len)) == 0)
		return buf_len(b) >= HTTP_HEAD_MAX ? ERR_TOO_LONG :
		    ERR_INCOMPLETE;
	if (!crlf_only(p, hlen))
		return ERR_FORMAT;
	for (i = 0; i < hlen; i++)
		if (p[i] == 0 || (p[i] < 0x20 && p[i] != '\r' && p[i] != '\n' &&
		    p[i] != '\t') || p[i] == 0x7f)
			return ERR_FORMAT;
	if ((r->raw = malloc(hlen + 1)) == NULL ||
	    (r->orig = malloc(hlen)) == NULL) {
		http_request_free(r);
		return ERR_ALLOC;
	}
	memcpy(r->orig, p, hlen);
	memcpy(r->raw, p, hlen);
	r->raw[hlen] = '\0';
	r->rawlen = hlen;
	s = r->raw;
	e = r->raw + hlen;

	/* request line */
	nl = memchr(s, '\n', (size_t)(e - s));
	line = s;
	*nl = '\0';
	if (nl > line && nl[-1] == '\r')
		nl[-1] = '\0';
	if (strchr(line, '\r') != NULL)
		goto bad;
	if ((sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL || strchr(sp2 + 1, ' '))
		goto bad;
	for (t = line; t < sp1; t++)
		if (!text_tchar((unsigned char)*t))
			goto bad;
	if (sp1 == line || sp2 == sp1 + 1)
		goto bad;
	if (strncmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    !isdigit((unsigned char)sp2[8]) || sp2[9] != '\0')
		goto bad;
	r->minor = sp2[8] - '0';
	r->method = line;
	r->methodlen = (size_t)(sp1 - line);
	if (r->methodlen == 7 && memcmp(line, "CONNECT", 7) == 0) {
		r->is_connect = 1;
		if (parse_authority(sp1 + 1, (size_t)(sp2 - sp1 - 1), 0,
		    &r->dst) != 0)
			goto bad;
	} else {
		const char *u = sp1 + 1, *auth, *slash;
		size_t ulen = (size_t)(sp2 - u);

		/* absolute-form, http only: other schemes are refused */
		if (ulen < 8 || strncasecmp(u, "http://", 7) != 0)
			goto bad;
		auth = u + 7;
		slash = memchr(auth, '/', ulen - 7);
		if (slash == NULL)
			slash = memchr(auth, '?', ulen - 7);
		if (parse_authority(auth, (size_t)((slash ? slash : u + ulen) -
		    auth), 80, &r->dst) != 0)
			goto bad;
		if (memchr(auth, '@', (size_t)((slash ? slash : u + ulen) -
		    auth)) != NULL)
			goto bad;
		r->path = slash ? slash : "/";
		r->pathlen = slash ? (size_t)(u + ulen - slash) : 1;
	}

	if (parse_fields(nl + 1, e, r) != 0 || http_framing(r, NULL) < 0)
		goto bad;
	return buf_consume(b, hlen);
 bad:
	http_request_free(r);
	return ERR_FORMAT;
}

const struct http_header *
http_header_get(const struct http_request *r, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < r->nhdr; i++)
		if (r->hdr[i].namelen == n &&
		    strncasecmp(r->hdr[i].name, name, n) == 0)
			return &r->hdr[i];
	return NULL;
}

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
http_basic_decode(const char *v, size_t len, char *user, size_t userlen,
    char *pass, size_t passlen)
{
	unsigned char out[512];
	size_t i, o = 0, bits = 0;
	unsigned int acc = 0;
	char *colon;
	int x;

	if (len < 6 || strncasecmp(v, "Basic ", 6) != 0)
		return -1;
	for (i = 6; i < len && v[i] == ' '; i++)
		;
	for (; i < len && v[i] != '='; i++) {
		if ((x = b64val((unsigned char)v[i])) < 0)
			return -1;
		acc = (acc << 6) | (unsigned int)x;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= sizeof(out) - 1)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	for (; i < len; i++)
		if (v[i] != '=')
			return -1;
	out[o] = '\0';
	if (memchr(out, '\0', o) != NULL ||
	    (colon = strchr((char *)out, ':')) == NULL)
		return -1;
	*colon = '\0';
	if (strlen((char *)out) >= userlen || strlen(colon + 1) >= passlen)
		return -1;
	strcpy(user, (char *)out);
	strcpy(pass, colon + 1);
	explicit_bzero(out, sizeof(out));
	return 0;
}

/* Hop-by-hop: the fixed list, and every field Connection names. */
static int
hop_by_hop(const struct http_request *r, const struct http_header *h)
{
	static const char *const names[] = {
		"Proxy-Authorization", "Proxy-Connection", "Proxy-Authenticate",
		"Connection", "Keep-Alive", "TE", "Trailer", "Upgrade", NULL
	};
	const struct http_header *c;
	const char *p, *e, *tok;
	size_t i;

	for (i = 0; names[i] != NULL; i++)
		if (h->namelen == strlen(names[i]) &&
		    strncasecmp(h->name, names[i], h->namelen) == 0)
			return 1;
	for (i = 0; i < r->nhdr; i++) {
		c = &r->hdr[i];
		if (c->namelen != 10 || strncasecmp(c->name, "Connection", 10))
			continue;
		p = c->value;
		e = c->value + c->valuelen;
		while (p < e) {
			while (p < e && (*p == ',' || *p == ' ' || *p == '\t'))
				p++;
			tok = p;
			while (p < e && *p != ',' && *p != ' ' && *p != '\t')
				p++;
			if ((size_t)(p - tok) == h->namelen &&
			    strncasecmp(tok, h->name, h->namelen) == 0)
				return 1;
		}
	}
	return 0;
}

char *
http_rewrite_request(const struct http_request *r, size_t *lenp)
{
	size_t cap = r->rawlen + 2 * r->nhdr + 64, o = 0, i;
	char *out;
	int n;

	if ((out = malloc(cap)) == NULL)
		return NULL;
	/* "http://host?q" has an empty path: origin-form needs "/". */
	n = snprintf(out, cap, "%.*s %s%.*s HTTP/1.%d\r\n", (int)r->methodlen,
	    r->method, r->path[0] == '?' ? "/" : "", (int)r->pathlen, r->path,
	    r->minor);
	if (n < 0 || (size_t)n >= cap)
		goto fail;
	o = (size_t)n;
	for (i = 0; i < r->nhdr; i++) {
		const struct http_header *h = &r->hdr[i];

		if (hop_by_hop(r, h))
			continue;
		n = snprintf(out + o, cap - o, "%.*s: %.*s\r\n",
		    (int)h->namelen, h->name, (int)h->valuelen, h->value);
		if (n < 0 || (size_t)n >= cap - o)
			goto fail;
		o += (size_t)n;
	}
	/* One request per upstream connection: no keep-alive mix-ups. */
	n = snprintf(out + o, cap - o, "Connection: close\r\n\r\n");
	if (n < 0 || (size_t)n >= cap - o)
		goto fail;
	*lenp = o + (size_t)n;
	return out;
 fail:
	free(out);
	return NULL;
}

/*
 * Client side: the end of a response head within p[0..avail) and its
 * status code.  Returns 0 with *headlen, ERR_INCOMPLETE, ERR_TOO_LONG
 * or ERR_FORMAT.
 */
int
http_parse_status(const unsigned char *p, size_t avail, size_t *headlen,
    int *code)
{
	size_t hl = text_head_end(p, avail > HTTP_HEAD_MAX ? HTTP_HEAD_MAX :
	    avail);

	if (hl == 0)
		return avail >= HTTP_HEAD_MAX ? ERR_TOO_LONG : ERR_INCOMPLETE;
	if (hl < 13 || memcmp(p, "HTTP/1.", 7) != 0 || !isdigit(p[7]) ||
	    p[8] != ' ' || !isdigit(p[9]) || !isdigit(p[10]) ||
	    !isdigit(p[11]) || (p[12] != ' ' && p[12] != '\r' && p[12] != '\n'))
		return ERR_FORMAT;
	*code = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	*headlen = hl;
	return 0;
}

/*
 * A response head (client side of an HTTP forward), parsed like a
 * request into r: minor version and header fields; *code the status.
 */
int
http_parse_response(const unsigned char *p, size_t avail,
    struct http_request *r, int *code)
{
	size_t hlen, i;
	char *nl;
	int e;

	memset(r, 0, sizeof(*r));
	if ((e = http_parse_status(p, avail, &hlen, code)) != 0)
		return e;
	if (!crlf_only(p, hlen))
		return ERR_FORMAT;
	for (i = 0; i < hlen; i++)
		if (p[i] == 0 || (p[i] < 0x20 && p[i] != '\r' && p[i] != '\n' &&
		    p[i] != '\t') || p[i] == 0x7f)
			return ERR_FORMAT;
	if ((r->raw = malloc(hlen + 1)) == NULL)
		return ERR_ALLOC;
	memcpy(r->raw, p, hlen);
	r->raw[hlen] = '\0';
	r->rawlen = hlen;
	r->minor = p[7] - '0';
	nl = memchr(r->raw, '\n', hlen);
	if (nl != NULL) {
		*nl = '\0';		/* the status line, for the rewrite */
		if (nl > r->raw && nl[-1] == '\r')
			nl[-1] = '\0';
	}
	if (nl == NULL || strchr(r->raw, '\r') != NULL ||
	    parse_fields(nl + 1, r->raw + hlen, r) != 0 ||
	    http_framing(r, NULL) < 0) {
		http_request_free(r);
		return ERR_FORMAT;
	}
	return 0;
}

/* Whether the header's comma list holds token (case-insensitive). */
static int
has_token(const struct http_request *r, const char *name, const char *token)
{
	size_t i, n = strlen(name), tl = strlen(token);
	const char *p, *e, *t;

	for (i = 0; i < r->nhdr; i++) {
		if (r->hdr[i].namelen != n ||
		    strncasecmp(r->hdr[i].name, name, n) != 0)
			continue;
		p = r->hdr[i].value;
		e = p + r->hdr[i].valuelen;
		while (p < e) {
			while (p < e && (*p == ',' || *p == ' ' || *p == '\t'))
				p++;
			t = p;
			while (p < e && *p != ',' && *p != ' ' && *p != '\t')
				p++;
			if ((size_t)(p - t) == tl && strncasecmp(t, token,
			    tl) == 0)
				return 1;
		}
	}
	return 0;
}

/* RFC 9112 9.3: HTTP/1.1 persists unless "close"; 1.0 only if asked. */
int
http_keepalive(const struct http_request *r)
{
	if (has_token(r, "Connection", "close") ||
	    has_token(r, "Proxy-Connection", "close"))
		return 0;
	if (r->minor >= 1)
		return 1;
	return has_token(r, "Connection", "keep-alive") ||
	    has_token(r, "Proxy-Connection", "keep-alive");
}

/* Whether name is the field h (case-insensitive). */
static int
is_field(const struct http_header *h, const char *name, size_t len)
{
	return h->namelen == len && strncasecmp(h->name, name, len) == 0;
}

/*
 * A Transfer-Encoding value: codings separated by commas with at most
 * one space around each, no parameters, chunked last and only there.
 */
static int
te_valid(const char *v, size_t len)
{
	size_t i = 0, t;

	for (;;) {
		if (i < len && v[i] == ' ')
			i++;
		for (t = i; i < len && text_tchar((unsigned char)v[i]); i++)
			;
		if (i == t)
			return 0;
		if (i - t == 7 && strncasecmp(v + t, "chunked", 7) == 0) {
			/* chunked ends the list (RFC 9112 6.1) */
			return i == len;
		}
		if (i < len && v[i] == ' ')
			i++;
		if (i == len || v[i] != ',')
			return 0;
		i++;
	}
}

/*
 * The framing fields of a parsed head (RFC 9112 6.1-6.3): ERR_FORMAT
 * for every ambiguous or malformed shape (see the top of this file);
 * else HTTP_BODY_CHUNKED, HTTP_BODY_LENGTH with *len (if len is not
 * NULL), or HTTP_BODY_NONE when neither field is present.
 */
int
http_framing(const struct http_request *r, uint64_t *len)
{
	const struct http_header *h, *te = NULL, *cl = NULL;
	uint64_t v = 0;
	size_t i, j;

	for (i = 0; i < r->nhdr; i++) {
		h = &r->hdr[i];
		if (is_field(h, "Transfer-Encoding", 17)) {
			if (te != NULL)
				return ERR_FORMAT;
			te = h;
		} else if (is_field(h, "Content-Length", 14)) {
			if (cl != NULL)
				return ERR_FORMAT;
			cl = h;
		}
	}
	if (te != NULL) {
		/* HTTP/1.0 has no chunked coding (RFC 9112 6.1) */
		if (cl != NULL || r->minor == 0 || !te_valid(te->value,
		    te->valuelen))
			return ERR_FORMAT;
		return HTTP_BODY_CHUNKED;
	}
	if (cl == NULL)
		return HTTP_BODY_NONE;
	/* 1*DIGIT, no sign, no list; 18 digits cannot overflow */
	if (cl->valuelen == 0 || cl->valuelen > 18)
		return ERR_FORMAT;
	for (j = 0; j < cl->valuelen; j++) {
		if (!isdigit((unsigned char)cl->value[j]))
			return ERR_FORMAT;
		v = v * 10 + (uint64_t)(cl->value[j] - '0');
	}
	if (len != NULL)
		*len = v;
	return HTTP_BODY_LENGTH;
}

/*
 * How a message's body ends (RFC 9112 6.3): HTTP_BODY_NONE,
 * HTTP_BODY_LENGTH (*len bytes), HTTP_BODY_CHUNKED or HTTP_BODY_CLOSE
 * (a response read to the end of the connection); ERR_FORMAT for
 * conflicting or malformed framing.  code < 0 for a request.
 */
int
http_body(const struct http_request *r, int code, int head_request,
    uint64_t *len)
{
	int f;

	*len = 0;
	if ((f = http_framing(r, len)) < 0)
		return f;
	if (code >= 0 && (head_request || (code >= 100 && code < 200) ||
	    code == 204 || code == 304)) {
		*len = 0;
		return HTTP_BODY_NONE;
	}
	if (f == HTTP_BODY_LENGTH && *len == 0)
		return HTTP_BODY_NONE;
	if (f == HTTP_BODY_NONE && code >= 0)
		return HTTP_BODY_CLOSE;
	return f;
}

/* Chunked body scanner states */
enum {
	CH_SIZE = 0, CH_SIZE_WS, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR,
	CH_DATA_LF, CH_TRAILER_START, CH_TRAILER, CH_TRAILER_LF, CH_END_LF,
	CH_DONE
};
#define CH_LINE_MAX	4096	/* a chunk-size line, a trailer line */

/* Bytes that may stand in a chunk extension or a trailer line. */
static int
ch_linechar(unsigned char c)
{
	return (c >= 0x20 && c != 0x7f) || c == '\t';
}

void
http_chunked_init(struct http_chunked *c)
{
	memset(c, 0, sizeof(*c));
}

/*
 * Follow a chunked body (RFC 9112 7.1) through p[0..len): 0 when all of
 * it belongs to the body and more is to come, 1 when the body ends
 * after *used bytes (the rest is not part of it), ERR_FORMAT when it is
 * not a well-formed chunked body: a chunk size that is not hex or
 * overflows, a missing CRLF, a bare CR or LF, an overlong line.  Never
 * guesses: a body we cannot frame is refused, not forwarded.
 */
int
http_chunked_scan(struct http_chunked *c, const unsigned char *p,
    size_t len, size_t *used)
{
	size_t i = 0, n;
	unsigned char ch;
	int d;

	*used = 0;
	while (i < len) {
		if (c->state == CH_DATA) {
			n = len - i;
			if (n > c->left)
				n = (size_t)c->left;
			c->left -= n;
			i += n;
			if (c->left == 0)
				c->state = CH_DATA_CR;
			continue;
		}
		ch = p[i++];
		switch (c->state) {
		case CH_SIZE:
			if (ch >= '0' && ch <= '9')
				d = ch - '0';
			else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
				d = (ch | 0x20) - 'a' + 10;
			else
				d = -1;
			if (d >= 0) {
				if (c->left > (UINT64_MAX >> 4))
					return ERR_FORMAT;
				c->left = (c->left << 4) | (uint64_t)d;
				c->digits++;
				break;
			}
			if (c->digits == 0)
				return ERR_FORMAT;
			if (ch == ' ' || ch == '\t')
				c->state = CH_SIZE_WS;
			else if (ch == ';')
				c->state = CH_EXT;
			else if (ch == '\r')
				c->state = CH_SIZE_LF;
			else
				return ERR_FORMAT;
			break;
		case CH_SIZE_WS:	/* BWS before an extension only */
			if (ch == ';')
				c->state = CH_EXT;
			else if (ch != ' ' && ch != '\t')
				return ERR_FORMAT;
			break;
		case CH_EXT:
			if (ch == '\r')
				c->state = CH_SIZE_LF;
			else if (!ch_linechar(ch))
				return ERR_FORMAT;
			break;
		case CH_SIZE_LF:
			if (ch != '\n')
				return ERR_FORMAT;
			c->state = c->left == 0 ? CH_TRAILER_START : CH_DATA;
			c->digits = 0;
			c->line = 0;
			continue;
		case CH_DATA_CR:
			if (ch != '\r')
				return ERR_FORMAT;
			c->state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				return ERR_FORMAT;
			c->state = CH_SIZE;
			c->line = 0;
			continue;
		case CH_TRAILER_START:
			if (ch == '\r') {
				c->state = CH_END_LF;
				break;
			}
			/* obs-fold in the trailer section: refused too */
			if (ch == ' ' || ch == '\t' || !ch_linechar(ch))
				return ERR_FORMAT;
			c->state = CH_TRAILER;
			break;
		case CH_TRAILER:
			if (ch == '\r')
				c->state = CH_TRAILER_LF;
			else if (!ch_linechar(ch))
				return ERR_FORMAT;
			break;
		case CH_TRAILER_LF:
			if (ch != '\n')
				return ERR_FORMAT;
			c->state = CH_TRAILER_START;
			c->line = 0;
			continue;
		case CH_END_LF:
			if (ch != '\n')
				return ERR_FORMAT;
			c->state = CH_DONE;
			*used = i;
			return 1;
		default:		/* CH_DONE: nothing more belongs */
			*used = i - 1;
			return 1;
		}
		/* a size line, an extension, a trailer line: bounded */
		if (++c->line > CH_LINE_MAX || (c->state >= CH_TRAILER_START &&
		    ++c->trailer > HTTP_HEAD_MAX))
			return ERR_FORMAT;
	}
	*used = len;
	return 0;
}

/*
 * A response head for the client: the status line as it came, the
 * end-to-end fields, and our own Connection field.
 */
char *
http_rewrite_response(const struct http_request *r, int keep, size_t *lenp)
{
	size_t cap = r->rawlen + 2 * r->nhdr + 64, o, i;
	const char *nl = memchr(r->raw, '\0', r->rawlen);
	char *out;
	int n;

	if (nl == NULL || (out = malloc(cap)) == NULL)
		return NULL;
	n = snprintf(out, cap, "%s\r\n", r->raw);	/* the status line */
	if (n < 0 || (size_t)n >= cap)
		goto fail;
	o = (size_t)n;
	for (i = 0; i < r->nhdr; i++) {
		const struct http_header *h = &r->hdr[i];

		if (hop_by_hop(r, h))
			continue;
		n = snprintf(out + o, cap - o, "%.*s: %.*s\r\n",
		    (int)h->namelen, h->name, (int)h->valuelen, h->value);
		if (n < 0 || (size_t)n >= cap - o)
			goto fail;
		o += (size_t)n;
	}
	n = snprintf(out + o, cap - o, "Connection: %s\r\n\r\n",
	    keep ? "keep-alive" : "close");
	if (n < 0 || (size_t)n >= cap - o)
		goto fail;
	*lenp = o + (size_t)n;
	return out;
 fail:
	free(out);
	return NULL;
}
