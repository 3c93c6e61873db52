/*
 * agentcall.h - the controller's side of the agent's TCP control protocol.
 *
 * HELLO {version, node} -> HELLO_OK, then REQUEST {op: "migrate-pod", ...}
 * -> PROGRESS {phase, ...}* -> RESULT {...} | ERROR {error}.  Every byte to
 * and from the agent goes through this file (today the int-fd lib/wire API
 * over plain TCP; the lead switches it to struct wire_conn with mutual TLS by
 * changing connect_agent and the three wire_* calls here).
 */
#ifndef FERRY_CONTROLLER_AGENTCALL_H
#define FERRY_CONTROLLER_AGENTCALL_H

#include <stdint.h>
#include <json-c/json.h>
#include "util/error.h"

typedef void (*agentcall_progress_fn)(json_object *progress, void *data);

struct agentcall {
	const char *address;       /* the source node's InternalIP */
	int port;                  /* 7070 */
	const char *pki_dir;       /* controller certificate (TLS, when the lead lands it) */
	int64_t deadline_ms;       /* k8s_monotonic_ms() deadline for the whole exchange */
	agentcall_progress_fn on_progress;
	void *data;
};

/* Sends request and follows the exchange; returns RESULT's object (new
 * reference) or NULL with err (the agent's ERROR message, a timeout, or a
 * connection failure; err says which). */
json_object *agentcall_run(const struct agentcall *a, json_object *request, ferry_error_t *err);

#endif
