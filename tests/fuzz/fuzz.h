/*
 * fuzz.h - helpers shared by the libFuzzer targets in this directory: a
 * per-process scratch directory (removed at exit), recursive removal, counting
 * a directory's entries, and a frame buffer that looks like one wire_recv
 * filled (payload NUL-terminated after `length` bytes).
 *
 * Header-only so each target stays one translation unit plus the lib sources
 * it exercises.
 */
#ifndef FERRY_FUZZ_H
#define FERRY_FUZZ_H

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire/frame.h"

#define FUZZ_CHECK(cond)                                                              \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#cond);                                               \
			abort();                                                      \
		}                                                                     \
	} while (0)

static int fuzz_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int rc = (flag == FTW_DP) ? rmdir(path) : unlink(path);
	return (rc < 0 && errno != ENOENT) ? -1 : 0;
}

/* Removes path and everything below it (never following symlinks or crossing
 * mounts). Aborts if something is left: a leftover would hide the next
 * input's effects. */
static inline void fuzz_rm_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0 && errno == ENOENT)
		return;
	if (nftw(path, fuzz_rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0) {
		fprintf(stderr, "fuzz: cannot remove %s: %s\n", path, strerror(errno));
		abort();
	}
}

/* Number of entries in a directory other than "." and ".."; -1 if unreadable. */
static inline int fuzz_count_entries(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static char fuzz_tmp_root[PATH_MAX];

static void fuzz_tmp_cleanup(void)
{
	if (fuzz_tmp_root[0])
		fuzz_rm_tree(fuzz_tmp_root);
}

/* Creates this process's scratch directory once (on tmpfs when /dev/shm is
 * usable: the lib fsyncs its atomic writes) and returns its path. */
static inline const char *fuzz_tempdir(const char *tag)
{
	if (fuzz_tmp_root[0])
		return fuzz_tmp_root;
	const char *base = getenv("FUZZ_TMPDIR");
	if (!base || !*base)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	snprintf(fuzz_tmp_root, sizeof(fuzz_tmp_root), "%s/ferry-fuzz-%s.XXXXXX", base, tag);
	if (!mkdtemp(fuzz_tmp_root)) {
		fprintf(stderr, "fuzz: mkdtemp %s: %s\n", fuzz_tmp_root, strerror(errno));
		abort();
	}
	atexit(fuzz_tmp_cleanup);
	return fuzz_tmp_root;
}

/* A frame as wire_recv leaves it: `len` payload bytes plus a NUL. Free with
 * wire_frame_release. */
static inline struct wire_frame fuzz_frame(uint8_t type, const uint8_t *data, size_t len)
{
	struct wire_frame f = { .type = type, .length = (uint32_t)len, .capacity = len + 1 };
	f.payload = malloc(len + 1);
	FUZZ_CHECK(f.payload);
	if (len)
		memcpy(f.payload, data, len);
	f.payload[len] = '\0';
	return f;
}

#endif
