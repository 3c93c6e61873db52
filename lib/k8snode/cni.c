/*
 * cni.c - see cni.h.
 */
#include "k8snode/cni.h"
#include "util/cleanup.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const supported_versions[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0", NULL };

bool cni_version_supported(const char *version)
{
	for (int i = 0; supported_versions[i]; i++)
		if (!strcmp(version, supported_versions[i]))
			return true;
	return false;
}

int cni_parse_ipv4(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

void cni_format_ipv4(uint32_t a, char out[16])
{
	struct in_addr in = { .s_addr = htonl(a) };
	if (!inet_ntop(AF_INET, &in, out, 16))
		out[0] = 0;
}

/* A string member that must exist (or may be absent when !required). */
static int get_string(json_object *obj, const char *key, bool required, char *out,
		      size_t size, ferry_error_t *err)
{
	json_object *v;
	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null)) {
		if (required)
			return ferry_error_set(err, 0, "missing \"%s\"", key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return ferry_error_set(err, 0, "\"%s\" must be a string", key);
	const char *s = json_object_get_string(v);
	size_t n = strlen(s);
	if (n >= size || n != (size_t)json_object_get_string_len(v))
		return ferry_error_set(err, 0, "\"%s\" is too long or holds a NUL", key);
	memcpy(out, s, n + 1);
	return 0;
}

static bool valid_node_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-' ||
		      *s == '.'))
			return false;
	return true;
}

static int parse_subnet(const char *s, struct cni_config *cfg, ferry_error_t *err)
{
	char addr[32];
	const char *slash = strchr(s, '/');
	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return ferry_error_set(err, 0, "\"subnet\" %s is not an IPv4 CIDR", s);
	memcpy(addr, s, slash - s);
	addr[slash - s] = 0;
	char *end;
	long p = strtol(slash + 1, &end, 10);
	if (cni_parse_ipv4(addr, &cfg->subnet) < 0 || *end || end == slash + 1 || p < 8 || p > 30)
		return ferry_error_set(err, 0, "\"subnet\" %s is not an IPv4 CIDR with a "
					       "prefix of 8 to 30", s);
	cfg->prefix = (int)p;
	uint32_t mask = 0xffffffffu << (32 - p);
	if (cfg->subnet & ~mask)
		return ferry_error_set(err, 0, "\"subnet\" %s has host bits set", s);
	return 0;
}

/* runtimeConfig["io.kubernetes.cri.pod-annotations"]["ferry.dev/pod-ip"] */
static int parse_requested_ip(json_object *conf, struct cni_config *cfg, ferry_error_t *err)
{
	json_object *rc, *ann;
	if (!json_object_object_get_ex(conf, "runtimeConfig", &rc))
		return 0;
	if (!json_object_is_type(rc, json_type_object))
		return ferry_error_set(err, 0, "\"runtimeConfig\" must be an object");
	if (!json_object_object_get_ex(rc, CNI_ANNOTATIONS_CAP, &ann) ||
	    json_object_is_type(ann, json_type_null))
		return 0;
	if (!json_object_is_type(ann, json_type_object))
		return ferry_error_set(err, 0, "runtimeConfig \"%s\" must be an object",
				       CNI_ANNOTATIONS_CAP);
	char restore[64] = "";
	if (get_string(ann, CNI_POD_IP_ANNOTATION, false, cfg->requested_ip,
		       sizeof(cfg->requested_ip), err) < 0 ||
	    get_string(ann, CNI_RESTORE_ANNOTATION, false, restore, sizeof(restore), err) < 0)
		return ferry_error_prefix(err, "pod annotation");
	cfg->restore = !strcmp(restore, "true");
	uint32_t a;
	if (cfg->requested_ip[0] &&
	    (cni_parse_ipv4(cfg->requested_ip, &a) < 0 || a == 0 || a == 0xffffffffu ||
	     (a >> 28) == 0xe || (a >> 24) == 127))
		return ferry_error_set(err, 0, "pod annotation %s=\"%s\" is not a usable IPv4 "
					       "address", CNI_POD_IP_ANNOTATION, cfg->requested_ip);
	return 0;
}

int cni_parse_config(const char *json, size_t len, struct cni_config *cfg, ferry_error_t *err)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->version, sizeof(cfg->version), "1.0.0");
	if (len > 1 << 20)
		return ferry_error_set(err, 0, "network configuration larger than 1 MiB"),
		       CNI_ERR_DECODE;
	_cleanup_json_ json_object *conf = NULL;
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return ferry_error_set(err, 0, "out of memory"), CNI_ERR_IO;
	conf = json_tokener_parse_ex(tok, json, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!conf || jerr != json_tokener_success)
		return ferry_error_set(err, 0, "network configuration is not JSON: %s",
				       json_tokener_error_desc(jerr)), CNI_ERR_DECODE;
	for (; used < len; used++)
		if (!isspace((unsigned char)json[used]))
			return ferry_error_set(err, 0, "trailing data after the network "
						       "configuration"), CNI_ERR_DECODE;
	if (!json_object_is_type(conf, json_type_object))
		return ferry_error_set(err, 0, "network configuration must be a JSON object"),
		       CNI_ERR_DECODE;
	char version[16] = "";
	if (get_string(conf, "cniVersion", true, version, sizeof(version), err) < 0)
		return CNI_ERR_CONFIG;
	if (!cni_version_supported(version))
		return ferry_error_set(err, 0, "cniVersion %s is not supported (0.3.0, 0.3.1, "
					       "0.4.0, 1.0.0)", version), CNI_ERR_VERSION;
	memcpy(cfg->version, version, sizeof(version));
	char subnet[64] = "";
	if (get_string(conf, "name", true, cfg->name, sizeof(cfg->name), err) < 0 ||
	    get_string(conf, "node", true, cfg->node, sizeof(cfg->node), err) < 0 ||
	    get_string(conf, "subnet", true, subnet, sizeof(subnet), err) < 0 ||
	    get_string(conf, "dataDir", false, cfg->data_dir, sizeof(cfg->data_dir), err) < 0)
		return CNI_ERR_CONFIG;
	if (!valid_node_name(cfg->node))
		return ferry_error_set(err, 0, "\"node\" %s is not a node name", cfg->node),
		       CNI_ERR_CONFIG;
	if (!cfg->data_dir[0])
		snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", CNI_DEFAULT_DATA_DIR);
	if (cfg->data_dir[0] != '/' || strstr(cfg->data_dir, "/../") ||
	    (strlen(cfg->data_dir) >= 3 && !strcmp(cfg->data_dir + strlen(cfg->data_dir) - 3, "/..")))
		return ferry_error_set(err, 0, "\"dataDir\" %s must be an absolute path "
					       "without ..", cfg->data_dir), CNI_ERR_CONFIG;
	if (parse_subnet(subnet, cfg, err) < 0 || parse_requested_ip(conf, cfg, err) < 0)
		return CNI_ERR_CONFIG;
	return 0;
}

static int copy_env(const char *name, char *out, size_t size, bool required, ferry_error_t *err)
{
	const char *v = getenv(name);
	if (!v || !*v) {
		out[0] = 0;
		return required ? ferry_error_set(err, 0, "environment variable %s is not set",
						  name) : 0;
	}
	if (strlen(v) >= size)
		return ferry_error_set(err, 0, "environment variable %s is too long", name);
	snprintf(out, size, "%s", v);
	return 0;
}

/* CNI_ARGS: "K1=V1;K2=V2" */
static void cni_args_get(const char *args, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);
	out[0] = 0;
	for (const char *p = args; p && *p;) {
		const char *end = strchr(p, ';');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n > klen && !strncmp(p, key, klen) && p[klen] == '=' && n - klen - 1 < size) {
			memcpy(out, p + klen + 1, n - klen - 1);
			out[n - klen - 1] = 0;
			return;
		}
		p = end ? end + 1 : NULL;
	}
}

int cni_read_env(struct cni_env *env, ferry_error_t *err)
{
	memset(env, 0, sizeof(*env));
	if (copy_env("CNI_COMMAND", env->command, sizeof(env->command), true, err) < 0)
		return CNI_ERR_ENV;
	if (!strcmp(env->command, "VERSION"))
		return 0;
	if (strcmp(env->command, "ADD") && strcmp(env->command, "DEL") &&
	    strcmp(env->command, "CHECK"))
		return ferry_error_set(err, 0, "CNI_COMMAND %s is not ADD, DEL, CHECK or VERSION",
				       env->command), CNI_ERR_ENV;
	bool del = !strcmp(env->command, "DEL");
	if (copy_env("CNI_CONTAINERID", env->container_id, sizeof(env->container_id), true, err) < 0 ||
	    copy_env("CNI_NETNS", env->netns, sizeof(env->netns), !del, err) < 0 ||
	    copy_env("CNI_IFNAME", env->ifname, sizeof(env->ifname), true, err) < 0)
		return CNI_ERR_ENV;
	for (const char *c = env->container_id; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
			return ferry_error_set(err, 0, "CNI_CONTAINERID has a character other "
						       "than [A-Za-z0-9_.-]"), CNI_ERR_ENV;
	const char *args = getenv("CNI_ARGS");
	cni_args_get(args, "K8S_POD_NAMESPACE", env->pod_namespace, sizeof(env->pod_namespace));
	cni_args_get(args, "K8S_POD_NAME", env->pod_name, sizeof(env->pod_name));
	return 0;
}

static bool legacy_version(const char *v)
{
	return strcmp(v, "1.0.0") != 0;
}

json_object *cni_result(const struct cni_config *cfg, const char *host_if, const char *ifname,
			const char *netns, const char *ip)
{
	char cidr[32];
	snprintf(cidr, sizeof(cidr), "%s/32", ip);
	json_object *r = json_object_new_object();
	json_object *ifs = json_object_new_array();
	json_object *host = json_object_new_object();
	json_object_object_add(host, "name", json_object_new_string(host_if));
	json_object_array_add(ifs, host);
	json_object *pod = json_object_new_object();
	json_object_object_add(pod, "name", json_object_new_string(ifname));
	json_object_object_add(pod, "sandbox", json_object_new_string(netns));
	json_object_array_add(ifs, pod);
	json_object *ips = json_object_new_array();
	json_object *a = json_object_new_object();
	if (legacy_version(cfg->version))
		json_object_object_add(a, "version", json_object_new_string("4"));
	json_object_object_add(a, "address", json_object_new_string(cidr));
	json_object_object_add(a, "gateway", json_object_new_string("169.254.1.1"));
	json_object_object_add(a, "interface", json_object_new_int(1));
	json_object_array_add(ips, a);
	json_object *routes = json_object_new_array();
	json_object *def = json_object_new_object();
	json_object_object_add(def, "dst", json_object_new_string("0.0.0.0/0"));
	json_object_object_add(def, "gw", json_object_new_string("169.254.1.1"));
	json_object_array_add(routes, def);
	json_object_object_add(r, "cniVersion", json_object_new_string(cfg->version));
	json_object_object_add(r, "interfaces", ifs);
	json_object_object_add(r, "ips", ips);
	json_object_object_add(r, "routes", routes);
	json_object_object_add(r, "dns", json_object_new_object());
	return r;
}

json_object *cni_version_result(void)
{
	json_object *r = json_object_new_object();
	json_object *v = json_object_new_array();
	for (int i = 0; supported_versions[i]; i++)
		json_object_array_add(v, json_object_new_string(supported_versions[i]));
	json_object_object_add(r, "cniVersion", json_object_new_string("1.0.0"));
	json_object_object_add(r, "supportedVersions", v);
	return r;
}

json_object *cni_error_result(const char *version, int code, const char *msg)
{
	json_object *r = json_object_new_object();
	json_object_object_add(r, "cniVersion",
			       json_object_new_string(version && *version ? version : "1.0.0"));
	json_object_object_add(r, "code", json_object_new_int(code));
	json_object_object_add(r, "msg", json_object_new_string(msg));
	json_object_object_add(r, "details", json_object_new_string(""));
	return r;
}
