/*
 * lines.c - see lines.h.
 */
#include "k8s/lines.h"

#include <stdlib.h>
#include <string.h>

void line_buf_init(struct line_buf *b, size_t max_line)
{
	memset(b, 0, sizeof(*b));
	b->max_line = max_line;
}

static int grow(struct line_buf *b, size_t need)
{
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (!p)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int line_buf_feed(struct line_buf *b, const char *bytes, size_t n, line_fn fn, void *data)
{
	while (n > 0) {
		const char *nl = memchr(bytes, '\n', n);
		size_t take = nl ? (size_t)(nl - bytes) : n;
		if (b->len + take > b->max_line) {
			b->overflow = true;
			return -1;
		}
		if (grow(b, b->len + take + 1) < 0)
			return -1;
		memcpy(b->data + b->len, bytes, take);
		b->len += take;
		b->data[b->len] = '\0';
		if (!nl)
			return 0;
		bytes += take + 1;
		n -= take + 1;
		size_t len = b->len;
		if (len && b->data[len - 1] == '\r')
			b->data[--len] = '\0';
		b->len = 0;
		if (len) {
			int rc = fn(b->data, len, data);
			if (rc)
				return rc;
		}
	}
	return 0;
}

void line_buf_reset(struct line_buf *b)
{
	b->len = 0;
	b->overflow = false;
}

void line_buf_free(struct line_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
