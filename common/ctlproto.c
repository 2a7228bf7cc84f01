/*
 * The records of a worker's report, the control socket's request line
 * and the escaping of answer values (ctlproto.h).
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "err.h"
#include "log.h"

const char *const ctl_dial_reasons[] = {
	"denied", "refused", "timeout", "unreachable", "dns", "other", NULL
};

static const char *const level_names[] = {
	"fatal", "error", "info", "verbose", "debug", "debug2", "debug3", NULL
};

/* A string with a one-byte length: at most 255 bytes, no NUL. */
static int
put_str(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	if (n > 255)
		n = 255;
	if (buf_put_u8(b, (uint8_t)n) != 0)
		return -1;
	return buf_put(b, s, n);
}

static int
get_str(struct buf *b, char *out, size_t outlen)
{
	struct buf v;
	size_t n;

	if (buf_get_vec(b, 1, &v) != 0)
		return -1;
	n = buf_len(&v);
	if (n >= outlen || memchr(buf_ptr(&v), '\0', n) != NULL)
		return -1;
	memcpy(out, buf_ptr(&v), n);
	out[n] = '\0';
	return 0;
}

static int
put_cnt(struct buf *b, const uint64_t *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (buf_put_u64(b, c[i]) != 0)
			return -1;
	return 0;
}

static int
get_cnt(struct buf *b, uint64_t *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (buf_get_u64(b, &c[i]) != 0)
			return -1;
	return 0;
}

/*
 * u8 type, u16 length of the body, then the body: a reader can check
 * each record's length before it looks inside.
 */
int
ctl_rec_enc(struct buf *b, const struct ctl_rec *r)
{
	struct buf body;
	int ok = -1;

	buf_init(&body);
	switch (r->type) {
	case CTL_R_WORKER:
		ok = put_cnt(&body, r->c, CTL_W_N);
		break;
	case CTL_R_LIS:
	case CTL_R_OB:
		ok = buf_put_u32(&body, r->idx) == 0 ?
		    put_cnt(&body, r->c, CTL_C_N) : -1;
		break;
	case CTL_R_USER:
		ok = put_str(&body, r->name) == 0 ?
		    put_cnt(&body, r->c, CTL_C_N) : -1;
		break;
	case CTL_R_CONN:
		ok = (buf_put_u32(&body, r->idx) == 0 &&
		    buf_put_u32(&body, r->ob) == 0 &&
		    buf_put_u32(&body, r->rule) == 0 &&
		    buf_put_u8(&body, r->mode) == 0 &&
		    buf_put_u64(&body, r->age_ms) == 0 &&
		    buf_put_u64(&body, r->c[CTL_C_IN]) == 0 &&
		    buf_put_u64(&body, r->c[CTL_C_OUT]) == 0 &&
		    put_str(&body, r->client) == 0 &&
		    put_str(&body, r->user) == 0 &&
		    put_str(&body, r->target) == 0) ? 0 : -1;
		break;
	}
	if (ok == 0 && (buf_len(&body) > UINT16_MAX ||
	    buf_put_u8(b, (uint8_t)r->type) != 0 ||
	    buf_put_u16(b, (uint16_t)buf_len(&body)) != 0 ||
	    buf_put(b, buf_ptr(&body), buf_len(&body)) != 0))
		ok = -1;
	buf_release(&body);
	return ok;
}

int
ctl_rec_dec(struct buf *b, struct ctl_rec *r)
{
	struct buf body;
	uint8_t type;
	int ok = -1;

	memset(r, 0, sizeof(*r));
	if (buf_get_u8(b, &type) != 0 || buf_get_vec(b, 2, &body) != 0)
		return -1;
	r->type = type;
	switch (type) {
	case CTL_R_WORKER:
		ok = get_cnt(&body, r->c, CTL_W_N);
		break;
	case CTL_R_LIS:
	case CTL_R_OB:
		ok = buf_get_u32(&body, &r->idx) == 0 ?
		    get_cnt(&body, r->c, CTL_C_N) : -1;
		break;
	case CTL_R_USER:
		ok = get_str(&body, r->name, sizeof(r->name)) == 0 &&
		    r->name[0] != '\0' ? get_cnt(&body, r->c, CTL_C_N) : -1;
		break;
	case CTL_R_CONN:
		ok = (buf_get_u32(&body, &r->idx) == 0 &&
		    buf_get_u32(&body, &r->ob) == 0 &&
		    buf_get_u32(&body, &r->rule) == 0 &&
		    buf_get_u8(&body, &r->mode) == 0 &&
		    r->mode <= CTL_MODE_COPY &&
		    buf_get_u64(&body, &r->age_ms) == 0 &&
		    buf_get_u64(&body, &r->c[CTL_C_IN]) == 0 &&
		    buf_get_u64(&body, &r->c[CTL_C_OUT]) == 0 &&
		    get_str(&body, r->client, sizeof(r->client)) == 0 &&
		    get_str(&body, r->user, sizeof(r->user)) == 0 &&
		    get_str(&body, r->target, sizeof(r->target)) == 0) ?
		    0 : -1;
		break;
	default:
		return -1;
	}
	if (ok != 0 || buf_expect_end(&body) != 0)
		return -1;
	return 0;
}

int
ctl_report_dec(struct buf *b, int *last,
    int (*cb)(void *, const struct ctl_rec *), void *arg)
{
	struct ctl_rec r;
	uint8_t l;

	if (buf_get_u8(b, &l) != 0 || l > 1)
		return -1;
	*last = l;
	while (buf_len(b) > 0) {
		if (ctl_rec_dec(b, &r) != 0 || cb(arg, &r) != 0)
			return -1;
	}
	return 0;
}

int
ctl_level_parse(const char *name)
{
	int i;

	/* fatal is not a level one may choose: errors must be seen */
	for (i = LOG_LEVEL_ERROR; level_names[i] != NULL; i++)
		if (strcmp(level_names[i], name) == 0)
			return i;
	return -1;
}

const char *
ctl_level_name(int level)
{
	if (level < 0 || level > LOG_LEVEL_DEBUG3)
		return "unknown";
	return level_names[level];
}

/*
 * The request line: a command word, for log-level one argument, single
 * spaces, printable ASCII only.
 */
int
ctl_req_parse(const char *line, size_t len, int *cmd, int *level)
{
	static const struct {
		const char	*word;
		int		 cmd;
	} cmds[] = {
		{ "status", CTL_CMD_STATUS },
		{ "connections", CTL_CMD_CONNECTIONS },
		{ "reload", CTL_CMD_RELOAD },
		{ "stop", CTL_CMD_STOP },
		{ "log-level", CTL_CMD_LOGLEVEL },
	};
	char tmp[CTL_REQ_MAX];
	char *sp;
	size_t i;

	*cmd = 0;
	*level = -1;
	if (len == 0 || len >= sizeof(tmp))
		return -1;
	for (i = 0; i < len; i++)
		if (line[i] < ' ' || line[i] > '~')
			return -1;
	memcpy(tmp, line, len);
	tmp[len] = '\0';
	if ((sp = strchr(tmp, ' ')) != NULL)
		*sp++ = '\0';
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(tmp, cmds[i].word) == 0)
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0]))
		return -1;
	if (cmds[i].cmd == CTL_CMD_LOGLEVEL) {
		if (sp == NULL || (*level = ctl_level_parse(sp)) == -1)
			return -1;
	} else if (sp != NULL)
		return -1;
	*cmd = cmds[i].cmd;
	return 0;
}

size_t
ctl_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	unsigned char ch;

	if (outlen == 0)
		return 0;
	for (; *in != '\0'; in++) {
		ch = (unsigned char)*in;
		if (ch > ' ' && ch <= '~' && ch != '%' && ch != '=') {
			if (o + 1 >= outlen)
				break;
			out[o++] = (char)ch;
		} else {
			if (o + 3 >= outlen)
				break;
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
	return o;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
ctl_unescape(char *s)
{
	char *o = s;
	int h, l;

	for (; *s != '\0'; s++) {
		if (*s != '%') {
			*o++ = *s;
			continue;
		}
		if ((h = hexval(s[1])) == -1 || (l = hexval(s[2])) == -1 ||
		    (h == 0 && l == 0))
			return -1;
		*o++ = (char)(h << 4 | l);
		s += 2;
	}
	*o = '\0';
	return 0;
}

int
ctl_addr_parse(const char *s, struct sockaddr_storage *ss, unsigned int *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN + 1], *ep;
	const char *p, *port;
	unsigned long v;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		if ((p = strchr(s, ']')) == NULL || p[1] != ':')
			return -1;
		n = (size_t)(p - s - 1);
		s++;
		port = p + 2;
	} else {
		/* an IPv6 address needs its brackets: "::1:9100" is one */
		if ((p = strchr(s, ':')) == NULL || strchr(p + 1, ':') != NULL)
			return -1;
		n = (size_t)(p - s);
		port = p + 1;
	}
	if (n == 0 || n >= sizeof(host) || *port < '0' || *port > '9')
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	v = strtoul(port, &ep, 10);
	if (*ep != '\0' || v == 0 || v > 65535 || strlen(port) > 5)
		return -1;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)v);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)v);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}
