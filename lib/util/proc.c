/*
 * proc.c - see proc.h.
 */
#include "util/proc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/mman.h>
#include <sys/wait.h>

static void child_setup_fd(int from, int to)
{
	if (from == to) {
		int flags = fcntl(from, F_GETFD);
		if (flags >= 0)
			fcntl(from, F_SETFD, flags & ~FD_CLOEXEC);
		return;
	}
	if (dup2(from, to) < 0)
		_exit(127);
}

static void child_exec(const char *const argv[], const struct proc_opts *o, int out_memfd,
		       int err_memfd)
{
	int devnull = open("/dev/null", O_RDWR);
	if (devnull < 0)
		_exit(127);
	int in = o->stdin_fd >= 0 ? o->stdin_fd : devnull;
	int out = o->stdout_fd >= 0 ? o->stdout_fd : out_memfd;
	int errfd = o->stderr_fd >= 0 ? o->stderr_fd : err_memfd;
	child_setup_fd(in, 0);
	child_setup_fd(out, 1);
	child_setup_fd(errfd, 2);
	/* nothing else of ours leaks into the program (a daemon started from a
	 * test must not hold the test harness's pipes open) */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	for (int i = 0; i < o->n_keep_fds; i++)
		child_setup_fd(o->keep_fds[i], o->keep_fds[i]);
	if (o->new_session)
		setsid();
	if (o->netns_fd > 0 && setns(o->netns_fd, CLONE_NEWNET) < 0) {
		dprintf(2, "enter network namespace: %s\n", strerror(errno));
		_exit(127);
	}
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	execvp(argv[0], (char *const *)argv);
	dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int proc_spawn(const char *const argv[], const struct proc_opts *opts, struct proc *p,
	       ferry_error_t *err)
{
	static const struct proc_opts defaults = { .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1 };
	const struct proc_opts *o = opts ? opts : &defaults;
	snprintf(p->name, sizeof(p->name), "%s", argv[0]);
	p->out_memfd = memfd_create("proc-out", MFD_CLOEXEC);
	p->err_memfd = memfd_create("proc-err", MFD_CLOEXEC);
	if (p->out_memfd < 0 || p->err_memfd < 0)
		return ferry_error_set(err, errno, "memfd for %s", argv[0]);
	p->pid = fork();
	if (p->pid < 0)
		return ferry_error_set(err, errno, "fork for %s", argv[0]);
	if (p->pid == 0)
		child_exec(argv, o, p->out_memfd, p->err_memfd);
	return 0;
}

static char *memfd_contents(int fd)
{
	off_t size = lseek(fd, 0, SEEK_END);
	if (size < 0)
		return strdup("");
	char *buf = malloc((size_t)size + 1);
	if (!buf)
		return NULL;
	ssize_t n = pread(fd, buf, (size_t)size, 0);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* The last few lines of a command's stderr, trimmed, for error messages. */
static const char *stderr_tail(char *text)
{
	size_t len = strlen(text);
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
		text[--len] = '\0';
	int lines = 0;
	for (size_t i = len; i > 0; i--) {
		if (text[i - 1] == '\n' && ++lines == 3)
			return text + i;
	}
	return text;
}

int proc_finish(struct proc *p, char **out, ferry_error_t *err)
{
	int status;
	while (waitpid(p->pid, &status, 0) < 0) {
		if (errno != EINTR) {
			ferry_error_set(err, errno, "wait for %s", p->name);
			goto fail;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		_cleanup_free_ char *e = memfd_contents(p->err_memfd);
		const char *tail = e ? stderr_tail(e) : "";
		if (WIFSIGNALED(status))
			ferry_error_set(err, 0, "%s killed by signal %d%s%s", p->name,
					WTERMSIG(status), *tail ? ": " : "", tail);
		else
			ferry_error_set(err, 0, "%s exited with status %d%s%s", p->name,
					WEXITSTATUS(status), *tail ? ": " : "", tail);
		goto fail;
	}
	if (out)
		*out = memfd_contents(p->out_memfd);
	close(p->out_memfd);
	close(p->err_memfd);
	return 0;
fail:
	close(p->out_memfd);
	close(p->err_memfd);
	return -1;
}

int proc_run(const char *const argv[], char **out, ferry_error_t *err)
{
	struct proc p;
	if (proc_spawn(argv, NULL, &p, err) < 0)
		return -1;
	return proc_finish(&p, out, err);
}

void proc_run_quiet(const char *const argv[])
{
	ferry_error_t err = { 0 };
	if (proc_run(argv, NULL, &err) < 0)
		log_debug("ignored: %s", err.message);
}
