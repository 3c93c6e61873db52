/*
 * podsource.c - the source half of a pod migration (see podmigrate.h).
 */
#include "k8snode/podmigrate.h"
#include "k8snode/cniipam.h"
#include "k8snode/podinfo.h"
#include "k8snode/podrestore.h"
#include "k8snode/runcshim.h"
#include "k8snode/staging.h"
#include "container/runc.h"
#include "migrate/peer.h"
#include "migrate/stream.h"
#include "net/netns.h"
#include "net/route.h"
#include "sandbox/node.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/proc.h"
#include "wire/frame.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>


struct source;
static int send_empty_dirs(struct source *s, ferry_error_t *err);

struct source {
	const struct k8s_agent *a;
	json_object *request;
	struct migration_report *report;
	char namespace[64], pod[256], target_pod[256];
	struct node_info self, target;
	struct pod_info info;
	struct runc_ctx runc;
	char work[PATH_MAX];
	struct wire_conn conn;  /* to the target agent (mutual TLS) */
	bool connected;
	int pod_netns;
	bool locked, paused[POD_MAX_CONTAINERS], committed;
	/* deferTarget (a StatefulSet hand-over): the target pod is created only
	 * once the checkpoint is staged; past that point (staged) the source pod
	 * is being deleted and is never thawed again */
	bool defer, staged;
	int restore_timeout_s;
	char owner_key[600], owner_pod[400];  /* the address's owner before the hold */
	struct wire_frame frame;
};

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v) : "";
}

static int copy_field(json_object *o, const char *key, char *out, size_t size, ferry_error_t *err)
{
	const char *v = jstr(o, key);
	if (!*v)
		return ferry_error_set(err, 0, "migrate-pod: missing \"%s\"", key);
	if (strlen(v) >= size)
		return ferry_error_set(err, 0, "migrate-pod: \"%s\" too long", key);
	snprintf(out, size, "%s", v);
	return 0;
}

static int parse_request(struct source *s, json_object *req, ferry_error_t *err)
{
	json_object *t, *port;
	char dummy[PATH_MAX];
	if (copy_field(req, "namespace", s->namespace, sizeof(s->namespace), err) < 0 ||
	    copy_field(req, "pod", s->pod, sizeof(s->pod), err) < 0 ||
	    copy_field(req, "targetPod", s->target_pod, sizeof(s->target_pod), err) < 0)
		return -1;
	if (staging_pod_dir(s->namespace, s->pod, dummy, err) < 0 ||
	    staging_pod_dir(s->namespace, s->target_pod, dummy, err) < 0)
		return -1;
	if (!json_object_object_get_ex(req, "target", &t) ||
	    !json_object_is_type(t, json_type_object))
		return ferry_error_set(err, 0, "migrate-pod: missing \"target\" {node, address, port}");
	if (copy_field(t, "node", s->target.name, sizeof(s->target.name), err) < 0 ||
	    copy_field(t, "address", s->target.address, sizeof(s->target.address), err) < 0)
		return ferry_error_prefix(err, "target");
	s->target.migration_port = json_object_object_get_ex(t, "port", &port)
					   ? json_object_get_int(port) : 7070;
	if (s->target.migration_port <= 0 || s->target.migration_port > 65535)
		return ferry_error_set(err, 0, "migrate-pod: bad target port");
	if (!strcmp(s->target.name, s->a->node))
		return ferry_error_set(err, 0, "migrate-pod: the target is this node");
	json_object *v;
	s->defer = json_object_object_get_ex(req, "deferTarget", &v) && json_object_get_boolean(v);
	s->restore_timeout_s = json_object_object_get_ex(req, "restoreTimeoutSeconds", &v)
				       ? json_object_get_int(v) : 0;
	if (s->restore_timeout_s < 0 || s->restore_timeout_s > 3600)
		return ferry_error_set(err, 0, "migrate-pod: restoreTimeoutSeconds out of range");
	return 0;
}

/* The request's podIP and containers, when given, must match what this node runs. */
static int check_request(struct source *s, json_object *req, ferry_error_t *err)
{
	json_object *cs;
	const char *ip = jstr(req, "podIP");
	if (*ip && strcmp(ip, s->info.ip))
		return ferry_error_set(err, 0, "pod %s/%s has IP %s here, not %s", s->namespace,
				       s->pod, s->info.ip, ip);
	if (!json_object_object_get_ex(req, "containers", &cs) ||
	    !json_object_is_type(cs, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(cs); i++) {
		json_object *c = json_object_array_get_idx(cs, i);
		const char *name = jstr(c, "name"), *id = jstr(c, "containerID");
		if (!strncmp(id, "containerd://", 13))
			id += 13;
		int found = 0;
		for (int k = 0; k < s->info.n; k++)
			found |= !strcmp(s->info.c[k].name, name) && (!*id || !strcmp(s->info.c[k].id, id));
		if (!found)
			return ferry_error_set(err, 0, "container %s (%s) of pod %s/%s is not running "
						       "on this node", name, id, s->namespace, s->pod);
	}
	return 0;
}

/* How long the target waits for the target pod's sandbox, and again for
 * its restores (restoreTimeoutSeconds, else ferry-runc's own wait). */
static int restore_wait_s(const struct source *s)
{
	return s->restore_timeout_s > 0 ? s->restore_timeout_s : podrestore_wait_ms() / 1000;
}

static int phase_prepare(struct source *s, ferry_error_t *err)
{
	char path[64];
	report_phase_begin(s->report, "prepare");
	if (podinfo_find(s->a->runc_root, s->namespace, s->pod, &s->info, err) < 0 ||
	    podinfo_ip(s->a->cni_data, s->a->node, s->namespace, s->pod, s->info.ip, err) < 0)
		return -1;
	if (s->info.n == 0)
		return ferry_error_set(err, 0, "pod %s/%s has no running container on %s",
				       s->namespace, s->pod, s->a->node);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)s->info.sandbox_pid);
	s->pod_netns = open(path, O_RDONLY | O_CLOEXEC);
	if (s->pod_netns < 0)
		return ferry_error_set(err, errno, "pod network namespace %s", path);
	snprintf(s->work, sizeof(s->work), "%s/outgoing/%s_%s", staging_state_dir(), s->namespace,
		 s->pod);
	if (fs_rm_rf(s->work, err) < 0 || fs_mkdir_p(s->work, 0700, err) < 0)
		return -1;
	struct node self = { .self = s->self, .host_netns_fd = -1, .tls = s->a->tls };
	if (peer_connect(&self, &s->target, &s->conn, &s->frame, err) < 0)
		return -1;
	s->connected = true;
	_cleanup_json_ json_object *p = json_object_new_object();
	json_object *names = json_object_new_array();
	for (int i = 0; i < s->info.n; i++)
		json_object_array_add(names, json_object_new_string(s->info.c[i].name));
	json_object_object_add(p, "kind", json_object_new_string("pod"));
	json_object_object_add(p, "namespace", json_object_new_string(s->namespace));
	json_object_object_add(p, "targetPod", json_object_new_string(s->target_pod));
	json_object_object_add(p, "sourcePod", json_object_new_string(s->pod));
	json_object_object_add(p, "podIP", json_object_new_string(s->info.ip));
	json_object_object_add(p, "containers", names);
	if (s->restore_timeout_s > 0)
		json_object_object_add(p, "restoreTimeoutSeconds",
				       json_object_new_int(s->restore_timeout_s));
	if (s->defer)
		json_object_object_add(p, "deferTarget", json_object_new_boolean(1));
	/* an existing target pod: the target answers once its sandbox runs */
	if (!s->defer && wire_set_timeouts(s->conn.fd, (restore_wait_s(s) + 30) * 1000, err) < 0)
		return -1;
	if (wire_send_json(&s->conn, WIRE_PREPARE, p, err) < 0 ||
	    wire_expect(&s->conn, &s->frame, WIRE_PREPARED, err) < 0)
		return ferry_error_prefix(err, "target %s", s->target.name);
	return wire_set_timeouts(s->conn.fd, PEER_IO_TIMEOUT_MS, err);
}

/* `runc --root <containerd's root> VERB ID [ARG]` (pause, kill) */
static int pod_runc(const struct source *s, const char *verb, const char *id, const char *arg,
		    ferry_error_t *err)
{
	char real[PATH_MAX];
	if (runcshim_real_runc(real, err) < 0)
		return -1;
	const char *argv[] = { real, "--root", s->runc.root, verb, id, arg, NULL };
	return proc_run(argv, NULL, err);
}

static int phase_freeze(struct source *s, ferry_error_t *err)
{
	report_phase_begin(s->report, "freeze");
	s->report->freeze_at = clock_now_ms();
	if (netns_nft_fd(s->pod_netns, PODMIGRATE_LOCK_RULESET, err) < 0)
		return ferry_error_prefix(err, "lock the pod's traffic");
	s->locked = true;
	for (int i = 0; i < s->info.n; i++) {
		if (!strcmp(s->info.c[i].status, "paused"))
			continue; /* paused by someone else: left as found on rollback */
		if (pod_runc(s, "pause", s->info.c[i].id, NULL, err) < 0)
			return ferry_error_prefix(err, "freeze container %s", s->info.c[i].name);
		s->paused[i] = true;
	}
	return 0;
}

/* Sends every regular file of dir as <prefix>/<file> in SPACE_IMAGES. */
static int send_dir(struct source *s, const char *dir, const char *prefix, ferry_error_t *err)
{
	_cleanup_dir_ DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX], name[PATH_MAX];
	if (!d)
		return ferry_error_set(err, errno, "open %s", dir);
	while ((e = readdir(d))) {
		if (e->d_type != DT_REG)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		snprintf(name, sizeof(name), "%s/%s", prefix, e->d_name);
		if (stream_send_file(&s->conn, SPACE_IMAGES, path, name, &s->report->bytes_sent,
				     err) < 0)
			return -1;
	}
	return 0;
}

static int phase_dump(struct source *s, ferry_error_t *err)
{
	char img[PATH_MAX + 80], wk[PATH_MAX + 80], prefix[128];
	report_phase_begin(s->report, "dump");
	for (int i = 0; i < s->info.n; i++) {
		struct pod_container *c = &s->info.c[i];
		struct proc p;
		snprintf(img, sizeof(img), "%s/%s/images", s->work, c->name);
		snprintf(wk, sizeof(wk), "%s/%s/work", s->work, c->name);
		if (fs_mkdir_p(img, 0700, err) < 0 || fs_mkdir_p(wk, 0700, err) < 0)
			return -1;
		struct runc_checkpoint_opts o = { .image_dir = img, .work_dir = wk,
						  .leave_running = true, .status_fd = -1 };
		if (runc_checkpoint_spawn(&s->runc, c->id, &o, &p, err) < 0 ||
		    proc_finish(&p, NULL, err) < 0)
			return ferry_error_prefix(err, "checkpoint container %s (CRIU log kept in "
						       "%s/logs/%s_%s/dump.log)", c->name,
						  staging_state_dir(), s->namespace, s->pod);
		snprintf(prefix, sizeof(prefix), "%s/images", c->name);
		if (send_dir(s, img, prefix, err) < 0)
			return ferry_error_prefix(err, "send images of %s", c->name);
		report_progress(s->report);
	}
	return 0;
}

/* The overlay upperdir of a running container: its root mount, as its own
 * mount namespace shows it (/proc/PID/mountinfo), so this works from an
 * agent whose mount namespace does not see mounts made after it started. */
static int upperdir_of(pid_t pid, char out[PATH_MAX], ferry_error_t *err)
{
	char path[64];
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	_cleanup_file_ FILE *f = fopen(path, "re");
	if (!f)
		return ferry_error_set(err, errno, "%s", path);
	while (getline(&line, &cap, f) > 0) {
		char mnt[PATH_MAX], *up;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 || strcmp(mnt, "/") ||
		    !strstr(line, " - overlay ") || !(up = strstr(line, "upperdir=")))
			continue;
		up += 9;
		size_t n = strcspn(up, ", \n");
		if (n < PATH_MAX) {
			memcpy(out, up, n);
			out[n] = 0;
			return 0;
		}
	}
	return ferry_error_set(err, 0, "no overlay root in %s", path);
}

static int phase_rootfs(struct source *s, ferry_error_t *err)
{
	char upper[PATH_MAX], tar[PATH_MAX + 80], name[128];
	report_phase_begin(s->report, "rootfs");
	for (int i = 0; i < s->info.n; i++) {
		struct pod_container *c = &s->info.c[i];
		if (upperdir_of(c->pid, upper, err) < 0)
			return ferry_error_prefix(err, "writable layer of %s", c->name);
		snprintf(tar, sizeof(tar), "%s/%s/rootfs.tar", s->work, c->name);
		const char *argv[] = { "tar", "-C", upper, "--xattrs", "--xattrs-include=*",
				       "--numeric-owner", "-cpf", tar, ".", NULL };
		if (proc_run(argv, NULL, err) < 0)
			return ferry_error_prefix(err, "pack the writable layer of %s", c->name);
		snprintf(name, sizeof(name), "%s/rootfs.tar", c->name);
		if (stream_send_file(&s->conn, SPACE_IMAGES, tar, name, &s->report->bytes_sent,
				     err) < 0)
			return -1;
	}
	return send_empty_dirs(s, err);
}

/* The emptyDir volumes the pod's containers mount (config.json mounts whose
 * source is a kubelet .../volumes/kubernetes.io~empty-dir/<name>), each sent
 * once as _emptydir/<name>.tar. */
static int send_empty_dirs(struct source *s, ferry_error_t *err)
{
	static const char marker[] = "/volumes/kubernetes.io~empty-dir/";
	char sent[POD_MAX_CONTAINERS * 8][64];
	int n_sent = 0;
	for (int i = 0; i < s->info.n; i++) {
		char cfg_path[PATH_MAX];
		snprintf(cfg_path, sizeof(cfg_path), "%s/config.json", s->info.c[i].bundle);
		_cleanup_json_ json_object *cfg = json_object_from_file(cfg_path);
		json_object *mounts;
		if (!cfg || !json_object_object_get_ex(cfg, "mounts", &mounts) ||
		    !json_object_is_type(mounts, json_type_array))
			continue;
		for (size_t m = 0; m < json_object_array_length(mounts); m++) {
			const char *src = jstr(json_object_array_get_idx(mounts, m), "source");
			const char *at = strstr(src, marker);
			if (!at)
				continue;
			const char *name = at + strlen(marker);
			if (!*name || strchr(name, '/') || strlen(name) >= 64)
				continue;
			int dup = 0;
			for (int k = 0; k < n_sent; k++)
				dup |= !strcmp(sent[k], name);
			if (dup || n_sent == (int)(sizeof(sent) / sizeof(sent[0])))
				continue;
			snprintf(sent[n_sent++], 64, "%s", name);
			char tar[PATH_MAX + 80], wire_name[128];
			snprintf(tar, sizeof(tar), "%s/emptydir-%s.tar", s->work, name);
			const char *argv[] = { "tar", "-C", src, "--xattrs", "--xattrs-include=*",
					       "--numeric-owner", "-cpf", tar, ".", NULL };
			if (proc_run(argv, NULL, err) < 0)
				return ferry_error_prefix(err, "pack emptyDir %s", name);
			snprintf(wire_name, sizeof(wire_name), "_emptydir/%s.tar", name);
			if (stream_send_file(&s->conn, SPACE_IMAGES, tar, wire_name,
					     &s->report->bytes_sent, err) < 0)
				return -1;
		}
	}
	return 0;
}

static void cni_cfg(const struct source *s, struct cni_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->node, sizeof(cfg->node), "%s", s->a->node);
	snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", s->a->cni_data);
}

static void hold_what(const struct source *s, char *out, size_t size)
{
	snprintf(out, size, "%s/%s/%s", s->target.name, s->namespace, s->target_pod);
}

/* Deferred target: the source pod is about to be deleted, and the kubelet's
 * CNI DEL of its sandbox must not free the address that is moving. */
static int hold_address(struct source *s, ferry_error_t *err)
{
	struct cni_config cfg;
	char what[400];
	cni_cfg(s, &cfg);
	hold_what(s, what, sizeof(what));
	if (cniipam_owner(&cfg, s->info.ip, s->owner_key, s->owner_pod, err) < 0 ||
	    cniipam_hold(&cfg, s->info.ip, what, err) < 0)
		return ferry_error_prefix(err, "hold %s in this node's allocator", s->info.ip);
	return 0;
}

static int phase_restore(struct source *s, ferry_error_t *err)
{
	if (!s->defer)
		report_phase_begin(s->report, "restore");
	_cleanup_json_ json_object *done = json_object_new_object();
	if (wire_send_json(&s->conn, WIRE_DUMP_DONE, done, err) < 0)
		return ferry_error_prefix(err, "restore on %s", s->target.name);
	if (s->defer) {
		/* the target confirms that every image arrived whole */
		if (wire_expect(&s->conn, &s->frame, WIRE_PROGRESS, err) < 0)
			return ferry_error_prefix(err, "staging on %s", s->target.name);
		if (hold_address(s, err) < 0)
			return -1;
		s->staged = true;
		/* PROGRESS staged: the controller deletes the source pod now and
		 * the target pod appears when its owner re-creates it */
		report_phase_begin(s->report, "staged");
		/* the target waits up to the timeout for the sandbox, then as long
		 * again for the restores */
		if (wire_set_timeouts(s->conn.fd, (2 * restore_wait_s(s) + 30) * 1000, err) < 0)
			return -1;
	}
	if (wire_expect(&s->conn, &s->frame, WIRE_RESTORED, err) < 0)
		return ferry_error_prefix(err, "restore on %s", s->target.name);
	return 0;
}

static int phase_commit(struct source *s, ferry_error_t *err)
{
	report_phase_begin(s->report, "commit");
	/* the fabric first: from here on the target receives the pod's traffic */
	if (route_replace_v4(s->a->host_netns_fd, s->info.ip, 32, s->target.address, NULL, err) < 0)
		return ferry_error_prefix(err, "move the route of %s to %s", s->info.ip,
					  s->target.name);
	s->committed = true;
	s->report->running_at = clock_now_ms();
	ferry_error_t soft = { 0 };
	if (route_replace_v4(-1, s->info.ip, 32, s->target.address, NULL, &soft) < 0)
		log_warn("node route for %s: %s", s->info.ip, soft.message);
	if (staging_mark_migrated(s->info.sandbox_id, &soft) < 0)
		log_warn("mark %s/%s migrated away: %s", s->namespace, s->pod, soft.message);
	struct cni_config cfg;
	char what[400];
	cni_cfg(s, &cfg);
	hold_what(s, what, sizeof(what));
	if (cniipam_hold(&cfg, s->info.ip, what, &soft) < 0)
		log_warn("hold %s in this node's allocator: %s", s->info.ip, soft.message);
	_cleanup_json_ json_object *c = json_object_new_object();
	if (wire_send_json(&s->conn, WIRE_COMMIT, c, &soft) < 0)
		log_warn("COMMIT to %s: %s (it owns the pod anyway)", s->target.name, soft.message);
	return 0;
}

static void kill_containers(struct source *s)
{
	/* (after a StatefulSet hand-over the kubelet may have removed them
	 * already: nothing to do then) */
	for (int i = 0; i < s->info.n; i++) {
		/* a frozen task gets SIGKILL only once thawed */
		ferry_error_t ignored = { 0 };
		pod_runc(s, "kill", s->info.c[i].id, "KILL", &ignored);
		runc_resume(&s->runc, s->info.c[i].id, &ignored);
	}
}

static void phase_cleanup(struct source *s)
{
	report_phase_begin(s->report, "cleanup");
	kill_containers(s);
	ferry_error_t ignored = { 0 };
	fs_rm_rf(s->work, &ignored);
}

static void rollback(struct source *s, const char *why)
{
	ferry_error_t e = { 0 };
	if (s->connected) {
		_cleanup_json_ json_object *m = json_object_new_object();
		json_object_object_add(m, "error", json_object_new_string(why));
		wire_send_json(&s->conn, WIRE_ABORT, m, &e);
	}
	if (s->locked && netns_nft_fd(s->pod_netns, "flush ruleset\n", &e) < 0)
		log_error("rollback: unlock %s/%s: %s", s->namespace, s->pod, e.message);
	for (int i = 0; i < s->info.n; i++)
		if (s->paused[i] && runc_resume(&s->runc, s->info.c[i].id, &e) < 0)
			log_error("rollback: resume %s: %s", s->info.c[i].name, e.message);
	char keep[PATH_MAX + 16];
	snprintf(keep, sizeof(keep), "%s/logs/%s_%s", staging_state_dir(), s->namespace, s->pod);
	if (s->work[0])
		fs_keep_logs_and_remove(s->work, keep); /* CRIU's logs stay for the operator */
	log_info("migration of %s/%s rolled back: the source runs on (%s)", s->namespace, s->pod,
		 why);
}

/* A failure after the checkpoint was staged with a deferred target: the
 * source pod is being deleted (the StatefulSet hand-over), so it is not
 * thawed: a thawed copy would run beside the one its owner re-creates.  Its
 * containers are killed; the address goes back to the sandbox if that still
 * runs (the controller could not delete the pod: the kubelet restarts the
 * containers from their image), else it is freed. */
static void abandon(struct source *s, const char *why)
{
	ferry_error_t e = { 0 };
	struct cni_config cfg;
	struct pod_info now;
	char what[400], keep[PATH_MAX + 16];
	_cleanup_json_ json_object *m = json_object_new_object();
	json_object_object_add(m, "error", json_object_new_string(why));
	wire_send_json(&s->conn, WIRE_ABORT, m, &e);
	kill_containers(s);
	bool alive = podinfo_find(s->a->runc_root, s->namespace, s->pod, &now, &e) == 0 &&
		     !strcmp(now.sandbox_id, s->info.sandbox_id);
	if (alive && netns_nft_fd(s->pod_netns, "flush ruleset\n", &e) < 0)
		log_warn("unlock %s/%s: %s", s->namespace, s->pod, e.message);
	cni_cfg(s, &cfg);
	hold_what(s, what, sizeof(what));
	if (cniipam_unhold(&cfg, s->info.ip, what, s->owner_key, s->owner_pod, alive, &e) < 0)
		log_warn("give %s back: %s", s->info.ip, e.message);
	snprintf(keep, sizeof(keep), "%s/logs/%s_%s", staging_state_dir(), s->namespace, s->pod);
	fs_keep_logs_and_remove(s->work, keep);
	log_error("migration of %s/%s failed after its checkpoint was staged on %s (%s): the source "
		  "pod was handed over, its containers are stopped%s", s->namespace, s->pod,
		  s->target.name, why, alive ? "; its sandbox still runs" : "");
}

int podmigrate_source(const struct k8s_agent *a, json_object *request,
		      struct wire_conn *progress, struct migration_report *report,
		      ferry_error_t *err)
{
	struct source s = { .a = a, .request = request, .report = report, .pod_netns = -1 };
	snprintf(s.self.name, sizeof(s.self.name), "%s", a->node);
	snprintf(s.self.address, sizeof(s.self.address), "%s", a->address);
	snprintf(s.runc.root, sizeof(s.runc.root), "%s", a->runc_root);
	int rc = parse_request(&s, request, err);
	char name[400];
	snprintf(name, sizeof(name), "%s/%s", s.namespace, s.pod);
	report_init(report, name, a->node, s.target.name, "stop-copy", progress);
	if (rc == 0)
		rc = phase_prepare(&s, err);
	if (rc == 0)
		rc = check_request(&s, request, err);
	if (rc == 0)
		rc = phase_freeze(&s, err);
	if (rc == 0)
		rc = phase_dump(&s, err);
	if (rc == 0)
		rc = phase_rootfs(&s, err);
	if (rc == 0)
		rc = phase_restore(&s, err);
	if (rc == 0)
		rc = phase_commit(&s, err);
	if (rc == 0)
		phase_cleanup(&s);
	else if (!s.committed && s.staged)
		abandon(&s, err->message);
	else if (!s.committed)
		rollback(&s, err->message);
	report_finish(report, rc < 0 ? err->message : NULL);
	if (s.connected)
		wire_conn_close(&s.conn);
	if (s.pod_netns >= 0)
		close(s.pod_netns);
	wire_frame_release(&s.frame);
	return rc;
}
