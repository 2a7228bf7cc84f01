/*
 * ostpctl: operate a running ostpd through its control socket (status,
 * connections, reload, stop, log-level), and point the desktop's proxy
 * settings at the local proxy (sysproxy, helper/sysproxy.c).
 *
 * The monitor answers "ok" or "error <why>", then lines of a kind word
 * and key=value pairs with escaped values (common/ctlproto.h); this
 * program makes the table a person reads, or JSON with -j.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yajl/yajl_gen.h>

#include "ctlproto.h"
#include "sysproxy.h"

#define ANSWER_MAX	(64 * 1024 * 1024)
#define FIELDS_MAX	64

#define USAGE \
"usage: ostpctl [-j] [-S socket] command [argument]\n" \
"commands:\n" \
"  status               version, uptime, generations, workers, listeners,\n" \
"                       outbounds and users with their counters\n" \
"  connections          the open client connections\n" \
"  reload               read the configuration again (as SIGHUP)\n" \
"  stop                 stop the daemon (as SIGTERM)\n" \
"  log-level LEVEL      error, info, verbose, debug, debug2 or debug3\n" \
"  sysproxy on [-w] URL point the desktop (GNOME, KDE) at the proxy:\n" \
"                       socks5://HOST:PORT, http://HOST:PORT or a PAC URL\n" \
"  sysproxy off         put the previous desktop settings back\n" \
"  sysproxy status      what the desktop is set to\n"

static int json;

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ostpctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

/* --- talking to the daemon --- */

static char *
ask(const char *path, const char *req, size_t *lenp)
{
	struct sockaddr_un sun;
	char *ans = NULL, *p;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		die("%s: control socket path too long", path);
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			die("ostpd is not running (no control socket at %s)",
			    path);
		if (errno == EACCES || errno == EPERM)
			die("permission denied: %s (the control socket is "
			    "root's; run ostpctl as root)", path);
		die("%s: %s", path, strerror(errno));
	}
	/*
	 * A refusal (a client that is not root) comes before the request
	 * is read: a failed send still leaves the answer to read.
	 */
	(void)!send(fd, req, strlen(req), MSG_NOSIGNAL);
	for (;;) {
		if (len + 4096 + 1 > cap) {
			if (cap >= ANSWER_MAX)
				die("the daemon's answer is too long");
			cap = cap ? cap * 2 : 65536;
			if ((p = realloc(ans, cap)) == NULL)
				die("out of memory");
			ans = p;
		}
		n = read(fd, ans + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == ECONNRESET && len > 0)
			break;
		if (n == -1)
			die("%s: %s", path, strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (ans == NULL)
		die("the daemon closed the control connection without an "
		    "answer");
	ans[len] = '\0';
	*lenp = len;
	return ans;
}

/* One answer line: its kind and fields, values unescaped in place. */
struct line {
	char	*kind;
	char	*key[FIELDS_MAX];
	char	*val[FIELDS_MAX];
	size_t	 n;
};

static int
line_split(char *s, struct line *l)
{
	char *tok, *save, *eq;

	memset(l, 0, sizeof(*l));
	if ((l->kind = strtok_r(s, " ", &save)) == NULL)
		return -1;
	while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
		if (l->n == FIELDS_MAX || (eq = strchr(tok, '=')) == NULL)
			return -1;
		*eq = '\0';
		if (ctl_unescape(eq + 1) != 0)
			return -1;
		l->key[l->n] = tok;
		l->val[l->n] = eq + 1;
		l->n++;
	}
	return 0;
}

static const char *
get(const struct line *l, const char *key)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->key[i], key) == 0)
			return l->val[i];
	return "-";
}

static unsigned long long
num(const struct line *l, const char *key)
{
	return strtoull(get(l, key), NULL, 10);
}

/* --- JSON (-j) --- */

static int
all_digits(const char *s)
{
	if (*s == '\0' || strlen(s) > 20)
		return 0;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static void
json_line(yajl_gen g, const struct line *l)
{
	size_t i;

	yajl_gen_map_open(g);
	for (i = 0; i < l->n; i++) {
		yajl_gen_string(g, (const unsigned char *)l->key[i],
		    strlen(l->key[i]));
		if (strcmp(l->val[i], "-") == 0)
			yajl_gen_null(g);
		else if (all_digits(l->val[i]))
			yajl_gen_number(g, l->val[i], strlen(l->val[i]));
		else
			yajl_gen_string(g, (const unsigned char *)l->val[i],
			    strlen(l->val[i]));
	}
	yajl_gen_map_close(g);
}

/*
 * The lines of an answer grouped by kind: "daemon" as an object, every
 * other kind as an array under its plural.
 */
static void
json_answer(struct line *ls, size_t n, int cmd)
{
	static const struct {
		const char	*kind;
		const char	*key;
		int		 single;
	} groups[] = {
		{ "daemon", "daemon", 1 },
		{ "generation", "generations", 0 },
		{ "worker", "workers", 0 },
		{ "listener", "listeners", 0 },
		{ "outbound", "outbounds", 0 },
		{ "user", "users", 0 },
		{ "conn", "connections", 0 },
	};
	const unsigned char *out;
	size_t i, j, olen;
	yajl_gen g;

	if ((g = yajl_gen_alloc(NULL)) == NULL)
		die("out of memory");
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_map_open(g);
	for (j = 0; j < sizeof(groups) / sizeof(groups[0]); j++) {
		int seen = 0;

		for (i = 0; i < n; i++) {
			if (strcmp(ls[i].kind, groups[j].kind) != 0)
				continue;
			if (!seen) {
				yajl_gen_string(g, (const unsigned char *)
				    groups[j].key, strlen(groups[j].key));
				if (!groups[j].single)
					yajl_gen_array_open(g);
				seen = 1;
			} else if (groups[j].single)
				continue;
			json_line(g, &ls[i]);
		}
		if (seen && !groups[j].single)
			yajl_gen_array_close(g);
		/* an empty list is an empty array, not a missing key */
		if (!seen && strcmp(groups[j].kind, "conn") == 0 &&
		    cmd == CTL_CMD_CONNECTIONS) {
			yajl_gen_string(g, (const unsigned char *)"connections",
			    11);
			yajl_gen_array_open(g);
			yajl_gen_array_close(g);
		}
	}
	yajl_gen_map_close(g);
	yajl_gen_get_buf(g, &out, &olen);
	fwrite(out, 1, olen, stdout);
	yajl_gen_free(g);
}

/* --- human output --- */

static const char *
human_bytes(unsigned long long v, char *b, size_t len)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)v;
	int i = 0;

	while (d >= 1024 && i < 4) {
		d /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(b, len, "%llu B", v);
	else
		snprintf(b, len, "%.1f %s", d, u[i]);
	return b;
}

static const char *
human_secs(unsigned long long s, char *b, size_t len)
{
	if (s >= 86400)
		snprintf(b, len, "%llud%02lluh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(b, len, "%lluh%02llum", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(b, len, "%llum%02llus", s / 60, s % 60);
	else
		snprintf(b, len, "%llus", s);
	return b;
}

static unsigned long long
dial_fails(const struct line *l)
{
	unsigned long long t = 0;
	char k[64];
	size_t i;

	for (i = 0; ctl_dial_reasons[i] != NULL; i++) {
		snprintf(k, sizeof(k), "dial_fail_%s", ctl_dial_reasons[i]);
		t += num(l, k);
	}
	return t;
}

static void
human_status(struct line *ls, size_t n)
{
	char a[32], b[32], c[32];
	size_t i;
	int hdr;

	for (i = 0; i < n; i++) {
		if (strcmp(ls[i].kind, "daemon") != 0)
			continue;
		printf("ostpd %s, pid %s, up %s, log level %s\n",
		    get(&ls[i], "version"), get(&ls[i], "pid"),
		    human_secs(num(&ls[i], "uptime"), a, sizeof(a)),
		    get(&ls[i], "log_level"));
		printf("configuration %s, control socket %s, metrics %s\n",
		    get(&ls[i], "config"), get(&ls[i], "control"),
		    get(&ls[i], "metrics"));
		printf("DNS cache: %s hits, %s misses\n",
		    get(&ls[i], "dns_hits"), get(&ls[i], "dns_misses"));
	}
	for (i = 0; i < n; i++)
		if (strcmp(ls[i].kind, "generation") == 0)
			printf("generation %s: %s, %s workers, %s listeners\n",
			    get(&ls[i], "num"), get(&ls[i], "state"),
			    get(&ls[i], "workers"), get(&ls[i], "listeners"));
	for (i = 0, hdr = 0; i < n; i++) {
		if (strcmp(ls[i].kind, "worker") != 0)
			continue;
		if (!hdr++)
			printf("\n%-6s %-4s %-8s %-9s %8s %7s %9s %11s %11s\n",
			    "WORKER", "GEN", "PID", "STATE", "UPTIME",
			    "ACTIVE", "ACCEPTED", "IN", "OUT");
		printf("%-6s %-4s %-8s %-9s %8s %7s %9s %11s %11s\n",
		    get(&ls[i], "id"), get(&ls[i], "gen"), get(&ls[i], "pid"),
		    get(&ls[i], "state"),
		    human_secs(num(&ls[i], "uptime"), a, sizeof(a)),
		    get(&ls[i], "active"), get(&ls[i], "accepted"),
		    human_bytes(num(&ls[i], "in"), b, sizeof(b)),
		    human_bytes(num(&ls[i], "out"), c, sizeof(c)));
	}
	for (i = 0, hdr = 0; i < n; i++) {
		if (strcmp(ls[i].kind, "listener") != 0)
			continue;
		if (!hdr++)
			printf("\n%-12s %-8s %-22s %7s %6s %11s %11s %7s "
			    "%9s %7s %5s\n", "LISTENER", "PROTO", "ADDRESS",
			    "CONNS", "ACTIVE", "IN", "OUT", "HSFAIL",
			    "DIALFAIL", "SPLICE", "COPY");
		printf("%-12s %-8s %-22s %7s %6s %11s %11s %7s %9llu %7s %5s\n",
		    get(&ls[i], "name"), get(&ls[i], "proto"),
		    get(&ls[i], "addr"), get(&ls[i], "conns"),
		    get(&ls[i], "active"),
		    human_bytes(num(&ls[i], "in"), b, sizeof(b)),
		    human_bytes(num(&ls[i], "out"), c, sizeof(c)),
		    get(&ls[i], "hs_fail"), dial_fails(&ls[i]),
		    get(&ls[i], "splice"), get(&ls[i], "copy"));
	}
	for (i = 0, hdr = 0; i < n; i++) {
		if (strcmp(ls[i].kind, "outbound") != 0)
			continue;
		if (!hdr++)
			printf("\n%-12s %7s %6s %11s %11s %7s %9s\n",
			    "OUTBOUND", "CONNS", "ACTIVE", "IN", "OUT",
			    "DIALOK", "DIALFAIL");
		printf("%-12s %7s %6s %11s %11s %7s %9llu\n",
		    get(&ls[i], "name"), get(&ls[i], "conns"),
		    get(&ls[i], "active"),
		    human_bytes(num(&ls[i], "in"), b, sizeof(b)),
		    human_bytes(num(&ls[i], "out"), c, sizeof(c)),
		    get(&ls[i], "dial_ok"), dial_fails(&ls[i]));
	}
	for (i = 0, hdr = 0; i < n; i++) {
		if (strcmp(ls[i].kind, "user") != 0)
			continue;
		if (!hdr++)
			printf("\n%-20s %7s %6s %11s %11s\n", "USER", "CONNS",
			    "ACTIVE", "IN", "OUT");
		printf("%-20s %7s %6s %11s %11s\n", get(&ls[i], "name"),
		    get(&ls[i], "conns"), get(&ls[i], "active"),
		    human_bytes(num(&ls[i], "in"), b, sizeof(b)),
		    human_bytes(num(&ls[i], "out"), c, sizeof(c)));
	}
}

static void
human_conns(struct line *ls, size_t n)
{
	char a[32], b[32], c[32];
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (strcmp(ls[i].kind, "conn") != 0)
			continue;
		if (k++ == 0)
			printf("%-22s %-12s %-30s %-8s %-10s %-6s %11s %11s "
			    "%7s\n", "CLIENT", "USER", "TARGET", "ROUTE",
			    "OUTBOUND", "MODE", "IN", "OUT", "AGE");
		printf("%-22s %-12s %-30s %-8s %-10s %-6s %11s %11s %7s\n",
		    get(&ls[i], "client"), get(&ls[i], "user"),
		    get(&ls[i], "target"), get(&ls[i], "route"),
		    get(&ls[i], "outbound"), get(&ls[i], "mode"),
		    human_bytes(num(&ls[i], "in"), b, sizeof(b)),
		    human_bytes(num(&ls[i], "out"), c, sizeof(c)),
		    human_secs(num(&ls[i], "age_ms") / 1000, a, sizeof(a)));
	}
	if (k == 0)
		printf("no open connections\n");
}

static int
control(const char *path, const char *cmd, const char *arg)
{
	char req[CTL_REQ_MAX], *ans, *s, *save, *line;
	struct line *ls = NULL, *nl;
	size_t len, n = 0;
	int c, lv;

	if (arg != NULL)
		snprintf(req, sizeof(req), "%s %s\n", cmd, arg);
	else
		snprintf(req, sizeof(req), "%s\n", cmd);
	/* checked here too, for a clear message before connecting */
	if (ctl_req_parse(req, strlen(req) - 1, &c, &lv) != 0) {
		if (strcmp(cmd, "log-level") == 0)
			die("log-level: give one of error, info, verbose, "
			    "debug, debug2, debug3");
		die("unknown command \"%s\"\n%s", cmd, USAGE);
	}
	ans = ask(path, req, &len);
	if (memchr(ans, '\0', len) != NULL)
		die("malformed answer from the daemon");
	if ((s = strchr(ans, '\n')) == NULL)
		die("malformed answer from the daemon");
	*s++ = '\0';
	if (strncmp(ans, "error ", 6) == 0) {
		if (strcmp(ans + 6, "permission denied") == 0)
			die("permission denied: %s (the control socket is "
			    "root's; run ostpctl as root)", path);
		die("%s", ans + 6);
	}
	if (strcmp(ans, "ok") != 0)
		die("malformed answer from the daemon");
	for (line = strtok_r(s, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((nl = reallocarray(ls, n + 1, sizeof(*ls))) == NULL)
			die("out of memory");
		ls = nl;
		if (line_split(line, &ls[n]) != 0)
			die("malformed answer from the daemon");
		n++;
	}
	if (json)
		json_answer(ls, n, c);
	else if (c == CTL_CMD_STATUS)
		human_status(ls, n);
	else if (c == CTL_CMD_CONNECTIONS)
		human_conns(ls, n);
	else if (c == CTL_CMD_RELOAD && n > 0)
		printf("reloaded: generation %s\n", get(&ls[0], "num"));
	else if (c == CTL_CMD_STOP)
		printf("stopping\n");
	else if (c == CTL_CMD_LOGLEVEL)
		printf("log level %s\n", arg);
	free(ls);
	free(ans);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = CTL_SOCK_DEFAULT;
	int ch;

	while ((ch = getopt(argc, argv, "+hjS:")) != -1) {
		switch (ch) {
		case 'h':
			printf("%s", USAGE);
			return 0;
		case 'j':
			json = 1;
			break;
		case 'S':
			path = optarg;
			break;
		default:
			fprintf(stderr, "%s", USAGE);
			return 1;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		fprintf(stderr, "%s", USAGE);
		return 1;
	}
	if (strcmp(argv[0], "sysproxy") == 0)
		return sysproxy_main(argc, argv, json);
	if (strcmp(argv[0], "log-level") == 0) {
		if (argc != 2)
			die("log-level: give one of error, info, verbose, "
			    "debug, debug2, debug3");
		return control(path, argv[0], argv[1]);
	}
	if (argc != 1)
		die("%s takes no argument", argv[0]);
	return control(path, argv[0], NULL);
}
