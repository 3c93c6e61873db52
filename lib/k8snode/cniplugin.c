/*
 * cniplugin.c - see cniplugin.h.
 */
#include "k8snode/cniplugin.h"
#include "k8snode/cni.h"
#include "k8snode/cniipam.h"
#include "k8snode/cninet.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STDIN_MAX ((1 << 20) + 1)

static int print_json(json_object *obj)
{
	const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
	fputs(s, stdout);
	fputc('\n', stdout);
	json_object_put(obj);
	return fflush(stdout) == 0 ? 0 : -1;
}

static int fail(const char *version, int code, const ferry_error_t *err)
{
	log_error("%s", err->message);
	print_json(cni_error_result(version, code, err->message));
	return 1;
}

static char *read_stdin(size_t *len, ferry_error_t *err)
{
	char *buf = malloc(STDIN_MAX + 1);
	if (!buf)
		return ferry_error_set(err, ENOMEM, "read stdin"), NULL;
	ssize_t n = fs_read_full(0, buf, STDIN_MAX);
	if (n < 0) {
		free(buf);
		return ferry_error_set(err, errno, "read stdin"), NULL;
	}
	buf[n] = 0;
	*len = (size_t)n;
	return buf;
}

static int do_add(const struct cni_config *cfg, const struct cni_env *env)
{
	ferry_error_t err = { 0 };
	char ip[16], host_if[16], pod[400];
	snprintf(pod, sizeof(pod), "%s/%s", env->pod_namespace, env->pod_name);
	cninet_host_if(env->container_id, env->ifname, host_if);
	if (cniipam_assign(cfg, env->container_id, env->ifname, pod, ip, &err) < 0)
		return fail(cfg->version, CNI_ERR_PLUGIN, &err);
	/* a migration's target pod starts with its traffic locked (cninet.h) */
	bool locked = cfg->restore && cfg->requested_ip[0];
	if (cninet_add(env->netns, env->ifname, host_if, ip, locked, &err) < 0) {
		ferry_error_t ignored = { 0 };
		cniipam_release(cfg, env->container_id, env->ifname, &ignored);
		return fail(cfg->version, CNI_ERR_PLUGIN, &err);
	}
	log_info("ADD %s %s: %s%s on %s", pod, env->container_id, ip,
		 cfg->requested_ip[0] ? " (requested)" : "", host_if);
	return print_json(cni_result(cfg, host_if, env->ifname, env->netns, ip)) < 0;
}

static int do_del(const struct cni_config *cfg, const struct cni_env *env)
{
	ferry_error_t err = { 0 };
	char host_if[16];
	cninet_host_if(env->container_id, env->ifname, host_if);
	cninet_del(host_if);
	if (cniipam_release(cfg, env->container_id, env->ifname, &err) < 0)
		return fail(cfg->version, CNI_ERR_PLUGIN, &err);
	return 0;
}

static int do_check(const struct cni_config *cfg, const struct cni_env *env)
{
	ferry_error_t err = { 0 };
	char ip[16], host_if[16];
	if (!strncmp(cfg->version, "0.3", 3)) {
		ferry_error_set(&err, 0, "CHECK needs cniVersion 0.4.0 or later");
		return fail(cfg->version, CNI_ERR_VERSION, &err);
	}
	cninet_host_if(env->container_id, env->ifname, host_if);
	if (cniipam_lookup(cfg, env->container_id, env->ifname, ip, &err) < 0)
		return fail(cfg->version, CNI_ERR_UNKNOWN_CONTAINER, &err);
	if (cninet_check(env->netns, env->ifname, host_if, ip, &err) < 0)
		return fail(cfg->version, CNI_ERR_PLUGIN, &err);
	return 0;
}

int cniplugin_main(void)
{
	ferry_error_t err = { 0 };
	struct cni_env env;
	struct cni_config cfg;
	size_t len = 0;
	log_init("ferry-cni", getenv("FERRY_DEBUG") ? LOG_DEBUG : LOG_WARN);
	int code = cni_read_env(&env, &err);
	if (code)
		return fail(NULL, code, &err);
	if (!strcmp(env.command, "VERSION"))
		return print_json(cni_version_result()) < 0;
	_cleanup_free_ char *conf = read_stdin(&len, &err);
	if (!conf)
		return fail(NULL, CNI_ERR_IO, &err);
	code = cni_parse_config(conf, len, &cfg, &err);
	if (code)
		return fail(cfg.version, code, &err);
	if (!strcmp(env.command, "ADD"))
		return do_add(&cfg, &env);
	if (!strcmp(env.command, "DEL"))
		return do_del(&cfg, &env);
	return do_check(&cfg, &env);
}
