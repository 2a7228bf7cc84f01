/*
 * Inside the proxy handler: what proxy.c (a client's connection, its
 * dial, the relay) shares with the protocols' parsers, socks5.c,
 * socks4.c and http.c.  Not for other handlers: they use proxy.h.
 */
#ifndef OSTP_HANDLER_PROXY_INT_H
#define OSTP_HANDLER_PROXY_INT_H

#include <stddef.h>

#include "buf.h"
#include "core/dial.h"
#include "core/listen.h"
#include "proto/proto.h"

struct conn;
struct event;
struct secrets;

#define HANDSHAKE_SECS	10	/* gost's read timeout */
#define HTTP_IDLE_SECS	30	/* a kept-alive client's next request */
#define READ_CHUNK	4096

enum pproto { PP_NONE, PP_SOCKS5, PP_SOCKS4, PP_HTTP };
enum pstate {
	PS_SNIFF,
	PS_S5_GREETING,
	PS_S5_AUTH,
	PS_S5_REQUEST,
	PS_S4_REQUEST,
	PS_HTTP_HEAD,
	PS_RESOLVE,
	PS_CONNECT,
};

struct proxy {
	struct worker			*wk;
	const struct listener_conf	*l;
	size_t				 idx;
	struct dialer			 dl;
	struct secrets			*secrets;	/* live-reloaded */
	char				*probe_body;	/* probe_resist=file: */
	size_t				 probe_len;
	struct tp_server		 tp;		/* its transport */
};

struct pconn {
	struct proxy		*px;
	struct conn		*c;		/* the client's */
	struct conn		*up;		/* to the target */
	enum pproto		 proto;
	enum pstate		 state;
	struct buf		 in;
	struct event		*tmo;
	struct proxy_target	 dst;
	struct http_request	 req;
	struct dial		*dial;
	int			 probe;		/* answering as a web server */
};

/* proxy.c */
void	pc_send(struct pconn *, const void *, size_t);
void	pconn_refuse(struct pconn *, const void *reply, size_t len);
void	pconn_fail(struct pconn *, int s5rep);
void	pconn_free(struct pconn *);
int	proxy_auth_required(const struct proxy *);
int	proxy_auth_ok(const struct proxy *, const char *user, const char *pass);
/* dial_start's callback: the target's connection, or err */
void	pconn_dialed(void *pc, struct conn *, int err);
struct pconn *pconn_resume(struct proxy *, struct conn *, enum pproto,
	    enum pstate, const unsigned char *, size_t);

/*
 * The protocols' parsers: 1 with a target in pc->dst, 0 for more
 * bytes, 2 answered (pc freed), -1 to close.
 */
int	s5_step(struct pconn *);		/* socks5.c */
int	s5_bind_start(struct pconn *);		/* socks5.c, for SOCKS4 */
int	s4_step(struct pconn *);		/* socks4.c */
int	http_step(struct pconn *);		/* http.c */
size_t	http_error_fmt(struct pconn *, char *resp, size_t size, int code,
	    const char *reason, const char *extra);
void	http_error(struct pconn *, int code, const char *reason,
	    const char *extra);

#endif
