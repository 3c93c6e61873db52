/*
 * psproto.h - the part of CRIU's page-server protocol (criu/page-xfer.c)
 * that its lazy-pages daemon speaks, for ferry's own page servers
 * (pagestore.h: pre-copied pages; pagefetch.h: hybrid).
 *
 * Requests are 32 bytes {u32 cmd, u64 nr_pages, u64 vaddr, u64 dst_id (the
 * pid as CRIU names it)}, naturally aligned, in host byte order (both ends
 * run on one machine, or on CRIU's own hosts).  GET is answered with the same
 * header (cmd ADD_F | PE_PRESENT << 16) and the pages; CRIU's page server may
 * answer with fewer pages than asked (up to the end of the run that holds
 * vaddr in its pipes).  CLOSE is answered with an int32 status, 0 for ok.
 */
#ifndef FERRY_PSPROTO_H
#define FERRY_PSPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
#define PS_PAGE 4096u
#define PS_MAX_REQUEST (1ull << 30) /* bytes */

/* A GET a daemon may send: pid and range bounded, whole pages. */
bool ps_request_is_valid(const struct ps_iov *pi);
bool ps_is_close(const struct ps_iov *pi);
/* The header that answers pi with its pages present. */
struct ps_iov ps_answer(const struct ps_iov *pi);
/* Sends exactly len bytes on a socket; -1 on error (reads: fs_read_full). */
int ps_send_all(int fd, const void *buf, size_t len);
/* Sends [off, off + len) of the file fd to the socket sk (sendfile). */
int ps_send_file_range(int sk, int fd, uint64_t off, uint64_t len);

#endif
