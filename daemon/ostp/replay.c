/*
 * The shared record of accepted OSTP handshakes (replay.h).  A keyed
 * BLAKE3 digest of each accepted msg1 payload (its timestamp, session
 * id and key) is kept until its timestamp can no longer pass the clock
 * window.  The table is open-addressed and guarded by a spinlock whose
 * critical section is a few dozen probes; when every probed slot holds
 * a live digest, the one that expires first makes room (the oldest
 * handshake, as a ring would drop it).
 */
#include "config.h"

#include <string.h>

#include <openssl/rand.h>

#include "blake3.h"
#include "ostp/replay.h"

#define PROBES	32

static struct ostp_replay_shm *rs;

/* Monitor: a fresh table's key. */
int
ostp_replay_init(struct ostp_replay_shm *r)
{
	return RAND_bytes(r->key, sizeof(r->key)) == 1 ? 0 : -1;
}

/* Worker: the table it mapped. */
void
ostp_replay_set(struct ostp_replay_shm *r)
{
	rs = r;
}

int
ostp_replay_shared(void)
{
	return rs != NULL;
}

/* 1 if this payload was accepted within keep_secs; else it is now. */
int
ostp_replay_check(const unsigned char *p, size_t len, time_t now,
    int keep_secs)
{
	struct ostp_replay_slot *sl, *room = NULL;
	unsigned char dig[16];
	struct blake3 b;
	uint64_t h;
	size_t i;
	int seen = 0;

	blake3_init_keyed(&b, rs->key);
	blake3_update(&b, p, len);
	blake3_final(&b, dig, sizeof(dig));
	memcpy(&h, dig, sizeof(h));
	while (__atomic_exchange_n(&rs->lock, 1, __ATOMIC_ACQUIRE))
		;
	for (i = 0; i < PROBES; i++) {
		sl = &rs->slot[(h + i) % OSTP_REPLAY_SLOTS];
		if (sl->expires > now && memcmp(sl->dig, dig, 16) == 0) {
			seen = 1;
			break;
		}
		if (room == NULL || (room->expires > now &&
		    sl->expires < room->expires))
			room = sl;
	}
	if (!seen) {
		memcpy(room->dig, dig, 16);
		room->expires = now + keep_secs;
	}
	__atomic_store_n(&rs->lock, 0, __ATOMIC_RELEASE);
	return seen;
}
