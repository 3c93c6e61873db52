/*
 * podmigrate.h - live migration of a Kubernetes pod between two ferry agents
 * (`ferry agent --k8s`), source and target halves.
 *
 * Source (REQUEST op "migrate-pod"), phases as reported in PROGRESS frames:
 *   prepare  find the pod's containers and IP (runc root, ferry-cni), reach the
 *            target agent, which makes the staging dir (staging.h) and lists
 *            the containers there, so its ferry-runc knows what to wait for
 *   freeze   drop all traffic in the pod's network namespace (nft), then runc
 *            pause every container: one consistent cut of the whole pod
 *   dump     runc checkpoint --leave-running of each (CRIU images, established
 *            TCP included); the images go to the target as they are
 *   rootfs   each container's overlay upperdir (tar, whiteouts and xattrs kept),
 *            and the pod's emptyDir volumes (ferry-runc unpacks them into the
 *            target pod's before it restores the first container)
 *   restore  DUMP_DONE: the target locks the target pod's traffic (so restored
 *            containers cannot reset each other's localhost connections), marks
 *            each container ready; ferry-runc restores them into the target
 *            pod; when all run the lock is lifted and RESTORED sent
 *   commit   COMMIT POINT: the host's route for the pod IP moves to the target
 *            node (and this node's own route with it), the source pod is marked
 *            migrated away, COMMIT goes to the target
 *   cleanup  the source's frozen containers are killed (their traffic stays
 *            dropped, so their sockets' resets never leave)
 * Any failure before the commit: the target is told ABORT (its ferry-runc
 * gives up), the traffic lock is lifted and every container resumed.
 *
 * deferTarget (a StatefulSet pod, whose target pod has its name and can only
 * be created once the source is deleted): after DUMP_DONE the target answers
 * PROGRESS staged when every image is there; the source holds the pod IP in
 * its allocator and reports phase `staged` (instead of `restore`), then
 * waits up to restoreTimeoutSeconds (twice, plus slack) for RESTORED while
 * the controller deletes the source pod and its StatefulSet re-creates it
 * on the target.  A failure past `staged` does not thaw the source (it is
 * being deleted): its containers are killed and the address given back.
 */
#ifndef FERRY_K8SNODE_PODMIGRATE_H
#define FERRY_K8SNODE_PODMIGRATE_H

#include <json-c/json.h>
#include <openssl/ssl.h>
#include "migrate/report.h"
#include "util/error.h"
#include "wire/conn.h"

/* Drops every packet in and out of a pod's network namespace, loopback
 * included: the source's frozen sockets must not ACK, and the target's
 * restored containers must not talk to each other until all of them run. */
#define PODMIGRATE_LOCK_RULESET                                                       \
	"table inet ferry_lock {\n"                                                   \
	"  chain in { type filter hook input priority -500; policy drop; }\n"         \
	"  chain out { type filter hook output priority -500; policy drop; }\n"       \
	"}\n"
#define PODMIGRATE_UNLOCK_RULESET "delete table inet ferry_lock\n"

struct k8s_agent {
	char node[64];
	char address[16];
	int port;
	char runc_root[256];   /* containerd's runc root for namespace k8s.io */
	char cni_data[256];    /* ferry-cni's dataDir */
	char host_netns[256];  /* where the fabric routes live (default /proc/1/ns/net) */
	int host_netns_fd;
	char pki_dir[256];     /* ca.crt and <node>.{crt,key} (role agent) */
	SSL_CTX *tls;          /* mutual TLS with agents and the controller */
	char metrics_addr[64]; /* "[HOST]:PORT" of /metrics, "" = off */
};

/* request: {op, namespace, pod, podIP?, containers?, target:{node,address,port},
 * targetPod}. Fills report; PROGRESS frames go to progress (may be NULL);
 * returns 0 once committed. */
int podmigrate_source(const struct k8s_agent *a, json_object *request,
		      struct wire_conn *progress, struct migration_report *report,
		      ferry_error_t *err);

/* Serves one PREPARE (already read into prepare) from a source agent on c. */
int podmigrate_target(const struct k8s_agent *a, struct wire_conn *c, json_object *prepare,
		      ferry_error_t *err);

#endif
