/*
 * A listener's transport: the layers an accepted socket is wrapped in
 * before its handler reads the first byte of its protocol.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "core/conn.h"
#include "core/listen.h"
#include "core/tls.h"
#include "log.h"
#include "transport/transport.h"
#include "worker.h"

int
tp_server_init(struct tp_server *ts, struct worker *wk,
    const struct listener_conf *l, size_t idx)
{
	memset(ts, 0, sizeof(*ts));
	ts->wk = wk;
	ts->l = l;
	ts->idx = idx;
	switch (l->tp.kind) {
	case TP_TLS:
	case TP_WSS:
		if ((ts->tls = tlskey_server_ctx(wk, idx)) == NULL) {
			error("%s: no TLS context", l->node->url);
			return -1;
		}
		break;
	default:
		break;
	}
	return 0;
}

/*
 * The accepted socket (taken) inside the listener's transport; NULL on
 * failure (closed).  Handshakes of the layers run as the handler reads.
 */
struct conn *
tp_accept(struct tp_server *ts, int fd)
{
	struct conn *c;

	if ((c = conn_socket(ts->wk, fd)) == NULL)
		return NULL;
	switch (ts->l->tp.kind) {
	case TP_TLS:
		return tls_server_push_ctx(c, ts->tls);
	case TP_OHTTP:
		return conn_codec_push(c, ohttp_codec(1, NULL));
	case TP_OTLS:
		return conn_codec_push(c, otls_codec(1, NULL));
	case TP_WS:
		return ws_server_push(c, ts->l->tp.path);
	case TP_WSS:
		if ((c = tls_server_push_ctx(c, ts->tls)) == NULL)
			return NULL;
		return ws_server_push(c, ts->l->tp.path);
	default:
		return c;
	}
}
