/*
 * The unprivileged worker: enter the sandbox, collect listeners and
 * devices from the monitor, then run the event loop that does all
 * network work.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <net/if.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syscall.h>
#include <termios.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "core/conn.h"
#include "core/dnsup.h"
#include "core/tls.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "proto/obfs.h"
#include "proto/ostp.h"
#include "proto/ss.h"
#include "proto/sscodec.h"
#include "worker.h"
#include "core/chain.h"
#include "core/relay.h"
#include "core/reload.h"
#include "core/stats.h"
#include "ctlproto.h"
#include "handler/handler.h"
#include "ostp/server.h"
#include "capture/capture.h"

#define WORKER_HEAP_KEEP	(4 * 1024 * 1024)

struct worker *the_worker;

/* Worker log lines travel to the monitor, which owns stderr/syslog. */
static void
worker_log_sink(int level, const char *line, void *ctx)
{
	struct worker *wk = ctx;
	struct buf b;

	buf_init(&b);
	if (ipc_enc_log(&b, level, line) != 0 ||
	    ipc_send(wk->sock, IPC_LOG, 0, &b, -1) != 0)
		dprintf(STDERR_FILENO, "ostpd: %s\n", line);
	buf_release(&b);
}

/*
 * Draining: OSTP sessions without flows go to the next generation as
 * soon as nothing of theirs is unacknowledged (ostp/server.c); the
 * worker goes when its last connection has, after giving sessions whose
 * last frames are still unacknowledged up to 10 s (DRAIN_SETTLE_TICKS) to
 * settle.
 */
#define DRAIN_TICK_MS		100
#define DRAIN_SETTLE_TICKS	100

static struct event *drain_ev;
static unsigned int drain_settle;

static void
worker_maybe_exit(struct worker *wk)
{
	size_t left;

	if (!wk->draining)
		return;
	left = ostp_server_drain(wk, 0);
	if (wk->stats.active > 0)
		return;
	if (left > 0 && drain_settle++ < DRAIN_SETTLE_TICKS)
		return;
	if (left > 0)
		(void)ostp_server_drain(wk, 1);	/* says which stay */
	debug("drained; exiting");
	event_base_loopbreak(wk->base);
}

static void
drain_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	worker_maybe_exit(arg);
}

/* A failed accept (EMFILE...): reported, the listener goes on. */
static void
listen_error_cb(struct evconnlistener *lev, void *arg)
{
	const struct worker *wk = the_worker;
	const char *url = "a listener";
	size_t i;

	(void)arg;
	for (i = 0; wk != NULL && i < wk->conf->nlis; i++)
		if (wk->listeners[i] == lev)
			url = wk->conf->lis[i].node->url;
	error("%s: accept: %s", url, strerror(errno));
}

/* Accept on fd (taken) with cb; *levp is the listener. */
int
worker_listen(struct worker *wk, int fd, evconnlistener_cb cb, void *arg,
    struct evconnlistener **levp)
{
	evutil_make_socket_nonblocking(fd);
	*levp = evconnlistener_new(wk->base, cb, arg,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (*levp == NULL)
		return -1;
	evconnlistener_set_error_cb(*levp, listen_error_cb);
	return 0;
}

void
worker_conn_closed(struct worker *wk)
{
	wk->stats.active--;
	worker_maybe_exit(wk);
}

static void
worker_drain(struct worker *wk)
{
	size_t i;

	if (wk->draining)
		return;
	wk->draining = 1;
	for (i = 0; i < wk->conf->nlis; i++) {
		if (wk->listeners[i] != NULL) {
			evconnlistener_free(wk->listeners[i]);
			wk->listeners[i] = NULL;
		}
	}
	rforward_drain();
	capture_drain();
	debug("draining %u connections", wk->stats.active);
	if (drain_ev == NULL) {
		struct timeval tv = { 0, DRAIN_TICK_MS * 1000 };

		if ((drain_ev = event_new(wk->base, -1, EV_PERSIST,
		    drain_tick_cb, wk)) == NULL)
			fatal_f("out of memory");
		event_add(drain_ev, &tv);
	}
	worker_maybe_exit(wk);
}

/*
 * A file push replaces objects (ref.h) and a drain frees the listeners.
 * Inside a synchronous request (mm_wait, wk->in_request) the functions
 * below on the stack may be using exactly those, so such commands wait
 * in this queue and run from the event loop, in the order they came.
 */
struct cmd_later {
	TAILQ_ENTRY(cmd_later)	 entry;
	int			 type;
	char			*path;		/* IPC_CMD_FILE */
	int			 fd;
	unsigned char		*data;		/* IPC_CMD_OSTP_TAKE */
	size_t			 len;
};

static TAILQ_HEAD(, cmd_later) cmds_later = TAILQ_HEAD_INITIALIZER(cmds_later);
static struct event *cmds_later_ev;

static void
cmd_apply(struct worker *wk, const struct cmd_later *c)
{
	struct buf b;

	if (c->type == IPC_CMD_DRAIN)
		worker_drain(wk);
	else if (c->type == IPC_CMD_OSTP_TAKE) {
		buf_view(&b, c->data, c->len);
		ostp_server_take(wk, &b);
	} else
		reload_file(wk, c->path, c->fd);
}

static void
cmds_later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *wk = arg;
	struct cmd_later *c;

	(void)fd;
	(void)what;
	/* what these commands do may queue more: they run in turn */
	while ((c = TAILQ_FIRST(&cmds_later)) != NULL) {
		TAILQ_REMOVE(&cmds_later, c, entry);
		cmd_apply(wk, c);
		if (c->fd != -1)
			close(c->fd);
		free(c->path);
		free(c->data);
		free(c);
	}
}

/* Keep a command for the event loop; takes path and the message's fd. */
static void
cmd_later(struct worker *wk, struct ipc_msg *m, char *path)
{
	struct timeval tv = { 0, 0 };
	struct cmd_later *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal_f("out of memory");
	c->type = m->hdr.type;
	c->path = path;
	c->fd = m->fd;
	m->fd = -1;
	if (c->type == IPC_CMD_OSTP_TAKE) {
		c->len = buf_len(&m->payload);
		if ((c->data = malloc(c->len)) == NULL)
			fatal_f("out of memory");
		memcpy(c->data, buf_ptr(&m->payload), c->len);
	}
	TAILQ_INSERT_TAIL(&cmds_later, c, entry);
	if (cmds_later_ev == NULL && (cmds_later_ev = evtimer_new(wk->base,
	    cmds_later_cb, wk)) == NULL)
		fatal_f("out of memory");
	evtimer_add(cmds_later_ev, &tv);
}

void
mm_handle_command(struct worker *wk, struct ipc_msg *m)
{
	struct buf b;
	char *path = NULL;

	switch (m->hdr.type) {
	case IPC_CMD_STATS:
		/* read-only, and the monitor may be waiting for it */
		buf_init(&b);
		if (ipc_enc_stats(&b, &wk->stats) == 0)
			(void)ipc_send(wk->sock, IPC_CMD_STATS_ANS, m->hdr.seq,
			    &b, -1);
		buf_release(&b);
		break;
	case IPC_CMD_REPORT:
		/* read-only as STATS: answered in passing (core/stats.c) */
		stats_report(wk, m);
		break;
	case IPC_CMD_LOGLEVEL: {
		uint8_t lv;

		if (buf_get_u8(&m->payload, &lv) != 0 ||
		    buf_expect_end(&m->payload) != 0 ||
		    lv < LOG_LEVEL_ERROR || lv > LOG_LEVEL_DEBUG3)
			fatal("malformed CMD_LOGLEVEL from the monitor");
		log_set_level(lv);
		break;
	}
	case IPC_CMD_FILE:
		if (m->fd == -1 || ipc_dec_name(&m->payload, &path,
		    IPC_MAX_STRING) != 0)
			fatal("malformed CMD_FILE from the monitor");
		/* FALLTHROUGH */
	case IPC_CMD_DRAIN:
		if (wk->in_request > 0 || !TAILQ_EMPTY(&cmds_later)) {
			cmd_later(wk, m, path);
			break;
		}
		{
			struct cmd_later c = { .type = m->hdr.type,
			    .path = path, .fd = m->fd };

			cmd_apply(wk, &c);
		}
		free(path);
		break;
	case IPC_CMD_OSTP_TAKE:
		/* a session to keep: inside a request, after it */
		if (wk->in_request > 0 || !TAILQ_EMPTY(&cmds_later))
			cmd_later(wk, m, NULL);
		else
			ostp_server_take(wk, &m->payload);
		break;
	case IPC_CMD_OSTP_FWD:
		/* inside a request it is lost, as on a network */
		if (wk->in_request == 0)
			ostp_server_forwarded(wk, &m->payload);
		break;
	default:
		/* The monitor is trusted, but a mismatch means a bug. */
		fatal("unexpected message %s from the monitor",
		    ipc_type_name(m->hdr.type));
	}
}

static void
ipc_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *wk = arg;
	struct ipc_msg m;
	int r;

	(void)what;
	for (;;) {
		r = ipc_recv(fd, &m);
		if (r == ERR_SYSTEM && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r != 0)
			_exit(0);	/* monitor gone */
		mm_handle_command(wk, &m);
		ipc_msg_clear(&m);
	}
}

#ifdef OSTP_TESTHOOKS
/*
 * Test builds only: SIGUSR2 makes the worker misbehave on purpose so
 * the suite can watch the monitor and the sandbox react.
 */

/*
 * An ioctl that is neither FIONREAD nor FIONBIO (nor the terminal query
 * sanitizer builds let through): the filter must kill the worker.
 */
static void
testhook_ioctl(struct worker *wk)
{
	struct ifconf ifc;
	struct ifreq ifr[4];

	memset(&ifc, 0, sizeof(ifc));
	ifc.ifc_len = sizeof(ifr);
	ifc.ifc_req = ifr;
	(void)ioctl(wk->sock, SIOCGIFCONF, &ifc);
}

/* The terminal query of the sanitizer runtimes: allowed in their builds. */
static void
testhook_tcgets(void)
{
	struct termios t;

	(void)ioctl(STDERR_FILENO, TCGETS, &t);
}

/*
 * Memory errors for the sanitizer builds' test: each must reach the log
 * as a report.  A read after free, not a write, so a release build
 * that gets the hook by mistake does not corrupt its heap.
 */
static void
testhook_asan(void)
{
	char *volatile p;

	if ((p = malloc(32)) == NULL)
		return;
	free(p);
	logit("read after free: %d", p[8]);
}

static void
testhook_ubsan(void)
{
	volatile int big = INT_MAX;

	logit("signed overflow: %d", big + 1);
}

/* SIGUSR2: run the hook OSTP_TESTHOOK names (default "seccomp"). */
static void
testhook_cb(evutil_socket_t sig, short what, void *arg)
{
	struct worker *wk = arg;
	const char *h = wk->testhook ? wk->testhook : "seccomp";

	(void)sig;
	(void)what;
	logit("test hook \"%s\" triggered", h);
	if (strcmp(h, "seccomp") == 0)
		syscall(SYS_ptrace, 0, 0, 0, 0);
	else if (strcmp(h, "badtun") == 0)
		(void)mm_tun_open(wk, "ostpbogus0");
	else if (strcmp(h, "badsocket") == 0) {
		struct egress e;

		conf_egress(wk->conf, NULL, &e);
		(void)mm_socket(wk, AF_INET, SOCK_RAW, &e);
	}
	else if (strcmp(h, "badfile") == 0)
		(void)mm_file_open(wk, "/etc/shadow");
	else if (strcmp(h, "badicmp") == 0)
		/* listener 0 is no capture with icmp=direct */
		(void)mm_dev_socket(wk, IPC_ICMP_SOCKET, 0, AF_INET);
	else if (strcmp(h, "badrawtcp") == 0)
		/* listener 0 is no tun/tap node over fake TCP */
		(void)mm_dev_socket(wk, IPC_RAW_TCP_SOCKET, 0, AF_INET);
	else if (strcmp(h, "badsign") == 0) {
		/* a signature with listener 0's key: it is no TLS listener */
		unsigned char in[32], out[IPC_TLS_SIGN_MAX];
		size_t n;

		memset(in, 0x5a, sizeof(in));
		(void)mm_tls_sign(wk, 0, IPC_TLS_ECDSA, in, sizeof(in), out,
		    sizeof(out), &n);
	} else if (strcmp(h, "garbage") == 0)
		(void)!send(wk->sock, "\x00\x99garbage", 9, 0);
	else if (strcmp(h, "ioctl") == 0)
		testhook_ioctl(wk);
	else if (strcmp(h, "ctlsock") == 0) {
		struct sockaddr_un sun;
		int fd;

		/* the way to the control socket: the filter must kill */
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
		    CTL_SOCK_DEFAULT);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) != -1 &&
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			logit("test hook: the control socket is reachable");
	}
	else if (strcmp(h, "tcgets") == 0)
		testhook_tcgets();
	else if (strcmp(h, "asan") == 0)
		testhook_asan();
	else if (strcmp(h, "ubsan") == 0)
		testhook_ubsan();
}
#endif

void
worker_main(const struct conf *conf, const struct sandbox_params *sp,
    int sock, unsigned int id, unsigned int gen, const char *testhook)
{
	static struct worker wk;
	struct event_config *ec;
	size_t i;
	const struct handler *h;
	int fd;
	char prefix[32];

	memset(&wk, 0, sizeof(wk));
	the_worker = &wk;
	wk.conf = conf;
	wk.sock = sock;
	wk.id = id;
	wk.gen = gen;
	wk.testhook = testhook;
	snprintf(prefix, sizeof(prefix), "worker %u: ", id);
	log_set_prefix(prefix);
	/*
	 * Relay and codec buffers (64 KiB) are taken when data comes and
	 * given back when it has gone on, many times a connection.  With
	 * glibc's default the heap's top is given back to the kernel and
	 * taken again each time (brk, then page faults): keep up to
	 * WORKER_HEAP_KEEP of it.  An idle connection still holds none.
	 * Setting it also stops glibc from raising its mmap threshold
	 * (128 KiB) after a large free: a flow's queue that grows past it
	 * and empties, again and again (an OSTP stream ahead of a slower
	 * reader), was mapped, faulted in page by page and unmapped each
	 * time, 400,000 page faults a GB on loopback; buffers up to
	 * WORKER_HEAP_KEEP come from the heap, which keeps them.
	 */
#ifdef M_TRIM_THRESHOLD
	mallopt(M_TRIM_THRESHOLD, WORKER_HEAP_KEEP);
#endif
#ifdef M_MMAP_THRESHOLD
	mallopt(M_MMAP_THRESHOLD, WORKER_HEAP_KEEP);
#endif

	/*
	 * Build the event base before the sandbox: it needs epoll and
	 * internal pipes, and nothing after the sandbox should.
	 */
	if ((ec = event_config_new()) == NULL)
		fatal("event_config_new failed");
	event_config_avoid_method(ec, "select");
	event_config_avoid_method(ec, "poll");
	if ((wk.base = event_base_new_with_config(ec)) == NULL)
		fatal("event_base_new failed");
	event_config_free(ec);
	if ((wk.listeners = calloc(conf->nlis + 1, sizeof(*wk.listeners))) ==
	    NULL)
		fatal("out of memory");

	/* Seed libevent's generator (DNS ids) while urandom is reachable. */
	if (evutil_secure_rng_init() != 0)
		fatal("cannot seed the random number generator");
	/* OpenSSL loads its providers from files: before the chroot. */
	if (ss_crypto_init() != 0)
		fatal("OpenSSL: cannot load the ciphers Shadowsocks needs");
	ssc_salt_seen = ss_salt_seen;
	if (obfs_crypto_init() != 0)
		fatal("OpenSSL: cannot load SHA-1 for obfs-http");
	if (ostp_crypto_init() != 0)
		fatal("cannot set up X25519 for OSTP");
	if (tls_init() != 0)
		fatal("OpenSSL: cannot make the TLS certificate for SOCKS5");
	if (dnsup_init(conf) != 0)
		fatal("OpenSSL: cannot set up TLS for DNS upstreams");
	relay_init(conf);
	stats_init(&wk);
	sandbox_enter(sp);
	log_set_sink(worker_log_sink, &wk);

	if (mm_hello(&wk) != 0)
		fatal("monitor refused HELLO");
	if (chain_init(&wk) != 0)
		fatal("cannot set up the chains");
	for (i = 0; i < conf->nlis; i++) {
		const struct listener_conf *l = &conf->lis[i];

		/*
		 * tun/tap nodes run in worker 0 only, a capture in every
		 * worker (a queue each); an OSTP port in every worker when
		 * the monitor can steer its datagrams
		 */
		if (id != 0 && ((l->socktype != SOCK_STREAM &&
		    l->kind != LIS_OSTP && l->kind != LIS_CAPTURE) ||
		    l->kind == LIS_TUN || l->kind == LIS_TAP))
			continue;
		if ((h = handler_for(l->kind)) == NULL)
			fatal("%s: no handler in this build", l->node->url);
		/*
		 * remote forwarding: the port is opened on the far hop; a
		 * fake TCP client has no port
		 */
		fd = -1;
		if (!h->remote && l->socktype != 0 &&
		    (fd = mm_listener(&wk, (uint32_t)i)) == -1 &&
		    id != 0 && l->kind == LIS_OSTP && errno == ENOENT)
			continue;
		if (!h->remote && l->socktype != 0 && fd == -1)
			fatal("%s: no listener from the monitor: %s",
			    l->node->url, strerror(errno));
		if (h->start(&wk, l, i, fd) != 0)
			fatal("%s: cannot start", l->node->url);
	}
	evutil_make_socket_nonblocking(sock);
	wk.ipc_ev = event_new(wk.base, sock, EV_READ | EV_PERSIST, ipc_cb, &wk);
	event_add(wk.ipc_ev, NULL);
#ifdef OSTP_TESTHOOKS
	{
		struct event *ev = evsignal_new(wk.base, SIGUSR2, testhook_cb,
		    &wk);

		event_add(ev, NULL);
	}
#endif
	mm_ready(&wk);
	debug("worker %u (generation %u) running", id, gen);
	event_base_dispatch(wk.base);
	_exit(0);
}
