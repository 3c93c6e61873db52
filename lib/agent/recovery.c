/*
 * recovery.c - see recovery.h.
 */
#include "agent/recovery.h"
#include "agent/locks.h"
#include "container/pod.h"
#include "container/store.h"
#include "container/tcprepair.h"
#include "net/podnet.h"
#include "net/route.h"
#include "sandbox/config.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/proc.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* true only if the host routes the pod IP to another node of the sandbox:
 * no route, a blackhole or any other gateway means it was never handed over */
static bool handed_over(const struct node *n, const char *ip)
{
	char gw[16];
	ferry_error_t err = { 0 };
	if (route_lookup_gateway_v4(n->host_netns_fd, ip, gw, &err) < 0 || !gw[0])
		return false;
	for (int i = 0; i < n->topology.n_nodes; i++) {
		const struct node_info *other = &n->topology.nodes[i];
		if (strcmp(other->name, n->self.name) && !strcmp(other->address, gw))
			return true;
	}
	return false;
}

/* true if the host routes the pod IP to this node */
static bool routed_here(const struct node *n, const char *ip)
{
	char gw[16];
	ferry_error_t err = { 0 };
	return route_lookup_gateway_v4(n->host_netns_fd, ip, gw, &err) == 0 &&
	       !strcmp(gw, n->self.address);
}

static void resume_interrupted(const struct node *n, json_object *rec)
{
	ferry_error_t err = { 0 };
	struct pod_net pn;
	char procs[PATH_MAX];
	const char *name = record_str(rec, "name");
	pod_net(n, rec, &pn);
	pod_procs_file(procs, sizeof(procs), n, name);
	tcp_repair_release(procs, &err); /* in case CRIU died mid-dump */
	char status[32] = "";
	runc_state(&n->runc, name, status, NULL, &err);
	if (podnet_unlock(&pn, &err) < 0 ||
	    podnet_route_to_node(n->host_netns_fd, pn.ip, n->self.address, &err) < 0 ||
	    (!strcmp(status, "paused") && runc_resume(&n->runc, name, &err) < 0))
		log_error("recovery: %s: %s", name, err.message);
	else
		log_info("recovery: %s was left paused by an interrupted migration: resumed", name);
}

/* A committed post-copy whose agent died: CRIU's page server (its own
 * process group) still feeds the target.  A child waits until it has sent
 * every page and exits, then removes the local copy; the agent goes on. */
static void finish_committed_postcopy(const struct node *n, const char *name, const char *ip,
				      int pgid, const char *marker)
{
	pid_t pid = fork();
	if (pid != 0) {
		if (pid < 0)
			log_error("recovery: fork: %s", strerror(errno));
		return;
	}
	log_info("recovery: %s was committed in post-copy; waiting for its pages to be sent", name);
	for (int i = 0; i < 6000 && kill(-pgid, 0) == 0; i++) { /* up to 10 min */
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	kill(-pgid, SIGKILL);
	pod_destroy(n, name, ip);
	unlink(marker);
	log_info("recovery: post-copy of %s finished; local copy removed", name);
	_exit(0);
}

/* A source's in-flight marker: the migration was interrupted.  Stops the
 * runc/CRIU it left (CRIU may still hold the tasks, ptrace-stopped, serving
 * pages to nobody) and reports whether there was one.  *serving: a committed
 * post-copy whose page server still runs, left to finish. */
static bool interrupted_migration(const struct node *n, json_object *rec, bool *serving)
{
	char path[PATH_MAX];
	const char *name = record_str(rec, "name");
	*serving = false;
	config_migration_marker(path, sizeof(path), n->self.name, name);
	_cleanup_free_ char *text = fs_read_file(path, NULL, NULL);
	if (!text)
		return false;
	int pgid = atoi(text);
	if (pgid > 1 && strstr(text, "committed") && kill(-pgid, 0) == 0) {
		finish_committed_postcopy(n, name, record_str(rec, "ip"), pgid, path);
		*serving = true;
		return true;
	}
	if (pgid > 1 && kill(-pgid, SIGKILL) == 0) {
		for (int i = 0; i < 100 && kill(-pgid, 0) == 0; i++) {
			struct timespec ts = { 0, 20 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		log_info("recovery: stopped the checkpoint of %s left by an interrupted migration",
			 name);
	}
	unlink(path);
	return true;
}

static void settle_container(const struct node *n, json_object *rec)
{
	char status[32];
	ferry_error_t err = { 0 };
	const char *name = record_str(rec, "name");
	/* a live request process (a migration that outlived the agent daemon)
	 * holds the container's lock: it settles the container itself */
	_cleanup_fd_ int lock = container_lock(n, name, &err);
	if (lock < 0) {
		log_info("recovery: %s: %s; left to it", name, err.message);
		return;
	}
	bool serving;
	bool interrupted = interrupted_migration(n, rec, &serving);
	if (serving)
		return;
	if (runc_state(&n->runc, name, status, NULL, &err) < 0)
		return;
	if (!interrupted && strcmp(status, "paused"))
		return;
	if (handed_over(n, record_str(rec, "ip"))) {
		log_info("recovery: %s was handed over before the interruption: local copy removed",
			 name);
		pod_destroy(n, name, record_str(rec, "ip"));
		return;
	}
	resume_interrupted(n, rec);
}

/* True if a live request process holds the container's lock (it will settle
 * the container itself; recovery must not touch its files). */
static bool in_use(const struct node *n, const char *name)
{
	ferry_error_t err = { 0 };
	int lock = container_lock(n, name, &err);
	if (lock < 0)
		return true;
	close(lock);
	return false;
}

/* runc containers of this node that have no record: targets that never
 * finished restoring */
static void remove_unrecorded_containers(const struct node *n)
{
	_cleanup_dir_ DIR *d = opendir(n->runc.root);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		ferry_error_t err = { 0 };
		if (de->d_name[0] == '.')
			continue;
		json_object *rec = store_load(n->self.name, de->d_name, &err);
		if (rec) {
			json_object_put(rec);
			continue;
		}
		if (in_use(n, de->d_name))
			continue;
		log_info("recovery: removing unrecorded container %s", de->d_name);
		pod_destroy(n, de->d_name, NULL);
	}
}

/* pod namespaces fp-<node>-<name> without a record */
static void remove_orphan_namespaces(const struct node *n)
{
	char prefix[96];
	snprintf(prefix, sizeof(prefix), "fp-%s-", n->self.name);
	_cleanup_dir_ DIR *d = opendir("/run/netns");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		ferry_error_t err = { 0 };
		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		const char *name = de->d_name + strlen(prefix);
		json_object *rec = store_load(n->self.name, name, &err);
		if (rec) {
			json_object_put(rec);
			continue;
		}
		if (in_use(n, name))
			continue;
		log_info("recovery: removing the pod network of %s, which has no container", name);
		pod_destroy(n, name, NULL);
	}
}

static void remove_scratch(const struct node *n)
{
	char dir[PATH_MAX], logs[PATH_MAX], path[PATH_MAX * 2];
	snprintf(dir, sizeof(dir), "%s/%s", config_get()->scratch_dir, n->self.name);
	_cleanup_dir_ DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || in_use(n, de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fs_keep_logs_and_remove(path, config_criu_logs_dir(logs, sizeof(logs), n->self.name,
								   de->d_name));
	}
}

/* A target's incoming marker: this agent died while receiving a pod.  The
 * route decides: routed here, the source committed and the pod is ours (its
 * traffic lock comes off); otherwise the half-built pod is removed. */
static void settle_incoming(const struct node *n, const char *name)
{
	char path[PATH_MAX];
	ferry_error_t err = { 0 };
	_cleanup_fd_ int lock = container_lock(n, name, &err);
	if (lock < 0) { /* the target's own process lives on and settles it */
		log_info("recovery: incoming %s: %s; left to it", name, err.message);
		return;
	}
	config_incoming_marker(path, sizeof(path), n->self.name, name);
	json_object *rec = store_load(n->self.name, name, &err);
	struct pod_net pn;
	if (rec)
		pod_net(n, rec, &pn);
	if (rec && routed_here(n, record_str(rec, "ip"))) {
		if (podnet_unlock(&pn, &err) < 0)
			log_error("recovery: %s: %s", name, err.message);
		podnet_announce(&pn);
		log_info("recovery: incoming %s was committed to this node: kept", name);
	} else {
		pod_destroy(n, name, NULL);
		log_info("recovery: incoming %s was not committed: half-built copy removed", name);
	}
	json_object_put(rec);
	unlink(path);
}

static void settle_incoming_all(const struct node *n)
{
	char dir[PATH_MAX];
	config_incoming_marker(dir, sizeof(dir), n->self.name, "x");
	*strrchr(dir, '/') = '\0';
	_cleanup_dir_ DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			settle_incoming(n, de->d_name);
}

void recovery_run(const struct node *n)
{
	settle_incoming_all(n);
	_cleanup_json_ json_object *names = store_list(n->self.name);
	for (size_t i = 0; i < json_object_array_length(names); i++) {
		ferry_error_t err = { 0 };
		const char *name = json_object_get_string(json_object_array_get_idx(names, i));
		json_object *rec = store_load(n->self.name, name, &err);
		if (rec)
			settle_container(n, rec);
		json_object_put(rec);
	}
	remove_unrecorded_containers(n);
	remove_orphan_namespaces(n);
	remove_scratch(n);
}
