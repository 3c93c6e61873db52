/*
 * topology.c - see topology.h: (de)serialising sandbox.json.
 */
#include "sandbox/topology.h"
#include "sandbox/config.h"
#include "util/cleanup.h"
#include "util/fs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static int copy_field(json_object *obj, const char *key, char *out, size_t len)
{
	json_object *v;
	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return -1;
	const char *s = json_object_get_string(v);
	if (strlen(s) >= len)
		return -1;
	strcpy(out, s);
	return 0;
}

static int parse_node(json_object *obj, struct node_info *n)
{
	json_object *v;
	if (copy_field(obj, "name", n->name, sizeof(n->name)) < 0 ||
	    copy_field(obj, "address", n->address, sizeof(n->address)) < 0 ||
	    copy_field(obj, "netns", n->netns, sizeof(n->netns)) < 0)
		return -1;
	n->migration_port = json_object_object_get_ex(obj, "migration_port", &v) ?
				    json_object_get_int(v) : MIGRATION_PORT;
	n->agent_pid = json_object_object_get_ex(obj, "agent_pid", &v) ? json_object_get_int(v) : 0;
	return 0;
}

int topology_load(struct topology *t, ferry_error_t *err)
{
	char path[PATH_MAX];
	config_topology_file(path, sizeof(path));
	memset(t, 0, sizeof(*t));
	if (!fs_exists(path))
		return ferry_error_set(err, 0, "no sandbox is running (run `ferry sandbox up`)");
	_cleanup_free_ char *text = fs_read_file(path, NULL, err);
	if (!text)
		return -1;
	_cleanup_json_ json_object *root = json_tokener_parse(text);
	json_object *nodes;
	if (!root || !json_object_object_get_ex(root, "nodes", &nodes) ||
	    !json_object_is_type(nodes, json_type_array))
		return ferry_error_set(err, 0, "%s is malformed", path);
	size_t count = json_object_array_length(nodes);
	if (count > TOPOLOGY_MAX_NODES)
		return ferry_error_set(err, 0, "%s lists too many nodes", path);
	for (size_t i = 0; i < count; i++) {
		if (parse_node(json_object_array_get_idx(nodes, i), &t->nodes[i]) < 0)
			return ferry_error_set(err, 0, "%s: node %zu is malformed", path, i);
	}
	t->n_nodes = (int)count;
	return 0;
}

int topology_save(const struct topology *t, ferry_error_t *err)
{
	char path[PATH_MAX];
	config_topology_file(path, sizeof(path));
	_cleanup_json_ json_object *root = json_object_new_object();
	json_object *nodes = json_object_new_array();
	for (int i = 0; i < t->n_nodes; i++) {
		const struct node_info *n = &t->nodes[i];
		json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(n->name));
		json_object_object_add(o, "address", json_object_new_string(n->address));
		json_object_object_add(o, "netns", json_object_new_string(n->netns));
		json_object_object_add(o, "migration_port", json_object_new_int(n->migration_port));
		json_object_object_add(o, "agent_pid", json_object_new_int(n->agent_pid));
		json_object_array_add(nodes, o);
	}
	json_object_object_add(root, "nodes", nodes);
	const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
	return fs_write_file_atomic(path, text, strlen(text), err);
}

const struct node_info *topology_find(const struct topology *t, const char *name)
{
	for (int i = 0; i < t->n_nodes; i++)
		if (strcmp(t->nodes[i].name, name) == 0)
			return &t->nodes[i];
	return NULL;
}
