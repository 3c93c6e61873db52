/*
 * agentcall.h - the controller's side of the agent's TCP control protocol.
 *
 * HELLO {version, node} -> HELLO_OK, then REQUEST {op: "migrate-pod", ...}
 * -> PROGRESS {phase, ...}* -> RESULT {...} | ERROR {error}, over mutual TLS
 * (lib/tls): the controller presents its certificate (CN "controller", OU
 * controller), and accepts only the source node's agent certificate (CN =
 * the node's name, OU agent).  Every byte to and from the agent goes
 * through this file.
 */
#ifndef FERRY_CONTROLLER_AGENTCALL_H
#define FERRY_CONTROLLER_AGENTCALL_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include <openssl/ssl.h>
#include "util/error.h"

typedef void (*agentcall_progress_fn)(json_object *progress, void *data);

#define AGENTCALL_CERT_NAME "controller"

struct agentcall {
	const char *address;       /* the source node's InternalIP */
	int port;                  /* 7070 */
	SSL_CTX *tls;              /* tls_context_new(pki, AGENTCALL_CERT_NAME) */
	const char *node;          /* the source node: its agent's certificate CN */
	int64_t deadline_ms;       /* k8s_monotonic_ms() deadline for the whole exchange */
	agentcall_progress_fn on_progress;
	void *data;
	bool *agent_error;         /* optional: set when the agent itself answered ERROR */
};

/* Sends request and follows the exchange; returns RESULT's object (new
 * reference) or NULL with err (the agent's ERROR message, a timeout, or a
 * connection failure; err says which). */
json_object *agentcall_run(const struct agentcall *a, json_object *request, ferry_error_t *err);

#endif
