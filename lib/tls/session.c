/*
 * session.c - see session.h.
 */
#include "tls/session.h"
#include "tls/pki.h"
#include "tls/sslerr.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/x509.h>

SSL_CTX *tls_context_new(const char *dir, const char *name, ferry_error_t *err)
{
	char ca[PATH_MAX], crt[PATH_MAX], key[PATH_MAX];
	pki_path(ca, sizeof(ca), dir, "ca", "crt");
	pki_path(crt, sizeof(crt), dir, name, "crt");
	pki_path(key, sizeof(key), dir, name, "key");
	SSL_CTX *ctx = SSL_CTX_new(TLS_method());
	if (!ctx) {
		ssl_error_set(err, "TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	/* no resumption: every connection proves its certificate again, and no
	 * post-handshake ticket message sits in the stream */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
	/* a peer that dies sends no close_notify: report that as the end of the
	 * stream ("connection closed"); frames carry their lengths, so a cut
	 * inside one is still caught as a truncated frame */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		ssl_error_set(err, ca);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, crt) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ssl_error_set(err, crt);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	ferry_error_prefix(err, "load TLS identity '%s' from %s", name, dir);
	return NULL;
}

void tls_context_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

static void read_identity(SSL *ssl, struct wire_conn *c)
{
	X509 *peer = SSL_get0_peer_certificate(ssl);
	X509_NAME *n = peer ? X509_get_subject_name(peer) : NULL;
	c->peer_name[0] = c->peer_role[0] = '\0';
	if (!n)
		return;
	if (X509_NAME_get_text_by_NID(n, NID_commonName, c->peer_name, sizeof(c->peer_name)) < 0)
		c->peer_name[0] = '\0';
	if (X509_NAME_get_text_by_NID(n, NID_organizationalUnitName, c->peer_role,
				      sizeof(c->peer_role)) < 0)
		c->peer_role[0] = '\0';
}

static int handshake(SSL_CTX *ctx, int fd, bool server, struct wire_conn *c, ferry_error_t *err)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		return ssl_error_set(err, "TLS session");
	}
	errno = 0;
	int rc = server ? SSL_accept(ssl) : SSL_connect(ssl);
	if (rc != 1) {
		long v = SSL_get_verify_result(ssl);
		if (v != X509_V_OK)
			ferry_error_set(err, 0, "TLS handshake: peer certificate rejected: %s",
					X509_verify_cert_error_string(v));
		else
			ssl_error_set(err, "TLS handshake");
		ERR_clear_error();
		SSL_free(ssl);
		return -1;
	}
	wire_conn_init_plain(c, fd);
	c->ssl = ssl;
	read_identity(ssl, c);
	return 0;
}

int tls_accept(SSL_CTX *ctx, int fd, struct wire_conn *c, ferry_error_t *err)
{
	if (handshake(ctx, fd, true, c, err) < 0)
		return -1;
	if (strcmp(c->peer_role, PKI_ROLE_AGENT) && strcmp(c->peer_role, PKI_ROLE_CONTROLLER)) {
		ferry_error_set(err, 0, "peer certificate has no ferry role (OU '%s')", c->peer_role);
		SSL_free(c->ssl);
		c->ssl = NULL;
		return -1;
	}
	return 0;
}

int tls_connect(SSL_CTX *ctx, int fd, const char *expect_name, const char *expect_role,
		struct wire_conn *c, ferry_error_t *err)
{
	if (handshake(ctx, fd, false, c, err) < 0)
		return -1;
	if ((expect_name && strcmp(c->peer_name, expect_name)) ||
	    (expect_role && strcmp(c->peer_role, expect_role))) {
		ferry_error_set(err, 0, "peer presented the certificate of %s '%s', not %s '%s'",
				c->peer_role, c->peer_name, expect_role ? expect_role : "any role",
				expect_name ? expect_name : "");
		SSL_free(c->ssl);
		c->ssl = NULL;
		return -1;
	}
	return 0;
}
