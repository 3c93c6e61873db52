/*
 * source.h - the source side of a migration (stop-and-copy).
 *
 * Phases, each recorded in the report:
 *   connect   reach the target agent, HELLO
 *   prepare   target builds the pod's network namespace (same IP), bundle
 *   freeze    runc pause + drop all pod traffic (nothing is ACKed or RST)
 *   dump      runc checkpoint --leave-running into tmpfs; the image files are
 *             streamed to the target while CRIU writes them
 *   rootfs    the overlay upper layer and the container log
 *   restore   target mounts the layer and runs `runc restore`
 *   commit    the host route for the pod IP moves to the target (COMMIT POINT)
 *   cleanup   the frozen source container and its namespace are removed
 *
 * Before the commit point any failure rolls back: the target is told to
 * abort, the source's traffic lock is lifted and the container resumed where
 * it stopped, so nothing is lost.  After it, the target owns the pod.
 */
#ifndef FERRY_SOURCE_H
#define FERRY_SOURCE_H

#include <json-c/json.h>
#include "migrate/report.h"
#include "sandbox/node.h"
#include "util/error.h"

/* request: {name, to, fault?}. Fills report; returns 0 if the migration
 * committed.  progress (or NULL) receives PROGRESS frames. */
int migrate_source(const struct node *node, json_object *request, struct wire_conn *progress,
		   struct migration_report *report, ferry_error_t *err);

#endif
