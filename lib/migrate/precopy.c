/*
 * precopy.c - see precopy.h.
 */
#define _FILE_OFFSET_BITS 64
#include "migrate/precopy.h"
#include "container/pagemap.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/grow.h"
#include "util/log.h"
#include "wire/frame.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
#define MAX_TRACKED_PAGES (64ull << 18) /* bitmaps only for ranges up to 64 GiB */

/* The pid in the innermost namespace (last NSpid field), or 0. */
static uint32_t inner_pid(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	_cleanup_file_ FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "NSpid:", 6))
			continue;
		char *last = strrchr(line, '\t');
		long v = last ? strtol(last + 1, NULL, 10) : 0;
		return v > 0 && v <= (1 << 22) ? (uint32_t)v : 0;
	}
	return 0;
}

static struct precopy_proc *find_proc(struct precopy *pc, pid_t pid)
{
	for (int i = 0; i < pc->n_procs; i++)
		if (pc->procs[i].pid == pid)
			return &pc->procs[i];
	return NULL;
}

/* Adds a process (not tracked yet); NULL with err when full or gone. */
static struct precopy_proc *add_proc(struct precopy *pc, pid_t pid, ferry_error_t *err)
{
	if (pc->n_procs == PRECOPY_MAX_PROCS) {
		ferry_error_set(err, 0, "pre-copy: more than %d processes", PRECOPY_MAX_PROCS);
		return NULL;
	}
	struct precopy_proc *p = &pc->procs[pc->n_procs];
	char path[64];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->t.uffd = p->t.pagemap = -1;
	p->vpid = inner_pid(pid);
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	p->mem = open(path, O_RDONLY | O_CLOEXEC);
	if (p->vpid == 0 || p->mem < 0) {
		if (p->mem >= 0)
			close(p->mem);
		ferry_error_set(err, errno, "pre-copy: process %d", (int)pid);
		return NULL;
	}
	pc->n_procs++;
	return p;
}

static int read_pids(const char *procs_file, pid_t **out, size_t *n, ferry_error_t *err)
{
	_cleanup_file_ FILE *f = fopen(procs_file, "re");
	if (!f)
		return ferry_error_set(err, errno, "open %s", procs_file);
	size_t cap = 0;
	long v;
	*out = NULL;
	*n = 0;
	while (fscanf(f, "%ld", &v) == 1) {
		pid_t *grown = grow_for_one(*out, &cap, *n, sizeof(pid_t));
		if (!grown) {
			free(*out);
			*out = NULL;
			return ferry_error_set(err, ENOMEM, "pids");
		}
		*out = grown;
		(*out)[(*n)++] = (pid_t)v;
	}
	return 0;
}

static void stop_tracking(struct precopy_proc *p)
{
	if (p->tracking)
		dirty_track_stop(&p->t);
	p->tracking = false;
}

/* p->ranges / p->sent follow the tracker's ranges (sorted; a range never
 * changes once tracked): bitmaps kept by start address, new ranges start empty. */
static int sync_ranges(struct precopy_proc *p, ferry_error_t *err)
{
	size_t n = p->t.n_ranges;
	struct dirty_range *ranges = calloc(n ? n : 1, sizeof(*ranges));
	uint64_t **sent = calloc(n ? n : 1, sizeof(*sent));
	if (!ranges || !sent) {
		free(ranges);
		free(sent);
		return ferry_error_set(err, ENOMEM, "pre-copy");
	}
	size_t old = 0;
	for (size_t i = 0; i < n; i++) {
		ranges[i] = p->t.ranges[i];
		while (old < p->n_ranges && p->ranges[old].start < ranges[i].start)
			old++;
		if (old < p->n_ranges && p->ranges[old].start == ranges[i].start) {
			sent[i] = p->sent[old];
			p->sent[old] = NULL;
			continue;
		}
		uint64_t pages = (ranges[i].end - ranges[i].start) / PAGE;
		if (pages > MAX_TRACKED_PAGES)
			continue; /* no bitmap: its pages count as never sent */
		sent[i] = calloc((pages + 63) / 64, sizeof(uint64_t));
		if (!sent[i]) {
			for (size_t k = 0; k <= i; k++)
				free(sent[k]);
			free(sent);
			free(ranges);
			return ferry_error_set(err, ENOMEM, "pre-copy");
		}
	}
	for (size_t k = 0; k < p->n_ranges; k++)
		free(p->sent[k]);
	free(p->sent);
	free(p->ranges);
	p->ranges = ranges;
	p->sent = sent;
	p->n_ranges = n;
	return 0;
}

static int track(struct precopy_proc *p, ferry_error_t *err)
{
	if (dirty_track_start(&p->t, p->pid, err) < 0)
		return -1;
	p->tracking = true;
	return sync_ranges(p, err);
}

int precopy_start(struct precopy *pc, const char *procs_file, struct wire_conn *conn,
		  struct precopy_report *report, uint64_t *bytes_sent, ferry_error_t *err)
{
	pid_t *pids = NULL;
	size_t n = 0;
	memset(pc, 0, sizeof(*pc));
	pc->conn = conn;
	pc->report = report;
	pc->bytes_sent = bytes_sent;
	pc->procs = calloc(PRECOPY_MAX_PROCS, sizeof(*pc->procs));
	pc->buf = malloc(WIRE_PAGE_HEADER + PRECOPY_CHUNK);
	if (!pc->procs || !pc->buf)
		return ferry_error_set(err, ENOMEM, "pre-copy");
	if (read_pids(procs_file, &pids, &n, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct precopy_proc *p = add_proc(pc, pids[i], err);
		if (!p) {
			rc = -1;
			break;
		}
		ferry_error_t why = { 0 };
		if (track(p, &why) < 0) {
			/* not tracked: its lazy pages all go after the dump */
			log_warn("pre-copy: process %d not tracked: %s", (int)p->pid, why.message);
			stop_tracking(p);
		}
	}
	free(pids);
	return rc;
}

/* Which range of p holds addr, or -1. */
static long range_of(const struct precopy_proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->n_ranges;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (addr < p->ranges[mid].start)
			hi = mid;
		else if (addr >= p->ranges[mid].end)
			lo = mid + 1;
		else
			return (long)mid;
	}
	return -1;
}

static void mark(struct precopy_proc *p, uint64_t start, uint64_t end, bool sent)
{
	for (uint64_t a = start; a < end; a += PAGE) {
		long r = range_of(p, a);
		if (r < 0 || !p->sent[r])
			continue;
		uint64_t i = (a - p->ranges[r].start) / PAGE;
		if (sent)
			p->sent[r][i / 64] |= 1ull << (i % 64);
		else
			p->sent[r][i / 64] &= ~(1ull << (i % 64));
	}
}

static bool was_sent(const struct precopy_proc *p, uint64_t a)
{
	long r = range_of(p, a);
	if (r < 0 || !p->sent[r])
		return false;
	uint64_t i = (a - p->ranges[r].start) / PAGE;
	return p->sent[r][i / 64] & (1ull << (i % 64));
}

/* --max-bandwidth: sleeps while ahead of the allowed rate. */
static void pace(struct precopy *pc, size_t bytes)
{
	if (!pc->max_bytes_per_s)
		return;
	if (pc->pace_start == 0)
		pc->pace_start = clock_now_ms();
	pc->pace_bytes += bytes;
	double due = pc->pace_start + (double)pc->pace_bytes * 1000.0 / (double)pc->max_bytes_per_s;
	double ahead = due - clock_now_ms();
	if (ahead > 0) {
		struct timespec ts = { (time_t)(ahead / 1000), (long)((ahead - (double)(long)(ahead / 1000) * 1000) * 1e6) };
		nanosleep(&ts, NULL);
	}
}

/* Reads [start, end) of p's memory and sends it; pages that cannot be read
 * (unmapped meanwhile) are skipped and left marked unsent. */
static int send_span(struct precopy *pc, struct precopy_proc *p, uint64_t start, uint64_t end,
		     uint64_t *bytes, uint64_t *pages, ferry_error_t *err)
{
	uint8_t *data = pc->buf + WIRE_PAGE_HEADER;
	uint64_t a = start;
	while (a < end) {
		size_t want = end - a > PRECOPY_CHUNK ? PRECOPY_CHUNK : (size_t)(end - a);
		ssize_t n = pread(p->mem, data, want, (off_t)a);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return 0; /* its memory is gone (it exited): nothing more to read */
		size_t got = n > 0 ? (size_t)n / PAGE * PAGE : 0;
		if (got) {
			wire_encode_page_header(pc->buf, p->vpid, a);
			if (wire_send(pc->conn, WIRE_PAGE_DATA, pc->buf,
				      (uint32_t)(WIRE_PAGE_HEADER + got), err) < 0)
				return ferry_error_prefix(err, "pre-copy");
			mark(p, a, a + got, true);
			*bytes += got;
			*pages += got / PAGE;
			if (pc->bytes_sent)
				*pc->bytes_sent += got;
			pace(pc, got);
		}
		a += got;
		if (got < want) { /* the page at a cannot be read: skip it */
			mark(p, a, a + PAGE, false);
			a += PAGE;
		}
	}
	return 0;
}

static void collect(const struct dirty_range *r, void *data)
{
	struct precopy *pc = data;
	if (pc->n_todo && pc->todo[pc->n_todo - 1].end == r->start) {
		pc->todo[pc->n_todo - 1].end = r->end;
		return;
	}
	struct precopy_span *grown = grow_for_one(pc->todo, &pc->cap_todo, pc->n_todo,
						  sizeof(*grown));
	if (!grown) {
		pc->todo_error = ENOMEM;
		return;
	}
	pc->todo = grown;
	pc->todo[pc->n_todo++] = (struct precopy_span){ r->start, r->end };
}

static void forget(const struct dirty_range *r, void *data)
{
	mark(data, r->start, r->end, false);
}

/* SCAN_DIRTY_FORGET: the dirty pages are marked unsent, not sent (hybrid). */
enum scan_kind { SCAN_PRESENT, SCAN_DIRTY, SCAN_DIRTY_AND_NEW, SCAN_DIRTY_FORGET };

/* One scan of every tracked process, then the pages found sent. */
static int scan_and_send(struct precopy *pc, enum scan_kind kind, struct report_round *out,
			 ferry_error_t *err)
{
	double t0 = clock_now_ms();
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < pc->n_procs; i++) {
		struct precopy_proc *p = &pc->procs[i];
		if (!p->tracking)
			continue;
		pc->n_todo = 0;
		pc->todo_error = 0;
		int64_t n = 0;
		if (kind == SCAN_DIRTY_AND_NEW) {
			/* memory mapped since the last round: tracked from now on, sent whole */
			n = dirty_track_extend(&p->t, collect, pc, err);
			if (n >= 0 && sync_ranges(p, err) < 0)
				return -1;
		}
		if (n >= 0)
			n = kind == SCAN_PRESENT ? dirty_track_present(&p->t, collect, pc, err) :
						   dirty_track_scan(&p->t, collect, pc, err);
		if (n < 0 && kill(p->pid, 0) < 0 && errno == ESRCH) {
			/* exited meanwhile: the dump will not have it */
			log_info("pre-copy: process %d exited", (int)p->pid);
			ferry_error_clear(err);
			stop_tracking(p);
			continue;
		}
		if (n < 0)
			return ferry_error_prefix(err, "pre-copy");
		if (pc->todo_error)
			return ferry_error_set(err, pc->todo_error, "pre-copy");
		for (size_t k = 0; k < pc->n_todo; k++) {
			if (kind == SCAN_DIRTY_FORGET) {
				mark(p, pc->todo[k].start, pc->todo[k].end, false);
				continue;
			}
			if (send_span(pc, p, pc->todo[k].start, pc->todo[k].end, &out->bytes,
				      &out->pages, err) < 0)
				return -1;
		}
	}
	out->ms = clock_now_ms() - t0;
	return 0;
}

int precopy_rounds(struct precopy *pc, int budget_ms, ferry_error_t *err)
{
	struct precopy_report *r = pc->report;
	double best_rate = 0; /* bytes per ms */
	for (int k = 0; k < PRECOPY_MAX_ROUNDS && r->n_rounds < REPORT_MAX_ROUNDS; k++) {
		struct report_round *round = &r->rounds[r->n_rounds];
		if (scan_and_send(pc, k == 0 ? SCAN_PRESENT : SCAN_DIRTY_AND_NEW, round, err) < 0)
			return -1;
		r->n_rounds++;
		log_info("pre-copy round %d: %" PRIu64 " bytes (%" PRIu64 " pages) in %.0f ms", k,
			 round->bytes, round->pages, round->ms);
		if (pc->progress)
			pc->progress(pc->progress_data);
		if (round->ms > 0 && round->bytes >= (1u << 20) &&
		    (double)round->bytes / round->ms > best_rate)
			best_rate = (double)round->bytes / round->ms;
		if (k == 0)
			continue;
		/* what the freeze may spend sending: a fifth of the budget at the
		 * measured rate (the rest goes to CRIU's dump and the restore) */
		double allowed = best_rate * budget_ms / 5;
		const struct report_round *prev = round - 1;
		if ((double)round->bytes <= allowed || round->bytes < (256u << 10)) {
			snprintf(r->stop_reason, sizeof(r->stop_reason),
				 "dirty set small enough (%" PRIu64 " bytes <= %.0f)", round->bytes,
				 allowed);
			return 0;
		}
		/* round 1 re-sends what was written during round 0, the slowest
		 * (first writes into the target's store): when that covered all of
		 * memory, round 1 is as large as round 0 and says nothing yet */
		if (k >= 2 && (double)round->bytes > 0.9 * (double)prev->bytes) {
			snprintf(r->stop_reason, sizeof(r->stop_reason),
				 "not converging (%" PRIu64 " bytes after %" PRIu64 ")", round->bytes,
				 prev->bytes);
			return 0;
		}
	}
	snprintf(r->stop_reason, sizeof(r->stop_reason), "%d rounds", r->n_rounds);
	return 0;
}

int precopy_final(struct precopy *pc, const char *procs_file, ferry_error_t *err)
{
	double t0 = clock_now_ms();
	struct report_round last = { 0 };
	/* what was copied from replaced mappings is stale: sent again after the dump */
	for (int i = 0; i < pc->n_procs; i++) {
		struct precopy_proc *p = &pc->procs[i];
		if (p->tracking && dirty_track_untracked(&p->t, forget, p, err) < 0)
			return ferry_error_prefix(err, "pre-copy");
	}
	if (scan_and_send(pc, pc->rest_postcopy ? SCAN_DIRTY_FORGET : SCAN_DIRTY, &last, err) < 0)
		return -1;
	for (int i = 0; i < pc->n_procs; i++)
		stop_tracking(&pc->procs[i]);
	pc->report->rest_postcopy = pc->rest_postcopy;
	/* processes started since the tracking began: all their pages go later */
	pid_t *pids = NULL;
	size_t n = 0;
	if (read_pids(procs_file, &pids, &n, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (!find_proc(pc, pids[i]) && !add_proc(pc, pids[i], err))
			rc = -1;
	free(pids);
	pc->report->final_bytes = last.bytes;
	pc->report->final_ms = clock_now_ms() - t0;
	log_info("pre-copy: %" PRIu64 " dirty bytes sent while frozen in %.0f ms", last.bytes,
		 pc->report->final_ms);
	return rc;
}

static struct precopy_proc *proc_by_vpid(struct precopy *pc, uint32_t vpid)
{
	for (int i = 0; i < pc->n_procs; i++)
		if (pc->procs[i].vpid == vpid)
			return &pc->procs[i];
	return NULL;
}

/* Hybrid: the target must not serve [start, end) of p from its store. */
static int send_drop(struct precopy *pc, const struct precopy_proc *p, uint64_t start,
		     uint64_t end, ferry_error_t *err)
{
	uint8_t frame[WIRE_PAGE_DROP_SIZE];
	wire_encode_page_drop(frame, p->vpid, start, end - start);
	if (wire_send(pc->conn, WIRE_PAGE_DROP, frame, sizeof(frame), err) < 0)
		return ferry_error_prefix(err, "hybrid");
	pc->report->rest_bytes += end - start;
	return 0;
}

/* The run [start, end) of lazy pages not sent yet: sent now, or (hybrid) dropped. */
static int send_late_run(struct precopy *pc, struct precopy_proc *p, uint64_t start,
			 uint64_t end, uint64_t *bytes, uint64_t *pages, ferry_error_t *err)
{
	if (pc->rest_postcopy)
		return send_drop(pc, p, start, end, err);
	uint64_t before = *bytes;
	if (send_span(pc, p, start, end, bytes, pages, err) < 0)
		return -1;
	if (*bytes - before != end - start)
		return ferry_error_set(err, 0, "pre-copy: cannot read pages 0x%" PRIx64 "-0x%" PRIx64
					       " of %d", start, end, (int)p->pid);
	return 0;
}

/* Every lazy page of one process's pagemap not sent yet, in runs. */
static int send_late_pagemap(struct precopy *pc, uint32_t vpid, const struct pagemap *pm,
			     uint64_t *bytes, uint64_t *pages, ferry_error_t *err)
{
	struct precopy_proc *p = proc_by_vpid(pc, vpid);
	for (size_t i = 0; i < pm->n; i++) {
		const struct pagemap_entry *e = &pm->e[i];
		if (!pagemap_entry_lazy(e))
			continue;
		if (!p)
			return ferry_error_set(err, 0, "pre-copy: the dump has process %u, "
						       "not in the container's cgroup", vpid);
		uint64_t end = e->vaddr + e->nr_pages * PAGE, run = 0;
		for (uint64_t a = e->vaddr; a <= end; a += PAGE) {
			bool need = a < end && !was_sent(p, a);
			if (need && !run)
				run = a;
			if (!need && run) {
				if (send_late_run(pc, p, run, a, bytes, pages, err) < 0)
					return -1;
				run = 0;
			}
		}
	}
	return 0;
}

int precopy_send_late(struct precopy *pc, const char *images_dir, ferry_error_t *err)
{
	double t0 = clock_now_ms();
	uint64_t bytes = 0, pages = 0;
	_cleanup_dir_ DIR *d = opendir(images_dir);
	if (!d)
		return ferry_error_set(err, errno, "open %s", images_dir);
	struct dirent *de;
	while ((de = readdir(d))) {
		uint32_t vpid = pagemap_name_pid(de->d_name);
		if (!vpid)
			continue;
		char path[PATH_MAX];
		struct pagemap pm;
		snprintf(path, sizeof(path), "%s/%s", images_dir, de->d_name);
		if (pagemap_load(path, &pm, err) < 0)
			return -1;
		int rc = send_late_pagemap(pc, vpid, &pm, &bytes, &pages, err);
		pagemap_free(&pm);
		if (rc < 0)
			return -1;
	}
	pc->report->late_bytes = bytes;
	pc->report->late_ms = clock_now_ms() - t0;
	if (pc->rest_postcopy)
		log_info("hybrid: %" PRIu64 " bytes of lazy pages left to post-copy",
			 pc->report->rest_bytes);
	else
		log_info("pre-copy: %" PRIu64 " bytes of lazy pages not sent before, sent after the dump",
			 bytes);
	return 0;
}

void precopy_release(struct precopy *pc)
{
	for (int i = 0; pc->procs && i < pc->n_procs; i++) {
		struct precopy_proc *p = &pc->procs[i];
		stop_tracking(p);
		for (size_t k = 0; p->sent && k < p->n_ranges; k++)
			free(p->sent[k]);
		free(p->sent);
		free(p->ranges);
		if (p->mem >= 0)
			close(p->mem);
	}
	free(pc->procs);
	free(pc->buf);
	free(pc->todo);
	pc->procs = NULL;
	pc->buf = NULL;
	pc->todo = NULL;
	pc->n_procs = 0;
}

int64_t precopy_sample_dirty_rate(const char *procs_file, int sample_ms, ferry_error_t *err)
{
	pid_t *pids = NULL;
	size_t n = 0;
	if (read_pids(procs_file, &pids, &n, err) < 0)
		return -1;
	struct dirty_tracker *t = calloc(n ? n : 1, sizeof(*t));
	bool *on = calloc(n ? n : 1, sizeof(bool));
	int64_t pages = 0;
	if (!t || !on) {
		free(pids);
		free(t);
		free(on);
		return ferry_error_set(err, ENOMEM, "sample");
	}
	for (size_t i = 0; i < n; i++) {
		ferry_error_t ignore = { 0 };
		on[i] = dirty_track_start(&t[i], pids[i], &ignore) == 0;
	}
	double t0 = clock_now_ms();
	struct timespec ts = { sample_ms / 1000, (long)(sample_ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
	for (size_t i = 0; i < n; i++) {
		ferry_error_t ignore = { 0 };
		int64_t k = on[i] ? dirty_track_scan(&t[i], NULL, NULL, &ignore) : 0;
		if (k > 0)
			pages += k;
		if (on[i])
			dirty_track_stop(&t[i]);
	}
	double ms = clock_now_ms() - t0;
	free(pids);
	free(t);
	free(on);
	return ms > 0 ? (int64_t)((double)pages * PAGE * 1000.0 / ms) : 0;
}
