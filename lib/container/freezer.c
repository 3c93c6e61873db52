/*
 * freezer.c - see freezer.h.
 */
#include "container/freezer.h"
#include "container/pod.h"
#include "util/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FREEZE_TIMEOUT_MS 5000

int freezer_freeze(const struct node *n, const char *name, ferry_error_t *err)
{
	char path[PATH_MAX], state[32] = "";
	pod_freezer_file(path, sizeof(path), n, name, "freezer.state");
	_cleanup_fd_ int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || write(fd, "FROZEN", 6) != 6)
		return ferry_error_set(err, errno, "freeze %s (%s)", name, path);
	for (int waited_us = 0; waited_us < FREEZE_TIMEOUT_MS * 1000; waited_us += 200) {
		ssize_t len = pread(fd, state, sizeof(state) - 1, 0);
		if (len < 0)
			return ferry_error_set(err, errno, "freeze %s: read %s", name, path);
		state[len] = '\0';
		if (!strncmp(state, "FROZEN", 6))
			return 0;
		struct timespec ts = { 0, 200 * 1000 };
		nanosleep(&ts, NULL);
	}
	return ferry_error_set(err, ETIMEDOUT, "freeze %s: still %.*s after %d ms", name,
			       (int)strcspn(state, "\n"), state, FREEZE_TIMEOUT_MS);
}
