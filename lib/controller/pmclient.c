/*
 * pmclient.c - see pmclient.h.
 */
#include "controller/pmclient.h"
#include "controller/names.h"
#include "k8s/object.h"
#include "util/cleanup.h"

#include <stdio.h>
#include <string.h>

json_object *pmclient_create(struct k8s_client *c, const struct pm_request *r, ferry_error_t *err)
{
	char name[254], path[512];
	unsigned char rnd[5];
	if (!k8s_is_dns_subdomain(r->pod))
		return ferry_error_set(err, 0, "\"%s\" is not a valid pod name", r->pod), NULL;
	names_random(rnd);
	if (names_migration(r->pod, rnd, name, sizeof(name)) < 0)
		return ferry_error_set(err, 0, "pod name too long"), NULL;
	_cleanup_json_ json_object *pm = json_object_new_object();
	json_object_object_add(pm, "apiVersion", json_object_new_string(FERRY_GROUP_VERSION));
	json_object_object_add(pm, "kind", json_object_new_string("PodMigration"));
	json_object *md = k8s_ensure(pm, "metadata"), *spec = k8s_ensure(pm, "spec");
	json_object_object_add(md, "name", json_object_new_string(name));
	json_object_object_add(md, "namespace", json_object_new_string(r->ns));
	json_object_object_add(spec, "podName", json_object_new_string(r->pod));
	if (r->target_node && *r->target_node)
		json_object_object_add(spec, "targetNode", json_object_new_string(r->target_node));
	if (r->mode && *r->mode)
		json_object_object_add(spec, "mode", json_object_new_string(r->mode));
	if (r->timeout_seconds > 0)
		json_object_object_add(spec, "timeoutSeconds", json_object_new_int(r->timeout_seconds));
	k8s_path(path, sizeof(path), FERRY_GROUP_VERSION, r->ns, FERRY_PM_RESOURCE, NULL);
	return k8s_create(c, path, pm, NULL, err);
}

json_object *pmclient_get(struct k8s_client *c, const char *ns, const char *name, ferry_error_t *err)
{
	char path[512];
	k8s_path(path, sizeof(path), FERRY_GROUP_VERSION, ns, FERRY_PM_RESOURCE, name);
	return k8s_get(c, path, NULL, err);
}

bool pmclient_done(json_object *pm)
{
	const char *p = k8s_str(pm, "status.phase");
	return p && (!strcmp(p, "Succeeded") || !strcmp(p, "Failed"));
}

void pmclient_summary(json_object *pm, char *out, size_t size)
{
	const char *phase = k8s_str(pm, "status.phase"), *msg = k8s_str(pm, "status.message");
	if (phase && !strcmp(phase, "Succeeded"))
		snprintf(out, size, "Succeeded: pod %s moved from %s to %s as %s, IP %s kept: downtime "
				    "%lld ms, %.1f MiB transferred",
			 k8s_str(pm, "spec.podName"), k8s_str(pm, "status.sourceNode") ?: "?",
			 k8s_str(pm, "status.targetNode") ?: "?", k8s_str(pm, "status.targetPod") ?: "?",
			 k8s_str(pm, "status.podIP") ?: "?",
			 (long long)k8s_int(pm, "status.downtimeMs", 0),
			 (double)k8s_int(pm, "status.bytesTransferred", 0) / (1 << 20));
	else
		snprintf(out, size, "%s: %s", phase && *phase ? phase : "Pending", msg ? msg : "");
}
