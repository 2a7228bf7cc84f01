/*
 * HTTP/2 sessions (gost's h2 and h2c tunnel transports) over a
 * connection; every tunnel is one HTTP/2 stream, a connection of its
 * own (core/conn.h), relayed like any other.
 */
#ifndef OSTP_H2_H
#define OSTP_H2_H

#include <stddef.h>

struct conn;
struct h2;

/* A tunnel the peer opened (answered 200); the callee owns it. */
typedef void (*h2_accept_cb)(void *arg, struct conn *);

/* A header field; names are lower case (HTTP/2), values NUL-free. */
struct h2_hdr {
	const char	*name;
	const char	*value;
};

/*
 * A request a server session hands over unanswered (gost's http2
 * proxy): its pseudo-header fields (NULL when absent) and the others.
 * Valid during the callback only.
 */
struct h2_req {
	const char		*method;
	const char		*scheme;
	const char		*authority;
	const char		*path;
	const struct h2_hdr	*hdr;
	size_t			 nhdr;
	int			 end;		/* no body follows */
	int			 toolarge;	/* fields were dropped */
};
typedef void (*h2_request_cb)(void *arg, struct conn *,
    const struct h2_req *);

/*
 * A session on c (taken).  path: a server's tunnels are GET path
 * requests (NULL: CONNECT); ping_ms: PING that often, a session that
 * stays silent a whole period after one is closed (0: never).
 * alpn: c is TLS, on which "h2" must have been agreed (ALPN).  closed runs
 * when the session ends by itself (not after h2_free); its streams
 * then fail on their next operation.  NULL if it could not start (c
 * freed).
 */
struct h2	*h2_new(struct conn *, int client, const char *path,
		    unsigned long ping_ms, int alpn, h2_accept_cb,
		    void (*closed)(void *), void *arg);
/*
 * A tunnel from our side: CONNECT authority, or GET path when path is
 * set.  It is neither readable nor writable before the answer; an
 * answer other than 200 fails it (ECONNREFUSED).  NULL if the session
 * cannot take one.
 */
struct conn	*h2_open(struct h2 *, const char *authority, const char *path,
		    const struct h2_hdr *, size_t nhdr);
/*
 * A client stream's answer: 0 none yet, else its status (200 for a
 * tunnel), -1 if the stream ended without one.
 */
int		 h2_status(const struct conn *);
/*
 * A server session hands every request to cb instead of answering it
 * (the stream, counted as nothing, is the callee's); it answers with
 * h2_respond.
 */
void		 h2_set_request_cb(struct h2 *, h2_request_cb);
/*
 * Answer a request given to the request callback: status and fields;
 * body NULL: the stream then carries the connection's bytes both ways
 * (a tunnel), else body is all the answer and the stream ends.
 */
int		 h2_respond(struct conn *, int status, const struct h2_hdr *,
		    size_t nhdr, const void *body, size_t bodylen);
/* The value of a request field (name in lower case), or NULL. */
const char	*h2_req_header(const struct h2_req *, const char *name);
size_t		 h2_nstreams(const struct h2 *);
/* Called with the session's connection just before it goes. */
void		 h2_set_dying(struct h2 *, void (*)(void *arg, struct conn *));
void		 h2_free(struct h2 *);

#endif
