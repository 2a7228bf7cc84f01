#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "ipc.h"

const char *
ipc_type_name(int type)
{
	switch (type) {
	case IPC_HELLO:		return "HELLO";
	case IPC_HELLO_ANS:	return "HELLO_ANS";
	case IPC_LOG:		return "LOG";
	case IPC_LISTENER:	return "LISTENER";
	case IPC_LISTENER_ANS:	return "LISTENER_ANS";
	case IPC_TUN_OPEN:	return "TUN_OPEN";
	case IPC_TUN_OPEN_ANS:	return "TUN_OPEN_ANS";
	case IPC_SOCKET:	return "SOCKET";
	case IPC_SOCKET_ANS:	return "SOCKET_ANS";
	case IPC_FILE_OPEN:	return "FILE_OPEN";
	case IPC_FILE_OPEN_ANS:	return "FILE_OPEN_ANS";
	case IPC_READY:		return "READY";
	case IPC_CMD_STATS:	return "CMD_STATS";
	case IPC_CMD_STATS_ANS:	return "CMD_STATS_ANS";
	case IPC_CMD_DRAIN:	return "CMD_DRAIN";
	case IPC_FILE_WATCH:	return "FILE_WATCH";
	case IPC_FILE_WATCH_ANS: return "FILE_WATCH_ANS";
	case IPC_TPROXY_SOCKET:	return "TPROXY_SOCKET";
	case IPC_TPROXY_SOCKET_ANS: return "TPROXY_SOCKET_ANS";
	case IPC_BIND_PARK:	return "BIND_PARK";
	case IPC_BIND_PARK_ANS:	return "BIND_PARK_ANS";
	case IPC_BIND_UNPARK:	return "BIND_UNPARK";
	case IPC_BIND_UNPARK_ANS: return "BIND_UNPARK_ANS";
	case IPC_TLS_CERT:	return "TLS_CERT";
	case IPC_TLS_CERT_ANS:	return "TLS_CERT_ANS";
	case IPC_TLS_SIGN:	return "TLS_SIGN";
	case IPC_TLS_SIGN_ANS:	return "TLS_SIGN_ANS";
	case IPC_CMD_FILE:	return "CMD_FILE";
	case IPC_CMD_INIT:	return "CMD_INIT";
	case IPC_CMD_SHM:	return "CMD_SHM";
	case IPC_OSTP_STEER:	return "OSTP_STEER";
	case IPC_OSTP_UNSTEER:	return "OSTP_UNSTEER";
	case IPC_OSTP_FWD:	return "OSTP_FWD";
	case IPC_ICMP_SOCKET:	return "ICMP_SOCKET";
	case IPC_ICMP_SOCKET_ANS: return "ICMP_SOCKET_ANS";
	case IPC_RAW_TCP_SOCKET: return "RAW_TCP_SOCKET";
	case IPC_RAW_TCP_SOCKET_ANS: return "RAW_TCP_SOCKET_ANS";
	case IPC_FTCP_BLOCK:	return "FTCP_BLOCK";
	case IPC_FTCP_UNBLOCK:	return "FTCP_UNBLOCK";
	case IPC_CMD_OSTP_FWD:	return "CMD_OSTP_FWD";
	case IPC_OSTP_HANDOFF:	return "OSTP_HANDOFF";
	case IPC_CMD_OSTP_TAKE:	return "CMD_OSTP_TAKE";
	case IPC_CMD_REPORT:	return "CMD_REPORT";
	case IPC_CMD_REPORT_ANS: return "CMD_REPORT_ANS";
	case IPC_CMD_LOGLEVEL:	return "CMD_LOGLEVEL";
	default:		return "unknown";
	}
}

void
ipc_hdr_encode(const struct ipc_hdr *h, unsigned char *p)
{
	p[0] = h->type >> 8;
	p[1] = h->type;
	p[2] = h->version;
	p[3] = h->flags;
	p[4] = h->len >> 24;
	p[5] = h->len >> 16;
	p[6] = h->len >> 8;
	p[7] = h->len;
	p[8] = h->seq >> 24;
	p[9] = h->seq >> 16;
	p[10] = h->seq >> 8;
	p[11] = h->seq;
}

int
ipc_hdr_decode(const unsigned char *p, size_t len, struct ipc_hdr *h)
{
	struct buf b;

	if (len < IPC_HDR_LEN)
		return ERR_INCOMPLETE;
	buf_view(&b, p, IPC_HDR_LEN);
	if (buf_get_u16(&b, &h->type) != 0 ||
	    buf_get_u8(&b, &h->version) != 0 ||
	    buf_get_u8(&b, &h->flags) != 0 ||
	    buf_get_u32(&b, &h->len) != 0 ||
	    buf_get_u32(&b, &h->seq) != 0)
		return ERR_INCOMPLETE;
	if (h->version != IPC_VERSION)
		return ERR_VERSION;
	if ((h->flags & ~IPC_F_MASK) != 0)
		return ERR_FORMAT;
	if (h->len > IPC_MAX_PAYLOAD)
		return ERR_TOO_LONG;
	/* The packet must be exactly header plus the announced payload. */
	if (len - IPC_HDR_LEN != h->len)
		return ERR_FORMAT;
	return 0;
}

int
ipc_send(int sock, uint16_t type, uint32_t seq, const struct buf *payload,
    int fd)
{
	return ipc_send_flags(sock, type, seq, payload, fd, 0);
}

/* A message that must not wait: MSG_DONTWAIT (EAGAIN: not sent). */
int
ipc_send_nowait(int sock, uint16_t type, uint32_t seq,
    const struct buf *payload)
{
	return ipc_send_flags(sock, type, seq, payload, -1, MSG_DONTWAIT);
}

int
ipc_send_flags(int sock, uint16_t type, uint32_t seq,
    const struct buf *payload, int fd, int flags)
{
	struct ipc_hdr h;
	unsigned char hdr[IPC_HDR_LEN];
	struct iovec iov[2];
	struct msghdr mh;
	union {
		struct cmsghdr	align;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *c;
	size_t plen = payload ? buf_len(payload) : 0;
	ssize_t n;

	if (plen > IPC_MAX_PAYLOAD)
		return ERR_TOO_LONG;
	memset(&h, 0, sizeof(h));
	h.type = type;
	h.version = IPC_VERSION;
	h.flags = fd >= 0 ? IPC_F_FD : 0;
	h.len = (uint32_t)plen;
	h.seq = seq;
	ipc_hdr_encode(&h, hdr);

	memset(&mh, 0, sizeof(mh));
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = plen ? (void *)buf_ptr(payload) : NULL;
	iov[1].iov_len = plen;
	mh.msg_iov = iov;
	mh.msg_iovlen = plen ? 2 : 1;
	if (fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL | flags);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return ERR_SYSTEM;
	if ((size_t)n != sizeof(hdr) + plen) {
		errno = EMSGSIZE;
		return ERR_SYSTEM;
	}
	return 0;
}

void
ipc_msg_clear(struct ipc_msg *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

int
ipc_recv(int sock, struct ipc_msg *m)
{
	struct iovec iov;
	struct msghdr mh;
	union {
		struct cmsghdr	align;
		/* room for two so that a second fd is seen and refused */
		char		buf[CMSG_SPACE(2 * sizeof(int))];
	} cm;
	struct cmsghdr *c;
	int fds[2], nfds = 0, r;
	ssize_t n;

	m->fd = -1;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = m->raw;
	iov.iov_len = sizeof(m->raw);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return ERR_SYSTEM;
	if (n == 0)
		return ERR_CLOSED;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		size_t dlen, i;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		dlen = c->cmsg_len - CMSG_LEN(0);
		for (i = 0; i + sizeof(int) <= dlen && nfds < 2; i += sizeof(int))
			memcpy(&fds[nfds++], CMSG_DATA(c) + i, sizeof(int));
	}
	r = 0;
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0)
		r = ERR_TOO_LONG;
	else if (nfds > 1)
		r = ERR_FORMAT;
	else if ((r = ipc_hdr_decode(m->raw, (size_t)n, &m->hdr)) == 0) {
		if (((m->hdr.flags & IPC_F_FD) != 0) != (nfds == 1))
			r = ERR_FORMAT;
	}
	if (r != 0) {
		while (nfds > 0)
			close(fds[--nfds]);
		return r;
	}
	if (nfds == 1)
		m->fd = fds[0];
	buf_view(&m->payload, m->raw + IPC_HDR_LEN, m->hdr.len);
	return 0;
}

int
ipc_enc_hello(struct buf *b, uint32_t id, uint32_t gen)
{
	int r;

	if ((r = buf_put_u32(b, id)) != 0)
		return r;
	return buf_put_u32(b, gen);
}

int
ipc_dec_hello(struct buf *b, uint32_t *id, uint32_t *gen)
{
	int r;

	if ((r = buf_get_u32(b, id)) != 0 || (r = buf_get_u32(b, gen)) != 0)
		return r;
	return buf_expect_end(b);
}

int
ipc_enc_status(struct buf *b, int32_t status)
{
	return buf_put_u32(b, (uint32_t)status);
}

int
ipc_dec_status(struct buf *b, int32_t *status)
{
	uint32_t v;
	int r;

	if ((r = buf_get_u32(b, &v)) != 0)
		return r;
	*status = (int32_t)v;
	return buf_expect_end(b);
}

int
ipc_enc_log(struct buf *b, int level, const char *line)
{
	char tmp[IPC_MAX_STRING + 1];
	int r;

	/* Long lines are cut rather than lost. */
	snprintf(tmp, sizeof(tmp), "%s", line);
	if ((r = buf_put_u8(b, (uint8_t)level)) != 0)
		return r;
	return buf_put_cstring(b, tmp);
}

int
ipc_dec_log(struct buf *b, int *level, char **line)
{
	uint8_t l;
	int r;

	*line = NULL;
	if ((r = buf_get_u8(b, &l)) != 0)
		return r;
	if (l > 6)
		return ERR_FORMAT;
	if ((r = buf_get_cstring(b, line, IPC_MAX_STRING)) != 0)
		return r;
	if ((r = buf_expect_end(b)) != 0) {
		free(*line);
		*line = NULL;
		return r;
	}
	*level = l;
	return 0;
}

int
ipc_enc_u32(struct buf *b, uint32_t v)
{
	return buf_put_u32(b, v);
}

int
ipc_dec_u32(struct buf *b, uint32_t *v)
{
	int r;

	if ((r = buf_get_u32(b, v)) != 0)
		return r;
	return buf_expect_end(b);
}

int
ipc_enc_name(struct buf *b, const char *s)
{
	return buf_put_cstring(b, s);
}

int
ipc_dec_name(struct buf *b, char **s, size_t maxlen)
{
	int r;

	if ((r = buf_get_cstring(b, s, maxlen)) != 0)
		return r;
	if ((*s)[0] == '\0' || (r = buf_expect_end(b)) != 0) {
		free(*s);
		*s = NULL;
		return r != 0 ? r : ERR_FORMAT;
	}
	return 0;
}

int
ipc_enc_tproxy(struct buf *b, uint32_t lis, int family,
    const unsigned char addr[16], uint16_t port)
{
	int r;

	if ((r = buf_put_u32(b, lis)) != 0 ||
	    (r = buf_put_u8(b, (uint8_t)family)) != 0 ||
	    (r = buf_put(b, addr, 16)) != 0)
		return r;
	return buf_put_u16(b, port);
}

int
ipc_dec_tproxy(struct buf *b, uint32_t *lis, int *family,
    unsigned char addr[16], uint16_t *port)
{
	uint8_t f;
	int r;

	if ((r = buf_get_u32(b, lis)) != 0 || (r = buf_get_u8(b, &f)) != 0 ||
	    (r = buf_get(b, addr, 16)) != 0 || (r = buf_get_u16(b, port)) != 0)
		return r;
	*family = f;
	return buf_expect_end(b);
}

/*
 * OSTP_FWD and CMD_OSTP_FWD: as TPROXY_SOCKET (the datagram's source),
 * then the datagram itself, 1 to IPC_DGRAM_MAX bytes.  *d points into b.
 */
int
ipc_enc_dgram(struct buf *b, uint32_t lis, int family,
    const unsigned char addr[16], uint16_t port, const unsigned char *d,
    size_t len)
{
	int r;

	if (len == 0 || len > IPC_DGRAM_MAX)
		return ERR_TOO_LONG;
	if ((r = buf_put_u32(b, lis)) != 0 ||
	    (r = buf_put_u8(b, (uint8_t)family)) != 0 ||
	    (r = buf_put(b, addr, 16)) != 0 ||
	    (r = buf_put_u16(b, port)) != 0)
		return r;
	return buf_put(b, d, len);
}

int
ipc_dec_dgram(struct buf *b, uint32_t *lis, int *family,
    unsigned char addr[16], uint16_t *port, const unsigned char **d,
    size_t *len)
{
	uint8_t f;
	int r;

	if ((r = buf_get_u32(b, lis)) != 0 || (r = buf_get_u8(b, &f)) != 0 ||
	    (r = buf_get(b, addr, 16)) != 0 || (r = buf_get_u16(b, port)) != 0)
		return r;
	*family = f;
	*len = buf_len(b);
	if (*len == 0 || *len > IPC_DGRAM_MAX)
		return ERR_TOO_LONG;
	*d = buf_ptr(b);
	return 0;
}

int
ipc_enc_socket(struct buf *b, int family, int type, uint32_t mark,
    const char *iface)
{
	int r;

	if ((r = buf_put_u8(b, (uint8_t)family)) != 0 ||
	    (r = buf_put_u8(b, (uint8_t)type)) != 0 ||
	    (r = buf_put_u32(b, mark)) != 0)
		return r;
	return buf_put_cstring(b, iface ? iface : "");
}

int
ipc_dec_socket(struct buf *b, int *family, int *type, uint32_t *mark,
    char **iface)
{
	uint8_t f, t;
	int r;

	*iface = NULL;
	if ((r = buf_get_u8(b, &f)) != 0 || (r = buf_get_u8(b, &t)) != 0 ||
	    (r = buf_get_u32(b, mark)) != 0)
		return r;
	if ((r = buf_get_cstring(b, iface, IPC_MAX_NAME)) != 0)
		return r;
	if ((r = buf_expect_end(b)) != 0) {
		free(*iface);
		*iface = NULL;
		return r;
	}
	*family = f;
	*type = t;
	return 0;
}

int
ipc_enc_watch(struct buf *b, uint32_t period_ms, const char *path)
{
	int r;

	if ((r = buf_put_u32(b, period_ms)) != 0)
		return r;
	return buf_put_cstring(b, path);
}

int
ipc_dec_watch(struct buf *b, uint32_t *period_ms, char **path)
{
	int r;

	*path = NULL;
	if ((r = buf_get_u32(b, period_ms)) != 0)
		return r;
	return ipc_dec_name(b, path, IPC_MAX_STRING);
}

int
ipc_enc_tls_sign(struct buf *b, uint32_t lis, int op, const unsigned char *p,
    size_t len)
{
	int r;

	if (len == 0 || len > IPC_TLS_SIGN_MAX || op < 0 || op > 255)
		return ERR_FORMAT;
	if ((r = buf_put_u32(b, lis)) != 0 ||
	    (r = buf_put_u8(b, (uint8_t)op)) != 0)
		return r;
	return buf_put(b, p, len);
}

/* The input is the rest of the message: 1 to IPC_TLS_SIGN_MAX bytes. */
int
ipc_dec_tls_sign(struct buf *b, uint32_t *lis, int *op,
    const unsigned char **p, size_t *len)
{
	uint8_t o;
	size_t n;
	int r;

	if ((r = buf_get_u32(b, lis)) != 0 || (r = buf_get_u8(b, &o)) != 0)
		return r;
	n = buf_len(b);
	if (n == 0 || n > IPC_TLS_SIGN_MAX)
		return ERR_FORMAT;
	*op = o;
	*p = buf_ptr(b);
	*len = n;
	return buf_consume(b, n);
}

int
ipc_enc_tls_sig(struct buf *b, int32_t status, const unsigned char *p,
    size_t len)
{
	int r;

	if ((status == 0) != (len > 0) || len > IPC_TLS_SIGN_MAX)
		return ERR_FORMAT;
	if ((r = buf_put_u32(b, (uint32_t)status)) != 0 || len == 0)
		return r;
	return buf_put(b, p, len);
}

/* A signature with status 0, nothing after any other status. */
int
ipc_dec_tls_sig(struct buf *b, int32_t *status, const unsigned char **p,
    size_t *len)
{
	uint32_t v;
	size_t n;
	int r;

	if ((r = buf_get_u32(b, &v)) != 0)
		return r;
	n = buf_len(b);
	if ((v == 0) != (n > 0) || n > IPC_TLS_SIGN_MAX)
		return ERR_FORMAT;
	*status = (int32_t)v;
	*p = n > 0 ? buf_ptr(b) : NULL;
	*len = n;
	return n > 0 ? buf_consume(b, n) : 0;
}

int
ipc_enc_stats(struct buf *b, const struct ipc_stats *s)
{
	int r;

	if ((r = buf_put_u32(b, s->active)) != 0 ||
	    (r = buf_put_u64(b, s->accepted)) != 0 ||
	    (r = buf_put_u64(b, s->bytes_in)) != 0)
		return r;
	return buf_put_u64(b, s->bytes_out);
}

int
ipc_dec_stats(struct buf *b, struct ipc_stats *s)
{
	int r;

	if ((r = buf_get_u32(b, &s->active)) != 0 ||
	    (r = buf_get_u64(b, &s->accepted)) != 0 ||
	    (r = buf_get_u64(b, &s->bytes_in)) != 0 ||
	    (r = buf_get_u64(b, &s->bytes_out)) != 0)
		return r;
	return buf_expect_end(b);
}

int
ipc_enc_init(struct buf *b, const struct ipc_init *in)
{
	int r;

	if ((r = buf_put_u32(b, in->id)) != 0 ||
	    (r = buf_put_u32(b, in->gen)) != 0 ||
	    (r = buf_put_u32(b, in->uid)) != 0 ||
	    (r = buf_put_u32(b, in->gid)) != 0 ||
	    (r = buf_put_u32(b, in->monitor_pid)) != 0 ||
	    (r = buf_put_u8(b, in->seccomp_debug)) != 0 ||
	    (r = buf_put_cstring(b, in->chroot_dir)) != 0 ||
	    (r = buf_put_cstring(b, in->testhook ? in->testhook : "")) != 0)
		return r;
	return buf_put_cstring(b, in->profile ? in->profile : "");
}

void
ipc_init_clear(struct ipc_init *in)
{
	free(in->chroot_dir);
	free(in->testhook);
	free(in->profile);
	memset(in, 0, sizeof(*in));
}

int
ipc_dec_init(struct buf *b, struct ipc_init *in)
{
	int r;

	memset(in, 0, sizeof(*in));
	if ((r = buf_get_u32(b, &in->id)) != 0 ||
	    (r = buf_get_u32(b, &in->gen)) != 0 ||
	    (r = buf_get_u32(b, &in->uid)) != 0 ||
	    (r = buf_get_u32(b, &in->gid)) != 0 ||
	    (r = buf_get_u32(b, &in->monitor_pid)) != 0 ||
	    (r = buf_get_u8(b, &in->seccomp_debug)) != 0 ||
	    (r = buf_get_cstring(b, &in->chroot_dir, IPC_MAX_STRING)) != 0 ||
	    (r = buf_get_cstring(b, &in->testhook, IPC_MAX_STRING)) != 0 ||
	    (r = buf_get_cstring(b, &in->profile, IPC_MAX_STRING)) != 0 ||
	    (r = buf_expect_end(b)) != 0) {
		ipc_init_clear(in);
		return r;
	}
	return 0;
}
