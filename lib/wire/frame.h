/*
 * frame.h - ferry's wire protocol: versioned, length-prefixed frames.
 *
 * Agents talk to each other (TCP, always inside mutual TLS: lib/tls) and the
 * CLI talks to its agent (unix socket) with the same framing, read and
 * written through a wire_conn (conn.h):
 *
 *     0      4        5       6        8           12
 *     +------+--------+-------+--------+-----------+----------------+
 *     | FERY | version| type  | flags=0| length BE | payload ...    |
 *     +------+--------+-------+--------+-----------+----------------+
 *
 * Control frames carry one JSON object; FILE_DATA carries a small binary
 * header and raw bytes, so image streams are not re-encoded.  A frame with a
 * bad magic, an unknown version or type, non-zero flags or a payload larger
 * than WIRE_MAX_PAYLOAD is rejected before its payload is read, so a peer
 * cannot make us allocate or wait for garbage.
 */
#ifndef FERRY_WIRE_FRAME_H
#define FERRY_WIRE_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "util/error.h"
#include "wire/conn.h"

#define WIRE_MAGIC 0x46455259u /* "FERY" */
#define WIRE_VERSION 1
#define WIRE_HEADER_SIZE 12
#define WIRE_MAX_PAYLOAD (8u << 20)
#define WIRE_MAX_NAME 4096

enum wire_type {
	WIRE_HELLO = 1,     /* json {version, node}: first frame of a peer connection */
	WIRE_HELLO_OK,      /* json {node} */
	WIRE_REQUEST,       /* json {op, ...}: CLI -> agent */
	WIRE_PROGRESS,      /* json {phase, ...}: agent -> CLI while working */
	WIRE_RESULT,        /* json: the answer to a REQUEST */
	WIRE_ERROR,         /* json {error}: the peer failed; ends the exchange */
	WIRE_PREPARE,       /* json container spec: source -> target */
	WIRE_PREPARED,      /* json {}: target ready to receive */
	WIRE_FILE_DATA,     /* binary, see wire_file_data */
	WIRE_FILE_END,      /* json {space, name, size, xxh64} */
	WIRE_ENTRY,         /* json {space, name, type, mode, uid, gid, ...}: a tree entry */
	WIRE_DUMP_DONE,     /* json {}: all state sent; target may restore */
	WIRE_RESTORED,      /* json {restore_ms}: target runs the pod, its traffic still held */
	WIRE_COMMIT,        /* json {}: source moved the route: the target owns the pod */
	WIRE_ABORT,         /* json {error}: source rolls back; target must clean up */
	WIRE_PAGE_DATA,     /* binary, see wire_page_data: pre-copied memory of one process */
	WIRE_PAGE_DROP,     /* binary, see wire_page_drop: pre-copied pages now stale (hybrid) */
	WIRE_TYPE_MAX
};

struct wire_header {
	uint8_t version;
	uint8_t type;
	uint32_t length;
};

struct wire_frame {
	uint8_t type;
	uint32_t length;
	uint8_t *payload;   /* owned; reused and grown across wire_recv calls */
	size_t capacity;
};

/* Parsed view of a FILE_DATA payload: u8 space, u16 name length, name, u64 offset, data. */
struct wire_file_data {
	uint8_t space;
	const char *name;   /* not NUL-terminated */
	uint16_t name_len;
	uint64_t offset;
	const uint8_t *data;
	size_t data_len;
};

/* Parsed view of a PAGE_DATA payload: u32 pid (as CRIU names the process:
 * its pid in the container's namespace), u32 zero, u64 vaddr, then whole
 * pages.  Validated: pid > 0, vaddr page aligned, at least one page, a whole
 * number of pages, the range inside a 57-bit address space. */
#define WIRE_PAGE_SIZE 4096u
#define WIRE_PAGE_HEADER 16u
#define WIRE_MAX_VADDR (1ull << 57)
struct wire_page_data {
	uint32_t pid;
	uint64_t vaddr;
	const uint8_t *data;
	size_t len;
};

/* Parsed view of a PAGE_DROP payload: the PAGE_DATA header, then u64 length:
 * pages of a process sent before but changed since, which the target must
 * not serve from its store (hybrid mode: they come from the source later).
 * Validated like PAGE_DATA: at least one page, whole pages, in range. */
#define WIRE_PAGE_DROP_SIZE (WIRE_PAGE_HEADER + 8u)
struct wire_page_drop {
	uint32_t pid;
	uint64_t vaddr;
	uint64_t len;
};

const char *wire_type_name(uint8_t type);

void wire_encode_header(uint8_t out[WIRE_HEADER_SIZE], uint8_t type, uint32_t length);
int wire_decode_header(const uint8_t in[WIRE_HEADER_SIZE], struct wire_header *h,
		       ferry_error_t *err);

int wire_send(struct wire_conn *c, uint8_t type, const void *payload, uint32_t length, ferry_error_t *err);
int wire_send_json(struct wire_conn *c, uint8_t type, json_object *obj, ferry_error_t *err);
int wire_send_error(struct wire_conn *c, const char *message);
int wire_send_file_data(struct wire_conn *c, uint8_t space, const char *name, uint64_t offset,
			const void *data, size_t len, ferry_error_t *err);

/* Reads one whole frame. Peer close before a header is "connection closed". */
int wire_recv(struct wire_conn *c, struct wire_frame *f, ferry_error_t *err);
/* The two halves of wire_recv, for receivers that place payloads themselves. */
int wire_recv_header(struct wire_conn *c, struct wire_header *h, ferry_error_t *err);
int wire_recv_payload(struct wire_conn *c, const struct wire_header *h, struct wire_frame *f,
		      ferry_error_t *err);
/* After a FILE_DATA header: reads and validates the file name and offset; the
 * caller then reads out->data_len bytes of data itself (out->data is NULL). */
int wire_recv_file_meta(struct wire_conn *c, const struct wire_header *h, char name[WIRE_MAX_NAME + 1],
			struct wire_file_data *out, ferry_error_t *err);
int wire_read_exact(struct wire_conn *c, void *buf, size_t len, const char *what, ferry_error_t *err);
/* Reads one frame and requires `type`; a WIRE_ERROR from the peer becomes err. */
int wire_expect(struct wire_conn *c, struct wire_frame *f, uint8_t type, ferry_error_t *err);
void wire_frame_release(struct wire_frame *f);
/* Turns an ERROR/ABORT frame's message into err. Returns -1. */
int wire_frame_error(const struct wire_frame *f, ferry_error_t *err);

/* The JSON object of a control frame (new reference), or NULL with err. */
json_object *wire_frame_json(const struct wire_frame *f, ferry_error_t *err);
int wire_parse_file_data(const uint8_t *payload, size_t len, struct wire_file_data *out,
			 ferry_error_t *err);
int wire_parse_page_data(const uint8_t *payload, size_t len, struct wire_page_data *out,
			 ferry_error_t *err);
/* Encodes the 16-byte PAGE_DATA header. */
void wire_encode_page_header(uint8_t out[WIRE_PAGE_HEADER], uint32_t pid, uint64_t vaddr);
int wire_parse_page_drop(const uint8_t *payload, size_t len, struct wire_page_drop *out,
			 ferry_error_t *err);
void wire_encode_page_drop(uint8_t out[WIRE_PAGE_DROP_SIZE], uint32_t pid, uint64_t vaddr,
			   uint64_t len);

/* A relative path with no "..", empty, "." components or NUL: safe to join under a root. */
bool wire_name_is_safe(const char *name, size_t len);

/* Receive/send timeouts and keepalive on a connected socket. */
int wire_set_timeouts(int fd, int timeout_ms, ferry_error_t *err);

#endif
