/*
 * test_names.c - name_is_valid: what may become a path component or runc id.
 */
#include "testutil.h"
#include "util/names.h"

static void test_valid_names(void **state)
{
	static const char *const good[] = { "a", "Z", "0", "redis", "node1", "web-2", "a_b", "a.b",
					    "A_b.c-D9", "a.", "a-", "a..b", "_x" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!name_is_valid(good[i]))
			fail_msg("\"%s\" should be valid", good[i]);
	char max[NAME_MAX_LEN + 1];
	memset(max, 'x', NAME_MAX_LEN);
	max[NAME_MAX_LEN] = '\0';
	assert_true(name_is_valid(max));
}

static void test_invalid_names(void **state)
{
	static const char *const bad[] = { "", ".", "..", ".a", "-a", "-", "a/b", "/a", "a b",
					   " a", "a\n", "a:b", "a@b", "a$", "a*", "caf\xc3\xa9",
					   "a\\b", "a\tb", "../etc", "a;b", "a'b" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (name_is_valid(bad[i]))
			fail_msg("\"%s\" should be invalid", bad[i]);
	assert_false(name_is_valid(NULL));
	char over[NAME_MAX_LEN + 2];
	memset(over, 'x', NAME_MAX_LEN + 1);
	over[NAME_MAX_LEN + 1] = '\0';
	assert_false(name_is_valid(over));
	/* every byte outside [A-Za-z0-9_.-] is refused in the middle of a name */
	for (int c = 1; c < 256; c++) {
		char n[4] = { 'a', (char)c, 'b', '\0' };
		bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
		if (name_is_valid(n) != allowed)
			fail_msg("byte 0x%02x: expected %s", c, allowed ? "valid" : "invalid");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_names),
		cmocka_unit_test(test_invalid_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
