/*
 * pki.h - ferry's small certificate authority.
 *
 * Agents and the controller prove who they are with certificates signed by
 * one CA per installation: `ferry sandbox up` makes it for the sandbox, the
 * cluster install makes it once and keeps it in a Secret.  A certificate
 * names its holder in CN (a node name, or "controller") and its role in OU
 * ("agent" or "controller"); an agent's certificate also carries its node
 * address as an IP SAN, which CRIU's page server TLS checks.
 *
 * Layout of a PKI directory: ca.crt, ca.key (0600), NAME.crt, NAME.key (0600).
 * Keys are ECDSA P-256; signatures SHA-256.
 */
#ifndef FERRY_TLS_PKI_H
#define FERRY_TLS_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include "util/error.h"

#define PKI_ROLE_AGENT "agent"
#define PKI_ROLE_CONTROLLER "controller"

struct pki_subject {
	const char *name;     /* CN: node name or "controller" */
	const char *role;     /* OU: PKI_ROLE_* */
	const char *ip;       /* optional IPv4/IPv6 SAN */
	int valid_days;
};

/* Creates dir/ca.{crt,key} unless they exist.  Returns 1 if created, 0 if
 * already there, -1 on error. */
int pki_init(const char *dir, ferry_error_t *err);
/* Issues out_dir/NAME.{crt,key} signed by dir's CA (overwrites). */
int pki_issue(const char *dir, const struct pki_subject *subject, const char *out_dir,
	      ferry_error_t *err);
/* True if dir/NAME.crt exists, is signed by dir/ca.crt, has the role and IP
 * asked for and is valid for at least another day. */
bool pki_has_valid(const char *dir, const struct pki_subject *subject);
/* Paths of the files in a PKI directory. */
void pki_path(char *out, size_t size, const char *dir, const char *name, const char *ext);

#endif
