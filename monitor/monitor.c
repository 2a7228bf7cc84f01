/*
 * Supervision: spawn workers into their sandbox, read their requests,
 * respawn them with back-off, reload on SIGHUP with a new generation,
 * and shut down cleanly on SIGTERM/SIGINT.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syscall.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include <seccomp.h>

#include "err.h"
#include "log.h"
#include "monitor.h"
#include "worker.h"

#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		30000
#define STABLE_SECS		10	/* a worker that lived this long was fine */
#define DRAIN_SECS		30
#define SHUTDOWN_WAIT_MS	2000

static struct monitor *the_mon;
static char notify_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static void mon_worker_spawn(struct monitor *, struct mon_worker *);

/* sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET. */
void
mon_notify(const char *state)
{
	struct sockaddr_un sun;
	socklen_t len;
	int fd;

	if (notify_path[0] == '\0')
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, notify_path, sizeof(sun.sun_path));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(notify_path));
	if (notify_path[0] == '@')
		sun.sun_path[0] = '\0';
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) == -1)
		debug("notify %s: %s", notify_path, strerror(errno));
	close(fd);
}

static long
elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 +
	    (now.tv_nsec - since->tv_nsec) / 1000000;
}

static void
worker_detach_ipc(struct mon_worker *w)
{
	if (w->ev != NULL) {
		event_free(w->ev);
		w->ev = NULL;
	}
	if (w->sock != -1) {
		close(w->sock);
		w->sock = -1;
	}
}

void
mon_worker_kill(struct monitor *mon, struct mon_worker *w, const char *why)
{
	(void)mon;
	error("killing worker %u (pid %ld): %s", w->id, (long)w->pid, why);
	if (w->pid > 0)
		kill(w->pid, SIGKILL);
	worker_detach_ipc(w);
}

static void
worker_ipc_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mon_worker *w = arg;
	struct ipc_msg m;
	int r, i;

	(void)what;
	/* Bounded batch so one chatty worker cannot starve the others. */
	for (i = 0; i < 64 && w->sock != -1; i++) {
		r = ipc_recv(fd, &m);
		if (r == ERR_SYSTEM && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/*
		 * It exited; SIGCHLD does the rest.  One that died with
		 * requests unread (a STATS of a SIGUSR1 dump) leaves
		 * ECONNRESET instead of EOF: no fault of its own to kill.
		 */
		if (r == ERR_CLOSED ||
		    (r == ERR_SYSTEM && errno == ECONNRESET)) {
			worker_detach_ipc(w);
			return;
		}
		if (r != 0) {
			mon_worker_kill(the_mon, w, ostp_err(r));
			return;
		}
		r = mon_dispatch(the_mon, w, &m);
		ipc_msg_clear(&m);
		if (r != 0) {
			mon_worker_kill(the_mon, w, "request refused");
			return;
		}
	}
}

static void
respawn_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	mon_worker_spawn(the_mon, arg);
}

/*
 * The environment a worker is executed with: nothing of the monitor's
 * but what the sanitizer runtimes read (and, in test builds, the test
 * knobs the worker reads).
 */
static char **
worker_env(void)
{
	static const char *const keep[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS",
	    "LSAN_OPTIONS",
#ifdef OSTP_TESTHOOKS
	    "OSTP_HALF_IDLE",	/* test builds: relay.c's short limit */
	    "OSTP_H2_IDLE",	/* and h2.c's idle sessions' */
	    "OSTP_TUN_PLAIN",	/* tun.c without UDP offloads */
#endif
	};
#define NKEEP (sizeof(keep) / sizeof(keep[0]))
	static char *env[NKEEP + 1];
	static char buf[NKEEP][512];
	size_t i, n = 0;
	const char *v;
	int r;

	for (i = 0; i < NKEEP; i++) {
		if ((v = getenv(keep[i])) == NULL)
			continue;
		r = snprintf(buf[n], sizeof(buf[n]), "%s=%s", keep[i], v);
		if (r < 0 || (size_t)r >= sizeof(buf[n]))
			continue;
		env[n] = buf[n];
		n++;
	}
	env[n] = NULL;
	return env;
#undef NKEEP
}

/*
 * The first messages a worker reads: who it is, where its sandbox is,
 * its configuration, and the memory it shares with its siblings.
 */
static int
worker_send_init(struct monitor *mon, struct mon_worker *w)
{
	struct ipc_init in;
	struct buf b;
	int r;

	memset(&in, 0, sizeof(in));
	in.id = w->id;
	in.gen = w->gen->num;
	in.uid = (uint32_t)mon->uid;
	in.gid = (uint32_t)mon->gid;
	in.monitor_pid = (uint32_t)getpid();
	in.seccomp_debug = mon->seccomp_debug ? 1 : 0;
	in.chroot_dir = (char *)mon->chroot_dir;
	in.testhook = (char *)mon->testhook;
	in.profile = (char *)mon->args.profile;
	buf_init(&b);
	r = ipc_enc_init(&b, &in);
	if (r == 0)
		r = ipc_send(w->sock, IPC_CMD_INIT, 0, &b, w->gen->conf_fd);
	if (r == 0)
		r = ipc_send(w->sock, IPC_CMD_SHM, 0, NULL, mon->replay_fd);
	buf_release(&b);
	return r;
}

/*
 * A worker is a fresh execution of this binary (as OpenSSH's
 * sshd-session): it starts with its own address-space layout and none
 * of the monitor's memory, and learns only what worker_send_init tells
 * it.  The binary is executed from the descriptor opened at start, so
 * an upgrade of the file on disk cannot hand a running monitor's
 * workers another version of the IPC protocol.
 */
static void
mon_worker_spawn(struct monitor *mon, struct mon_worker *w)
{
	char *const argv[] = { "ostpd", "-W", NULL };
	char **envp;
	sigset_t all;
	int sv[2], s, e;
	pid_t pid;

	if (mon->shutting_down || w->gen->draining)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		error("socketpair: %s", strerror(errno));
		goto retry;
	}
	/*
	 * w->seq goes on counting: an answer the worker before sent late
	 * (a report a control query still waits for) can never carry the
	 * number of a request to this one.
	 */
	w->once = 0;
	w->state = MW_NEW;
	memset(w->lis_given, 0, w->gen->conf.nlis);
	memset(w->tun_given, 0, w->gen->conf.nlis);
	memset(w->tls_given, 0, w->gen->conf.nlis);
	envp = worker_env();
	switch ((pid = fork())) {
	case -1:
		error("fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		goto retry;
	case 0:
		/*
		 * Child: its end of the channel becomes fd 3, the binary
		 * fd 4 (close-on-exec); all else the monitor owns is closed.
		 * Both are first moved above 4 so neither overwrites the
		 * other.
		 */
		if ((s = fcntl(sv[1], F_DUPFD, 10)) == -1 ||
		    (e = fcntl(mon->exe_fd, F_DUPFD_CLOEXEC, 10)) == -1 ||
		    dup2(s, 3) == -1 || dup3(e, 4, O_CLOEXEC) == -1)
			_exit(127);
		syscall(SYS_close_range, 5, ~0U, 0);
		signal(SIGHUP, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGUSR1, SIG_IGN);
		signal(SIGTERM, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		signal(SIGPIPE, SIG_IGN);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		/* Until its sandbox sets it again after the uid change. */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		fexecve(4, argv, envp);
		_exit(127);
	default:
		break;
	}
	close(sv[1]);
	w->pid = pid;
	w->sock = sv[0];
	if (worker_send_init(mon, w) != 0) {
		error("worker %u: cannot send its configuration: %s", w->id,
		    strerror(errno));
		kill(pid, SIGKILL);
		worker_detach_ipc(w);
		/* SIGCHLD reports it and schedules the respawn. */
		return;
	}
	evutil_make_socket_nonblocking(sv[0]);
	clock_gettime(CLOCK_MONOTONIC, &w->started);
	w->ev = event_new(mon->base, sv[0], EV_READ | EV_PERSIST,
	    worker_ipc_cb, w);
	event_add(w->ev, NULL);
	debug("worker %u (generation %u) started as pid %ld", w->id,
	    w->gen->num, (long)pid);
	return;
 retry:
	w->pid = -1;
	{
		struct timeval tv = { 1, 0 };

		event_add(w->respawn_ev, &tv);
	}
}

/*
 * The workers' copy of a generation's configuration: its effective
 * native JSON (what -t prints) in a memfd sealed against change, so a
 * worker can neither alter what its siblings and successors read nor
 * receive anything but the configuration itself.
 */
static int
gen_conf_fd(const struct conf *conf)
{
	char *text = NULL;
	size_t len = 0, off;
	ssize_t n;
	FILE *f;
	int fd;

	if ((f = open_memstream(&text, &len)) == NULL)
		return -1;
	if (conf_print_json(conf, f) != 0) {
		fclose(f);
		free(text);
		return -1;
	}
	if (fclose(f) != 0 || (fd = memfd_create("ostpd-conf",
	    MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1) {
		free(text);
		return -1;
	}
	for (off = 0; off < len; off += (size_t)n) {
		if ((n = write(fd, text + off, len - off)) <= 0) {
			close(fd);
			freezero(text, len);
			return -1;
		}
	}
	freezero(text, len);
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
watch_stat(struct mon_watch *mw, struct stat *st)
{
	if (stat(mw->path, st) == -1)
		return -1;
	return 0;
}

/* Changed since last seen?  mtime, inode (rename over) or size. */
static int
watch_changed(struct mon_watch *mw, const struct stat *st)
{
	return st->st_mtim.tv_sec != mw->mtime.tv_sec ||
	    st->st_mtim.tv_nsec != mw->mtime.tv_nsec ||
	    st->st_ino != mw->ino || st->st_size != mw->size;
}

static void
watch_record(struct mon_watch *mw, const struct stat *st)
{
	mw->mtime = st->st_mtim;
	mw->ino = st->st_ino;
	mw->size = st->st_size;
}

static void
watch_cb(evutil_socket_t unused, short what, void *arg)
{
	struct mon_watch *mw = arg;
	struct mon_worker *w;
	struct stat st;
	struct buf b;
	int fd;

	(void)unused;
	(void)what;
	if (watch_stat(mw, &st) == -1 || !watch_changed(mw, &st))
		return;
	watch_record(mw, &st);
	/* The monitor only opens the file; the workers parse it. */
	fd = open(mw->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		error("reload %s: %s", mw->path, strerror(errno));
		return;
	}
	verbose("%s changed; handing it to the workers", mw->path);
	buf_init(&b);
	if (ipc_enc_name(&b, mw->path) == 0) {
		TAILQ_FOREACH(w, &mw->gen->workers, entry)
			if (w->sock != -1 && ipc_send(w->sock, IPC_CMD_FILE,
			    ++w->seq, &b, fd) != 0)
				debug("worker %u: cannot send %s", w->id,
				    mw->path);
	}
	buf_release(&b);
	close(fd);
}

int
mon_watch_add(struct monitor *mon, struct mon_gen *g, const char *path,
    unsigned long period_ms)
{
	struct mon_watch *mw;
	struct stat st;
	struct timeval tv;

	TAILQ_FOREACH(mw, &g->watches, entry)
		if (strcmp(mw->path, path) == 0)
			break;
	if (mw == NULL) {
		if ((mw = calloc(1, sizeof(*mw))) == NULL ||
		    (mw->path = strdup(path)) == NULL) {
			free(mw);
			return -1;
		}
		mw->gen = g;
		mw->ev = event_new(mon->base, -1, EV_PERSIST, watch_cb, mw);
		if (watch_stat(mw, &st) == 0)
			watch_record(mw, &st);
		TAILQ_INSERT_TAIL(&g->watches, mw, entry);
	} else if (mw->period_ms <= period_ms)
		return 0;
	mw->period_ms = period_ms;
	tv.tv_sec = (time_t)(period_ms / 1000);
	tv.tv_usec = (suseconds_t)(period_ms % 1000) * 1000;
	event_add(mw->ev, &tv);
	debug("watching %s every %lu ms", path, period_ms);
	return 0;
}

static struct mon_gen *
gen_new(struct monitor *mon, struct conf *conf)
{
	struct mon_gen *g;
	struct mon_worker *w;
	unsigned int i;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		fatal("out of memory");
	g->num = ++mon->next_gen;
	g->conf = *conf;
	memset(conf, 0, sizeof(*conf));
	g->conf_fd = gen_conf_fd(&g->conf);	/* callers check */
	g->nworkers = g->conf.workers;
	if (g->nworkers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		g->nworkers = n < 1 ? 1 : n > 64 ? 64 : (unsigned int)n;
	}
	TAILQ_INIT(&g->workers);
	TAILQ_INIT(&g->watches);
	for (i = 0; i < g->nworkers; i++) {
		if ((w = calloc(1, sizeof(*w))) == NULL ||
		    (w->lis_given = calloc(g->conf.nlis + 1, 1)) == NULL ||
		    (w->tun_given = calloc(g->conf.nlis + 1, 1)) == NULL ||
		    (w->tls_given = calloc(g->conf.nlis + 1, 1)) == NULL)
			fatal("out of memory");
		w->gen = g;
		w->id = i;
		w->sock = -1;
		w->pid = -1;
		w->respawn_ev = evtimer_new(mon->base, respawn_cb, w);
		TAILQ_INSERT_TAIL(&g->workers, w, entry);
	}
	return g;
}

static void
gen_free(struct monitor *mon, struct mon_gen *g)
{
	struct mon_worker *w;
	struct mon_watch *mw;

	while ((mw = TAILQ_FIRST(&g->watches)) != NULL) {
		TAILQ_REMOVE(&g->watches, mw, entry);
		event_free(mw->ev);
		free(mw->path);
		free(mw);
	}
	while ((w = TAILQ_FIRST(&g->workers)) != NULL) {
		TAILQ_REMOVE(&g->workers, w, entry);
		mon_ftcp_worker_gone(w);
		worker_detach_ipc(w);
		event_free(w->respawn_ev);
		free(w->lis_given);
		free(w->tun_given);
		free(w->tls_given);
		free(w);
	}
	if (g->drain_ev != NULL)
		event_free(g->drain_ev);
	TAILQ_REMOVE(&mon->gens, g, entry);
	if (g->conf_fd != -1)
		close(g->conf_fd);
	mon_tls_free(g);
	conf_free(&g->conf);
	free(g->lis);
	free(g);
	mon_listeners_gc(mon);
	mon_tuns_gc(mon);
	mon_ftcp_gc(mon);
}

static int
gen_alive(struct mon_gen *g)
{
	struct mon_worker *w;

	TAILQ_FOREACH(w, &g->workers, entry)
		if (w->pid > 0)
			return 1;
	return 0;
}

static void
drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mon_gen *g = arg;
	struct mon_worker *w;

	(void)fd;
	(void)what;
	TAILQ_FOREACH(w, &g->workers, entry)
		if (w->pid > 0)
			mon_worker_kill(the_mon, w, "drain time is over");
}

static void
gen_drain(struct monitor *mon, struct mon_gen *g)
{
	struct mon_worker *w;
	struct timeval tv = { DRAIN_SECS, 0 };

	g->draining = 1;
	TAILQ_FOREACH(w, &g->workers, entry) {
		event_del(w->respawn_ev);
		if (w->sock != -1) {
			w->state = MW_DRAINING;
			if (ipc_send(w->sock, IPC_CMD_DRAIN, ++w->seq, NULL,
			    -1) != 0)
				mon_worker_kill(mon, w, "cannot send DRAIN");
		}
	}
	g->drain_ev = evtimer_new(mon->base, drain_timeout_cb, g);
	event_add(g->drain_ev, &tv);
	if (!gen_alive(g))
		gen_free(mon, g);
}

static void
worker_exited(struct monitor *mon, struct mon_worker *w, int status)
{
	struct mon_gen *g = w->gen;
	long lived = elapsed_ms(&w->started);
	struct timeval tv;
	char why[128];

	if (WIFSIGNALED(status)) {
		if (WTERMSIG(status) == SIGSYS)
			snprintf(why, sizeof(why), "killed by SIGSYS: seccomp "
			    "violation (run with -DD to name the system call)");
		else
			snprintf(why, sizeof(why), "killed by signal %d",
			    WTERMSIG(status));
	} else
		snprintf(why, sizeof(why), "exited with status %d",
		    WEXITSTATUS(status));
	worker_detach_ipc(w);
	w->pid = -1;
	mon_ftcp_worker_gone(w);
	if (g->draining || mon->shutting_down) {
		/*
		 * Ending is expected now, but a crash is still a crash:
		 * only a clean exit or our own TERM/KILL is quiet.
		 */
		if ((WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
		    (WIFSIGNALED(status) && (WTERMSIG(status) == SIGTERM ||
		    WTERMSIG(status) == SIGKILL)))
			debug("worker %u (generation %u) %s", w->id, g->num,
			    why);
		else
			error("worker %u (generation %u) %s while %s", w->id,
			    g->num, why, mon->shutting_down ? "shutting down" :
			    "draining");
		if (!gen_alive(g))
			gen_free(mon, g);
		return;
	}
	/* The first worker failing before it ever served: do not loop. */
	if (!mon->ever_ready && w->state != MW_RUNNING) {
		error("worker %u %s during start-up; exiting", w->id, why);
		mon->exit_status = 1;
		mon->shutting_down = 1;
		event_base_loopbreak(mon->base);
		return;
	}
	if (lived >= STABLE_SECS * 1000) {
		w->quick_deaths = 0;
		w->backoff_ms = BACKOFF_MIN_MS;
	} else {
		w->quick_deaths++;
		w->backoff_ms = w->backoff_ms < BACKOFF_MIN_MS ?
		    BACKOFF_MIN_MS : w->backoff_ms * 2;
		if (w->backoff_ms > BACKOFF_MAX_MS)
			w->backoff_ms = BACKOFF_MAX_MS;
	}
	error("worker %u (generation %u) %s; restarting in %lu ms", w->id,
	    g->num, why, w->backoff_ms);
	tv.tv_sec = (time_t)(w->backoff_ms / 1000);
	tv.tv_usec = (suseconds_t)(w->backoff_ms % 1000) * 1000;
	event_add(w->respawn_ev, &tv);
}

static void
sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
	struct monitor *mon = arg;
	struct mon_gen *g, *gtmp;
	struct mon_worker *w;
	pid_t pid;
	int status, found;

	(void)sig;
	(void)what;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		found = 0;
		TAILQ_FOREACH_SAFE(g, &mon->gens, entry, gtmp) {
			TAILQ_FOREACH(w, &g->workers, entry) {
				if (w->pid == pid) {
					found = 1;
					worker_exited(mon, w, status);
					break;
				}
			}
			if (found)
				break;
		}
	}
}

static void
dump_state(struct monitor *mon)
{
	struct mon_listener *ml;
	struct mon_tun *mt;
	struct mon_gen *g;
	struct mon_worker *w;
	char as[128];

	size_t nlis = 0, ntun = 0;

	TAILQ_FOREACH(ml, &mon->listeners, entry)
		nlis++;
	TAILQ_FOREACH(mt, &mon->tuns, entry)
		ntun++;
	logit("monitor pid %ld: %zu listeners, %zu devices", (long)getpid(),
	    nlis, ntun);
	TAILQ_FOREACH(ml, &mon->listeners, entry)
		logit("listener %s/%s fd %d", ml->socktype == SOCK_STREAM ?
		    "tcp" : "udp", sockaddr_ntop((struct sockaddr *)&ml->addr,
		    as, sizeof(as)), ml->fd);
	TAILQ_FOREACH(mt, &mon->tuns, entry)
		logit("device %s (%s, ifindex %d, mtu %u)", mt->conf.name,
		    mt->conf.tap ? "tap" : "tun", mt->ifindex, mt->conf.mtu);
	TAILQ_FOREACH(g, &mon->gens, entry) {
		TAILQ_FOREACH(w, &g->workers, entry) {
			logit("worker %u generation %u%s: pid %ld, %s, up %ld s",
			    w->id, g->num, g->draining ? " (draining)" : "",
			    (long)w->pid, w->state == MW_RUNNING ? "running" :
			    w->state == MW_DRAINING ? "draining" : "starting",
			    w->pid > 0 ? elapsed_ms(&w->started) / 1000 : 0);
			/* Its counters arrive as a CMD_STATS answer. */
			if (w->sock != -1 && ipc_send(w->sock, IPC_CMD_STATS,
			    ++w->seq, NULL, -1) != 0)
				debug("worker %u: cannot ask for stats", w->id);
		}
	}
}

static int
reload_compatible(struct monitor *mon, const struct conf *nc, char *err,
    size_t errlen)
{
	struct mon_tun *mt;
	const struct listener_conf *l;

	TAILQ_FOREACH(mt, &mon->tuns, entry) {
		if ((l = conf_tun_by_name(nc, mt->conf.name)) != NULL &&
		    !conf_tun_equal(&mt->conf, &l->tun)) {
			snprintf(err, errlen, "%s: changing the parameters of "
			    "device %s needs a restart", l->node->url,
			    mt->conf.name);
			return 0;
		}
	}
	return 1;
}

int
mon_reload(struct monitor *mon)
{
	struct conf nc;
	struct mon_gen *g, *old, *tmp;
	struct mon_worker *w;
	char err[4096];
	int r = -1;

	logit("reloading configuration");
	mon_notify("RELOADING=1");
	if (conf_load(&nc, &mon->args, err, sizeof(err)) != 0) {
		char *line, *save;

		for (line = strtok_r(err, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save))
			error("reload failed: %s; keeping the running "
			    "configuration", line);
		goto out;
	}
	if (!reload_compatible(mon, &nc, err, sizeof(err))) {
		error("reload failed: %s; keeping the running configuration",
		    err);
		conf_free(&nc);
		goto out;
	}
	log_set_level(nc.log_level);
	g = gen_new(mon, &nc);
	if (g->conf_fd == -1)
		snprintf(err, sizeof(err), "cannot copy the configuration for "
		    "the workers: %s", strerror(errno));
	if (g->conf_fd == -1 ||
	    mon_tls_load(mon, g, err, sizeof(err)) != 0 ||
	    mon_listeners_open(mon, g, err, sizeof(err)) != 0) {
		error("reload failed: %s; keeping the running configuration",
		    err);
		TAILQ_INSERT_TAIL(&mon->gens, g, entry);
		gen_free(mon, g);
		goto out;
	}
	mon_steer_activate(mon, g);
	TAILQ_FOREACH_SAFE(old, &mon->gens, entry, tmp)
		if (!old->draining)
			gen_drain(mon, old);
	TAILQ_INSERT_TAIL(&mon->gens, g, entry);
	TAILQ_FOREACH(w, &g->workers, entry)
		mon_worker_spawn(mon, w);
	logit("configuration reloaded (generation %u)", g->num);
	mon_usage_config(mon);
	mon_usage_save(mon);
	mon_ctl_reloaded(mon);
	r = 0;
 out:
	mon_notify("READY=1");
	return r;
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct monitor *mon = arg;

	(void)what;
	switch (sig) {
	case SIGHUP:
		logit("received SIGHUP");
		(void)mon_reload(mon);
		break;
	case SIGUSR1:
		dump_state(mon);
		break;
	case SIGTERM:
	case SIGINT:
		logit("received %s; shutting down",
		    sig == SIGTERM ? "SIGTERM" : "SIGINT");
		mon->shutting_down = 1;
		event_base_loopbreak(mon->base);
		break;
	}
}

static void
mon_shutdown(struct monitor *mon)
{
	struct mon_gen *g;
	struct mon_worker *w;
	struct timespec t0;
	int status, alive;
	pid_t pid;

	mon_notify("STOPPING=1");
	mon->shutting_down = 1;
	mon_ctl_stop();
	TAILQ_FOREACH(g, &mon->gens, entry)
		TAILQ_FOREACH(w, &g->workers, entry)
			if (w->pid > 0)
				kill(w->pid, SIGTERM);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			TAILQ_FOREACH(g, &mon->gens, entry)
				TAILQ_FOREACH(w, &g->workers, entry)
					if (w->pid == pid)
						w->pid = -1;
		alive = 0;
		TAILQ_FOREACH(g, &mon->gens, entry)
			alive |= gen_alive(g);
		if (!alive)
			break;
		if (elapsed_ms(&t0) > SHUTDOWN_WAIT_MS) {
			TAILQ_FOREACH(g, &mon->gens, entry)
				TAILQ_FOREACH(w, &g->workers, entry)
					if (w->pid > 0)
						kill(w->pid, SIGKILL);
		}
		usleep(10000);
	}
	/* the workers are gone: their last bytes are counted */
	mon_usage_save(mon);
	while ((g = TAILQ_FIRST(&mon->gens)) != NULL)
		gen_free(mon, g);	/* removes devices and listeners */
	if (mon->pidfile != NULL)
		unlink(mon->pidfile);
}

/* Before daemonising: errors still reach the terminal. */
int
monitor_init(struct monitor *mon, struct conf *conf, char *err,
    size_t errlen)
{
	struct mon_gen *g;

	the_mon = mon;
	TAILQ_INIT(&mon->gens);
	TAILQ_INIT(&mon->listeners);
	TAILQ_INIT(&mon->tuns);
	TAILQ_INIT(&mon->steers);
	if ((mon->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "event_base_new failed");
		return -1;
	}
	g = gen_new(mon, conf);
	TAILQ_INSERT_TAIL(&mon->gens, g, entry);
	if (g->conf_fd == -1) {
		snprintf(err, errlen, "cannot copy the configuration for the "
		    "workers: %s", strerror(errno));
		goto fail;
	}
	/*
	 * TLS listeners without cert= take cert.pem and key.pem from here,
	 * also after -b changed to / and at every reload.
	 */
	mon->start_dir = getcwd(NULL, 0);
	if (mon_tls_load(mon, g, err, errlen) != 0 ||
	    mon_listeners_open(mon, g, err, errlen) != 0)
		goto fail;
	mon_steer_activate(mon, g);
	return 0;
 fail:
	/* the keys loaded so far go now, not with the process */
	while ((g = TAILQ_FIRST(&mon->gens)) != NULL)
		gen_free(mon, g);
	mon_tlskey_unref(mon->tls_default);
	mon->tls_default = NULL;
	free(mon->start_dir);
	mon->start_dir = NULL;
	event_base_free(mon->base);
	mon->base = NULL;
	return -1;
}

int
monitor_run(struct monitor *mon)
{
	struct event *sigs[6];
	const int signos[6] = { SIGHUP, SIGUSR1, SIGTERM, SIGINT, SIGCHLD, 0 };
	struct mon_gen *g;
	struct mon_worker *w;
	const char *ns;
	int i;

	if ((ns = getenv("NOTIFY_SOCKET")) != NULL &&
	    strlen(ns) < sizeof(notify_path) &&
	    (ns[0] == '/' || ns[0] == '@'))
		snprintf(notify_path, sizeof(notify_path), "%s", ns);
	unsetenv("NOTIFY_SOCKET");
	signal(SIGPIPE, SIG_IGN);
	if (event_reinit(mon->base) != 0)
		fatal("event_reinit failed");
	for (i = 0; signos[i] != 0; i++) {
		sigs[i] = evsignal_new(mon->base, signos[i],
		    signos[i] == SIGCHLD ? sigchld_cb : signal_cb, mon);
		event_add(sigs[i], NULL);
	}
	if (mon_caps_drop() != 0)
		fatal("cannot drop monitor privileges");
	/* the keys' counters before any worker counts */
	mon_usage_config(mon);
	g = TAILQ_FIRST(&mon->gens);
	TAILQ_FOREACH(w, &g->workers, entry)
		mon_worker_spawn(mon, w);
	event_base_dispatch(mon->base);
	mon_shutdown(mon);
	mon_tlskey_unref(mon->tls_default);
	mon->tls_default = NULL;
	free(mon->start_dir);
	for (i = 0; signos[i] != 0; i++)
		event_free(sigs[i]);
	event_base_free(mon->base);
	logit("exiting");
	return mon->exit_status;
}
