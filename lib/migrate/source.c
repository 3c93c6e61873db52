/*
 * source.c - see source.h.
 */
#include "migrate/source.h"
#include "container/pod.h"
#include "container/store.h"
#include "migrate/peer.h"
#include "migrate/stream.h"
#include "migrate/tree.h"
#include "net/hold.h"
#include "net/podnet.h"
#include "net/route.h"
#include "sandbox/config.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/names.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

struct source {
	const struct node *node;
	json_object *record;          /* owned */
	const struct node_info *target;
	struct pod_net pn;
	struct migration_report *report;
	const char *fault;            /* test-only fault injection, or "" */
	int sock;
	struct wire_frame frame;
	char images[PATH_MAX], work[PATH_MAX], scratch[PATH_MAX];
	struct hold hold;             /* the pod's incoming packets during the move */
	bool holding, frozen, locked, committed;
};

static int validate(struct source *s, json_object *request, ferry_error_t *err)
{
	const char *name = record_str(request, "name");
	const char *to = record_str(request, "to");
	char status[32];
	if (!name_is_valid(name))
		return ferry_error_set(err, 0, "invalid container name '%s'", name);
	s->record = store_load(s->node->self.name, name, err);
	if (!s->record)
		return -1;
	if (!strcmp(to, s->node->self.name))
		return ferry_error_set(err, 0, "container %s is already on %s", name, to);
	s->target = topology_find(&s->node->topology, to);
	if (!s->target)
		return ferry_error_set(err, 0, "unknown target node '%s'", to);
	if (runc_state(&s->node->runc, name, status, NULL, err) < 0)
		return -1;
	if (strcmp(status, "running"))
		return ferry_error_set(err, 0, "container %s is %s, not running", name, status);
	pod_net(s->node, s->record, &s->pn);
	return 0;
}

static int prepare_target(struct source *s, ferry_error_t *err)
{
	report_phase_begin(s->report, "connect");
	s->sock = peer_connect(&s->node->self, s->target, &s->frame, err);
	if (s->sock < 0)
		return -1;
	report_phase_begin(s->report, "prepare");
	_cleanup_json_ json_object *prep = json_object_new_object();
	json_object_object_add(prep, "record", json_object_get(s->record));
	json_object_object_add(prep, "fault", json_object_new_string(s->fault));
	if (wire_send_json(s->sock, WIRE_PREPARE, prep, err) < 0 ||
	    wire_expect(s->sock, &s->frame, WIRE_PREPARED, err) < 0)
		return ferry_error_prefix(err, "target %s could not prepare", s->target->name);
	return hold_open(&s->hold, s->node->host_netns_fd, s->pn.ip, err);
}

static int make_scratch(struct source *s, ferry_error_t *err)
{
	const char *name = record_str(s->record, "name");
	config_scratch_dir(s->scratch, sizeof(s->scratch), s->node->self.name, name);
	snprintf(s->images, sizeof(s->images), "%s/images", s->scratch);
	snprintf(s->work, sizeof(s->work), "%s/work", s->scratch);
	if (fs_rm_rf(s->scratch, err) < 0 || fs_mkdir_p(s->images, 0700, err) < 0 ||
	    fs_mkdir_p(s->work, 0700, err) < 0)
		return -1;
	return 0;
}

static int freeze(struct source *s, ferry_error_t *err)
{
	report_phase_begin(s->report, "freeze");
	s->report->freeze_at = clock_now_ms();
	s->holding = true;
	if (hold_engage(&s->hold, s->node->host_netns_fd, s->pn.ip, err) < 0)
		return -1;
	if (runc_pause(&s->node->runc, record_str(s->record, "name"), err) < 0)
		return -1;
	s->frozen = true;
	if (podnet_lock(&s->pn, err) < 0)
		return -1;
	s->locked = true;
	return 0;
}

/* Waits for CRIU to write something or runc to exit; true when runc exited. */
static bool wait_dump_activity(int inotify_fd, int pidfd)
{
	struct pollfd p[2] = { { .fd = inotify_fd, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
	char buf[4096];
	poll(p, 2, 10);
	if (p[0].revents & POLLIN)
		while (read(inotify_fd, buf, sizeof(buf)) > 0)
			;
	return p[1].revents & POLLIN;
}

static int inject_cut(struct source *s, ferry_error_t *err)
{
	if (strcmp(s->fault, "cut-transfer") || s->report->bytes_sent == 0)
		return 0;
	shutdown(s->sock, SHUT_RDWR);
	return ferry_error_set(err, 0, "transfer cut (fault injected)");
}

static int dump_and_stream(struct source *s, ferry_error_t *err)
{
	report_phase_begin(s->report, "dump");
	struct runc_checkpoint_opts o = { s->images, s->work, true };
	struct stream_sender tx;
	struct proc p;
	_cleanup_fd_ int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	/* not IN_MODIFY: CRIU writes pages in small splices, and an event per
	 * write made the dump itself 2.5 times slower; growth is polled instead */
	if (ino < 0 || inotify_add_watch(ino, s->images, IN_CREATE | IN_CLOSE_WRITE) < 0)
		return ferry_error_set(err, errno, "watch %s", s->images);
	if (stream_sender_init(&tx, s->sock, SPACE_IMAGES, s->images, err) < 0)
		return -1;
	if (runc_checkpoint_spawn(&s->node->runc, record_str(s->record, "name"), &o, &p, err) < 0) {
		stream_sender_release(&tx);
		return -1;
	}
	_cleanup_fd_ int pidfd = (int)syscall(SYS_pidfd_open, p.pid, 0);
	int rc = 0;
	for (bool exited = false; !exited && rc == 0;) {
		exited = pidfd < 0 || wait_dump_activity(ino, pidfd);
		rc = stream_sender_poll(&tx, err);
		s->report->bytes_sent = tx.bytes_sent;
		if (rc == 0)
			rc = inject_cut(s, err);
	}
	if (rc < 0)
		kill(p.pid, SIGKILL);
	log_info("checkpoint of %s finished after %.0f ms, %llu bytes already sent",
		 record_str(s->record, "name"), clock_now_ms() - s->report->freeze_at,
		 (unsigned long long)tx.bytes_sent);
	ferry_error_t dump_err = { 0 };
	if (proc_finish(&p, NULL, &dump_err) < 0 && rc == 0) {
		*err = dump_err;
		rc = ferry_error_prefix(err, "checkpoint failed (CRIU log: %s/dump.log)", s->work);
	}
	if (rc == 0)
		rc = stream_sender_finish(&tx, err);
	s->report->bytes_sent = tx.bytes_sent;
	stream_sender_release(&tx);
	return rc;
}

static int send_layer_and_log(struct source *s, ferry_error_t *err)
{
	char dir[PATH_MAX], upper[PATH_MAX + 8], log[PATH_MAX + 8];
	report_phase_begin(s->report, "rootfs");
	config_container_dir(dir, sizeof(dir), s->node->self.name, record_str(s->record, "name"));
	snprintf(upper, sizeof(upper), "%s/upper", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	if (tree_send(s->sock, upper, &s->report->bytes_sent, err) < 0)
		return ferry_error_prefix(err, "send writable layer");
	if (fs_exists(log) && stream_send_file(s->sock, SPACE_LOGS, log, "log",
					       &s->report->bytes_sent, err) < 0)
		return ferry_error_prefix(err, "send container log");
	_cleanup_json_ json_object *done = json_object_new_object();
	json_object_object_add(done, "bytes", json_object_new_int64((int64_t)s->report->bytes_sent));
	return wire_send_json(s->sock, WIRE_DUMP_DONE, done, err);
}

static int await_restore(struct source *s, ferry_error_t *err)
{
	report_phase_begin(s->report, "restore");
	if (wire_expect(s->sock, &s->frame, WIRE_RESTORED, err) < 0)
		return ferry_error_prefix(err, "target %s did not restore", s->target->name);
	s->report->running_at = clock_now_ms();
	return 0;
}

/* THE COMMIT POINT: the fabric delivers the pod's traffic to the target. */
static int commit(struct source *s, ferry_error_t *err)
{
	report_phase_begin(s->report, "commit");
	if (podnet_route_to_node(s->node->host_netns_fd, s->pn.ip, s->target->address, err) < 0)
		return -1;
	s->committed = true;
	_cleanup_json_ json_object *c = json_object_new_object();
	ferry_error_t send_err = { 0 };
	if (wire_send_json(s->sock, WIRE_COMMIT, c, &send_err) < 0 ||
	    wire_expect(s->sock, &s->frame, WIRE_COMMIT, &send_err) < 0)
		log_warn("committed, but the target's acknowledgement failed: %s", send_err.message);
	/* the target's traffic lock is off now: the kept packets go to it */
	hold_release(&s->hold, &send_err);
	s->report->held_packets = s->hold.packets;
	return 0;
}

static void cleanup_source(struct source *s)
{
	ferry_error_t err = { 0 };
	report_phase_begin(s->report, "cleanup");
	pod_destroy(s->node, record_str(s->record, "name"), s->pn.ip);
	fs_rm_rf(s->scratch, &err);
}

static void rollback(struct source *s, const ferry_error_t *cause)
{
	ferry_error_t err = { 0 };
	if (s->sock >= 0) {
		_cleanup_json_ json_object *a = json_object_new_object();
		json_object_object_add(a, "error", json_object_new_string(cause->message));
		wire_send_json(s->sock, WIRE_ABORT, a, NULL);
	}
	if (s->locked && podnet_unlock(&s->pn, &err) < 0)
		log_error("rollback: %s", err.message);
	if (s->frozen && runc_resume(&s->node->runc, record_str(s->record, "name"), &err) < 0)
		log_error("rollback: %s", err.message);
	if (s->holding) { /* the source owns the pod again: its packets go back to it */
		if (podnet_route_to_node(s->node->host_netns_fd, s->pn.ip, s->node->self.address,
					 &err) < 0)
			log_error("rollback: %s", err.message);
		hold_release(&s->hold, &err);
	}
	if (s->scratch[0])
		fs_rm_rf(s->scratch, &err);
	log_info("migration of %s rolled back: %s", record_str(s->record, "name"), cause->message);
}

static int run_phases(struct source *s, ferry_error_t *err)
{
	if (prepare_target(s, err) < 0 || make_scratch(s, err) < 0 || freeze(s, err) < 0 ||
	    dump_and_stream(s, err) < 0 || send_layer_and_log(s, err) < 0 ||
	    await_restore(s, err) < 0 || commit(s, err) < 0)
		return -1;
	cleanup_source(s);
	return 0;
}

int migrate_source(const struct node *node, json_object *request, int progress_fd,
		   struct migration_report *report, ferry_error_t *err)
{
	struct source s = { .node = node, .report = report, .sock = -1,
			    .hold = { .tun_fd = -1, .stop_pipe = { -1, -1 } } };
	s.fault = record_str(request, "fault");
	report_init(report, record_str(request, "name"), node->self.name, record_str(request, "to"),
		    "stop-copy", progress_fd);
	int rc = validate(&s, request, err);
	if (rc == 0) {
		rc = run_phases(&s, err);
		if (rc < 0)
			rollback(&s, err);
	}
	report_finish(report, rc < 0 ? err->message : NULL);
	hold_close(&s.hold);
	if (s.sock >= 0)
		close(s.sock);
	wire_frame_release(&s.frame);
	json_object_put(s.record);
	return rc;
}
