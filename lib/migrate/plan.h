/*
 * plan.h - choosing how to migrate (`--mode auto`, the default).
 *
 * Stop-and-copy moves memory inside the freeze, so its downtime grows with
 * memory; post-copy restores first and moves memory afterwards, so its
 * downtime is flat, at the price of a window in which the container's state
 * lives on two nodes.  auto estimates the stop-and-copy downtime from the
 * container's resident memory (cgroup memory.stat) with per-MiB costs
 * measured on this class of machine (see bench/) and picks stop-and-copy when
 * that fits the downtime budget, post-copy otherwise.
 */
#ifndef FERRY_PLAN_H
#define FERRY_PLAN_H

#include <stdint.h>
#include "sandbox/node.h"
#include "util/error.h"

#define PLAN_DEFAULT_MAX_DOWNTIME_MS 500
/* measured: freeze, restore and commit cost about 150 ms at any size; dump,
 * transfer and restore of memory add about 6.6 ms per MiB on the bench machine */
#define PLAN_STOPCOPY_FIXED_MS 150.0
#define PLAN_STOPCOPY_MS_PER_MIB 6.6

struct migration_plan {
	char mode[16];              /* "stop-copy" or "postcopy" */
	uint64_t memory_bytes;      /* resident memory of the container */
	double estimated_stopcopy_ms;
	char reason[160];
};

/* requested: "auto", "stop-copy" or "postcopy"; max_downtime_ms <= 0: default. */
int plan_migration(const struct node *n, const char *name, const char *requested,
		   int max_downtime_ms, struct migration_plan *plan, ferry_error_t *err);

#endif
