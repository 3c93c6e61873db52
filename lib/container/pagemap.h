/*
 * pagemap.h - CRIU's pagemap-<pid>.img, read and written.
 *
 * A CRIU image is two u32 magics, then entries, each a u32 length and a
 * protobuf message.  The first entry of a pagemap is PagemapHead {pages_id
 * = 1}: the pages image (pages-<pages_id>.img) that holds the data.  Then
 * one PagemapEntry per run of pages, sorted by address: vaddr = 1,
 * compat_nr_pages = 2 (uint32, 0 in CRIU 4.x), in_parent = 3, flags = 4,
 * nr_pages = 5 (uint64, CRIU 4.x).  The pages image is the data of every
 * PE_PRESENT entry, in order; a lazy dump (--lazy-pages) marks the pages it
 * leaves to its page server PE_LAZY without PE_PRESENT and writes no data
 * for them.
 *
 * Pre-copy turns such a lazy dump back into one whose lazy pages are in the
 * pages image (PE_LAZY | PE_PRESENT), which CRIU's lazy-pages daemon then
 * serves locally.  The images come from the peer: sizes and counts are
 * bounded and checked.
 */
#ifndef FERRY_PAGEMAP_H
#define FERRY_PAGEMAP_H

#include <stddef.h>
#include <stdint.h>
#include "util/error.h"

#define PE_PARENT  (1u << 0)
#define PE_LAZY    (1u << 1)
#define PE_PRESENT (1u << 2)

#define PAGEMAP_PAGE 4096u
#define PAGEMAP_MAX_FILE (64u << 20)

struct pagemap_entry {
	uint64_t vaddr;
	uint64_t nr_pages;
	uint32_t flags;
	uint64_t compat_nr_pages;
	bool has_in_parent, in_parent, has_nr_pages;
};

struct pagemap {
	uint32_t magic[2];
	uint32_t pages_id;
	struct pagemap_entry *e;
	size_t n;
};

int pagemap_load(const char *path, struct pagemap *pm, ferry_error_t *err);
int pagemap_save(const char *path, const struct pagemap *pm, ferry_error_t *err);
void pagemap_free(struct pagemap *pm);
/* Parses a buffer (the whole image). */
int pagemap_parse(const uint8_t *buf, size_t len, struct pagemap *pm, ferry_error_t *err);
/* "pagemap-123.img" -> 123; anything else (pagemap-shmem-..., other files) -> 0. */
uint32_t pagemap_name_pid(const char *name);
/* A lazy entry: pages the dump left out of the pages image. */
static inline bool pagemap_entry_lazy(const struct pagemap_entry *e)
{
	return (e->flags & PE_LAZY) && !(e->flags & PE_PRESENT);
}

#endif
