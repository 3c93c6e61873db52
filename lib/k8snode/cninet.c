/*
 * cninet.c - see cninet.h.  Plumbing uses `ip -batch` like the sandbox
 * (none of it is on a migration's critical path); the pod namespace is known
 * only by a path, so ip runs inside it by setns (proc_opts.netns_fd), and the
 * veth's node end is moved out of it to this process's own namespace by pid.
 */
#include "k8snode/cninet.h"
#include "k8snode/podmigrate.h"
#include "net/netns.h"
#include "util/cleanup.h"
#include "util/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

void cninet_host_if(const char *container_id, const char *ifname, char out[16])
{
	char key[600];
	snprintf(key, sizeof(key), "%s/%s", container_id, ifname);
	snprintf(out, 16, "fc%08x", XXH32(key, strlen(key), 0));
}

void cninet_del(const char *host_if)
{
	const char *argv[] = { "ip", "link", "del", host_if, NULL };
	proc_run_quiet(argv);
}

static int open_netns(const char *path, ferry_error_t *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ferry_error_set(err, errno, "open network namespace %s", path);
	return fd;
}

int cninet_add(const char *netns_path, const char *ifname, const char *host_if, const char *ip,
	       bool locked, ferry_error_t *err)
{
	char make[256], node[512], pod[768];
	_cleanup_fd_ int ns = open_netns(netns_path, err);
	if (ns < 0)
		return -1;
	cninet_del(host_if); /* a retried ADD starts clean */
	snprintf(make, sizeof(make), "link add %s type veth peer name %s netns %d\n", ifname,
		 host_if, (int)getpid());
	snprintf(node, sizeof(node),
		 "link set %s up\n"
		 "addr add " CNINET_GATEWAY "/32 dev %s scope link\n"
		 "route replace %s/32 dev %s scope link\n",
		 host_if, host_if, ip, host_if);
	snprintf(pod, sizeof(pod),
		 "link set lo up\n"
		 "addr add %s/32 dev %s\n"
		 "link set %s up\n"
		 "route add " CNINET_GATEWAY " dev %s scope link\n"
		 "route add default via " CNINET_GATEWAY " dev %s\n",
		 ip, ifname, ifname, ifname, ifname);
	if (locked && netns_nft_fd(ns, PODMIGRATE_LOCK_RULESET, err) < 0)
		return ferry_error_prefix(err, "lock the traffic of a migration's target pod");
	if (netns_ip_batch_fd(ns, make, err) < 0)
		return ferry_error_prefix(err, "create veth %s/%s", host_if, ifname);
	if (netns_ip_batch_fd(-1, node, err) < 0 || netns_ip_batch_fd(ns, pod, err) < 0) {
		cninet_del(host_if);
		return ferry_error_prefix(err, "configure veth %s/%s for %s", host_if, ifname, ip);
	}
	return 0;
}

/* `ip -o ARGS` in ns (-1: own), its output into *out. */
static int ip_show(int ns, const char *const args[], char **out, ferry_error_t *err)
{
	const char *argv[16] = { "ip", "-o" };
	int n = 2;
	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	struct proc_opts o = { .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .netns_fd = ns };
	struct proc p;
	if (proc_spawn(argv, &o, &p, err) < 0)
		return -1;
	return proc_finish(&p, out, err);
}

int cninet_check(const char *netns_path, const char *ifname, const char *host_if, const char *ip,
		 ferry_error_t *err)
{
	_cleanup_fd_ int ns = open_netns(netns_path, err);
	_cleanup_free_ char *host = NULL, *pod = NULL;
	char want[40];
	if (ns < 0)
		return -1;
	const char *host_args[] = { "link", "show", "dev", host_if, NULL };
	const char *pod_args[] = { "-4", "addr", "show", "dev", ifname, NULL };
	if (ip_show(-1, host_args, &host, err) < 0)
		return ferry_error_prefix(err, "node side %s", host_if);
	if (ip_show(ns, pod_args, &pod, err) < 0)
		return ferry_error_prefix(err, "pod side %s", ifname);
	snprintf(want, sizeof(want), "inet %s/32 ", ip);
	if (!pod || !strstr(pod, want))
		return ferry_error_set(err, 0, "%s in %s does not carry %s/32", ifname, netns_path,
				       ip);
	return 0;
}
