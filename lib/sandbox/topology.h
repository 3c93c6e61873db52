/*
 * topology.h - the sandbox's node list, shared by every agent and command.
 *
 * `ferry sandbox up` writes it (FERRY_STATE/sandbox.json); agents read it to
 * find their own address and a migration target's.  Addressing:
 *   fabric   10.87.0.0/24: bridge ferry0 in the host (10.87.0.1), node i at .(10+i)
 *   pods     10.88.0.0/16: /32 routes in the host pointing at the owning node
 */
#ifndef FERRY_TOPOLOGY_H
#define FERRY_TOPOLOGY_H

#include "util/error.h"

#define TOPOLOGY_MAX_NODES 16
#define FABRIC_BRIDGE "ferry0"
#define FABRIC_GATEWAY "10.87.0.1"
#define FABRIC_PREFIX "10.87.0."
#define POD_PREFIX "10.88."
#define MIGRATION_PORT 7070

struct node_info {
	char name[48];
	char address[16];
	char netns[64];
	int migration_port;
	int agent_pid;
};

struct topology {
	int n_nodes;
	struct node_info nodes[TOPOLOGY_MAX_NODES];
};

int topology_load(struct topology *t, ferry_error_t *err);
int topology_save(const struct topology *t, ferry_error_t *err);
const struct node_info *topology_find(const struct topology *t, const char *name);

#endif
