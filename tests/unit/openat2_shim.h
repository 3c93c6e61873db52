/*
 * openat2_shim.h - lets the openat2()-based confinement run under valgrind.
 *
 * valgrind 3.19 (Debian 12) does not know openat2 (syscall 437) and fails it
 * with ENOSYS, which would make every file the receiver creates fail.  This
 * header interposes libc's syscall() in the test binary: every call goes to
 * the real syscall(), and only if openat2 comes back ENOSYS is it emulated in
 * userspace for the one combination lib/util/beneath.c uses
 * (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS [| RESOLVE_NO_MAGICLINKS]): no
 * absolute paths, no "..", no symlink in any component, the last included.
 * On a normal run (and under ASan) the kernel's openat2 is what is tested;
 * the emulation only exists so valgrind can check the same code paths.
 * Include it in exactly one translation unit of a test binary.
 */
#ifndef FERRY_OPENAT2_SHIM_H
#define FERRY_OPENAT2_SHIM_H

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int shim_fail(int fd, int e)
{
	if (fd >= 0)
		close(fd);
	errno = e;
	return -1;
}

static long shim_openat2(int dirfd, const char *path, const struct open_how *how)
{
	const unsigned long long emulated = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
					    RESOLVE_NO_MAGICLINKS;
	if ((how->resolve & ~emulated) ||
	    (how->resolve & (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)) !=
		    (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS))
		return shim_fail(-1, ENOSYS);
	if (path[0] == '/')
		return shim_fail(-1, EXDEV);
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return shim_fail(-1, ENAMETOOLONG);
	int cur = openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return -1;
	char *save = NULL, *comp = strtok_r(buf, "/", &save);
	while (comp) {
		char *next = strtok_r(NULL, "/", &save);
		if (!strcmp(comp, "..")) /* stricter than the kernel: never needed here */
			return shim_fail(cur, EXDEV);
		struct stat st;
		bool exists = strcmp(comp, ".") != 0 &&
			      fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0;
		if (exists && S_ISLNK(st.st_mode))
			return shim_fail(cur, ELOOP);
		if (!next) {
			int fd = openat(cur, comp, (int)how->flags | O_NOFOLLOW, (mode_t)how->mode);
			int e = errno;
			close(cur);
			errno = e;
			return fd;
		}
		int fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return shim_fail(cur, errno);
		close(cur);
		cur = fd;
		comp = next;
	}
	/* "" or only slashes */
	return shim_fail(cur, ENOENT);
}

long syscall(long number, ...)
{
	static long (*real)(long, ...);
	static int openat2_missing;
	va_list ap;
	long a[6];
	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	if (number == SYS_openat2 && openat2_missing)
		return shim_openat2((int)a[0], (const char *)a[1], (const struct open_how *)a[2]);
	long rc = real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (number == SYS_openat2 && rc < 0 && errno == ENOSYS) {
		fprintf(stderr, "note: openat2 is unavailable here (valgrind?): emulating "
				"RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS in userspace\n");
		openat2_missing = 1;
		return shim_openat2((int)a[0], (const char *)a[1], (const struct open_how *)a[2]);
	}
	return rc;
}

#endif
