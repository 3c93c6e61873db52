/*
 * test_metrics.c - the Prometheus page (lib/metrics): counters by phase and
 * result, histogram buckets, the leader gauge only where a controller set
 * it, and figures recorded by forked children (the agent's migrations)
 * showing on the parent's page once shared.
 */
#include "testutil.h"
#include "metrics/metrics.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void expect_lines(const char *page, const char *const *lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strstr(page, lines[i]))
			fail_msg("metrics page lacks %s\n%s", lines[i], page);
}

/* Runs fn in a child, which must exit 0: each test starts from an empty page. */
static void in_child(void (*fn)(void))
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fn();
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The controller's page: its figures and the leader gauge. */
static void controller_page(void)
{
	metrics_migration_started();
	metrics_migration_started();
	metrics_migration_ended("Succeeded", true, 3.0, 0.2, 1000);
	metrics_migration_ended("Transferring", false, 40.0, 0, 500);
	metrics_set_leader(true);
	char *page = metrics_render();
	assert_non_null(page);
	static const char *const lines[] = {
		"ferry_migrations_total{phase=\"Succeeded\",result=\"succeeded\"} 1\n",
		"ferry_migrations_total{phase=\"Transferring\",result=\"failed\"} 1\n",
		"ferry_migration_downtime_seconds_bucket{le=\"0.1\"} 0\n",
		"ferry_migration_downtime_seconds_bucket{le=\"0.25\"} 1\n",
		"ferry_migration_downtime_seconds_count 1\n",
		"ferry_migration_duration_seconds_bucket{le=\"5\"} 1\n",
		"ferry_migration_duration_seconds_bucket{le=\"60\"} 2\n",
		"ferry_migration_duration_seconds_bucket{le=\"+Inf\"} 2\n",
		"ferry_migration_duration_seconds_sum 43\n",
		"ferry_migration_bytes_total 1500\n",
		"ferry_migrations_in_flight 0\n",
		"ferry_controller_leader 1\n",
		"# TYPE ferry_migration_downtime_seconds histogram\n",
	};
	expect_lines(page, lines, sizeof(lines) / sizeof(lines[0]));
	free(page);
}

static void record_two_migrations(void)
{
	metrics_migration_started();
	metrics_migration_ended("commit", true, 2.0, 0.3, 100);
	metrics_migration_started();
	metrics_migration_ended("dump", false, 1.0, 0, 50);
}

/* The agent's page: no leader gauge; what forked children record shows. */
static void agent_page(void)
{
	char *page = metrics_render();
	assert_non_null(page);
	assert_null(strstr(page, "ferry_controller_leader"));
	free(page);
	ferry_error_t err = { 0 };
	assert_int_equal(metrics_share_across_fork(&err), 0);
	in_child(record_two_migrations);
	in_child(record_two_migrations);
	page = metrics_render();
	assert_non_null(page);
	static const char *const lines[] = {
		"ferry_migrations_total{phase=\"commit\",result=\"succeeded\"} 2\n",
		"ferry_migrations_total{phase=\"dump\",result=\"failed\"} 2\n",
		"ferry_migration_downtime_seconds_count 2\n",
		"ferry_migration_duration_seconds_count 4\n",
		"ferry_migration_bytes_total 300\n",
		"ferry_migrations_in_flight 0\n",
	};
	expect_lines(page, lines, sizeof(lines) / sizeof(lines[0]));
	free(page);
}

static void test_controller_page(void **state)
{
	in_child(controller_page);
}

static void test_agent_page_shared_with_children(void **state)
{
	in_child(agent_page);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_controller_page),
		cmocka_unit_test(test_agent_page_shared_with_children),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
