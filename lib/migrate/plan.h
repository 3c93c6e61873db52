/*
 * plan.h - choosing how to migrate (`--mode auto`, the default).
 *
 * Stop-and-copy moves memory inside the freeze, so its downtime grows with
 * memory; post-copy restores first and moves memory afterwards, so its
 * downtime is flat, at the price of a window in which the container's state
 * lives on two nodes.  auto estimates the stop-and-copy downtime from the
 * container's resident memory (cgroup memory.stat) with per-MiB costs
 * measured on this class of machine (see bench/) and picks stop-and-copy when
 * that fits the downtime budget.  Otherwise it samples how fast the
 * container writes its memory (PLAN_SAMPLE_MS of dirty tracking, the
 * process keeps running) and picks pre-copy when that rate is well below
 * the link's throughput (the rounds then converge and nothing of the
 * container is left on the source after the commit); hybrid (pre-copy
 * rounds, then post-copy for what they did not settle) when it is below the
 * link's rate (the rounds still move most of memory at ferry's stream rate,
 * and the freeze moves none); post-copy when it writes as fast as the link
 * can carry (rounds would only resend).
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

/* the link ferry's TLS stream reaches between the sandbox nodes (bench/) */
#define PLAN_LINK_BYTES_PER_S (900.0 * 1000 * 1000)
/* pre-copy when the container writes at most this share of the link's rate */
#define PLAN_PRECOPY_MAX_DIRTY_SHARE 0.25
#define PLAN_SAMPLE_MS 200

struct migration_plan {
	char mode[16];              /* "stop-copy", "postcopy", "precopy" or "hybrid" */
	uint64_t dirty_bytes_per_s; /* auto's sample, 0 if not measured */
	uint64_t memory_bytes;      /* resident memory of the container */
	double estimated_stopcopy_ms;
	char reason[200];
};

/* requested: "auto", "stop-copy", "postcopy" or "precopy"; max_downtime_ms <= 0: default. */
int plan_migration(const struct node *n, const char *name, const char *requested,
		   int max_downtime_ms, struct migration_plan *plan, ferry_error_t *err);

#endif
