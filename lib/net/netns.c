/*
 * netns.c - see netns.h.
 */
#include "net/netns.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static const char *netns_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "/run/netns/%s", name);
	return buf;
}

bool netns_exists(const char *name)
{
	char path[PATH_MAX];
	return fs_exists(netns_path(path, sizeof(path), name));
}

int netns_create(const char *name, ferry_error_t *err)
{
	if (netns_exists(name))
		return 0;
	const char *argv[] = { "ip", "netns", "add", name, NULL };
	if (proc_run(argv, NULL, err) < 0)
		return ferry_error_prefix(err, "create network namespace %s", name);
	return 0;
}

void netns_delete(const char *name)
{
	if (!netns_exists(name))
		return;
	const char *argv[] = { "ip", "netns", "delete", name, NULL };
	proc_run_quiet(argv);
}

int netns_open(const char *name, ferry_error_t *err)
{
	char path[PATH_MAX];
	int fd = open(netns_path(path, sizeof(path), name), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ferry_error_set(err, errno, "open network namespace %s", name);
	return fd;
}

int netns_enter(const char *name, ferry_error_t *err)
{
	_cleanup_fd_ int fd = netns_open(name, err);
	if (fd < 0)
		return -1;
	if (setns(fd, CLONE_NEWNET) < 0)
		return ferry_error_set(err, errno, "enter network namespace %s", name);
	return 0;
}

static int run_with_stdin(const char *const argv[], const char *input, int netns_fd,
			  ferry_error_t *err)
{
	_cleanup_fd_ int in = memfd_create("ferry-stdin", MFD_CLOEXEC);
	if (in < 0)
		return ferry_error_set(err, errno, "memfd");
	if (fs_write_all(in, input, strlen(input)) < 0 || lseek(in, 0, SEEK_SET) < 0)
		return ferry_error_set(err, errno, "memfd write");
	struct proc_opts opts = { .stdin_fd = in, .stdout_fd = -1, .stderr_fd = -1,
				  .netns_fd = netns_fd };
	struct proc p;
	if (proc_spawn(argv, &opts, &p, err) < 0)
		return -1;
	return proc_finish(&p, NULL, err);
}

int netns_ip_batch(const char *ns, const char *commands, ferry_error_t *err)
{
	const char *with_ns[] = { "ip", "-n", ns, "-batch", "-", NULL };
	const char *host[] = { "ip", "-batch", "-", NULL };
	return run_with_stdin(ns ? with_ns : host, commands, -1, err);
}

int netns_ip_batch_fd(int netns_fd, const char *commands, ferry_error_t *err)
{
	const char *argv[] = { "ip", "-batch", "-", NULL };
	return run_with_stdin(argv, commands, netns_fd, err);
}

int netns_nft(const char *ns, const char *ruleset, ferry_error_t *err)
{
	/* setns + exec rather than `ip netns exec`: this runs inside freezes */
	const char *argv[] = { "nft", "-f", "-", NULL };
	_cleanup_fd_ int fd = ns ? netns_open(ns, err) : -1;
	if (ns && fd < 0)
		return -1;
	return run_with_stdin(argv, ruleset, fd, err);
}

int netns_nft_fd(int netns_fd, const char *ruleset, ferry_error_t *err)
{
	const char *argv[] = { "nft", "-f", "-", NULL };
	return run_with_stdin(argv, ruleset, netns_fd, err);
}

int netns_sysctl(const char *ns, const char *key, const char *value, ferry_error_t *err)
{
	char arg[256];
	snprintf(arg, sizeof(arg), "%s=%s", key, value);
	const char *with_ns[] = { "ip", "netns", "exec", ns, "sysctl", "-q", "-w", arg, NULL };
	const char *host[] = { "sysctl", "-q", "-w", arg, NULL };
	return proc_run(ns ? with_ns : host, NULL, err);
}
