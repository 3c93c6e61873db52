/*
 * targetpod.c - see targetpod.h.
 */
#include "controller/targetpod.h"
#include "controller/names.h"
#include "k8s/object.h"
#include "util/cleanup.h"

#include <string.h>

static const char *const server_fields[] = {
	"uid", "resourceVersion", "creationTimestamp", "deletionTimestamp",
	"deletionGracePeriodSeconds", "managedFields", "generation", "selfLink", "generateName",
	"finalizers",
};

static json_object *deep_copy(json_object *o)
{
	json_object *c = NULL;
	if (json_object_deep_copy(o, &c, NULL) < 0)
		return NULL;
	return c;
}

static int hold_labels(json_object *md, json_object *held_keys, ferry_error_t *err)
{
	json_object *labels = k8s_at(md, "labels");
	char held[320];
	if (!labels || !held_keys)
		return 0;
	for (size_t i = 0; i < json_object_array_length(held_keys); i++) {
		const char *key = json_object_get_string(json_object_array_get_idx(held_keys, i));
		json_object *v;
		if (!key || !json_object_object_get_ex(labels, key, &v))
			continue;
		if (names_held_label(key, held, sizeof(held), err) < 0)
			return -1;
		json_object_object_add(labels, held, json_object_get(v));
		json_object_object_del(labels, key);
	}
	return 0;
}

static void add_annotations(json_object *md, json_object *source, const struct target_pod_opts *o)
{
	json_object *ann = k8s_ensure(md, "annotations");
	json_object_object_add(ann, FERRY_ANN_MIGRATION, json_object_new_string(o->migration));
	json_object_object_add(ann, FERRY_ANN_RESTORE, json_object_new_string("true"));
	json_object_object_add(ann, FERRY_ANN_POD_IP,
			       json_object_new_string(k8s_str(source, "status.podIP")));
	json_object_object_add(ann, FERRY_ANN_SOURCE_POD,
			       json_object_new_string(k8s_str(source, "metadata.name")));
	json_object_object_del(ann, FERRY_ANN_MIGRATING);
	json_object_object_del(ann, FERRY_DELETION_COST);
}

json_object *target_pod_build(json_object *source, const struct target_pod_opts *o,
			      ferry_error_t *err)
{
	const char *src_name = k8s_str(source, "metadata.name");
	if (!src_name || !k8s_str(source, "status.podIP") || !k8s_at(source, "spec"))
		return ferry_error_set(err, 0, "source pod lacks a name, an IP or a spec"), NULL;
	_cleanup_json_ json_object *t = deep_copy(source);
	if (!t)
		return ferry_error_set(err, 0, "cannot copy the source pod"), NULL;
	json_object_object_del(t, "status");
	json_object *md = k8s_ensure(t, "metadata"), *spec = k8s_at(t, "spec");
	for (size_t i = 0; i < sizeof(server_fields) / sizeof(server_fields[0]); i++)
		json_object_object_del(md, server_fields[i]);
	json_object_object_add(md, "name", json_object_new_string(o->name));
	if (!o->keep_owner) {
		json_object_object_del(md, "ownerReferences");
		if (hold_labels(md, o->held_keys, err) < 0)
			return NULL;
	}
	add_annotations(md, source, o);
	json_object_object_add(spec, "nodeName", json_object_new_string(o->node));
	json_object_object_del(spec, "schedulingGates");
	if (!k8s_str(spec, "hostname") && k8s_is_dns_label(src_name))
		json_object_object_add(spec, "hostname", json_object_new_string(src_name));
	return take_ptr(t);
}

json_object *target_pod_release_patch(json_object *source, json_object *held_keys,
				      ferry_error_t *err)
{
	_cleanup_json_ json_object *patch = json_object_new_object();
	json_object *md = k8s_ensure(patch, "metadata"), *labels = k8s_ensure(md, "labels"),
		    *src_labels = k8s_at(source, "metadata.labels"), *owners;
	char held[320];
	for (size_t i = 0; held_keys && i < json_object_array_length(held_keys); i++) {
		const char *key = json_object_get_string(json_object_array_get_idx(held_keys, i));
		json_object *v;
		if (!key || !src_labels || !json_object_object_get_ex(src_labels, key, &v))
			continue;
		if (names_held_label(key, held, sizeof(held), err) < 0)
			return NULL;
		json_object_object_add(labels, key, json_object_get(v));
		json_object_object_add(labels, held, NULL);
	}
	owners = k8s_at(source, "metadata.ownerReferences");
	if (owners)
		json_object_object_add(md, "ownerReferences", deep_copy(owners));
	return take_ptr(patch);
}

static void add_unique(json_object *arr, const char *key)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), key))
			return;
	json_object_array_add(arr, json_object_new_string(key));
}

json_object *target_pod_selector_keys(json_object *selector)
{
	json_object *keys = json_object_new_array();
	json_object *ml = k8s_at(selector, "matchLabels"), *me = k8s_at(selector, "matchExpressions");
	if (ml && json_object_is_type(ml, json_type_object)) {
		json_object_object_foreach(ml, k, v)
		{
			(void)v;
			add_unique(keys, k);
		}
	}
	for (size_t i = 0; me && json_object_is_type(me, json_type_array) &&
			   i < json_object_array_length(me);
	     i++) {
		const char *k = k8s_str(json_object_array_get_idx(me, i), "key");
		if (k)
			add_unique(keys, k);
	}
	return keys;
}
