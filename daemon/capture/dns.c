/*
 * A capture's DNS: with dns_addr, every query a captured host sends to
 * UDP port 53 (whatever the address: a hijack) is answered here, from
 * the listener's resolver's nameservers, which the daemon reaches with
 * its own sockets.  With fake_ip, A queries are answered with an
 * address of the fake range that stands for the name (as sing-box's
 * and clash's fake-IP): a flow to that address is dialed to the name,
 * so domain rules apply and the outbound (a SOCKS5 or Shadowsocks hop)
 * sends the name, which its far end resolves.  AAAA queries get an
 * empty answer then, so that clients use the fake IPv4 address.
 *
 * The range is used round robin: a name keeps its address until the
 * range has gone round once (at most CAP_FAKE_MAX other names later);
 * asking again moves nothing, so a name in use keeps its address.
 *
 * Several workers each read a queue of the same device (IFF_MULTI_QUEUE)
 * and the kernel spreads flows over the queues by their hash: a query
 * answered by one worker and the flow to the address it gave may meet
 * different workers.  So the table lives in the memory the monitor
 * shares with every worker (the replay filters' memfd, handler/ss.c):
 * names by index, chained by indices, under a spinlock held for a few
 * dozen comparisons, as ostp/replay.c does.  The first capture to use
 * it sets its size; a capture whose range has another size (a second
 * fake_ip of another length) keeps a table of its own, which is right
 * only with one worker.  The table outlives reloads: names keep their
 * addresses across SIGHUP.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "lwip/ip.h"

#include "log.h"
#include "worker.h"
#include "core/dial.h"
#include "core/dnsup.h"
#include "core/resolve.h"
#include "proto/dns.h"
#include "proto/fakedns.h"
#include "capture/capture.h"
#include "capture/capture_int.h"

#define CAP_FAKE_TTL	10		/* seconds, in answers */
#define CAP_DNS_PENDING	1024

struct cap_fake {
	uint32_t		 net;		/* host order: the range */
	uint32_t		 last;
	uint32_t		 base;		/* the first address used */
	uint32_t		 size;
	struct cap_fake_shm	*t;		/* shared, or own */
	int			 own;
};

static struct cap_fake_shm *fake_shm;

void
cap_fake_shm_set(struct cap_fake_shm *t)
{
	fake_shm = t;
}

static void
fake_lock(struct cap_fake_shm *t)
{
	while (__atomic_exchange_n(&t->lock, 1, __ATOMIC_ACQUIRE))
		;
}

static void
fake_unlock(struct cap_fake_shm *t)
{
	__atomic_store_n(&t->lock, 0, __ATOMIC_RELEASE);
}

struct cap_dq {
	LIST_ENTRY(cap_dq)	 entry;
	struct capture		*cap;
	struct dnsup_req	*req;
	ip_addr_t		 client;
	uint16_t		 cport;
	ip_addr_t		 server;	/* the address it was sent to */
	uint16_t		 id;
	uint16_t		 udp_size;
};

static uint32_t
name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % CAP_FAKE_BUCKETS;
}

/* With the lock: the index of name, or UINT32_MAX. */
static uint32_t
fake_find(struct cap_fake_shm *t, const char *name)
{
	uint32_t i;

	for (i = t->buckets[name_hash(name)]; i != 0;
	    i = t->ents[i - 1].next)
		if (strcmp(t->ents[i - 1].name, name) == 0)
			return i - 1;
	return UINT32_MAX;
}

/* With the lock: slot i leaves its chain. */
static void
fake_unchain(struct cap_fake_shm *t, uint32_t i)
{
	uint32_t *pp = &t->buckets[name_hash(t->ents[i].name)];

	while (*pp != 0 && *pp != i + 1)
		pp = &t->ents[*pp - 1].next;
	if (*pp == i + 1)
		*pp = t->ents[i].next;
	t->ents[i].next = 0;
	t->ents[i].name[0] = '\0';
}

int
cap_dns_init(struct capture *cap)
{
	const struct tun_conf *t = &cap->l->tun;
	struct cap_fake *fk;
	uint32_t net, n;

	LIST_INIT(&cap->dqs);
	if (!t->has_fake)
		return 0;
	if ((fk = calloc(1, sizeof(*fk))) == NULL)
		return -1;
	memcpy(&net, t->fake.addr, 4);
	net = ntohl(net) & (0xffffffffu << (32 - t->fake.plen));
	/* neither the network's address nor its broadcast */
	n = (uint32_t)((1ull << (32 - t->fake.plen)) - 2);
	fk->net = net;
	fk->last = net + n + 1;
	fk->base = net + 1;
	fk->size = n < CAP_FAKE_MAX ? n : CAP_FAKE_MAX;
	if (fake_shm != NULL) {
		fake_lock(fake_shm);
		if (fake_shm->size == 0)
			fake_shm->size = fk->size;
		if (fake_shm->size == fk->size)
			fk->t = fake_shm;
		fake_unlock(fake_shm);
	}
	if (fk->t == NULL) {
		if (cap->wk->conf->workers != 1)
			logit("%s: fake_ip of another size than the first "
			    "capture's: its names are not shared between "
			    "workers", t->name);
		/* calloc of this size maps zeroed pages lazily */
		if ((fk->t = calloc(1, sizeof(*fk->t))) == NULL) {
			free(fk);
			return -1;
		}
		fk->t->size = fk->size;
		fk->own = 1;
	}
	cap->fake = fk;
	return 0;
}

/* The fake address (host order) of name, taken now if it has none. */
static int
fake_addr(struct cap_fake *fk, const char *name, uint32_t *addr)
{
	struct cap_fake_shm *t = fk->t;
	uint32_t i, h;

	if (strlen(name) >= sizeof(t->ents[0].name))
		return -1;
	fake_lock(t);
	if ((i = fake_find(t, name)) == UINT32_MAX) {
		i = t->next % fk->size;
		t->next = (i + 1) % fk->size;
		if (t->ents[i].name[0] != '\0')
			fake_unchain(t, i);
		snprintf(t->ents[i].name, sizeof(t->ents[i].name), "%s",
		    name);
		h = name_hash(name);
		t->ents[i].next = t->buckets[h];
		t->buckets[h] = i + 1;
	}
	fake_unlock(t);
	*addr = fk->base + i;
	return 0;
}

int
cap_fake_addr(struct capture *cap, const char *name, ip_addr_t *out)
{
	struct cap_fake *fk = cap->fake;
	uint32_t i;

	if (fk == NULL)
		return -1;
	fake_lock(fk->t);
	i = fake_find(fk->t, name);
	fake_unlock(fk->t);
	if (i == UINT32_MAX)
		return -1;
	ip_addr_set_ip4_u32_val(*out, htonl(fk->base + i));
	return 0;
}

int
cap_fake_name(struct capture *cap, const ip_addr_t *dst, char *name,
    size_t namelen)
{
	struct cap_fake *fk = cap->fake;
	uint32_t a;

	if (fk == NULL || !IP_IS_V4(dst))
		return 0;
	a = ntohl(ip4_addr_get_u32(ip_2_ip4(dst)));
	if (a < fk->net || a > fk->last)
		return 0;
	if (a < fk->base || a - fk->base >= fk->size)
		return -1;
	/* a copy: another worker may reuse the slot right after */
	fake_lock(fk->t);
	snprintf(name, namelen, "%s", fk->t->ents[a - fk->base].name);
	fake_unlock(fk->t);
	return name[0] != '\0' ? 1 : -1;
}

/* The reply as the client's UDP size allows (TC and a retry over TCP). */
static void
dns_reply(struct capture *cap, const ip_addr_t *server,
    const ip_addr_t *client, uint16_t cport, uint16_t udp_size,
    const unsigned char *msg, size_t len)
{
	unsigned char tc[DNS_HDR_LEN + DNS_NAME_MAX + 4 + 11];
	size_t n;

	if (len > udp_size) {
		if ((n = dns_truncate(msg, len, 0, tc, sizeof(tc))) == 0)
			return;
		msg = tc;
		len = n;
	}
	cap_udp_send(cap, server, 53, client, cport, msg, len);
}

static void
dq_free(struct cap_dq *d)
{
	LIST_REMOVE(d, entry);
	d->cap->ndqs--;
	dnsup_cancel(d->req);
	free(d);
}

static void
dq_answer(void *arg, unsigned char *msg, size_t len,
    const struct dns_query *uq, int err)
{
	struct cap_dq *d = arg;
	unsigned char out[DNS_HDR_LEN + DNS_NAME_MAX + 4];
	size_t n;

	(void)uq;
	(void)err;
	d->req = NULL;
	if (msg == NULL) {
		/* no nameserver answered: SERVFAIL, as a resolver says */
		out[0] = (unsigned char)(d->id >> 8);
		out[1] = (unsigned char)d->id;
		memset(out + 2, 0, DNS_HDR_LEN - 2);
		out[2] = 0x81;
		out[3] = 0x80 | DNS_RCODE_SERVFAIL;
		n = DNS_HDR_LEN;
		dns_reply(d->cap, &d->server, &d->client, d->cport,
		    d->udp_size, out, n);
	} else {
		dns_set_id(msg, d->id);
		dns_reply(d->cap, &d->server, &d->client, d->cport,
		    d->udp_size, msg, len);
	}
	dq_free(d);
}

/* An A answer with the name's fake address, or an empty AAAA one. */
static size_t
fake_answer(struct capture *cap, const unsigned char *p,
    const struct dns_query *q, unsigned char *out, size_t outlen)
{
	unsigned char a4[4];
	uint32_t a;

	if (q->qtype == DNS_TYPE_AAAA)
		return fakedns_answer(p, q, NULL, 0, out, outlen);
	if (fake_addr(cap->fake, q->qname, &a) != 0)
		return 0;
	a = htonl(a);
	memcpy(a4, &a, 4);
	return fakedns_answer(p, q, a4, CAP_FAKE_TTL, out, outlen);
}

int
cap_dns_query(struct capture *cap, const ip_addr_t *client, uint16_t cport,
    const ip_addr_t *server, const unsigned char *p, size_t len)
{
	unsigned char out[DNS_HDR_LEN + DNS_NAME_MAX + 4 + 16];
	struct dnsup *up;
	struct dns_query q;
	struct cap_dq *d;
	size_t n;

	if (!cap->l->tun.has_dns)
		return 0;
	if (dns_parse_query(p, len, &q) != 0) {
		if ((n = dns_make_error(p, len, DNS_RCODE_FORMERR, out,
		    sizeof(out))) > 0)
			cap_udp_send(cap, server, 53, client, cport, out, n);
		return 1;
	}
	if (cap->fake != NULL && q.qclass == 1 && strcmp(q.qname, ".") != 0 &&
	    (q.qtype == DNS_TYPE_A || q.qtype == DNS_TYPE_AAAA)) {
		if ((n = fake_answer(cap, p, &q, out, sizeof(out))) > 0)
			dns_reply(cap, server, client, cport, q.udp_size, out,
			    n);
		return 1;
	}
	up = resolver_dnsup(dialer_resolver(&cap->dl));
	if (up == NULL || cap->ndqs >= CAP_DNS_PENDING ||
	    (d = calloc(1, sizeof(*d))) == NULL) {
		if ((n = dns_make_error(p, len, DNS_RCODE_SERVFAIL, out,
		    sizeof(out))) > 0)
			cap_udp_send(cap, server, 53, client, cport, out, n);
		return 1;
	}
	d->cap = cap;
	ip_addr_copy(d->client, *client);
	ip_addr_copy(d->server, *server);
	d->cport = cport;
	d->id = q.id;
	d->udp_size = q.udp_size;
	LIST_INSERT_HEAD(&cap->dqs, d, entry);
	cap->ndqs++;
	if ((d->req = dnsup_query(up, p, len, dq_answer, d)) == NULL)
		dq_free(d);
	return 1;
}
