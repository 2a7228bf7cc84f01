/*
 * The OSTP client's TURN relay (RFC 5766, long-term credentials) on its
 * one UDP socket: an allocation, a channel to the OSTP server, then
 * every datagram of the tunnel as ChannelData through the relay.
 * Refreshed before the allocation or the channel expire.  No I/O of
 * its own: the owner's send function and datagrams, and one timer.
 */
#ifndef OSTP_OSTP_TURN_H
#define OSTP_OSTP_TURN_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

struct worker;
struct oturn;

struct oturn_params {
	const char		*user;
	const char		*pass;
	const struct sockaddr	*peer;		/* the OSTP server */
	socklen_t		 peerlen;
	const char		*name;		/* for logs */
	/* one datagram to the TURN server; -1 on a hard error */
	int			(*send)(void *, const unsigned char *,
				    size_t);
	void			(*ready)(void *);	/* relaying */
	void			(*failed)(void *, const char *why);
	void			*arg;
};

struct oturn *oturn_new(struct worker *, const struct oturn_params *);
void	oturn_start(struct oturn *);
/*
 * A datagram from the TURN server: 1 and the tunnel's datagram in d
 * and dlen (pointing into p), or 0 (ours, or nothing).  The callbacks
 * may run inside.
 */
int	oturn_input(struct oturn *, const unsigned char *p, size_t len,
	    const unsigned char **d, size_t *dlen);
/* The ChannelData header for a datagram of len bytes. */
int	oturn_header(const struct oturn *, unsigned char h[4], size_t len);
int	oturn_ready(const struct oturn *);
/* Ends the allocation (a Refresh with lifetime 0), then frees. */
void	oturn_free(struct oturn *);

#endif
