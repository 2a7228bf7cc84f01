/*
 * What the HTTP proxy (proxy.c) shares with the http2 handler: the
 * listener's authentication and probe resistance, its dialer, its
 * Proxy-Agent, and the HTTP/1.1 handler itself.
 */
#ifndef OSTP_HANDLER_PROXY_H
#define OSTP_HANDLER_PROXY_H

#include <stddef.h>

struct conn;
struct dialer;
struct listener_conf;
struct proxy;
struct worker;

#define PROXY_AUTH_OK		0
#define PROXY_AUTH_DENY		1	/* 407 */
#define PROXY_AUTH_PROBE	2	/* answer as a web server */

int		 proxy_http_auth(const struct proxy *, const char *value,
		    size_t len, const char *host);
const char	*proxy_agent(const struct proxy *);
struct dialer	*proxy_dialer(struct proxy *);
const struct listener_conf *proxy_conf(const struct proxy *);
struct worker	*proxy_worker(const struct proxy *);
/* probe_resist=file: the page */
const char	*proxy_probe_body(const struct proxy *, size_t *len);
/* An HTTP/1.x (or SOCKS) client's connection (counted), taken. */
void		 proxy_accept(void *proxy, struct conn *);

#endif
