/*
 * pagestore.h - the target's store of pre-copied memory.
 *
 * Pre-copy sends a container's memory while it runs (PAGE_DATA frames:
 * process, address, pages), in rounds, each round overwriting what changed.
 * The target keeps one sparse file per process (offset = address) in its
 * scratch directory, a tmpfs.  After the freeze the source's CRIU makes a
 * lazy dump (no anonymous memory in it).  pagestore_check_images() checks
 * that the store holds every lazy page of the dump's pagemaps (a missing one
 * fails the migration before the commit: it would otherwise come back as
 * zeros), then pagestore_serve_start() runs a page server on this node (a
 * child process in its own session, CRIU's page-server protocol, plain TCP
 * on 127.0.0.1 of the agent's network namespace) from which CRIU's lazy-pages daemon fetches them: the restored
 * process starts at once, its pages come from local memory (sendfile from
 * the store), nothing is copied inside the freeze, and the source is no
 * longer needed after the commit.  PAGE_DATA is peer input: the process
 * count, the address range and the frame size are bounded
 * (wire_parse_page_data); so are the lazy-pages daemon's requests.
 *
 * Hybrid (pre-copy rounds, then post-copy for the rest): PAGE_DROP frames
 * remove pages that changed after they were sent (pagestore_drop), the
 * store check counts what is missing instead of failing, and the page server
 * gets an upstream: a mutual-TLS connection to CRIU's page server on the
 * source, opened by the agent before the restore (so that a refused one
 * fails the migration before the commit); the page server is then
 * pagefetch.h's loop, which fills the store from upstream while it serves.
 */
#ifndef FERRY_PAGESTORE_H
#define FERRY_PAGESTORE_H

#include <stdbool.h>
#include <stdint.h>
#include "util/error.h"
#include "wire/conn.h"
#include "wire/frame.h"

#define PAGESTORE_MAX_PROCS 1024
#define PAGESTORE_ACCEPT_TIMEOUT_MS (60 * 1000) /* for CRIU's lazy-pages daemon to connect */

struct ps_iov;

/* Pages [start, end) of process pid (as CRIU names it). */
struct pagestore_run {
	uint32_t pid;
	uint64_t start, end;
};

struct pagestore_runs {
	struct pagestore_run *v;
	size_t n, cap;
};

struct pagestore {
	char dir[4096];
	struct pagestore_proc {
		uint32_t pid;
		int fd;
		struct pagestore_span { uint64_t start, end; } *spans; /* received, sorted, merged */
		size_t n_spans, cap_spans;
	} procs[PAGESTORE_MAX_PROCS];
	int n_procs;
	uint64_t bytes;        /* received */
	uint64_t lazy_bytes;   /* lazy pages of the dump */
	uint64_t missing_bytes; /* hybrid: lazy pages the store does not hold */
	uint64_t dropped_bytes; /* hybrid: PAGE_DROP ranges received */
	struct wire_conn upstream; /* hybrid: CRIU's page server on the source, or fd -1 */
	struct pagestore_runs missing; /* hybrid: lazy pages the store lacks */
	pid_t server;          /* the page server's process, 0 if none */
};

void pagestore_init(struct pagestore *ps, const char *dir);
int pagestore_write(struct pagestore *ps, const struct wire_page_data *pd, ferry_error_t *err);
/* Hybrid: forgets pages that changed after they were sent. */
int pagestore_drop(struct pagestore *ps, const struct wire_page_drop *pd, ferry_error_t *err);
/* The store holds all of [start, end) of process pid. */
bool pagestore_holds(const struct pagestore *ps, uint32_t pid, uint64_t start, uint64_t end);
/* Where the run of pid's pages that starts at addr ends (at most at end),
 * and whether the store holds it. */
uint64_t pagestore_run_end(const struct pagestore *ps, uint32_t pid, uint64_t addr, uint64_t end,
			   bool *held);
/* Appends a run; -1 when out of memory. */
int pagestore_runs_add(struct pagestore_runs *runs, uint32_t pid, uint64_t start, uint64_t end);
void pagestore_runs_free(struct pagestore_runs *runs);
/* Fails unless the store holds every lazy page of images_dir's pagemaps;
 * with an upstream (hybrid), lists the missing ones instead. */
int pagestore_check_images(struct pagestore *ps, const char *images_dir, ferry_error_t *err);
/* Starts the page server on address (port chosen); out: "address:port".
 * An upstream set before goes with it (this process forgets its copy). */
int pagestore_serve_start(struct pagestore *ps, const char *address, char out[64],
			  ferry_error_t *err);
/* Accepts CRIU's lazy-pages daemon on the listening socket ls (within
 * PAGESTORE_ACCEPT_TIMEOUT_MS); the connection, or -1. */
int pagestore_accept_daemon(int ls);
/* Answers one GET of CRIU's lazy-pages daemon from the store. */
int pagestore_serve_request(struct pagestore *ps, int sk, const struct ps_iov *pi);
/* Stops it (the lazy-pages daemon has every page, or the migration failed). */
void pagestore_serve_stop(struct pagestore *ps);
void pagestore_release(struct pagestore *ps);

#endif
