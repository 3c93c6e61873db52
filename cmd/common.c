/*
 * common.c - helpers shared by the subcommands (see cmd.h).
 */
#include "cmd/cmd.h"
#include "agent/client.h"
#include "container/store.h"
#include "sandbox/topology.h"

#include <stdio.h>
#include <string.h>

int cmd_fail(const ferry_error_t *err)
{
	fprintf(stderr, "ferry: %s\n", err->message);
	return 1;
}

int cmd_usage(const char *usage)
{
	fprintf(stderr, "usage: %s\n", usage);
	return 2;
}

void cmd_print_json(json_object *obj)
{
	printf("%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
}

json_object *cmd_request(const char *op, const char *name)
{
	json_object *req = json_object_new_object();
	json_object_object_add(req, "op", json_object_new_string(op));
	if (name)
		json_object_object_add(req, "name", json_object_new_string(name));
	return req;
}

json_object *cmd_all_containers(ferry_error_t *err)
{
	struct topology t;
	if (topology_load(&t, err) < 0)
		return NULL;
	json_object *all = json_object_new_array();
	json_object *req = cmd_request("ps", NULL);
	for (int i = 0; i < t.n_nodes; i++) {
		ferry_error_t node_err = { 0 };
		json_object *r = client_call(t.nodes[i].name, req, NULL, NULL, &node_err);
		json_object *list;
		if (!r) { /* one dead agent must not hide the others' containers */
			fprintf(stderr, "ferry: warning: %s\n", node_err.message);
			continue;
		}
		if (json_object_object_get_ex(r, "containers", &list))
			for (size_t j = 0; j < json_object_array_length(list); j++)
				json_object_array_add(all, json_object_get(json_object_array_get_idx(list, j)));
		json_object_put(r);
	}
	json_object_put(req);
	return all;
}

int cmd_find_container(const char *name, char node[48], ferry_error_t *err)
{
	json_object *all = cmd_all_containers(err);
	if (!all)
		return -1;
	int found = 0;
	for (size_t i = 0; i < json_object_array_length(all); i++) {
		json_object *c = json_object_array_get_idx(all, i);
		if (strcmp(record_str(c, "name"), name))
			continue;
		if (!found || !strcmp(record_str(c, "state"), "running"))
			snprintf(node, 48, "%s", record_str(c, "node"));
		found = 1;
	}
	json_object_put(all);
	if (!found)
		return ferry_error_set(err, 0, "no container named '%s' (see `ferry ps`)", name);
	return 0;
}
