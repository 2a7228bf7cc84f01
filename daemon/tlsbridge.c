/*
 * TLS ended inside the worker and handed on as a plain socket: a
 * bufferevent_openssl on the connection, a socketpair to the code that
 * speaks the protocol inside (gost's SOCKS5 methods 0x80 and 0x82 run
 * the rest of SOCKS5 within TLS), on the server side and on the chain's
 * side.  The server certificate is made at start, self-signed with a
 * fresh P-256 key that lives only in the worker's memory: clients of
 * these methods do not verify it (gost's own client skips verification,
 * and so does ours), and no long-term key is involved.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"
#include "worker.h"

#define TLSB_HIGH	(256 * 1024)	/* queued toward one side */

static SSL_CTX *server_ctx;
static SSL_CTX *client_ctx;

/* Before the sandbox: a key pair, a self-signed certificate, a context. */
int
tlsbridge_init(void)
{
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	int r = -1;

	if (server_ctx != NULL)
		return 0;
	/* gost's TLS methods authenticate nobody: no verification */
	if ((client_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return -1;
	SSL_CTX_set_min_proto_version(client_ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, NULL);
	if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1 ||
	    (key = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL)
		goto out;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)arc4random());
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3650L * 86400);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"ostpd", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	if (X509_set_pubkey(x, key) != 1 || X509_sign(x, key, EVP_sha256()) == 0)
		goto out;
	if ((server_ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		goto out;
	SSL_CTX_set_min_proto_version(server_ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate(server_ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(server_ctx, key) != 1) {
		SSL_CTX_free(server_ctx);
		server_ctx = NULL;
		goto out;
	}
	r = 0;
 out:
	X509_free(x);
	EVP_PKEY_free(key);
	return r;
}

/*
 * Each direction ends on its own, as a TCP relay's do: the plain side's
 * EOF becomes TLS close_notify (gost's CloseWrite does the same) and TLS
 * keeps reading; the TLS side's end becomes shutdown(SHUT_WR) of the
 * plain socket.  Each is passed on once what came before it is out.
 */
struct tlsb {
	struct worker		*wk;
	struct bufferevent	*tls;
	struct bufferevent	*plain;
	int			 ended[2];	/* [0] tls said EOF, [1] plain */
	int			 passed[2];	/* that EOF given to the other */
};

static void
tlsb_free(struct tlsb *b)
{
	bufferevent_free(b->tls);
	bufferevent_free(b->plain);
	free(b);
}

static struct bufferevent *
other(struct tlsb *b, struct bufferevent *bev)
{
	return bev == b->tls ? b->plain : b->tls;
}

/*
 * Pass on the EOF of the side opposite to bev once bev's output is
 * empty; 1 when both directions have ended (b freed).
 */
static int
tlsb_pass_eof(struct tlsb *b, struct bufferevent *bev)
{
	int from = bev == b->tls ? 1 : 0;	/* whose EOF bev carries */

	if (b->ended[from] && !b->passed[from] &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		if (bev == b->tls)
			(void)SSL_shutdown(bufferevent_openssl_get_ssl(bev));
		else
			(void)shutdown(bufferevent_getfd(bev), SHUT_WR);
		b->passed[from] = 1;
	}
	if (b->passed[0] && b->passed[1]) {
		tlsb_free(b);
		return 1;
	}
	return 0;
}

static void
tlsb_read_cb(struct bufferevent *bev, void *arg)
{
	struct tlsb *b = arg;
	struct bufferevent *o = other(b, bev);

	evbuffer_add_buffer(bufferevent_get_output(o),
	    bufferevent_get_input(bev));
	/* back-pressure: the reader waits while the other side is full */
	if (evbuffer_get_length(bufferevent_get_output(o)) >= TLSB_HIGH)
		bufferevent_disable(bev, EV_READ);
}

static void
tlsb_write_cb(struct bufferevent *bev, void *arg)
{
	struct tlsb *b = arg;
	struct bufferevent *o = other(b, bev);

	if (tlsb_pass_eof(b, bev))
		return;
	if (!b->ended[o == b->tls ? 0 : 1])
		bufferevent_enable(o, EV_READ);
}

static void
tlsb_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tlsb *b = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
		struct timeval tv = { relay_half_idle_secs(), 0 };

		/* what came before the end still goes out, then the end */
		b->ended[bev == b->tls ? 0 : 1] = 1;
		/* and the other side gets the relays' half-closed limit */
		bufferevent_set_timeouts(other(b, bev), &tv, NULL);
		bufferevent_disable(bev, EV_READ);
		(void)tlsb_pass_eof(b, other(b, bev));
		return;
	}
	debug_f("%s", bev == b->tls ? "TLS failed" : "closed");
	tlsb_free(b);
}

/* TLS on fd in the given role; the plain socket for inside, or -1. */
static int
tlsb_start(struct worker *wk, int fd, SSL_CTX *ctx,
    enum bufferevent_ssl_state role)
{
	struct bufferevent *raw;
	struct tlsb *b;
	SSL *ssl;
	int sp[2];

	if (ctx == NULL || socketpair(AF_UNIX, SOCK_STREAM |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) == -1) {
		close(fd);
		return -1;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (ssl = SSL_new(ctx)) == NULL) {
		free(b);
		close(fd);
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	b->wk = wk;
	/*
	 * A filter over a socket bufferevent, not an openssl socket one:
	 * when reading resumes after back-pressure, only the filter looks
	 * at what OpenSSL already decrypted and holds (the socket one waits
	 * for the socket, which may have nothing more: a stall).
	 */
	if ((raw = bufferevent_socket_new(wk->base, fd,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)) == NULL)
		fatal_f("out of memory");
	b->tls = bufferevent_openssl_filter_new(wk->base, raw, ssl, role,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	b->plain = bufferevent_socket_new(wk->base, sp[0],
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (b->tls == NULL || b->plain == NULL)
		fatal_f("out of memory");
	bufferevent_openssl_set_allow_dirty_shutdown(b->tls, 1);
	bufferevent_setcb(b->tls, tlsb_read_cb, tlsb_write_cb, tlsb_event_cb,
	    b);
	bufferevent_setcb(b->plain, tlsb_read_cb, tlsb_write_cb,
	    tlsb_event_cb, b);
	bufferevent_enable(b->tls, EV_READ | EV_WRITE);
	bufferevent_enable(b->plain, EV_READ | EV_WRITE);
	return sp[1];
}

/* Terminate TLS (server side) on fd; the plain socket, or -1 (fd closed). */
int
tlsbridge_accept(struct worker *wk, int fd)
{
	return tlsb_start(wk, fd, server_ctx, BUFFEREVENT_SSL_ACCEPTING);
}

/*
 * Begin TLS (client side) on the connected fd; the plain socket, or -1
 * (fd closed).  What is written to it before the handshake ends waits.
 */
int
tlsbridge_connect(struct worker *wk, int fd)
{
	return tlsb_start(wk, fd, client_ctx, BUFFEREVENT_SSL_CONNECTING);
}
