/*
 * fs.c - see fs.h.
 */
#include "util/fs.h"
#include "util/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int fs_mkdir_p(const char *path, mode_t mode, ferry_error_t *err)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return ferry_error_set(err, ENAMETOOLONG, "mkdir %s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return ferry_error_set(err, errno, "mkdir %s", buf);
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return ferry_error_set(err, errno, "mkdir %s", buf);
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int rc = (flag == FTW_DP) ? rmdir(path) : unlink(path);
	return (rc < 0 && errno != ENOENT) ? -1 : 0;
}

int fs_rm_rf(const char *path, ferry_error_t *err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : ferry_error_set(err, errno, "stat %s", path);
	if (nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		return ferry_error_set(err, errno, "remove %s", path);
	return 0;
}

char *fs_read_file(const char *path, size_t *len, ferry_error_t *err)
{
	_cleanup_fd_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ferry_error_set(err, errno, "open %s", path);
		return NULL;
	}
	size_t cap = 4096, used = 0;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf) {
		ferry_error_set(err, ENOMEM, "read %s", path);
		return NULL;
	}
	for (;;) {
		if (used + 1 >= cap) {
			char *grown = realloc(buf, cap * 2);
			if (!grown) {
				ferry_error_set(err, ENOMEM, "read %s", path);
				return NULL;
			}
			buf = grown;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + used, cap - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ferry_error_set(err, errno, "read %s", path);
			return NULL;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	if (len)
		*len = used;
	return take_ptr(buf);
}

int fs_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t fs_read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int write_via_rename(const char *path, const void *data, size_t len, bool durable,
			    ferry_error_t *err)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, getpid()) >= (int)sizeof(tmp))
		return ferry_error_set(err, ENAMETOOLONG, "write %s", path);
	_cleanup_fd_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return ferry_error_set(err, errno, "create %s", tmp);
	if (fs_write_all(fd, data, len) < 0 || (durable && fsync(fd) < 0)) {
		int e = errno;
		unlink(tmp);
		return ferry_error_set(err, e, "write %s", tmp);
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return ferry_error_set(err, e, "rename %s", path);
	}
	return 0;
}

int fs_write_file_atomic(const char *path, const void *data, size_t len, ferry_error_t *err)
{
	return write_via_rename(path, data, len, true, err);
}

int fs_replace_file(const char *path, const void *data, size_t len, ferry_error_t *err)
{
	return write_via_rename(path, data, len, false, err);
}

bool fs_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void copy_file(const char *from, const char *to)
{
	_cleanup_fd_ int in = open(from, O_RDONLY | O_CLOEXEC);
	_cleanup_fd_ int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char buf[65536];
	ssize_t n;
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (fs_write_all(out, buf, (size_t)n) < 0)
			break;
}

static void keep_logs_in(const char *dir, const char *keep_dir)
{
	_cleanup_dir_ DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char from[PATH_MAX], to[PATH_MAX];
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.')
			continue;
		snprintf(from, sizeof(from), "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR) {
			keep_logs_in(from, keep_dir);
			continue;
		}
		if (len < 4 || strcmp(de->d_name + len - 4, ".log"))
			continue;
		snprintf(to, sizeof(to), "%s/%s", keep_dir, de->d_name);
		copy_file(from, to);
	}
}

void fs_keep_logs_and_remove(const char *dir, const char *keep_dir)
{
	ferry_error_t ignore = { 0 };
	if (fs_rm_rf(keep_dir, &ignore) == 0 && fs_mkdir_p(keep_dir, 0700, &ignore) == 0)
		keep_logs_in(dir, keep_dir);
	fs_rm_rf(dir, &ignore);
}
