/*
 * -P (with PROFILING set): the worker's counters as JSON over HTTP, at
 * GET /debug/vars, for a monitoring system; gost puts Go's pprof there.
 * The listening socket comes from the monitor like any other.
 */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "log.h"
#include "worker.h"
#include "handler/handler.h"

static void
vars_cb(struct evhttp_request *req, void *arg)
{
	struct worker *wk = arg;
	struct evbuffer *b;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_send_error(req, 405, "Method Not Allowed");
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	evbuffer_add_printf(b, "{\"worker\": %u, \"generation\": %u, "
	    "\"pid\": %ld, \"active\": %u, \"accepted\": %llu, "
	    "\"bytes_in\": %llu, \"bytes_out\": %llu}\n", wk->id, wk->gen,
	    (long)getpid(), wk->stats.active,
	    (unsigned long long)wk->stats.accepted,
	    (unsigned long long)wk->stats.bytes_in,
	    (unsigned long long)wk->stats.bytes_out);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

int
diag_start(struct worker *wk, const struct listener_conf *l, size_t idx,
    int fd)
{
	struct evhttp *http;

	(void)l;
	if ((http = evhttp_new(wk->base)) == NULL)
		return -1;
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(http, 8192);
	evhttp_set_max_body_size(http, 0);
	evhttp_set_timeout(http, 10);
	if (evhttp_set_cb(http, "/debug/vars", vars_cb, wk) != 0)
		return -1;
	evutil_make_socket_nonblocking(fd);
	if (evhttp_accept_socket_with_handle(http, fd) == NULL)
		return -1;
	return 0;
}
