/*
 * podinfo.h - what a node knows locally about one of its pods, found without
 * the API server: its containers (from containerd's runc root: `runc list`
 * and each bundle's CRI annotations) and its IP (from ferry-cni's allocator).
 * The agent uses it to fill a migrate-pod request that named only the pod,
 * and to check that a request's containers are really that pod's.
 */
#ifndef FERRY_K8SNODE_PODINFO_H
#define FERRY_K8SNODE_PODINFO_H

#include <sys/types.h>
#include "util/error.h"

#define POD_MAX_CONTAINERS 16

struct pod_container {
	char name[64];
	char id[80];
	char bundle[512];
	char status[16];      /* runc status: running, paused, stopped */
	pid_t pid;
};

struct pod_info {
	char namespace[64];
	char pod[256];
	char sandbox_id[80];
	pid_t sandbox_pid;    /* its /proc/PID/ns/net is the pod's network namespace */
	char ip[16];
	int n;
	struct pod_container c[POD_MAX_CONTAINERS];
};

/* Fills p from runc root `runc_root`: the pod's running sandbox (an error if
 * there is none) and its running or paused app containers (maybe none). */
int podinfo_find(const char *runc_root, const char *namespace, const char *pod,
		 struct pod_info *p, ferry_error_t *err);
/* The address ferry-cni gave the pod on node (data_dir/node/<ip> owned by ns/pod). */
int podinfo_ip(const char *data_dir, const char *node, const char *namespace, const char *pod,
	       char ip[16], ferry_error_t *err);

#endif
