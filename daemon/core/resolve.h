/*
 * The resolver every dial uses: names to addresses, asynchronously,
 * through the nameservers of a resolver configuration (dns=, or
 * /etc/resolv.conf), after /etc/hosts.  Answers are cached per name
 * and family for their TTL (or the configuration's ttl=); queries for
 * the same name under way are shared.
 */
#ifndef OSTP_RESOLVE_H
#define OSTP_RESOLVE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct worker;
struct resolver_conf;
struct resolver;
struct resolve_req;

#define RESOLVE_ADDRS_MAX	16

/* What one family of a name gave. */
struct resolve_addrs {
	int		family;		/* AF_INET or AF_INET6 */
	size_t		n;
	uint32_t	ttl;		/* seconds it may be kept */
	union {
		struct in_addr	v4[RESOLVE_ADDRS_MAX];
		struct in6_addr	v6[RESOLVE_ADDRS_MAX];
	} u;
};

/* The i-th address of a (4 or 16 bytes, by family). */
static inline const void *
resolve_addr(const struct resolve_addrs *a, size_t i)
{
	return a->family == AF_INET ? (const void *)&a->u.v4[i] :
	    (const void *)&a->u.v6[i];
}

/*
 * Errors: ENOENT the name does not exist (NXDOMAIN) or has no address
 * of the family, EINVAL a name that cannot be asked (too long, odd
 * bytes), EIO the nameservers failed (SERVFAIL, garbage), ETIMEDOUT
 * none answered.
 */
#define RESOLVE_V4	0x01
#define RESOLVE_V6	0x02

/*
 * Called once for each family asked, as each arrives; last is set on
 * the final call, after which the request is gone.  err 0 means a->n
 * > 0.
 */
typedef void (*resolve_cb)(void *arg, const struct resolve_addrs *a,
    int err, int last);

/* The worker's: /etc/resolv.conf's nameservers, /etc/hosts. */
struct resolver *resolver_system(struct worker *);
/* One for a listener's dns= (rc NULL: none yet, a file is loading). */
struct resolver *resolver_new(struct worker *, const struct resolver_conf *,
	    const char *who);
/* A reloaded resolver file: new nameservers, an empty cache. */
void	resolver_set_conf(struct resolver *, const struct resolver_conf *);
/* A listener's own resolver asks as its route leaves (dnsup_set_egress). */
struct egress;
void	resolver_set_egress(struct resolver *, const struct egress *);
/* /etc/hosts, read through the monitor once per worker. */
struct hosts;
const struct hosts *resolver_sys_hosts(struct worker *);
/* rc's prefer= (AF_INET, AF_INET6), or 0. */
int	resolver_prefer(const struct resolver *);
/* Its nameservers' exchange, for whole queries (a capture's DNS). */
struct dnsup;
struct dnsup *resolver_dnsup(struct resolver *);
/*
 * Resolve name (not an address literal) for the families in fams.  The
 * callback never runs inside this call; it may cancel the request when
 * it is not the last call.  NULL only when out of memory.
 */
struct resolve_req *resolve_start(struct resolver *, const char *name,
	    int fams, resolve_cb, void *arg);
void	resolve_cancel(struct resolve_req *);
/*
 * A fresh cached answer for one family, without waiting: 0 (a->n >
 * 0), a cached error, or -1 when nothing usable is cached.
 */
int	resolve_cached(struct resolver *, const char *name, int family,
	    struct resolve_addrs *a);
const char *resolve_strerror(int err);

#endif
