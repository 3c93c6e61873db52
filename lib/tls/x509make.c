/*
 * x509make.c - see x509make.h.
 */
#include "tls/x509make.h"

#include <openssl/bn.h>
#include <openssl/x509v3.h>

int x509make_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	int ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static int set_serial(X509 *cert)
{
	BIGNUM *bn = BN_new();
	int ok = bn && BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
		 BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
	BN_free(bn);
	return ok ? 0 : -1;
}

static int set_name(X509 *cert, const char *cn, const char *ou)
{
	X509_NAME *n = X509_get_subject_name(cert);
	if (!X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"ferry", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_UTF8, (const unsigned char *)ou, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0))
		return -1;
	return 0;
}

X509 *x509make_cert(EVP_PKEY *key, const char *cn, const char *ou, int days, X509 *issuer)
{
	X509 *cert = X509_new();
	if (!cert || !X509_set_version(cert, 2) || set_serial(cert) < 0 ||
	    !X509_gmtime_adj(X509_getm_notBefore(cert), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400) ||
	    !X509_set_pubkey(cert, key) || set_name(cert, cn, ou) < 0 ||
	    !X509_set_issuer_name(cert, X509_get_subject_name(issuer ? issuer : cert))) {
		X509_free(cert);
		return NULL;
	}
	return cert;
}
