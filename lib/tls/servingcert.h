/*
 * servingcert.h - a TLS serving certificate made in memory, for a server
 * whose clients are told what to trust out of band (the controller's
 * admission webhook: the API server trusts the caBundle of the
 * MutatingWebhookConfiguration the controller writes).
 *
 * A throwaway CA (ECDSA P-256, CN "ferry webhook CA") signs one server
 * certificate for an IP address (SAN IP:<ip>, serverAuth).  Nothing touches
 * the disk: the controller makes a new pair every time it starts.
 */
#ifndef FERRY_TLS_SERVINGCERT_H
#define FERRY_TLS_SERVINGCERT_H

#include "util/error.h"

struct serving_cert {
	char *ca_pem;    /* the CA certificate: what clients trust */
	char *cert_pem;  /* the server certificate */
	char *key_pem;   /* its private key (PKCS#8 PEM) */
};

/* Makes the pair for ip (an IPv4 or IPv6 address), valid for days days. */
int serving_cert_make(const char *ip, int days, struct serving_cert *out, ferry_error_t *err);
void serving_cert_free(struct serving_cert *c);

#endif
