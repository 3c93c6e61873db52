/*
 * rootfs.h - a container's root filesystem: an overlay of a writable upper
 * layer (CONTAINER_DIR/upper) on the read-only image (lower), mounted at
 * CONTAINER_DIR/rootfs.  The upper layer is what a migration carries along.
 */
#ifndef FERRY_ROOTFS_H
#define FERRY_ROOTFS_H

#include "util/error.h"

/* Creates upper/, work/ and rootfs/ as needed and mounts the overlay. */
int rootfs_mount(const char *container_dir, const char *image_rootfs, ferry_error_t *err);
/* Unmounts (lazily if busy); not mounted is not an error. */
void rootfs_umount(const char *container_dir);

#endif
