/*
 * kubectl_migrate.c - the kubectl plugin `kubectl migrate` (the ferry binary
 * invoked as kubectl-migrate; main.c dispatches on argv[0]).
 *
 *   kubectl migrate POD [--to NODE] [-n NS] [--mode M] [--timeout S] [--wait]
 *
 * Creates a PodMigration; with --wait follows it (a line per phase) and
 * prints the final figures.  Exit status: 0 created / Succeeded, 1 Failed or
 * an API error, 2 bad usage.
 */
#include "cmd/cmd.h"
#include "controller/pmclient.h"
#include "k8s/client.h"
#include "k8s/object.h"
#include "util/cleanup.h"
#include "util/log.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define USAGE                                                                              \
	"kubectl migrate POD [--to NODE] [-n NAMESPACE] [--mode auto|stop-copy|postcopy] " \
	"[--timeout SECONDS] [--wait] [--kubeconfig FILE]"

static int follow(struct k8s_client *c, const char *ns, const char *name, int timeout_s)
{
	char last[32] = "", line[1400];
	ferry_error_t err = { 0 };
	time_t end = time(NULL) + timeout_s + 30;
	while (time(NULL) < end) {
		_cleanup_json_ json_object *pm = pmclient_get(c, ns, name, &err);
		if (!pm)
			return cmd_fail(&err);
		const char *phase = k8s_str(pm, "status.phase");
		if (phase && strcmp(phase, last)) {
			snprintf(last, sizeof(last), "%s", phase);
			printf("%s: %s%s%s\n", name, phase, k8s_str(pm, "status.message") ? " - " : "",
			       k8s_str(pm, "status.message") ?: "");
			fflush(stdout);
		}
		if (pmclient_done(pm)) {
			pmclient_summary(pm, line, sizeof(line));
			bool ok = !strcmp(phase, "Succeeded");
			fprintf(ok ? stdout : stderr, "%s\n", line);
			return ok ? 0 : 1;
		}
		nanosleep(&(struct timespec){ 0, 250 * 1000000L }, NULL);
	}
	fprintf(stderr, "kubectl-migrate: %s did not finish within %d s\n", name, timeout_s + 30);
	return 1;
}

int cmd_kubectl_migrate(int argc, char **argv)
{
	static const struct option opts[] = { { "to", required_argument, NULL, 't' },
					      { "namespace", required_argument, NULL, 'n' },
					      { "mode", required_argument, NULL, 'm' },
					      { "timeout", required_argument, NULL, 'T' },
					      { "wait", no_argument, NULL, 'w' },
					      { "kubeconfig", required_argument, NULL, 'k' },
					      { "help", no_argument, NULL, 'h' },
					      { 0 } };
	struct pm_request r = { 0 };
	const char *kubeconfig = NULL;
	bool wait = false;
	ferry_error_t err = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "t:n:m:wk:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': r.target_node = optarg; break;
		case 'n': r.ns = optarg; break;
		case 'm': r.mode = optarg; break;
		case 'T': r.timeout_seconds = atoi(optarg); break;
		case 'w': wait = true; break;
		case 'k': kubeconfig = optarg; break;
		default: return cmd_usage(USAGE);
		}
	}
	if (optind != argc - 1 || r.timeout_seconds < 0)
		return cmd_usage(USAGE);
	if (r.mode && strcmp(r.mode, "auto") && strcmp(r.mode, "stop-copy") && strcmp(r.mode, "postcopy")) {
		fprintf(stderr, "kubectl-migrate: --mode must be auto, stop-copy or postcopy\n");
		return 2;
	}
	r.pod = argv[optind];
	struct k8s_client client;
	if (k8s_client_init(&client, kubeconfig, &err) < 0)
		return cmd_fail(&err);
	if (!r.ns)
		r.ns = client.cfg.namespace;
	_cleanup_json_ json_object *pm = pmclient_create(&client, &r, &err);
	int rc;
	if (!pm) {
		rc = cmd_fail(&err);
	} else {
		const char *name = k8s_str(pm, "metadata.name");
		printf("podmigration.ferry.dev/%s created\n", name);
		fflush(stdout);
		rc = wait ? follow(&client, r.ns, name, (int)k8s_int(pm, "spec.timeoutSeconds", 300)) : 0;
	}
	k8s_client_free(&client);
	return rc;
}
