/*
 * The plain relay (core/splice.c: two kernel sockets, bytes through a
 * pipe), the half-closed idle limit every relay shares, and lingering
 * closes after an error reply (core/linger.c).
 */
#ifndef OSTP_CORE_RELAY_H
#define OSTP_CORE_RELAY_H

#include <stddef.h>
#include <time.h>

#include <event2/event.h>

struct worker;
struct conf;
struct conn;

void	relay_init(const struct conf *);
struct stconn;
/* st: the client's record (core/stats.h), ended with the relay */
int	relay_start(struct worker *, int a, int b, struct stconn *st);
int	relay_half_idle_secs(void);

struct halfidle {
	struct event	*ev;
	time_t		 last;		/* last activity */
};
void	halfidle_touch(struct halfidle *, struct event_base *, int half,
	    event_callback_fn, void *);
int	halfidle_expired(struct halfidle *, struct event_base *);
void	halfidle_clear(struct halfidle *);

/* an error reply, then a lingering close (takes fd, c) */
void	linger_close(struct worker *, int fd, const void *reply, size_t len);
void	linger_conn(struct worker *, struct conn *, const void *reply,
	    size_t len);

#endif
