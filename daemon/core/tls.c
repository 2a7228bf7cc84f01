/*
 * TLS as a connection layer: OpenSSL reads and writes through a BIO
 * whose operations are conn_recv/conn_send on the connection below, so
 * TLS stacks on a socket, a WebSocket, a mux stream or anything else
 * without a descriptor of its own.
 *
 * OpenSSL says after each call what it waits for (SSL_ERROR_WANT_READ
 * or _WRITE), separately for the reading and the writing side of the
 * owner: a write may wait for the peer's handshake answer, a read for
 * room to send a session ticket.  The layer arms the connection below
 * for exactly that, so a wake-up always lets the waiting side go on.
 *
 * The contexts of gost's SOCKS5 TLS methods (0x80, 0x82) are made at
 * start: the server's certificate is self-signed with a fresh P-256 key
 * that lives only in this worker's memory, because clients of these
 * methods do not verify it (gost's does not, nor does ours) and no
 * long-term key is involved.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "core/conn.h"
#include "core/tls.h"
#include "log.h"
#include "worker.h"

static SSL_CTX *server_ctx;
static SSL_CTX *client_ctx;
static BIO_METHOD *conn_bio;

struct tlayer {
	SSL	*ssl;
	int	 starved;	/* what read ahead holds is less than a record */
	int	 rneed;		/* what SSL_read waits for below */
	int	 wneed;		/* what SSL_write/shutdown waits for */
	int	 err;		/* sticky errno */
	int	 batch;		/* inside tl_send's SSL_write */
	struct cbuf wb;		/* records of one SSL_write, not yet sent */
};

/*
 * The records one SSL_write makes (a 64 KiB relay buffer is four) are
 * gathered and go down in one send, not one each: on a socket that is
 * one system call and one wake-up of the peer instead of four.
 */
#define TL_RECORD_MAX	(16 * 1024 + 512)	/* with its overhead */
#define TL_WB_SIZE	(4 * TL_RECORD_MAX)

static int
bio_write(BIO *b, const char *p, int n)
{
	struct conn *c = BIO_get_data(b);
	struct tlayer *l = c->layer;
	ssize_t r;

	BIO_clear_retry_flags(b);
	if (l->batch) {
		if (cbuf_alloc(&l->wb, TL_WB_SIZE) != 0)
			return -1;
		if (cbuf_room(&l->wb) < (size_t)n &&
		    conn_send_buf(c->lower, &l->wb) != 0)
			return -1;
		if (cbuf_room(&l->wb) >= (size_t)n) {
			cbuf_append(&l->wb, p, (size_t)n);
			return n;
		}
		BIO_set_retry_write(b);
		return -1;
	}
	if (l->wb.len > 0) {
		/* gathered records go first */
		BIO_set_retry_write(b);
		return -1;
	}
	if ((r = conn_send(c->lower, p, (size_t)n)) > 0)
		return (int)r;
	if (r == -1 && errno == EAGAIN)
		BIO_set_retry_write(b);
	return -1;
}

static int
bio_read(BIO *b, char *p, int n)
{
	struct conn *c = BIO_get_data(b);
	ssize_t r;

	BIO_clear_retry_flags(b);
	if ((r = conn_recv(c->lower, p, (size_t)n)) >= 0) {
		/*
		 * New bytes may complete a record, whichever call read them
		 * (SSL_write reads during a handshake too): not starved.
		 */
		((struct tlayer *)c->layer)->starved = 0;
		return (int)r;
	}
	if (errno == EAGAIN)
		BIO_set_retry_read(b);
	return -1;
}

static long
bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int
bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* The server context of gost's TLS methods: a throwaway identity. */
static SSL_CTX *
tls_selfsigned_ctx(void)
{
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	SSL_CTX *ctx = NULL;

	if ((key = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL)
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
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		goto out;
	if (SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1) {
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
 out:
	X509_free(x);
	EVP_PKEY_free(key);
	return ctx;
}

/* The settings of every context: listeners' (tlskey.c) too. */
void
tls_ctx_common(SSL_CTX *ctx)
{
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	/* peers that close without close_notify end the stream: gost does */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* many records per read from below, not two reads per record */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, 64 * 1024);
}

/* Before the sandbox. */
int
tls_init(void)
{
	if (server_ctx != NULL)
		return 0;
	if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1)
		return -1;
	if ((conn_bio = BIO_meth_new(BIO_get_new_index() |
	    BIO_TYPE_SOURCE_SINK, "ostp conn")) == NULL ||
	    BIO_meth_set_write(conn_bio, bio_write) != 1 ||
	    BIO_meth_set_read(conn_bio, bio_read) != 1 ||
	    BIO_meth_set_ctrl(conn_bio, bio_ctrl) != 1 ||
	    BIO_meth_set_create(conn_bio, bio_create) != 1)
		return -1;
	/* gost's TLS methods authenticate nobody: no verification */
	if ((client_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return -1;
	tls_ctx_common(client_ctx);
	SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, NULL);
	if ((server_ctx = tls_selfsigned_ctx()) == NULL)
		return -1;
	tls_ctx_common(server_ctx);
	return 0;
}

/*
 * After an SSL call that returned r <= 0: -1 with errno EAGAIN and
 * *need set to what it waits for, or 0 at a clean end, or -1 with
 * another errno (sticky).
 */
static int
tl_result(struct conn *c, int r, int *need)
{
	struct tlayer *l = c->layer;
	unsigned long e;

	switch (SSL_get_error(l->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		*need = CONN_READ;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*need = CONN_WRITE;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		/* the BIO's errno; 0 is an EOF below */
		if (errno == 0 || errno == EAGAIN)
			return 0;
		l->err = errno;
		break;
	default:
		e = ERR_peek_error();
		debug_f("TLS: %s", e != 0 ? ERR_reason_error_string(e) :
		    "failed");
		l->err = EPROTO;
		break;
	}
	ERR_clear_error();
	errno = l->err;
	return -1;
}

/*
 * What SSL_read waits for below can change inside it: a TLS 1.3
 * server writes its session tickets when the client's Finished comes,
 * usually together with the first request, and a stream whose
 * session's output is full takes them later.  The layer below is
 * armed anew then: the owner waits only to read, and a wake-up for
 * writing that nobody armed would be lost (conn_kick passes only what
 * is wanted), the request held in the read-ahead with it.
 */
static ssize_t
tl_recv(struct conn *c, void *p, size_t n)
{
	struct tlayer *l = c->layer;
	int r, need = l->rneed;
	size_t got;

	if (l->err != 0) {
		errno = l->err;
		return -1;
	}
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_read_ex(l->ssl, p, n, &got)) == 1) {
		l->rneed = CONN_READ;
		if (need != CONN_READ)
			c->ops->update(c);
		return (ssize_t)got;
	}
	if ((r = tl_result(c, r, &l->rneed)) == -1 && errno == EAGAIN) {
		l->starved = 1;		/* until more comes from below */
		if (l->rneed != need) {
			c->ops->update(c);
			errno = EAGAIN;
		}
	}
	return r;
}

/* Gathered records down; -1 with the error sticky. */
static int
tl_wflush(struct conn *c)
{
	struct tlayer *l = c->layer;

	if (conn_send_buf(c->lower, &l->wb) != 0) {
		l->err = errno;
		return -1;
	}
	if (l->wb.len == 0)
		cbuf_release(&l->wb);
	return 0;
}

static ssize_t
tl_send(struct conn *c, const void *p, size_t n)
{
	struct tlayer *l = c->layer;
	size_t put, done = 0;
	int r, e;

	if (l->err != 0) {
		errno = l->err;
		return -1;
	}
	if (l->wb.len > 0 && tl_wflush(c) != 0)
		return -1;
	if (l->wb.len > 0) {
		l->wneed = CONN_WRITE;
		c->ops->update(c);
		errno = EAGAIN;
		return -1;
	}
	/*
	 * With partial writes SSL_write returns after each record: ask
	 * again while a record fits, then send what was gathered.
	 */
	l->batch = 1;
	do {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_write_ex(l->ssl, (const char *)p + done,
		    n - done, &put)) == 1)
			done += put;
	} while (r == 1 && done < n && TL_WB_SIZE - l->wb.len >=
	    TL_RECORD_MAX);
	l->batch = 0;
	if (done > 0) {
		/* taken: what the socket does not take now goes later */
		if (tl_wflush(c) != 0)
			return -1;
		l->wneed = l->wb.len > 0 ? CONN_WRITE : 0;
		if (l->wb.len > 0)
			c->ops->update(c);
		return (ssize_t)done;
	}
	e = tl_result(c, r, &l->wneed) == 0 ? EPIPE : errno;
	/* records a handshake made inside SSL_write were gathered too */
	if (l->err == 0 && l->wb.len > 0 && tl_wflush(c) != 0)
		e = l->err;
	c->ops->update(c);
	errno = e;
	return -1;
}

/* close_notify; the socket below stays open for the peer's rest. */
static int
tl_shutw(struct conn *c)
{
	struct tlayer *l = c->layer;
	int r;

	if (l->err != 0) {
		errno = l->err;
		return -1;
	}
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_shutdown(l->ssl)) >= 0) {
		l->wneed = 0;
		return 0;
	}
	if (tl_result(c, r, &l->wneed) == 0)
		return 0;
	c->ops->update(c);
	return -1;
}

static size_t tl_pending(const struct conn *);

static void
tl_update(struct conn *c)
{
	struct tlayer *l = c->layer;
	int lw = 0;

	if (l->err != 0) {
		conn_kick(c, c->want);
		conn_want(c->lower, 0);
		return;
	}
	/*
	 * Bytes held are read at once (kick), and the layer below stays
	 * armed all the same: what is held may be only part of a record
	 * (any wake-up from below ends starved), and the read that finds
	 * so would leave nobody waiting for the rest.
	 */
	if (c->want & CONN_READ) {
		if (tl_pending(c) > 0)
			conn_kick(c, CONN_READ);
		lw |= l->rneed;
	}
	if (c->want & CONN_WRITE) {
		if (l->wneed == 0)
			conn_kick(c, CONN_WRITE);
		else
			lw |= l->wneed;
	}
	if (l->wb.len > 0)
		lw |= CONN_WRITE;
	conn_want(c->lower, lw);
}

/* Whichever side waited for what came goes on. */
static void
tl_lower_cb(struct conn *lower, int what, void *arg)
{
	struct conn *c = arg;
	struct tlayer *l = c->layer;
	int w = 0;

	(void)lower;
	if (what & CONN_READ)
		l->starved = 0;
	if ((what & CONN_WRITE) && l->wb.len > 0) {
		if (tl_wflush(c) != 0)
			w = CONN_READ | CONN_WRITE;	/* both hear of it */
		else if (l->wb.len > 0)
			what &= ~CONN_WRITE;	/* not yet */
	}
	if (what & l->rneed)
		w |= CONN_READ;
	if (what & l->wneed)
		w |= CONN_WRITE;
	if (l->err == 0)
		tl_update(c);
	conn_notify(c, w);
}

/*
 * Decrypted bytes held, or records read ahead that may complete one
 * (read-ahead fetches many records per system call); not what is only
 * part of a record, which waits for the layer below.
 */
static size_t
tl_pending(const struct conn *c)
{
	const struct tlayer *l = c->layer;
	int n = SSL_pending(l->ssl);

	if (n > 0)
		return (size_t)n;
	return !l->starved && SSL_has_pending(l->ssl) ? 1 : 0;
}

static void
tl_free(struct conn *c)
{
	struct tlayer *l = c->layer;

	SSL_free(l->ssl);
	cbuf_release(&l->wb);
	free(l);
}

static const struct conn_ops tls_ops = {
	.name = "tls",
	.recv = tl_recv,
	.send = tl_send,
	.shutw = tl_shutw,
	.update = tl_update,
	.pending = tl_pending,
	.free = tl_free,
};

static struct conn *
tls_push(struct conn *lower, SSL_CTX *ctx, int client, const char *sni)
{
	struct tlayer *l = NULL;
	struct conn *c = NULL;
	unsigned char a[16];
	BIO *b;

	if (ctx == NULL || (l = calloc(1, sizeof(*l))) == NULL ||
	    (c = conn_layer_new(lower, &tls_ops, l)) == NULL ||
	    (l->ssl = SSL_new(ctx)) == NULL ||
	    (b = BIO_new(conn_bio)) == NULL) {
		if (l != NULL)
			SSL_free(l->ssl);
		free(l);
		free(c);
		conn_free(lower);
		return NULL;
	}
	BIO_set_data(b, c);
	SSL_set_bio(l->ssl, b, b);
	l->rneed = CONN_READ;
	if (client) {
		SSL_set_connect_state(l->ssl);
		if (sni != NULL && *sni != '\0' &&
		    inet_pton(AF_INET, sni, a) != 1 &&
		    inet_pton(AF_INET6, sni, a) != 1)
			SSL_set_tlsext_host_name(l->ssl, sni);
	} else
		SSL_set_accept_state(l->ssl);
	conn_set_cb(lower, tl_lower_cb, c);
	return c;
}

/* TLS as a client over lower (taken); NULL on failure (lower freed). */
struct conn *
tls_client_push(struct conn *lower, const char *sni)
{
	return tls_push(lower, client_ctx, 1, sni);
}

/*
 * A chain node's TLS: its context (tls_client_ctx), the name it asks
 * for, and with verify that name checked against the certificate.
 */
struct conn *
tls_client_push_ctx(struct conn *lower, SSL_CTX *ctx, const char *sni,
    int verify)
{
	struct tlayer *l;
	struct conn *c;
	unsigned char a[16];

	if ((c = tls_push(lower, ctx, 1, sni)) == NULL)
		return NULL;
	l = c->layer;
	if (verify && sni != NULL && *sni != '\0') {
		if (inet_pton(AF_INET, sni, a) == 1 ||
		    inet_pton(AF_INET6, sni, a) == 1)
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(l->ssl),
			    sni);
		else
			SSL_set1_host(l->ssl, sni);
	}
	return c;
}

/* TLS as a server with ctx (a listener's) over lower (taken). */
struct conn *
tls_server_push_ctx(struct conn *lower, SSL_CTX *ctx)
{
	return tls_push(lower, ctx, 0, NULL);
}

/*
 * Every certificate of a PEM file into store; the file comes through
 * the monitor.  0, or -1 (logged) if it has none.
 */
#define TLS_CA_MAX	(8 * 1024 * 1024)
int
tls_load_cas(struct worker *wk, X509_STORE *store, const char *path)
{
	STACK_OF(X509_INFO) *infos = NULL;
	X509_INFO *xi;
	BIO *b = NULL;
	char *data = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd, i, count = 0;

	if ((fd = mm_file_open(wk, path)) == -1) {
		error("TLS: cannot read the CA file %s", path);
		return -1;
	}
	for (;;) {
		if (len == cap) {
			char *nd;

			if (cap >= TLS_CA_MAX || (nd = realloc(data,
			    cap + 65536)) == NULL)
				break;
			data = nd;
			cap += 65536;
		}
		if ((n = read(fd, data + len, cap - len)) <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (data != NULL && (b = BIO_new_mem_buf(data, (int)len)) != NULL)
		infos = PEM_X509_INFO_read_bio(b, NULL, NULL, NULL);
	for (i = 0; infos != NULL && i < sk_X509_INFO_num(infos); i++) {
		xi = sk_X509_INFO_value(infos, i);
		if (xi->x509 != NULL && X509_STORE_add_cert(store,
		    xi->x509) == 1)
			count++;
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	BIO_free(b);
	free(data);
	ERR_clear_error();
	if (count == 0) {
		error("TLS: no certificate in the CA file %s", path);
		return -1;
	}
	return 0;
}

/*
 * The client context of a chain node's TLS: without secure= or ca=,
 * gost's default, no verification; ca= verifies the chain against that
 * CA only (gost ignores the name then); secure=true verifies the chain
 * (against ca=, else the system's CAs) and the name.  Contexts are
 * shared by nodes that verify alike and made before they are needed.
 */
struct cctx {
	char		*ca;
	int		 secure;
	SSL_CTX		*ctx;
	struct cctx	*next;
};
static struct cctx *cctxs;

SSL_CTX *
tls_client_ctx(struct worker *wk, const struct tp_conf *tp)
{
	const char *ca = tp->ca != NULL ? tp->ca : tp->secure ?
	    TLS_SYSTEM_CAS : NULL;
	struct cctx *cc;
	SSL_CTX *ctx;

	if (ca == NULL)
		return client_ctx;
	for (cc = cctxs; cc != NULL; cc = cc->next)
		if (strcmp(cc->ca, ca) == 0 && cc->secure == tp->secure)
			return cc->ctx;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return NULL;
	tls_ctx_common(ctx);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (tls_load_cas(wk, SSL_CTX_get_cert_store(ctx), ca) != 0 ||
	    (cc = calloc(1, sizeof(*cc))) == NULL ||
	    (cc->ca = strdup(ca)) == NULL) {
		free(cc);
		SSL_CTX_free(ctx);
		return NULL;
	}
	cc->secure = tp->secure;
	cc->ctx = ctx;
	cc->next = cctxs;
	cctxs = cc;
	return ctx;
}

/* Why the last handshake on c failed, when it was the certificate. */
const char *
tls_verify_error(const struct conn *c)
{
	const struct tlayer *l;
	long v;

	for (; c != NULL; c = c->lower) {
		if (c->ops != &tls_ops)
			continue;
		l = c->layer;
		/* only where verification was asked for (secure=, ca=) */
		if ((SSL_get_verify_mode(l->ssl) & SSL_VERIFY_PEER) &&
		    (v = SSL_get_verify_result(l->ssl)) != X509_V_OK)
			return X509_verify_cert_error_string(v);
	}
	return NULL;
}

SSL_CTX *
tls_selfsigned_ctx_get(void)
{
	return server_ctx;
}

/* TLS as a server over lower (taken); NULL on failure (lower freed). */
struct conn *
tls_server_push(struct conn *lower)
{
	return tls_push(lower, server_ctx, 0, NULL);
}

/*
 * ALPN for the h2 transport.  A client offers proto on its own SSL (the
 * context is shared with other nodes); tls_alpn_is says what the
 * server chose, once the handshake is over.
 */
int
tls_set_alpn(struct conn *c, const char *proto)
{
	unsigned char wire[256];
	size_t n = strlen(proto);
	struct tlayer *l;

	if (c->ops != &tls_ops || n == 0 || n > 255)
		return -1;
	l = c->layer;
	wire[0] = (unsigned char)n;
	memcpy(wire + 1, proto, n);
	/* 0 is success here */
	return SSL_set_alpn_protos(l->ssl, wire, (unsigned int)n + 1) == 0 ?
	    0 : -1;
}

int
tls_alpn_is(const struct conn *c, const char *proto)
{
	const struct tlayer *l;
	const unsigned char *p;
	unsigned int n;

	for (; c != NULL; c = c->lower) {
		if (c->ops != &tls_ops)
			continue;
		l = c->layer;
		SSL_get0_alpn_selected(l->ssl, &p, &n);
		return n == strlen(proto) && memcmp(p, proto, n) == 0;
	}
	return 0;
}

/* A server that speaks h2 only: a client offering others is refused. */
static int
tls_alpn_h2_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned int i;

	(void)ssl;
	(void)arg;
	for (i = 0; i < inlen && in[i] <= inlen - i - 1; i += 1 + in[i])
		if (in[i] == 2 && memcmp(in + i + 1, "h2", 2) == 0) {
			*out = in + i + 1;
			*outlen = 2;
			return SSL_TLSEXT_ERR_OK;
		}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

void
tls_ctx_alpn_h2(SSL_CTX *ctx)
{
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_h2_cb, NULL);
}

static int
tls_alpn_h2_http1_cb(SSL *ssl, const unsigned char **out,
    unsigned char *outlen, const unsigned char *in, unsigned int inlen,
    void *arg)
{
	static const unsigned char ours[] = "\x02h2\x08http/1.1";
	unsigned char *sel;
	unsigned char sellen;

	(void)ssl;
	(void)arg;
	/* our order first: h2 wins over http/1.1 */
	if (SSL_select_next_proto(&sel, &sellen, ours, sizeof(ours) - 1, in,
	    inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	*outlen = sellen;
	return SSL_TLSEXT_ERR_OK;
}

void
tls_ctx_alpn_h2_http1(SSL_CTX *ctx)
{
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_h2_http1_cb, NULL);
}
