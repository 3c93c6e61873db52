/*
 * proc.h - running the external programs ferry drives (runc, criu, ip, nft).
 *
 * Output is captured into memfds rather than pipes so that a child that
 * writes a lot while the parent is busy streaming can never block on a full
 * pipe.  A failed command becomes an error object carrying its exit status and
 * the tail of its stderr, which is what an operator needs to see.
 */
#ifndef FERRY_PROC_H
#define FERRY_PROC_H

#include <sys/types.h>
#include "util/error.h"

struct proc_opts {
	int stdin_fd;     /* -1: /dev/null */
	int stdout_fd;    /* -1: captured */
	int stderr_fd;    /* -1: captured */
	const int *keep_fds;   /* extra fds inherited by the child as-is */
	int n_keep_fds;
	bool new_session; /* setsid() in the child */
	int netns_fd;     /* > 0: the child enters this network namespace first */
};

struct proc {
	pid_t pid;
	int out_memfd;
	int err_memfd;
	char name[64];
};

int proc_spawn(const char *const argv[], const struct proc_opts *opts, struct proc *p,
	       ferry_error_t *err);
/* Waits for p; on success returns 0 and (if out != NULL) its stdout, malloc'ed.
 * A non-zero exit or a signal is an error with the stderr tail. */
int proc_finish(struct proc *p, char **out, ferry_error_t *err);
/* spawn + finish with default options. */
int proc_run(const char *const argv[], char **out, ferry_error_t *err);
/* Like proc_run, but a failure is only logged at debug level: for idempotent
 * cleanup steps whose target may already be gone. */
void proc_run_quiet(const char *const argv[]);

#endif
