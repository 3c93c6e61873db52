/*
 * migration.c - see migration.h.
 */
#include "controller/migration.h"
#include "controller/agentcall.h"
#include "metrics/metrics.h"
#include "controller/names.h"
#include "controller/pick.h"
#include "controller/status.h"
#include "controller/targetpod.h"
#include "controller/validate.h"
#include "controller/handover.h"
#include "controller/webhookserver.h"
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
	/* StatefulSet pods: the pod keeps its name; the source is deleted once
	 * the checkpoint is staged and the webhook binds its successor to the
	 * target node (see docs/kubernetes.md) */
	bool sts, staged, source_deleted, agent_error;
	char source_uid[64];
	char handover_err[600];
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
	int64_t left = (m->deadline_ms - k8s_monotonic_ms()) / 1000 - 15;
	if (m->sts) {
		/* the target pod appears only after the source is deleted: the
		 * target agent waits for it, bounded by what is left of the
		 * migration's own timeout */
		json_object_object_add(r, "deferTarget", json_object_new_boolean(1));
	} else {
		/* the target pod exists: the target agent waits for its sandbox
		 * before anything is frozen, then for the restores; both waits
		 * fit in what is left of the migration's timeout */
		left /= 2;
	}
	json_object_object_add(r, "restoreTimeoutSeconds",
			       json_object_new_int((int)(left < 10 ? 10 : left > 120 ? 120 : left)));
	return r;
}

static const char *status_phase_of(const char *agent_phase)
{
	static const struct {
		const char *agent, *status;
	} map[] = { { "prepare", "Preparing" }, { "freeze", "Preparing" },
		    { "dump", "Transferring" }, { "rootfs", "Transferring" },
		    { "staged", "Restoring" },
		    { "restore", "Restoring" }, { "commit", "Restoring" },
		    { "postcopy", "Restoring" }, { "cleanup", "Restoring" } };
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i].agent, agent_phase))
			return map[i].status;
	return NULL;
}

/* DELETE of the source pod, grace 0, only if it is still the pod we
 * validated (UID precondition). 404 counts as done. */
static int delete_source_exact(struct migration *m, ferry_error_t *err)
{
	char path[512];
	long status = 0;
	pod_path(m, k8s_str(m->v.pod, "metadata.name"), path, sizeof(path));
	_cleanup_json_ json_object *opts = json_object_new_object();
	json_object_object_add(opts, "apiVersion", json_object_new_string("v1"));
	json_object_object_add(opts, "kind", json_object_new_string("DeleteOptions"));
	json_object_object_add(opts, "gracePeriodSeconds", json_object_new_int(0));
	json_object_object_add(k8s_ensure(opts, "preconditions"), "uid",
			       json_object_new_string(m->source_uid));
	_cleanup_json_ json_object *r = k8s_request(m->c, "DELETE", path, opts, K8S_JSON, &status, err);
	if (!r && status == 404) {
		ferry_error_clear(err);
		return 0;
	}
	return r ? 0 : -1;
}

/* PROGRESS staged (StatefulSet pods): the checkpoint is complete on the
 * target node.  The hand-over entry first (the webhook binds the pod's
 * successor to the target node), then the source pod goes; its StatefulSet
 * re-creates it.  On failure the entry goes again and the agent, which
 * waits for a target pod that will not come, gives up after its restore
 * timeout. */
static void hand_over_statefulset_pod(struct migration *m)
{
	ferry_error_t err = { 0 };
	char msg[700];
	const char *target = k8s_str(m->target_node, "metadata.name");
	struct handover h = { 0 };
	snprintf(h.ns, sizeof(h.ns), "%s", m->ns);
	snprintf(h.pod, sizeof(h.pod), "%s", m->target_pod);
	snprintf(h.node, sizeof(h.node), "%s", target);
	snprintf(h.pod_ip, sizeof(h.pod_ip), "%s", k8s_str(m->v.pod, "status.podIP"));
	snprintf(h.migration, sizeof(h.migration), "%s", m->name);
	snprintf(h.source_uid, sizeof(h.source_uid), "%s", m->source_uid);
	if (!handover_put(&h)) {
		snprintf(m->handover_err, sizeof(m->handover_err),
			 "the controller's hand-over table is full (%d StatefulSet pods at once)",
			 HANDOVER_MAX);
		return;
	}
	if (delete_source_exact(m, &err) < 0) {
		handover_drop(m->ns, m->target_pod, m->name);
		snprintf(m->handover_err, sizeof(m->handover_err), "delete the source pod: %s",
			 err.message);
		log_warn("%s/%s: %s", m->ns, m->name, m->handover_err);
		return;
	}
	m->source_deleted = true;
	snprintf(msg, sizeof(msg), "checkpoint staged on %s; source pod deleted, its StatefulSet "
				   "re-creates %s there (admission webhook) and ferry restores it",
		 target, m->target_pod);
	pm_status_condition(&m->st, "SourceDeleted", true, "HandedOver", msg);
	write_status(m, NULL, msg);
	log_info("%s/%s: %s", m->ns, m->name, msg);
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
	if (!strcmp(phase, "staged") && m->sts && !m->staged) {
		m->staged = true;
		hand_over_statefulset_pod(m);
	}
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
			       .on_progress = on_progress, .data = m,
			       .agent_error = &m->agent_error };
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
		const char *uid = t ? k8s_str(t, "metadata.uid") : NULL;
		/* a StatefulSet pod's successor has the same name: not the source */
		bool successor = !m->sts || (uid && strcmp(uid, m->source_uid));
		if (t && successor && pod_ready(t))
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
	if (m->sts)
		return 0; /* the source went at the staging; this name is the successor's */
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
		if (m->marked && !m->source_deleted)
			unmark_source(m);
	}
	finish(m, false, err->message);
}

/* After a failed StatefulSet hand-over: the pod its StatefulSet re-created
 * for this migration (bound to the target node, waiting for a checkpoint
 * that will not be restored) is deleted, so the StatefulSet starts it again
 * from its image.  A pod that this migration did not make is left alone. */
static bool replace_successor(struct migration *m)
{
	char path[512];
	ferry_error_t err = { 0 };
	pod_path(m, m->target_pod, path, sizeof(path));
	_cleanup_json_ json_object *p = k8s_get(m->c, path, NULL, &err);
	const char *uid = p ? k8s_str(p, "metadata.uid") : NULL;
	const char *mig = p ? k8s_annotation(p, FERRY_ANN_MIGRATION) : NULL;
	if (!uid || !strcmp(uid, m->source_uid) || !mig || strcmp(mig, m->name))
		return false;
	_cleanup_json_ json_object *opts = json_object_new_object();
	json_object_object_add(opts, "gracePeriodSeconds", json_object_new_int(0));
	json_object_object_add(k8s_ensure(opts, "preconditions"), "uid", json_object_new_string(uid));
	_cleanup_json_ json_object *r = k8s_request(m->c, "DELETE", path, opts, K8S_JSON, NULL, &err);
	if (!r)
		log_warn("%s/%s: delete the re-created pod %s: %s", m->ns, m->name, m->target_pod,
			 err.message);
	return r != NULL;
}

/* A failure once the checkpoint was staged with a deferred target pod. */
static void fail_staged(struct migration *m, const ferry_error_t *err)
{
	char msg[1800];
	const char *target = k8s_str(m->target_node, "metadata.name");
	handover_drop(m->ns, m->target_pod, m->name);
	if (!m->source_deleted) {
		snprintf(msg, sizeof(msg), "the checkpoint was staged on %s but the pod could not be "
					   "handed over (%s); the agent then gave up: %s. The source "
					   "pod's containers were stopped at the hand-over point: its "
					   "kubelet starts them again from their image",
			 target, m->handover_err[0] ? m->handover_err : "unknown", err->message);
	} else if (m->agent_error) {
		bool replaced = replace_successor(m);
		snprintf(msg, sizeof(msg), "the source pod was deleted once its checkpoint was staged "
					   "on %s (StatefulSet hand-over), then the restore failed: "
					   "%s. The pod's in-memory state is lost; %s (its volume "
					   "claim and data are kept)",
			 target, err->message,
			 replaced ? "the re-created pod was deleted, so its StatefulSet starts it "
				    "afresh from its image"
				  : "its StatefulSet starts it afresh from its image");
	} else {
		snprintf(msg, sizeof(msg), "the source pod was deleted once its checkpoint was staged "
					   "on %s (StatefulSet hand-over), then: %s. The agents may "
					   "still restore it there (ferry-runc restores the staged "
					   "checkpoint if the re-created pod starts in time); look at "
					   "pod %s", target, err->message, m->target_pod);
	}
	finish(m, false, msg);
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
	/* the node agent's pod migration is stop-and-copy only (docs/k8s-node.md):
	 * a mode it would not honour is refused, not silently replaced */
	if (!strcmp(mode, "postcopy"))
		return ferry_error_set(err, 0, "spec.mode postcopy is not available for pods yet "
					       "(the node agents migrate pods stop-and-copy): use auto "
					       "or stop-copy");
	if (k8s_int(m->pm, "spec.timeoutSeconds", 300) <= 0)
		return ferry_error_set(err, 0, "spec.timeoutSeconds must be positive");
	if (validate_pod(m->c, m->ns, spec_str(m, "podName", NULL), &m->v, err) < 0)
		return -1;
	m->sts = m->v.owner_kind && !strcmp(m->v.owner_kind, "StatefulSet");
	char why[300];
	if (m->sts && !webhook_ready(why, sizeof(why)))
		return ferry_error_set(err, 0, "pod %s belongs to StatefulSet %s: it keeps its name, "
					       "which needs the controller's admission webhook: %s",
				       k8s_str(m->v.pod, "metadata.name"),
				       k8s_str(m->v.owner, "metadata.name"), why);
	snprintf(m->source_uid, sizeof(m->source_uid), "%s", k8s_str(m->v.pod, "metadata.uid") ?: "");
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
	write_status(m, "Preparing", m->sts ? "marking the source pod" : "creating the target pod");
	if (mark_source(m, &err) < 0 || timed_out(m, &err) || (!m->sts && create_target(m, &err) < 0))
		return fail(m, &err);
	if (m->sts) {
		/* the pod keeps its name: its successor is created by its
		 * StatefulSet once the source is gone (hand_over_statefulset_pod) */
		snprintf(m->target_pod, sizeof(m->target_pod), "%s", k8s_str(m->v.pod, "metadata.name"));
		pm_status_str(&m->st, "targetPod", m->target_pod);
		snprintf(msg, sizeof(msg), "migrating StatefulSet pod %s from %s to %s (it keeps its "
					   "name: its StatefulSet re-creates it there once the "
					   "checkpoint is staged)", m->target_pod, m->source_node, target);
		pm_status_condition(&m->st, "TargetPodCreated", false, "Deferred",
				    "the StatefulSet re-creates the pod on the target node after "
				    "the checkpoint is staged");
	} else {
		snprintf(msg, sizeof(msg), "migrating pod %s from %s to %s as %s",
			 spec_str(m, "podName", ""), m->source_node, target, m->target_pod);
		pm_status_condition(&m->st, "TargetPodCreated", true, "Created", m->target_pod);
	}
	write_status(m, NULL, msg);
	k8s_event(m->c, m->v.pod, "Normal", "MigrationStarted", "%s (PodMigration %s)", msg, m->name);
	if (timed_out(m, &err) || call_agent(m, &err) < 0) {
		if (!m->committed && m->staged)
			return fail_staged(m, &err);
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
	if (m->sts)
		pm_status_condition(&m->st, "TargetPodCreated", true, "CreatedByStatefulSet",
				    m->target_pod);
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
	if (m.sts && m.target_pod[0])
		handover_drop(m.ns, m.target_pod, m.name);
	validated_free(&m.v);
	json_object_put(m.target_node);
	json_object_put(m.held_keys);
	pm_status_free(&m.st);
}
