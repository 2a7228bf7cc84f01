/*
 * stunprobe: drives a real STUN/TURN server (coturn in regress/stun.sh)
 * with daemon/proto/stun.c over one UDP socket, as the OSTP client will.
 *
 *	stunprobe binding HOST PORT
 *		a Binding request; prints the mapped address, which must
 *		be the socket's own address (loopback: no NAT).
 *	stunprobe turn HOST PORT USER PASS PEERPORT
 *		Allocate (401 challenge, then long-term credentials; 438
 *		answered with the new nonce), CreatePermission for a UDP
 *		echo peer on HOST:PEERPORT, a Send indication whose echo
 *		must come back as a Data indication, ChannelBind and a
 *		ChannelData round trip, then Refresh with lifetime 0.
 *
 * Every authenticated answer's MESSAGE-INTEGRITY and every
 * FINGERPRINT present are verified.  Exit 0 on success; otherwise one
 * line on stderr and exit 1.  IPv4 only.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "err.h"
#include "proto/stun.h"

#define TRIES		5
#define WAIT_MS		500

static int sock = -1;
static struct turn_auth auth;
static int authed;
static const char *user, *pass;

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "stunprobe: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static const char *
addrstr(const struct sockaddr_storage *ss)
{
	static char buf[INET6_ADDRSTRLEN + 8];
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		snprintf(buf, sizeof(buf), "%s:%u", a, ntohs(s->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		snprintf(buf, sizeof(buf), "[%s]:%u", a, ntohs(s->sin6_port));
	} else
		snprintf(buf, sizeof(buf), "(family %d)", ss->ss_family);
	return buf;
}

static void
open_socket(const char *host, const char *port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(port));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		die("%s: not an IPv4 address", host);
	if ((sock = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    connect(sock, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("socket: %s", strerror(errno));
}

/* One datagram within ms, or 0 bytes at the timeout. */
static size_t
recv_wait(unsigned char *buf, size_t cap, int ms)
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	ssize_t n;

	for (;;) {
		if (poll(&pfd, 1, ms) <= 0)
			return 0;
		if ((n = recv(sock, buf, cap, 0)) >= 0)
			return (size_t)n;
		if (errno != EINTR && errno != EAGAIN)
			die("recv: %s", strerror(errno));
	}
}

/* Checks what every message from the server must pass. */
static void
check_msg(const unsigned char *p, size_t n, struct stun_msg *m,
    const char *what)
{
	if ((m->has & STUN_HAS_FINGERPRINT) &&
	    stun_check_fingerprint(p, n, m) != 0)
		die("%s: bad FINGERPRINT", what);
	if (m->nunknown > 0)
		die("%s: unknown comprehension-required attribute 0x%04x",
		    what, m->unknown[0]);
}

typedef int (*build_fn)(unsigned char *, size_t, size_t *,
    const unsigned char *, const void *);

/*
 * One transaction: send what build makes until an answer with its
 * transaction id comes; a 401 or 438 is answered with the credentials
 * it asks for, under a new transaction id.  Returns the success.
 */
static void
transact(const char *what, uint16_t method, build_fn build, const void *arg,
    unsigned char *resp, size_t cap, size_t *rlen, struct stun_msg *m)
{
	unsigned char req[1500], tid[STUN_TID_LEN];
	size_t n, r;
	int tries, rounds;

	for (rounds = 0; rounds < 3; rounds++) {
		if (stun_new_tid(tid) != 0)
			die("RAND_bytes");
		if (build(req, sizeof(req), &n, tid, arg) != 0)
			die("%s: cannot build the request", what);
		for (tries = 0; tries < TRIES; tries++) {
			if (send(sock, req, n, 0) != (ssize_t)n)
				die("%s: send: %s", what, strerror(errno));
			while ((r = recv_wait(resp, cap, WAIT_MS)) > 0) {
				if (stun_classify(resp, r) !=
				    STUN_KIND_MESSAGE ||
				    stun_parse(resp, r, m) != 0 ||
				    !stun_is_response(m, method, tid))
					continue;	/* not the answer */
				goto answered;
			}
		}
		die("%s: no answer", what);
answered:
		check_msg(resp, r, m, what);
		if (m->cls == STUN_CLASS_SUCCESS) {
			if (authed && stun_check_integrity(resp, r, m,
			    auth.key, sizeof(auth.key)) != 0)
				die("%s: bad MESSAGE-INTEGRITY in the answer",
				    what);
			*rlen = r;
			return;
		}
		if (!(m->has & STUN_HAS_ERROR))
			die("%s: an error answer without ERROR-CODE", what);
		if (user == NULL || !turn_should_retry(m, authed))
			die("%s: error %d %s", what, m->error, m->reason);
		if (turn_auth_from_challenge(&auth, m, user, pass) != 0)
			die("%s: a challenge without REALM/NONCE", what);
		printf("%s: challenge %d, realm %.*s\n", what, m->error,
		    (int)auth.realmlen, auth.realm);
		authed = 1;
	}
	die("%s: too many challenges", what);
}

static int
b_binding(unsigned char *o, size_t ol, size_t *n, const unsigned char *tid,
    const void *arg)
{
	return stun_build_binding(o, ol, n, tid, STUN_F_FINGERPRINT);
}

static int
b_allocate(unsigned char *o, size_t ol, size_t *n, const unsigned char *tid,
    const void *arg)
{
	return turn_build_allocate(o, ol, n, tid, 0, authed ? &auth : NULL,
	    STUN_F_FINGERPRINT);
}

static int
b_permission(unsigned char *o, size_t ol, size_t *n,
    const unsigned char *tid, const void *arg)
{
	return turn_build_create_permission(o, ol, n, tid, arg, &auth,
	    STUN_F_FINGERPRINT);
}

static int
b_channel(unsigned char *o, size_t ol, size_t *n, const unsigned char *tid,
    const void *arg)
{
	return turn_build_channel_bind(o, ol, n, tid, 0x4000, arg, &auth,
	    STUN_F_FINGERPRINT);
}

static int
b_refresh(unsigned char *o, size_t ol, size_t *n, const unsigned char *tid,
    const void *arg)
{
	return turn_build_refresh(o, ol, n, tid, 0, &auth, STUN_F_FINGERPRINT);
}

static void
do_binding(void)
{
	unsigned char resp[1500];
	struct sockaddr_storage self;
	socklen_t sl = sizeof(self);
	struct stun_msg m;
	const struct sockaddr_storage *got;
	size_t n;

	transact("binding", STUN_METHOD_BINDING, b_binding, NULL, resp,
	    sizeof(resp), &n, &m);
	if (m.has & STUN_HAS_XOR_MAPPED)
		got = &m.xor_mapped;
	else if (m.has & STUN_HAS_MAPPED)
		got = &m.mapped;
	else
		die("binding: no mapped address in the answer");
	if (getsockname(sock, (struct sockaddr *)&self, &sl) == -1)
		die("getsockname: %s", strerror(errno));
	printf("binding: mapped %s\n", addrstr(got));
	if (got->ss_family != AF_INET ||
	    ((const struct sockaddr_in *)got)->sin_port !=
	    ((struct sockaddr_in *)&self)->sin_port ||
	    memcmp(&((const struct sockaddr_in *)got)->sin_addr,
	    &((struct sockaddr_in *)&self)->sin_addr, 4) != 0)
		die("binding: mapped %s is not our own address",
		    addrstr(got));
}

/* The echo of payload from peer, as a Data indication or ChannelData. */
static void
await_echo(const char *what, const unsigned char *payload, size_t plen,
    const struct sockaddr_in *peer, int channel)
{
	unsigned char buf[1500];
	struct sockaddr_storage from;
	const unsigned char *d;
	size_t n, dl;
	uint16_t ch;
	int i;

	for (i = 0; i < 2 * TRIES; i++) {
		if ((n = recv_wait(buf, sizeof(buf), WAIT_MS)) == 0)
			continue;
		if (channel) {
			if (stun_classify(buf, n) != STUN_KIND_CHANNEL ||
			    turn_channel_parse(buf, n, &ch, &d, &dl) != 0 ||
			    ch != 0x4000)
				continue;
		} else {
			if (stun_classify(buf, n) != STUN_KIND_MESSAGE ||
			    turn_parse_data_indication(buf, n, &from, &d,
			    &dl) != 0)
				continue;
			if (from.ss_family != AF_INET ||
			    ((struct sockaddr_in *)&from)->sin_port !=
			    peer->sin_port)
				die("%s: data from %s, not the peer", what,
				    addrstr(&from));
		}
		if (dl != plen || memcmp(d, payload, plen) != 0)
			die("%s: the echo differs (%zu bytes)", what, dl);
		printf("%s: %zu bytes echoed\n", what, dl);
		return;
	}
	die("%s: no echo", what);
}

static void
do_turn(const char *host, const char *peerport)
{
	unsigned char resp[1500], out[1500], payload[100];
	struct sockaddr_in peer;
	struct stun_msg m;
	size_t n;

	transact("allocate", TURN_METHOD_ALLOCATE, b_allocate, NULL, resp,
	    sizeof(resp), &n, &m);
	if (!authed)
		die("allocate: the server did not ask for credentials");
	if (!(m.has & STUN_HAS_RELAYED))
		die("allocate: no XOR-RELAYED-ADDRESS");
	if (!(m.has & STUN_HAS_LIFETIME) || m.lifetime == 0)
		die("allocate: no LIFETIME");
	printf("allocate: relayed %s", addrstr(&m.relayed));
	if (m.has & STUN_HAS_XOR_MAPPED)
		printf(" mapped %s", addrstr(&m.xor_mapped));
	printf(" lifetime %u\n", m.lifetime);

	memset(&peer, 0, sizeof(peer));
	peer.sin_family = AF_INET;
	peer.sin_port = htons((uint16_t)atoi(peerport));
	if (inet_pton(AF_INET, host, &peer.sin_addr) != 1)
		die("%s: not an IPv4 address", host);
	transact("permission", TURN_METHOD_CREATE_PERMISSION, b_permission,
	    &peer, resp, sizeof(resp), &n, &m);
	printf("permission: ok\n");

	if (RAND_bytes(payload, sizeof(payload)) != 1)
		die("RAND_bytes");
	{
		unsigned char tid[STUN_TID_LEN];

		if (stun_new_tid(tid) != 0 ||
		    turn_build_send(out, sizeof(out), &n, tid,
		    (struct sockaddr *)&peer, payload, sizeof(payload),
		    0) != 0)
			die("send: cannot build the indication");
	}
	if (send(sock, out, n, 0) != (ssize_t)n)
		die("send: %s", strerror(errno));
	await_echo("send", payload, sizeof(payload), &peer, 0);

	transact("channel", TURN_METHOD_CHANNEL_BIND, b_channel, &peer, resp,
	    sizeof(resp), &n, &m);
	printf("channel: bound 0x4000\n");
	/* an odd length: the server may pad its answer */
	if (turn_channel_header(out, 0x4000, 37) != 0)
		die("channel: header");
	memcpy(out + TURN_CHANNEL_HDR_LEN, payload, 37);
	if (send(sock, out, TURN_CHANNEL_HDR_LEN + 37, 0) !=
	    TURN_CHANNEL_HDR_LEN + 37)
		die("channel: send: %s", strerror(errno));
	await_echo("channeldata", payload, 37, &peer, 1);

	transact("refresh", TURN_METHOD_REFRESH, b_refresh, NULL, resp,
	    sizeof(resp), &n, &m);
	printf("refresh: deleted\n");
}

int
main(int argc, char *argv[])
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "binding") == 0) {
		open_socket(argv[2], argv[3]);
		do_binding();
	} else if (argc == 7 && strcmp(argv[1], "turn") == 0) {
		user = argv[4];
		pass = argv[5];
		open_socket(argv[2], argv[3]);
		do_turn(argv[2], argv[6]);
	} else {
		fprintf(stderr, "usage: stunprobe binding HOST PORT\n"
		    "       stunprobe turn HOST PORT USER PASS PEERPORT\n");
		return 1;
	}
	explicit_bzero(&auth, sizeof(auth));
	return 0;
}
