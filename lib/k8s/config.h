/*
 * config.h - how to reach a Kubernetes API server: kubeconfig or in-cluster.
 *
 * The client needs a server URL, the CA to verify it, and one credential: a
 * client certificate + key or a bearer token (or a token file, re-read on
 * every request because projected service-account tokens rotate).  PEM
 * material is held in memory (kubeconfig *-data fields are base64; file
 * references are read at load time, relative to the kubeconfig's folder),
 * so libcurl gets it as blobs and nothing is written to disk.
 */
#ifndef FERRY_K8S_CONFIG_H
#define FERRY_K8S_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include "util/error.h"

#define K8S_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct k8s_blob {
	char *data;
	size_t len;
};

struct k8s_config {
	char *server;           /* https://host:port, no trailing slash */
	struct k8s_blob ca;     /* PEM; empty = system CAs */
	struct k8s_blob cert;   /* PEM client certificate */
	struct k8s_blob key;    /* PEM client key */
	char *token;            /* static bearer token */
	char *token_file;       /* re-read per request when set */
	char *namespace;        /* the context's namespace, or the pod's; "default" otherwise */
	bool insecure;          /* insecure-skip-tls-verify */
};

/* Loads, in this order: `path` if not NULL, $KUBECONFIG (first entry), the
 * in-cluster service account when KUBERNETES_SERVICE_HOST is set, then
 * ~/.kube/config. */
int k8s_config_load(struct k8s_config *c, const char *path, ferry_error_t *err);
/* Parses kubeconfig text (YAML or JSON); file references resolve against
 * base_dir. Uses current-context, or `context` when not NULL. */
int k8s_config_parse_kubeconfig(struct k8s_config *c, const char *text, size_t len,
				const char *base_dir, const char *context, ferry_error_t *err);
/* In-cluster config: host/port from the environment, CA, token and
 * namespace from sa_dir (K8S_SA_DIR normally). */
int k8s_config_in_cluster(struct k8s_config *c, const char *sa_dir, ferry_error_t *err);
void k8s_config_free(struct k8s_config *c);

/* Standard base64 (padding optional, whitespace skipped) into a new
 * NUL-terminated buffer; -1 with err on a bad character. */
int k8s_base64_decode(const char *in, size_t len, struct k8s_blob *out, ferry_error_t *err);

#endif
