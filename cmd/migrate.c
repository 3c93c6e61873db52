/*
 * migrate.c - `ferry migrate NAME --to NODE [--json]`.
 *
 * Asks the agent of the container's node to migrate it and follows the
 * PROGRESS frames: a progress line on a terminal, nothing extra with --json
 * (which prints the final report as one JSON object).  Exit status 0 only
 * when the migration committed.
 */
#include "cmd/cmd.h"
#include "agent/client.h"
#include "container/store.h"
#include "sandbox/topology.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE "ferry migrate NAME --to NODE [--mode auto|stop-copy|postcopy|precopy|hybrid] [--max-downtime-ms N] [--max-bandwidth MBIT/S] [--json]"

static void show_progress(json_object *p, void *data)
{
	json_object *bytes, *elapsed;
	if (!isatty(STDERR_FILENO))
		return;
	json_object_object_get_ex(p, "bytes_sent", &bytes);
	json_object_object_get_ex(p, "elapsed_ms", &elapsed);
	fprintf(stderr, "\r\033[K%s: %-8s %8.1f MiB %8.0f ms", (const char *)data,
		record_str(p, "phase"), (double)json_object_get_int64(bytes) / (1 << 20),
		json_object_get_double(elapsed));
}

static void print_summary(json_object *r)
{
	json_object *down, *total, *bytes;
	json_object_object_get_ex(r, "downtime_ms", &down);
	json_object_object_get_ex(r, "total_ms", &total);
	json_object_object_get_ex(r, "bytes_sent", &bytes);
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "\r\033[K");
	if (!strcmp(record_str(r, "result"), "ok"))
		printf("migrated %s from %s to %s (%s): downtime %.1f ms, total %.1f ms, %.1f MiB sent\n",
		       record_str(r, "name"), record_str(r, "from"), record_str(r, "to"),
		       record_str(r, "mode"),
		       json_object_get_double(down), json_object_get_double(total),
		       (double)json_object_get_int64(bytes) / (1 << 20));
	else
		fprintf(stderr, "ferry: migration of %s failed: %s (%s is still running on %s)\n",
			record_str(r, "name"), record_str(r, "error"), record_str(r, "name"),
			record_str(r, "from"));
}

int cmd_migrate(int argc, char **argv)
{
	static const struct option opts[] = { { "to", required_argument, NULL, 't' },
					      { "json", no_argument, NULL, 'j' },
					      { "fault", required_argument, NULL, 'f' },
					      { "mode", required_argument, NULL, 'm' },
					      { "max-downtime-ms", required_argument, NULL, 'd' },
					      { "max-bandwidth", required_argument, NULL, 'b' },
					      { 0 } };
	const char *to = NULL, *fault = "", *mode = "auto";
	int max_downtime = 0;
	long long max_bandwidth = 0;
	bool as_json = false;
	char node[48];
	ferry_error_t err = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "t:jf:", opts, NULL)) != -1) {
		switch (c) {
		case 't': to = optarg; break;
		case 'j': as_json = true; break;
		case 'f': fault = optarg; break;
		case 'm': mode = optarg; break;
		case 'd': max_downtime = atoi(optarg); break;
		case 'b': max_bandwidth = atoll(optarg); break;
		default: return cmd_usage(USAGE);
		}
	}
	if (!to || optind != argc - 1)
		return cmd_usage(USAGE);
	if (strcmp(mode, "auto") && strcmp(mode, "stop-copy") && strcmp(mode, "postcopy") &&
	    strcmp(mode, "precopy") && strcmp(mode, "hybrid")) {
		fprintf(stderr, "ferry: unknown mode '%s' (auto, stop-copy, postcopy, precopy or hybrid)\n",
			mode);
		return 2;
	}
	const char *name = argv[optind];
	if (cmd_find_container(name, node, &err) < 0)
		return cmd_fail(&err);
	json_object *req = cmd_request("migrate", name);
	json_object_object_add(req, "to", json_object_new_string(to));
	json_object_object_add(req, "fault", json_object_new_string(fault));
	json_object_object_add(req, "mode", json_object_new_string(mode));
	json_object_object_add(req, "max_downtime_ms", json_object_new_int(max_downtime));
	json_object_object_add(req, "max_bandwidth_mbps", json_object_new_int64(max_bandwidth));
	json_object *r = client_call(node, req, as_json ? NULL : show_progress, (void *)name, &err);
	json_object_put(req);
	if (!r)
		return cmd_fail(&err);
	if (as_json)
		cmd_print_json(r);
	else
		print_summary(r);
	int ok = !strcmp(record_str(r, "result"), "ok");
	json_object_put(r);
	return ok ? 0 : 1;
}
