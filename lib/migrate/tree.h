/*
 * tree.h - moving a container's writable layer (the overlay upper directory).
 *
 * The sender walks the tree and sends one ENTRY per directory, file, symlink,
 * device or overlay whiteout (with mode, owner and xattrs, which carry
 * overlayfs' opaque-directory markers), followed for regular files by their
 * bytes through the stream module.  The receiver recreates each entry strictly
 * beneath its root directory.
 */
#ifndef FERRY_TREE_H
#define FERRY_TREE_H

#include <stdint.h>
#include <json-c/json.h>
#include "wire/conn.h"
#include "util/error.h"

int tree_send(struct wire_conn *conn, const char *root, uint64_t *bytes, ferry_error_t *err);
/* Applies one ENTRY message under root. */
int tree_apply_entry(const char *root, json_object *entry, ferry_error_t *err);

#endif
