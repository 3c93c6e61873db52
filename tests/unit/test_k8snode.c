/*
 * test_k8snode.c - the pure parts of ferry's Kubernetes node pieces: how
 * ferry-runc reads containerd's runc calls (runcshim_parse), what ferry-cni
 * accepts on stdin (cni_parse_config) and how its allocator hands out, keeps,
 * holds and frees addresses (cniipam), and the staging names (staging.c).
 */
#include "testutil.h"
#include "k8snode/cni.h"
#include "k8snode/cniipam.h"
#include "k8snode/runcshim.h"
#include "k8snode/staging.h"

static void test_runc_create_call(void **state)
{
	char *argv[] = { "ferry-runc", "--root", "/run/r/k8s.io", "--log", "/b/log.json",
			 "--log-format", "json", "create", "--bundle", "/b", "--pid-file",
			 "/b/init.pid", "--console-socket", "/s.sock", "abc123", NULL };
	struct runc_call c;
	ferry_error_t err = { 0 };
	assert_int_equal(runcshim_parse(15, argv, &c, &err), 0);
	assert_string_equal(c.command, "create");
	assert_int_equal(c.cmd_index, 7);
	assert_string_equal(c.root, "/run/r/k8s.io");
	assert_string_equal(c.log, "/b/log.json");
	assert_string_equal(c.bundle, "/b");
	assert_string_equal(c.pid_file, "/b/init.pid");
	assert_string_equal(c.id, "abc123");
}

static void test_runc_other_calls(void **state)
{
	char *start[] = { "ferry-runc", "--root=/r", "start", "id1", NULL };
	char *kill[] = { "ferry-runc", "--root", "/r", "kill", "--all", "id2", "9", NULL };
	char *exec[] = { "ferry-runc", "--root", "/r", "exec", "--process", "/p.json", "--detach",
			 "--pid-file", "/x", "id3", NULL };
	char *none[] = { "ferry-runc", "--version", NULL };
	struct runc_call c;
	ferry_error_t err = { 0 };
	assert_int_equal(runcshim_parse(4, start, &c, &err), 0);
	assert_string_equal(c.root, "/r");
	assert_string_equal(c.id, "id1");
	assert_int_equal(runcshim_parse(7, kill, &c, &err), 0);
	assert_string_equal(c.command, "kill");
	assert_string_equal(c.id, "id2");
	assert_int_equal(runcshim_parse(10, exec, &c, &err), 0);
	assert_string_equal(c.id, "id3");
	assert_int_equal(runcshim_parse(2, none, &c, &err), -1);
}

#define CONF(extra) "{\"cniVersion\":\"1.0.0\",\"name\":\"ferry\",\"type\":\"ferry-cni\"," \
		    "\"node\":\"k8s-node1\",\"subnet\":\"10.96.1.0/29\"" extra "}"

static int parse(const char *json, struct cni_config *cfg)
{
	ferry_error_t err = { 0 };
	return cni_parse_config(json, strlen(json), cfg, &err);
}

static void test_cni_config(void **state)
{
	struct cni_config cfg;
	assert_int_equal(parse(CONF(""), &cfg), 0);
	assert_string_equal(cfg.data_dir, CNI_DEFAULT_DATA_DIR);
	assert_int_equal(cfg.prefix, 29);
	assert_string_equal(cfg.requested_ip, "");
	assert_int_equal(parse(CONF(",\"runtimeConfig\":{\"io.kubernetes.cri.pod-annotations\":"
				    "{\"ferry.dev/pod-ip\":\"10.96.2.7\"}}"), &cfg), 0);
	assert_string_equal(cfg.requested_ip, "10.96.2.7");
	assert_false(cfg.restore);
	/* a migration's target pod (its traffic starts locked) */
	assert_int_equal(parse(CONF(",\"runtimeConfig\":{\"io.kubernetes.cri.pod-annotations\":"
				    "{\"ferry.dev/pod-ip\":\"10.96.2.7\",\"ferry.dev/restore\":\"true\"}}"),
			       &cfg), 0);
	assert_true(cfg.restore);
	assert_int_equal(parse(CONF(",\"runtimeConfig\":{\"io.kubernetes.cri.pod-annotations\":"
				    "{\"ferry.dev/restore\":\"false\"}}"), &cfg), 0);
	assert_false(cfg.restore);
	/* refusals, with the CNI error code */
	assert_int_equal(parse("{", &cfg), CNI_ERR_DECODE);
	assert_int_equal(parse("[]", &cfg), CNI_ERR_DECODE);
	assert_int_equal(parse(CONF("") " x", &cfg), CNI_ERR_DECODE);
	assert_int_equal(parse("{\"cniVersion\":\"0.2.0\",\"name\":\"n\"}", &cfg), CNI_ERR_VERSION);
	assert_int_equal(parse("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"subnet\":\"10.0.0.0/24\"}",
			       &cfg), CNI_ERR_CONFIG);
	assert_int_equal(parse(CONF(",\"dataDir\":\"relative\""), &cfg), CNI_ERR_CONFIG);
	assert_int_equal(parse(CONF(",\"dataDir\":\"/a/../b\""), &cfg), CNI_ERR_CONFIG);
	assert_int_equal(parse("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"node\":\"a/b\","
			       "\"subnet\":\"10.0.0.0/24\"}", &cfg), CNI_ERR_CONFIG);
	assert_int_equal(parse("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"node\":\"a\","
			       "\"subnet\":\"10.0.0.1/24\"}", &cfg), CNI_ERR_CONFIG);
	assert_int_equal(parse(CONF(",\"runtimeConfig\":{\"io.kubernetes.cri.pod-annotations\":"
				    "{\"ferry.dev/pod-ip\":\"999.1.1.1\"}}"), &cfg), CNI_ERR_CONFIG);
	assert_int_equal(parse(CONF(",\"runtimeConfig\":{\"io.kubernetes.cri.pod-annotations\":"
				    "{\"ferry.dev/pod-ip\":\"127.0.0.1\"}}"), &cfg), CNI_ERR_CONFIG);
}

static void test_cni_allocator(void **state)
{
	struct cni_config cfg;
	ferry_error_t err = { 0 };
	char ip[16], again[16], other[16];
	char *dir = tu_mkdtemp();
	assert_int_equal(parse(CONF(""), &cfg), 0);
	snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", dir);
	/* /29: .2 to .6 usable (.1 and the broadcast are kept out) */
	assert_int_equal(cniipam_assign(&cfg, "c1", "eth0", "ns/a", ip, &err), 0);
	assert_string_equal(ip, "10.96.1.2");
	assert_int_equal(cniipam_assign(&cfg, "c1", "eth0", "ns/a", again, &err), 0);
	assert_string_equal(again, ip); /* a retried ADD keeps its address */
	assert_int_equal(cniipam_assign(&cfg, "c2", "eth0", "ns/b", other, &err), 0);
	assert_string_equal(other, "10.96.1.3");
	assert_int_equal(cniipam_release(&cfg, "c1", "eth0", &err), 0);
	assert_int_equal(cniipam_lookup(&cfg, "c1", "eth0", again, &err), -1);
	/* round robin: the freed .2 is not handed out again at once */
	assert_int_equal(cniipam_assign(&cfg, "c3", "eth0", "ns/c", again, &err), 0);
	assert_string_equal(again, "10.96.1.4");
	/* a held address (migrated away) survives the source sandbox's DEL */
	assert_int_equal(cniipam_hold(&cfg, "10.96.1.3", "k8s-node2/ns/b-x", &err), 0);
	assert_int_equal(cniipam_release(&cfg, "c2", "eth0", &err), 0);
	assert_int_equal(cniipam_assign(&cfg, "c4", "eth0", "ns/d", again, &err), 0);
	assert_string_equal(again, "10.96.1.5");
	assert_int_equal(cniipam_assign(&cfg, "c5", "eth0", "ns/e", again, &err), 0);
	assert_string_equal(again, "10.96.1.6");
	assert_int_equal(cniipam_assign(&cfg, "c6", "eth0", "ns/f", again, &err), 0);
	assert_string_equal(again, "10.96.1.2");
	assert_int_equal(cniipam_assign(&cfg, "c7", "eth0", "ns/g", again, &err), -1);
	assert_non_null(strstr(err.message, "no free address"));
	/* a requested address: granted once, refused to another owner */
	snprintf(cfg.requested_ip, sizeof(cfg.requested_ip), "10.96.2.9");
	assert_int_equal(cniipam_assign(&cfg, "t1", "eth0", "ns/t", again, &err), 0);
	assert_string_equal(again, "10.96.2.9");
	assert_int_equal(cniipam_assign(&cfg, "t2", "eth0", "ns/u", again, &err), -1);
	assert_non_null(strstr(err.message, "in use"));
	/* a held address goes to the pod that asks for it: the migration back home */
	snprintf(cfg.requested_ip, sizeof(cfg.requested_ip), "10.96.1.3");
	assert_int_equal(cniipam_assign(&cfg, "back", "eth0", "ns/b-y", again, &err), 0);
	assert_string_equal(again, "10.96.1.3");
	ferry_error_t ignored = { 0 };
	fs_rm_rf(dir, &ignored);
	free(dir);
}

/* A StatefulSet hand-over holds the address before the commit; a failure
 * gives it back to its sandbox (still running) or frees it (gone). */
static void test_cni_hold_before_commit(void **state)
{
	struct cni_config cfg;
	ferry_error_t err = { 0 };
	char ip[16], key[600], pod[400], again[16];
	char *dir = tu_mkdtemp();
	assert_int_equal(parse(CONF(""), &cfg), 0);
	snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", dir);
	assert_int_equal(cniipam_assign(&cfg, "sb1", "eth0", "ns/web-0", ip, &err), 0);
	assert_int_equal(cniipam_owner(&cfg, ip, key, pod, &err), 0);
	assert_string_equal(key, "sb1/eth0");
	assert_string_equal(pod, "ns/web-0");
	assert_int_equal(cniipam_hold(&cfg, ip, "k8s-node2/ns/web-0", &err), 0);
	/* the deleted sandbox's DEL does not free it */
	assert_int_equal(cniipam_release(&cfg, "sb1", "eth0", &err), 0);
	assert_int_equal(cniipam_owner(&cfg, ip, key, pod, &err), 0);
	assert_string_equal(key, "migrated-to:k8s-node2/ns/web-0");
	/* another migration's unhold does not touch it */
	assert_int_equal(cniipam_unhold(&cfg, ip, "k8s-node3/ns/web-0", "sb1/eth0", "ns/web-0",
					true, &err), 0);
	assert_int_equal(cniipam_owner(&cfg, ip, key, pod, &err), 0);
	assert_string_equal(key, "migrated-to:k8s-node2/ns/web-0");
	/* the sandbox still runs: the address is its own again */
	assert_int_equal(cniipam_unhold(&cfg, ip, "k8s-node2/ns/web-0", "sb1/eth0", "ns/web-0",
					true, &err), 0);
	assert_int_equal(cniipam_lookup(&cfg, "sb1", "eth0", again, &err), 0);
	assert_string_equal(again, ip);
	/* held again, and the sandbox is gone meanwhile: freed */
	assert_int_equal(cniipam_hold(&cfg, ip, "k8s-node2/ns/web-0", &err), 0);
	assert_int_equal(cniipam_unhold(&cfg, ip, "k8s-node2/ns/web-0", "sb1/eth0", "ns/web-0",
					false, &err), 0);
	assert_int_equal(cniipam_owner(&cfg, ip, key, pod, &err), 0);
	assert_string_equal(key, "");
	assert_int_equal(cniipam_unhold(&cfg, "nope", "x", "", "", false, &err), -1);
	ferry_error_t ignored = { 0 };
	fs_rm_rf(dir, &ignored);
	free(dir);
}

static void test_staging_names(void **state)
{
	char dir[PATH_MAX];
	ferry_error_t err = { 0 };
	setenv("FERRY_K8S_STATE", "/tmp/x", 1);
	assert_int_equal(staging_pod_dir("default", "redis-7c9-abcde", dir, &err), 0);
	assert_string_equal(dir, "/tmp/x/incoming/default_redis-7c9-abcde");
	assert_int_equal(staging_pod_dir("default", "../etc", dir, &err), -1);
	assert_int_equal(staging_pod_dir("a_b", "p", dir, &err), -1);
	assert_int_equal(staging_pod_dir("", "p", dir, &err), -1);
	assert_false(staging_is_migrated("../x"));
	unsetenv("FERRY_K8S_STATE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runc_create_call),
		cmocka_unit_test(test_runc_other_calls),
		cmocka_unit_test(test_cni_config),
		cmocka_unit_test(test_cni_allocator),
		cmocka_unit_test(test_cni_hold_before_commit),
		cmocka_unit_test(test_staging_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
