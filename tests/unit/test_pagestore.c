/*
 * test_pagestore.c - the target's store of pre-copied pages and the hybrid
 * page server (lib/migrate/pagestore, pagefetch): spans merge, split and
 * drop; runs are found; and pagefetch_serve, in a child as in the agent,
 * answers a lazy-pages daemon (this test, over TCP on loopback) from the
 * store where it holds the pages and from an upstream page server (this
 * test too, over a socket pair, answering at most 3 pages per request as
 * CRIU may) where it does not, stale pages included, then passes CLOSE on.
 */
#include "testutil.h"
#include "migrate/pagefetch.h"
#include "migrate/pagestore.h"
#include "migrate/psproto.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>

#define PAGE 4096u
#define PID 7u
#define BASE 0x10000ull

/* What page addr of process PID holds: its address, then the right marker. */
static void fill(uint8_t *page, uint64_t addr, uint8_t marker)
{
	memset(page, marker, PAGE);
	memcpy(page, &addr, sizeof(addr));
}

static void store_pages(struct pagestore *ps, uint64_t start, unsigned n, uint8_t marker)
{
	static uint8_t buf[16 * PAGE];
	ferry_error_t err = { 0 };
	assert_true(n <= 16);
	for (unsigned i = 0; i < n; i++)
		fill(buf + i * PAGE, start + i * PAGE, marker);
	struct wire_page_data pd = { .pid = PID, .vaddr = start, .data = buf, .len = n * PAGE };
	assert_int_equal(pagestore_write(ps, &pd, &err), 0);
}

static void drop_pages(struct pagestore *ps, uint64_t start, unsigned n)
{
	ferry_error_t err = { 0 };
	struct wire_page_drop pd = { .pid = PID, .vaddr = start, .len = (uint64_t)n * PAGE };
	assert_int_equal(pagestore_drop(ps, &pd, &err), 0);
}

static bool holds(struct pagestore *ps, uint64_t start, unsigned n)
{
	return pagestore_holds(ps, PID, start, start + (uint64_t)n * PAGE);
}

static void test_spans(void **state)
{
	char *dir = tu_mkdtemp();
	struct pagestore ps;
	bool held;
	pagestore_init(&ps, dir);
	assert_false(holds(&ps, BASE, 1));
	store_pages(&ps, BASE, 4, 'a');
	store_pages(&ps, BASE + 8 * PAGE, 4, 'a');
	assert_true(holds(&ps, BASE, 4));
	assert_false(holds(&ps, BASE, 5));
	store_pages(&ps, BASE + 4 * PAGE, 4, 'a'); /* the gap: one span of 12 */
	assert_true(holds(&ps, BASE, 12));
	drop_pages(&ps, BASE + 5 * PAGE, 2);       /* a hole inside it: two spans */
	assert_true(holds(&ps, BASE, 5));
	assert_false(holds(&ps, BASE + 5 * PAGE, 1));
	assert_false(holds(&ps, BASE + 6 * PAGE, 1));
	assert_true(holds(&ps, BASE + 7 * PAGE, 5));
	assert_int_equal(pagestore_run_end(&ps, PID, BASE, BASE + 12 * PAGE, &held), BASE + 5 * PAGE);
	assert_true(held);
	assert_int_equal(pagestore_run_end(&ps, PID, BASE + 5 * PAGE, BASE + 12 * PAGE, &held),
			 BASE + 7 * PAGE);
	assert_false(held);
	assert_int_equal(pagestore_run_end(&ps, PID, BASE + 7 * PAGE, BASE + 9 * PAGE, &held),
			 BASE + 9 * PAGE);
	assert_true(held);
	drop_pages(&ps, BASE + 3 * PAGE, 6);       /* over the hole: trims both sides */
	assert_true(holds(&ps, BASE, 3));
	assert_false(holds(&ps, BASE + 3 * PAGE, 1));
	assert_false(holds(&ps, BASE + 8 * PAGE, 1));
	assert_true(holds(&ps, BASE + 9 * PAGE, 3));
	drop_pages(&ps, BASE, 16);                 /* everything */
	assert_false(holds(&ps, BASE, 1));
	assert_false(holds(&ps, BASE + 11 * PAGE, 1));
	assert_int_equal(pagestore_run_end(&ps, PID, BASE, BASE + 4 * PAGE, &held), BASE + 4 * PAGE);
	assert_false(held);
	drop_pages(&ps, BASE, 1);                  /* nothing there: no-op */
	assert_int_equal(pagestore_run_end(&ps, 99, BASE, BASE + PAGE, &held), BASE + PAGE);
	assert_false(held);                        /* an unknown process holds nothing */
	pagestore_release(&ps);
	tu_rm_rf(dir);
	(void)state;
}

/* The upstream page server: answers one GET with at most 3 pages of 'u'. */
static void answer_upstream(int up)
{
	struct ps_iov get, reply;
	static uint8_t pages[3 * PAGE];
	assert_int_equal(fs_read_full(up, &get, sizeof(get)), (ssize_t)sizeof(get));
	if (ps_is_close(&get)) {
		int32_t ok = 0;
		assert_int_equal(ps_send_all(up, &ok, sizeof(ok)), 0);
		return;
	}
	assert_true(ps_request_is_valid(&get));
	assert_int_equal(get.dst_id, PID);
	reply = ps_answer(&get);
	reply.nr_pages = get.nr_pages < 3 ? get.nr_pages : 3;
	for (unsigned i = 0; i < reply.nr_pages; i++)
		fill(pages + i * PAGE, get.vaddr + i * PAGE, 'u');
	assert_int_equal(ps_send_all(up, &reply, sizeof(reply)), 0);
	assert_int_equal(ps_send_all(up, pages, reply.nr_pages * PAGE), 0);
}

/* The daemon's side: sends GET for n pages at addr, then (answering the
 * upstream meanwhile) reads the answer; every page must be the right one,
 * with marker 'a' where expect_store says so, 'u' elsewhere. */
static void daemon_get(int sk, int up, uint64_t addr, unsigned n, const char *expect)
{
	struct ps_iov get = { .cmd = PS_IOV_GET, .nr_pages = n, .vaddr = addr, .dst_id = PID }, a;
	static uint8_t page[PAGE], want[PAGE];
	assert_int_equal(ps_send_all(sk, &get, sizeof(get)), 0);
	for (;;) {
		struct pollfd p[2] = { { .fd = sk, .events = POLLIN }, { .fd = up, .events = POLLIN } };
		assert_true(poll(p, 2, 10000) > 0);
		if (p[0].revents & POLLIN)
			break;
		answer_upstream(up);
	}
	assert_int_equal(fs_read_full(sk, &a, sizeof(a)), (ssize_t)sizeof(a));
	assert_int_equal(a.nr_pages, n);
	assert_int_equal(a.vaddr, addr);
	for (unsigned i = 0; i < n; i++) {
		/* the rest of the answer may wait on more upstream requests */
		struct pollfd p[2] = { { .fd = sk, .events = POLLIN }, { .fd = up, .events = POLLIN } };
		while (poll(p, 2, 10000) > 0 && !(p[0].revents & POLLIN) && p[1].revents) {
			answer_upstream(up);
			p[0].revents = p[1].revents = 0;
		}
		assert_int_equal(fs_read_full(sk, page, PAGE), (ssize_t)PAGE);
		fill(want, addr + i * PAGE, (uint8_t)expect[i]);
		assert_memory_equal(page, want, PAGE);
	}
}

static int listen_loopback(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(ls >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(ls, 1), 0);
	return ls;
}

static int connect_to(int ls)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &len), 0);
	int sk = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(sk, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return sk;
}

static void test_fetch(void **state)
{
	char *dir = tu_mkdtemp();
	struct pagestore ps;
	int pair[2];
	pagestore_init(&ps, dir);
	/* pages 0-7 sent; 2-3 then changed (dropped: stale 'a' must not be
	 * served); 8-11 never sent; the store check would list 2-3 and 8-11 */
	store_pages(&ps, BASE, 8, 'a');
	drop_pages(&ps, BASE + 2 * PAGE, 2);
	assert_int_equal(pagestore_runs_add(&ps.missing, PID, BASE + 2 * PAGE, BASE + 4 * PAGE), 0);
	assert_int_equal(pagestore_runs_add(&ps.missing, PID, BASE + 8 * PAGE, BASE + 12 * PAGE), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
	wire_conn_init_plain(&ps.upstream, pair[0]);
	int ls = listen_loopback();
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(pair[1]);
		int rc = pagefetch_serve(&ps, ls);
		pagestore_release(&ps); /* valgrind checks the child too */
		free(dir);
		_exit(rc);
	}
	wire_conn_forget(&ps.upstream);
	int sk = connect_to(ls);
	close(ls);
	daemon_get(sk, pair[1], BASE, 2, "aa");             /* held: from the store */
	daemon_get(sk, pair[1], BASE + PAGE, 4, "auua");    /* mixed */
	daemon_get(sk, pair[1], BASE + 6 * PAGE, 6, "aauuuu"); /* into never-sent pages */
	struct ps_iov close_req = { .cmd = PS_IOV_CLOSE };
	int32_t status = -1;
	assert_int_equal(ps_send_all(sk, &close_req, sizeof(close_req)), 0);
	/* whatever is still in flight upstream, then the CLOSE passed on */
	for (;;) {
		struct pollfd p[2] = { { .fd = sk, .events = POLLIN }, { .fd = pair[1], .events = POLLIN } };
		assert_true(poll(p, 2, 10000) > 0);
		if (p[0].revents & POLLIN) /* the status: the source was done before */
			break;
		answer_upstream(pair[1]);
	}
	assert_int_equal(fs_read_full(sk, &status, sizeof(status)), (ssize_t)sizeof(status));
	assert_int_equal(status, 0);
	int ws;
	assert_int_equal(waitpid(child, &ws, 0), child);
	assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	close(sk);
	close(pair[1]);
	pagestore_release(&ps);
	tu_rm_rf(dir);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spans),
		cmocka_unit_test(test_fetch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
