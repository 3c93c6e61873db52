/*
 * test_stream.c - the file streamer: a sender tailing a directory against a
 * receiver writing into another, plus the receiver's rejections.
 */
#include "testutil.h"
#include "openat2_shim.h"
#include "migrate/stream.h"

#include <limits.h>
#include <pthread.h>
#include <xxhash.h>

/* ---- end to end ---- */

#define BIG_SIZE (3u << 20)
#define GROW_FIRST 100u
#define GROW_MORE 5000u

struct sender_job {
	int sock;
	const char *dir;
	int rc;
	ferry_error_t err;
};

static void append(const char *dir, const char *name, const void *data, size_t len)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	tu_write(path, data, len, O_APPEND);
}

/* poll, grow a file and add a new one, poll again, finish, DUMP_DONE */
static void *sender_main(void *arg)
{
	struct sender_job *j = arg;
	struct stream_sender s;
	uint8_t more[GROW_MORE];
	tu_fill(more, sizeof(more), 11);
	struct wire_conn conn = { .fd = j->sock }; /* outlives every use by s */
	j->rc = -1;
	if (stream_sender_init(&s, &conn, SPACE_IMAGES, j->dir, &j->err) < 0)
		return NULL;
	if (stream_sender_poll(&s, &j->err) < 0)
		goto out;
	/* between two polls: appended bytes and a file that did not exist */
	append(j->dir, "grow", more, sizeof(more));
	append(j->dir, "late", "late file\n", 10);
	if (stream_sender_poll(&s, &j->err) < 0)
		goto out;
	if (stream_sender_finish(&s, &j->err) < 0)
		goto out;
	if (s.bytes_sent != BIG_SIZE + GROW_FIRST + GROW_MORE + 10 + 6) {
		ferry_error_set(&j->err, 0, "bytes_sent %llu", (unsigned long long)s.bytes_sent);
		goto out;
	}
	j->rc = wire_send(TU_CONN(j->sock), WIRE_DUMP_DONE, NULL, 0, &j->err);
out:
	stream_sender_release(&s);
	return NULL;
}

static void assert_same_file(const char *a_dir, const char *b_dir, const char *name)
{
	char a[PATH_MAX], b[PATH_MAX];
	size_t alen, blen;
	snprintf(a, sizeof(a), "%s/%s", a_dir, name);
	snprintf(b, sizeof(b), "%s/%s", b_dir, name);
	char *x = tu_read(a, &alen);
	char *y = tu_read(b, &blen);
	int same = alen == blen && memcmp(x, y, alen) == 0;
	free(x);
	free(y);
	if (!same)
		fail_msg("%s differs (%zu vs %zu bytes)", name, alen, blen);
}

static void test_end_to_end(void **state)
{
	char *src = tu_mkdtemp(), *dst = tu_mkdtemp();
	char path[PATH_MAX];
	uint8_t *big = malloc(BIG_SIZE);
	uint8_t first[GROW_FIRST];
	assert_non_null(big);
	tu_fill(big, BIG_SIZE, 1);
	tu_fill(first, sizeof(first), 2);
	snprintf(path, sizeof(path), "%s/big", src);
	tu_write(path, big, BIG_SIZE, 0);
	snprintf(path, sizeof(path), "%s/empty", src);
	tu_write(path, "", 0, 0);
	snprintf(path, sizeof(path), "%s/small", src);
	tu_write(path, "hello\n", 6, 0);
	snprintf(path, sizeof(path), "%s/grow", src);
	tu_write(path, first, sizeof(first), 0);
	free(big);
	/* the sender only follows regular files in the top directory */
	snprintf(path, sizeof(path), "%s/subdir", src);
	assert_int_equal(mkdir(path, 0755), 0);

	int sv[2];
	tu_socketpair(sv);
	struct sender_job job = { .sock = sv[0], .dir = src };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, sender_main, &job), 0);

	struct stream_receiver r;
	stream_receiver_init(&r);
	snprintf(r.roots[SPACE_IMAGES], sizeof(r.roots[SPACE_IMAGES]), "%s", dst);
	struct wire_frame f = { 0 };
	ferry_error_t err = { 0 };
	uint64_t grow_offsets[8];
	int n_grow = 0, n_end = 0, rc = -1;
	for (;;) {
		if (wire_recv(TU_CONN(sv[1]), &f, &err) < 0)
			break;
		if (f.type == WIRE_DUMP_DONE) {
			rc = 0;
			break;
		}
		if (f.type == WIRE_FILE_DATA) {
			struct wire_file_data d;
			if (wire_parse_file_data(f.payload, f.length, &d, &err) < 0)
				break;
			if (d.name_len == 4 && !memcmp(d.name, "grow", 4) && n_grow < 8)
				grow_offsets[n_grow++] = d.offset;
			if (stream_receiver_data(&r, &f, &err) < 0)
				break;
		} else if (f.type == WIRE_FILE_END) {
			json_object *m = wire_frame_json(&f, &err);
			int x = m ? stream_receiver_end(&r, m, &err) : -1;
			json_object_put(m);
			if (x < 0)
				break;
			n_end++;
		} else {
			ferry_error_set(&err, 0, "unexpected %s", wire_type_name(f.type));
			break;
		}
	}
	close(sv[1]); /* unblocks the sender if we stopped early */
	pthread_join(th, NULL);
	close(sv[0]);
	wire_frame_release(&f);
	if (rc < 0)
		fail_msg("receiver: %s", err.message);
	if (job.rc < 0)
		fail_msg("sender: %s", job.err.message);

	assert_int_equal(stream_receiver_check_complete(&r, &err), 0);
	assert_true(r.bytes_received == BIG_SIZE + GROW_FIRST + GROW_MORE + 10 + 6);
	assert_int_equal(n_end, 5);
	/* the grown file came in two pieces, the second continuing the first */
	assert_int_equal(n_grow, 2);
	assert_true(grow_offsets[0] == 0);
	assert_true(grow_offsets[1] == GROW_FIRST);
	stream_receiver_release(&r);

	const char *names[] = { "big", "empty", "small", "grow", "late" };
	for (size_t i = 0; i < 5; i++)
		assert_same_file(src, dst, names[i]);
	struct stat st;
	snprintf(path, sizeof(path), "%s/empty", dst);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	snprintf(path, sizeof(path), "%s/grow", dst);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, GROW_FIRST + GROW_MORE);
	snprintf(path, sizeof(path), "%s/subdir", dst);
	assert_false(fs_exists(path));
	tu_rm_rf(src);
	tu_rm_rf(dst);
}

/* stream_send_file: one whole file under a chosen name */
static void test_send_file(void **state)
{
	char *src = tu_mkdtemp(), *dst = tu_mkdtemp();
	char path[PATH_MAX];
	uint8_t data[70000];
	tu_fill(data, sizeof(data), 5);
	snprintf(path, sizeof(path), "%s/log", src);
	tu_write(path, data, sizeof(data), 0);
	int sv[2];
	tu_socketpair(sv);
	ferry_error_t err = { 0 };
	uint64_t bytes = 1;
	assert_int_equal(stream_send_file(TU_CONN(sv[0]), SPACE_LOGS, path, "log", &bytes, &err),
			 0);
	assert_true(bytes == 1 + sizeof(data));
	close(sv[0]);

	struct stream_receiver r;
	stream_receiver_init(&r);
	snprintf(r.roots[SPACE_LOGS], sizeof(r.roots[SPACE_LOGS]), "%s", dst);
	struct wire_frame f = { 0 };
	assert_int_equal(wire_expect(TU_CONN(sv[1]), &f, WIRE_FILE_DATA, &err), 0);
	assert_int_equal(stream_receiver_data(&r, &f, &err), 0);
	assert_int_equal(wire_expect(TU_CONN(sv[1]), &f, WIRE_FILE_END, &err), 0);
	json_object *m = wire_frame_json(&f, &err);
	assert_non_null(m);
	assert_int_equal(stream_receiver_end(&r, m, &err), 0);
	json_object_put(m);
	assert_int_equal(wire_recv(TU_CONN(sv[1]), &f, &err), -1); /* nothing more */
	close(sv[1]);
	wire_frame_release(&f);
	assert_int_equal(stream_receiver_check_complete(&r, &err), 0);
	stream_receiver_release(&r);

	snprintf(path, sizeof(path), "%s/log", dst);
	size_t len;
	char *got = tu_read(path, &len);
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(got, data, sizeof(data));
	free(got);
	tu_rm_rf(src);
	tu_rm_rf(dst);
}

/* ---- receiver rejections: frames built with the real encoder ---- */

struct rx {
	char *root;
	int sv[2];
	struct stream_receiver r;
	struct wire_frame f;
	ferry_error_t err;
};

static int rx_setup(void **state)
{
	struct rx *x = calloc(1, sizeof(*x));
	assert_non_null(x);
	x->root = tu_mkdtemp();
	tu_socketpair(x->sv);
	stream_receiver_init(&x->r);
	snprintf(x->r.roots[SPACE_IMAGES], sizeof(x->r.roots[SPACE_IMAGES]), "%s", x->root);
	*state = x;
	return 0;
}

static int rx_teardown(void **state)
{
	struct rx *x = *state;
	stream_receiver_release(&x->r);
	wire_frame_release(&x->f);
	close(x->sv[0]);
	close(x->sv[1]);
	tu_rm_rf(x->root);
	free(x);
	return 0;
}

/* sends one FILE_DATA and hands it to the receiver; returns its result */
static int rx_data(struct rx *x, uint8_t space, const char *name, uint64_t off, const char *data)
{
	ferry_error_t err = { 0 };
	assert_int_equal(wire_send_file_data(TU_CONN(x->sv[0]), space, name, off, data, strlen(data), &err),
			 0);
	assert_int_equal(wire_recv(TU_CONN(x->sv[1]), &x->f, &err), 0);
	memset(&x->err, 0, sizeof(x->err));
	return stream_receiver_data(&x->r, &x->f, &x->err);
}

static json_object *file_end(int space, const char *name, int64_t size, const char *hex)
{
	json_object *m = json_object_new_object();
	json_object_object_add(m, "space", json_object_new_int(space));
	json_object_object_add(m, "name", json_object_new_string(name));
	json_object_object_add(m, "size", json_object_new_int64(size));
	json_object_object_add(m, "xxh3", json_object_new_string(hex));
	return m;
}

static int rx_end(struct rx *x, int space, const char *name, int64_t size, const char *hex)
{
	json_object *m = file_end(space, name, size, hex);
	memset(&x->err, 0, sizeof(x->err));
	int rc = stream_receiver_end(&x->r, m, &x->err);
	json_object_put(m);
	return rc;
}

static void digest_hex(const char *data, char hex[17])
{
	snprintf(hex, 17, "%016llx", (unsigned long long)XXH3_64bits(data, strlen(data)));
}

static bool in_root(struct rx *x, const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", x->root, name);
	return fs_exists(path);
}

static void test_bad_digest(void **state)
{
	struct rx *x = *state;
	char hex[17];
	assert_int_equal(rx_data(x, SPACE_IMAGES, "a.img", 0, "hello "), 0);
	assert_int_equal(rx_data(x, SPACE_IMAGES, "a.img", 6, "world"), 0);
	digest_hex("hello world", hex);
	char wrong[17];
	snprintf(wrong, sizeof(wrong), "%s", hex);
	wrong[15] = wrong[15] == '0' ? '1' : '0';
	assert_int_equal(rx_end(x, SPACE_IMAGES, "a.img", 11, wrong), -1);
	tu_assert_contains(x->err.message, "corrupted");
	/* right digest, wrong size */
	assert_int_equal(rx_end(x, SPACE_IMAGES, "a.img", 12, hex), -1);
	tu_assert_contains(x->err.message, "corrupted");
	assert_int_equal(stream_receiver_check_complete(&x->r, &x->err), -1);
	/* and the true one is accepted */
	assert_int_equal(rx_end(x, SPACE_IMAGES, "a.img", 11, hex), 0);
	assert_int_equal(stream_receiver_check_complete(&x->r, &x->err), 0);

	/* an empty file that the sender claims had bytes */
	digest_hex("", hex);
	assert_int_equal(rx_end(x, SPACE_IMAGES, "e.img", 1, hex), -1);
	assert_int_equal(rx_end(x, SPACE_IMAGES, "e2.img", 0, "0000000000000000"), -1);
	assert_int_equal(rx_end(x, SPACE_IMAGES, "e3.img", 0, hex), 0);
}

static void test_out_of_order(void **state)
{
	struct rx *x = *state;
	/* a first frame that does not start at 0 */
	assert_int_equal(rx_data(x, SPACE_IMAGES, "b.img", 5, "late"), -1);
	tu_assert_contains(x->err.message, "out of order");
	assert_int_equal(rx_data(x, SPACE_IMAGES, "c.img", 0, "01234"), 0);
	/* a gap */
	assert_int_equal(rx_data(x, SPACE_IMAGES, "c.img", 10, "xx"), -1);
	tu_assert_contains(x->err.message, "out of order");
	/* a replay */
	assert_int_equal(rx_data(x, SPACE_IMAGES, "c.img", 0, "01234"), -1);
	/* an overlap */
	assert_int_equal(rx_data(x, SPACE_IMAGES, "c.img", 4, "45"), -1);
	/* the right continuation */
	assert_int_equal(rx_data(x, SPACE_IMAGES, "c.img", 5, "56789"), 0);
	char hex[17];
	digest_hex("0123456789", hex);
	assert_int_equal(rx_end(x, SPACE_IMAGES, "c.img", 10, hex), 0);
	/* no data once a file has ended */
	assert_int_equal(rx_data(x, SPACE_IMAGES, "c.img", 10, "more"), -1);

	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/c.img", x->root);
	size_t len;
	char *got = tu_read(path, &len);
	assert_string_equal(got, "0123456789");
	free(got);
	assert_true(x->r.bytes_received == 10);
}

static void test_space_without_root(void **state)
{
	struct rx *x = *state;
	assert_int_equal(rx_data(x, SPACE_ROOTFS, "etc/passwd", 0, "root::0:0"), -1);
	tu_assert_contains(x->err.message, "not accepted");
	assert_int_equal(rx_data(x, SPACE_LOGS, "x.log", 0, "log"), -1);
	assert_int_equal(rx_data(x, SPACE_COUNT, "x", 0, "?"), -1);
	tu_assert_contains(x->err.message, "unknown space");
	assert_int_equal(rx_data(x, 0xff, "x", 0, "?"), -1);
	/* FILE_END of an empty file in such a space too */
	assert_int_equal(rx_end(x, SPACE_ROOTFS, "empty", 0, "2d06800538d394c2"), -1);
	assert_int_equal(rx_end(x, SPACE_COUNT, "empty", 0, "2d06800538d394c2"), -1);
	assert_int_equal(rx_end(x, -1, "empty", 0, "2d06800538d394c2"), -1);
	/* none of it landed in the images root */
	assert_false(in_root(x, "etc"));
	assert_false(in_root(x, "x.log"));
	assert_false(in_root(x, "x"));
	assert_false(in_root(x, "empty"));
	assert_true(x->r.bytes_received == 0);
}

static void test_max_bytes(void **state)
{
	struct rx *x = *state;
	x->r.max_bytes = 10;
	assert_int_equal(rx_data(x, SPACE_IMAGES, "a", 0, "123456"), 0);
	assert_int_equal(rx_data(x, SPACE_IMAGES, "b", 0, "12345"), -1);
	tu_assert_contains(x->err.message, "limit");
	assert_int_equal(rx_data(x, SPACE_IMAGES, "a", 6, "78901"), -1);
	/* exactly up to the limit is fine */
	assert_int_equal(rx_data(x, SPACE_IMAGES, "a", 6, "7890"), 0);
	assert_true(x->r.bytes_received == 10);
	assert_int_equal(rx_data(x, SPACE_IMAGES, "a", 10, "1"), -1);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/a", x->root);
	size_t len;
	char *got = tu_read(path, &len);
	assert_string_equal(got, "1234567890");
	free(got);
}

static void test_check_complete(void **state)
{
	struct rx *x = *state;
	assert_int_equal(stream_receiver_check_complete(&x->r, &x->err), 0); /* nothing yet */
	assert_int_equal(rx_data(x, SPACE_IMAGES, "one", 0, "1"), 0);
	assert_int_equal(rx_data(x, SPACE_IMAGES, "two", 0, "2"), 0);
	char hex[17];
	digest_hex("1", hex);
	assert_int_equal(rx_end(x, SPACE_IMAGES, "one", 1, hex), 0);
	assert_int_equal(stream_receiver_check_complete(&x->r, &x->err), -1);
	tu_assert_contains(x->err.message, "two");
	digest_hex("2", hex);
	assert_int_equal(rx_end(x, SPACE_IMAGES, "two", 1, hex), 0);
	assert_int_equal(stream_receiver_check_complete(&x->r, &x->err), 0);
}

static void test_unsafe_names(void **state)
{
	struct rx *x = *state;
	/* FILE_DATA names are checked by the parser; FILE_END names here */
	assert_int_equal(rx_end(x, SPACE_IMAGES, "../escape", 0, "2d06800538d394c2"), -1);
	assert_int_equal(rx_end(x, SPACE_IMAGES, "/tmp/escape", 0, "2d06800538d394c2"), -1);
	assert_int_equal(rx_end(x, SPACE_IMAGES, "", 0, "2d06800538d394c2"), -1);
	/* a name under a missing directory cannot be created */
	assert_int_equal(rx_data(x, SPACE_IMAGES, "nodir/f", 0, "x"), -1);
	/* a FILE_END missing a field */
	json_object *m = file_end(SPACE_IMAGES, "f", 0, "2d06800538d394c2");
	json_object_object_del(m, "xxh3");
	assert_int_equal(stream_receiver_end(&x->r, m, &x->err), -1);
	tu_assert_contains(x->err.message, "malformed FILE_END");
	json_object_put(m);
	assert_false(in_root(x, "f"));
}

/* A FILE_END whose name or digest is JSON null must be refused, not crash
 * the receiving agent (strlen/strcmp of NULL). */
static int end_with_nulls(void *arg)
{
	struct rx *x = arg;
	int failures = 0;
	const char *fields[] = { "name", "xxh3" };
	for (int i = 0; i < 2; i++) {
		json_object *m = file_end(SPACE_IMAGES, "f", 0, "2d06800538d394c2");
		json_object_object_add(m, fields[i], NULL);
		ferry_error_t err = { 0 };
		if (stream_receiver_end(&x->r, m, &err) != -1)
			failures++;
		json_object_put(m);
	}
	return failures;
}

static void test_file_end_null_fields(void **state)
{
	int rc = tu_run_in_child(end_with_nulls, *state, 10);
	if (rc != 0)
		fail_msg("FILE_END with null name/xxh3: child %s %d",
			 rc > 128 ? "died of signal" : "exit", rc > 128 ? rc - 128 : rc);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_end_to_end),
		cmocka_unit_test(test_send_file),
		cmocka_unit_test_setup_teardown(test_bad_digest, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_space_without_root, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_max_bytes, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_check_complete, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_unsafe_names, rx_setup, rx_teardown),
		cmocka_unit_test_setup_teardown(test_file_end_null_fields, rx_setup, rx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
