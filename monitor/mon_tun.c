/*
 * TUN/TAP devices named in the configuration.  The monitor creates each
 * device once, configures it over rtnetlink (libmnl: MTU, address, up,
 * routes; every message acknowledged), keeps one descriptor so the device
 * outlives a worker, and hands duplicates to workers.  A capture's
 * device is multi-queue (IFF_MULTI_QUEUE): worker N gets queue N, opened
 * the first time a worker N asks and kept, so that the kernel spreads
 * flows over the workers' stacks (by their hash; the queue a flow's
 * answers come from keeps it) and a new generation's worker N reads the
 * queue the old one did.  Every tun device (not tap) has IFF_VNET_HDR
 * and TCP segmentation offload (see TUNSETOFFLOAD below).  At shutdown it
 * removes the routes it added and closes the device, which deletes it.
 */
#include "config.h"

#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "log.h"
#include "monitor.h"

/*
 * A request of type in buf, with flags and NLM_F_REQUEST, and after it
 * the message's own header of len bytes, zeroed (*hdr).
 */
struct nlmsghdr *
mon_nl_request(char *buf, uint16_t type, uint16_t flags, size_t len,
    void **hdr)
{
	struct nlmsghdr *nlh;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	*hdr = mnl_nlmsg_put_extra_header(nlh, len);
	return nlh;
}

/* Send one request and wait for its acknowledgement. */
int
mon_nl_talk(struct nlmsghdr *nlh)
{
	struct mnl_socket *nl;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int seq, portid;
	ssize_t n;
	int r = -1, saved = 0;

	if ((nl = mnl_socket_open(NETLINK_ROUTE)) == NULL)
		return -1;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto out;
	portid = mnl_socket_get_portid(nl);
	seq = nlh->nlmsg_seq = (unsigned int)time(NULL);
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		goto out;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		goto out;
	r = mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL);
	if (r > 0)
		r = 0;
 out:
	saved = errno;
	mnl_socket_close(nl);
	errno = saved;
	return r < 0 ? -1 : 0;
}

static int
nl_link_set(int ifindex, unsigned int mtu, int up)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;

	nlh = mon_nl_request(buf, RTM_NEWLINK, 0, sizeof(*ifm),
	    (void **)&ifm);
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	if (up) {
		ifm->ifi_change = IFF_UP;
		ifm->ifi_flags = IFF_UP;
	}
	if (mtu != 0)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return mon_nl_talk(nlh);
}

static size_t
alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

static int
nl_addr_add(int ifindex, const struct inet_prefix *p)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	nlh = mon_nl_request(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE,
	    sizeof(*ifa), (void **)&ifa);
	ifa->ifa_family = (unsigned char)p->family;
	ifa->ifa_prefixlen = (unsigned char)p->plen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned int)ifindex;
	/* no neighbours to ask on a tun device: usable at once */
	if (p->family == AF_INET6)
		ifa->ifa_flags = IFA_F_NODAD;
	mnl_attr_put(nlh, IFA_LOCAL, alen(p->family), p->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen(p->family), p->addr);
	return mon_nl_talk(nlh);
}

static int
nl_route(int ifindex, const struct route_conf *r, int add)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	nlh = mon_nl_request(buf, add ? RTM_NEWROUTE : RTM_DELROUTE,
	    add ? NLM_F_CREATE | NLM_F_EXCL : 0, sizeof(*rtm),
	    (void **)&rtm);
	rtm->rtm_family = (unsigned char)r->dst.family;
	rtm->rtm_dst_len = (unsigned char)r->dst.plen;
	/* a table past 255 is only in the attribute */
	rtm->rtm_table = r->table == 0 ? RT_TABLE_MAIN : r->table < 256 ?
	    (unsigned char)r->table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = r->has_gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, alen(r->dst.family), r->dst.addr);
	if (r->table != 0)
		mnl_attr_put_u32(nlh, RTA_TABLE, r->table);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	if (r->has_gw)
		mnl_attr_put(nlh, RTA_GATEWAY, alen(r->dst.family), r->gw);
	return mon_nl_talk(nlh);
}

static int
tun_queue_open(const struct tun_conf *tc)
{
	struct ifreq ifr;
	int fd;

	if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tc->name);
	if (ioctl(fd, TUNSETIFF, &ifr) == -1) {
		error("tun %s: another queue: %s", tc->name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
tun_create(const struct tun_conf *tc, int *ifindexp)
{
	struct ifreq ifr;
	int fd, ifindex;

	if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) == -1) {
		error("tun %s: /dev/net/tun: %s", tc->name, strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = (tc->tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI |
	    (tc->capture ? IFF_MULTI_QUEUE : 0) |
	    (conf_tun_vnet(tc) ? IFF_VNET_HDR : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tc->name);
	if (ioctl(fd, TUNSETIFF, &ifr) == -1) {
		int e = errno;

		error("%s %s: TUNSETIFF: %s%s", tc->tap ? "tap" : "tun",
		    tc->name, strerror(e), mon_cap_hint(CAP_NET_ADMIN, e));
		close(fd);
		return -1;
	}
	/*
	 * A capture's stack, and a tun:// worker that cuts them for its
	 * peer, take TCP segments of up to 64 KiB and complete checksums
	 * themselves: the kernel hands over one packet where it would
	 * have cut many, and checksums none (the cost of a tunnel is per
	 * packet).  Without it, plain packets, still after a vnet header.
	 */
	if (conf_tun_vnet(tc) && ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM |
	    TUN_F_TSO4 | TUN_F_TSO6) == -1)
		logit("tun %s: no offloads: %s", tc->name, strerror(errno));
	if ((ifindex = (int)if_nametoindex(tc->name)) == 0) {
		error("tun %s: no index: %s", tc->name, strerror(errno));
		close(fd);
		return -1;
	}
	*ifindexp = ifindex;
	return fd;
}

/* Queue q of a capture's device (q > 0), opened now if need be. */
static int
tun_queue(struct mon_tun *mt, unsigned int q, int *fdp)
{
	int *n;
	size_t i;

	if (q == 0 || !mt->conf.capture) {
		*fdp = mt->fd;
		return 0;
	}
	/* the kernel's own limit on a device's queues */
	if (q >= 256) {
		errno = E2BIG;
		return -1;
	}
	if (q > mt->nqfds) {
		if ((n = reallocarray(mt->qfds, q, sizeof(*n))) == NULL)
			return -1;
		for (i = mt->nqfds; i < q; i++)
			n[i] = -1;
		mt->qfds = n;
		mt->nqfds = q;
	}
	if (mt->qfds[q - 1] == -1 &&
	    (mt->qfds[q - 1] = tun_queue_open(&mt->conf)) == -1)
		return -1;
	*fdp = mt->qfds[q - 1];
	return 0;
}

int
mon_tun_get(struct monitor *mon, const struct tun_conf *tc,
    unsigned int queue, int *fdp)
{
	struct mon_tun *mt;
	size_t i;
	int saved;

	errno = 0;
	TAILQ_FOREACH(mt, &mon->tuns, entry) {
		if (strcmp(mt->conf.name, tc->name) != 0)
			continue;
		if (!conf_tun_equal(&mt->conf, tc)) {
			errno = EBUSY;
			return -1;
		}
		return tun_queue(mt, queue, fdp);
	}
	if ((mt = calloc(1, sizeof(*mt))) == NULL)
		return -1;
	mt->conf = *tc;
	mt->conf.routes = NULL;
	mt->conf.nroutes = 0;
	mt->conf.excludes = NULL;
	if (tc->nexcludes > 0) {
		if ((mt->conf.excludes = calloc(tc->nexcludes,
		    sizeof(*tc->excludes))) == NULL) {
			free(mt);
			return -1;
		}
		memcpy(mt->conf.excludes, tc->excludes,
		    tc->nexcludes * sizeof(*tc->excludes));
	}
	if ((mt->fd = tun_create(tc, &mt->ifindex)) == -1) {
		saved = errno;
		free(mt->conf.excludes);
		free(mt);
		errno = saved;
		return -1;
	}
	TAILQ_INSERT_TAIL(&mon->tuns, mt, entry);
	if (nl_link_set(mt->ifindex, tc->mtu, 0) == -1) {
		error("%s: set MTU %u: %s", tc->name, tc->mtu, strerror(errno));
		goto fail;
	}
	if (tc->has_net && nl_addr_add(mt->ifindex, &tc->net) == -1) {
		error("%s: add address: %s", tc->name, strerror(errno));
		goto fail;
	}
	if (tc->has_net6 && nl_addr_add(mt->ifindex, &tc->net6) == -1) {
		error("%s: add IPv6 address: %s", tc->name, strerror(errno));
		goto fail;
	}
	if (nl_link_set(mt->ifindex, 0, 1) == -1) {
		error("%s: set up: %s", tc->name, strerror(errno));
		goto fail;
	}
	if (tc->nroutes > 0 &&
	    (mt->conf.routes = calloc(tc->nroutes, sizeof(*tc->routes))) ==
	    NULL)
		goto fail;
	for (i = 0; i < tc->nroutes; i++) {
		if (nl_route(mt->ifindex, &tc->routes[i], 1) == -1) {
			error("%s: add route %zu: %s", tc->name, i,
			    strerror(errno));
			goto fail;
		}
		/* Record only what we added, so shutdown removes just that. */
		mt->conf.routes[mt->conf.nroutes++] = tc->routes[i];
	}
	if (tc->auto_route && mon_rules_add(mt) == -1) {
		error("%s: add policy rules: %s", tc->name, strerror(errno));
		goto fail;
	}
	logit("%s %s up (mtu %u, %zu routes)", tc->tap ? "tap" : "tun",
	    tc->name, tc->mtu, tc->nroutes);
	if (tun_queue(mt, queue, fdp) == -1)
		goto fail;
	return 0;
 fail:
	saved = errno;
	mon_tun_destroy(mon, mt);
	errno = saved ? saved : EIO;
	return -1;
}

void
mon_tun_destroy(struct monitor *mon, struct mon_tun *mt)
{
	size_t i;

	mon_rules_del(mt);
	for (i = 0; i < mt->conf.nroutes; i++)
		if (nl_route(mt->ifindex, &mt->conf.routes[i], 0) == -1 &&
		    errno != ESRCH && errno != ENODEV)
			error("%s: remove route %zu: %s", mt->conf.name, i,
			    strerror(errno));
	TAILQ_REMOVE(&mon->tuns, mt, entry);
	for (i = 0; i < mt->nqfds; i++)
		if (mt->qfds[i] != -1)
			close(mt->qfds[i]);
	free(mt->qfds);
	/* The last descriptor of a non-persistent device deletes it. */
	close(mt->fd);
	debug("%s removed", mt->conf.name);
	free(mt->conf.routes);
	free(mt->conf.excludes);
	free(mt);
}

/* Remove devices no live generation names any more. */
void
mon_tuns_gc(struct monitor *mon)
{
	struct mon_tun *mt, *tmp;
	struct mon_gen *g;
	int used;

	TAILQ_FOREACH_SAFE(mt, &mon->tuns, entry, tmp) {
		used = 0;
		TAILQ_FOREACH(g, &mon->gens, entry)
			if (conf_tun_by_name(&g->conf, mt->conf.name) != NULL)
				used = 1;
		if (!used)
			mon_tun_destroy(mon, mt);
	}
}

/*
 * The socket through which a capture with icmp=direct sends the echo
 * requests it forwards: an ICMP datagram ("ping") socket, so that the
 * kernel gives it an echo identifier of its own and hands it only the
 * replies to that identifier (a raw socket would see every ICMP packet
 * of the host, and the host's own ping clients would see our replies).
 * It carries the capture's mark and interface, so that what it sends
 * is not routed back into the device.  The kernel lets only the groups
 * of net.ipv4.ping_group_range open one; the monitor's is 0.
 */
int
mon_tun_icmp(const struct conf *c, const struct listener_conf *l,
    int family, int *fdp)
{
	struct egress e;
	int fd, on = 1, saved;

	conf_egress(c, l, &e);
	if (mon_socket_create_proto(c, family, SOCK_DGRAM,
	    family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6, e.mark,
	    e.iface, &fd) == -1) {
		saved = errno;
		error("%s: ICMP%s socket for icmp=direct: %s%s", l->tun.name,
		    family == AF_INET ? "" : "v6", strerror(saved),
		    saved == EACCES ? " (net.ipv4.ping_group_range must "
		    "include group 0)" : "");
		errno = saved;
		return -1;
	}
	/* the replies' TTL, which the client sees */
	if ((family == AF_INET ? setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &on,
	    sizeof(on)) : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on,
	    sizeof(on))) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	*fdp = fd;
	return 0;
}
