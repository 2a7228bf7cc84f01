/*
 * loadgen: the benchmark's own load tool, one epoll loop per process.
 *
 *	loadgen sink PORT			accept and discard
 *	loadgen echo PORT			accept and echo
 *	loadgen bulk HOST PORT STREAMS SECS	write to a sink; print MB/s
 *	loadgen rate HOST PORT CONC SECS	connect, 64-byte echo, close;
 *						print conn/s, p50, p99 (us)
 *	loadgen idle HOST PORT COUNT SECS	hold COUNT idle connections
 *	loadgen open HOST PORT SECS TPORT	one at a time: connect to a
 *						forwarder of 127.0.0.1:TPORT,
 *						write one byte; print p50 and
 *						p99 (us) of the time until
 *						TPORT accepts the forwarded
 *						connection, then until the
 *						byte arrives there
 *	loadgen floor PORT TPORT		the least a user-space forwarder
 *						can do: a thread per direction,
 *						blocking splice, 1 MiB pipes
 *
 * bulk, rate and idle take an optional "socks5 TPORT" or "http TPORT":
 * HOST:PORT is then a proxy and each connection first asks it for
 * 127.0.0.1:TPORT (SOCKS5 without authentication, or HTTP CONNECT).
 * rate runs that handshake inside its event loop, as a client with many
 * connections would; bulk and idle do it before they start measuring.
 *
 * Loopback only; every run stops by itself after SECS.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BUFSZ	(256 * 1024)
#define MAXEV	256

static char buf[BUFSZ];
static int proxy_kind;		/* 0 none, 1 socks5, 2 http */
static int proxy_tport;

struct rconn {
	int	fd;
	int	state;	/* one of the R_ states */
	size_t	got;
	double	t0;
	char	head[256];	/* proxy reply being read */
};

enum { R_CONNECT, R_METHOD, R_REPLY, R_HTTP, R_ECHO };

static int proxy_handshake(int);

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
listen_on(int port)
{
	struct sockaddr_in sin;
	int fd, on = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 4096) == -1) {
		perror("bind/listen");
		exit(1);
	}
	return fd;
}

static int
dial(const char *host, int port, int nonblock)
{
	struct sockaddr_in sin;
	int fd, on = 1;

	fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, host, &sin.sin_addr);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	if (proxy_kind != 0 && !nonblock && proxy_handshake(fd) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* sink and echo servers */
static int __attribute__((noreturn))
serve(int port, int echo)
{
	struct epoll_event ev, evs[MAXEV];
	int lfd = listen_on(port), ep = epoll_create1(0), n, i, fd;
	ssize_t r;

	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		n = epoll_wait(ep, evs, MAXEV, -1);
		for (i = 0; i < n; i++) {
			fd = evs[i].data.fd;
			if (fd == lfd) {
				while ((fd = accept4(lfd, NULL, NULL,
				    SOCK_NONBLOCK)) != -1) {
					int on = 1;

					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY,
					    &on, sizeof(on));
					ev.events = EPOLLIN;
					ev.data.fd = fd;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			while ((r = read(fd, buf, sizeof(buf))) > 0)
				if (echo && write(fd, buf, (size_t)r) != r)
					break;	/* small echoes only */
			if (r == 0 || (r == -1 && errno != EAGAIN)) {
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
			}
		}
	}
}

static int
bulk(const char *host, int port, int streams, double secs)
{
	struct epoll_event ev, evs[MAXEV];
	int ep = epoll_create1(0), i, n, fd;
	double t0, t1;
	uint64_t total = 0;
	ssize_t r;

	memset(buf, 'x', sizeof(buf));
	for (i = 0; i < streams; i++) {
		if ((fd = dial(host, port, 0)) == -1) {
			perror("connect");
			return 1;
		}
		fcntl(fd, F_SETFL, O_NONBLOCK);
		ev.events = EPOLLOUT;
		ev.data.fd = fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
	t0 = now();
	while ((t1 = now()) - t0 < secs) {
		n = epoll_wait(ep, evs, MAXEV, 100);
		for (i = 0; i < n; i++)
			while ((r = write(evs[i].data.fd, buf, sizeof(buf))) > 0)
				total += (uint64_t)r;
	}
	printf("%.1f\n", (double)total / (t1 - t0) / 1e6);
	return 0;
}

static int
cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * One step of a connection's proxy handshake (SOCKS5 without
 * authentication, or CONNECT) once its socket is ready; the rate test
 * runs it in its event loop, dial() in a blocking loop.  Returns 1 when
 * the proxy has answered (at once without a proxy), 0 to wait, -1 on
 * error.
 */
static int
hs_step(struct rconn *c)
{
	unsigned char q[10] = { 5, 1, 0, 1, 127, 0, 0, 1,
	    (unsigned char)(proxy_tport >> 8), (unsigned char)proxy_tport };
	char req[128];
	size_t want;
	ssize_t r;
	int len;

	switch (c->state) {
	case R_CONNECT:
		c->got = 0;
		if (proxy_kind == 1) {
			if (write(c->fd, "\5\1\0", 3) != 3)
				return -1;
			c->state = R_METHOD;
		} else if (proxy_kind == 2) {
			len = snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%d "
			    "HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n",
			    proxy_tport, proxy_tport);
			if (write(c->fd, req, (size_t)len) != len)
				return -1;
			c->state = R_HTTP;
		} else
			return 1;
		return 0;
	case R_METHOD:
	case R_REPLY:
	case R_HTTP:
		/* the proxy sends nothing after its reply until we do */
		want = c->state == R_METHOD ? 2 : c->state == R_REPLY ? 10 :
		    sizeof(c->head) - 1;
		r = read(c->fd, c->head + c->got, want - c->got);
		if (r == -1 && errno == EAGAIN)
			return 0;
		if (r <= 0)
			return -1;
		c->got += (size_t)r;
		if (c->state == R_HTTP) {
			c->head[c->got] = 0;
			if (strstr(c->head, "\r\n\r\n") == NULL)
				return c->got < want ? 0 : -1;
			return strncmp(c->head, "HTTP/1.1 200", 12) == 0 ||
			    strncmp(c->head, "HTTP/1.0 200", 12) == 0 ? 1 : -1;
		}
		if (c->got < want)
			return 0;
		if (c->head[1] != 0)
			return -1;
		if (c->state == R_REPLY)
			return 1;
		c->got = 0;
		if (write(c->fd, q, sizeof(q)) != (ssize_t)sizeof(q))
			return -1;
		c->state = R_REPLY;
		return 0;
	default:
		return 1;
	}
}

/* The handshake on a blocking socket; 0 on success. */
static int
proxy_handshake(int fd)
{
	struct rconn c = { .fd = fd, .state = R_CONNECT };
	int r;

	while ((r = hs_step(&c)) == 0)
		;
	return r == 1 ? 0 : -1;
}

/*
 * One step of a rate connection: the handshake, then the 64-byte echo.
 * Returns 1 when the echo is complete, 0 to wait, -1 on error.
 */
static int
rate_step(struct rconn *c, const char *msg, size_t msglen)
{
	ssize_t r;
	int h;

	if (c->state != R_ECHO) {
		if ((h = hs_step(c)) != 1)
			return h;
		if (write(c->fd, msg, msglen) != (ssize_t)msglen)
			return -1;
		c->state = R_ECHO;
		c->got = 0;
		return 0;
	}
	r = read(c->fd, buf, sizeof(buf));
	if (r == -1 && errno == EAGAIN)
		return 0;
	if (r <= 0)
		return -1;
	c->got += (size_t)r;
	return c->got >= msglen;
}

static int
rate(const char *host, int port, int conc, double secs)
{
	struct epoll_event ev, evs[MAXEV];
	struct rconn *cs = calloc((size_t)conc, sizeof(*cs));
	size_t nlat = 0, cap = 1 << 20;
	double *lat = malloc(cap * sizeof(double)), t0, t;
	int ep = epoll_create1(0), i, n, errors = 0;
	char msg[64];

	memset(msg, 'r', sizeof(msg));
	t0 = now();
	for (i = 0; i < conc; i++) {
		cs[i].fd = -1;
	}
	for (;;) {
		t = now();
		if (t - t0 >= secs)
			break;
		for (i = 0; i < conc; i++) {
			if (cs[i].fd != -1)
				continue;
			cs[i].fd = dial(host, port, 1);
			if (cs[i].fd == -1) {
				errors++;
				continue;
			}
			cs[i].state = R_CONNECT;
			cs[i].got = 0;
			cs[i].t0 = now();
			ev.events = EPOLLOUT;
			ev.data.u32 = (uint32_t)i;
			epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
		}
		n = epoll_wait(ep, evs, MAXEV, 100);
		for (int k = 0; k < n; k++) {
			struct rconn *c = &cs[evs[k].data.u32];
			int was = c->state, done;

			if (c->fd == -1)
				continue;
			done = rate_step(c, msg, sizeof(msg));
			if (done == 0 && was == R_CONNECT) {
				ev.events = EPOLLIN;
				ev.data.u32 = evs[k].data.u32;
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			}
			if (done == 0)
				continue;
			if (done == 1 && nlat < cap)
				lat[nlat++] = now() - c->t0;
			if (done == -1)
				errors++;
			close(c->fd);
			c->fd = -1;
		}
	}
	qsort(lat, nlat, sizeof(double), cmpd);
	printf("%.0f %.0f %.0f %d\n", (double)nlat / secs,
	    nlat ? lat[nlat / 2] * 1e6 : 0, nlat ? lat[nlat * 99 / 100] * 1e6 : 0,
	    errors);
	return 0;
}

static int
idle(const char *host, int port, int count, double secs)
{
	int i, ok = 0;

	for (i = 0; i < count; i++)
		if (dial(host, port, 0) != -1)
			ok++;
	printf("%d\n", ok);
	fflush(stdout);
	usleep((useconds_t)(secs * 1e6));
	return 0;
}

/*
 * floor: forward each connection to 127.0.0.1:TPORT with nothing but
 * blocking splice() through a 1 MiB pipe, one thread per direction.  No
 * event loop, no buffers, no limits: the bulk figure it reaches bounds
 * what any forwarder on this machine can reach.
 */
struct fdir {
	int	from, to;
};

static void *
floor_dir(void *arg)
{
	struct fdir *d = arg;
	int p[2];
	ssize_t n, m;

	if (pipe(p) == -1)
		return NULL;
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	while ((n = splice(d->from, NULL, p[1], NULL, 1 << 20,
	    SPLICE_F_MOVE)) > 0)
		while (n > 0 && (m = splice(p[0], NULL, d->to, NULL,
		    (size_t)n, SPLICE_F_MOVE)) > 0)
			n -= m;
	shutdown(d->to, SHUT_WR);
	close(p[0]);
	close(p[1]);
	return NULL;
}

static void *
floor_conn(void *arg)
{
	struct fdir *d = arg, back;
	pthread_t t;

	back.from = d->to;
	back.to = d->from;
	if (pthread_create(&t, NULL, floor_dir, &back) == 0) {
		floor_dir(d);
		pthread_join(t, NULL);
	}
	close(d->from);
	close(d->to);
	free(d);
	return NULL;
}

static int __attribute__((noreturn))
floor_fwd(int port, int tport)
{
	int lfd = listen_on(port), fd;
	struct fdir *d;
	pthread_t t;

	fcntl(lfd, F_SETFL, 0);
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			continue;
		if ((d = malloc(sizeof(*d))) == NULL ||
		    (d->to = dial("127.0.0.1", tport, 0)) == -1) {
			free(d);
			close(fd);
			continue;
		}
		d->from = fd;
		if (pthread_create(&t, NULL, floor_conn, d) == 0)
			pthread_detach(t);
	}
}

/*
 * open: how long a forwarder takes to open its way to the target (we
 * are the target, listening on TPORT) and to pass a first byte.  One
 * connection at a time, blocking, so nothing but the path is timed.
 */
static int
open_test(const char *host, int port, double secs, int tport)
{
	size_t n = 0, cap = 1 << 20;
	double *ta = malloc(cap * sizeof(double)), *tb = malloc(cap *
	    sizeof(double)), t0, t1, t2, start = now();
	int lfd = listen_on(tport), fd, afd, errors = 0;
	char c = 'o';

	fcntl(lfd, F_SETFL, 0);
	while (now() - start < secs && n < cap) {
		t0 = now();
		if ((fd = dial(host, port, 0)) == -1) {
			errors++;
			continue;
		}
		if (write(fd, &c, 1) != 1 ||
		    (afd = accept(lfd, NULL, NULL)) == -1) {
			close(fd);
			errors++;
			continue;
		}
		t1 = now();
		if (read(afd, &c, 1) != 1) {
			close(afd);
			close(fd);
			errors++;
			continue;
		}
		t2 = now();
		ta[n] = t1 - t0;
		tb[n++] = t2 - t0;
		close(fd);
		close(afd);
	}
	qsort(ta, n, sizeof(double), cmpd);
	qsort(tb, n, sizeof(double), cmpd);
	printf("%.0f %.0f %.0f %.0f %d\n", n ? ta[n / 2] * 1e6 : 0,
	    n ? ta[n * 99 / 100] * 1e6 : 0, n ? tb[n / 2] * 1e6 : 0,
	    n ? tb[n * 99 / 100] * 1e6 : 0, errors);
	return 0;
}

int
main(int argc, char **argv)
{
	raise_nofile();
	if (argc == 8) {
		proxy_kind = strcmp(argv[6], "socks5") == 0 ? 1 :
		    strcmp(argv[6], "http") == 0 ? 2 : 0;
		proxy_tport = atoi(argv[7]);
		if (proxy_kind == 0) {
			fprintf(stderr, "proxy kind must be socks5 or http\n");
			return 1;
		}
		argc = 6;
	}
	if (argc == 3 && strcmp(argv[1], "sink") == 0)
		return serve(atoi(argv[2]), 0);
	if (argc == 3 && strcmp(argv[1], "echo") == 0)
		return serve(atoi(argv[2]), 1);
	if (argc == 4 && strcmp(argv[1], "floor") == 0)
		floor_fwd(atoi(argv[2]), atoi(argv[3]));
	if (argc == 6 && strcmp(argv[1], "bulk") == 0)
		return bulk(argv[2], atoi(argv[3]), atoi(argv[4]), atof(argv[5]));
	if (argc == 6 && strcmp(argv[1], "rate") == 0)
		return rate(argv[2], atoi(argv[3]), atoi(argv[4]), atof(argv[5]));
	if (argc == 6 && strcmp(argv[1], "open") == 0)
		return open_test(argv[2], atoi(argv[3]), atof(argv[4]),
		    atoi(argv[5]));
	if (argc == 6 && strcmp(argv[1], "idle") == 0)
		return idle(argv[2], atoi(argv[3]), atoi(argv[4]), atof(argv[5]));
	fprintf(stderr, "usage: loadgen sink|echo PORT | "
	    "bulk|rate|idle HOST PORT N SECS\n");
	return 1;
}
