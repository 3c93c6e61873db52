/*
 * source.c - see source.h.
 */
#include "migrate/source.h"
#include "container/pod.h"
#include "container/tcprepair.h"
#include "container/store.h"
#include "container/freezer.h"
#include "migrate/fault.h"
#include "migrate/peer.h"
#include "migrate/plan.h"
#include "migrate/precopy.h"
#include "migrate/slots.h"
#include "migrate/stream.h"
#include "migrate/tree.h"
#include "net/hold.h"
#include "net/podnet.h"
#include "net/route.h"
#include "net/shaper.h"
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
#include <sys/mount.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <unistd.h>

struct source {
	const struct node *node;
	json_object *record;          /* owned */
	const struct node_info *target;
	struct pod_net pn;
	struct migration_report *report;
	struct fault fault;           /* test-only fault injection (fault.h) */
	struct wire_conn conn;        /* to the target agent; fd -1 when closed */
	struct wire_frame frame;
	char images[PATH_MAX], work[PATH_MAX], scratch[PATH_MAX];
	struct hold hold;             /* the pod's incoming packets during the move */
	bool postcopy;                /* memory follows after the restore */
	bool precopy;                 /* memory sent before the freeze (precopy.h) */
	bool hybrid;                  /* pre-copy, then post-copy for the rest (both set too) */
	bool lazy;                    /* CRIU dumps no anonymous memory (post- or pre-copy) */
	struct precopy pc;
	uint64_t pc_bytes;            /* sent by pre-copy (rounds, freeze, after the dump) */
	int budget_ms;                /* --max-downtime-ms */
	struct proc page_server;      /* lazy dump: runc checkpoint serving pages */
	char page_server_addr[64];
	bool holding, frozen, locked, committed;
	bool small_fs;                /* fill-source-disk fault: images on a tiny tmpfs */
	bool criu_killed;             /* CRIU stopped mid-way: sockets may be in repair */
	uint64_t max_bytes_per_s;     /* --max-bandwidth for the image stream, 0: none */
	int slot;                     /* this node's outgoing migration slot */
	int page_server_port;
	char shaped_dev[IF_NAMESIZE]; /* post-copy traffic capped on this interface */
};

static int validate(struct source *s, json_object *request, ferry_error_t *err)
{
	const char *name = record_str(request, "name");
	const char *to = record_str(request, "to");
	char status[32];
	if (fault_parse(record_str(request, "fault"), &s->fault, err) < 0)
		return -1;
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

#define QUEUE_TIMEOUT_MS (10 * 60 * 1000)
#define ABORT_WAIT_MS 5000
#define QUEUE_POLL_MS 100

static void queue_wait(void)
{
	struct timespec ts = { 0, QUEUE_POLL_MS * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

/* The test faults tied to a phase: the agent killed, or the connection to
 * the target cut (which fails the phase, except in post-copy, where the
 * agents' link is no longer needed). */
static int phase_faults(struct source *s, const char *phase, ferry_error_t *err)
{
	if (fault_at(&s->fault, FAULT_KILL_SOURCE_AT, phase))
		fault_kill_own_agent();
	if (!fault_at(&s->fault, FAULT_CUT_AT, phase))
		return 0;
	shutdown(s->conn.fd, SHUT_RDWR);
	if (!strcmp(phase, "postcopy"))
		return 0;
	return ferry_error_set(err, 0, "connection to %s cut as %s began (fault injected)",
			       s->target->name, phase);
}

/* Starts a phase in the report; its test faults fire here. */
static int enter_phase(struct source *s, const char *phase, ferry_error_t *err)
{
	report_phase_begin(s->report, phase);
	return phase_faults(s, phase, err);
}

/* Waits for one of this node's outgoing migration slots. */
static int take_outgoing_slot(struct source *s, ferry_error_t *err)
{
	double start = clock_now_ms();
	while ((s->slot = slot_try_acquire(s->node->self.name, SLOT_OUTGOING, err)) < 0) {
		if (ferry_error_is_set(err))
			return -1;
		if (s->report->n_phases == 0 || strcmp(s->report->phases[0].name, "queued"))
			report_phase_begin(s->report, "queued");
		if (clock_now_ms() - start > QUEUE_TIMEOUT_MS)
			return ferry_error_set(err, 0, "no outgoing migration slot on %s for %d s",
					       s->node->self.name, QUEUE_TIMEOUT_MS / 1000);
		queue_wait();
	}
	return 0;
}

/* One PREPARE; *busy when the target refused for lack of an incoming slot. */
static int try_prepare(struct source *s, bool *busy, ferry_error_t *err)
{
	*busy = false;
	if (peer_connect(s->node, s->target, &s->conn, &s->frame, err) < 0)
		return -1;
	_cleanup_json_ json_object *prep = json_object_new_object();
	json_object_object_add(prep, "record", json_object_get(s->record));
	json_object_object_add(prep, "fault", json_object_new_string(s->fault.spec));
	if (wire_send_json(&s->conn, WIRE_PREPARE, prep, err) == 0 &&
	    wire_expect(&s->conn, &s->frame, WIRE_PREPARED, err) == 0)
		return 0;
	*busy = strncmp(err->message, "busy:", 5) == 0;
	wire_conn_close(&s->conn);
	return -1;
}

static int prepare_target(struct source *s, ferry_error_t *err)
{
	bool busy;
	double start = clock_now_ms();
	if (take_outgoing_slot(s, err) < 0)
		return -1;
	report_phase_begin(s->report, "prepare");
	while (try_prepare(s, &busy, err) < 0) {
		if (!busy || clock_now_ms() - start > QUEUE_TIMEOUT_MS)
			return ferry_error_prefix(err, "target %s could not prepare", s->target->name);
		if (strcmp(s->report->phases[s->report->n_phases - 1].name, "queued"))
			report_phase_begin(s->report, "queued");
		ferry_error_clear(err);
		queue_wait();
	}
	if (strcmp(s->report->phases[s->report->n_phases - 1].name, "prepare"))
		report_phase_begin(s->report, "prepare");
	if (phase_faults(s, "prepare", err) < 0) /* once the target has prepared */
		return -1;
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
	if (fault_is(&s->fault, FAULT_FILL_SOURCE_DISK)) {
		/* test-only: an 8 KiB filesystem for CRIU's images, a real ENOSPC */
		if (mount("tmpfs", s->images, "tmpfs", 0, "size=8k") < 0)
			return ferry_error_set(err, errno, "mount small tmpfs (fault injection)");
		s->small_fs = true;
	}
	return 0;
}

/* The in-flight marker: present from just before the freeze until the migration is
 * settled; holds the checkpoint's process group (0 before it starts) and,
 * once the route moved, "committed" (recovery then lets a post-copy page
 * server finish instead of stopping it). */
static void mark_in_flight(struct source *s, pid_t checkpoint_pgid, bool committed)
{
	char path[PATH_MAX], dir[PATH_MAX], text[48];
	ferry_error_t err = { 0 };
	config_migration_marker(path, sizeof(path), s->node->self.name, record_str(s->record, "name"));
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	int n = snprintf(text, sizeof(text), "%d%s\n", (int)checkpoint_pgid,
			 committed ? " committed" : "");
	if (fs_mkdir_p(dir, 0700, &err) < 0 || fs_replace_file(path, text, (size_t)n, &err) < 0)
		log_warn("in-flight marker: %s", err.message);
}

static void clear_in_flight(struct source *s)
{
	char path[PATH_MAX];
	if (!s->record)
		return;
	config_migration_marker(path, sizeof(path), s->node->self.name, record_str(s->record, "name"));
	unlink(path);
}

static int freeze(struct source *s, ferry_error_t *err)
{
	if (enter_phase(s, "freeze", err) < 0)
		return -1;
	s->report->freeze_at = clock_now_ms();
	s->holding = true;
	if (hold_engage(&s->hold, s->node->host_netns_fd, s->pn.ip, err) < 0)
		return -1;
	if (freezer_freeze(s->node, record_str(s->record, "name"), err) < 0)
		return -1;
	s->frozen = true;
	if (podnet_lock(&s->pn, err) < 0)
		return -1;
	s->locked = true;
	return 0;
}

enum dump_event { DUMP_RUNNING, DUMP_EXITED, DUMP_LAZY_READY };

/* Waits up to 10 ms for runc to exit or (post-copy) for CRIU to report the
 * lazy dump ready.  The image directory is polled, not watched: an inotify
 * watch on it, even for creations only, made CRIU's dump 3-4 times slower
 * here (every write then goes through fsnotify's parent handling). */
static enum dump_event wait_dump_activity(int pidfd, int status_fd)
{
	struct pollfd p[2] = { { .fd = pidfd, .events = POLLIN },
			       { .fd = status_fd, .events = POLLIN } };
	char c;
	poll(p, 2, 10);
	if (p[1].revents & (POLLIN | POLLHUP))
		return read(status_fd, &c, 1) == 1 ? DUMP_LAZY_READY : DUMP_EXITED;
	return (p[0].revents & POLLIN) ? DUMP_EXITED : DUMP_RUNNING;
}

/* Test-only faults in the middle of the dump, once data flows: cut the
 * connection, or kill runc and CRIU (a real CRIU death mid-dump). */
static int inject_dump_fault(struct source *s, pid_t checkpoint, ferry_error_t *err)
{
	if (s->report->bytes_sent == 0)
		return 0;
	if (fault_is(&s->fault, FAULT_KILL_CRIU)) {
		kill(-checkpoint, SIGKILL);
		s->fault.kind = FAULT_NONE;
		return 0; /* noticed as a failed checkpoint, like a real crash */
	}
	if (!fault_is(&s->fault, FAULT_CUT_TRANSFER))
		return 0;
	shutdown(s->conn.fd, SHUT_RDWR);
	return ferry_error_set(err, 0, "transfer cut (fault injected)");
}

/* A free TCP port on this node's address for CRIU's page server. */
static int pick_page_server(struct source *s, ferry_error_t *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	inet_pton(AF_INET, s->node->self.address, &sa.sin_addr);
	_cleanup_fd_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return ferry_error_set(err, errno, "pick a page server port");
	s->page_server_port = ntohs(sa.sin_port);
	snprintf(s->page_server_addr, sizeof(s->page_server_addr), "%s:%d", s->node->self.address,
		 s->page_server_port);
	return 0;
}

/* --max-bandwidth in post-copy: the page server's traffic is capped by the
 * kernel (net/shaper.h), on the interface that leads to the target. */
static int cap_page_server(struct source *s, ferry_error_t *err)
{
	if (!s->max_bytes_per_s)
		return 0;
	if (route_lookup_dev_v4(s->target->address, s->shaped_dev, err) < 0 ||
	    shaper_cap_sport(s->shaped_dev, s->page_server_port, s->max_bytes_per_s, err) < 0)
		return ferry_error_prefix(err, "cap post-copy traffic");
	return 0;
}

/* Post-copy: the page server's port and its cap are chosen before the freeze. */
static int prepare_page_server(struct source *s, ferry_error_t *err)
{
	if (!s->lazy)
		return 0;
	if (pick_page_server(s, err) < 0)
		return -1;
	/* pre-copy: the page server is never asked for a page */
	return s->postcopy ? cap_page_server(s, err) : 0;
}

/* Runs `runc checkpoint` and streams its images until it exits (stop-copy)
 * or reports a lazy dump ready (post-copy: it keeps serving pages). */
static int checkpoint_streaming(struct source *s, struct stream_sender *tx, int status_r,
				struct proc *p, ferry_error_t *err)
{
	_cleanup_fd_ int pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	enum dump_event ev = DUMP_RUNNING;
	mark_in_flight(s, p->pid, false);
	int rc = 0;
	while (ev == DUMP_RUNNING && rc == 0) {
		ev = pidfd < 0 ? DUMP_EXITED : wait_dump_activity(pidfd, status_r);
		rc = stream_sender_poll(tx, err);
		s->report->bytes_sent = tx->bytes_sent + s->pc_bytes;
		if (rc == 0)
			rc = inject_dump_fault(s, p->pid, err);
	}
	log_info("checkpoint of %s %s after %.0f ms, %llu bytes sent", record_str(s->record, "name"),
		 ev == DUMP_LAZY_READY ? "ready for post-copy" : "finished",
		 clock_now_ms() - s->report->freeze_at, (unsigned long long)tx->bytes_sent);
	if (rc == 0 && s->lazy && ev != DUMP_LAZY_READY)
		rc = ferry_error_set(err, 0, "lazy checkpoint ended before it was ready");
	return rc;
}

static int dump_and_stream(struct source *s, ferry_error_t *err)
{
	if (enter_phase(s, "dump", err) < 0)
		return -1;
	char procs[PATH_MAX];
	pod_procs_file(procs, sizeof(procs), s->node, record_str(s->record, "name"));
	if (s->precopy && precopy_final(&s->pc, procs, err) < 0)
		return -1;
	struct runc_checkpoint_opts o = { .image_dir = s->images, .work_dir = s->work,
					  .leave_running = true, .status_fd = -1 };
	int status[2] = { -1, -1 };
	struct stream_sender tx;
	struct proc p;
	if (s->lazy && pipe2(status, O_CLOEXEC) < 0)
		return ferry_error_set(err, errno, "pipe");
	o.lazy_page_server = s->lazy ? s->page_server_addr : NULL;
	o.status_fd = status[1];
	int rc = stream_sender_init(&tx, &s->conn, SPACE_IMAGES, s->images, err);
	tx.max_bytes_per_s = s->max_bytes_per_s;
	if (rc == 0)
		rc = runc_checkpoint_spawn(&s->node->runc, record_str(s->record, "name"), &o, &p, err);
	if (status[1] >= 0)
		close(status[1]);
	if (rc == 0) {
		rc = checkpoint_streaming(s, &tx, status[0], &p, err);
		if (rc == 0 && s->lazy) {
			s->page_server = p; /* serves pages until the target has them all */
			if (s->precopy) /* the lazy pages the target does not have yet */
				rc = precopy_send_late(&s->pc, s->images, err);
		} else {
			if (rc < 0) {
				kill(-p.pid, SIGKILL);
				s->criu_killed = true;
			}
			ferry_error_t dump_err = { 0 };
			if (proc_finish(&p, NULL, &dump_err) < 0 && rc == 0) {
				s->criu_killed = true; /* died on its own: same clean-up */
				*err = dump_err;
				rc = ferry_error_prefix(err, "checkpoint failed (CRIU log: %s/dump.log)",
							s->work);
			}
		}
	}
	if (rc == 0)
		rc = stream_sender_finish(&tx, err);
	s->report->bytes_sent = tx.bytes_sent + s->pc_bytes;
	if (status[0] >= 0)
		close(status[0]);
	stream_sender_release(&tx);
	return rc;
}

static int send_layer_and_log(struct source *s, ferry_error_t *err)
{
	char dir[PATH_MAX], upper[PATH_MAX + 8], log[PATH_MAX + 8];
	if (enter_phase(s, "rootfs", err) < 0)
		return -1;
	config_container_dir(dir, sizeof(dir), s->node->self.name, record_str(s->record, "name"));
	snprintf(upper, sizeof(upper), "%s/upper", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	if (tree_send(&s->conn, upper, &s->report->bytes_sent, err) < 0)
		return ferry_error_prefix(err, "send writable layer");
	if (fs_exists(log) && stream_send_file(&s->conn, SPACE_LOGS, log, "log",
					       &s->report->bytes_sent, err) < 0)
		return ferry_error_prefix(err, "send container log");
	_cleanup_json_ json_object *done = json_object_new_object();
	json_object_object_add(done, "bytes", json_object_new_int64((int64_t)s->report->bytes_sent));
	if (s->postcopy)
		json_object_object_add(done, "page_server", json_object_new_string(s->page_server_addr));
	if (s->precopy)
		json_object_object_add(done, "precopy", json_object_new_boolean(1));
	return wire_send_json(&s->conn, WIRE_DUMP_DONE, done, err);
}

static int await_restore(struct source *s, ferry_error_t *err)
{
	if (enter_phase(s, "restore", err) < 0)
		return -1;
	if (wire_expect(&s->conn, &s->frame, WIRE_RESTORED, err) < 0)
		return ferry_error_prefix(err, "target %s did not restore", s->target->name);
	s->report->running_at = clock_now_ms();
	return 0;
}

static void stop_page_server_after_commit(struct source *s);

/* THE COMMIT POINT: the fabric delivers the pod's traffic to the target. */
static int commit(struct source *s, ferry_error_t *err)
{
	if (enter_phase(s, "commit", err) < 0)
		return -1;
	if (podnet_route_to_node(s->node->host_netns_fd, s->pn.ip, s->target->address, err) < 0)
		return -1;
	s->committed = true;
	mark_in_flight(s, s->postcopy ? s->page_server.pid : 0, true);
	_cleanup_json_ json_object *c = json_object_new_object();
	ferry_error_t send_err = { 0 };
	if (wire_send_json(&s->conn, WIRE_COMMIT, c, &send_err) < 0 ||
	    wire_expect(&s->conn, &s->frame, WIRE_COMMIT, &send_err) < 0)
		log_warn("committed, but the target's acknowledgement failed: %s", send_err.message);
	/* the target's traffic lock is off now: the kept packets go to it */
	hold_release(&s->hold, &send_err);
	s->report->held_packets = s->hold.packets;
	/* pre-copy: the target has every page, CRIU's page server is not
	 * needed; stopped only now, outside the downtime (hybrid: it serves
	 * the rest, await_pages) */
	if (s->precopy && !s->hybrid)
		stop_page_server_after_commit(s);
	return 0;
}

static void remove_scratch(struct source *s)
{
	char logs[PATH_MAX];
	if (!s->scratch[0])
		return;
	if (s->small_fs)
		umount2(s->images, MNT_DETACH);
	s->small_fs = false;
	config_criu_logs_dir(logs, sizeof(logs), s->node->self.name, record_str(s->record, "name"));
	fs_keep_logs_and_remove(s->scratch, logs);
}

/* Post-copy: the target runs; CRIU here serves its page faults and pushes
 * the rest, and exits once every page has arrived. */
static int await_pages(struct source *s, ferry_error_t *err)
{
	if (!s->postcopy)
		return 0;
	if (enter_phase(s, "postcopy", err) < 0)
		return -1;
	int rc = proc_finish(&s->page_server, NULL, err);
	s->page_server.pid = 0;
	if (rc < 0)
		return ferry_error_prefix(err, "post-copy page transfer failed after the commit; "
				       "the container on %s may be lost (CRIU log: %s/dump.log)",
				       s->target->name, s->work);
	return 0;
}

static void stop_page_server(struct source *s)
{
	ferry_error_t ignore = { 0 };
	if (s->page_server.pid <= 0)
		return;
	kill(-s->page_server.pid, SIGKILL);
	proc_finish(&s->page_server, NULL, &ignore);
	s->page_server.pid = 0;
	s->criu_killed = true;
}

static void stop_page_server_after_commit(struct source *s)
{
	stop_page_server(s);
	s->criu_killed = false;
}

static void cleanup_source(struct source *s)
{
	ferry_error_t err = { 0 };
	report_phase_begin(s->report, "cleanup");
	pod_destroy(s->node, record_str(s->record, "name"), s->pn.ip);
	remove_scratch(s);
	(void)err;
}

/* After ABORT: the target answers with ERROR (or closes) once it has removed
 * what it built, so the failure is reported when it is over on both nodes.
 * A target that is gone closes at once; a hung one gets a few seconds. */
static void await_target_cleanup(struct source *s)
{
	ferry_error_t ignore = { 0 };
	if (wire_set_timeouts(s->conn.fd, ABORT_WAIT_MS, &ignore) < 0)
		return;
	while (wire_recv(&s->conn, &s->frame, &ignore) == 0 && s->frame.type != WIRE_ERROR)
		;
}

static void rollback(struct source *s, const ferry_error_t *cause)
{
	ferry_error_t err = { 0 };
	precopy_release(&s->pc); /* trackers off before the container resumes */
	stop_page_server(s);
	if (s->conn.fd >= 0) {
		_cleanup_json_ json_object *a = json_object_new_object();
		json_object_object_add(a, "error", json_object_new_string(cause->message));
		wire_send_json(&s->conn, WIRE_ABORT, a, NULL);
		await_target_cleanup(s);
	}
	if (s->criu_killed) { /* finish what CRIU did not: sockets out of repair mode */
		char procs[PATH_MAX];
		pod_procs_file(procs, sizeof(procs), s->node, record_str(s->record, "name"));
		int n = tcp_repair_release(procs, &err);
		if (n < 0)
			log_error("rollback: %s", err.message);
		else
			log_info("rollback: %d TCP sockets taken out of repair mode", n);
	}
	if ((s->locked || s->criu_killed) && podnet_unlock(&s->pn, &err) < 0)
		log_error("rollback: %s", err.message);
	if (s->frozen && runc_resume(&s->node->runc, record_str(s->record, "name"), &err) < 0)
		log_error("rollback: %s", err.message);
	if (s->holding) { /* the source owns the pod again: its packets go back to it */
		if (podnet_route_to_node(s->node->host_netns_fd, s->pn.ip, s->node->self.address,
					 &err) < 0)
			log_error("rollback: %s", err.message);
		hold_release(&s->hold, &err);
	}
	remove_scratch(s);
	log_info("migration of %s rolled back: %s", record_str(s->record, "name"), cause->message);
}

static void pc_progress(void *data)
{
	struct source *s = data;
	s->report->bytes_sent = s->pc_bytes;
	report_progress(s->report);
}

/* Pre-copy rounds while the container runs (precopy.h). */
static int precopy_phase(struct source *s, ferry_error_t *err)
{
	char procs[PATH_MAX];
	if (!s->precopy)
		return 0;
	if (enter_phase(s, "precopy", err) < 0)
		return -1;
	pod_procs_file(procs, sizeof(procs), s->node, record_str(s->record, "name"));
	if (precopy_start(&s->pc, procs, &s->conn, &s->report->pc, &s->pc_bytes, err) < 0)
		return -1;
	s->pc.max_bytes_per_s = s->max_bytes_per_s;
	s->pc.rest_postcopy = s->hybrid;
	s->pc.progress = pc_progress;
	s->pc.progress_data = s;
	return precopy_rounds(&s->pc, s->budget_ms, err);
}

/* Pre-copy, after the commit and the source's clean-up: the target's CRIU
 * fills the restored process from the pre-copied pages, locally; the target
 * closes the connection when that is done (the container is then free for
 * the next operation).  Nothing depends on this node any more. */
static void await_target_settled(struct source *s)
{
	ferry_error_t ignore = { 0 };
	report_phase_begin(s->report, "settle");
	if (wire_set_timeouts(s->conn.fd, 120 * 1000, &ignore) < 0)
		return;
	while (wire_recv(&s->conn, &s->frame, &ignore) == 0)
		;
}

static int choose_mode(struct source *s, json_object *request, ferry_error_t *err)
{
	struct migration_plan plan;
	json_object *budget;
	int max_downtime = json_object_object_get_ex(request, "max_downtime_ms", &budget) ?
				   json_object_get_int(budget) : 0;
	if (plan_migration(s->node, record_str(s->record, "name"), record_str(request, "mode"),
			   max_downtime, &plan, err) < 0)
		return -1;
	s->hybrid = !strcmp(plan.mode, "hybrid");
	s->postcopy = s->hybrid || !strcmp(plan.mode, "postcopy");
	s->precopy = s->hybrid || !strcmp(plan.mode, "precopy");
	s->lazy = s->postcopy || s->precopy;
	s->budget_ms = max_downtime > 0 ? max_downtime : PLAN_DEFAULT_MAX_DOWNTIME_MS;
	s->report->precopy = s->precopy;
	s->report->pc.dirty_bytes_per_s = plan.dirty_bytes_per_s;
	snprintf(s->report->mode, sizeof(s->report->mode), "%s", plan.mode);
	snprintf(s->report->plan, sizeof(s->report->plan), "%s", plan.reason);
	s->report->memory_bytes = plan.memory_bytes;
	return 0;
}

static int run_phases(struct source *s, ferry_error_t *err)
{
	if (prepare_target(s, err) < 0 || make_scratch(s, err) < 0 ||
	    prepare_page_server(s, err) < 0 || precopy_phase(s, err) < 0)
		return -1;
	mark_in_flight(s, 0, false); /* before the freeze: recovery settles it either way */
	if (freeze(s, err) < 0 ||
	    dump_and_stream(s, err) < 0 || send_layer_and_log(s, err) < 0 ||
	    await_restore(s, err) < 0 || commit(s, err) < 0)
		return -1;
	int rc = await_pages(s, err);
	cleanup_source(s);
	if (rc == 0 && s->precopy)
		await_target_settled(s);
	return rc;
}

int migrate_source(const struct node *node, json_object *request, struct wire_conn *progress,
		   struct migration_report *report, ferry_error_t *err)
{
	struct source s = { .node = node, .report = report, .conn = { .fd = -1 }, .slot = -1,
			    .hold = { .tun_fd = -1, .stop_pipe = { -1, -1 } } };
	json_object *bw;
	if (json_object_object_get_ex(request, "max_bandwidth_mbps", &bw) && json_object_get_int64(bw) > 0)
		s.max_bytes_per_s = (uint64_t)json_object_get_int64(bw) * 1000000 / 8;
	report_init(report, record_str(request, "name"), node->self.name, record_str(request, "to"),
		    "", progress);
	int rc = validate(&s, request, err);
	if (rc == 0)
		rc = choose_mode(&s, request, err);
	if (rc == 0) {
		rc = run_phases(&s, err);
		if (rc < 0 && !s.committed)
			rollback(&s, err);
	}
	report_finish(report, rc < 0 ? err->message : NULL);
	precopy_release(&s.pc);
	clear_in_flight(&s);
	if (s.shaped_dev[0])
		shaper_uncap_sport(s.shaped_dev, s.page_server_port);
	hold_close(&s.hold);
	if (s.slot >= 0)
		close(s.slot);
	wire_conn_close(&s.conn);
	wire_frame_release(&s.frame);
	json_object_put(s.record);
	return rc;
}
