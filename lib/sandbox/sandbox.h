/*
 * sandbox.h - ferry's embedded default: N nodes on one machine.
 *
 * Each node is a network namespace (ferry-<node>) joined to the host bridge
 * ferry0 with its own fabric address and its own `ferry agent`.  `up` is
 * idempotent (it repairs what is missing and restarts dead agents); `down`
 * removes everything ferry made (containers, namespaces, links, routes,
 * processes, state) and is safe to run twice.
 */
#ifndef FERRY_SANDBOX_H
#define FERRY_SANDBOX_H

#include <json-c/json.h>
#include "util/error.h"

int sandbox_up(int n_nodes, const char *self_exe, ferry_error_t *err);
int sandbox_down(ferry_error_t *err);
/* [{name, address, netns, agent_pid, migration_port, agent: running|down}] */
json_object *sandbox_status(ferry_error_t *err);

#endif
