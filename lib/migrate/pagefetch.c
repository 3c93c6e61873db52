/*
 * pagefetch.c - see pagefetch.h.
 */
#define _FILE_OFFSET_BITS 64
#include "migrate/pagefetch.h"
#include "container/pagemap.h"
#include "migrate/psproto.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fetcher {
	struct pagestore *ps;
	int ls;                              /* listening for the daemon */
	int sk;                              /* CRIU's lazy-pages daemon, -1 until it connects */
	struct pagestore_runs urgent;        /* what the waiting request lacks: asked first */
	size_t next_missing;                 /* ps->missing.v[next_missing..]: not asked yet */
	struct pagestore_run asked[PAGEFETCH_DEPTH]; /* in flight, oldest at head */
	int head, n_asked;
	struct ps_iov waiting;               /* the daemon's request, until the store holds it */
	bool has_waiting;
	uint8_t *buf;                        /* one answer's pages */
	uint64_t fetched;
	uint64_t requests, waits;            /* the daemon's GETs; those that waited */
	double start_ms, all_fetched_ms;     /* clock_now_ms() */
	double idle_ms;                      /* waiting for the daemon or the source */
};

/* The next piece to ask for (at most PAGEFETCH_MAX_PAGES), taken off its list. */
static bool next_piece(struct fetcher *f, struct pagestore_run *out)
{
	struct pagestore_run *r = NULL;
	if (f->urgent.n)
		r = &f->urgent.v[f->urgent.n - 1];
	else if (f->next_missing < f->ps->missing.n)
		r = &f->ps->missing.v[f->next_missing];
	if (!r)
		return false;
	uint64_t max = (uint64_t)PAGEFETCH_MAX_PAGES * PS_PAGE;
	*out = *r;
	if (r->end - r->start > max) {
		out->end = r->start + max;
		r->start = out->end; /* the rest stays listed */
	} else if (f->urgent.n) {
		f->urgent.n--;
	} else {
		f->next_missing++;
	}
	return true;
}

/* Keeps PAGEFETCH_DEPTH requests in flight while there is anything to ask. */
static int ask_more(struct fetcher *f)
{
	struct pagestore_run r;
	while (f->n_asked < PAGEFETCH_DEPTH && next_piece(f, &r)) {
		struct ps_iov get = { .cmd = PS_IOV_GET, .nr_pages = (r.end - r.start) / PS_PAGE,
				      .vaddr = r.start, .dst_id = r.pid };
		struct iovec iov = { &get, sizeof(get) };
		if (wire_conn_writev_all(&f->ps->upstream, &iov, 1) < 0) {
			log_error("page fetch: cannot reach the source's page server");
			return -1;
		}
		f->asked[(f->head + f->n_asked) % PAGEFETCH_DEPTH] = r;
		f->n_asked++;
	}
	return 0;
}

/* Reads the oldest answer in flight into the store. */
static int receive_answer(struct fetcher *f)
{
	struct pagestore_run want = f->asked[f->head];
	struct ps_iov a;
	ferry_error_t err = { 0 };
	if (wire_conn_read_full(&f->ps->upstream, &a, sizeof(a)) != sizeof(a)) {
		log_error("page fetch: the source's page server is gone");
		return -1;
	}
	uint64_t len = a.nr_pages * PS_PAGE;
	if (!((a.cmd >> 16) & PE_PRESENT) || a.dst_id != want.pid || a.vaddr != want.start ||
	    a.nr_pages == 0 || len > want.end - want.start) {
		log_error("page fetch: the source answered %llu pages at 0x%llx of %llu "
			  "for 0x%llx-0x%llx of %u",
			  (unsigned long long)a.nr_pages, (unsigned long long)a.vaddr,
			  (unsigned long long)a.dst_id, (unsigned long long)want.start,
			  (unsigned long long)want.end, want.pid);
		return -1;
	}
	if (wire_conn_read_full(&f->ps->upstream, f->buf, len) != (ssize_t)len)
		return -1;
	struct wire_page_data pd = { .pid = want.pid, .vaddr = want.start, .data = f->buf, .len = len };
	if (pagestore_write(f->ps, &pd, &err) < 0) {
		log_error("page fetch: %s", err.message);
		return -1;
	}
	f->fetched += len;
	if (!f->all_fetched_ms && f->n_asked == 1 && !f->urgent.n &&
	    f->next_missing == f->ps->missing.n)
		f->all_fetched_ms = clock_now_ms();
	f->head = (f->head + 1) % PAGEFETCH_DEPTH;
	f->n_asked--;
	if (len < want.end - want.start && /* the rest of the run: again, first */
	    pagestore_runs_add(&f->urgent, want.pid, want.start + len, want.end) < 0)
		return -1;
	return 0;
}

static bool waiting_is_held(const struct fetcher *f)
{
	const struct ps_iov *w = &f->waiting;
	return pagestore_holds(f->ps, (uint32_t)w->dst_id, w->vaddr, w->vaddr + w->nr_pages * PS_PAGE);
}

/* A GET the store does not hold: its missing runs are asked for first. */
static int wait_for(struct fetcher *f, const struct ps_iov *pi)
{
	uint64_t end = pi->vaddr + pi->nr_pages * PS_PAGE;
	f->waiting = *pi;
	f->has_waiting = true;
	f->waits++;
	for (uint64_t a = pi->vaddr; a < end;) {
		bool held;
		uint64_t stop = pagestore_run_end(f->ps, (uint32_t)pi->dst_id, a, end, &held);
		if (!held && pagestore_runs_add(&f->urgent, (uint32_t)pi->dst_id, a, stop) < 0)
			return -1;
		a = stop;
	}
	return 0;
}

/* CLOSE: the answers in flight are read, then it goes to the source. */
static int finish(struct fetcher *f, const struct ps_iov *close_req)
{
	int32_t status = -1;
	struct iovec iov = { (void *)close_req, sizeof(*close_req) };
	while (f->n_asked)
		if (receive_answer(f) < 0)
			return 1;
	if (wire_conn_writev_all(&f->ps->upstream, &iov, 1) < 0 ||
	    wire_conn_read_full(&f->ps->upstream, &status, sizeof(status)) != sizeof(status))
		log_error("page fetch: no answer to CLOSE from the source");
	log_info("page fetch: %llu bytes fetched from the source in %.0f ms; %llu "
		 "requests from the lazy-pages daemon (%llu waited for pages) in %.0f ms, "
		 "%.0f ms of it idle",
		 (unsigned long long)f->fetched,
		 (f->all_fetched_ms ? f->all_fetched_ms : clock_now_ms()) - f->start_ms,
		 (unsigned long long)f->requests, (unsigned long long)f->waits,
		 clock_now_ms() - f->start_ms, f->idle_ms);
	int32_t mine = status == 0 ? 0 : -1;
	if (ps_send_all(f->sk, &mine, sizeof(mine)) < 0 || status != 0)
		return 1;
	return 0;
}

enum step { STEP_GO_ON, STEP_CLOSED, STEP_FAILED };

/* Reads one daemon request: answered now, or waits for its pages. */
static enum step take_request(struct fetcher *f, struct ps_iov *pi)
{
	if (fs_read_full(f->sk, pi, sizeof(*pi)) != (ssize_t)sizeof(*pi))
		return STEP_FAILED;
	if (ps_is_close(pi))
		return STEP_CLOSED;
	if (!ps_request_is_valid(pi)) {
		log_error("page fetch: bad request %#x", pi->cmd);
		return STEP_FAILED;
	}
	f->requests++;
	if (pagestore_holds(f->ps, (uint32_t)pi->dst_id, pi->vaddr, pi->vaddr + pi->nr_pages * PS_PAGE))
		return pagestore_serve_request(f->ps, f->sk, pi) < 0 ? STEP_FAILED : STEP_GO_ON;
	return wait_for(f, pi) < 0 ? STEP_FAILED : STEP_GO_ON;
}

/* The daemon's connection, accepted (fetching went on while it was not there). */
static enum step take_daemon(struct fetcher *f)
{
	f->sk = pagestore_accept_daemon(f->ls);
	if (f->sk < 0) {
		log_error("page fetch: CRIU's lazy-pages daemon did not connect");
		return STEP_FAILED;
	}
	return STEP_GO_ON;
}

/* Waits for the daemon (its connection, or its next request unless one
 * waits) or an answer from the source (if any is in flight). */
static enum step one_step(struct fetcher *f)
{
	struct ps_iov pi;
	bool answer = f->n_asked > 0 && wire_conn_pending(&f->ps->upstream);
	if (!answer) {
		int daemon_fd = f->sk < 0 ? f->ls : f->has_waiting ? -1 : f->sk;
		struct pollfd p[2] = { { .fd = daemon_fd, .events = POLLIN },
				       { .fd = f->n_asked ? f->ps->upstream.fd : -1, .events = POLLIN } };
		double t0 = clock_now_ms();
		int n = poll(p, 2, f->sk < 0 ? PAGESTORE_ACCEPT_TIMEOUT_MS : -1);
		if (n < 0)
			return errno == EINTR ? STEP_GO_ON : STEP_FAILED;
		f->idle_ms += clock_now_ms() - t0;
		answer = p[1].revents != 0;
		if (n == 0) {
			log_error("page fetch: CRIU's lazy-pages daemon did not connect");
			return STEP_FAILED;
		}
		if (p[0].revents && f->sk < 0) {
			if (take_daemon(f) == STEP_FAILED)
				return STEP_FAILED;
		} else if (p[0].revents) {
			enum step s = take_request(f, &pi);
			if (s == STEP_CLOSED)
				return finish(f, &pi) == 0 ? STEP_CLOSED : STEP_FAILED;
			if (s == STEP_FAILED)
				return s;
		}
	}
	return answer && receive_answer(f) < 0 ? STEP_FAILED : STEP_GO_ON;
}

/* The waiting request: the store holds it now. */
static enum step serve_waiting(struct fetcher *f)
{
	f->has_waiting = false;
	return pagestore_serve_request(f->ps, f->sk, &f->waiting) < 0 ? STEP_FAILED : STEP_GO_ON;
}

int pagefetch_serve(struct pagestore *ps, int ls)
{
	struct fetcher f = { .ps = ps, .ls = ls, .sk = -1, .start_ms = clock_now_ms() };
	_cleanup_free_ uint8_t *buf = malloc((size_t)PAGEFETCH_MAX_PAGES * PS_PAGE);
	f.buf = buf;
	if (!buf)
		return 1;
	enum step s = STEP_GO_ON;
	while (s == STEP_GO_ON) {
		if (ask_more(&f) < 0)
			s = STEP_FAILED;
		else if (f.has_waiting && waiting_is_held(&f))
			s = serve_waiting(&f);
		else if (f.has_waiting && f.n_asked == 0) {
			log_error("page fetch: pages at 0x%llx of %llu are nowhere",
				  (unsigned long long)f.waiting.vaddr,
				  (unsigned long long)f.waiting.dst_id);
			s = STEP_FAILED;
		} else
			s = one_step(&f);
	}
	pagestore_runs_free(&f.urgent);
	if (f.sk >= 0)
		close(f.sk);
	return s == STEP_CLOSED ? 0 : 1;
}
