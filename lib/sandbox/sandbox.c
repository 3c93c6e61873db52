/*
 * sandbox.c - see sandbox.h.
 */
#include "sandbox/sandbox.h"
#include "agent/client.h"
#include "container/runc.h"
#include "container/rootfs.h"
#include "container/store.h"
#include "net/netns.h"
#include "sandbox/config.h"
#include "sandbox/preflight.h"
#include "tls/pki.h"
#include "sandbox/topology.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int fabric_up(ferry_error_t *err)
{
	char cmds[512];
	snprintf(cmds, sizeof(cmds),
		 "link add " FABRIC_BRIDGE " type bridge\n"
		 "addr add " FABRIC_GATEWAY "/24 dev " FABRIC_BRIDGE "\n"
		 "link set " FABRIC_BRIDGE " up\n");
	if (!fs_exists("/sys/class/net/" FABRIC_BRIDGE) && netns_ip_batch(NULL, cmds, err) < 0)
		return ferry_error_prefix(err, "create fabric bridge");
	/* pod IPs are /32 routes; any pod IP without one (between an agent's
	 * death and its recovery, say) is dropped here, never sent on towards
	 * the host's default gateway */
	if (netns_ip_batch(NULL, "route replace blackhole " POD_PREFIX "0.0/16\n", err) < 0)
		return ferry_error_prefix(err, "reserve the pod address range");
	if (netns_sysctl(NULL, "net.ipv4.ip_forward", "1", err) < 0 ||
	    netns_sysctl(NULL, "net.ipv4.conf." FABRIC_BRIDGE ".send_redirects", "0", err) < 0)
		return -1;
	return 0;
}

static void describe_node(struct node_info *n, int index)
{
	snprintf(n->name, sizeof(n->name), "node%d", index);
	snprintf(n->address, sizeof(n->address), FABRIC_PREFIX "%d", 10 + index);
	snprintf(n->netns, sizeof(n->netns), "ferry-node%d", index);
	n->migration_port = MIGRATION_PORT;
}

static int node_net_up(const struct node_info *n, ferry_error_t *err)
{
	char host[512], inside[512], link[32];
	snprintf(link, sizeof(link), "fn-%s", n->name);
	if (netns_exists(n->netns))
		return 0;
	if (netns_create(n->netns, err) < 0)
		return -1;
	snprintf(host, sizeof(host),
		 "link add %s type veth peer name eth0 netns %s\n"
		 "link set %s master " FABRIC_BRIDGE " up\n", link, n->netns, link);
	snprintf(inside, sizeof(inside),
		 "link set lo up\n"
		 "addr add %s/24 dev eth0\n"
		 "link set eth0 up\n"
		 "route add default via " FABRIC_GATEWAY "\n", n->address);
	if (netns_ip_batch(NULL, host, err) < 0 || netns_ip_batch(n->netns, inside, err) < 0 ||
	    netns_sysctl(n->netns, "net.ipv4.ip_forward", "1", err) < 0)
		return ferry_error_prefix(err, "set up node %s", n->name);
	return 0;
}

static bool agent_alive(const char *node)
{
	ferry_error_t err = { 0 };
	_cleanup_json_ json_object *req = json_object_new_object();
	json_object_object_add(req, "op", json_object_new_string("ping"));
	_cleanup_json_ json_object *r = client_call(node, req, NULL, NULL, &err);
	return r != NULL;
}

static pid_t start_agent(const struct node_info *n, const char *self_exe, ferry_error_t *err)
{
	char dir[PATH_MAX], log[PATH_MAX + 16];
	config_node_state_dir(dir, sizeof(dir), n->name);
	snprintf(log, sizeof(log), "%s/agent.log", dir);
	if (fs_mkdir_p(dir, 0700, err) < 0)
		return -1;
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return ferry_error_set(err, errno, "open %s", log);
	const char *argv[] = { self_exe, "agent", "--node", n->name, NULL };
	struct proc_opts opts = { .stdin_fd = -1, .stdout_fd = fd, .stderr_fd = fd,
				  .new_session = true };
	struct proc p;
	int rc = proc_spawn(argv, &opts, &p, err);
	close(fd);
	if (rc < 0)
		return -1;
	close(p.out_memfd);
	close(p.err_memfd);
	return p.pid;
}

static int wait_agent(const struct node_info *n, pid_t pid, ferry_error_t *err)
{
	for (int i = 0; i < 100; i++) {
		if (agent_alive(n->name))
			return 0;
		if (kill(pid, 0) < 0)
			break;
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return ferry_error_set(err, 0, "agent of %s did not start (see %s/nodes/%s/agent.log)",
			       n->name, config_get()->state_dir, n->name);
}

/* The sandbox's CA and one agent certificate per node (for its address);
 * kept across `down`/`up`, re-issued only when missing or about to expire. */
static int node_certificates(const struct topology *t, ferry_error_t *err)
{
	char pki[PATH_MAX];
	config_pki_dir(pki, sizeof(pki));
	if (pki_init(pki, err) < 0)
		return -1;
	for (int i = 0; i < t->n_nodes; i++) {
		const struct node_info *n = &t->nodes[i];
		struct pki_subject s = { .name = n->name, .role = PKI_ROLE_AGENT, .ip = n->address };
		if (!pki_has_valid(pki, &s) && pki_issue(pki, &s, pki, err) < 0)
			return ferry_error_prefix(err, "certificate for %s", n->name);
	}
	return 0;
}

int sandbox_up(int n_nodes, const char *self_exe, ferry_error_t *err)
{
	struct topology t = { 0 };
	if (n_nodes < 1 || n_nodes > TOPOLOGY_MAX_NODES)
		return ferry_error_set(err, 0, "--nodes must be between 1 and %d", TOPOLOGY_MAX_NODES);
	if (preflight_check(NULL, err) < 0 || fs_mkdir_p(config_get()->state_dir, 0700, err) < 0 ||
	    fabric_up(err) < 0)
		return -1;
	struct topology old;
	ferry_error_t ignore = { 0 };
	if (topology_load(&old, &ignore) == 0 && old.n_nodes > n_nodes)
		n_nodes = old.n_nodes; /* never shrink a running sandbox */
	t.n_nodes = n_nodes;
	for (int i = 0; i < n_nodes; i++) {
		describe_node(&t.nodes[i], i + 1);
		if (node_net_up(&t.nodes[i], err) < 0)
			return -1;
	}
	if (topology_save(&t, err) < 0 || node_certificates(&t, err) < 0)
		return -1;
	for (int i = 0; i < n_nodes; i++) {
		struct node_info *n = &t.nodes[i];
		const struct node_info *prev = topology_find(&old, n->name);
		if (agent_alive(n->name) && prev) {
			n->agent_pid = prev->agent_pid;
			continue;
		}
		pid_t pid = start_agent(n, self_exe, err);
		if (pid < 0 || wait_agent(n, pid, err) < 0)
			return -1;
		n->agent_pid = pid;
	}
	return topology_save(&t, err);
}

/* Kills and deletes every container runc knows on the node, unmounts layers. */
static void remove_node_containers(const struct node_info *n)
{
	struct runc_ctx r;
	char dir[PATH_MAX];
	runc_ctx_init(&r, n->name);
	_cleanup_json_ json_object *names = store_list(n->name);
	for (size_t i = 0; i < json_object_array_length(names); i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(names, i));
		runc_destroy(&r, name);
		rootfs_umount(config_container_dir(dir, sizeof(dir), n->name, name));
	}
}

static void stop_agent(const struct node_info *n)
{
	/* the agent leads its own process group: stop its request children too */
	if (n->agent_pid <= 0 || kill(-n->agent_pid, SIGTERM) < 0)
		return;
	for (int i = 0; i < 40 && kill(n->agent_pid, 0) == 0; i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	kill(-n->agent_pid, SIGKILL);
}

/* The host end of the node's veth, deleted explicitly: a namespace is torn
 * down asynchronously, and its links with it. */
static void remove_node_link(const struct node_info *n)
{
	char link[32];
	snprintf(link, sizeof(link), "fn-%s", n->name);
	const char *argv[] = { "ip", "link", "del", link, NULL };
	proc_run_quiet(argv);
}

/* Pod namespaces are named fp-*; remove any left behind. */
static void remove_pod_namespaces(void)
{
	_cleanup_dir_ DIR *d = opendir("/run/netns");
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, "fp-", 3) || !strncmp(de->d_name, "ferry-node", 10))
			netns_delete(de->d_name);
}

/* Sandbox nodes are named node<N>; other agents on this machine (a test
 * cluster's, --k8s) may share the state roots and must keep their files. */
static bool is_sandbox_node_name(const char *name)
{
	if (strncmp(name, "node", 4) || !name[4])
		return false;
	for (const char *p = name + 4; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

/* Removes dir/node<N> for every sandbox node, then dir itself if empty. */
static int remove_node_dirs(const char *dir, ferry_error_t *err)
{
	char path[PATH_MAX + 256];
	_cleanup_dir_ DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!is_sandbox_node_name(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (fs_rm_rf(path, err) < 0)
			return -1;
	}
	rmdir(dir); /* only if nothing else lives there */
	return 0;
}

/* Everything of the sandbox in the state, lib and scratch roots, and
 * nothing else: the CA (lib/pki), images and other agents' files stay. */
static int remove_sandbox_files(ferry_error_t *err)
{
	const struct ferry_config *c = config_get();
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/nodes", c->lib_dir);
	if (remove_node_dirs(path, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/nodes", c->state_dir);
	if (remove_node_dirs(path, err) < 0 || remove_node_dirs(c->scratch_dir, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/ipam", c->state_dir);
	if (fs_rm_rf(path, err) < 0)
		return -1;
	config_topology_file(path, sizeof(path));
	unlink(path);
	rmdir(c->state_dir);
	return 0;
}

int sandbox_down(ferry_error_t *err)
{
	struct topology t;
	ferry_error_t ignore = { 0 };
	if (topology_load(&t, &ignore) == 0) {
		for (int i = 0; i < t.n_nodes; i++) {
			stop_agent(&t.nodes[i]);
			remove_node_containers(&t.nodes[i]);
			remove_node_link(&t.nodes[i]);
		}
	}
	remove_pod_namespaces();
	const char *blackhole[] = { "ip", "route", "del", "blackhole", POD_PREFIX "0.0/16", NULL };
	proc_run_quiet(blackhole);
	if (fs_exists("/sys/class/net/" FABRIC_BRIDGE)) {
		const char *argv[] = { "ip", "link", "delete", FABRIC_BRIDGE, NULL };
		proc_run_quiet(argv);
	}
	return remove_sandbox_files(err);
}

json_object *sandbox_status(ferry_error_t *err)
{
	struct topology t;
	if (topology_load(&t, err) < 0)
		return NULL;
	json_object *list = json_object_new_array();
	for (int i = 0; i < t.n_nodes; i++) {
		const struct node_info *n = &t.nodes[i];
		json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(n->name));
		json_object_object_add(o, "address", json_object_new_string(n->address));
		json_object_object_add(o, "netns", json_object_new_string(n->netns));
		json_object_object_add(o, "agent_pid", json_object_new_int(n->agent_pid));
		json_object_object_add(o, "migration_port", json_object_new_int(n->migration_port));
		json_object_object_add(o, "agent",
				       json_object_new_string(agent_alive(n->name) ? "running" : "down"));
		json_object_array_add(list, o);
	}
	return list;
}
