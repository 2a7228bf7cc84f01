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

#include <event2/event.h>
#include <event2/util.h>

#include "cfgfile.h"
#include "core/conn.h"
#include "core/dial.h"
#include "core/happy.h"
#include "core/resolve.h"
#include "log.h"
#include "match.h"
#include "proto/proto.h"
#include "worker.h"
#include "core/chain.h"
#include "core/reload.h"
#include "core/stats.h"
#include "ctlproto.h"

struct dial {
	struct dialer		*dl;
	char			 host[PROXY_HOST_MAX + 1];
	uint16_t		 port;
	int			 flags;
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	int			 fd;
	int			 last_err;
	struct happy		*hc;		/* a name, direct */
	struct resolve_req	*rr;		/* a name, for the chain */
	int			 rfail;		/* families that failed */
	struct event		*ev;
	struct chain_dial	*cd;
	const struct outbound_conf *chain_ob;	/* resolving for a chain */
	int			 in_start;	/* inside dial_start */
	struct conn		*res;		/* deferred result */
	uint32_t		 ob;		/* for the counters (stats.h) */
	uint32_t		 rule;
	int			 dns;		/* the name failed */
	struct stconn		*st;
	dial_cb			 cb;
	void			*arg;
};

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

/* A dns= file was (re)loaded: the listener's resolver follows it. */
static void
dns_file_changed(void *arg)
{
	struct dialer *dl = arg;

	if (dl->res == NULL) {
		dl->res = resolver_new(dl->wk, dl->dnsconf, dl->l->node->url);
		if (dl->res != NULL)
			resolver_set_egress(dl->res, &dl->egress);
	} else
		resolver_set_conf(dl->res, dl->dnsconf);
	/* the file's prefer, unless the listener has its own */
	if (dl->l->prefer == 0)
		dl->prefer = dl->dnsconf != NULL ? dl->dnsconf->prefer : 0;
}

int
dialer_init(struct dialer *dl, struct worker *wk,
    const struct listener_conf *l, size_t idx)
{
	memset(dl, 0, sizeof(*dl));
	dl->wk = wk;
	dl->l = l;
	dl->idx = idx;
	dl->prefer = l->prefer;
	conf_egress(wk->conf, l, &dl->egress);
	if (l->dns_path != NULL) {
		dl->own_res = 1;
		if (reload_register(wk, l->dns_path, RELOAD_RESOLVER,
		    (void **)&dl->dnsconf, dns_file_changed, dl) != 0)
			return -1;
		if (dl->res == NULL &&
		    (dl->res = resolver_new(wk, NULL, l->node->url)) == NULL)
			return -1;
	} else if (l->dns != NULL) {
		dl->own_res = 1;
		if ((dl->res = resolver_new(wk, l->dns, l->node->url)) == NULL)
			return -1;
	} else if ((dl->res = resolver_system(wk)) == NULL)
		return -1;
	/*
	 * The listener's own resolver asks its servers as the route's
	 * traffic leaves; the shared system resolver as -M/-I say.
	 */
	if (dl->own_res)
		resolver_set_egress(dl->res, &dl->egress);
	if (dl->prefer == 0)
		dl->prefer = resolver_prefer(dl->res);
	if ((l->bypass_path != NULL && reload_register(wk, l->bypass_path,
	    RELOAD_BYPASS, (void **)&dl->bypass_file, NULL, NULL) != 0) ||
	    (l->hosts_path != NULL && reload_register(wk, l->hosts_path,
	    RELOAD_HOSTS, (void **)&dl->hosts, NULL, NULL) != 0))
		return -1;
	return 0;
}

struct resolver *
dialer_resolver(const struct dialer *dl)
{
	return dl->res;
}

const struct hosts_entry *
dialer_hosts(const struct dialer *dl, const char *name)
{
	const struct hosts_entry *he;

	if ((he = hosts_lookup(dl->hosts, name)) == NULL)
		he = hosts_lookup(resolver_sys_hosts(dl->wk), name);
	return he;
}

void
sockaddr_set(struct sockaddr_storage *ss, socklen_t *len, int family,
    const void *addr, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, 16);
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
	}
}

int
sockaddr_literal(const char *host, uint16_t port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, host, a) == 1)
		sockaddr_set(ss, len, AF_INET, a, port);
	else if (inet_pton(AF_INET6, host, a) == 1)
		sockaddr_set(ss, len, AF_INET6, a, port);
	else
		return -1;
	return 0;
}

/* Loopback, private, link-local, unspecified, multicast, reserved. */
int
sockaddr_local(const struct sockaddr *sa)
{
	const struct in6_addr *a6;
	uint32_t a;

	if (sa->sa_family == AF_INET) {
		a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
		return (a >> 24) == 127 || (a >> 24) == 10 || (a >> 24) == 0 ||
		    (a >> 20) == 0xac1 || (a >> 16) == 0xc0a8 ||
		    (a >> 16) == 0xa9fe || (a >> 22) == 0x191 ||
		    (a >> 28) >= 14;
	}
	if (sa->sa_family != AF_INET6)
		return 1;
	a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(a6)) {
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, &a6->s6_addr[12], 4);
		return sockaddr_local((const struct sockaddr *)&sin);
	}
	return IN6_IS_ADDR_LOOPBACK(a6) || IN6_IS_ADDR_UNSPECIFIED(a6) ||
	    IN6_IS_ADDR_LINKLOCAL(a6) || IN6_IS_ADDR_SITELOCAL(a6) ||
	    (a6->s6_addr[0] & 0xfe) == 0xfc || IN6_IS_ADDR_MULTICAST(a6);
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
	if (sa != NULL && dl->public_only && sockaddr_local(sa)) {
		debug("%s: %s is a local address", l->node->url, hp);
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
int
sockaddr_same(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)b;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)b;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return a->ss_family == AF_INET6 && a6->sin6_port == b6->sin6_port &&
	    memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0;
}

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
	happy_cancel(d->hc);
	resolve_cancel(d->rr);
	chain_dial_cancel(d->cd);
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
	stats_dial_done(d->dl->wk, d->dl->idx, d->ob, d->rule,
	    c != NULL ? 0 : err != 0 ? err : EIO, d->dns, d->st);
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

static void dial_chain(struct dial *, const struct sockaddr *);

static void
connect_failed(struct dial *d, int err)
{
	debug("%s: %s:%u: %s", d->dl->l->node->url, d->host, d->port,
	    strerror(err));
	close(d->fd);
	d->fd = -1;
	dial_finish(d, NULL, err);
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
	return dial_socket_as(wk, &e, family, type);
}

int
dial_socket_as(struct worker *wk, const struct egress *e, int family,
    int type)
{
	struct egress g;

	if (e == NULL) {
		conf_egress(wk->conf, NULL, &g);
		e = &g;
	}
	if (conf_egress_any(e))
		return mm_socket(wk, family, type, e);
	return socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

/* One address: a literal, or a hosts file's. */
static void
dial_addr(struct dial *d, const struct sockaddr *sa, socklen_t len)
{
	struct worker *wk = d->dl->wk;
	unsigned long ms = d->dl->l->timeout_ms;
	struct timeval tv;

	d->fd = dial_socket(wk, d->dl->l, sa->sa_family, SOCK_STREAM);
	if (d->fd == -1) {
		dial_finish(d, NULL, errno);
		return;
	}
	if (connect(d->fd, sa, len) == -1 && errno != EINPROGRESS) {
		connect_failed(d, errno);
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

/* The errno a failed name gives the client (SOCKS and HTTP replies). */
static int
name_errno(int err)
{
	/* no such name: host unreachable; failed servers: general failure */
	return err == ENOENT || err == EINVAL ? EHOSTUNREACH : err;
}

/* Happy Eyeballs asks whether each address may be dialed. */
static int
addr_filter(void *arg, const struct sockaddr *sa)
{
	struct dial *d = arg;

	return dialer_allowed(d->dl, "tcp", d->host, d->port, sa) != 0 ?
	    EACCES : 0;
}

static void
happy_cb_(void *arg, int fd, const struct sockaddr *sa, socklen_t salen,
    int err)
{
	struct dial *d = arg;

	(void)sa;
	(void)salen;
	d->hc = NULL;
	if (fd == -1) {
		debug("%s: %s:%u: %s", d->dl->l->node->url, d->host, d->port,
		    resolve_strerror(err));
		d->dns = err == ENOENT || err == EINVAL;
		dial_finish(d, NULL, name_errno(err));
		return;
	}
	d->fd = fd;
	connected(d);
}

/* A name for the chain, resolved here: the first address it has. */
static void
chain_resolved(void *arg, const struct resolve_addrs *a, int err, int last)
{
	struct dial *d = arg;
	struct sockaddr_storage ss;
	socklen_t sl;

	if (last)
		d->rr = NULL;
	if (err != 0) {
		if (last) {
			debug("%s: %s: %s", d->dl->l->node->url, d->host,
			    resolve_strerror(err));
			d->dns = 1;
			dial_finish(d, NULL, name_errno(err));
		}
		return;
	}
	sockaddr_set(&ss, &sl, a->family, resolve_addr(a, 0), d->port);
	resolve_cancel(d->rr);
	d->rr = NULL;
	dial_chain(d, (struct sockaddr *)&ss);
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
	if ((d->cd = chain_dial_start(d->dl->wk, d->chain_ob, d->dl, host,
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

/* A name, direct: resolved and connected by Happy Eyeballs. */
static void
dial_name(struct dial *d, int check)
{
	struct dialer *dl = d->dl;
	struct happy_opts ho;

	memset(&ho, 0, sizeof(ho));
	ho.timeout_ms = dl->l->timeout_ms;
	ho.prefer = dl->prefer;
	ho.hosts = dl->hosts;
	ho.egress = &dl->egress;
	if (check) {
		ho.filter = addr_filter;
		ho.farg = d;
	}
	if ((d->hc = happy_connect(dl->wk, dl->res, d->host, d->port, &ho,
	    happy_cb_, d)) == NULL)
		dial_defer_fail(d, ENOMEM);
}

static const struct outbound_conf direct_ob = { .type = OB_DIRECT };

/* Everything dial_start does; any outcome reaches dial_finish. */
static void
dial_begin(struct dial *d)
{
	struct dialer *dl = d->dl;
	const char *host = d->host;
	uint16_t port = d->port;
	const struct conf *c = dl->wk->conf;
	const struct hosts_entry *he;
	const struct outbound_conf *ob;
	size_t obi, rule;
	int literal = 1;

	if (sockaddr_literal(host, port, &d->addr, &d->addrlen) != 0) {
		literal = 0;
		/* dial_start_at: the address the flow went to comes first */
		if (d->addrlen == 0 && (he = dialer_hosts(dl, host)) != NULL)
			sockaddr_set(&d->addr, &d->addrlen, he->family,
			    he->addr, port);
	}
	if (d->flags & DIAL_NOCHECK) {
		if (d->addrlen == 0)
			dial_name(d, 0);
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
	if (dl->direct)
		ob = &direct_ob;
	else {
		obi = router_pick_rule(c, dl->idx, d->addrlen ?
		    (struct sockaddr *)&d->addr : NULL, literal ? NULL : host,
		    port, &rule);
		ob = &c->obs[obi];
		d->ob = (uint32_t)obi;
		d->rule = rule == SIZE_MAX ? CTL_RULE_DEFAULT : (uint32_t)rule;
	}
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
			sockaddr_set(&d->addr, &d->addrlen, he->family,
			    he->addr, port);
			dial_chain(d, (struct sockaddr *)&d->addr);
			return;
		}
		if (literal || !dl->own_res) {
			if ((d->cd = chain_dial_start(dl->wk, ob, dl, host, port,
			    0, chain_cb_, d)) == NULL)
				dial_defer_fail(d, ENOMEM);
			return;
		}
		if (d->addrlen != 0) {		/* /etc/hosts */
			dial_chain(d, (struct sockaddr *)&d->addr);
			return;
		}
		/* resolved below; chain_resolved goes on through the chain */
	}
	if (d->addrlen == 0) {
		if (d->chain_ob != NULL) {
			/* the preferred family only, as gost */
			if ((d->rr = resolve_start(dl->res, host,
			    dl->prefer == AF_INET6 ? RESOLVE_V6 : RESOLVE_V4,
			    chain_resolved, d)) == NULL)
				dial_defer_fail(d, ENOMEM);
			return;
		}
		dial_name(d, 1);
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
	return dial_start_at(dl, host, NULL, 0, port, flags, cb, arg);
}

struct dial *
dial_start_at(struct dialer *dl, const char *host, const struct sockaddr *sa,
    socklen_t salen, uint16_t port, int flags, dial_cb cb, void *arg)
{
	struct dial *d;

	if (salen > sizeof(d->addr))
		return NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	if (sa != NULL && salen > 0) {
		memcpy(&d->addr, sa, salen);
		d->addrlen = salen;
	}
	d->dl = dl;
	d->fd = -1;
	d->flags = flags;
	d->cb = cb;
	d->arg = arg;
	d->port = port;
	d->last_err = EHOSTUNREACH;
	d->ob = d->rule = CTL_NONE;
	snprintf(d->host, sizeof(d->host), "%s", host);
	d->in_start = 1;
	stats_dns_for(dl->idx);		/* cache hits are counted inside */
	dial_begin(d);
	stats_dns_for(STATS_LIS_NONE);
	d->in_start = 0;
	return d;
}

void
dial_set_stats(struct dial *d, struct stconn *st)
{
	if (d == NULL)
		return;
	d->st = st;
	/* the name asked for, as the client gave it */
	stconn_target_once(st, d->host, d->port);
}

void
dial_cancel(struct dial *d)
{
	if (d != NULL)
		dial_free(d);
}
