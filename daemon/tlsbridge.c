/*
 * TLS terminated inside the worker and handed on as a plain socket: a
 * bufferevent_openssl on the client's connection, a socketpair to the
 * code that speaks the protocol inside (gost's SOCKS5 methods 0x80 and
 * 0x82 run the rest of SOCKS5 within TLS).  The certificate is made at
 * start, self-signed with a fresh P-256 key that lives only in the
 * worker's memory: clients of these methods do not verify it (gost's
 * own client skips verification), and no long-term key is involved.
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

/* Before the sandbox: a key pair, a self-signed certificate, a context. */
int
tlsbridge_init(void)
{
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	int r = -1;

	if (server_ctx != NULL)
		return 0;
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

struct tlsb {
	struct worker		*wk;
	struct bufferevent	*tls;
	struct bufferevent	*plain;
	int			 eof;
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

	if (b->eof) {
		/* one side ended and everything reached the other */
		if (evbuffer_get_length(bufferevent_get_output(b->tls)) == 0 &&
		    evbuffer_get_length(bufferevent_get_output(b->plain)) == 0)
			tlsb_free(b);
		return;
	}
	bufferevent_enable(other(b, bev), EV_READ);
}

static void
tlsb_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tlsb *b = arg;
	struct bufferevent *o = other(b, bev);

	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_ERROR)
		debug_f("%s", bev == b->tls ? "TLS failed" : "closed");
	if ((what & BEV_EVENT_EOF) &&
	    evbuffer_get_length(bufferevent_get_output(o)) > 0) {
		/* what came before the end still goes out */
		b->eof = 1;
		bufferevent_disable(bev, EV_READ);
		return;
	}
	tlsb_free(b);
}

/*
 * Terminate TLS (server side) on fd; returns the plain socket that
 * carries what is inside, or -1 (fd closed).
 */
int
tlsbridge_accept(struct worker *wk, int fd)
{
	struct tlsb *b;
	SSL *ssl;
	int sp[2];

	if (server_ctx == NULL || socketpair(AF_UNIX, SOCK_STREAM |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) == -1) {
		close(fd);
		return -1;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (ssl = SSL_new(server_ctx)) == NULL) {
		free(b);
		close(fd);
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	b->wk = wk;
	b->tls = bufferevent_openssl_socket_new(wk->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS);
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
