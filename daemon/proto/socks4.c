/* SOCKS4 and SOCKS4a server-side request parsing. */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>

#include <sys/socket.h>
#include <netinet/in.h>

#include <string.h>

#include "err.h"
#include "proto.h"

int
socks4_parse_request(struct buf *b, struct socks4_request *r)
{
	const unsigned char *p = buf_ptr(b), *nul, *dnul;
	size_t len = buf_len(b), ulen, dlen;

	memset(r, 0, sizeof(*r));
	if (len < 9)
		return ERR_INCOMPLETE;
	if (p[0] != SOCKS4_VER)
		return ERR_FORMAT;
	r->cmd = p[1];
	r->dst.port = (uint16_t)(p[2] << 8 | p[3]);
	/* USERID, NUL-terminated, bounded */
	if ((nul = memchr(p + 8, '\0', len - 8)) == NULL)
		return len - 8 > 255 ? ERR_TOO_LONG : ERR_INCOMPLETE;
	ulen = (size_t)(nul - (p + 8));
	if (ulen > 255)
		return ERR_TOO_LONG;
	memcpy(r->userid, p + 8, ulen);
	/* 4a: 0.0.0.x with x != 0 means a domain name follows */
	if (p[4] == 0 && p[5] == 0 && p[6] == 0 && p[7] != 0) {
		r->is4a = 1;
		dnul = memchr(nul + 1, '\0', len - (size_t)(nul + 1 - p));
		if (dnul == NULL)
			return len - (size_t)(nul + 1 - p) > PROXY_HOST_MAX ?
			    ERR_TOO_LONG : ERR_INCOMPLETE;
		dlen = (size_t)(dnul - (nul + 1));
		if (dlen == 0 || dlen > PROXY_HOST_MAX)
			return ERR_FORMAT;
		memcpy(r->dst.host, nul + 1, dlen);
		r->dst.host[dlen] = '\0';
		return buf_consume(b, (size_t)(dnul + 1 - p));
	}
	inet_ntop(AF_INET, p + 4, r->dst.host, sizeof(r->dst.host));
	return buf_consume(b, (size_t)(nul + 1 - p));
}

void
socks4_reply(unsigned char out[8], int rep)
{
	memset(out, 0, 8);
	out[1] = (unsigned char)rep;
}

/* A reply naming an IPv4 address and port (BIND); others as zeros. */
void
socks4_reply_addr(unsigned char out[8], int rep, const struct sockaddr *sa)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

	socks4_reply(out, rep);
	if (sa != NULL && sa->sa_family == AF_INET) {
		memcpy(out + 2, &sin->sin_port, 2);
		memcpy(out + 4, &sin->sin_addr, 4);
	}
}
