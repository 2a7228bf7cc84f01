/*
 * The OSTP port's steering program (monitor/steer.c) on real sockets:
 * datagrams from unmapped addresses reach only the current generation's
 * sockets; a mapped address reaches its socket, whatever the hash says;
 * an unmapped one goes back to the hash; an empty slot falls back to
 * the kernel.  Needs the right to load BPF (root): otherwise skipped.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "../../monitor/steer.h"

#define NSOCK	3
#define NCLI	24

static struct steer st;
static int srv[NSOCK];
static unsigned int slot[NSOCK];
static int cli[NCLI];
static struct sockaddr_in to;

static int
udp_bound(uint16_t port, int reuse)
{
	struct sockaddr_in sin;
	int fd, on = 1;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	if (reuse)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
		    sizeof(on));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Which server socket got client c's datagram (-1: none). */
static int
landed(int c)
{
	struct pollfd pfd[NSOCK];
	char b[16];
	int i, got = -1;

	if (send(cli[c], "x", 1, 0) != 1)
		return -1;
	for (i = 0; i < NSOCK; i++) {
		pfd[i].fd = srv[i];
		pfd[i].events = POLLIN;
	}
	if (poll(pfd, NSOCK, 1000) <= 0)
		return -1;
	for (i = 0; i < NSOCK; i++)
		if (recv(srv[i], b, sizeof(b), 0) == 1)
			got = got == -1 ? i : -2;
	return got;
}

static int
cli_key(int c, struct steer_key *k)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(cli[c], (struct sockaddr *)&ss, &len) == -1)
		return -1;
	return steer_key((struct sockaddr *)&ss, k);
}

TEST(current_generation_only)
{
	unsigned int cur[2] = { slot[0], slot[1] };
	int c, seen[NSOCK] = { 0 }, w;

	REQUIRE(steer_current(&st, cur, 2) == 0);
	for (c = 0; c < NCLI; c++) {
		w = landed(c);
		REQUIRE(w >= 0);
		seen[w]++;
	}
	ASSERT_EQ_INT(seen[2], 0);
	/* 24 addresses over two sockets: both get some */
	ASSERT(seen[0] > 0);
	ASSERT(seen[1] > 0);
	/* the same address, the same socket */
	for (c = 0; c < NCLI; c++)
		ASSERT_EQ_INT(landed(c), landed(c));
}

TEST(mapped_address)
{
	struct steer_key k;
	int c;

	for (c = 0; c < 4; c++) {
		REQUIRE(cli_key(c, &k) == 0);
		REQUIRE(steer_addr_set(&st, &k, slot[2]) == 0);
		ASSERT_EQ_INT(landed(c), 2);
		ASSERT_EQ_INT(landed(c), 2);
		REQUIRE(steer_addr_set(&st, &k, slot[c % 2]) == 0);
		ASSERT_EQ_INT(landed(c), c % 2);
		/* only the slot it points at may take it away */
		REQUIRE(steer_addr_del_if(&st, &k, slot[(c + 1) % 2]) == 0);
		ASSERT_EQ_INT(landed(c), c % 2);
		REQUIRE(steer_addr_set(&st, &k, slot[2]) == 0);
		REQUIRE(steer_addr_del_if(&st, &k, slot[2]) == 0);
		ASSERT(landed(c) != 2);
	}
	/* deleting what is not there is no error */
	REQUIRE(cli_key(5, &k) == 0);
	ASSERT_EQ_INT(steer_addr_del(&st, &k), 0);
}

TEST(new_generation)
{
	unsigned int cur[1] = { slot[2] };
	int c;

	REQUIRE(steer_current(&st, cur, 1) == 0);
	for (c = 0; c < NCLI; c++)
		ASSERT_EQ_INT(landed(c), 2);
}

TEST(empty_slot_falls_back)
{
	unsigned int cur[1] = { 40 };	/* nobody there */
	int c, w;

	REQUIRE(steer_current(&st, cur, 1) == 0);
	for (c = 0; c < NCLI; c++) {
		w = landed(c);
		ASSERT(w >= 0 && w < NSOCK);
	}
}

int
main(void)
{
	char err[512];
	uint16_t port;
	int i;

	if (geteuid() != 0) {
		printf("skipped: loading BPF needs root\n");
		return 77;
	}
	if (steer_new(&st, err, sizeof(err)) != 0) {
		printf("skipped: %s\n", err);
		return 77;
	}
	/* a free port, then the group on it */
	for (port = 47000; port < 47100; port++) {
		if ((srv[0] = udp_bound(port, 1)) != -1)
			break;
	}
	if (srv[0] == -1 || steer_attach(&st, srv[0]) != 0) {
		printf("FAIL - setup: %s\n", strerror(errno));
		return 1;
	}
	for (i = 1; i < NSOCK; i++)
		if ((srv[i] = udp_bound(port, 1)) == -1) {
			printf("FAIL - setup: bind: %s\n", strerror(errno));
			return 1;
		}
	for (i = 0; i < NSOCK; i++)
		if (steer_slot_add(&st, srv[i], &slot[i]) != 0) {
			printf("FAIL - setup: slot: %s\n", strerror(errno));
			return 1;
		}
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons(port);
	for (i = 0; i < NCLI; i++) {
		if ((cli[i] = udp_bound(0, 0)) == -1 || connect(cli[i],
		    (struct sockaddr *)&to, sizeof(to)) == -1) {
			printf("FAIL - setup: client: %s\n", strerror(errno));
			return 1;
		}
	}
	RUN(current_generation_only);
	RUN(mapped_address);
	RUN(new_generation);
	RUN(empty_slot_falls_back);
	steer_free(&st);
	return TEST_EXIT();
}
