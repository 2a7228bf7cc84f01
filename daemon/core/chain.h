/*
 * Dialing through a chain outbound (core/chain.c): the hops' transports
 * and connectors, one after another, ending in one connection.
 */
#ifndef OSTP_CORE_CHAIN_H
#define OSTP_CORE_CHAIN_H

#include <stddef.h>
#include <stdint.h>

struct worker;
struct conn;
struct chain_dial;
struct outbound_conf;
struct listener_conf;

typedef void (*chain_cb)(void *arg, struct conn *, int err);

/*
 * cb runs exactly once, always from the event loop: the connection
 * through every hop (with the layers hops added), or NULL with an
 * errno value.  NULL: not started (cb will not run).
 */
#define CHAIN_UDPTUN	0x01	/* last hop: gost's UDP-over-TCP (socks5) */
#define CHAIN_BIND	0x02	/* last hop: SOCKS5 BIND on host:port */
#define CHAIN_MBIND	0x04	/* last hop: gost's MBIND (smux) */
/*
 * dl: the listener's dialer, whose resolver and hosts file give the
 * first hop's address when it is a name (NULL: the system's), and whose
 * listener's route gives the sockets' mark and interface (conf_egress;
 * NULL: -M/-I).
 */
struct dialer;
struct chain_dial *chain_dial_start(struct worker *,
	    const struct outbound_conf *, const struct dialer *dl,
	    const char *host, uint16_t port, int flags, chain_cb cb,
	    void *arg);
void	chain_dial_cancel(struct chain_dial *);
int	chain_init(struct worker *);
size_t	chain_hops_for(const struct outbound_conf *, const char *host,
	    uint16_t port);

#endif
