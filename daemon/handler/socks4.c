/* SOCKS4 and SOCKS4a on proxy listeners. */
#include "config.h"

#include "err.h"
#include "conf.h"
#include "proto/proto.h"
#include "handler/proxy_int.h"

/*
 * SOCKS4 and 4a: CONNECT, and BIND (socks5.c's) when the listener has
 * no passwords, which SOCKS4 cannot carry.  Returns as s5_step.
 */
int
s4_step(struct pconn *pc)
{
	struct socks4_request s4;
	int e;

	if (pc->state != PS_S4_REQUEST)
		return 0;
	if ((e = socks4_parse_request(&pc->in, &s4)) != 0) {
		if (e == ERR_INCOMPLETE)
			return 0;
		pconn_fail(pc, SOCKS5_REP_FAIL);
		return 2;
	}
	/* SOCKS4 has no passwords: refuse when they exist. */
	if (!proxy_auth_required(pc->px) &&
	    s4.cmd == SOCKS4_CMD_BIND) {
		pc->dst = s4.dst;
		return s5_bind_start(pc);
	}
	if (proxy_auth_required(pc->px) ||
	    s4.cmd != SOCKS4_CMD_CONNECT ||
	    (s4.is4a && !(pc->px->l->accept &
	    PROXY_SOCKS4A))) {
		pconn_fail(pc, SOCKS5_REP_NOTALLOWED);
		return 2;
	}
	pc->dst = s4.dst;
	return 1;
}
