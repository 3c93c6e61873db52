/*
 * pki.c - see pki.h.
 */
#include "tls/pki.h"
#include "tls/sslerr.h"
#include "tls/x509make.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define CA_VALID_DAYS 3650
#define CA_NAME "ferry CA"


void pki_path(char *out, size_t size, const char *dir, const char *name, const char *ext)
{
	snprintf(out, size, "%s/%s.%s", dir, name, ext);
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return k;
}

/* Writes the key (0600, through a temporary file) and then the certificate. */
static int write_pair(const char *dir, const char *name, X509 *cert, EVP_PKEY *key,
		      ferry_error_t *err)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	const char *exts[2] = { "key", "crt" };
	for (int i = 0; i < 2; i++) {
		pki_path(path, sizeof(path), dir, name, exts[i]);
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, i == 0 ? 0600 : 0644);
		FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
		if (!f) {
			if (fd >= 0)
				close(fd);
			return ferry_error_set(err, errno, "write %s", tmp);
		}
		int ok = i == 0 ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
				: PEM_write_X509(f, cert);
		if (fclose(f) != 0 || !ok) {
			unlink(tmp);
			return ssl_error_set(err, "write certificate files");
		}
		if (rename(tmp, path) < 0)
			return ferry_error_set(err, errno, "rename %s", tmp);
	}
	return 0;
}

int pki_init(const char *dir, ferry_error_t *err)
{
	char crt[PATH_MAX], key[PATH_MAX];
	pki_path(crt, sizeof(crt), dir, "ca", "crt");
	pki_path(key, sizeof(key), dir, "ca", "key");
	if (access(crt, R_OK) == 0 && access(key, R_OK) == 0)
		return 0;
	if (fs_mkdir_p(dir, 0700, err) < 0)
		return -1;
	_cleanup_pkey_ EVP_PKEY *k = EVP_EC_gen("P-256");
	if (!k)
		return ssl_error_set(err, "generate the CA key");
	_cleanup_x509_ X509 *ca = x509make_cert(k, CA_NAME, "ca", CA_VALID_DAYS, NULL);
	if (!ca || x509make_ext(ca, ca, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") < 0 ||
	    x509make_ext(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
	    x509make_ext(ca, ca, NID_subject_key_identifier, "hash") < 0 ||
	    !X509_sign(ca, k, EVP_sha256()))
		return ssl_error_set(err, "make the CA certificate");
	if (write_pair(dir, "ca", ca, k, err) < 0)
		return -1;
	return 1;
}

static int add_leaf_exts(X509 *cert, X509 *ca, const struct pki_subject *s)
{
	char san[96];
	if (x509make_ext(cert, ca, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    x509make_ext(cert, ca, NID_key_usage, "critical,digitalSignature,keyAgreement") < 0 ||
	    x509make_ext(cert, ca, NID_ext_key_usage, "serverAuth,clientAuth") < 0 ||
	    x509make_ext(cert, ca, NID_authority_key_identifier, "keyid") < 0)
		return -1;
	if (!s->ip)
		return 0;
	snprintf(san, sizeof(san), "IP:%s", s->ip);
	return x509make_ext(cert, ca, NID_subject_alt_name, san);
}

int pki_issue(const char *dir, const struct pki_subject *s, const char *out_dir,
	      ferry_error_t *err)
{
	char crt[PATH_MAX], key[PATH_MAX];
	pki_path(crt, sizeof(crt), dir, "ca", "crt");
	pki_path(key, sizeof(key), dir, "ca", "key");
	_cleanup_x509_ X509 *ca = read_cert(crt);
	_cleanup_pkey_ EVP_PKEY *ca_key = read_key(key);
	if (!ca || !ca_key)
		return ferry_error_set(err, 0, "no CA in %s (run `ferry pki init`)", dir);
	if (!s->name[0] || strchr(s->name, '/') || strlen(s->name) > 63)
		return ferry_error_set(err, 0, "bad certificate name '%s'", s->name);
	if (strcmp(s->role, PKI_ROLE_AGENT) && strcmp(s->role, PKI_ROLE_CONTROLLER))
		return ferry_error_set(err, 0, "unknown role '%s' (agent or controller)", s->role);
	_cleanup_pkey_ EVP_PKEY *k = EVP_EC_gen("P-256");
	if (!k)
		return ssl_error_set(err, "generate a key");
	_cleanup_x509_ X509 *cert = x509make_cert(k, s->name, s->role, s->valid_days ? s->valid_days : 365, ca);
	if (!cert || add_leaf_exts(cert, ca, s) < 0 || !X509_sign(cert, ca_key, EVP_sha256()))
		return ssl_error_set(err, "make the certificate");
	if (fs_mkdir_p(out_dir, 0700, err) < 0)
		return -1;
	return write_pair(out_dir, s->name, cert, k, err);
}

static bool subject_field_is(X509 *cert, int nid, const char *want)
{
	char buf[128];
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), nid, buf, sizeof(buf)) < 0)
		return false;
	return !strcmp(buf, want);
}

bool pki_has_valid(const char *dir, const struct pki_subject *s)
{
	char path[PATH_MAX];
	pki_path(path, sizeof(path), dir, "ca", "crt");
	_cleanup_x509_ X509 *ca = read_cert(path);
	pki_path(path, sizeof(path), dir, s->name, "crt");
	_cleanup_x509_ X509 *cert = read_cert(path);
	pki_path(path, sizeof(path), dir, s->name, "key");
	if (!ca || !cert || access(path, R_OK) < 0)
		return false;
	_cleanup_pkey_ EVP_PKEY *ca_pub = X509_get_pubkey(ca);
	time_t in_a_day = time(NULL) + 86400;
	bool ok = X509_verify(cert, ca_pub) == 1 && subject_field_is(cert, NID_commonName, s->name) &&
		  subject_field_is(cert, NID_organizationalUnitName, s->role) &&
		  X509_cmp_time(X509_get0_notAfter(cert), &in_a_day) > 0 &&
		  (!s->ip || X509_check_ip_asc(cert, s->ip, 0) == 1);
	ERR_clear_error();
	return ok;
}
