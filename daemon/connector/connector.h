/*
 * The client side of a chain hop: what a connector says to its node and
 * how it reads the answer.  core/chain.c runs a hop: it brings the
 * connection through the hop's transport, then calls request() once and
 * reply() whenever answer bytes (or the end) arrive.  Both return
 * HOP_WAIT (an answer is due), HOP_DONE (the hop is through: what
 * follows is the next hop's or the caller's) or HOP_FAILED (the dial
 * failed and is gone: touch nothing of it).
 */
#ifndef OSTP_CONNECTOR_H
#define OSTP_CONNECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct chain_dial;
struct codec;
struct conn;
struct pooled_session;
struct worker;
struct egress;
struct resolver;

#define HOP_WAIT	0
#define HOP_DONE	1
#define HOP_FAILED	(-1)

struct connector {
	const char	*name;
	int		(*request)(struct chain_dial *, const struct hop_conf *);
	int		(*reply)(struct chain_dial *, const struct hop_conf *);
	int		 session_answers;	/* the answer is no bytes
						   of the stream: a mux
						   session has read it */
};

const struct connector *connector_for(enum hop_kind);
/*
 * HOP_FAILED after one error line: the node refused our credentials,
 * or wants some and we have none (a mistake in the configuration, which
 * would otherwise show only as the client's 502).  Never the password.
 */
int	connector_auth_failed(struct chain_dial *, const struct hop_conf *,
	    const char *what);

extern const struct connector connector_socks5;	/* socks5.c */
extern const struct connector connector_socks4;	/* socks4.c */
extern const struct connector connector_http;	/* http.c */
extern const struct connector connector_relay;	/* relay.c */
extern const struct connector connector_ss;	/* ss.c */
extern const struct connector connector_http2;	/* http2.c */
extern const struct connector connector_ostp;	/* ostp.c */

/* What a connector may do with its hop (core/chain.c). */
void	hop_next(const struct chain_dial *, const char **host,
	    uint16_t *port);		/* the address to ask for */
int	hop_last(const struct chain_dial *);	/* the chain's last hop */
int	hop_flags(const struct chain_dial *);	/* CHAIN_* */
int	*hop_step(struct chain_dial *);		/* the connector's state */
int	hop_fail(struct chain_dial *, int err);	/* HOP_FAILED */
/* The hop answered that the next address cannot be reached (why, for
   the log); the hop itself is not counted as failed.  HOP_FAILED. */
int	hop_refused(struct chain_dial *, int err, const char *why);
/* Send a request (queued when the connection has no room): 0 or
   HOP_FAILED. */
int	hop_send(struct chain_dial *, const void *, size_t);
/* The answer so far (*eof: the node closed) and taking it. */
const unsigned char *hop_input(struct chain_dial *, size_t *len,
	    int *eof);
void	hop_consume(struct chain_dial *, size_t);
/* want bytes of the answer into p: 0, 1 to wait, -1 cut short. */
int	hop_take(struct chain_dial *, unsigned char *p, size_t want);
/* The hop's connection; a multiplexing hop's session, and a stream of
   it made the hop's connection. */
struct conn *hop_conn(struct chain_dial *);
struct pooled_session *hop_session(struct chain_dial *);
/* The worker, the route's mark and interface, the listener's resolver. */
struct worker *hop_worker(struct chain_dial *);
const struct egress *hop_egress(struct chain_dial *);
struct resolver *hop_resolver(struct chain_dial *);
void	hop_set_conn(struct chain_dial *, struct conn *);
/* A layer over the hop's connection: 0 or HOP_FAILED. */
int	hop_push_tls(struct chain_dial *, const char *sni);
int	hop_push_codec(struct chain_dial *, struct codec *);

#endif
