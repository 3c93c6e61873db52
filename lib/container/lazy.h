/*
 * lazy.h - CRIU's lazy-pages daemon on the target of a post-copy migration.
 *
 * The daemon connects to ferry's page server on the target (pagestore.h,
 * 127.0.0.1, plain TCP: it speaks TLS only to a CRIU page server), takes over
 * the userfaultfds of the restored processes (through lazy-pages.socket in
 * the restore's work directory), serves their page faults on demand and
 * pulls all remaining pages in the background.  It exits when every page has
 * arrived; in post-copy and hybrid, until then the container's memory lives
 * partly on the source (ferry's page server fetches it from there).
 */
#ifndef FERRY_LAZY_H
#define FERRY_LAZY_H

#include "util/error.h"
#include "util/proc.h"

/* Starts the daemon for images in image_dir, working (and listening) in
 * work_dir, fetching from page_server ("ip:port"); returns once it listens. */
int lazy_daemon_start(const char *image_dir, const char *work_dir, const char *page_server,
		      struct proc *p, ferry_error_t *err);
/* Stops a daemon that is no longer wanted (rollback). */
void lazy_daemon_kill(struct proc *p);

#endif
