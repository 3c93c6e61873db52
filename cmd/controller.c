/*
 * controller.c - `ferry controller`: runs the PodMigration controller
 * (lib/controller/controller.h) until SIGTERM.
 */
#include "cmd/cmd.h"
#include "controller/controller.h"
#include "util/log.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define USAGE                                                                              \
	"ferry controller [--kubeconfig F] [--namespace NS | --all-namespaces] "           \
	"[--metrics-addr [HOST]:PORT] [--pki DIR] [--identity ID] [--lease-namespace NS] " \
	"[--lease-seconds N] [--agent-port P] [--watch-timeout S] [--webhook-ip IP] "    \
	"[--webhook-port P]"

int cmd_controller(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "all-namespaces", no_argument, NULL, 'A' },
		{ "metrics-addr", required_argument, NULL, 'm' },
		{ "pki", required_argument, NULL, 'p' },
		{ "identity", required_argument, NULL, 'i' },
		{ "lease-namespace", required_argument, NULL, 'L' },
		{ "lease-seconds", required_argument, NULL, 'l' },
		{ "agent-port", required_argument, NULL, 'a' },
		{ "watch-timeout", required_argument, NULL, 'w' },
		{ "webhook-ip", required_argument, NULL, 'W' },
		{ "webhook-port", required_argument, NULL, 'P' },
		{ 0 }
	};
	struct controller_opts o = { .metrics_addr = ":9464", .pki_dir = "/var/lib/ferry/pki",
				     .lease_seconds = 15, .agent_port = 7070, .watch_timeout = 300,
				     .webhook_port = 9443 };
	ferry_error_t err = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "k:n:A", opts, NULL)) != -1) {
		switch (c) {
		case 'k': o.kubeconfig = optarg; break;
		case 'n': o.namespace = optarg; break;
		case 'A': o.namespace = NULL; break;
		case 'm': o.metrics_addr = optarg; break;
		case 'p': o.pki_dir = optarg; break;
		case 'i': o.identity = optarg; break;
		case 'L': o.lease_namespace = optarg; break;
		case 'l': o.lease_seconds = atoi(optarg); break;
		case 'a': o.agent_port = atoi(optarg); break;
		case 'w': o.watch_timeout = atoi(optarg); break;
		case 'W': o.webhook_ip = optarg; break;
		case 'P': o.webhook_port = atoi(optarg); break;
		default: return cmd_usage(USAGE);
		}
	}
	if (optind != argc || o.lease_seconds < 2 || o.agent_port <= 0 || o.agent_port > 65535 ||
	    o.watch_timeout < 1 || o.webhook_port < 0 || o.webhook_port > 65535)
		return cmd_usage(USAGE);
	log_init("controller", getenv("FERRY_DEBUG") ? LOG_DEBUG : LOG_INFO);
	if (controller_run(&o, &err) < 0)
		return cmd_fail(&err);
	return 0;
}
