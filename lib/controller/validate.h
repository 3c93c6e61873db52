/*
 * validate.h - may this pod migrate at all?  Checked before anything is
 * created or frozen, each refusal a sentence an operator can act on.
 *
 * The pod: exists, is Running with an IP and a node, is not being deleted,
 * runs with RuntimeClass "ferry", is not itself a half-made target
 * (annotation ferry.dev/restore), and its controller (if any) is a
 * ReplicaSet or a StatefulSet (a DaemonSet's pod belongs to its node; Jobs
 * and other owners are refused rather than guessed at).
 * Its volumes can follow: emptyDir (copied by the agent), configMap,
 * secret, downwardAPI, projected (re-made by the target kubelet), inline
 * nfs/cephfs/glusterfs (shared by nature), and persistentVolumeClaims whose
 * bound PV is ReadWriteMany or ReadOnlyMany, or is annotated
 * ferry.dev/shared=true (storage every node mounts at the same path, as the
 * test cluster's shared hostPath volume).  hostPath and every other type:
 * refused, naming the volume.
 */
#ifndef FERRY_CONTROLLER_VALIDATE_H
#define FERRY_CONTROLLER_VALIDATE_H

#include <json-c/json.h>
#include "k8s/client.h"

struct validated {
	json_object *pod;          /* the source pod */
	json_object *owner;        /* its ReplicaSet / StatefulSet, or NULL */
	const char *owner_kind;    /* "ReplicaSet", "StatefulSet" or NULL (bare) */
};

/* Pure checks of a pod object (no API); -1 with err. */
int validate_pod_object(json_object *pod, ferry_error_t *err);
/* The volume's problem, or NULL when it can follow (pv may be NULL for
 * non-PVC volumes; pass the claim's bound PV otherwise). Pure. */
const char *validate_volume(json_object *vol, json_object *pvc, json_object *pv, char *buf,
			    size_t size);

/* Fetches and checks pod ns/name, its volumes and its owner.  v->pod is set
 * whenever the pod exists, also on -1; always validated_free(v). */
int validate_pod(struct k8s_client *c, const char *ns, const char *name, struct validated *v,
		 ferry_error_t *err);
void validated_free(struct validated *v);

#endif
