/*
 * pagestore.c - see pagestore.h.
 */
#define _FILE_OFFSET_BITS 64
#include "migrate/pagestore.h"
#include "container/pagemap.h"
#include "util/cleanup.h"
#include "util/fs.h"
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
}

static struct pagestore_proc *find(struct pagestore *ps, uint32_t pid)
{
	for (int i = 0; i < ps->n_procs; i++)
		if (ps->procs[i].pid == pid)
			return &ps->procs[i];
	return NULL;
}

/* Records [start, end) as received: merged with what it overlaps or touches. */
static int add_span(struct pagestore_proc *p, uint64_t start, uint64_t end)
{
	size_t lo = 0, hi = p->n_spans;
	while (lo < hi) { /* first span ending at or after start */
		size_t mid = (lo + hi) / 2;
		if (p->spans[mid].end < start)
			lo = mid + 1;
		else
			hi = mid;
	}
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
	if (p->n_spans == p->cap_spans) {
		size_t cap = p->cap_spans ? p->cap_spans * 2 : 64;
		struct pagestore_span *grown = realloc(p->spans, cap * sizeof(*grown));
		if (!grown)
			return -1;
		p->spans = grown;
		p->cap_spans = cap;
	}
	memmove(&p->spans[lo + 1], &p->spans[lo], (p->n_spans - lo) * sizeof(p->spans[0]));
	p->spans[lo] = (struct pagestore_span){ start, end };
	p->n_spans++;
	return 0;
}

/* [start, end) was received whole. */
static bool covered(const struct pagestore_proc *p, uint64_t start, uint64_t end)
{
	size_t lo = 0, hi = p->n_spans;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (p->spans[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
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

/* Every lazy entry of pid's pagemap is in the store. */
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
		if (!store || !covered(store, e->vaddr, e->vaddr + len))
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
	ps->lazy_bytes = 0;
	while ((de = readdir(d))) {
		uint32_t pid = pagemap_name_pid(de->d_name);
		if (pid && check_one(ps, images_dir, pid, err) < 0)
			return -1;
	}
	log_info("pre-copy: the store holds all %llu bytes of lazy pages (%llu received)",
		 (unsigned long long)ps->lazy_bytes, (unsigned long long)ps->bytes);
	return 0;
}

/* CRIU's page-server protocol (criu/page-xfer.c), the part its lazy-pages
 * daemon uses: 32-byte requests {u32 cmd, u64 nr_pages, u64 vaddr, u64
 * dst_id (the pid)}, naturally aligned; GET is answered with the same
 * header (cmd ADD_F | PE_PRESENT << 16) and the pages; CLOSE with an int32
 * status 0. */
struct ps_iov {
	uint32_t cmd;
	uint32_t pad;
	uint64_t nr_pages;
	uint64_t vaddr;
	uint64_t dst_id;
};
#define PS_IOV_ADD_F 6
#define PS_IOV_GET 7
#define PS_IOV_CLOSE 0x1023
#define PS_IOV_FORCE_CLOSE 0x1024
#define PS_CMD_MASK 0xffff
#define PS_MAX_REQUEST (1ull << 30) /* bytes */

static int recv_all(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = recv(fd, (char *)buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int send_all(int fd, const void *buf, size_t len)
{
	size_t sent = 0;
	while (sent < len) {
		ssize_t n = send(fd, (const char *)buf + sent, len - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		sent += (size_t)n;
	}
	return 0;
}

/* The served connection: returns the exit status for the child. */
static int serve(struct pagestore *ps, int sk)
{
	for (;;) {
		struct ps_iov pi;
		if (recv_all(sk, &pi, sizeof(pi)) < 0)
			return 1;
		uint32_t cmd = pi.cmd & PS_CMD_MASK;
		if (cmd == PS_IOV_CLOSE || cmd == PS_IOV_FORCE_CLOSE) {
			int32_t status = 0;
			return send_all(sk, &status, sizeof(status)) < 0 ? 1 : 0;
		}
		if (cmd != PS_IOV_GET || pi.dst_id == 0 || pi.dst_id > (1u << 22) ||
		    pi.vaddr % PAGEMAP_PAGE || pi.nr_pages == 0 ||
		    pi.nr_pages > PS_MAX_REQUEST / PAGEMAP_PAGE || pi.vaddr >= (1ull << 57)) {
			log_error("pre-copy page server: bad request %#x", pi.cmd);
			return 1;
		}
		int fd = store_fd(ps, (uint32_t)pi.dst_id, false, NULL);
		if (fd < 0) {
			log_error("pre-copy page server: no pages of process %llu",
				  (unsigned long long)pi.dst_id);
			return 1;
		}
		pi.cmd = (uint32_t)PS_IOV_ADD_F | (PE_PRESENT << 16);
		if (send_all(sk, &pi, sizeof(pi)) < 0)
			return 1;
		off_t off = (off_t)pi.vaddr;
		size_t left = (size_t)(pi.nr_pages * PAGEMAP_PAGE);
		while (left) {
			ssize_t n = sendfile(sk, fd, &off, left);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return 1;
			left -= (size_t)n;
		}
	}
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
		struct pollfd p = { .fd = ls, .events = POLLIN };
		if (poll(&p, 1, 60 * 1000) != 1)
			_exit(1);
		int sk = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (sk < 0)
			_exit(1);
		int one = 1;
		setsockopt(sk, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		_exit(serve(ps, sk));
	}
	ps->server = pid;
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
	for (int i = 0; i < ps->n_procs; i++) {
		close(ps->procs[i].fd);
		free(ps->procs[i].spans);
	}
	ps->n_procs = 0;
}
