/*
 * ostp-keygen: makes an OSTP access key (or takes one with -k) and
 * prints what a server and a client need: the server's command line
 * and native JSON inbound, the client's command line, and the share
 * link of spec ostp.md 4.1.  No configuration is read or written.
 *
 * The key travels inside URLs, JSON and shell lines: in URLs it is
 * percent-encoded (the node parser decodes the userinfo), in JSON it is
 * escaped, so any printable key is carried as it is.
 */
#include "config.h"

#include <sys/random.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY_RANDOM	16		/* bytes: 32 hex characters */
#define KEY_MAX		512
#define TEXT_MAX	1024		/* -s, -w, -n */
#define PORT_DEFAULT	50000
#define HOST_PLACEHOLDER "SERVER-ADDRESS"
#define USAGE		"usage: ostp-keygen [-qT] [-H host] [-k key] " \
			"[-n name] [-p port] [-s sni] [-t udp|uot] [-w path]"

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ostp-keygen: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static void
make_key(char out[2 * KEY_RANDOM + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[KEY_RANDOM];
	size_t got = 0;
	ssize_t n;
	int i;

	while (got < sizeof(raw)) {
		n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			usage_err("getrandom: %s", strerror(errno));
		}
		got += (size_t)n;
	}
	for (i = 0; i < KEY_RANDOM; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 0xf];
	}
	out[2 * KEY_RANDOM] = '\0';
	explicit_bzero(raw, sizeof(raw));
}

/* Printable ASCII (space included). */
static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/* No control characters (UTF-8 bytes are fine: a name, say). */
static int
no_controls(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 0;
	return 1;
}

/* RFC 3986 percent-encoding: everything but the unreserved characters. */
static void
put_pct(FILE *f, const char *s)
{
	unsigned char c;

	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			fputc(c, f);
		else
			fprintf(f, "%%%02X", c);
	}
}

/* A JSON string's contents. */
static void
put_json(FILE *f, const char *s)
{
	unsigned char c;

	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
}

struct link {
	const char	*key;
	const char	*host;		/* without brackets */
	int		 v6;
	unsigned int	 port;
	int		 uot;
	int		 tls;
	const char	*sni;
	const char	*path;
	const char	*name;
};

/* ostp://KEY@HOST:PORT?type=...&tls=1&sni=...&path=...[&name=...] */
static void
put_link(FILE *f, const struct link *l, int with_name)
{
	fputs("ostp://", f);
	put_pct(f, l->key);
	fprintf(f, "@%s%s%s:%u?type=%s", l->v6 ? "[" : "", l->host,
	    l->v6 ? "]" : "", l->port, l->uot ? "uot" : "udp");
	if (l->tls)
		fputs("&tls=1", f);
	if (l->sni != NULL) {
		fputs("&sni=", f);
		put_pct(f, l->sni);
	}
	if (l->path != NULL) {
		fputs("&path=", f);
		put_pct(f, l->path);
	}
	if (with_name && l->name != NULL) {
		fputs("&name=", f);
		put_pct(f, l->name);
	}
}

/*
 * -H: a name or an address, IPv6 with or without brackets; a port is
 * -p's.  Returns the host without brackets.
 */
static char *
check_host(char *h, int *v6)
{
	struct in6_addr a6;
	size_t n = strlen(h);

	*v6 = 0;
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		h[n - 1] = '\0';
		h++;
		if (inet_pton(AF_INET6, h, &a6) != 1)
			usage_err("-H: bad IPv6 address: %s", h);
		*v6 = 1;
		return h;
	}
	if (strchr(h, ':') != NULL) {
		if (inet_pton(AF_INET6, h, &a6) != 1)
			usage_err("-H: bad host \"%s\" (give the port with -p)",
			    h);
		*v6 = 1;
		return h;
	}
	if (n == 0 || n > 253 || strspn(h, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") != n)
		usage_err("-H: bad host \"%s\"", h);
	return h;
}

static const char *
check_text(int opt, const char *s, size_t max)
{
	if (*s == '\0')
		usage_err("-%c: empty", opt);
	if (strlen(s) > max)
		usage_err("-%c: longer than %zu bytes", opt, max);
	if (!no_controls(s))
		usage_err("-%c: control characters", opt);
	return s;
}

int
main(int argc, char *argv[])
{
	char keybuf[2 * KEY_RANDOM + 1], *host = NULL, *end;
	const char *type = NULL;
	struct link l;
	unsigned long port;
	int ch, quiet = 0;

	memset(&l, 0, sizeof(l));
	l.port = PORT_DEFAULT;
	opterr = 0;
	while ((ch = getopt(argc, argv, ":H:k:n:p:qs:t:Tw:")) != -1) {
		switch (ch) {
		case 'H':
			host = optarg;
			break;
		case 'k':
			l.key = optarg;
			if (*l.key == '\0')
				usage_err("-k: empty key");
			if (strlen(l.key) > KEY_MAX)
				usage_err("-k: key longer than %d bytes",
				    KEY_MAX);
			if (!printable(l.key))
				usage_err("-k: the key must be printable "
				    "ASCII");
			if (strchr(l.key, '@') != NULL)
				usage_err("-k: the key may not contain '@'");
			break;
		case 'n':
			l.name = check_text('n', optarg, TEXT_MAX);
			break;
		case 'p':
			errno = 0;
			port = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' ||
			    *end != '\0' || errno != 0 || port < 1 ||
			    port > 65535)
				usage_err("-p: bad port \"%s\"", optarg);
			l.port = (unsigned int)port;
			break;
		case 'q':
			quiet = 1;
			break;
		case 's':
			l.sni = check_text('s', optarg, 253);
			if (strpbrk(l.sni, " /@?#") != NULL)
				usage_err("-s: bad server name \"%s\"",
				    l.sni);
			break;
		case 't':
			type = optarg;
			if (strcmp(type, "udp") != 0 &&
			    strcmp(type, "uot") != 0)
				usage_err("-t: \"%s\": use udp or uot", type);
			break;
		case 'T':
			l.tls = 1;
			break;
		case 'w':
			l.path = check_text('w', optarg, TEXT_MAX);
			if (l.path[0] != '/')
				usage_err("-w: the path must start with '/'");
			break;
		case ':':
			usage_err("-%c needs a value; %s", optopt, USAGE);
		default:
			usage_err("unknown option -%c; %s", optopt, USAGE);
		}
	}
	if (optind != argc)
		usage_err("unexpected argument \"%s\"; %s", argv[optind],
		    USAGE);
	/* spec 4.1: tls and path ride on UDP-over-TCP */
	if ((l.tls || l.path != NULL) && type != NULL &&
	    strcmp(type, "udp") == 0)
		usage_err("-%c needs -t uot", l.tls ? 'T' : 'w');
	l.uot = (type != NULL && strcmp(type, "uot") == 0) || l.tls ||
	    l.path != NULL;
	if (l.sni != NULL && !l.tls)
		usage_err("-s needs -T");
	if (l.key == NULL) {
		make_key(keybuf);
		l.key = keybuf;
	}
	if (quiet) {
		printf("%s\n", l.key);
		explicit_bzero(keybuf, sizeof(keybuf));
		return 0;
	}
	l.host = host != NULL ? check_host(host, &l.v6) : HOST_PLACEHOLDER;

	printf("# access key\n%s\n\n", l.key);
	printf("# server: command line\nostpd -L ostp://");
	put_pct(stdout, l.key);
	printf("@:%u\n", l.port);
	printf("# server: native JSON inbound\n"
	    "{\"type\": \"ostp\", \"listen\": \":%u\", \"access_keys\": [\"",
	    l.port);
	put_json(stdout, l.key);
	printf("\"]}\n\n");
	if (host == NULL)
		printf("# no -H: replace %s with the server's address\n",
		    HOST_PLACEHOLDER);
	printf("# client: command line\n"
	    "ostpd -L auto://127.0.0.1:1088 -F '");
	put_link(stdout, &l, 0);
	printf("'\n\n# share link\n");
	put_link(stdout, &l, 1);
	printf("\n");
	explicit_bzero(keybuf, sizeof(keybuf));
	if (fflush(stdout) != 0 || ferror(stdout))
		usage_err("stdout: %s", strerror(errno));
	return 0;
}
