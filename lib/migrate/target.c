/*
 * target.c - see target.h.
 */
#include "migrate/target.h"
#include "container/lazy.h"
#include "container/pod.h"
#include "container/store.h"
#include "agent/locks.h"
#include "migrate/fault.h"
#include "migrate/pagestore.h"
#include "migrate/peer.h"
#include "migrate/slots.h"
#include "migrate/stream.h"
#include "migrate/tree.h"
#include "net/route.h"
#include "sandbox/config.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <limits.h>
#include <sys/mount.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct target {
	const struct node *node;
	struct wire_conn *conn;
	const char *peer;         /* the source node's name, from its certificate */
	json_object *record;     /* owned */
	struct fault fault;      /* test-only fault injection (fault.h) */
	struct pod_net pn;
	struct stream_receiver rx;
	struct wire_frame frame;
	char scratch[PATH_MAX], images[PATH_MAX], work[PATH_MAX];
	char page_server[64];    /* post-copy and hybrid: where the source serves memory */
	struct proc lazy;        /* post- or pre-copy: CRIU's lazy-pages daemon */
	bool precopy;            /* memory arrived before the dump (pagestore.h) */
	bool fetch;              /* hybrid: what the store lacks comes from the source's page server */
	struct pagestore ps;
	bool prepared;
	bool marked;             /* the incoming marker exists */
	int lock;                /* the container's lock on this node (agent/locks.h) */
	int slot;                /* this node's incoming migration slot */
	bool small_fs;           /* fill-target-disk fault: images on a tiny tmpfs */
};

static int accept_prepare(struct target *t, ferry_error_t *err)
{
	_cleanup_json_ json_object *prep = wire_frame_json(&t->frame, err);
	json_object *rec, *fault;
	if (!prep)
		return -1;
	if (!json_object_object_get_ex(prep, "record", &rec) || store_validate_record(rec, err) < 0)
		return ferry_error_prefix(err, "malformed PREPARE");
	t->record = json_object_get(rec);
	if (json_object_object_get_ex(prep, "fault", &fault) &&
	    fault_parse(json_object_get_string(fault), &t->fault, err) < 0)
		return ferry_error_prefix(err, "malformed PREPARE");
	/* held until this process exits: an earlier attempt for the same
	 * container that is still cleaning up makes this one wait its turn */
	t->lock = container_lock(t->node, record_str(rec, "name"), err);
	if (t->lock < 0)
		return ferry_error_set(err, 0, "busy: an earlier migration of %s is still settling on %s",
				       record_str(rec, "name"), t->node->self.name);
	ferry_error_t probe = { 0 };
	json_object *existing = store_load(t->node->self.name, record_str(rec, "name"), &probe);
	if (existing) {
		json_object_put(existing);
		return ferry_error_set(err, 0, "a container named %s already exists on %s",
				       record_str(rec, "name"), t->node->self.name);
	}
	t->slot = slot_try_acquire(t->node->self.name, SLOT_INCOMING, err);
	if (t->slot < 0)
		return ferry_error_is_set(err) ? -1 :
			ferry_error_set(err, 0, "busy: %s already receives %d migrations",
					t->node->self.name, slot_limit(SLOT_INCOMING));
	log_info("incoming migration of %s from %s", record_str(rec, "name"), t->peer);
	return 0;
}

/* Test-only: kill-target@PHASE kills this agent when it reaches PHASE. */
static void fault_point(struct target *t, const char *phase)
{
	if (fault_at(&t->fault, FAULT_KILL_TARGET_AT, phase))
		fault_kill_own_agent();
}

/* The incoming marker: present from before the pod is built until the
 * migration is settled here (committed or abandoned).  An agent that starts
 * and finds one settles it by the route: kept if the pod IP is routed here,
 * removed otherwise (recovery.c). */
static void mark_incoming(struct target *t, bool present)
{
	char path[PATH_MAX];
	ferry_error_t err = { 0 };
	config_incoming_marker(path, sizeof(path), t->node->self.name, record_str(t->record, "name"));
	if (!present) {
		unlink(path);
		return;
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	if (fs_mkdir_p(dir, 0700, &err) < 0 || fs_replace_file(path, "", 0, &err) < 0)
		log_error("incoming marker for %s: %s", record_str(t->record, "name"), err.message);
	t->marked = true;
}

static int prepare(struct target *t, ferry_error_t *err)
{
	const char *name = record_str(t->record, "name");
	char dir[PATH_MAX];
	config_scratch_dir(t->scratch, sizeof(t->scratch), t->node->self.name, name);
	snprintf(t->images, sizeof(t->images), "%s/images", t->scratch);
	snprintf(t->work, sizeof(t->work), "%s/work", t->scratch);
	config_container_dir(dir, sizeof(dir), t->node->self.name, name);
	pod_net(t->node, t->record, &t->pn);
	char store[PATH_MAX + 16];
	snprintf(store, sizeof(store), "%s/precopy", t->scratch);
	pagestore_init(&t->ps, store);
	t->prepared = true;
	mark_incoming(t, true);
	if (fs_rm_rf(t->scratch, err) < 0 || fs_mkdir_p(t->images, 0700, err) < 0 ||
	    fs_mkdir_p(t->work, 0700, err) < 0 || pod_prepare(t->node, t->record, err) < 0 || podnet_lock(&t->pn, err) < 0)
		return -1;
	if (fault_is(&t->fault, FAULT_FILL_TARGET_DISK)) {
		/* test-only: a 64 KiB filesystem for the images, a real ENOSPC */
		if (mount("tmpfs", t->images, "tmpfs", 0, "size=64k") < 0)
			return ferry_error_set(err, errno, "mount small tmpfs (fault injection)");
		t->small_fs = true;
	}
	snprintf(t->rx.roots[SPACE_IMAGES], sizeof(t->rx.roots[0]), "%s", t->images);
	snprintf(t->rx.roots[SPACE_ROOTFS], sizeof(t->rx.roots[0]), "%s/upper", dir);
	snprintf(t->rx.roots[SPACE_LOGS], sizeof(t->rx.roots[0]), "%s", dir);
	fault_point(t, "prepare");
	_cleanup_json_ json_object *ok = json_object_new_object();
	return wire_send_json(t->conn, WIRE_PREPARED, ok, err);
}

static int handle_entry(struct target *t, ferry_error_t *err)
{
	_cleanup_json_ json_object *e = wire_frame_json(&t->frame, err);
	if (!e)
		return -1;
	return tree_apply_entry(t->rx.roots[SPACE_ROOTFS], e, err);
}

static int handle_file_end(struct target *t, ferry_error_t *err)
{
	_cleanup_json_ json_object *m = wire_frame_json(&t->frame, err);
	return m ? stream_receiver_end(&t->rx, m, err) : -1;
}

static int dump_done(struct target *t, ferry_error_t *err)
{
	_cleanup_json_ json_object *m = wire_frame_json(&t->frame, err);
	json_object *ps;
	if (!m)
		return -1;
	if (json_object_object_get_ex(m, "page_server", &ps) &&
	    json_object_is_type(ps, json_type_string))
		snprintf(t->page_server, sizeof(t->page_server), "%s", json_object_get_string(ps));
	t->precopy = json_object_object_get_ex(m, "precopy", &ps) && json_object_get_boolean(ps);
	t->fetch = t->precopy && t->page_server[0] != '\0';
	return stream_receiver_check_complete(&t->rx, err);
}

static int handle_page_data(struct target *t, ferry_error_t *err)
{
	struct wire_page_data pd;
	fault_point(t, "precopy");
	if (wire_parse_page_data(t->frame.payload, t->frame.length, &pd, err) < 0)
		return -1;
	return pagestore_write(&t->ps, &pd, err);
}

static int handle_page_drop(struct target *t, ferry_error_t *err)
{
	struct wire_page_drop pd;
	if (wire_parse_page_drop(t->frame.payload, t->frame.length, &pd, err) < 0)
		return -1;
	return pagestore_drop(&t->ps, &pd, err);
}

static int receive_state(struct target *t, ferry_error_t *err)
{
	bool stalled = false;
	for (;;) {
		struct wire_header h;
		if (wire_recv_header(t->conn, &h, err) < 0)
			return ferry_error_prefix(err, "receiving state");
		if (h.type == WIRE_FILE_DATA) {
			fault_point(t, "dump");
			if (!stalled && fault_is(&t->fault, FAULT_STALL_TARGET)) {
				stalled = true;
				sleep(10); /* test-only: a window to kill this agent */
			}
			if (stream_receiver_data_from(&t->rx, t->conn, &h, err) < 0)
				return -1;
			continue;
		}
		if (wire_recv_payload(t->conn, &h, &t->frame, err) < 0)
			return ferry_error_prefix(err, "receiving state");
		int rc;
		switch (t->frame.type) {
		case WIRE_FILE_END:
			rc = handle_file_end(t, err);
			break;
		case WIRE_ENTRY:
			fault_point(t, "rootfs");
			rc = handle_entry(t, err);
			break;
		case WIRE_PAGE_DATA:
			rc = handle_page_data(t, err);
			break;
		case WIRE_PAGE_DROP:
			rc = handle_page_drop(t, err);
			break;
		case WIRE_DUMP_DONE:
			log_info("state of %s received", record_str(t->record, "name"));
			return dump_done(t, err);
		case WIRE_ABORT:
		case WIRE_ERROR:
			return wire_frame_error(&t->frame, err);
		default:
			return ferry_error_set(err, 0, "protocol error: unexpected %s frame",
					       wire_type_name(t->frame.type));
		}
		if (rc < 0)
			return -1;
	}
}

static int restore(struct target *t, ferry_error_t *err)
{
	if (fault_is(&t->fault, FAULT_FAIL_RESTORE)) {
		char inv[PATH_MAX + 16];
		snprintf(inv, sizeof(inv), "%s/inventory.img", t->images);
		unlink(inv); /* test-only: makes CRIU's restore fail for real */
	}
	double start = clock_now_ms();
	struct restore_source src = { t->images, t->work, t->page_server[0] != '\0' || t->precopy };
	char conf[PATH_MAX];
	config_criu_conf(conf, sizeof(conf), t->node->self.name);
	/* pre-copy: the lazy pages come from the store, through a page server
	 * here; hybrid: those it lacks fetched from the source's, through the
	 * same one (pagefetch.h).  Post-copy: CRIU's lazy-pages daemon fetches
	 * from the source's page server itself (README: tried both) */
	if (t->fetch && peer_connect_page_server(t->node, t->peer, t->page_server,
						 &t->ps.upstream, err) < 0)
		return -1;
	if (t->precopy && (pagestore_check_images(&t->ps, t->images, err) < 0 ||
			   pagestore_serve_start(&t->ps, "127.0.0.1", t->page_server, err) < 0))
		return -1;
	double checked = clock_now_ms();
	if (src.lazy && lazy_daemon_start(t->images, t->work, t->page_server,
					  t->precopy ? NULL : conf, &t->lazy, err) < 0)
		return -1;
	double daemon = clock_now_ms();
	if (pod_restore(t->node, t->record, &src, err) < 0)
		return -1;
	log_info("restore of %s: %.0f ms (store check %.0f, lazy-pages daemon %.0f, runc restore %.0f)",
		 record_str(t->record, "name"), clock_now_ms() - start, checked - start,
		 daemon - checked, clock_now_ms() - daemon);
	fault_point(t, "restore");
	_cleanup_json_ json_object *m = json_object_new_object();
	json_object_object_add(m, "restore_ms", json_object_new_double(clock_now_ms() - start));
	return wire_send_json(t->conn, WIRE_RESTORED, m, err);
}

static bool route_points_here(struct target *t)
{
	char gw[16];
	ferry_error_t err = { 0 };
	sleep(1); /* a source that committed moves the route right after RESTORED */
	return route_lookup_gateway_v4(t->node->host_netns_fd, t->pn.ip, gw, &err) == 0 &&
	       !strcmp(gw, t->node->self.address);
}

static int await_commit(struct target *t, ferry_error_t *err)
{
	ferry_error_t lost = { 0 };
	fault_point(t, "commit");
	if (wire_expect(t->conn, &t->frame, WIRE_COMMIT, &lost) < 0 && !route_points_here(t)) {
		*err = lost;
		return ferry_error_prefix(err, "no commit from the source");
	}
	if (podnet_unlock(&t->pn, err) < 0)
		log_error("committed pod %s: %s", record_str(t->record, "name"), err->message);
	podnet_announce(&t->pn);
	mark_incoming(t, false); /* settled: this node owns the pod */
	_cleanup_json_ json_object *ack = json_object_new_object();
	wire_send_json(t->conn, WIRE_COMMIT, ack, NULL);
	return 0;
}

static const char *fill_name(const struct target *t)
{
	return t->fetch ? "hybrid page fill" : t->precopy ? "local page fill" : "post-copy";
}

/* Post-copy: the daemon exits once every page has arrived from the source. */
static void await_pages(struct target *t)
{
	ferry_error_t err = { 0 };
	if (t->lazy.pid <= 0)
		return;
	fault_point(t, "postcopy");
	if (proc_finish(&t->lazy, NULL, &err) < 0)
		log_error("%s of %s failed: %s", fill_name(t),
			  record_str(t->record, "name"), err.message);
	else
		log_info("%s of %s complete", fill_name(t),
			 record_str(t->record, "name"));
	t->lazy.pid = 0;
}

static void abandon(struct target *t, const ferry_error_t *cause)
{
	lazy_daemon_kill(&t->lazy);
	log_warn("migration of %s abandoned: %s", record_str(t->record, "name"), cause->message);
	if (t->prepared)
		pod_destroy(t->node, record_str(t->record, "name"), t->pn.ip);
	if (t->marked)
		mark_incoming(t, false);
	/* last: the source reports the failure once this arrives (or the
	 * connection closes), and by then nothing of the pod is left here */
	wire_send_error(t->conn, cause->message);
}

int migrate_target(const struct node *node, struct wire_conn *conn, const char *peer,
		   struct wire_frame *prepare_frame, ferry_error_t *err)
{
	struct target t = { .node = node, .conn = conn, .peer = peer, .frame = *prepare_frame,
			    .slot = -1, .lock = -1, .ps = { .upstream = { .fd = -1 } } };
	*prepare_frame = (struct wire_frame){ 0 };
	stream_receiver_init(&t.rx);
	int rc = accept_prepare(&t, err);
	if (rc == 0)
		rc = prepare(&t, err);
	if (rc == 0)
		rc = receive_state(&t, err);
	if (rc == 0)
		rc = restore(&t, err);
	if (rc == 0)
		rc = await_commit(&t, err);
	if (rc < 0) {
		abandon(&t, err);
	} else {
		log_info("migration of %s committed", record_str(t.record, "name"));
		await_pages(&t);
	}
	char logs[PATH_MAX];
	if (t.small_fs)
		umount2(t.images, MNT_DETACH);
	if (t.scratch[0] && t.record) {
		config_criu_logs_dir(logs, sizeof(logs), node->self.name, record_str(t.record, "name"));
		fs_keep_logs_and_remove(t.scratch, logs);
	}
	stream_receiver_release(&t.rx);
	pagestore_release(&t.ps);
	wire_frame_release(&t.frame);
	if (t.slot >= 0)
		close(t.slot);
	if (t.lock >= 0)
		close(t.lock);
	json_object_put(t.record);
	return rc;
}
