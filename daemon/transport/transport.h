/* Transports as layers: the codecs and pushes of transport/. */
#ifndef OSTP_TRANSPORT_H
#define OSTP_TRANSPORT_H

struct codec;

/* obfs.c: gost's ohttp and otls; host: the client's Host/SNI. */
struct codec	*ohttp_codec(int server, const char *host);
struct codec	*otls_codec(int server, const char *host);

struct conn;
/* ws.c: WebSocket; path NULL: /ws, agent NULL: gost's. */
struct conn	*ws_client_push(struct conn *, const char *path,
		    const char *host, const char *agent);
struct conn	*ws_server_push(struct conn *, const char *path);

#endif
