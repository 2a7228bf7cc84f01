/*
 * Fake TCP (tun/tap tcp=true, daemon/core/faketcp.c): the raw sockets
 * and the policy rules.
 *
 * A worker cannot open a raw socket; the monitor opens one per family
 * for a listener that asks for it: a client's connected to its peer's
 * address (the kernel hands it the peer's segments only), a server's
 * bound to its listen address when that is not a wildcard.
 *
 * The kernel's own segments of the TCP connection that opened a flow
 * (its ACKs of the data it saw, its answers to acknowledgements of
 * data it never sent) must not reach the peer: tcpraw gives them TTL 1
 * and drops TTL 1 with an iptables rule.  Here the worker gives them
 * TTL 1 and the TOS FTCP_TOS once the connection is up, and one
 * policy rule per flow address sends exactly those to a blackhole:
 *
 *	CONF_FTCP_PRIO	ipproto tcp dport PEERPORT to PEER tos FTCP_TOS
 *			blackhole			(a client)
 *	CONF_FTCP_PRIO	ipproto tcp sport PORT [from ADDR] tos FTCP_TOS
 *			blackhole			(a server)
 *
 * The raw socket's segments have TOS 0 and go out.  A rule is removed
 * when no live generation names its listener; only rules added here
 * are.  An IPv6 TCP socket's route lookup carries no traffic class, so
 * there each flow gets a rule of its own once its handshake is over,
 * by its ports (which a raw socket's lookup lacks), asked for by the
 * worker and removed with the flow or the worker:
 *
 *	CONF_FTCP_PRIO	ipproto tcp sport LPORT dport PPORT to PEER
 *			blackhole
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/filter.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "log.h"
#include "monitor.h"
#include "proto/ftcp.h"

#define FTCP_RAW_SOCKBUF	(4 * 1024 * 1024)

/*
 * A rule: a listener's (owner NULL), or one flow's over IPv6 (owner
 * the worker that asked), where no TOS tells the kernel's segments
 * from the raw socket's and the ports do (a raw socket's route lookup
 * has none): "to PEER ipproto tcp sport LPORT dport PPORT blackhole",
 * added once the flow's handshake is over.
 */
struct mon_ftrule {
	struct mon_worker	*owner;
	int			 family;
	int			 tos;
	int			 has_src;	/* else has_dst, or neither */
	int			 has_dst;
	unsigned char		 addr[16];
	uint16_t		 sport;		/* 0: any */
	uint16_t		 dport;
	TAILQ_ENTRY(mon_ftrule)	 entry;
};

static TAILQ_HEAD(, mon_ftrule) ftrules = TAILQ_HEAD_INITIALIZER(ftrules);

static int
addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* The address bytes of ss, a wildcard reported as none (0). */
static int
ss_addr(const struct sockaddr_storage *ss, int family, unsigned char *out)
{
	static const unsigned char zero[16];

	if (ss->ss_family != family)
		return 0;
	if (family == AF_INET)
		memcpy(out, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	else
		memcpy(out, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	return memcmp(out, zero, (size_t)addr_len(family)) != 0;
}

/* The families a listener's raw sockets may have. */
int
mon_ftcp_family_ok(const struct listener_conf *l, int family)
{
	static const unsigned char zero[16];
	const struct sockaddr_in6 *s6;

	if (l->ntargets > 0)
		return l->targets[0].ss_family == family;
	if (l->addr.ss_family == family)
		return 1;
	/* a wildcard IPv6 listener is dual-stack */
	s6 = (const struct sockaddr_in6 *)&l->addr;
	return family == AF_INET && l->addr.ss_family == AF_INET6 &&
	    memcmp(&s6->sin6_addr, zero, 16) == 0;
}

/* A listener's IPv4 rule (IPv6 has its flows'). */
static void
rule_of(const struct listener_conf *l, struct mon_ftrule *r)
{
	memset(r, 0, sizeof(*r));
	r->family = AF_INET;
	r->tos = FTCP_TOS;
	if (l->ntargets > 0) {
		r->dport = sockaddr_port(&l->targets[0]);
		r->has_dst = ss_addr(&l->targets[0], AF_INET, r->addr);
	} else {
		r->sport = sockaddr_port(&l->addr);
		r->has_src = ss_addr(&l->addr, AF_INET, r->addr);
	}
}

static int
rule_same(const struct mon_ftrule *a, const struct mon_ftrule *b)
{
	return a->owner == b->owner && a->family == b->family &&
	    a->tos == b->tos && a->has_src == b->has_src &&
	    a->has_dst == b->has_dst && a->sport == b->sport &&
	    a->dport == b->dport &&
	    memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static void
put_port(struct nlmsghdr *nlh, uint16_t type, uint16_t port)
{
	struct fib_rule_port_range pr;

	pr.start = pr.end = port;
	mnl_attr_put(nlh, type, sizeof(pr), &pr);
}

static int
nl_ftrule(const struct mon_ftrule *r, int add)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct fib_rule_hdr *frh;
	unsigned char bits = (unsigned char)(addr_len(r->family) * 8);

	nlh = mon_nl_request(buf, add ? RTM_NEWRULE : RTM_DELRULE,
	    add ? NLM_F_CREATE | NLM_F_EXCL : 0, sizeof(*frh),
	    (void **)&frh);
	frh->family = (unsigned char)r->family;
	frh->action = FR_ACT_BLACKHOLE;
	frh->tos = (unsigned char)r->tos;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, CONF_FTCP_PRIO);
	mnl_attr_put_u8(nlh, FRA_IP_PROTO, IPPROTO_TCP);
	if (r->sport != 0)
		put_port(nlh, FRA_SPORT_RANGE, r->sport);
	if (r->dport != 0)
		put_port(nlh, FRA_DPORT_RANGE, r->dport);
	if (r->has_src) {
		frh->src_len = bits;
		mnl_attr_put(nlh, FRA_SRC, (size_t)addr_len(r->family),
		    r->addr);
	} else if (r->has_dst) {
		frh->dst_len = bits;
		mnl_attr_put(nlh, FRA_DST, (size_t)addr_len(r->family),
		    r->addr);
	}
	return mon_nl_talk(nlh);
}

/* Add the rule (unless it is there), logging a failure as url's. */
static void
rule_add(const struct mon_ftrule *want, const char *url)
{
	struct mon_ftrule *r;

	TAILQ_FOREACH(r, &ftrules, entry)
		if (rule_same(r, want))
			return;
	if (nl_ftrule(want, 1) == -1) {
		/* not ours when it was there: never removed by us */
		if (errno != EEXIST)
			logit("%s: no policy rule for the kernel's own "
			    "segments (%s): they leave with TTL 1", url,
			    strerror(errno));
		return;
	}
	if ((r = malloc(sizeof(*r))) == NULL) {
		(void)nl_ftrule(want, 0);
		return;
	}
	*r = *want;
	TAILQ_INSERT_TAIL(&ftrules, r, entry);
}

static void
rule_del(struct mon_ftrule *r)
{
	if (nl_ftrule(r, 0) == -1 && errno != ENOENT)
		error("fake TCP policy rule (ports %u/%u): remove: %s",
		    r->sport, r->dport, strerror(errno));
	TAILQ_REMOVE(&ftrules, r, entry);
	free(r);
}

int
mon_ftcp_socket(const struct conf *c, const struct listener_conf *l,
    int family, int *fdp)
{
	struct sockaddr_storage ss;
	struct egress e;
	unsigned char a[16];
	int fd, on = 1, off = 16, sz = FTCP_RAW_SOCKBUF, saved;

	conf_egress(c, l, &e);
	if (mon_socket_create_proto(c, family, SOCK_RAW, IPPROTO_TCP,
	    e.mark, e.iface, &fd) == -1) {
		error("%s: raw TCP socket: %s", l->node->url, strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
	/* the kernel fills in IPv6's checksum; the worker learns the
	   address its peer's segment went to */
	if (family == AF_INET6 && (setsockopt(fd, IPPROTO_IPV6,
	    IPV6_CHECKSUM, &off, sizeof(off)) == -1 || setsockopt(fd,
	    IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on)) == -1))
		goto fail;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (l->ntargets > 0) {
		memcpy(&ss, &l->targets[0], sizeof(ss));
		if (family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = 0;
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = 0;
		if (connect(fd, (struct sockaddr *)&ss, l->targetlens[0]) == -1)
			goto fail;
	} else if (ss_addr(&l->addr, family, a)) {
		if (family == AF_INET)
			memcpy(&((struct sockaddr_in *)&ss)->sin_addr, a, 4);
		else
			memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, a, 16);
		if (bind(fd, (struct sockaddr *)&ss, family == AF_INET ?
		    sizeof(struct sockaddr_in) :
		    sizeof(struct sockaddr_in6)) == -1)
			goto fail;
	}
	if (family == AF_INET) {
		struct mon_ftrule want;

		rule_of(l, &want);
		rule_add(&want, l->node->url);
	}
	*fdp = fd;
	return 0;
fail:
	saved = errno;
	error("%s: raw TCP socket: %s", l->node->url, strerror(saved));
	close(fd);
	errno = saved;
	return -1;
}

/*
 * A stream listener's socket: a fake TCP server's takes the filter
 * that keeps the peer's data from its connections' TCP (they inherit
 * it; a worker may not set a filter on a socket the monitor made) and
 * no keepalive; any other's (a socket kept across a reload) neither.
 */
void
mon_ftcp_listener(int fd, const struct listener_conf *l)
{
	int off = 0;

	if (!LIS_HAS_DEV(l->kind) || !l->tun.tcp) {
		(void)setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &off,
		    sizeof(off));
		return;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, ftcp_nodata(),
	    sizeof(struct sock_fprog)) == -1)
		logit("%s: no socket filter (%s): the kernel acknowledges "
		    "the peer's segments itself", l->node->url,
		    strerror(errno));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &off, sizeof(off));
}

/*
 * BLOCK / UNBLOCK: one IPv6 flow's rule, asked for by the worker that
 * holds the listener's raw IPv6 socket; the flow must be the
 * listener's (its peer, or its port).  No answer: without the rule
 * the kernel's segments leave with hop limit 1.
 */
int
mm_answer_ftcp_block(struct monitor *mon, struct mon_worker *w,
    struct ipc_msg *m)
{
	const struct conf *c = &w->gen->conf;
	const struct listener_conf *l;
	struct mon_ftrule want, *r;
	unsigned char addr[16], a[16];
	uint32_t idx;
	uint16_t pport, lport;
	int family, n = 0;

	(void)mon;
	if (buf_get_u16(&m->payload, &lport) != 0 ||
	    ipc_dec_tproxy(&m->payload, &idx, &family, addr, &pport) != 0) {
		error("worker %u: malformed %s", w->id,
		    ipc_type_name(m->hdr.type));
		return -1;
	}
	if (idx >= c->nlis || ((l = &c->lis[idx])->kind != LIS_TUN &&
	    l->kind != LIS_TAP) || !l->tun.tcp || family != AF_INET6 ||
	    !(w->tun_given[idx] & MON_TUN_GIVEN_RAW6) || pport == 0 ||
	    lport == 0 || (l->ntargets > 0 ?
	    !ss_addr(&l->targets[0], AF_INET6, a) ||
	    memcmp(a, addr, 16) != 0 || sockaddr_port(&l->targets[0]) != pport :
	    sockaddr_port(&l->addr) != lport)) {
		error("worker %u: %s (listener %u) is outside the "
		    "configuration", w->id, ipc_type_name(m->hdr.type), idx);
		return -1;
	}
	memset(&want, 0, sizeof(want));
	want.owner = w;
	want.family = AF_INET6;
	want.has_dst = 1;
	memcpy(want.addr, addr, 16);
	want.sport = lport;
	want.dport = pport;
	if (m->hdr.type == IPC_FTCP_UNBLOCK) {
		TAILQ_FOREACH(r, &ftrules, entry)
			if (rule_same(r, &want)) {
				rule_del(r);
				break;
			}
		return 0;
	}
	TAILQ_FOREACH(r, &ftrules, entry)
		if (r->owner == w)
			n++;
	if (n >= MON_FTCP_FLOW_RULES) {
		debug("worker %u: more than %d fake TCP flow rules", w->id,
		    MON_FTCP_FLOW_RULES);
		return 0;
	}
	rule_add(&want, l->node->url);
	return 0;
}

/* The flow rules of a worker that is gone. */
void
mon_ftcp_worker_gone(struct mon_worker *w)
{
	struct mon_ftrule *r, *tmp;

	TAILQ_FOREACH_SAFE(r, &ftrules, entry, tmp)
		if (r->owner == w)
			rule_del(r);
}

/* Remove the listener rules no live generation's listener has. */
void
mon_ftcp_gc(struct monitor *mon)
{
	struct mon_ftrule *r, *tmp, want;
	struct mon_gen *g;
	size_t i;
	int used;

	TAILQ_FOREACH_SAFE(r, &ftrules, entry, tmp) {
		if (r->owner != NULL)
			continue;
		used = 0;
		TAILQ_FOREACH(g, &mon->gens, entry)
			for (i = 0; i < g->conf.nlis && !used; i++) {
				const struct listener_conf *l = &g->conf.lis[i];

				if (!LIS_HAS_DEV(l->kind) || !l->tun.tcp ||
				    !mon_ftcp_family_ok(l, AF_INET))
					continue;
				rule_of(l, &want);
				used = rule_same(r, &want);
			}
		if (!used)
			rule_del(r);
	}
}
