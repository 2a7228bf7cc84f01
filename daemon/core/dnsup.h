/*
 * DNS exchanges with the nameservers of a resolver configuration: plain
 * UDP, TCP (RFC 7766), DNS over TLS (RFC 7858) and DNS over HTTPS (RFC
 * 8484, POST).  Shared by the DNS proxy and the resolver.
 *
 * Each query goes out on a socket of its own (from dial_socket, so -M
 * and -I, or a route's mark and interface, apply): a connected UDP socket on a port the kernel picks at
 * random, or one connection for a stream transport.  The id is ours,
 * random.  Nameservers are tried in turn until one answers; a UDP
 * answer with TC set is asked again over TCP of the same server.  A
 * nameserver given by name (a DoT host, a DoH URL) is resolved by the
 * system resolver first.
 */
#ifndef OSTP_DNSUP_H
#define OSTP_DNSUP_H

#include <stddef.h>

struct worker;
struct conf;
struct resolver_conf;
struct dns_query;
struct dnsup;
struct dnsup_req;

/*
 * An answer to the query: msg (with our id) passed dns_parse_response
 * against q, which carries our id too.  msg NULL: no nameserver
 * answered in time (err ETIMEDOUT) or none could be reached.
 */
typedef void (*dnsup_cb)(void *arg, unsigned char *msg, size_t len,
    const struct dns_query *q, int err);

/* Before the sandbox: the TLS context and CA store DoT and DoH need. */
int	dnsup_init(const struct conf *);
/*
 * rc may be replaced later (a resolver file reloaded); requests under
 * way finish with the one they started with.  who names the user in
 * log lines.
 */
#define DNSUP_ROTATE	0x01	/* each query starts at the next server
				   (the DNS proxy spreads its load), not
				   at the first (gost's order) */
#define DNSUP_SYSTEM	0x02	/* the system resolver's: its servers
				   must be addresses */
struct dnsup *dnsup_new(struct worker *, const struct resolver_conf *,
	    const char *who, int flags);
void	dnsup_set_conf(struct dnsup *, const struct resolver_conf *);
/* The mark and interface its sockets carry (a route's); default -M/-I. */
struct egress;
void	dnsup_set_egress(struct dnsup *, const struct egress *);
/*
 * Send the query msg (a standard query; its id is replaced).  cb runs
 * later, from the event loop, exactly once unless cancelled.  NULL
 * only when the query does not parse or memory ran out.
 */
struct dnsup_req *dnsup_query(struct dnsup *, const unsigned char *msg,
	    size_t len, dnsup_cb, void *arg);
void	dnsup_cancel(struct dnsup_req *);
/* The nameserver address being asked, for log lines. */
const char *dnsup_req_server(const struct dnsup_req *);

#endif
