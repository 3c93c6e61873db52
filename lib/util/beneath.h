/*
 * beneath.h - opening paths from untrusted peers strictly inside a root.
 *
 * Names arriving over the wire (image files, rootfs entries) are resolved with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), so a
 * symlink planted by an earlier entry can never lead a later write outside the
 * directory it was meant for.
 */
#ifndef FERRY_BENEATH_H
#define FERRY_BENEATH_H

#include <sys/types.h>

/* Like openat(rootfd, name, flags, mode) but confined; -1 with errno. */
int beneath_open(int rootfd, const char *name, int flags, mode_t mode);
/* Opens the parent directory of name (O_PATH) and points *base at the last
 * component of name. -1 with errno. */
int beneath_parent(int rootfd, const char *name, const char **base);

#endif
