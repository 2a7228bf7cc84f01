/*
 * Dialing through a chain of proxies: connect to the first hop, then ask
 * each hop in turn, through its transport and in its connector's
 * protocol (connector/), for the next one and the last for the target.  Everything is non-blocking and runs on
 * a connection (core/conn.h): a hop that adds a layer (Shadowsocks'
 * cipher, gost's SOCKS5 TLS method) pushes it, and the next hop talks
 * through it.  Bytes read past an answer are given back to the
 * connection for whoever reads next.  A failed attempt is retried from
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
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "cfgfile.h"
#include "core/conn.h"
#include "core/tls.h"
#include "err.h"
#include "log.h"
#include "match.h"
#include "proto/proto.h"
#include "proto/relay.h"
#include "proto/ss.h"
#include "proto/sscodec.h"
#include "ref.h"
#include "core/codec.h"
#include "core/dial.h"
#include "core/stats.h"
#include "core/happy.h"
#include "core/resolve.h"
#include "core/listen.h"
#include "mux/pool.h"
#include "mux/smux.h"
#include "transport/transport.h"
#include "worker.h"
#include "core/chain.h"
#include "core/dial.h"
#include "connector/connector.h"
#include "core/reload.h"

#define CHAIN_MAX_HOPS	16

/*
 * Runtime of a node group (gost's selector): fail counts per member and
 * the round-robin position, kept per worker; members are the base node,
 * its ip= alternatives and the nodes of its live peer= file.
 *
 * The members live in a generation that a peer file reload replaces as
 * a whole.  A generation is reference counted (ref.h): the group holds
 * one for its current generation, and a chain dial one for each
 * generation it picked a member from, for as long as it uses the
 * member's hop_conf or may count a failure against it.  A replaced
 * generation stops its probes at once and is freed by the last dial
 * still using it; what such a dial writes into it is never read again.
 */
struct grp_gen;

struct grp_member {
	const struct hop_conf	*h;
	unsigned int		 fails;
	struct timespec		 last_fail;
	long			 rtt_us;	/* last probe; < 0: none or failed */
	int			 probe_fd;
	struct event		*probe_ev;
	struct happy		*probe_hc;	/* a named member */
	struct timespec		 probe_start;
};

struct grp_gen {
	struct ref		 ref;		/* first: see ref.h */
	struct grp_member	*m;
	size_t			 nm;
	struct hop_conf		*peerhops;	/* peer file nodes */
	size_t			 npeerhops;
	int			 retired;	/* replaced */
};

struct grp {
	const struct hop_conf	*base;
	int			 first;
	unsigned int		 rr;
	struct grp_gen		*cur;		/* one ref held */
	struct peer_conf	*peers;		/* live-reloaded */
	struct ip_list		*ips;		/* live-reloaded */
	struct matcher_set	*bypass;	/* live-reloaded */
	enum group_strategy	 strategy;
	int			 max_fails;
	unsigned long		 fail_timeout_ms;
	struct worker		*wk;
	struct event		*probe_timer;	/* fastest_count */
	struct egress		 egress;	/* the probes' */
	struct grp		*next;
};

static struct grp *groups;

enum cd_state {
	CD_MUXSTART,		/* on a stream of a pooled session */
	CD_CONNECT,		/* to the first hop, then its transport */
	CD_HOP,			/* the hop's connector speaks */
};

struct chain_dial {
	struct worker			*wk;
	const struct outbound_conf	*ob;
	struct egress			 egress;	/* its route's */
	const struct dialer		*dl;	/* resolver, hosts: or NULL */
	char				 host[PROXY_HOST_MAX + 1];
	uint16_t			 port;
	size_t				 hop;
	int				 fd;		/* while connecting */
	struct happy			*hc;		/* ... to a name */
	struct conn			*c;		/* then */
	struct cbuf			 in;		/* answers read */
	struct cbuf			 out;		/* requests to send */
	int				 eof;
	enum cd_state			 state;
	int				 step;		/* connector's */
	struct event			*ev;		/* connect, timeout */
	unsigned int			 attempt;
	int				 err;
	int				 refused;	/* by the hop's answer */
	size_t				 nhops;		/* after bypass */
	const struct hop_conf		*sel[CHAIN_MAX_HOPS];
	struct grp_member		*selm[CHAIN_MAX_HOPS];
	struct grp_gen			*selg[CHAIN_MAX_HOPS]; /* held */
	unsigned int			 claimed;	/* mux hops it builds */
	struct muxwait			*mw;		/* for a session */
	int				 flags;
	chain_cb			 cb;
	void				*arg;
};

static void cd_attempt(struct chain_dial *);
static void cd_hop_done(struct chain_dial *);
static void cd_event(evutil_socket_t, short, void *);
static void cd_connected(struct chain_dial *);
static void cd_conn_cb(struct conn *, int, void *);
static int cd_transport(struct chain_dial *);
static int cd_mux(struct chain_dial *);
static void cd_mux_key(const struct chain_dial *, size_t, char *, size_t);
static void cd_unclaim(struct chain_dial *);

static void grp_probe_all(struct grp *);

static void
grp_probe_end(struct grp_member *m)
{
	if (m->probe_ev != NULL)
		event_free(m->probe_ev);
	m->probe_ev = NULL;
	if (m->probe_fd != -1)
		close(m->probe_fd);
	m->probe_fd = -1;
	happy_cancel(m->probe_hc);
	m->probe_hc = NULL;
}

static void
grp_gen_free(void *p)
{
	struct grp_gen *gen = p;
	size_t i;

	for (i = 0; i < gen->nm; i++)
		grp_probe_end(&gen->m[i]);
	free(gen->m);
	for (i = 0; i < gen->npeerhops; i++)
		conf_hop_free(&gen->peerhops[i]);
	free(gen->peerhops);
	free(gen);
}

/*
 * A new generation of members: the base node, its ip= alternatives and
 * peerhops (taken); the previous one is retired.
 */
static void
grp_rebuild(struct grp *g, struct hop_conf *peerhops, size_t npeerhops)
{
	struct grp_gen *gen, *old = g->cur;
	size_t i, n = 0;

	if ((gen = calloc(1, sizeof(*gen))) == NULL)
		fatal_f("out of memory");
	ref_init(gen, grp_gen_free);
	gen->peerhops = peerhops;
	gen->npeerhops = npeerhops;
	gen->nm = 1 + g->base->nalts + npeerhops;
	if ((gen->m = calloc(gen->nm, sizeof(*gen->m))) == NULL)
		fatal_f("out of memory");
	gen->m[n++].h = g->base;
	for (i = 0; i < g->base->nalts; i++)
		gen->m[n++].h = &g->base->alts[i];
	for (i = 0; i < npeerhops; i++)
		gen->m[n++].h = &peerhops[i];
	for (i = 0; i < gen->nm; i++) {
		gen->m[i].rtt_us = -1;
		gen->m[i].probe_fd = -1;
	}
	g->cur = gen;
	if (old != NULL) {
		/* its probes would only measure for nobody */
		for (i = 0; i < old->nm; i++)
			grp_probe_end(&old->m[i]);
		old->retired = 1;
		ref_put(old);
	}
	if (g->base->fastest_count > 0 && g->wk != NULL)
		grp_probe_all(g);
}

/*
 * fastest_count: a TCP connect to each member that has an address
 * measures its latency; probes repeat every 180-300 s (gost's random
 * cache time) and only the fastest members are picked from.
 */
static void
grp_probe_done(struct grp_member *m, int err)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	m->rtt_us = err != 0 ? -1 : (now.tv_sec - m->probe_start.tv_sec) *
	    1000000 + (now.tv_nsec - m->probe_start.tv_nsec) / 1000;
	debug("probe %s:%u: %s%ld us", m->h->host, m->h->port,
	    err ? "failed, " : "", m->rtt_us);
	grp_probe_end(m);
}

static void
grp_probe_cb(evutil_socket_t fd, short what, void *arg)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (what & EV_TIMEOUT)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	grp_probe_done(arg, err);
}

/* A named member's probe: the name's resolution counts as well. */
static void
grp_probe_happy_cb(void *arg, int fd, const struct sockaddr *sa,
    socklen_t salen, int err)
{
	struct grp_member *m = arg;

	(void)sa;
	(void)salen;
	m->probe_hc = NULL;
	if (fd != -1)
		close(fd);
	grp_probe_done(m, err);
}

static void
grp_probe_all(struct grp *g)
{
	struct timeval tv = { 5, 0 }, again;
	struct grp_gen *gen = ref_get(g->cur);
	size_t i;

	for (i = 0; i < gen->nm && !gen->retired; i++) {
		struct grp_member *m = &gen->m[i];

		if (m->probe_fd != -1 || m->probe_hc != NULL)
			continue;
		/* as the route's traffic leaves, or it measures another path */
		if (m->h->addrlen == 0) {
			struct happy_opts ho;

			memset(&ho, 0, sizeof(ho));
			ho.timeout_ms = 5000;
			ho.egress = &g->egress;
			clock_gettime(CLOCK_MONOTONIC, &m->probe_start);
			m->probe_hc = happy_connect(g->wk,
			    resolver_system(g->wk), m->h->host, m->h->port,
			    &ho, grp_probe_happy_cb, m);
			continue;
		}
		m->probe_fd = dial_socket_as(g->wk, &g->egress,
		    m->h->addr.ss_family, SOCK_STREAM);
		if (m->probe_fd == -1)
			continue;
		if (gen->retired) {
			/* replaced meanwhile: the new one probes itself */
			grp_probe_end(m);
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &m->probe_start);
		if (connect(m->probe_fd, (const struct sockaddr *)&m->h->addr,
		    m->h->addrlen) == -1 && errno != EINPROGRESS) {
			m->rtt_us = -1;
			close(m->probe_fd);
			m->probe_fd = -1;
			continue;
		}
		m->probe_ev = event_new(g->wk->base, m->probe_fd, EV_WRITE,
		    grp_probe_cb, m);
		event_add(m->probe_ev, &tv);
	}
	ref_put(gen);
	again.tv_sec = 180 + (time_t)arc4random_uniform(121);
	again.tv_usec = 0;
	event_add(g->probe_timer, &again);
}

static void
grp_probe_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	grp_probe_all(arg);
}

/*
 * An ip= or a peer= file changed: the members of the ip= file (copies
 * of the base at their addresses) and the peer file's nodes replace the
 * previous ones.  An entry that makes no member is logged and left out.
 */
static void
grp_members_changed(void *arg)
{
	struct grp *g = arg;
	const struct peer_conf *pc = g->peers;
	const struct ip_list *ipl = g->ips;
	struct hop_conf *hops = NULL;
	size_t i, n = 0, max;
	char err[512];

	g->strategy = g->base->strategy;
	g->max_fails = g->base->max_fails;
	g->fail_timeout_ms = g->base->fail_timeout_ms;
	if (pc != NULL && pc->has_strategy)
		g->strategy = (enum group_strategy)pc->strategy;
	if (pc != NULL && pc->has_max_fails)
		g->max_fails = pc->max_fails;
	if (pc != NULL && pc->has_fail_timeout)
		g->fail_timeout_ms = pc->fail_timeout_ms;
	max = (ipl != NULL ? ipl->n : 0) + (pc != NULL ? pc->nurls : 0);
	if (max > 0 && (hops = calloc(max, sizeof(*hops))) == NULL)
		fatal_f("out of memory");
	for (i = 0; ipl != NULL && i < ipl->n; i++) {
		if (conf_hop_alt(&hops[n], g->base, ipl->addrs[i], err,
		    sizeof(err)) != 0) {
			error("%s: %s", g->base->ip_path, err);
			continue;
		}
		n++;
	}
	for (i = 0; pc != NULL && i < pc->nurls; i++) {
		if (conf_hop_build(&hops[n], pc->urls[i], g->first, err,
		    sizeof(err)) != 0) {
			error("peer %s: %s", pc->urls[i], err);
			continue;
		}
		/* the monitor lets us read only what the configuration names */
		if (hops[n].bypass_path != NULL || hops[n].ip_path != NULL ||
		    hops[n].peer_path != NULL) {
			error("peer %s: bypass, ip and peer files are not read "
			    "for the nodes of a peer file", pc->urls[i]);
			conf_hop_free(&hops[n]);
			continue;
		}
		n++;
	}
	grp_rebuild(g, hops, n);
}

static struct grp *
grp_find(const struct hop_conf *base)
{
	struct grp *g;

	for (g = groups; g != NULL; g = g->next)
		if (g->base == base)
			return g;
	return NULL;
}

/* The group of a chain position (ob: its outbound's index). */
static struct grp *
grp_get(struct worker *wk, size_t ob, const struct hop_conf *base, int first)
{
	struct grp *g;

	for (g = groups; g != NULL; g = g->next)
		if (g->base == base)
			return g;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		fatal_f("out of memory");
	g->base = base;
	g->first = first;
	g->wk = wk;
	conf_outbound_egress(wk->conf, ob, &g->egress);
	g->strategy = base->strategy;
	g->max_fails = base->max_fails;
	g->fail_timeout_ms = base->fail_timeout_ms;
	g->probe_timer = evtimer_new(wk->base, grp_probe_timer_cb, g);
	g->next = groups;
	groups = g;
	grp_rebuild(g, NULL, 0);
	return g;
}

/* Load the peer= files of every chain: part of the worker's start. */
int
chain_init(struct worker *wk)
{
	const struct conf *c = wk->conf;
	struct grp *g;
	size_t i, j;

	for (i = 0; i < c->nobs; i++) {
		for (j = 0; j < c->obs[i].nhops; j++) {
			const struct hop_conf *h = &c->obs[i].hops[j];

			if (j >= CHAIN_MAX_HOPS) {
				error("chain %s: more than %d hops", c->obs[i].tag,
				    CHAIN_MAX_HOPS);
				return -1;
			}
			if (tp_has_tls(&h->tp) &&
			    tls_client_ctx(wk, &h->tp) == NULL) {
				error("chain %s: %s: no TLS context",
				    c->obs[i].tag, h->node->url);
				return -1;
			}
			g = grp_get(wk, i, h, j == 0);
			if (h->ip_path != NULL && g->ips == NULL &&
			    reload_register(wk, h->ip_path, RELOAD_IPS,
			    (void **)&g->ips, grp_members_changed, g) != 0)
				return -1;
			if (h->peer_path != NULL && g->peers == NULL &&
			    reload_register(wk, h->peer_path, RELOAD_PEERS,
			    (void **)&g->peers, grp_members_changed, g) != 0)
				return -1;
			if (h->bypass_path != NULL && g->bypass == NULL &&
			    reload_register(wk, h->bypass_path, RELOAD_BYPASS,
			    (void **)&g->bypass, NULL, NULL) != 0)
				return -1;
		}
	}
	return 0;
}

static long
ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 +
	    (now.tv_nsec - t->tv_nsec) / 1000000;
}

/*
 * Pick a member: members that failed max_fails times within fail_timeout
 * are skipped (unless that leaves none: then all count), then round
 * robin, random or the first.
 */
static struct grp_member *
grp_pick(struct grp *g)
{
	struct grp_gen *gen = g->cur;
	struct grp_member *ok[64];
	size_t n = 0, i;

	for (i = 0; i < gen->nm && n < 64; i++) {
		struct grp_member *m = &gen->m[i];

		if (gen->nm > 1 && g->max_fails > 0 &&
		    m->fails >= (unsigned int)g->max_fails &&
		    ms_since(&m->last_fail) < (long)g->fail_timeout_ms)
			continue;
		ok[n++] = m;
	}
	if (n == 0)
		for (i = 0; i < gen->nm && n < 64; i++)
			ok[n++] = &gen->m[i];
	if (g->base->fastest_count > 0 && n > 1) {
		/* the fastest first (unmeasured last), keep fastest_count */
		size_t j;

		for (i = 1; i < n; i++)
			for (j = i; j > 0 && (ok[j - 1]->rtt_us < 0 ||
			    (ok[j]->rtt_us >= 0 &&
			    ok[j]->rtt_us < ok[j - 1]->rtt_us)); j--) {
				struct grp_member *t = ok[j];

				if (ok[j - 1]->rtt_us < 0 && ok[j]->rtt_us < 0)
					break;
				ok[j] = ok[j - 1];
				ok[j - 1] = t;
			}
		if (n > g->base->fastest_count)
			n = g->base->fastest_count;
	}
	switch (g->strategy) {
	case STRATEGY_RANDOM:
		return ok[arc4random_uniform((uint32_t)n)];
	case STRATEGY_FIFO:
		return ok[0];
	default:
		return ok[g->rr++ % n];
	}
}

/* The address hop i is asked for: the next hop, or the target. */
static void
cd_next(const struct chain_dial *cd, const char **host, uint16_t *port)
{
	if (cd->hop + 1 < cd->nhops) {
		*host = cd->sel[cd->hop + 1]->host;
		*port = cd->sel[cd->hop + 1]->port;
	} else {
		*host = cd->host;
		*port = cd->port;
	}
}

/*
 * Wait for the hop: for the connect on fd (EV_WRITE), else for its
 * answer on the connection (and for room, while a request waits).
 * Each step has the hop's timeout.
 */
static void
cd_wait(struct chain_dial *cd, short what)
{
	const struct hop_conf *h = cd->sel[cd->hop];
	struct timeval tv;

	if (cd->ev != NULL)
		event_free(cd->ev);
	if (cd->c == NULL)
		cd->ev = event_new(cd->wk->base, cd->fd, what, cd_event, cd);
	else {
		cd->ev = evtimer_new(cd->wk->base, cd_event, cd);
		conn_want(cd->c, CONN_READ |
		    (cd->out.len > 0 ? CONN_WRITE : 0));
	}
	if (cd->ev == NULL)
		fatal_f("out of memory");
	tv.tv_sec = (time_t)(h->timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(h->timeout_ms % 1000) * 1000;
	event_add(cd->ev, h->timeout_ms ? &tv : NULL);
}

/* Let go of the member generations the dial picked from. */
static void
cd_release(struct chain_dial *cd)
{
	size_t i;

	for (i = 0; i < CHAIN_MAX_HOPS; i++) {
		ref_put(cd->selg[i]);
		cd->selg[i] = NULL;
		cd->selm[i] = NULL;
		cd->sel[i] = NULL;
	}
}

/* The connection and what was read of it, the socket: all let go. */
static void
cd_drop(struct chain_dial *cd)
{
	happy_cancel(cd->hc);
	cd->hc = NULL;
	if (cd->ev != NULL)
		event_free(cd->ev);
	cd->ev = NULL;
	if (cd->fd != -1)
		close(cd->fd);
	cd->fd = -1;
	conn_free(cd->c);
	cd->c = NULL;
	cbuf_release(&cd->in);
	cbuf_release(&cd->out);
	cd->eof = 0;
	cd_unclaim(cd);
	muxpool_unwait(cd->mw);
	cd->mw = NULL;
}

/* Sessions this dial was to build and did not: others may now. */
static void
cd_unclaim(struct chain_dial *cd)
{
	char key[400];
	size_t i;

	for (i = 0; cd->claimed != 0 && i < cd->nhops; i++)
		if (cd->claimed & (1U << i)) {
			cd_mux_key(cd, i, key, sizeof(key));
			muxpool_abandon(key);
			cd->claimed &= ~(1U << i);
		}
}

static void
cd_finish(struct chain_dial *cd, struct conn *c, int err)
{
	chain_cb cb = cd->cb;
	void *arg = cd->arg;

	cd_drop(cd);
	cd_release(cd);
	free(cd);
	cb(arg, c, err);
}

static void
cd_fail(struct chain_dial *cd, int err)
{
	unsigned int tries = cd->ob->retries > 0 ? cd->ob->retries : 1;
	const char *why;

	/* a certificate that does not verify is the configuration's matter */
	if ((why = tls_verify_error(cd->c)) != NULL)
		error("chain %s: hop %zu (%s:%u): TLS: the server's certificate: "
		    "%s", cd->ob->tag, cd->hop, cd->sel[cd->hop]->host,
		    cd->sel[cd->hop]->port, why);
	if (!cd->refused)
		debug("chain %s: hop %zu (%s:%u): %s (state %d.%d, %zu read, "
		    "%zu to send)", cd->ob->tag, cd->hop,
		    cd->sel[cd->hop]->host, cd->sel[cd->hop]->port,
		    strerror(err), (int)cd->state, cd->step, cd->in.len,
		    cd->out.len);
	/* count it against the member of the group that failed */
	if (!cd->refused && cd->selm[cd->hop] != NULL) {
		cd->selm[cd->hop]->fails++;
		clock_gettime(CLOCK_MONOTONIC, &cd->selm[cd->hop]->last_fail);
	}
	cd_drop(cd);
	cd->err = err;
	cd->refused = 0;
	if (++cd->attempt < tries) {
		cd_attempt(cd);
		return;
	}
	cd_finish(cd, NULL, err);
}

/* Send what waits; 0, or -1 when the dial failed. */
static int
cd_flush(struct chain_dial *cd)
{
	if (conn_send_buf(cd->c, &cd->out) != 0) {
		cd_fail(cd, errno ? errno : EPIPE);
		return -1;
	}
	if (cd->out.len == 0)
		cbuf_release(&cd->out);
	return 0;
}

/* Queue a request and send what goes; 0, or -1 when the dial failed. */
static int
cd_send(struct chain_dial *cd, const void *p, size_t len)
{
	if (cbuf_alloc(&cd->out, 2048) != 0 ||
	    cbuf_append(&cd->out, p, len) != 0) {
		cd_fail(cd, ENOMEM);
		return -1;
	}
	return cd_flush(cd);
}

/*
 * A layer goes on top: what was read past the last answer belongs to
 * the connection below it.  0, or -1 when the dial failed.
 */
static int
cd_push(struct chain_dial *cd, struct conn *(*push)(struct conn *,
    const void *), const void *arg)
{
	if (conn_unread(cd->c, cd->in.p + cd->in.off, cd->in.len) != 0) {
		cd_fail(cd, ENOMEM);
		return -1;
	}
	cbuf_release(&cd->in);
	if ((cd->c = push(cd->c, arg)) == NULL) {
		cd_fail(cd, ENOMEM);
		return -1;
	}
	conn_set_cb(cd->c, cd_conn_cb, cd);
	return 0;
}

static struct conn *
push_codec(struct conn *c, const void *arg)
{
	if (arg == NULL) {
		conn_free(c);
		return NULL;
	}
	return conn_codec_push(c, (struct codec *)(uintptr_t)arg);
}

static struct conn *
push_tls(struct conn *c, const void *arg)
{
	return tls_client_push(c, arg);
}

/* The pool's name of hop i's session: transport, address, path. */
static void
cd_mux_key(const struct chain_dial *cd, size_t i, char *key, size_t len)
{
	const struct hop_conf *h = cd->sel[i];

	static const char *const names[] = {
		[TP_MTLS] = "mtls", [TP_MWS] = "mws", [TP_MWSS] = "mwss",
		[TP_H2] = "h2", [TP_H2C] = "h2c", [TP_HTTP2] = "http2",
	};
	const char *name = (size_t)h->tp.kind < sizeof(names) /
	    sizeof(names[0]) && names[h->tp.kind] != NULL ?
	    names[h->tp.kind] : "mux";

	/* also what its log lines name: the node as a user wrote it */
	snprintf(key, len, "%s://%s:%u%s (hop %zu)", name, h->host, h->port,
	    h->tp.path != NULL ? h->tp.path : "", i + 1);
	/* a session leaving with one route's mark is not another's */
	if (conf_egress_any(&cd->egress))
		snprintf(key + strlen(key), len - strlen(key), " mark %#x%s%s",
		    cd->egress.mark, cd->egress.iface[0] != '\0' ? " dev " : "",
		    cd->egress.iface);
}

/*
 * The connection built so far becomes a pooled session for this hop,
 * and the dial goes on over a stream of it.  0, or -1 (dial failed).
 */
static int
cd_mux(struct chain_dial *cd)
{
	const struct tp_conf *tp = &cd->sel[cd->hop]->tp;
	struct pooled_session *s;
	char key[400];

	cd_mux_key(cd, cd->hop, key, sizeof(key));
	s = muxpool_open(key, cd->c, tp);
	cd->claimed &= ~(1U << cd->hop);
	cd->c = NULL;
	/* http2: the hop's request makes the stream (its connector) */
	if (s != NULL && tp->kind == TP_HTTP2)
		return 0;
	if (s == NULL || (cd->c = muxpool_stream(s, tp)) == NULL) {
		cd_fail(cd, ENOMEM);
		return -1;
	}
	conn_set_cb(cd->c, cd_conn_cb, cd);
	return 0;
}

static void
cd_pool_ready(void *arg)
{
	struct chain_dial *cd = arg;

	cd->mw = NULL;
	cd_attempt(cd);
}

/*
 * A live session of a multiplexed hop cuts the route (gost): the dial
 * starts on a new stream of the furthest such hop.  One being built by
 * another dial is waited for.  1 if the dial goes on so; else it builds
 * the sessions of its multiplexed hops itself (claimed).
 */
static int
cd_from_pool(struct chain_dial *cd)
{
	struct timeval tv = { 0, 0 };
	struct pooled_session *s;
	char key[400];
	size_t i;

	for (i = cd->nhops; i-- > 0; ) {
		if (!tp_is_mux(&cd->sel[i]->tp))
			continue;
		cd_mux_key(cd, i, key, sizeof(key));
		if ((s = muxpool_get(key)) == NULL &&
		    (cd->mw = muxpool_wait(key, cd_pool_ready, cd)) != NULL)
			return 1;
		if (s == NULL || (cd->sel[i]->tp.kind != TP_HTTP2 &&
		    (cd->c = muxpool_stream(s, &cd->sel[i]->tp)) == NULL))
			continue;
		if (cd->c != NULL)
			conn_set_cb(cd->c, cd_conn_cb, cd);
		cd->hop = i;
		cd->state = CD_MUXSTART;
		/* the request goes out from the event loop, never in start */
		if ((cd->ev = evtimer_new(cd->wk->base, cd_event, cd)) == NULL)
			fatal_f("out of memory");
		event_add(cd->ev, &tv);
		return 1;
	}
	for (i = 0; i < cd->nhops; i++) {
		if (!tp_is_mux(&cd->sel[i]->tp))
			continue;
		cd_mux_key(cd, i, key, sizeof(key));
		if (muxpool_claim(cd->wk, key) == 1)
			cd->claimed |= 1U << i;
	}
	return 0;
}

static struct conn *
push_ws(struct conn *c, const void *arg)
{
	const struct tp_conf *tp = arg;

	return ws_client_push(c, tp->path, tp->wshost, tp->agent);
}

static int
cd_push_tls(struct chain_dial *cd, SSL_CTX *ctx, const struct tp_conf *tp)
{
	if (conn_unread(cd->c, cd->in.p + cd->in.off, cd->in.len) != 0) {
		cd_fail(cd, ENOMEM);
		return -1;
	}
	cbuf_release(&cd->in);
	if ((cd->c = tls_client_push_ctx(cd->c, ctx, tp->sni,
	    tp->secure)) == NULL) {
		cd_fail(cd, ENOMEM);
		return -1;
	}
	conn_set_cb(cd->c, cd_conn_cb, cd);
	return 0;
}

/* What the connector's step returned: on, wait, or nothing (failed). */
static void
cd_step_result(struct chain_dial *cd, int r)
{
	if (r == HOP_DONE)
		cd_hop_done(cd);
	else if (r == HOP_WAIT)
		cd_wait(cd, EV_READ);
}

/* Ask hop cd->hop for the next address in its protocol. */
static void
cd_request(struct chain_dial *cd)
{
	const struct hop_conf *h = cd->sel[cd->hop];

	cd->state = CD_HOP;
	cd->step = 0;
	cd_step_result(cd, connector_for(h->kind)->request(cd, h));
}

/* Hop done: the next one, or the caller. */
static void
cd_hop_done(struct chain_dial *cd)
{
	struct conn *c;
	size_t i;

	if (++cd->hop < cd->nhops) {
		if (cd_transport(cd) == 0)
			cd_request(cd);
		return;
	}
	for (i = 0; i < cd->nhops; i++)
		if (cd->selm[i] != NULL)
			cd->selm[i]->fails = 0;
	/* the tunnel's first bytes, if they came with the last answer */
	if (conn_unread(cd->c, cd->in.p + cd->in.off, cd->in.len) != 0) {
		cd_fail(cd, ENOMEM);
		return;
	}
	c = cd->c;
	cd->c = NULL;
	conn_want(c, 0);
	conn_set_cb(c, NULL, NULL);
	cd_finish(cd, c, 0);
}

/*
 * Read what the hop sent so far; -1 on a failure other than EOF (which
 * cd->eof records: an answer cut short is the hop's failure).
 */
static int
cd_fill(struct chain_dial *cd)
{
	size_t room;
	ssize_t n;

	if (cbuf_alloc(&cd->in, HTTP_HEAD_MAX + 1) != 0)
		return -1;
	while (!cd->eof && (room = cbuf_room(&cd->in)) > 0) {
		n = conn_recv(cd->c, cbuf_tail(&cd->in), room);
		if (n > 0)
			cd->in.len += (size_t)n;
		else if (n == 0)
			cd->eof = 1;
		else if (errno == EAGAIN)
			return 0;
		else
			return -1;
	}
	return 0;
}

/* want bytes of the answer: 0 with them in p, 1 to wait, -1 failed. */
static int
cd_take(struct chain_dial *cd, unsigned char *p, size_t want)
{
	if (cd->in.len < want)
		return cd->eof ? -1 : 1;
	memcpy(p, cd->in.p + cd->in.off, want);
	cbuf_consume(&cd->in, want);
	return 0;
}

static void
cd_input(struct chain_dial *cd)
{
	const struct hop_conf *h = cd->sel[cd->hop];

	const struct connector *ct = connector_for(h->kind);

	/* an answer a session has read (HTTP/2's) is not in the bytes */
	if (!ct->session_answers && cd_fill(cd) != 0) {
		cd_fail(cd, errno ? errno : EPROTO);
		return;
	}
	if (cd->state != CD_HOP)
		return;
	cd_step_result(cd, ct->reply(cd, h));
}

/*
 * What connectors (connector/connector.h) may do with the hop they
 * speak to.
 */
void
hop_next(const struct chain_dial *cd, const char **host, uint16_t *port)
{
	cd_next(cd, host, port);
}

int
hop_last(const struct chain_dial *cd)
{
	return cd->hop + 1 == cd->nhops;
}

int
hop_flags(const struct chain_dial *cd)
{
	return cd->flags;
}

int *
hop_step(struct chain_dial *cd)
{
	return &cd->step;
}

int
hop_fail(struct chain_dial *cd, int err)
{
	cd_fail(cd, err);
	return HOP_FAILED;
}

int
hop_refused(struct chain_dial *cd, int err, const char *why)
{
	const char *host;
	uint16_t port;

	/* the hop works; it says the next address does not */
	cd_next(cd, &host, &port);
	debug("chain %s: hop %zu (%s:%u) could not reach %s:%u: %s",
	    cd->ob->tag, cd->hop, cd->sel[cd->hop]->host,
	    cd->sel[cd->hop]->port, host, port, why);
	cd->refused = 1;
	cd_fail(cd, err);
	return HOP_FAILED;
}

int
hop_send(struct chain_dial *cd, const void *p, size_t len)
{
	return cd_send(cd, p, len) == 0 ? 0 : HOP_FAILED;
}

const unsigned char *
hop_input(struct chain_dial *cd, size_t *len, int *eof)
{
	*len = cd->in.len;
	*eof = cd->eof;
	return cd->in.p + cd->in.off;
}

void
hop_consume(struct chain_dial *cd, size_t n)
{
	cbuf_consume(&cd->in, n);
}

int
hop_take(struct chain_dial *cd, unsigned char *p, size_t want)
{
	return cd_take(cd, p, want);
}

struct conn *
hop_conn(struct chain_dial *cd)
{
	return cd->c;
}

/* The pooled session of a multiplexing hop (http2's), or NULL. */
struct pooled_session *
hop_session(struct chain_dial *cd)
{
	char key[600];

	cd_mux_key(cd, cd->hop, key, sizeof(key));
	return muxpool_get(key);
}

struct worker *
hop_worker(struct chain_dial *cd)
{
	return cd->wk;
}

const struct egress *
hop_egress(struct chain_dial *cd)
{
	return &cd->egress;
}

struct resolver *
hop_resolver(struct chain_dial *cd)
{
	return cd->dl != NULL ? cd->dl->res : resolver_system(cd->wk);
}

/* A stream of that session becomes the hop's connection. */
void
hop_set_conn(struct chain_dial *cd, struct conn *c)
{
	cd->c = c;
	conn_set_cb(c, cd_conn_cb, cd);
}

int
hop_push_tls(struct chain_dial *cd, const char *sni)
{
	return cd_push(cd, push_tls, sni) == 0 ? 0 : HOP_FAILED;
}

int
hop_push_codec(struct chain_dial *cd, struct codec *c)
{
	return cd_push(cd, push_codec, c) == 0 ? 0 : HOP_FAILED;
}

static void
cd_conn_cb(struct conn *c, int what, void *arg)
{
	struct chain_dial *cd = arg;

	(void)c;
	if ((what & CONN_WRITE) && cd_flush(cd) != 0)
		return;
	if (what & CONN_READ)
		cd_input(cd);
	else
		cd_wait(cd, EV_READ);
}

static void
cd_event(evutil_socket_t fd, short what, void *arg)
{
	struct chain_dial *cd = arg;
	socklen_t len = sizeof(int);
	int err = 0;

	if (cd->state == CD_MUXSTART) {
		event_free(cd->ev);
		cd->ev = NULL;
		cd->state = CD_CONNECT;
		cd_request(cd);
		return;
	}
	if (what & EV_TIMEOUT) {
		cd_fail(cd, ETIMEDOUT);
		return;
	}
	/* CD_CONNECT: the socket becomes the connection */
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		cd_fail(cd, err);
		return;
	}
	event_free(cd->ev);
	cd->ev = NULL;
	cd_connected(cd);
}

/* Connected to the first hop (cd->fd): its transport, its request. */
static void
cd_connected(struct chain_dial *cd)
{
	int one = 1;

	setsockopt(cd->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	cd->c = conn_socket(cd->wk, cd->fd);
	cd->fd = -1;
	if (cd->c == NULL) {
		cd_fail(cd, ENOMEM);
		return;
	}
	conn_set_cb(cd->c, cd_conn_cb, cd);
	if (cd_transport(cd) == 0)
		cd_request(cd);
}

/*
 * The hop's transport, over the connection so far (the first hop's
 * socket, or the tunnel through the hops before).  0, or -1 when the
 * dial failed.
 */
static int
cd_transport(struct chain_dial *cd)
{
	const struct tp_conf *tp = &cd->sel[cd->hop]->tp;
	SSL_CTX *ctx;

	switch (tp->kind) {
	case TP_TLS:
	case TP_WSS:
	case TP_MTLS:
	case TP_MWSS:
		if ((ctx = tls_client_ctx(cd->wk, tp)) == NULL) {
			cd_fail(cd, EPROTO);
			return -1;
		}
		if (cd_push_tls(cd, ctx, tp) != 0)
			return -1;	/* cd is gone or tries again */
		if (tp->kind == TP_TLS)
			return 0;
		if (tp->kind == TP_MTLS)
			return cd_mux(cd);
		if (cd_push(cd, push_ws, tp) != 0)
			return -1;
		return tp->kind == TP_MWSS ? cd_mux(cd) : 0;
	case TP_WS:
		return cd_push(cd, push_ws, tp);
	case TP_MWS:
		if (cd_push(cd, push_ws, tp) != 0)
			return -1;
		return cd_mux(cd);
	case TP_H2:
	case TP_HTTP2:		/* TLS with ALPN h2, and the node's session */
		if ((ctx = tls_client_ctx(cd->wk, tp)) == NULL) {
			cd_fail(cd, EPROTO);
			return -1;
		}
		if (cd_push_tls(cd, ctx, tp) != 0)
			return -1;
		if (tls_set_alpn(cd->c, "h2") != 0) {
			cd_fail(cd, ENOMEM);
			return -1;
		}
		return cd_mux(cd);
	case TP_H2C:
		return cd_mux(cd);
	case TP_OHTTP:
		return cd_push(cd, push_codec, ohttp_codec(0, tp->sni));
	case TP_OTLS:
		return cd_push(cd, push_codec, otls_codec(0, tp->sni));
	default:
		return 0;
	}
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
cd_happy_cb(void *arg, int fd, const struct sockaddr *sa, socklen_t salen,
    int err)
{
	struct chain_dial *cd = arg;

	(void)sa;
	(void)salen;
	cd->hc = NULL;
	if (fd == -1) {
		if (err == ENOENT || err == EINVAL || err == EIO)
			debug("chain %s: hop 0 (%s:%u): %s", cd->ob->tag,
			    cd->sel[0]->host, cd->sel[0]->port,
			    resolve_strerror(err));
		cd_fail(cd, err == ENOENT || err == EINVAL || err == EIO ?
		    EHOSTUNREACH : err);
		return;
	}
	cd->fd = fd;
	cd_connected(cd);
}

static void
cd_attempt(struct chain_dial *cd)
{
	const struct hop_conf *h;
	size_t i;

	/*
	 * Each attempt chooses every position's node anew, and keeps the
	 * generation it came from (a peer file may replace it meanwhile).
	 */
	for (i = 0; i < cd->nhops; i++) {
		struct grp *g = grp_get(cd->wk, (size_t)(cd->ob -
		    cd->wk->conf->obs), &cd->ob->hops[i], i == 0);
		struct grp_gen *prev = cd->selg[i];

		cd->selg[i] = ref_get(g->cur);
		ref_put(prev);
		cd->selm[i] = grp_pick(g);
		cd->sel[i] = cd->selm[i]->h;
	}
	if (cd_from_pool(cd))
		return;
	h = cd->sel[0];
	cd->hop = 0;
	if (h->kind == HOP_OSTP) {
		struct timeval tv = { 0, 0 };

		/* a flow of the node's tunnel: no socket of our own; the
		   request goes out from the loop, never in start */
		cd->state = CD_MUXSTART;
		if ((cd->ev = evtimer_new(cd->wk->base, cd_event,
		    cd)) == NULL)
			fatal_f("out of memory");
		event_add(cd->ev, &tv);
		return;
	}
	cd->state = CD_CONNECT;
	if (h->addrlen == 0) {
		/* a name: resolved at each dial, connected by RFC 8305 */
		struct happy_opts ho;

		memset(&ho, 0, sizeof(ho));
		ho.timeout_ms = h->timeout_ms;
		ho.egress = &cd->egress;
		/* as gost: the listener's resolver and hosts file */
		if (cd->dl != NULL) {
			ho.prefer = cd->dl->prefer;
			ho.hosts = cd->dl->hosts;
		}
		stats_dns_for(cd->dl != NULL ? cd->dl->idx : STATS_LIS_NONE);
		cd->hc = happy_connect(cd->wk, cd->dl != NULL ?
		    cd->dl->res : resolver_system(cd->wk), h->host, h->port,
		    &ho, cd_happy_cb, cd);
		stats_dns_for(STATS_LIS_NONE);
		if (cd->hc == NULL)
			cd_defer_fail(cd, ENOMEM);
		return;
	}
	/* the route's mark and interface go on the socket leaving us */
	cd->fd = dial_socket_as(cd->wk, &cd->egress, h->addr.ss_family,
	    SOCK_STREAM);
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

/*
 * How many hops a connection to host:port takes: a hop whose bypass
 * list matches the target ends the chain before it (gost), so the
 * previous hop, or nobody (0: go direct), connects to the target.
 */
size_t
chain_hops_for(const struct outbound_conf *ob, const char *host,
    uint16_t port)
{
	char hp[PROXY_HOST_MAX + 16];
	size_t i;

	snprintf(hp, sizeof(hp), strchr(host, ':') ? "[%s]:%u" : "%s:%u",
	    host, port);
	for (i = 0; i < ob->nhops; i++) {
		const struct hop_conf *h = &ob->hops[i];
		const struct grp *g;

		if (h->bypass != NULL && bypass_match(h->bypass, hp))
			return i;
		/* a bypass file: what the group's live copy says now */
		if (h->bypass_path != NULL && (g = grp_find(h)) != NULL &&
		    g->bypass != NULL && bypass_match(g->bypass, hp))
			return i;
	}
	return ob->nhops;
}

struct chain_dial *
chain_dial_start(struct worker *wk, const struct outbound_conf *ob,
    const struct dialer *dl, const char *host, uint16_t port, int flags,
    chain_cb cb, void *arg)
{
	struct chain_dial *cd;

	if (strlen(host) > PROXY_HOST_MAX || ob->nhops == 0 ||
	    ob->nhops > CHAIN_MAX_HOPS ||
	    (cd = calloc(1, sizeof(*cd))) == NULL)
		return NULL;	/* the caller fails the connection itself */
	cd->wk = wk;
	cd->ob = ob;
	cd->dl = dl;
	/* the listener's route: its mark and interface (conf_egress) */
	conf_egress(wk->conf, dl != NULL ? dl->l : NULL, &cd->egress);
	snprintf(cd->host, sizeof(cd->host), "%s", host);
	cd->port = port;
	if ((cd->nhops = chain_hops_for(ob, host, port)) == 0) {
		free(cd);
		return NULL;	/* the caller goes direct */
	}
	cd->fd = -1;
	cd->flags = flags;
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
	cd_drop(cd);
	cd_release(cd);
	free(cd);
}
