/*
 * pick.c - see pick.h.
 */
#include "controller/pick.h"
#include "controller/names.h"
#include "k8s/object.h"
#include "util/cleanup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool node_ready(json_object *node)
{
	json_object *conds = k8s_at(node, "status.conditions");
	for (size_t i = 0; conds && i < json_object_array_length(conds); i++) {
		json_object *c = json_object_array_get_idx(conds, i);
		const char *t = k8s_str(c, "type"), *s = k8s_str(c, "status");
		if (t && s && !strcmp(t, "Ready"))
			return !strcmp(s, "True");
	}
	return false;
}

static bool tolerated(json_object *taint, json_object *tolerations)
{
	const char *key = k8s_str(taint, "key"), *val = k8s_str(taint, "value"),
		   *eff = k8s_str(taint, "effect");
	for (size_t i = 0; tolerations && i < json_object_array_length(tolerations); i++) {
		json_object *t = json_object_array_get_idx(tolerations, i);
		const char *tk = k8s_str(t, "key"), *op = k8s_str(t, "operator"),
			   *tv = k8s_str(t, "value"), *te = k8s_str(t, "effect");
		if (te && *te && eff && strcmp(te, eff))
			continue;
		if (tk && *tk && (!key || strcmp(tk, key)))
			continue;
		if (op && !strcmp(op, "Exists"))
			return true;
		if (!strcmp(tv ? tv : "", val ? val : ""))
			return true;
	}
	return false;
}

static const char *taint_problem(json_object *node, json_object *pod, char *buf, size_t size)
{
	json_object *taints = k8s_at(node, "spec.taints"), *tol = k8s_at(pod, "spec.tolerations");
	for (size_t i = 0; taints && i < json_object_array_length(taints); i++) {
		json_object *t = json_object_array_get_idx(taints, i);
		const char *eff = k8s_str(t, "effect");
		if (!eff || !strcmp(eff, "PreferNoSchedule") || tolerated(t, tol))
			continue;
		snprintf(buf, size, "has taint %s:%s that the pod does not tolerate",
			 k8s_str(t, "key") ? k8s_str(t, "key") : "", eff);
		return buf;
	}
	return NULL;
}

/* requiredDuringSchedulingIgnoredDuringExecution: the terms are ORed, each
 * term's matchExpressions ANDed (on labels; Gt/Lt/matchFields unsupported). */
static bool affinity_matches(json_object *pod, json_object *labels)
{
	json_object *terms = k8s_at(pod, "spec.affinity.nodeAffinity."
				    "requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms");
	if (!terms || json_object_array_length(terms) == 0)
		return true;
	for (size_t i = 0; i < json_object_array_length(terms); i++) {
		json_object *term = json_object_array_get_idx(terms, i);
		if (k8s_at(term, "matchFields"))
			continue;
		_cleanup_json_ json_object *sel = json_object_new_object();
		json_object *me = k8s_at(term, "matchExpressions");
		if (me)
			json_object_object_add(sel, "matchExpressions", json_object_get(me));
		if (k8s_selector_matches(sel, labels))
			return true;
	}
	return false;
}

struct usage {
	int64_t cpu, mem, pods;
};

static void add_requests(json_object *pod, struct usage *u)
{
	json_object *cs = k8s_at(pod, "spec.containers");
	int64_t v;
	for (size_t i = 0; cs && i < json_object_array_length(cs); i++) {
		json_object *c = json_object_array_get_idx(cs, i);
		if (k8s_quantity_milli(k8s_str(c, "resources.requests.cpu"), &v) == 0)
			u->cpu += v;
		if (k8s_quantity_milli(k8s_str(c, "resources.requests.memory"), &v) == 0)
			u->mem += v;
	}
	u->pods++;
}

static struct usage node_usage(json_object *pods)
{
	struct usage u = { 0 };
	for (size_t i = 0; pods && i < json_object_array_length(pods); i++) {
		json_object *p = json_object_array_get_idx(pods, i);
		const char *phase = k8s_str(p, "status.phase");
		if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
			continue;
		add_requests(p, &u);
	}
	return u;
}

static int64_t allocatable(json_object *node, const char *what)
{
	char path[64];
	int64_t v;
	snprintf(path, sizeof(path), "status.allocatable.%s", what);
	return k8s_quantity_milli(k8s_str(node, path), &v) == 0 ? v : -1;
}

int64_t pick_free_memory(json_object *node, json_object *pods_on_node)
{
	int64_t mem = allocatable(node, "memory");
	return mem < 0 ? 0 : mem - node_usage(pods_on_node).mem;
}

static const char *resource_problem(json_object *node, json_object *pod, json_object *pods,
				    char *buf, size_t size)
{
	struct usage used = node_usage(pods), want = { 0 };
	add_requests(pod, &want);
	int64_t cpu = allocatable(node, "cpu"), mem = allocatable(node, "memory"),
		npods = allocatable(node, "pods");
	if (cpu >= 0 && used.cpu + want.cpu > cpu)
		snprintf(buf, size, "not enough cpu (%lldm requested, %lldm free)",
			 (long long)want.cpu, (long long)(cpu - used.cpu));
	else if (mem >= 0 && used.mem + want.mem > mem)
		snprintf(buf, size, "not enough memory (%lld MiB requested, %lld MiB free)",
			 (long long)(want.mem / 1000 >> 20), (long long)((mem - used.mem) / 1000 >> 20));
	else if (npods >= 0 && (used.pods + 1) * 1000 > npods)
		snprintf(buf, size, "no room for another pod (%lld pods)", (long long)used.pods);
	else
		return NULL;
	return buf;
}

const char *pick_node_problem(json_object *node, json_object *pod, const char *source_node,
			      json_object *pods_on_node, char *buf, size_t size)
{
	const char *name = k8s_str(node, "metadata.name");
	json_object *labels = k8s_at(node, "metadata.labels"), *agent = NULL;
	json_object *sel = k8s_at(pod, "spec.nodeSelector");
	if (!name)
		return snprintf(buf, size, "has no name"), buf;
	if (source_node && !strcmp(name, source_node))
		return snprintf(buf, size, "is the pod's own node"), buf;
	if (!node_ready(node))
		return snprintf(buf, size, "is not Ready"), buf;
	if (!labels || !json_object_object_get_ex(labels, FERRY_AGENT_LABEL, &agent) ||
	    strcmp(json_object_get_string(agent), FERRY_AGENT_READY))
		return snprintf(buf, size, "runs no ferry agent (label %s=%s missing)",
				FERRY_AGENT_LABEL, FERRY_AGENT_READY), buf;
	if (json_object_get_boolean(k8s_at(node, "spec.unschedulable")))
		return snprintf(buf, size, "is cordoned (unschedulable)"), buf;
	if (taint_problem(node, pod, buf, size))
		return buf;
	if (sel) {
		_cleanup_json_ json_object *s = json_object_new_object();
		json_object_object_add(s, "matchLabels", json_object_get(sel));
		if (!k8s_selector_matches(s, labels))
			return snprintf(buf, size, "does not match the pod's nodeSelector"), buf;
	}
	if (!affinity_matches(pod, labels))
		return snprintf(buf, size, "does not match the pod's required node affinity"), buf;
	if (pods_on_node)
		return resource_problem(node, pod, pods_on_node, buf, size);
	return NULL;
}

static json_object *pods_on(struct k8s_client *c, const char *node, ferry_error_t *err)
{
	char path[512];
	_cleanup_free_ char *sel = NULL;
	char fs[300];
	snprintf(fs, sizeof(fs), "spec.nodeName=%s", node);
	sel = k8s_escape(fs);
	snprintf(path, sizeof(path), "/api/v1/pods?fieldSelector=%s", sel ? sel : "");
	json_object *list = k8s_get(c, path, NULL, err);
	return list;
}

static const char *check_node(struct k8s_client *c, json_object *node, json_object *pod,
			      char *buf, size_t size, int64_t *free_mem, ferry_error_t *err)
{
	const char *name = k8s_str(node, "metadata.name");
	const char *why = pick_node_problem(node, pod, k8s_str(pod, "spec.nodeName"), NULL, buf, size);
	if (why)
		return why;
	_cleanup_json_ json_object *list = pods_on(c, name, err);
	if (!list)
		return snprintf(buf, size, "cannot list its pods: %s", err->message), buf;
	json_object *items = k8s_at(list, "items");
	*free_mem = pick_free_memory(node, items);
	return pick_node_problem(node, pod, k8s_str(pod, "spec.nodeName"), items, buf, size);
}

static json_object *pick_named(struct k8s_client *c, json_object *pod, const char *wanted,
			       ferry_error_t *err)
{
	char path[512], why[512];
	long status;
	int64_t free_mem;
	k8s_path(path, sizeof(path), "v1", NULL, "nodes", wanted);
	json_object *node = k8s_get(c, path, &status, err);
	if (!node)
		return status == 404 ? (ferry_error_set(err, 0, "target node \"%s\" not found", wanted),
					NULL)
				     : NULL;
	if (check_node(c, node, pod, why, sizeof(why), &free_mem, err)) {
		json_object_put(node);
		return ferry_error_set(err, 0, "target node %s %s", wanted, why), NULL;
	}
	return node;
}

json_object *pick_target_node(struct k8s_client *c, json_object *pod, const char *wanted,
			      ferry_error_t *err)
{
	if (wanted && *wanted)
		return pick_named(c, pod, wanted, err);
	_cleanup_json_ json_object *list = k8s_get(c, "/api/v1/nodes", NULL, err);
	if (!list)
		return NULL;
	json_object *items = k8s_at(list, "items"), *best = NULL;
	int64_t best_free = -1;
	char reasons[900] = "", why[256];
	size_t n = items ? json_object_array_length(items) : 0;
	for (size_t i = 0; i < n; i++) {
		json_object *node = json_object_array_get_idx(items, i);
		int64_t free_mem = 0;
		ferry_error_t e = { 0 };
		const char *problem = check_node(c, node, pod, why, sizeof(why), &free_mem, &e);
		if (problem) {
			size_t l = strlen(reasons);
			snprintf(reasons + l, sizeof(reasons) - l, "%s%s %s", l ? "; " : "",
				 k8s_str(node, "metadata.name"), problem);
		} else if (free_mem > best_free) {
			best = node;
			best_free = free_mem;
		}
	}
	if (!best)
		return ferry_error_set(err, 0, "no feasible target node%s%s", n ? ": " : " (no nodes)",
				       reasons), NULL;
	return json_object_get(best);
}
