/*
 * node.h - what an agent knows about the node it serves.
 *
 * Filled once at agent start from the topology; host_netns_fd is the host's
 * network namespace (the sandbox's fabric lives there), opened before the
 * agent moves into its node namespace, so the agent can move pod routes.
 */
#ifndef FERRY_NODE_H
#define FERRY_NODE_H

#include "container/runc.h"
#include "sandbox/topology.h"
#include <openssl/ssl.h>

struct node {
	struct node_info self;
	struct topology topology;
	struct runc_ctx runc;
	int host_netns_fd;
	SSL_CTX *tls;        /* this node's identity for agent connections (agent only) */
};

int node_init(struct node *n, const char *name, ferry_error_t *err);

#endif
