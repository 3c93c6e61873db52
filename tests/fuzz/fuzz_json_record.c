/*
 * fuzz_json_record.c - libFuzzer target for container records received from a
 * peer (a migration's PREPARE frame): store_validate_record
 * (lib/container/store.c) and, for a record it accepts, bundle_write
 * (lib/container/bundle.c), whose config.json must parse back as an object
 * carrying the record's args and env and the record's name as hostname.
 *
 * Input: JSON text.  The bundle goes to a per-process temp dir (on /dev/shm
 * when possible: bundle_write fsyncs), overwritten by every accepted input.
 */
#include "fuzz.h"
#include "container/bundle.h"
#include "container/store.h"

#include <json-c/json.h>

static char bundle_dir[PATH_MAX];
static char config_path[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(bundle_dir, sizeof(bundle_dir), "%s", fuzz_tempdir("record"));
	snprintf(config_path, sizeof(config_path), "%s/config.json", bundle_dir);
	return 0;
}

static json_object *get_path(json_object *o, const char *a, const char *b)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	FUZZ_CHECK(text);
	memcpy(text, data, size);
	text[size] = '\0';
	json_object *record = json_tokener_parse(text);
	free(text);

	ferry_error_t err = { 0 };
	if (store_validate_record(record, &err) < 0) {
		FUZZ_CHECK(ferry_error_is_set(&err));
		json_object_put(record);
		return 0;
	}
	(void)record_str(record, "node");

	struct bundle_params p = {
		.dir = bundle_dir,
		.record = record,
		.netns_path = "/run/netns/ferry-fuzz",
		.cgroup_path = "/ferry/fuzz/ctr",
	};
	FUZZ_CHECK(bundle_write(&p, &err) == 0);
	json_object *cfg = json_object_from_file(config_path);
	FUZZ_CHECK(cfg && json_object_is_type(cfg, json_type_object));
	json_object *args = NULL, *env = NULL;
	json_object_object_get_ex(record, "args", &args);
	json_object_object_get_ex(record, "env", &env);
	FUZZ_CHECK(json_object_equal(get_path(cfg, "process", "args"), args));
	FUZZ_CHECK(json_object_equal(get_path(cfg, "process", "env"), env));
	json_object *hostname = get_path(cfg, "hostname", NULL);
	FUZZ_CHECK(hostname && !strcmp(json_object_get_string(hostname),
				       record_str(record, "name")));
	json_object_put(cfg);
	json_object_put(record);
	return 0;
}
