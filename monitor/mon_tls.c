/*
 * The private keys of TLS listeners, as OpenBSD relayd's ca process
 * keeps them: loaded by the monitor for each generation, never sent to
 * a worker.  A worker gets the certificate chain (TLS_CERT) and asks for
 * each signature (TLS_SIGN); its own key object holds the public half
 * only.
 *
 * A listener's identity is cert= and key=, else cert.pem and key.pem
 * of the directory ostpd was started in when both are there (gost),
 * else one self-signed certificate made the first time it is needed
 * and shared by every such listener for the monitor's lifetime.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "compat.h"
#include "log.h"
#include "monitor.h"

#define TLS_CHAIN_MAX	(256 * 1024)	/* PEM sent to a worker */
#define TLS_CHAIN_CERTS	16

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void
mon_tlskey_unref(struct mon_tlskey *k)
{
	if (k == NULL || --k->refs > 0)
		return;
	EVP_PKEY_free(k->key);		/* wipes the private key */
	free(k->modulus);
	free(k->chain);
	free(k);
}

/*
 * The key's half of a mon_tlskey, and the checks a worker's requests
 * are held to.  The chain is the certificates x (first) and extra.
 */
static struct mon_tlskey *
tlskey_new(EVP_PKEY *key, X509 *x, STACK_OF(X509) *extra)
{
	struct mon_tlskey *k;
	BIGNUM *n = NULL;
	BIO *b = NULL;
	BUF_MEM *bm;
	int i, sz;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	k->refs = 1;
	k->type = EVP_PKEY_get_base_id(key);
	if ((sz = EVP_PKEY_get_size(key)) <= 0 || sz > IPC_TLS_SIGN_MAX)
		goto fail;
	k->size = (size_t)sz;
	if (k->type == EVP_PKEY_RSA) {
		if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N,
		    &n) != 1 || (size_t)BN_num_bytes(n) != k->size ||
		    (k->modulus = malloc(k->size)) == NULL ||
		    BN_bn2binpad(n, k->modulus, (int)k->size) != (int)k->size)
			goto fail;
	} else if (k->type != EVP_PKEY_EC)
		goto fail;
	/* Only certificates go to the worker, whatever else the file has. */
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(b, x) != 1)
		goto fail;
	for (i = 0; extra != NULL && i < sk_X509_num(extra); i++)
		if (PEM_write_bio_X509(b, sk_X509_value(extra, i)) != 1)
			goto fail;
	BIO_get_mem_ptr(b, &bm);
	if (bm->length == 0 || bm->length > TLS_CHAIN_MAX ||
	    (k->chain = malloc(bm->length)) == NULL)
		goto fail;
	memcpy(k->chain, bm->data, bm->length);
	k->chainlen = bm->length;
	BIO_free(b);
	BN_free(n);
	k->key = key;
	return k;
 fail:
	BIO_free(b);
	BN_free(n);
	free(k->modulus);
	free(k);
	return NULL;
}

/*
 * cert (the chain, ours first) and key (PEM files) of the listener url.
 * conf.c checked them at start; they are read again here because they
 * may have changed since, so every fault gets its line again.
 */
struct mon_tlskey *
mon_tlskey_load(const char *url, const char *cert, const char *key,
    char *err, size_t errlen)
{
	struct mon_tlskey *k = NULL;
	STACK_OF(X509) *extra = NULL;
	EVP_PKEY *pk = NULL;
	X509 *x = NULL, *y;
	BIO *b = NULL;
	char *data = NULL, e[400];
	size_t len = 0;

	if ((data = conf_read_file(cert, &len, e, sizeof(e))) == NULL) {
		seterr(err, errlen, "%s: cert file %s", url, e);
		return NULL;
	}
	if ((b = BIO_new_mem_buf(data, (int)len)) == NULL ||
	    (extra = sk_X509_new_null()) == NULL)
		goto oom;
	if ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL) {
		seterr(err, errlen, "%s: cert file %s: no PEM certificate in "
		    "it", url, cert);
		goto out;
	}
	while ((y = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_num(extra) >= TLS_CHAIN_CERTS ||
		    sk_X509_push(extra, y) == 0) {
			X509_free(y);
			seterr(err, errlen, "%s: cert file %s: more than %d "
			    "certificates", url, cert, TLS_CHAIN_CERTS + 1);
			goto out;
		}
	}
	BIO_free(b);
	b = NULL;
	freezero(data, len);
	if ((data = conf_read_file(key, &len, e, sizeof(e))) == NULL) {
		seterr(err, errlen, "%s: key file %s", url, e);
		goto out;
	}
	if ((b = BIO_new_mem_buf(data, (int)len)) == NULL)
		goto oom;
	if ((pk = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"")) ==
	    NULL) {
		seterr(err, errlen, "%s: key file %s: no unencrypted PEM "
		    "private key in it", url, key);
		goto out;
	}
	if (!conf_tls_key_supported(pk)) {
		seterr(err, errlen, "%s: key file %s: %s keys are not "
		    "supported (only RSA and ECDSA)", url, key,
		    EVP_PKEY_get0_type_name(pk));
		goto out;
	}
	if (X509_check_private_key(x, pk) != 1) {
		seterr(err, errlen, "%s: key file %s does not belong to the "
		    "certificate in %s", url, key, cert);
		goto out;
	}
	if ((k = tlskey_new(pk, x, extra)) == NULL) {
		seterr(err, errlen, "%s: key file %s: cannot use this key",
		    url, key);
		goto out;
	}
	pk = NULL;
	goto out;
 oom:
	seterr(err, errlen, "%s: out of memory", url);
 out:
	ERR_clear_error();
	EVP_PKEY_free(pk);
	X509_free(x);
	sk_X509_pop_free(extra, X509_free);
	BIO_free(b);
	if (data != NULL)
		freezero(data, len);
	return k;
}

/*
 * The default identity: a P-256 key and a self-signed certificate for
 * a year, CN "ostpd".  Clients can pin it by the fingerprint logged.
 */
static struct mon_tlskey *
tlskey_selfsigned(void)
{
	struct mon_tlskey *k = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	char fp[EVP_MAX_MD_SIZE * 3 + 1];
	unsigned int mdlen = 0, i;
	EVP_PKEY *key;
	X509 *x = NULL;
	BIGNUM *serial = NULL;

	if ((key = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL ||
	    (serial = BN_new()) == NULL ||
	    BN_rand(serial, 64, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1 ||
	    BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400) == NULL ||
	    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)"ostpd", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 ||
	    X509_set_pubkey(x, key) != 1 ||
	    X509_sign(x, key, EVP_sha256()) == 0 ||
	    X509_digest(x, EVP_sha256(), md, &mdlen) != 1 ||
	    (k = tlskey_new(key, x, NULL)) == NULL) {
		EVP_PKEY_free(key);
		goto out;
	}
	for (i = 0; i < mdlen; i++)
		snprintf(fp + i * 3, sizeof(fp) - i * 3, "%02X%s", md[i],
		    i + 1 < mdlen ? ":" : "");
	logit("TLS listeners without a certificate use a self-signed one "
	    "made now (CN ostpd, valid 1 year), SHA-256 fingerprint %s", fp);
 out:
	ERR_clear_error();
	BN_free(serial);
	X509_free(x);
	return k;
}

/* cert.pem and key.pem in the start directory, when both are there. */
static int
start_dir_files(const struct monitor *mon, char *cert, char *key,
    size_t len)
{
	struct stat st;
	int a, b;

	if (mon->start_dir == NULL)
		return 0;
	a = snprintf(cert, len, "%s/cert.pem", mon->start_dir);
	b = snprintf(key, len, "%s/key.pem", mon->start_dir);
	if (a < 0 || (size_t)a >= len || b < 0 || (size_t)b >= len)
		return 0;
	return stat(cert, &st) == 0 && stat(key, &st) == 0;
}

/* Every TLS listener of g gets its identity; 0, or -1 and err. */
int
mon_tls_load(struct monitor *mon, struct mon_gen *g, char *err,
    size_t errlen)
{
	const struct listener_conf *l;
	struct mon_tlskey *cwd = NULL, *k;
	char cert[PATH_MAX], key[PATH_MAX];
	size_t i;
	int have_cwd = -1, r = -1;

	if ((g->tls = calloc(g->conf.nlis + 1, sizeof(*g->tls))) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < g->conf.nlis; i++) {
		l = &g->conf.lis[i];
		if (!conf_tp_tls(&l->tp))
			continue;
		if (l->tp.cert != NULL) {
			if ((k = mon_tlskey_load(l->node->url, l->tp.cert,
			    l->tp.key, err, errlen)) == NULL)
				goto out;
			g->tls[i] = k;
			continue;
		}
		if (have_cwd == -1)
			have_cwd = start_dir_files(mon, cert, key,
			    sizeof(cert));
		if (have_cwd) {
			if (cwd == NULL && (cwd = mon_tlskey_load(l->node->url,
			    cert, key, err, errlen)) == NULL)
				goto out;
			k = cwd;
		} else {
			if (mon->tls_default == NULL &&
			    (mon->tls_default = tlskey_selfsigned()) == NULL) {
				seterr(err, errlen, "%s: cannot make a "
				    "certificate", l->node->url);
				goto out;
			}
			k = mon->tls_default;
		}
		k->refs++;
		g->tls[i] = k;
	}
	r = 0;
 out:
	/* the listeners hold their own references (gen_free drops them) */
	mon_tlskey_unref(cwd);
	return r;
}

void
mon_tls_free(struct mon_gen *g)
{
	size_t i;

	if (g->tls == NULL)
		return;
	for (i = 0; i < g->conf.nlis; i++)
		mon_tlskey_unref(g->tls[i]);
	free(g->tls);
	g->tls = NULL;
}

/*
 * The chain for a worker: a memfd sealed against change, rewound, so
 * the worker reads it with plain read(2).  -1 with errno on failure.
 */
int
mon_tls_chain_fd(const struct mon_tlskey *k)
{
	size_t off;
	ssize_t n;
	int fd, e;

	if ((fd = memfd_create("ostpd-tls-chain", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1)
		return -1;
	for (off = 0; off < k->chainlen; off += (size_t)n)
		if ((n = write(fd, k->chain + off, k->chainlen - off)) <= 0)
			goto fail;
	if (lseek(fd, 0, SEEK_SET) == -1 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1)
		goto fail;
	return fd;
 fail:
	e = errno != 0 ? errno : EIO;
	close(fd);
	errno = e;
	return -1;
}

/*
 * One private-key operation for a worker.  -1: the request is not one
 * a worker of ours makes (wrong operation for the key, bad input): the
 * caller kills the worker.  0: answered, with *status 0 and the result
 * in out (IPC_TLS_SIGN_MAX bytes), or an errno value.
 */
int
mon_tls_sign(const struct mon_tlskey *k, int op, const unsigned char *in,
    size_t inlen, unsigned char *out, size_t *outlen, int *status)
{
	EVP_PKEY_CTX *ctx;
	size_t n = IPC_TLS_SIGN_MAX;
	int ok;

	switch (op) {
	case IPC_TLS_RSA_RAW:
		/* the raw operation on anything else would be a new oracle */
		if (k->type != EVP_PKEY_RSA || inlen != k->size ||
		    memcmp(in, k->modulus, k->size) >= 0)
			return -1;
		break;
	case IPC_TLS_ECDSA:
		if (k->type != EVP_PKEY_EC || inlen < IPC_TLS_DGST_MIN ||
		    inlen > IPC_TLS_DGST_MAX)
			return -1;
		break;
	default:
		return -1;
	}
	ok = (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->key, NULL)) != NULL &&
	    EVP_PKEY_sign_init(ctx) == 1 &&
	    (op != IPC_TLS_RSA_RAW ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1) &&
	    EVP_PKEY_sign(ctx, out, &n, in, inlen) == 1 && n > 0 &&
	    n <= IPC_TLS_SIGN_MAX;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		const char *why = ERR_reason_error_string(ERR_peek_error());

		error("TLS: a private-key operation failed: %s",
		    why != NULL ? why : "unknown error");
		ERR_clear_error();
		*status = EIO;
		return 0;
	}
	*outlen = n;
	*status = 0;
	return 0;
}
