/*
 * pod.h - a container and its network on one node: the unit ferry runs,
 * lists, removes and migrates.
 *
 * Creating a pod allocates nothing global except through ipam; the record
 * (store.h) is written last, so a pod that has a record is complete.  For a
 * migration the target builds the pod in two steps: pod_prepare() (network,
 * directories, bundle: all outside the freeze) and pod_restore() (rootfs
 * mount and CRIU restore: inside it).
 */
#ifndef FERRY_POD_H
#define FERRY_POD_H

#include <stdbool.h>
#include <json-c/json.h>
#include "net/podnet.h"
#include "sandbox/node.h"
#include "util/error.h"

/* Starts a new pod from a validated record (ip already allocated). */
int pod_create(const struct node *n, json_object *record, ferry_error_t *err);
/* Target side of a migration: network namespace with the pod's IP (not yet
 * routed to this node), empty layer directories and the bundle. */
int pod_prepare(const struct node *n, json_object *record, ferry_error_t *err);
/* Where a restore reads from: CRIU images, CRIU's work directory (created by
 * the caller; a lazy-pages daemon listens there when lazy is set). */
struct restore_source {
	const char *image_dir;
	const char *work_dir;
	bool lazy;
};

/* Target side: mount the received layer and restore from src. */
int pod_restore(const struct node *n, json_object *record, const struct restore_source *src,
		ferry_error_t *err);
/* Stops and removes everything of the pod on this node (not its IP). */
void pod_destroy(const struct node *n, const char *name, const char *ip);
/* {name, node, ip, image, state, pid} */
json_object *pod_status(const struct node *n, json_object *record);
void pod_net(const struct node *n, json_object *record, struct pod_net *pn);
/* The cgroup.procs file listing the pod's processes (freezer hierarchy). */
const char *pod_procs_file(char *buf, size_t len, const struct node *n, const char *name);
/* A file of the container's cgroup v1 freezer directory. */
const char *pod_freezer_file(char *buf, size_t len, const struct node *n, const char *name,
			     const char *file);

#endif
