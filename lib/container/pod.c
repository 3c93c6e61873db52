/*
 * pod.c - see pod.h.
 */
#include "container/pod.h"
#include "container/bundle.h"
#include "container/image.h"
#include "container/logpipe.h"
#include "container/rootfs.h"
#include "container/store.h"
#include "net/podnet.h"
#include "sandbox/config.h"
#include "util/fs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

void pod_net(const struct node *n, json_object *record, struct pod_net *pn)
{
	podnet_describe(pn, n->self.name, n->self.netns, record_str(record, "name"),
			record_str(record, "ip"));
}

const char *pod_freezer_file(char *buf, size_t len, const struct node *n, const char *name,
			     const char *file)
{
	snprintf(buf, len, "/sys/fs/cgroup/freezer/ferry/%s/%s/%s", n->self.name, name, file);
	return buf;
}

const char *pod_procs_file(char *buf, size_t len, const struct node *n, const char *name)
{
	return pod_freezer_file(buf, len, n, name, "cgroup.procs");
}

static int write_bundle(const struct node *n, json_object *record, const char *dir,
			const struct pod_net *pn, ferry_error_t *err)
{
	char netns_path[256], cgroup[256], criu_conf[PATH_MAX];
	snprintf(netns_path, sizeof(netns_path), "/run/netns/%s", pn->netns);
	snprintf(cgroup, sizeof(cgroup), "/ferry/%s/%s", n->self.name, record_str(record, "name"));
	struct bundle_params bp = { .dir = dir, .record = record, .netns_path = netns_path,
				    .cgroup_path = cgroup,
				    .criu_config = config_criu_conf(criu_conf, sizeof(criu_conf),
								    n->self.name) };
	return bundle_write(&bp, err);
}

/* Starts the container fresh (src NULL) or restores it, stdio on a log pipe. */
static int start_with_logs(const struct node *n, json_object *record, const char *dir,
			   const struct restore_source *src, ferry_error_t *err)
{
	char log[PATH_MAX];
	struct logpipe lp;
	snprintf(log, sizeof(log), "%s/log", dir);
	if (logpipe_start(log, &lp, err) < 0)
		return -1;
	struct runc_stdio stdio = { lp.stdin_read, lp.output_write, lp.output_write };
	const char *name = record_str(record, "name");
	int rc;
	if (src) {
		rc = runc_restore(&n->runc, dir, name, src->image_dir, src->work_dir, src->lazy,
				  &stdio, err);
	} else {
		rc = runc_run_detached(&n->runc, dir, name, &stdio, err);
	}
	logpipe_close(&lp);
	return rc;
}

int pod_create(const struct node *n, json_object *record, ferry_error_t *err)
{
	char dir[PATH_MAX];
	struct pod_net pn;
	struct image img;
	const char *name = record_str(record, "name");
	config_container_dir(dir, sizeof(dir), n->self.name, name);
	pod_net(n, record, &pn);
	if (image_load(record_str(record, "image"), &img, err) < 0)
		return -1;
	int rc = -1;
	if (fs_mkdir_p(dir, 0700, err) < 0 || podnet_create(&pn, err) < 0)
		goto out;
	if (rootfs_mount(dir, img.rootfs, err) < 0 || write_bundle(n, record, dir, &pn, err) < 0 ||
	    start_with_logs(n, record, dir, NULL, err) < 0 || store_save(n->self.name, record, err) < 0 ||
	    podnet_route_to_node(n->host_netns_fd, pn.ip, n->self.address, err) < 0)
		goto out;
	rc = 0;
out:
	image_release(&img);
	if (rc < 0)
		pod_destroy(n, name, pn.ip);
	return rc;
}

int pod_prepare(const struct node *n, json_object *record, ferry_error_t *err)
{
	char dir[PATH_MAX];
	struct pod_net pn;
	const char *name = record_str(record, "name");
	config_container_dir(dir, sizeof(dir), n->self.name, name);
	pod_net(n, record, &pn);
	pod_destroy(n, name, pn.ip); /* leftovers of an earlier failed attempt */
	if (fs_mkdir_p(dir, 0700, err) < 0 || podnet_create(&pn, err) < 0 ||
	    write_bundle(n, record, dir, &pn, err) < 0) {
		pod_destroy(n, name, pn.ip);
		return -1;
	}
	char upper[PATH_MAX + 8];
	snprintf(upper, sizeof(upper), "%s/upper", dir);
	return fs_mkdir_p(upper, 0755, err);
}

int pod_restore(const struct node *n, json_object *record, const struct restore_source *src,
		ferry_error_t *err)
{
	char dir[PATH_MAX];
	struct image img;
	config_container_dir(dir, sizeof(dir), n->self.name, record_str(record, "name"));
	if (image_load(record_str(record, "image"), &img, err) < 0)
		return -1;
	int rc = rootfs_mount(dir, img.rootfs, err);
	image_release(&img);
	if (rc < 0 || start_with_logs(n, record, dir, src, err) < 0)
		return -1;
	return store_save(n->self.name, record, err);
}

void pod_destroy(const struct node *n, const char *name, const char *ip)
{
	char dir[PATH_MAX];
	struct pod_net pn;
	ferry_error_t err = { 0 };
	runc_destroy(&n->runc, name);
	config_container_dir(dir, sizeof(dir), n->self.name, name);
	rootfs_umount(dir);
	podnet_describe(&pn, n->self.name, n->self.netns, name, ip ? ip : "");
	podnet_destroy(&pn);
	fs_rm_rf(dir, &err);
}

json_object *pod_status(const struct node *n, json_object *record)
{
	char status[32] = "unknown";
	pid_t pid = 0;
	ferry_error_t err = { 0 };
	const char *name = record_str(record, "name");
	if (runc_state(&n->runc, name, status, &pid, &err) < 0)
		snprintf(status, sizeof(status), "%s", err.errno_value == ENOENT ? "missing" : "unknown");
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "node", json_object_new_string(n->self.name));
	json_object_object_add(o, "ip", json_object_new_string(record_str(record, "ip")));
	json_object_object_add(o, "image", json_object_new_string(record_str(record, "image")));
	json_object_object_add(o, "state", json_object_new_string(status));
	json_object_object_add(o, "pid", json_object_new_int(pid));
	return o;
}
