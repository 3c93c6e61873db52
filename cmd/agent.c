/*
 * agent.c - `ferry agent --node NAME`: run a node agent in the foreground;
 * with --k8s, the agent of a Kubernetes node (lib/k8snode/k8sagent.c).
 */
#include "cmd/cmd.h"
#include "agent/server.h"
#include "k8snode/cni.h"
#include "k8snode/k8sagent.h"
#include "sandbox/config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>

#define USAGE "ferry agent --node NAME\n" \
	      "       ferry agent --k8s --node NAME --address IP [--port 7070] " \
	      "[--runc-root DIR] [--cni-data DIR] [--host-netns PATH] [--pki-dir DIR]"

static int k8s_agent(const char *node, const char *address, int port, const char *runc_root,
		     const char *cni_data, const char *host_netns, const char *pki_dir)
{
	ferry_error_t err = { 0 };
	struct k8s_agent a = { .port = port, .host_netns_fd = -1 };
	uint32_t ip;
	if (!address || cni_parse_ipv4(address, &ip) < 0 || port <= 0 || port > 65535)
		return cmd_usage(USAGE);
	snprintf(a.node, sizeof(a.node), "%s", node);
	snprintf(a.address, sizeof(a.address), "%s", address);
	snprintf(a.runc_root, sizeof(a.runc_root), "%s", runc_root);
	snprintf(a.cni_data, sizeof(a.cni_data), "%s", cni_data);
	snprintf(a.host_netns, sizeof(a.host_netns), "%s", host_netns);
	if (pki_dir)
		snprintf(a.pki_dir, sizeof(a.pki_dir), "%s", pki_dir);
	else
		config_pki_dir(a.pki_dir, sizeof(a.pki_dir));
	return k8sagent_run(&a, &err) < 0 ? cmd_fail(&err) : 0;
}

int cmd_agent(int argc, char **argv)
{
	static const struct option opts[] = { { "node", required_argument, NULL, 'n' },
					      { "k8s", no_argument, NULL, 'k' },
					      { "address", required_argument, NULL, 'a' },
					      { "port", required_argument, NULL, 'p' },
					      { "runc-root", required_argument, NULL, 'r' },
					      { "cni-data", required_argument, NULL, 'c' },
					      { "host-netns", required_argument, NULL, 'H' },
					      { "pki-dir", required_argument, NULL, 'P' },
					      { 0 } };
	const char *node = NULL, *address = NULL, *runc_root = "/run/containerd/runc/k8s.io";
	const char *cni_data = CNI_DEFAULT_DATA_DIR, *host_netns = "/proc/1/ns/net";
	const char *pki_dir = NULL;
	int port = 7070, k8s = 0, c;
	ferry_error_t err = { 0 };
	while ((c = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		switch (c) {
		case 'n': node = optarg; break;
		case 'k': k8s = 1; break;
		case 'a': address = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'r': runc_root = optarg; break;
		case 'c': cni_data = optarg; break;
		case 'H': host_netns = optarg; break;
		case 'P': pki_dir = optarg; break;
		default: return cmd_usage(USAGE);
		}
	}
	if (!node || optind != argc)
		return cmd_usage(USAGE);
	if (k8s)
		return k8s_agent(node, address, port, runc_root, cni_data, host_netns, pki_dir);
	return agent_run(node, &err) < 0 ? cmd_fail(&err) : 0;
}
