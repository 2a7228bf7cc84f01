/* The OSTP client's tunnels, one (or "mux") per chain node (client.c). */
#ifndef OSTP_OSTP_CLIENT_H
#define OSTP_OSTP_CLIENT_H

#include <stdint.h>

struct worker;
struct hop_conf;
struct egress;
struct resolver;
struct conn;

/*
 * A flow to host:port through node h's tunnel, which connects now if
 * it is not up: ostp_stream_status() tells when it is open or refused.
 * NULL: out of memory.
 */
struct conn *ostp_client_flow(struct worker *, const struct hop_conf *h,
	    const struct egress *, struct resolver *, const char *host,
	    uint16_t port);

#endif
