/*
 * gost's http2 connector (connector/http2.c): a chain node's dial is a
 * CONNECT stream of the node's pooled HTTP/2 session.
 */
#ifndef OSTP_CONNECTOR_HTTP2_H
#define OSTP_CONNECTOR_HTTP2_H

#include <stdint.h>

struct conn;
struct hop_conf;
struct pooled_session;

/* A CONNECT stream to host:port; NULL (errno) if none can be opened. */
struct conn	*http2_connect_open(struct pooled_session *,
		    const struct hop_conf *, const char *host, uint16_t port);
/*
 * The node's answer on the stream: 1 a tunnel (200), 0 not yet, or
 * -1 with errno (EPERM for 407, EACCES for 403, ...).
 */
int		 http2_connect_reply(struct conn *, const struct hop_conf *);

#endif
