/*
 * Listener kinds to handlers: the worker's half of the scheme table
 * (common/conf.c keeps the half that reads configuration).
 */
#include "config.h"

#include <stddef.h>

#include "handler/handler.h"
#include "ostp/server.h"
#include "capture/capture.h"

static const struct handler handlers[] = {
	[LIS_TCP_FORWARD]	= { "tcp forward", forward_start, 0 },
	[LIS_PROXY]		= { "proxy", proxy_start, 0 },
	[LIS_DIAG]		= { "diagnostics", diag_start, 0 },
	[LIS_TUN]		= { "tun", tun_start, 0 },
	[LIS_TAP]		= { "tap", tun_start, 0 },
	[LIS_SS]		= { "shadowsocks", ss_start, 0 },
	[LIS_UDP_FORWARD]	= { "udp forward", udp_listener_start, 0 },
	[LIS_SSU]		= { "shadowsocks udp", udp_listener_start, 0 },
	[LIS_DNS]		= { "dns", dnsproxy_start, 0 },
	[LIS_SNI]		= { "sni", sni_start, 0 },
	[LIS_RELAY]		= { "relay", relay_server_start, 0 },
	[LIS_REDIRECT]		= { "redirect", redirect_start, 0 },
	[LIS_REDU]		= { "udp redirect", udp_listener_start, 0 },
	[LIS_RTCP]		= { "remote tcp", rforward_start, 1 },
	[LIS_RUDP]		= { "remote udp", rforward_start, 1 },
	[LIS_OSTP]		= { "ostp", ostp_server_start, 0 },
	/* the device comes from the monitor: no socket */
	[LIS_CAPTURE]		= { "capture", capture_start, 1 },
};

const struct handler *
handler_for(enum listener_kind k)
{
	if ((size_t)k >= sizeof(handlers) / sizeof(handlers[0]) ||
	    handlers[k].start == NULL)
		return NULL;
	return &handlers[k];
}
