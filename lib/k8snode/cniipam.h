/*
 * cniipam.h - ferry-cni's per-node pod address allocator.
 *
 * One directory per node, <dataDir>/<node>/, one file per address in use,
 * named after the address and holding its owner ("<containerID>/<ifname>"
 * on the first line, the pod's namespace/name on the second).  Every change
 * happens under an flock on <dir>/.lock, so concurrent ADD/DEL calls (the
 * kubelet starts sandboxes in parallel) never hand out one address twice.
 * Fresh addresses come round-robin from the node's subnet (.2 up, after the
 * last one handed out, in <dir>/.last), so a freed address is not reused at
 * once.  A migration's target pod asks for a given address (its source pod's,
 * usually from another node's subnet); it is recorded the same way.
 */
#ifndef FERRY_K8SNODE_CNIIPAM_H
#define FERRY_K8SNODE_CNIIPAM_H

#include "k8snode/cni.h"

/* The address of (container_id, ifname): an existing assignment (ADD is
 * retried), else cfg->requested_ip if set, else a fresh one. */
int cniipam_assign(const struct cni_config *cfg, const char *container_id, const char *ifname,
		   const char *pod, char ip[16], ferry_error_t *err);
/* The address assigned to (container_id, ifname); -1 with errno_value
 * ENOENT in err when there is none. */
int cniipam_lookup(const struct cni_config *cfg, const char *container_id, const char *ifname,
		   char ip[16], ferry_error_t *err);
/* Frees the assignment; none is not an error (DEL is idempotent). */
int cniipam_release(const struct cni_config *cfg, const char *container_id, const char *ifname,
		    ferry_error_t *err);

/* After a migration's commit on the source node: the address stays taken,
 * owned by "migrated-to:<what>", so the source sandbox's DEL does not free it
 * and no new pod here gets an address that now lives elsewhere.  Only a pod
 * that requests exactly this address (the same pod migrating back) gets it. */
int cniipam_hold(const struct cni_config *cfg, const char *ip, const char *what,
		 ferry_error_t *err);

/* A hold taken before the commit (a StatefulSet hand-over deletes the source
 * pod once its checkpoint is staged on the target, and the kubelet's DEL of
 * the source sandbox must not free an address that is moving) and given up
 * because the migration failed: the address goes back to its owner before
 * the hold (owner_key "<containerID>/<ifname>", pod "ns/name") when that
 * sandbox still runs, else it is freed.  Only an address held with `what`
 * is touched. */
int cniipam_unhold(const struct cni_config *cfg, const char *ip, const char *what,
		   const char *owner_key, const char *pod, bool owner_alive, ferry_error_t *err);
/* The owner of ip: key "<containerID>/<ifname>" and "ns/name" ("" if free). */
int cniipam_owner(const struct cni_config *cfg, const char *ip, char key[600], char pod[400],
		  ferry_error_t *err);

#endif
