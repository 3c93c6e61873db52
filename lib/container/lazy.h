/*
 * lazy.h - CRIU's lazy-pages daemon on the target of a post-copy migration.
 *
 * The daemon connects to the page server that the source's CRIU keeps open
 * after a lazy dump, takes over the userfaultfds of the restored processes
 * (through lazy-pages.socket in the restore's work directory), serves their
 * page faults from the source on demand and pulls all remaining pages in the
 * background.  It exits when every page has arrived; until then the
 * container's memory lives partly on the source.
 */
#ifndef FERRY_LAZY_H
#define FERRY_LAZY_H

#include "util/error.h"
#include "util/proc.h"

/* Starts the daemon for images in image_dir, working (and listening) in
 * work_dir, fetching from page_server ("ip:port") with the options of
 * criu_conf (NULL: none; pre-copy's local page server speaks plain TCP);
 * returns once it listens. */
int lazy_daemon_start(const char *image_dir, const char *work_dir, const char *page_server,
		      const char *criu_conf,
		      struct proc *p, ferry_error_t *err);
/* Stops a daemon that is no longer wanted (rollback). */
void lazy_daemon_kill(struct proc *p);

#endif
