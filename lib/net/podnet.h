/*
 * podnet.h - a pod's network: its own namespace, a veth to its node, a /32
 * address that can live on any node, and the lock that holds its traffic
 * during a migration.
 *
 *   pod netns  fp-<node>-<name>:  eth0  IP/32, default via 169.254.1.1 (onlink)
 *   node netns ferry-<node>:      fv<hash>  169.254.1.1/32, route IP/32 dev fv<hash>
 *   host:                         route IP/32 via <node fabric address>
 *
 * Because the pod's address is a /32 reached by routing (not a subnet on a
 * shared L2), the same IP can be configured in a second namespace on the
 * target node ahead of time, and ownership moves with one route change.
 */
#ifndef FERRY_PODNET_H
#define FERRY_PODNET_H

#include "util/error.h"

#define POD_GATEWAY "169.254.1.1"

struct pod_net {
	char netns[112];
	char host_if[16];
	char peer_if[16];
	char ip[16];
	char node_netns[64];
};

void podnet_describe(struct pod_net *pn, const char *node, const char *node_netns,
		     const char *name, const char *ip);
int podnet_create(const struct pod_net *pn, ferry_error_t *err);
/* Removes the pod namespace (its veth goes with it). Idempotent. */
void podnet_destroy(const struct pod_net *pn);
/* Drops every packet in and out of the pod namespace, or lifts that (and
 * any lock CRIU left). */
int podnet_lock(const struct pod_net *pn, ferry_error_t *err);
int podnet_unlock(const struct pod_net *pn, ferry_error_t *err);
/* Points the host's route for the pod IP at a node (host_netns_fd: -1 = own). */
int podnet_route_to_node(int host_netns_fd, const char *ip, const char *node_address,
			 ferry_error_t *err);
/* Sends a gratuitous ARP for the pod IP from inside the pod (asynchronous). */
void podnet_announce(const struct pod_net *pn);

#endif
