/*
 * The worker's side of each privileged operation: one stub per request,
 * a synchronous round trip on the monitor channel.  Commands the monitor
 * sends meanwhile are handled in passing, except those that would
 * replace or tear down state a caller below us may be using (a file
 * push, a drain): mm_handle_command queues them for the event loop.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "ipc.h"
#include "log.h"
#include "worker.h"

static void
lost_monitor(int r)
{
	/* Without the monitor there is nobody to log to: leave quietly. */
	(void)r;
	_exit(0);
}

/* Wait for the answer of type `want` into m, for the caller to decode. */
static void
mm_wait_msg(struct worker *wk, int want, uint32_t seq, struct ipc_msg *m)
{
	int r, fl;

	/* The channel is non-blocking for the event loop; block here. */
	fl = fcntl(wk->sock, F_GETFL);
	fcntl(wk->sock, F_SETFL, fl & ~O_NONBLOCK);
	wk->in_request++;
	for (;;) {
		if ((r = ipc_recv(wk->sock, m)) != 0)
			lost_monitor(r);
		if (m->hdr.type == want && m->hdr.seq == seq)
			break;
		mm_handle_command(wk, m);
		ipc_msg_clear(m);
	}
	wk->in_request--;
	fcntl(wk->sock, F_SETFL, fl);
}

/* Wait for the answer of type `want`; returns its status and fd. */
static int
mm_wait(struct worker *wk, int want, uint32_t seq, int *fdp)
{
	struct ipc_msg m;
	int32_t status;

	*fdp = -1;
	mm_wait_msg(wk, want, seq, &m);
	if (ipc_dec_status(&m.payload, &status) != 0)
		fatal_f("malformed answer from the monitor");
	if (status != 0) {
		ipc_msg_clear(&m);
		errno = status;
		return -1;
	}
	*fdp = m.fd;
	return 0;
}

static int
mm_request(struct worker *wk, int type, struct buf *b, int *fdp)
{
	uint32_t seq = ++wk->seq;
	int r;

	if ((r = ipc_send(wk->sock, (uint16_t)type, seq, b, -1)) != 0)
		lost_monitor(r);
	return mm_wait(wk, type + 1, seq, fdp);
}

int
mm_hello(struct worker *wk)
{
	struct buf b;
	int fd, r;

	buf_init(&b);
	if (ipc_enc_hello(&b, wk->id, wk->gen) != 0)
		fatal_f("encode");
	r = mm_request(wk, IPC_HELLO, &b, &fd);
	buf_release(&b);
	return r;
}

/* Send an encoded request whose answer carries a descriptor. */
static int
mm_fd_request(struct worker *wk, int type, struct buf *b, int encoded)
{
	int fd = -1;

	if (encoded != 0)
		fatal_f("cannot encode %s", ipc_type_name(type));
	if (mm_request(wk, type, b, &fd) != 0)
		fd = -1;
	buf_release(b);
	return fd;
}

int
mm_listener(struct worker *wk, uint32_t idx)
{
	struct buf b;

	buf_init(&b);
	return mm_fd_request(wk, IPC_LISTENER, &b, ipc_enc_u32(&b, idx));
}

int
mm_tun_open(struct worker *wk, const char *name)
{
	struct buf b;

	buf_init(&b);
	return mm_fd_request(wk, IPC_TUN_OPEN, &b, ipc_enc_name(&b, name));
}

/*
 * A socket that goes with a device (type IPC_ICMP_SOCKET: a capture's
 * ICMP echo socket; IPC_RAW_TCP_SOCKET: fake TCP's raw socket).
 */
int
mm_dev_socket(struct worker *wk, int type, uint32_t lis, int family)
{
	struct buf b;
	int r;

	buf_init(&b);
	if ((r = ipc_enc_u32(&b, lis)) == 0)
		r = ipc_enc_u32(&b, (uint32_t)family);
	return mm_fd_request(wk, type, &b, r);
}

/* An IPv6 fake TCP flow's policy rule (FTCP_BLOCK/UNBLOCK); no answer. */
void
mm_ftcp_block(struct worker *wk, int type, uint32_t lis,
    const unsigned char *peer6, uint16_t port, uint16_t lport)
{
	struct buf b;

	buf_init(&b);
	if (buf_put_u16(&b, lport) == 0 &&
	    ipc_enc_tproxy(&b, lis, AF_INET6, peer6, port) == 0)
		(void)ipc_send(wk->sock, (uint16_t)type, ++wk->seq, &b, -1);
	buf_release(&b);
}

int
mm_socket(struct worker *wk, int family, int type, const struct egress *e)
{
	struct buf b;

	buf_init(&b);
	return mm_fd_request(wk, IPC_SOCKET, &b, ipc_enc_socket(&b, family,
	    type, e->mark, e->iface));
}

int
mm_tproxy_socket(struct worker *wk, uint32_t lis, const struct sockaddr *sa)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	unsigned char addr[16];
	struct buf b;

	memset(addr, 0, sizeof(addr));
	if (sa->sa_family == AF_INET)
		memcpy(addr, &sin->sin_addr, 4);
	else
		memcpy(addr, &sin6->sin6_addr, 16);
	buf_init(&b);
	return mm_fd_request(wk, IPC_TPROXY_SOCKET, &b, ipc_enc_tproxy(&b, lis,
	    sa->sa_family, addr, ntohs(sa->sa_family == AF_INET ?
	    sin->sin_port : sin6->sin6_port)));
}

/* An address as the OSTP messages carry it: family 4 or 6, 16, port. */
static int
enc_ostp_addr(const struct sockaddr *sa, int *family, unsigned char addr[16],
    uint16_t *port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	memset(addr, 0, 16);
	if (sa->sa_family == AF_INET) {
		memcpy(addr, &sin->sin_addr, 4);
		*port = ntohs(sin->sin_port);
		*family = 4;
	} else if (sa->sa_family == AF_INET6) {
		memcpy(addr, &sin6->sin6_addr, 16);
		*port = ntohs(sin6->sin6_port);
		*family = 6;
	} else
		return -1;
	return 0;
}

/*
 * OSTP ports (monitor/mon_steer.c): steer an address's datagrams to
 * this worker (type IPC_OSTP_STEER) or stop (IPC_OSTP_UNSTEER).  No
 * answer: a lost request only sends datagrams the long way.
 */
void
mm_ostp_steer(struct worker *wk, int type, uint32_t lis,
    const struct sockaddr *sa)
{
	unsigned char addr[16];
	uint16_t port;
	int family;
	struct buf b;

	if (enc_ostp_addr(sa, &family, addr, &port) != 0)
		return;
	buf_init(&b);
	if (ipc_enc_tproxy(&b, lis, family, addr, port) == 0)
		(void)ipc_send(wk->sock, (uint16_t)type, ++wk->seq, &b, -1);
	buf_release(&b);
}

/*
 * OSTP_FWD: a datagram this worker cannot place, for the port's other
 * workers; OSTP_HANDOFF: a session for the next generation.  Never
 * waiting: a full channel loses it, as a network would (the client
 * resends, or makes a new session).
 */
void
mm_ostp_dgram(struct worker *wk, int type, uint32_t lis,
    const struct sockaddr *sa, const unsigned char *d, size_t len)
{
	unsigned char addr[16];
	uint16_t port;
	int family;
	struct buf b;

	if (enc_ostp_addr(sa, &family, addr, &port) != 0)
		return;
	buf_init(&b);
	if (ipc_enc_dgram(&b, lis, family, addr, port, d, len) == 0)
		(void)ipc_send_nowait(wk->sock, (uint16_t)type, ++wk->seq,
		    &b);
	explicit_bzero((void *)buf_ptr(&b), buf_len(&b));
	buf_release(&b);
}

/* the listener, host and port of a BIND, as BIND_PARK/UNPARK carry them */
static int
enc_bind(struct buf *b, uint32_t lis, const struct sockaddr_storage *owner,
    uint16_t port)
{
	unsigned char addr[16];

	memset(addr, 0, sizeof(addr));
	if (owner->ss_family == AF_INET)
		memcpy(addr, &((const struct sockaddr_in *)owner)->sin_addr, 4);
	else
		memcpy(addr, &((const struct sockaddr_in6 *)owner)->sin6_addr,
		    16);
	return ipc_enc_tproxy(b, lis, owner->ss_family, addr, port);
}

/* Hand a BIND's listening socket to the monitor; it is closed here. */
void
mm_bind_park(struct worker *wk, uint32_t lis,
    const struct sockaddr_storage *owner, uint16_t port, int fd)
{
	struct buf b;
	uint32_t seq = ++wk->seq;
	int r, afd;

	buf_init(&b);
	if (enc_bind(&b, lis, owner, port) != 0)
		fatal_f("cannot encode BIND_PARK");
	if ((r = ipc_send(wk->sock, IPC_BIND_PARK, seq, &b, fd)) != 0)
		lost_monitor(r);
	buf_release(&b);
	close(fd);
	/*
	 * Answered: the port is parked before the client hears of its
	 * peer, so its next BIND (to any worker) finds it.
	 */
	(void)mm_wait(wk, IPC_BIND_PARK_ANS, seq, &afd);
}

/* The port parked by the same host's last BIND, or -1. */
int
mm_bind_unpark(struct worker *wk, uint32_t lis,
    const struct sockaddr_storage *owner, uint16_t port)
{
	struct buf b;

	buf_init(&b);
	return mm_fd_request(wk, IPC_BIND_UNPARK, &b, enc_bind(&b, lis, owner,
	    port));
}

int
mm_file_open(struct worker *wk, const char *path)
{
	struct buf b;

	buf_init(&b);
	return mm_fd_request(wk, IPC_FILE_OPEN, &b, ipc_enc_name(&b, path));
}

int
mm_file_watch(struct worker *wk, const char *path, unsigned long period_ms)
{
	struct buf b;
	int fd, r;

	buf_init(&b);
	if (ipc_enc_watch(&b, (uint32_t)period_ms, path) != 0)
		fatal_f("encode");
	r = mm_request(wk, IPC_FILE_WATCH, &b, &fd);
	buf_release(&b);
	return r;
}

/* A TLS listener's certificate chain: a memfd of PEM, or -1. */
int
mm_tls_cert(struct worker *wk, uint32_t lis)
{
	struct buf b;

	buf_init(&b);
	return mm_fd_request(wk, IPC_TLS_CERT, &b, ipc_enc_u32(&b, lis));
}

/*
 * A private-key operation with listener lis's key, by the monitor:
 * the result (at most outmax bytes) in out, its length in *outlen.
 * 0, or -1 with errno.
 */
int
mm_tls_sign(struct worker *wk, uint32_t lis, int op, const unsigned char *in,
    size_t inlen, unsigned char *out, size_t outmax, size_t *outlen)
{
	const unsigned char *sig;
	struct ipc_msg m;
	struct buf b;
	uint32_t seq = ++wk->seq;
	int32_t status;
	size_t n;
	int r;

	buf_init(&b);
	if (ipc_enc_tls_sign(&b, lis, op, in, inlen) != 0)
		fatal_f("cannot encode TLS_SIGN");
	if ((r = ipc_send(wk->sock, IPC_TLS_SIGN, seq, &b, -1)) != 0)
		lost_monitor(r);
	buf_release(&b);
	mm_wait_msg(wk, IPC_TLS_SIGN_ANS, seq, &m);
	if (m.fd != -1 || ipc_dec_tls_sig(&m.payload, &status, &sig,
	    &n) != 0)
		fatal_f("malformed answer from the monitor");
	if (status != 0 || n > outmax) {
		errno = status != 0 ? status : EMSGSIZE;
		return -1;
	}
	memcpy(out, sig, n);
	*outlen = n;
	return 0;
}

int
mm_ready(struct worker *wk)
{
	int r;

	if ((r = ipc_send(wk->sock, IPC_READY, ++wk->seq, NULL, -1)) != 0)
		lost_monitor(r);
	return 0;
}
