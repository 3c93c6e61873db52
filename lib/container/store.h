/*
 * store.h - a node's container records (CONTAINER_DIR/container.json).
 *
 * The record is the container's spec as the user gave it (name, image, args,
 * env, cwd) plus where it lives (node, ip).  It is what a migration sends to
 * the target, which writes its own copy once it owns the container.
 */
#ifndef FERRY_STORE_H
#define FERRY_STORE_H

#include <json-c/json.h>
#include "util/error.h"

int store_save(const char *node, json_object *record, ferry_error_t *err);
/* NULL with err (errno_value ENOENT) when the node has no such container. */
json_object *store_load(const char *node, const char *name, ferry_error_t *err);
/* Names of the containers with a record on the node, as a JSON array. */
json_object *store_list(const char *node);
/* Validates a record received from elsewhere: required fields and types. */
int store_validate_record(json_object *record, ferry_error_t *err);
/* Convenience accessor: the string field or "" */
const char *record_str(json_object *record, const char *key);

#endif
