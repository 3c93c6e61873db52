/*
 * psproto.c - see psproto.h.
 */
#define _FILE_OFFSET_BITS 64
#include "migrate/psproto.h"
#include "container/pagemap.h"

#include <errno.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/types.h>

bool ps_request_is_valid(const struct ps_iov *pi)
{
	return (pi->cmd & PS_CMD_MASK) == PS_IOV_GET && pi->dst_id > 0 &&
	       pi->dst_id <= (1u << 22) && pi->vaddr % PS_PAGE == 0 && pi->nr_pages > 0 &&
	       pi->nr_pages <= PS_MAX_REQUEST / PS_PAGE && pi->vaddr < (1ull << 57);
}

bool ps_is_close(const struct ps_iov *pi)
{
	uint32_t cmd = pi->cmd & PS_CMD_MASK;
	return cmd == PS_IOV_CLOSE || cmd == PS_IOV_FORCE_CLOSE;
}

struct ps_iov ps_answer(const struct ps_iov *pi)
{
	struct ps_iov a = *pi;
	a.cmd = (uint32_t)PS_IOV_ADD_F | (PE_PRESENT << 16);
	return a;
}

/* send(MSG_NOSIGNAL), not fs_write_all: a daemon that went away must be an
 * error here, not a SIGPIPE (the unit test's process does not ignore it) */
int ps_send_all(int fd, const void *buf, size_t len)
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

int ps_send_file_range(int sk, int fd, uint64_t off, uint64_t len)
{
	off_t pos = (off_t)off;
	size_t left = (size_t)len;
	while (left) {
		ssize_t n = sendfile(sk, fd, &pos, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		left -= (size_t)n;
	}
	return 0;
}
