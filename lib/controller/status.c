/*
 * status.c - see status.h.
 */
#include "controller/status.h"
#include "controller/names.h"
#include "k8s/lease.h"
#include "k8s/object.h"
#include "util/cleanup.h"

#include <string.h>

void pm_status_init(struct pm_status *s, struct k8s_client *c, const char *ns, const char *name,
		    json_object *existing)
{
	char base[480];
	s->client = c;
	k8s_path(base, sizeof(base), FERRY_GROUP_VERSION, ns, FERRY_PM_RESOURCE, name);
	snprintf(s->path, sizeof(s->path), "%s/status", base);
	s->status = NULL;
	if (existing)
		json_object_deep_copy(existing, &s->status, NULL);
	if (!s->status)
		s->status = json_object_new_object();
}

void pm_status_free(struct pm_status *s)
{
	json_object_put(s->status);
	s->status = NULL;
}

void pm_status_str(struct pm_status *s, const char *key, const char *value)
{
	json_object_object_add(s->status, key, value ? json_object_new_string(value) : NULL);
}

void pm_status_int(struct pm_status *s, const char *key, int64_t value)
{
	json_object_object_add(s->status, key, json_object_new_int64(value));
}

void pm_status_condition(struct pm_status *s, const char *type, bool ok, const char *reason,
			 const char *message)
{
	json_object *conds = k8s_at(s->status, "conditions"), *c = NULL;
	char now[32];
	const char *st = ok ? "True" : "False";
	if (!conds || !json_object_is_type(conds, json_type_array)) {
		conds = json_object_new_array();
		json_object_object_add(s->status, "conditions", conds);
	}
	for (size_t i = 0; i < json_object_array_length(conds); i++) {
		json_object *e = json_object_array_get_idx(conds, i);
		const char *t = k8s_str(e, "type");
		if (t && !strcmp(t, type))
			c = e;
	}
	if (!c) {
		c = json_object_new_object();
		json_object_array_add(conds, c);
		json_object_object_add(c, "type", json_object_new_string(type));
	}
	const char *old = k8s_str(c, "status");
	if (!old || strcmp(old, st)) {
		k8s_time(now);
		json_object_object_add(c, "lastTransitionTime", json_object_new_string(now));
	}
	json_object_object_add(c, "status", json_object_new_string(st));
	json_object_object_add(c, "reason", json_object_new_string(reason));
	json_object_object_add(c, "message", json_object_new_string(message ? message : ""));
}

const char *pm_status_phase(struct pm_status *s)
{
	const char *p = k8s_str(s->status, "phase");
	return p ? p : "";
}

int pm_status_write(struct pm_status *s, const char *phase, const char *message,
		    ferry_error_t *err)
{
	if (phase)
		pm_status_str(s, "phase", phase);
	if (message)
		pm_status_str(s, "message", message);
	_cleanup_json_ json_object *patch = json_object_new_object();
	json_object_object_add(patch, "status", json_object_get(s->status));
	_cleanup_json_ json_object *r = k8s_merge_patch(s->client, s->path, patch, NULL, err);
	return r ? 0 : ferry_error_prefix(err, "status of %s", s->path);
}
