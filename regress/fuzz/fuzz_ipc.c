/*
 * libFuzzer harness for the monitor <-> worker protocol: the input is one
 * IPC packet.  The header is decoded and the payload handed to the
 * decoder its type calls for; every decoder also gets the raw input.
 * A payload that decodes must re-encode to the same bytes.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "ipc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The decoded value must encode back to exactly the input. */
static void
same_bytes(const struct buf *enc, const uint8_t *p, size_t len)
{
	if (buf_len(enc) != len || memcmp(buf_ptr(enc), p, len) != 0)
		abort();
}

static void
try_hello(const uint8_t *p, size_t len)
{
	struct buf v, e;
	uint32_t id, gen;

	buf_view(&v, p, len);
	if (ipc_dec_hello(&v, &id, &gen) != 0)
		return;
	buf_init(&e);
	if (ipc_enc_hello(&e, id, gen) != 0)
		abort();
	same_bytes(&e, p, len);
	buf_release(&e);
}

static void
try_status(const uint8_t *p, size_t len)
{
	struct buf v, e;
	int32_t st;

	buf_view(&v, p, len);
	if (ipc_dec_status(&v, &st) != 0)
		return;
	buf_init(&e);
	if (ipc_enc_status(&e, st) != 0)
		abort();
	same_bytes(&e, p, len);
	buf_release(&e);
}

static void
try_log(const uint8_t *p, size_t len)
{
	struct buf v, e;
	char *line = NULL;
	int level;

	buf_view(&v, p, len);
	if (ipc_dec_log(&v, &level, &line) != 0) {
		if (line != NULL)
			abort();
		return;
	}
	if (line == NULL || level < 0 || level > 6 ||
	    strlen(line) > IPC_MAX_STRING)
		abort();
	buf_init(&e);
	if (ipc_enc_log(&e, level, line) != 0)
		abort();
	same_bytes(&e, p, len);
	buf_release(&e);
	free(line);
}

static void
try_u32(const uint8_t *p, size_t len)
{
	struct buf v, e;
	uint32_t x;

	buf_view(&v, p, len);
	if (ipc_dec_u32(&v, &x) != 0)
		return;
	buf_init(&e);
	if (ipc_enc_u32(&e, x) != 0)
		abort();
	same_bytes(&e, p, len);
	buf_release(&e);
}

static void
try_name(const uint8_t *p, size_t len, size_t maxlen)
{
	struct buf v, e;
	char *s = NULL;

	buf_view(&v, p, len);
	if (ipc_dec_name(&v, &s, maxlen) != 0) {
		if (s != NULL)
			abort();
		return;
	}
	if (s == NULL || s[0] == '\0' || strlen(s) > maxlen)
		abort();
	buf_init(&e);
	if (ipc_enc_name(&e, s) != 0)
		abort();
	same_bytes(&e, p, len);
	buf_release(&e);
	free(s);
}

static void
try_socket(const uint8_t *p, size_t len)
{
	struct buf v, e;
	char *iface = NULL;
	int family, type;
	uint32_t mark;

	buf_view(&v, p, len);
	if (ipc_dec_socket(&v, &family, &type, &mark, &iface) != 0) {
		if (iface != NULL)
			abort();
		return;
	}
	if (iface == NULL || strlen(iface) > IPC_MAX_NAME)
		abort();
	buf_init(&e);
	if (ipc_enc_socket(&e, family, type, mark, iface) != 0)
		abort();
	same_bytes(&e, p, len);
	buf_release(&e);
	free(iface);
}

/* TPROXY_SOCKET, BIND_PARK, BIND_UNPARK: listener, address, port */
static void
try_lisaddr(const uint8_t *p, size_t len)
{
	struct buf v, e;
	unsigned char addr[16];
	uint32_t lis;
	uint16_t port;
	int family;

	buf_view(&v, p, len);
	if (ipc_dec_tproxy(&v, &lis, &family, addr, &port) != 0)
		return;
	if (family < 0 || family > 255)
		abort();
	buf_init(&e);
	if (ipc_enc_tproxy(&e, lis, family, addr, port) != 0)
		abort();
	same_bytes(&e, p, len);
	buf_release(&e);
}

/* OSTP_FWD, CMD_OSTP_FWD: listener, address, port, a datagram */
static void
try_dgram(const uint8_t *p, size_t len)
{
	struct buf v, e;
	const unsigned char *d;
	unsigned char addr[16];
	uint32_t lis;
	uint16_t port;
	size_t dlen;
	int family;

	buf_view(&v, p, len);
	if (ipc_dec_dgram(&v, &lis, &family, addr, &port, &d, &dlen) != 0)
		return;
	if (dlen == 0 || dlen > IPC_DGRAM_MAX || d < p || d + dlen > p + len)
		abort();
	buf_init(&e);
	if (ipc_enc_dgram(&e, lis, family, addr, port, d, dlen) != 0)
		abort();
	same_bytes(&e, p, len);
	buf_release(&e);
}

static void
try_tls_sign(const uint8_t *p, size_t len)
{
	struct buf v, e;
	const unsigned char *in;
	size_t inlen;
	uint32_t lis;
	int op;

	buf_view(&v, p, len);
	if (ipc_dec_tls_sign(&v, &lis, &op, &in, &inlen) != 0)
		return;
	/* the input is a view of the payload, all of its rest */
	if (op < 0 || op > 255 || inlen == 0 || inlen > IPC_TLS_SIGN_MAX ||
	    in != p + 5 || inlen != len - 5 || buf_len(&v) != 0)
		abort();
	buf_init(&e);
	if (ipc_enc_tls_sign(&e, lis, op, in, inlen) != 0)
		abort();
	same_bytes(&e, p, len);
	buf_release(&e);
}

static void
try_tls_sig(const uint8_t *p, size_t len)
{
	struct buf v, e;
	const unsigned char *sig;
	size_t siglen;
	int32_t st;

	buf_view(&v, p, len);
	if (ipc_dec_tls_sig(&v, &st, &sig, &siglen) != 0)
		return;
	/* a signature exactly when the status is 0 */
	if ((st == 0) != (siglen > 0) || siglen > IPC_TLS_SIGN_MAX ||
	    (siglen > 0 && sig != p + 4) || buf_len(&v) != 0)
		abort();
	buf_init(&e);
	if (ipc_enc_tls_sig(&e, st, sig, siglen) != 0)
		abort();
	same_bytes(&e, p, len);
	buf_release(&e);
}

static void
try_stats(const uint8_t *p, size_t len)
{
	struct buf v, e;
	struct ipc_stats s;

	buf_view(&v, p, len);
	if (ipc_dec_stats(&v, &s) != 0)
		return;
	buf_init(&e);
	if (ipc_enc_stats(&e, &s) != 0)
		abort();
	same_bytes(&e, p, len);
	buf_release(&e);
}

static void
try_empty(const uint8_t *p, size_t len)
{
	struct buf v;

	buf_view(&v, p, len);
	if ((buf_expect_end(&v) == 0) != (len == 0))
		abort();
}

static void
try_init(const uint8_t *p, size_t len)
{
	struct ipc_init in;
	struct buf v, e;

	buf_view(&v, p, len);
	if (ipc_dec_init(&v, &in) != 0) {
		if (in.chroot_dir != NULL || in.testhook != NULL ||
		    in.profile != NULL)
			abort();	/* a refusal leaves nothing allocated */
		return;
	}
	buf_init(&e);
	if (ipc_enc_init(&e, &in) != 0)
		abort();
	same_bytes(&e, p, len);
	buf_release(&e);
	ipc_init_clear(&in);
}

/* ICMP_SOCKET: u32 listener, u32 family, as mon_dispatch.c reads it. */
static void
try_icmp(const uint8_t *p, size_t len)
{
	struct buf v;
	uint32_t idx, family;

	buf_view(&v, p, len);
	if (buf_get_u32(&v, &idx) != 0 || ipc_dec_u32(&v, &family) != 0)
		return;
	if (len != 8)
		abort();
}

/* What the receiving side would run for a message of this type. */
static void
decode_payload(uint16_t type, const uint8_t *p, size_t len)
{
	switch (type) {
	case IPC_HELLO:
		try_hello(p, len);
		break;
	case IPC_HELLO_ANS:
	case IPC_LISTENER_ANS:
	case IPC_TUN_OPEN_ANS:
	case IPC_SOCKET_ANS:
	case IPC_FILE_OPEN_ANS:
	case IPC_FILE_WATCH_ANS:
	case IPC_TPROXY_SOCKET_ANS:
	case IPC_BIND_UNPARK_ANS:
	case IPC_TLS_CERT_ANS:
	case IPC_ICMP_SOCKET_ANS:
		try_status(p, len);
		break;
	case IPC_TLS_SIGN:
		try_tls_sign(p, len);
		break;
	case IPC_TLS_SIGN_ANS:
		try_tls_sig(p, len);
		break;
	case IPC_TPROXY_SOCKET:
	case IPC_BIND_PARK:
	case IPC_BIND_UNPARK:
	case IPC_OSTP_STEER:
	case IPC_OSTP_UNSTEER:
		try_lisaddr(p, len);
		break;
	case IPC_OSTP_FWD:
	case IPC_CMD_OSTP_FWD:
	case IPC_OSTP_HANDOFF:
	case IPC_CMD_OSTP_TAKE:
		try_dgram(p, len);
		break;
	case IPC_LOG:
		try_log(p, len);
		break;
	case IPC_ICMP_SOCKET:
		try_icmp(p, len);
		break;
	case IPC_LISTENER:
	case IPC_TLS_CERT:
		try_u32(p, len);
		break;
	case IPC_TUN_OPEN:
		try_name(p, len, IPC_MAX_NAME);
		break;
	case IPC_FILE_OPEN:
		try_name(p, len, IPC_MAX_STRING);
		break;
	case IPC_SOCKET:
		try_socket(p, len);
		break;
	case IPC_CMD_STATS_ANS:
		try_stats(p, len);
		break;
	case IPC_CMD_INIT:
		try_init(p, len);
		break;
	case IPC_READY:
	case IPC_CMD_STATS:
	case IPC_CMD_DRAIN:
	case IPC_CMD_SHM:
		try_empty(p, len);
		break;
	default:
		(void)ipc_type_name(type);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char again[IPC_HDR_LEN];
	struct ipc_hdr h;

	if (ipc_hdr_decode(data, size, &h) == 0) {
		/* The header checks hold, and the header round-trips. */
		if (h.version != IPC_VERSION || (h.flags & ~IPC_F_MASK) ||
		    h.len > IPC_MAX_PAYLOAD || size != IPC_HDR_LEN + h.len)
			abort();
		ipc_hdr_encode(&h, again);
		if (memcmp(again, data, IPC_HDR_LEN) != 0)
			abort();
		decode_payload(h.type, data + IPC_HDR_LEN, h.len);
	}

	/* Every decoder on the raw input as well. */
	try_hello(data, size);
	try_status(data, size);
	try_log(data, size);
	try_u32(data, size);
	try_name(data, size, IPC_MAX_NAME);
	try_name(data, size, IPC_MAX_STRING);
	try_socket(data, size);
	try_lisaddr(data, size);
	try_stats(data, size);
	try_init(data, size);
	try_tls_sign(data, size);
	try_tls_sig(data, size);
	return 0;
}
