/*
 * Per-key byte counters shared by every worker (usage.h).  Slots are
 * found by open addressing from the key's id under a spinlock, once per
 * key and worker; the counters themselves are added to atomically on
 * the data path, without the lock.
 */
#include "config.h"

#include <string.h>

#include "blake3.h"
#include "ostp/usage.h"

static struct ostp_usage_shm *us;

void
ostp_usage_id(const char *key, size_t len,
    unsigned char id[OSTP_USAGE_ID_LEN])
{
	struct blake3 b;

	blake3_init_derive_key(&b, "ostpd 2026-12-07 OSTP per-key usage v1");
	blake3_update(&b, key, len);
	blake3_final(&b, id, OSTP_USAGE_ID_LEN);
	/* all zero marks a free slot */
	id[0] |= 1;
}

uint32_t
ostp_usage_file(const char *path)
{
	uint32_t h = 2166136261u;

	if (path == NULL)
		return 0;
	for (; *path != '\0'; path++)
		h = (h ^ (unsigned char)*path) * 16777619u;
	return h == 0 ? 1 : h;
}

struct ostp_usage_slot *
ostp_usage_get(struct ostp_usage_shm *u,
    const unsigned char id[OSTP_USAGE_ID_LEN], const char *name,
    uint32_t file)
{
	static const unsigned char zero[OSTP_USAGE_ID_LEN];
	struct ostp_usage_slot *sl = NULL;
	uint32_t h;
	size_t i;

	if (u == NULL)
		return NULL;
	memcpy(&h, id, sizeof(h));
	while (__atomic_exchange_n(&u->lock, 1, __ATOMIC_ACQUIRE))
		;
	for (i = 0; i < OSTP_USAGE_SLOTS; i++) {
		sl = &u->slot[(h + i) % OSTP_USAGE_SLOTS];
		if (memcmp(sl->id, id, OSTP_USAGE_ID_LEN) == 0)
			break;
		if (memcmp(sl->id, zero, OSTP_USAGE_ID_LEN) == 0) {
			memcpy(sl->id, id, OSTP_USAGE_ID_LEN);
			break;
		}
	}
	if (i == OSTP_USAGE_SLOTS)
		sl = NULL;
	else {
		if (name != NULL) {
			strncpy(sl->name, name, sizeof(sl->name) - 1);
			sl->name[sizeof(sl->name) - 1] = '\0';
		}
		if (file != 0)
			sl->file = file;
	}
	__atomic_store_n(&u->lock, 0, __ATOMIC_RELEASE);
	return sl;
}

void
ostp_usage_add(struct ostp_usage_slot *sl, uint64_t up, uint64_t down)
{
	if (up != 0)
		__atomic_fetch_add(&sl->up, up, __ATOMIC_RELAXED);
	if (down != 0)
		__atomic_fetch_add(&sl->down, down, __ATOMIC_RELAXED);
}

uint64_t
ostp_usage_total(const struct ostp_usage_slot *sl)
{
	return __atomic_load_n(&sl->up, __ATOMIC_RELAXED) +
	    __atomic_load_n(&sl->down, __ATOMIC_RELAXED);
}

void
ostp_usage_set(struct ostp_usage_shm *u)
{
	us = u;
}

struct ostp_usage_shm *
ostp_usage_shared(void)
{
	return us;
}
