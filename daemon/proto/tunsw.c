/*
 * The switch of a gost tun:// or tap:// server: learned inner addresses
 * and the peers that own them (see tunsw.h).
 *
 * Entries live in one array, chained per hash bucket; a full table
 * gives up its least recently seen entry, so a peer that sends from
 * ever new source addresses costs a bounded scan, never memory.  An
 * entry names its peer by slot and generation: a slot given to another
 * peer makes the old peer's entries stale at once.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "proto/tunsw.h"

#define TUNSW_BUCKETS	1024

struct tunsw_ent {
	unsigned char	 key[16];
	uint8_t		 keylen;
	uint8_t		 used;
	uint8_t		 local;		/* this host's: the device */
	uint8_t		 perm;		/* configured: never replaced */
	int16_t		 next;		/* bucket chain or free list */
	int16_t		 peer;
	uint32_t	 pgen;
	time_t		 seen;
};

struct tunsw_route {
	int		 family;
	unsigned char	 dst[16];
	unsigned int	 plen;
	unsigned char	 gw[16];
};

struct tunsw {
	int			 tap;
	time_t			 age;		/* 0: entries never age */
	struct tunsw_ent	 ents[TUNSW_ENTRIES];
	int16_t			 buckets[TUNSW_BUCKETS];
	int16_t			 freelist;
	size_t			 nents;
	struct tunsw_peer	 peers[TUNSW_PEERS];
	uint32_t		 gen;
	int			 lastpeer;
	struct tunsw_route	 routes[TUNSW_ROUTES];
	size_t			 nroutes;
};

struct tunsw *
tunsw_new(int tap)
{
	struct tunsw *sw;
	int i;

	if ((sw = calloc(1, sizeof(*sw))) == NULL)
		return NULL;
	sw->tap = tap;
	sw->age = tap ? TUNSW_AGE : 0;
	for (i = 0; i < TUNSW_BUCKETS; i++)
		sw->buckets[i] = -1;
	for (i = 0; i < TUNSW_ENTRIES; i++)
		sw->ents[i].next = (int16_t)(i + 1 < TUNSW_ENTRIES ? i + 1 :
		    -1);
	sw->freelist = 0;
	return sw;
}

void
tunsw_free(struct tunsw *sw)
{
	free(sw);
}

size_t
tunsw_count(const struct tunsw *sw)
{
	return sw->nents;
}

size_t
tunsw_key(int tap, const unsigned char *p, size_t n, int dst,
    unsigned char *key)
{
	if (tap) {
		if (n < 14)
			return 0;
		memcpy(key, p + (dst ? 0 : 6), 6);
		return 6;
	}
	if (n >= 20 && (p[0] >> 4) == 4) {
		memcpy(key, p + (dst ? 16 : 12), 4);
		return 4;
	}
	if (n >= 40 && (p[0] >> 4) == 6) {
		memcpy(key, p + (dst ? 24 : 8), 16);
		return 16;
	}
	return 0;
}

static unsigned int
key_hash(const unsigned char *key, size_t keylen)
{
	uint32_t h = 2166136261U;
	size_t i;

	for (i = 0; i < keylen; i++)
		h = (h ^ key[i]) * 16777619U;
	return h % TUNSW_BUCKETS;
}

static void
ent_remove(struct tunsw *sw, int idx)
{
	struct tunsw_ent *e = &sw->ents[idx];
	int16_t *pp = &sw->buckets[key_hash(e->key, e->keylen)];

	while (*pp != -1 && *pp != idx)
		pp = &sw->ents[*pp].next;
	if (*pp == idx)
		*pp = e->next;
	e->used = 0;
	e->next = sw->freelist;
	sw->freelist = (int16_t)idx;
	sw->nents--;
}

/* A live entry: its peer still the one it learned, not aged out. */
static int
ent_live(const struct tunsw *sw, const struct tunsw_ent *e, time_t now)
{
	if (e->perm)
		return 1;
	if (sw->age != 0 && now - e->seen > sw->age)
		return 0;
	return e->local || sw->peers[e->peer].gen == e->pgen;
}

/* The entry for key, stale ones removed on the way: index or -1. */
static int
ent_find(struct tunsw *sw, const unsigned char *key, size_t keylen,
    time_t now)
{
	int i = sw->buckets[key_hash(key, keylen)], next;

	for (; i != -1; i = next) {
		next = sw->ents[i].next;
		if (sw->ents[i].keylen != keylen ||
		    memcmp(sw->ents[i].key, key, keylen) != 0)
			continue;
		if (!ent_live(sw, &sw->ents[i], now)) {
			ent_remove(sw, i);
			return -1;
		}
		return i;
	}
	return -1;
}

/* A slot for a new entry: a free one, else the oldest not configured. */
static int
ent_alloc(struct tunsw *sw, const unsigned char *key, size_t keylen)
{
	struct tunsw_ent *e;
	unsigned int b;
	int i, old = -1;

	if (sw->freelist == -1) {
		for (i = 0; i < TUNSW_ENTRIES; i++)
			if (!sw->ents[i].perm && (old == -1 ||
			    sw->ents[i].seen < sw->ents[old].seen))
				old = i;
		if (old == -1)
			return -1;
		ent_remove(sw, old);
	}
	i = sw->freelist;
	e = &sw->ents[i];
	sw->freelist = e->next;
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, keylen);
	e->keylen = (uint8_t)keylen;
	e->used = 1;
	b = key_hash(key, keylen);
	e->next = sw->buckets[b];
	sw->buckets[b] = (int16_t)i;
	sw->nents++;
	return i;
}

void
tunsw_local_add(struct tunsw *sw, const unsigned char *key, size_t keylen)
{
	int i;

	if (keylen == 0 || keylen > 16)
		return;
	if ((i = ent_find(sw, key, keylen, 0)) == -1 &&
	    (i = ent_alloc(sw, key, keylen)) == -1)
		return;
	sw->ents[i].local = 1;
	sw->ents[i].perm = 1;
}

int
tunsw_route_add(struct tunsw *sw, int family, const unsigned char *dst,
    unsigned int plen, const unsigned char *gw)
{
	struct tunsw_route *r;
	size_t alen = family == AF_INET ? 4 : 16;

	if ((family != AF_INET && family != AF_INET6) || plen > alen * 8 ||
	    sw->nroutes >= TUNSW_ROUTES)
		return -1;
	r = &sw->routes[sw->nroutes++];
	memset(r, 0, sizeof(*r));
	r->family = family;
	memcpy(r->dst, dst, alen);
	r->plen = plen;
	memcpy(r->gw, gw, alen);
	return 0;
}

static int
prefix_has(const unsigned char *pfx, unsigned int plen,
    const unsigned char *a)
{
	unsigned int bytes = plen / 8, bits = plen % 8;
	unsigned char mask;

	if (memcmp(pfx, a, bytes) != 0)
		return 0;
	if (bits == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - bits));
	return (pfx[bytes] & mask) == (a[bytes] & mask);
}

static int
sa_same(const struct sockaddr *a, socklen_t al, const struct sockaddr *b,
    socklen_t bl)
{
	const struct sockaddr_in *a4, *b4;
	const struct sockaddr_in6 *a6, *b6;

	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET && al >= sizeof(*a4) &&
	    bl >= sizeof(*b4)) {
		a4 = (const struct sockaddr_in *)a;
		b4 = (const struct sockaddr_in *)b;
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6 && al >= sizeof(*a6) &&
	    bl >= sizeof(*b6)) {
		a6 = (const struct sockaddr_in6 *)a;
		b6 = (const struct sockaddr_in6 *)b;
		return a6->sin6_port == b6->sin6_port &&
		    a6->sin6_scope_id == b6->sin6_scope_id &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0;
	}
	return 0;
}

/* The slot of peer sa, made if new (the least recently seen gives way). */
static int
peer_slot(struct tunsw *sw, const struct sockaddr *sa, socklen_t salen,
    time_t now)
{
	struct tunsw_peer *p;
	int i, freeslot = -1, old = -1;

	if (salen == 0 || salen > sizeof(p->addr))
		return -1;
	p = &sw->peers[sw->lastpeer];
	if (p->gen != 0 && sa_same((struct sockaddr *)&p->addr, p->addrlen,
	    sa, salen)) {
		p->seen = now;
		return sw->lastpeer;
	}
	for (i = 0; i < TUNSW_PEERS; i++) {
		p = &sw->peers[i];
		if (p->gen == 0) {
			if (freeslot == -1)
				freeslot = i;
			continue;
		}
		if (sa_same((struct sockaddr *)&p->addr, p->addrlen, sa,
		    salen)) {
			p->seen = now;
			sw->lastpeer = i;
			return i;
		}
		if (old == -1 || p->seen < sw->peers[old].seen)
			old = i;
	}
	i = freeslot != -1 ? freeslot : old;
	p = &sw->peers[i];
	memset(&p->addr, 0, sizeof(p->addr));
	memcpy(&p->addr, sa, salen);
	p->addrlen = salen;
	p->seen = now;
	/* a new generation: entries of the slot's last peer are stale */
	if (++sw->gen == 0)
		sw->gen = 1;
	p->gen = sw->gen;
	sw->lastpeer = i;
	return i;
}

const struct tunsw_peer *
tunsw_peer(const struct tunsw *sw, int i, time_t now)
{
	const struct tunsw_peer *p;

	if (i < 0 || i >= TUNSW_PEERS)
		return NULL;
	p = &sw->peers[i];
	if (p->gen == 0 || (now != 0 && now - p->seen > TUNSW_AGE))
		return NULL;
	return p;
}

static void
learn(struct tunsw *sw, const unsigned char *key, size_t keylen, int from,
    time_t now)
{
	struct tunsw_ent *e;
	int i;

	if ((i = ent_find(sw, key, keylen, now)) == -1 &&
	    (i = ent_alloc(sw, key, keylen)) == -1)
		return;
	e = &sw->ents[i];
	if (e->perm)
		return;		/* ours: a peer cannot take it */
	e->seen = now;
	e->local = from == -1;
	if (from != -1) {
		e->peer = (int16_t)from;
		e->pgen = sw->peers[from].gen;
	}
}

/* The peer route= entries give for an IP destination, or -1. */
static int
route_lookup(struct tunsw *sw, const unsigned char *dst, size_t dlen,
    time_t now)
{
	const struct tunsw_route *r, *best = NULL;
	size_t i;
	int e;

	for (i = 0; i < sw->nroutes; i++) {
		r = &sw->routes[i];
		if ((r->family == AF_INET ? 4U : 16U) != dlen ||
		    !prefix_has(r->dst, r->plen, dst))
			continue;
		if (best == NULL || r->plen > best->plen)
			best = r;
	}
	if (best == NULL ||
	    (e = ent_find(sw, best->gw, dlen, now)) == -1 ||
	    sw->ents[e].local)
		return -1;
	return sw->ents[e].peer;
}

int
tunsw_input(struct tunsw *sw, const unsigned char *p, size_t n,
    const struct sockaddr *sa, socklen_t salen, time_t now,
    struct tunsw_verdict *v)
{
	unsigned char src[16], dst[16];
	size_t sl, dl;
	int from = -1, e, to;

	memset(v, 0, sizeof(*v));
	v->peer = -1;
	v->from = -1;
	if ((sl = tunsw_key(sw->tap, p, n, 0, src)) == 0 ||
	    (dl = tunsw_key(sw->tap, p, n, 1, dst)) == 0)
		return -1;
	/* a frame from a group address: no station sends that */
	if (sw->tap && (src[0] & 1))
		return -1;
	if (sa != NULL && (from = peer_slot(sw, sa, salen, now)) == -1)
		return -1;
	v->from = from;
	learn(sw, src, sl, from, now);
	if (sw->tap && (dst[0] & 1)) {
		/* broadcast, multicast: everywhere but where it came from */
		v->dev = from != -1;
		v->flood = 1;
		return 0;
	}
	if ((e = ent_find(sw, dst, dl, now)) != -1) {
		if (sw->ents[e].local) {
			v->dev = from != -1;
			return 0;
		}
		to = sw->ents[e].peer;
	} else if (!sw->tap)
		to = route_lookup(sw, dst, dl, now);
	else {
		/* an unknown station: flooded, as a bridge does */
		v->dev = from != -1;
		v->flood = 1;
		return 0;
	}
	if (to == -1) {
		/* tun: the server's own stack (or its routes) decide */
		v->dev = from != -1;
		return 0;
	}
	if (to != from)
		v->peer = to;
	return 0;
}
