/*
 * pagemap.c - see pagemap.h.
 */
#include "container/pagemap.h"
#include "util/cleanup.h"
#include "util/fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MESSAGE 256 /* a pagemap entry is under 40 bytes */

static int varint(const uint8_t *p, size_t len, size_t *i, uint64_t *v)
{
	uint64_t r = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (*i >= len)
			return -1;
		uint8_t c = p[(*i)++];
		r |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

/* One message of varint fields (all a pagemap uses); field numbers 1..5. */
static int parse_message(const uint8_t *p, size_t len, uint64_t f[6], bool has[6])
{
	size_t i = 0;
	memset(has, 0, 6 * sizeof(bool));
	while (i < len) {
		uint64_t key, v;
		if (varint(p, len, &i, &key) < 0 || (key & 7) != 0 || varint(p, len, &i, &v) < 0)
			return -1;
		uint64_t field = key >> 3;
		if (field >= 1 && field <= 5) {
			f[field] = v;
			has[field] = true;
		}
	}
	return 0;
}

int pagemap_parse(const uint8_t *buf, size_t len, struct pagemap *pm, ferry_error_t *err)
{
	memset(pm, 0, sizeof(*pm));
	if (len < 8 || len > PAGEMAP_MAX_FILE)
		return ferry_error_set(err, 0, "pagemap image of %zu bytes", len);
	memcpy(pm->magic, buf, 8);
	size_t i = 8, cap = 0;
	bool head = true;
	uint64_t last_end = 0;
	while (i < len) {
		uint32_t n;
		uint64_t f[6] = { 0 };
		bool has[6];
		if (len - i < 4)
			goto bad;
		memcpy(&n, buf + i, 4);
		i += 4;
		if (n > MAX_MESSAGE || n > len - i || parse_message(buf + i, n, f, has) < 0)
			goto bad;
		i += n;
		if (head) {
			if (!has[1] || f[1] == 0 || f[1] > UINT32_MAX)
				goto bad;
			pm->pages_id = (uint32_t)f[1];
			head = false;
			continue;
		}
		if (pm->n == cap) {
			cap = cap ? cap * 2 : 64;
			struct pagemap_entry *grown = realloc(pm->e, cap * sizeof(*grown));
			if (!grown) {
				pagemap_free(pm);
				return ferry_error_set(err, ENOMEM, "pagemap");
			}
			pm->e = grown;
		}
		struct pagemap_entry *e = &pm->e[pm->n++];
		memset(e, 0, sizeof(*e));
		if (!has[1] || f[1] % PAGEMAP_PAGE || f[2] > UINT32_MAX || f[4] > UINT32_MAX)
			goto bad;
		e->vaddr = f[1];
		e->compat_nr_pages = f[2];
		e->has_in_parent = has[3];
		e->in_parent = f[3] != 0;
		e->has_nr_pages = has[5];
		e->nr_pages = has[5] ? f[5] : f[2];
		if (has[4])
			e->flags = (uint32_t)f[4];
		else
			e->flags = e->in_parent ? PE_PARENT : PE_PRESENT; /* CRIU's compat rule */
		/* sorted, not overlapping, inside a 57-bit address space */
		if (e->nr_pages == 0 || e->nr_pages > (1ull << 45) || e->vaddr < last_end ||
		    e->vaddr >= (1ull << 57) || e->nr_pages * PAGEMAP_PAGE > (1ull << 57) - e->vaddr)
			goto bad;
		last_end = e->vaddr + e->nr_pages * PAGEMAP_PAGE;
	}
	if (head)
		goto bad;
	return 0;
bad:
	pagemap_free(pm);
	return ferry_error_set(err, 0, "malformed pagemap image");
}

int pagemap_load(const char *path, struct pagemap *pm, ferry_error_t *err)
{
	size_t len;
	_cleanup_free_ char *buf = fs_read_file(path, &len, err);
	if (!buf)
		return -1;
	if (pagemap_parse((const uint8_t *)buf, len, pm, err) < 0)
		return ferry_error_prefix(err, "%s", path);
	return 0;
}

static size_t put_varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;
	do {
		uint8_t c = v & 0x7f;
		v >>= 7;
		out[n++] = c | (v ? 0x80 : 0);
	} while (v);
	return n;
}

static size_t put_field(uint8_t *out, unsigned field, uint64_t v)
{
	size_t n = put_varint(out, (uint64_t)field << 3);
	return n + put_varint(out + n, v);
}

/* u32 length + message, appended at out; returns the bytes written. */
static size_t put_message(uint8_t *out, const uint8_t *msg, size_t len)
{
	uint32_t n = (uint32_t)len;
	memcpy(out, &n, 4);
	memcpy(out + 4, msg, len);
	return 4 + len;
}

int pagemap_save(const char *path, const struct pagemap *pm, ferry_error_t *err)
{
	size_t cap = 8 + 16 + pm->n * (4 + 5 * 11);
	_cleanup_free_ uint8_t *out = malloc(cap);
	uint8_t msg[64];
	if (!out)
		return ferry_error_set(err, ENOMEM, "pagemap");
	memcpy(out, pm->magic, 8);
	size_t len = 8, m = put_field(msg, 1, pm->pages_id);
	len += put_message(out + len, msg, m);
	for (size_t i = 0; i < pm->n; i++) {
		const struct pagemap_entry *e = &pm->e[i];
		m = put_field(msg, 1, e->vaddr);
		m += put_field(msg + m, 2, e->compat_nr_pages);
		if (e->has_in_parent)
			m += put_field(msg + m, 3, e->in_parent);
		m += put_field(msg + m, 4, e->flags);
		if (e->has_nr_pages)
			m += put_field(msg + m, 5, e->nr_pages);
		len += put_message(out + len, msg, m);
	}
	return fs_write_file_atomic(path, out, len, err);
}

void pagemap_free(struct pagemap *pm)
{
	free(pm->e);
	pm->e = NULL;
	pm->n = 0;
}

uint32_t pagemap_name_pid(const char *name)
{
	unsigned long v;
	int end = 0;
	if (strncmp(name, "pagemap-", 8) || name[8] < '1' || name[8] > '9')
		return 0;
	if (sscanf(name + 8, "%lu.img%n", &v, &end) != 1 || end == 0 || name[8 + end] ||
	    v > (1u << 22))
		return 0;
	return (uint32_t)v;
}
