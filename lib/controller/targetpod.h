/*
 * targetpod.h - the target pod of a migration, derived from the source pod.
 *
 * Pure transformations (unit tested), no API calls:
 *  - build: a copy of the source pod's spec bound to the target node
 *    (spec.nodeName), with the restore annotations that ferry-runc and the
 *    CNI plugin read, server-set metadata and status dropped, scheduling gates
 *    dropped, spec.hostname pinned to the source's name (the restored
 *    processes keep the hostname they had).  For ReplicaSet and bare pods the
 *    copy gets a new name, no ownerReferences, and the labels its owner's
 *    selector uses renamed to ferry.dev/held-<key>, so no controller adopts
 *    or counts it before the commit.
 *  - release patch: the merge patch that gives the committed target pod its
 *    labels and ownerReferences back.
 */
#ifndef FERRY_CONTROLLER_TARGETPOD_H
#define FERRY_CONTROLLER_TARGETPOD_H

#include <stdbool.h>
#include <json-c/json.h>
#include "util/error.h"

struct target_pod_opts {
	const char *name;          /* the target pod's name */
	const char *node;          /* target node */
	const char *migration;     /* PodMigration name */
	json_object *held_keys;    /* array of label keys to hold, or NULL */
	bool keep_owner;           /* StatefulSet: same name, owner and labels */
};

json_object *target_pod_build(json_object *source, const struct target_pod_opts *o,
			      ferry_error_t *err);
/* Merge patch for the target after the commit: held labels back to their
 * source values (held ones removed) and the source's ownerReferences. */
json_object *target_pod_release_patch(json_object *source, json_object *held_keys,
				      ferry_error_t *err);
/* The label keys an owner's metav1.LabelSelector uses (matchLabels keys and
 * matchExpressions keys), as a new array. */
json_object *target_pod_selector_keys(json_object *selector);

#endif
