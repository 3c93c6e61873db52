/*
 * runc.c - see runc.h.
 */
#include "container/runc.h"
#include "sandbox/config.h"
#include "util/cleanup.h"
#include "util/fs.h"

#include <limits.h>
#include <unistd.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

void runc_ctx_init(struct runc_ctx *r, const char *node)
{
	config_runc_root(r->root, sizeof(r->root), node);
}

/* argv = runc --root R --criu C [--log L] <rest...>; rest is NULL-terminated */
static void runc_argv_log(const struct runc_ctx *r, const char *log, const char **argv,
			  size_t max, const char *const *rest)
{
	size_t i = 0;
	argv[i++] = config_get()->runc;
	argv[i++] = "--root";
	argv[i++] = r->root;
	argv[i++] = "--criu";
	argv[i++] = config_get()->criu;
	if (log) {
		argv[i++] = "--log";
		argv[i++] = log;
	}
	for (; *rest && i + 1 < max; rest++)
		argv[i++] = *rest;
	argv[i] = NULL;
}

static void runc_argv(const struct runc_ctx *r, const char **argv, size_t max,
		      const char *const *rest)
{
	runc_argv_log(r, NULL, argv, max, rest);
}

/* The last error line runc wrote to its log file (its stderr belongs to the
 * container when it starts one, so errors are read back from --log). */
static void append_log_tail(const char *log, ferry_error_t *err)
{
	_cleanup_free_ char *text = fs_read_file(log, NULL, NULL);
	if (!text)
		return;
	char *last = NULL;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		if (strstr(line, "level=error"))
			last = line;
	if (!last)
		return;
	char *msg = strstr(last, "msg=\"");
	if (msg) {
		msg += 5;
		char *end = strrchr(msg, '"');
		if (end)
			*end = '\0';
	}
	ferry_error_set(err, 0, "runc: %s", msg ? msg : last);
}

static int run_with_stdio(const struct runc_ctx *r, const char *log, const char *const *rest,
			  const struct runc_stdio *stdio, ferry_error_t *err)
{
	const char *argv[32];
	struct proc_opts opts = { .stdin_fd = stdio->in, .stdout_fd = stdio->out,
				  .stderr_fd = stdio->err };
	struct proc p;
	unlink(log);
	runc_argv_log(r, log, argv, 32, rest);
	if (proc_spawn(argv, &opts, &p, err) < 0)
		return -1;
	if (proc_finish(&p, NULL, err) < 0) {
		append_log_tail(log, err);
		return -1;
	}
	return 0;
}

int runc_run_detached(const struct runc_ctx *r, const char *bundle, const char *id,
		      const struct runc_stdio *stdio, ferry_error_t *err)
{
	char log[PATH_MAX];
	snprintf(log, sizeof(log), "%s/runc.log", bundle);
	const char *rest[] = { "run", "--detach", "--bundle", bundle, id, NULL };
	if (run_with_stdio(r, log, rest, stdio, err) < 0)
		return ferry_error_prefix(err, "start container %s", id);
	return 0;
}

static int parse_state(const char *text, char status[32], pid_t *pid, ferry_error_t *err)
{
	_cleanup_json_ json_object *st = json_tokener_parse(text);
	json_object *v;
	if (!st || !json_object_object_get_ex(st, "status", &v))
		return ferry_error_set(err, 0, "runc state: unexpected output");
	snprintf(status, 32, "%s", json_object_get_string(v));
	if (pid)
		*pid = json_object_object_get_ex(st, "pid", &v) ? json_object_get_int(v) : 0;
	return 0;
}

int runc_state(const struct runc_ctx *r, const char *id, char status[32], pid_t *pid,
	       ferry_error_t *err)
{
	const char *argv[16];
	_cleanup_free_ char *out = NULL;
	runc_argv(r, argv, 16, (const char *[]){ "state", id, NULL });
	if (proc_run(argv, &out, err) < 0) {
		if (err && strstr(err->message, "does not exist"))
			err->errno_value = ENOENT;
		return -1;
	}
	return parse_state(out, status, pid, err);
}

static int simple(const struct runc_ctx *r, const char *verb, const char *id, ferry_error_t *err)
{
	const char *argv[16];
	runc_argv(r, argv, 16, (const char *[]){ verb, id, NULL });
	if (proc_run(argv, NULL, err) < 0)
		return ferry_error_prefix(err, "runc %s %s", verb, id);
	return 0;
}

int runc_resume(const struct runc_ctx *r, const char *id, ferry_error_t *err)
{
	return simple(r, "resume", id, err);
}

void runc_destroy(const struct runc_ctx *r, const char *id)
{
	const char *argv[16];
	runc_argv(r, argv, 16, (const char *[]){ "kill", id, "KILL", NULL });
	proc_run_quiet(argv);
	runc_argv(r, argv, 16, (const char *[]){ "delete", "--force", id, NULL });
	proc_run_quiet(argv);
}

int runc_checkpoint_spawn(const struct runc_ctx *r, const char *id,
			  const struct runc_checkpoint_opts *o, struct proc *p, ferry_error_t *err)
{
	const char *argv[32];
	const char *rest[24];
	char status_fd[16];
	size_t i = 0;
	rest[i++] = "checkpoint";
	rest[i++] = "--image-path";
	rest[i++] = o->image_dir;
	rest[i++] = "--work-path";
	rest[i++] = o->work_dir;
	rest[i++] = "--tcp-established";
	rest[i++] = "--file-locks";
	if (o->leave_running)
		rest[i++] = "--leave-running";
	if (o->lazy_page_server) {
		snprintf(status_fd, sizeof(status_fd), "%d", o->status_fd);
		rest[i++] = "--lazy-pages";
		rest[i++] = "--page-server";
		rest[i++] = o->lazy_page_server;
		rest[i++] = "--status-fd";
		rest[i++] = status_fd;
	}
	rest[i++] = id;
	rest[i] = NULL;
	runc_argv(r, argv, 32, rest);
	/* own process group: a rollback must be able to stop runc and its CRIU */
	struct proc_opts opts = { .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1,
				  .new_session = true,
				  .keep_fds = o->lazy_page_server ? &o->status_fd : NULL,
				  .n_keep_fds = o->lazy_page_server ? 1 : 0 };
	return proc_spawn(argv, &opts, p, err);
}

int runc_restore(const struct runc_ctx *r, const char *bundle, const char *id,
		 const char *image_dir, const char *work_dir, bool lazy,
		 const struct runc_stdio *stdio, ferry_error_t *err)
{
	char log[PATH_MAX];
	snprintf(log, sizeof(log), "%s/runc.log", work_dir);
	const char *rest[] = { "restore", "--detach", "--tcp-established", "--file-locks",
			       "--image-path", image_dir, "--work-path", work_dir,
			       "--bundle", bundle, lazy ? "--lazy-pages" : id, lazy ? id : NULL,
			       NULL };
	if (run_with_stdio(r, log, rest, stdio, err) < 0)
		return ferry_error_prefix(err, "restore container %s (CRIU log: %s/restore.log)", id,
					  work_dir);
	return 0;
}
