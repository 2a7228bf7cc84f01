/* SOCKS4 and SOCKS4a on proxy listeners. */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "cfgfile.h"
#include "err.h"
#include "log.h"
#include "match.h"
#include "proto/proto.h"
#include "mux/smux.h"
#include "core/conn.h"
#include "core/dial.h"
#include "core/listen.h"
#include "core/relay.h"
#include "core/reload.h"
#include "core/tls.h"
#include "handler/handler.h"
#include "handler/http2.h"
#include "handler/proxy.h"
#include "handler/proxy_int.h"
#include "worker.h"

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
	if (!auth_required(pc->px) &&
	    s4.cmd == SOCKS4_CMD_BIND) {
		pc->dst = s4.dst;
		return s5_bind_start(pc);
	}
	if (auth_required(pc->px) ||
	    s4.cmd != SOCKS4_CMD_CONNECT ||
	    (s4.is4a && !(pc->px->l->accept &
	    PROXY_SOCKS4A))) {
		pconn_fail(pc, SOCKS5_REP_NOTALLOWED);
		return 2;
	}
	pc->dst = s4.dst;
	return 1;
}
