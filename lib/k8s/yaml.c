/*
 * yaml.c - see yaml.h.  One recursive walk over libyaml's node graph.
 */
#include "k8s/yaml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct walk {
	yaml_document_t *doc;
	size_t visited;
	ferry_error_t *err;
};

static json_object *scalar_to_json(const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && strlen(s) == len) {
		if (!strcmp(s, "true") || !strcmp(s, "True"))
			return json_object_new_boolean(1);
		if (!strcmp(s, "false") || !strcmp(s, "False"))
			return json_object_new_boolean(0);
		if (!strcmp(s, "null") || !strcmp(s, "~") || len == 0)
			return NULL;
		char *end;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (*s && *end == '\0' && errno == 0 && (s[0] != '0' || len == 1))
			return json_object_new_int64(v);
	}
	return json_object_new_string_len(s, (int)len);
}

static int node_to_json(struct walk *w, yaml_node_t *n, int depth, json_object **out);

static int mapping_to_json(struct walk *w, yaml_node_t *n, int depth, json_object **out)
{
	json_object *obj = json_object_new_object();
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
		json_object *val = NULL;
		if (!k || k->type != YAML_SCALAR_NODE) {
			json_object_put(obj);
			return ferry_error_set(w->err, 0, "line %zu: mapping key is not a scalar",
					       k ? k->start_mark.line + 1 : 0);
		}
		if (!v || node_to_json(w, v, depth + 1, &val) < 0) {
			json_object_put(obj);
			return v ? -1 : ferry_error_set(w->err, 0, "dangling mapping value");
		}
		json_object_object_add(obj, (const char *)k->data.scalar.value, val);
	}
	*out = obj;
	return 0;
}

static int sequence_to_json(struct walk *w, yaml_node_t *n, int depth, json_object **out)
{
	json_object *arr = json_object_new_array();
	for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
		yaml_node_t *v = yaml_document_get_node(w->doc, *i);
		json_object *val = NULL;
		if (!v || node_to_json(w, v, depth + 1, &val) < 0) {
			json_object_put(arr);
			return v ? -1 : ferry_error_set(w->err, 0, "dangling sequence item");
		}
		json_object_array_add(arr, val);
	}
	*out = arr;
	return 0;
}

static int node_to_json(struct walk *w, yaml_node_t *n, int depth, json_object **out)
{
	*out = NULL;
	if (depth > YAML_MAX_DEPTH)
		return ferry_error_set(w->err, 0, "nested deeper than %d levels", YAML_MAX_DEPTH);
	if (++w->visited > YAML_MAX_NODES)
		return ferry_error_set(w->err, 0, "more than %d nodes (alias expansion?)",
				       YAML_MAX_NODES);
	switch (n->type) {
	case YAML_SCALAR_NODE:
		*out = scalar_to_json(n);
		return 0;
	case YAML_MAPPING_NODE:
		return mapping_to_json(w, n, depth, out);
	case YAML_SEQUENCE_NODE:
		return sequence_to_json(w, n, depth, out);
	default:
		return ferry_error_set(w->err, 0, "empty YAML node");
	}
}

json_object *yaml_to_json(const char *text, size_t len, ferry_error_t *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	json_object *out = NULL;
	if (!yaml_parser_initialize(&parser))
		return ferry_error_set(err, ENOMEM, "yaml parser"), NULL;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		ferry_error_set(err, 0, "YAML syntax error at line %zu: %s",
				parser.problem_mark.line + 1,
				parser.problem ? parser.problem : "unknown");
		yaml_parser_delete(&parser);
		return NULL;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	struct walk w = { .doc = &doc, .err = err };
	if (!root)
		ferry_error_set(err, 0, "empty YAML document");
	else if (node_to_json(&w, root, 0, &out) == 0 && !out)
		ferry_error_set(err, 0, "YAML document is null");
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return out;
}
