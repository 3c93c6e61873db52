/*
 * server.h - the node agent daemon.
 *
 * One agent per node.  It opens the host's network namespace, moves into its
 * node's namespace, and listens on its unix control socket (CLI) and its TCP
 * migration port (peer agents).  Each connection is served by a forked child,
 * so a migration in progress never blocks `ps`, a crash in one request cannot
 * take the agent down, and state lives on disk (records, runc state), not in
 * the daemon's memory: an agent restarted mid-way finds what is there.
 */
#ifndef FERRY_SERVER_H
#define FERRY_SERVER_H

#include "util/error.h"

/* Runs until SIGTERM/SIGINT. */
int agent_run(const char *node_name, ferry_error_t *err);

#endif
