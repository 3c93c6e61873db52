/*
 * test_topology.c - sandbox.json (topology), container record validation and
 * store, and the OCI bundle written for a record.
 */
#include "testutil.h"
#include "container/bundle.h"
#include "container/store.h"
#include "sandbox/config.h"
#include "sandbox/topology.h"

#include <limits.h>

static char *state_dir;

/* config_get() reads the environment once per process: set it first. */
static int group_setup(void **state)
{
	state_dir = tu_mkdtemp();
	char lib[PATH_MAX];
	snprintf(lib, sizeof(lib), "%s/lib", state_dir);
	setenv("FERRY_STATE", state_dir, 1);
	setenv("FERRY_LIB", lib, 1);
	if (strcmp(config_get()->state_dir, state_dir) != 0 ||
	    strcmp(config_get()->lib_dir, lib) != 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	tu_rm_rf(state_dir);
	state_dir = NULL;
	return 0;
}

static void topology_path(char *buf)
{
	snprintf(buf, PATH_MAX, "%s/sandbox.json", state_dir);
}

static void write_topology(const char *text)
{
	char p[PATH_MAX];
	topology_path(p);
	tu_write(p, text, strlen(text), O_TRUNC);
}

static void remove_topology(void)
{
	char p[PATH_MAX];
	topology_path(p);
	unlink(p);
}

/* ---- topology ---- */

static void test_topology_missing(void **state)
{
	remove_topology();
	struct topology t;
	ferry_error_t err = { 0 };
	assert_int_equal(topology_load(&t, &err), -1);
	tu_assert_contains(err.message, "no sandbox");
	assert_int_equal(t.n_nodes, 0);
}

static void test_topology_round_trip(void **state)
{
	struct topology t = { 0 }, back;
	ferry_error_t err = { 0 };
	t.n_nodes = 3;
	for (int i = 0; i < 3; i++) {
		struct node_info *n = &t.nodes[i];
		snprintf(n->name, sizeof(n->name), "node%d", i + 1);
		snprintf(n->address, sizeof(n->address), FABRIC_PREFIX "%d", 11 + i);
		snprintf(n->netns, sizeof(n->netns), "ferry-node%d", i + 1);
		n->migration_port = MIGRATION_PORT + i;
		n->agent_pid = 4000 + i;
	}
	assert_int_equal(topology_save(&t, &err), 0);
	memset(&back, 0xa5, sizeof(back));
	assert_int_equal(topology_load(&back, &err), 0);
	assert_int_equal(back.n_nodes, 3);
	for (int i = 0; i < 3; i++) {
		assert_string_equal(back.nodes[i].name, t.nodes[i].name);
		assert_string_equal(back.nodes[i].address, t.nodes[i].address);
		assert_string_equal(back.nodes[i].netns, t.nodes[i].netns);
		assert_int_equal(back.nodes[i].migration_port, t.nodes[i].migration_port);
		assert_int_equal(back.nodes[i].agent_pid, t.nodes[i].agent_pid);
	}
	const struct node_info *n = topology_find(&back, "node2");
	assert_ptr_equal(n, &back.nodes[1]);
	assert_string_equal(n->address, "10.87.0.12");
	assert_ptr_equal(topology_find(&back, "node3"), &back.nodes[2]);
	assert_null(topology_find(&back, "node4"));
	assert_null(topology_find(&back, "node"));
	assert_null(topology_find(&back, ""));

	/* the file is plain JSON with a nodes array, and no temp file is left */
	char p[PATH_MAX];
	topology_path(p);
	json_object *root = json_object_from_file(p);
	assert_non_null(root);
	json_object *nodes;
	assert_true(json_object_object_get_ex(root, "nodes", &nodes));
	assert_int_equal(json_object_array_length(nodes), 3);
	json_object_put(root);
	snprintf(p, sizeof(p), "%s/sandbox.json.tmp.%d", state_dir, (int)getpid());
	assert_false(fs_exists(p));

	/* an empty topology round-trips too */
	struct topology empty = { 0 };
	assert_int_equal(topology_save(&empty, &err), 0);
	assert_int_equal(topology_load(&back, &err), 0);
	assert_int_equal(back.n_nodes, 0);
	assert_null(topology_find(&back, "node1"));
}

static void test_topology_defaults(void **state)
{
	write_topology("{\"nodes\":[{\"name\":\"a\",\"address\":\"10.87.0.11\",\"netns\":\"ns-a\"}]}");
	struct topology t;
	ferry_error_t err = { 0 };
	assert_int_equal(topology_load(&t, &err), 0);
	assert_int_equal(t.n_nodes, 1);
	assert_int_equal(t.nodes[0].migration_port, MIGRATION_PORT);
	assert_int_equal(t.nodes[0].agent_pid, 0);
	assert_string_equal(topology_find(&t, "a")->netns, "ns-a");
}

static void test_topology_malformed(void **state)
{
	char name48[49], addr16[17];
	memset(name48, 'n', 48);
	name48[48] = '\0';
	memset(addr16, '1', 16);
	addr16[16] = '\0';
	char long_name[256], long_addr[256], too_many[4096];
	snprintf(long_name, sizeof(long_name),
		 "{\"nodes\":[{\"name\":\"%s\",\"address\":\"10.87.0.11\",\"netns\":\"x\"}]}",
		 name48);
	snprintf(long_addr, sizeof(long_addr),
		 "{\"nodes\":[{\"name\":\"a\",\"address\":\"%s\",\"netns\":\"x\"}]}", addr16);
	size_t off = (size_t)snprintf(too_many, sizeof(too_many), "{\"nodes\":[");
	for (int i = 0; i <= TOPOLOGY_MAX_NODES; i++)
		off += (size_t)snprintf(too_many + off, sizeof(too_many) - off,
					"%s{\"name\":\"n%d\",\"address\":\"10.87.0.%d\","
					"\"netns\":\"x\"}", i ? "," : "", i, 11 + i);
	snprintf(too_many + off, sizeof(too_many) - off, "]}");

	const char *bad[] = {
		"",
		"not json",
		"{\"nodes\":",
		"[]",
		"{}",
		"{\"nodes\":{}}",
		"{\"nodes\":\"node1\"}",
		"{\"nodes\":[1]}",
		"{\"nodes\":[{\"name\":\"a\",\"netns\":\"x\"}]}",
		"{\"nodes\":[{\"address\":\"10.87.0.11\",\"netns\":\"x\"}]}",
		"{\"nodes\":[{\"name\":\"a\",\"address\":\"10.87.0.11\"}]}",
		"{\"nodes\":[{\"name\":7,\"address\":\"10.87.0.11\",\"netns\":\"x\"}]}",
		"{\"nodes\":[{\"name\":null,\"address\":\"10.87.0.11\",\"netns\":\"x\"}]}",
		"{\"nodes\":[{\"name\":\"a\",\"address\":\"10.87.0.11\",\"netns\":\"x\"},{}]}",
		long_name,
		long_addr,
		too_many,
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_topology(bad[i]);
		struct topology t;
		ferry_error_t err = { 0 };
		if (topology_load(&t, &err) != -1)
			fail_msg("accepted malformed topology #%zu: %.60s", i, bad[i]);
		tu_assert_contains(err.message, "sandbox.json");
		assert_int_equal(t.n_nodes, 0);
	}
	/* the longest fitting name and address are fine */
	name48[47] = '\0';
	addr16[15] = '\0';
	snprintf(long_name, sizeof(long_name),
		 "{\"nodes\":[{\"name\":\"%s\",\"address\":\"%s\",\"netns\":\"x\"}]}", name48,
		 addr16);
	write_topology(long_name);
	struct topology t;
	ferry_error_t err = { 0 };
	assert_int_equal(topology_load(&t, &err), 0);
	assert_int_equal(strlen(t.nodes[0].name), 47);
	assert_non_null(topology_find(&t, name48));
}

/* ---- container records ---- */

static json_object *good_record(void)
{
	json_object *r = json_tokener_parse(
		"{\"name\":\"redis\",\"image\":\"redis-7\",\"ip\":\"10.88.0.5\","
		"\"node\":\"node1\",\"cwd\":\"/data\","
		"\"args\":[\"/usr/bin/redis-server\",\"--port\",\"6379\"],"
		"\"env\":[\"PATH=/usr/bin:/bin\",\"TERM=xterm\"]}");
	assert_non_null(r);
	return r;
}

/* good_record() with `key` set to `json` (NULL: removed); must be rejected */
static void assert_record_rejected(const char *key, const char *json, const char *what)
{
	json_object *r = good_record();
	if (json)
		json_object_object_add(r, key, json_tokener_parse(json));
	else
		json_object_object_del(r, key);
	ferry_error_t err = { 0 };
	int rc = store_validate_record(r, &err);
	json_object_put(r);
	if (rc != -1)
		fail_msg("record with %s=%s accepted", key, json ? json : "(missing)");
	tu_assert_contains(err.message, what);
}

static void test_validate_record(void **state)
{
	ferry_error_t err = { 0 };
	json_object *r = good_record();
	assert_int_equal(store_validate_record(r, &err), 0);
	assert_string_equal(record_str(r, "name"), "redis");
	assert_string_equal(record_str(r, "missing"), "");
	assert_string_equal(record_str(r, "args"), ""); /* not a string */
	assert_string_equal(record_str(NULL, "name"), "");
	json_object_put(r);

	/* env may be empty, args may not */
	r = good_record();
	json_object_object_add(r, "env", json_object_new_array());
	assert_int_equal(store_validate_record(r, &err), 0);
	json_object_put(r);

	assert_record_rejected("name", NULL, "name");
	assert_record_rejected("name", "\"\"", "name");
	assert_record_rejected("name", "\"../etc\"", "name");
	assert_record_rejected("name", "42", "name");
	assert_record_rejected("image", NULL, "image");
	assert_record_rejected("image", "\"a/b\"", "image");
	assert_record_rejected("image", "\".hidden\"", "image");
	assert_record_rejected("ip", NULL, "IP");
	assert_record_rejected("ip", "\"\"", "IP");
	assert_record_rejected("ip", "\"10.87.0.11\"", "IP");
	assert_record_rejected("ip", "[\"10.88.0.5\"]", "IP");
	assert_record_rejected("args", "[]", "command");
	assert_record_rejected("args", NULL, "command");
	assert_record_rejected("args", "\"/bin/sh\"", "command");
	assert_record_rejected("args", "[\"/bin/sh\",1]", "command");
	assert_record_rejected("args", "[null]", "command");
	assert_record_rejected("env", "[\"A=1\",2]", "env");
	assert_record_rejected("env", "[{\"A\":\"1\"}]", "env");
	assert_record_rejected("env", "\"A=1\"", "env");
	assert_record_rejected("env", "{\"A\":\"1\"}", "env");
	assert_record_rejected("env", NULL, "env");

	assert_int_equal(store_validate_record(NULL, &err), -1);
	json_object *arr = json_object_new_array();
	assert_int_equal(store_validate_record(arr, &err), -1);
	tu_assert_contains(err.message, "not an object");
	json_object_put(arr);
}

static void test_store_round_trip(void **state)
{
	ferry_error_t err = { 0 };
	json_object *r = good_record();
	assert_int_equal(store_save("node1", r, &err), 0);
	json_object *back = store_load("node1", "redis", &err);
	assert_non_null(back);
	assert_true(json_object_equal(back, r));
	json_object_put(back);
	json_object *names = store_list("node1");
	assert_int_equal(json_object_array_length(names), 1);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(names, 0)), "redis");
	json_object_put(names);
	names = store_list("node2");
	assert_int_equal(json_object_array_length(names), 0);
	json_object_put(names);

	assert_null(store_load("node1", "nope", &err));
	assert_int_equal(err.errno_value, ENOENT);
	assert_null(store_load("node1", "../node1", &err));
	assert_null(store_load("node2", "redis", &err));

	/* a record that went bad on disk is refused on load */
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/lib/nodes/node1/containers/redis/container.json", state_dir);
	tu_write(p, "{\"name\":\"redis\"}", 16, O_TRUNC);
	assert_null(store_load("node1", "redis", &err));
	tu_assert_contains(err.message, "container.json");
	json_object_put(r);
}

/* ---- bundles ---- */

static json_object *find_namespace(json_object *nss, const char *type)
{
	for (size_t i = 0; i < json_object_array_length(nss); i++) {
		json_object *ns = json_object_array_get_idx(nss, i), *t;
		if (json_object_object_get_ex(ns, "type", &t) &&
		    !strcmp(json_object_get_string(t), type))
			return ns;
	}
	return NULL;
}

static json_object *get_path(json_object *obj, const char *a, const char *b)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(obj, a, &v))
		fail_msg("no %s", a);
	if (b && !json_object_object_get_ex(v, b, &v))
		fail_msg("no %s.%s", a, b);
	return v;
}

static void test_bundle_write(void **state)
{
	char dir[PATH_MAX], p[PATH_MAX];
	ferry_error_t err = { 0 };
	snprintf(dir, sizeof(dir), "%s/bundle", state_dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	json_object *r = good_record();
	struct bundle_params bp = { .dir = dir, .record = r, .netns_path = "/run/netns/ferry-node2",
				    .cgroup_path = "/ferry/node2/redis" };
	assert_int_equal(bundle_write(&bp, &err), 0);
	snprintf(p, sizeof(p), "%s/config.json", dir);
	json_object *cfg = json_object_from_file(p);
	assert_non_null(cfg);

	json_object *args = get_path(cfg, "process", "args"), *want;
	assert_true(json_object_object_get_ex(r, "args", &want));
	assert_true(json_object_equal(args, want));
	assert_int_equal(json_object_array_length(args), 3);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(args, 0)),
			    "/usr/bin/redis-server");
	assert_true(json_object_object_get_ex(r, "env", &want));
	assert_true(json_object_equal(get_path(cfg, "process", "env"), want));
	assert_string_equal(json_object_get_string(get_path(cfg, "process", "cwd")), "/data");
	assert_string_equal(json_object_get_string(get_path(cfg, "hostname", NULL)), "redis");
	assert_string_equal(json_object_get_string(get_path(cfg, "root", "path")), "rootfs");

	json_object *nss = get_path(cfg, "linux", "namespaces");
	json_object *net = find_namespace(nss, "network"), *path;
	assert_non_null(net);
	assert_true(json_object_object_get_ex(net, "path", &path));
	assert_string_equal(json_object_get_string(path), "/run/netns/ferry-node2");
	const char *fresh[] = { "pid", "ipc", "uts", "mount" };
	for (int i = 0; i < 4; i++) {
		json_object *ns = find_namespace(nss, fresh[i]);
		assert_non_null(ns);
		assert_false(json_object_object_get_ex(ns, "path", NULL));
	}
	assert_null(find_namespace(nss, "user"));
	assert_string_equal(json_object_get_string(get_path(cfg, "linux", "cgroupsPath")),
			    "/ferry/node2/redis");
	json_object_put(cfg);

	/* the record is not consumed, and a record without cwd runs in / */
	json_object_object_del(r, "cwd");
	bp.netns_path = "/run/netns/other";
	assert_int_equal(bundle_write(&bp, &err), 0);
	cfg = json_object_from_file(p);
	assert_non_null(cfg);
	assert_string_equal(json_object_get_string(get_path(cfg, "process", "cwd")), "/");
	nss = get_path(cfg, "linux", "namespaces");
	assert_true(json_object_object_get_ex(find_namespace(nss, "network"), "path", &path));
	assert_string_equal(json_object_get_string(path), "/run/netns/other");
	json_object_put(cfg);
	json_object_put(r);

	/* a missing bundle directory is an error */
	snprintf(dir, sizeof(dir), "%s/no-such-bundle", state_dir);
	r = good_record();
	bp.record = r;
	assert_int_equal(bundle_write(&bp, &err), -1);
	json_object_put(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topology_missing),
		cmocka_unit_test(test_topology_round_trip),
		cmocka_unit_test(test_topology_defaults),
		cmocka_unit_test(test_topology_malformed),
		cmocka_unit_test(test_validate_record),
		cmocka_unit_test(test_store_round_trip),
		cmocka_unit_test(test_bundle_write),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
