/*
 * webhook.h - the controller's mutating admission webhook for pods, as pure
 * functions over JSON (the HTTPS server around them is webhookserver.h).
 *
 * A StatefulSet pod keeps its name when it migrates, so its target pod
 * cannot exist while the source does: the controller deletes the source
 * once the checkpoint is staged on the target node, the StatefulSet
 * controller re-creates the pod, and this webhook, called by the API server
 * on that CREATE (AdmissionReview admission.k8s.io/v1), binds it to the
 * target node and gives it the annotations of a restore pod
 * (ferry.dev/restore, pod-ip, migration, source-pod), so ferry-runc there
 * restores the staged checkpoint instead of starting the image afresh.
 * Every other pod is allowed unchanged.
 */
#ifndef FERRY_CONTROLLER_WEBHOOK_H
#define FERRY_CONTROLLER_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include "controller/handover.h"
#include "util/error.h"

#define WEBHOOK_CONFIG_NAME "ferry-controller"
#define WEBHOOK_NAME "pods.ferry.dev"
#define WEBHOOK_PATH "/mutate-pods"
#define WEBHOOK_STS_LABEL "statefulset.kubernetes.io/pod-name"
#define WEBHOOK_TIMEOUT_SECONDS 5

/* The entry for ns/pod, if any (handover_get, or a test's table). */
typedef bool (*webhook_lookup_fn)(const char *ns, const char *pod, struct handover *out,
				  void *data);

/* The RFC 6902 JSON Patch that turns pod (the object being created) into
 * the target pod of h: spec.nodeName = h->node, no scheduling gates, the
 * four restore annotations.  A new array. */
json_object *webhook_patch(json_object *pod, const struct handover *h);

/* The AdmissionReview answering review (a request from the API server): the
 * same uid, allowed, and for a pod CREATE with a hand-over entry the patch
 * above (patchType JSONPatch, base64).  what gets one line for the log
 * ("" when the pod was left alone).  NULL with err if review is not an
 * AdmissionReview v1 request. */
json_object *webhook_review(json_object *review, webhook_lookup_fn lookup, void *data,
			    char *what, size_t what_size, ferry_error_t *err);

/* https://IP:PORT/mutate-pods (IPv6 in brackets). */
int webhook_url(const char *ip, int port, char *out, size_t size, ferry_error_t *err);

/* The MutatingWebhookConfiguration WEBHOOK_CONFIG_NAME: pod CREATE, pods
 * labelled WEBHOOK_STS_LABEL only, failurePolicy Ignore, sideEffects None,
 * served at url with ca_pem as caBundle. */
json_object *webhook_configuration(const char *url, const char *ca_pem);

#endif
