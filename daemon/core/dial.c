/*
 * Dialing a target on behalf of a listener's client.  Access control
 * sees what the client asked for (bypass and permissions on the name,
 * routing rules on the name and each address it resolves to); the
 * chain, when the rules pick one, resolves names at its far end.  A
 * direct dial tries each address in the preferred family's order with
 * the listener's timeout.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "cfgfile.h"
#include "core/conn.h"
#include "core/dial.h"
#include "log.h"
#include "match.h"
#include "proto/proto.h"
#include "worker.h"
#include "core/chain.h"
#include "core/reload.h"

struct dial {
	struct dialer		*dl;
	char			 host[PROXY_HOST_MAX + 1];
	uint16_t		 port;
	int			 flags;
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	int			 fd;
	int			 last_err;
	struct evdns_getaddrinfo_request *dnsreq;
	struct evutil_addrinfo	*ai;
	struct evutil_addrinfo	*ai_next;
	struct event		*ev;
	struct chain_dial	*cd;
	const struct outbound_conf *chain_ob;	/* resolving for a chain */
	int			 in_start;	/* inside dial_start */
	struct conn		*res;		/* deferred result */
	dial_cb			 cb;
	void			*arg;
};

/* Shared by every listener of the worker: /etc/hosts and resolv.conf. */
static struct hosts *sys_hosts;
static struct evdns_base *sys_dns;

char *
worker_read_small(struct worker *wk, const char *path, size_t *lenp)
{
	char *data;
	ssize_t n;
	size_t off = 0;
	int fd;

	if ((fd = mm_file_open(wk, path)) == -1)
		return NULL;
	if ((data = malloc(65537)) == NULL)
		fatal_f("out of memory");
	while (off < 65536 && (n = read(fd, data + off, 65536 - off)) > 0)
		off += (size_t)n;
	close(fd);
	data[off] = '\0';
	*lenp = off;
	return data;
}

/* Give a resolver the nameservers, timeout and search domain of rc. */
static void
dns_apply(struct evdns_base *d, const struct resolver_conf *rc)
{
	char tmo[24];
	size_t i;

	evdns_base_clear_nameservers_and_suspend(d);
	evdns_base_search_clear(d);
	for (i = 0; rc != NULL && i < rc->nns; i++)
		if (rc->ns[i].proto == NS_PROTO_UDP &&
		    evdns_base_nameserver_ip_add(d, rc->ns[i].addr) != 0)
			error("nameserver %s: not usable", rc->ns[i].addr);
	if (rc != NULL && rc->domain != NULL)
		evdns_base_search_add(d, rc->domain);
	snprintf(tmo, sizeof(tmo), "%lu", rc != NULL && rc->has_timeout ?
	    (rc->timeout_ms + 999) / 1000 : 5);
	evdns_base_set_option(d, "timeout:", tmo);
	evdns_base_set_option(d, "attempts:", "2");
	evdns_base_resume(d);
}

static struct evdns_base *
dns_new(struct worker *wk, const struct resolver_conf *rc)
{
	struct evdns_base *d;

	if ((d = evdns_base_new(wk->base, 0)) == NULL)
		return NULL;
	dns_apply(d, rc);
	return d;
}

/* A dns= file was (re)loaded: the listener's resolver follows it. */
static void
dns_file_changed(void *arg)
{
	struct dialer *dl = arg;

	if (dl->dns == NULL)
		dl->dns = evdns_base_new(dl->wk->base, 0);
	if (dl->dns != NULL)
		dns_apply(dl->dns, dl->dnsconf);
	if (dl->dnsconf != NULL && dl->dnsconf->prefer != 0)
		dl->prefer_v6 = dl->dnsconf->prefer == AF_INET6;
}

/* /etc/hosts, read through the monitor once per worker. */
static void
sys_hosts_init(struct worker *wk)
{
	static int done;
	char err[256], *data;
	size_t len;

	if (done++)
		return;
	if ((data = worker_read_small(wk, "/etc/hosts", &len)) == NULL)
		return;
	if (hosts_parse(data, len, "/etc/hosts", &sys_hosts, err,
	    sizeof(err)) != 0)
		debug("%s; not using /etc/hosts", err);
	free(data);
}

/* The system nameservers, for listeners without dns=. */
static void
sys_dns_init(struct worker *wk)
{
	struct resolver_conf *rc = NULL;
	char err[256], *data;
	size_t len;

	if (sys_dns != NULL)
		return;
	if ((data = worker_read_small(wk, "/etc/resolv.conf", &len)) != NULL) {
		if (resolver_conf_parse(data, len, "/etc/resolv.conf", &rc,
		    err, sizeof(err)) != 0)
			error("%s; names will not resolve", err);
		free(data);
	}
	sys_dns = dns_new(wk, rc);
	resolver_conf_free(rc);
}

int
dialer_init(struct dialer *dl, struct worker *wk,
    const struct listener_conf *l, size_t idx)
{
	memset(dl, 0, sizeof(*dl));
	dl->wk = wk;
	dl->l = l;
	dl->idx = idx;
	dl->prefer_v6 = l->prefer_v6;
	sys_hosts_init(wk);
	if (l->dns_path != NULL) {
		if (reload_register(wk, l->dns_path, RELOAD_RESOLVER,
		    (void **)&dl->dnsconf, dns_file_changed, dl) != 0)
			return -1;
	} else if (l->dns != NULL) {
		if ((dl->dns = dns_new(wk, l->dns)) == NULL)
			return -1;
	} else
		sys_dns_init(wk);
	if ((l->bypass_path != NULL && reload_register(wk, l->bypass_path,
	    RELOAD_BYPASS, (void **)&dl->bypass_file, NULL, NULL) != 0) ||
	    (l->hosts_path != NULL && reload_register(wk, l->hosts_path,
	    RELOAD_HOSTS, (void **)&dl->hosts, NULL, NULL) != 0))
		return -1;
	return 0;
}

struct evdns_base *
dialer_dns(const struct dialer *dl)
{
	return dl->dns != NULL ? dl->dns : sys_dns;
}

const struct hosts_entry *
dialer_hosts(const struct dialer *dl, const char *name)
{
	const struct hosts_entry *he;

	if ((he = hosts_lookup(dl->hosts, name)) == NULL)
		he = hosts_lookup(sys_hosts, name);
	return he;
}

void
dialer_hosts_addr(const struct hosts_entry *he, uint16_t port,
    struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (he->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, he->addr, 4);
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, he->addr, 16);
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
	}
}

int
dialer_allowed(const struct dialer *dl, const char *action, const char *host,
    uint16_t port, const struct sockaddr *sa)
{
	const struct listener_conf *l = dl->l;
	const struct conf *c = dl->wk->conf;
	char hp[PROXY_HOST_MAX + 16];
	unsigned char tmp[16];
	int isname;

	isname = inet_pton(AF_INET, host, tmp) != 1 &&
	    inet_pton(AF_INET6, host, tmp) != 1;
	snprintf(hp, sizeof(hp), strchr(host, ':') ? "[%s]:%u" : "%s:%u",
	    host, port);
	if ((l->bypass != NULL && bypass_match(l->bypass, hp)) ||
	    (dl->bypass_file != NULL && bypass_match(dl->bypass_file, hp))) {
		debug("%s: %s bypassed", l->node->url, hp);
		return -1;
	}
	if (!access_allowed(l->whitelist, l->blacklist, action, host, port)) {
		debug("%s: %s not permitted", l->node->url, hp);
		return -1;
	}
	if (sa != NULL && !dl->direct && c->obs[router_pick(c, dl->idx, sa,
	    isname ? host : NULL, 0)].type == OB_BLOCK) {
		debug("%s: %s blocked by a routing rule", l->node->url, hp);
		return -1;
	}
	return 0;
}

void
sockaddr_host(const struct sockaddr_storage *ss, char *host, size_t len,
    uint16_t *port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	host[0] = '\0';
	*port = 0;
	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, host, (socklen_t)len);
		*port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		/* ::ffff:a.b.c.d as a.b.c.d: an IPv4 peer of a dual socket */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], host,
			    (socklen_t)len);
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, host,
			    (socklen_t)len);
		*port = ntohs(sin6->sin6_port);
	}
}

/* ::ffff:a.b.c.d as a.b.c.d, so IPv4 clients see IPv4 addresses. */
void
sockaddr_unmap(struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in sin;

	if (ss->ss_family != AF_INET6 ||
	    !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = sin6->sin6_port;
	memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
	memcpy(ss, &sin, sizeof(sin));
	*len = sizeof(sin);
}



int
dial_errno_rep(int err)
{
	switch (err) {
	case EACCES:		return SOCKS5_REP_NOTALLOWED;
	case ECONNREFUSED:	return SOCKS5_REP_REFUSED;
	case ETIMEDOUT:		return SOCKS5_REP_TTL;
	case ENETUNREACH:	return SOCKS5_REP_NETUNREACH;
	case EHOSTUNREACH:	return SOCKS5_REP_HOSTUNREACH;
	default:		return SOCKS5_REP_FAIL;
	}
}

static void
dial_free(struct dial *d)
{
	if (d->dnsreq != NULL)
		evdns_getaddrinfo_cancel(d->dnsreq);	/* calls back: no-op */
	chain_dial_cancel(d->cd);
	if (d->ai != NULL)
		evutil_freeaddrinfo(d->ai);
	if (d->ev != NULL)
		event_free(d->ev);
	if (d->fd != -1)
		close(d->fd);
	conn_free(d->res);
	free(d);
}

static void dial_defer(struct dial *, struct conn *, int err);

static void
dial_finish(struct dial *d, struct conn *c, int err)
{
	dial_cb cb = d->cb;
	void *arg = d->arg;

	/* The caller hears of it from the event loop, never inside start. */
	if (d->in_start) {
		dial_defer(d, c, err);
		return;
	}
	dial_free(d);
	cb(arg, c, err);
}

static void
deferred_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dial *d = arg;
	struct conn *c = d->res;

	(void)fd;
	(void)what;
	d->res = NULL;
	dial_finish(d, c, d->last_err);
}

static void
dial_defer(struct dial *d, struct conn *c, int err)
{
	struct timeval tv = { 0, 0 };

	d->res = c;
	d->last_err = err;
	if (d->ev != NULL)
		event_free(d->ev);
	if ((d->ev = evtimer_new(d->dl->wk->base, deferred_cb, d)) == NULL)
		fatal_f("out of memory");
	evtimer_add(d->ev, &tv);
}

static void
dial_defer_fail(struct dial *d, int err)
{
	dial_defer(d, NULL, err);
}

static void dial_next(struct dial *);
static void dial_chain(struct dial *, const struct sockaddr *);

static void
connect_failed(struct dial *d, int err)
{
	debug("%s: %s:%u: %s", d->dl->l->node->url, d->host, d->port,
	    strerror(err));
	d->last_err = err;
	close(d->fd);
	d->fd = -1;
	dial_next(d);
}

static void
connected(struct dial *d)
{
	struct conn *c;
	int fd = d->fd, err = 0;

	d->fd = -1;
	if ((c = conn_socket(d->dl->wk, fd)) == NULL)
		err = ENOMEM;
	dial_finish(d, c, err);
}

static void
connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dial *d = arg;
	socklen_t elen = sizeof(int);
	int err = 0;

	event_free(d->ev);
	d->ev = NULL;
	if (what & EV_TIMEOUT)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
		err = errno;
	if (err != 0)
		connect_failed(d, err);
	else
		connected(d);
}

/*
 * An outgoing socket for listener l's route: from the monitor when a
 * mark or an interface applies (SO_MARK and SO_BINDTODEVICE need
 * privileges), else our own.
 */
int
dial_socket(struct worker *wk, const struct listener_conf *l, int family,
    int type)
{
	struct egress e;

	conf_egress(wk->conf, l, &e);
	if (conf_egress_any(&e))
		return mm_socket(wk, family, type, &e);
	return socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

static void
dial_addr(struct dial *d, const struct sockaddr *sa, socklen_t len)
{
	struct worker *wk = d->dl->wk;
	unsigned long ms = d->dl->l->timeout_ms;
	struct timeval tv;

	d->fd = dial_socket(wk, d->dl->l, sa->sa_family, SOCK_STREAM);
	if (d->fd == -1) {
		d->last_err = errno;
		dial_next(d);
		return;
	}
	if (connect(d->fd, sa, len) == -1 && errno != EINPROGRESS) {
		d->last_err = errno;
		close(d->fd);
		d->fd = -1;
		dial_next(d);
		return;
	}
	/*
	 * To a local address the handshake is usually over by the time
	 * connect returns: asking again says so (0, or the error) and
	 * saves registering, waiting and asking for SO_ERROR.
	 */
	if (connect(d->fd, sa, len) == 0 || errno == EISCONN) {
		connected(d);
		return;
	}
	if (errno != EALREADY && errno != EINPROGRESS) {
		connect_failed(d, errno);
		return;
	}
	d->ev = event_new(wk->base, d->fd, EV_WRITE, connect_cb, d);
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	/* timeout=0: no limit but the kernel's, as in gost */
	event_add(d->ev, ms ? &tv : NULL);
}

/* Next address of a resolved name; out of addresses: fail. */
static void
dial_next(struct dial *d)
{
	struct evutil_addrinfo *ai;

	while ((ai = d->ai_next) != NULL) {
		d->ai_next = ai->ai_next;
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if (dialer_allowed(d->dl, "tcp", d->host, d->port,
		    ai->ai_addr) != 0) {
			d->last_err = EACCES;
			continue;
		}
		dial_addr(d, ai->ai_addr, (socklen_t)ai->ai_addrlen);
		return;
	}
	dial_finish(d, NULL, d->last_err == ETIMEDOUT ||
	    d->last_err == ECONNREFUSED || d->last_err == EACCES ||
	    d->last_err == ENETUNREACH ? d->last_err : EHOSTUNREACH);
}

/* prefer=: addresses of the preferred family first, order kept. */
static void
prefer_order(struct evutil_addrinfo **head, int family)
{
	struct evutil_addrinfo *pref = NULL, **pt = &pref, *rest = NULL,
	    **rt = &rest, *ai, *next;

	for (ai = *head; ai != NULL; ai = next) {
		next = ai->ai_next;
		ai->ai_next = NULL;
		if (ai->ai_family == family) {
			*pt = ai;
			pt = &ai->ai_next;
		} else {
			*rt = ai;
			rt = &ai->ai_next;
		}
	}
	*pt = rest;
	*head = pref;
}

static void
dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct dial *d = arg;

	if (result == EVUTIL_EAI_CANCEL)
		return;		/* d is already gone */
	d->dnsreq = NULL;
	if (result != 0 || res == NULL) {
		debug("%s: %s: %s", d->dl->l->node->url, d->host,
		    evutil_gai_strerror(result));
		if (res != NULL)
			evutil_freeaddrinfo(res);
		dial_finish(d, NULL, EHOSTUNREACH);
		return;
	}
	d->ai = res;
	prefer_order(&d->ai, d->dl->prefer_v6 ? AF_INET6 : AF_INET);
	d->ai_next = d->ai;
	if (d->chain_ob != NULL) {
		dial_chain(d, d->ai->ai_addr);
		return;
	}
	dial_next(d);
}

static void chain_cb_(void *, struct conn *, int);

/* Through the chain to the address a hosts file or dns= gave (gost). */
static void
dial_chain(struct dial *d, const struct sockaddr *sa)
{
	struct sockaddr_storage ss;
	char host[PROXY_HOST_MAX + 1];
	uint16_t port;

	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, sa, sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6));
	sockaddr_host(&ss, host, sizeof(host), &port);
	debug("%s: %s is %s, through the chain", d->dl->l->node->url, d->host,
	    host);
	if ((d->cd = chain_dial_start(d->dl->wk, d->dl->l, d->chain_ob, host,
	    d->port, 0, chain_cb_, d)) == NULL)
		dial_finish(d, NULL, ENOMEM);
}

static void
chain_cb_(void *arg, struct conn *c, int err)
{
	struct dial *d = arg;

	d->cd = NULL;
	if (c == NULL)
		debug("%s: %s:%u through the chain: %s", d->dl->l->node->url,
		    d->host, d->port, strerror(err));
	dial_finish(d, c, err);
}

static const struct outbound_conf direct_ob = { .type = OB_DIRECT };

/* Everything dial_start does; any outcome reaches dial_finish. */
static void
dial_begin(struct dial *d)
{
	struct dialer *dl = d->dl;
	const char *host = d->host;
	uint16_t port = d->port;
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;
	const struct conf *c = dl->wk->conf;
	const struct hosts_entry *he;
	const struct outbound_conf *ob;
	struct evutil_addrinfo hints;
	struct evdns_base *dns;
	int literal = 1;
	char portstr[8];

	sin = (struct sockaddr_in *)&d->addr;
	sin6 = (struct sockaddr_in6 *)&d->addr;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		d->addrlen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		d->addrlen = sizeof(*sin6);
	} else {
		literal = 0;
		if ((he = dialer_hosts(dl, host)) != NULL)
			dialer_hosts_addr(he, port, &d->addr, &d->addrlen);
	}
	if (d->flags & DIAL_NOCHECK) {
		if (d->addrlen == 0)
			dial_defer_fail(d, EHOSTUNREACH);
		else
			dial_addr(d, (struct sockaddr *)&d->addr, d->addrlen);
		return;
	}
	/* Bypass and permissions see what the client asked for. */
	if (dialer_allowed(dl, "tcp", host, port, NULL) != 0) {
		dial_defer_fail(d, EACCES);
		return;
	}
	/* remote forwarding's targets are ours: never through the chain */
	ob = dl->direct ? &direct_ob : &c->obs[router_pick(c, dl->idx,
	    d->addrlen ? (struct sockaddr *)&d->addr : NULL,
	    literal ? NULL : host, port)];
	if (ob->type == OB_BLOCK) {
		debug("%s: %s blocked by a routing rule", dl->l->node->url,
		    host);
		dial_defer_fail(d, EACCES);
		return;
	}
	if (ob->type == OB_CHAIN && chain_hops_for(ob, host, port) > 0) {
		/*
		 * As gost: a name in the listener's hosts file, or any name
		 * when the listener has its own dns=, is resolved here;
		 * otherwise the chain resolves it at its far end.
		 */
		d->chain_ob = ob;
		if (!literal && (he = hosts_lookup(dl->hosts, host)) != NULL) {
			dialer_hosts_addr(he, port, &d->addr, &d->addrlen);
			dial_chain(d, (struct sockaddr *)&d->addr);
			return;
		}
		if (literal || (dl->l->dns == NULL && dl->l->dns_path == NULL)) {
			if ((d->cd = chain_dial_start(dl->wk, dl->l, ob, host,
			    port, 0, chain_cb_, d)) == NULL)
				dial_defer_fail(d, ENOMEM);
			return;
		}
		if (d->addrlen != 0) {		/* /etc/hosts */
			dial_chain(d, (struct sockaddr *)&d->addr);
			return;
		}
		/* resolved below; dns_cb goes on through the chain */
	}
	if (d->addrlen == 0) {
		struct evdns_getaddrinfo_request *req;

		if ((dns = dialer_dns(dl)) == NULL) {
			dial_defer_fail(d, EHOSTUNREACH);
			return;
		}
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_protocol = IPPROTO_TCP;
		snprintf(portstr, sizeof(portstr), "%u", port);
		/*
		 * The callback may run before this returns; its outcome is
		 * then deferred (in_start) and req is not kept.
		 */
		req = evdns_getaddrinfo(dns, host, portstr, &hints, dns_cb, d);
		if (req != NULL)
			d->dnsreq = req;
		return;
	}
	if (dialer_allowed(dl, "tcp", host, port,
	    (struct sockaddr *)&d->addr) != 0) {
		dial_defer_fail(d, EACCES);
		return;
	}
	dial_addr(d, (struct sockaddr *)&d->addr, d->addrlen);
}

struct dial *
dial_start(struct dialer *dl, const char *host, uint16_t port, int flags,
    dial_cb cb, void *arg)
{
	struct dial *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->dl = dl;
	d->fd = -1;
	d->flags = flags;
	d->cb = cb;
	d->arg = arg;
	d->port = port;
	d->last_err = EHOSTUNREACH;
	snprintf(d->host, sizeof(d->host), "%s", host);
	d->in_start = 1;
	dial_begin(d);
	d->in_start = 0;
	return d;
}

void
dial_cancel(struct dial *d)
{
	if (d != NULL)
		dial_free(d);
}
