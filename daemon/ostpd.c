/*
 * ostpd: parse the configuration, open the listeners as root, then
 * become the privileged monitor that spawns sandboxed workers.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "ctlproto.h"
#include "log.h"
#include "worker.h"
#include "monitor.h"
#include "handler/handler.h"

static void
usage(FILE *f)
{
	fprintf(f,
"usage: ostpd [-AbDhtTV] [-C file] [-F node] [-I interface] [-L node]\n"
"             [-M mark] [-m address] [-P address] [-p pidfile]\n"
"             [-S socket] [-w workers]\n");
}

/* -V names sanitizer builds: their workers may make a few more calls. */
#ifdef OSTP_SANITIZE
#define BUILD_NOTE	" -fsanitize=address,undefined"
#else
#define BUILD_NOTE	""
#endif

static void
version(void)
{
	struct utsname u;
	const char *arch = "unknown";

	if (uname(&u) == 0)
		arch = u.machine;
#if defined(__clang__)
	printf("ostpd %s (clang %s%s linux/%s)\n", PACKAGE_VERSION,
	    __clang_version__, BUILD_NOTE, arch);
#elif defined(__GNUC__)
	printf("ostpd %s (gcc %s%s linux/%s)\n", PACKAGE_VERSION,
	    __VERSION__, BUILD_NOTE, arch);
#else
	printf("ostpd %s (cc%s linux/%s)\n", PACKAGE_VERSION, BUILD_NOTE,
	    arch);
#endif
}

static int
push(char ***v, size_t *n, char *s)
{
	char **nv;

	if ((nv = reallocarray(*v, *n + 1, sizeof(*nv))) == NULL)
		return -1;
	nv[(*n)++] = s;
	*v = nv;
	return 0;
}

/* The chroot must be a root-owned directory nobody else can write. */
static void
check_chroot(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) == -1) {
		if (errno != ENOENT || mkdir(dir, 0755) == -1 ||
		    stat(dir, &st) == -1)
			fatal("chroot directory %s: %s", dir, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		fatal("chroot directory %s must be a directory owned by root "
		    "and not writable by group or others", dir);
}

/* A relay holds six descriptors per connection; take what we may. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			debug("setrlimit NOFILE: %s", strerror(errno));
	}
}

static void
write_pidfile(const char *path)
{
	char buf[32];
	int fd, n;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd == -1)
		fatal("pidfile %s: %s", path, strerror(errno));
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n)
		fatal("pidfile %s: %s", path, strerror(errno));
	close(fd);
}

/*
 * libevent's own messages: its only routine one here is the note that a
 * worker's fresh event base takes over signals from the inherited one.
 */
static void
ostpd_event_log(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_ERR)
		error("libevent: %s", msg);
	else
		debug2_f("libevent: %s", msg);
}

static struct conf_args args;
static char *cpath;
#ifdef OSTP_TESTHOOKS
char *test_canary;
#endif

static int ostpd_main(int, char **);

int
main(int argc, char **argv)
{
	int r = ostpd_main(argc, argv);

	free(args.serve);
	free(args.chain);
	free(cpath);
	return r;
}

static int
ostpd_main(int argc, char **argv)
{
	struct conf conf;
	struct monitor mon;
	struct passwd *pw;
	char err[8192], *ep;
	unsigned long v;
	int ch, background = 0, test_only = 0;
	const char *pidfile = NULL, *ctl_path = CTL_SOCK_DEFAULT;

	memset(&args, 0, sizeof(args));
	memset(&mon, 0, sizeof(mon));
	log_init("ostpd", LOG_LEVEL_INFO, 0);
	event_set_log_callback(ostpd_event_log);
	/*
	 * Private: how the monitor starts a worker (fd 3 its channel).  It
	 * is not an option a user gives; worker_exec() refuses to run
	 * without the monitor's channel.
	 */
	if (argc == 2 && strcmp(argv[1], "-W") == 0)
		worker_exec();
	if (argc == 1) {
		usage(stdout);
		return 0;
	}
	while ((ch = getopt(argc, argv, "AbC:DF:hI:L:M:m:P:p:S:tTVw:")) != -1) {
		switch (ch) {
		case 'A':
			args.access_log = 1;
			break;
		case 'm':
			args.metrics = optarg;
			break;
		case 'S':
			ctl_path = optarg;
			break;
		case 'b':
			background = 1;
			break;
		case 'C':
			args.path = optarg;
			break;
		case 'D':
			args.debug++;
			break;
		case 'F':
			if (push(&args.chain, &args.nchain, optarg) != 0)
				fatal("out of memory");
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'I':
			args.iface = optarg;
			break;
		case 'L':
			if (push(&args.serve, &args.nserve, optarg) != 0)
				fatal("out of memory");
			break;
		case 'M':
			errno = 0;
			v = strtoul(optarg, &ep, 0);
			if (*optarg == '\0' || *ep != '\0' || errno != 0 ||
			    v > UINT32_MAX || optarg[0] == '-') {
				fprintf(stderr, "ostpd: -M: bad mark \"%s\" "
				    "(an integer from 0 to %u)\n", optarg,
				    UINT32_MAX);
				return 1;
			}
			args.mark = (uint32_t)v;
			args.have_mark = v != 0;
			break;
		case 'P':
			/* As in gost: only with PROFILING in the environment. */
			if (getenv("PROFILING") != NULL &&
			    getenv("PROFILING")[0] != '\0')
				args.profile = optarg;
			else
				fprintf(stderr, "ostpd: -P %s ignored: PROFILING "
				    "is not set\n", optarg);
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 't':
			/* quiet: the unit's ExecStartPre logs nothing */
			if (test_only == 0)
				test_only = 1;
			break;
		case 'T':
			test_only = 2;	/* and print it, as sshd -T */
			break;
		case 'V':
			version();
			return 0;
		case 'w':
			errno = 0;
			v = strtoul(optarg, &ep, 10);
			if (strcmp(optarg, "auto") == 0)
				v = 0;
			else if (*optarg == '\0' || *ep != '\0' || errno != 0 ||
			    v < 1 || v > 64 || optarg[0] == '-') {
				fprintf(stderr, "ostpd: -w: bad worker count "
				    "\"%s\" (auto, or 1 to 64)\n", optarg);
				return 1;
			}
			args.workers = (unsigned int)v;
			args.have_workers = 1;
			break;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ostpd: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		return 1;
	}
	/* -b changes to /; SIGHUP must still find the file. */
	if (args.path != NULL && args.path[0] != '/' &&
	    (cpath = realpath(args.path, NULL)) != NULL)
		args.path = cpath;
	if (conf_load(&conf, &args, err, sizeof(err)) != 0) {
		char *line, *save;

		/* every mistake found, one line each */
		for (line = strtok_r(err, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save))
			fprintf(stderr, "ostpd: %s\n", line);
		return 1;
	}
	log_set_level(conf.log_level);
	if (test_only) {
		/* -T: the effective configuration, as native JSON */
		int r = test_only == 2 ? conf_print_json(&conf, stdout) : 0;

		conf_free(&conf);
		return r == 0 ? 0 : 1;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "ostpd: must be started as root (it drops "
		    "privileges itself)\n");
		return 1;
	}
	if ((pw = getpwnam(PRIVSEP_USER)) == NULL) {
		logit("privilege separation user %s does not exist; using "
		    "nobody (create it with 'make deps' or useradd)",
		    PRIVSEP_USER);
		if ((pw = getpwnam("nobody")) == NULL)
			fatal("neither %s nor nobody exists", PRIVSEP_USER);
	}
	if (pw->pw_uid == 0)
		fatal("privilege separation user %s has uid 0", pw->pw_name);
	mon.uid = pw->pw_uid;
	mon.gid = pw->pw_gid;
	mon.chroot_dir = PRIVSEP_PATH;
	mon.seccomp_debug = conf.log_level >= LOG_LEVEL_DEBUG2;
	mon.args = args;
	mon.pidfile = pidfile;
#ifdef OSTP_TESTHOOKS
	mon.testhook = getenv("OSTP_TESTHOOK");
	/*
	 * A secret only the monitor holds, on its heap: regress/reexec.sh
	 * checks that no worker's memory contains it.
	 */
	if (getenv("OSTP_TEST_CANARY") != NULL &&
	    (test_canary = strdup(getenv("OSTP_TEST_CANARY"))) == NULL)
		fatal("out of memory");
#endif
	check_chroot(mon.chroot_dir);
	raise_nofile();
	/* Workers are executions of this very file (monitor.c). */
	if ((mon.exe_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) == -1)
		fatal("cannot open /proc/self/exe: %s", strerror(errno));
	/*
	 * Shadowsocks salts, shared by all workers of all generations;
	 * untouched pages cost nothing where no ss:// listener runs.
	 */
	if ((mon.replay_fd = ss_replay_create()) == -1)
		fatal("cannot make the replay filter: %s", strerror(errno));

	if (monitor_init(&mon, &conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "ostpd: %s\n", err);
		return 1;
	}
	/* The control socket and /metrics (monitor/mon_ctl.c). */
	if (mon_ctl_start(&mon, ctl_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "ostpd: %s\n", err);
		return 1;
	}
	if (background) {
		if (daemon(0, 0) == -1)
			fatal("daemon: %s", strerror(errno));
		log_init("ostpd", log_get_level(), 1);
	}
	if (pidfile != NULL)
		write_pidfile(pidfile);
	logit("ostpd %s starting (pid %ld)", PACKAGE_VERSION, (long)getpid());
	return monitor_run(&mon);
}
