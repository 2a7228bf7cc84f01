/*
 * A worker's start: the monitor forks and executes this binary again
 * with the private flag -W and the IPC channel as fd 3 (monitor.c,
 * mon_worker_spawn).  Nothing of the monitor's memory comes along; the
 * worker reads its parameters, its configuration and the shared replay
 * memory from the channel, then enters the sandbox in worker_main().
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "conf.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "worker.h"
#include "handler/handler.h"

#define WORKER_SOCK	3
#define CONF_TEXT_MAX	(16 * 1024 * 1024)

/* One message of the given type, with its descriptor; fatal otherwise. */
static void
recv_expect(struct ipc_msg *m, uint16_t type)
{
	int r;

	if ((r = ipc_recv(WORKER_SOCK, m)) != 0)
		fatal("worker start: no %s from the monitor: %s",
		    ipc_type_name(type), r == ERR_SYSTEM ? strerror(errno) :
		    ostp_err(r));
	if (m->hdr.type != type || m->fd == -1)
		fatal("worker start: expected %s with a descriptor, got %s",
		    ipc_type_name(type), ipc_type_name(m->hdr.type));
}

/* The sealed memfd with the configuration, read whole. */
static char *
read_conf_fd(int fd, size_t *lenp)
{
	struct stat st;
	char *text;
	size_t off, len;
	ssize_t n;
	int seals;

	if (fstat(fd, &st) == -1 || st.st_size <= 0 ||
	    st.st_size > CONF_TEXT_MAX)
		fatal("worker start: bad configuration descriptor");
	/* It must be the monitor's sealed copy, which nobody can change. */
	if ((seals = fcntl(fd, F_GET_SEALS)) == -1 ||
	    (seals & F_SEAL_WRITE) == 0)
		fatal("worker start: the configuration is not sealed");
	len = (size_t)st.st_size;
	if ((text = malloc(len + 1)) == NULL)
		fatal("out of memory");
	for (off = 0; off < len; off += (size_t)n) {
		n = pread(fd, text + off, len - off, (off_t)off);
		if (n <= 0)
			fatal("worker start: reading the configuration: %s",
			    n == 0 ? "short" : strerror(errno));
	}
	text[len] = '\0';
	*lenp = len;
	return text;
}

/*
 * The configuration must survive the trip exactly: the worker prints
 * what it parsed and compares it with what it was given.  A difference
 * would make the monitor's checks (listener indexes, file names) and the
 * worker disagree, so it is fatal.
 */
static void
check_roundtrip(const struct conf *conf, const char *text, size_t len)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *f;

	if ((f = open_memstream(&out, &outlen)) == NULL)
		fatal("out of memory");
	if (conf_print_json(conf, f) != 0 || fclose(f) != 0)
		fatal("worker start: cannot print the configuration");
	if (outlen != len || memcmp(out, text, len) != 0)
		fatal("worker start: the configuration changed in transfer "
		    "(a bug: the native JSON does not round-trip)");
	freezero(out, outlen);
}

void
worker_exec(void)
{
	static struct conf conf;
	struct sandbox_params sp;
	struct conf_args args;
	struct ipc_init in;
	struct ipc_msg m;
	char err[512], *text;
	size_t len;
	int type;
	socklen_t sl = sizeof(type);

	if (getsockopt(WORKER_SOCK, SOL_SOCKET, SO_TYPE, &type, &sl) == -1 ||
	    type != SOCK_SEQPACKET)
		fatal("-W is private: the monitor starts workers with it");

	recv_expect(&m, IPC_CMD_INIT);
	if (ipc_dec_init(&m.payload, &in) != 0)
		fatal("worker start: malformed CMD_INIT");
	if ((pid_t)in.monitor_pid != getppid())
		_exit(0);	/* the monitor is gone already */
	text = read_conf_fd(m.fd, &len);
	ipc_msg_clear(&m);

	memset(&args, 0, sizeof(args));
	args.path = "configuration from the monitor";
	args.text = text;
	args.textlen = len;
	args.profile = in.profile[0] != '\0' ? in.profile : NULL;
	args.from_monitor = 1;
	if (conf_load(&conf, &args, err, sizeof(err)) != 0)
		fatal("worker start: %s", err);
	check_roundtrip(&conf, text, len);
	freezero(text, len);
	log_set_level(conf.log_level);

	recv_expect(&m, IPC_CMD_SHM);
	if (buf_len(&m.payload) != 0 || ss_replay_attach(m.fd) != 0)
		fatal("worker start: cannot map the replay memory: %s",
		    strerror(errno));
	ipc_msg_clear(&m);

	memset(&sp, 0, sizeof(sp));
	sp.uid = (uid_t)in.uid;
	sp.gid = (gid_t)in.gid;
	sp.chroot_dir = in.chroot_dir;
	sp.seccomp_debug = in.seccomp_debug;
	sp.ipc_sock = WORKER_SOCK;
	sp.monitor_pid = (pid_t)in.monitor_pid;
	worker_main(&conf, &sp, WORKER_SOCK, in.id, in.gen,
	    in.testhook[0] != '\0' ? in.testhook : NULL);
	/* NOTREACHED */
}
