/*
 * x509make.h - the few X.509 building blocks lib/tls needs: a certificate
 * skeleton (serial, validity, subject O=ferry/OU/CN, issuer) and one v3
 * extension at a time.  Shared by the installation's CA (pki.c) and the
 * controller's in-memory webhook certificate (servingcert.c).
 */
#ifndef FERRY_TLS_X509MAKE_H
#define FERRY_TLS_X509MAKE_H

#include <openssl/evp.h>
#include <openssl/x509.h>

/* An unsigned certificate for key, valid from an hour ago for days days,
 * subject O=ferry, OU=ou, CN=cn, issued by issuer (by itself when NULL).
 * NULL on failure (OpenSSL's error queue says why). */
X509 *x509make_cert(EVP_PKEY *key, const char *cn, const char *ou, int days, X509 *issuer);
/* Adds extension nid with value in openssl's config syntax; -1 on failure. */
int x509make_ext(X509 *cert, X509 *issuer, int nid, const char *value);

static inline void x509make_free_cert(X509 **x) { X509_free(*x); }
static inline void x509make_free_key(EVP_PKEY **k) { EVP_PKEY_free(*k); }
#define _cleanup_x509_ __attribute__((cleanup(x509make_free_cert)))
#define _cleanup_pkey_ __attribute__((cleanup(x509make_free_key)))

#endif
