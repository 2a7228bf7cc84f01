/*
 * ostpctl sysproxy on|off|status, run as the desktop user: GNOME's
 * proxy settings (org.gnome.system.proxy, through gsettings, whatever
 * backend the session uses) and KDE's (the [Proxy Settings] group of
 * ~/.config/kioslaverc, through kwriteconfig5 when it is installed,
 * else edited here) are pointed at a local proxy, after the values they
 * had are saved in $XDG_STATE_HOME/ostpctl/sysproxy (mode 0600).  "off"
 * puts those values back and removes the file.  "on -w" stays in the
 * foreground and puts them back itself when the proxy stops answering
 * (the daemon stopped) or when it is interrupted: the daemon runs as
 * root and has no way into the user's session to do it.
 *
 * Nothing here runs with privileges; the programs run are the user's
 * own gsettings and kwriteconfig5, with fixed arguments.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netdb.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysproxy.h"

#define VAL_MAX		1024
#define KDE_GROUP	"Proxy Settings"
#define WATCH_SECS	2
#define WATCH_FAILS	3

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ostpctl: sysproxy: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

/* What "on" was given. */
struct target {
	enum { T_SOCKS, T_HTTP, T_PAC } type;
	char	host[256];
	char	port[8];
	char	url[VAL_MAX];		/* PAC */
};

/* --- running gsettings and kwriteconfig5 --- */

/*
 * argv run with stdin and stderr at /dev/null, its stdout (trimmed)
 * in out when out is not NULL.  The exit status, or -1.
 */
static int
run(char *const argv[], char *out, size_t outlen)
{
	int p[2], st, fd;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	switch ((pid = fork())) {
	case -1:
		close(p[0]);
		close(p[1]);
		return -1;
	case 0:
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, 0);
			dup2(fd, 2);
		}
		dup2(p[1], 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		char sink[256];

		if (out != NULL && len + 1 < outlen)
			n = read(p[0], out + len, outlen - len - 1);
		else
			n = read(p[0], sink, sizeof(sink));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out != NULL && len + 1 < outlen)
			len += (size_t)n;
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	if (out != NULL) {
		out[len] = '\0';
		while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
			out[--len] = '\0';
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
have_gnome(void)
{
	char *const argv[] = { "gsettings", "list-keys",
	    "org.gnome.system.proxy", NULL };

	return run(argv, NULL, 0) == 0;
}

static int
gs_get(const char *schema, const char *key, char *out, size_t outlen)
{
	char *const argv[] = { "gsettings", "get", (char *)schema,
	    (char *)key, NULL };

	return run(argv, out, outlen) == 0 ? 0 : -1;
}

static int
gs_set(const char *schema, const char *key, const char *val)
{
	char *const argv[] = { "gsettings", "set", (char *)schema,
	    (char *)key, (char *)val, NULL };

	return run(argv, NULL, 0) == 0 ? 0 : -1;
}

/* A GVariant string literal: quoted, quotes and backslashes escaped. */
static void
gv_str(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen < 3)
		return;
	out[o++] = '\'';
	for (; *s != '\0' && o + 3 < outlen; s++) {
		if (*s == '\'' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o++] = '\'';
	out[o] = '\0';
}

static const char *const gnome_keys[][2] = {
	{ "org.gnome.system.proxy", "mode" },
	{ "org.gnome.system.proxy", "autoconfig-url" },
	{ "org.gnome.system.proxy.socks", "host" },
	{ "org.gnome.system.proxy.socks", "port" },
	{ "org.gnome.system.proxy.http", "host" },
	{ "org.gnome.system.proxy.http", "port" },
	{ "org.gnome.system.proxy.https", "host" },
	{ "org.gnome.system.proxy.https", "port" },
};
#define NGNOME	(sizeof(gnome_keys) / sizeof(gnome_keys[0]))

static int
gnome_apply(const struct target *t)
{
	char host[600], url[3 * VAL_MAX];
	int r = 0;

	gv_str(t->host, host, sizeof(host));
	if (t->type == T_PAC) {
		gv_str(t->url, url, sizeof(url));
		r |= gs_set("org.gnome.system.proxy", "autoconfig-url", url);
		return r | gs_set("org.gnome.system.proxy", "mode", "'auto'");
	}
	if (t->type == T_SOCKS) {
		r |= gs_set("org.gnome.system.proxy.socks", "host", host);
		r |= gs_set("org.gnome.system.proxy.socks", "port", t->port);
		r |= gs_set("org.gnome.system.proxy.http", "host", "''");
		r |= gs_set("org.gnome.system.proxy.https", "host", "''");
	} else {
		r |= gs_set("org.gnome.system.proxy.http", "host", host);
		r |= gs_set("org.gnome.system.proxy.http", "port", t->port);
		r |= gs_set("org.gnome.system.proxy.https", "host", host);
		r |= gs_set("org.gnome.system.proxy.https", "port", t->port);
		r |= gs_set("org.gnome.system.proxy.socks", "host", "''");
	}
	return r | gs_set("org.gnome.system.proxy", "mode", "'manual'");
}

/* --- kioslaverc --- */

static int
have_kwrite(void)
{
	char *const argv[] = { "kwriteconfig5", "--help", NULL };
	static int have = -1;

	if (have == -1)
		have = run(argv, NULL, 0) == 0;
	return have;
}

static void
config_home(char *out, size_t len)
{
	const char *x = getenv("XDG_CONFIG_HOME"), *h = getenv("HOME");

	if (x != NULL && x[0] == '/')
		snprintf(out, len, "%s", x);
	else if (h != NULL && h[0] == '/')
		snprintf(out, len, "%s/.config", h);
	else
		die("HOME is not set");
}

static void
kde_path(char *out, size_t len)
{
	char d[1024];

	config_home(d, sizeof(d));
	snprintf(out, len, "%s/kioslaverc", d);
}

static int
have_kde(void)
{
	const char *d = getenv("XDG_CURRENT_DESKTOP");
	char p[1100];

	kde_path(p, sizeof(p));
	return access(p, F_OK) == 0 || (d != NULL && strstr(d, "KDE")) ||
	    have_kwrite();
}

/* The whole file, or an empty one; NULL only when it cannot be read. */
static char *
slurp(const char *path)
{
	FILE *f;
	char *s;
	long n;

	if ((f = fopen(path, "re")) == NULL)
		return errno == ENOENT ? strdup("") : NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    n > 1024 * 1024 || fseek(f, 0, SEEK_SET) != 0 ||
	    (s = malloc((size_t)n + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	if (fread(s, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(s);
		return NULL;
	}
	s[n] = '\0';
	fclose(f);
	return s;
}

/* A key of [Proxy Settings]: 0 and its value, or -1 when absent. */
static int
kde_get(const char *key, char *out, size_t outlen)
{
	char path[1100], *text, *line, *save, *eq;
	int in = 0, r = -1;
	size_t kl = strlen(key);

	if (have_kwrite()) {
		char *const argv[] = { "kreadconfig5", "--file", "kioslaverc",
		    "--group", KDE_GROUP, "--key", (char *)key, NULL };

		/* kreadconfig5 cannot tell empty from absent: "" is absent */
		if (run(argv, out, outlen) != 0 || out[0] == '\0')
			return -1;
		return 0;
	}
	kde_path(path, sizeof(path));
	if ((text = slurp(path)) == NULL)
		return -1;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '[') {
			in = strcmp(line, "[" KDE_GROUP "]") == 0;
			continue;
		}
		if (in && strncmp(line, key, kl) == 0 &&
		    (eq = line + kl)[0] == '=') {
			snprintf(out, outlen, "%s", eq + 1);
			r = 0;
		}
	}
	free(text);
	return r;
}

/* Set (val) or remove (val NULL) a key of [Proxy Settings]. */
static int
kde_set(const char *key, const char *val)
{
	char path[1100], tmp[1200], *text, *line, *next;
	size_t kl = strlen(key), blanks = 0;
	int in = 0, done = 0, seen_group = 0, fd;
	FILE *f;

	if (have_kwrite()) {
		char *const set[] = { "kwriteconfig5", "--file", "kioslaverc",
		    "--group", KDE_GROUP, "--key", (char *)key,
		    (char *)(val != NULL ? val : ""), NULL };
		char *const del[] = { "kwriteconfig5", "--file", "kioslaverc",
		    "--group", KDE_GROUP, "--key", (char *)key, "--delete",
		    NULL };

		return run(val != NULL ? set : del, NULL, 0) == 0 ? 0 : -1;
	}
	kde_path(path, sizeof(path));
	if ((text = slurp(path)) == NULL)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.ostpctl", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		if (fd != -1)
			close(fd);
		free(text);
		return -1;
	}
	for (line = text; *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		/* blank lines wait: a key added goes before them */
		if (line[0] == '\0') {
			blanks++;
			continue;
		}
		if (line[0] == '[') {
			/* leaving our group: the key goes at its end */
			if (in && !done && val != NULL) {
				fprintf(f, "%s=%s\n", key, val);
				done = 1;
			}
			in = strcmp(line, "[" KDE_GROUP "]") == 0;
			seen_group |= in;
		} else if (in && strncmp(line, key, kl) == 0 &&
		    line[kl] == '=') {
			if (val != NULL && !done)
				fprintf(f, "%s=%s\n", key, val);
			done = 1;
			continue;
		}
		for (; blanks > 0; blanks--)
			fputc('\n', f);
		fprintf(f, "%s\n", line);
	}
	if (!done && val != NULL) {
		if (!seen_group)
			fprintf(f, "%s[%s]\n", blanks > 0 || ftell(f) == 0 ?
			    "" : "\n", KDE_GROUP);
		fprintf(f, "%s=%s\n", key, val);
	}
	for (; blanks > 0; blanks--)
		fputc('\n', f);
	free(text);
	if (fclose(f) != 0 || rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static const char *const kde_keys[] = { "ProxyType", "socksProxy",
	"httpProxy", "httpsProxy", "Proxy Config Script" };
#define NKDE	(sizeof(kde_keys) / sizeof(kde_keys[0]))

static int
kde_apply(const struct target *t)
{
	char v[VAL_MAX + 16];
	int r = 0;

	/* KDE's own form: scheme://host port */
	switch (t->type) {
	case T_PAC:
		r |= kde_set("Proxy Config Script", t->url);
		return r | kde_set("ProxyType", "2");
	case T_SOCKS:
		snprintf(v, sizeof(v), "socks://%s %s", t->host, t->port);
		r |= kde_set("socksProxy", v);
		r |= kde_set("httpProxy", NULL);
		r |= kde_set("httpsProxy", NULL);
		break;
	case T_HTTP:
		snprintf(v, sizeof(v), "http://%s %s", t->host, t->port);
		r |= kde_set("httpProxy", v);
		r |= kde_set("httpsProxy", v);
		r |= kde_set("socksProxy", NULL);
		break;
	}
	return r | kde_set("ProxyType", "1");
}

/* --- the saved values --- */

static void
state_path(char *out, size_t len, int mkdirs)
{
	const char *x = getenv("XDG_STATE_HOME"), *h = getenv("HOME");
	char d[1024];

	if (x != NULL && x[0] == '/')
		snprintf(d, sizeof(d), "%s", x);
	else if (h != NULL && h[0] == '/')
		snprintf(d, sizeof(d), "%s/.local/state", h);
	else
		die("HOME is not set");
	if (mkdirs) {
		char p[1100], *s;

		/* each missing level, as mkdir -p */
		snprintf(p, sizeof(p), "%s/ostpctl", d);
		for (s = p + 1; (s = strchr(s, '/')) != NULL; s++) {
			*s = '\0';
			(void)mkdir(p, 0700);
			*s = '/';
		}
		if (mkdir(p, 0700) == -1 && errno != EEXIST)
			die("%s: %s", p, strerror(errno));
	}
	snprintf(out, len, "%s/ostpctl/sysproxy", d);
}

/*
 * Lines "gnome SCHEMA KEY VALUE" (the value as gsettings prints it and
 * takes it back), "kde KEY=VALUE" or "kde-absent KEY".
 */
static void
state_save(int gnome, int kde)
{
	char path[1100], tmp[1200], v[VAL_MAX];
	size_t i;
	FILE *f;
	int fd;

	state_path(path, sizeof(path), 1);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || (f = fdopen(fd, "w")) == NULL)
		die("%s: %s", tmp, strerror(errno));
	for (i = 0; gnome && i < NGNOME; i++) {
		if (gs_get(gnome_keys[i][0], gnome_keys[i][1], v,
		    sizeof(v)) != 0)
			die("gsettings get %s %s failed", gnome_keys[i][0],
			    gnome_keys[i][1]);
		fprintf(f, "gnome %s %s %s\n", gnome_keys[i][0],
		    gnome_keys[i][1], v);
	}
	for (i = 0; kde && i < NKDE; i++) {
		if (kde_get(kde_keys[i], v, sizeof(v)) == 0)
			fprintf(f, "kde %s=%s\n", kde_keys[i], v);
		else
			fprintf(f, "kde-absent %s\n", kde_keys[i]);
	}
	if (fclose(f) != 0 || rename(tmp, path) == -1)
		die("%s: %s", path, strerror(errno));
}

static int
state_restore(void)
{
	char path[1100], *text, *line, *save, *a, *b, *eq;
	int r = 0;

	state_path(path, sizeof(path), 0);
	if (access(path, F_OK) == -1) {
		fprintf(stderr, "ostpctl: sysproxy: nothing to restore (%s "
		    "does not exist: sysproxy is not on)\n", path);
		return 1;
	}
	if ((text = slurp(path)) == NULL)
		die("%s: %s", path, strerror(errno));
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "gnome ", 6) == 0) {
			a = line + 6;
			if ((b = strchr(a, ' ')) == NULL ||
			    (eq = strchr(b + 1, ' ')) == NULL)
				continue;
			*b++ = '\0';
			*eq++ = '\0';
			if (gs_set(a, b, eq) != 0) {
				fprintf(stderr, "ostpctl: sysproxy: gsettings "
				    "set %s %s %s failed\n", a, b, eq);
				r = 1;
			}
		} else if (strncmp(line, "kde ", 4) == 0) {
			a = line + 4;
			if ((eq = strchr(a, '=')) == NULL)
				continue;
			*eq++ = '\0';
			r |= kde_set(a, eq) != 0;
		} else if (strncmp(line, "kde-absent ", 11) == 0)
			r |= kde_set(line + 11, NULL) != 0;
	}
	free(text);
	if (r == 0)
		unlink(path);
	else
		fprintf(stderr, "ostpctl: sysproxy: some settings could not "
		    "be put back; %s is kept\n", path);
	return r;
}

/* --- on, off, status --- */

static void
target_parse(const char *arg, struct target *t)
{
	const char *p = arg, *hs, *he, *ps, *pe;

	memset(t, 0, sizeof(*t));
	if (strncmp(p, "socks5://", 9) == 0 || strncmp(p, "socks://", 8) == 0) {
		t->type = T_SOCKS;
		p = strstr(p, "://") + 3;
	} else if (strncmp(p, "http://", 7) == 0) {
		t->type = T_HTTP;
		p += 7;
	} else
		die("%s: give socks5://HOST:PORT, http://HOST:PORT or the URL "
		    "of a PAC file (http://HOST:PORT/proxy.pac)", arg);
	if (*p == '[') {
		hs = p + 1;
		if ((he = strchr(hs, ']')) == NULL || he[1] != ':')
			die("%s: bad address", arg);
		ps = he + 2;
	} else {
		hs = p;
		if ((he = strchr(hs, ':')) == NULL)
			die("%s: the port is missing", arg);
		ps = he + 1;
	}
	for (pe = ps; *pe >= '0' && *pe <= '9'; pe++)
		;
	if (he == hs || (size_t)(he - hs) >= sizeof(t->host) || pe == ps ||
	    pe - ps > 5 || strtoul(ps, NULL, 10) > 65535 ||
	    strtoul(ps, NULL, 10) == 0 || (*pe != '\0' && *pe != '/'))
		die("%s: bad address", arg);
	memcpy(t->host, hs, (size_t)(he - hs));
	memcpy(t->port, ps, (size_t)(pe - ps));
	/* a path other than "/" names a PAC file */
	if (*pe == '/' && pe[1] != '\0') {
		if (t->type != T_HTTP || strlen(arg) >= sizeof(t->url))
			die("%s: a PAC file is given by an http:// URL", arg);
		t->type = T_PAC;
		snprintf(t->url, sizeof(t->url), "%s", arg);
	}
}

static int
proxy_alive(const struct target *t)
{
	struct addrinfo hints, *res, *ai;
	int fd, ok = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(t->host, t->port, &hints, &res) != 0)
		return 0;
	for (ai = res; ai != NULL && !ok; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    0)) == -1)
			continue;
		ok = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
		close(fd);
	}
	freeaddrinfo(res);
	return ok;
}

static volatile sig_atomic_t stop_watch;

static void
on_signal(int sig)
{
	(void)sig;
	stop_watch = 1;
}

/* on -w: until the proxy stops answering, or a signal; then off. */
static int
watch(const struct target *t)
{
	struct sigaction sa;
	int fails = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	printf("watching %s:%s; the settings go back when it stops "
	    "answering\n", t->host, t->port);
	fflush(stdout);
	while (!stop_watch) {
		fails = proxy_alive(t) ? 0 : fails + 1;
		if (fails >= WATCH_FAILS) {
			printf("the proxy at %s:%s stopped answering\n",
			    t->host, t->port);
			break;
		}
		sleep(WATCH_SECS);
	}
	return state_restore();
}

static int
sysproxy_on(int argc, char **argv)
{
	struct target t;
	char path[1100];
	int gnome, kde, wflag = 0, r = 0, i;

	for (i = 2; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-w") == 0)
			wflag = 1;
		else
			die("unknown option %s", argv[i]);
	}
	if (i != argc - 1)
		die("on takes one URL: socks5://HOST:PORT, http://HOST:PORT "
		    "or a PAC file's http://HOST:PORT/PATH");
	target_parse(argv[i], &t);
	gnome = have_gnome();
	kde = have_kde();
	if (!gnome && !kde)
		die("no desktop proxy settings found (GNOME's schema "
		    "org.gnome.system.proxy, KDE's kioslaverc)");
	/* a second "on" keeps the values saved by the first */
	state_path(path, sizeof(path), 1);
	if (access(path, F_OK) == -1)
		state_save(gnome, kde);
	if (gnome && gnome_apply(&t) != 0) {
		fprintf(stderr, "ostpctl: sysproxy: GNOME settings could not "
		    "all be set\n");
		r = 1;
	}
	if (kde && kde_apply(&t) != 0) {
		fprintf(stderr, "ostpctl: sysproxy: KDE settings could not "
		    "all be set\n");
		r = 1;
	}
	printf("desktop proxy (%s%s%s) set to %s; 'ostpctl sysproxy off' "
	    "puts the previous settings back\n", gnome ? "GNOME" : "",
	    gnome && kde ? ", " : "", kde ? "KDE" : "", argv[i]);
	if (wflag && r == 0)
		return watch(&t);
	return r;
}

static int
sysproxy_status(void)
{
	char v[VAL_MAX], path[1100];
	size_t i;

	if (have_gnome())
		for (i = 0; i < NGNOME; i++)
			if (gs_get(gnome_keys[i][0], gnome_keys[i][1], v,
			    sizeof(v)) == 0)
				printf("gnome %s %s %s\n", gnome_keys[i][0],
				    gnome_keys[i][1], v);
	if (have_kde())
		for (i = 0; i < NKDE; i++)
			if (kde_get(kde_keys[i], v, sizeof(v)) == 0)
				printf("kde %s=%s\n", kde_keys[i], v);
	state_path(path, sizeof(path), 0);
	printf("saved: %s\n", access(path, F_OK) == 0 ? path : "none");
	return 0;
}

int
sysproxy_main(int argc, char **argv, int json)
{
	(void)json;
	if (geteuid() == 0 && getenv("SUDO_USER") != NULL)
		fprintf(stderr, "ostpctl: sysproxy: note: run as root, this "
		    "changes root's settings, not %s's\n", getenv("SUDO_USER"));
	if (argc >= 2 && strcmp(argv[1], "on") == 0)
		return sysproxy_on(argc, argv);
	if (argc == 2 && strcmp(argv[1], "off") == 0)
		return state_restore();
	if (argc == 2 && strcmp(argv[1], "status") == 0)
		return sysproxy_status();
	die("give on [-w] URL, off or status");
}
