/*
 * rootfs.c - see rootfs.h.
 */
#include "container/rootfs.h"
#include "util/fs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mount.h>

int rootfs_mount(const char *dir, const char *image_rootfs, ferry_error_t *err)
{
	char upper[PATH_MAX], work[PATH_MAX], target[PATH_MAX], opts[3 * PATH_MAX + 64];
	snprintf(upper, sizeof(upper), "%s/upper", dir);
	snprintf(work, sizeof(work), "%s/work", dir);
	snprintf(target, sizeof(target), "%s/rootfs", dir);
	if (fs_mkdir_p(upper, 0755, err) < 0 || fs_mkdir_p(work, 0700, err) < 0 ||
	    fs_mkdir_p(target, 0755, err) < 0)
		return -1;
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", image_rootfs, upper,
		 work);
	if (mount("overlay", target, "overlay", 0, opts) < 0)
		return ferry_error_set(err, errno, "mount overlay at %s", target);
	return 0;
}

void rootfs_umount(const char *dir)
{
	char target[PATH_MAX];
	snprintf(target, sizeof(target), "%s/rootfs", dir);
	if (umount2(target, 0) < 0 && errno == EBUSY)
		umount2(target, MNT_DETACH);
}
