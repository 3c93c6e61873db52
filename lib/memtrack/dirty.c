/*
 * dirty.c - see dirty.h.
 */
#include "memtrack/dirty.h"
#include "memtrack/inject.h"
#include "memtrack/softdirty.h"
#include "util/cleanup.h"
#include "util/grow.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Linux 6.7 ABI, newer than this system's headers */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef PAGEMAP_SCAN
struct page_region {
	uint64_t start, end, categories;
};
struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_WRITTEN (1 << 1)
#define PM_SCAN_WP_MATCHING (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)
#endif

#ifndef PAGE_IS_WPALLOWED
#define PAGE_IS_WPALLOWED (1 << 0)
#endif
#ifndef PAGE_IS_PRESENT
#define PAGE_IS_PRESENT (1 << 3)
#endif
#ifndef PAGE_IS_SWAPPED
#define PAGE_IS_SWAPPED (1 << 4)
#endif
#ifndef PAGE_IS_PFNZERO
#define PAGE_IS_PFNZERO (1 << 5)
#endif

#define SCAN_VEC 512
#define PAGE 4096u

static int load_ranges(struct dirty_tracker *t, ferry_error_t *err);
static int64_t scan_range_with(struct dirty_tracker *t, const struct dirty_range *r, uint64_t flags,
			       uint64_t inverted, uint64_t mask, uint64_t anyof,
			       dirty_range_fn fn, void *data, ferry_error_t *err);

static int cmp_range(const void *a, const void *b)
{
	const struct dirty_range *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Registers one range for write-protection, protects what it holds (the
 * baseline) and appends it; 0 when the kernel refuses the mapping. */
static int register_more(struct dirty_tracker *t, uint64_t start, uint64_t end, ferry_error_t *err)
{
	struct uffdio_register reg = { .range = { start, end - start },
				       .mode = UFFDIO_REGISTER_MODE_WP };
	if (t->method == DIRTY_UFFD_WP && ioctl(t->uffd, UFFDIO_REGISTER, &reg) < 0)
		return 0;
	struct dirty_range *grown = realloc(t->ranges, (t->n_ranges + 1) * sizeof(*grown));
	if (!grown)
		return ferry_error_set(err, ENOMEM, "track %d", (int)t->pid);
	t->ranges = grown;
	t->ranges[t->n_ranges++] = (struct dirty_range){ start, end };
	t->tracked_bytes += end - start;
	return 1;
}

int64_t dirty_track_extend(struct dirty_tracker *t, dirty_range_fn fn, void *data,
			   ferry_error_t *err)
{
	struct dirty_tracker now = { .pid = t->pid, .method = t->method };
	if (load_ranges(&now, err) < 0) {
		free(now.ranges);
		return -1;
	}
	size_t before = t->n_ranges;
	int rc = 0;
	for (size_t i = 0; i < now.n_ranges && rc >= 0; i++) {
		/* the parts of this mapping no tracked range covers */
		uint64_t a = now.ranges[i].start, end = now.ranges[i].end;
		for (size_t k = 0; k < before && a < end && rc >= 0; k++) {
			const struct dirty_range *r = &t->ranges[k];
			if (r->end <= a || r->start >= end)
				continue;
			if (r->start > a)
				rc = register_more(t, a, r->start, err);
			a = r->end > a ? r->end : a;
		}
		if (a < end && rc >= 0)
			rc = register_more(t, a, end, err);
	}
	free(now.ranges);
	if (rc < 0)
		return -1;
	int64_t pages = 0;
	for (size_t i = before; i < t->n_ranges; i++) {
		if (t->method == DIRTY_SOFT_DIRTY) { /* writes set the bit from now on */
			int64_t n = softdirty_present(t, &t->ranges[i], fn, data, err);
			if (n < 0)
				return -1;
			pages += n;
			continue;
		}
		/* the baseline: protected from now on; then everything they hold */
		if (scan_range_with(t, &t->ranges[i], PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, 0,
				    PAGE_IS_WRITTEN, 0, NULL, NULL, err) < 0)
			return -1;
		int64_t n = scan_range_with(t, &t->ranges[i], 0, PAGE_IS_PFNZERO, PAGE_IS_PFNZERO,
					    PAGE_IS_PRESENT | PAGE_IS_SWAPPED, fn, data, err);
		if (n < 0)
			return -1;
		pages += n;
	}
	if (t->n_ranges > before)
		qsort(t->ranges, t->n_ranges, sizeof(t->ranges[0]), cmp_range);
	return pages;
}

/* Private writable mappings from /proc/PID/maps. */
static int load_ranges(struct dirty_tracker *t, ferry_error_t *err)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)t->pid);
	_cleanup_file_ FILE *f = fopen(path, "re");
	if (!f)
		return ferry_error_set(err, errno, "open %s", path);
	while (fgets(line, sizeof(line), f)) {
		uint64_t start, end;
		char perms[8];
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &start, &end, perms) != 3 ||
		    perms[0] != 'r' || perms[1] != 'w' || perms[3] != 'p')
			continue;
		struct dirty_range *grown = realloc(t->ranges, (t->n_ranges + 1) * sizeof(*grown));
		if (!grown)
			return ferry_error_set(err, ENOMEM, "track %d", (int)t->pid);
		t->ranges = grown;
		t->ranges[t->n_ranges++] = (struct dirty_range){ start, end };
	}
	return 0;
}

/* A userfaultfd of pid's memory: created inside pid, taken out with pidfd_getfd. */
static int steal_userfaultfd(pid_t pid, ferry_error_t *err)
{
	long fd_there = -1, closed;
	if (inject_attach(pid, err) < 0)
		return -1;
	int rc = inject_syscall(pid, SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY,
				0, 0, &fd_there, err);
	int fd = -1;
	if (rc == 0 && fd_there < 0)
		rc = ferry_error_set(err, (int)-fd_there, "userfaultfd in %d", (int)pid);
	if (rc == 0) {
		_cleanup_fd_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		fd = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, (int)fd_there, 0);
		if (fd < 0)
			rc = ferry_error_set(err, errno, "take the userfaultfd of %d", (int)pid);
		inject_syscall(pid, SYS_close, fd_there, 0, 0, &closed, err);
	}
	inject_detach(pid);
	return rc < 0 ? -1 : fd;
}

static int arm(struct dirty_tracker *t, ferry_error_t *err)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
	if (ioctl(t->uffd, UFFDIO_API, &api) < 0)
		return ferry_error_set(err, errno, "userfaultfd write-protect (async) not available");
	size_t kept = 0;
	for (size_t i = 0; i < t->n_ranges; i++) {
		struct uffdio_register reg = {
			.range = { t->ranges[i].start, t->ranges[i].end - t->ranges[i].start },
			.mode = UFFDIO_REGISTER_MODE_WP };
		if (ioctl(t->uffd, UFFDIO_REGISTER, &reg) < 0)
			continue; /* a mapping uffd does not support: not tracked */
		t->ranges[kept++] = t->ranges[i];
		t->tracked_bytes += t->ranges[i].end - t->ranges[i].start;
	}
	t->n_ranges = kept;
	if (!kept)
		return ferry_error_set(err, 0, "no trackable memory in %d", (int)t->pid);
	return 0;
}

const char *dirty_method_name(void)
{
	return softdirty_supported() ? "soft-dirty" : "userfaultfd write-protect";
}

/* Soft-dirty: the ranges, cleared bits (the baseline). */
static int start_soft_dirty(struct dirty_tracker *t, ferry_error_t *err)
{
	for (size_t i = 0; i < t->n_ranges; i++)
		t->tracked_bytes += t->ranges[i].end - t->ranges[i].start;
	if (!t->n_ranges)
		return ferry_error_set(err, 0, "no trackable memory in %d", (int)t->pid);
	return softdirty_clear(t->pid, err);
}

int dirty_track_start(struct dirty_tracker *t, pid_t pid, ferry_error_t *err)
{
	char path[64];
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->uffd = t->pagemap = -1;
	t->method = softdirty_supported() ? DIRTY_SOFT_DIRTY : DIRTY_UFFD_WP;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	if (t->method == DIRTY_SOFT_DIRTY) {
		if (load_ranges(t, err) < 0 ||
		    (t->pagemap = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
		    start_soft_dirty(t, err) < 0) {
			if (!ferry_error_is_set(err))
				ferry_error_set(err, errno, "open %s", path);
			dirty_track_stop(t);
			return -1;
		}
		return 0;
	}
	if (load_ranges(t, err) < 0 || (t->uffd = steal_userfaultfd(pid, err)) < 0 ||
	    (t->pagemap = open(path, O_RDONLY | O_CLOEXEC)) < 0 || arm(t, err) < 0 ||
	    dirty_track_scan(t, NULL, NULL, err) < 0) { /* protects every page: the baseline */
		if (!ferry_error_is_set(err))
			ferry_error_set(err, errno, "open %s", path);
		dirty_track_stop(t);
		return -1;
	}
	return 0;
}

/* One PAGEMAP_SCAN walk of r: the regions matching the categories, each passed to fn. */
static int64_t scan_range_with(struct dirty_tracker *t, const struct dirty_range *r, uint64_t flags,
			       uint64_t inverted, uint64_t mask, uint64_t anyof,
			       dirty_range_fn fn, void *data, ferry_error_t *err)
{
	struct page_region vec[SCAN_VEC];
	int64_t pages = 0;
	uint64_t from = r->start;
	while (from < r->end) {
		struct pm_scan_arg a = { .size = sizeof(a), .flags = flags,
					 .start = from, .end = r->end, .vec = (uintptr_t)vec,
					 .vec_len = SCAN_VEC, .category_inverted = inverted,
					 .category_mask = mask, .category_anyof_mask = anyof,
					 .return_mask = mask | anyof };
		long n = ioctl(t->pagemap, PAGEMAP_SCAN, &a);
		if (n < 0)
			return ferry_error_set(err, errno, "PAGEMAP_SCAN of %d", (int)t->pid);
		for (long i = 0; i < n; i++) {
			pages += (int64_t)((vec[i].end - vec[i].start) / PAGE);
			if (fn)
				fn(&(struct dirty_range){ vec[i].start, vec[i].end }, data);
		}
		if (a.walk_end <= from)
			break;
		from = a.walk_end;
	}
	return pages;
}

struct spans {
	struct dirty_range *r;
	size_t n, cap;
	bool failed;
};

static void add_span(const struct dirty_range *r, void *data)
{
	struct spans *s = data;
	struct dirty_range *grown = grow_for_one(s->r, &s->cap, s->n, sizeof(*grown));
	if (!grown) {
		s->failed = true;
		return;
	}
	s->r = grown;
	s->r[s->n++] = *r;
}

static int64_t scan_range(struct dirty_tracker *t, const struct dirty_range *r,
			  dirty_range_fn fn, void *data, ferry_error_t *err)
{
	int64_t n = scan_range_with(t, r, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, 0,
				    PAGE_IS_WRITTEN, 0, fn, data, err);
	if (n >= 0 || err->errno_value != EPERM)
		return n;
	/* a mapping inside the range replaced since tracking began (it is no
	 * longer registered): scan the parts that still are */
	struct spans s = { 0 };
	ferry_error_clear(err);
	n = scan_range_with(t, r, 0, 0, PAGE_IS_WPALLOWED, 0, add_span, &s, err);
	if (n >= 0 && s.failed)
		n = ferry_error_set(err, ENOMEM, "scan %d", (int)t->pid);
	int64_t total = 0;
	for (size_t i = 0; n >= 0 && i < s.n; i++) {
		n = scan_range_with(t, &s.r[i], PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, 0,
				    PAGE_IS_WRITTEN, 0, fn, data, err);
		total += n > 0 ? n : 0;
	}
	free(s.r);
	return n < 0 ? n : total;
}

/* Every tracked range through one scan kind. */
static int64_t scan_all(struct dirty_tracker *t, uint64_t inverted, uint64_t mask, uint64_t anyof,
			dirty_range_fn fn, void *data, ferry_error_t *err)
{
	int64_t total = 0;
	for (size_t i = 0; i < t->n_ranges; i++) {
		int64_t n = scan_range_with(t, &t->ranges[i], 0, inverted, mask, anyof, fn, data, err);
		if (n < 0)
			return -1;
		total += n;
	}
	return total;
}

typedef int64_t (*range_op)(struct dirty_tracker *t, const struct dirty_range *r,
			    dirty_range_fn fn, void *data, ferry_error_t *err);

/* op over every tracked range: the pages it reported in all, or -1. */
static int64_t sum_over_ranges(struct dirty_tracker *t, range_op op, dirty_range_fn fn,
			       void *data, ferry_error_t *err)
{
	int64_t total = 0;
	for (size_t i = 0; i < t->n_ranges; i++) {
		int64_t n = op(t, &t->ranges[i], fn, data, err);
		if (n < 0)
			return -1;
		total += n;
	}
	return total;
}

int64_t dirty_track_present(struct dirty_tracker *t, dirty_range_fn fn, void *data,
			    ferry_error_t *err)
{
	if (t->method == DIRTY_SOFT_DIRTY)
		return sum_over_ranges(t, softdirty_present, fn, data, err);
	/* present or swapped, and not the shared zero page */
	return scan_all(t, PAGE_IS_PFNZERO, PAGE_IS_PFNZERO, PAGE_IS_PRESENT | PAGE_IS_SWAPPED, fn,
			data, err);
}

int64_t dirty_track_untracked(struct dirty_tracker *t, dirty_range_fn fn, void *data,
			      ferry_error_t *err)
{
	if (t->method == DIRTY_SOFT_DIRTY)
		return 0; /* a replaced mapping reports every page soft-dirty: none escapes */
	return scan_all(t, PAGE_IS_WPALLOWED, PAGE_IS_WPALLOWED, 0, fn, data, err);
}

int64_t dirty_track_scan(struct dirty_tracker *t, dirty_range_fn fn, void *data,
			 ferry_error_t *err)
{
	if (t->method == DIRTY_SOFT_DIRTY)
		return softdirty_scan(t, fn, data, err);
	return sum_over_ranges(t, scan_range, fn, data, err);
}

void dirty_track_stop(struct dirty_tracker *t)
{
	for (size_t i = 0; t->uffd >= 0 && i < t->n_ranges; i++) {
		struct uffdio_range r = { t->ranges[i].start, t->ranges[i].end - t->ranges[i].start };
		ioctl(t->uffd, UFFDIO_UNREGISTER, &r);
	}
	if (t->uffd >= 0)
		close(t->uffd);
	if (t->pagemap >= 0)
		close(t->pagemap);
	free(t->ranges);
	memset(t, 0, sizeof(*t));
	t->uffd = t->pagemap = -1;
}
