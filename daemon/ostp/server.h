/* The OSTP server's listener (server.c) and client sessions (client.c). */
#ifndef OSTP_OSTP_SERVER_H
#define OSTP_OSTP_SERVER_H

#include <stddef.h>

struct worker;
struct listener_conf;

struct buf;

int	ostp_server_start(struct worker *, const struct listener_conf *,
	    size_t idx, int fd);
/* A datagram another worker of the port could not place (CMD_OSTP_FWD). */
void	ostp_server_forwarded(struct worker *, struct buf *);
/*
 * A reload: sessions without flows go to the next generation's workers
 * through the monitor (OSTP_HANDOFF), which hands each to one of them
 * (CMD_OSTP_TAKE) and steers its address there.  ostp_server_drain
 * hands on those that may go now and returns how many flowless ones
 * must wait for their last frames to be acknowledged.
 */
size_t	ostp_server_drain(struct worker *, int last);
void	ostp_server_take(struct worker *, struct buf *);

#endif
