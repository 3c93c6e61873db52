/*
 * client.h - requests to the Kubernetes API server (libcurl + json-c).
 *
 * One struct k8s_client per process holds the connection settings; every
 * call makes its own curl handle, so threads (the controller runs one per
 * migration) can call concurrently.  A non-2xx answer becomes an error whose
 * message is the API's Status message ("pods \"x\" not found"); the HTTP
 * status is returned through `status` (0 when the server was not reached).
 * Only this file and watch.c speak HTTP.
 */
#ifndef FERRY_K8S_CLIENT_H
#define FERRY_K8S_CLIENT_H

#include <stdbool.h>
#include <json-c/json.h>
#include "k8s/config.h"
#include "util/error.h"

struct k8s_client {
	struct k8s_config cfg;
	long timeout_ms;        /* whole-request timeout of non-watch calls */
};

#define K8S_MERGE_PATCH "application/merge-patch+json"
#define K8S_JSON "application/json"

int k8s_client_init(struct k8s_client *c, const char *kubeconfig, ferry_error_t *err);
void k8s_client_free(struct k8s_client *c);

/* One request; body may be NULL.  Returns the parsed answer (new reference;
 * an empty body gives an empty object) or NULL with err.  status may be NULL. */
json_object *k8s_request(struct k8s_client *c, const char *method, const char *path,
			 json_object *body, const char *content_type, long *status,
			 ferry_error_t *err);

json_object *k8s_get(struct k8s_client *c, const char *path, long *status, ferry_error_t *err);
json_object *k8s_create(struct k8s_client *c, const char *path, json_object *obj, long *status,
			ferry_error_t *err);
json_object *k8s_replace(struct k8s_client *c, const char *path, json_object *obj, long *status,
			 ferry_error_t *err);
/* JSON merge patch (RFC 7386); for the status subresource pass ".../status". */
json_object *k8s_merge_patch(struct k8s_client *c, const char *path, json_object *patch,
			     long *status, ferry_error_t *err);
/* DELETE with gracePeriodSeconds (-1: the object's default). 404 counts as done. */
int k8s_delete(struct k8s_client *c, const char *path, int grace_seconds, ferry_error_t *err);

/* Helpers for the handful of paths ferry builds (NULL namespace = cluster
 * scoped or all namespaces). */
int k8s_path(char *out, size_t size, const char *group_version, const char *ns,
	     const char *resource, const char *name);
/* query-string escaping of a value (labelSelector, fieldSelector) */
char *k8s_escape(const char *s);

/* Internal, shared with watch.c: applies TLS and auth settings to a handle. */
struct curl_slist;
int k8s_setup_handle(struct k8s_client *c, void *curl, struct curl_slist **headers,
		     ferry_error_t *err);

#endif
