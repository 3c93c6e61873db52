/*
 * pagestore.c - see pagestore.h.
 */
#define _FILE_OFFSET_BITS 64
#include "migrate/pagestore.h"
#include "migrate/pagefetch.h"
#include "migrate/psproto.h"
#include "container/pagemap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/grow.h"
#include "util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/wait.h>

void pagestore_init(struct pagestore *ps, const char *dir)
{
	memset(ps, 0, sizeof(*ps));
	snprintf(ps->dir, sizeof(ps->dir), "%s", dir);
	ps->upstream.fd = -1;
}

static const struct pagestore_proc *lookup(const struct pagestore *ps, uint32_t pid)
{
	for (int i = 0; i < ps->n_procs; i++)
		if (ps->procs[i].pid == pid)
			return &ps->procs[i];
	return NULL;
}

static struct pagestore_proc *find(struct pagestore *ps, uint32_t pid)
{
	return (struct pagestore_proc *)lookup(ps, pid);
}

/* Room for one more span of p; -1 when out of memory. */
static int reserve_span(struct pagestore_proc *p)
{
	struct pagestore_span *grown = grow_for_one(p->spans, &p->cap_spans, p->n_spans,
						     sizeof(*grown));
	if (!grown)
		return -1;
	p->spans = grown;
	return 0;
}

/* Index of the first span of p ending at or after addr (touching counts). */
static size_t first_span_reaching(const struct pagestore_proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->n_spans;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (p->spans[mid].end < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Records [start, end) as received: merged with what it overlaps or touches. */
static int add_span(struct pagestore_proc *p, uint64_t start, uint64_t end)
{
	size_t lo = first_span_reaching(p, start);
	size_t last = lo;
	while (last < p->n_spans && p->spans[last].start <= end)
		last++;
	if (last > lo) { /* [lo, last) overlap or touch: one span */
		if (p->spans[lo].start < start)
			start = p->spans[lo].start;
		if (p->spans[last - 1].end > end)
			end = p->spans[last - 1].end;
		p->spans[lo] = (struct pagestore_span){ start, end };
		memmove(&p->spans[lo + 1], &p->spans[last], (p->n_spans - last) * sizeof(p->spans[0]));
		p->n_spans -= last - lo - 1;
		return 0;
	}
	if (reserve_span(p) < 0)
		return -1;
	memmove(&p->spans[lo + 1], &p->spans[lo], (p->n_spans - lo) * sizeof(p->spans[0]));
	p->spans[lo] = (struct pagestore_span){ start, end };
	p->n_spans++;
	return 0;
}

/* Forgets [start, end): trims, splits or removes the spans it overlaps. */
static int remove_span(struct pagestore_proc *p, uint64_t start, uint64_t end)
{
	size_t lo = first_span_reaching(p, start + 1);
	if (lo < p->n_spans && p->spans[lo].start < start && p->spans[lo].end > end) {
		if (reserve_span(p) < 0) /* a hole inside one span: two spans */
			return -1;
		memmove(&p->spans[lo + 2], &p->spans[lo + 1],
			(p->n_spans - lo - 1) * sizeof(p->spans[0]));
		p->spans[lo + 1] = (struct pagestore_span){ end, p->spans[lo].end };
		p->spans[lo].end = start;
		p->n_spans++;
		return 0;
	}
	if (lo < p->n_spans && p->spans[lo].start < start)
		p->spans[lo++].end = start;
	size_t k = lo;
	while (k < p->n_spans && p->spans[k].end <= end)
		k++; /* inside the hole: removed */
	if (k < p->n_spans && p->spans[k].start < end)
		p->spans[k].start = end;
	memmove(&p->spans[lo], &p->spans[k], (p->n_spans - k) * sizeof(p->spans[0]));
	p->n_spans -= k - lo;
	return 0;
}

/* [start, end) was received whole. */
static bool covered(const struct pagestore_proc *p, uint64_t start, uint64_t end)
{
	size_t lo = first_span_reaching(p, start + 1);
	return lo < p->n_spans && p->spans[lo].start <= start && p->spans[lo].end >= end;
}

static int store_fd(struct pagestore *ps, uint32_t pid, bool create, ferry_error_t *err)
{
	struct pagestore_proc *known = find(ps, pid);
	if (known)
		return known->fd;
	if (!create || !err)
		return -1;
	if (ps->n_procs == PAGESTORE_MAX_PROCS)
		return ferry_error_set(err, 0, "pre-copy: more than %d processes", PAGESTORE_MAX_PROCS);
	char path[PATH_MAX];
	if (ps->n_procs == 0 && fs_mkdir_p(ps->dir, 0700, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%u", ps->dir, pid);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return ferry_error_set(err, errno, "open %s", path);
	ps->procs[ps->n_procs] = (struct pagestore_proc){ .pid = pid, .fd = fd };
	ps->n_procs++;
	return fd;
}

int pagestore_write(struct pagestore *ps, const struct wire_page_data *pd, ferry_error_t *err)
{
	int fd = store_fd(ps, pd->pid, true, err);
	if (fd < 0)
		return -1;
	size_t done = 0;
	while (done < pd->len) {
		ssize_t n = pwrite(fd, pd->data + done, pd->len - done, (off_t)(pd->vaddr + done));
		if (n <= 0)
			return ferry_error_set(err, n < 0 ? errno : EIO,
					       "pre-copy: store pages of process %u", pd->pid);
		done += (size_t)n;
	}
	ps->bytes += pd->len;
	if (add_span(find(ps, pd->pid), pd->vaddr, pd->vaddr + pd->len) < 0)
		return ferry_error_set(err, ENOMEM, "pre-copy");
	return 0;
}

int pagestore_drop(struct pagestore *ps, const struct wire_page_drop *pd, ferry_error_t *err)
{
	struct pagestore_proc *p = find(ps, pd->pid);
	if (p && remove_span(p, pd->vaddr, pd->vaddr + pd->len) < 0)
		return ferry_error_set(err, ENOMEM, "hybrid");
	ps->dropped_bytes += pd->len;
	return 0;
}

bool pagestore_holds(const struct pagestore *ps, uint32_t pid, uint64_t start, uint64_t end)
{
	const struct pagestore_proc *p = lookup(ps, pid);
	return p && covered(p, start, end);
}

uint64_t pagestore_run_end(const struct pagestore *ps, uint32_t pid, uint64_t addr, uint64_t end,
			   bool *held)
{
	const struct pagestore_proc *p = lookup(ps, pid);
	size_t i = p ? first_span_reaching(p, addr + 1) : 0;
	*held = p && i < p->n_spans && p->spans[i].start <= addr;
	uint64_t limit = !p || i == p->n_spans ? end : *held ? p->spans[i].end : p->spans[i].start;
	return limit < end ? limit : end;
}

int pagestore_runs_add(struct pagestore_runs *runs, uint32_t pid, uint64_t start, uint64_t end)
{
	struct pagestore_run *grown = grow_for_one(runs->v, &runs->cap, runs->n, sizeof(*grown));
	if (!grown)
		return -1;
	runs->v = grown;
	runs->v[runs->n++] = (struct pagestore_run){ pid, start, end };
	return 0;
}

void pagestore_runs_free(struct pagestore_runs *runs)
{
	free(runs->v);
	*runs = (struct pagestore_runs){ 0 };
}

/* Hybrid: the runs of [start, end) of pid that the store lacks, listed. */
static int list_missing(struct pagestore *ps, uint32_t pid, uint64_t start, uint64_t end,
			ferry_error_t *err)
{
	for (uint64_t a = start; a < end;) {
		bool held;
		uint64_t stop = pagestore_run_end(ps, pid, a, end, &held);
		if (!held && pagestore_runs_add(&ps->missing, pid, a, stop) < 0)
			return ferry_error_set(err, ENOMEM, "hybrid");
		if (!held)
			ps->missing_bytes += stop - a;
		a = stop;
	}
	return 0;
}

/* Every lazy entry of pid's pagemap is in the store (hybrid: listed if not). */
static int check_one(struct pagestore *ps, const char *images_dir, uint32_t pid,
		     ferry_error_t *err)
{
	char pm_path[PATH_MAX];
	struct pagemap pm;
	snprintf(pm_path, sizeof(pm_path), "%s/pagemap-%u.img", images_dir, pid);
	if (pagemap_load(pm_path, &pm, err) < 0)
		return -1;
	int rc = 0;
	const struct pagestore_proc *store = find(ps, pid);
	for (size_t i = 0; i < pm.n && rc == 0; i++) {
		const struct pagemap_entry *e = &pm.e[i];
		uint64_t len = e->nr_pages * PAGEMAP_PAGE;
		if (!pagemap_entry_lazy(e))
			continue;
		bool held = store && covered(store, e->vaddr, e->vaddr + len);
		if (!held && ps->upstream.fd >= 0) /* hybrid: fetched from the source */
			rc = list_missing(ps, pid, e->vaddr, e->vaddr + len, err);
		else if (!held)
			rc = ferry_error_set(err, 0,
					     "pre-copy: pages 0x%llx-0x%llx of process %u never arrived",
					     (unsigned long long)e->vaddr,
					     (unsigned long long)(e->vaddr + len), pid);
		ps->lazy_bytes += len;
	}
	pagemap_free(&pm);
	return rc;
}

int pagestore_check_images(struct pagestore *ps, const char *images_dir, ferry_error_t *err)
{
	_cleanup_dir_ DIR *d = opendir(images_dir);
	if (!d)
		return ferry_error_set(err, errno, "open %s", images_dir);
	struct dirent *de;
	ps->lazy_bytes = ps->missing_bytes = 0;
	pagestore_runs_free(&ps->missing);
	while ((de = readdir(d))) {
		uint32_t pid = pagemap_name_pid(de->d_name);
		if (pid && check_one(ps, images_dir, pid, err) < 0)
			return -1;
	}
	log_info("pre-copy: the store holds %llu of %llu bytes of lazy pages (%llu received, "
		 "%llu dropped)",
		 (unsigned long long)(ps->lazy_bytes - ps->missing_bytes),
		 (unsigned long long)ps->lazy_bytes, (unsigned long long)ps->bytes,
		 (unsigned long long)ps->dropped_bytes);
	return 0;
}

/* Answers a GET from the store. */
int pagestore_serve_request(struct pagestore *ps, int sk, const struct ps_iov *pi)
{
	int fd = store_fd(ps, (uint32_t)pi->dst_id, false, NULL);
	struct ps_iov answer = ps_answer(pi);
	if (fd < 0) {
		log_error("pre-copy page server: no pages of process %llu",
			  (unsigned long long)pi->dst_id);
		return -1;
	}
	if (ps_send_all(sk, &answer, sizeof(answer)) < 0)
		return -1;
	return ps_send_file_range(sk, fd, pi->vaddr, pi->nr_pages * PAGEMAP_PAGE);
}

/* Pre-copy: every request from the store; returns the child's exit status. */
static int serve_from_store(struct pagestore *ps, int sk)
{
	for (;;) {
		struct ps_iov pi;
		if (fs_read_full(sk, &pi, sizeof(pi)) != (ssize_t)sizeof(pi))
			return 1;
		if (ps_is_close(&pi)) {
			int32_t status = 0;
			return ps_send_all(sk, &status, sizeof(status)) < 0 ? 1 : 0;
		}
		if (!ps_request_is_valid(&pi)) {
			log_error("pre-copy page server: bad request %#x", pi.cmd);
			return 1;
		}
		if (pagestore_serve_request(ps, sk, &pi) < 0)
			return 1;
	}
}

int pagestore_accept_daemon(int ls)
{
	struct pollfd p = { .fd = ls, .events = POLLIN };
	if (poll(&p, 1, PAGESTORE_ACCEPT_TIMEOUT_MS) != 1)
		return -1;
	int sk = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	int one = 1;
	if (sk >= 0)
		setsockopt(sk, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return sk;
}

int pagestore_serve_start(struct pagestore *ps, const char *address, char out[64],
			  ferry_error_t *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	if (inet_pton(AF_INET, address, &sa.sin_addr) != 1)
		return ferry_error_set(err, 0, "bad address %s", address);
	_cleanup_fd_ int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 1) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &len) < 0)
		return ferry_error_set(err, errno, "pre-copy page server");
	snprintf(out, 64, "%s:%d", address, ntohs(sa.sin_port));
	pid_t pid = fork();
	if (pid < 0)
		return ferry_error_set(err, errno, "fork");
	if (pid == 0) {
		/* its own session, like CRIU's lazy-pages daemon: an agent killed
		 * after the commit must not take the restored process's pages with it */
		setsid();
		if (ps->upstream.fd >= 0) /* hybrid: fetching starts now, before the daemon connects */
			_exit(pagefetch_serve(ps, ls));
		int sk = pagestore_accept_daemon(ls);
		_exit(sk < 0 ? 1 : serve_from_store(ps, sk));
	}
	ps->server = pid;
	wire_conn_forget(&ps->upstream); /* the child's now */
	return 0;
}

void pagestore_serve_stop(struct pagestore *ps)
{
	if (ps->server <= 0)
		return;
	kill(ps->server, SIGKILL);
	waitpid(ps->server, NULL, 0);
	ps->server = 0;
}

void pagestore_release(struct pagestore *ps)
{
	pagestore_serve_stop(ps);
	wire_conn_close(&ps->upstream);
	pagestore_runs_free(&ps->missing);
	for (int i = 0; i < ps->n_procs; i++) {
		close(ps->procs[i].fd);
		free(ps->procs[i].spans);
	}
	ps->n_procs = 0;
}
