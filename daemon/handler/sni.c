/*
 * sni://: route a TLS connection by the server name of its ClientHello
 * (or by the name in gost's 0xfffe extension, which is then removed),
 * a plain HTTP one by its Host header, and forward the bytes as they
 * came.  host=NAME:PORT sets the port dialed (443 by default for TLS,
 * 80 for HTTP) and, with a name, replaces the name as well.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "core/dial.h"
#include "core/stats.h"
#include "err.h"
#include "log.h"
#include "proto/sni.h"
#include "core/conn.h"
#include "core/codec.h"
#include "worker.h"
#include "handler/handler.h"

#define SNI_HANDSHAKE_SECS	10

struct sni_server {
	struct worker			*wk;
	const struct listener_conf	*l;
	struct dialer			 dl;
	char				 host[SNI_HOST_MAX + 1];	/* host= */
	uint16_t			 port;
};

struct snic {
	struct sni_server	*sv;
	int			 fd;
	struct cbuf		 in;
	struct event		*rev;
	struct event		*tmo;
	struct dial		*dial;
	struct stconn		*st;		/* the client's record */
	char			 host[SNI_HOST_MAX + 1];
	uint16_t		 port;
};

static void
snic_free(struct snic *c)
{
	dial_cancel(c->dial);
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->tmo != NULL)
		event_free(c->tmo);
	if (c->fd != -1)
		close(c->fd);
	stconn_close(c->st);
	cbuf_release(&c->in);
	worker_conn_closed(c->sv->wk);
	free(c);
}

static void
snic_dialed(void *arg, struct conn *up, int err)
{
	struct snic *c = arg;

	c->dial = NULL;
	if (up == NULL) {
		debug("%s: %s:%u: %s", c->sv->l->node->url, c->host, c->port,
		    strerror(err));
		snic_free(c);
		return;
	}
	c->sv->wk->stats.active++;	/* the relay's; snic_free's goes */
	relay_fd_conn(c->sv->wk, c->fd, c->in.p + c->in.off, c->in.len, up,
	    c->st);
	c->fd = -1;
	c->st = NULL;
	snic_free(c);
}

/* 1: target known, 0: more bytes needed, -1: not usable. */
static int
snic_target(struct snic *c)
{
	struct sni_hello h;
	unsigned char *p = c->in.p + c->in.off;
	size_t len = c->in.len;
	int e;

	if (p[0] == 0x16) {
		if ((e = sni_parse(p, len, &h)) == ERR_INCOMPLETE)
			return 0;
		if (e != 0) {
			debug("%s: ClientHello: %s", c->sv->l->node->url,
			    ostp_err(e));
			return -1;
		}
		if (h.gost_off != 0) {
			if (sni_strip_gost_ext(p, &len, &h) != 0)
				return -1;
			c->in.len = len;
		}
		snprintf(c->host, sizeof(c->host), "%s", h.gost_host[0] ?
		    h.gost_host : h.host);
		c->port = 443;
	} else {
		if ((e = sni_http_host(p, len, c->host, sizeof(c->host),
		    &c->port)) == ERR_INCOMPLETE)
			return len >= SNI_HTTP_HEAD_MAX ? -1 : 0;
		if (e != 0) {
			debug("%s: HTTP without a usable Host", c->sv->l->node->url);
			return -1;
		}
		if (c->port == 0)
			c->port = 80;
	}
	if (c->sv->port != 0)
		c->port = c->sv->port;
	if (c->sv->host[0] != '\0')
		snprintf(c->host, sizeof(c->host), "%s", c->sv->host);
	if (c->host[0] == '\0') {
		debug("%s: no server name", c->sv->l->node->url);
		return -1;
	}
	return 1;
}

static void
snic_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct snic *c = arg;
	size_t room;
	ssize_t n;
	int r;

	(void)what;
	if ((room = cbuf_room(&c->in)) == 0) {
		snic_free(c);
		return;
	}
	n = recv(fd, cbuf_tail(&c->in), room, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		snic_free(c);
		return;
	}
	if (n < 0)
		return;
	c->in.len += (size_t)n;
	if ((r = snic_target(c)) == 0)
		return;
	if (r < 0) {
		snic_free(c);
		return;
	}
	event_del(c->rev);
	event_del(c->tmo);
	debug("%s: to %s:%u", c->sv->l->node->url, c->host, c->port);
	if ((c->dial = dial_start(&c->sv->dl, c->host, c->port, 0,
	    snic_dialed, c)) == NULL)
		snic_free(c);
	else
		dial_set_stats(c->dial, c->st);
}

static void
snic_tmo_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	snic_free(arg);
}

static void
sni_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct sni_server *sv = arg;
	struct timeval tv = { SNI_HANDSHAKE_SECS, 0 };
	struct snic *c;

	(void)lev;
	(void)sa;
	(void)salen;
	sv->wk->stats.accepted++;
	sv->wk->stats.active++;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    cbuf_alloc(&c->in, SNI_HELLO_MAX) != 0) {
		free(c);
		close(fd);
		worker_conn_closed(sv->wk);
		return;
	}
	c->sv = sv;
	c->fd = fd;
	c->st = stconn_new_fd(sv->wk, sv->dl.idx, fd);
	c->rev = event_new(sv->wk->base, fd, EV_READ | EV_PERSIST,
	    snic_read_cb, c);
	c->tmo = evtimer_new(sv->wk->base, snic_tmo_cb, c);
	if (c->rev == NULL || c->tmo == NULL)
		fatal_f("out of memory");
	event_add(c->rev, NULL);
	event_add(c->tmo, &tv);
}

int
sni_start(struct worker *wk, const struct listener_conf *l, size_t idx,
    int fd)
{
	struct evconnlistener **levp = &wk->listeners[idx];
	struct sni_server *sv;
	const char *v, *colon;

	if ((sv = calloc(1, sizeof(*sv))) == NULL)
		return -1;
	sv->wk = wk;
	sv->l = l;
	if ((v = node_param(l->node, "host")) != NULL) {
		/* checked at configuration time: [name][:port] */
		colon = strrchr(v, ':');
		if (colon != NULL) {
			sv->port = (uint16_t)strtoul(colon + 1, NULL, 10);
			snprintf(sv->host, sizeof(sv->host), "%.*s",
			    (int)(colon - v), v);
		} else
			snprintf(sv->host, sizeof(sv->host), "%s", v);
	}
	if (dialer_init(&sv->dl, wk, l, idx) != 0)
		return -1;
	return worker_listen(wk, fd, sni_accept_cb, sv, levp);
}
