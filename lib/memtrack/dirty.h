/*
 * dirty.h - which pages a running process writes.
 *
 * Where the kernel keeps the soft-dirty bit (CONFIG_MEM_SOFT_DIRTY, probed
 * at the first start), the tracker uses it (softdirty.h).  This machine's
 * kernel has no CONFIG_MEM_SOFT_DIRTY, so CRIU cannot track memory
 * between pre-dumps.  What it has is enough: userfaultfd write-protection in
 * asynchronous mode (Linux 6.7+, UFFD_FEATURE_WP_ASYNC: a write to a
 * protected page only marks it written, no fault handler is involved, the
 * process never waits) and the PAGEMAP_SCAN ioctl on /proc/PID/pagemap,
 * which reports the written pages of a range and protects them again in one
 * atomic step.  The userfaultfd must belong to the process's memory, so it
 * is created inside the process (inject.h) and taken out with pidfd_getfd;
 * registration and scans then run from ferry, and the process is stopped
 * only for the two injected calls.
 *
 * Covers the private writable mappings the process has when tracking starts.
 * This is the measurement `--mode auto` needs (a container's dirty rate) and
 * the base of pre-copy rounds.
 */
#ifndef FERRY_MEMTRACK_DIRTY_H
#define FERRY_MEMTRACK_DIRTY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "util/error.h"

struct dirty_range {
	uint64_t start, end;   /* [start, end), page aligned */
};

enum dirty_method {
	DIRTY_UFFD_WP,       /* userfaultfd write-protect + PAGEMAP_SCAN (Linux 6.7+) */
	DIRTY_SOFT_DIRTY,    /* the soft-dirty bit (softdirty.h) */
};

struct dirty_tracker {
	pid_t pid;
	enum dirty_method method;
	int uffd;                     /* -1 with soft-dirty */
	int pagemap;
	struct dirty_range *ranges;   /* the registered mappings */
	size_t n_ranges;
	uint64_t tracked_bytes;
};

typedef void (*dirty_range_fn)(const struct dirty_range *written, void *data);

/* Starts tracking pid's writes; from now on a scan reports the pages written
 * since the previous scan (the first: since this call). */
int dirty_track_start(struct dirty_tracker *t, pid_t pid, ferry_error_t *err);
/* Pages written since the last scan, each run of them passed to fn (may be
 * NULL); protects them again.  -1 with err on failure. */
int64_t dirty_track_scan(struct dirty_tracker *t, dirty_range_fn fn, void *data,
			 ferry_error_t *err);
/* Pages of the tracked ranges that hold data now (present or swapped, not
 * the zero page): what a first copy of the memory must read.  Protects nothing. */
int64_t dirty_track_present(struct dirty_tracker *t, dirty_range_fn fn, void *data,
			    ferry_error_t *err);
/* Parts of the tracked ranges whose writes are no longer tracked (the
 * mapping was replaced since tracking started: munmap + mmap, mremap):
 * anything copied from there before is stale. */
int64_t dirty_track_untracked(struct dirty_tracker *t, dirty_range_fn fn, void *data,
			      ferry_error_t *err);
/* Starts tracking the private writable mappings that appeared since
 * tracking began (new mappings, a grown heap): each new range is protected,
 * then every page holding data in it passed to fn (it was never copied).
 * Returns those pages, -1 with err. */
int64_t dirty_track_extend(struct dirty_tracker *t, dirty_range_fn fn, void *data,
			   ferry_error_t *err);
/* The method a tracker started now would use, as a name for reports. */
const char *dirty_method_name(void);
/* Ends tracking: unregisters, closes (the process keeps running untouched). */
void dirty_track_stop(struct dirty_tracker *t);

#endif
