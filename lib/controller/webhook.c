/*
 * webhook.c - see webhook.h.
 */
#include "controller/webhook.h"
#include "controller/names.h"
#include "k8s/object.h"
#include "util/cleanup.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

static void add_op(json_object *patch, const char *op, const char *path, json_object *value)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "op", json_object_new_string(op));
	json_object_object_add(o, "path", json_object_new_string(path));
	if (value)
		json_object_object_add(o, "value", value);
	json_object_array_add(patch, o);
}

/* A JSON pointer token: '~' -> "~0", '/' -> "~1" (RFC 6901). */
static void pointer_token(const char *key, char *out, size_t size)
{
	size_t n = 0;
	for (; *key && n + 3 < size; key++) {
		if (*key == '~' || *key == '/') {
			out[n++] = '~';
			out[n++] = *key == '~' ? '0' : '1';
		} else {
			out[n++] = *key;
		}
	}
	out[n] = 0;
}

json_object *webhook_patch(json_object *pod, const struct handover *h)
{
	static const char *const keys[] = { FERRY_ANN_RESTORE, FERRY_ANN_POD_IP,
					    FERRY_ANN_MIGRATION, FERRY_ANN_SOURCE_POD };
	const char *values[] = { "true", h->pod_ip, h->migration, h->pod };
	json_object *patch = json_object_new_array();
	json_object *ann = k8s_at(pod, "metadata.annotations");
	add_op(patch, "add", "/spec/nodeName", json_object_new_string(h->node));
	/* a pod with scheduling gates may not name its node */
	if (k8s_at(pod, "spec.schedulingGates"))
		add_op(patch, "remove", "/spec/schedulingGates", NULL);
	if (!ann || !json_object_is_type(ann, json_type_object)) {
		json_object *all = json_object_new_object();
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			json_object_object_add(all, keys[i], json_object_new_string(values[i]));
		add_op(patch, "add", "/metadata/annotations", all);
		return patch;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char tok[128], path[160];
		pointer_token(keys[i], tok, sizeof(tok));
		snprintf(path, sizeof(path), "/metadata/annotations/%s", tok);
		add_op(patch, "add", path, json_object_new_string(values[i]));
	}
	return patch;
}

static char *base64(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return out;
}

json_object *webhook_review(json_object *review, webhook_lookup_fn lookup, void *data,
			    char *what, size_t what_size, ferry_error_t *err)
{
	json_object *req = k8s_at(review, "request");
	const char *uid = k8s_str(review, "request.uid"), *api = k8s_str(review, "apiVersion");
	if (what_size)
		what[0] = 0;
	if (!req || !uid || !*uid || !api || strcmp(api, "admission.k8s.io/v1"))
		return ferry_error_set(err, 0, "not an admission.k8s.io/v1 AdmissionReview request"),
		       NULL;
	json_object *out = json_object_new_object(), *resp = json_object_new_object();
	json_object_object_add(out, "apiVersion", json_object_new_string("admission.k8s.io/v1"));
	json_object_object_add(out, "kind", json_object_new_string("AdmissionReview"));
	json_object_object_add(out, "response", resp);
	json_object_object_add(resp, "uid", json_object_new_string(uid));
	json_object_object_add(resp, "allowed", json_object_new_boolean(1));
	const char *op = k8s_str(req, "operation"), *kind = k8s_str(req, "kind.kind");
	const char *res = k8s_str(req, "resource.resource"), *sub = k8s_str(req, "subResource");
	json_object *pod = k8s_at(req, "object");
	const char *ns = k8s_str(req, "namespace");
	const char *name = k8s_str(pod, "metadata.name");
	struct handover h;
	if (!op || strcmp(op, "CREATE") || !kind || strcmp(kind, "Pod") || !res ||
	    strcmp(res, "pods") || (sub && *sub) || !pod || !ns || !name || !lookup ||
	    !lookup(ns, name, &h, data))
		return out;
	_cleanup_json_ json_object *patch = webhook_patch(pod, &h);
	_cleanup_free_ char *b64 = base64(json_object_to_json_string_ext(
		patch, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	if (!b64) {
		json_object_put(out);
		return ferry_error_set(err, 0, "out of memory"), NULL;
	}
	json_object_object_add(resp, "patchType", json_object_new_string("JSONPatch"));
	json_object_object_add(resp, "patch", json_object_new_string(b64));
	if (what_size)
		snprintf(what, what_size, "pod %s/%s (PodMigration %s): bound to %s as a restore of "
					  "%s", ns, name, h.migration, h.node, h.pod_ip);
	return out;
}

int webhook_url(const char *ip, int port, char *out, size_t size, ferry_error_t *err)
{
	unsigned char bin[16];
	bool v6 = ip && inet_pton(AF_INET6, ip, bin) == 1;
	if (!ip || (!v6 && inet_pton(AF_INET, ip, bin) != 1))
		return ferry_error_set(err, 0, "webhook address \"%s\" is not an IP address",
				       ip ? ip : "");
	if (port <= 0 || port > 65535)
		return ferry_error_set(err, 0, "webhook port %d out of range", port);
	snprintf(out, size, v6 ? "https://[%s]:%d%s" : "https://%s:%d%s", ip, port, WEBHOOK_PATH);
	return 0;
}

static json_object *strings(const char *const *v)
{
	json_object *a = json_object_new_array();
	for (; *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

json_object *webhook_configuration(const char *url, const char *ca_pem)
{
	static const char *const create[] = { "CREATE", NULL }, *const core[] = { "", NULL },
				 *const v1[] = { "v1", NULL }, *const pods[] = { "pods", NULL };
	json_object *c = json_object_new_object(), *w = json_object_new_object();
	json_object *hooks = json_object_new_array(), *rule = json_object_new_object();
	json_object *rules = json_object_new_array(), *expr = json_object_new_object();
	json_object *exprs = json_object_new_array(), *cc = json_object_new_object();
	_cleanup_free_ char *bundle = base64(ca_pem);
	json_object_object_add(c, "apiVersion",
			       json_object_new_string("admissionregistration.k8s.io/v1"));
	json_object_object_add(c, "kind", json_object_new_string("MutatingWebhookConfiguration"));
	json_object_object_add(k8s_ensure(c, "metadata"), "name",
			       json_object_new_string(WEBHOOK_CONFIG_NAME));
	json_object_object_add(k8s_ensure(c, "metadata.labels"), "app.kubernetes.io/name",
			       json_object_new_string("ferry-controller"));
	json_object_object_add(w, "name", json_object_new_string(WEBHOOK_NAME));
	json_object_object_add(w, "admissionReviewVersions", strings(v1));
	json_object_object_add(w, "sideEffects", json_object_new_string("None"));
	json_object_object_add(w, "failurePolicy", json_object_new_string("Ignore"));
	json_object_object_add(w, "matchPolicy", json_object_new_string("Equivalent"));
	json_object_object_add(w, "reinvocationPolicy", json_object_new_string("Never"));
	json_object_object_add(w, "timeoutSeconds", json_object_new_int(WEBHOOK_TIMEOUT_SECONDS));
	json_object_object_add(cc, "url", json_object_new_string(url));
	json_object_object_add(cc, "caBundle", json_object_new_string(bundle ? bundle : ""));
	json_object_object_add(w, "clientConfig", cc);
	json_object_object_add(rule, "operations", strings(create));
	json_object_object_add(rule, "apiGroups", strings(core));
	json_object_object_add(rule, "apiVersions", strings(v1));
	json_object_object_add(rule, "resources", strings(pods));
	json_object_object_add(rule, "scope", json_object_new_string("Namespaced"));
	json_object_array_add(rules, rule);
	json_object_object_add(w, "rules", rules);
	json_object_object_add(expr, "key", json_object_new_string(WEBHOOK_STS_LABEL));
	json_object_object_add(expr, "operator", json_object_new_string("Exists"));
	json_object_array_add(exprs, expr);
	json_object_object_add(k8s_ensure(w, "objectSelector"), "matchExpressions", exprs);
	json_object_array_add(hooks, w);
	json_object_object_add(c, "webhooks", hooks);
	return c;
}
