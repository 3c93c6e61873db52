/*
 * store.c - see store.h.
 */
#include "container/store.h"
#include "sandbox/config.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/names.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

const char *record_str(json_object *record, const char *key)
{
	json_object *v;
	if (!record || !json_object_object_get_ex(record, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

static bool is_string_array(json_object *v)
{
	if (!v || !json_object_is_type(v, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(v); i++)
		if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
			return false;
	return true;
}

int store_validate_record(json_object *record, ferry_error_t *err)
{
	json_object *args = NULL, *env = NULL, *cwd = NULL;
	if (!record || !json_object_is_type(record, json_type_object))
		return ferry_error_set(err, 0, "container record is not an object");
	if (!name_is_valid(record_str(record, "name")))
		return ferry_error_set(err, 0, "container record has an invalid name");
	if (!name_is_valid(record_str(record, "image")))
		return ferry_error_set(err, 0, "container record has an invalid image");
	if (strncmp(record_str(record, "ip"), "10.88.", 6) != 0)
		return ferry_error_set(err, 0, "container record has no pod IP");
	json_object_object_get_ex(record, "args", &args);
	json_object_object_get_ex(record, "env", &env);
	if (!is_string_array(args) || json_object_array_length(args) == 0)
		return ferry_error_set(err, 0, "container record has no command");
	if (!is_string_array(env))
		return ferry_error_set(err, 0, "container record has a malformed env");
	/* optional; bundle_write copies it into config.json, where OCI wants an absolute path */
	if (json_object_object_get_ex(record, "cwd", &cwd) &&
	    (!json_object_is_type(cwd, json_type_string) || json_object_get_string(cwd)[0] != '/'))
		return ferry_error_set(err, 0, "container record has a malformed cwd");
	return 0;
}

int store_save(const char *node, json_object *record, ferry_error_t *err)
{
	char dir[PATH_MAX], path[PATH_MAX];
	config_container_dir(dir, sizeof(dir), node, record_str(record, "name"));
	if (fs_mkdir_p(dir, 0700, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/container.json", dir);
	const char *text = json_object_to_json_string_ext(record, JSON_C_TO_STRING_PRETTY);
	return fs_write_file_atomic(path, text, strlen(text), err);
}

json_object *store_load(const char *node, const char *name, ferry_error_t *err)
{
	char dir[PATH_MAX], path[PATH_MAX];
	if (!name_is_valid(name)) {
		ferry_error_set(err, 0, "invalid container name '%s'", name);
		return NULL;
	}
	config_container_dir(dir, sizeof(dir), node, name);
	snprintf(path, sizeof(path), "%s/container.json", dir);
	if (!fs_exists(path)) {
		ferry_error_set(err, 0, "no container '%s' on %s", name, node);
		if (err)
			err->errno_value = ENOENT;
		return NULL;
	}
	_cleanup_free_ char *text = fs_read_file(path, NULL, err);
	if (!text)
		return NULL;
	json_object *rec = json_tokener_parse(text);
	if (!rec || store_validate_record(rec, err) < 0) {
		json_object_put(rec);
		ferry_error_prefix(err, "%s", path);
		return NULL;
	}
	return rec;
}

json_object *store_list(const char *node)
{
	char dir[PATH_MAX], path[PATH_MAX * 2];
	json_object *names = json_object_new_array();
	snprintf(dir, sizeof(dir), "%s/nodes/%s/containers", config_get()->lib_dir, node);
	_cleanup_dir_ DIR *d = opendir(dir);
	if (!d)
		return names;
	struct dirent *de;
	while ((de = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s/container.json", dir, de->d_name);
		if (de->d_name[0] != '.' && fs_exists(path))
			json_object_array_add(names, json_object_new_string(de->d_name));
	}
	return names;
}
