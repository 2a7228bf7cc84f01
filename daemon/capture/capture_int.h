/*
 * What the capture's files share (capture.c: the device and the stack;
 * flow.c: TCP flows; udp.c: UDP sessions).  Only they see lwIP.
 */
#ifndef OSTP_CAPTURE_INT_H
#define OSTP_CAPTURE_INT_H

#include <sys/queue.h>
#include <stdint.h>

#include "lwip/netif.h"

#include "core/dial.h"

#define CAP_BUF		65536
#define CAP_READS	64		/* packets per wake-up */

struct cap_usess;

struct capture {
	struct worker			*wk;
	const struct listener_conf	*l;
	struct dialer			 dl;
	int				 fd;
	struct event			*ev;
	struct netif			 netif;
	unsigned char			 tcp_ports[65536 / 8];
	unsigned char			 udp_ports[65536 / 8];
	LIST_HEAD(, cap_usess)		 usess;
	size_t				 nusess;
	struct event			*ugc;		/* idle sessions */
	uint64_t			 dropped;
	unsigned char			 buf[CAP_BUF];	/* read */
	unsigned char			 obuf[CAP_BUF];	/* a chain, flat */
	unsigned char			 ubuf[CAP_BUF];	/* a datagram */
};

/* udp.c */
int	cap_udp_port_ready(struct capture *, uint16_t port);
int	cap_udp_init(struct capture *);

#endif
