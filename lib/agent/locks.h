/*
 * locks.h - one operation per container at a time, across processes.
 *
 * Each request (run, rm, migrate) is served by its own process; the lock is
 * an flock on a file per container, held for the request's lifetime and
 * released by the kernel when that process exits, however it exits.  So a
 * lock that is busy means a live process is working on the container:
 * recovery at agent start leaves such a container to it.
 */
#ifndef FERRY_AGENT_LOCKS_H
#define FERRY_AGENT_LOCKS_H

#include "sandbox/node.h"
#include "util/error.h"

/* The lock's fd (close it to release), or -1 with err ("busy" if taken). */
int container_lock(const struct node *n, const char *name, ferry_error_t *err);

#endif
