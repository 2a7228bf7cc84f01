/*
 * OSTP ports served by every worker (steer.h has the why).  Each worker
 * of each generation has a socket of its own in the port's SO_REUSEPORT
 * group -- never one shared across a reload, so a draining worker keeps
 * receiving its sessions' datagrams while the new generation takes the
 * handshakes.  The monitor owns the program and its maps: workers ask
 * for an address to be steered to them when a session starts or moves
 * there (STEER / UNSTEER), and hand a datagram they cannot place to the
 * monitor (FWD), which passes it to every other worker on the port.
 * Without BPF (an unprivileged container) worker 0 alone serves the
 * port, as before.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "ipc.h"
#include "log.h"
#include "monitor.h"
#include "steer.h"

/* 1 if OSTP ports can be spread over the workers; probed once. */
int
mon_steer_available(struct monitor *mon)
{
	struct steer st;
	char err[256];

	if (mon->steer_state == 0) {
		if (steer_new(&st, err, sizeof(err)) == 0) {
			steer_free(&st);
			mon->steer_state = 1;
		} else {
			logit("OSTP ports are served by one worker: %s", err);
			mon->steer_state = -1;
		}
	}
	return mon->steer_state == 1;
}

static struct mon_steer *
steer_group(struct monitor *mon, const struct mon_listener *ml)
{
	struct mon_steer *ms;

	TAILQ_FOREACH(ms, &mon->steers, entry)
		if (ms->addrlen == ml->addrlen &&
		    memcmp(&ms->addr, &ml->addr, ml->addrlen) == 0)
			return ms;
	return NULL;
}

/* A freshly bound socket of an OSTP port joins the port's group. */
int
mon_steer_join(struct monitor *mon, struct mon_listener *ml, char *err,
    size_t errlen)
{
	struct mon_steer *ms;
	int fresh = 0;

	if ((ms = steer_group(mon, ml)) == NULL) {
		if ((ms = calloc(1, sizeof(*ms))) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (steer_new(&ms->st, err, errlen) != 0) {
			free(ms);
			return -1;
		}
		memcpy(&ms->addr, &ml->addr, ml->addrlen);
		ms->addrlen = ml->addrlen;
		TAILQ_INSERT_TAIL(&mon->steers, ms, entry);
		fresh = 1;
	}
	if ((fresh && steer_attach(&ms->st, ml->fd) != 0) ||
	    steer_slot_add(&ms->st, ml->fd, &ml->steer_slot) != 0) {
		snprintf(err, errlen, "cannot steer the OSTP port: %s",
		    strerror(errno));
		if (ms->refs == 0) {
			TAILQ_REMOVE(&mon->steers, ms, entry);
			steer_free(&ms->st);
			free(ms);
		}
		return -1;
	}
	ms->refs++;
	ml->steer = ms;
	return 0;
}

/* Its socket is about to close. */
void
mon_steer_leave(struct monitor *mon, struct mon_listener *ml)
{
	struct mon_steer *ms = ml->steer;

	if (ms == NULL)
		return;
	steer_slot_del(&ms->st, ml->steer_slot);
	ml->steer = NULL;
	if (--ms->refs > 0)
		return;
	TAILQ_REMOVE(&mon->steers, ms, entry);
	steer_free(&ms->st);
	free(ms);
}

/* Handshakes (unmapped addresses) go to this generation from now on. */
void
mon_steer_activate(struct monitor *mon, struct mon_gen *g)
{
	unsigned int slots[STEER_SLOTS], k;
	struct mon_listener *ml;
	size_t i;

	(void)mon;
	for (i = 0; g->lis != NULL && i < g->conf.nlis; i++) {
		ml = g->lis[i * g->nworkers];
		if (ml == NULL || ml->steer == NULL)
			continue;
		for (k = 0; k < g->nworkers && k < STEER_SLOTS; k++)
			slots[k] = g->lis[i * g->nworkers + k]->steer_slot;
		if (steer_current(&ml->steer->st, slots, k) != 0)
			error("%s: cannot steer handshakes to the new "
			    "workers: %s", g->conf.lis[i].node->url,
			    strerror(errno));
	}
}

/* The worker's own socket of listener idx, if it is a steered one. */
static struct mon_listener *
worker_steered(struct mon_worker *w, uint32_t idx)
{
	struct mon_gen *g = w->gen;
	struct mon_listener *ml;

	if (idx >= g->conf.nlis || w->id >= g->nworkers ||
	    (ml = g->lis[idx * g->nworkers + w->id]) == NULL ||
	    ml->steer == NULL)
		return NULL;
	return ml;
}

static int
key_from(int family, const unsigned char addr[16], uint16_t port,
    struct steer_key *k)
{
	memset(k, 0, sizeof(*k));
	if (family != 4 && family != 6)
		return -1;
	memcpy(k->addr, addr, family == 4 ? 4 : 16);
	k->port[0] = (unsigned char)(port >> 8);
	k->port[1] = (unsigned char)port;
	k->family = (unsigned char)family;
	return 0;
}

/* STEER / UNSTEER: u32 listener, u8 family (4, 6), 16 addr, u16 port. */
int
mm_answer_ostp_steer(struct monitor *mon, struct mon_worker *w,
    struct ipc_msg *m)
{
	struct mon_listener *ml;
	struct steer_key k;
	unsigned char addr[16];
	uint32_t idx;
	uint16_t port;
	int family;

	(void)mon;
	if (ipc_dec_tproxy(&m->payload, &idx, &family, addr, &port) != 0 ||
	    key_from(family, addr, port, &k) != 0) {
		error("worker %u: malformed %s", w->id,
		    ipc_type_name(m->hdr.type));
		return -1;
	}
	if ((ml = worker_steered(w, idx)) == NULL) {
		error("worker %u: asked to steer for listener %u, which is "
		    "not its OSTP port", w->id, idx);
		return -1;
	}
	/* no answer: a failure only costs the datagrams a detour */
	if (m->hdr.type == IPC_OSTP_STEER) {
		if (steer_addr_set(&ml->steer->st, &k, ml->steer_slot) != 0)
			debug("cannot steer an address: %s", strerror(errno));
	} else		/* unless another worker has it by now */
		(void)steer_addr_del_if(&ml->steer->st, &k, ml->steer_slot);
	return 0;
}

/*
 * FWD: a datagram worker w could not place.  Every other live worker
 * with a socket in the same group gets it, under the index its own
 * generation gives the port.
 */
int
mm_answer_ostp_fwd(struct monitor *mon, struct mon_worker *w,
    struct ipc_msg *m)
{
	struct mon_listener *ml, *oml;
	struct mon_worker *ow;
	struct mon_gen *g;
	const unsigned char *d;
	unsigned char addr[16];
	uint32_t idx;
	uint16_t port;
	size_t len, i;
	int family;
	struct buf b;

	if (ipc_dec_dgram(&m->payload, &idx, &family, addr, &port, &d,
	    &len) != 0 || (family != 4 && family != 6)) {
		error("worker %u: malformed OSTP_FWD", w->id);
		return -1;
	}
	if ((ml = worker_steered(w, idx)) == NULL) {
		error("worker %u: forwarded a datagram of listener %u, which "
		    "is not its OSTP port", w->id, idx);
		return -1;
	}
	TAILQ_FOREACH(g, &mon->gens, entry) {
		TAILQ_FOREACH(ow, &g->workers, entry) {
			if (ow == w || ow->sock == -1 ||
			    !(ow->state & (MW_RUNNING | MW_DRAINING)))
				continue;
			for (i = 0; g->lis != NULL && i < g->conf.nlis; i++) {
				if (ow->id >= g->nworkers ||
				    (oml = g->lis[i * g->nworkers +
				    ow->id]) == NULL || oml->steer != ml->steer)
					continue;
				buf_init(&b);
				/* a busy worker loses it, as a network would */
				if (ipc_enc_dgram(&b, (uint32_t)i, family, addr,
				    port, d, len) == 0)
					(void)ipc_send(ow->sock,
					    IPC_CMD_OSTP_FWD, 0, &b, -1);
				buf_release(&b);
			}
		}
	}
	return 0;
}

/*
 * Sessions a draining worker hands on at a reload (OSTP_HANDOFF) wait
 * here until the worker of the newest generation that takes them runs
 * (its start takes a moment); a few seconds at most, a bounded number,
 * then they are dropped and their clients make new sessions.
 */
#define HANDOFF_QUEUE	16384
#define HANDOFF_WAIT_MS	10000
#define HANDOFF_DATA	256

struct handoff {
	TAILQ_ENTRY(handoff)	 entry;
	struct mon_steer	*ms;		/* checked before use */
	int			 family;
	unsigned char		 addr[16];
	uint16_t		 port;
	size_t			 len;
	unsigned char		 d[HANDOFF_DATA];
	struct timespec		 at;
};

static TAILQ_HEAD(, handoff) handoffs = TAILQ_HEAD_INITIALIZER(handoffs);
static size_t nhandoffs;

static void
handoff_free(struct handoff *h)
{
	TAILQ_REMOVE(&handoffs, h, entry);
	nhandoffs--;
	explicit_bzero(h, sizeof(*h));
	free(h);
}

static long
ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 +
	    (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* 1 when h went to its worker (or cannot go anywhere), 0 to wait. */
static int
handoff_try(struct monitor *mon, struct handoff *h)
{
	struct mon_steer *ms;
	struct mon_listener *oml;
	struct mon_worker *ow;
	struct mon_gen *g;
	struct steer_key k;
	unsigned int pick, i;
	size_t li;
	struct buf b;

	TAILQ_FOREACH(ms, &mon->steers, entry)
		if (ms == h->ms)
			break;
	if (ms == NULL || key_from(h->family, h->addr, h->port, &k) != 0)
		return 1;	/* the port is gone */
	/* the newest generation that serves the port */
	TAILQ_FOREACH_REVERSE(g, &mon->gens, mon_gen_list, entry)
		if (!g->draining)
			break;
	if (g == NULL || g->lis == NULL)
		return 1;
	for (li = 0; li < g->conf.nlis; li++)
		if ((oml = g->lis[li * g->nworkers]) != NULL &&
		    oml->steer == ms)
			break;
	if (li == g->conf.nlis)
		return 1;
	/* spread over the workers by address, as handshakes are */
	for (pick = 0, i = 0; i < 16; i++)
		pick = pick * 31 + h->addr[i];
	pick = (pick + h->port) % g->nworkers;
	TAILQ_FOREACH(ow, &g->workers, entry)
		if (ow->id == pick)
			break;
	if (ow == NULL || ow->sock == -1 || ow->state != MW_RUNNING)
		return 0;
	oml = g->lis[li * g->nworkers + ow->id];
	if (oml == NULL || oml->steer != ms)
		return 1;
	buf_init(&b);
	if (ipc_enc_dgram(&b, (uint32_t)li, h->family, h->addr, h->port,
	    h->d, h->len) == 0) {
		/* the taker's socket gets the address's datagrams now */
		if (ipc_send(ow->sock, IPC_CMD_OSTP_TAKE, ++ow->seq, &b,
		    -1) == 0 && steer_addr_set(&ms->st, &k,
		    oml->steer_slot) != 0)
			debug("cannot steer a handed-on session: %s",
			    strerror(errno));
	}
	buf_release(&b);
	return 1;
}

/* Queued sessions whose worker runs now go; old ones are dropped. */
void
mon_steer_handoffs(struct monitor *mon)
{
	struct handoff *h, *tmp;
	size_t dropped = 0;

	TAILQ_FOREACH_SAFE(h, &handoffs, entry, tmp) {
		if (handoff_try(mon, h))
			handoff_free(h);
		else if (ms_since(&h->at) > HANDOFF_WAIT_MS) {
			handoff_free(h);
			dropped++;
		}
	}
	if (dropped > 0)
		logit("%zu OSTP sessions handed on at a reload found no "
		    "worker to take them", dropped);
}

/* HANDOFF: a session of draining worker w for the newest generation. */
int
mm_answer_ostp_handoff(struct monitor *mon, struct mon_worker *w,
    struct ipc_msg *m)
{
	struct mon_listener *ml;
	const unsigned char *d;
	struct handoff *h;
	uint32_t idx;
	size_t len;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return 0;	/* lost: its client makes a new session */
	if (ipc_dec_dgram(&m->payload, &idx, &h->family, h->addr, &h->port,
	    &d, &len) != 0 || (h->family != 4 && h->family != 6) ||
	    len > sizeof(h->d)) {
		free(h);
		error("worker %u: malformed OSTP_HANDOFF", w->id);
		return -1;
	}
	if ((ml = worker_steered(w, idx)) == NULL) {
		free(h);
		error("worker %u: handed on a session of listener %u, which "
		    "is not its OSTP port", w->id, idx);
		return -1;
	}
	h->ms = ml->steer;
	memcpy(h->d, d, len);
	h->len = len;
	clock_gettime(CLOCK_MONOTONIC, &h->at);
	TAILQ_INSERT_TAIL(&handoffs, h, entry);
	if (++nhandoffs > HANDOFF_QUEUE)
		handoff_free(TAILQ_FIRST(&handoffs));
	mon_steer_handoffs(mon);
	return 0;
}
