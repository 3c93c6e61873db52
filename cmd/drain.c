/*
 * drain.c - `ferry drain NODE [--kubeconfig F] [--timeout S]`: live-migrates
 * every running pod of RuntimeClass ferry off NODE, one PodMigration each
 * (the controller picks the targets), waits for them all and prints one
 * line per pod.  Exit status 0 only if every migration succeeded.  The node
 * is not cordoned: `kubectl cordon` first if nothing new may land on it.
 */
#include "cmd/cmd.h"
#include "controller/names.h"
#include "controller/pmclient.h"
#include "k8s/client.h"
#include "k8s/object.h"
#include "util/cleanup.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define USAGE "ferry drain NODE [--kubeconfig F] [--timeout SECONDS]"

static bool drainable(json_object *pod)
{
	const char *rc = k8s_str(pod, "spec.runtimeClassName"), *phase = k8s_str(pod, "status.phase");
	return rc && !strcmp(rc, FERRY_RUNTIME_CLASS) && phase && !strcmp(phase, "Running") &&
	       !k8s_annotation(pod, FERRY_ANN_RESTORE) && !k8s_at(pod, "metadata.deletionTimestamp");
}

static json_object *pods_on(struct k8s_client *c, const char *node, ferry_error_t *err)
{
	char fs[300], path[600];
	snprintf(fs, sizeof(fs), "spec.nodeName=%s", node);
	_cleanup_free_ char *esc = k8s_escape(fs);
	snprintf(path, sizeof(path), "/api/v1/pods?fieldSelector=%s", esc ? esc : "");
	return k8s_get(c, path, NULL, err);
}

/* Waits for every migration in pms (array); prints a line for each. Returns failures. */
static int wait_all(struct k8s_client *c, json_object *pms, int timeout_s)
{
	size_t n = json_object_array_length(pms), done = 0;
	int failed = 0;
	char line[1400];
	bool *finished = calloc(n, sizeof(bool));
	time_t end = time(NULL) + timeout_s + 30;
	while (finished && done < n && time(NULL) < end) {
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(pms, i);
			ferry_error_t err = { 0 };
			if (finished[i])
				continue;
			_cleanup_json_ json_object *pm = pmclient_get(
				c, k8s_str(e, "metadata.namespace"), k8s_str(e, "metadata.name"), &err);
			if (!pm || !pmclient_done(pm))
				continue;
			finished[i] = true;
			done++;
			pmclient_summary(pm, line, sizeof(line));
			bool ok = !strcmp(k8s_str(pm, "status.phase"), "Succeeded");
			failed += !ok;
			printf("%s/%s: %s\n", k8s_str(pm, "metadata.namespace"), k8s_str(pm, "spec.podName"),
			       line);
			fflush(stdout);
		}
		nanosleep(&(struct timespec){ 0, 300 * 1000000L }, NULL);
	}
	if (done < n)
		printf("%zu migration(s) did not finish within %d s\n", n - done, timeout_s + 30);
	free(finished);
	return failed + (int)(n - done);
}

static int drain(struct k8s_client *c, const char *node, int timeout_s)
{
	ferry_error_t err = { 0 };
	char path[512];
	long status;
	k8s_path(path, sizeof(path), "v1", NULL, "nodes", node);
	_cleanup_json_ json_object *n = k8s_get(c, path, &status, &err);
	if (!n) {
		if (status == 404)
			ferry_error_set(&err, 0, "node \"%s\" not found", node);
		return cmd_fail(&err);
	}
	_cleanup_json_ json_object *list = pods_on(c, node, &err);
	if (!list)
		return cmd_fail(&err);
	json_object *items = k8s_at(list, "items");
	_cleanup_json_ json_object *pms = json_object_new_array();
	int create_failed = 0;
	for (size_t i = 0; items && i < json_object_array_length(items); i++) {
		json_object *pod = json_object_array_get_idx(items, i);
		if (!drainable(pod))
			continue;
		struct pm_request r = { .ns = k8s_str(pod, "metadata.namespace"),
					.pod = k8s_str(pod, "metadata.name"),
					.timeout_seconds = timeout_s };
		json_object *pm = pmclient_create(c, &r, &err);
		if (!pm) {
			fprintf(stderr, "ferry: %s/%s: %s\n", r.ns, r.pod, err.message);
			create_failed++;
			continue;
		}
		printf("%s/%s: podmigration %s created\n", r.ns, r.pod, k8s_str(pm, "metadata.name"));
		json_object_array_add(pms, pm);
	}
	size_t total = json_object_array_length(pms);
	if (total == 0 && !create_failed) {
		printf("no running pod of RuntimeClass %s on %s\n", FERRY_RUNTIME_CLASS, node);
		return 0;
	}
	int failed = wait_all(c, pms, timeout_s) + create_failed;
	printf("drain %s: %zu migrated, %d failed\n", node, total + (size_t)create_failed - (size_t)failed,
	       failed);
	return failed ? 1 : 0;
}

int cmd_drain(int argc, char **argv)
{
	static const struct option opts[] = { { "kubeconfig", required_argument, NULL, 'k' },
					      { "timeout", required_argument, NULL, 'T' },
					      { 0 } };
	const char *kubeconfig = NULL;
	int timeout_s = 300, c;
	ferry_error_t err = { 0 };
	while ((c = getopt_long(argc, argv, "k:", opts, NULL)) != -1) {
		switch (c) {
		case 'k': kubeconfig = optarg; break;
		case 'T': timeout_s = atoi(optarg); break;
		default: return cmd_usage(USAGE);
		}
	}
	if (optind != argc - 1 || timeout_s <= 0)
		return cmd_usage(USAGE);
	struct k8s_client client;
	if (k8s_client_init(&client, kubeconfig, &err) < 0)
		return cmd_fail(&err);
	int rc = drain(&client, argv[optind], timeout_s);
	k8s_client_free(&client);
	return rc;
}
