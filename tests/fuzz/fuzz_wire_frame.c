/*
 * fuzz_wire_frame.c - libFuzzer target for lib/wire/frame.c.
 *
 * Input: bytes as a peer would send them.  Three views of the same bytes:
 *  1. wire_decode_header on the first 12 bytes; the rest becomes a frame of the
 *     header's type (or byte 5 if the header is bad) and goes through
 *     wire_frame_json, wire_frame_error and wire_parse_file_data, whose view
 *     must stay inside the payload, and wire_parse_page_data and
 *     wire_parse_page_drop, whose ranges must be whole pages inside the
 *     address space;
 *  2. the bytes (at most 64 KiB) through a socketpair into wire_recv until it
 *     fails, as an agent reads a connection;
 *  3. the same stream read the way the target reads FILE_DATA
 *     (wire_recv_header, then wire_recv_file_meta and the data), which must
 *     agree with wire_parse_file_data on the frames of pass 2.
 * No threads: the whole input is written before reading, then the write side
 * is shut down, so a read past the end fails instead of blocking.
 */
#include "fuzz.h"

#include <fcntl.h>
#include <sys/socket.h>

#define MAX_STREAM (64u << 10)
#define MAX_FRAMES 256

struct parsed {
	int rc;
	struct wire_file_data d; /* d.name and d.data point into a payload */
	char name[WIRE_MAX_NAME + 1];
};

static void check_file_data(const uint8_t *p, size_t len, struct parsed *out)
{
	ferry_error_t err = { 0 };
	out->rc = wire_parse_file_data(p, len, &out->d, &err);
	if (out->rc < 0) {
		FUZZ_CHECK(ferry_error_is_set(&err));
		return;
	}
	const struct wire_file_data *d = &out->d;
	FUZZ_CHECK((const uint8_t *)d->name == p + 3);
	FUZZ_CHECK(d->name_len <= WIRE_MAX_NAME);
	FUZZ_CHECK(wire_name_is_safe(d->name, d->name_len));
	FUZZ_CHECK(d->data == p + 3 + d->name_len + 8);
	FUZZ_CHECK(d->data + d->data_len == p + len);
	FUZZ_CHECK(d->offset <= (UINT64_MAX >> 1) - d->data_len);
	memcpy(out->name, d->name, d->name_len);
	out->name[d->name_len] = '\0';
}

static void check_page_frames(const uint8_t *p, size_t len)
{
	ferry_error_t err = { 0 };
	struct wire_page_data pd;
	struct wire_page_drop drop;
	if (wire_parse_page_data(p, len, &pd, &err) == 0) {
		FUZZ_CHECK(pd.pid > 0 && pd.data == p + WIRE_PAGE_HEADER);
		FUZZ_CHECK(pd.len > 0 && pd.len % WIRE_PAGE_SIZE == 0 && pd.data + pd.len == p + len);
		FUZZ_CHECK(pd.vaddr % WIRE_PAGE_SIZE == 0 && pd.vaddr + pd.len <= WIRE_MAX_VADDR);
	} else {
		FUZZ_CHECK(ferry_error_is_set(&err));
	}
	ferry_error_clear(&err);
	if (wire_parse_page_drop(p, len, &drop, &err) == 0) {
		FUZZ_CHECK(len == WIRE_PAGE_DROP_SIZE && drop.pid > 0);
		FUZZ_CHECK(drop.len > 0 && drop.len % WIRE_PAGE_SIZE == 0);
		FUZZ_CHECK(drop.vaddr % WIRE_PAGE_SIZE == 0 && drop.vaddr + drop.len <= WIRE_MAX_VADDR);
	} else {
		FUZZ_CHECK(ferry_error_is_set(&err));
	}
}

static int stream_pair(const uint8_t *data, size_t size, int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	size_t off = 0;
	while (off < size) { /* whatever fits in the socket buffer */
		ssize_t w = write(sv[0], data + off, size - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	shutdown(sv[0], SHUT_WR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ferry_error_t err = { 0 };

	/* 1: header and payload parsers on a constructed frame */
	if (size >= WIRE_HEADER_SIZE) {
		struct wire_header h = { 0 };
		int rc = wire_decode_header(data, &h, &err);
		if (rc == 0) {
			FUZZ_CHECK(h.version == WIRE_VERSION);
			FUZZ_CHECK(h.type > 0 && h.type < WIRE_TYPE_MAX);
			FUZZ_CHECK(h.length <= WIRE_MAX_PAYLOAD);
			uint8_t again[WIRE_HEADER_SIZE];
			wire_encode_header(again, h.type, h.length);
			FUZZ_CHECK(memcmp(again, data, WIRE_HEADER_SIZE) == 0);
		} else {
			FUZZ_CHECK(ferry_error_is_set(&err));
		}
		(void)wire_type_name(data[5]);
		struct wire_frame f = fuzz_frame(rc == 0 ? h.type : data[5], data + WIRE_HEADER_SIZE,
						 size - WIRE_HEADER_SIZE);
		json_object *obj = wire_frame_json(&f, &err);
		if (obj)
			FUZZ_CHECK(json_object_is_type(obj, json_type_object));
		json_object_put(obj);
		FUZZ_CHECK(wire_frame_error(&f, &err) == -1);
		struct parsed p;
		check_file_data(f.payload, f.length, &p);
		check_page_frames(f.payload, f.length);
		wire_frame_release(&f);
	}

	/* 2: the stream through wire_recv */
	size_t n = size < MAX_STREAM ? size : MAX_STREAM;
	int sv[2];
	static struct parsed frames[MAX_FRAMES];
	size_t n_frames = 0;
	if (stream_pair(data, n, sv) < 0)
		return 0;
	struct wire_frame f = { 0 };
	struct wire_conn conn = { .fd = sv[1] };
	while (wire_recv(&conn, &f, &err) == 0) {
		FUZZ_CHECK(f.type > 0 && f.type < WIRE_TYPE_MAX);
		FUZZ_CHECK(f.length < f.capacity && f.payload[f.length] == '\0');
		json_object *obj = wire_frame_json(&f, NULL);
		json_object_put(obj);
		if (f.type == WIRE_FILE_DATA && n_frames < MAX_FRAMES)
			check_file_data(f.payload, f.length, &frames[n_frames++]);
	}
	wire_frame_release(&f);
	close(sv[0]);
	close(sv[1]);

	/* 3: the same stream the way the target reads FILE_DATA, compared with pass 2 */
	if (stream_pair(data, n, sv) < 0)
		return 0;
	conn.fd = sv[1];
	size_t i = 0;
	struct wire_header h;
	static uint8_t buf[MAX_STREAM];
	while (wire_recv_header(&conn, &h, &err) == 0) {
		if (h.type != WIRE_FILE_DATA) {
			if (wire_recv_payload(&conn, &h, &f, &err) < 0)
				break;
			continue;
		}
		char name[WIRE_MAX_NAME + 1];
		struct wire_file_data d;
		int rc = wire_recv_file_meta(&conn, &h, name, &d, &err);
		if (i < n_frames) {
			/* pass 2 received this frame whole (it stops at the first
			 * truncated one), so both parsers must reach the same verdict */
			const struct parsed *p = &frames[i++];
			FUZZ_CHECK((rc == 0) == (p->rc == 0));
			if (rc == 0)
				FUZZ_CHECK(d.space == p->d.space && d.name_len == p->d.name_len &&
					   d.offset == p->d.offset && d.data_len == p->d.data_len &&
					   strcmp(name, p->name) == 0);
		}
		if (rc < 0)
			break;
		FUZZ_CHECK(d.data_len <= h.length);
		if (d.data_len > sizeof(buf) ||
		    wire_read_exact(&conn, buf, d.data_len, "file data", &err) < 0)
			break;
	}
	wire_frame_release(&f);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
