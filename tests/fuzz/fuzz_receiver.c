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
 *     work/<n>/ctr          SPACE_LOGS (the container directory)
 *     work/<n>/ctr/upper    SPACE_ROOTFS
 * removed afterwards.  Next to work/ is canary/; after every input canary/
 * must still be empty and nothing but work/ and canary/ may exist at the top:
 * the receiver must never write outside its roots.
 *
 * Safety: entries can be device nodes and the receiver opens what it finds,
 * so the process first moves into a private mount namespace and mounts a
 * nodev,nosuid tmpfs at FUZZ_MOUNT (the same path in every process, so seeds
 * can aim absolute symlinks at FUZZ_MOUNT/canary).  Without the privilege for
 * that (not root) it falls back to a temp dir and skips device entries.
 */
#include "fuzz.h"
#include "migrate/stream.h"
#include "migrate/tree.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statvfs.h>

#define FUZZ_MOUNT "/tmp/ferry-fuzz-receiver"
#define MAX_SOCKET_FRAME (64u << 10)

static char top[PATH_MAX];    /* the confinement: holds work/ and canary/ only */
static bool devices_ok;       /* top is nodev: device entries are harmless */
static unsigned long counter;
static bool verbose;          /* FUZZ_VERBOSE=1: print why an input stopped */

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
	int rc = stream_receiver_data_from(r, sv[1], &h, err);
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

static void check_confined(const char *run)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/canary", top);
	FUZZ_CHECK(fuzz_count_entries(path) == 0);
	FUZZ_CHECK(fuzz_count_entries(top) == 2);
	snprintf(path, sizeof(path), "%s/work", top);
	FUZZ_CHECK(fuzz_count_entries(path) == 1);
	struct stat st;
	FUZZ_CHECK(lstat(run, &st) == 0 && S_ISDIR(st.st_mode));
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
	/* the roots themselves must still be directories, not replaced */
	snprintf(path, sizeof(path), "%s/ctr/upper", run);
	struct stat st;
	FUZZ_CHECK(lstat(path, &st) == 0 && S_ISDIR(st.st_mode));
	fuzz_rm_tree(run);
	return 0;
}
