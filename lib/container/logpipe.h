/*
 * logpipe.h - container stdout/stderr capture.
 *
 * A container's stdio are pipes, never host files: CRIU cannot dump an fd
 * that points at a host file outside the container's mounts, but it dumps a
 * pipe as an external resource that the restoring side reconnects.  A small
 * detached logger process (forked, in its own session, so it outlives the
 * agent) drains the pipe into the container's log file.
 */
#ifndef FERRY_LOGPIPE_H
#define FERRY_LOGPIPE_H

#include "util/error.h"

struct logpipe {
	int stdin_read;   /* give to the container as fd 0 (nothing is ever written) */
	int output_write; /* give to the container as fds 1 and 2 */
};

/* Starts the logger appending to log_path; the caller closes both fds once
 * runc has handed them to the container. */
int logpipe_start(const char *log_path, struct logpipe *lp, ferry_error_t *err);
void logpipe_close(struct logpipe *lp);

#endif
