/*
 * runc.h - driving runc (and, through it, CRIU) for one node.
 *
 * Each node has its own runc state root, so the same container id can exist on
 * the source and the target node during a migration.  runc is always started
 * with `--criu` pointing at the CRIU that `make deps` installed.
 */
#ifndef FERRY_RUNC_H
#define FERRY_RUNC_H

#include <stdbool.h>
#include <sys/types.h>
#include "util/error.h"
#include "util/proc.h"

struct runc_ctx {
	char root[256];    /* runc --root */
};

struct runc_stdio {
	int in, out, err;  /* fds the container's process gets as 0, 1, 2 */
};

struct runc_checkpoint_opts {
	const char *image_dir;
	const char *work_dir;
	bool leave_running;
	const char *lazy_page_server; /* "ip:port": dump all but memory, then serve
				       * pages from there (post-copy); NULL: off */
	int status_fd;                /* CRIU writes \0 here when lazy dump is ready */
};

void runc_ctx_init(struct runc_ctx *r, const char *node);

int runc_run_detached(const struct runc_ctx *r, const char *bundle, const char *id,
		      const struct runc_stdio *stdio, ferry_error_t *err);
/* status: "running", "paused", "stopped", ... ; pid may be NULL. A missing
 * container is an error with errno_value ENOENT. */
int runc_state(const struct runc_ctx *r, const char *id, char status[32], pid_t *pid,
	       ferry_error_t *err);
int runc_resume(const struct runc_ctx *r, const char *id, ferry_error_t *err);
/* SIGKILL + delete --force; a missing container is not an error. */
void runc_destroy(const struct runc_ctx *r, const char *id);
/* Starts `runc checkpoint` without waiting; finish with proc_finish(). */
int runc_checkpoint_spawn(const struct runc_ctx *r, const char *id,
			  const struct runc_checkpoint_opts *o, struct proc *p, ferry_error_t *err);
/* lazy: memory comes from a `criu lazy-pages` daemon working in work_dir */
int runc_restore(const struct runc_ctx *r, const char *bundle, const char *id,
		 const char *image_dir, const char *work_dir, bool lazy,
		 const struct runc_stdio *stdio, ferry_error_t *err);

#endif
