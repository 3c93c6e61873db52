/*
 * lines.h - splits a byte stream into newline-terminated lines.
 *
 * A watch answer is one JSON event per line, but the network hands them over
 * in arbitrary pieces: an event may span many reads and one read may carry
 * many events.  Pure and allocation-bounded (a line longer than max_line is
 * an error, so a broken server cannot make us buffer forever).
 */
#ifndef FERRY_K8S_LINES_H
#define FERRY_K8S_LINES_H

#include <stdbool.h>
#include <stddef.h>

struct line_buf {
	char *data;
	size_t len, cap, max_line;
	bool overflow;
};

/* Called with each complete line (no '\n', NUL-terminated, empty lines
 * skipped); a non-zero return stops line_buf_feed and is returned. */
typedef int (*line_fn)(const char *line, size_t len, void *data);

void line_buf_init(struct line_buf *b, size_t max_line);
/* Appends bytes and delivers every line they complete. Returns 0, the
 * callback's non-zero value, or -1 when a line exceeds max_line (overflow set). */
int line_buf_feed(struct line_buf *b, const char *bytes, size_t n, line_fn fn, void *data);
/* Drops any partial line (e.g. after a reconnect). */
void line_buf_reset(struct line_buf *b);
void line_buf_free(struct line_buf *b);

#endif
