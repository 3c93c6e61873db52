/*
 * check.c - `ferry check [--json]`: are runc, CRIU and the kernel ready?
 */
#include "cmd/cmd.h"
#include "container/store.h"
#include "sandbox/preflight.h"

#include <stdio.h>
#include <string.h>

int cmd_check(int argc, char **argv)
{
	ferry_error_t err = { 0 };
	json_object *report = NULL;
	if (preflight_check(&report, &err) < 0)
		return cmd_fail(&err);
	if (argc > 1 && !strcmp(argv[1], "--json"))
		cmd_print_json(report);
	else
		printf("runc: %s\nCRIU: %s\nready for live migration\n", record_str(report, "runc"),
		       record_str(report, "criu"));
	json_object_put(report);
	return 0;
}
