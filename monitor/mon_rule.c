/*
 * A capture's policy rules (auto_route), as wg-quick's: the device's
 * routes live in a table of their own, and for each family that has
 * routes there, two rules:
 *
 *	CONF_CAPTURE_PRIO	lookup main suppress_prefixlength 0
 *	CONF_CAPTURE_PRIO + 1	not fwmark MARK lookup TABLE
 *
 * The first lets the main table's own routes (the LAN, the link to the
 * first hop) win, but not its default route; the second sends the rest
 * into the device, except what the daemon's own sockets send: they
 * carry MARK (-M or the inbound's mark), so a direct outbound and the
 * chain's first hop leave as before.  Only the rules added are removed.
 *
 * exclude= adds, before them, one rule per prefix:
 *
 *	CONF_CAPTURE_PRIO - 1	to PREFIX lookup main
 *
 * so that those addresses are routed as if there were no capture.
 */
#include "config.h"

#include <sys/socket.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <libmnl/libmnl.h>

#include "log.h"
#include "monitor.h"

static int
nl_rule(int family, int add, int suppress, uint32_t mark, uint32_t table,
    uint32_t prio, const struct inet_prefix *to)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct fib_rule_hdr *frh;

	nlh = mon_nl_request(buf, add ? RTM_NEWRULE : RTM_DELRULE,
	    add ? NLM_F_CREATE | NLM_F_EXCL : 0, sizeof(*frh),
	    (void **)&frh);
	frh->family = (unsigned char)family;
	frh->action = FR_ACT_TO_TBL;
	frh->table = RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, prio);
	if (to != NULL) {
		frh->dst_len = (unsigned char)to->plen;
		mnl_attr_put(nlh, FRA_DST, family == AF_INET ? 4 : 16,
		    to->addr);
		mnl_attr_put_u32(nlh, FRA_TABLE, RT_TABLE_MAIN);
	} else if (suppress) {
		mnl_attr_put_u32(nlh, FRA_TABLE, RT_TABLE_MAIN);
		mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, 0);
	} else {
		frh->flags = FIB_RULE_INVERT;
		mnl_attr_put_u32(nlh, FRA_FWMARK, mark);
		mnl_attr_put_u32(nlh, FRA_FWMASK, 0xffffffffu);
		mnl_attr_put_u32(nlh, FRA_TABLE, table);
	}
	return mon_nl_talk(nlh);
}

static int
family_routed(const struct tun_conf *tc, int family)
{
	size_t i;

	for (i = 0; i < tc->nroutes; i++)
		if (tc->routes[i].dst.family == family)
			return 1;
	return 0;
}

int
mon_rules_add(struct mon_tun *mt)
{
	const struct tun_conf *tc = &mt->conf;
	static const struct {
		int		 family;
		unsigned int	 sup, mark;
	} fams[] = {
		{ AF_INET, MON_RULE_SUPPRESS4, MON_RULE_MARK4 },
		{ AF_INET6, MON_RULE_SUPPRESS6, MON_RULE_MARK6 },
	};
	size_t i;

	/* the exclusions first: no moment where they enter the device */
	for (i = 0; i < tc->nexcludes; i++) {
		if (nl_rule(tc->excludes[i].family, 1, 0, 0, 0,
		    CONF_CAPTURE_PRIO - 1, &tc->excludes[i]) == -1)
			return -1;
		mt->nexcl_added++;
	}
	for (i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		if (!family_routed(tc, fams[i].family))
			continue;
		if (nl_rule(fams[i].family, 1, 1, 0, 0,
		    CONF_CAPTURE_PRIO, NULL) == -1)
			return -1;
		mt->rules |= fams[i].sup;
		if (nl_rule(fams[i].family, 1, 0, tc->rule_mark, tc->table,
		    CONF_CAPTURE_PRIO + 1, NULL) == -1)
			return -1;
		mt->rules |= fams[i].mark;
	}
	debug("%s: policy rules for table %u, mark 0x%x, %zu excluded",
	    tc->name, tc->table, tc->rule_mark, tc->nexcludes);
	return 0;
}

void
mon_rules_del(struct mon_tun *mt)
{
	const struct tun_conf *tc = &mt->conf;
	int saved = errno;

	if ((mt->rules & MON_RULE_MARK4) && nl_rule(AF_INET, 0, 0,
	    tc->rule_mark, tc->table, CONF_CAPTURE_PRIO + 1, NULL) == -1)
		error("%s: remove rule: %s", tc->name, strerror(errno));
	if ((mt->rules & MON_RULE_SUPPRESS4) && nl_rule(AF_INET, 0, 1, 0, 0,
	    CONF_CAPTURE_PRIO, NULL) == -1)
		error("%s: remove rule: %s", tc->name, strerror(errno));
	if ((mt->rules & MON_RULE_MARK6) && nl_rule(AF_INET6, 0, 0,
	    tc->rule_mark, tc->table, CONF_CAPTURE_PRIO + 1, NULL) == -1)
		error("%s: remove rule: %s", tc->name, strerror(errno));
	if ((mt->rules & MON_RULE_SUPPRESS6) && nl_rule(AF_INET6, 0, 1, 0, 0,
	    CONF_CAPTURE_PRIO, NULL) == -1)
		error("%s: remove rule: %s", tc->name, strerror(errno));
	mt->rules = 0;
	/* after the capture's rules: no moment where they enter it */
	while (mt->nexcl_added > 0) {
		const struct inet_prefix *x = &tc->excludes[--mt->nexcl_added];

		if (nl_rule(x->family, 0, 0, 0, 0, CONF_CAPTURE_PRIO - 1,
		    x) == -1)
			error("%s: remove exclude rule: %s", tc->name,
			    strerror(errno));
	}
	errno = saved;
}
