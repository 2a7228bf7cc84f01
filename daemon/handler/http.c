/*
 * HTTP on proxy listeners: the request head, authentication and probe
 * resistance, and the proxy's error answers.  CONNECT and plain
 * requests both end in proxy.c; kept-alive exchanges in httpfwd.c.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "conf.h"
#include "err.h"
#include "log.h"
#include "proto/proto.h"
#include "core/conn.h"
#include "core/stats.h"
#include "core/dial.h"
#include "core/relay.h"
#include "handler/proxy.h"
#include "handler/proxy_int.h"


/* An HTTP error reply into resp; its length, 0 if it did not fit. */
size_t
http_error_fmt(struct pconn *pc, char *resp, size_t size, int code,
    const char *reason, const char *extra)
{
	const char *agent = pc->px->l->proxy_agent ? pc->px->l->proxy_agent :
	    "ostpd/" PACKAGE_VERSION;
	int n;

	n = snprintf(resp, size, "HTTP/1.1 %d %s\r\n"
	    "Proxy-Agent: %s\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n",
	    code, reason, agent, extra ? extra : "");
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/* Answer with an HTTP error and close (lingering).  Frees pc. */
void
http_error(struct pconn *pc, int code, const char *reason, const char *extra)
{
	char resp[512];

	pconn_refuse(pc, resp, http_error_fmt(pc, resp, sizeof(resp), code,
	    reason, extra));
}

/*
 * Probe resistance: answer a failed authentication like an ordinary web
 * server (gost's probe_resist), with nginx's Server header.  code: and
 * file: are answered here; host: and web: are dialed and piped.
 */
static void
probe_respond(struct pconn *pc)
{
	const struct listener_conf *l = pc->px->l;
	char date[64], head[512], *all;
	struct tm tm;
	time_t now = time(NULL);
	size_t blen = 0;
	int n;

	verbose("%s: authentication failed; answering as a web server",
	    l->node->url);
	if (l->probe == PROBE_HOST || l->probe == PROBE_WEB) {
		pc->probe = l->probe;
		conn_want(pc->c, 0);
		event_del(pc->tmo);
		if ((pc->dial = dial_start(&pc->px->dl, l->probe_host,
		    l->probe_port,
		    DIAL_NOCHECK, pconn_dialed, pc)) == NULL)
			pconn_fail(pc, SOCKS5_REP_FAIL);
		return;
	}
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (l->probe == PROBE_FILE)
		n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
		    "Server: nginx/1.14.1\r\nDate: %s\r\nContent-Type: "
		    "text/html\r\nContent-Length: %zu\r\nConnection: "
		    "keep-alive\r\n\r\n", date, pc->px->probe_len);
	else
		n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
		    "Server: nginx/1.14.1\r\nDate: %s\r\nContent-Length: 0\r\n"
		    "Connection: close\r\n\r\n", l->probe_code,
		    l->probe_code == 404 ? "Not Found" : l->probe_code == 200 ?
		    "OK" : "Error", date);
	if (n <= 0 || (size_t)n >= sizeof(head)) {
		pconn_free(pc);
		return;
	}
	/* the answer, then a lingering close as nginx's own */
	if (l->probe == PROBE_FILE)
		blen = pc->px->probe_len;
	if ((all = malloc((size_t)n + blen)) == NULL) {
		pconn_free(pc);
		return;
	}
	memcpy(all, head, (size_t)n);
	if (blen > 0)
		memcpy(all + n, pc->px->probe_body, blen);
	pconn_refuse(pc, all, (size_t)n + blen);
	free(all);
}

/*
 * GET /proxy.pac, as a browser asks a web server: a PAC file that sends
 * everything but loopback through this listener, at the address the
 * client reached it on (ostpctl sysproxy).  Not on a listener with
 * probe resistance, which must look like a web server and nothing else,
 * nor on transports a browser cannot name in a PAC file.  1: answered
 * (pc freed), 0: not such a request, -1: its head is not complete.
 */
static int
http_pac(struct pconn *pc)
{
	static const char get[] = "GET /proxy.pac";
	const struct listener_conf *l = pc->px->l;
	const unsigned char *p = buf_ptr(&pc->in);
	size_t n = buf_len(&pc->in), gl = sizeof(get) - 1;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[64], addr[80], socks[96], body[768], *all;
	const char *kind;
	uint16_t port;
	int bl, hl;

	if (n < gl + 1 || memcmp(p, get, gl) != 0 ||
	    (p[gl] != ' ' && p[gl] != '?') || l->probe != PROBE_NONE)
		return 0;
	if (l->tp.kind == TP_TCP)
		kind = "PROXY";
	else if (l->tp.kind == TP_TLS)
		kind = "HTTPS";
	else
		return 0;
	if (memmem(p, n, "\r\n\r\n", 4) == NULL)
		return n < HTTP_HEAD_MAX ? -1 : 0;
	if (getsockname(pc->c->fd, (struct sockaddr *)&ss, &sl) == -1)
		return 0;
	sockaddr_host(&ss, host, sizeof(host), &port);
	if (ss.ss_family == AF_INET6)
		snprintf(addr, sizeof(addr), "[%s]:%u", host, port);
	else
		snprintf(addr, sizeof(addr), "%s:%u", host, port);
	/* an auto listener speaks SOCKS5 too: the browser's second choice */
	socks[0] = '\0';
	if ((l->accept & PROXY_SOCKS5) && l->tp.kind == TP_TCP)
		snprintf(socks, sizeof(socks), "; SOCKS5 %s", addr);
	bl = snprintf(body, sizeof(body),
	    "function FindProxyForURL(url, host) {\n"
	    "\tif (isPlainHostName(host) || host == \"localhost\" ||\n"
	    "\t    shExpMatch(host, \"127.*\") || host == \"::1\")\n"
	    "\t\treturn \"DIRECT\";\n"
	    "\treturn \"%s %s%s\";\n}\n", kind, addr, socks);
	if (bl <= 0 || (size_t)bl >= sizeof(body) ||
	    (all = malloc(512 + (size_t)bl)) == NULL)
		return 0;
	hl = snprintf(all, 512, "HTTP/1.1 200 OK\r\nContent-Type: "
	    "application/x-ns-proxy-autoconfig\r\nContent-Length: %d\r\n"
	    "Cache-Control: no-cache\r\nConnection: close\r\n\r\n", bl);
	memcpy(all + hl, body, (size_t)bl);
	debug("%s: served the PAC file", l->node->url);
	pconn_refuse(pc, all, (size_t)hl + (size_t)bl);
	free(all);
	return 1;
}

/*
 * An HTTP proxy request head: the target, after the listener's
 * authentication (or its probe resistance).  Returns as s5_step.
 */
int
http_step(struct pconn *pc)
{
	const struct http_header *h;
	int e;

	if (pc->state != PS_HTTP_HEAD)
		return 0;
	switch (http_pac(pc)) {
	case 1:
		return 2;
	case -1:
		return 0;
	}
	if ((e = http_parse_request(&pc->in, &pc->req)) != 0) {
		if (e == ERR_INCOMPLETE)
			return 0;
		/*
		 * 400 also for every ambiguous framing
		 * (smuggling): never forwarded.
		 */
		if (e == ERR_TOO_LONG)
			http_error(pc, 431, "Request Header "
			    "Fields Too Large", NULL);
		else {
			debug("%s: bad http request head",
			    pc->px->l->node->url);
			http_error(pc, 400, "Bad Request",
			    NULL);
		}
		return 2;
	}
	h = http_header_get(&pc->req, "Proxy-Authorization");
	e = proxy_http_auth(pc->px, h != NULL ? h->value :
	    NULL, h != NULL ? h->valuelen : 0, pc->req.dst.host);
	if (e == PROXY_AUTH_PROBE) {
		probe_respond(pc);
		return 2;
	}
	if (e != PROXY_AUTH_OK) {
		verbose("%s: http authentication failed",
		    pc->px->l->node->url);
		http_error(pc, 407, "Proxy Authentication "
		    "Required", "Proxy-Authenticate: "
		    "Basic realm=\"ostpd\"\r\n");
		return 2;
	}
	if (h != NULL && proxy_auth_required(pc->px)) {
		char user[256], pass[256];

		/* the user's counters and access log name (core/stats.h) */
		if (http_basic_decode(h->value, h->valuelen, user,
		    sizeof(user), pass, sizeof(pass)) == 0)
			stconn_user(conn_stats(pc->c), user);
		explicit_bzero(pass, sizeof(pass));
	}
	pc->dst = pc->req.dst;
	return 1;
}
