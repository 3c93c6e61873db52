/*
 * test_k8s_webhook.c - the controller's pod admission webhook (the JSON
 * Patch for a StatefulSet pod's successor, the AdmissionReview answer, the
 * MutatingWebhookConfiguration), its hand-over table, and the in-memory
 * serving certificate the API server is told to trust.
 */
#include "testutil.h"
#include "controller/handover.h"
#include "controller/webhook.h"
#include "k8s/object.h"
#include "tls/servingcert.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static json_object *J(const char *text)
{
	json_object *o = json_tokener_parse(text);
	if (!o)
		fail_msg("bad test JSON: %s", text);
	return o;
}

static const struct handover H = {
	.ns = "default", .pod = "web-0", .node = "k8s-node2", .pod_ip = "10.96.1.7",
	.migration = "web-0-abcde", .source_uid = "uid-old",
};

/* op i of patch is {op, path} (and value, when want_value is not NULL) */
static void expect_op(json_object *patch, size_t i, const char *op, const char *path,
		      const char *want_value)
{
	json_object *o = json_object_array_get_idx(patch, i);
	if (!o)
		fail_msg("patch has no op %zu: %s", i, json_object_to_json_string(patch));
	assert_string_equal(k8s_str(o, "op"), op);
	assert_string_equal(k8s_str(o, "path"), path);
	if (want_value)
		assert_string_equal(k8s_str(o, "value"), want_value);
	else if (!strcmp(op, "remove"))
		assert_null(k8s_at(o, "value"));
}

static void test_patch_without_annotations(void **state)
{
	json_object *pod = J("{\"metadata\":{\"name\":\"web-0\",\"labels\":{\"app\":\"web\"}},"
			     "\"spec\":{\"containers\":[{\"name\":\"c\"}]}}");
	json_object *p = webhook_patch(pod, &H);
	assert_int_equal(json_object_array_length(p), 2);
	expect_op(p, 0, "add", "/spec/nodeName", "k8s-node2");
	expect_op(p, 1, "add", "/metadata/annotations", NULL);
	json_object *ann = k8s_at(json_object_array_get_idx(p, 1), "value");
	assert_int_equal(json_object_object_length(ann), 4);
	assert_string_equal(json_object_get_string(json_object_object_get(ann, "ferry.dev/restore")),
			    "true");
	assert_string_equal(json_object_get_string(json_object_object_get(ann, "ferry.dev/pod-ip")),
			    "10.96.1.7");
	assert_string_equal(json_object_get_string(json_object_object_get(ann, "ferry.dev/migration")),
			    "web-0-abcde");
	assert_string_equal(json_object_get_string(json_object_object_get(ann, "ferry.dev/source-pod")),
			    "web-0");
	json_object_put(p);
	json_object_put(pod);
}

static void test_patch_with_annotations_and_gates(void **state)
{
	json_object *pod = J("{\"metadata\":{\"name\":\"web-0\",\"annotations\":{\"a/b~c\":\"x\"}},"
			     "\"spec\":{\"nodeName\":\"k8s-node1\",\"schedulingGates\":[{\"name\":\"g\"}]}}");
	json_object *p = webhook_patch(pod, &H);
	assert_int_equal(json_object_array_length(p), 6);
	expect_op(p, 0, "add", "/spec/nodeName", "k8s-node2"); /* add replaces a member */
	expect_op(p, 1, "remove", "/spec/schedulingGates", NULL);
	/* RFC 6901: '/' in a key is "~1" */
	expect_op(p, 2, "add", "/metadata/annotations/ferry.dev~1restore", "true");
	expect_op(p, 3, "add", "/metadata/annotations/ferry.dev~1pod-ip", "10.96.1.7");
	expect_op(p, 4, "add", "/metadata/annotations/ferry.dev~1migration", "web-0-abcde");
	expect_op(p, 5, "add", "/metadata/annotations/ferry.dev~1source-pod", "web-0");
	json_object_put(p);
	json_object_put(pod);
}

static bool table_lookup(const char *ns, const char *pod, struct handover *out, void *data)
{
	const struct handover *h = data;
	if (strcmp(ns, h->ns) || strcmp(pod, h->pod))
		return false;
	*out = *h;
	return true;
}

static json_object *review_of(const char *op, const char *ns, const char *name)
{
	char text[1024];
	snprintf(text, sizeof(text),
		 "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
		 "\"request\":{\"uid\":\"705ab4f5-6393-11e8-b7cc-42010a800002\","
		 "\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
		 "\"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"pods\"},"
		 "\"namespace\":\"%s\",\"operation\":\"%s\",\"object\":{\"metadata\":{\"name\":\"%s\","
		 "\"labels\":{\"statefulset.kubernetes.io/pod-name\":\"%s\"}},\"spec\":{}}}}",
		 ns, op, name, name);
	return J(text);
}

static void expect_allowed(json_object *out, bool patched)
{
	assert_non_null(out);
	assert_string_equal(k8s_str(out, "apiVersion"), "admission.k8s.io/v1");
	assert_string_equal(k8s_str(out, "kind"), "AdmissionReview");
	assert_string_equal(k8s_str(out, "response.uid"), "705ab4f5-6393-11e8-b7cc-42010a800002");
	assert_true(json_object_get_boolean(k8s_at(out, "response.allowed")));
	if (!patched) {
		assert_null(k8s_at(out, "response.patch"));
		assert_null(k8s_at(out, "response.patchType"));
	}
}

static void test_review(void **state)
{
	ferry_error_t err = { 0 };
	char what[700];
	struct handover h = H;
	/* the pod of the hand-over entry: patched */
	json_object *in = review_of("CREATE", "default", "web-0");
	json_object *out = webhook_review(in, table_lookup, &h, what, sizeof(what), &err);
	expect_allowed(out, true);
	assert_string_equal(k8s_str(out, "response.patchType"), "JSONPatch");
	const char *b64 = k8s_str(out, "response.patch");
	unsigned char raw[4096];
	int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)strlen(b64));
	assert_true(n > 0);
	while (n > 0 && raw[n - 1] == 0)
		n--; /* EVP_DecodeBlock pads with zero bytes */
	raw[n] = 0;
	json_object *patch = J((const char *)raw);
	json_object *want = webhook_patch(k8s_at(in, "request.object"), &h);
	assert_true(json_object_equal(patch, want));
	assert_non_null(strstr(what, "default/web-0"));
	assert_non_null(strstr(what, "k8s-node2"));
	json_object_put(want);
	json_object_put(patch);
	json_object_put(out);
	json_object_put(in);
	/* other pods, other namespaces, other operations: allowed unchanged */
	static const char *const others[][3] = { { "CREATE", "default", "web-1" },
						 { "CREATE", "other", "web-0" },
						 { "UPDATE", "default", "web-0" },
						 { "DELETE", "default", "web-0" } };
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		in = review_of(others[i][0], others[i][1], others[i][2]);
		out = webhook_review(in, table_lookup, &h, what, sizeof(what), &err);
		expect_allowed(out, false);
		assert_string_equal(what, "");
		json_object_put(out);
		json_object_put(in);
	}
	/* no table at all */
	in = review_of("CREATE", "default", "web-0");
	out = webhook_review(in, NULL, NULL, what, sizeof(what), &err);
	expect_allowed(out, false);
	json_object_put(out);
	json_object_put(in);
	/* a subresource (pods/binding ...) is not a pod CREATE */
	in = review_of("CREATE", "default", "web-0");
	json_object_object_add(k8s_at(in, "request"), "subResource", json_object_new_string("binding"));
	out = webhook_review(in, table_lookup, &h, what, sizeof(what), &err);
	expect_allowed(out, false);
	json_object_put(out);
	json_object_put(in);
}

static void test_review_refuses_garbage(void **state)
{
	static const char *const bad[] = {
		"{}",
		"{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"request\":{\"uid\":\"x\"}}",
		"{\"apiVersion\":\"admission.k8s.io/v1\",\"request\":{}}",
		"{\"apiVersion\":\"admission.k8s.io/v1\",\"request\":{\"uid\":\"\"}}",
		"{\"apiVersion\":\"admission.k8s.io/v1\"}",
	};
	struct handover h = H;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ferry_error_t err = { 0 };
		char what[64];
		json_object *in = J(bad[i]);
		json_object *out = webhook_review(in, table_lookup, &h, what, sizeof(what), &err);
		if (out)
			fail_msg("answered %s", bad[i]);
		assert_true(ferry_error_is_set(&err));
		json_object_put(in);
	}
}

static void test_url_and_configuration(void **state)
{
	ferry_error_t err = { 0 };
	char url[128];
	assert_int_equal(webhook_url("10.96.2.3", 9443, url, sizeof(url), &err), 0);
	assert_string_equal(url, "https://10.96.2.3:9443/mutate-pods");
	assert_int_equal(webhook_url("fd00::5", 443, url, sizeof(url), &err), 0);
	assert_string_equal(url, "https://[fd00::5]:443/mutate-pods");
	assert_int_equal(webhook_url("ferry-controller", 9443, url, sizeof(url), &err), -1);
	ferry_error_clear(&err);
	assert_int_equal(webhook_url(NULL, 9443, url, sizeof(url), &err), -1);
	ferry_error_clear(&err);
	assert_int_equal(webhook_url("10.0.0.1", 0, url, sizeof(url), &err), -1);
	ferry_error_clear(&err);
	assert_int_equal(webhook_url("10.0.0.1", 65536, url, sizeof(url), &err), -1);

	json_object *c = webhook_configuration("https://10.96.2.3:9443/mutate-pods", "PEM");
	assert_string_equal(k8s_str(c, "apiVersion"), "admissionregistration.k8s.io/v1");
	assert_string_equal(k8s_str(c, "kind"), "MutatingWebhookConfiguration");
	assert_string_equal(k8s_str(c, "metadata.name"), "ferry-controller");
	json_object *hooks = k8s_at(c, "webhooks");
	assert_int_equal(json_object_array_length(hooks), 1);
	json_object *w = json_object_array_get_idx(hooks, 0);
	assert_string_equal(k8s_str(w, "name"), "pods.ferry.dev");
	assert_string_equal(k8s_str(w, "failurePolicy"), "Ignore");
	assert_string_equal(k8s_str(w, "sideEffects"), "None");
	assert_true(k8s_int(w, "timeoutSeconds", 0) > 0 && k8s_int(w, "timeoutSeconds", 0) <= 10);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(
				    k8s_at(w, "admissionReviewVersions"), 0)), "v1");
	assert_string_equal(k8s_str(w, "clientConfig.url"), "https://10.96.2.3:9443/mutate-pods");
	assert_string_equal(k8s_str(w, "clientConfig.caBundle"), "UEVN"); /* base64("PEM") */
	json_object *rule = json_object_array_get_idx(k8s_at(w, "rules"), 0);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(k8s_at(rule, "operations"), 0)), "CREATE");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(k8s_at(rule, "apiGroups"), 0)), "");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(k8s_at(rule, "resources"), 0)), "pods");
	json_object *expr = json_object_array_get_idx(k8s_at(w, "objectSelector.matchExpressions"), 0);
	assert_string_equal(k8s_str(expr, "key"), "statefulset.kubernetes.io/pod-name");
	assert_string_equal(k8s_str(expr, "operator"), "Exists");
	json_object_put(c);
}

static void test_handover_table(void **state)
{
	struct handover got, h = H;
	assert_false(handover_get("default", "web-0", &got));
	assert_true(handover_put(&h));
	assert_true(handover_get("default", "web-0", &got));
	assert_string_equal(got.node, "k8s-node2");
	assert_string_equal(got.pod_ip, "10.96.1.7");
	assert_false(handover_get("default", "web-1", &got));
	assert_false(handover_get("other", "web-0", &got));
	assert_false(handover_get(NULL, "web-0", &got));
	/* a replacement of the same pod */
	snprintf(h.node, sizeof(h.node), "k8s-node3");
	assert_true(handover_put(&h));
	assert_true(handover_get("default", "web-0", &got));
	assert_string_equal(got.node, "k8s-node3");
	/* only its own migration drops it */
	handover_drop("default", "web-0", "another-migration");
	assert_true(handover_get("default", "web-0", &got));
	handover_drop("default", "web-0", "web-0-abcde");
	assert_false(handover_get("default", "web-0", &got));
	/* bounded */
	for (int i = 0; i < HANDOVER_MAX; i++) {
		snprintf(h.pod, sizeof(h.pod), "p-%d", i);
		assert_true(handover_put(&h));
	}
	snprintf(h.pod, sizeof(h.pod), "one-too-many");
	assert_false(handover_put(&h));
	for (int i = 0; i < HANDOVER_MAX; i++) {
		char name[32];
		snprintf(name, sizeof(name), "p-%d", i);
		handover_drop("default", name, NULL);
	}
	assert_true(handover_put(&h));
	handover_drop("default", "one-too-many", NULL);
}

static X509 *pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(x);
	return x;
}

static void test_serving_cert(void **state)
{
	struct serving_cert sc;
	ferry_error_t err = { 0 };
	assert_int_equal(serving_cert_make("10.96.1.9", 30, &sc, &err), 0);
	X509 *ca = pem_cert(sc.ca_pem), *cert = pem_cert(sc.cert_pem);
	BIO *b = BIO_new_mem_buf(sc.key_pem, -1);
	EVP_PKEY *key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(key);
	/* the server certificate: signed by the CA, for the IP, with its key */
	EVP_PKEY *ca_pub = X509_get_pubkey(ca);
	assert_int_equal(X509_verify(cert, ca_pub), 1);
	assert_int_equal(X509_verify(ca, ca_pub), 1);
	assert_int_equal(X509_check_ip_asc(cert, "10.96.1.9", 0), 1);
	assert_int_not_equal(X509_check_ip_asc(cert, "10.96.1.10", 0), 1);
	assert_int_equal(X509_check_private_key(cert, key), 1);
	assert_int_equal(X509_check_ca(ca), 1);
	assert_int_equal(X509_check_ca(cert), 0);
	assert_int_equal(X509_check_purpose(cert, X509_PURPOSE_SSL_SERVER, 0), 1);
	/* and a verifier that trusts only the CA accepts it for that address */
	X509_STORE *store = X509_STORE_new();
	X509_STORE_add_cert(store, ca);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_STORE_CTX_init(ctx, store, cert, NULL);
	X509_VERIFY_PARAM_set1_ip_asc(X509_STORE_CTX_get0_param(ctx), "10.96.1.9");
	assert_int_equal(X509_verify_cert(ctx), 1);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	EVP_PKEY_free(ca_pub);
	EVP_PKEY_free(key);
	X509_free(ca);
	X509_free(cert);
	serving_cert_free(&sc);
	/* two calls, two different CAs */
	struct serving_cert a, c;
	assert_int_equal(serving_cert_make("fd00::1", 1, &a, &err), 0);
	assert_int_equal(serving_cert_make("fd00::1", 1, &c, &err), 0);
	assert_string_not_equal(a.ca_pem, c.ca_pem);
	serving_cert_free(&a);
	serving_cert_free(&c);
	assert_int_equal(serving_cert_make("not-an-ip", 1, &a, &err), -1);
	assert_null(a.ca_pem);
	ERR_clear_error();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patch_without_annotations),
		cmocka_unit_test(test_patch_with_annotations_and_gates),
		cmocka_unit_test(test_review),
		cmocka_unit_test(test_review_refuses_garbage),
		cmocka_unit_test(test_url_and_configuration),
		cmocka_unit_test(test_handover_table),
		cmocka_unit_test(test_serving_cert),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
