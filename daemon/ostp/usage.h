/*
 * Bytes per OSTP access key (spec/ostp.md §6: up = datagram bytes in,
 * down = datagram bytes out), in the memory every worker of every
 * generation maps (the replay memory of handler/ss.c): a key's limit
 * holds for the whole daemon and survives a reload, and the monitor,
 * which maps it too, persists the counters of keys whose listener has
 * stats= to that file (mon_usage.c) and loads them at start.
 */
#ifndef OSTP_OSTP_USAGE_H
#define OSTP_OSTP_USAGE_H

#include <stddef.h>
#include <stdint.h>

#define OSTP_USAGE_SLOTS	4096
#define OSTP_USAGE_ID_LEN	16
#define OSTP_USAGE_NAME_MAX	64

struct ostp_usage_slot {
	unsigned char	id[OSTP_USAGE_ID_LEN];	/* all zero: free */
	uint32_t	file;		/* ostp_usage_file() of stats=, 0 */
	uint32_t	pad;
	char		name[OSTP_USAGE_NAME_MAX];
	uint64_t	up;		/* atomic */
	uint64_t	down;		/* atomic */
};

struct ostp_usage_shm {
	int			lock;
	struct ostp_usage_slot	slot[OSTP_USAGE_SLOTS];
};

/* A key's id: a digest of the key, the same in every run. */
void	ostp_usage_id(const char *key, size_t len,
	    unsigned char id[OSTP_USAGE_ID_LEN]);
/* The tag of a stats= path (never 0); 0 for NULL. */
uint32_t ostp_usage_file(const char *path);
/*
 * The key's slot, made if new; its name and file updated.  NULL when
 * the table is full or absent.
 */
struct ostp_usage_slot *ostp_usage_get(struct ostp_usage_shm *,
	    const unsigned char id[OSTP_USAGE_ID_LEN], const char *name,
	    uint32_t file);
void	ostp_usage_add(struct ostp_usage_slot *, uint64_t up, uint64_t down);
uint64_t ostp_usage_total(const struct ostp_usage_slot *);

/* Worker: the table it mapped (NULL: none, counters stay local). */
void	ostp_usage_set(struct ostp_usage_shm *);
struct ostp_usage_shm *ostp_usage_shared(void);

#endif
