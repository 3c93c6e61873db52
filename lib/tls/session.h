/*
 * session.h - mutual TLS for ferry's TCP connections.
 *
 * Every agent (and the controller) loads one context from its PKI directory:
 * the CA it trusts and its own certificate.  Both sides of every connection
 * present a certificate and verify the other's against the CA, TLS 1.3 only,
 * before a single frame is read: a peer without a valid certificate never
 * reaches the protocol code.  After the handshake the connection knows the
 * peer's name (CN) and role (OU); callers decide what that peer may do.
 */
#ifndef FERRY_TLS_SESSION_H
#define FERRY_TLS_SESSION_H

#include <openssl/ssl.h>
#include "util/error.h"
#include "wire/conn.h"

/* Loads dir/ca.crt and dir/NAME.{crt,key}. */
SSL_CTX *tls_context_new(const char *pki_dir, const char *name, ferry_error_t *err);
void tls_context_free(SSL_CTX *ctx);
/* Server side of the handshake over fd; on success c owns fd and the session. */
int tls_accept(SSL_CTX *ctx, int fd, struct wire_conn *c, ferry_error_t *err);
/* Client side; the server's certificate must name expect_name with
 * expect_role (either may be NULL to accept any). */
int tls_connect(SSL_CTX *ctx, int fd, const char *expect_name, const char *expect_role,
		struct wire_conn *c, ferry_error_t *err);

#endif
