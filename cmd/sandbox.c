/*
 * sandbox.c - `ferry sandbox up [--nodes N] | down | status [--json]`.
 */
#include "cmd/cmd.h"
#include "sandbox/sandbox.h"
#include "container/store.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE "ferry sandbox up [--nodes N] | down | status [--json]"

static int sandbox_up_cmd(int argc, char **argv)
{
	static const struct option opts[] = { { "nodes", required_argument, NULL, 'n' }, { 0 } };
	int nodes = 2, c;
	char self[PATH_MAX];
	ferry_error_t err = { 0 };
	while ((c = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		if (c != 'n')
			return cmd_usage(USAGE);
		nodes = atoi(optarg);
	}
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len < 0)
		return cmd_usage(USAGE);
	self[len] = '\0';
	if (sandbox_up(nodes, self, &err) < 0)
		return cmd_fail(&err);
	json_object *status = sandbox_status(&err);
	for (size_t i = 0; status && i < json_object_array_length(status); i++) {
		json_object *n = json_object_array_get_idx(status, i);
		printf("%-8s %-12s agent %s\n", record_str(n, "name"), record_str(n, "address"),
		       record_str(n, "agent"));
	}
	json_object_put(status);
	return 0;
}

static int sandbox_status_cmd(int argc, char **argv)
{
	ferry_error_t err = { 0 };
	bool as_json = argc > 1 && !strcmp(argv[1], "--json");
	json_object *status = sandbox_status(&err);
	if (!status)
		return cmd_fail(&err);
	if (as_json) {
		cmd_print_json(status);
	} else {
		printf("%-8s %-12s %-8s %-8s %s\n", "NODE", "ADDRESS", "PORT", "AGENT", "PID");
		for (size_t i = 0; i < json_object_array_length(status); i++) {
			json_object *n = json_object_array_get_idx(status, i), *v;
			json_object_object_get_ex(n, "agent_pid", &v);
			int pid = json_object_get_int(v);
			json_object_object_get_ex(n, "migration_port", &v);
			printf("%-8s %-12s %-8d %-8s %d\n", record_str(n, "name"), record_str(n, "address"),
			       json_object_get_int(v), record_str(n, "agent"), pid);
		}
	}
	json_object_put(status);
	return 0;
}

int cmd_sandbox(int argc, char **argv)
{
	ferry_error_t err = { 0 };
	if (argc < 2)
		return cmd_usage(USAGE);
	if (!strcmp(argv[1], "up"))
		return sandbox_up_cmd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "down"))
		return sandbox_down(&err) < 0 ? cmd_fail(&err) : 0;
	if (!strcmp(argv[1], "status"))
		return sandbox_status_cmd(argc - 1, argv + 1);
	return cmd_usage(USAGE);
}
