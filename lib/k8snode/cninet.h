/*
 * cninet.h - the links ferry-cni gives a pod sandbox, in the node's network
 * namespace (where containerd calls the plugin) and the pod's (CNI_NETNS):
 *
 *   pod:  IFNAME  IP/32, route 169.254.1.1 dev IFNAME, default via 169.254.1.1
 *   node: fc<hash> 169.254.1.1/32 scope link, route IP/32 dev fc<hash>
 *
 * The same layout as the sandbox's pods (lib/net/podnet.c): the address is a
 * /32 reached by routing, not a slot on a shared bridge, so it can be set up
 * on a second node ahead of a migration, and ownership moves with the fabric
 * route (the host's IP/32 via <node>), which this module never touches.
 */
#ifndef FERRY_K8SNODE_CNINET_H
#define FERRY_K8SNODE_CNINET_H

#include <stdbool.h>
#include "util/error.h"

#define CNINET_GATEWAY "169.254.1.1"

/* The node-side veth name for a sandbox: "fc" + 8 hex digits. */
void cninet_host_if(const char *container_id, const char *ifname, char out[16]);
/* locked: the pod is a migration's target (it asked for its address): its
 * namespace drops every packet in and out (podmigrate.h's lock, lifted by
 * the target agent once the restored containers run) before the node's
 * route leads there, so a client on this node whose connection lives in
 * the source pod gets no reset from a namespace without its socket. */
int cninet_add(const char *netns_path, const char *ifname, const char *host_if, const char *ip,
	       bool locked, ferry_error_t *err);
/* Removes the node-side veth (and with it the pod side and the /32 route).
 * A missing link is not an error. */
void cninet_del(const char *host_if);
/* Checks that both ends exist and the pod side carries IP/32. */
int cninet_check(const char *netns_path, const char *ifname, const char *host_if, const char *ip,
		 ferry_error_t *err);

#endif
