/*
 * staging.h - the hand-over between the target node's agent and ferry-runc:
 * where a migration's checkpoints wait for the target pod's containers, and
 * where the source node records that a pod has left.
 *
 *   <state>/incoming/<namespace>_<targetPod>/          state = /var/lib/ferry/k8s
 *       containers            app container names, one a line (the agent writes it
 *                             at PREPARE, before the source freezes)
 *       <container>/images/   CRIU images (runc checkpoint --image-path)
 *       <container>/rootfs.tar  the source's overlay upperdir (optional)
 *       <container>/ready     written last by the agent: everything above is complete
 *       <container>/restored  written by ferry-runc: "<container id> <pid>" once running
 *       <container>/failed    written by ferry-runc: why the restore failed
 *       _emptydir/<volume>.tar  the source pod's emptyDir volumes; ferry-runc unpacks
 *                             each into the target pod's volume once (.done marker)
 *   <state>/migrated/<sandbox id>   the source pod's sandbox left this node: ferry-runc
 *                                   refuses to create its containers again
 *
 * Both sides only ever create files here with an atomic rename, so a reader
 * sees a marker complete or not at all.
 */
#ifndef FERRY_K8SNODE_STAGING_H
#define FERRY_K8SNODE_STAGING_H

#include <limits.h>
#include <stdbool.h>
#include "util/error.h"

#define STAGING_STATE_DEFAULT "/var/lib/ferry/k8s"

/* $FERRY_K8S_STATE or STAGING_STATE_DEFAULT */
const char *staging_state_dir(void);
/* <state>/incoming/<namespace>_<pod>; -1 if a name is not a Kubernetes name */
int staging_pod_dir(const char *namespace, const char *pod, char out[PATH_MAX],
		    ferry_error_t *err);
/* Is name listed in <pod_dir>/containers?  -1 with ENOENT while the file is missing. */
int staging_lists_container(const char *pod_dir, const char *name, ferry_error_t *err);
int staging_mark_migrated(const char *sandbox_id, ferry_error_t *err);
bool staging_is_migrated(const char *sandbox_id);
/* Waits (polling) until path exists, up to timeout_ms; -1 with ETIMEDOUT. */
int staging_wait_for(const char *path, int timeout_ms, ferry_error_t *err);
/* Waits for path or, if it appears first, stop (e.g. the migration's
 * `aborted`): 0 for path, 1 for stop, -1 with ETIMEDOUT. */
int staging_wait_either(const char *path, const char *stop, int timeout_ms, ferry_error_t *err);

#endif
