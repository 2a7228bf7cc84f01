/*
 * Parsers for gost's reloadable files (spec/gost.md 3.3 and 3.5-3.9):
 * secrets, bypass, hosts, peer and resolver files.  Each takes the whole
 * file as a buffer and a name for messages, and either fills a fresh
 * structure or writes one line "NAME:LINE: what is wrong" to err.
 *
 * Every format has '#' comments, blank lines and "reload <duration>".
 * reload_ms is 0 when the file asks for no live reload (no directive,
 * zero or negative), else at least 1000: gost's watcher polls at most
 * once a second.
 *
 * Each result starts with a struct ref holding one reference (see
 * ref.h): a live slot shares it with the operations that use it, and
 * ref_put frees it.  The *_free functions free at once, for a sole
 * owner.
 */
#ifndef OSTP_CFGFILE_H
#define OSTP_CFGFILE_H

#include <stddef.h>
#include <stdint.h>

#include "match.h"
#include "ref.h"

#define CFG_MAX_LINE		4096		/* bytes, without the newline */
#define CFG_MAX_ENTRIES		100000		/* per file */
#define CFG_MAX_FIELDS		64		/* per line */
#define CFG_MAX_JSON		(8 * 1024 * 1024) /* JSON peer file */
#define CFG_DURATION_MAX_MS	100000000000LL	/* as node_param_duration */

/*
 * A Go duration ("1h2m3.5s", "500ms", "-1s", "0") or a bare integer of
 * seconds, to milliseconds (truncated toward zero).  0 or -1.
 */
int	cfg_parse_duration(const char *, long long *msec);

/* Secrets (3.5). */
struct secret_entry {
	char		*user;
	char		*pass;
};

struct secrets {
	struct ref		 ref;		/* first: see ref.h */
	struct secret_entry	*v;
	size_t			 n;
	size_t			 alloc;
	unsigned long		 reload_ms;
};

int	secrets_parse(const char *data, size_t len, const char *name,
	    struct secrets **, char *err, size_t errlen);
void	secrets_free(struct secrets *);
/* Entries (user lines) read; zero means gost accepts everyone. */
size_t	secrets_count(const struct secrets *);
/* 1 when user is known with this password (the last line wins), else 0. */
int	secrets_check(const struct secrets *, const char *user,
	    const char *pass);

/*
 * Bypass file (3.3).  The file's "reverse" (default false) sets the
 * result's reversed flag, overriding any '~' before the file name: a
 * gost quirk kept for compatibility.
 */
int	bypass_file_parse(const char *data, size_t len, const char *name,
	    struct matcher_set **, unsigned long *reload_ms, char *err,
	    size_t errlen);

/* Hosts (3.6). */
struct hosts_entry {
	int		 family;		/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];
	char		 ip[46];		/* canonical text */
	char		*name;
	char		**aliases;
	size_t		 naliases;
};

struct hosts {
	struct ref		 ref;		/* first: see ref.h */
	struct hosts_entry	*v;
	size_t			 n;
	size_t			 alloc;
	unsigned long		 reload_ms;
};

int	hosts_parse(const char *data, size_t len, const char *name,
	    struct hosts **, char *err, size_t errlen);
void	hosts_free(struct hosts *);
/* NULL when name is not listed.  Names compare without case. */
const struct hosts_entry *hosts_lookup(const struct hosts *,
	    const char *name);

/* Peer file (3.8), text or JSON. */
enum peer_strategy {
	PEER_STRATEGY_ROUND = 0,
	PEER_STRATEGY_RANDOM,
	PEER_STRATEGY_FIFO,
};

struct peer_conf {
	struct ref		 ref;		/* first: see ref.h */
	int			 has_strategy;
	enum peer_strategy	 strategy;
	int			 has_max_fails;
	int			 max_fails;	/* < 0 disables the filter */
	int			 has_fail_timeout;
	unsigned long		 fail_timeout_ms;
	int			 has_fastest_count;
	unsigned int		 fastest_count;
	unsigned long		 reload_ms;	/* always 0 for JSON */
	char			**urls;		/* checked by node_parse */
	size_t			 nurls;
	size_t			 alloc;
};

int	peer_conf_parse(const char *data, size_t len, const char *name,
	    struct peer_conf **, char *err, size_t errlen);
void	peer_conf_free(struct peer_conf *);

/*
 * ip= file of a chain node (gost's parseIP): the addresses of the node
 * group's members, one per line: host, host:port or [v6]:port; an
 * entry without a port takes the node's.  Each entry is checked for its
 * form only; what the node makes of it is conf_hop_alt's business.
 */
struct ip_list {
	struct ref		 ref;		/* first: see ref.h */
	char			**addrs;
	size_t			 n;
	size_t			 alloc;
	unsigned long		 reload_ms;
};

int	ip_list_parse(const char *data, size_t len, const char *name,
	    struct ip_list **, char *err, size_t errlen);
void	ip_list_free(struct ip_list *);

/* Resolver (3.7). */
enum ns_proto {
	NS_PROTO_UDP = 0,
	NS_PROTO_TCP,
	NS_PROTO_TLS,
	NS_PROTO_HTTPS,
};

struct nameserver {
	char		*addr;		/* "host:port", "[v6]:port", DoH URL */
	enum ns_proto	 proto;
	int		 chain;		/* "-chain": through the proxy chain */
	char		*hostname;	/* TLS server name, NULL if none */
};

struct resolver_conf {
	struct ref		 ref;		/* first: see ref.h */
	struct nameserver	*ns;
	size_t			 nns;
	size_t			 alloc;
	int			 has_timeout;
	unsigned long		 timeout_ms;
	int			 has_ttl;
	long long		 ttl_ms;	/* < 0: no cache, 0: records' */
	unsigned long		 reload_ms;
	char			*domain;	/* NULL if none */
	int			 prefer;	/* 0, AF_INET or AF_INET6 */
	int			 has_ip;	/* EDNS client subnet source */
	int			 ip_family;
	unsigned char		 ip[16];
};

int	resolver_conf_parse(const char *data, size_t len, const char *name,
	    struct resolver_conf **, char *err, size_t errlen);
/* The inline "dns=" form: "addr[/proto]" or DoH URLs, comma-separated. */
int	resolver_conf_parse_list(const char *list, struct resolver_conf **,
	    char *err, size_t errlen);
void	resolver_conf_free(struct resolver_conf *);

#endif
