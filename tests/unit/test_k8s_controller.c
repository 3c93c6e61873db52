/*
 * test_k8s_controller.c - the pure parts of the controller: quantities,
 * label selectors, names, the target pod and its release patch, node
 * feasibility, volume and pod checks.
 */
#include "testutil.h"
#include "controller/names.h"
#include "controller/pick.h"
#include "controller/targetpod.h"
#include "controller/validate.h"
#include "k8s/object.h"

static json_object *J(const char *text)
{
	json_object *o = json_tokener_parse(text);
	if (!o)
		fail_msg("bad test JSON: %s", text);
	return o;
}

static void test_quantities(void **state)
{
	static const struct {
		const char *q;
		int64_t milli;
	} good[] = { { "1", 1000 }, { "100m", 100 }, { "1.5", 1500 }, { "2k", 2000000 },
		     { "1Ki", 1024000 }, { "64Mi", 67108864000LL }, { "1Gi", 1073741824000LL },
		     { "1e3", 1000000 }, { "0.1m", 1 }, { "0", 0 }, { "1M", 1000000000 } };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int64_t v = -7;
		if (k8s_quantity_milli(good[i].q, &v) < 0 || v != good[i].milli)
			fail_msg("%s -> %lld, want %lld", good[i].q, (long long)v, (long long)good[i].milli);
	}
	static const char *const bad[] = { "", "abc", "1x", "Mi", "0x10", "inf", "nan", "1 Gi",
					   "1Gib", "--1", "99999999999Ei", NULL };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t v;
		if (k8s_quantity_milli(bad[i], &v) == 0)
			fail_msg("accepted quantity '%s'", bad[i] ? bad[i] : "(null)");
	}
}

static void test_selectors(void **state)
{
	json_object *labels = J("{\"app\":\"web\",\"tier\":\"front\",\"app.kubernetes.io/name\":\"x\"}");
	static const struct {
		const char *sel;
		bool match;
	} cases[] = {
		{ "{}", true },
		{ "{\"matchLabels\":{\"app\":\"web\"}}", true },
		{ "{\"matchLabels\":{\"app\":\"db\"}}", false },
		{ "{\"matchLabels\":{\"app.kubernetes.io/name\":\"x\"}}", true },
		{ "{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"a\",\"front\"]}]}", true },
		{ "{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"NotIn\",\"values\":[\"front\"]}]}", false },
		{ "{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"NotIn\",\"values\":[\"a\"]}]}", true },
		{ "{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"Exists\"}]}", true },
		{ "{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"DoesNotExist\"}]}", false },
		{ "{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"Gt\",\"values\":[\"1\"]}]}", false },
		{ "{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"x\",\"operator\":\"Exists\"}]}", false },
		{ "{\"matchLabels\":[]}", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object *s = J(cases[i].sel);
		if (k8s_selector_matches(s, labels) != cases[i].match)
			fail_msg("selector %s: want %d", cases[i].sel, cases[i].match);
		json_object_put(s);
	}
	json_object_put(labels);
	assert_string_equal(k8s_label(labels = J("{\"metadata\":{\"labels\":{\"a.b/c\":\"v\"}}}"), "a.b/c"), "v");
	assert_null(k8s_annotation(labels, "a.b/c"));
	json_object_put(labels);
}

static void test_names(void **state)
{
	const unsigned char rnd[5] = { 0, 1, 35, 36, 255 };
	char out[64];
	ferry_error_t err = { 0 };
	assert_int_equal(names_target_pod("web-6d4cf56db6-x2x7q", rnd, out, &err), 0);
	assert_string_equal(out, "web-6d4cf56db6-x2x7q-ab9ad");
	char longname[100];
	memset(longname, 'a', 99);
	longname[99] = '\0';
	longname[56] = '-';
	assert_int_equal(names_target_pod(longname, rnd, out, &err), 0);
	assert_int_equal(strlen(out), 62); /* 56 'a' + "-" + 5 (the '-' at 57 trimmed) */
	assert_true(k8s_is_dns_label(out));
	assert_int_equal(names_target_pod("", rnd, out, &err), -1);
	char held[320];
	assert_int_equal(names_held_label("app", held, sizeof(held), &err), 0);
	assert_string_equal(held, "ferry.dev/held-app");
	assert_int_equal(names_held_label("app.kubernetes.io/name", held, sizeof(held), &err), 0);
	assert_string_equal(held, "ferry.dev/held-app.kubernetes.io_name");
	char key[70];
	memset(key, 'k', 60);
	key[60] = '\0';
	assert_int_equal(names_held_label(key, held, sizeof(held), &err), -1);
	assert_true(k8s_is_dns_subdomain("a.b-c.d"));
	assert_false(k8s_is_dns_subdomain("Bad_Name"));
	assert_false(k8s_is_dns_subdomain("a..b"));
	assert_false(k8s_is_dns_label("-a"));
}

static const char source_pod[] =
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-abc\",\"namespace\":\"ns\","
	"\"uid\":\"u1\",\"resourceVersion\":\"9\",\"creationTimestamp\":\"t\",\"generateName\":\"web-\","
	"\"managedFields\":[],\"finalizers\":[\"f\"],"
	"\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"abc\",\"tier\":\"front\"},"
	"\"annotations\":{\"keep\":\"me\",\"ferry.dev/migrating\":\"pm1\"},"
	"\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"web\","
	"\"uid\":\"rs1\",\"controller\":true}]},"
	"\"spec\":{\"nodeName\":\"n1\",\"runtimeClassName\":\"ferry\",\"schedulingGates\":[{\"name\":\"g\"}],"
	"\"containers\":[{\"name\":\"app\",\"image\":\"i\"}]},"
	"\"status\":{\"phase\":\"Running\",\"podIP\":\"10.96.1.5\"}}";

static void test_target_pod(void **state)
{
	json_object *src = J(source_pod);
	json_object *selector = J("{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":"
				  "[{\"key\":\"pod-template-hash\",\"operator\":\"Exists\"},"
				  "{\"key\":\"app\",\"operator\":\"Exists\"}]}");
	json_object *keys = target_pod_selector_keys(selector);
	assert_int_equal(json_object_array_length(keys), 2);
	ferry_error_t err = { 0 };
	struct target_pod_opts o = { .name = "web-abc-zzzzz", .node = "n2", .migration = "pm1",
				     .held_keys = keys };
	json_object *t = target_pod_build(src, &o, &err);
	assert_non_null(t);
	assert_string_equal(k8s_str(t, "metadata.name"), "web-abc-zzzzz");
	assert_string_equal(k8s_str(t, "spec.nodeName"), "n2");
	assert_string_equal(k8s_str(t, "spec.hostname"), "web-abc");
	assert_string_equal(k8s_str(t, "spec.runtimeClassName"), "ferry");
	assert_null(k8s_at(t, "spec.schedulingGates"));
	assert_null(k8s_at(t, "status"));
	assert_null(k8s_at(t, "metadata.uid"));
	assert_null(k8s_at(t, "metadata.resourceVersion"));
	assert_null(k8s_at(t, "metadata.generateName"));
	assert_null(k8s_at(t, "metadata.finalizers"));
	assert_null(k8s_at(t, "metadata.ownerReferences"));
	assert_null(k8s_label(t, "app"));
	assert_null(k8s_label(t, "pod-template-hash"));
	assert_string_equal(k8s_label(t, "ferry.dev/held-app"), "web");
	assert_string_equal(k8s_label(t, "ferry.dev/held-pod-template-hash"), "abc");
	assert_string_equal(k8s_label(t, "tier"), "front");
	assert_string_equal(k8s_annotation(t, "ferry.dev/migration"), "pm1");
	assert_string_equal(k8s_annotation(t, "ferry.dev/restore"), "true");
	assert_string_equal(k8s_annotation(t, "ferry.dev/pod-ip"), "10.96.1.5");
	assert_string_equal(k8s_annotation(t, "ferry.dev/source-pod"), "web-abc");
	assert_string_equal(k8s_annotation(t, "keep"), "me");
	assert_null(k8s_annotation(t, "ferry.dev/migrating"));
	/* the source is untouched */
	assert_string_equal(k8s_label(src, "app"), "web");
	json_object *patch = target_pod_release_patch(src, keys, &err);
	assert_non_null(patch);
	assert_string_equal(
		json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
		"{\"metadata\":{\"labels\":{\"app\":\"web\",\"ferry.dev/held-app\":null,"
		"\"pod-template-hash\":\"abc\",\"ferry.dev/held-pod-template-hash\":null},"
		"\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"web\","
		"\"uid\":\"rs1\",\"controller\":true}]}}");
	json_object_put(patch);
	json_object_put(t);
	/* StatefulSet: same name, owner and labels kept */
	struct target_pod_opts sts = { .name = "web-abc", .node = "n2", .migration = "pm1",
				       .held_keys = keys, .keep_owner = true };
	t = target_pod_build(src, &sts, &err);
	assert_string_equal(k8s_label(t, "app"), "web");
	assert_non_null(k8s_at(t, "metadata.ownerReferences"));
	json_object_put(t);
	json_object *noip = J("{\"metadata\":{\"name\":\"x\"},\"spec\":{}}");
	assert_null(target_pod_build(noip, &o, &err));
	json_object_put(noip);
	json_object_put(keys);
	json_object_put(selector);
	json_object_put(src);
}

static json_object *node(const char *name, const char *ready, const char *extra)
{
	char buf[1024];
	snprintf(buf, sizeof(buf),
		 "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"ferry.dev/agent\":\"ready\",\"disk\":\"ssd\"}},"
		 "\"spec\":{%s},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\"}],"
		 "\"allocatable\":{\"cpu\":\"2\",\"memory\":\"1Gi\",\"pods\":\"3\"}}}",
		 name, extra, ready);
	return J(buf);
}

static void expect_problem(json_object *n, json_object *pod, json_object *pods, const char *needle)
{
	char buf[256];
	const char *why = pick_node_problem(n, pod, "n1", pods, buf, sizeof(buf));
	if (!needle && why)
		fail_msg("unexpected problem: %s", why);
	if (needle && (!why || !strstr(why, needle)))
		fail_msg("want '%s', got '%s'", needle, why ? why : "(feasible)");
}

static void test_node_feasibility(void **state)
{
	json_object *pod = J("{\"spec\":{\"nodeSelector\":{\"disk\":\"ssd\"},\"tolerations\":"
			     "[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"db\",\"effect\":\"NoSchedule\"}],"
			     "\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"500m\",\"memory\":\"256Mi\"}}}]}}");
	json_object *n1 = node("n1", "True", ""), *n2 = node("n2", "True", ""),
		    *nr = node("n2", "False", ""), *cordoned = node("n2", "True", "\"unschedulable\":true"),
		    *tainted = node("n2", "True", "\"taints\":[{\"key\":\"gpu\",\"effect\":\"NoSchedule\"}]"),
		    *tolerated = node("n2", "True", "\"taints\":[{\"key\":\"dedicated\",\"value\":\"db\",\"effect\":\"NoSchedule\"},"
						    "{\"key\":\"soft\",\"effect\":\"PreferNoSchedule\"}]"),
		    *noagent = J("{\"metadata\":{\"name\":\"n3\",\"labels\":{\"disk\":\"ssd\"}},"
				 "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}");
	expect_problem(n1, pod, NULL, "is the pod's own node");
	expect_problem(n2, pod, NULL, NULL);
	expect_problem(nr, pod, NULL, "is not Ready");
	expect_problem(cordoned, pod, NULL, "is cordoned");
	expect_problem(tainted, pod, NULL, "has taint gpu:NoSchedule");
	expect_problem(tolerated, pod, NULL, NULL);
	expect_problem(noagent, pod, NULL, "runs no ferry agent");
	json_object *full = J("[{\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"1600m\"}}}]}}]");
	expect_problem(n2, pod, full, "not enough cpu (500m requested, 400m free)");
	json_object *mem = J("[{\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"memory\":\"900Mi\"}}}]}},"
			     "{\"status\":{\"phase\":\"Succeeded\"},\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"2\"}}}]}}]");
	expect_problem(n2, pod, mem, "not enough memory (256 MiB requested, 124 MiB free)");
	json_object *many = J("[{},{},{}]");
	expect_problem(n2, pod, many, "no room for another pod");
	assert_true(pick_free_memory(n2, mem) == (1024LL - 900) * 1048576 * 1000);
	json_object *aff = J("{\"spec\":{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
			     "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"disk\",\"operator\":\"In\",\"values\":[\"hdd\"]}]}]}}}}}");
	expect_problem(n2, aff, NULL, "required node affinity");
	json_object *sel = J("{\"spec\":{\"nodeSelector\":{\"disk\":\"hdd\"}}}");
	expect_problem(n2, sel, NULL, "nodeSelector");
	json_object *objs[] = { pod, n1, n2, nr, cordoned, tainted, tolerated, noagent, full, mem, many, aff, sel };
	for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
		json_object_put(objs[i]);
}

static void test_volumes_and_pods(void **state)
{
	char buf[600];
	static const char *const ok[] = { "{\"name\":\"a\",\"emptyDir\":{}}",
					  "{\"name\":\"b\",\"configMap\":{\"name\":\"c\"}}",
					  "{\"name\":\"c\",\"projected\":{\"sources\":[]}}",
					  "{\"name\":\"d\",\"secret\":{}}", "{\"name\":\"e\",\"downwardAPI\":{}}",
					  "{\"name\":\"f\",\"nfs\":{\"server\":\"s\",\"path\":\"/x\"}}" };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		json_object *v = J(ok[i]);
		assert_null(validate_volume(v, NULL, NULL, buf, sizeof(buf)));
		json_object_put(v);
	}
	json_object *hp = J("{\"name\":\"h\",\"hostPath\":{\"path\":\"/srv\"}}");
	assert_non_null(strstr(validate_volume(hp, NULL, NULL, buf, sizeof(buf)), "volume h: hostPath /srv"));
	json_object *iscsi = J("{\"name\":\"i\",\"iscsi\":{}}");
	assert_string_equal(validate_volume(iscsi, NULL, NULL, buf, sizeof(buf)),
			    "volume i: iscsi volumes cannot follow a migrated pod");
	json_object *claim = J("{\"name\":\"p\",\"persistentVolumeClaim\":{\"claimName\":\"c\"}}");
	json_object *pvc = J("{\"spec\":{\"volumeName\":\"pv1\"}}");
	json_object *rwo = J("{\"metadata\":{\"name\":\"pv1\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"]}}");
	json_object *rwx = J("{\"metadata\":{\"name\":\"pv1\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\",\"ReadWriteMany\"]}}");
	json_object *shared = J("{\"metadata\":{\"name\":\"pv1\",\"annotations\":{\"ferry.dev/shared\":\"true\"}},"
				"\"spec\":{\"accessModes\":[\"ReadWriteOnce\"]}}");
	assert_non_null(strstr(validate_volume(claim, pvc, rwo, buf, sizeof(buf)), "not ReadWriteMany"));
	assert_null(validate_volume(claim, pvc, rwx, buf, sizeof(buf)));
	assert_null(validate_volume(claim, pvc, shared, buf, sizeof(buf)));
	assert_non_null(strstr(validate_volume(claim, pvc, NULL, buf, sizeof(buf)), "not bound"));
	json_object *objs[] = { hp, iscsi, claim, pvc, rwo, rwx, shared };
	for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
		json_object_put(objs[i]);

	ferry_error_t err = { 0 };
	json_object *good = J(source_pod);
	assert_int_equal(validate_pod_object(good, &err), 0);
	json_object_put(good);
	static const struct {
		const char *pod, *needle;
	} bad[] = {
		{ "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeName\":\"n\",\"runtimeClassName\":\"ferry\"},\"status\":{\"phase\":\"Pending\",\"podIP\":\"1\"}}", "is Pending, not Running" },
		{ "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeName\":\"n\"},\"status\":{\"phase\":\"Running\",\"podIP\":\"1\"}}", "runtimeClassName: none" },
		{ "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeName\":\"n\",\"runtimeClassName\":\"ferry\"},\"status\":{\"phase\":\"Running\"}}", "has no IP yet" },
		{ "{\"metadata\":{\"name\":\"p\",\"deletionTimestamp\":\"t\"},\"spec\":{},\"status\":{}}", "is being deleted" },
		{ "{\"metadata\":{\"name\":\"p\",\"annotations\":{\"ferry.dev/restore\":\"true\",\"ferry.dev/migration\":\"m9\"}},\"spec\":{\"nodeName\":\"n\",\"runtimeClassName\":\"ferry\"},\"status\":{\"phase\":\"Running\",\"podIP\":\"1\"}}", "target of migration m9" },
		{ "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"hostNetwork\":true,\"nodeName\":\"n\",\"runtimeClassName\":\"ferry\"},\"status\":{\"phase\":\"Running\",\"podIP\":\"1\"}}", "host network" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_object *p = J(bad[i].pod);
		ferry_error_clear(&err);
		if (validate_pod_object(p, &err) != -1 || !strstr(err.message, bad[i].needle))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.message, bad[i].needle);
		json_object_put(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quantities),     cmocka_unit_test(test_selectors),
		cmocka_unit_test(test_names),          cmocka_unit_test(test_target_pod),
		cmocka_unit_test(test_node_feasibility), cmocka_unit_test(test_volumes_and_pods),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
