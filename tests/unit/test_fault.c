/*
 * test_fault.c - fault specs (lib/migrate/fault.c): every documented name
 * parses, KIND@PHASE only with the phases each side can see, anything else
 * is refused with a clear message, and a phase fault fires exactly once.
 */
#include "testutil.h"
#include "migrate/fault.h"

static void test_plain_names(void **state)
{
	const struct { const char *spec; enum fault_kind kind; } ok[] = {
		{ "", FAULT_NONE },
		{ "cut-transfer", FAULT_CUT_TRANSFER },
		{ "kill-criu", FAULT_KILL_CRIU },
		{ "fill-source-disk", FAULT_FILL_SOURCE_DISK },
		{ "fill-target-disk", FAULT_FILL_TARGET_DISK },
		{ "fail-restore", FAULT_FAIL_RESTORE },
		{ "stall-target", FAULT_STALL_TARGET },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct fault f;
		ferry_error_t err = { 0 };
		assert_int_equal(fault_parse(ok[i].spec, &f, &err), 0);
		assert_true(fault_is(&f, ok[i].kind));
		assert_string_equal(f.spec, ok[i].spec);
	}
	struct fault f;
	ferry_error_t err = { 0 };
	assert_int_equal(fault_parse(NULL, &f, &err), 0);
	assert_true(fault_is(&f, FAULT_NONE));
}

static void test_phase_faults(void **state)
{
	struct fault f;
	ferry_error_t err = { 0 };
	assert_int_equal(fault_parse("kill-source@dump", &f, &err), 0);
	assert_true(fault_is(&f, FAULT_KILL_SOURCE_AT));
	assert_string_equal(f.phase, "dump");
	assert_false(fault_at(&f, FAULT_KILL_SOURCE_AT, "freeze"));
	assert_false(fault_at(&f, FAULT_CUT_AT, "dump"));
	assert_true(fault_at(&f, FAULT_KILL_SOURCE_AT, "dump"));
	assert_false(fault_at(&f, FAULT_KILL_SOURCE_AT, "dump")); /* once */
	assert_string_equal(f.spec, "kill-source@dump"); /* still sent in PREPARE */
	const char *phases[] = { "prepare", "freeze", "dump", "rootfs", "restore", "commit",
				 "postcopy" };
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
		char spec[48];
		snprintf(spec, sizeof(spec), "cut@%s", phases[i]);
		assert_int_equal(fault_parse(spec, &f, &err), 0);
		snprintf(spec, sizeof(spec), "kill-target@%s", phases[i]);
		assert_int_equal(fault_parse(spec, &f, &err), strcmp(phases[i], "freeze") ? 0 : -1);
	}
}

static void test_refused(void **state)
{
	const char *bad[] = { "bogus", "cut", "kill-source", "cut-transfer@dump", "cut@", "@dump",
			      "cut@queued", "kill-target@freeze", "kill-source@dump@dump",
			      "cut@averyveryveryverylongphasename",
			      "an-extremely-long-fault-name-that-goes-on-and-on-and-on" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fault f;
		ferry_error_t err = { 0 };
		assert_int_equal(fault_parse(bad[i], &f, &err), -1);
		assert_true(strstr(err.message, "fault") != NULL);
		assert_true(fault_is(&f, FAULT_NONE)); /* a refused spec injects nothing */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_names),
		cmocka_unit_test(test_phase_faults),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
