/*
 * Dialing through a chain of proxies: connect to the first hop, then ask
 * each hop in turn (SOCKS5, SOCKS4/4a or HTTP CONNECT) for the next one
 * and the last for the target.  Everything is non-blocking; answers are
 * read with MSG_PEEK first so that exactly the handshake's bytes are
 * consumed and nothing of the tunnel.  A failed attempt is retried from
 * the start as often as the chain's retries allow.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "err.h"
#include "log.h"
#include "proto/proto.h"
#include "worker.h"

enum cd_state {
	CD_CONNECT,
	CD_S5_METHOD,
	CD_S5_AUTH,
	CD_S5_REPLY,
	CD_S4_REPLY,
	CD_HTTP_REPLY,
};

struct chain_dial {
	struct worker			*wk;
	const struct outbound_conf	*ob;
	char				 host[PROXY_HOST_MAX + 1];
	uint16_t			 port;
	size_t				 hop;
	int				 fd;
	enum cd_state			 state;
	struct event			*ev;
	unsigned int			 attempt;
	int				 err;
	chain_cb			 cb;
	void				*arg;
};

static void cd_attempt(struct chain_dial *);
static void cd_event(evutil_socket_t, short, void *);

/* The address hop i is asked for: the next hop, or the target. */
static void
cd_next(const struct chain_dial *cd, const char **host, uint16_t *port)
{
	if (cd->hop + 1 < cd->ob->nhops) {
		*host = cd->ob->hops[cd->hop + 1].node->host;
		*port = cd->ob->hops[cd->hop + 1].node->port;
	} else {
		*host = cd->host;
		*port = cd->port;
	}
}

static void
cd_wait(struct chain_dial *cd, short what)
{
	const struct hop_conf *h = &cd->ob->hops[cd->hop];
	struct timeval tv;

	if (cd->ev != NULL)
		event_free(cd->ev);
	cd->ev = event_new(cd->wk->base, cd->fd, what, cd_event, cd);
	tv.tv_sec = (time_t)(h->timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(h->timeout_ms % 1000) * 1000;
	event_add(cd->ev, h->timeout_ms ? &tv : NULL);
}

static void
cd_finish(struct chain_dial *cd, int fd, int err)
{
	chain_cb cb = cd->cb;
	void *arg = cd->arg;

	if (cd->ev != NULL)
		event_free(cd->ev);
	free(cd);
	cb(arg, fd, err);
}

static void
cd_fail(struct chain_dial *cd, int err)
{
	unsigned int tries = cd->ob->retries > 0 ? cd->ob->retries : 1;

	debug("chain %s: hop %zu (%s): %s", cd->ob->tag, cd->hop,
	    cd->ob->hops[cd->hop].node->url, strerror(err));
	if (cd->fd != -1)
		close(cd->fd);
	cd->fd = -1;
	cd->err = err;
	if (++cd->attempt < tries) {
		cd_attempt(cd);
		return;
	}
	cd_finish(cd, -1, err);
}

static int
cd_send(struct chain_dial *cd, const void *p, size_t len)
{
	/* Handshake messages are small; a fresh socket takes them whole. */
	if (send(cd->fd, p, len, MSG_NOSIGNAL) != (ssize_t)len) {
		cd_fail(cd, errno ? errno : EPIPE);
		return -1;
	}
	return 0;
}

/* Ask hop cd->hop for the next address in its protocol. */
static void
cd_request(struct chain_dial *cd)
{
	const struct hop_conf *h = &cd->ob->hops[cd->hop];
	unsigned char m[600], a4[4], a6[16];
	const char *host;
	uint16_t port;
	size_t n = 0, hl;
	char req[1500], up[520], b64[700], hdr[760];
	int len;

	cd_next(cd, &host, &port);
	hl = strlen(host);
	switch (h->kind) {
	case HOP_SOCKS5:
		m[0] = SOCKS5_VER;
		m[1] = h->user ? 2 : 1;
		m[2] = SOCKS5_AUTH_NONE;
		m[3] = SOCKS5_AUTH_USERPASS;
		if (cd_send(cd, m, 2 + (size_t)m[1]) != 0)
			return;
		cd->state = CD_S5_METHOD;
		break;
	case HOP_SOCKS4:
	case HOP_SOCKS4A:
		m[n++] = SOCKS4_VER;
		m[n++] = SOCKS4_CMD_CONNECT;
		m[n++] = (unsigned char)(port >> 8);
		m[n++] = (unsigned char)port;
		if (inet_pton(AF_INET, host, a4) == 1) {
			memcpy(m + n, a4, 4);
			n += 4;
			m[n++] = 0;	/* empty user id */
		} else if (h->kind == HOP_SOCKS4A && hl <= PROXY_HOST_MAX) {
			memcpy(m + n, "\0\0\0\1", 4);
			n += 4;
			m[n++] = 0;
			memcpy(m + n, host, hl + 1);
			n += hl + 1;
		} else {
			/* SOCKS4 carries IPv4 only; names need socks4a */
			cd_fail(cd, EAFNOSUPPORT);
			return;
		}
		if (cd_send(cd, m, n) != 0)
			return;
		cd->state = CD_S4_REPLY;
		break;
	case HOP_HTTP:
		hdr[0] = '\0';
		if (h->user != NULL) {
			/* user and password are at most 255 bytes each */
			len = snprintf(up, sizeof(up), "%s:%s", h->user,
			    h->pass);
			EVP_EncodeBlock((unsigned char *)b64,
			    (unsigned char *)up, len);
			snprintf(hdr, sizeof(hdr), "Proxy-Authorization: Basic "
			    "%s\r\n", b64);
			explicit_bzero(b64, sizeof(b64));
		}
		len = snprintf(req, sizeof(req), inet_pton(AF_INET6, host,
		    a6) == 1 ? "CONNECT [%s]:%u HTTP/1.1\r\nHost: [%s]:%u\r\n"
		    "%sProxy-Connection: keep-alive\r\n\r\n" :
		    "CONNECT %s:%u HTTP/1.1\r\nHost: %s:%u\r\n"
		    "%sProxy-Connection: keep-alive\r\n\r\n", host, port, host,
		    port, hdr);
		explicit_bzero(up, sizeof(up));
		explicit_bzero(hdr, sizeof(hdr));
		if (len < 0 || (size_t)len >= sizeof(req)) {
			cd_fail(cd, ENAMETOOLONG);
			return;
		}
		if (cd_send(cd, req, (size_t)len) != 0)
			return;
		cd->state = CD_HTTP_REPLY;
		break;
	}
	cd_wait(cd, EV_READ);
}

static void
cd_s5_connect(struct chain_dial *cd)
{
	unsigned char m[300];
	const char *host;
	uint16_t port;
	size_t n = 0, hl;

	cd_next(cd, &host, &port);
	m[n++] = SOCKS5_VER;
	m[n++] = SOCKS5_CMD_CONNECT;
	m[n++] = 0;
	if (inet_pton(AF_INET, host, m + n + 1) == 1) {
		m[n] = SOCKS5_ATYP_IPV4;
		n += 5;
	} else if (inet_pton(AF_INET6, host, m + n + 1) == 1) {
		m[n] = SOCKS5_ATYP_IPV6;
		n += 17;
	} else {
		if ((hl = strlen(host)) > PROXY_HOST_MAX) {
			cd_fail(cd, ENAMETOOLONG);
			return;
		}
		m[n++] = SOCKS5_ATYP_DOMAIN;
		m[n++] = (unsigned char)hl;
		memcpy(m + n, host, hl);
		n += hl;
	}
	m[n++] = (unsigned char)(port >> 8);
	m[n++] = (unsigned char)port;
	if (cd_send(cd, m, n) != 0)
		return;
	cd->state = CD_S5_REPLY;
	cd_wait(cd, EV_READ);
}

/* Hop done: the next one, or the caller. */
static void
cd_hop_done(struct chain_dial *cd)
{
	int fd;

	if (++cd->hop < cd->ob->nhops) {
		cd_request(cd);
		return;
	}
	fd = cd->fd;
	cd->fd = -1;
	cd_finish(cd, fd, 0);
}

/*
 * Peek at what the hop answered; 0 when want bytes are there (then read
 * them), 1 to wait, -1 on EOF or error.
 */
static int
cd_take(struct chain_dial *cd, unsigned char *p, size_t want)
{
	ssize_t n;

	n = recv(cd->fd, p, want, MSG_PEEK);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
		return -1;
	if (n < (ssize_t)want)
		return 1;
	return recv(cd->fd, p, want, 0) == (ssize_t)want ? 0 : -1;
}

static int
s5_rep_errno(int rep)
{
	switch (rep) {
	case SOCKS5_REP_NOTALLOWED:	return EACCES;
	case SOCKS5_REP_NETUNREACH:	return ENETUNREACH;
	case SOCKS5_REP_HOSTUNREACH:	return EHOSTUNREACH;
	case SOCKS5_REP_REFUSED:	return ECONNREFUSED;
	case SOCKS5_REP_TTL:		return ETIMEDOUT;
	default:			return ECONNABORTED;
	}
}

static void
cd_input(struct chain_dial *cd)
{
	const struct hop_conf *h = &cd->ob->hops[cd->hop];
	unsigned char m[HTTP_HEAD_MAX + 1];
	size_t ul, pl;
	ssize_t n;
	int r;

	switch (cd->state) {
	case CD_S5_METHOD:
		if ((r = cd_take(cd, m, 2)) != 0)
			break;
		if (m[0] != SOCKS5_VER) {
			cd_fail(cd, EPROTO);
			return;
		}
		if (m[1] == SOCKS5_AUTH_NONE) {
			cd_s5_connect(cd);
			return;
		}
		if (m[1] != SOCKS5_AUTH_USERPASS || h->user == NULL) {
			cd_fail(cd, EPERM);
			return;
		}
		ul = strlen(h->user);
		pl = strlen(h->pass);
		m[0] = 1;
		m[1] = (unsigned char)ul;
		memcpy(m + 2, h->user, ul);
		m[2 + ul] = (unsigned char)pl;
		memcpy(m + 3 + ul, h->pass, pl);
		r = cd_send(cd, m, 3 + ul + pl);
		explicit_bzero(m, 3 + ul + pl);
		if (r != 0)
			return;
		cd->state = CD_S5_AUTH;
		cd_wait(cd, EV_READ);
		return;
	case CD_S5_AUTH:
		if ((r = cd_take(cd, m, 2)) != 0)
			break;
		if (m[1] != 0) {
			cd_fail(cd, EPERM);
			return;
		}
		cd_s5_connect(cd);
		return;
	case CD_S5_REPLY: {
		size_t len;
		int rep, e;

		n = recv(cd->fd, m, 5, MSG_PEEK);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			r = -1;
			break;
		}
		e = socks5_reply_length(m, n > 0 ? (size_t)n : 0, &len, &rep);
		if (e == ERR_INCOMPLETE) {
			r = 1;
			break;
		}
		if (e != 0) {
			cd_fail(cd, EPROTO);
			return;
		}
		if (rep != SOCKS5_REP_OK) {
			cd_fail(cd, s5_rep_errno(rep));
			return;
		}
		if ((r = cd_take(cd, m, len)) != 0)
			break;
		cd_hop_done(cd);
		return;
	}
	case CD_S4_REPLY:
		if ((r = cd_take(cd, m, 8)) != 0)
			break;
		if (m[1] != SOCKS4_REP_GRANTED) {
			cd_fail(cd, ECONNREFUSED);
			return;
		}
		cd_hop_done(cd);
		return;
	case CD_HTTP_REPLY: {
		size_t hl;
		int code, e;

		n = recv(cd->fd, m, HTTP_HEAD_MAX, MSG_PEEK);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			r = -1;
			break;
		}
		e = http_parse_status(m, n > 0 ? (size_t)n : 0, &hl, &code);
		if (e == ERR_INCOMPLETE) {
			r = 1;
			break;
		}
		if (e != 0 || recv(cd->fd, m, hl, 0) != (ssize_t)hl) {
			r = -1;
			break;
		}
		if (code != 200) {
			cd_fail(cd, code == 403 ? EACCES : code == 407 ? EPERM :
			    code == 504 ? ETIMEDOUT : ECONNREFUSED);
			return;
		}
		cd_hop_done(cd);
		return;
	}
	default:
		return;
	}
	if (r < 0)
		cd_fail(cd, EPROTO);
	else
		cd_wait(cd, EV_READ);
}

static void
cd_event(evutil_socket_t fd, short what, void *arg)
{
	struct chain_dial *cd = arg;
	socklen_t len = sizeof(int);
	int err = 0, one = 1;

	if (what & EV_TIMEOUT) {
		cd_fail(cd, ETIMEDOUT);
		return;
	}
	if (cd->state == CD_CONNECT) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			cd_fail(cd, err);
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		cd_request(cd);
		return;
	}
	cd_input(cd);
}

static void
cd_deferred_cb(evutil_socket_t fd, short what, void *arg)
{
	struct chain_dial *cd = arg;

	(void)fd;
	(void)what;
	cd_fail(cd, cd->err);
}

/* Fail from the event loop, never inside chain_dial_start. */
static void
cd_defer_fail(struct chain_dial *cd, int err)
{
	struct timeval tv = { 0, 0 };

	if (cd->ev != NULL)
		event_free(cd->ev);
	cd->err = err;
	cd->ev = evtimer_new(cd->wk->base, cd_deferred_cb, cd);
	event_add(cd->ev, &tv);
}

static void
cd_attempt(struct chain_dial *cd)
{
	const struct hop_conf *h = &cd->ob->hops[0];
	const struct conf *c = cd->wk->conf;

	cd->hop = 0;
	cd->state = CD_CONNECT;
	/* -M and -I apply to the socket that leaves this host. */
	if (c->have_mark || c->iface[0] != '\0')
		cd->fd = mm_socket(cd->wk, h->addr.ss_family, SOCK_STREAM);
	else
		cd->fd = socket(h->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
	if (cd->fd == -1) {
		cd_defer_fail(cd, errno);
		return;
	}
	if (connect(cd->fd, (const struct sockaddr *)&h->addr, h->addrlen) ==
	    -1 && errno != EINPROGRESS) {
		cd_defer_fail(cd, errno);
		return;
	}
	cd_wait(cd, EV_WRITE);
}

struct chain_dial *
chain_dial_start(struct worker *wk, const struct outbound_conf *ob,
    const char *host, uint16_t port, chain_cb cb, void *arg)
{
	struct chain_dial *cd;

	if (strlen(host) > PROXY_HOST_MAX || ob->nhops == 0 ||
	    (cd = calloc(1, sizeof(*cd))) == NULL)
		return NULL;	/* the caller fails the connection itself */
	cd->wk = wk;
	cd->ob = ob;
	snprintf(cd->host, sizeof(cd->host), "%s", host);
	cd->port = port;
	cd->fd = -1;
	cd->cb = cb;
	cd->arg = arg;
	cd_attempt(cd);
	return cd;
}

void
chain_dial_cancel(struct chain_dial *cd)
{
	if (cd == NULL)
		return;
	if (cd->ev != NULL)
		event_free(cd->ev);
	if (cd->fd != -1)
		close(cd->fd);
	free(cd);
}
