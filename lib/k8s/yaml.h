/*
 * yaml.h - YAML text to json-c objects (libyaml's document loader).
 *
 * Kubeconfig files are YAML (or JSON, a subset); the client only needs their
 * tree, so the first document is converted to the json-c object model that
 * the rest of ferry already uses.  Scalars stay strings except plain
 * true/false/null and plain integers.  Anchors/aliases are followed, bounded
 * in depth and in node count so hostile input cannot loop or explode.
 */
#ifndef FERRY_K8S_YAML_H
#define FERRY_K8S_YAML_H

#include <stddef.h>
#include <json-c/json.h>
#include "util/error.h"

#define YAML_MAX_DEPTH 64
#define YAML_MAX_NODES 100000

/* The first document of text as a new json-c object, or NULL with err.
 * An empty document is an error. */
json_object *yaml_to_json(const char *text, size_t len, ferry_error_t *err);

#endif
