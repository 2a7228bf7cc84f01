/*
 * The configuration model every front end fills: listeners built from
 * serve nodes, the chain, and the settings the monitor checks worker
 * requests against.
 */
#ifndef OSTP_CONF_H
#define OSTP_CONF_H

#include <sys/socket.h>
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "node.h"

#define CONF_MAX_LISTENERS	256
#define CONF_MAX_ROUTES		64
#define CONF_TUN_MTU_DEFAULT	1350
#define CONF_TIMEOUT_DEFAULT	5000	/* ms, gost's dial timeout */

enum listener_kind {
	LIS_TCP_FORWARD,
	LIS_TUN,
	LIS_TAP,
};

struct inet_prefix {
	int		family;		/* AF_INET or AF_INET6 */
	unsigned char	addr[16];
	int		plen;
};

struct route_conf {
	struct inet_prefix dst;
	int		has_gw;
	unsigned char	gw[16];
};

struct tun_conf {
	char		 name[IFNAMSIZ];
	int		 tap;
	int		 has_net;
	struct inet_prefix net;
	unsigned int	 mtu;
	struct route_conf *routes;
	size_t		 nroutes;
	int		 has_gw;
	unsigned char	 gw[16];
	int		 gw_family;
};

struct listener_conf {
	struct node		*node;
	enum listener_kind	 kind;
	int			 socktype;	/* SOCK_STREAM, SOCK_DGRAM */
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	struct sockaddr_storage	*targets;
	socklen_t		*targetlens;
	size_t			 ntargets;
	unsigned long		 timeout_ms;
	struct tun_conf		 tun;
};

struct conf {
	char			*path;		/* -C file, NULL if none */
	int			 debug;
	int			 have_mark;
	uint32_t		 mark;
	char			 iface[IFNAMSIZ];
	unsigned int		 retries;
	struct listener_conf	*lis;
	size_t			 nlis;
	struct node		**chain;
	size_t			 nchain;
	char			**files;	/* files a worker may open */
	size_t			 nfiles;
};

/* What the command line gave; conf_load() merges the -C file over it. */
struct conf_args {
	char		**serve;
	size_t		  nserve;
	char		**chain;
	size_t		  nchain;
	const char	 *path;
	int		  debug;
	int		  have_mark;
	uint32_t	  mark;
	const char	 *iface;
};

int	conf_load(struct conf *, const struct conf_args *, char *err,
	    size_t errlen);
void	conf_free(struct conf *);
int	conf_file_allowed(const struct conf *, const char *path);
const struct listener_conf *conf_tun_by_name(const struct conf *,
	    const char *name);
/* Same device parameters (so a reload may keep the device). */
int	conf_tun_equal(const struct tun_conf *, const struct tun_conf *);
int	inet_prefix_parse(const char *, struct inet_prefix *);
const char *sockaddr_ntop(const struct sockaddr *, char *, size_t);

#endif
