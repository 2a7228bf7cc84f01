/*
 * A TLS listener's context.  The certificate chain comes from the
 * monitor (TLS_CERT); the private key stays there.  The worker's key
 * object holds the public key only, with methods whose private
 * operations ask the monitor (TLS_SIGN), as OpenBSD relayd's relays ask
 * its ca process.  A worker that is taken over can have signatures made
 * while it lives, but cannot take the key with it.
 *
 * OpenSSL 3 treats a key whose RSA_METHOD or EC_KEY_METHOD is not its
 * own as a "foreign" legacy key and performs its operations through
 * those methods; these interfaces are deprecated, but still the simple
 * way to do this without writing a provider.  The round trip is
 * synchronous, as relayd's: one signature per handshake.
 *
 * RSA: the monitor performs the raw private operation only; the padding
 * (PKCS#1 v1.5 type 1 here, PSS in OpenSSL's RSA code above us) is
 * made in the worker, so the monitor never parses a digest structure.
 * Decryption (TLS's RSA key transport) is not offered: contexts leave
 * out those cipher suites, which have no forward secrecy anyway.
 */
#include "config.h"

#define OPENSSL_SUPPRESS_DEPRECATED	/* RSA_METHOD, EC_KEY_METHOD */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "compat.h"
#include "conf.h"
#include "core/tls.h"
#include "ipc.h"
#include "log.h"
#include "worker.h"

#define TLSKEY_CHAIN_MAX	(256 * 1024)	/* as the monitor's bound */

/* What a key object's methods need to ask the monitor. */
struct tlskey {
	struct worker	*wk;
	uint32_t	 lis;
};

static RSA_METHOD *rsa_meth;
static EC_KEY_METHOD *ec_meth;
static int rsa_idx = -1, ec_idx = -1;
static SSL_CTX **ctxs;		/* per listener, made once */
static size_t nctxs;

static int
rsa_priv_enc(int flen, const unsigned char *from, unsigned char *to,
    RSA *rsa, int padding)
{
	const struct tlskey *tk = RSA_get_ex_data(rsa, rsa_idx);
	unsigned char buf[IPC_TLS_SIGN_MAX];
	const unsigned char *in = from;
	size_t n, got;
	int size = RSA_size(rsa);

	if (tk == NULL || size <= 0 || size > IPC_TLS_SIGN_MAX || flen < 0)
		return -1;
	n = (size_t)size;
	switch (padding) {
	case RSA_PKCS1_PADDING:
		if (RSA_padding_add_PKCS1_type_1(buf, size, from, flen) != 1)
			return -1;
		in = buf;
		break;
	case RSA_NO_PADDING:
		if ((size_t)flen != n)
			return -1;
		break;
	default:
		return -1;
	}
	if (mm_tls_sign(tk->wk, tk->lis, IPC_TLS_RSA_RAW, in, n, to, n,
	    &got) != 0 || got != n) {
		debug("TLS: the monitor did not sign: %s", strerror(errno));
		return -1;
	}
	return size;
}

/* RSA key transport: not offered (tlskey_ctx_new's cipher list). */
static int
rsa_priv_dec(int flen, const unsigned char *from, unsigned char *to,
    RSA *rsa, int padding)
{
	(void)flen;
	(void)from;
	(void)to;
	(void)rsa;
	(void)padding;
	return -1;
}

static int
ec_sign(int type, const unsigned char *dgst, int dlen, unsigned char *sig,
    unsigned int *siglen, const BIGNUM *kinv, const BIGNUM *r, EC_KEY *ec)
{
	const struct tlskey *tk = EC_KEY_get_ex_data(ec, ec_idx);
	int max = ECDSA_size(ec);
	size_t got;

	(void)type;
	/* precomputed nonces would be the monitor's business, not ours */
	if (tk == NULL || kinv != NULL || r != NULL || max <= 0 ||
	    dlen < IPC_TLS_DGST_MIN || dlen > IPC_TLS_DGST_MAX)
		return 0;
	if (mm_tls_sign(tk->wk, tk->lis, IPC_TLS_ECDSA, dgst, (size_t)dlen,
	    sig, (size_t)max, &got) != 0) {
		debug("TLS: the monitor did not sign: %s", strerror(errno));
		return 0;
	}
	*siglen = (unsigned int)got;
	return 1;
}

static ECDSA_SIG *
ec_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv,
    const BIGNUM *r, EC_KEY *ec)
{
	unsigned char der[IPC_TLS_SIGN_MAX];
	const unsigned char *p = der;
	unsigned int len;
	int max = ECDSA_size(ec);

	if (max <= 0 || max > IPC_TLS_SIGN_MAX ||
	    ec_sign(0, dgst, dlen, der, &len, kinv, r, ec) != 1)
		return NULL;
	return d2i_ECDSA_SIG(NULL, &p, (long)len);
}

static int
methods_init(void)
{
	const RSA_METHOD *def = RSA_get_default_method();

	if (rsa_meth != NULL)
		return 0;
	if ((rsa_idx = RSA_get_ex_new_index(0, NULL, NULL, NULL,
	    NULL)) == -1 ||
	    (ec_idx = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL,
	    NULL)) == -1 ||
	    (rsa_meth = RSA_meth_new("ostpd monitor RSA",
	    RSA_FLAG_EXT_PKEY)) == NULL ||
	    RSA_meth_set_pub_enc(rsa_meth, RSA_meth_get_pub_enc(def)) != 1 ||
	    RSA_meth_set_pub_dec(rsa_meth, RSA_meth_get_pub_dec(def)) != 1 ||
	    RSA_meth_set_priv_enc(rsa_meth, rsa_priv_enc) != 1 ||
	    RSA_meth_set_priv_dec(rsa_meth, rsa_priv_dec) != 1 ||
	    RSA_meth_set_bn_mod_exp(rsa_meth,
	    RSA_meth_get_bn_mod_exp(def)) != 1 ||
	    (ec_meth = EC_KEY_METHOD_new(EC_KEY_get_default_method())) ==
	    NULL) {
		RSA_meth_free(rsa_meth);
		rsa_meth = NULL;
		return -1;
	}
	EC_KEY_METHOD_set_sign(ec_meth, ec_sign, NULL, ec_sign_sig);
	return 0;
}

/*
 * The public key of cert as a key whose private operations are the
 * monitor's for listener lis.  NULL for a key type we cannot proxy.
 */
static EVP_PKEY *
proxy_key(struct tlskey *tk, X509 *cert)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert), *pk = NULL;
	BIGNUM *n = NULL, *e = NULL;
	RSA *rsa = NULL;
	EC_KEY *ec = NULL, *ecpub;

	if (pub == NULL || (pk = EVP_PKEY_new()) == NULL)
		return NULL;
	switch (EVP_PKEY_get_base_id(pub)) {
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N,
		    &n) != 1 ||
		    EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E,
		    &e) != 1 || (rsa = RSA_new()) == NULL ||
		    RSA_set_method(rsa, rsa_meth) != 1 ||
		    RSA_set0_key(rsa, n, e, NULL) != 1)
			goto fail;
		n = e = NULL;
		/* the method first: EVP_PKEY_assign marks the key foreign */
		if (RSA_set_ex_data(rsa, rsa_idx, tk) != 1 ||
		    EVP_PKEY_assign_RSA(pk, rsa) != 1)
			goto fail;
		return pk;
	case EVP_PKEY_EC:
		if ((ecpub = EVP_PKEY_get1_EC_KEY(pub)) == NULL)
			goto fail;
		ec = EC_KEY_dup(ecpub);
		EC_KEY_free(ecpub);
		if (ec == NULL || EC_KEY_set_method(ec, ec_meth) != 1 ||
		    EC_KEY_set_ex_data(ec, ec_idx, tk) != 1 ||
		    EVP_PKEY_assign_EC_KEY(pk, ec) != 1)
			goto fail;
		return pk;
	default:
		break;
	}
 fail:
	BN_free(n);
	BN_free(e);
	RSA_free(rsa);
	EC_KEY_free(ec);
	EVP_PKEY_free(pk);
	return NULL;
}

/* The monitor's memfd of PEM certificates, read whole; NULL on error. */
static char *
read_chain(int fd, size_t *lenp)
{
	char *p;
	size_t len = 0;
	ssize_t n;

	if ((p = malloc(TLSKEY_CHAIN_MAX)) == NULL)
		return NULL;
	while (len < TLSKEY_CHAIN_MAX &&
	    (n = read(fd, p + len, TLSKEY_CHAIN_MAX - len)) > 0)
		len += (size_t)n;
	if (len == 0 || len == TLSKEY_CHAIN_MAX) {
		free(p);
		return NULL;
	}
	*lenp = len;
	return p;
}

static SSL_CTX *
tlskey_ctx_new(struct worker *wk, size_t lis)
{
	const struct listener_conf *l = &wk->conf->lis[lis];
	struct tlskey *tk = NULL;
	EVP_PKEY *pk = NULL;
	SSL_CTX *ctx = NULL;
	X509 *x = NULL, *y;
	BIO *b = NULL;
	char *pem = NULL;
	size_t len = 0;
	int fd, ok = 0;
	unsigned char sid[4];

	if (methods_init() != 0) {
		error("%s: TLS: cannot set up the key methods", l->node->url);
		return NULL;
	}
	if ((fd = mm_tls_cert(wk, (uint32_t)lis)) == -1) {
		error("%s: TLS: no certificate from the monitor: %s",
		    l->node->url, strerror(errno));
		return NULL;
	}
	pem = read_chain(fd, &len);
	close(fd);
	if (pem == NULL || (b = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL ||
	    (tk = calloc(1, sizeof(*tk))) == NULL ||
	    (ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		goto out;
	tk->wk = wk;
	tk->lis = (uint32_t)lis;
	tls_ctx_common(ctx);
	/* ECDHE only: RSA key transport would need the monitor to decrypt */
	if (SSL_CTX_set_cipher_list(ctx, "DEFAULT:!kRSA") != 1 ||
	    SSL_CTX_use_certificate(ctx, x) != 1)
		goto out;
	while ((y = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		if (SSL_CTX_add0_chain_cert(ctx, y) != 1) {
			X509_free(y);
			goto out;
		}
	if ((pk = proxy_key(tk, x)) == NULL) {
		error("%s: TLS: the certificate's key is neither RSA nor "
		    "ECDSA", l->node->url);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey(ctx, pk) != 1)
		goto out;
	/* sessions resume on the listener that made them */
	sid[0] = (unsigned char)(lis >> 24);
	sid[1] = (unsigned char)(lis >> 16);
	sid[2] = (unsigned char)(lis >> 8);
	sid[3] = (unsigned char)lis;
	if (SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid)) != 1)
		goto out;
	/* ca=: mutual TLS, clients must show a certificate it signed */
	if (l->tp.ca != NULL) {
		if (tls_load_cas(wk, SSL_CTX_get_cert_store(ctx),
		    l->tp.ca) != 0)
			goto out;
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
		    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	ok = 1;
 out:
	if (!ok) {
		unsigned long e = ERR_peek_error();

		error("%s: TLS: cannot set up the listener's context%s%s",
		    l->node->url, e != 0 ? ": " : "",
		    e != 0 ? ERR_reason_error_string(e) : "");
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
	ERR_clear_error();
	/* the context holds its own references; tk lives with the key */
	EVP_PKEY_free(pk);
	if (!ok)
		free(tk);
	X509_free(x);
	BIO_free(b);
	free(pem);
	return ctx;
}

/* The server context of TLS listener lis, asked for once per worker. */
SSL_CTX *
tlskey_server_ctx(struct worker *wk, size_t lis)
{
	if (lis >= wk->conf->nlis)
		return NULL;
	if (ctxs == NULL) {
		if ((ctxs = calloc(wk->conf->nlis, sizeof(*ctxs))) == NULL)
			return NULL;
		nctxs = wk->conf->nlis;
	}
	if (lis < nctxs && ctxs[lis] == NULL)
		ctxs[lis] = tlskey_ctx_new(wk, lis);
	return lis < nctxs ? ctxs[lis] : NULL;
}
