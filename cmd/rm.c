/*
 * rm.c - `ferry rm NAME`: stop and remove a container wherever it runs.
 */
#include "cmd/cmd.h"
#include "agent/client.h"

#include <stdio.h>

int cmd_rm(int argc, char **argv)
{
	char node[48];
	ferry_error_t err = { 0 };
	if (argc != 2)
		return cmd_usage("ferry rm NAME");
	if (cmd_find_container(argv[1], node, &err) < 0)
		return cmd_fail(&err);
	json_object *req = cmd_request("rm", argv[1]);
	json_object *r = client_call(node, req, NULL, NULL, &err);
	json_object_put(req);
	if (!r)
		return cmd_fail(&err);
	json_object_put(r);
	printf("removed %s from %s\n", argv[1], node);
	return 0;
}
