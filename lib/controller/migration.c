/*
 * migration.c - see migration.h.
 */
#include "controller/migration.h"
#include "controller/agentcall.h"
#include "controller/metrics.h"
#include "controller/names.h"
#include "controller/pick.h"
#include "controller/status.h"
#include "controller/targetpod.h"
#include "controller/validate.h"
#include "k8s/events.h"
#include "k8s/lease.h"
#include "k8s/object.h"
#include "util/cleanup.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

struct migration {
	const struct migration_env *env;
	struct k8s_client *c;
	json_object *pm;
	const char *ns, *name;
	struct pm_status st;
	struct validated v;
	json_object *target_node;
	json_object *held_keys;
	char target_pod[64];
	char source_node[256];
	bool target_created, marked, committed;
	int64_t start_ms, deadline_ms;
	int64_t bytes;
	char agent_phase[32];
};

static const char *spec_str(struct migration *m, const char *key, const char *def)
{
	char path[64];
	snprintf(path, sizeof(path), "spec.%s", key);
	const char *v = k8s_str(m->pm, path);
	return v && *v ? v : def;
}

static void pod_path(struct migration *m, const char *pod, char *out, size_t size)
{
	k8s_path(out, size, "v1", m->ns, "pods", pod);
}

static void write_status(struct migration *m, const char *phase, const char *message)
{
	ferry_error_t err = { 0 };
	if (pm_status_write(&m->st, phase, message, &err) < 0)
		log_warn("%s/%s: %s", m->ns, m->name, err.message);
}

/* One attempt to mark the source pod; *status is the HTTP status. */
static int try_mark(struct migration *m, long *status, ferry_error_t *err)
{
	const char *other = k8s_annotation(m->v.pod, FERRY_ANN_MIGRATING);
	char path[512];
	if (other && strcmp(other, m->name)) {
		char pm_path[512];
		k8s_path(pm_path, sizeof(pm_path), FERRY_GROUP_VERSION, m->ns, FERRY_PM_RESOURCE, other);
		_cleanup_json_ json_object *o = k8s_get(m->c, pm_path, NULL, NULL);
		const char *ph = o ? k8s_str(o, "status.phase") : NULL;
		if (o && !(ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"))))
			return ferry_error_set(err, 0, "pod %s is already being migrated by %s",
					       k8s_str(m->v.pod, "metadata.name"), other);
	}
	_cleanup_json_ json_object *patch = json_object_new_object();
	json_object *md = k8s_ensure(patch, "metadata");
	json_object_object_add(md, "resourceVersion",
			       json_object_new_string(k8s_str(m->v.pod, "metadata.resourceVersion")));
	json_object_object_add(k8s_ensure(md, "annotations"), FERRY_ANN_MIGRATING,
			       json_object_new_string(m->name));
	pod_path(m, k8s_str(m->v.pod, "metadata.name"), path, sizeof(path));
	_cleanup_json_ json_object *r = k8s_merge_patch(m->c, path, patch, status, err);
	return r ? 0 : -1;
}

/* Marks the source pod as being migrated; the resourceVersion precondition
 * makes two concurrent migrations of one pod impossible.  A pod that changed
 * since it was validated (409) is read and checked again, up to 3 times. */
static int mark_source(struct migration *m, ferry_error_t *err)
{
	char path[512];
	for (int attempt = 0;; attempt++) {
		long status = 0;
		if (try_mark(m, &status, err) == 0) {
			m->marked = true;
			return 0;
		}
		if (status != 409)
			return -1;
		if (attempt == 2)
			return ferry_error_set(err, 0, "pod %s keeps changing; retry the migration",
					       k8s_str(m->v.pod, "metadata.name"));
		ferry_error_clear(err);
		pod_path(m, k8s_str(m->v.pod, "metadata.name"), path, sizeof(path));
		json_object *now = k8s_get(m->c, path, NULL, err);
		if (!now)
			return -1;
		json_object_put(m->v.pod);
		m->v.pod = now;
		if (validate_pod_object(now, err) < 0)
			return -1;
	}
}

static void unmark_source(struct migration *m)
{
	char path[512];
	ferry_error_t err = { 0 };
	_cleanup_json_ json_object *patch = json_object_new_object();
	json_object_object_add(k8s_ensure(patch, "metadata.annotations"), FERRY_ANN_MIGRATING, NULL);
	pod_path(m, k8s_str(m->v.pod, "metadata.name"), path, sizeof(path));
	_cleanup_json_ json_object *r = k8s_merge_patch(m->c, path, patch, NULL, &err);
	if (!r)
		log_warn("%s/%s: unmark source pod: %s", m->ns, m->name, err.message);
}

static int create_target(struct migration *m, ferry_error_t *err)
{
	const char *src = k8s_str(m->v.pod, "metadata.name");
	bool sts = m->v.owner_kind && !strcmp(m->v.owner_kind, "StatefulSet");
	char coll[512];
	k8s_path(coll, sizeof(coll), "v1", m->ns, "pods", NULL);
	if (m->v.owner)
		m->held_keys = target_pod_selector_keys(k8s_at(m->v.owner, "spec.selector"));
	for (int attempt = 0; attempt < 3; attempt++) {
		unsigned char rnd[5];
		names_random(rnd);
		if (names_target_pod(src, rnd, m->target_pod, err) < 0)
			return -1;
		struct target_pod_opts o = { .name = m->target_pod,
					     .node = k8s_str(m->target_node, "metadata.name"),
					     .migration = m->name,
					     .held_keys = m->held_keys,
					     .keep_owner = sts };
		_cleanup_json_ json_object *t = target_pod_build(m->v.pod, &o, err);
		if (!t)
			return -1;
		pm_status_str(&m->st, "targetPod", m->target_pod);
		write_status(m, NULL, NULL);
		long status;
		_cleanup_json_ json_object *r = k8s_create(m->c, coll, t, &status, err);
		if (r) {
			m->target_created = true;
			return 0;
		}
		if (status != 409)
			return ferry_error_prefix(err, "create target pod %s", m->target_pod);
		ferry_error_clear(err);
	}
	return ferry_error_set(err, 0, "could not find a free target pod name");
}

static void delete_target(struct migration *m)
{
	char path[512];
	ferry_error_t err = { 0 };
	if (!m->target_created)
		return;
	pod_path(m, m->target_pod, path, sizeof(path));
	if (k8s_delete(m->c, path, 0, &err) < 0)
		log_warn("%s/%s: delete target pod %s: %s", m->ns, m->name, m->target_pod, err.message);
	m->target_created = false;
}

static const char *node_address(json_object *node)
{
	json_object *addrs = k8s_at(node, "status.addresses");
	for (size_t i = 0; addrs && i < json_object_array_length(addrs); i++) {
		json_object *a = json_object_array_get_idx(addrs, i);
		const char *t = k8s_str(a, "type");
		if (t && !strcmp(t, "InternalIP"))
			return k8s_str(a, "address");
	}
	return NULL;
}

static json_object *containers_of(json_object *pod)
{
	json_object *out = json_object_new_array(), *cs = k8s_at(pod, "status.containerStatuses");
	for (size_t i = 0; cs && i < json_object_array_length(cs); i++) {
		json_object *c = json_object_array_get_idx(cs, i), *e = json_object_new_object();
		const char *id = k8s_str(c, "containerID"), *sep = id ? strstr(id, "://") : NULL;
		json_object_object_add(e, "name", json_object_new_string(k8s_str(c, "name") ?: ""));
		json_object_object_add(e, "containerID", json_object_new_string(sep ? sep + 3 : id ?: ""));
		json_object_array_add(out, e);
	}
	return out;
}

static json_object *agent_request(struct migration *m, int port)
{
	json_object *r = json_object_new_object(), *t = json_object_new_object();
	json_object *pod = m->v.pod;
	json_object_object_add(r, "op", json_object_new_string("migrate-pod"));
	json_object_object_add(r, "namespace", json_object_new_string(m->ns));
	json_object_object_add(r, "pod", json_object_new_string(k8s_str(pod, "metadata.name")));
	json_object_object_add(r, "podUID", json_object_new_string(k8s_str(pod, "metadata.uid") ?: ""));
	json_object_object_add(r, "podIP", json_object_new_string(k8s_str(pod, "status.podIP")));
	json_object_object_add(r, "containers", containers_of(pod));
	json_object_object_add(t, "node", json_object_new_string(k8s_str(m->target_node, "metadata.name")));
	json_object_object_add(t, "address", json_object_new_string(node_address(m->target_node) ?: ""));
	json_object_object_add(t, "port", json_object_new_int(port));
	json_object_object_add(r, "target", t);
	json_object_object_add(r, "targetPod", json_object_new_string(m->target_pod));
	json_object_object_add(r, "mode", json_object_new_string(spec_str(m, "mode", "auto")));
	json_object_object_add(r, "maxDowntimeMs",
			       json_object_new_int64(k8s_int(m->pm, "spec.maxDowntimeMs", 0)));
	json_object_object_add(r, "migration", json_object_new_string(m->name));
	return r;
}

static const char *status_phase_of(const char *agent_phase)
{
	static const struct {
		const char *agent, *status;
	} map[] = { { "prepare", "Preparing" }, { "freeze", "Preparing" },
		    { "dump", "Transferring" }, { "rootfs", "Transferring" },
		    { "restore", "Restoring" }, { "commit", "Restoring" },
		    { "postcopy", "Restoring" }, { "cleanup", "Restoring" } };
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i].agent, agent_phase))
			return map[i].status;
	return NULL;
}

static void on_progress(json_object *p, void *data)
{
	struct migration *m = data;
	const char *phase = k8s_str(p, "phase");
	int64_t bytes = k8s_int(p, "bytes_sent", k8s_int(p, "bytes", -1));
	if (!phase)
		return;
	if (bytes >= 0)
		m->bytes = bytes;
	if (!strcmp(phase, "commit") || !strcmp(phase, "postcopy") || !strcmp(phase, "cleanup"))
		m->committed = true;
	if (!strcmp(phase, m->agent_phase))
		return;
	snprintf(m->agent_phase, sizeof(m->agent_phase), "%s", phase);
	const char *sp = status_phase_of(phase);
	if (!sp)
		return;
	if (!strcmp(sp, "Transferring"))
		pm_status_condition(&m->st, "Frozen", true, "CheckpointStarted",
				    "all containers of the pod frozen together");
	if (!strcmp(sp, "Restoring"))
		pm_status_condition(&m->st, "Transferred", true, "CheckpointStaged",
				    "checkpoint staged on the target node");
	if (bytes >= 0)
		pm_status_int(&m->st, "bytesTransferred", bytes);
	write_status(m, strcmp(sp, pm_status_phase(&m->st)) ? sp : NULL, NULL);
}

static int call_agent(struct migration *m, ferry_error_t *err)
{
	char path[512];
	_cleanup_json_ json_object *src = NULL;
	k8s_path(path, sizeof(path), "v1", NULL, "nodes", m->source_node);
	src = k8s_get(m->c, path, NULL, err);
	if (!src)
		return ferry_error_prefix(err, "source node %s", m->source_node);
	const char *addr = node_address(src);
	if (!addr)
		return ferry_error_set(err, 0, "source node %s has no InternalIP", m->source_node);
	_cleanup_json_ json_object *req = agent_request(m, m->env->agent_port);
	struct agentcall a = { .address = addr, .port = m->env->agent_port, .tls = m->env->tls,
			       .node = m->source_node, .deadline_ms = m->deadline_ms,
			       .on_progress = on_progress, .data = m };
	_cleanup_json_ json_object *res = agentcall_run(&a, req, err);
	if (!res)
		return -1;
	m->committed = true;
	int64_t down = k8s_int(res, "downtime_ms", -1), bytes = k8s_int(res, "bytes", -1);
	if (bytes < 0)
		bytes = k8s_int(res, "bytes_sent", -1);
	if (down >= 0)
		pm_status_int(&m->st, "downtimeMs", down);
	if (bytes >= 0) {
		m->bytes = bytes;
		pm_status_int(&m->st, "bytesTransferred", bytes);
	}
	return 0;
}

static bool pod_ready(json_object *pod)
{
	json_object *cs = k8s_at(pod, "status.conditions");
	for (size_t i = 0; cs && i < json_object_array_length(cs); i++) {
		json_object *c = json_object_array_get_idx(cs, i);
		const char *t = k8s_str(c, "type"), *s = k8s_str(c, "status");
		if (t && s && !strcmp(t, "Ready"))
			return !strcmp(s, "True");
	}
	return false;
}

/* After the commit the target pod runs the workload, but its kubelet reports
 * it Ready only a moment later.  A ReplicaSet ranks a not-ready pod for
 * deletion before it looks at pod-deletion-cost, so handing the labels over
 * before that would let it delete the migrated pod instead of the source:
 * wait for Ready, bounded by what is left of spec.timeoutSeconds.  Returns
 * false when the deadline passed first (the hand-over then goes ahead: the
 * target owns the workload either way). */
static bool wait_target_ready(struct migration *m)
{
	char path[512];
	pod_path(m, m->target_pod, path, sizeof(path));
	for (;;) {
		ferry_error_t err = { 0 };
		_cleanup_json_ json_object *t = k8s_get(m->c, path, NULL, &err);
		if (t && pod_ready(t))
			return true;
		if (!t)
			log_warn("%s/%s: target pod %s: %s", m->ns, m->name, m->target_pod,
				 err.message);
		if (k8s_monotonic_ms() >= m->deadline_ms)
			return false;
		struct timespec ts = { 0, 200 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* After the commit: the owner takes the target pod over, the source goes. */
static int hand_over(struct migration *m, ferry_error_t *err)
{
	char path[512];
	const char *src = k8s_str(m->v.pod, "metadata.name");
	bool rs = m->v.owner_kind && !strcmp(m->v.owner_kind, "ReplicaSet");
	_cleanup_json_ json_object *rel = NULL;
	if (rs) {
		_cleanup_json_ json_object *cost = json_object_new_object();
		json_object_object_add(k8s_ensure(cost, "metadata.annotations"), FERRY_DELETION_COST,
				       json_object_new_string("-2147483648"));
		pod_path(m, src, path, sizeof(path));
		_cleanup_json_ json_object *r1 = k8s_merge_patch(m->c, path, cost, NULL, err);
		if (!r1)
			return ferry_error_prefix(err, "deletion cost on %s", src);
		rel = target_pod_release_patch(m->v.pod, m->held_keys, err);
		if (!rel)
			return -1;
	} else {
		rel = json_object_new_object();
	}
	/* restored: from now on the target pod is an ordinary pod, which can
	 * itself be migrated again (ferry.dev/migration and source-pod stay as
	 * its history) */
	json_object_object_add(k8s_ensure(rel, "metadata.annotations"), FERRY_ANN_RESTORE, NULL);
	pod_path(m, m->target_pod, path, sizeof(path));
	_cleanup_json_ json_object *r2 = k8s_merge_patch(m->c, path, rel, NULL, err);
	if (!r2)
		return ferry_error_prefix(err, "release target pod %s", m->target_pod);
	pod_path(m, src, path, sizeof(path));
	return k8s_delete(m->c, path, 0, err) < 0 ? ferry_error_prefix(err, "delete source pod %s", src)
						  : 0;
}

static void event_on_target(struct migration *m, const char *message)
{
	char path[512];
	ferry_error_t err = { 0 };
	pod_path(m, m->target_pod, path, sizeof(path));
	_cleanup_json_ json_object *t = k8s_get(m->c, path, NULL, &err);
	if (t)
		k8s_event(m->c, t, "Normal", "Migrated", "%s", message);
}

static void finish(struct migration *m, bool ok, const char *message)
{
	char now[32];
	const char *phase_reached = pm_status_phase(&m->st)[0] ? pm_status_phase(&m->st) : "Pending";
	char reached[24];
	snprintf(reached, sizeof(reached), "%s", phase_reached);
	k8s_time(now);
	pm_status_str(&m->st, "completionTime", now);
	if (ok) {
		pm_status_condition(&m->st, "Succeeded", true, "Migrated", message);
	} else {
		pm_status_condition(&m->st, "Failed", true, "MigrationFailed", message);
	}
	double dur = (double)(k8s_monotonic_ms() - m->start_ms) / 1000.0;
	metrics_migration_ended(ok ? "Succeeded" : reached, ok, dur,
				(double)k8s_int(m->st.status, "downtimeMs", 0) / 1000.0,
				m->bytes > 0 ? (uint64_t)m->bytes : 0);
	if (m->v.pod)
		k8s_event(m->c, m->v.pod, ok ? "Normal" : "Warning",
			  ok ? "Migrated" : "MigrationFailed", "%s", message);
	if (ok)
		event_on_target(m, message);
	k8s_event(m->c, m->pm, ok ? "Normal" : "Warning", ok ? "Succeeded" : "Failed", "%s", message);
	/* last: whoever sees the final phase also finds the events */
	write_status(m, ok ? "Succeeded" : "Failed", message);
	log_info("%s/%s: %s: %s", m->ns, m->name, ok ? "Succeeded" : "Failed", message);
}

static void fail(struct migration *m, const ferry_error_t *err)
{
	if (!m->committed) {
		delete_target(m);
		if (m->marked)
			unmark_source(m);
	}
	finish(m, false, err->message);
}

static bool timed_out(struct migration *m, ferry_error_t *err)
{
	if (k8s_monotonic_ms() < m->deadline_ms)
		return false;
	ferry_error_set(err, 0, "timed out after %lld s (spec.timeoutSeconds)",
			(long long)k8s_int(m->pm, "spec.timeoutSeconds", 300));
	return true;
}

static int validate_and_pick(struct migration *m, ferry_error_t *err)
{
	const char *mode = spec_str(m, "mode", "auto");
	if (strcmp(mode, "auto") && strcmp(mode, "stop-copy") && strcmp(mode, "postcopy"))
		return ferry_error_set(err, 0, "spec.mode \"%s\" is not auto, stop-copy or postcopy",
				       mode);
	if (k8s_int(m->pm, "spec.timeoutSeconds", 300) <= 0)
		return ferry_error_set(err, 0, "spec.timeoutSeconds must be positive");
	if (validate_pod(m->c, m->ns, spec_str(m, "podName", NULL), &m->v, err) < 0)
		return -1;
	if (m->v.owner_kind && !strcmp(m->v.owner_kind, "StatefulSet"))
		return ferry_error_set(err, 0, "pod %s belongs to StatefulSet %s: StatefulSet pods "
					       "keep their name, which needs the admission hand-over "
					       "described in docs/kubernetes.md; not implemented yet",
				       k8s_str(m->v.pod, "metadata.name"),
				       k8s_str(m->v.owner, "metadata.name"));
	snprintf(m->source_node, sizeof(m->source_node), "%s", k8s_str(m->v.pod, "spec.nodeName"));
	m->target_node = pick_target_node(m->c, m->v.pod, spec_str(m, "targetNode", NULL), err);
	return m->target_node ? 0 : -1;
}

static void run(struct migration *m)
{
	ferry_error_t err = { 0 };
	char now[32], msg[1400];
	k8s_time(now);
	pm_status_str(&m->st, "startTime", now);
	pm_status_condition(&m->st, "Accepted", true, "Accepted", "the controller took it on");
	write_status(m, "Pending", "validating");
	if (validate_and_pick(m, &err) < 0) {
		pm_status_condition(&m->st, "Validated", false, "Refused", err.message);
		return fail(m, &err);
	}
	const char *target = k8s_str(m->target_node, "metadata.name");
	pm_status_str(&m->st, "sourceNode", m->source_node);
	pm_status_str(&m->st, "targetNode", target);
	pm_status_str(&m->st, "podIP", k8s_str(m->v.pod, "status.podIP"));
	pm_status_condition(&m->st, "Validated", true, "Validated", "pod, volumes and node checked");
	write_status(m, "Preparing", "creating the target pod");
	if (mark_source(m, &err) < 0 || timed_out(m, &err) || create_target(m, &err) < 0)
		return fail(m, &err);
	snprintf(msg, sizeof(msg), "migrating pod %s from %s to %s as %s", spec_str(m, "podName", ""),
		 m->source_node, target, m->target_pod);
	pm_status_condition(&m->st, "TargetPodCreated", true, "Created", m->target_pod);
	write_status(m, NULL, msg);
	k8s_event(m->c, m->v.pod, "Normal", "MigrationStarted", "%s (PodMigration %s)", msg, m->name);
	if (timed_out(m, &err) || call_agent(m, &err) < 0) {
		if (!m->committed)
			return fail(m, &err);
		/* the agent reported the commit, then its answer was lost: the
		 * target owns the pod, so the hand-over goes ahead */
		log_warn("%s/%s: committed, but then: %s", m->ns, m->name, err.message);
		k8s_event(m->c, m->v.pod, "Warning", "ReportLost",
			  "the agent committed the migration but its final report was lost: %s",
			  err.message);
	}
	pm_status_condition(&m->st, "Committed", true, "Committed",
			    "the target pod owns the workload and the pod IP");
	write_status(m, NULL, "committed; waiting for the target pod to be Ready");
	if (!wait_target_ready(m)) {
		log_warn("%s/%s: target pod %s not Ready within the timeout", m->ns, m->name,
			 m->target_pod);
		k8s_event(m->c, m->v.pod, "Warning", "TargetNotReady",
			  "target pod %s was not Ready within spec.timeoutSeconds; handing over anyway",
			  m->target_pod);
	}
	if (hand_over(m, &err) < 0) {
		snprintf(msg, sizeof(msg), "migrated to %s as %s, but the hand-over failed: %s", target,
			 m->target_pod, err.message);
		return finish(m, true, msg);
	}
	snprintf(msg, sizeof(msg), "migrated to %s as %s: downtime %lld ms, %lld bytes", target,
		 m->target_pod, (long long)k8s_int(m->st.status, "downtimeMs", 0), (long long)m->bytes);
	finish(m, true, msg);
}

void migration_run(const struct migration_env *env, json_object *pm)
{
	struct migration m = { .env = env, .c = env->client, .pm = pm };
	m.ns = k8s_str(pm, "metadata.namespace");
	m.name = k8s_str(pm, "metadata.name");
	if (!m.ns || !m.name)
		return;
	m.start_ms = k8s_monotonic_ms();
	m.deadline_ms = m.start_ms + k8s_int(pm, "spec.timeoutSeconds", 300) * 1000;
	pm_status_init(&m.st, m.c, m.ns, m.name, k8s_at(pm, "status"));
	metrics_migration_started();
	log_info("%s/%s: migrating pod %s", m.ns, m.name, spec_str(&m, "podName", "?"));
	run(&m);
	validated_free(&m.v);
	json_object_put(m.target_node);
	json_object_put(m.held_keys);
	pm_status_free(&m.st);
}
