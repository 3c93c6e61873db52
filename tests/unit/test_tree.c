/*
 * test_tree.c - moving an overlay upper directory: tree_send against
 * tree_apply_entry + the stream receiver, and confinement of hostile entries.
 */
#include "testutil.h"
#include "openat2_shim.h"
#include "migrate/stream.h"
#include "migrate/tree.h"

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <xxhash.h>

#define OPAQUE "trusted.overlay.opaque"

static void pathf(char *out, const char *dir, const char *name)
{
	snprintf(out, PATH_MAX, "%s/%s", dir, name);
}

static void make_file(const char *dir, const char *name, const void *data, size_t len,
		      mode_t mode)
{
	char p[PATH_MAX];
	pathf(p, dir, name);
	tu_write(p, data, len, O_TRUNC);
	assert_int_equal(chmod(p, mode), 0);
}

/* ---- round trip ---- */

struct tree_job {
	int sock;
	const char *root;
	uint64_t bytes;
	int rc;
	ferry_error_t err;
};

static void *tree_sender(void *arg)
{
	struct tree_job *j = arg;
	j->rc = tree_send(TU_CONN(j->sock), j->root, &j->bytes, &j->err);
	if (j->rc == 0)
		j->rc = wire_send(TU_CONN(j->sock), WIRE_DUMP_DONE, NULL, 0, &j->err);
	return NULL;
}

/* Receives ENTRY/FILE_DATA/FILE_END until DUMP_DONE. */
static int receive_tree(int sock, const char *root, struct stream_receiver *r, int *n_entries,
			ferry_error_t *err)
{
	struct wire_frame f = { 0 };
	int rc = -1;
	for (;;) {
		if (wire_recv(TU_CONN(sock), &f, err) < 0)
			break;
		if (f.type == WIRE_DUMP_DONE) {
			rc = 0;
			break;
		}
		if (f.type == WIRE_FILE_DATA) {
			if (stream_receiver_data(r, &f, err) < 0)
				break;
			continue;
		}
		if (f.type != WIRE_ENTRY && f.type != WIRE_FILE_END) {
			ferry_error_set(err, 0, "unexpected %s", wire_type_name(f.type));
			break;
		}
		json_object *m = wire_frame_json(&f, err);
		if (!m)
			break;
		int x = f.type == WIRE_ENTRY ? tree_apply_entry(root, m, err) :
					       stream_receiver_end(r, m, err);
		json_object_put(m);
		if (x < 0)
			break;
		if (f.type == WIRE_ENTRY)
			(*n_entries)++;
	}
	wire_frame_release(&f);
	return rc;
}

static void assert_same_node(const char *a_root, const char *b_root, const char *name)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct stat sa, sb;
	pathf(a, a_root, name);
	pathf(b, b_root, name);
	assert_int_equal(lstat(a, &sa), 0);
	if (lstat(b, &sb) < 0)
		fail_msg("%s was not recreated: %s", name, strerror(errno));
	if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT))
		fail_msg("%s: type 0%o, want 0%o", name, sb.st_mode & S_IFMT, sa.st_mode & S_IFMT);
	if (!S_ISLNK(sa.st_mode) && (sa.st_mode & 07777) != (sb.st_mode & 07777))
		fail_msg("%s: mode 0%o, want 0%o", name, sb.st_mode & 07777, sa.st_mode & 07777);
	assert_int_equal(sa.st_uid, sb.st_uid);
	assert_int_equal(sa.st_gid, sb.st_gid);
	if (S_ISCHR(sa.st_mode) || S_ISBLK(sa.st_mode))
		assert_true(sa.st_rdev == sb.st_rdev);
	if (S_ISLNK(sa.st_mode)) {
		char ta[PATH_MAX] = { 0 }, tb[PATH_MAX] = { 0 };
		assert_true(readlink(a, ta, sizeof(ta) - 1) > 0);
		assert_true(readlink(b, tb, sizeof(tb) - 1) > 0);
		assert_string_equal(ta, tb);
	}
	if (S_ISREG(sa.st_mode)) {
		size_t la, lb;
		char *x = tu_read(a, &la), *y = tu_read(b, &lb);
		int same = la == lb && memcmp(x, y, la) == 0;
		free(x);
		free(y);
		if (!same)
			fail_msg("%s: content differs (%zu vs %zu bytes)", name, lb, la);
	}
}

static void test_round_trip(void **state)
{
	char *src = tu_mkdtemp(), *dst = tu_mkdtemp();
	char p[PATH_MAX];
	pathf(p, src, "sub");
	assert_int_equal(mkdir(p, 0750), 0);
	assert_int_equal(chmod(p, 0750), 0);
	make_file(src, "sub/inner.txt", "inner\n", 6, 0644);
	pathf(p, src, "sub/deeper");
	assert_int_equal(mkdir(p, 0700), 0);
	make_file(src, "sub/deeper/leaf", "leaf", 4, 0600);

	size_t big_len = (3u << 20) / 2;
	uint8_t *big = malloc(big_len);
	assert_non_null(big);
	tu_fill(big, big_len, 9);
	make_file(src, "file", big, big_len, 0640);
	free(big);
	pathf(p, src, "file");
	assert_int_equal(setxattr(p, "user.ferry", "v1", 2, 0), 0);
	make_file(src, "empty", "", 0, 0444);
	make_file(src, "owned", "x", 1, 0600);
	pathf(p, src, "owned");
	assert_int_equal(chown(p, 1234, 5678), 0);
	make_file(src, "setuid", "#!", 2, 04755);

	pathf(p, src, "link");
	assert_int_equal(symlink("sub/inner.txt", p), 0);
	pathf(p, src, "abslink");
	assert_int_equal(symlink("/etc/passwd", p), 0);
	pathf(p, src, "dangling");
	assert_int_equal(symlink("../../nowhere", p), 0);
	pathf(p, src, "fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(chmod(p, 0620), 0);
	pathf(p, src, "wh");
	assert_int_equal(mknod(p, S_IFCHR | 0000, makedev(0, 0)), 0);
	pathf(p, src, "opq");
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(chmod(p, 0755), 0);
	assert_int_equal(setxattr(p, OPAQUE, "y", 1, 0), 0);
	make_file(src, "opq/x", "opaque child", 12, 0644);
	pathf(p, src, "opq/wh2");
	assert_int_equal(mknod(p, S_IFCHR | 0000, makedev(0, 0)), 0);

	int sv[2];
	tu_socketpair(sv);
	struct tree_job job = { .sock = sv[0], .root = src };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, tree_sender, &job), 0);
	struct stream_receiver r;
	stream_receiver_init(&r);
	snprintf(r.roots[SPACE_ROOTFS], sizeof(r.roots[SPACE_ROOTFS]), "%s", dst);
	ferry_error_t err = { 0 };
	int n_entries = 0;
	int rc = receive_tree(sv[1], dst, &r, &n_entries, &err);
	close(sv[1]);
	pthread_join(th, NULL);
	close(sv[0]);
	if (rc < 0)
		fail_msg("receiver: %s", err.message);
	if (job.rc < 0)
		fail_msg("sender: %s", job.err.message);
	assert_int_equal(stream_receiver_check_complete(&r, &err), 0);
	stream_receiver_release(&r);
	assert_int_equal(n_entries, 16);
	assert_true(job.bytes == big_len + 6 + 4 + 1 + 2 + 12);

	const char *names[] = { "sub", "sub/inner.txt", "sub/deeper", "sub/deeper/leaf", "file",
				"empty", "owned", "setuid", "link", "abslink", "dangling", "fifo",
				"wh", "opq", "opq/x", "opq/wh2" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_same_node(src, dst, names[i]);

	struct stat st;
	pathf(p, dst, "file");
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	char v[16] = { 0 };
	assert_int_equal(lgetxattr(p, "user.ferry", v, sizeof(v)), 2);
	assert_memory_equal(v, "v1", 2);
	pathf(p, dst, "opq");
	memset(v, 0, sizeof(v));
	assert_int_equal(lgetxattr(p, OPAQUE, v, sizeof(v)), 1);
	assert_int_equal(v[0], 'y');
	pathf(p, dst, "sub");
	assert_int_equal(lgetxattr(p, OPAQUE, v, sizeof(v)), -1);
	pathf(p, dst, "wh");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(major(st.st_rdev), 0);
	assert_int_equal(minor(st.st_rdev), 0);
	pathf(p, dst, "owned");
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_uid, 1234);
	assert_int_equal(st.st_gid, 5678);
	char target[PATH_MAX] = { 0 };
	pathf(p, dst, "abslink");
	assert_int_equal(readlink(p, target, sizeof(target) - 1), 11);
	assert_string_equal(target, "/etc/passwd");
	tu_rm_rf(src);
	tu_rm_rf(dst);
}

/* ---- hostile entries ---- */

struct jail {
	char *base;     /* holds root, and "outside" next to it */
	char root[PATH_MAX];
	char outside[PATH_MAX];
	struct stream_receiver r;
	struct wire_frame f;
	int sv[2];
};

static int jail_setup(void **state)
{
	struct jail *j = calloc(1, sizeof(*j));
	assert_non_null(j);
	j->base = tu_mkdtemp();
	pathf(j->root, j->base, "root");
	pathf(j->outside, j->base, "outside");
	assert_int_equal(mkdir(j->root, 0755), 0);
	assert_int_equal(mkdir(j->outside, 0755), 0);
	assert_int_equal(chmod(j->outside, 0755), 0);
	char p[PATH_MAX];
	pathf(p, j->outside, "target");
	tu_write(p, "original", 8, O_TRUNC);
	stream_receiver_init(&j->r);
	snprintf(j->r.roots[SPACE_ROOTFS], sizeof(j->r.roots[SPACE_ROOTFS]), "%s", j->root);
	tu_socketpair(j->sv);
	*state = j;
	return 0;
}

static int jail_teardown(void **state)
{
	struct jail *j = *state;
	stream_receiver_release(&j->r);
	wire_frame_release(&j->f);
	close(j->sv[0]);
	close(j->sv[1]);
	tu_rm_rf(j->base);
	free(j);
	return 0;
}

static json_object *entry(const char *name, const char *type, int mode, const char *target)
{
	json_object *e = json_object_new_object();
	json_object_object_add(e, "name", json_object_new_string(name));
	json_object_object_add(e, "type", json_object_new_string(type));
	json_object_object_add(e, "mode", json_object_new_int(mode));
	json_object_object_add(e, "uid", json_object_new_int(0));
	json_object_object_add(e, "gid", json_object_new_int(0));
	json_object_object_add(e, "rdev", json_object_new_int64(0));
	if (target)
		json_object_object_add(e, "target", json_object_new_string(target));
	json_object_object_add(e, "xattrs", json_object_new_object());
	return e;
}

static int apply(struct jail *j, const char *name, const char *type, int mode,
		 const char *target)
{
	json_object *e = entry(name, type, mode, target);
	ferry_error_t err = { 0 };
	int rc = tree_apply_entry(j->root, e, &err);
	json_object_put(e);
	return rc;
}

static int rx_data(struct jail *j, const char *name, const char *data)
{
	ferry_error_t err = { 0 };
	assert_int_equal(wire_send_file_data(TU_CONN(j->sv[0]), SPACE_ROOTFS, name, 0, data, strlen(data),
					     &err), 0);
	assert_int_equal(wire_recv(TU_CONN(j->sv[1]), &j->f, &err), 0);
	return stream_receiver_data(&j->r, &j->f, &err);
}

static int rx_end(struct jail *j, const char *name, const char *data)
{
	char hex[17];
	snprintf(hex, sizeof(hex), "%016llx",
		 (unsigned long long)XXH3_64bits(data, strlen(data)));
	json_object *m = json_object_new_object();
	json_object_object_add(m, "space", json_object_new_int(SPACE_ROOTFS));
	json_object_object_add(m, "name", json_object_new_string(name));
	json_object_object_add(m, "size", json_object_new_int64((int64_t)strlen(data)));
	json_object_object_add(m, "xxh3", json_object_new_string(hex));
	ferry_error_t err = { 0 };
	int rc = stream_receiver_end(&j->r, m, &err);
	json_object_put(m);
	return rc;
}

static bool exists_in(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct stat st;
	pathf(p, dir, name);
	return lstat(p, &st) == 0;
}

static void assert_outside_untouched(struct jail *j)
{
	struct stat st;
	assert_int_equal(stat(j->outside, &st), 0);
	if ((st.st_mode & 07777) != 0755)
		fail_msg("outside dir mode changed to 0%o", st.st_mode & 07777);
	DIR *d = opendir(j->outside);
	assert_non_null(d);
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	assert_int_equal(n, 1);
	char p[PATH_MAX];
	pathf(p, j->outside, "target");
	size_t len;
	char *text = tu_read(p, &len);
	assert_string_equal(text, "original");
	free(text);
}

static void test_entry_dotdot_rejected(void **state)
{
	struct jail *j = *state;
	const char *names[] = { "../x", "..", "/x", "a/../../x", "", "./x", "a//b", "x/" };
	const char *types[] = { "file", "dir", "symlink", "fifo" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (size_t t = 0; t < 4; t++)
			if (apply(j, names[i], types[t], 0644, "/etc") != -1)
				fail_msg("ENTRY %s \"%s\" accepted", types[t], names[i]);
	assert_false(exists_in(j->base, "x"));
	/* the root is still empty */
	assert_false(exists_in(j->root, "a"));
	assert_false(exists_in(j->root, "x"));
	/* malformed entries */
	json_object *e = entry("ok", "file", 0644, NULL);
	json_object_object_del(e, "mode");
	assert_int_equal(tree_apply_entry(j->root, e, NULL), -1);
	json_object_put(e);
	assert_int_equal(apply(j, "dev", "socket", 0644, NULL), -1);
	assert_int_equal(apply(j, "ln", "symlink", 0777, NULL), -1); /* no target */
	assert_false(exists_in(j->root, "ok"));
	assert_outside_untouched(j);
}

static void test_symlink_then_write_through(void **state)
{
	struct jail *j = *state;
	char pwned[64];
	snprintf(pwned, sizeof(pwned), "evil/ferry-unit-pwned-%d", (int)getpid());

	assert_int_equal(apply(j, "evil", "symlink", 0777, "/tmp"), 0);
	assert_int_equal(apply(j, "evil2", "symlink", 0777, j->outside), 0);
	char target[PATH_MAX];
	pathf(target, j->outside, "target");
	assert_int_equal(apply(j, "evilf", "symlink", 0777, target), 0);
	char rel[PATH_MAX];
	assert_int_equal(apply(j, "rel", "symlink", 0777, "../outside"), 0);

	/* FILE_DATA through a symlinked directory */
	assert_int_equal(rx_data(j, pwned, "pwned"), -1);
	snprintf(rel, sizeof(rel), "/tmp/%s", pwned + 5);
	assert_false(fs_exists(rel));
	assert_int_equal(rx_data(j, "evil2/pwned", "pwned"), -1);
	assert_int_equal(rx_data(j, "rel/pwned", "pwned"), -1);
	/* FILE_DATA onto a symlink to a file */
	assert_int_equal(rx_data(j, "evilf", "pwned"), -1);
	/* FILE_END (an empty file) through the symlink */
	assert_int_equal(rx_end(j, "evil2/empty", ""), -1);
	assert_int_equal(rx_end(j, "rel/empty", ""), -1);
	/* ENTRYs below the symlinks */
	assert_int_equal(apply(j, "evil2/pwned", "file", 0644, NULL), -1);
	assert_int_equal(apply(j, "evil2/d", "dir", 0755, NULL), -1);
	assert_int_equal(apply(j, "rel/l", "symlink", 0777, "/"), -1);
	assert_int_equal(apply(j, "evil2/fifo", "fifo", 0644, NULL), -1);
	/* an ENTRY file replacing the symlink to a file */
	assert_int_equal(apply(j, "evilf", "file", 0666, NULL), -1);

	assert_false(fs_exists(rel));
	assert_outside_untouched(j);
	/* the symlinks themselves are still just symlinks */
	struct stat st;
	pathf(rel, j->root, "evil2");
	assert_int_equal(lstat(rel, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
}

/* A "dir" ENTRY over an existing symlink must not chmod/chown the target. */
static void test_dir_entry_over_symlink(void **state)
{
	struct jail *j = *state;
	assert_int_equal(apply(j, "evil", "symlink", 0777, j->outside), 0);
	int rc = apply(j, "evil", "dir", 0777, NULL);
	assert_outside_untouched(j);
	assert_int_equal(rc, -1);
}

/* FILE_DATA must only ever write regular files, never a device node planted
 * by an earlier ENTRY (a block device there would be the host's disk). */
static int write_into_device(void *arg)
{
	struct jail *j = arg;
	json_object *e = entry("null", "chardev", 0666, NULL);
	json_object_object_add(e, "rdev", json_object_new_int64((int64_t)makedev(1, 3)));
	int rc = tree_apply_entry(j->root, e, NULL);
	json_object_put(e);
	if (rc < 0)
		return 2;
	return rx_data(j, "null", "data for /dev/null") == -1 ? 0 : 1;
}

static void test_data_into_device(void **state)
{
	int rc = tu_run_in_child(write_into_device, *state, 10);
	if (rc != 0)
		fail_msg("FILE_DATA onto a chardev ENTRY: child %s %d",
			 rc > 128 ? "died of signal" : "returned", rc > 128 ? rc - 128 : rc);
}

/* ... nor a fifo: opening one for writing blocks the receiver for good. */
static int write_into_fifo(void *arg)
{
	struct jail *j = arg;
	if (apply(j, "pipe", "fifo", 0644, NULL) < 0)
		return 3;
	if (rx_data(j, "pipe", "blocks without a reader") != -1)
		return 1;
	if (apply(j, "pipe", "file", 0644, NULL) != -1)
		return 2;
	return 0;
}

static void test_data_into_fifo(void **state)
{
	int rc = tu_run_in_child(write_into_fifo, *state, 5);
	if (rc != 0)
		fail_msg("FILE_DATA/ENTRY file onto a fifo: child %s %d",
			 rc > 128 ? "died of signal" : "returned", rc > 128 ? rc - 128 : rc);
}

/* ENTRY fields that are JSON null must be refused, not crash (strlen(NULL)). */
static int null_fields(void *arg)
{
	struct jail *j = arg;
	const char *fields[] = { "name", "type" };
	int fails = 0;
	for (int i = 0; i < 2; i++) {
		json_object *e = entry("n", "file", 0644, NULL);
		json_object_object_add(e, fields[i], NULL);
		if (tree_apply_entry(j->root, e, NULL) != -1)
			fails++;
		json_object_put(e);
	}
	return fails;
}

static void test_entry_null_fields(void **state)
{
	int rc = tu_run_in_child(null_fields, *state, 10);
	if (rc != 0)
		fail_msg("ENTRY with null name/type: child %s %d",
			 rc > 128 ? "died of signal" : "returned", rc > 128 ? rc - 128 : rc);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	umask(022);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test_setup_teardown(test_entry_dotdot_rejected, jail_setup,
						jail_teardown),
		cmocka_unit_test_setup_teardown(test_symlink_then_write_through, jail_setup,
						jail_teardown),
		cmocka_unit_test_setup_teardown(test_dir_entry_over_symlink, jail_setup,
						jail_teardown),
		cmocka_unit_test_setup_teardown(test_data_into_device, jail_setup, jail_teardown),
		cmocka_unit_test_setup_teardown(test_data_into_fifo, jail_setup, jail_teardown),
		cmocka_unit_test_setup_teardown(test_entry_null_fields, jail_setup, jail_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
