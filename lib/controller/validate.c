/*
 * validate.c - see validate.h.
 */
#include "controller/validate.h"
#include "controller/names.h"
#include "k8s/object.h"
#include "util/cleanup.h"

#include <stdio.h>
#include <string.h>

int validate_pod_object(json_object *pod, ferry_error_t *err)
{
	const char *name = k8s_str(pod, "metadata.name"), *phase = k8s_str(pod, "status.phase");
	const char *rc = k8s_str(pod, "spec.runtimeClassName");
	json_object *ann = k8s_at(pod, "metadata.annotations"), *v;
	if (k8s_at(pod, "metadata.deletionTimestamp"))
		return ferry_error_set(err, 0, "pod %s is being deleted", name);
	if (!phase || strcmp(phase, "Running"))
		return ferry_error_set(err, 0, "pod %s is %s, not Running", name,
				       phase ? phase : "without a phase");
	if (!k8s_str(pod, "spec.nodeName"))
		return ferry_error_set(err, 0, "pod %s is not bound to a node", name);
	if (!k8s_str(pod, "status.podIP") || !*k8s_str(pod, "status.podIP"))
		return ferry_error_set(err, 0, "pod %s has no IP yet", name);
	if (!rc || strcmp(rc, FERRY_RUNTIME_CLASS))
		return ferry_error_set(err, 0, "pod %s does not run with RuntimeClass \"%s\" "
					       "(runtimeClassName: %s); only such pods can be checkpointed",
				       name, FERRY_RUNTIME_CLASS, rc ? rc : "none");
	if (ann && json_object_object_get_ex(ann, FERRY_ANN_RESTORE, &v))
		return ferry_error_set(err, 0, "pod %s is the target of migration %s, not a source",
				       name, k8s_annotation(pod, FERRY_ANN_MIGRATION)
						     ?: "(unknown)");
	if (json_object_get_boolean(k8s_at(pod, "spec.hostNetwork")))
		return ferry_error_set(err, 0, "pod %s uses the host network; its IP cannot follow it",
				       name);
	return 0;
}

static const char *const follow_types[] = { "emptyDir", "configMap", "secret", "downwardAPI",
					    "projected", "nfs", "cephfs", "glusterfs" };

static const char *pvc_problem(json_object *vol, json_object *pvc, json_object *pv, char *buf,
			       size_t size)
{
	const char *vname = k8s_str(vol, "name"), *claim = k8s_str(vol, "persistentVolumeClaim.claimName");
	if (!pvc || !pv) {
		snprintf(buf, size, "volume %s: claim %s is not bound to a persistent volume", vname,
			 claim ? claim : "?");
		return buf;
	}
	json_object *modes = k8s_at(pv, "spec.accessModes");
	for (size_t i = 0; modes && i < json_object_array_length(modes); i++) {
		const char *m = json_object_get_string(json_object_array_get_idx(modes, i));
		if (!strcmp(m, "ReadWriteMany") || !strcmp(m, "ReadOnlyMany"))
			return NULL;
	}
	const char *shared = k8s_annotation(pv, FERRY_ANN_SHARED);
	if (shared && !strcmp(shared, "true"))
		return NULL;
	snprintf(buf, size, "volume %s: claim %s is bound to %s, which is not ReadWriteMany (nor "
			    "annotated %s=true): the target node could not mount it while the source "
			    "holds it",
		 vname, claim, k8s_str(pv, "metadata.name"), FERRY_ANN_SHARED);
	return buf;
}

const char *validate_volume(json_object *vol, json_object *pvc, json_object *pv, char *buf,
			    size_t size)
{
	const char *vname = k8s_str(vol, "name");
	for (size_t i = 0; i < sizeof(follow_types) / sizeof(follow_types[0]); i++)
		if (k8s_at(vol, follow_types[i]))
			return NULL;
	if (k8s_at(vol, "persistentVolumeClaim"))
		return pvc_problem(vol, pvc, pv, buf, size);
	if (k8s_at(vol, "hostPath")) {
		snprintf(buf, size, "volume %s: hostPath %s is local to the source node and cannot "
				    "follow the pod (use a PersistentVolume annotated %s=true for a "
				    "path every node shares)",
			 vname, k8s_str(vol, "hostPath.path") ?: "?", FERRY_ANN_SHARED);
		return buf;
	}
	const char *type = "unknown";
	json_object_object_foreach(vol, k, v)
	{
		(void)v;
		if (strcmp(k, "name"))
			type = k;
	}
	snprintf(buf, size, "volume %s: %s volumes cannot follow a migrated pod", vname, type);
	return buf;
}

static int check_volumes(struct k8s_client *c, const char *ns, json_object *pod, ferry_error_t *err)
{
	json_object *vols = k8s_at(pod, "spec.volumes");
	char buf[600], path[512];
	for (size_t i = 0; vols && i < json_object_array_length(vols); i++) {
		json_object *vol = json_object_array_get_idx(vols, i);
		_cleanup_json_ json_object *pvc = NULL, *pv = NULL;
		const char *claim = k8s_str(vol, "persistentVolumeClaim.claimName");
		if (claim) {
			k8s_path(path, sizeof(path), "v1", ns, "persistentvolumeclaims", claim);
			pvc = k8s_get(c, path, NULL, err);
			if (!pvc)
				return ferry_error_prefix(err, "volume %s", k8s_str(vol, "name"));
			const char *pvname = k8s_str(pvc, "spec.volumeName");
			if (pvname && *pvname) {
				k8s_path(path, sizeof(path), "v1", NULL, "persistentvolumes", pvname);
				pv = k8s_get(c, path, NULL, err);
				if (!pv)
					return ferry_error_prefix(err, "volume %s", k8s_str(vol, "name"));
			}
		}
		const char *problem = validate_volume(vol, pvc, pv, buf, sizeof(buf));
		if (problem)
			return ferry_error_set(err, 0, "pod %s cannot migrate: %s",
					       k8s_str(pod, "metadata.name"), problem);
	}
	return 0;
}

static json_object *controller_ref(json_object *pod)
{
	json_object *refs = k8s_at(pod, "metadata.ownerReferences");
	for (size_t i = 0; refs && i < json_object_array_length(refs); i++) {
		json_object *r = json_object_array_get_idx(refs, i);
		if (json_object_get_boolean(k8s_at(r, "controller")))
			return r;
	}
	return NULL;
}

static int load_owner(struct k8s_client *c, const char *ns, struct validated *v, ferry_error_t *err)
{
	json_object *ref = controller_ref(v->pod);
	char path[512];
	if (!ref)
		return 0;
	const char *kind = k8s_str(ref, "kind"), *api = k8s_str(ref, "apiVersion");
	const char *pod = k8s_str(v->pod, "metadata.name");
	if (!kind || !api || strcmp(api, "apps/v1") ||
	    (strcmp(kind, "ReplicaSet") && strcmp(kind, "StatefulSet")))
		return ferry_error_set(err, 0, "pod %s is controlled by %s %s; only ReplicaSet "
					       "(Deployment), StatefulSet and bare pods can migrate",
				       pod, kind ? kind : "?", k8s_str(ref, "name") ?: "?");
	v->owner_kind = !strcmp(kind, "ReplicaSet") ? "ReplicaSet" : "StatefulSet";
	k8s_path(path, sizeof(path), "apps/v1", ns,
		 !strcmp(kind, "ReplicaSet") ? "replicasets" : "statefulsets", k8s_str(ref, "name"));
	v->owner = k8s_get(c, path, NULL, err);
	return v->owner ? 0 : ferry_error_prefix(err, "owner of pod %s", pod);
}

int validate_pod(struct k8s_client *c, const char *ns, const char *name, struct validated *v,
		 ferry_error_t *err)
{
	char path[512];
	long status;
	memset(v, 0, sizeof(*v));
	if (!name || !k8s_is_dns_subdomain(name))
		return ferry_error_set(err, 0, "spec.podName \"%s\" is not a valid pod name",
				       name ? name : "");
	k8s_path(path, sizeof(path), "v1", ns, "pods", name);
	v->pod = k8s_get(c, path, &status, err);
	if (!v->pod)
		return status == 404 ? ferry_error_set(err, 0, "pod \"%s\" not found in namespace %s",
						       name, ns)
				     : -1;
	/* on a refusal v->pod stays set (the caller records an Event on it) */
	if (validate_pod_object(v->pod, err) < 0 || check_volumes(c, ns, v->pod, err) < 0 ||
	    load_owner(c, ns, v, err) < 0)
		return -1;
	return 0;
}

void validated_free(struct validated *v)
{
	json_object_put(v->pod);
	json_object_put(v->owner);
	memset(v, 0, sizeof(*v));
}
