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
 */
#ifndef FERRY_PAGESTORE_H
#define FERRY_PAGESTORE_H

#include <stdint.h>
#include "util/error.h"
#include "wire/frame.h"

#define PAGESTORE_MAX_PROCS 1024

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
	pid_t server;          /* the page server's process, 0 if none */
};

void pagestore_init(struct pagestore *ps, const char *dir);
int pagestore_write(struct pagestore *ps, const struct wire_page_data *pd, ferry_error_t *err);
/* Fails unless the store holds every lazy page of images_dir's pagemaps. */
int pagestore_check_images(struct pagestore *ps, const char *images_dir, ferry_error_t *err);
/* Starts the page server on address (port chosen); out: "address:port". */
int pagestore_serve_start(struct pagestore *ps, const char *address, char out[64],
			  ferry_error_t *err);
/* Stops it (the lazy-pages daemon has every page, or the migration failed). */
void pagestore_serve_stop(struct pagestore *ps);
void pagestore_release(struct pagestore *ps);

#endif
