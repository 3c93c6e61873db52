/*
 * testutil.h - helpers shared by the unit tests: temp dirs, whole-file
 * reads/writes, socket pairs and running a risky call in a child process
 * (so a crash or a hang in the library fails one test, not the binary).
 */
#ifndef FERRY_TESTUTIL_H
#define FERRY_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fs.h"

/* A fresh directory below /tmp; caller frees the string. */
static inline char *tu_mkdtemp(void)
{
	char *p = strdup("/tmp/ferry-unit-XXXXXX");
	assert_non_null(p);
	assert_non_null(mkdtemp(p));
	return p;
}

static inline void tu_rm_rf(char *path)
{
	ferry_error_t err = { 0 };
	if (path)
		assert_int_equal(fs_rm_rf(path, &err), 0);
	free(path);
}

static inline void tu_write(const char *path, const void *data, size_t len, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fs_write_all(fd, data, len), 0);
	assert_int_equal(close(fd), 0);
}

/* Whole file, malloc'ed (NUL-terminated); *len gets the size. */
static inline char *tu_read(const char *path, size_t *len)
{
	ferry_error_t err = { 0 };
	char *buf = fs_read_file(path, len, &err);
	if (!buf)
		fail_msg("read %s: %s", path, err.message);
	return buf;
}

/* A plain wire connection over a socket, for one call (the literal ends
 * with the enclosing statement: never keep the pointer). */
#define TU_CONN(sock) (&(struct wire_conn){ .fd = (sock) })

static inline void tu_socketpair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static inline void tu_fill(uint8_t *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
}

static inline void tu_assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

/* Runs fn(arg) in a child with a time limit; returns the child's exit code,
 * or 128+signal if it crashed or hung. */
static inline int tu_run_in_child(int (*fn)(void *), void *arg, unsigned timeout_s)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* cmocka's crash handlers would resume the test run in the child */
		const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS, SIGABRT };
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], SIG_DFL);
		alarm(timeout_s);
		_exit(fn(arg));
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

#endif
