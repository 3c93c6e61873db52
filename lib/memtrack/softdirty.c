/*
 * softdirty.c - see softdirty.h.
 */
#define _FILE_OFFSET_BITS 64
#include "memtrack/softdirty.h"
#include "memtrack/inject.h"
#include "util/cleanup.h"
#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096u
#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)
#define PM_SOFT_DIRTY (1ull << 55)
#define PM_CHUNK 4096 /* pagemap entries read at once */
#define MAX_THREADS 4096

int softdirty_clear(pid_t pid, ferry_error_t *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
	_cleanup_fd_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "4", 1) != 1)
		return ferry_error_set(err, errno, "clear soft-dirty bits of %d", (int)pid);
	return 0;
}

static uint64_t own_entry(int pagemap, const volatile char *page)
{
	uint64_t e = 0;
	if (pread(pagemap, &e, sizeof(e), (off_t)((uintptr_t)page / PAGE * sizeof(e))) != sizeof(e))
		return 0;
	return e;
}

static bool probe(void)
{
	ferry_error_t ignore = { 0 };
	_cleanup_fd_ int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	volatile char *page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				   -1, 0);
	if (pagemap < 0 || page == MAP_FAILED)
		return false;
	page[0] = 1;
	bool ok = softdirty_clear(getpid(), &ignore) == 0 &&
		  !(own_entry(pagemap, page) & PM_SOFT_DIRTY);
	page[0] = 2;
	ok = ok && (own_entry(pagemap, page) & PM_SOFT_DIRTY);
	ok = ok && softdirty_clear(getpid(), &ignore) == 0 &&
	     !(own_entry(pagemap, page) & PM_SOFT_DIRTY);
	munmap((void *)page, PAGE);
	return ok;
}

bool softdirty_supported(void)
{
	static int known = -1;
	if (known < 0)
		known = probe();
	return known;
}

/* The runs of pages of r that hold data (present or swapped) and whose
 * pagemap entries have every bit of `all` (a hole in a new mapping reports
 * soft-dirty too: it holds nothing to copy). */
static int64_t walk(struct dirty_tracker *t, const struct dirty_range *r, uint64_t all,
		    dirty_range_fn fn, void *data, ferry_error_t *err)
{
	static uint64_t e[PM_CHUNK]; /* one tracker works at a time in a process */
	int64_t pages = 0;
	uint64_t run = 0;
	for (uint64_t a = r->start; a < r->end;) {
		size_t n = (r->end - a) / PAGE < PM_CHUNK ? (size_t)((r->end - a) / PAGE) : PM_CHUNK;
		ssize_t got = pread(t->pagemap, e, n * sizeof(e[0]), (off_t)(a / PAGE * sizeof(e[0])));
		if (got <= 0)
			return ferry_error_set(err, got < 0 ? errno : EIO, "pagemap of %d", (int)t->pid);
		for (size_t i = 0; i < (size_t)got / sizeof(e[0]); i++, a += PAGE) {
			bool hit = (e[i] & (PM_PRESENT | PM_SWAPPED)) && (e[i] & all) == all;
			if (hit && !run)
				run = a;
			if (!hit && run) {
				if (fn)
					fn(&(struct dirty_range){ run, a }, data);
				pages += (int64_t)((a - run) / PAGE);
				run = 0;
			}
		}
	}
	if (run) {
		if (fn)
			fn(&(struct dirty_range){ run, r->end }, data);
		pages += (int64_t)((r->end - run) / PAGE);
	}
	return pages;
}

int64_t softdirty_present(struct dirty_tracker *t, const struct dirty_range *r,
			  dirty_range_fn fn, void *data, ferry_error_t *err)
{
	return walk(t, r, 0, fn, data, err);
}

struct stopped {
	pid_t tids[MAX_THREADS];
	size_t n;
};

static bool is_stopped(const struct stopped *s, pid_t tid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->tids[i] == tid)
			return true;
	return false;
}

/* Stops every thread of pid not stopped yet; how many it stopped now. */
static int stop_new_threads(pid_t pid, struct stopped *s, ferry_error_t *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	_cleanup_dir_ DIR *d = opendir(path);
	if (!d)
		return ferry_error_set(err, errno, "open %s", path);
	int stopped = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);
		if (tid <= 0 || is_stopped(s, tid))
			continue;
		if (s->n == MAX_THREADS)
			return ferry_error_set(err, 0, "%d has more than %d threads", (int)pid,
					       MAX_THREADS);
		ferry_error_t gone = { 0 };
		if (inject_attach(tid, &gone) < 0)
			continue; /* exited meanwhile */
		s->tids[s->n++] = tid;
		stopped++;
	}
	return stopped;
}

static void resume_all(struct stopped *s)
{
	for (size_t i = 0; i < s->n; i++)
		inject_detach(s->tids[i]);
	s->n = 0;
}

int64_t softdirty_scan(struct dirty_tracker *t, dirty_range_fn fn, void *data,
		       ferry_error_t *err)
{
	struct stopped *s = calloc(1, sizeof(*s));
	int64_t total = 0;
	int rc;
	if (!s)
		return ferry_error_set(err, ENOMEM, "scan %d", (int)t->pid);
	/* until no thread appeared while the others were being stopped */
	while ((rc = stop_new_threads(t->pid, s, err)) > 0)
		;
	for (size_t i = 0; rc == 0 && i < t->n_ranges; i++) {
		int64_t n = walk(t, &t->ranges[i], PM_SOFT_DIRTY, fn, data, err);
		rc = n < 0 ? -1 : 0;
		total += n > 0 ? n : 0;
	}
	if (rc == 0)
		rc = softdirty_clear(t->pid, err);
	resume_all(s);
	free(s);
	return rc < 0 ? -1 : total;
}
