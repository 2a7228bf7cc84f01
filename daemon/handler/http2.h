/* gost's http2 proxy handler (handler/http2.c). */
#ifndef OSTP_HANDLER_HTTP2_H
#define OSTP_HANDLER_HTTP2_H

struct conn;

/*
 * A client of an http2 listener (TLS, counted), taken: HTTP/2 when
 * ALPN chose h2, else the HTTP/1.1 proxy.  arg is the struct proxy.
 */
void	http2_accept(void *arg, struct conn *);

#endif
