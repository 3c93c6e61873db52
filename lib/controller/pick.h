/*
 * pick.h - can a node take a migrating pod, and which node is best.
 *
 * The kubelet of the target node admits the target pod itself (spec.nodeName
 * is set, the scheduler is not involved), so the controller checks what the
 * kubelet would reject and what would make the migration pointless: the
 * node is not the source, is Ready, runs a ferry agent (label
 * ferry.dev/agent=ready), is not cordoned, its NoSchedule/NoExecute taints
 * are tolerated, the pod's nodeSelector and required node affinity match,
 * and its allocatable cpu, memory and pod count minus what the pods already
 * bound to it request leave room for the pod's requests.  Among feasible
 * nodes the one with the most free memory wins.
 */
#ifndef FERRY_CONTROLLER_PICK_H
#define FERRY_CONTROLLER_PICK_H

#include <stddef.h>
#include <json-c/json.h>
#include "k8s/client.h"

/* NULL when `node` can take `pod`; else a reason written to buf.  pods_on_node
 * is a PodList's items array (may be NULL: resources not checked). */
const char *pick_node_problem(json_object *node, json_object *pod, const char *source_node,
			      json_object *pods_on_node, char *buf, size_t size);
/* Free memory (milli-bytes) after placing pod; used to rank nodes. */
int64_t pick_free_memory(json_object *node, json_object *pods_on_node);

/* The target node object (new reference): `wanted` when given and feasible,
 * else the best feasible node; NULL with a clear err otherwise. */
json_object *pick_target_node(struct k8s_client *c, json_object *pod, const char *wanted,
			      ferry_error_t *err);

#endif
