/*
 * events.h - core/v1 Events about an object (stable since Kubernetes 1.0).
 *
 * `kubectl describe pod` shows these; ferry records the start, the end and
 * any refusal of a migration on the pods involved.  Best effort: a failure
 * to record an event is logged, never fails a migration.
 */
#ifndef FERRY_K8S_EVENTS_H
#define FERRY_K8S_EVENTS_H

#include <json-c/json.h>
#include "k8s/client.h"

/* obj is the involved object (its kind, apiVersion, metadata name, namespace,
 * uid are copied); type "Normal" or "Warning". */
void k8s_event(struct k8s_client *c, json_object *obj, const char *type, const char *reason,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
