/*
 * config.c - see config.h.  Kubeconfig resolution follows kubectl's rules for
 * the fields ferry supports: current-context -> context{cluster,user,
 * namespace} -> cluster{server, certificate-authority[-data],
 * insecure-skip-tls-verify} and user{client-certificate[-data],
 * client-key[-data], token, tokenFile}.  Exec and auth-provider plugins are
 * refused with a clear error rather than silently ignored.
 */
#include "k8s/config.h"
#include "k8s/yaml.h"
#include "util/cleanup.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FILE (4u << 20)

static int read_file(const char *path, struct k8s_blob *out, ferry_error_t *err)
{
	_cleanup_file_ FILE *f = fopen(path, "re");
	if (!f)
		return ferry_error_set(err, errno, "%s", path);
	char *buf = malloc(MAX_FILE + 1);
	if (!buf)
		return ferry_error_set(err, ENOMEM, "%s", path);
	size_t n = fread(buf, 1, MAX_FILE + 1, f);
	if (ferror(f) || n > MAX_FILE) {
		free(buf);
		return ferry_error_set(err, ferror(f) ? EIO : EFBIG, "%s", path);
	}
	buf[n] = '\0';
	out->data = buf;
	out->len = n;
	return 0;
}

static int b64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || ch == '-')
		return 62;
	if (ch == '/' || ch == '_')
		return 63;
	return -1;
}

int k8s_base64_decode(const char *in, size_t len, struct k8s_blob *out, ferry_error_t *err)
{
	char *buf = malloc(len / 4 * 3 + 4);
	if (!buf)
		return ferry_error_set(err, ENOMEM, "base64");
	uint32_t acc = 0;
	size_t n = 0;
	int bits = 0;
	bool pad = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
			continue;
		if (ch == '=') {
			pad = true;
			continue;
		}
		int v = b64_value(ch);
		if (v < 0 || pad) {
			free(buf);
			return ferry_error_set(err, 0, "invalid base64 at offset %zu", i);
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	buf[n] = '\0';
	out->data = buf;
	out->len = n;
	return 0;
}

static const char *str_at(json_object *o, const char *key)
{
	json_object *v;
	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The `field` object of the entry named `name` in the list `list` of cfg. */
static json_object *named_entry(json_object *cfg, const char *list, const char *field,
				const char *name, ferry_error_t *err)
{
	json_object *arr, *inner;
	if (!json_object_object_get_ex(cfg, list, &arr) || !json_object_is_type(arr, json_type_array))
		return ferry_error_set(err, 0, "kubeconfig has no %s", list), NULL;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		const char *n = str_at(e, "name");
		if (n && !strcmp(n, name)) {
			if (!json_object_object_get_ex(e, field, &inner) ||
			    !json_object_is_type(inner, json_type_object))
				return ferry_error_set(err, 0, "%s entry '%s' has no %s", list, name,
						       field), NULL;
			return inner;
		}
	}
	return ferry_error_set(err, 0, "kubeconfig has no %s named '%s'", list, name), NULL;
}

/* data (base64) wins over a file reference, as in kubectl. */
static int load_pem(json_object *o, const char *data_key, const char *file_key,
		    const char *base_dir, struct k8s_blob *out, ferry_error_t *err)
{
	const char *data = str_at(o, data_key), *file = str_at(o, file_key);
	if (data)
		return k8s_base64_decode(data, strlen(data), out, err) < 0
			       ? ferry_error_prefix(err, "%s", data_key)
			       : 0;
	if (!file)
		return 0;
	char path[PATH_MAX];
	if (file[0] == '/' || !base_dir)
		snprintf(path, sizeof(path), "%s", file);
	else
		snprintf(path, sizeof(path), "%s/%s", base_dir, file);
	return read_file(path, out, err) < 0 ? ferry_error_prefix(err, "%s", file_key) : 0;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int parse_cluster(struct k8s_config *c, json_object *cluster, const char *base_dir,
			 ferry_error_t *err)
{
	const char *server = str_at(cluster, "server");
	json_object *ins;
	if (!server || strncmp(server, "https://", 8))
		return ferry_error_set(err, 0, "cluster server must be an https:// URL (got %s)",
				       server ? server : "none");
	c->server = strdup(server);
	size_t l = strlen(c->server);
	while (l > 8 && c->server[l - 1] == '/')
		c->server[--l] = '\0';
	if (json_object_object_get_ex(cluster, "insecure-skip-tls-verify", &ins))
		c->insecure = json_object_get_boolean(ins);
	return load_pem(cluster, "certificate-authority-data", "certificate-authority", base_dir,
			&c->ca, err);
}

static int parse_user(struct k8s_config *c, json_object *user, const char *base_dir,
		      ferry_error_t *err)
{
	if (json_object_object_get_ex(user, "exec", NULL) ||
	    json_object_object_get_ex(user, "auth-provider", NULL))
		return ferry_error_set(err, 0, "exec and auth-provider credentials are not supported; "
					       "use a client certificate or a token");
	if (load_pem(user, "client-certificate-data", "client-certificate", base_dir, &c->cert,
		     err) < 0 ||
	    load_pem(user, "client-key-data", "client-key", base_dir, &c->key, err) < 0)
		return -1;
	c->token = dup_or_null(str_at(user, "token"));
	c->token_file = dup_or_null(str_at(user, "tokenFile"));
	if (!c->cert.data != !c->key.data)
		return ferry_error_set(err, 0, "user has a client certificate without a key or the reverse");
	return 0;
}

int k8s_config_parse_kubeconfig(struct k8s_config *c, const char *text, size_t len,
				const char *base_dir, const char *context, ferry_error_t *err)
{
	memset(c, 0, sizeof(*c));
	_cleanup_json_ json_object *cfg = yaml_to_json(text, len, err);
	if (!cfg)
		return -1;
	if (!json_object_is_type(cfg, json_type_object))
		return ferry_error_set(err, 0, "kubeconfig is not a mapping");
	const char *ctx_name = context ? context : str_at(cfg, "current-context");
	if (!ctx_name || !*ctx_name)
		return ferry_error_set(err, 0, "kubeconfig has no current-context");
	json_object *ctx = named_entry(cfg, "contexts", "context", ctx_name, err);
	if (!ctx)
		return -1;
	const char *cluster_name = str_at(ctx, "cluster"), *user_name = str_at(ctx, "user");
	if (!cluster_name)
		return ferry_error_set(err, 0, "context '%s' names no cluster", ctx_name);
	json_object *cluster = named_entry(cfg, "clusters", "cluster", cluster_name, err);
	if (!cluster || parse_cluster(c, cluster, base_dir, err) < 0)
		goto fail;
	if (user_name) {
		json_object *user = named_entry(cfg, "users", "user", user_name, err);
		if (!user || parse_user(c, user, base_dir, err) < 0)
			goto fail;
	}
	const char *ns = str_at(ctx, "namespace");
	c->namespace = strdup(ns && *ns ? ns : "default");
	return 0;
fail:
	k8s_config_free(c);
	return -1;
}

static int load_kubeconfig_file(struct k8s_config *c, const char *path, ferry_error_t *err)
{
	struct k8s_blob text = { 0 };
	if (read_file(path, &text, err) < 0)
		return ferry_error_prefix(err, "kubeconfig");
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	int rc = k8s_config_parse_kubeconfig(c, text.data, text.len, dir, NULL, err);
	free(text.data);
	return rc < 0 ? ferry_error_prefix(err, "%s", path) : 0;
}

int k8s_config_in_cluster(struct k8s_config *c, const char *sa_dir, ferry_error_t *err)
{
	memset(c, 0, sizeof(*c));
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
	char path[PATH_MAX];
	struct k8s_blob ns = { 0 };
	if (!host || !*host)
		return ferry_error_set(err, 0, "not in a cluster: KUBERNETES_SERVICE_HOST is unset");
	if (asprintf(&c->server, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
		     port && *port ? port : "443") < 0) {
		c->server = NULL;
		return ferry_error_set(err, ENOMEM, "server");
	}
	snprintf(path, sizeof(path), "%s/ca.crt", sa_dir);
	if (read_file(path, &c->ca, err) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/token", sa_dir);
	c->token_file = strdup(path);
	if (access(path, R_OK) < 0) {
		ferry_error_set(err, errno, "%s", path);
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/namespace", sa_dir);
	if (read_file(path, &ns, NULL) == 0) {
		ns.data[strcspn(ns.data, "\r\n")] = '\0';
		c->namespace = ns.data;
	} else {
		c->namespace = strdup("default");
	}
	return 0;
fail:
	k8s_config_free(c);
	return ferry_error_prefix(err, "in-cluster config");
}

int k8s_config_load(struct k8s_config *c, const char *path, ferry_error_t *err)
{
	if (path && *path)
		return load_kubeconfig_file(c, path, err);
	const char *env = getenv("KUBECONFIG");
	if (env && *env) {
		char first[PATH_MAX];
		snprintf(first, sizeof(first), "%.*s", (int)strcspn(env, ":"), env);
		return load_kubeconfig_file(c, first, err);
	}
	if (getenv("KUBERNETES_SERVICE_HOST"))
		return k8s_config_in_cluster(c, K8S_SA_DIR, err);
	const char *home = getenv("HOME");
	char def[PATH_MAX];
	snprintf(def, sizeof(def), "%s/.kube/config", home ? home : "/root");
	if (access(def, R_OK) < 0)
		return ferry_error_set(err, 0, "no Kubernetes configuration: pass --kubeconfig, set "
					       "KUBECONFIG, run in a pod, or create %s", def);
	return load_kubeconfig_file(c, def, err);
}

static void blob_free(struct k8s_blob *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

void k8s_config_free(struct k8s_config *c)
{
	free(c->server);
	free(c->token);
	free(c->token_file);
	free(c->namespace);
	blob_free(&c->ca);
	blob_free(&c->cert);
	if (c->key.data)
		explicit_bzero(c->key.data, c->key.len);
	blob_free(&c->key);
	memset(c, 0, sizeof(*c));
}
