/*
 * tcprepair.c - see tcprepair.h.
 */
#include "container/tcprepair.h"
#include "util/cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef TCP_REPAIR_OFF
#define TCP_REPAIR_OFF 0
#endif

static bool is_tcp(int fd)
{
	int type, domain;
	socklen_t len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM)
		return false;
	len = sizeof(domain);
	return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 &&
	       (domain == AF_INET || domain == AF_INET6);
}

static int release_process(pid_t pid)
{
	char dir[64], path[PATH_MAX], link[64];
	int released = 0;
	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	_cleanup_dir_ DIR *d = opendir(dir);
	_cleanup_fd_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct dirent *de;
	while (d && pidfd >= 0 && (de = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strncmp(link, "socket:", 7))
			continue;
		_cleanup_fd_ int sock = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(de->d_name), 0);
		int off = TCP_REPAIR_OFF;
		if (sock >= 0 && is_tcp(sock) &&
		    setsockopt(sock, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off)) == 0)
			released++;
	}
	return released;
}

int tcp_repair_release(const char *procs_file, ferry_error_t *err)
{
	_cleanup_file_ FILE *f = fopen(procs_file, "re");
	if (!f)
		return ferry_error_set(err, errno, "open %s", procs_file);
	int pid, total = 0;
	while (fscanf(f, "%d", &pid) == 1)
		total += release_process(pid);
	return total;
}
