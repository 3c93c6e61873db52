/*
 * object.h - reading and building Kubernetes objects held as json-c trees.
 *
 * Paths are dotted field names ("metadata.name", "spec.nodeName"); a missing
 * field reads as NULL / the default, never crashes.  Pure helpers, unit
 * tested.
 */
#ifndef FERRY_K8S_OBJECT_H
#define FERRY_K8S_OBJECT_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

json_object *k8s_at(json_object *obj, const char *dotted);
/* metadata.annotations[key] / metadata.labels[key] (keys contain dots) */
const char *k8s_annotation(json_object *obj, const char *key);
const char *k8s_label(json_object *obj, const char *key);
/* string at path, NULL if absent or not a string */
const char *k8s_str(json_object *obj, const char *dotted);
int64_t k8s_int(json_object *obj, const char *dotted, int64_t def);
/* The object at path, creating empty objects on the way. */
json_object *k8s_ensure(json_object *obj, const char *dotted);
void k8s_set_str(json_object *obj, const char *dotted, const char *value);

/* Parses a resource quantity ("100m", "1.5Gi", "2", "1e3", "512Mi") into
 * milli-units (cpu) or units times 1000 (memory: bytes*1000).  Returns -1 on
 * a malformed or overflowing quantity. */
int k8s_quantity_milli(const char *q, int64_t *out);

/* metav1.LabelSelector matching against a labels object: matchLabels and
 * matchExpressions (In, NotIn, Exists, DoesNotExist).  An empty selector
 * matches everything; a malformed one matches nothing. */
bool k8s_selector_matches(json_object *selector, json_object *labels);

/* A DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters. */
bool k8s_is_dns_label(const char *s);
/* A DNS-1123 subdomain (object names): at most 253, labels separated by '.'. */
bool k8s_is_dns_subdomain(const char *s);

#endif
