/*
 * test_dirty.c - dirty-page tracking of another process (lib/memtrack):
 * after a round of writes, the scan reports exactly the pages written (plus
 * at most a few of the process's own stack and libc pages), then nothing
 * until the next writes; the present-pages scan (pre-copy's first round)
 * reports the whole buffer; the process runs on untouched after tracking stops.
 * The same assertions hold for either method (dirty.h): userfaultfd
 * write-protection on this machine, soft-dirty on a kernel that keeps the bit
 * (`make test-softdirty` runs this test on Debian's kernel in a VM, with
 * FERRY_EXPECT_DIRTY_METHOD=soft-dirty).  test_method checks the probe
 * against the kernel's configuration where /proc/config.gz tells it.
 */
#include "testutil.h"
#include "memtrack/dirty.h"

#include <stdbool.h>

#include <limits.h>

#define PAGE 4096u

struct child {
	pid_t pid;
	int to, from;       /* its stdin, its stdout */
	uint64_t base;      /* its 16 MiB buffer */
};

static void child_start(struct child *c)
{
	char self[PATH_MAX], helper[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(helper, sizeof(helper), "%s/dirty_child", self);
	int in[2], out[2];
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	c->pid = fork();
	if (c->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl(helper, helper, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->to = in[1];
	c->from = out[0];
	char line[64] = "";
	for (size_t i = 0; i < sizeof(line) - 1 && read(c->from, line + i, 1) == 1 && line[i] != '\n'; i++)
		;
	c->base = strtoull(line, NULL, 16);
	assert_true(c->base != 0);
}

static void child_write_round(struct child *c, unsigned char k)
{
	unsigned char ack;
	assert_int_equal(write(c->to, &k, 1), 1);
	assert_int_equal(read(c->from, &ack, 1), 1);
	assert_int_equal(ack, k);
}

struct seen {
	uint64_t base;
	unsigned buffer_pages[64];
	size_t n;
	uint64_t other_pages;
};

static void collect(const struct dirty_range *r, void *data)
{
	struct seen *s = data;
	for (uint64_t a = r->start; a < r->end; a += PAGE) {
		if (a >= s->base && a < s->base + (16u << 20) && s->n < 64)
			s->buffer_pages[s->n++] = (unsigned)((a - s->base) / PAGE);
		else
			s->other_pages++;
	}
}

struct buffer_count {
	uint64_t base, pages;
};

static void count_buffer(const struct dirty_range *r, void *data)
{
	struct buffer_count *b = data;
	for (uint64_t a = r->start; a < r->end; a += PAGE)
		b->pages += a >= b->base && a < b->base + (16u << 20);
}

static void test_rounds(void **state)
{
	struct child c;
	struct dirty_tracker t;
	ferry_error_t err = { 0 };
	child_start(&c);
	if (dirty_track_start(&t, c.pid, &err) < 0 && err.errno_value == ENOSYS) {
		/* valgrind 3.19 does not know pidfd_getfd: this test runs natively
		 * in the ASan/UBSan pass of `make test` */
		kill(c.pid, SIGKILL);
		waitpid(c.pid, NULL, 0);
		close(c.to);
		close(c.from);
		skip();
	}
	if (err.message[0])
		fail_msg("track: %s", err.message);
	assert_true(t.tracked_bytes >= (16u << 20));
	/* pre-copy's first round: every page holding data, the whole buffer */
	struct buffer_count bc = { .base = c.base };
	assert_true(dirty_track_present(&t, count_buffer, &bc, &err) >= 4096);
	assert_int_equal(bc.pages, 4096);
	/* nothing was replaced: no untracked part */
	assert_int_equal(dirty_track_untracked(&t, NULL, NULL, &err), 0);
	for (unsigned char k = 1; k <= 3; k++) {
		child_write_round(&c, k);
		struct seen s = { .base = c.base };
		int64_t n = dirty_track_scan(&t, collect, &s, &err);
		assert_true(n >= 10);
		assert_int_equal(s.n, 10); /* exactly the ten pages of this round */
		for (unsigned i = 0; i < 10; i++)
			assert_int_equal(s.buffer_pages[i], k * 100u + i);
		assert_true(s.other_pages <= 8); /* its stack (read() buffer), libc */
		assert_int_equal((uint64_t)n, 10 + s.other_pages);
	}
	/* no writes since the last scan: nothing in the buffer */
	struct seen quiet = { .base = c.base };
	assert_true(dirty_track_scan(&t, collect, &quiet, &err) >= 0);
	assert_int_equal(quiet.n, 0);
	dirty_track_stop(&t);
	child_write_round(&c, 4); /* still running, still answering */
	close(c.to);
	int status;
	assert_int_equal(waitpid(c.pid, &status, 0), c.pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(c.from);
}

/* CONFIG_MEM_SOFT_DIRTY from /proc/config.gz: 1 set, 0 not, -1 unknown */
static int kernel_has_soft_dirty(void)
{
	char line[256];
	bool set = false, read_any = false;
	if (access("/proc/config.gz", R_OK) < 0)
		return -1;
	FILE *p = popen("zcat /proc/config.gz 2>/dev/null", "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		read_any = true;
		set = set || !strncmp(line, "CONFIG_MEM_SOFT_DIRTY=y", 23);
	}
	return pclose(p) == 0 && read_any ? set : -1;
}

static void test_method(void **state)
{
	const char *expect = getenv("FERRY_EXPECT_DIRTY_METHOD");
	int has = kernel_has_soft_dirty();
	if (expect)
		assert_string_equal(dirty_method_name(), expect);
	else if (has < 0)
		skip();
	else
		assert_string_equal(dirty_method_name(),
				    has ? "soft-dirty" : "userfaultfd write-protect");
	(void)state;
}

static void test_refusals(void **state)
{
	struct dirty_tracker t;
	ferry_error_t err = { 0 };
	assert_int_equal(dirty_track_start(&t, 999999999, &err), -1); /* no such process */
	assert_true(err.message[0] != '\0');
	assert_int_equal(t.uffd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_method),
		cmocka_unit_test(test_rounds),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
