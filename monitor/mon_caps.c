/*
 * The monitor keeps only what it needs: network administration for
 * devices, routes, marks and raw sockets; low ports for listeners added
 * by a reload; and what spawning and signalling workers takes.  The
 * network ones are kept where the process has them: a container without
 * CAP_NET_ADMIN still runs a plain proxy, and a feature that needs one
 * fails on its own with a line that names the capability.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/capability.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "monitor.h"

#ifndef CAP_BPF
#define CAP_BPF		39	/* Linux 5.8 */
#endif

static const cap_value_t mon_keep[] = {
	CAP_SETUID,		/* worker uid drop */
	CAP_SETGID,		/* worker gid drop */
	CAP_SYS_CHROOT,		/* worker chroot */
	CAP_KILL,		/* signal workers running as another uid */
};
#define MON_NKEEP (sizeof(mon_keep) / sizeof(mon_keep[0]))

/*
 * Kept when the process has them, else done without: CAP_BPF for the
 * OSTP ports' steering (mon_steer.c; also for ports a reload adds;
 * without it worker 0 alone serves an OSTP port), and the network
 * administration that only some features need (mon_cap_hint).
 */
static const cap_value_t mon_optional[] = {
	CAP_NET_ADMIN,		/* TUN/TAP, netlink, SO_MARK, TPROXY */
	CAP_NET_RAW,		/* raw sockets, SO_BINDTODEVICE */
	CAP_NET_BIND_SERVICE,	/* listeners below 1024 */
	CAP_BPF,
};
#define MON_NOPT (sizeof(mon_optional) / sizeof(mon_optional[0]))

static int
kept(cap_value_t c)
{
	size_t i;

	for (i = 0; i < MON_NKEEP; i++)
		if (mon_keep[i] == c)
			return 1;
	for (i = 0; i < MON_NOPT; i++)
		if (mon_optional[i] == c)
			return 1;
	return 0;
}

int
mon_caps_drop(void)
{
	cap_t caps, cur;
	cap_value_t c, opt[MON_NOPT];
	cap_flag_value_t v;
	int nopt = 0;
	size_t i;

	/*
	 * Shrink the bounding set first (needs CAP_SETPCAP, which we then
	 * lose): nothing this process or its children do can bring the
	 * other capabilities back.  Under a unit that already bounds us the
	 * dropped ones are simply absent.
	 */
	for (c = 0; c <= CAP_LAST_CAP; c++) {
		if (kept(c) || prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == -1) {
			error("cannot drop capability %d from the bounding "
			    "set: %s", c, strerror(errno));
			return -1;
		}
	}
	/* the optional ones this process has */
	if ((cur = cap_get_proc()) == NULL)
		return -1;
	for (i = 0; i < MON_NOPT; i++) {
		if (cap_get_flag(cur, mon_optional[i], CAP_PERMITTED,
		    &v) == 0 && v == CAP_SET)
			opt[nopt++] = mon_optional[i];
		else if (mon_optional[i] != CAP_BPF) {
			char *name = cap_to_name(mon_optional[i]);

			logit("running without %s: the features that need "
			    "it will fail", name != NULL ? name : "?");
			cap_free(name);
		}
	}
	cap_free(cur);
	if ((caps = cap_init()) == NULL)
		return -1;
	if (cap_set_flag(caps, CAP_PERMITTED, MON_NKEEP, mon_keep,
	    CAP_SET) == -1 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, MON_NKEEP, mon_keep,
	    CAP_SET) == -1 ||
	    (nopt > 0 && (cap_set_flag(caps, CAP_PERMITTED, nopt, opt,
	    CAP_SET) == -1 || cap_set_flag(caps, CAP_EFFECTIVE, nopt, opt,
	    CAP_SET) == -1)) ||
	    cap_set_proc(caps) == -1) {
		error("cannot set monitor capabilities: %s", strerror(errno));
		cap_free(caps);
		return -1;
	}
	cap_free(caps);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	return 0;
}

/*
 * A note for an error caused by a missing capability: " (ostpd runs
 * without cap_net_admin)" when err is EPERM or EACCES and the process
 * has not got cap in its effective set, else "".
 */
const char *
mon_cap_hint(int cap, int err)
{
	static char hint[64];
	cap_flag_value_t v = CAP_CLEAR;
	cap_t cur;
	char *name;

	if (err != EPERM && err != EACCES)
		return "";
	if ((cur = cap_get_proc()) == NULL)
		return "";
	if (cap_get_flag(cur, (cap_value_t)cap, CAP_EFFECTIVE, &v) != 0)
		v = CAP_SET;		/* unknown: no claim */
	cap_free(cur);
	if (v == CAP_SET)
		return "";
	name = cap_to_name((cap_value_t)cap);
	snprintf(hint, sizeof(hint), " (ostpd runs without %s)",
	    name != NULL ? name : "a capability");
	cap_free(name);
	return hint;
}
