/*
 * precopy.h - the source half of pre-copy: memory sent while the container runs.
 *
 * Each process of the container (its cgroup's procs) gets a dirty tracker
 * (memtrack/dirty.h: userfaultfd write-protect, PAGEMAP_SCAN).  Round 0
 * sends every page holding data in the tracked ranges (the private writable
 * mappings), round k the pages written during round k-1 and, whole, the
 * private writable mappings that appeared since (then tracked too), as PAGE_DATA
 * frames on the migration connection, read with pread on /proc/PID/mem.
 * The rounds stop when the last one is small enough to send within a fifth
 * of the downtime budget at the measured rate, when a round (from round 2 on)
 * no longer shrinks by 10%, or after PRECOPY_MAX_ROUNDS.
 *
 * At the freeze: a final scan (the set is final: nothing runs), the pages
 * of tracked ranges that were replaced since tracking began are forgotten,
 * the trackers are stopped (CRIU cannot dump a process with userfaultfd
 * state), and the last dirty pages are sent.  CRIU then makes a lazy dump
 * (no anonymous memory in it); precopy_send_late() reads its pagemaps and
 * sends every lazy page not already sent (mappings created after tracking
 * began, processes started since), so that the target holds all of them.
 * Each process keeps a bitmap of the pages it has sent per tracked range.
 *
 * Hybrid (rest_postcopy): the freeze sends no memory at all.  The final scan
 * only marks the dirty pages unsent, and precopy_send_late() sends PAGE_DROP
 * frames for every run of lazy pages not validly sent: the target forgets
 * those pages and its page server fetches them from CRIU's page server on
 * this node after the restore (pagestore.h), as post-copy does for all.
 */
#ifndef FERRY_PRECOPY_H
#define FERRY_PRECOPY_H

#include <stdint.h>
#include <sys/types.h>
#include "memtrack/dirty.h"
#include "migrate/report.h"
#include "util/error.h"
#include "wire/conn.h"

#define PRECOPY_MAX_ROUNDS 8
#define PRECOPY_CHUNK (4u << 20)
#define PRECOPY_MAX_PROCS 1024

struct precopy_proc {
	pid_t pid;               /* in the host's namespace */
	uint32_t vpid;           /* as CRIU names it: the pid in the container's namespace */
	int mem;                 /* /proc/PID/mem */
	struct dirty_tracker t;
	bool tracking;
	struct dirty_range *ranges; /* copy of the tracked ranges */
	uint64_t **sent;         /* per range: a bit per page sent */
	size_t n_ranges;
};

struct precopy_span {
	uint64_t start, end;
};

struct precopy {
	struct precopy_proc *procs; /* PRECOPY_MAX_PROCS of them */
	int n_procs;
	struct wire_conn *conn;
	struct precopy_report *report;
	uint8_t *buf;            /* PAGE_DATA header + PRECOPY_CHUNK */
	struct precopy_span *todo;
	size_t n_todo, cap_todo;
	int todo_error;
	uint64_t max_bytes_per_s; /* --max-bandwidth, 0: none */
	double pace_start;
	uint64_t pace_bytes;
	uint64_t *bytes_sent;    /* the report's running total */
	bool rest_postcopy;      /* hybrid: the last dirty set and the late pages go post-copy */
	void (*progress)(void *); /* called after each round */
	void *progress_data;
};

/* Starts tracking every process listed in procs_file (cgroup.procs). */
int precopy_start(struct precopy *pc, const char *procs_file, struct wire_conn *conn,
		  struct precopy_report *report, uint64_t *bytes_sent, ferry_error_t *err);
/* The rounds, until the stop rule holds; budget_ms: the downtime budget. */
int precopy_rounds(struct precopy *pc, int budget_ms, ferry_error_t *err);
/* Frozen: final scan, trackers stopped, last dirty pages sent (or, with
 * rest_postcopy, only marked unsent); learns the processes started since
 * precopy_start from procs_file. */
int precopy_final(struct precopy *pc, const char *procs_file, ferry_error_t *err);
/* After CRIU's lazy dump: every lazy page of its pagemaps not sent yet (or,
 * with rest_postcopy, a PAGE_DROP for each run of them: the target fetches
 * them from CRIU's page server here instead). */
int precopy_send_late(struct precopy *pc, const char *images_dir, ferry_error_t *err);
/* Stops any tracker still running and frees everything (any time). */
void precopy_release(struct precopy *pc);

/* auto's measurement: bytes per second the container's processes write,
 * over sample_ms (trackers started and stopped here); -1 on failure. */
int64_t precopy_sample_dirty_rate(const char *procs_file, int sample_ms, ferry_error_t *err);

#endif
