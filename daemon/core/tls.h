/* TLS as a connection layer (tls.c) and the contexts of its nodes. */
#ifndef OSTP_TLS_H
#define OSTP_TLS_H

#include <openssl/ssl.h>

struct conn;
struct tp_conf;
struct worker;

int		 tls_init(void);
void		 tls_ctx_common(SSL_CTX *);
/* gost's SOCKS5 TLS methods: no verification, a throwaway identity. */
struct conn	*tls_client_push(struct conn *, const char *sni);
struct conn	*tls_server_push(struct conn *);
/* A chain node's TLS; verify: check sni against the certificate. */
struct conn	*tls_client_push_ctx(struct conn *, SSL_CTX *, const char *sni,
		    int verify);
struct conn	*tls_server_push_ctx(struct conn *, SSL_CTX *);
SSL_CTX		*tls_client_ctx(struct worker *, const struct tp_conf *);
int		 tls_load_cas(struct worker *, X509_STORE *, const char *path);
/* The certificate's fault, when a handshake on c failed; else NULL. */
const char	*tls_verify_error(const struct conn *);
/* ALPN (the h2 transport): offer proto; what was chosen; h2 only. */
int		 tls_set_alpn(struct conn *, const char *proto);
int		 tls_alpn_is(const struct conn *, const char *proto);
void		 tls_ctx_alpn_h2(SSL_CTX *);
/* h2 when offered, else http/1.1, else no ALPN (gost's http2 server). */
void		 tls_ctx_alpn_h2_http1(SSL_CTX *);

/*
 * tlskey.c: a TLS listener's context.  Its certificate comes from the
 * monitor, which keeps the private key and signs for the worker.
 */
SSL_CTX		*tlskey_server_ctx(struct worker *, size_t lis);
SSL_CTX		*tls_selfsigned_ctx_get(void);

#endif
