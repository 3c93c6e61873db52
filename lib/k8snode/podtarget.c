/*
 * podtarget.c - the target half of a pod migration (see podmigrate.h): the
 * staging directory for the target pod, filled from the source's stream, then
 * handed to ferry-runc container by container (`ready`), and watched until
 * ferry-runc has restored them all (`restored`) or one failed (`failed`).
 * With deferTarget (a StatefulSet hand-over) the target pod does not exist
 * yet when the images arrive: PROGRESS staged tells the source they are all
 * here, then the wait for the pod's sandbox is restoreTimeoutSeconds long.
 */
#include "k8snode/podmigrate.h"
#include "k8snode/podinfo.h"
#include "net/netns.h"
#include "k8snode/podrestore.h"
#include "k8snode/staging.h"
#include "migrate/stream.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"
#include "wire/frame.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct target {
	struct wire_conn *conn;
	char dir[PATH_MAX];
	char namespace[64], pod[256];
	char names[POD_RESTORE_MAX][64];
	int n;
	int wait_ms;            /* for ferry-runc to restore every container */
	bool defer;             /* the target pod is created only after the staging */
	struct stream_receiver rx;
	struct wire_frame frame;
};

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v) : "";
}

static bool container_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 63)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

static void marker(const struct target *t, const char *name, const char *file, char *out, size_t n)
{
	snprintf(out, n, "%s/%s/%s", t->dir, name, file);
}

static int prepare(struct target *t, json_object *p, ferry_error_t *err)
{
	json_object *cs;
	char list[8192] = "", path[PATH_MAX + 80];
	size_t len = 0;
	snprintf(t->namespace, sizeof(t->namespace), "%s", jstr(p, "namespace"));
	snprintf(t->pod, sizeof(t->pod), "%s", jstr(p, "targetPod"));
	if (strcmp(jstr(p, "kind"), "pod"))
		return ferry_error_set(err, 0, "this agent runs in Kubernetes mode: pods only");
	if (staging_pod_dir(t->namespace, t->pod, t->dir, err) < 0)
		return -1;
	if (!json_object_object_get_ex(p, "containers", &cs) ||
	    !json_object_is_type(cs, json_type_array) || !json_object_array_length(cs) ||
	    json_object_array_length(cs) > POD_RESTORE_MAX)
		return ferry_error_set(err, 0, "PREPARE: 1 to %d containers expected", POD_RESTORE_MAX);
	if (fs_rm_rf(t->dir, err) < 0)
		return -1;
	for (size_t i = 0; i < json_object_array_length(cs); i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(cs, i));
		if (!name || !container_name_ok(name))
			return ferry_error_set(err, 0, "PREPARE: bad container name");
		snprintf(t->names[t->n++], 64, "%s", name);
		snprintf(path, sizeof(path), "%s/%s/images", t->dir, name);
		if (fs_mkdir_p(path, 0700, err) < 0)
			return -1;
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s\n", name);
	}
	snprintf(path, sizeof(path), "%s/_emptydir", t->dir);
	if (fs_mkdir_p(path, 0700, err) < 0)
		return -1;
	/* ferry-runc starts waiting for this list as soon as the target pod's
	 * first container is created: written last, atomically */
	snprintf(path, sizeof(path), "%s/containers", t->dir);
	if (fs_replace_file(path, list, len, err) < 0)
		return -1;
	snprintf(t->rx.roots[SPACE_IMAGES], sizeof(t->rx.roots[0]), "%s", t->dir);
	json_object *to, *d;
	t->defer = json_object_object_get_ex(p, "deferTarget", &d) && json_object_get_boolean(d);
	t->wait_ms = podrestore_wait_ms();
	if (json_object_object_get_ex(p, "restoreTimeoutSeconds", &to) &&
	    json_object_get_int(to) > 0 && json_object_get_int(to) <= 3600)
		t->wait_ms = json_object_get_int(to) * 1000;
	log_info("staging %s/%s for %d container(s) from pod %s", t->namespace, t->pod, t->n,
		 jstr(p, "sourcePod"));
	return 0;
}

static int receive(struct target *t, ferry_error_t *err)
{
	for (;;) {
		struct wire_header h;
		if (wire_recv_header(t->conn, &h, err) < 0)
			return ferry_error_prefix(err, "receiving the pod's state");
		if (h.type == WIRE_FILE_DATA) {
			if (stream_receiver_data_from(&t->rx, t->conn, &h, err) < 0)
				return -1;
			continue;
		}
		if (wire_recv_payload(t->conn, &h, &t->frame, err) < 0)
			return -1;
		if (t->frame.type == WIRE_DUMP_DONE)
			return stream_receiver_check_complete(&t->rx, err);
		if (t->frame.type != WIRE_FILE_END)
			return t->frame.type == WIRE_ABORT || t->frame.type == WIRE_ERROR
				       ? wire_frame_error(&t->frame, err)
				       : ferry_error_set(err, 0, "protocol error: unexpected %s",
							 wire_type_name(t->frame.type));
		_cleanup_json_ json_object *m = wire_frame_json(&t->frame, err);
		if (!m || stream_receiver_end(&t->rx, m, err) < 0)
			return -1;
	}
}

/* The target pod's network namespace, once its sandbox runs (the kubelet
 * may still be creating it): an fd, or -1 with err. */
static int target_netns(const struct k8s_agent *a, struct target *t, ferry_error_t *err)
{
	struct pod_info info;
	char path[64];
	double until = clock_now_ms() + t->wait_ms;
	struct timespec step = { 0, 20 * 1000 * 1000 };
	while (podinfo_find(a->runc_root, t->namespace, t->pod, &info, err) < 0) {
		if (clock_now_ms() > until)
			return ferry_error_prefix(err, "the target pod's sandbox did not start within "
						       "%d s (is its node's kubelet running?)",
						  t->wait_ms / 1000);
		ferry_error_clear(err);
		nanosleep(&step, NULL);
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)info.sandbox_pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ferry_error_set(err, errno, "open %s", path);
	return fd;
}

/* Marks every container ready, then waits for ferry-runc to restore them all. */
static int hand_over(struct target *t, ferry_error_t *err)
{
	char path[PATH_MAX + 80];
	for (int i = 0; i < t->n; i++) {
		marker(t, t->names[i], "ready", path, sizeof(path));
		if (fs_replace_file(path, "ready\n", 6, err) < 0)
			return -1;
	}
	double until = clock_now_ms() + t->wait_ms;
	struct timespec step = { 0, 5 * 1000 * 1000 };
	for (int done = 0; done < t->n;) {
		done = 0;
		for (int i = 0; i < t->n; i++) {
			marker(t, t->names[i], "failed", path, sizeof(path));
			if (fs_exists(path)) {
				_cleanup_free_ char *why = fs_read_file(path, NULL, err);
				return ferry_error_set(err, 0, "restore of container %s failed: %s",
						       t->names[i], why ? why : "?");
			}
			marker(t, t->names[i], "restored", path, sizeof(path));
			done += fs_exists(path);
		}
		if (done < t->n && clock_now_ms() > until)
			return ferry_error_set(err, 0, "the target pod's containers were not "
						       "restored within %d s (is the pod created?)",
					       t->wait_ms / 1000);
		if (done < t->n)
			nanosleep(&step, NULL);
	}
	return 0;
}

static void abort_staging(struct target *t)
{
	char path[PATH_MAX + 16];
	ferry_error_t ignored = { 0 };
	if (!t->dir[0])
		return;
	snprintf(path, sizeof(path), "%s/aborted", t->dir);
	fs_replace_file(path, "aborted\n", 8, &ignored);
}

int podmigrate_target(const struct k8s_agent *a, struct wire_conn *sock, json_object *p,
		      ferry_error_t *err)
{
	struct target t = { .conn = sock };
	stream_receiver_init(&t.rx);
	double t0 = clock_now_ms();
	int rc = prepare(&t, p, err);
	/* a target pod that exists already: its sandbox must run before the
	 * source freezes anything, so a kubelet that is down fails the
	 * migration here and the downtime never includes the sandbox's start */
	_cleanup_fd_ int netns = -1;
	if (rc == 0 && !t.defer && (netns = target_netns(a, &t, err)) < 0)
		rc = -1;
	if (rc == 0) {
		_cleanup_json_ json_object *ok = json_object_new_object();
		rc = wire_send_json(sock, WIRE_PREPARED, ok, err);
	}
	if (rc == 0)
		rc = receive(&t, err);
	if (rc == 0 && t.defer) {
		/* every image arrived whole: the source may hand the pod over (its
		 * owner re-creates it here, which can take a while) */
		_cleanup_json_ json_object *st = json_object_new_object();
		json_object_object_add(st, "phase", json_object_new_string("staged"));
		rc = wire_send_json(sock, WIRE_PROGRESS, st, err);
		if (rc == 0)
			log_info("%s/%s staged; waiting up to %d s for its pod", t.namespace, t.pod,
				 t.wait_ms / 1000);
	}
	double received = clock_now_ms();
	if (rc == 0 && netns < 0 && (netns = target_netns(a, &t, err)) < 0)
		rc = -1;
	if (rc == 0)
		rc = netns_nft_fd(netns, PODMIGRATE_LOCK_RULESET, err);
	if (rc == 0) {
		rc = hand_over(&t, err);
		ferry_error_t e = { 0 };
		if (netns_nft_fd(netns, PODMIGRATE_UNLOCK_RULESET, &e) < 0)
			log_warn("unlock the target pod's traffic: %s", e.message);
	}
	if (rc == 0) {
		_cleanup_json_ json_object *r = json_object_new_object();
		json_object_object_add(r, "restore_ms",
				       json_object_new_double(clock_now_ms() - received));
		rc = wire_send_json(sock, WIRE_RESTORED, r, err);
	}
	if (rc == 0) {
		rc = wire_expect(sock, &t.frame, WIRE_COMMIT, err);
		if (rc < 0)
			ferry_error_prefix(err, "waiting for COMMIT (the source keeps the pod)");
	}
	if (rc < 0) {
		abort_staging(&t);
		if (t.dir[0])
			wire_send_error(sock, err->message);
	} else {
		ferry_error_t ignored = { 0 };
		fs_rm_rf(t.dir, &ignored);
		log_info("pod %s/%s is ours (%.0f ms from PREPARE)", t.namespace, t.pod,
			 clock_now_ms() - t0);
	}
	stream_receiver_release(&t.rx);
	wire_frame_release(&t.frame);
	return rc;
}
