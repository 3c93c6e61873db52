/*
 * softdirty.h - dirty tracking with the kernel's soft-dirty bit, where it
 * has one (CONFIG_MEM_SOFT_DIRTY; Debian's kernels do, this machine's does
 * not).
 *
 * Writing "4" to /proc/PID/clear_refs clears the bit on every page of the
 * process and write-protects them; the next write to a page sets it again
 * (bit 55 of the page's /proc/PID/pagemap entry), and a mapping created
 * since reports all its pages set.  A scan reads the bits of the tracked
 * ranges and clears them.  Reading and clearing are two steps, so a write
 * between them would be lost: every thread of the process is stopped (ptrace
 * interrupt, as inject.h does) for the scan and let go right after; a
 * thread that appears meanwhile is stopped too before the clear.
 *
 * dirty.h picks this method when softdirty_supported() says the kernel
 * keeps the bit, and userfaultfd write-protection (Linux 6.7+) otherwise:
 * the callers see the same tracker either way.
 */
#ifndef FERRY_MEMTRACK_SOFTDIRTY_H
#define FERRY_MEMTRACK_SOFTDIRTY_H

#include <stdbool.h>
#include "memtrack/dirty.h"

/* Probed once on this process's own page: written after a clear, the bit is
 * set; after another clear, it is not. */
bool softdirty_supported(void);
/* Clears the bits of t->pid: what is written from now on is dirty. */
int softdirty_clear(pid_t pid, ferry_error_t *err);
/* With every thread of t->pid stopped: the pages of the tracked ranges
 * written since the last clear, in runs to fn; then clears.  Returns them. */
int64_t softdirty_scan(struct dirty_tracker *t, dirty_range_fn fn, void *data,
		       ferry_error_t *err);
/* The pages of r that hold data (present or swapped), in runs to fn. */
int64_t softdirty_present(struct dirty_tracker *t, const struct dirty_range *r,
			  dirty_range_fn fn, void *data, ferry_error_t *err);

#endif
