/*
 * podnet.c - see podnet.h.
 */
#include "net/podnet.h"
#include "net/netns.h"
#include "net/route.h"
#include "util/proc.h"

#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <xxhash.h>

void podnet_describe(struct pod_net *pn, const char *node, const char *node_netns,
		     const char *name, const char *ip)
{
	char key[128];
	snprintf(key, sizeof(key), "%s/%s", node, name);
	unsigned hash = XXH32(key, strlen(key), 0);
	snprintf(pn->netns, sizeof(pn->netns), "fp-%s-%s", node, name);
	snprintf(pn->host_if, sizeof(pn->host_if), "fv%08x", hash);
	snprintf(pn->peer_if, sizeof(pn->peer_if), "fp%08x", hash);
	snprintf(pn->ip, sizeof(pn->ip), "%s", ip);
	snprintf(pn->node_netns, sizeof(pn->node_netns), "%s", node_netns);
}

int podnet_create(const struct pod_net *pn, ferry_error_t *err)
{
	char node_cmds[1024], pod_cmds[1024];
	podnet_destroy(pn);
	if (netns_create(pn->netns, err) < 0)
		return -1;
	snprintf(node_cmds, sizeof(node_cmds),
		 "link add %s type veth peer name %s netns %s\n"
		 "link set %s up\n"
		 "addr add " POD_GATEWAY "/32 dev %s scope link\n"
		 "route replace %s/32 dev %s scope link\n",
		 pn->host_if, pn->peer_if, pn->netns, pn->host_if, pn->host_if, pn->ip,
		 pn->host_if);
	snprintf(pod_cmds, sizeof(pod_cmds),
		 "link set lo up\n"
		 "link set %s name eth0\n"
		 "addr add %s/32 dev eth0\n"
		 "link set eth0 up\n"
		 "route add " POD_GATEWAY " dev eth0 scope link\n"
		 "route add default via " POD_GATEWAY " dev eth0\n",
		 pn->peer_if, pn->ip);
	if (netns_ip_batch(pn->node_netns, node_cmds, err) < 0 ||
	    netns_ip_batch(pn->netns, pod_cmds, err) < 0) {
		podnet_destroy(pn);
		return ferry_error_prefix(err, "set up pod network %s", pn->netns);
	}
	return 0;
}

void podnet_destroy(const struct pod_net *pn)
{
	/* Delete the node's end of the veth first: the pod namespace can outlive
	 * its deletion (orphaned TCP sockets of a killed container hold it for a
	 * while), and with it the veth, its route and its name on the node. */
	const char *argv[] = { "ip", "-n", pn->node_netns, "link", "del", pn->host_if, NULL };
	if (pn->node_netns[0] && pn->host_if[0])
		proc_run_quiet(argv);
	netns_delete(pn->netns);
}

int podnet_lock(const struct pod_net *pn, ferry_error_t *err)
{
	static const char ruleset[] =
		"table inet ferry_lock {\n"
		"  chain in { type filter hook input priority -500; policy drop; }\n"
		"  chain out { type filter hook output priority -500; policy drop; }\n"
		"}\n";
	if (netns_nft(pn->netns, ruleset, err) < 0)
		return ferry_error_prefix(err, "lock network of %s", pn->netns);
	return 0;
}

int podnet_unlock(const struct pod_net *pn, ferry_error_t *err)
{
	/* the whole ruleset: the pod namespace is ferry's, and a CRIU that was
	 * killed mid-dump leaves its own lock table behind too */
	if (netns_nft(pn->netns, "flush ruleset\n", err) < 0)
		return ferry_error_prefix(err, "unlock network of %s", pn->netns);
	return 0;
}

int podnet_route_to_node(int host_netns_fd, const char *ip, const char *node_address,
			 ferry_error_t *err)
{
	return route_replace_v4(host_netns_fd, ip, 32, node_address, NULL, err);
}

void podnet_announce(const struct pod_net *pn)
{
	const char *argv[] = { "ip", "netns", "exec", pn->netns, "arping", "-q", "-U", "-c", "1",
			       "-I", "eth0", pn->ip, NULL };
	struct proc p;
	ferry_error_t err = { 0 };
	struct proc_opts opts = { .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1,
				  .new_session = true };
	/* fire and forget: the child is reaped by the agent's SIGCHLD handling */
	if (proc_spawn(argv, &opts, &p, &err) == 0) {
		close(p.out_memfd);
		close(p.err_memfd);
	}
}
