/*
 * config.h - where ferry keeps things and which tools it drives.
 *
 * Each setting has a default matching what `make deps` installs and can be
 * overridden by an environment variable, so tests and benchmarks can run
 * against other runc/CRIU builds or state roots:
 *   FERRY_RUNC     runc binary                 /usr/sbin/runc
 *   FERRY_CRIU     CRIU (wrapper) binary        /opt/ferry/bin/criu
 *   FERRY_STATE    runtime state, sockets      /run/ferry
 *   FERRY_LIB      container layers, bundles   /var/lib/ferry
 *   FERRY_IMAGES   local image store           /var/lib/ferry/images
 *   FERRY_SCRATCH  checkpoint images (tmpfs)   /dev/shm/ferry
 */
#ifndef FERRY_CONFIG_H
#define FERRY_CONFIG_H

#include <stddef.h>
#include "util/error.h"

struct ferry_config {
	const char *runc;
	const char *criu;
	const char *state_dir;
	const char *lib_dir;
	const char *images_dir;
	const char *scratch_dir;
};

const struct ferry_config *config_get(void);

/* path builders: snprintf into buf, abort on truncation (paths are bounded) */
const char *config_node_state_dir(char *buf, size_t len, const char *node);
const char *config_agent_socket(char *buf, size_t len, const char *node);
const char *config_runc_root(char *buf, size_t len, const char *node);
const char *config_container_dir(char *buf, size_t len, const char *node, const char *name);
const char *config_scratch_dir(char *buf, size_t len, const char *node, const char *name);
const char *config_topology_file(char *buf, size_t len);
/* The CRIU configuration file every container's bundle on a node points
 * runc at (annotation org.criu.config), also given to the lazy-pages daemon;
 * config_write_criu_conf() writes it (the agent does, at start). */
const char *config_criu_conf(char *buf, size_t len, const char *node);
int config_write_criu_conf(const char *node, ferry_error_t *err);
/* The PKI directory: the CA and this machine's certificates (lib/tls/pki.h). */
const char *config_pki_dir(char *buf, size_t len);
/* The marker a source keeps while one of its migrations is in flight
 * (holds the process group of its runc checkpoint, for recovery). */
const char *config_migration_marker(char *buf, size_t len, const char *node, const char *name);
/* The marker a target keeps from building a pod until its migration is
 * settled (committed or abandoned). */
const char *config_incoming_marker(char *buf, size_t len, const char *node, const char *name);
/* Where the CRIU/runc logs of a node's last migration of a container are kept. */
const char *config_criu_logs_dir(char *buf, size_t len, const char *node, const char *name);

#endif
