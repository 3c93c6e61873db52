/*
 * fuzz_receiver.c - libFuzzer target for the migration target's state
 * receiver: lib/migrate/stream.c (stream_receiver) and lib/migrate/tree.c
 * (tree_apply_entry), the code that writes what an untrusted peer sends.
 *
 * Input: a sequence of wire frames (12-byte header + payload; a payload cut
 * short by the end of the input is taken as is).  As in lib/migrate/target.c:
 * FILE_DATA goes to stream_receiver_data (every other one to
 * stream_receiver_data_from through a socketpair, the path the target really
 * uses), FILE_END to stream_receiver_end and ENTRY to tree_apply_entry under
 * the rootfs root; other types are skipped; the first error ends the input.
 * Each input gets fresh roots laid out like the target's:
 *     work/<n>/images       SPACE_IMAGES
 *     work/<n>/ctr          SPACE_LOGS (the container directory, with the
 *                           bundle's config.json, which must stay untouched;
 *                           only the log file "log" may appear there)
 *     work/<n>/ctr/upper    SPACE_ROOTFS
 * removed afterwards.  Next to work/ is canary/; after every input canary/
 * must still be empty and nothing but work/ and canary/ may exist at the top:
 * the receiver must never write outside its roots.
 *
 * A custom mutator keeps the framing intact: it mostly mutates one frame's
 * payload (fixing its length), or duplicates, drops or retypes a frame, so
 * JSON mutations are not wasted on broken framing.
 *
 * Safety: entries can be device nodes and the receiver opens what it finds,
 * so the process first moves into a private mount namespace and mounts a
 * nodev,nosuid tmpfs at FUZZ_MOUNT (the same path in every process, so seeds
 * can aim absolute symlinks at FUZZ_MOUNT/canary).  Without the privilege for
 * that (not root) it falls back to a temp dir and skips device entries.
 * The receiver must also never open a device node (on a host filesystem that
 * could be /dev/watchdog or a disk): openat() and syscall(SYS_openat2), which
 * lib/util/beneath.c uses, are interposed, and an open that reaches a device
 * (refused with EACCES by nodev, or succeeding) aborts.  Overlay whiteouts
 * (0:0 character devices) are exempt: opening one fails harmlessly (ENXIO).
 */
#include "fuzz.h"
#include "migrate/stream.h"
#include "migrate/tree.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statvfs.h>

#define FUZZ_MOUNT "/tmp/ferry-fuzz-receiver"
#define MAX_SOCKET_FRAME (64u << 10)

static char top[PATH_MAX];    /* the confinement: holds work/ and canary/ only */
static bool devices_ok;       /* top is nodev: device entries are harmless */
static unsigned long counter;
static bool verbose;          /* FUZZ_VERBOSE=1: print why an input stopped */

/* ---- opens of device nodes ---- */

static bool is_device(const struct stat *st)
{
	return (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) && st->st_rdev != makedev(0, 0);
}

static void check_open(long rc, int dirfd, const char *path, unsigned long long flags)
{
	struct stat st;
	int saved = errno;
	if (flags & O_PATH)
		return;
	if (rc >= 0 ? fstat((int)rc, &st) == 0 && is_device(&st)
		    : saved == EACCES && fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			      is_device(&st)) {
		fprintf(stderr, "fuzz_receiver: the receiver opened device node %s (%u:%u, flags 0%llo)\n",
			path, major(st.st_rdev), minor(st.st_rdev), flags);
		abort();
	}
	errno = saved;
}

int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	long rc = syscall(SYS_openat, dirfd, path, flags, mode);
	check_open(rc, dirfd, path, (unsigned long long)flags);
	return (int)rc;
}

/* reads 6 arguments whatever the caller passed: not an ASan matter */
__attribute__((no_sanitize("address"))) long syscall(long nr, ...)
{
	static long (*real)(long, ...);
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	va_list ap;
	long a[6];
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	long rc = real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (nr == SYS_openat2 && a[2])
		check_open(rc, (int)a[0], (const char *)a[1], ((const struct open_how *)a[2])->flags);
	return rc;
}

/* ---- setup ---- */

static bool private_tmpfs(void)
{
	if (mkdir(FUZZ_MOUNT, 0700) < 0 && errno != EEXIST)
		return false;
	if (unshare(CLONE_NEWNS) < 0)
		return false;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("ferry-fuzz", FUZZ_MOUNT, "tmpfs", MS_NODEV | MS_NOSUID | MS_NOEXEC,
		  "mode=0700,size=256m") < 0) {
		fprintf(stderr, "fuzz_receiver: mount tmpfs: %s\n", strerror(errno));
		abort(); /* half-way: better stop than run unconfined */
	}
	return true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[PATH_MAX];
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	if (private_tmpfs())
		snprintf(top, sizeof(top), "%s", FUZZ_MOUNT);
	else
		snprintf(top, sizeof(top), "%s", fuzz_tempdir("receiver"));
	struct statvfs sv;
	devices_ok = statvfs(top, &sv) == 0 && (sv.f_flag & ST_NODEV);
	if (!devices_ok)
		fprintf(stderr, "fuzz_receiver: %s is not nodev: skipping device entries\n", top);
	snprintf(path, sizeof(path), "%s/work", top);
	FUZZ_CHECK(mkdir(path, 0700) == 0);
	snprintf(path, sizeof(path), "%s/canary", top);
	FUZZ_CHECK(mkdir(path, 0700) == 0);
	return 0;
}

/* Device entries outside a nodev mount could make the receiver open host devices. */
static bool entry_allowed(json_object *e)
{
	json_object *t;
	if (devices_ok || !json_object_object_get_ex(e, "type", &t))
		return true;
	const char *s = json_object_get_string(t);
	return !s || (strcmp(s, "chardev") && strcmp(s, "blockdev"));
}

/* FILE_DATA through a socket into stream_receiver_data_from. */
static int data_from_socket(struct stream_receiver *r, const struct wire_frame *f,
			    ferry_error_t *err)
{
	int sv[2];
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	FUZZ_CHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
	FUZZ_CHECK(write(sv[0], f->payload, f->length) == (ssize_t)f->length);
	shutdown(sv[0], SHUT_WR);
	struct wire_header h = { .version = WIRE_VERSION, .type = f->type, .length = f->length };
	struct wire_conn conn = { .fd = sv[1] };
	int rc = stream_receiver_data_from(r, &conn, &h, err);
	if (rc == 0) { /* it must have read exactly the payload */
		uint8_t extra;
		FUZZ_CHECK(recv(sv[1], &extra, 1, MSG_DONTWAIT) == 0);
	}
	close(sv[0]);
	close(sv[1]);
	return rc;
}

static int dispatch(struct stream_receiver *r, const struct wire_frame *f, unsigned n_data,
		    ferry_error_t *err)
{
	json_object *obj;
	int rc;
	switch (f->type) {
	case WIRE_FILE_DATA:
		if (n_data % 2 && f->length <= MAX_SOCKET_FRAME)
			return data_from_socket(r, f, err);
		return stream_receiver_data(r, f, err);
	case WIRE_FILE_END:
		if (!(obj = wire_frame_json(f, err)))
			return -1;
		rc = stream_receiver_end(r, obj, err);
		json_object_put(obj);
		return rc;
	case WIRE_ENTRY:
		if (!(obj = wire_frame_json(f, err)))
			return -1;
		rc = entry_allowed(obj) ? tree_apply_entry(r->roots[SPACE_ROOTFS], obj, err) : 0;
		json_object_put(obj);
		return rc;
	default:
		return 0;
	}
}

#define BUNDLE_CONFIG "{\"ociVersion\":\"1.0.2\"}\n"

static void check_confined(const char *run)
{
	char path[PATH_MAX], buf[64];
	snprintf(path, sizeof(path), "%s/canary", top);
	FUZZ_CHECK(fuzz_count_entries(path) == 0);
	FUZZ_CHECK(fuzz_count_entries(top) == 2);
	snprintf(path, sizeof(path), "%s/work", top);
	FUZZ_CHECK(fuzz_count_entries(path) == 1);
	struct stat st;
	FUZZ_CHECK(lstat(run, &st) == 0 && S_ISDIR(st.st_mode));
	/* the container directory: the bundle, the rootfs layer and the log only */
	snprintf(path, sizeof(path), "%s/ctr/upper", run);
	FUZZ_CHECK(lstat(path, &st) == 0 && S_ISDIR(st.st_mode));
	snprintf(path, sizeof(path), "%s/ctr/config.json", run);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	FUZZ_CHECK(n == (ssize_t)strlen(BUNDLE_CONFIG) && !memcmp(buf, BUNDLE_CONFIG, (size_t)n));
	snprintf(path, sizeof(path), "%s/ctr/log", run);
	bool has_log = lstat(path, &st) == 0;
	snprintf(path, sizeof(path), "%s/ctr", run);
	FUZZ_CHECK(fuzz_count_entries(path) == 2 + has_log);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char run[PATH_MAX], path[PATH_MAX];
	snprintf(run, sizeof(run), "%s/work/%lu", top, counter++);
	FUZZ_CHECK(mkdir(run, 0700) == 0);

	struct stream_receiver r;
	stream_receiver_init(&r);
	r.max_bytes = 1u << 20;
	snprintf(r.roots[SPACE_IMAGES], sizeof(r.roots[0]), "%s/images", run);
	snprintf(r.roots[SPACE_LOGS], sizeof(r.roots[0]), "%s/ctr", run);
	snprintf(r.roots[SPACE_ROOTFS], sizeof(r.roots[0]), "%s/ctr/upper", run);
	FUZZ_CHECK(mkdir(r.roots[SPACE_IMAGES], 0700) == 0);
	FUZZ_CHECK(mkdir(r.roots[SPACE_LOGS], 0700) == 0);
	FUZZ_CHECK(mkdir(r.roots[SPACE_ROOTFS], 0700) == 0);
	snprintf(path, sizeof(path), "%s/ctr/config.json", run);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd >= 0 && write(fd, BUNDLE_CONFIG, strlen(BUNDLE_CONFIG)) ==
				      (ssize_t)strlen(BUNDLE_CONFIG));
	close(fd);

	ferry_error_t err = { 0 };
	unsigned n_data = 0;
	size_t off = 0;
	int rc = 0;
	while (rc == 0 && size - off >= WIRE_HEADER_SIZE) {
		struct wire_header h;
		if (wire_decode_header(data + off, &h, &err) < 0)
			break;
		off += WIRE_HEADER_SIZE;
		size_t len = h.length < size - off ? h.length : size - off;
		struct wire_frame f = fuzz_frame(h.type, data + off, len);
		off += len;
		rc = dispatch(&r, &f, h.type == WIRE_FILE_DATA ? n_data++ : 0, &err);
		if (rc < 0) {
			FUZZ_CHECK(ferry_error_is_set(&err));
			if (verbose)
				fprintf(stderr, "fuzz_receiver: %s: %s\n", wire_type_name(h.type),
					err.message);
		}
		wire_frame_release(&f);
	}
	if (rc == 0)
		(void)stream_receiver_check_complete(&r, &err);
	stream_receiver_release(&r);

	check_confined(run);
	fuzz_rm_tree(run);
	return 0;
}

/* ---- structure-aware mutation ---- */

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

#define MAX_MUTATE_FRAMES 64

struct span {
	uint8_t type;
	size_t off, len; /* payload within the input */
};

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	static uint8_t out[1u << 20], scratch[1u << 20];
	struct span fr[MAX_MUTATE_FRAMES];
	size_t n = 0, off = 0;
	ferry_error_t err;
	while (n < MAX_MUTATE_FRAMES && size - off >= WIRE_HEADER_SIZE) {
		struct wire_header h;
		if (wire_decode_header(data + off, &h, &err) < 0)
			break;
		off += WIRE_HEADER_SIZE;
		size_t len = h.length < size - off ? h.length : size - off;
		fr[n++] = (struct span){ h.type, off, len };
		off += len;
	}
	if (n == 0 || seed % 5 == 0 || max_size > sizeof(out))
		return LLVMFuzzerMutate(data, size, max_size);

	size_t k = (seed / 5) % n, action = (seed / 5 / n) % 10;
	const uint8_t types[] = { WIRE_FILE_DATA, WIRE_FILE_END, WIRE_ENTRY };
	size_t pos = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *payload = data + fr[i].off;
		size_t len = fr[i].len;
		uint8_t type = fr[i].type;
		int copies = 1;
		if (i == k && action < 7) { /* mutate this payload */
			size_t room = max_size - (size - len) > sizeof(scratch) ?
					      sizeof(scratch) : max_size - (size - len);
			if (room == 0)
				return LLVMFuzzerMutate(data, size, max_size);
			memcpy(scratch, payload, len < room ? len : room);
			len = LLVMFuzzerMutate(scratch, len < room ? len : room, room);
			payload = scratch;
		} else if (i == k && action == 7) {
			copies = 2;
		} else if (i == k && action == 8) {
			copies = 0;
		} else if (i == k) {
			type = types[(seed >> 16) % 3];
		}
		for (int c = 0; c < copies; c++) {
			if (pos + WIRE_HEADER_SIZE + len > max_size)
				return pos ? (memcpy(data, out, pos), pos) : LLVMFuzzerMutate(data, size, max_size);
			wire_encode_header(out + pos, type, (uint32_t)len);
			memcpy(out + pos + WIRE_HEADER_SIZE, payload, len);
			pos += WIRE_HEADER_SIZE + len;
		}
	}
	if (pos == 0)
		return LLVMFuzzerMutate(data, size, max_size);
	memcpy(data, out, pos);
	return pos;
}
