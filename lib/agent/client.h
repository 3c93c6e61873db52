/*
 * client.h - the CLI side of the agent control API (see requests.h).
 */
#ifndef FERRY_CLIENT_H
#define FERRY_CLIENT_H

#include <json-c/json.h>
#include "util/error.h"

typedef void (*client_progress_fn)(json_object *progress, void *data);

/* Sends one request to node's agent; returns its RESULT (new reference) or
 * NULL with err.  PROGRESS frames go to on_progress (may be NULL). */
json_object *client_call(const char *node, json_object *request, client_progress_fn on_progress,
			 void *data, ferry_error_t *err);

/* The same with the agent's socket path given (Kubernetes-mode agents). */
json_object *client_call_socket(const char *node, const char *path, json_object *request,
				client_progress_fn on_progress, void *data, ferry_error_t *err);

#endif
