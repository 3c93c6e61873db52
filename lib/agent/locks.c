/*
 * locks.c - see locks.h.
 */
#include "agent/locks.h"
#include "sandbox/config.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

int container_lock(const struct node *n, const char *name, ferry_error_t *err)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	config_node_state_dir(dir, sizeof(dir), n->self.name);
	snprintf(path, sizeof(path), "%s/locks", dir);
	if (fs_mkdir_p(path, 0700, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/locks/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return ferry_error_set(err, errno, "open %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return ferry_error_set(err, 0, "container %s is busy with another operation", name);
	}
	return fd;
}
