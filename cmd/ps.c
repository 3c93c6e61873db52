/*
 * ps.c - `ferry ps [--json]`: every container of the sandbox.
 */
#include "cmd/cmd.h"
#include "container/store.h"

#include <stdio.h>
#include <string.h>

int cmd_ps(int argc, char **argv)
{
	ferry_error_t err = { 0 };
	json_object *all = cmd_all_containers(&err);
	if (!all)
		return cmd_fail(&err);
	if (argc > 1 && !strcmp(argv[1], "--json")) {
		cmd_print_json(all);
	} else {
		printf("%-20s %-8s %-14s %-9s %-8s %s\n", "NAME", "NODE", "IP", "STATE", "PID", "IMAGE");
		for (size_t i = 0; i < json_object_array_length(all); i++) {
			json_object *c = json_object_array_get_idx(all, i), *pid;
			json_object_object_get_ex(c, "pid", &pid);
			printf("%-20s %-8s %-14s %-9s %-8d %s\n", record_str(c, "name"),
			       record_str(c, "node"), record_str(c, "ip"), record_str(c, "state"),
			       json_object_get_int(pid), record_str(c, "image"));
		}
	}
	json_object_put(all);
	return 0;
}
