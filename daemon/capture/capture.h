/*
 * System-wide capture: a tun device whose packets lwIP (Debian's
 * liblwip, driven from the worker's event loop) turns into TCP flows,
 * each a connection (struct conn) that goes through the routing rules
 * and outbounds as a proxy listener's client does.
 */
#ifndef OSTP_CAPTURE_H
#define OSTP_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

struct worker;
struct listener_conf;
struct capture;
struct tcp_pcb;
struct conn;

/* handler entry: fd is -1 (the device comes from the monitor) */
int	capture_start(struct worker *, const struct listener_conf *,
	    size_t idx, int fd);

/*
 * The worker drains (a new generation took over): stop reading the
 * device, which the new worker reads now, and reset every flow, whose
 * packets go there.
 */
void	capture_drain(void);

/*
 * The fake-IP table, in the memory the monitor shares with every
 * worker (handler/ss.c's memfd): names by index, chained by indices.
 */
#define CAP_FAKE_MAX		65536		/* names held at once */
#define CAP_FAKE_BUCKETS	4096
#define CAP_FAKE_NAME		256		/* DNS_NAME_MAX and NUL */

struct cap_fake_shm {
	uint32_t	 lock;
	uint32_t	 size;		/* the first capture's range */
	uint32_t	 next;
	uint32_t	 buckets[CAP_FAKE_BUCKETS];	/* index + 1 */
	struct {
		uint32_t next;				/* index + 1 */
		char	 name[CAP_FAKE_NAME];
	}		 ents[CAP_FAKE_MAX];
};

/* Worker: the table it mapped (NULL: none, each capture its own). */
void	cap_fake_shm_set(struct cap_fake_shm *);

/* flow.c: an accepted lwIP TCP connection as a struct conn */
struct conn *capture_flow_new(struct capture *, struct tcp_pcb *);
/* Reset the flow's TCP connection (its dial failed): before conn_free. */
void	capture_flow_abort(struct conn *);
/*
 * Before the flow has an owner: cb hears of data, the end, a reset
 * (called from inside lwIP: it may only record and schedule).
 */
void	capture_flow_watch(struct conn *, void (*cb)(void *), void *arg);
/*
 * A copy of the first bytes received, which stay to be read; *ended
 * is 1 after the client's FIN, 2 when the connection is gone.
 */
size_t	capture_flow_peek(struct conn *, void *, size_t, int *ended);
struct worker *capture_worker(const struct capture *);
/* capture.c: lwIP did something that may have moved its timers */
void	capture_timers(void);

#endif
