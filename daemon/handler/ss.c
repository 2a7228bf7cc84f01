/*
 * Shadowsocks over TCP: the AEAD codec (client and server side of a
 * session) and the ss:// server.  The server reads the salt and the
 * first chunks until the target address is complete, checks the salt
 * against the replay filter, and relays through the dialer.  A client
 * whose first chunk does not authenticate (a wrong key, or a prober)
 * sees nothing that tells it what we are: its bytes are read and
 * dropped, and the connection closes after a random delay.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/dial.h"
#include "ostp/replay.h"
#include "ostp/usage.h"
#include "err.h"
#include "log.h"
#include "proto/proto.h"
#include "proto/ss.h"
#include "proto/sscodec.h"
#include "core/conn.h"
#include "core/stats.h"
#include "core/listen.h"
#include "core/codec.h"
#include "worker.h"
#include "handler/handler.h"
#include "capture/capture.h"

#define SS_HANDSHAKE_SECS	10	/* for the salt and the address */
#define SS_DRAIN_MAX		512	/* probers held open per worker */

/*
 * The salt filter: two Bloom filters in memory shared by every worker
 * (see ss_replay_create), so a replay is caught whichever worker the
 * kernel hands it to.  Salts go into the current filter; when it holds
 * its capacity, the older one is cleared and becomes current, so the
 * last 1-2 million salts are remembered with a false positive rate
 * near 1e-7.  Concurrent updates may race on the counter; that moves
 * the switch by a few entries, never loses a salt's bits.
 */
#define RF_BITS		(1UL << 25)	/* per filter: 4 MiB */
#define RF_HASHES	20
#define RF_CAPACITY	1000000

struct replay_filter {
	uint64_t	key[2];
	unsigned int	cur;
	unsigned int	count;
	uint64_t	bits[2][RF_BITS / 64];
};

static struct replay_filter *rf;

/*
 * SIP022 forbids false positives: its salts are kept exactly, for the
 * 60 s its timestamps allow, in a table shared like the filter.  A
 * spinlock guards it; the critical sections are a few probes long.
 * When every slot holds a live salt, a new session is refused.
 */
#define SALT_SLOTS	(1U << 18)
#define SALT_KEEP_SECS	60

struct salt_slot {
	int64_t		expires;
	unsigned char	salt[SS_SALT_MAX];
};

struct salt_table {
	int		lock;
	struct salt_slot slot[SALT_SLOTS];
};

static struct salt_table *st22;

static void rf_hash(const unsigned char *, size_t, uint64_t *, uint64_t *);

/*
 * Both tables live in one memfd the monitor creates at start; every
 * worker (a fresh exec of the binary) maps it from the descriptor it is
 * given, so a replay is caught whichever worker sees it.  Untouched
 * pages cost nothing.
 */
struct ss_shared {
	struct replay_filter	rf;
	struct salt_table	st;
	struct ostp_replay_shm	ostp;	/* OSTP handshakes (ostp/replay.c) */
	struct ostp_usage_shm	usage;	/* OSTP bytes per key (ostp/usage.c) */
	struct cap_fake_shm	fake;	/* fake-IP names (capture/dns.c) */
};

static int
ss_replay_map(int fd)
{
	struct ss_shared *sh;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	    0);
	if (sh == MAP_FAILED)
		return -1;
	rf = &sh->rf;
	st22 = &sh->st;
	ostp_replay_set(&sh->ostp);
	ostp_usage_set(&sh->usage);
	cap_fake_shm_set(&sh->fake);
	return 0;
}

/* Monitor: the shared memory and its key; returns the memfd or -1. */
int
ss_replay_create(void)
{
	int fd;

	if ((fd = memfd_create("ostpd-replay", MFD_CLOEXEC)) == -1)
		return -1;
	if (ftruncate(fd, (off_t)sizeof(struct ss_shared)) == -1 ||
	    ss_replay_map(fd) == -1) {
		close(fd);
		return -1;
	}
	if (RAND_bytes((unsigned char *)rf->key, sizeof(rf->key)) != 1 ||
	    ostp_replay_init(&((struct ss_shared *)rf)->ostp) != 0) {
		munmap(rf, sizeof(struct ss_shared));
		rf = NULL;
		st22 = NULL;
		ostp_replay_set(NULL);
		cap_fake_shm_set(NULL);
		close(fd);
		return -1;
	}
	/* The monitor only makes it; the workers use it. */
	munmap(rf, sizeof(struct ss_shared));
	rf = NULL;
	st22 = NULL;
	ostp_replay_set(NULL);
	ostp_usage_set(NULL);
	cap_fake_shm_set(NULL);
	return fd;
}

/* Monitor: the OSTP key counters of that memory, mapped for good. */
struct ostp_usage_shm *
ss_usage_map(int fd)
{
	struct ss_shared *sh;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	    0);
	return sh == MAP_FAILED ? NULL : &sh->usage;
}

/* Worker: map what the monitor created; the size must be ours. */
int
ss_replay_attach(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == -1 ||
	    st.st_size != (off_t)sizeof(struct ss_shared)) {
		errno = EINVAL;
		return -1;
	}
	return ss_replay_map(fd);
}

/* 1 if the salt is within its 60 s already; otherwise it is kept. */
int
ss_salt_seen(const unsigned char *salt, size_t len)
{
	uint64_t h1, h2;
	int64_t now = (int64_t)time(NULL);
	size_t i, idx, freeslot = SIZE_MAX;
	int seen = 0;

	if (st22 == NULL || len > SS_SALT_MAX)
		return 0;
	rf_hash(salt, len, &h1, &h2);
	while (__atomic_exchange_n(&st22->lock, 1, __ATOMIC_ACQUIRE))
		;
	for (i = 0; i < 64; i++) {
		idx = (size_t)((h1 + i) % SALT_SLOTS);
		if (st22->slot[idx].expires <= now) {
			if (freeslot == SIZE_MAX)
				freeslot = idx;
			continue;
		}
		if (memcmp(st22->slot[idx].salt, salt, len) == 0) {
			seen = 1;
			break;
		}
	}
	if (!seen && freeslot != SIZE_MAX) {
		memset(st22->slot[freeslot].salt, 0, SS_SALT_MAX);
		memcpy(st22->slot[freeslot].salt, salt, len);
		st22->slot[freeslot].expires = now + SALT_KEEP_SECS;
	} else if (!seen)
		seen = 1;	/* no room to remember it: refused */
	__atomic_store_n(&st22->lock, 0, __ATOMIC_RELEASE);
	(void)h2;
	return seen;
}

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* Keyed, so that a prober cannot aim at chosen bits. */
static void
rf_hash(const unsigned char *salt, size_t len, uint64_t *h1, uint64_t *h2)
{
	uint64_t a = rf->key[0], b = rf->key[1], w;
	size_t i;

	for (i = 0; i < len; i += 8) {
		w = 0;
		memcpy(&w, salt + i, len - i < 8 ? len - i : 8);
		a = mix64(a ^ w);
		b = mix64(b + w + i);
	}
	*h1 = a;
	*h2 = b | 1;
}

static int
rf_test(unsigned int f, uint64_t h1, uint64_t h2)
{
	unsigned int i;
	uint64_t bit;

	for (i = 0; i < RF_HASHES; i++) {
		bit = (h1 + i * h2) % RF_BITS;
		if ((__atomic_load_n(&rf->bits[f][bit / 64], __ATOMIC_RELAXED) &
		    (1ULL << (bit % 64))) == 0)
			return 0;
	}
	return 1;
}

/* 1 if the salt was seen before; otherwise it is remembered. */
int
ss_replay_check(const unsigned char *salt, size_t len)
{
	uint64_t h1, h2, bit;
	unsigned int i, cur;

	if (rf == NULL)
		return 0;
	rf_hash(salt, len, &h1, &h2);
	if (rf_test(0, h1, h2) || rf_test(1, h1, h2))
		return 1;
	cur = __atomic_load_n(&rf->cur, __ATOMIC_RELAXED) & 1;
	for (i = 0; i < RF_HASHES; i++) {
		bit = (h1 + i * h2) % RF_BITS;
		__atomic_fetch_or(&rf->bits[cur][bit / 64],
		    1ULL << (bit % 64), __ATOMIC_RELAXED);
	}
	if (__atomic_add_fetch(&rf->count, 1, __ATOMIC_RELAXED) >=
	    RF_CAPACITY) {
		memset(rf->bits[cur ^ 1], 0, sizeof(rf->bits[0]));
		__atomic_store_n(&rf->cur, cur ^ 1, __ATOMIC_RELAXED);
		__atomic_store_n(&rf->count, 0, __ATOMIC_RELAXED);
	}
	return 0;
}

/* The ss:// server. */
struct ss_server {
	struct worker			*wk;
	const struct listener_conf	*l;
	struct dialer			 dl;
	struct tp_server		 tp;
	int				 ssu;	/* gost's ssu over a stream */
};

struct sconn {
	struct ss_server	*sv;
	struct conn		*c;
	struct ss_codec		*codec;
	struct cbuf		 in;
	struct cbuf		 plain;
	struct event		*tmo;
	struct dial		*dial;
	int			 checked;	/* salt went through the filter */
	size_t			 plainmax;	/* bytes of plain ever used */
	struct proxy_target	 dst;
};

static unsigned int ndrain;

static void
sconn_free(struct sconn *sc)
{
	dial_cancel(sc->dial);
	if (sc->tmo != NULL)
		event_free(sc->tmo);
	conn_free(sc->c);
	if (sc->codec != NULL)
		ssc_destroy(sc->codec);
	cbuf_release(&sc->in);
	if (sc->plain.p != NULL)
		explicit_bzero(sc->plain.p, sc->plainmax);
	cbuf_release(&sc->plain);
	worker_conn_closed(sc->sv->wk);
	free(sc);
}

struct drain {
	struct worker	*wk;
	struct conn	*c;
	struct event	*tmo;
};

static void
drain_end(struct drain *d)
{
	event_free(d->tmo);
	conn_free(d->c);
	ndrain--;
	worker_conn_closed(d->wk);
	free(d);
}

static void
drain_read_cb(struct conn *c, int what, void *arg)
{
	struct drain *d = arg;
	char sink[4096];
	ssize_t n;

	(void)what;
	while ((n = conn_recv(c, sink, sizeof(sink))) > 0)
		;
	if (n == 0 || errno != EAGAIN)
		drain_end(d);
}

static void
drain_tmo_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	drain_end(arg);
}

/*
 * Probe resistance: keep reading and dropping for 2-12 s, then close,
 * the same whatever went wrong and however much was sent.  Beyond
 * SS_DRAIN_MAX held connections a prober gets a plain close.
 */
static void
sconn_drain(struct sconn *sc, const char *why)
{
	struct drain *d;
	struct timeval tv;

	debug("%s: %s; draining", sc->sv->l->node->url, why);
	if (ndrain >= SS_DRAIN_MAX || (d = calloc(1, sizeof(*d))) == NULL) {
		sconn_free(sc);
		return;
	}
	d->wk = sc->sv->wk;
	d->c = sc->c;
	sc->c = NULL;
	d->tmo = evtimer_new(d->wk->base, drain_tmo_cb, d);
	if (d->tmo == NULL)
		fatal_f("out of memory");
	tv.tv_sec = 2 + (time_t)arc4random_uniform(10);
	tv.tv_usec = (suseconds_t)arc4random_uniform(1000000);
	conn_set_cb(d->c, drain_read_cb, d);
	conn_want(d->c, CONN_READ);
	event_add(d->tmo, &tv);
	ndrain++;
	d->wk->stats.active++;		/* the drain's, until it ends */
	sconn_free(sc);
}

static void
sconn_dialed(void *arg, struct conn *up, int err)
{
	struct sconn *sc = arg;
	struct conn *a;

	sc->dial = NULL;
	if (up == NULL) {
		/* as gost and ss-server: no answer, the connection closes */
		debug("%s: %s:%u: %s", sc->sv->l->node->url, sc->dst.host,
		    sc->dst.port, strerror(err));
		sconn_free(sc);
		return;
	}
	/*
	 * The client's socket under the cipher's layer: wire bytes read
	 * past the request go below it, plaintext decoded past it above.
	 */
	a = sc->c;
	sc->c = NULL;
	if (conn_unread(a, sc->in.p + sc->in.off,
	    sc->in.len) != 0) {
		conn_free(a);
		conn_free(up);
		sconn_free(sc);
		return;
	}
	a = conn_codec_push(a, &sc->codec->c);
	sc->codec = NULL;
	if (a == NULL || conn_unread(a, sc->plain.p + sc->plain.off,
	    sc->plain.len) != 0) {
		conn_free(a);
		conn_free(up);
		sconn_free(sc);
		return;
	}
	sc->sv->wk->stats.active++;	/* the relay's; sconn_free's goes */
	relay_conns(sc->sv->wk, a, up, 0);
	sconn_free(sc);
}

/*
 * gost's ssu over a stream (spec/gost.md §2.14): no request header;
 * after the salt the cipher's stream carries UDP-over-TCP frames
 * (§2.3.4), each a datagram for the destination it names, and the
 * answers go back framed with their source.
 */
struct sutun {
	struct ss_server	*sv;
	struct conn		*c;
	struct uchan		*uc;
	struct cbuf		 in;
	struct cbuf		 out;
};

#define SUTUN_BUF	(65535 + 512)	/* one frame of any datagram */
#define SUTUN_OUT	(256 * 1024)	/* answers queued; more are lost */

static void
sutun_free(struct sutun *su)
{
	uchan_close(su->uc);
	conn_free(su->c);
	cbuf_release(&su->in);
	cbuf_release(&su->out);
	worker_conn_closed(su->sv->wk);
	free(su);
}

static void
sutun_flush(struct sutun *su)
{
	/* a failure: the read side notices the end */
	(void)conn_send_buf(su->c, &su->out);
	conn_want(su->c, CONN_READ | (su->out.len > 0 ? CONN_WRITE : 0));
}

static void
sutun_answer(void *arg, const struct proxy_target *src,
    const unsigned char *p, size_t n)
{
	struct sutun *su = arg;
	unsigned char h[3 + 1 + 1 + PROXY_HOST_MAX + 2];
	size_t hl;

	/* never an empty frame: gost would misread it */
	if (n == 0 || n > 0xffff || (hl = socks5_put_addr(h + 3,
	    sizeof(h) - 3, src->host, src->port)) == 0)
		return;
	h[0] = (unsigned char)(n >> 8);
	h[1] = (unsigned char)n;
	h[2] = 0;
	hl += 3;
	if (cbuf_room(&su->out) < hl + n)
		return;		/* a slow reader loses datagrams, as UDP */
	cbuf_append(&su->out, h, hl);
	cbuf_append(&su->out, p, n);
	su->sv->wk->stats.bytes_out += (uint64_t)n;
	sutun_flush(su);
}

static void
sutun_cb(struct conn *c, int what, void *arg)
{
	struct sutun *su = arg;
	struct proxy_target t;
	size_t hl, fl;
	ssize_t n;
	int e;

	if (what & CONN_WRITE)
		sutun_flush(su);
	if (!(what & CONN_READ))
		return;
	for (;;) {
		if (cbuf_room(&su->in) == 0) {
			sutun_free(su);	/* a frame longer than a datagram */
			return;
		}
		n = conn_recv(c, cbuf_tail(&su->in), cbuf_room(&su->in));
		if (n == 0 || (n == -1 && errno != EAGAIN)) {
			sutun_free(su);
			return;
		}
		if (n < 0)
			return;
		su->in.len += (size_t)n;
		for (;;) {
			e = socks5_parse_udptun(su->in.p + su->in.off,
			    su->in.len, &t, &hl, &fl);
			if (e == ERR_INCOMPLETE)
				break;
			if (e != 0) {
				debug("%s: bad UDP-over-TCP frame",
				    su->sv->l->node->url);
				sutun_free(su);
				return;
			}
			su->sv->wk->stats.bytes_in += fl - hl;
			uchan_send(su->uc, t.host, t.port,
			    su->in.p + su->in.off + hl, fl - hl);
			cbuf_consume(&su->in, fl);
		}
	}
}

/* The salt authenticated: the rest of the connection is frames. */
static void
sconn_udptun(struct sconn *sc)
{
	struct sutun *su;
	struct conn *a;

	a = sc->c;
	sc->c = NULL;
	if ((su = calloc(1, sizeof(*su))) == NULL ||
	    cbuf_alloc(&su->in, SUTUN_BUF) != 0 ||
	    cbuf_alloc(&su->out, SUTUN_OUT) != 0 ||
	    conn_unread(a, sc->in.p + sc->in.off, sc->in.len) != 0) {
		conn_free(a);
		goto fail;
	}
	/* the push takes the codec, and the connection if it fails */
	a = conn_codec_push(a, &sc->codec->c);
	sc->codec = NULL;
	if (a == NULL)
		goto fail;
	su->sv = sc->sv;
	su->c = a;
	su->sv->wk->stats.active++;	/* the tunnel's; sconn_free's goes */
	if (conn_unread(a, sc->plain.p + sc->plain.off, sc->plain.len) != 0 ||
	    (su->uc = uchan_open(&sc->sv->dl, sutun_answer, su)) == NULL) {
		sutun_free(su);
		sconn_free(sc);
		return;
	}
	debug("%s: ssu over a stream", sc->sv->l->node->url);
	sconn_free(sc);
	conn_set_cb(a, sutun_cb, su);
	conn_want(a, CONN_READ);
	return;
 fail:
	if (su != NULL) {
		cbuf_release(&su->in);
		cbuf_release(&su->out);
		free(su);
	}
	sconn_free(sc);
}

static void
sconn_read_cb(struct conn *c, int what, void *arg)
{
	struct sconn *sc = arg;
	size_t used, room;
	ssize_t n;
	int e;

	(void)what;
	if ((room = cbuf_room(&sc->in)) == 0) {
		sconn_drain(sc, "no address in the first 64 KiB");
		return;
	}
	n = conn_recv(c, cbuf_tail(&sc->in), room);
	if (n == 0 || (n == -1 && errno != EAGAIN)) {
		sconn_free(sc);
		return;
	}
	if (n < 0)
		return;
	sc->in.len += (size_t)n;
	e = ssc_decode(&sc->codec->c, &sc->in, &sc->plain);
	/* decode only appends: what to wipe of plain ends here */
	if (sc->plainmax < sc->plain.off + sc->plain.len)
		sc->plainmax = sc->plain.off + sc->plain.len;
	if (e != 0) {
		sconn_drain(sc, e == ERR_FORMAT ? "does not authenticate" :
		    ostp_err(e));
		return;
	}
	if (sc->codec->authed && !sc->checked) {
		sc->checked = 1;
		if ((sc->codec->m->kind == SS_KIND_AEAD &&
		    ss_replay_check(sc->codec->salt, sc->codec->m->keylen)) ||
		    (sc->codec->m->kind == SS_KIND_2022 &&
		    ss_salt_seen(sc->codec->salt, sc->codec->m->keylen))) {
			verbose("%s: replayed salt from a client; dropped",
			    sc->sv->l->node->url);
			sconn_drain(sc, "replayed salt");
			return;
		}
	}
	if (sc->sv->ssu) {
		if (sc->checked)
			sconn_udptun(sc);
		return;
	}
	e = socks5_parse_addr(sc->plain.p + sc->plain.off, sc->plain.len,
	    &sc->dst, &used);
	if (e == ERR_INCOMPLETE)
		return;
	if (e != 0) {
		sconn_drain(sc, "bad target address");
		return;
	}
	cbuf_consume(&sc->plain, used);
	conn_want(sc->c, 0);
	event_del(sc->tmo);
	debug("%s: to %s:%u", sc->sv->l->node->url, sc->dst.host,
	    sc->dst.port);
	stconn_target(conn_stats(sc->c), sc->dst.host, sc->dst.port);
	if ((sc->dial = dial_start(&sc->sv->dl, sc->dst.host, sc->dst.port,
	    0, sconn_dialed, sc)) == NULL) {
		sconn_free(sc);
		return;
	}
	dial_set_stats(sc->dial, conn_stats(sc->c));
}

static void
sconn_tmo_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sconn_free(arg);
}

static void
ss_accept(void *arg, struct conn *c)
{
	struct ss_server *sv = arg;
	struct timeval tv = { SS_HANDSHAKE_SECS, 0 };
	struct sconn *sc = NULL;

	if ((sc = calloc(1, sizeof(*sc))) == NULL ||
	    (sc->codec = ssc_new(sv->l->ss_method, sv->l->ss_key,
	    SSC_SERVER)) == NULL ||
	    cbuf_alloc(&sc->in, CRELAY_IN_BUF) != 0 ||
	    cbuf_alloc(&sc->plain, CRELAY_BUF) != 0) {
		if (sc != NULL) {
			if (sc->codec != NULL)
				ssc_destroy(sc->codec);
			cbuf_release(&sc->in);
			free(sc);
		}
		conn_free(c);
		worker_conn_closed(sv->wk);
		return;
	}
	sc->sv = sv;
	sc->c = c;
	(void)stconn_open(sv->wk, sv->dl.idx, c);
	sc->tmo = evtimer_new(sv->wk->base, sconn_tmo_cb, sc);
	if (sc->tmo == NULL)
		fatal_f("out of memory");
	conn_set_cb(c, sconn_read_cb, sc);
	conn_want(c, CONN_READ);
	event_add(sc->tmo, &tv);
}

int
ss_start(struct worker *wk, const struct listener_conf *l, size_t idx,
    int fd)
{
	struct evconnlistener **levp = &wk->listeners[idx];
	struct ss_server *sv;

	if ((sv = calloc(1, sizeof(*sv))) == NULL)
		return -1;
	sv->wk = wk;
	sv->l = l;
	sv->ssu = strcmp(l->node->proto, "ssu") == 0;
	if (dialer_init(&sv->dl, wk, l, idx) != 0)
		return -1;
	return tp_listen(&sv->tp, wk, l, idx, fd, ss_accept, sv, levp);
}
