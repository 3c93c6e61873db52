/*
 * node.c - see node.h.
 */
#include "sandbox/node.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int node_init(struct node *n, const char *name, ferry_error_t *err)
{
	memset(n, 0, sizeof(*n));
	n->host_netns_fd = -1;
	if (topology_load(&n->topology, err) < 0)
		return -1;
	const struct node_info *self = topology_find(&n->topology, name);
	if (!self)
		return ferry_error_set(err, 0, "unknown node '%s'", name);
	n->self = *self;
	runc_ctx_init(&n->runc, name);
	n->host_netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (n->host_netns_fd < 0)
		return ferry_error_set(err, errno, "open host network namespace");
	return 0;
}
