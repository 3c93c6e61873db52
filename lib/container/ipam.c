/*
 * ipam.c - see ipam.h.
 */
#include "container/ipam.h"
#include "sandbox/config.h"
#include "util/cleanup.h"
#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>

static const char *ipam_dir(char *buf, size_t len)
{
	snprintf(buf, len, "%s/ipam", config_get()->state_dir);
	return buf;
}

static int lock_ipam(ferry_error_t *err)
{
	char dir[PATH_MAX], lock[PATH_MAX + 8];
	if (fs_mkdir_p(ipam_dir(dir, sizeof(dir)), 0700, err) < 0)
		return -1;
	snprintf(lock, sizeof(lock), "%s/.lock", dir);
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		ferry_error_set(err, errno, "lock %s", lock);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int ipam_lookup(const char *owner, char ip[16])
{
	char dir[PATH_MAX], path[PATH_MAX * 2];
	_cleanup_dir_ DIR *d = opendir(ipam_dir(dir, sizeof(dir)));
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		_cleanup_free_ char *who = fs_read_file(path, NULL, NULL);
		if (who && strcmp(who, owner) == 0 && strlen(de->d_name) < 16) {
			strcpy(ip, de->d_name);
			return 0;
		}
	}
	return -1;
}

int ipam_allocate(const char *owner, char ip[16], ferry_error_t *err)
{
	char dir[PATH_MAX], path[PATH_MAX * 2];
	_cleanup_fd_ int lock = lock_ipam(err);
	if (lock < 0)
		return -1;
	if (ipam_lookup(owner, ip) == 0)
		return 0;
	ipam_dir(dir, sizeof(dir));
	/* 10.88.0.0/16 minus network/broadcast-looking ends of each /24 */
	for (int hi = 0; hi < 256; hi++) {
		for (int lo = 2; lo < 255; lo++) {
			snprintf(ip, 16, "10.88.%d.%d", hi, lo);
			snprintf(path, sizeof(path), "%s/%s", dir, ip);
			if (fs_exists(path))
				continue;
			return fs_write_file_atomic(path, owner, strlen(owner), err);
		}
	}
	return ferry_error_set(err, 0, "pod address range 10.88.0.0/16 is exhausted");
}

void ipam_release(const char *ip)
{
	char dir[PATH_MAX], path[PATH_MAX * 2];
	ferry_error_t err = { 0 };
	_cleanup_fd_ int lock = lock_ipam(&err);
	if (lock < 0 || !ip[0])
		return;
	snprintf(path, sizeof(path), "%s/%s", ipam_dir(dir, sizeof(dir)), ip);
	unlink(path);
}
