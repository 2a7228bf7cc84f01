/*
 * The OSTP server (spec/ostp.md §2.5, §2.10, §6): one UDP socket per
 * listener, every datagram read in batches and dispatched:
 *
 *  1. from a known address: that session's key unmasks the header and
 *     its id must match; the session authenticates the rest;
 *  2. else each configured key unmasks the header, and a live session
 *     with that id and key gets the datagram; if it authenticates and
 *     is the newest the session has seen, the session moves to the new
 *     address (roaming: the endpoint moves only after authentication);
 *  3. else the trial path: admission limits per source and overall,
 *     junk markers dropped, a handshake tried with each key, timestamp
 *     window, replay cache, caps; then msg2 and a new session.
 *
 * Anything that fails anywhere is dropped without a word and without
 * touching any session (§2.11).  Each flow a client opens is dialed
 * through the listener's routes and chain, then relayed like any other
 * connection.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "blake3.h"
#include "core/conn.h"
#include "core/dial.h"
#include "core/stats.h"
#include "core/udpbatch.h"
#include "handler/handler.h"
#include "log.h"
#include "compat.h"
#include "ostp/session.h"
#include "ostp/server.h"
#include "ostp/replay.h"
#include "ostp/usage.h"
#include "proto/ostp.h"
#include "proto/proto.h"
#include "proto/uot.h"
#include "core/listen.h"
#include "core/tls.h"
#include "core/reload.h"
#include "ostpkeys.h"
#include "cbuf.h"
#include "err.h"
#include "node.h"
#include <netinet/tcp.h>
#include "worker.h"
#include "ipc.h"
#include "buf.h"

#define SRV_BUCKETS		16384
#define SRV_ADDR_BUCKETS	16384
#define REPLAY_MAX		50000
#define REPLAY_BUCKETS		65536
#define ADM_SLOTS		4096
#define ADM_SRC_RATE		5	/* handshakes per second per source */
#define ADM_SRC_BURST		20
#define KNOWN_SECS		(24 * 3600)
#define SRV_FWD_RATE		2000	/* datagrams handed on per second */
#define SRV_FWD_BURST		256

/*
 * An access key with its derived secrets; shared by the server's key
 * list and the flows opened under it (refs), so that a key a reload
 * removes outlives its last flow.  Its byte limit counts datagram
 * bytes both ways, as upstream does, in the daemon's shared counters
 * (usage.h), which stats= keeps across restarts.
 */
struct skey {
	struct ostp_keys	 keys;
	unsigned char		 id[OSTP_USAGE_ID_LEN];	/* a digest */
	char			*name;
	uint64_t		 limit;		/* 0: none */
	uint64_t		 bytes;		/* without shared memory */
	struct ostp_usage_slot	*u;		/* the daemon's count */
	int			 refs;
	int			 gone;		/* removed by a reload */
	size_t			 nsessions;
	size_t			 nflows;
	TAILQ_HEAD(, sentry)	 lru;		/* least recently seen first */
};

struct sentry {
	LIST_ENTRY(sentry)	 by_sid;
	LIST_ENTRY(sentry)	 by_addr;
	TAILQ_ENTRY(sentry)	 key_lru;
	struct osrv		*srv;
	struct skey		*key;
	struct ostp_session	*s;
	uint32_t		 sid;
	struct sockaddr_storage	 peer;
	socklen_t		 peerlen;
	int			 in_addr;	/* on an address chain */
	struct ucon		*uc;		/* a TCP carrier's connection */
	uint64_t		 steer_us;	/* last asked to steer here */
	int			 steered;	/* the address is mapped to us */
};

LIST_HEAD(sentry_list, sentry);

/*
 * A TCP connection of the carriers (§2.13): classified by its first
 * byte, maybe upgraded from HTTP, then a stream of u16-length frames,
 * each one datagram for the dispatcher, its "address" the connection's
 * peer address and port.  Sessions that answer through it hold a
 * reference; the connection going leaves them silent until their
 * client comes back on another.
 */
enum ucon_state { UC_FIRST, UC_HTTP, UC_UOT, UC_DECOY, UC_FALLBACK };

struct ucon {
	struct osrv		*srv;
	struct conn		*c;		/* NULL: closed */
	enum ucon_state		 state;
	struct cbuf		 in;
	struct cbuf		 out;
	struct sockaddr_storage	 peer;
	socklen_t		 peerlen;
	struct event		*tmo;
	int			 refs;
	int			 tls;		/* inside TLS already */
	int			 classifying;	/* counted in srv */
	time_t			 last_frame;
	struct dial		*fdial;		/* to the fallback target */
};

/* A token bucket of the admission limits. */
struct bucket {
	unsigned char		 src[16];	/* IPv4, or an IPv6 /64 */
	double			 tokens;
	uint64_t		 at_us;
	time_t			 known_until;	/* authenticated recently */
	int			 used;
};

struct replay_ent {
	unsigned char		 dig[16];
	uint32_t		 next;		/* chain, UINT32_MAX: end */
	int			 used;
};

struct osrv {
	struct worker		*wk;
	const struct listener_conf *l;
	size_t			 idx;
	struct dialer		 dl;
	int			 fd;
	struct event		*ev;
	struct skey		**keys;
	size_t			 nkeys;
	size_t			 nsessions;
	struct sentry_list	 sids[SRV_BUCKETS];
	struct sentry_list	 addrs[SRV_ADDR_BUCKETS];
	struct bucket		*adm;		/* ADM_SLOTS */
	struct bucket		 all;
	/* replay cache: a ring of digests in arrival order, hashed */
	struct replay_ent	*replay;	/* REPLAY_MAX */
	uint32_t		*rbuckets;	/* REPLAY_BUCKETS */
	uint32_t		 rhead;
	uint32_t		 rcount;
	unsigned char		 rkey[32];	/* keyed digests */
	int			 gso;		/* the kernel segments */
	struct tp_server	 tp;		/* TCP carriers */
	SSL_CTX			*tls;		/* cert=: TLS on them too */
	struct ostp_keyset	*fkeys;		/* keys=, live */
	struct bucket		*tcpadm;	/* new TCP carriers per IP */
	size_t			 classifying;	/* not yet UoT */
	uint64_t		 now;
	struct ucon		*cur;		/* the datagram's connection */
	struct bucket		 fwd;		/* datagrams handed on */
	struct dialer		 fdl;		/* fallback=: direct */
	LIST_ENTRY(osrv)	 entry;
};

/* This worker's OSTP ports, for datagrams the others hand on. */
static LIST_HEAD(, osrv) udp_servers = LIST_HEAD_INITIALIZER(udp_servers);

struct sflow {
	struct osrv		*srv;
	struct skey		*key;
	struct conn		*st;
	struct dial		*dial;
};


static void entry_drop(struct sentry *);

static void
skey_put(struct skey *k)
{
	if (--k->refs > 0)
		return;
	ostp_keys_clear(&k->keys);
	free(k->name);
	free(k);
}

static struct skey *
skey_new(const struct ostp_conf *oc, const struct ostp_key_conf *kc)
{
	unsigned char id[OSTP_USAGE_ID_LEN];
	struct skey *k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	if (ostp_keys_init(&k->keys, oc->version, kc->key,
	    strlen(kc->key)) != 0 || (k->name = strdup(kc->name != NULL ?
	    kc->name : "default")) == NULL) {
		ostp_keys_clear(&k->keys);
		free(k);
		return NULL;
	}
	ostp_usage_id(kc->key, strlen(kc->key), id);
	memcpy(k->id, id, sizeof(k->id));
	k->u = ostp_usage_get(ostp_usage_shared(), id, k->name,
	    ostp_usage_file(oc->stats_path));
	k->limit = kc->limit_bytes;
	k->refs = 1;
	TAILQ_INIT(&k->lru);
	return k;
}

/*
 * The server's keys become kc[0..n): a key already known keeps its
 * sessions, counters and derived secrets; a new one is derived; one no
 * longer listed loses its sessions (spec §6: a deleted key) and goes
 * with its last flow.  0, or -1 (nothing changed).
 */
static int
srv_set_keys(struct osrv *srv, const struct ostp_key_conf *kc, size_t n)
{
	struct skey **nk, *k;
	struct sentry *e;
	size_t i, j;

	if (n == 0 || (nk = calloc(n, sizeof(*nk))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		for (j = 0; j < srv->nkeys; j++)
			if (srv->keys[j] != NULL &&
			    strlen(kc[i].key) == srv->keys[j]->keys.keylen &&
			    memcmp(kc[i].key, srv->keys[j]->keys.key,
			    srv->keys[j]->keys.keylen) == 0)
				break;
		if (j < srv->nkeys) {
			k = srv->keys[j];
			srv->keys[j] = NULL;
			k->limit = kc[i].limit_bytes;
			if (kc[i].name != NULL && strcmp(k->name,
			    kc[i].name) != 0) {
				char *nm = strdup(kc[i].name);

				if (nm != NULL) {
					free(k->name);
					k->name = nm;
					if (k->u != NULL)
						(void)ostp_usage_get(
						    ostp_usage_shared(),
						    k->u->id, nm, 0);
				}
			}
		} else if ((k = skey_new(srv->l->ostp, &kc[i])) == NULL) {
			/* undo: the keys taken go back */
			for (j = 0; j < i; j++) {
				size_t m;

				for (m = 0; m < srv->nkeys; m++)
					if (srv->keys[m] == NULL) {
						srv->keys[m] = nk[j];
						break;
					}
				if (m == srv->nkeys)
					skey_put(nk[j]);
			}
			free(nk);
			return -1;
		}
		nk[i] = k;
	}
	for (j = 0; j < srv->nkeys; j++) {
		if ((k = srv->keys[j]) == NULL)
			continue;
		logit("ostp %s: key %s removed; its %zu sessions end",
		    srv->l->node->url, k->name, k->nsessions);
		while ((e = TAILQ_FIRST(&k->lru)) != NULL)
			entry_drop(e);
		k->gone = 1;
		skey_put(k);
	}
	free(srv->keys);
	srv->keys = nk;
	srv->nkeys = n;
	return 0;
}

/*
 * The keys= file changed: the URL's and inline keys and the file's new
 * ones.  A set that does not fit together (a key twice) keeps the old.
 */
static void
srv_keys_reloaded(void *arg)
{
	struct osrv *srv = arg;
	const struct ostp_conf *oc = srv->l->ostp;
	struct ostp_keyset *ks = srv->fkeys;
	struct ostp_key_conf *all;
	size_t i, n = 0, a, b;

	if (ks == NULL || (all = calloc(oc->nkeys + ks->n,
	    sizeof(*all))) == NULL)
		return;
	for (i = 0; i < oc->nkeys; i++)
		if (!oc->keys[i].from_file)
			all[n++] = oc->keys[i];
	for (i = 0; i < ks->n; i++)
		all[n++] = ks->keys[i];
	if (ostp_keys_dup(all, n, &a, &b) != 0)
		error("%s: %s given twice; the keys in force stay",
		    oc->keys_path, all[b].key != NULL &&
		    strcmp(all[a].key, all[b].key) == 0 ? "a key" : "a name");
	else if (n == 0)
		error("%s: no key left; the keys in force stay",
		    oc->keys_path);
	else if (srv_set_keys(srv, all, n) == 0)
		debug("ostp %s: %zu keys", srv->l->node->url, n);
	free(all);	/* the strings belong to oc and the set */
}

/* Datagram bytes of a key, in and out, counted for the whole daemon. */
static void
skey_add(struct skey *k, uint64_t up, uint64_t down)
{
	if (k->u != NULL)
		ostp_usage_add(k->u, up, down);
	else
		k->bytes += up + down;
}

static uint64_t
skey_used(const struct skey *k)
{
	return k->u != NULL ? ostp_usage_total(k->u) : k->bytes;
}

/* Datagram bytes in; past the key's limit its sessions end. */
static void
skey_count(struct skey *k, size_t n, struct osrv *srv)
{
	struct sentry *e;

	skey_add(k, n, 0);
	if (k->limit == 0 || skey_used(k) < k->limit || k->nsessions == 0)
		return;
	logit("ostp %s: key %s reached its limit of %llu bytes",
	    srv->l->node->url, k->name, (unsigned long long)k->limit);
	while ((e = TAILQ_FIRST(&k->lru)) != NULL)
		entry_drop(e);
}

static uint32_t
addr_hash(const struct sockaddr_storage *ss)
{
	const unsigned char *p;
	uint32_t h = 2166136261u;
	size_t n, i;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		p = (const unsigned char *)&sin->sin_addr;
		n = 4;
		h = (h ^ sin->sin_port) * 16777619u;
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		p = (const unsigned char *)&sin6->sin6_addr;
		n = 16;
		h = (h ^ sin6->sin6_port) * 16777619u;
	}
	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static struct sentry *
find_sid(struct osrv *srv, uint32_t sid)
{
	struct sentry *e;

	LIST_FOREACH(e, &srv->sids[sid % SRV_BUCKETS], by_sid)
		if (e->sid == sid)
			return e;
	return NULL;
}

static struct sentry *
find_addr(struct osrv *srv, const struct sockaddr_storage *ss)
{
	struct sentry *e;

	LIST_FOREACH(e, &srv->addrs[addr_hash(ss) % SRV_ADDR_BUCKETS],
	    by_addr)
		if (sockaddr_same(&e->peer, ss))
			return e;
	return NULL;
}

/*
 * Steering (monitor/mon_steer.c): every worker of the port has its own
 * socket, and the kernel sends a datagram to the worker its source
 * address is steered to, or, for an address not in the map, to one of
 * the current generation's workers by a hash of the 4-tuple that stays
 * the same while the generation does.  So an address whose datagram
 * reached this worker's socket directly (a handshake, a move) needs no
 * entry: its next ones come here too.  It is steered only when a
 * datagram of its session came the long way, handed on by another
 * worker (the session moved to an address that hashes elsewhere, or
 * the map lost it), and when this worker's generation is no longer the
 * one the hash picks (a drain); it is released when no session of
 * ours is left at it.  Asking the monitor for every new session cost
 * an IPC message here and a wakeup and a map update there, about a
 * tenth of a handshake's CPU time.
 */
static void
entry_steer(struct sentry *e, uint64_t now)
{
	if (e->srv->fd == -1 || e->uc != NULL)
		return;		/* a TCP carrier's session */
	e->steer_us = now;
	e->steered = 1;
	mm_ostp_steer(e->srv->wk, IPC_OSTP_STEER, (uint32_t)e->srv->idx,
	    (const struct sockaddr *)&e->peer);
}

static void
entry_unsteer(struct sentry *e)
{
	struct osrv *srv = e->srv;
	struct sentry *o;

	if (srv->fd == -1 || !e->in_addr || !e->steered)
		return;
	e->steered = 0;
	LIST_FOREACH(o, &srv->addrs[addr_hash(&e->peer) % SRV_ADDR_BUCKETS],
	    by_addr)
		if (o != e && sockaddr_same(&o->peer, &e->peer)) {
			/* the map's entry is the other session's now */
			o->steered = 1;
			return;
		}
	mm_ostp_steer(srv->wk, IPC_OSTP_UNSTEER, (uint32_t)srv->idx,
	    (const struct sockaddr *)&e->peer);
}

static void
addr_set(struct sentry *e, const struct sockaddr_storage *ss,
    socklen_t len)
{
	struct osrv *srv = e->srv;

	if (e->in_addr)
		entry_unsteer(e);
	if (e->in_addr)
		LIST_REMOVE(e, by_addr);
	memcpy(&e->peer, ss, len);
	e->peerlen = len;
	LIST_INSERT_HEAD(&srv->addrs[addr_hash(ss) % SRV_ADDR_BUCKETS], e,
	    by_addr);
	e->in_addr = 1;
}

static void ucon_put(struct ucon *);
static int ucon_frame_out(struct ucon *, const unsigned char *, size_t);
static int ucon_frame_queue(struct ucon *, const unsigned char *, size_t);
static int ucon_flush(struct ucon *);
static void ucon_close(struct ucon *);

/* The connection that answers for e now (NULL: UDP). */
static void
entry_set_ucon(struct sentry *e, struct ucon *uc)
{
	if (uc != NULL)
		uc->refs++;
	if (e->uc != NULL)
		ucon_put(e->uc);
	e->uc = uc;
}

static void
entry_unlink(struct sentry *e)
{
	struct osrv *srv = e->srv;

	entry_set_ucon(e, NULL);
	LIST_REMOVE(e, by_sid);
	entry_unsteer(e);
	if (e->in_addr)
		LIST_REMOVE(e, by_addr);
	TAILQ_REMOVE(&e->key->lru, e, key_lru);
	e->key->nsessions--;
	srv->nsessions--;
}

/* The session ended by itself (peer Close, idle, failure). */
static void
entry_closed(void *arg, struct ostp_session *s)
{
	struct sentry *e = arg;

	(void)s;
	debug("ostp %s: session %08x ended", e->srv->l->node->url, e->sid);
	entry_unlink(e);
	free(e);
}

/* Replaced or evicted: the session goes with a Close to its peer. */
static void
entry_drop(struct sentry *e)
{
	entry_unlink(e);
	ostp_session_free(e->s);
	free(e);
}

static int
entry_output(void *arg, const unsigned char *buf, const size_t *lens,
    size_t n)
{
	struct sentry *e = arg;
	size_t i, off = 0, total = 0;

	for (i = 0; i < n; i++)
		total += lens[i];
	skey_add(e->key, 0, total);
	if (e->uc != NULL) {
		/* the batch as frames, then one write */
		for (i = 0; i < n; off += lens[i++])
			(void)ucon_frame_queue(e->uc, buf + off, lens[i]);
		if (e->uc->c != NULL && ucon_flush(e->uc) != 0)
			ucon_close(e->uc);
		return 0;
	}
	if (e->srv->fd == -1)
		return -1;
	return udpb_send(e->srv->fd, (struct sockaddr *)&e->peer,
	    e->peerlen, buf, lens, n, &e->srv->gso, NULL);
}

/* The admission limits' source: an IPv4 address or an IPv6 /64. */
static void
adm_source(const struct sockaddr_storage *ss, unsigned char src[16])
{
	memset(src, 0, 16);
	if (ss->ss_family == AF_INET)
		memcpy(src, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	else
		memcpy(src, &((const struct sockaddr_in6 *)ss)->sin6_addr, 8);
}

static struct bucket *
adm_slot(struct osrv *srv, const unsigned char src[16])
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < 16; i++)
		h = (h ^ src[i]) * 16777619u;
	return &srv->adm[h % ADM_SLOTS];
}

static int
bucket_take(struct bucket *b, double rate, double burst, uint64_t now)
{
	b->tokens += (double)(now - b->at_us) / 1e6 * rate;
	if (b->tokens > burst)
		b->tokens = burst;
	b->at_us = now;
	if (b->tokens < 1)
		return -1;
	b->tokens -= 1;
	return 0;
}

/*
 * A handshake attempt from ss may be tried: 5/s per source (burst 20),
 * and 100/s overall unless the source authenticated within a day.  A
 * slot another source used is simply taken over (a bounded table).
 */
static int
adm_allow(struct osrv *srv, const struct sockaddr_storage *ss, uint64_t now)
{
	unsigned char src[16];
	struct bucket *b;

	adm_source(ss, src);
	b = adm_slot(srv, src);
	if (!b->used || memcmp(b->src, src, 16) != 0) {
		memset(b, 0, sizeof(*b));
		memcpy(b->src, src, 16);
		b->used = 1;
		b->tokens = ADM_SRC_BURST;
		b->at_us = now;
	}
	if (bucket_take(b, ADM_SRC_RATE, ADM_SRC_BURST, now) != 0)
		return -1;
	if (b->known_until > time(NULL))
		return 0;
	return bucket_take(&srv->all, srv->l->ostp->hs_rate,
	    srv->l->ostp->hs_rate, now);
}

static void
adm_known(struct osrv *srv, const struct sockaddr_storage *ss)
{
	unsigned char src[16];
	struct bucket *b;

	adm_source(ss, src);
	b = adm_slot(srv, src);
	if (b->used && memcmp(b->src, src, 16) == 0)
		b->known_until = time(NULL) + KNOWN_SECS;
}

/*
 * The replay cache (§2.5 2d): a keyed digest of every accepted msg1
 * payload; an exact repeat is refused.  The oldest entry makes room.
 */
static void
replay_digest(struct osrv *srv, const unsigned char *p, size_t len,
    unsigned char dig[16])
{
	struct blake3 b;

	blake3_init_keyed(&b, srv->rkey);
	blake3_update(&b, p, len);
	blake3_final(&b, dig, 16);
}

static uint32_t
replay_bucket(const unsigned char dig[16])
{
	uint32_t h;

	memcpy(&h, dig, sizeof(h));
	return h % REPLAY_BUCKETS;
}

static int
replay_seen(struct osrv *srv, const unsigned char dig[16])
{
	uint32_t i;

	for (i = srv->rbuckets[replay_bucket(dig)]; i != UINT32_MAX;
	    i = srv->replay[i].next)
		if (memcmp(srv->replay[i].dig, dig, 16) == 0)
			return 1;
	return 0;
}

static void
replay_unchain(struct osrv *srv, uint32_t idx)
{
	uint32_t *pp = &srv->rbuckets[replay_bucket(srv->replay[idx].dig)];

	while (*pp != UINT32_MAX && *pp != idx)
		pp = &srv->replay[*pp].next;
	if (*pp == idx)
		*pp = srv->replay[idx].next;
}

static void
replay_add(struct osrv *srv, const unsigned char dig[16])
{
	struct replay_ent *r = &srv->replay[srv->rhead];
	uint32_t b = replay_bucket(dig);

	if (r->used)
		replay_unchain(srv, srv->rhead);
	memcpy(r->dig, dig, 16);
	r->used = 1;
	r->next = srv->rbuckets[b];
	srv->rbuckets[b] = srv->rhead;
	srv->rhead = (srv->rhead + 1) % REPLAY_MAX;
	if (srv->rcount < REPLAY_MAX)
		srv->rcount++;
}

/* A flow's target answered (or not): ConnectOk and relay, or Error. */
static void
flow_dialed(void *arg, struct conn *up, int err)
{
	struct sflow *f = arg;
	struct conn *st = f->st;
	char why[160];

	f->dial = NULL;
	if (up == NULL) {
		snprintf(why, sizeof(why), "connect failed: %s",
		    strerror(err));
		debug("ostp: flow refused: %s", why);
		ostp_stream_accept(st, 0, why);
		conn_free(st);
	} else {
		ostp_stream_accept(st, 1, NULL);
		/* a connection of this worker's: the relay's end drops it */
		f->srv->wk->stats.accepted++;
		f->srv->wk->stats.active++;
		relay_conns(f->srv->wk, st, up, 0);
	}
	f->key->nflows--;
	skey_put(f->key);
	free(f);
}

/* A literal address the policy refuses unless local_access (§3). */
static int
addr_local(const char *host)
{
	struct sockaddr_storage ss;
	socklen_t len;

	return sockaddr_literal(host, 0, &ss, &len) == 0 &&
	    sockaddr_local((struct sockaddr *)&ss);
}

/*
 * A UdpAssociate flow: datagrams to any target through a channel that
 * routes each as the listener's rules say; answers come back as UdpData
 * from their source.  It ends when the client closes the flow.
 */
struct sudp {
	struct osrv		*srv;
	struct conn		*st;
	struct uchan		*uc;
	struct skey		*key;
};

static void
sudp_free(struct sudp *u)
{
	uchan_close(u->uc);
	conn_free(u->st);
	u->key->nflows--;
	skey_put(u->key);
	free(u);
}

static void
sudp_answer(void *arg, const struct proxy_target *src, const unsigned char *p,
    size_t n)
{
	struct sudp *u = arg;

	if (ostp_stream_udp_send(u->st, src->host, src->port, p, n) == 0)
		stconn_bytes(conn_stats(u->st), 1, n);
}

static void
sudp_from_client(void *arg, const char *addr, size_t addrlen,
    const unsigned char *p, size_t n)
{
	struct sudp *u = arg;
	char host[256];
	uint16_t port;

	if (ostp_addr_split(addr, addrlen, host, sizeof(host), &port) != 0)
		return;
	if (!u->srv->l->ostp->local_access && addr_local(host)) {
		debug("ostp: udp to %s:%u refused (local_access is off)",
		    host, port);
		return;
	}
	stconn_bytes(conn_stats(u->st), 0, n);
	uchan_send(u->uc, host, port, p, n);
}

/* The flow ended (Close, or its session): so does the channel. */
static void
sudp_conn_cb(struct conn *c, int what, void *arg)
{
	unsigned char b[64];
	ssize_t n;

	(void)what;
	if ((n = conn_recv(c, b, sizeof(b))) == -1 && errno == EAGAIN)
		return;
	sudp_free(arg);
}

static void
sudp_open(struct osrv *srv, struct sentry *e, struct conn *st)
{
	struct sudp *u;

	if ((u = calloc(1, sizeof(*u))) == NULL ||
	    (u->uc = uchan_open(&srv->dl, sudp_answer, u)) == NULL) {
		free(u);
		ostp_stream_accept(st, 0, "out of memory");
		conn_free(st);
		return;
	}
	u->st = st;
	u->srv = srv;
	u->key = e->key;
	u->key->nflows++;
	u->key->refs++;
	ostp_stream_set_udp(st, sudp_from_client, u);
	ostp_stream_accept(st, 1, NULL);
	stconn_served(conn_stats(st));
	conn_set_cb(st, sudp_conn_cb, u);
	conn_want(st, CONN_READ);
	debug("ostp %s: session %08x: udp associate", srv->l->node->url,
	    e->sid);
}

/* A client opened a flow: dial its target. */
static void
entry_open(void *arg, struct conn *st, const char *addr, size_t addrlen,
    int udp)
{
	struct sentry *e = arg;
	struct osrv *srv = e->srv;
	const struct ostp_conf *oc = srv->l->ostp;
	char host[256];
	uint16_t port;
	struct sflow *f;
	struct stconn *rec;

	if (e->key->nflows >= oc->max_flows_key) {
		ostp_stream_accept(st, 0, "too many open connections for "
		    "this key");
		conn_free(st);
		return;
	}
	/* every flow is a client's connection: its record goes with st */
	if ((rec = stconn_new(srv->wk, srv->dl.idx, &e->peer)) != NULL) {
		stconn_attach(rec, st);
		stconn_user(rec, e->key->name);
	}
	if (udp) {
		sudp_open(srv, e, st);
		return;
	}
	if (ostp_addr_split(addr, addrlen, host, sizeof(host), &port) != 0) {
		ostp_stream_accept(st, 0, "bad address");
		conn_free(st);
		return;
	}
	if (!oc->local_access && addr_local(host)) {
		debug("ostp %s: %s:%u refused (local_access is off)",
		    srv->l->node->url, host, port);
		ostp_stream_accept(st, 0, "connect failed: destination not "
		    "allowed");
		conn_free(st);
		return;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		ostp_stream_accept(st, 0, "out of memory");
		conn_free(st);
		return;
	}
	f->srv = srv;
	f->key = e->key;
	f->st = st;
	f->key->nflows++;
	f->key->refs++;
	debug("ostp %s: session %08x: flow to %s:%u", srv->l->node->url,
	    e->sid, host, port);
	/* dial_start calls back from the loop, never before it returns */
	if ((f->dial = dial_start(&srv->dl, host, port, 0, flow_dialed,
	    f)) != NULL)
		dial_set_stats(f->dial, conn_stats(st));
	else {
		f->key->nflows--;
		skey_put(f->key);
		free(f);
		ostp_stream_accept(st, 0, "out of memory");
		conn_free(st);
	}
}

/*
 * A session of key k at from: one with its id goes (spec 2.5 2f: the
 * newer wins), and the key's least recently seen one if the key is at
 * its cap.  Over a TCP carrier if the datagram came on one.
 */
static struct sentry *
entry_new(struct osrv *srv, struct skey *k, uint32_t sid,
    const unsigned char *k_tx, const unsigned char *k_rx,
    const struct sockaddr_storage *from, socklen_t fromlen)
{
	struct ostp_session_params p;
	struct sentry *e, *old;
	char name[80];

	if ((old = find_sid(srv, sid)) != NULL)
		entry_drop(old);
	if (k->nsessions >= srv->l->ostp->max_sessions_key)
		entry_drop(TAILQ_FIRST(&k->lru));
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->srv = srv;
	e->key = k;
	e->sid = sid;
	snprintf(name, sizeof(name), "ostp session %08x", sid);
	memset(&p, 0, sizeof(p));
	p.keys = &k->keys;
	p.sid = sid;
	p.k_tx = k_tx;
	p.k_rx = k_rx;
	p.server = 1;
	p.mtu = srv->l->ostp->mtu;
	p.reliable = srv->cur != NULL;
	p.output = entry_output;
	p.open = entry_open;
	p.closed = entry_closed;
	p.arg = e;
	p.name = name;
	if ((e->s = ostp_session_new(srv->wk, &p)) == NULL) {
		free(e);
		return NULL;
	}
	LIST_INSERT_HEAD(&srv->sids[e->sid % SRV_BUCKETS], e, by_sid);
	TAILQ_INSERT_TAIL(&k->lru, e, key_lru);
	k->nsessions++;
	srv->nsessions++;
	addr_set(e, from, fromlen);
	entry_set_ucon(e, srv->cur);
	adm_known(srv, from);
	return e;
}

/* A new session for a handshake that passed every check. */
static void
session_start(struct osrv *srv, struct skey *k, struct ostp_hs *hs,
    const struct sockaddr_storage *from, socklen_t fromlen)
{
	unsigned char out[OSTP_HS_HDR + OSTP_MSG2_NOISE + 512];
	struct sentry *e;
	ssize_t n;

	if (srv->nsessions >= srv->l->ostp->max_sessions &&
	    find_sid(srv, hs->sid) == NULL)
		return;		/* the global cap: silent */
	if ((n = ostp_hs_msg2(hs, &k->keys, NULL, (size_t)-1, out,
	    sizeof(out))) < 0)
		return;
	if ((e = entry_new(srv, k, hs->sid, hs->k_s2c, hs->k_c2s, from,
	    fromlen)) == NULL)
		return;
	if (srv->cur != NULL)
		(void)ucon_frame_out(srv->cur, out, (size_t)n);
	else
		(void)sendto(srv->fd, out, (size_t)n, 0,
		    (const struct sockaddr *)from, fromlen);
	debug("ostp %s: session %08x for key %s (generation %u)",
	    srv->l->node->url, e->sid, k->name, srv->wk->gen);
}

/*
 * The trial path (§2.5 step 2): silent on every failure.  1 if the
 * datagram was a handshake or junk of one of the keys; 0 if it may be
 * another worker's (unknown, or not tried for the admission limits).
 */
static int
trial(struct osrv *srv, const unsigned char *d, size_t len,
    const struct sockaddr_storage *from, socklen_t fromlen, uint64_t now)
{
	unsigned char payload[12 + OSTP_KEY_MAX], dig[16], mk[4];
	struct ostp_hs hs;
	uint64_t ts, w;
	uint32_t sid;
	size_t plen, i;
	time_t t = time(NULL);
	int found = 0, seen;

	if (len < 4 || adm_allow(srv, from, now) != 0)
		return 0;
	w = (uint64_t)t / OSTP_JUNK_WINDOW;
	for (i = 0; i < srv->nkeys; i++) {
		struct skey *k = srv->keys[i];

		if (k->limit != 0 && skey_used(k) >= k->limit)
			continue;	/* over its limit: silent (§2.11) */

		ostp_junk_marker(&k->keys, w, mk);
		if (memcmp(mk, d, 4) == 0)
			return 1;	/* junk */
		ostp_junk_marker(&k->keys, w - 1, mk);
		if (memcmp(mk, d, 4) == 0)
			return 1;
		if (len < 7 || ostp_hs_accept(&hs, &k->keys, d, len, &sid,
		    &ts, payload, &plen) != 0)
			continue;
		found = 1;
		if ((ts > (uint64_t)t ? ts - (uint64_t)t : (uint64_t)t - ts) >
		    OSTP_TS_WINDOW) {
			debug("ostp %s: handshake clock off by more than %d s",
			    srv->l->node->url, OSTP_TS_WINDOW);
			break;
		}
		/* every worker's record, or this one's (no shared memory) */
		if (ostp_replay_shared())
			seen = ostp_replay_check(payload, plen, t,
			    2 * OSTP_TS_WINDOW);
		else {
			replay_digest(srv, payload, plen, dig);
			if (!(seen = replay_seen(srv, dig)))
				replay_add(srv, dig);
		}
		explicit_bzero(payload, sizeof(payload));
		if (seen) {
			debug("ostp %s: replayed handshake dropped",
			    srv->l->node->url);
			break;
		}
		session_start(srv, k, &hs, from, fromlen);
		break;
	}
	ostp_hs_clear(&hs);
	return found;
}

static void
touch(struct sentry *e)
{
	TAILQ_REMOVE(&e->key->lru, e, key_lru);
	TAILQ_INSERT_TAIL(&e->key->lru, e, key_lru);
}

/*
 * A datagram another worker handed on reached its session here: the
 * address is not (or no longer) steered to us; ask again, at most once
 * a second per session.
 */
static void
resteer(struct sentry *e, int fwd, uint64_t now)
{
	if (fwd && now - e->steer_us > 1000000)
		entry_steer(e, now);
}

/*
 * Not ours: maybe another worker's (steering not settled yet).  Only
 * a UDP datagram: the owner could answer a TCP carrier's only through
 * the connection, which is ours (a UoT path move that lands on another
 * worker brings no answer, and the client makes a new session).
 */
static void
hand_on(struct osrv *srv, const unsigned char *d, size_t len,
    const struct sockaddr_storage *from, uint64_t now)
{
	if (srv->fd == -1 || srv->cur != NULL || len > IPC_DGRAM_MAX ||
	    bucket_take(&srv->fwd, SRV_FWD_RATE, SRV_FWD_BURST, now) != 0)
		return;
	mm_ostp_dgram(srv->wk, IPC_OSTP_FWD, (uint32_t)srv->idx,
	    (const struct sockaddr *)from, d, len);
}

/*
 * fwd: the datagram came from another worker, which found no session
 * or handshake in it; only a session of ours can take it.
 */
static void
dispatch(struct osrv *srv, const unsigned char *d, size_t len,
    const struct sockaddr_storage *from, socklen_t fromlen, uint64_t now,
    int fwd)
{
	struct sentry *e;
	uint32_t sid;
	uint64_t n;
	size_t i;
	int r;

	if (len < 4)
		return;
	/* 1: the session at this address */
	if ((e = find_addr(srv, from)) != NULL &&
	    ostp_peek(&e->key->keys, d, len, &sid, &n) == 0 &&
	    sid == e->sid && ostp_session_input_n(e->s, d, len, n) >= 0) {
		touch(e);
		skey_count(e->key, len, srv);
		resteer(e, fwd, now);
		return;
	}
	/* 2: a session that moved here, by each key's unmasking */
	for (i = 0; len >= OSTP_OVERHEAD && i < srv->nkeys; i++) {
		if (ostp_peek(&srv->keys[i]->keys, d, len, &sid, &n) != 0 ||
		    (e = find_sid(srv, sid)) == NULL ||
		    e->key != srv->keys[i])
			continue;
		if ((r = ostp_session_input_n(e->s, d, len, n)) < 0)
			continue;
		if (r == 1 && find_sid(srv, sid) == e) {
			debug("ostp %s: session %08x moved%s",
			    srv->l->node->url, sid, fwd ? " (handed on by "
			    "another worker)" : "");
			addr_set(e, from, fromlen);
			entry_set_ucon(e, srv->cur);
			if (fwd)
				entry_steer(e, now);
			touch(e);
		}
		if (find_sid(srv, sid) == e)
			skey_count(e->key, len, srv);
		return;
	}
	if (fwd)
		return;
	/* 3: a handshake, maybe; else another worker's session, maybe */
	if (!trial(srv, d, len, from, fromlen, now))
		hand_on(srv, d, len, from, now);
}

/* An address as the monitor's messages carry it (ipc_enc_dgram). */
static socklen_t
ipc_addr(int family, const unsigned char addr[16], uint16_t port,
    struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == 4) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
		sin->sin_port = htons(port);
		return sizeof(*sin);
	}
	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, addr, 16);
	sin6->sin6_port = htons(port);
	return sizeof(*sin6);
}

void
ostp_server_forwarded(struct worker *wk, struct buf *b)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	const unsigned char *d;
	unsigned char addr[16];
	struct osrv *srv;
	uint32_t idx;
	uint16_t port;
	size_t len;
	int family;

	(void)wk;
	if (ipc_dec_dgram(b, &idx, &family, addr, &port, &d, &len) != 0)
		fatal("malformed CMD_OSTP_FWD from the monitor");
	LIST_FOREACH(srv, &udp_servers, entry)
		if (srv->idx == idx)
			break;
	if (srv == NULL)
		return;		/* not started (yet) */
	sslen = ipc_addr(family, addr, port, &ss);
	dispatch(srv, d, len, &ss, sslen, ostp_now_us(), 1);
}

/* The blob of OSTP_HANDOFF: the key's id, then the session's state. */
#define HANDOFF_LEN	(OSTP_USAGE_ID_LEN + OSTP_STATE_LEN)

size_t
ostp_server_drain(struct worker *wk, int last)
{
	char why[128];
	struct ostp_session_state st;
	struct sentry *e, *tmp;
	struct buf blob;
	struct osrv *srv;
	size_t i, n, left = 0;
	int r;

	LIST_FOREACH(srv, &udp_servers, entry) {
		if (srv->fd == -1)
			continue;
		n = 0;
		for (i = 0; i < SRV_BUCKETS; i++) {
			LIST_FOREACH_SAFE(e, &srv->sids[i], by_sid, tmp) {
				/* a TCP carrier's stays with its connection */
				if (e->uc != NULL)
					continue;
				r = e->key->gone ? -1 :
				    ostp_session_export(e->s, &st);
				/*
				 * One that stays: the hash sends its address
				 * to the next generation from now on.
				 */
				if (r != 0 && !e->steered)
					entry_steer(e, ostp_now_us());
				if (r < 0)
					continue;
				if (r > 0) {
					left++;
					if (!last)
						continue;
					ostp_session_pending(e->s, why,
					    sizeof(why));
					logit("ostp %s: session %08x ends with "
					    "its worker (%s)", srv->l->node->url,
					    e->sid, why);
					continue;
				}
				buf_init(&blob);
				/*
				 * Handed on before the address is unsteered:
				 * the monitor steers it to the taker first.
				 */
				if (buf_put(&blob, e->key->id,
				    OSTP_USAGE_ID_LEN) == 0 &&
				    ostp_state_enc(&st, &blob) == 0)
					mm_ostp_dgram(wk, IPC_OSTP_HANDOFF,
					    (uint32_t)srv->idx,
					    (const struct sockaddr *)&e->peer,
					    buf_ptr(&blob), buf_len(&blob));
				explicit_bzero(&st, sizeof(st));
				explicit_bzero((void *)buf_ptr(&blob),
				    buf_len(&blob));
				buf_release(&blob);
				entry_unlink(e);
				ostp_session_forget(e->s);
				free(e);
				n++;
			}
		}
		if (n > 0)
			logit("ostp %s: %zu idle session%s handed to the next "
			    "generation", srv->l->node->url, n,
			    n == 1 ? "" : "s");
	}
	return left;
}

void
ostp_server_take(struct worker *wk, struct buf *b)
{
	struct sockaddr_storage ss;
	struct ostp_session_state st;
	const unsigned char *d;
	unsigned char addr[16];
	struct buf sb;
	struct osrv *srv;
	struct sentry *e;
	socklen_t sslen;
	uint32_t idx;
	uint16_t port;
	size_t len, i;
	int family;

	if (ipc_dec_dgram(b, &idx, &family, addr, &port, &d, &len) != 0 ||
	    len != HANDOFF_LEN)
		fatal("malformed CMD_OSTP_TAKE from the monitor");
	buf_view(&sb, d + OSTP_USAGE_ID_LEN, len - OSTP_USAGE_ID_LEN);
	if (ostp_state_dec(&sb, &st) != 0)
		fatal("malformed CMD_OSTP_TAKE from the monitor");
	LIST_FOREACH(srv, &udp_servers, entry)
		if (srv->idx == idx)
			break;
	for (i = 0; srv != NULL && i < srv->nkeys; i++)
		if (memcmp(srv->keys[i]->id, d, OSTP_USAGE_ID_LEN) == 0)
			break;
	/* the port or its key is gone: the client will make a new one */
	if (srv == NULL || srv->fd == -1 || i == srv->nkeys ||
	    (srv->nsessions >= srv->l->ostp->max_sessions &&
	    find_sid(srv, st.sid) == NULL)) {
		explicit_bzero(&st, sizeof(st));
		return;
	}
	sslen = ipc_addr(family, addr, port, &ss);
	srv->cur = NULL;
	e = entry_new(srv, srv->keys[i], st.sid, st.k_tx, st.k_rx, &ss,
	    sslen);
	if (e != NULL) {
		/* the monitor mapped the address to us with the handoff */
		e->steered = 1;
		e->steer_us = ostp_now_us();
		ostp_session_resume(e->s, &st);
		debug("ostp %s: session %08x for key %s taken over "
		    "(generation %u)", srv->l->node->url, e->sid,
		    e->key->name, wk->gen);
	}
	explicit_bzero(&st, sizeof(st));
}

static void
srv_dgram(void *arg, const unsigned char *d, size_t len, const void *from,
    unsigned int fromlen)
{
	struct osrv *srv = arg;
	struct sockaddr_storage ss;
	socklen_t sslen = fromlen;

	if (fromlen > sizeof(ss))
		return;
	memcpy(&ss, from, fromlen);
	sockaddr_unmap(&ss, &sslen);
	dispatch(srv, d, len, &ss, sslen, srv->now, 0);
}

static void
srv_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct osrv *srv = arg;

	(void)what;
	srv->now = ostp_now_us();
	(void)ostp_recv_batch(fd, srv_dgram, srv, 2);
}

#define UC_CLASSIFY_SECS	10
#define UC_IDLE_SECS		300
#define UC_OUT_MAX		(16 * 1024 * 1024)
#define UC_HEAD_MAX		8192
#define UC_CLASSIFYING_MAX	2048
#define UC_PER_IP_RATE		1.0	/* 10 per 10 s */
#define UC_PER_IP_BURST		10.0

static void ucon_close(struct ucon *);

static void
ucon_put(struct ucon *uc)
{
	if (--uc->refs > 0)
		return;
	cbuf_release(&uc->in);
	cbuf_release(&uc->out);
	free(uc);
}

/* Write what waits; 0, or -1 when the connection failed. */
static int
ucon_flush(struct ucon *uc)
{
	if (uc->c == NULL)
		return -1;
	if (conn_send_buf(uc->c, &uc->out) != 0)
		return -1;
	conn_want(uc->c, CONN_READ | (uc->out.len > 0 ? CONN_WRITE : 0));
	return 0;
}

/* One datagram as a frame; a full queue drops it (the ARQ resends). */
static int
ucon_frame_queue(struct ucon *uc, const unsigned char *d, size_t len)
{
	unsigned char h[UOT_HDR_LEN];
	size_t need = UOT_HDR_LEN + len;

	if (uc->c == NULL || uot_frame_header(h, len) != 0 ||
	    cbuf_reserve(&uc->out, need, 256 * 1024, UC_OUT_MAX) != 0)
		return -1;
	cbuf_append(&uc->out, h, UOT_HDR_LEN);
	cbuf_append(&uc->out, d, len);
	return 0;
}

static int
ucon_frame_out(struct ucon *uc, const unsigned char *d, size_t len)
{
	if (ucon_frame_queue(uc, d, len) != 0)
		return -1;
	if (ucon_flush(uc) != 0) {
		ucon_close(uc);
		return -1;
	}
	return 0;
}

static void
ucon_classified(struct ucon *uc)
{
	if (uc->classifying) {
		uc->classifying = 0;
		uc->srv->classifying--;
	}
}

/* Its connection went (freed already): the rest goes too. */
static void
ucon_gone(struct ucon *uc)
{
	ucon_classified(uc);
	uc->c = NULL;
	if (uc->fdial != NULL) {
		dial_cancel(uc->fdial);
		uc->fdial = NULL;
		uc->refs--;	/* the dial's; the connection's goes below */
	}
	if (uc->tmo != NULL) {
		event_free(uc->tmo);
		uc->tmo = NULL;
	}
	worker_conn_closed(uc->srv->wk);
	ucon_put(uc);
}

static void
ucon_close(struct ucon *uc)
{
	if (uc->c == NULL)
		return;
	conn_free(uc->c);
	ucon_gone(uc);
}

/* The fallback target answered: the connection is the relay's now. */
static void
ucon_fb_dialed(void *arg, struct conn *up, int err)
{
	struct ucon *uc = arg;
	struct conn *c = uc->c;

	uc->fdial = NULL;
	if (up == NULL || c == NULL) {
		if (c != NULL) {
			debug("ostp %s: fallback: %s", uc->srv->l->node->url,
			    strerror(err));
			ucon_close(uc);
		}
		conn_free(up);
		ucon_put(uc);
		return;
	}
	/* the relay counts the connection from here, and ends it */
	ucon_classified(uc);
	if (uc->tmo != NULL) {
		event_free(uc->tmo);
		uc->tmo = NULL;
	}
	uc->c = NULL;
	/* a client of the fallback server, counted on this listener */
	(void)stconn_open(uc->srv->wk, uc->srv->dl.idx, c);
	relay_conns(uc->srv->wk, c, up, 0);
	uc->refs--;		/* the dial's (the connection's is left) */
	ucon_put(uc);		/* the connection's */
}

/*
 * With fallback= the decoy is a transparent splice to a real web
 * server (§2.13): what was read so far goes to it first.
 */
static int
ucon_fallback(struct ucon *uc)
{
	const struct ostp_conf *oc = uc->srv->l->ostp;

	if (oc->fallback_host == NULL)
		return -1;
	if (uc->in.len > 0 && conn_unread(uc->c, uc->in.p + uc->in.off,
	    uc->in.len) != 0) {
		ucon_close(uc);
		return 0;
	}
	cbuf_consume(&uc->in, uc->in.len);
	uc->state = UC_FALLBACK;
	conn_want(uc->c, 0);
	uc->refs++;
	if ((uc->fdial = dial_start(&uc->srv->fdl, oc->fallback_host,
	    oc->fallback_port, DIAL_NOCHECK, ucon_fb_dialed, uc)) == NULL) {
		ucon_put(uc);
		ucon_close(uc);
	}
	return 0;
}

/* The decoy (§2.13): a bare 404, then the end. */
static void
ucon_decoy(struct ucon *uc)
{
	char page[1024];
	size_t n;

	if (ucon_fallback(uc) == 0)
		return;
	uc->state = UC_DECOY;
	if (uot_build_decoy(page, sizeof(page), &n) != 0 ||
	    (uc->out.p == NULL && cbuf_alloc(&uc->out, 4096) != 0) ||
	    cbuf_room(&uc->out) < n) {
		ucon_close(uc);
		return;
	}
	cbuf_append(&uc->out, page, n);
	if (ucon_flush(uc) != 0) {
		ucon_close(uc);
		return;
	}
	if (uc->out.len == 0 && conn_shutw(uc->c) == 0)
		ucon_close(uc);
}

/* Frames in uc->in, to the dispatcher. */
static int
ucon_frames(struct ucon *uc)
{
	const unsigned char *f;
	size_t flen, used;
	int r;

	while ((r = uot_frame_parse(uc->in.p + uc->in.off, uc->in.len, &f,
	    &flen, &used)) == 0) {
		uc->last_frame = time(NULL);
		if (flen > 0) {
			uc->srv->cur = uc;
			dispatch(uc->srv, f, flen, &uc->peer, uc->peerlen,
			    ostp_now_us(), 0);
			uc->srv->cur = NULL;
			if (uc->c == NULL)
				return -1;
		}
		cbuf_consume(&uc->in, used);
	}
	return r == ERR_INCOMPLETE ? 0 : -1;
}

static void ucon_cb_(struct conn *, int, struct ucon *);
static int ucon_forwarded(struct ucon *, const struct uot_upgrade *);

/* The connection may close inside; uc stays until the callback ends. */
static void
ucon_cb(struct conn *c, int what, void *arg)
{
	struct ucon *uc = arg;

	uc->refs++;
	ucon_cb_(c, what, uc);
	ucon_put(uc);
}

static void
ucon_cb_(struct conn *c, int what, struct ucon *uc)
{
	struct uot_upgrade up;
	char resp[512];
	size_t n;
	ssize_t r;
	int pr;

	if ((what & CONN_WRITE) && ucon_flush(uc) != 0) {
		ucon_close(uc);
		return;
	}
	if (uc->state == UC_FALLBACK)
		return;		/* dialing */
	if (uc->state == UC_DECOY) {
		if (uc->out.len == 0 && conn_shutw(c) == 0)
			ucon_close(uc);
		return;
	}
	if (!(what & CONN_READ))
		return;
	while (cbuf_room(&uc->in) > 0) {
		r = conn_recv(c, cbuf_tail(&uc->in), cbuf_room(&uc->in));
		if (r > 0) {
			uc->in.len += (size_t)r;
			continue;
		}
		if (r == -1 && errno == EAGAIN)
			break;
		ucon_close(uc);
		return;
	}
	if (uc->state == UC_FIRST && uc->in.len > 0) {
		switch (uot_classify(uc->in.p[uc->in.off])) {
		case UOT_CLASS_HTTP:
			uc->state = UC_HTTP;
			break;
		case UOT_CLASS_TLS:
			if (uc->tls || uc->srv->tls == NULL) {
				/* no certificate: the decoy closes it */
				if (ucon_fallback(uc) != 0)
					ucon_close(uc);
				return;
			}
			/* TLS, then the decrypted stream is classified */
			if (conn_unread(c, uc->in.p + uc->in.off,
			    uc->in.len) != 0) {
				ucon_close(uc);
				return;
			}
			/* a failed push has freed c */
			if ((uc->c = tls_server_push_ctx(c,
			    uc->srv->tls)) == NULL) {
				ucon_gone(uc);
				return;
			}
			uc->in.off = uc->in.len = 0;
			uc->tls = 1;
			conn_set_cb(uc->c, ucon_cb, uc);
			conn_want(uc->c, CONN_READ);
			conn_kick(uc->c, CONN_READ);
			return;
		default:
			uc->state = UC_UOT;
			break;
		}
	}
	if (uc->state == UC_HTTP) {
		const char *path = node_param(uc->srv->l->node, "path");

		/* without ws_path every head gets the decoy, once whole */
		pr = uot_parse_upgrade(uc->in.p + uc->in.off, uc->in.len,
		    path != NULL ? path : "", &up);
		if (pr == ERR_INCOMPLETE)
			return;		/* more of the head */
		if ((pr == 0 || pr == ERR_DENIED) &&
		    ucon_forwarded(uc, &up) != 0) {
			ucon_close(uc);
			return;
		}
		if (pr != 0 || path == NULL ||
		    uot_build_upgrade_response(resp, sizeof(resp),
		    &n, up.key) != 0) {
			ucon_decoy(uc);
			return;
		}
		cbuf_consume(&uc->in, up.headlen);
		if (uc->out.p == NULL && cbuf_alloc(&uc->out,
		    256 * 1024) != 0) {
			ucon_close(uc);
			return;
		}
		cbuf_append(&uc->out, resp, n);
		uc->state = UC_UOT;
		if (ucon_flush(uc) != 0) {
			ucon_close(uc);
			return;
		}
	}
	if (uc->state == UC_UOT) {
		ucon_classified(uc);
		if (uc->tmo != NULL) {
			struct timeval tv = { 60, 0 };

			evtimer_add(uc->tmo, &tv);
		}
		if (ucon_frames(uc) != 0) {
			ucon_close(uc);
			return;
		}
	}
}

/* Classification deadline; then, idle frames: the end. */
static void
ucon_tmo_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ucon *uc = arg;
	struct timeval tv = { 60, 0 };

	(void)fd;
	(void)what;
	if (uc->state == UC_UOT && time(NULL) - uc->last_frame <
	    UC_IDLE_SECS) {
		evtimer_add(uc->tmo, &tv);
		return;
	}
	debug("ostp %s: a TCP carrier connection timed out",
	    uc->srv->l->node->url);
	ucon_close(uc);
}

static int
sockaddr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr)
		    >> 24) == 127;
	return sa->sa_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(
	    &((const struct sockaddr_in6 *)sa)->sin6_addr);
}

/*
 * New TCP carrier connections: 10 per 10 s from one address (an IPv4
 * address or an IPv6 /64), and at most 2048 still being classified
 * (§2.13, §6); more are closed at once.
 */
/* The per-IP bucket of new TCP carrier connections. */
static int
ucon_rate(struct osrv *srv, const struct sockaddr_storage *ss)
{
	unsigned char src[16];
	struct bucket *b;
	uint32_t h = 2166136261u;
	uint64_t now = ostp_now_us();
	size_t i;

	adm_source(ss, src);
	for (i = 0; i < 16; i++)
		h = (h ^ src[i]) * 16777619u;
	b = &srv->tcpadm[h % ADM_SLOTS];
	if (!b->used || memcmp(b->src, src, 16) != 0) {
		memset(b, 0, sizeof(*b));
		memcpy(b->src, src, 16);
		b->used = 1;
		b->tokens = UC_PER_IP_BURST;
		b->at_us = now;
	}
	return bucket_take(b, UC_PER_IP_RATE, UC_PER_IP_BURST, now);
}

static int
ucon_admit(struct osrv *srv, const struct sockaddr_storage *ss)
{
	if (srv->classifying >= UC_CLASSIFYING_MAX)
		return -1;
	/*
	 * A loopback peer is a local reverse proxy (§2.13): the limit
	 * applies to the address its X-Real-IP (or X-Forwarded-For) names,
	 * once its request head is read (ucon_forwarded).
	 */
	if (sockaddr_is_loopback((const struct sockaddr *)ss))
		return 0;
	return ucon_rate(srv, ss);
}

/*
 * A loopback peer's request head: the client it forwards is limited
 * as if it had connected itself.  -1: over its limit.
 */
static int
ucon_forwarded(struct ucon *uc, const struct uot_upgrade *up)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *a = up->real_ip[0] != '\0' ? up->real_ip : up->forwarded;

	if (!sockaddr_is_loopback((const struct sockaddr *)&uc->peer) ||
	    a[0] == '\0' || sockaddr_literal(a, 0, &ss, &len) != 0)
		return 0;
	if (ucon_rate(uc->srv, &ss) != 0) {
		debug("ostp %s: a TCP carrier connection for %s refused "
		    "(rate)", uc->srv->l->node->url, a);
		return -1;
	}
	return 0;
}

static void
ucon_accept(void *arg, struct conn *c)
{
	struct osrv *srv = arg;
	struct timeval tv = { UC_CLASSIFY_SECS, 0 };
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct ucon *uc;
	int one = 1;

	if (getpeername(c->fd, (struct sockaddr *)&ss, &sslen) == -1 ||
	    (sockaddr_unmap(&ss, &sslen), ucon_admit(srv, &ss)) != 0) {
		debug("ostp %s: a TCP carrier connection refused (rate)",
		    srv->l->node->url);
		conn_free(c);
		worker_conn_closed(srv->wk);
		return;
	}

	if ((uc = calloc(1, sizeof(*uc))) == NULL ||
	    cbuf_alloc(&uc->in, 2 * (UOT_HDR_LEN + UOT_FRAME_MAX)) != 0) {
		free(uc);
		conn_free(c);
		worker_conn_closed(srv->wk);
		return;
	}
	uc->srv = srv;
	uc->c = c;
	uc->refs = 1;
	uc->last_frame = time(NULL);
	uc->peerlen = sizeof(uc->peer);
	if (getpeername(c->fd, (struct sockaddr *)&uc->peer,
	    &uc->peerlen) == -1) {
		ucon_close(uc);
		return;
	}
	sockaddr_unmap(&uc->peer, &uc->peerlen);
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((uc->tmo = evtimer_new(srv->wk->base, ucon_tmo_cb, uc)) == NULL)
		fatal_f("out of memory");
	evtimer_add(uc->tmo, &tv);
	uc->classifying = 1;
	srv->classifying++;
	conn_set_cb(c, ucon_cb, uc);
	conn_want(c, CONN_READ);
}

int
ostp_server_start(struct worker *wk, const struct listener_conf *l,
    size_t idx, int fd)
{
	const struct ostp_conf *oc = l->ostp;
	struct osrv *srv;
	size_t i;

	if (oc == NULL || oc->nkeys == 0 ||
	    (srv = calloc(1, sizeof(*srv))) == NULL)
		return -1;
	srv->wk = wk;
	srv->l = l;
	srv->idx = idx;
	srv->fd = fd;
	if ((srv->adm = calloc(ADM_SLOTS, sizeof(*srv->adm))) == NULL ||
	    (srv->tcpadm = calloc(ADM_SLOTS, sizeof(*srv->tcpadm))) == NULL ||
	    (srv->replay = calloc(REPLAY_MAX, sizeof(*srv->replay))) == NULL ||
	    (srv->rbuckets = malloc(REPLAY_BUCKETS *
	    sizeof(*srv->rbuckets))) == NULL)
		return -1;
	for (i = 0; i < REPLAY_BUCKETS; i++)
		srv->rbuckets[i] = UINT32_MAX;
	ostp_random(srv->rkey, sizeof(srv->rkey));
	if (srv_set_keys(srv, oc->keys, oc->nkeys) != 0) {
		error("%s: the access keys cannot be used", l->node->url);
		return -1;
	}
	/* the file's keys as it is now, and whenever it changes */
	if (oc->keys_path != NULL && reload_register(wk, oc->keys_path,
	    RELOAD_OSTPKEYS, (void **)&srv->fkeys, srv_keys_reloaded,
	    srv) != 0)
		return -1;
	srv->all.tokens = oc->hs_rate;
	srv->all.at_us = ostp_now_us();
	for (i = 0; i < SRV_BUCKETS; i++)
		LIST_INIT(&srv->sids[i]);
	for (i = 0; i < SRV_ADDR_BUCKETS; i++)
		LIST_INIT(&srv->addrs[i]);
	if (dialer_init(&srv->dl, wk, l, idx) != 0)
		return -1;
	/* the fallback is the administrator's own server: no rules */
	if (oc->fallback_host != NULL) {
		if (dialer_init(&srv->fdl, wk, l, idx) != 0)
			return -1;
		srv->fdl.direct = 1;
	}
	/* names that resolve to local addresses are refused too */
	srv->dl.public_only = !oc->local_access;
	if (l->socktype == SOCK_STREAM) {
		srv->fd = -1;
		if (l->tp.sniff && (srv->tls = tlskey_server_ctx(wk,
		    idx)) == NULL) {
			error("%s: no TLS context", l->node->url);
			return -1;
		}
		if (tp_listen(&srv->tp, wk, l, idx, fd, ucon_accept, srv,
		    &wk->listeners[idx]) != 0)
			return -1;
		srv->tp.sessions = 1;	/* a record per flow */
		return 0;
	}
	evutil_make_socket_nonblocking(fd);
	ostp_udp_tune(fd);
	srv->gso = 1;
	srv->fwd.tokens = SRV_FWD_BURST;
	srv->fwd.at_us = ostp_now_us();
	LIST_INSERT_HEAD(&udp_servers, srv, entry);
	if ((srv->ev = event_new(wk->base, fd, EV_READ | EV_PERSIST,
	    srv_read_cb, srv)) == NULL)
		return -1;
	event_add(srv->ev, NULL);
	return 0;
}
