/*
 * pod_migrate.c - `ferry pod-migrate --node SRC NAMESPACE/POD --to-node NODE
 * --to-address ADDR --target-pod NAME [--json]`: sends the controller's
 * migrate-pod REQUEST to the source node's Kubernetes-mode agent over its
 * unix socket (root), follows PROGRESS, prints the report.  For testing the
 * node side before (and without) the controller.  Exit 0 only if committed.
 */
#include "cmd/cmd.h"
#include "agent/client.h"
#include "k8snode/k8sagent.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE "ferry pod-migrate --node SRC NAMESPACE/POD --to-node NODE --to-address ADDR " \
	      "--target-pod NAME [--to-port 7070] [--restore-timeout SECONDS] [--json]"

static void show_progress(json_object *p, void *data)
{
	json_object *phase;
	if (json_object_object_get_ex(p, "phase", &phase))
		fprintf(stderr, "%s: %s\n", (const char *)data, json_object_get_string(phase));
}

static void print_report(json_object *r, bool as_json)
{
	json_object *v;
	if (as_json) {
		cmd_print_json(r);
		return;
	}
	json_object_object_get_ex(r, "downtime_ms", &v);
	printf("migrated %s to %s: downtime %.1f ms", json_object_get_string(
		       json_object_object_get(r, "name")), json_object_get_string(
		       json_object_object_get(r, "to")), json_object_get_double(v));
	json_object *phases = json_object_object_get(r, "phases");
	for (size_t i = 0; phases && i < json_object_array_length(phases); i++) {
		json_object *p = json_object_array_get_idx(phases, i);
		printf("%s %s %.1f ms", i ? "," : ";", json_object_get_string(
			       json_object_object_get(p, "name")), json_object_get_double(
			       json_object_object_get(p, "duration_ms")));
	}
	printf("\n");
}

int cmd_pod_migrate(int argc, char **argv)
{
	static const struct option opts[] = { { "node", required_argument, NULL, 'n' },
					      { "to-node", required_argument, NULL, 't' },
					      { "to-address", required_argument, NULL, 'a' },
					      { "to-port", required_argument, NULL, 'p' },
					      { "target-pod", required_argument, NULL, 'T' },
					      { "json", no_argument, NULL, 'j' },
					      { "restore-timeout", required_argument, NULL, 'R' },
					      { 0 } };
	const char *node = NULL, *to = NULL, *addr = NULL, *target_pod = NULL;
	int port = 7070, restore_timeout = 0, c;
	bool as_json = false;
	ferry_error_t err = { 0 };
	while ((c = getopt_long(argc, argv, "n:j", opts, NULL)) != -1) {
		switch (c) {
		case 'n': node = optarg; break;
		case 't': to = optarg; break;
		case 'a': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'T': target_pod = optarg; break;
		case 'j': as_json = true; break;
		case 'R': restore_timeout = atoi(optarg); break;
		default: return cmd_usage(USAGE);
		}
	}
	if (!node || !to || !addr || !target_pod || optind != argc - 1)
		return cmd_usage(USAGE);
	char ns[64], pod[256];
	const char *slash = strchr(argv[optind], '/');
	if (!slash || slash == argv[optind] || !slash[1] || (size_t)(slash - argv[optind]) >= sizeof(ns) ||
	    strlen(slash + 1) >= sizeof(pod)) {
		fprintf(stderr, "ferry: '%s' is not NAMESPACE/POD\n", argv[optind]);
		return 2;
	}
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - argv[optind]), argv[optind]);
	snprintf(pod, sizeof(pod), "%s", slash + 1);
	json_object *req = json_object_new_object(), *t = json_object_new_object();
	json_object_object_add(req, "op", json_object_new_string("migrate-pod"));
	json_object_object_add(req, "namespace", json_object_new_string(ns));
	json_object_object_add(req, "pod", json_object_new_string(pod));
	json_object_object_add(req, "targetPod", json_object_new_string(target_pod));
	json_object_object_add(req, "mode", json_object_new_string("stop-copy"));
	json_object_object_add(t, "node", json_object_new_string(to));
	json_object_object_add(t, "address", json_object_new_string(addr));
	json_object_object_add(t, "port", json_object_new_int(port));
	json_object_object_add(req, "target", t);
	if (restore_timeout > 0)
		json_object_object_add(req, "restoreTimeoutSeconds", json_object_new_int(restore_timeout));
	char path[108];
	k8sagent_socket_path(node, path);
	json_object *r = client_call_socket(node, path, req, as_json ? NULL : show_progress,
					    argv[optind], &err);
	json_object_put(req);
	if (!r) {
		fprintf(stderr, "ferry: migration of %s failed: %s (it still runs on %s)\n",
			argv[optind], err.message, node);
		return 1;
	}
	print_report(r, as_json);
	json_object_put(r);
	return 0;
}
