/*
 * freezer.h - freezing a container through its cgroup v1 freezer directly.
 *
 * `runc pause` does exactly this, after starting a Go binary that costs
 * 10-20 ms on this machine; inside the freeze every millisecond is downtime,
 * so the source writes FROZEN itself and waits for the kernel to report it.
 * runc reads the same file to report the container "paused", so runc
 * checkpoint/resume and recovery see the state they expect.
 */
#ifndef FERRY_FREEZER_H
#define FERRY_FREEZER_H

#include "sandbox/node.h"
#include "util/error.h"

/* Freezes every task of the container and returns once all are frozen. */
int freezer_freeze(const struct node *n, const char *name, ferry_error_t *err);

#endif
