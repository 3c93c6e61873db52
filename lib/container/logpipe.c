/*
 * logpipe.c - see logpipe.h.
 */
#include "container/logpipe.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void logger_main(int in, int out_of_stdin, const char *log_path)
{
	char buf[65536];
	int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	prctl(PR_SET_NAME, "ferry-logger");
	if (log < 0)
		_exit(1);
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		fs_write_all(log, buf, (size_t)n);
	}
	close(out_of_stdin);
	_exit(0);
}

/* Double fork so the logger is re-parented to init and needs no reaping. */
static int spawn_logger(int out_read, int in_write, const struct logpipe *lp, const char *log_path,
			ferry_error_t *err)
{
	pid_t pid = fork();
	if (pid < 0)
		return ferry_error_set(err, errno, "fork logger");
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		signal(SIGPIPE, SIG_IGN);
		/* keep only the two pipe ends: inherited listeners or locks of the
		 * agent must not live on in a process that outlives it */
		if (dup2(out_read, 0) < 0 || dup2(in_write, 1) < 0)
			_exit(1);
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, 2);
		close_range(3, ~0U, 0);
		/* stdin's write end (fd 1) stays open so the container never sees EOF */
		logger_main(0, 1, log_path);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return 0;
}

int logpipe_start(const char *log_path, struct logpipe *lp, ferry_error_t *err)
{
	int out[2], in[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		return ferry_error_set(err, errno, "pipe");
	if (pipe2(in, O_CLOEXEC) < 0) {
		close(out[0]);
		close(out[1]);
		return ferry_error_set(err, errno, "pipe");
	}
	lp->stdin_read = in[0];
	lp->output_write = out[1];
	int rc = spawn_logger(out[0], in[1], lp, log_path, err);
	close(out[0]);
	close(in[1]);
	if (rc < 0)
		logpipe_close(lp);
	return rc;
}

void logpipe_close(struct logpipe *lp)
{
	if (lp->stdin_read >= 0)
		close(lp->stdin_read);
	if (lp->output_write >= 0)
		close(lp->output_write);
	lp->stdin_read = lp->output_write = -1;
}
