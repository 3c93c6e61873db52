/*
 * test_pagemap.c - CRIU pagemap images (lib/container/pagemap) and the
 * PAGE_DATA frame (lib/wire): a lazy dump's pagemap parses and re-encodes
 * byte for byte, malformed images and frames are refused.
 */
#include "testutil.h"
#include "container/pagemap.h"
#include "wire/frame.h"

/* a lazy dump's pagemap as CRIU 4.2.1 writes it: magics, head {pages_id 1},
 * entries {vaddr, compat_nr_pages 0, flags, nr_pages} */
static size_t sample(uint8_t *out)
{
	static const uint8_t img[] = {
		0x19, 0x43, 0x56, 0x54, 0x25, 0x40, 0x08, 0x56,
		2, 0, 0, 0, 0x08, 0x01,                                   /* head */
		/* 0x401000, present, 1 page */
		11, 0, 0, 0, 0x08, 0x80, 0xa0, 0x80, 0x02, 0x10, 0x00, 0x20, 0x04, 0x28, 0x01,
		/* 0x10000, lazy, 16 pages */
		10, 0, 0, 0, 0x08, 0x80, 0x80, 0x04, 0x10, 0x00, 0x20, 0x02, 0x28, 0x10,
	};
	memcpy(out, img, sizeof(img));
	return sizeof(img);
}

static void test_parse(void **state)
{
	uint8_t buf[128];
	size_t len = sample(buf);
	struct pagemap pm;
	ferry_error_t err = { 0 };
	/* the sample's entries are out of order (0x401000 then 0x10000): refused */
	assert_int_equal(pagemap_parse(buf, len, &pm, &err), -1);
	/* swap into order */
	uint8_t ordered[128];
	memcpy(ordered, buf, 14);
	memcpy(ordered + 14, buf + 29, 14);
	memcpy(ordered + 28, buf + 14, 15);
	ferry_error_clear(&err);
	assert_int_equal(pagemap_parse(ordered, len, &pm, &err), 0);
	assert_int_equal(pm.pages_id, 1);
	assert_int_equal(pm.n, 2);
	assert_int_equal(pm.e[0].vaddr, 0x10000);
	assert_int_equal(pm.e[0].nr_pages, 16);
	assert_true(pagemap_entry_lazy(&pm.e[0]));
	assert_int_equal(pm.e[1].vaddr, 0x401000);
	assert_int_equal(pm.e[1].flags, PE_PRESENT);
	assert_false(pagemap_entry_lazy(&pm.e[1]));
	/* written back: the same bytes */
	char path[] = "/tmp/ferry-pagemap-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(pagemap_save(path, &pm, &err), 0);
	struct pagemap again;
	assert_int_equal(pagemap_load(path, &again, &err), 0);
	assert_int_equal(again.n, 2);
	assert_int_equal(again.e[0].vaddr, 0x10000);
	assert_int_equal(again.e[0].flags, PE_LAZY);
	size_t saved_len;
	char *saved = fs_read_file(path, &saved_len, &err);
	assert_non_null(saved);
	assert_int_equal(saved_len, len);
	assert_memory_equal(saved, ordered, len);
	free(saved);
	unlink(path);
	pagemap_free(&again);
	pagemap_free(&pm);
}

static void test_malformed(void **state)
{
	uint8_t buf[128];
	size_t len = sample(buf);
	struct pagemap pm;
	ferry_error_t err = { 0 };
	for (size_t cut = 0; cut < len; cut++) /* truncated anywhere: refused or shorter */
		if (pagemap_parse(buf, cut, &pm, &err) == 0)
			pagemap_free(&pm);
	uint8_t bad[32];
	memcpy(bad, buf, 14);
	uint8_t huge[] = { 5, 0, 0, 0, 0x08, 0x80, 0x20, 0x28, 0x00 }; /* nr_pages 0 */
	memcpy(bad + 14, huge, sizeof(huge));
	assert_int_equal(pagemap_parse(bad, 14 + sizeof(huge), &pm, &err), -1);
	uint8_t len_lie[] = { 0xff, 0xff, 0, 0 }; /* an entry longer than the file */
	memcpy(bad + 14, len_lie, 4);
	assert_int_equal(pagemap_parse(bad, 18, &pm, &err), -1);
	assert_int_equal(pagemap_parse(buf, 8, &pm, &err), -1); /* no head */
}

static void test_names(void **state)
{
	assert_int_equal(pagemap_name_pid("pagemap-1.img"), 1);
	assert_int_equal(pagemap_name_pid("pagemap-4242.img"), 4242);
	assert_int_equal(pagemap_name_pid("pagemap-shmem-12.img"), 0);
	assert_int_equal(pagemap_name_pid("pagemap-0.img"), 0);
	assert_int_equal(pagemap_name_pid("pagemap-12.img.new"), 0);
	assert_int_equal(pagemap_name_pid("pages-1.img"), 0);
	assert_int_equal(pagemap_name_pid("pagemap-99999999.img"), 0);
}

static void test_page_frames(void **state)
{
	uint8_t buf[WIRE_PAGE_HEADER + 2 * WIRE_PAGE_SIZE] = { 0 };
	struct wire_page_data pd;
	ferry_error_t err = { 0 };
	wire_encode_page_header(buf, 7, 0x7f0000001000ull);
	assert_int_equal(wire_parse_page_data(buf, sizeof(buf), &pd, &err), 0);
	assert_int_equal(pd.pid, 7);
	assert_int_equal(pd.vaddr, 0x7f0000001000ull);
	assert_int_equal(pd.len, 2 * WIRE_PAGE_SIZE);
	assert_ptr_equal(pd.data, buf + WIRE_PAGE_HEADER);
	/* not whole pages, no page, pid 0, unaligned, beyond the address space */
	assert_int_equal(wire_parse_page_data(buf, sizeof(buf) - 1, &pd, &err), -1);
	assert_int_equal(wire_parse_page_data(buf, WIRE_PAGE_HEADER, &pd, &err), -1);
	wire_encode_page_header(buf, 0, 0x1000);
	assert_int_equal(wire_parse_page_data(buf, sizeof(buf), &pd, &err), -1);
	wire_encode_page_header(buf, 7, 0x1001);
	assert_int_equal(wire_parse_page_data(buf, sizeof(buf), &pd, &err), -1);
	wire_encode_page_header(buf, 7, WIRE_MAX_VADDR - WIRE_PAGE_SIZE);
	assert_int_equal(wire_parse_page_data(buf, sizeof(buf), &pd, &err), -1);
	wire_encode_page_header(buf, 7, 0x1000);
	buf[5] = 1; /* the reserved word */
	assert_int_equal(wire_parse_page_data(buf, sizeof(buf), &pd, &err), -1);
	assert_string_equal(wire_type_name(WIRE_PAGE_DATA), "PAGE_DATA");
}

static void test_page_drop_frames(void **state)
{
	uint8_t buf[WIRE_PAGE_DROP_SIZE];
	struct wire_page_drop pd;
	ferry_error_t err = { 0 };
	wire_encode_page_drop(buf, 9, 0x7f0000002000ull, 3 * WIRE_PAGE_SIZE);
	assert_int_equal(wire_parse_page_drop(buf, sizeof(buf), &pd, &err), 0);
	assert_int_equal(pd.pid, 9);
	assert_int_equal(pd.vaddr, 0x7f0000002000ull);
	assert_int_equal(pd.len, 3 * WIRE_PAGE_SIZE);
	/* wrong size, no page, part of a page, unaligned, beyond the address space */
	assert_int_equal(wire_parse_page_drop(buf, sizeof(buf) - 1, &pd, &err), -1);
	wire_encode_page_drop(buf, 9, 0x1000, 0);
	assert_int_equal(wire_parse_page_drop(buf, sizeof(buf), &pd, &err), -1);
	wire_encode_page_drop(buf, 9, 0x1000, 100);
	assert_int_equal(wire_parse_page_drop(buf, sizeof(buf), &pd, &err), -1);
	wire_encode_page_drop(buf, 9, 0x1800, WIRE_PAGE_SIZE);
	assert_int_equal(wire_parse_page_drop(buf, sizeof(buf), &pd, &err), -1);
	wire_encode_page_drop(buf, 9, 0x1000, UINT64_MAX - 4095);
	assert_int_equal(wire_parse_page_drop(buf, sizeof(buf), &pd, &err), -1);
	wire_encode_page_drop(buf, 0, 0x1000, WIRE_PAGE_SIZE);
	assert_int_equal(wire_parse_page_drop(buf, sizeof(buf), &pd, &err), -1);
	assert_string_equal(wire_type_name(WIRE_PAGE_DROP), "PAGE_DROP");
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_page_frames),
		cmocka_unit_test(test_page_drop_frames),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
