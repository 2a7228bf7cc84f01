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

#endif
