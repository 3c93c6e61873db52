/*
 * plan.c - see plan.h.
 */
#include "migrate/plan.h"
#include "container/pod.h"
#include "migrate/precopy.h"
#include "util/cleanup.h"
#include "util/fs.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* total_rss + total_shmem of the container's memory cgroup (v1), or 0. */
static uint64_t resident_bytes(const struct node *n, const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "/sys/fs/cgroup/memory/ferry/%s/%s/memory.stat", n->self.name,
		 name);
	_cleanup_free_ char *text = fs_read_file(path, NULL, NULL);
	uint64_t total = 0;
	for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n")) {
		unsigned long long v;
		if (sscanf(line, "total_rss %llu", &v) == 1 || sscanf(line, "total_shmem %llu", &v) == 1)
			total += v;
	}
	return total;
}

int plan_migration(const struct node *n, const char *name, const char *requested,
		   int max_downtime_ms, struct migration_plan *plan, ferry_error_t *err)
{
	memset(plan, 0, sizeof(*plan));
	if (max_downtime_ms <= 0)
		max_downtime_ms = PLAN_DEFAULT_MAX_DOWNTIME_MS;
	plan->memory_bytes = resident_bytes(n, name);
	double mib = (double)plan->memory_bytes / (1 << 20);
	plan->estimated_stopcopy_ms = PLAN_STOPCOPY_FIXED_MS + PLAN_STOPCOPY_MS_PER_MIB * mib;
	if (!requested[0] || !strcmp(requested, "auto")) {
		bool fits = plan->estimated_stopcopy_ms <= max_downtime_ms;
		if (fits) {
			snprintf(plan->mode, sizeof(plan->mode), "stop-copy");
			snprintf(plan->reason, sizeof(plan->reason),
				 "auto: %.0f MiB resident, stop-and-copy estimated at %.0f ms, within the %d ms budget",
				 mib, plan->estimated_stopcopy_ms, max_downtime_ms);
			return 0;
		}
		char procs[PATH_MAX];
		ferry_error_t why = { 0 };
		pod_procs_file(procs, sizeof(procs), n, name);
		int64_t rate = precopy_sample_dirty_rate(procs, PLAN_SAMPLE_MS, &why);
		bool slow = rate >= 0 && rate <= PLAN_PRECOPY_MAX_DIRTY_SHARE * PLAN_LINK_BYTES_PER_S;
		bool below_link = rate >= 0 && rate < PLAN_LINK_BYTES_PER_S;
		const char *mode = slow ? "precopy" : below_link ? "hybrid" : "postcopy";
		plan->dirty_bytes_per_s = rate > 0 ? (uint64_t)rate : 0;
		snprintf(plan->mode, sizeof(plan->mode), "%s", mode);
		snprintf(plan->reason, sizeof(plan->reason),
			 "auto: %.0f MiB resident, stop-and-copy estimated at %.0f ms, over the %d ms budget; "
			 "writes %.0f MB/s (%s of the link)",
			 mib, plan->estimated_stopcopy_ms, max_downtime_ms, rate > 0 ? rate / 1e6 : 0.0,
			 slow ? "at most a quarter" : below_link ? "over a quarter" : "at least the rate");
		return 0;
	}
	if (strcmp(requested, "stop-copy") && strcmp(requested, "postcopy") &&
	    strcmp(requested, "precopy") && strcmp(requested, "hybrid"))
		return ferry_error_set(err, 0,
				       "unknown mode '%s' (auto, stop-copy, postcopy, precopy or hybrid)",
				       requested);
	snprintf(plan->mode, sizeof(plan->mode), "%s", requested);
	snprintf(plan->reason, sizeof(plan->reason), "requested");
	return 0;
}
