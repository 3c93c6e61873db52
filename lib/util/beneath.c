/*
 * beneath.c - see beneath.h.
 */
#include "util/beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int beneath_open(int rootfd, const char *name, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, rootfd, name, &how, sizeof(how));
}

int beneath_parent(int rootfd, const char *name, const char **base)
{
	const char *slash = strrchr(name, '/');
	if (!slash) {
		*base = name;
		return beneath_open(rootfd, ".", O_PATH | O_DIRECTORY, 0);
	}
	char parent[PATH_MAX];
	size_t len = (size_t)(slash - name);
	if (len >= sizeof(parent)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(parent, name, len);
	parent[len] = '\0';
	*base = slash + 1;
	return beneath_open(rootfd, parent, O_PATH | O_DIRECTORY, 0);
}
