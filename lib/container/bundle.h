/*
 * bundle.h - OCI runtime bundles (config.json) for ferry's containers.
 *
 * A container's spec (its record: name, args, env, cwd) plus the per-node
 * facts (network namespace path, cgroup path) become a runc config.json.  The
 * same spec produces the source's and the target's bundle, differing only in
 * those node facts, which is what lets CRIU restore the container elsewhere.
 */
#ifndef FERRY_BUNDLE_H
#define FERRY_BUNDLE_H

#include <json-c/json.h>
#include "util/error.h"

struct bundle_params {
	const char *dir;          /* bundle directory; rootfs at dir/rootfs */
	json_object *record;      /* container record: name, args, env, cwd */
	const char *netns_path;   /* /run/netns/... */
	const char *cgroup_path;  /* e.g. /ferry/node1/redis */
	const char *criu_config;  /* CRIU options file for runc (org.criu.config), or NULL */
};

int bundle_write(const struct bundle_params *p, ferry_error_t *err);

#endif
