/*
 * cni.h - the protocol half of `ferry-cni`, ferry's CNI plugin (CNI spec
 * 0.3.x, 0.4.0 and 1.0.0): the network configuration on stdin, the CNI_*
 * environment, the result and error JSON on stdout.
 *
 * It owns "what was asked and what do we answer"; the pod's addresses come
 * from cniipam.c and the links from cninet.c.  Parsing is pure (no I/O) so
 * that the fuzz target (tests/fuzz/fuzz_cni_config.c) reaches all of it.
 *
 * The plugin's own configuration keys (next to cniVersion, name, type):
 *   "node":    this node's name (required; the allocator's directory)
 *   "subnet":  this node's pod CIDR, IPv4 (required), e.g. "10.96.1.0/24"
 *   "dataDir": allocator root (default /var/lib/ferry/cni)
 *   "capabilities": {"io.kubernetes.cri.pod-annotations": true} makes
 *   containerd pass the pod's annotations in runtimeConfig; a pod annotated
 *   ferry.dev/pod-ip (a migration's target pod) gets exactly that address.
 */
#ifndef FERRY_K8SNODE_CNI_H
#define FERRY_K8SNODE_CNI_H

#include <stdbool.h>
#include <stdint.h>
#include <limits.h>
#include <json-c/json.h>
#include "util/error.h"

/* CNI error codes (spec "Error" section) */
enum cni_code {
	CNI_ERR_VERSION = 1,
	CNI_ERR_UNSUPPORTED_FIELD = 2,
	CNI_ERR_UNKNOWN_CONTAINER = 3,
	CNI_ERR_ENV = 4,
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,
	CNI_ERR_CONFIG = 7,
	CNI_ERR_TRY_AGAIN = 11,
	CNI_ERR_PLUGIN = 100,    /* ferry's own failures (links, allocator) */
};

#define CNI_DEFAULT_DATA_DIR "/var/lib/ferry/cni"
#define CNI_POD_IP_ANNOTATION "ferry.dev/pod-ip"
#define CNI_RESTORE_ANNOTATION "ferry.dev/restore"
#define CNI_ANNOTATIONS_CAP "io.kubernetes.cri.pod-annotations"

struct cni_config {
	char version[16];       /* cniVersion of the request: the result uses it */
	char name[128];
	char node[64];
	uint32_t subnet;        /* host byte order, network address */
	int prefix;
	char data_dir[PATH_MAX];
	char requested_ip[16];  /* ferry.dev/pod-ip, "" if none */
	bool restore;           /* ferry.dev/restore: "true": a migration's target pod */
};

struct cni_env {
	char command[16];       /* ADD, DEL, CHECK, VERSION */
	char container_id[256];
	char netns[PATH_MAX];   /* "" for DEL of a gone sandbox */
	char ifname[16];
	char pod_namespace[64]; /* from CNI_ARGS K8S_POD_NAMESPACE, may be "" */
	char pod_name[256];
};

/* Parses and checks the stdin configuration. On failure returns the CNI
 * error code (> 0) with err set; 0 on success. */
int cni_parse_config(const char *json, size_t len, struct cni_config *cfg, ferry_error_t *err);
/* Reads CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS.
 * Returns 0 or CNI_ERR_ENV with err set. */
int cni_read_env(struct cni_env *env, ferry_error_t *err);
bool cni_version_supported(const char *version);

/* The ADD/CHECK result for one /32 address on ifname, gateway 169.254.1.1. */
json_object *cni_result(const struct cni_config *cfg, const char *host_if,
			const char *ifname, const char *netns, const char *ip);
json_object *cni_version_result(void);
/* {"cniVersion", "code", "msg", "details"} */
json_object *cni_error_result(const char *version, int code, const char *msg);

/* Address helpers (IPv4, host byte order) */
int cni_parse_ipv4(const char *s, uint32_t *out);
void cni_format_ipv4(uint32_t a, char out[16]);

#endif
