/*
 * servingcert.c - see servingcert.h.
 */
#include "tls/servingcert.h"
#include "tls/sslerr.h"
#include "tls/x509make.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static char *bio_text(BIO *b)
{
	char *data;
	long n = BIO_get_mem_data(b, &data);
	char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (s) {
		memcpy(s, data, (size_t)n);
		s[n] = 0;
	}
	return s;
}

static char *cert_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = b && PEM_write_bio_X509(b, x) ? bio_text(b) : NULL;
	BIO_free(b);
	return s;
}

static char *key_pem(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) ? bio_text(b)
										 : NULL;
	BIO_free(b);
	return s;
}

int serving_cert_make(const char *ip, int days, struct serving_cert *out, ferry_error_t *err)
{
	unsigned char bin[16];
	char san[80];
	memset(out, 0, sizeof(*out));
	if (!ip || (inet_pton(AF_INET, ip, bin) != 1 && inet_pton(AF_INET6, ip, bin) != 1))
		return ferry_error_set(err, 0, "\"%s\" is not an IP address", ip ? ip : "");
	snprintf(san, sizeof(san), "IP:%s", ip);
	_cleanup_pkey_ EVP_PKEY *ca_key = EVP_EC_gen("P-256");
	_cleanup_pkey_ EVP_PKEY *key = EVP_EC_gen("P-256");
	if (!ca_key || !key)
		return ssl_error_set(err, "generate the webhook keys");
	_cleanup_x509_ X509 *ca = x509make_cert(ca_key, "ferry webhook CA", "webhook", days, NULL);
	if (!ca || x509make_ext(ca, ca, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") < 0 ||
	    x509make_ext(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
	    x509make_ext(ca, ca, NID_subject_key_identifier, "hash") < 0 ||
	    !X509_sign(ca, ca_key, EVP_sha256()))
		return ssl_error_set(err, "make the webhook CA");
	_cleanup_x509_ X509 *cert = x509make_cert(key, ip, "webhook", days, ca);
	if (!cert || x509make_ext(cert, ca, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    x509make_ext(cert, ca, NID_key_usage, "critical,digitalSignature") < 0 ||
	    x509make_ext(cert, ca, NID_ext_key_usage, "serverAuth") < 0 ||
	    x509make_ext(cert, ca, NID_authority_key_identifier, "keyid") < 0 ||
	    x509make_ext(cert, ca, NID_subject_alt_name, san) < 0 ||
	    !X509_sign(cert, ca_key, EVP_sha256()))
		return ssl_error_set(err, "make the webhook certificate");
	out->ca_pem = cert_pem(ca);
	out->cert_pem = cert_pem(cert);
	out->key_pem = key_pem(key);
	if (!out->ca_pem || !out->cert_pem || !out->key_pem) {
		serving_cert_free(out);
		return ssl_error_set(err, "encode the webhook certificate");
	}
	return 0;
}

void serving_cert_free(struct serving_cert *c)
{
	free(c->ca_pem);
	free(c->cert_pem);
	free(c->key_pem);
	memset(c, 0, sizeof(*c));
}
