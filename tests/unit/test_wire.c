/*
 * test_wire.c - the frame codec: headers, send/recv over a socket pair,
 * FILE_DATA parsing, name safety, peer errors and JSON payload checks.
 */
#include "testutil.h"
#include "wire/frame.h"

#include <endian.h>

static void decode_ok(const uint8_t hdr[WIRE_HEADER_SIZE], struct wire_header *h)
{
	ferry_error_t err = { 0 };
	if (wire_decode_header(hdr, h, &err) != 0)
		fail_msg("decode failed: %s", err.message);
}

/* Decoding must fail and the message must mention `what`. */
static void decode_bad(const uint8_t hdr[WIRE_HEADER_SIZE], const char *what)
{
	ferry_error_t err = { 0 };
	struct wire_header h = { 0xaa, 0xbb, 0xcccccccc };
	assert_int_equal(wire_decode_header(hdr, &h, &err), -1);
	tu_assert_contains(err.message, what);
	/* nothing is filled in on failure */
	assert_int_equal(h.version, 0xaa);
	assert_int_equal(h.type, 0xbb);
	assert_int_equal(h.length, 0xcccccccc);
}

static void test_header_layout(void **state)
{
	uint8_t hdr[WIRE_HEADER_SIZE];
	wire_encode_header(hdr, WIRE_FILE_DATA, 0x01020304);
	const uint8_t want[WIRE_HEADER_SIZE] = { 'F', 'E', 'R', 'Y', WIRE_VERSION, WIRE_FILE_DATA,
						 0, 0, 0x01, 0x02, 0x03, 0x04 };
	assert_memory_equal(hdr, want, sizeof(want));
}

static void test_header_round_trip(void **state)
{
	const uint32_t lengths[] = { 0, 1, 4096, 0x00123456, WIRE_MAX_PAYLOAD };
	for (unsigned type = 1; type < WIRE_TYPE_MAX; type++) {
		for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
			uint8_t hdr[WIRE_HEADER_SIZE];
			struct wire_header h;
			wire_encode_header(hdr, (uint8_t)type, lengths[i]);
			decode_ok(hdr, &h);
			assert_int_equal(h.version, WIRE_VERSION);
			assert_int_equal(h.type, type);
			assert_int_equal(h.length, lengths[i]);
		}
		assert_string_not_equal(wire_type_name((uint8_t)type), "UNKNOWN");
	}
	assert_string_equal(wire_type_name(WIRE_FILE_END), "FILE_END");
	assert_string_equal(wire_type_name(0), "UNKNOWN");
	assert_string_equal(wire_type_name(WIRE_TYPE_MAX), "UNKNOWN");
	assert_string_equal(wire_type_name(255), "UNKNOWN");
}

static void test_header_bad_magic(void **state)
{
	uint8_t hdr[WIRE_HEADER_SIZE];
	for (int i = 0; i < 4; i++) {
		wire_encode_header(hdr, WIRE_HELLO, 10);
		hdr[i] ^= 0x20;
		decode_bad(hdr, "magic");
	}
	memset(hdr, 0, sizeof(hdr));
	decode_bad(hdr, "magic");
	/* a little-endian magic is wrong too */
	wire_encode_header(hdr, WIRE_HELLO, 10);
	uint32_t le = htole32(WIRE_MAGIC);
	memcpy(hdr, &le, 4);
	decode_bad(hdr, "magic");
}

static void test_header_bad_version(void **state)
{
	const uint8_t versions[] = { 0, WIRE_VERSION + 1, 0xff };
	for (size_t i = 0; i < sizeof(versions); i++) {
		uint8_t hdr[WIRE_HEADER_SIZE];
		wire_encode_header(hdr, WIRE_HELLO, 10);
		hdr[4] = versions[i];
		decode_bad(hdr, "version");
	}
}

static void test_header_unknown_type(void **state)
{
	const unsigned types[] = { 0, WIRE_TYPE_MAX, WIRE_TYPE_MAX + 1, 0x7f, 0xff };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		uint8_t hdr[WIRE_HEADER_SIZE];
		wire_encode_header(hdr, (uint8_t)types[i], 10);
		decode_bad(hdr, "unknown type");
	}
}

static void test_header_reserved_flags(void **state)
{
	const uint8_t bits[] = { 0x01, 0x80, 0xff };
	for (size_t i = 0; i < sizeof(bits); i++) {
		for (int byte = 6; byte <= 7; byte++) {
			uint8_t hdr[WIRE_HEADER_SIZE];
			wire_encode_header(hdr, WIRE_HELLO, 10);
			hdr[byte] = bits[i];
			decode_bad(hdr, "flags");
		}
	}
}

static void test_header_oversize(void **state)
{
	const uint32_t lengths[] = { WIRE_MAX_PAYLOAD + 1, WIRE_MAX_PAYLOAD * 2, 0x7fffffff,
				     0xffffffff };
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		uint8_t hdr[WIRE_HEADER_SIZE];
		wire_encode_header(hdr, WIRE_FILE_DATA, lengths[i]);
		decode_bad(hdr, "exceeds");
	}
}

/* A bad header is rejected by wire_recv before anything is allocated or read. */
static void test_recv_rejects_header_before_payload(void **state)
{
	int sv[2];
	tu_socketpair(sv);
	uint8_t hdr[WIRE_HEADER_SIZE];
	wire_encode_header(hdr, WIRE_FILE_DATA, 0xfffffff0);
	assert_int_equal(write(sv[0], hdr, sizeof(hdr)), sizeof(hdr));
	assert_int_equal(write(sv[0], "xyz", 3), 3);

	struct wire_frame f = { 0 };
	ferry_error_t err = { 0 };
	assert_int_equal(wire_recv(TU_CONN(sv[1]), &f, &err), -1);
	tu_assert_contains(err.message, "exceeds");
	assert_null(f.payload);
	assert_int_equal(f.capacity, 0);
	/* the bytes after the header were not consumed */
	char rest[4] = { 0 };
	assert_int_equal(read(sv[1], rest, sizeof(rest)), 3);
	assert_memory_equal(rest, "xyz", 3);

	/* an unknown type likewise */
	wire_encode_header(hdr, 0, 5);
	assert_int_equal(write(sv[0], hdr, sizeof(hdr)), sizeof(hdr));
	assert_int_equal(wire_recv(TU_CONN(sv[1]), &f, &err), -1);
	tu_assert_contains(err.message, "unknown type");
	assert_null(f.payload);
	close(sv[0]);
	close(sv[1]);
}

static void test_send_recv_json(void **state)
{
	int sv[2];
	tu_socketpair(sv);
	ferry_error_t err = { 0 };
	json_object *req = json_object_new_object();
	json_object_object_add(req, "op", json_object_new_string("migrate"));
	json_object_object_add(req, "name", json_object_new_string("redis"));
	json_object_object_add(req, "n", json_object_new_int(42));
	assert_int_equal(wire_send_json(TU_CONN(sv[0]), WIRE_REQUEST, req, &err), 0);
	/* an empty frame, then a raw one */
	assert_int_equal(wire_send(TU_CONN(sv[0]), WIRE_DUMP_DONE, NULL, 0, &err), 0);
	assert_int_equal(wire_send(TU_CONN(sv[0]), WIRE_PROGRESS, "{\"phase\":\"dump\"}", 16, &err), 0);

	struct wire_frame f = { 0 };
	assert_int_equal(wire_recv(TU_CONN(sv[1]), &f, &err), 0);
	assert_int_equal(f.type, WIRE_REQUEST);
	const char *text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	assert_int_equal(f.length, strlen(text));
	assert_string_equal((const char *)f.payload, text); /* NUL-terminated by wire_recv */
	json_object *got = wire_frame_json(&f, &err);
	assert_non_null(got);
	assert_true(json_object_equal(got, req));
	json_object_put(got);
	size_t cap = f.capacity;

	assert_int_equal(wire_recv(TU_CONN(sv[1]), &f, &err), 0);
	assert_int_equal(f.type, WIRE_DUMP_DONE);
	assert_int_equal(f.length, 0);
	assert_int_equal(f.capacity, cap); /* buffer reused, not shrunk */

	assert_int_equal(wire_recv(TU_CONN(sv[1]), &f, &err), 0);
	assert_int_equal(f.type, WIRE_PROGRESS);
	assert_int_equal(f.length, 16);
	got = wire_frame_json(&f, &err);
	assert_non_null(got);
	json_object *phase;
	assert_true(json_object_object_get_ex(got, "phase", &phase));
	assert_string_equal(json_object_get_string(phase), "dump");
	json_object_put(got);

	json_object_put(req);
	wire_frame_release(&f);
	assert_null(f.payload);
	close(sv[0]);
	close(sv[1]);
}

static void test_send_recv_file_data(void **state)
{
	int sv[2];
	tu_socketpair(sv);
	ferry_error_t err = { 0 };
	uint8_t data[5000];
	tu_fill(data, sizeof(data), 7);
	const uint64_t offset = 0x0000123456789abcull;
	assert_int_equal(wire_send_file_data(TU_CONN(sv[0]), 2, "dir/pages-1.img", offset, data,
					     sizeof(data), &err), 0);
	assert_int_equal(wire_send_file_data(TU_CONN(sv[0]), 0, "empty", 0, NULL, 0, &err), 0);

	struct wire_frame f = { 0 };
	struct wire_file_data d;
	assert_int_equal(wire_recv(TU_CONN(sv[1]), &f, &err), 0);
	assert_int_equal(f.type, WIRE_FILE_DATA);
	assert_int_equal(f.length, 3 + strlen("dir/pages-1.img") + 8 + sizeof(data));
	assert_int_equal(wire_parse_file_data(f.payload, f.length, &d, &err), 0);
	assert_int_equal(d.space, 2);
	assert_int_equal(d.name_len, strlen("dir/pages-1.img"));
	assert_memory_equal(d.name, "dir/pages-1.img", d.name_len);
	assert_true(d.offset == offset);
	assert_int_equal(d.data_len, sizeof(data));
	assert_memory_equal(d.data, data, sizeof(data));

	assert_int_equal(wire_recv(TU_CONN(sv[1]), &f, &err), 0);
	assert_int_equal(f.type, WIRE_FILE_DATA);
	assert_int_equal(wire_parse_file_data(f.payload, f.length, &d, &err), 0);
	assert_int_equal(d.space, 0);
	assert_int_equal(d.name_len, 5);
	assert_memory_equal(d.name, "empty", 5);
	assert_true(d.offset == 0);
	assert_int_equal(d.data_len, 0);

	wire_frame_release(&f);
	close(sv[0]);
	close(sv[1]);
}

/* Builds a FILE_DATA payload by hand: u8 space, be16 name length, name, be64 offset, data. */
static size_t build_file_data(uint8_t *out, uint8_t space, uint16_t claimed_name_len,
			      const char *name, size_t name_len, uint64_t offset, const void *data,
			      size_t data_len)
{
	uint16_t nl = htobe16(claimed_name_len);
	uint64_t off = htobe64(offset);
	out[0] = space;
	memcpy(out + 1, &nl, 2);
	memcpy(out + 3, name, name_len);
	memcpy(out + 3 + name_len, &off, 8);
	memcpy(out + 3 + name_len + 8, data, data_len);
	return 3 + name_len + 8 + data_len;
}

static void test_file_data_truncated(void **state)
{
	uint8_t buf[64];
	ferry_error_t err = { 0 };
	struct wire_file_data d;
	size_t len = build_file_data(buf, 0, 6, "core-1", 6, 99, "abc", 3);
	assert_int_equal(wire_parse_file_data(buf, len, &d, &err), 0);
	assert_int_equal(d.data_len, 3);
	assert_true(d.offset == 99);
	/* every cut before the end of the offset is rejected; later cuts only shorten data */
	for (size_t cut = 0; cut < 3 + 6 + 8; cut++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(wire_parse_file_data(buf, cut, &d, &err), -1);
		tu_assert_contains(err.message, "malformed FILE_DATA");
	}
	assert_int_equal(wire_parse_file_data(buf, 3 + 6 + 8, &d, &err), 0);
	assert_int_equal(d.data_len, 0);

	/* a name length pointing past the payload */
	len = build_file_data(buf, 0, 40, "core-1", 6, 0, "abcdefgh", 8);
	assert_int_equal(wire_parse_file_data(buf, len, &d, &err), -1);
	tu_assert_contains(err.message, "truncated");
	/* a name length over WIRE_MAX_NAME */
	len = build_file_data(buf, 0, WIRE_MAX_NAME + 1, "core-1", 6, 0, "", 0);
	assert_int_equal(wire_parse_file_data(buf, len, &d, &err), -1);
	/* an unsafe name inside an otherwise good frame */
	len = build_file_data(buf, 0, 4, "../x", 4, 0, "a", 1);
	assert_int_equal(wire_parse_file_data(buf, len, &d, &err), -1);
	tu_assert_contains(err.message, "unsafe");
	/* an offset so large that offset + data wraps */
	len = build_file_data(buf, 0, 1, "a", 1, UINT64_MAX - 1, "abc", 3);
	assert_int_equal(wire_parse_file_data(buf, len, &d, &err), -1);
	tu_assert_contains(err.message, "offset");
}

static void test_name_is_safe(void **state)
{
	static const char *const good[] = { "a", "a/b", "pages-1.img", "a/b/c.d", "..a", "a..",
					    ".hidden", "a/.b", "..../x" };
	static const char *const bad[] = { "", "/abs", "..", ".", "a/../b", "./a", "a//b", "a/",
					   "a/.", "a/..", "../a", "/", "//", "a/./b" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!wire_name_is_safe(good[i], strlen(good[i])))
			fail_msg("\"%s\" should be safe", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (wire_name_is_safe(bad[i], strlen(bad[i])))
			fail_msg("\"%s\" should be unsafe", bad[i]);
	/* embedded NUL: "a\0b" with length 3 */
	assert_false(wire_name_is_safe("a\0b", 3));
	assert_false(wire_name_is_safe("ab\0", 3));
	/* only the first len bytes count */
	assert_true(wire_name_is_safe("ab/..", 2));
	assert_false(wire_name_is_safe("a/..", 4));
}

static void test_peer_close_mid_frame(void **state)
{
	ferry_error_t err = { 0 };
	struct wire_frame f = { 0 };
	uint8_t hdr[WIRE_HEADER_SIZE];
	int sv[2];

	/* mid-payload */
	tu_socketpair(sv);
	wire_encode_header(hdr, WIRE_RESULT, 100);
	assert_int_equal(write(sv[0], hdr, sizeof(hdr)), sizeof(hdr));
	assert_int_equal(write(sv[0], "{\"a\":", 5), 5);
	close(sv[0]);
	assert_int_equal(wire_recv(TU_CONN(sv[1]), &f, &err), -1);
	tu_assert_contains(err.message, "connection closed");
	tu_assert_contains(err.message, "RESULT");
	close(sv[1]);

	/* mid-header */
	tu_socketpair(sv);
	assert_int_equal(write(sv[0], hdr, 5), 5);
	close(sv[0]);
	assert_int_equal(wire_recv(TU_CONN(sv[1]), &f, &err), -1);
	tu_assert_contains(err.message, "connection closed");
	tu_assert_contains(err.message, "header");
	close(sv[1]);

	/* before anything */
	tu_socketpair(sv);
	close(sv[0]);
	memset(&err, 0, sizeof(err));
	assert_int_equal(wire_recv(TU_CONN(sv[1]), &f, &err), -1);
	tu_assert_contains(err.message, "connection closed");
	close(sv[1]);

	/* sending to a closed peer fails too */
	signal(SIGPIPE, SIG_IGN);
	tu_socketpair(sv);
	close(sv[1]);
	assert_int_equal(wire_send(TU_CONN(sv[0]), WIRE_HELLO, "{}", 2, &err), -1);
	assert_int_equal(err.errno_value, EPIPE);
	close(sv[0]);
	wire_frame_release(&f);
}

static void test_wire_expect(void **state)
{
	int sv[2];
	tu_socketpair(sv);
	ferry_error_t err = { 0 };
	struct wire_frame f = { 0 };

	assert_int_equal(wire_send_error(TU_CONN(sv[0]), "no space left on target"), 0);
	assert_int_equal(wire_expect(TU_CONN(sv[1]), &f, WIRE_RESULT, &err), -1);
	assert_string_equal(err.message, "no space left on target");
	assert_int_equal(err.errno_value, 0);

	/* ABORT carries its reason the same way */
	assert_int_equal(wire_send(TU_CONN(sv[0]), WIRE_ABORT, "{\"error\":\"rolled back\"}", 23, &err), 0);
	assert_int_equal(wire_expect(TU_CONN(sv[1]), &f, WIRE_RESTORED, &err), -1);
	assert_string_equal(err.message, "rolled back");

	/* a broken ERROR frame still becomes an error */
	assert_int_equal(wire_send(TU_CONN(sv[0]), WIRE_ERROR, "[1]", 3, &err), 0);
	assert_int_equal(wire_expect(TU_CONN(sv[1]), &f, WIRE_RESULT, &err), -1);
	tu_assert_contains(err.message, "malformed error frame");

	/* the wrong type */
	assert_int_equal(wire_send(TU_CONN(sv[0]), WIRE_PROGRESS, "{}", 2, &err), 0);
	assert_int_equal(wire_expect(TU_CONN(sv[1]), &f, WIRE_RESULT, &err), -1);
	tu_assert_contains(err.message, "expected RESULT, got PROGRESS");

	/* the right type */
	assert_int_equal(wire_send(TU_CONN(sv[0]), WIRE_RESULT, "{\"ok\":true}", 11, &err), 0);
	assert_int_equal(wire_expect(TU_CONN(sv[1]), &f, WIRE_RESULT, &err), 0);
	assert_int_equal(f.type, WIRE_RESULT);
	assert_string_equal((const char *)f.payload, "{\"ok\":true}");

	/* an ERROR when ERROR is what we expect is just a frame */
	assert_int_equal(wire_send_error(TU_CONN(sv[0]), "x"), 0);
	assert_int_equal(wire_expect(TU_CONN(sv[1]), &f, WIRE_ERROR, &err), 0);

	wire_frame_release(&f);
	close(sv[0]);
	close(sv[1]);
}

static void frame_json_bad(const void *payload, uint32_t len)
{
	uint8_t *copy = malloc(len + 1);
	assert_non_null(copy);
	memcpy(copy, payload, len);
	copy[len] = '\0';
	struct wire_frame f = { .type = WIRE_RESULT, .length = len, .payload = copy,
				.capacity = len + 1 };
	ferry_error_t err = { 0 };
	json_object *obj = wire_frame_json(&f, &err);
	if (obj) {
		json_object_put(obj);
		free(copy);
		fail_msg("payload of %u bytes was accepted", len);
	}
	tu_assert_contains(err.message, "malformed RESULT frame");
	free(copy);
}

static void test_frame_json_rejects(void **state)
{
	const char *texts[] = { "[1,2,3]", "42", "\"str\"", "null", "true", "{", "{\"a\":}", "}",
				"   " };
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		frame_json_bad(texts[i], (uint32_t)strlen(texts[i]));
	const uint8_t junk[] = { 0xff, 0xfe, 0x00, 0x01, 0x7b, 0x7d, 0x80, 0x90 };
	frame_json_bad(junk, sizeof(junk));
	frame_json_bad("{}\0{}", 5); /* embedded NUL */
	frame_json_bad("", 0);
	uint8_t random[512];
	tu_fill(random, sizeof(random), 3);
	random[0] = '{';
	frame_json_bad(random, sizeof(random));

	/* and accepts an object */
	uint8_t ok[] = "{\"a\":[1,2]}";
	struct wire_frame f = { .type = WIRE_RESULT, .length = sizeof(ok) - 1, .payload = ok };
	json_object *obj = wire_frame_json(&f, NULL);
	assert_non_null(obj);
	assert_true(json_object_is_type(obj, json_type_object));
	json_object_put(obj);
}

static void test_send_oversize(void **state)
{
	ferry_error_t err = { 0 };
	int sv[2];
	tu_socketpair(sv);
	uint8_t *big = calloc(1, WIRE_MAX_PAYLOAD + 1);
	assert_non_null(big);
	assert_int_equal(wire_send(TU_CONN(sv[0]), WIRE_RESULT, big, WIRE_MAX_PAYLOAD + 1, &err), -1);
	assert_int_equal(err.errno_value, EMSGSIZE);
	/* FILE_DATA counts its header too */
	assert_int_equal(wire_send_file_data(TU_CONN(sv[0]), 0, "f", 0, big, WIRE_MAX_PAYLOAD, &err), -1);
	assert_int_equal(err.errno_value, EMSGSIZE);
	free(big);
	/* nothing reached the peer */
	char c;
	assert_int_equal(recv(sv[1], &c, 1, MSG_DONTWAIT), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_layout),
		cmocka_unit_test(test_header_round_trip),
		cmocka_unit_test(test_header_bad_magic),
		cmocka_unit_test(test_header_bad_version),
		cmocka_unit_test(test_header_unknown_type),
		cmocka_unit_test(test_header_reserved_flags),
		cmocka_unit_test(test_header_oversize),
		cmocka_unit_test(test_recv_rejects_header_before_payload),
		cmocka_unit_test(test_send_recv_json),
		cmocka_unit_test(test_send_recv_file_data),
		cmocka_unit_test(test_file_data_truncated),
		cmocka_unit_test(test_name_is_safe),
		cmocka_unit_test(test_peer_close_mid_frame),
		cmocka_unit_test(test_wire_expect),
		cmocka_unit_test(test_frame_json_rejects),
		cmocka_unit_test(test_send_oversize),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
