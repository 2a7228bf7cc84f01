/*
 * Accepted OSTP handshakes, remembered in memory every worker of every
 * generation maps (the replay memory of handler/ss.c), so that a msg1
 * replayed from another address -- which the kernel may hand to
 * another worker -- or after a reload is refused all the same.
 */
#ifndef OSTP_OSTP_REPLAY_H
#define OSTP_OSTP_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define OSTP_REPLAY_SLOTS	(1U << 18)	/* 6 MiB */

struct ostp_replay_slot {
	int64_t		expires;
	unsigned char	dig[16];
};

struct ostp_replay_shm {
	int			lock;
	unsigned char		key[32];	/* keyed digests */
	struct ostp_replay_slot	slot[OSTP_REPLAY_SLOTS];
};

int	ostp_replay_init(struct ostp_replay_shm *);
void	ostp_replay_set(struct ostp_replay_shm *);
int	ostp_replay_shared(void);
int	ostp_replay_check(const unsigned char *payload, size_t len,
	    time_t now, int keep_secs);

#endif
