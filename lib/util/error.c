/*
 * error.c - see error.h: fixed-size, allocation-free error objects.
 */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ferry_error_set(ferry_error_t *err, int errno_value, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	err->errno_value = errno_value;
	if (errno_value != 0 && n >= 0 && (size_t)n < sizeof(err->message))
		snprintf(err->message + n, sizeof(err->message) - (size_t)n, ": %s",
			 strerror(errno_value));
	return -1;
}

int ferry_error_prefix(ferry_error_t *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char prefix[FERRY_ERROR_MSG_MAX];
	char old[FERRY_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->message, sizeof(old));
	snprintf(err->message, sizeof(err->message), "%s: %s", prefix, old);
	return -1;
}

void ferry_error_clear(ferry_error_t *err)
{
	if (err) {
		err->errno_value = 0;
		err->message[0] = '\0';
	}
}

bool ferry_error_is_set(const ferry_error_t *err)
{
	return err && err->message[0] != '\0';
}
