/*
 * slots.c - see slots.h.
 */
#include "migrate/slots.h"
#include "sandbox/config.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

int slot_limit(enum slot_kind kind)
{
	const char *v = getenv(kind == SLOT_OUTGOING ? "FERRY_MAX_OUTGOING" : "FERRY_MAX_INCOMING");
	int n = v ? atoi(v) : 0;
	return n > 0 && n <= 64 ? n : 2;
}

int slot_try_acquire(const char *node, enum slot_kind kind, ferry_error_t *err)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	snprintf(dir, sizeof(dir), "%s/nodes/%s/slots/%s", config_get()->state_dir, node,
		 kind == SLOT_OUTGOING ? "outgoing" : "incoming");
	if (fs_mkdir_p(dir, 0700, err) < 0)
		return -1;
	for (int i = 0; i < slot_limit(kind); i++) {
		snprintf(path, sizeof(path), "%s/%d", dir, i);
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return ferry_error_set(err, errno, "open %s", path);
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		close(fd);
	}
	ferry_error_clear(err);
	return -1;
}
