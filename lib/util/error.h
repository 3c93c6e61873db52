/*
 * error.h - ferry's error objects.
 *
 * Every fallible library function takes a `ferry_error_t *err` last and returns
 * -1 (or NULL) after filling it with ferry_error_set().  Callers add context on
 * the way up with ferry_error_prefix() and only the outermost command prints
 * it.  The object owns a fixed buffer, so setting an error never allocates and
 * never fails, which keeps error paths (the ones that must leave a migration
 * source serving) free of new failure modes.
 */
#ifndef FERRY_ERROR_H
#define FERRY_ERROR_H

#include <stdbool.h>

#define FERRY_ERROR_MSG_MAX 1024

typedef struct {
	int errno_value;        /* errno at the failure, 0 if not a syscall */
	char message[FERRY_ERROR_MSG_MAX];
} ferry_error_t;

/* Sets the error; appends strerror(errno_value) when errno_value != 0. Returns -1. */
int ferry_error_set(ferry_error_t *err, int errno_value, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepends "context: " to an error already set. Returns -1. */
int ferry_error_prefix(ferry_error_t *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void ferry_error_clear(ferry_error_t *err);
bool ferry_error_is_set(const ferry_error_t *err);

#endif
