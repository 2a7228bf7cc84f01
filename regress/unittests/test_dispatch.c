/*
 * Unit tests for the monitor's request policy (monitor/mon_dispatch.c):
 * a fake monitor with one generation and one worker whose requests go
 * through a real SOCK_SEQPACKET pair, so that framing, dispatch and the
 * answers are those of the daemon.  mon_dispatch() returning -1 means
 * the monitor would kill the worker.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "monitor.h"
#include "test.h"

#define TCP_NODE	"tcp://127.0.0.1:40000/127.0.0.1:9"
#define GEN_NUM		3
#define NO_ANSWER	(-100)

struct fixture {
	struct monitor		 mon;
	struct mon_gen		 gen;
	struct mon_listener	 ml;
	struct mon_worker	 w;
	int			 sv[2];	/* [0] worker side, [1] monitor side */
	uint32_t		 seq;
	/* the last answer */
	int			 atype;
	uint32_t		 aseq;
	int32_t			 astatus;
	int			 afd;
	unsigned char		 araw[IPC_MAX_PAYLOAD];
	size_t			 alen;
};

static int
fx_setup_args(struct fixture *f, const struct conf_args *a)
{
	char err[256];
	size_t i;

	memset(f, 0, sizeof(*f));
	f->sv[0] = f->sv[1] = f->ml.fd = f->afd = -1;
	TAILQ_INIT(&f->mon.gens);
	TAILQ_INIT(&f->mon.listeners);
	TAILQ_INIT(&f->mon.tuns);
	f->mon.next_gen = GEN_NUM;

	if (conf_load(&f->gen.conf, a, err, sizeof(err)) != 0) {
		fprintf(stderr, "conf_load: %s\n", err);
		return -1;
	}
	f->gen.num = GEN_NUM;
	TAILQ_INIT(&f->gen.workers);
	/* A real descriptor stands in for the bound listener. */
	if ((f->ml.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	f->ml.socktype = SOCK_STREAM;
	f->gen.nworkers = 1;
	if ((f->gen.lis = calloc(f->gen.conf.nlis, sizeof(*f->gen.lis))) ==
	    NULL)
		return -1;
	for (i = 0; i < f->gen.conf.nlis; i++)
		if (f->gen.conf.lis[i].kind == LIS_TCP_FORWARD)
			f->gen.lis[i] = &f->ml;
	TAILQ_INSERT_TAIL(&f->mon.gens, &f->gen, entry);

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f->sv) == -1)
		return -1;
	/* Refused requests get no answer; do not wait for one. */
	if (fcntl(f->sv[0], F_SETFL, O_NONBLOCK) == -1)
		return -1;
	f->w.gen = &f->gen;
	f->w.id = 0;
	f->w.pid = -1;
	f->w.sock = f->sv[1];
	f->w.state = MW_NEW;
	if ((f->w.lis_given = calloc(f->gen.conf.nlis + 1, 1)) == NULL ||
	    (f->w.tun_given = calloc(f->gen.conf.nlis + 1, 1)) == NULL ||
	    (f->w.tls_given = calloc(f->gen.conf.nlis + 1, 1)) == NULL)
		return -1;
	TAILQ_INSERT_TAIL(&f->gen.workers, &f->w, entry);
	return 0;
}

static int
fx_setup(struct fixture *f)
{
	struct conf_args a;
	char *serve[] = { TCP_NODE };

	memset(&a, 0, sizeof(a));
	a.serve = serve;
	a.nserve = 1;
	return fx_setup_args(f, &a);
}

static void
fx_teardown(struct fixture *f)
{
	if (f->afd != -1)
		close(f->afd);
	if (f->sv[0] != -1)
		close(f->sv[0]);
	if (f->sv[1] != -1)
		close(f->sv[1]);
	if (f->ml.fd != -1)
		close(f->ml.fd);
	free(f->w.lis_given);
	free(f->w.tun_given);
	free(f->w.tls_given);
	free(f->gen.lis);
	mon_tls_free(&f->gen);
	mon_tlskey_unref(f->mon.tls_default);
	conf_free(&f->gen.conf);
	memset(f, 0, sizeof(*f));
}

/*
 * Send one request from the worker side, receive it on the monitor side
 * as the monitor does and dispatch it.  Then collect the answer, if any,
 * into f->atype etc. (NO_ANSWER when there is none).
 */
static int
fx_request(struct fixture *f, int type, const struct buf *payload, int fd)
{
	struct ipc_msg m;
	struct buf b;
	int r, r2;

	if (f->afd != -1) {
		close(f->afd);
		f->afd = -1;
	}
	f->atype = NO_ANSWER;
	f->astatus = -12345;
	if ((r = ipc_send(f->sv[0], (uint16_t)type, ++f->seq, payload,
	    fd)) != 0) {
		fprintf(stderr, "ipc_send: %s\n", ostp_err(r));
		return -2;
	}
	if ((r = ipc_recv(f->sv[1], &m)) != 0) {
		fprintf(stderr, "ipc_recv: %s\n", ostp_err(r));
		return -2;
	}
	r = mon_dispatch(&f->mon, &f->w, &m);
	ipc_msg_clear(&m);

	r2 = ipc_recv(f->sv[0], &m);
	if (r2 == ERR_SYSTEM && (errno == EAGAIN || errno == EWOULDBLOCK))
		return r;
	if (r2 != 0) {
		fprintf(stderr, "answer: %s\n", ostp_err(r2));
		return -2;
	}
	f->atype = m.hdr.type;
	f->aseq = m.hdr.seq;
	f->afd = m.fd;
	f->alen = m.hdr.len;
	memcpy(f->araw, buf_ptr(&m.payload), f->alen);
	b = m.payload;
	if (ipc_dec_status(&b, &f->astatus) != 0)
		f->astatus = -54321;
	return r;
}

static int
fx_u32(struct fixture *f, int type, uint32_t v)
{
	struct buf b;
	int r;

	buf_init(&b);
	if (ipc_enc_u32(&b, v) != 0)
		return -2;
	r = fx_request(f, type, &b, -1);
	buf_release(&b);
	return r;
}

static int
fx_hello(struct fixture *f, uint32_t id, uint32_t gen)
{
	struct buf b;
	int r;

	buf_init(&b);
	if (ipc_enc_hello(&b, id, gen) != 0)
		return -2;
	r = fx_request(f, IPC_HELLO, &b, -1);
	buf_release(&b);
	return r;
}

static int
fx_name(struct fixture *f, int type, const char *name)
{
	struct buf b;
	int r;

	buf_init(&b);
	if (ipc_enc_name(&b, name) != 0)
		return -2;
	r = fx_request(f, type, &b, -1);
	buf_release(&b);
	return r;
}

static int
fx_socket(struct fixture *f, int family, int type, uint32_t mark,
    const char *iface)
{
	struct buf b;
	int r;

	buf_init(&b);
	if (ipc_enc_socket(&b, family, type, mark, iface) != 0)
		return -2;
	r = fx_request(f, IPC_SOCKET, &b, -1);
	buf_release(&b);
	return r;
}

static int
fx_log(struct fixture *f, int level, const char *line)
{
	struct buf b;
	int r;

	buf_init(&b);
	if (buf_put_u8(&b, (uint8_t)level) != 0 ||
	    buf_put_cstring(&b, line) != 0)
		return -2;
	r = fx_request(f, IPC_LOG, &b, -1);
	buf_release(&b);
	return r;
}

static int
fx_raw(struct fixture *f, int type, const void *p, size_t len)
{
	struct buf b;
	int r;

	buf_init(&b);
	if (buf_put(&b, p, len) != 0)
		return -2;
	r = fx_request(f, type, &b, -1);
	buf_release(&b);
	return r;
}

/* Bring the worker to MW_STARTING the legitimate way. */
static int
fx_started(struct fixture *f)
{
	if (fx_setup(f) != 0 || fx_hello(f, 0, GEN_NUM) != 0 ||
	    f->w.state != MW_STARTING)
		return -1;
	return 0;
}

static int
same_file(int a, int b)
{
	struct stat sa, sb;

	if (fstat(a, &sa) == -1 || fstat(b, &sb) == -1)
		return 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

TEST(test_hello)
{
	struct fixture f;

	REQUIRE(fx_setup(&f) == 0);
	ASSERT_EQ_INT(fx_hello(&f, 0, GEN_NUM), 0);
	ASSERT_EQ_INT(f.atype, IPC_HELLO_ANS);
	ASSERT_EQ_UINT(f.aseq, f.seq);
	ASSERT_EQ_INT(f.astatus, 0);
	ASSERT_EQ_INT(f.afd, -1);
	ASSERT_EQ_INT(f.w.state, MW_STARTING);
	fx_teardown(&f);
}

TEST(test_hello_wrong_gen_or_id)
{
	struct fixture f;

	REQUIRE(fx_setup(&f) == 0);
	ASSERT_EQ_INT(fx_hello(&f, 0, GEN_NUM + 1), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	ASSERT_EQ_INT(f.w.state, MW_NEW);
	fx_teardown(&f);

	REQUIRE(fx_setup(&f) == 0);
	ASSERT_EQ_INT(fx_hello(&f, 1, GEN_NUM), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	fx_teardown(&f);

	/* Length: 7 and 9 bytes. */
	REQUIRE(fx_setup(&f) == 0);
	ASSERT_EQ_INT(fx_raw(&f, IPC_HELLO, "\0\0\0\0\0\0\0", 7), -1);
	ASSERT_EQ_INT(fx_raw(&f, IPC_HELLO, "\0\0\0\0\0\0\0\3\0", 9), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	fx_teardown(&f);
}

TEST(test_hello_once)
{
	struct fixture f;

	REQUIRE(fx_started(&f) == 0);
	/* Refused by state ... */
	ASSERT_EQ_INT(fx_hello(&f, 0, GEN_NUM), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	/* ... and by the once-only bit even if the state allowed it. */
	f.w.state = MW_NEW;
	ASSERT_EQ_INT(fx_hello(&f, 0, GEN_NUM), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	fx_teardown(&f);
}

TEST(test_listener_before_hello)
{
	struct fixture f;

	REQUIRE(fx_setup(&f) == 0);
	ASSERT_EQ_INT(fx_u32(&f, IPC_LISTENER, 0), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	ASSERT_EQ_INT(f.w.lis_given[0], 0);
	fx_teardown(&f);
}

TEST(test_listener)
{
	struct fixture f;

	REQUIRE(fx_started(&f) == 0);
	ASSERT_EQ_INT(fx_u32(&f, IPC_LISTENER, 0), 0);
	ASSERT_EQ_INT(f.atype, IPC_LISTENER_ANS);
	ASSERT_EQ_UINT(f.aseq, f.seq);
	ASSERT_EQ_INT(f.astatus, 0);
	ASSERT(f.afd >= 0);
	ASSERT(f.afd >= 0 && same_file(f.afd, f.ml.fd));
	ASSERT_EQ_INT(f.w.lis_given[0], 1);

	/* Twice. */
	ASSERT_EQ_INT(fx_u32(&f, IPC_LISTENER, 0), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	fx_teardown(&f);
}

TEST(test_listener_outside_config)
{
	struct fixture f;

	REQUIRE(fx_started(&f) == 0);
	ASSERT_EQ_INT(fx_u32(&f, IPC_LISTENER, 5), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	ASSERT_EQ_INT(fx_u32(&f, IPC_LISTENER, 1), -1);	/* == nlis */
	ASSERT_EQ_INT(fx_u32(&f, IPC_LISTENER, UINT32_MAX), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	/* Index 0 is still available afterwards. */
	ASSERT_EQ_INT(f.w.lis_given[0], 0);
	fx_teardown(&f);

	/* A listener the monitor did not open (lis[idx] == NULL). */
	REQUIRE(fx_started(&f) == 0);
	f.gen.lis[0] = NULL;
	ASSERT_EQ_INT(fx_u32(&f, IPC_LISTENER, 0), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	fx_teardown(&f);
}

TEST(test_listener_bad_length)
{
	struct fixture f;

	REQUIRE(fx_started(&f) == 0);
	ASSERT_EQ_INT(fx_raw(&f, IPC_LISTENER, "\0\0\0", 3), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	ASSERT_EQ_INT(fx_raw(&f, IPC_LISTENER, "\0\0\0\0\0", 5), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	ASSERT_EQ_INT(fx_raw(&f, IPC_LISTENER, "", 0), -1);
	ASSERT_EQ_INT(f.w.lis_given[0], 0);
	fx_teardown(&f);
}

TEST(test_unknown_and_odd_types)
{
	struct fixture f;
	struct ipc_stats st = { 1, 2, 3, 4 };
	struct buf b;

	REQUIRE(fx_started(&f) == 0);
	ASSERT_EQ_INT(fx_u32(&f, 200, 0), -1);
	ASSERT_EQ_INT(fx_request(&f, 200, NULL, -1), -1);
	ASSERT_EQ_INT(fx_request(&f, 0, NULL, -1), -1);
	ASSERT_EQ_INT(fx_request(&f, 0xffff, NULL, -1), -1);
	/* Answers and monitor commands are not requests. */
	buf_init(&b);
	ASSERT_EQ_INT(ipc_enc_status(&b, 0), 0);
	ASSERT_EQ_INT(fx_request(&f, IPC_HELLO_ANS, &b, -1), -1);
	ASSERT_EQ_INT(fx_request(&f, IPC_LISTENER_ANS, &b, -1), -1);
	ASSERT_EQ_INT(fx_request(&f, IPC_SOCKET_ANS, &b, -1), -1);
	buf_release(&b);
	ASSERT_EQ_INT(fx_request(&f, IPC_CMD_STATS, NULL, -1), -1);
	ASSERT_EQ_INT(fx_request(&f, IPC_CMD_DRAIN, NULL, -1), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);

	/* The worker's answer to CMD_STATS is accepted, exactly 28 bytes. */
	buf_init(&b);
	ASSERT_EQ_INT(ipc_enc_stats(&b, &st), 0);
	ASSERT_EQ_INT(fx_request(&f, IPC_CMD_STATS_ANS, &b, -1), 0);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	ASSERT_EQ_INT(buf_put_u8(&b, 0), 0);
	ASSERT_EQ_INT(fx_request(&f, IPC_CMD_STATS_ANS, &b, -1), -1);
	buf_release(&b);
	fx_teardown(&f);
}

TEST(test_tun_open_not_configured)
{
	struct fixture f;

	REQUIRE(fx_started(&f) == 0);
	ASSERT_EQ_INT(fx_name(&f, IPC_TUN_OPEN, "nosuch0"), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	/* An empty name is under the minimum length. */
	ASSERT_EQ_INT(fx_raw(&f, IPC_TUN_OPEN, "\0\0", 2), -1);
	/* Over IPC_MAX_NAME. */
	ASSERT_EQ_INT(fx_name(&f, IPC_TUN_OPEN, "abcdefghijklmnop"), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	fx_teardown(&f);

	/* Before HELLO. */
	REQUIRE(fx_setup(&f) == 0);
	ASSERT_EQ_INT(fx_name(&f, IPC_TUN_OPEN, "ostp0"), -1);
	fx_teardown(&f);
}

TEST(test_socket_unconfigured)
{
	struct fixture f;

	REQUIRE(fx_started(&f) == 0);
	/* Neither mark nor interface: the worker makes its own sockets. */
	ASSERT_EQ_INT(fx_socket(&f, AF_INET, SOCK_STREAM, 0, ""), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	ASSERT_EQ_INT(fx_socket(&f, AF_INET, SOCK_STREAM, 7, ""), -1);
	ASSERT_EQ_INT(fx_socket(&f, AF_INET, SOCK_STREAM, 0, "lo"), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	fx_teardown(&f);
}

TEST(test_socket_mark)
{
	struct fixture f;
	struct conf_args a;
	char *serve[] = { TCP_NODE };
	uint32_t got;
	socklen_t len;

	memset(&a, 0, sizeof(a));
	a.serve = serve;
	a.nserve = 1;
	a.have_mark = 1;
	a.mark = 7;
	REQUIRE(fx_setup_args(&f, &a) == 0);
	ASSERT_EQ_INT(fx_hello(&f, 0, GEN_NUM), 0);

	ASSERT_EQ_INT(fx_socket(&f, AF_INET, SOCK_STREAM, 8, ""), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	ASSERT_EQ_INT(fx_socket(&f, AF_INET, SOCK_STREAM, 0, ""), -1);
	ASSERT_EQ_INT(fx_socket(&f, AF_INET, SOCK_STREAM, 7, "lo"), -1);
	ASSERT_EQ_INT(fx_socket(&f, AF_UNIX, SOCK_STREAM, 7, ""), -1);
	ASSERT_EQ_INT(fx_socket(&f, AF_INET, SOCK_RAW, 7, ""), -1);
	ASSERT_EQ_INT(fx_socket(&f, AF_PACKET, SOCK_DGRAM, 7, ""), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);

	/*
	 * The permitted request is answered: with a marked socket when we
	 * have CAP_NET_ADMIN, otherwise with an error status and no fd.
	 */
	ASSERT_EQ_INT(fx_socket(&f, AF_INET, SOCK_STREAM, 7, ""), 0);
	ASSERT_EQ_INT(f.atype, IPC_SOCKET_ANS);
	ASSERT_EQ_UINT(f.aseq, f.seq);
	if (f.astatus == 0) {
		ASSERT(f.afd >= 0);
		got = 0;
		len = sizeof(got);
		ASSERT(f.afd >= 0 && getsockopt(f.afd, SOL_SOCKET, SO_MARK,
		    &got, &len) == 0);
		ASSERT_EQ_UINT(got, 7);
	} else {
		ASSERT(f.astatus > 0);
		ASSERT_EQ_INT(f.afd, -1);
		fprintf(stderr, "note: SO_MARK not permitted here (%s)\n",
		    strerror(f.astatus));
	}
	/* SOCKET is not once-only and is allowed while running. */
	ASSERT_EQ_INT(fx_socket(&f, AF_INET6, SOCK_DGRAM, 7, ""), 0);
	ASSERT_EQ_INT(f.atype, IPC_SOCKET_ANS);
	f.w.state = MW_RUNNING;
	ASSERT_EQ_INT(fx_socket(&f, AF_INET, SOCK_DGRAM, 7, ""), 0);
	ASSERT_EQ_INT(f.atype, IPC_SOCKET_ANS);
	fx_teardown(&f);
}

/*
 * gost's Routes with their own Mark and Interface: each route's pair (a
 * route without one takes the top level's) and the global pair are
 * allowed, nothing else, not even a mix of two routes'.
 */
TEST(test_socket_route_mark)
{
	static const char json[] =
	    "{\"ServeNodes\":[\"" TCP_NODE "\"],\"Mark\":7,\"Routes\":["
	    "{\"ServeNodes\":[\"tcp://127.0.0.1:40001/127.0.0.1:9\"],"
	    "\"Mark\":9},"
	    "{\"ServeNodes\":[\"tcp://127.0.0.1:40002/127.0.0.1:9\"],"
	    "\"Interface\":\"lo\"}]}";
	struct fixture f;
	struct conf_args a;
	struct egress e;

	memset(&a, 0, sizeof(a));
	a.path = "test.json";
	a.text = json;
	a.textlen = sizeof(json) - 1;
	REQUIRE(fx_setup_args(&f, &a) == 0);
	ASSERT_EQ_UINT(f.gen.conf.nlis, 3);
	conf_egress(&f.gen.conf, &f.gen.conf.lis[1], &e);
	ASSERT_EQ_UINT(e.mark, 9);
	ASSERT_STREQ(e.iface, "");
	conf_egress(&f.gen.conf, &f.gen.conf.lis[2], &e);
	ASSERT_EQ_UINT(e.mark, 7);
	ASSERT_STREQ(e.iface, "lo");
	ASSERT_EQ_INT(fx_hello(&f, 0, GEN_NUM), 0);

	ASSERT_EQ_INT(fx_socket(&f, AF_INET, SOCK_STREAM, 9, "lo"), -1);
	ASSERT_EQ_INT(fx_socket(&f, AF_INET, SOCK_STREAM, 8, ""), -1);
	ASSERT_EQ_INT(fx_socket(&f, AF_INET, SOCK_STREAM, 0, "lo"), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	ASSERT_EQ_INT(fx_socket(&f, AF_INET, SOCK_STREAM, 7, ""), 0);
	ASSERT_EQ_INT(f.atype, IPC_SOCKET_ANS);
	ASSERT_EQ_INT(fx_socket(&f, AF_INET, SOCK_STREAM, 9, ""), 0);
	ASSERT_EQ_INT(f.atype, IPC_SOCKET_ANS);
	ASSERT_EQ_INT(fx_socket(&f, AF_INET, SOCK_DGRAM, 7, "lo"), 0);
	ASSERT_EQ_INT(f.atype, IPC_SOCKET_ANS);
	fx_teardown(&f);
}

TEST(test_file_open)
{
	struct fixture f;
	int fd;

	REQUIRE(fx_started(&f) == 0);
	ASSERT_EQ_UINT(f.gen.conf.nfiles, 0);
	ASSERT_EQ_INT(fx_name(&f, IPC_FILE_OPEN, "/etc/passwd"), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	fx_teardown(&f);

	REQUIRE(fx_started(&f) == 0);
	REQUIRE((f.gen.conf.files = calloc(3, sizeof(char *))) != NULL);
	REQUIRE((f.gen.conf.files[0] = strdup("/etc/passwd")) != NULL);
	REQUIRE((f.gen.conf.files[1] = strdup("/etc")) != NULL);
	f.gen.conf.nfiles = 2;
	ASSERT_EQ_INT(fx_name(&f, IPC_FILE_OPEN, "/etc/passwd"), 0);
	ASSERT_EQ_INT(f.atype, IPC_FILE_OPEN_ANS);
	ASSERT_EQ_INT(f.astatus, 0);
	REQUIRE(f.afd >= 0);
	REQUIRE((fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC)) != -1);
	ASSERT(same_file(f.afd, fd));
	close(fd);
	/* Read-only. */
	ASSERT_EQ_INT(fcntl(f.afd, F_GETFL) & O_ACCMODE, O_RDONLY);

	/* Only the exact name. */
	ASSERT_EQ_INT(fx_name(&f, IPC_FILE_OPEN, "/etc/passwd/"), -1);
	ASSERT_EQ_INT(fx_name(&f, IPC_FILE_OPEN, "/etc/../etc/passwd"), -1);
	ASSERT_EQ_INT(fx_name(&f, IPC_FILE_OPEN, "/etc/shadow"), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	/* A named directory is answered with an error, not an fd. */
	ASSERT_EQ_INT(fx_name(&f, IPC_FILE_OPEN, "/etc"), 0);
	ASSERT_EQ_INT(f.atype, IPC_FILE_OPEN_ANS);
	ASSERT_EQ_INT(f.astatus, EINVAL);
	ASSERT_EQ_INT(f.afd, -1);
	/* Allowed while running too. */
	f.w.state = MW_RUNNING;
	ASSERT_EQ_INT(fx_name(&f, IPC_FILE_OPEN, "/etc/passwd"), 0);
	ASSERT_EQ_INT(f.astatus, 0);
	ASSERT(f.afd >= 0);
	fx_teardown(&f);
}

TEST(test_ready)
{
	struct fixture f;

	/* Not before HELLO. */
	REQUIRE(fx_setup(&f) == 0);
	ASSERT_EQ_INT(fx_request(&f, IPC_READY, NULL, -1), -1);
	ASSERT_EQ_INT(f.w.state, MW_NEW);
	fx_teardown(&f);

	REQUIRE(fx_started(&f) == 0);
	/* READY takes no payload. */
	ASSERT_EQ_INT(fx_raw(&f, IPC_READY, "x", 1), -1);
	ASSERT_EQ_INT(f.w.state, MW_STARTING);
	ASSERT_EQ_INT(fx_request(&f, IPC_READY, NULL, -1), 0);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	ASSERT_EQ_INT(f.w.state, MW_RUNNING);
	ASSERT_EQ_INT(f.mon.ever_ready, 1);
	ASSERT_EQ_INT(fx_request(&f, IPC_READY, NULL, -1), -1);
	/* Once-only even if the state were STARTING again. */
	f.w.state = MW_STARTING;
	ASSERT_EQ_INT(fx_request(&f, IPC_READY, NULL, -1), -1);
	/* No more listeners once running. */
	f.w.state = MW_RUNNING;
	ASSERT_EQ_INT(fx_u32(&f, IPC_LISTENER, 0), -1);
	fx_teardown(&f);
}

TEST(test_log)
{
	struct fixture f;
	char big[IPC_MAX_STRING + 2];

	REQUIRE(fx_setup(&f) == 0);
	/* Not before HELLO. */
	ASSERT_EQ_INT(fx_log(&f, LOG_LEVEL_INFO, "too early"), -1);
	fx_teardown(&f);

	REQUIRE(fx_started(&f) == 0);
	ASSERT_EQ_INT(fx_log(&f, LOG_LEVEL_DEBUG3, "a debug line"), 0);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	ASSERT_EQ_INT(fx_log(&f, LOG_LEVEL_DEBUG3, ""), 0);
	/* FATAL is accepted (and downgraded by the monitor). */
	ASSERT_EQ_INT(fx_log(&f, LOG_LEVEL_FATAL, "worker says fatal"), 0);
	ASSERT_EQ_INT(fx_log(&f, 9, "bad level"), -1);
	ASSERT_EQ_INT(fx_log(&f, 7, "bad level"), -1);
	ASSERT_EQ_INT(fx_log(&f, 255, "bad level"), -1);
	ASSERT_EQ_INT(fx_raw(&f, IPC_LOG, "\2\0\3a\0b", 6), -1); /* NUL */
	ASSERT_EQ_INT(fx_raw(&f, IPC_LOG, "\2\0\2a", 4), -1);	/* short */
	ASSERT_EQ_INT(fx_raw(&f, IPC_LOG, "\2\0", 2), -1);
	/* The longest line, and one byte over. */
	memset(big, 'x', sizeof(big));
	big[IPC_MAX_STRING] = '\0';
	ASSERT_EQ_INT(fx_log(&f, LOG_LEVEL_DEBUG3, big), 0);
	big[IPC_MAX_STRING] = 'x';
	big[IPC_MAX_STRING + 1] = '\0';
	ASSERT_EQ_INT(fx_log(&f, LOG_LEVEL_DEBUG3, big), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	/* Still allowed while running and draining. */
	f.w.state = MW_DRAINING;
	ASSERT_EQ_INT(fx_log(&f, LOG_LEVEL_DEBUG3, "draining"), 0);
	fx_teardown(&f);
}

TEST(test_request_with_fd)
{
	struct fixture f;
	struct buf b;
	int fd;

	REQUIRE((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) != -1);
	REQUIRE(fx_setup(&f) == 0);
	buf_init(&b);
	ASSERT_EQ_INT(ipc_enc_hello(&b, 0, GEN_NUM), 0);
	ASSERT_EQ_INT(fx_request(&f, IPC_HELLO, &b, fd), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	ASSERT_EQ_INT(f.w.state, MW_NEW);
	buf_release(&b);
	fx_teardown(&f);

	REQUIRE(fx_started(&f) == 0);
	buf_init(&b);
	ASSERT_EQ_INT(ipc_enc_u32(&b, 0), 0);
	ASSERT_EQ_INT(fx_request(&f, IPC_LISTENER, &b, fd), -1);
	ASSERT_EQ_INT(f.w.lis_given[0], 0);
	buf_reset(&b);
	ASSERT_EQ_INT(ipc_enc_log(&b, LOG_LEVEL_INFO, "with fd"), 0);
	ASSERT_EQ_INT(fx_request(&f, IPC_LOG, &b, fd), -1);
	ASSERT_EQ_INT(fx_request(&f, IPC_READY, NULL, fd), -1);
	ASSERT_EQ_INT(f.w.state, MW_STARTING);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	buf_release(&b);
	fx_teardown(&f);
	close(fd);
}

/* BIND_PARK/UNPARK for listener lis, host 127.0.0.<host>, port */
static int
fx_park(struct fixture *f, int type, uint32_t lis, int host, uint16_t port,
    int fd)
{
	unsigned char addr[16] = { 127, 0, 0, 0 };
	struct buf b;
	int r;

	addr[3] = (unsigned char)host;
	buf_init(&b);
	if (ipc_enc_tproxy(&b, lis, AF_INET, addr, port) != 0)
		return -2;
	r = fx_request(f, type, &b, fd);
	buf_release(&b);
	return r;
}

/* a listening TCP socket on 127.0.0.1; its port in *port */
static int
listening(uint16_t *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 4) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

TEST(test_bind_park)
{
	struct fixture f;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	uint16_t port;
	int lfd, nfd, ufd;

	REQUIRE(fx_started(&f) == 0);
	REQUIRE((f.mon.base = event_base_new()) != NULL);
	REQUIRE((lfd = listening(&port)) != -1);
	REQUIRE((ufd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1);
	REQUIRE((nfd = open("/dev/null", O_RDONLY | O_CLOEXEC)) != -1);
	f.w.state = MW_RUNNING;

	/* Only a listening TCP socket on the named port, of a listener. */
	ASSERT_EQ_INT(fx_park(&f, IPC_BIND_PARK, 0, 1, port, -1), -1);
	ASSERT_EQ_INT(fx_park(&f, IPC_BIND_PARK, 0, 1, port, nfd), -1);
	ASSERT_EQ_INT(fx_park(&f, IPC_BIND_PARK, 0, 1, port, ufd), -1);
	ASSERT_EQ_INT(fx_park(&f, IPC_BIND_PARK, 0, 1,
	    (uint16_t)(port + 1), lfd), -1);
	ASSERT_EQ_INT(fx_park(&f, IPC_BIND_PARK, 7, 1, port, lfd), -1);
	ASSERT_EQ_INT(fx_park(&f, IPC_BIND_PARK, 0, 1, 0, lfd), -1);
	ASSERT_EQ_INT(fx_park(&f, IPC_BIND_PARK, 0, 1, port, lfd), 0);
	ASSERT_EQ_INT(f.atype, IPC_BIND_PARK_ANS);
	ASSERT_EQ_INT(f.astatus, 0);

	/* Another host, another port, another listener: not theirs. */
	ASSERT_EQ_INT(fx_park(&f, IPC_BIND_UNPARK, 0, 2, port, -1), 0);
	ASSERT_EQ_INT(f.atype, IPC_BIND_UNPARK_ANS);
	ASSERT_EQ_INT(f.astatus, ENOENT);
	ASSERT_EQ_INT(f.afd, -1);
	ASSERT_EQ_INT(fx_park(&f, IPC_BIND_UNPARK, 0, 1,
	    (uint16_t)(port + 1), -1), 0);
	ASSERT_EQ_INT(f.astatus, ENOENT);
	ASSERT_EQ_INT(fx_park(&f, IPC_BIND_UNPARK, 7, 1, port, -1), -1);

	/* The same host gets the same listening socket back, once. */
	ASSERT_EQ_INT(fx_park(&f, IPC_BIND_UNPARK, 0, 1, port, -1), 0);
	ASSERT_EQ_INT(f.astatus, 0);
	ASSERT(f.afd != -1);
	ASSERT_EQ_INT(getsockname(f.afd, (struct sockaddr *)&sin, &len), 0);
	ASSERT_EQ_INT(ntohs(sin.sin_port), port);
	ASSERT_EQ_INT(fx_park(&f, IPC_BIND_UNPARK, 0, 1, port, -1), 0);
	ASSERT_EQ_INT(f.astatus, ENOENT);

	/* A descriptor rides only on BIND_PARK. */
	ASSERT_EQ_INT(fx_park(&f, IPC_BIND_UNPARK, 0, 1, port, lfd), -1);

	close(lfd);
	close(ufd);
	close(nfd);
	event_base_free(f.mon.base);
	fx_teardown(&f);
}

/*
 * TLS listeners: one with the default certificate (ECDSA, made by the
 * monitor) and one with an RSA key from files written here, after a
 * plain forwarder (listener 0).
 */
static char tls_cert_path[64], tls_key_path[64];

static int
write_rsa_files(void)
{
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	FILE *fc = NULL, *fk = NULL;
	int fd, ok = 0;

	snprintf(tls_cert_path, sizeof(tls_cert_path),
	    "/tmp/test_dispatch.crt.XXXXXX");
	snprintf(tls_key_path, sizeof(tls_key_path),
	    "/tmp/test_dispatch.key.XXXXXX");
	if ((fd = mkstemp(tls_cert_path)) == -1 ||
	    (fc = fdopen(fd, "w")) == NULL ||
	    (fd = mkstemp(tls_key_path)) == -1 ||
	    (fk = fdopen(fd, "w")) == NULL)
		goto out;
	if ((k = EVP_RSA_gen(2048)) == NULL || (x = X509_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 3600) == NULL ||
	    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)"test", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 ||
	    X509_set_pubkey(x, k) != 1 || X509_sign(x, k, EVP_sha256()) == 0 ||
	    PEM_write_X509(fc, x) != 1 ||
	    PEM_write_PrivateKey(fk, k, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	ok = 1;
 out:
	if (fc != NULL)
		fclose(fc);
	if (fk != NULL)
		fclose(fk);
	EVP_PKEY_free(k);
	X509_free(x);
	return ok ? 0 : -1;
}

static int
fx_tls_started(struct fixture *f)
{
	struct conf_args a;
	char rsa[256], err[256];
	char *serve[] = { TCP_NODE, "https://127.0.0.1:40001", rsa };

	snprintf(rsa, sizeof(rsa), "http+tls://127.0.0.1:40002?cert=%s&"
	    "key=%s", tls_cert_path, tls_key_path);
	memset(&a, 0, sizeof(a));
	a.serve = serve;
	a.nserve = 3;
	if (fx_setup_args(f, &a) != 0 ||
	    mon_tls_load(&f->mon, &f->gen, err, sizeof(err)) != 0 ||
	    fx_hello(f, 0, GEN_NUM) != 0)
		return -1;
	return 0;
}

static int
fx_sign(struct fixture *f, uint32_t lis, int op, const unsigned char *in,
    size_t len)
{
	struct buf b;
	int r;

	buf_init(&b);
	if (ipc_enc_tls_sign(&b, lis, op, in, len) != 0)
		return -2;
	r = fx_request(f, IPC_TLS_SIGN, &b, -1);
	buf_release(&b);
	return r;
}

/* The certificate a TLS_CERT answer's memfd holds. */
static X509 *
answer_cert(struct fixture *f)
{
	char pem[16384];
	ssize_t n;
	BIO *b;
	X509 *x;
	int seals;

	if (f->afd == -1 || (seals = fcntl(f->afd, F_GET_SEALS)) == -1 ||
	    (seals & F_SEAL_WRITE) == 0 ||
	    (n = read(f->afd, pem, sizeof(pem))) <= 0 ||
	    (b = BIO_new_mem_buf(pem, (int)n)) == NULL)
		return NULL;
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	/* certificates only: never a key */
	if (memmem(pem, (size_t)n, "PRIVATE KEY", 11) != NULL) {
		X509_free(x);
		x = NULL;
	}
	BIO_free(b);
	return x;
}

TEST(test_tls_cert)
{
	struct fixture f;
	X509 *x;

	REQUIRE(fx_tls_started(&f) == 0);
	/* not TLS listeners, or none at all */
	ASSERT_EQ_INT(fx_u32(&f, IPC_TLS_CERT, 0), -1);
	ASSERT_EQ_INT(fx_u32(&f, IPC_TLS_CERT, 3), -1);
	ASSERT_EQ_INT(fx_u32(&f, IPC_TLS_CERT, UINT32_MAX), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	ASSERT_EQ_INT(fx_raw(&f, IPC_TLS_CERT, "\0\0\0", 3), -1);
	ASSERT_EQ_INT(fx_raw(&f, IPC_TLS_CERT, "\0\0\0\1\0", 5), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	/* the default certificate, then the RSA one from its file */
	ASSERT_EQ_INT(fx_u32(&f, IPC_TLS_CERT, 1), 0);
	ASSERT_EQ_INT(f.atype, IPC_TLS_CERT_ANS);
	ASSERT_EQ_INT(f.astatus, 0);
	ASSERT((x = answer_cert(&f)) != NULL);
	ASSERT(x != NULL && EVP_PKEY_get_base_id(X509_get0_pubkey(x)) ==
	    EVP_PKEY_EC);
	X509_free(x);
	ASSERT_EQ_INT(fx_u32(&f, IPC_TLS_CERT, 2), 0);
	ASSERT((x = answer_cert(&f)) != NULL);
	ASSERT(x != NULL && EVP_PKEY_get_base_id(X509_get0_pubkey(x)) ==
	    EVP_PKEY_RSA);
	X509_free(x);
	/* once per listener, and only while starting */
	ASSERT_EQ_INT(fx_u32(&f, IPC_TLS_CERT, 1), -1);
	fx_teardown(&f);
	REQUIRE(fx_tls_started(&f) == 0);
	f.w.state = MW_RUNNING;
	ASSERT_EQ_INT(fx_u32(&f, IPC_TLS_CERT, 1), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	fx_teardown(&f);
}

/* The signature of the last TLS_SIGN answer: 0, or -1. */
static int
answer_sig(struct fixture *f, const unsigned char **sig, size_t *len)
{
	struct buf b;
	int32_t st;

	buf_view(&b, f->araw, f->alen);
	if (f->atype != IPC_TLS_SIGN_ANS || f->afd != -1 ||
	    ipc_dec_tls_sig(&b, &st, sig, len) != 0 || st != 0)
		return -1;
	return 0;
}

TEST(test_tls_sign)
{
	struct fixture f;
	unsigned char in[IPC_TLS_SIGN_MAX], out[IPC_TLS_SIGN_MAX + 16];
	const unsigned char *sig;
	size_t len, n;
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pub = NULL;
	X509 *x;

	memset(in, 0x5a, sizeof(in));
	REQUIRE(fx_tls_started(&f) == 0);
	/* no handshakes before READY */
	ASSERT_EQ_INT(fx_sign(&f, 1, IPC_TLS_ECDSA, in, 32), -1);
	f.w.state = MW_RUNNING;
	/* nor before the listener's certificate */
	ASSERT_EQ_INT(fx_sign(&f, 1, IPC_TLS_ECDSA, in, 32), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	f.w.state = MW_STARTING;
	ASSERT_EQ_INT(fx_u32(&f, IPC_TLS_CERT, 1), 0);
	ASSERT((x = answer_cert(&f)) != NULL);
	if (x != NULL) {
		pub = X509_get_pubkey(x);
		X509_free(x);
	}
	ASSERT_EQ_INT(fx_u32(&f, IPC_TLS_CERT, 2), 0);
	f.w.state = MW_RUNNING;

	/* ECDSA: a digest of 20 to 64 bytes, answered in DER */
	ASSERT_EQ_INT(fx_sign(&f, 1, IPC_TLS_ECDSA, in, 32), 0);
	ASSERT_EQ_INT(answer_sig(&f, &sig, &len), 0);
	ASSERT((ctx = EVP_PKEY_CTX_new(pub, NULL)) != NULL);
	ASSERT(ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
	    EVP_PKEY_verify(ctx, sig, len, in, 32) == 1);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pub);
	ASSERT_EQ_INT(fx_sign(&f, 1, IPC_TLS_ECDSA, in, 20), 0);
	ASSERT_EQ_INT(fx_sign(&f, 1, IPC_TLS_ECDSA, in, 64), 0);
	ASSERT_EQ_INT(fx_sign(&f, 1, IPC_TLS_ECDSA, in, 19), -1);
	ASSERT_EQ_INT(fx_sign(&f, 1, IPC_TLS_ECDSA, in, 65), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	/* the wrong operation for the key, or none we know */
	ASSERT_EQ_INT(fx_sign(&f, 1, IPC_TLS_RSA_RAW, in, 32), -1);
	ASSERT_EQ_INT(fx_sign(&f, 1, 0, in, 32), -1);
	ASSERT_EQ_INT(fx_sign(&f, 1, 3, in, 32), -1);
	ASSERT_EQ_INT(fx_sign(&f, 2, IPC_TLS_ECDSA, in, 32), -1);
	/* not TLS listeners */
	ASSERT_EQ_INT(fx_sign(&f, 0, IPC_TLS_ECDSA, in, 32), -1);
	ASSERT_EQ_INT(fx_sign(&f, 3, IPC_TLS_ECDSA, in, 32), -1);
	/* lengths: no input, more than any key's */
	ASSERT_EQ_INT(fx_raw(&f, IPC_TLS_SIGN, "\0\0\0\1\2", 5), -1);
	memset(out, 0, sizeof(out));
	out[3] = 1;
	out[4] = IPC_TLS_ECDSA;
	ASSERT_EQ_INT(fx_raw(&f, IPC_TLS_SIGN, out, 6 + IPC_TLS_SIGN_MAX), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);

	/* RSA: exactly the modulus size, below the modulus */
	in[0] = 0x00;
	ASSERT_EQ_INT(fx_sign(&f, 2, IPC_TLS_RSA_RAW, in, 256), 0);
	ASSERT_EQ_INT(answer_sig(&f, &sig, &len), 0);
	ASSERT_EQ_UINT(len, 256);
	/* the public operation gives the input back */
	pub = NULL;
	if (f.gen.tls != NULL && f.gen.tls[2] != NULL)
		pub = f.gen.tls[2]->key;
	n = sizeof(out);
	ASSERT(pub != NULL && (ctx = EVP_PKEY_CTX_new(pub, NULL)) != NULL);
	ASSERT(pub != NULL && EVP_PKEY_verify_recover_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 &&
	    EVP_PKEY_verify_recover(ctx, out, &n, sig, len) == 1 &&
	    n == 256 && memcmp(out, in, 256) == 0);
	if (pub != NULL)
		EVP_PKEY_CTX_free(ctx);
	ASSERT_EQ_INT(fx_sign(&f, 2, IPC_TLS_RSA_RAW, in, 255), -1);
	ASSERT_EQ_INT(fx_sign(&f, 2, IPC_TLS_RSA_RAW, in, 257), -1);
	memcpy(in, f.gen.tls[2]->modulus, 256);
	ASSERT_EQ_INT(fx_sign(&f, 2, IPC_TLS_RSA_RAW, in, 256), -1);
	memset(in, 0xff, 256);
	ASSERT_EQ_INT(fx_sign(&f, 2, IPC_TLS_RSA_RAW, in, 256), -1);
	ASSERT_EQ_INT(fx_sign(&f, 2, IPC_TLS_ECDSA, in, 32), -1);
	ASSERT_EQ_INT(f.atype, NO_ANSWER);
	/* draining workers still finish their handshakes */
	f.w.state = MW_DRAINING;
	in[0] = 0;
	ASSERT_EQ_INT(fx_sign(&f, 2, IPC_TLS_RSA_RAW, in, 256), 0);
	ASSERT_EQ_INT(answer_sig(&f, &sig, &len), 0);
	fx_teardown(&f);
}

int
main(void)
{
	/* The refusals log errors; keep the output to the test lines. */
	if (getenv("TEST_VERBOSE") == NULL)
		log_set_level(LOG_LEVEL_FATAL);
	RUN(test_hello);
	RUN(test_hello_wrong_gen_or_id);
	RUN(test_hello_once);
	RUN(test_listener_before_hello);
	RUN(test_listener);
	RUN(test_listener_outside_config);
	RUN(test_listener_bad_length);
	RUN(test_unknown_and_odd_types);
	RUN(test_tun_open_not_configured);
	RUN(test_socket_unconfigured);
	RUN(test_socket_mark);
	RUN(test_socket_route_mark);
	RUN(test_file_open);
	RUN(test_ready);
	RUN(test_log);
	RUN(test_request_with_fd);
	RUN(test_bind_park);
	if (write_rsa_files() == 0) {
		RUN(test_tls_cert);
		RUN(test_tls_sign);
	} else {
		fprintf(stderr, "FAIL - cannot write the RSA test key\n");
		test_nfailed++;
	}
	unlink(tls_cert_path);
	unlink(tls_key_path);
	return TEST_EXIT();
}
