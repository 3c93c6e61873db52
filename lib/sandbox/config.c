/*
 * config.c - see config.h.
 */
#include "sandbox/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include "util/fs.h"

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return (v && *v) ? v : fallback;
}

const struct ferry_config *config_get(void)
{
	static struct ferry_config cfg;
	static int loaded;
	if (!loaded) {
		cfg.runc = env_or("FERRY_RUNC", "/usr/sbin/runc");
		cfg.criu = env_or("FERRY_CRIU", "/opt/ferry/bin/criu");
		cfg.state_dir = env_or("FERRY_STATE", "/run/ferry");
		cfg.lib_dir = env_or("FERRY_LIB", "/var/lib/ferry");
		cfg.images_dir = env_or("FERRY_IMAGES", "/var/lib/ferry/images");
		cfg.scratch_dir = env_or("FERRY_SCRATCH", "/dev/shm/ferry");
		loaded = 1;
	}
	return &cfg;
}

static const char *build(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static const char *build(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		fprintf(stderr, "ferry: internal error: path too long\n");
		abort();
	}
	return buf;
}

const char *config_node_state_dir(char *buf, size_t len, const char *node)
{
	return build(buf, len, "%s/nodes/%s", config_get()->state_dir, node);
}

const char *config_agent_socket(char *buf, size_t len, const char *node)
{
	return build(buf, len, "%s/nodes/%s/agent.sock", config_get()->state_dir, node);
}

const char *config_runc_root(char *buf, size_t len, const char *node)
{
	return build(buf, len, "%s/nodes/%s/runc", config_get()->state_dir, node);
}

const char *config_container_dir(char *buf, size_t len, const char *node, const char *name)
{
	return build(buf, len, "%s/nodes/%s/containers/%s", config_get()->lib_dir, node, name);
}

const char *config_scratch_dir(char *buf, size_t len, const char *node, const char *name)
{
	return build(buf, len, "%s/%s/%s", config_get()->scratch_dir, node, name);
}

const char *config_topology_file(char *buf, size_t len)
{
	return build(buf, len, "%s/sandbox.json", config_get()->state_dir);
}

const char *config_criu_logs_dir(char *buf, size_t len, const char *node, const char *name)
{
	return build(buf, len, "%s/nodes/%s/criu-logs/%s", config_get()->state_dir, node, name);
}

const char *config_pki_dir(char *buf, size_t len)
{
	return build(buf, len, "%s/pki", config_get()->lib_dir);
}

const char *config_criu_conf(char *buf, size_t len, const char *node)
{
	return build(buf, len, "%s/nodes/%s/criu.conf", config_get()->state_dir, node);
}

int config_write_criu_conf(const char *node, ferry_error_t *err)
{
	/* skip-in-flight: a connection the kernel has not handed to accept()
	 * yet when the pod freezes is left behind (its client retries the SYN
	 * and reaches the migrated pod) instead of failing the whole dump.
	 * tls: CRIU's page server and lazy-pages daemon (post-copy memory) talk
	 * mutual TLS with the node's own certificate, like the agents do. */
	char path[PATH_MAX], pki[PATH_MAX], text[4 * PATH_MAX + 256];
	config_pki_dir(pki, sizeof(pki));
	snprintf(text, sizeof(text),
		 "# written by ferry: options for CRIU runs through runc on node %s\n"
		 "skip-in-flight\n"
		 "tls\n"
		 "tls-cacert %s/ca.crt\n"
		 "tls-cert %s/%s.crt\n"
		 "tls-key %s/%s.key\n",
		 node, pki, pki, node, pki, node);
	if (fs_mkdir_p(config_node_state_dir(path, sizeof(path), node), 0700, err) < 0)
		return -1;
	config_criu_conf(path, sizeof(path), node);
	return fs_write_file_atomic(path, text, strlen(text), err);
}

const char *config_incoming_marker(char *buf, size_t len, const char *node, const char *name)
{
	return build(buf, len, "%s/nodes/%s/incoming/%s", config_get()->state_dir, node, name);
}

const char *config_migration_marker(char *buf, size_t len, const char *node, const char *name)
{
	return build(buf, len, "%s/nodes/%s/migrating/%s", config_get()->state_dir, node, name);
}
