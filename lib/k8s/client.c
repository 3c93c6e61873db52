/*
 * client.c - see client.h.  Request/response calls; streaming lives in
 * watch.c, which shares k8s_setup_handle.
 */
#include "k8s/client.h"
#include "util/cleanup.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BODY (64u << 20)

struct body {
	char *data;
	size_t len, cap;
	bool too_big;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int k8s_client_init(struct k8s_client *c, const char *kubeconfig, ferry_error_t *err)
{
	memset(c, 0, sizeof(*c));
	pthread_once(&curl_once, curl_init_once);
	c->timeout_ms = 30000;
	return k8s_config_load(&c->cfg, kubeconfig, err);
}

void k8s_client_free(struct k8s_client *c)
{
	k8s_config_free(&c->cfg);
}

static int read_token(const struct k8s_config *cfg, char *out, size_t size, ferry_error_t *err)
{
	out[0] = '\0';
	if (cfg->token_file) {
		_cleanup_file_ FILE *f = fopen(cfg->token_file, "re");
		if (!f || !fgets(out, (int)size, f))
			return ferry_error_set(err, errno, "token file %s", cfg->token_file);
		out[strcspn(out, "\r\n")] = '\0';
	} else if (cfg->token) {
		snprintf(out, size, "%s", cfg->token);
	}
	return 0;
}

int k8s_setup_handle(struct k8s_client *c, void *curl, struct curl_slist **headers,
		     ferry_error_t *err)
{
	const struct k8s_config *cfg = &c->cfg;
	char token[8192], auth[8300];
	if (cfg->ca.data) {
		struct curl_blob b = { cfg->ca.data, cfg->ca.len, CURL_BLOB_COPY };
		curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &b);
	}
	if (cfg->cert.data) {
		struct curl_blob cb = { cfg->cert.data, cfg->cert.len, CURL_BLOB_COPY };
		struct curl_blob kb = { cfg->key.data, cfg->key.len, CURL_BLOB_COPY };
		curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, &cb);
		curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, &kb);
		curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (cfg->insecure) {
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (read_token(cfg, token, sizeof(token), err) < 0)
		return -1;
	if (token[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		*headers = curl_slist_append(*headers, auth);
		explicit_bzero(token, sizeof(token));
		explicit_bzero(auth, sizeof(auth));
	}
	*headers = curl_slist_append(*headers, "Accept: application/json");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, *headers);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "ferry/0.1");
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	return 0;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *data)
{
	struct body *b = data;
	size_t n = size * nmemb;
	if (b->len + n + 1 > MAX_BODY) {
		b->too_big = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->data, cap);
		if (!p)
			return 0;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* An error from a non-2xx answer: the Status object's message when there is one. */
static void status_error(const char *method, const char *path, long code, const struct body *b,
			 ferry_error_t *err)
{
	_cleanup_json_ json_object *st = b->data ? json_tokener_parse(b->data) : NULL;
	json_object *msg = NULL;
	if (st && json_object_object_get_ex(st, "message", &msg))
		ferry_error_set(err, 0, "%s", json_object_get_string(msg));
	else
		ferry_error_set(err, 0, "%s %s: HTTP %ld%s%.200s", method, path, code,
				b->data ? ": " : "", b->data ? b->data : "");
}

json_object *k8s_request(struct k8s_client *c, const char *method, const char *path,
			 json_object *body, const char *content_type, long *status,
			 ferry_error_t *err)
{
	struct body b = { 0 };
	struct curl_slist *headers = NULL;
	json_object *out = NULL;
	long code = 0;
	char url[4096], ctype[128];
	if (status)
		*status = 0;
	CURL *curl = curl_easy_init();
	if (!curl)
		return ferry_error_set(err, ENOMEM, "curl"), NULL;
	snprintf(url, sizeof(url), "%s%s", c->cfg.server, path);
	if (body) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s", content_type ? content_type : K8S_JSON);
		headers = curl_slist_append(headers, ctype);
	}
	if (k8s_setup_handle(c, curl, &headers, err) < 0)
		goto out;
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	if (body)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS,
				 json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
	CURLcode rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		ferry_error_set(err, 0, "%s %s: %s", method, url,
				b.too_big ? "answer too large" : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	if (status)
		*status = code;
	if (code < 200 || code > 299) {
		status_error(method, path, code, &b, err);
		goto out;
	}
	out = b.len ? json_tokener_parse(b.data) : json_object_new_object();
	if (!out)
		ferry_error_set(err, 0, "%s %s: the answer is not JSON", method, path);
out:
	free(b.data);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	return out;
}

json_object *k8s_get(struct k8s_client *c, const char *path, long *status, ferry_error_t *err)
{
	return k8s_request(c, "GET", path, NULL, NULL, status, err);
}

json_object *k8s_create(struct k8s_client *c, const char *path, json_object *obj, long *status,
			ferry_error_t *err)
{
	return k8s_request(c, "POST", path, obj, K8S_JSON, status, err);
}

json_object *k8s_replace(struct k8s_client *c, const char *path, json_object *obj, long *status,
			 ferry_error_t *err)
{
	return k8s_request(c, "PUT", path, obj, K8S_JSON, status, err);
}

json_object *k8s_merge_patch(struct k8s_client *c, const char *path, json_object *patch,
			     long *status, ferry_error_t *err)
{
	return k8s_request(c, "PATCH", path, patch, K8S_MERGE_PATCH, status, err);
}

int k8s_delete(struct k8s_client *c, const char *path, int grace_seconds, ferry_error_t *err)
{
	_cleanup_json_ json_object *opts = json_object_new_object();
	long status = 0;
	json_object_object_add(opts, "kind", json_object_new_string("DeleteOptions"));
	json_object_object_add(opts, "apiVersion", json_object_new_string("v1"));
	if (grace_seconds >= 0)
		json_object_object_add(opts, "gracePeriodSeconds", json_object_new_int(grace_seconds));
	_cleanup_json_ json_object *r = k8s_request(c, "DELETE", path, opts, K8S_JSON, &status, err);
	if (!r && status == 404) {
		ferry_error_clear(err);
		return 0;
	}
	return r ? 0 : -1;
}

int k8s_path(char *out, size_t size, const char *group_version, const char *ns,
	     const char *resource, const char *name)
{
	const char *root = strchr(group_version, '/') ? "/apis/" : "/api/";
	int n = snprintf(out, size, "%s%s%s%s/%s%s%s", root, group_version, ns ? "/namespaces/" : "",
			 ns ? ns : "", resource, name ? "/" : "", name ? name : "");
	return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

char *k8s_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *out = e ? strdup(e) : NULL;
	curl_free(e);
	return out;
}
