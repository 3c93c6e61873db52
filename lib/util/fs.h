/*
 * fs.h - small filesystem helpers: recursive mkdir and removal, whole-file
 * reads, atomic writes, and full-length read/write loops on fds.
 */
#ifndef FERRY_FS_H
#define FERRY_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "util/error.h"

int fs_mkdir_p(const char *path, mode_t mode, ferry_error_t *err);
/* Removes path and everything below it; a missing path is not an error.
 * Does not cross into other mounts: a mount point below path fails. */
int fs_rm_rf(const char *path, ferry_error_t *err);
/* Reads a whole file (NUL-terminated). *len may be NULL. Returns NULL on error. */
char *fs_read_file(const char *path, size_t *len, ferry_error_t *err);
/* Writes via a temporary file, fsync and rename(), so readers see old or new,
 * even after a power loss. */
int fs_write_file_atomic(const char *path, const void *data, size_t len, ferry_error_t *err);
/* The same without fsync: atomic against process crashes only, for runtime
 * markers written inside a freeze, where a disk flush would add downtime. */
int fs_replace_file(const char *path, const void *data, size_t len, ferry_error_t *err);
int fs_write_all(int fd, const void *buf, size_t len);
/* Returns bytes read (< len only at EOF) or -1. */
ssize_t fs_read_full(int fd, void *buf, size_t len);
bool fs_exists(const char *path);
/* Copies the *.log files of dir into keep_dir (replacing it), then removes
 * dir: scratch space goes, the evidence stays. */
void fs_keep_logs_and_remove(const char *dir, const char *keep_dir);

#endif
