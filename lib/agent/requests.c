/*
 * requests.c - see requests.h.
 */
#include "agent/requests.h"
#include "agent/locks.h"
#include "container/image.h"
#include "container/ipam.h"
#include "container/pod.h"
#include "container/store.h"
#include "migrate/source.h"
#include "sandbox/config.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/names.h"
#include "wire/frame.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

static json_object *op_ping(const struct node *n, json_object *req, ferry_error_t *err)
{
	json_object *r = json_object_new_object();
	json_object_object_add(r, "node", json_object_new_string(n->self.name));
	json_object_object_add(r, "pid", json_object_new_int(getppid()));
	return r;
}

static json_object *op_ps(const struct node *n, json_object *req, ferry_error_t *err)
{
	_cleanup_json_ json_object *names = store_list(n->self.name);
	json_object *list = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(names); i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(names, i));
		/* a container may go (migrated away, removed) between the two
		 * reads: it is then simply not listed */
		ferry_error_t ignored = { 0 };
		json_object *rec = store_load(n->self.name, name, &ignored);
		if (rec)
			json_object_array_add(list, pod_status(n, rec));
		json_object_put(rec);
	}
	json_object *r = json_object_new_object();
	json_object_object_add(r, "containers", list);
	return r;
}

/* Completes a run request into a record: image defaults, IP. */
static json_object *record_from_run(const struct node *n, json_object *req, ferry_error_t *err)
{
	struct image img;
	json_object *args = NULL, *env = NULL, *v;
	const char *name = record_str(req, "name");
	if (!name_is_valid(name)) {
		ferry_error_set(err, 0, "invalid container name '%s'", name);
		return NULL;
	}
	if (image_load(record_str(req, "image"), &img, err) < 0)
		return NULL;
	json_object *rec = json_object_new_object();
	json_object_object_add(rec, "name", json_object_new_string(name));
	json_object_object_add(rec, "image", json_object_new_string(img.name));
	json_object_object_get_ex(req, "args", &args);
	if (!args || json_object_array_length(args) == 0)
		json_object_object_get_ex(img.config, "args", &args);
	json_object_object_add(rec, "args", json_object_get(args));
	json_object_object_get_ex(img.config, "env", &env);
	env = json_object_get(env);
	if (!env)
		env = json_object_new_array();
	if (json_object_object_get_ex(req, "env", &v) && json_object_is_type(v, json_type_array))
		for (size_t i = 0; i < json_object_array_length(v); i++)
			json_object_array_add(env, json_object_get(json_object_array_get_idx(v, i)));
	json_object_object_add(rec, "env", env);
	json_object_object_get_ex(img.config, "cwd", &v);
	json_object_object_add(rec, "cwd", json_object_new_string(v ? json_object_get_string(v) : "/"));
	image_release(&img);
	return rec;
}

static json_object *op_run(const struct node *n, json_object *req, ferry_error_t *err)
{
	char ip[16];
	const char *name = record_str(req, "name");
	_cleanup_json_ json_object *rec = record_from_run(n, req, err);
	if (!rec)
		return NULL;
	_cleanup_fd_ int lock = container_lock(n, name, err);
	if (lock < 0)
		return NULL;
	ferry_error_t probe = { 0 };
	json_object *existing = store_load(n->self.name, name, &probe);
	if (existing) {
		json_object_put(existing);
		ferry_error_set(err, 0, "container %s already exists on %s", name, n->self.name);
		return NULL;
	}
	if (ipam_allocate(name, ip, err) < 0)
		return NULL;
	json_object_object_add(rec, "ip", json_object_new_string(ip));
	json_object_object_add(rec, "node", json_object_new_string(n->self.name));
	if (store_validate_record(rec, err) < 0 || pod_create(n, rec, err) < 0) {
		ipam_release(ip);
		return NULL;
	}
	log_info("started %s (%s) at %s", name, record_str(rec, "image"), ip);
	return pod_status(n, rec);
}

static json_object *op_rm(const struct node *n, json_object *req, ferry_error_t *err)
{
	const char *name = record_str(req, "name");
	_cleanup_json_ json_object *rec = store_load(n->self.name, name, err);
	if (!rec)
		return NULL;
	_cleanup_fd_ int lock = container_lock(n, name, err);
	if (lock < 0)
		return NULL;
	pod_destroy(n, name, record_str(rec, "ip"));
	ipam_release(record_str(rec, "ip"));
	log_info("removed %s", name);
	json_object *r = json_object_new_object();
	json_object_object_add(r, "removed", json_object_new_string(name));
	return r;
}

static json_object *op_migrate(const struct node *n, json_object *req, struct wire_conn *c,
			       ferry_error_t *err)
{
	struct migration_report report;
	_cleanup_fd_ int lock = container_lock(n, record_str(req, "name"), err);
	if (lock < 0)
		return NULL;
	migrate_source(n, req, c, &report, err);
	log_info("migration of %s to %s: %s", report.name, report.to, report.ok ? "ok" : report.error);
	return report_to_json(&report);
}

static int peer_is_root(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == 0;
}

static json_object *dispatch(const struct node *n, json_object *req, struct wire_conn *c,
			     ferry_error_t *err)
{
	const char *op = record_str(req, "op");
	if (!strcmp(op, "ping"))
		return op_ping(n, req, err);
	if (!strcmp(op, "ps"))
		return op_ps(n, req, err);
	if (!strcmp(op, "run"))
		return op_run(n, req, err);
	if (!strcmp(op, "rm"))
		return op_rm(n, req, err);
	if (!strcmp(op, "migrate"))
		return op_migrate(n, req, c, err);
	ferry_error_set(err, 0, "unknown operation '%s'", op);
	return NULL;
}

void requests_answer_frame(const struct node *n, struct wire_conn *c, struct wire_frame *f)
{
	ferry_error_t err = { 0 };
	_cleanup_json_ json_object *req = f->type == WIRE_REQUEST ? wire_frame_json(f, &err) : NULL;
	if (f->type != WIRE_REQUEST)
		ferry_error_set(&err, 0, "protocol error: expected REQUEST, got %s",
				wire_type_name(f->type));
	_cleanup_json_ json_object *result = req ? dispatch(n, req, c, &err) : NULL;
	if (result)
		wire_send_json(c, WIRE_RESULT, result, NULL);
	else
		wire_send_error(c, err.message);
}

void requests_serve(const struct node *n, int fd)
{
	ferry_error_t err = { 0 };
	struct wire_frame f = { 0 };
	struct wire_conn c;
	wire_conn_init_plain(&c, fd);
	if (!peer_is_root(fd))
		wire_send_error(&c, "permission denied: only root may control the agent");
	else if (wire_recv(&c, &f, &err) < 0)
		wire_send_error(&c, err.message);
	else
		requests_answer_frame(n, &c, &f);
	wire_frame_release(&f);
}
