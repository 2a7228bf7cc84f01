/* Unit tests for the monitor <-> worker framing and payloads (common/ipc.c). */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "ipc.h"
#include "test.h"

static int
count_fds(void)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int
seqpair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
}

/* Send a hand-made packet with any number of descriptors. */
static ssize_t
send_raw(int sock, const void *data, size_t len, const int *fds, size_t nfds)
{
	union {
		struct cmsghdr	align;
		char		buf[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *c;

	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = (void *)data;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		if (nfds > 4)
			return -1;
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

static void
make_hdr(unsigned char *p, uint16_t type, uint8_t version, uint8_t flags,
    uint32_t len, uint32_t seq)
{
	struct ipc_hdr h;

	h.type = type;
	h.version = version;
	h.flags = flags;
	h.len = len;
	h.seq = seq;
	ipc_hdr_encode(&h, p);
}

TEST(test_hdr_round_trip)
{
	static const unsigned char want[IPC_HDR_LEN] = {
		0x12, 0x34, IPC_VERSION, IPC_F_FD, 0, 0, 0, 5,
		0xde, 0xad, 0xbe, 0xef
	};
	unsigned char p[IPC_HDR_LEN + 5];
	struct ipc_hdr h;

	memset(p, 0, sizeof(p));
	make_hdr(p, 0x1234, IPC_VERSION, IPC_F_FD, 5, 0xdeadbeefU);
	ASSERT(memcmp(p, want, IPC_HDR_LEN) == 0);
	memset(&h, 0, sizeof(h));
	ASSERT_EQ_INT(ipc_hdr_decode(p, sizeof(p), &h), 0);
	ASSERT_EQ_UINT(h.type, 0x1234);
	ASSERT_EQ_UINT(h.version, IPC_VERSION);
	ASSERT_EQ_UINT(h.flags, IPC_F_FD);
	ASSERT_EQ_UINT(h.len, 5);
	ASSERT_EQ_UINT(h.seq, 0xdeadbeefU);

	make_hdr(p, IPC_READY, IPC_VERSION, 0, 0, 0);
	ASSERT_EQ_INT(ipc_hdr_decode(p, IPC_HDR_LEN, &h), 0);
	ASSERT_EQ_UINT(h.type, IPC_READY);
	ASSERT_EQ_UINT(h.len, 0);
}

TEST(test_hdr_errors)
{
	unsigned char p[IPC_HDR_LEN + IPC_MAX_PAYLOAD + 1];
	struct ipc_hdr h;

	memset(p, 0, sizeof(p));
	make_hdr(p, IPC_HELLO, IPC_VERSION, 0, 0, 1);
	ASSERT_EQ_INT(ipc_hdr_decode(p, IPC_HDR_LEN - 1, &h), ERR_INCOMPLETE);
	ASSERT_EQ_INT(ipc_hdr_decode(p, 0, &h), ERR_INCOMPLETE);

	make_hdr(p, IPC_HELLO, 0, 0, 0, 1);
	ASSERT_EQ_INT(ipc_hdr_decode(p, IPC_HDR_LEN, &h), ERR_VERSION);
	make_hdr(p, IPC_HELLO, IPC_VERSION + 1, 0, 0, 1);
	ASSERT_EQ_INT(ipc_hdr_decode(p, IPC_HDR_LEN, &h), ERR_VERSION);

	make_hdr(p, IPC_HELLO, IPC_VERSION, 0x02, 0, 1);
	ASSERT_EQ_INT(ipc_hdr_decode(p, IPC_HDR_LEN, &h), ERR_FORMAT);
	make_hdr(p, IPC_HELLO, IPC_VERSION, 0x80 | IPC_F_FD, 0, 1);
	ASSERT_EQ_INT(ipc_hdr_decode(p, IPC_HDR_LEN, &h), ERR_FORMAT);

	make_hdr(p, IPC_LOG, IPC_VERSION, 0, IPC_MAX_PAYLOAD + 1, 1);
	ASSERT_EQ_INT(ipc_hdr_decode(p, sizeof(p), &h), ERR_TOO_LONG);
	make_hdr(p, IPC_LOG, IPC_VERSION, 0, UINT32_MAX, 1);
	ASSERT_EQ_INT(ipc_hdr_decode(p, IPC_HDR_LEN, &h), ERR_TOO_LONG);
	make_hdr(p, IPC_LOG, IPC_VERSION, 0, IPC_MAX_PAYLOAD, 1);
	ASSERT_EQ_INT(ipc_hdr_decode(p, IPC_HDR_LEN + IPC_MAX_PAYLOAD, &h), 0);

	/* The announced length must match the packet exactly. */
	make_hdr(p, IPC_HELLO, IPC_VERSION, 0, 8, 1);
	ASSERT_EQ_INT(ipc_hdr_decode(p, IPC_HDR_LEN + 8, &h), 0);
	ASSERT_EQ_INT(ipc_hdr_decode(p, IPC_HDR_LEN + 7, &h), ERR_FORMAT);
	ASSERT_EQ_INT(ipc_hdr_decode(p, IPC_HDR_LEN + 9, &h), ERR_FORMAT);
	ASSERT_EQ_INT(ipc_hdr_decode(p, IPC_HDR_LEN, &h), ERR_FORMAT);
}

TEST(test_send_recv_payload)
{
	struct ipc_msg m;
	struct buf b;
	uint32_t id, gen;
	int sv[2];

	REQUIRE(seqpair(sv) == 0);
	buf_init(&b);
	ASSERT_EQ_INT(ipc_enc_hello(&b, 3, 77), 0);
	ASSERT_EQ_INT(ipc_send(sv[0], IPC_HELLO, 42, &b, -1), 0);
	ASSERT_EQ_INT(ipc_recv(sv[1], &m), 0);
	ASSERT_EQ_UINT(m.hdr.type, IPC_HELLO);
	ASSERT_EQ_UINT(m.hdr.version, IPC_VERSION);
	ASSERT_EQ_UINT(m.hdr.flags, 0);
	ASSERT_EQ_UINT(m.hdr.seq, 42);
	ASSERT_EQ_UINT(m.hdr.len, 8);
	ASSERT_EQ_INT(m.fd, -1);
	ASSERT_EQ_UINT(buf_len(&m.payload), 8);
	ASSERT_EQ_INT(ipc_dec_hello(&m.payload, &id, &gen), 0);
	ASSERT_EQ_UINT(id, 3);
	ASSERT_EQ_UINT(gen, 77);
	ipc_msg_clear(&m);

	/* Empty payload, both as NULL and as an empty buffer. */
	ASSERT_EQ_INT(ipc_send(sv[1], IPC_READY, 1, NULL, -1), 0);
	ASSERT_EQ_INT(ipc_recv(sv[0], &m), 0);
	ASSERT_EQ_UINT(m.hdr.type, IPC_READY);
	ASSERT_EQ_UINT(m.hdr.len, 0);
	ASSERT_EQ_UINT(buf_len(&m.payload), 0);
	buf_reset(&b);
	ASSERT_EQ_INT(ipc_send(sv[1], IPC_CMD_STATS, 2, &b, -1), 0);
	ASSERT_EQ_INT(ipc_recv(sv[0], &m), 0);
	ASSERT_EQ_UINT(m.hdr.type, IPC_CMD_STATS);
	ASSERT_EQ_UINT(m.hdr.seq, 2);
	ASSERT_EQ_UINT(m.hdr.len, 0);

	/* The largest payload goes through; one byte more is refused. */
	buf_reset(&b);
	{
		unsigned char *p;

		REQUIRE(buf_reserve(&b, IPC_MAX_PAYLOAD, &p) == 0);
		memset(p, 0xa5, IPC_MAX_PAYLOAD);
	}
	ASSERT_EQ_INT(ipc_send(sv[0], IPC_LOG, 3, &b, -1), 0);
	ASSERT_EQ_INT(ipc_recv(sv[1], &m), 0);
	ASSERT_EQ_UINT(m.hdr.len, IPC_MAX_PAYLOAD);
	ASSERT(buf_len(&m.payload) == IPC_MAX_PAYLOAD &&
	    buf_ptr(&m.payload)[IPC_MAX_PAYLOAD - 1] == 0xa5);
	ASSERT_EQ_INT(buf_put_u8(&b, 0), 0);
	ASSERT_EQ_INT(ipc_send(sv[0], IPC_LOG, 4, &b, -1), ERR_TOO_LONG);
	buf_release(&b);
	close(sv[0]);
	close(sv[1]);
}

TEST(test_send_recv_fd)
{
	struct ipc_msg m;
	struct stat st1, st2;
	struct buf b;
	char c = 0;
	int sv[2], p[2], fl;

	REQUIRE(seqpair(sv) == 0);
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	buf_init(&b);
	ASSERT_EQ_INT(ipc_enc_status(&b, 0), 0);
	ASSERT_EQ_INT(ipc_send(sv[0], IPC_LISTENER_ANS, 9, &b, p[1]), 0);
	buf_release(&b);
	ASSERT_EQ_INT(ipc_recv(sv[1], &m), 0);
	ASSERT_EQ_UINT(m.hdr.type, IPC_LISTENER_ANS);
	ASSERT_EQ_UINT(m.hdr.flags, IPC_F_FD);
	REQUIRE(m.fd >= 0);
	ASSERT(m.fd != p[1]);
	ASSERT(fstat(m.fd, &st1) == 0 && fstat(p[1], &st2) == 0);
	ASSERT_EQ_UINT(st1.st_ino, st2.st_ino);
	ASSERT_EQ_UINT(st1.st_dev, st2.st_dev);
	fl = fcntl(m.fd, F_GETFD);
	ASSERT(fl != -1 && (fl & FD_CLOEXEC));
	/* The received end writes into our pipe. */
	ASSERT_EQ_INT(write(m.fd, "x", 1), 1);
	ASSERT_EQ_INT(read(p[0], &c, 1), 1);
	ASSERT_EQ_INT(c, 'x');
	ipc_msg_clear(&m);
	ASSERT_EQ_INT(m.fd, -1);
	ipc_msg_clear(&m);	/* twice is harmless */
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

TEST(test_recv_oversized)
{
	static unsigned char big[IPC_HDR_LEN + IPC_MAX_PAYLOAD + 1];
	struct ipc_msg m;
	int sv[2], n0;

	REQUIRE(seqpair(sv) == 0);
	make_hdr(big, IPC_LOG, IPC_VERSION, 0, IPC_MAX_PAYLOAD + 1, 1);
	ASSERT_EQ_INT(send(sv[0], big, sizeof(big), 0), (ssize_t)sizeof(big));
	ASSERT_EQ_INT(ipc_recv(sv[1], &m), ERR_TOO_LONG);
	ASSERT_EQ_INT(m.fd, -1);

	/* Oversized with a descriptor: refused and the fd closed. */
	n0 = count_fds();
	{
		int p[2];

		REQUIRE(pipe2(p, O_CLOEXEC) == 0);
		ASSERT_EQ_INT(send_raw(sv[0], big, sizeof(big), &p[1], 1),
		    (ssize_t)sizeof(big));
		close(p[1]);
		ASSERT_EQ_INT(ipc_recv(sv[1], &m), ERR_TOO_LONG);
		close(p[0]);
	}
	ASSERT_EQ_INT(count_fds(), n0);
	close(sv[0]);
	close(sv[1]);
}

TEST(test_recv_flag_without_fd)
{
	unsigned char p[IPC_HDR_LEN + 4];
	struct ipc_msg m;
	int sv[2];

	REQUIRE(seqpair(sv) == 0);
	make_hdr(p, IPC_LISTENER_ANS, IPC_VERSION, IPC_F_FD, 4, 1);
	memset(p + IPC_HDR_LEN, 0, 4);
	ASSERT_EQ_INT(send_raw(sv[0], p, sizeof(p), NULL, 0),
	    (ssize_t)sizeof(p));
	ASSERT_EQ_INT(ipc_recv(sv[1], &m), ERR_FORMAT);
	ASSERT_EQ_INT(m.fd, -1);
	close(sv[0]);
	close(sv[1]);
}

TEST(test_recv_fd_without_flag)
{
	unsigned char p[IPC_HDR_LEN + 4], c;
	struct ipc_msg m;
	int sv[2], pp[2], n0;

	REQUIRE(seqpair(sv) == 0);
	REQUIRE(pipe2(pp, O_CLOEXEC | O_NONBLOCK) == 0);
	make_hdr(p, IPC_LISTENER, IPC_VERSION, 0, 4, 1);
	memset(p + IPC_HDR_LEN, 0, 4);
	n0 = count_fds();
	ASSERT_EQ_INT(send_raw(sv[0], p, sizeof(p), &pp[1], 1),
	    (ssize_t)sizeof(p));
	/* The only other copy of the write end is now in flight. */
	close(pp[1]);
	ASSERT_EQ_INT(ipc_recv(sv[1], &m), ERR_FORMAT);
	ASSERT_EQ_INT(m.fd, -1);
	ASSERT_EQ_INT(count_fds(), n0 - 1);
	/* EOF on the read end proves the received copy was closed. */
	ASSERT_EQ_INT(read(pp[0], &c, 1), 0);
	close(pp[0]);
	close(sv[0]);
	close(sv[1]);
}

TEST(test_recv_two_fds)
{
	unsigned char p[IPC_HDR_LEN + 4];
	struct ipc_msg m;
	int sv[2], fds[3], n0;

	REQUIRE(seqpair(sv) == 0);
	make_hdr(p, IPC_LISTENER_ANS, IPC_VERSION, IPC_F_FD, 4, 1);
	memset(p + IPC_HDR_LEN, 0, 4);
	n0 = count_fds();
	REQUIRE((fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) != -1);
	REQUIRE((fds[1] = open("/dev/null", O_RDONLY | O_CLOEXEC)) != -1);
	REQUIRE((fds[2] = open("/dev/null", O_RDONLY | O_CLOEXEC)) != -1);
	ASSERT_EQ_INT(send_raw(sv[0], p, sizeof(p), fds, 2),
	    (ssize_t)sizeof(p));
	ASSERT_EQ_INT(ipc_recv(sv[1], &m), ERR_FORMAT);
	ASSERT_EQ_INT(m.fd, -1);
	ASSERT_EQ_INT(count_fds(), n0 + 3);

	/* Three: more than the control buffer holds (MSG_CTRUNC). */
	ASSERT_EQ_INT(send_raw(sv[0], p, sizeof(p), fds, 3),
	    (ssize_t)sizeof(p));
	ASSERT(ipc_recv(sv[1], &m) != 0);
	ASSERT_EQ_INT(m.fd, -1);
	ASSERT_EQ_INT(count_fds(), n0 + 3);

	/* The same descriptor twice is still two. */
	{
		int same[2] = { fds[0], fds[0] };

		ASSERT_EQ_INT(send_raw(sv[0], p, sizeof(p), same, 2),
		    (ssize_t)sizeof(p));
	}
	ASSERT_EQ_INT(ipc_recv(sv[1], &m), ERR_FORMAT);
	ASSERT_EQ_INT(count_fds(), n0 + 3);
	close(fds[0]);
	close(fds[1]);
	close(fds[2]);
	ASSERT_EQ_INT(count_fds(), n0);
	close(sv[0]);
	close(sv[1]);
}

TEST(test_recv_eof)
{
	struct ipc_msg m;
	int sv[2];

	REQUIRE(seqpair(sv) == 0);
	ASSERT_EQ_INT(ipc_send(sv[0], IPC_READY, 1, NULL, -1), 0);
	close(sv[0]);
	/* Queued messages first, then EOF. */
	ASSERT_EQ_INT(ipc_recv(sv[1], &m), 0);
	ASSERT_EQ_UINT(m.hdr.type, IPC_READY);
	ASSERT_EQ_INT(ipc_recv(sv[1], &m), ERR_CLOSED);
	ASSERT_EQ_INT(m.fd, -1);
	close(sv[1]);

	/* A non-blocking socket with nothing queued: ERR_SYSTEM/EAGAIN. */
	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0,
	    sv) == 0);
	errno = 0;
	ASSERT_EQ_INT(ipc_recv(sv[1], &m), ERR_SYSTEM);
	ASSERT(errno == EAGAIN || errno == EWOULDBLOCK);
	close(sv[0]);
	close(sv[1]);
}

/*
 * Decoder wrappers with a common shape so that one routine can try
 * every truncation and a trailing byte.  Each frees what it decoded.
 */
typedef int (*dec_fn)(struct buf *);

static int
dec_hello(struct buf *b)
{
	uint32_t id, gen;

	return ipc_dec_hello(b, &id, &gen);
}

static int
dec_status(struct buf *b)
{
	int32_t st;

	return ipc_dec_status(b, &st);
}

static int
dec_log(struct buf *b)
{
	char *line = (char *)1;
	int level, r;

	r = ipc_dec_log(b, &level, &line);
	if (r != 0 && line != NULL)
		return INT_MIN;		/* must not hand out on failure */
	free(line);
	return r;
}

static int
dec_u32(struct buf *b)
{
	uint32_t v;

	return ipc_dec_u32(b, &v);
}

static int
dec_name(struct buf *b)
{
	char *s = (char *)1;
	int r;

	r = ipc_dec_name(b, &s, IPC_MAX_STRING);
	if (r != 0 && s != NULL)
		return INT_MIN;
	free(s);
	return r;
}

static int
dec_socket(struct buf *b)
{
	char *iface = (char *)1;
	int family, type, r;
	uint32_t mark;

	r = ipc_dec_socket(b, &family, &type, &mark, &iface);
	if (r != 0 && iface != NULL)
		return INT_MIN;
	free(iface);
	return r;
}

static int
dec_stats(struct buf *b)
{
	struct ipc_stats s;

	return ipc_dec_stats(b, &s);
}

static int
dec_init(struct buf *b)
{
	struct ipc_init in;
	int r;

	r = ipc_dec_init(b, &in);
	if (r != 0 && (in.chroot_dir != NULL || in.testhook != NULL ||
	    in.profile != NULL))
		return INT_MIN;
	ipc_init_clear(&in);
	return r;
}

/* The full encoding decodes; every prefix and a trailing byte do not. */
static int
check_strict(const struct buf *enc, dec_fn dec)
{
	unsigned char tmp[IPC_MAX_PAYLOAD + 1];
	size_t len = buf_len(enc), k;
	struct buf v;
	int bad = 0;

	if (len >= sizeof(tmp))
		return 1;
	memcpy(tmp, buf_ptr(enc), len);
	buf_view(&v, tmp, len);
	if (dec(&v) != 0) {
		fprintf(stderr, "  full encoding refused\n");
		bad++;
	}
	for (k = 0; k < len; k++) {
		int r;

		buf_view(&v, tmp, k);
		if ((r = dec(&v)) == 0 || r == INT_MIN) {
			fprintf(stderr, "  truncation to %zu accepted\n", k);
			bad++;
		}
	}
	tmp[len] = 0;
	buf_view(&v, tmp, len + 1);
	if (dec(&v) != ERR_TRAILING) {
		fprintf(stderr, "  trailing byte accepted\n");
		bad++;
	}
	return bad;
}

TEST(test_payload_hello)
{
	struct buf b;
	uint32_t id, gen;

	buf_init(&b);
	ASSERT_EQ_INT(ipc_enc_hello(&b, 0xfedcba98U, 7), 0);
	ASSERT_EQ_UINT(buf_len(&b), 8);
	ASSERT_EQ_INT(check_strict(&b, dec_hello), 0);
	ASSERT_EQ_INT(ipc_dec_hello(&b, &id, &gen), 0);
	ASSERT_EQ_UINT(id, 0xfedcba98U);
	ASSERT_EQ_UINT(gen, 7);
	buf_release(&b);
}

TEST(test_payload_status)
{
	static const int32_t vals[] = { 0, 1, -1, ERR_DENIED, INT32_MAX,
	    INT32_MIN, 13 };
	struct buf b;
	int32_t st;
	size_t i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		buf_init(&b);
		ASSERT_EQ_INT(ipc_enc_status(&b, vals[i]), 0);
		ASSERT_EQ_UINT(buf_len(&b), 4);
		ASSERT_EQ_INT(check_strict(&b, dec_status), 0);
		ASSERT_EQ_INT(ipc_dec_status(&b, &st), 0);
		ASSERT_EQ_INT(st, vals[i]);
		buf_release(&b);
	}
}

TEST(test_payload_log)
{
	static const unsigned char badlevel[] = { 7, 0, 1, 'x' };
	static const unsigned char nul[] = { 2, 0, 3, 'a', 0, 'b' };
	char *line, *longline;
	struct buf b;
	int level;

	buf_init(&b);
	ASSERT_EQ_INT(ipc_enc_log(&b, 3, "hello, monitor"), 0);
	ASSERT_EQ_UINT(buf_len(&b), 3 + 14);
	ASSERT_EQ_INT(check_strict(&b, dec_log), 0);
	ASSERT_EQ_INT(ipc_dec_log(&b, &level, &line), 0);
	ASSERT_EQ_INT(level, 3);
	ASSERT_STREQ(line, "hello, monitor");
	free(line);

	/* Empty line, lowest and highest level. */
	buf_reset(&b);
	ASSERT_EQ_INT(ipc_enc_log(&b, 0, ""), 0);
	ASSERT_EQ_INT(check_strict(&b, dec_log), 0);
	ASSERT_EQ_INT(ipc_dec_log(&b, &level, &line), 0);
	ASSERT_EQ_INT(level, 0);
	ASSERT_STREQ(line, "");
	free(line);
	buf_reset(&b);
	ASSERT_EQ_INT(ipc_enc_log(&b, 6, "d3"), 0);
	ASSERT_EQ_INT(ipc_dec_log(&b, &level, &line), 0);
	ASSERT_EQ_INT(level, 6);
	free(line);

	/* Long lines are cut to IPC_MAX_STRING, not lost. */
	REQUIRE((longline = malloc(3000)) != NULL);
	memset(longline, 'L', 2999);
	longline[2999] = '\0';
	buf_reset(&b);
	ASSERT_EQ_INT(ipc_enc_log(&b, 2, longline), 0);
	ASSERT_EQ_UINT(buf_len(&b), 3 + IPC_MAX_STRING);
	ASSERT_EQ_INT(ipc_dec_log(&b, &level, &line), 0);
	ASSERT(line != NULL && strlen(line) == IPC_MAX_STRING);
	free(line);
	free(longline);
	buf_release(&b);

	/* Level above DEBUG3, embedded NUL, over-long length. */
	buf_view(&b, badlevel, sizeof(badlevel));
	ASSERT_EQ_INT(ipc_dec_log(&b, &level, &line), ERR_FORMAT);
	ASSERT(line == NULL);
	buf_view(&b, nul, sizeof(nul));
	ASSERT_EQ_INT(ipc_dec_log(&b, &level, &line), ERR_FORMAT);
	ASSERT(line == NULL);
	{
		unsigned char over[3 + IPC_MAX_STRING + 1];

		memset(over, 'a', sizeof(over));
		over[0] = 2;
		over[1] = (IPC_MAX_STRING + 1) >> 8;
		over[2] = (IPC_MAX_STRING + 1) & 0xff;
		buf_view(&b, over, sizeof(over));
		ASSERT_EQ_INT(ipc_dec_log(&b, &level, &line), ERR_TOO_LONG);
		ASSERT(line == NULL);
	}
}

TEST(test_payload_u32)
{
	struct buf b;
	uint32_t v;

	buf_init(&b);
	ASSERT_EQ_INT(ipc_enc_u32(&b, 0x01020304), 0);
	ASSERT(buf_len(&b) == 4 && memcmp(buf_ptr(&b), "\1\2\3\4", 4) == 0);
	ASSERT_EQ_INT(check_strict(&b, dec_u32), 0);
	ASSERT_EQ_INT(ipc_dec_u32(&b, &v), 0);
	ASSERT_EQ_UINT(v, 0x01020304);
	buf_release(&b);
}

TEST(test_payload_name)
{
	static const unsigned char empty[] = { 0, 0 };
	struct buf b;
	char *s;

	buf_init(&b);
	ASSERT_EQ_INT(ipc_enc_name(&b, "/etc/ostpd/ostpd.json"), 0);
	ASSERT_EQ_INT(check_strict(&b, dec_name), 0);
	ASSERT_EQ_INT(ipc_dec_name(&b, &s, IPC_MAX_STRING), 0);
	ASSERT_STREQ(s, "/etc/ostpd/ostpd.json");
	free(s);

	/* Exactly IPC_MAX_NAME is fine, one more is refused. */
	buf_reset(&b);
	ASSERT_EQ_INT(ipc_enc_name(&b, "abcdefghijklmno"), 0);
	ASSERT_EQ_INT(ipc_dec_name(&b, &s, IPC_MAX_NAME), 0);
	ASSERT_STREQ(s, "abcdefghijklmno");
	free(s);
	buf_reset(&b);
	ASSERT_EQ_INT(ipc_enc_name(&b, "abcdefghijklmnop"), 0);
	ASSERT_EQ_INT(ipc_dec_name(&b, &s, IPC_MAX_NAME), ERR_TOO_LONG);
	ASSERT(s == NULL);
	buf_release(&b);

	/* An empty name is refused. */
	buf_view(&b, empty, sizeof(empty));
	ASSERT_EQ_INT(ipc_dec_name(&b, &s, IPC_MAX_NAME), ERR_FORMAT);
	ASSERT(s == NULL);
}

TEST(test_payload_socket)
{
	struct buf b;
	int family, type;
	uint32_t mark;
	char *iface;

	buf_init(&b);
	ASSERT_EQ_INT(ipc_enc_socket(&b, AF_INET6, SOCK_DGRAM, 0x12345678,
	    "eth0"), 0);
	ASSERT_EQ_UINT(buf_len(&b), 8 + 4);
	ASSERT_EQ_INT(check_strict(&b, dec_socket), 0);
	ASSERT_EQ_INT(ipc_dec_socket(&b, &family, &type, &mark, &iface), 0);
	ASSERT_EQ_INT(family, AF_INET6);
	ASSERT_EQ_INT(type, SOCK_DGRAM);
	ASSERT_EQ_UINT(mark, 0x12345678);
	ASSERT_STREQ(iface, "eth0");
	free(iface);

	/* No interface: NULL and "" both encode as an empty string. */
	buf_reset(&b);
	ASSERT_EQ_INT(ipc_enc_socket(&b, AF_INET, SOCK_STREAM, 0, NULL), 0);
	ASSERT_EQ_UINT(buf_len(&b), 8);
	ASSERT_EQ_INT(check_strict(&b, dec_socket), 0);
	ASSERT_EQ_INT(ipc_dec_socket(&b, &family, &type, &mark, &iface), 0);
	ASSERT_EQ_INT(family, AF_INET);
	ASSERT_EQ_INT(type, SOCK_STREAM);
	ASSERT_EQ_UINT(mark, 0);
	ASSERT_STREQ(iface, "");
	free(iface);

	/* An interface name over IFNAMSIZ - 1 is refused. */
	buf_reset(&b);
	ASSERT_EQ_INT(ipc_enc_socket(&b, AF_INET, SOCK_STREAM, 0,
	    "abcdefghijklmnop"), 0);
	ASSERT_EQ_INT(ipc_dec_socket(&b, &family, &type, &mark, &iface),
	    ERR_TOO_LONG);
	ASSERT(iface == NULL);
	buf_release(&b);
}

TEST(test_payload_stats)
{
	struct ipc_stats s = { 5, 0x0102030405060708ULL, UINT64_MAX, 0 }, o;
	struct buf b;

	buf_init(&b);
	ASSERT_EQ_INT(ipc_enc_stats(&b, &s), 0);
	ASSERT_EQ_UINT(buf_len(&b), 28);
	ASSERT_EQ_INT(check_strict(&b, dec_stats), 0);
	memset(&o, 0, sizeof(o));
	ASSERT_EQ_INT(ipc_dec_stats(&b, &o), 0);
	ASSERT_EQ_UINT(o.active, 5);
	ASSERT_EQ_UINT(o.accepted, 0x0102030405060708ULL);
	ASSERT_EQ_UINT(o.bytes_in, UINT64_MAX);
	ASSERT_EQ_UINT(o.bytes_out, 0);
	buf_release(&b);
}

TEST(test_payload_init)
{
	struct ipc_init in, o;
	struct buf b;

	memset(&in, 0, sizeof(in));
	in.id = 3;
	in.gen = 0x01020304;
	in.uid = 101;
	in.gid = 65534;
	in.monitor_pid = 4242;
	in.seccomp_debug = 1;
	in.chroot_dir = "/var/empty";
	in.testhook = NULL;		/* encodes as "" */
	in.profile = "127.0.0.1:6060";
	buf_init(&b);
	ASSERT_EQ_INT(ipc_enc_init(&b, &in), 0);
	ASSERT_EQ_UINT(buf_len(&b), 21 + 12 + 2 + 16);
	ASSERT_EQ_INT(check_strict(&b, dec_init), 0);
	ASSERT_EQ_INT(ipc_dec_init(&b, &o), 0);
	ASSERT_EQ_UINT(o.id, 3);
	ASSERT_EQ_UINT(o.gen, 0x01020304);
	ASSERT_EQ_UINT(o.uid, 101);
	ASSERT_EQ_UINT(o.gid, 65534);
	ASSERT_EQ_UINT(o.monitor_pid, 4242);
	ASSERT_EQ_UINT(o.seccomp_debug, 1);
	ASSERT_STREQ(o.chroot_dir, "/var/empty");
	ASSERT_STREQ(o.testhook, "");
	ASSERT_STREQ(o.profile, "127.0.0.1:6060");
	ipc_init_clear(&o);
	ASSERT(o.chroot_dir == NULL);
	buf_release(&b);
}

TEST(test_payload_dgram)
{
	unsigned char addr[16] = { 127, 0, 0, 1 }, a2[16], d[IPC_DGRAM_MAX + 1];
	const unsigned char *got;
	struct buf b, v;
	uint32_t lis;
	uint16_t port;
	size_t len;
	int family;

	memset(d, 0x5a, sizeof(d));
	buf_init(&b);
	REQUIRE(ipc_enc_dgram(&b, 3, 4, addr, 4433, d, 1200) == 0);
	ASSERT_EQ_UINT(buf_len(&b), 23 + 1200);
	buf_view(&v, buf_ptr(&b), buf_len(&b));
	REQUIRE(ipc_dec_dgram(&v, &lis, &family, a2, &port, &got, &len) == 0);
	ASSERT_EQ_UINT(lis, 3);
	ASSERT_EQ_INT(family, 4);
	ASSERT(memcmp(a2, addr, 16) == 0);
	ASSERT_EQ_UINT(port, 4433);
	ASSERT_EQ_UINT(len, 1200);
	ASSERT(memcmp(got, d, len) == 0);
	buf_release(&b);
	/* no datagram, or one too long: refused both ways */
	buf_init(&b);
	ASSERT(ipc_enc_dgram(&b, 3, 4, addr, 1, d, 0) != 0);
	ASSERT(ipc_enc_dgram(&b, 3, 4, addr, 1, d, IPC_DGRAM_MAX + 1) != 0);
	REQUIRE(ipc_enc_tproxy(&b, 3, 4, addr, 1) == 0);
	buf_view(&v, buf_ptr(&b), buf_len(&b));
	ASSERT(ipc_dec_dgram(&v, &lis, &family, a2, &port, &got, &len) != 0);
	buf_release(&b);
	ASSERT_STREQ(ipc_type_name(IPC_OSTP_FWD), "OSTP_FWD");
	ASSERT_STREQ(ipc_type_name(IPC_CMD_OSTP_FWD), "CMD_OSTP_FWD");
}

TEST(test_type_names)
{
	ASSERT_STREQ(ipc_type_name(IPC_CMD_INIT), "CMD_INIT");
	ASSERT_STREQ(ipc_type_name(IPC_CMD_SHM), "CMD_SHM");
	ASSERT_STREQ(ipc_type_name(IPC_HELLO), "HELLO");
	ASSERT_STREQ(ipc_type_name(IPC_CMD_DRAIN), "CMD_DRAIN");
	ASSERT_STREQ(ipc_type_name(200), "unknown");
	ASSERT_STREQ(ipc_type_name(-1), "unknown");
}

int
main(void)
{
	RUN(test_hdr_round_trip);
	RUN(test_hdr_errors);
	RUN(test_send_recv_payload);
	RUN(test_send_recv_fd);
	RUN(test_recv_oversized);
	RUN(test_recv_flag_without_fd);
	RUN(test_recv_fd_without_flag);
	RUN(test_recv_two_fds);
	RUN(test_recv_eof);
	RUN(test_payload_hello);
	RUN(test_payload_status);
	RUN(test_payload_log);
	RUN(test_payload_u32);
	RUN(test_payload_name);
	RUN(test_payload_socket);
	RUN(test_payload_stats);
	RUN(test_payload_init);
	RUN(test_payload_dgram);
	RUN(test_type_names);
	return TEST_EXIT();
}
