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
	      "[--runc-root DIR] [--cni-data DIR] [--host-netns PATH] [--pki-dir DIR] " \
	      "[--metrics-addr [HOST]:PORT]"

static int k8s_agent(struct k8s_agent *a, const char *address)
{
	ferry_error_t err = { 0 };
	uint32_t ip;
	if (!address || cni_parse_ipv4(address, &ip) < 0 || a->port <= 0 || a->port > 65535)
		return cmd_usage(USAGE);
	snprintf(a->address, sizeof(a->address), "%s", address);
	if (!a->pki_dir[0])
		config_pki_dir(a->pki_dir, sizeof(a->pki_dir));
	return k8sagent_run(a, &err) < 0 ? cmd_fail(&err) : 0;
}

/* copies optarg into a fixed field; too long is a usage error */
#define SET_FIELD(field) \
	if (snprintf(field, sizeof(field), "%s", optarg) >= (int)sizeof(field)) \
		return cmd_usage(USAGE); \
	break

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
					      { "metrics-addr", required_argument, NULL, 'm' },
					      { 0 } };
	struct k8s_agent a = { .port = 7070, .host_netns_fd = -1,
			       .runc_root = "/run/containerd/runc/k8s.io",
			       .cni_data = CNI_DEFAULT_DATA_DIR, .host_netns = "/proc/1/ns/net" };
	const char *node = NULL, *address = NULL;
	int k8s = 0, c;
	ferry_error_t err = { 0 };
	while ((c = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		switch (c) {
		case 'n': node = optarg; break;
		case 'k': k8s = 1; break;
		case 'a': address = optarg; break;
		case 'p': a.port = atoi(optarg); break;
		case 'r': SET_FIELD(a.runc_root);
		case 'c': SET_FIELD(a.cni_data);
		case 'H': SET_FIELD(a.host_netns);
		case 'P': SET_FIELD(a.pki_dir);
		case 'm': SET_FIELD(a.metrics_addr);
		default: return cmd_usage(USAGE);
		}
	}
	if (!node || optind != argc)
		return cmd_usage(USAGE);
	if (k8s) {
		if (snprintf(a.node, sizeof(a.node), "%s", node) >= (int)sizeof(a.node))
			return cmd_usage(USAGE);
		return k8s_agent(&a, address);
	}
	return agent_run(node, &err) < 0 ? cmd_fail(&err) : 0;
}
