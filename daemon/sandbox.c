/*
 * Enter the worker sandbox: chroot into the empty directory, drop to the
 * unprivileged user and prove the old ids are gone, drop every
 * capability, forbid new privileges, then install the seccomp allow-list.
 * Any step failing is fatal: a worker never runs half-confined.
 */
#include "config.h"

#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>
#ifdef OSTP_SANITIZE
#include <sanitizer/common_interface_defs.h>
#endif

#include "buf.h"
#include "ipc.h"
#include "log.h"
#include "worker.h"

static int sigsys_sock = -1;

static void
drop_ids(const struct sandbox_params *sp)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;

	if (chroot(sp->chroot_dir) == -1 || chdir("/") == -1)
		fatal("chroot %s: %s", sp->chroot_dir, strerror(errno));
	if (setgroups(1, &sp->gid) == -1 ||
	    setresgid(sp->gid, sp->gid, sp->gid) == -1 ||
	    setresuid(sp->uid, sp->uid, sp->uid) == -1)
		fatal("cannot drop to uid %u gid %u: %s", (unsigned)sp->uid,
		    (unsigned)sp->gid, strerror(errno));
	/* The drop must stick: getting root back has to fail. */
	if (setresuid(0, 0, 0) != -1 || setuid(0) != -1 || seteuid(0) != -1 ||
	    setgid(0) != -1 || setegid(0) != -1)
		fatal("old ids can be regained after the privilege drop");
	if (getresuid(&r, &e, &s) == -1 || r != sp->uid || e != sp->uid ||
	    s != sp->uid || getresgid(&gr, &ge, &gs) == -1 ||
	    gr != sp->gid || ge != sp->gid || gs != sp->gid)
		fatal("unexpected ids after the privilege drop");
}

static void
drop_caps(void)
{
	cap_t caps, empty;

	if ((empty = cap_init()) == NULL || cap_set_proc(empty) == -1)
		fatal("cannot clear capabilities: %s", strerror(errno));
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if ((caps = cap_get_proc()) == NULL || cap_compare(caps, empty) != 0)
		fatal("capabilities remain after dropping them");
	cap_free(caps);
	cap_free(empty);
}

/*
 * Debug mode (-DD): a violation raises SIGSYS instead of killing, and
 * this handler names the call to the monitor before exiting.  Only
 * async-signal-safe work here: format into a stack buffer, one send.
 */
static void
sigsys_handler(int sig, siginfo_t *info, void *ctx)
{
	unsigned char raw[IPC_HDR_LEN + 256];
	char line[128], *name;
	struct ipc_hdr h;
	size_t len;
	int n;

	(void)sig;
	(void)ctx;
	name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE,
	    info->si_syscall);
	n = snprintf(line, sizeof(line), "seccomp: forbidden system call %s "
	    "(%d)", name ? name : "unknown", info->si_syscall);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = (int)strlen(line);
	len = 3 + (size_t)n;
	memset(&h, 0, sizeof(h));
	h.type = IPC_LOG;
	h.version = IPC_VERSION;
	h.len = (uint32_t)len;
	ipc_hdr_encode(&h, raw);
	raw[IPC_HDR_LEN] = LOG_LEVEL_ERROR;
	raw[IPC_HDR_LEN + 1] = (unsigned char)(n >> 8);
	raw[IPC_HDR_LEN + 2] = (unsigned char)n;
	memcpy(raw + IPC_HDR_LEN + 3, line, (size_t)n);
	if (sigsys_sock != -1)
		(void)!send(sigsys_sock, raw, IPC_HDR_LEN + len, MSG_NOSIGNAL);
	_exit(128 + SIGSYS);
}

#define ALLOW(call) do {						\
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(call), 0) < 0) \
		goto fail;						\
} while (0)
#define ALLOW_ARG(call, ...) do {					\
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(call),	\
	    __VA_ARGS__) < 0)						\
		goto fail;						\
} while (0)
#define DENY(call, err) do {						\
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), SCMP_SYS(call), 0) < 0) \
		goto fail;						\
} while (0)

static void
install_seccomp(const struct sandbox_params *sp)
{
	scmp_filter_ctx ctx;
	uint32_t defact;
	struct sigaction sa;

	if (sp->seccomp_debug) {
		sigsys_sock = sp->ipc_sock;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = sigsys_handler;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGSYS, &sa, NULL);
		defact = SCMP_ACT_TRAP;
	} else
		defact = SCMP_ACT_KILL_PROCESS;
	if ((ctx = seccomp_init(defact)) == NULL)
		fatal("seccomp_init failed");

	/* Harmless probes from libc get an error, not death. */
	DENY(open, EACCES);
	DENY(openat, EACCES);
	DENY(stat, EACCES);
	DENY(newfstatat, EACCES);
	DENY(access, EACCES);
	DENY(readlink, EACCES);
	DENY(statx, EACCES);
	/* Event loop and I/O */
	ALLOW(read);
	ALLOW(readv);
	ALLOW(write);
	ALLOW(writev);
	ALLOW(close);
	ALLOW(epoll_wait);
	ALLOW(epoll_pwait);
	ALLOW(epoll_ctl);
	ALLOW(poll);
	ALLOW(ppoll);
	ALLOW(recvfrom);
	ALLOW(recvmsg);
	ALLOW(recvmmsg);
	ALLOW(sendto);
	ALLOW(sendmsg);
	ALLOW(sendmmsg);
	ALLOW(accept4);
	ALLOW(connect);
	ALLOW(bind);
	ALLOW(listen);		/* SOCKS5 BIND on unprivileged ports */
	ALLOW(getsockname);
	ALLOW(getpeername);
	ALLOW(getsockopt);
	ALLOW(shutdown);
	ALLOW(splice);
	ALLOW(pipe2);
	ALLOW(fstat);
	ALLOW(lseek);
	/* Only plain IPv4/IPv6 stream and datagram sockets. */
	ALLOW_ARG(socket, 2, SCMP_A0(SCMP_CMP_EQ, AF_INET),
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff, SOCK_STREAM));
	ALLOW_ARG(socket, 2, SCMP_A0(SCMP_CMP_EQ, AF_INET),
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff, SOCK_DGRAM));
	ALLOW_ARG(socket, 2, SCMP_A0(SCMP_CMP_EQ, AF_INET6),
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff, SOCK_STREAM));
	ALLOW_ARG(socket, 2, SCMP_A0(SCMP_CMP_EQ, AF_INET6),
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff, SOCK_DGRAM));
	/* Socket options of the protocol layers only. */
	ALLOW_ARG(setsockopt, 1, SCMP_A1(SCMP_CMP_EQ, SOL_SOCKET));
	ALLOW_ARG(setsockopt, 1, SCMP_A1(SCMP_CMP_EQ, IPPROTO_TCP));
	ALLOW_ARG(setsockopt, 1, SCMP_A1(SCMP_CMP_EQ, IPPROTO_IP));
	ALLOW_ARG(setsockopt, 1, SCMP_A1(SCMP_CMP_EQ, IPPROTO_IPV6));
	/* UDP_GRO: OSTP's datagrams coalesced by the kernel */
	ALLOW_ARG(setsockopt, 1, SCMP_A1(SCMP_CMP_EQ, IPPROTO_UDP));
	ALLOW_ARG(ioctl, 1, SCMP_A1(SCMP_CMP_EQ, FIONREAD));
	ALLOW_ARG(ioctl, 1, SCMP_A1(SCMP_CMP_EQ, FIONBIO));
	ALLOW_ARG(fcntl, 1, SCMP_A1(SCMP_CMP_EQ, F_GETFL));
	ALLOW_ARG(fcntl, 1, SCMP_A1(SCMP_CMP_EQ, F_SETFL));
	ALLOW_ARG(fcntl, 1, SCMP_A1(SCMP_CMP_EQ, F_GETFD));
	ALLOW_ARG(fcntl, 1, SCMP_A1(SCMP_CMP_EQ, F_SETFD));
	ALLOW_ARG(fcntl, 1, SCMP_A1(SCMP_CMP_EQ, F_SETPIPE_SZ));
	ALLOW_ARG(fcntl, 1, SCMP_A1(SCMP_CMP_EQ, F_GETPIPE_SZ));
	/* Memory: never executable. */
	ALLOW_ARG(mmap, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	ALLOW_ARG(mprotect, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	ALLOW(munmap);
	ALLOW(mremap);
	ALLOW(brk);
	ALLOW(madvise);
	/* Time, signals, threads' futexes, randomness, exit */
	ALLOW(clock_gettime);
	ALLOW(clock_nanosleep);
	ALLOW(gettimeofday);
	ALLOW(nanosleep);
	ALLOW(getpid);
	ALLOW(gettid);
	ALLOW(getppid);
	ALLOW(rt_sigaction);
	ALLOW(rt_sigprocmask);
	ALLOW(rt_sigreturn);
	ALLOW(sigaltstack);
	ALLOW(restart_syscall);
	ALLOW(futex);
	ALLOW(getrandom);
	ALLOW(sched_yield);
	ALLOW(exit);
	ALLOW(exit_group);
	/* abort() signals itself; only the own thread group is reachable. */
	ALLOW_ARG(tgkill, 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
#ifdef OSTP_SANITIZE
	/*
	 * The sanitizer runtimes read their own state on reports, and ask
	 * isatty(2) of stderr (TCGETS) before every line to pick colours:
	 * without these a report would die half-written.
	 */
	ALLOW_ARG(ioctl, 1, SCMP_A1(SCMP_CMP_EQ, TCGETS));
	ALLOW(prctl);
	ALLOW(sched_getaffinity);
	ALLOW(getrlimit);
	ALLOW(prlimit64);
	ALLOW(uname);
#endif
	if (seccomp_load(ctx) < 0)
		fatal("cannot load the seccomp filter");
	seccomp_release(ctx);
	return;
 fail:
	fatal("cannot build the seccomp filter");
}

void
sandbox_enter(const struct sandbox_params *sp)
{
#ifdef OSTP_SANITIZE
	/*
	 * Sanitizer builds: the runtime caches /proc/self/maps now, so that
	 * a report written inside the chroot still names the modules.
	 */
	__sanitizer_sandbox_on_notify(NULL);
#endif
	drop_ids(sp);
	/* Die with the monitor; set after the uid change, which clears it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		fatal("PR_SET_PDEATHSIG: %s", strerror(errno));
	if (getppid() != sp->monitor_pid)
		_exit(0);
	drop_caps();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	/* No core dumps of relay memory, no ptrace by the same uid. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	install_seccomp(sp);
}
