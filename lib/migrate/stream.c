/*
 * stream.c - see stream.h.
 */
#include "migrate/stream.h"
#include "util/beneath.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define CHUNK_SIZE (4u << 20)
#define RECV_BUFFER (256u << 10)

struct stream_file {
	uint8_t space;
	char name[256];
	int fd;
	uint64_t offset;     /* sender: bytes sent; receiver: bytes written in order */
	XXH3_state_t *hash;
	bool ended;
};

static struct stream_file *file_table_add(struct stream_file **files, size_t *n, size_t *cap,
					  uint8_t space, const char *name, size_t name_len)
{
	if (name_len >= sizeof((*files)->name))
		return NULL;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct stream_file *grown = realloc(*files, ncap * sizeof(**files));
		if (!grown)
			return NULL;
		*files = grown;
		*cap = ncap;
	}
	struct stream_file *f = &(*files)[(*n)++];
	memset(f, 0, sizeof(*f));
	f->space = space;
	memcpy(f->name, name, name_len);
	f->name[name_len] = '\0';
	f->fd = -1;
	f->hash = XXH3_createState();
	XXH3_64bits_reset(f->hash);
	return f;
}

static struct stream_file *file_table_find(struct stream_file *files, size_t n, uint8_t space,
					   const char *name, size_t name_len)
{
	for (size_t i = 0; i < n; i++)
		if (files[i].space == space && strlen(files[i].name) == name_len &&
		    memcmp(files[i].name, name, name_len) == 0)
			return &files[i];
	return NULL;
}

static void file_table_release(struct stream_file *files, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (files[i].fd >= 0)
			close(files[i].fd);
		XXH3_freeState(files[i].hash);
	}
	free(files);
}

/* ---- sender ---- */

int stream_sender_init(struct stream_sender *s, struct wire_conn *conn, uint8_t space, const char *dir,
		       ferry_error_t *err)
{
	memset(s, 0, sizeof(*s));
	s->conn = conn;
	s->space = space;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	s->started_ms = clock_now_ms();
	return 0;
}

/* Sends bytes [f->offset, size) of the file from a read-only mapping: no
 * copy through a user buffer, which matters on machines where memcpy is slow. */
static int send_range(struct wire_conn *conn, uint8_t space, struct stream_file *f, uint64_t size,
		      uint64_t *total, ferry_error_t *err)
{
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	while (f->offset < size) {
		size_t n = (size_t)(size - f->offset < CHUNK_SIZE ? size - f->offset : CHUNK_SIZE);
		uint64_t map_off = f->offset & ~(page - 1);
		size_t delta = (size_t)(f->offset - map_off);
		uint8_t *map = mmap(NULL, delta + n, PROT_READ, MAP_SHARED | MAP_POPULATE, f->fd,
				    (off_t)map_off);
		if (map == MAP_FAILED)
			return ferry_error_set(err, errno, "map %s", f->name);
		int rc = wire_send_file_data(conn, space, f->name, f->offset, map + delta, n, err);
		if (rc == 0)
			XXH3_64bits_update(f->hash, map + delta, n);
		munmap(map, delta + n);
		if (rc < 0)
			return -1;
		f->offset += n;
		*total += n;
	}
	return 0;
}

/* Sleeps until sending n more bytes keeps the average at the cap. */
static void throttle(struct stream_sender *s, uint64_t n)
{
	if (!s->max_bytes_per_s)
		return;
	double due_ms = s->started_ms + (double)(s->bytes_sent + n) * 1000.0 / (double)s->max_bytes_per_s;
	double wait_ms = due_ms - clock_now_ms();
	if (wait_ms > 0) {
		struct timespec ts = { (time_t)(wait_ms / 1000), (long)(fmod(wait_ms, 1000.0) * 1e6) };
		nanosleep(&ts, NULL);
	}
}

static int send_appended(struct stream_sender *s, struct stream_file *f, ferry_error_t *err)
{
	struct stat st;
	if (fstat(f->fd, &st) < 0)
		return ferry_error_set(err, errno, "stat %s/%s", s->dir, f->name);
	while (s->max_bytes_per_s && f->offset < (uint64_t)st.st_size) {
		/* capped: one chunk at a time, each released on schedule */
		uint64_t step = (uint64_t)st.st_size - f->offset;
		if (step > CHUNK_SIZE)
			step = CHUNK_SIZE;
		throttle(s, step);
		if (send_range(s->conn, s->space, f, f->offset + step, &s->bytes_sent, err) < 0)
			return -1;
	}
	return send_range(s->conn, s->space, f, (uint64_t)st.st_size, &s->bytes_sent, err);
}

static struct stream_file *sender_file(struct stream_sender *s, const char *name,
				       ferry_error_t *err)
{
	struct stream_file *f = file_table_find(s->files, s->n_files, s->space, name, strlen(name));
	if (f)
		return f;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ferry_error_set(err, errno, "open %s", path);
		return NULL;
	}
	f = file_table_add(&s->files, &s->n_files, &s->cap_files, s->space, name, strlen(name));
	if (!f) {
		close(fd);
		ferry_error_set(err, ENOMEM, "track %s", path);
		return NULL;
	}
	f->fd = fd;
	return f;
}

int stream_sender_poll(struct stream_sender *s, ferry_error_t *err)
{
	_cleanup_dir_ DIR *d = opendir(s->dir);
	if (!d)
		return ferry_error_set(err, errno, "open %s", s->dir);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_REG)
			continue;
		struct stream_file *f = sender_file(s, de->d_name, err);
		if (!f || send_appended(s, f, err) < 0)
			return -1;
	}
	return 0;
}

static int send_file_end(struct wire_conn *conn, uint8_t space, const char *name, uint64_t size, uint64_t digest,
			 ferry_error_t *err)
{
	char hex[17];
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)digest);
	_cleanup_json_ json_object *m = json_object_new_object();
	json_object_object_add(m, "space", json_object_new_int(space));
	json_object_object_add(m, "name", json_object_new_string(name));
	json_object_object_add(m, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(m, "xxh3", json_object_new_string(hex));
	return wire_send_json(conn, WIRE_FILE_END, m, err);
}

int stream_sender_finish(struct stream_sender *s, ferry_error_t *err)
{
	if (stream_sender_poll(s, err) < 0)
		return -1;
	for (size_t i = 0; i < s->n_files; i++) {
		struct stream_file *f = &s->files[i];
		if (send_file_end(s->conn, s->space, f->name, f->offset, XXH3_64bits_digest(f->hash),
				  err) < 0)
			return -1;
	}
	return 0;
}

void stream_sender_release(struct stream_sender *s)
{
	file_table_release(s->files, s->n_files);
	memset(s, 0, sizeof(*s));
}

int stream_send_file(struct wire_conn *conn, uint8_t space, const char *path, const char *name,
		     uint64_t *bytes, ferry_error_t *err)
{
	struct stream_file f = { .space = space, .fd = -1 };
	struct stat st;
	uint64_t sent = 0;
	if (strlen(name) >= sizeof(f.name))
		return ferry_error_set(err, ENAMETOOLONG, "send %s", path);
	strcpy(f.name, name);
	f.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f.fd < 0)
		return ferry_error_set(err, errno, "open %s", path);
	f.hash = XXH3_createState();
	XXH3_64bits_reset(f.hash);
	int rc = fstat(f.fd, &st) < 0 ? ferry_error_set(err, errno, "stat %s", path) : 0;
	if (rc == 0)
		rc = send_range(conn, space, &f, (uint64_t)st.st_size, &sent, err);
	if (rc == 0)
		rc = send_file_end(conn, space, name, f.offset, XXH3_64bits_digest(f.hash), err);
	XXH3_freeState(f.hash);
	close(f.fd);
	if (bytes)
		*bytes += sent;
	return rc;
}

/* ---- receiver ---- */

void stream_receiver_init(struct stream_receiver *r)
{
	memset(r, 0, sizeof(*r));
	r->pipe[0] = r->pipe[1] = -1;
}

static int receiver_open(struct stream_receiver *r, struct stream_file *f, ferry_error_t *err)
{
	if (!r->roots[f->space][0])
		return ferry_error_set(err, 0, "file stream for space %u is not accepted now",
				       f->space);
	_cleanup_fd_ int root = open(r->roots[f->space], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return ferry_error_set(err, errno, "open %s", r->roots[f->space]);
	/* a device node planted by an earlier entry must not even be opened (a
	 * driver acts on open: a watchdog, a tty); O_PATH does not call into it */
	struct stat st;
	int probe = beneath_open(root, f->name, O_PATH, 0);
	if (probe >= 0) {
		bool regular = fstat(probe, &st) == 0 && S_ISREG(st.st_mode);
		close(probe);
		if (!regular)
			return ferry_error_set(err, 0, "create %s/%s: not a regular file",
					       r->roots[f->space], f->name);
	}
	/* confined: a symlink planted by an earlier entry must not redirect us */
	/* O_NONBLOCK: a fifo planted by an earlier entry must not block us */
	f->fd = beneath_open(root, f->name, O_RDWR | O_CREAT | O_TRUNC | O_NONBLOCK, 0600);
	if (f->fd < 0)
		return ferry_error_set(err, errno, "create %s/%s", r->roots[f->space], f->name);
	if (fstat(f->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(f->fd);
		f->fd = -1;
		return ferry_error_set(err, 0, "create %s/%s: not a regular file", r->roots[f->space],
				       f->name);
	}
	return 0;
}

/* The logs space is the container directory, which also holds the bundle
 * (config.json) and the rootfs layer: only the log file itself may arrive there. */
static bool name_allowed(uint8_t space, const char *name, size_t len)
{
	return space != SPACE_LOGS || (len == 3 && memcmp(name, "log", 3) == 0);
}

/* The receiving file for a FILE_DATA: opened on first use, in order, in limits. */
static struct stream_file *receiver_file(struct stream_receiver *r, const struct wire_file_data *d,
					 ferry_error_t *err)
{
	if (d->space >= SPACE_COUNT) {
		ferry_error_set(err, 0, "malformed FILE_DATA frame: unknown space %u", d->space);
		return NULL;
	}
	if (!name_allowed(d->space, d->name, d->name_len)) {
		ferry_error_set(err, 0, "malformed FILE_DATA frame: unexpected file in space %u",
				d->space);
		return NULL;
	}
	struct stream_file *f = file_table_find(r->files, r->n_files, d->space, d->name, d->name_len);
	if (!f) {
		f = file_table_add(&r->files, &r->n_files, &r->cap_files, d->space, d->name,
				   d->name_len);
		if (!f) {
			ferry_error_set(err, ENAMETOOLONG, "receive file");
			return NULL;
		}
		if (receiver_open(r, f, err) < 0)
			return NULL;
	}
	if (f->ended || d->offset != f->offset) {
		ferry_error_set(err, 0, "file %s: data out of order (offset %llu, expected %llu)",
				f->name, (unsigned long long)d->offset, (unsigned long long)f->offset);
		return NULL;
	}
	if (r->max_bytes && r->bytes_received + d->data_len > r->max_bytes) {
		ferry_error_set(err, 0, "incoming state exceeds the %llu byte limit",
				(unsigned long long)r->max_bytes);
		return NULL;
	}
	return f;
}

int stream_receiver_data(struct stream_receiver *r, const struct wire_frame *fr,
			 ferry_error_t *err)
{
	struct wire_file_data d;
	if (wire_parse_file_data(fr->payload, fr->length, &d, err) < 0)
		return -1;
	struct stream_file *f = receiver_file(r, &d, err);
	if (!f)
		return -1;
	if (fs_write_all(f->fd, d.data, d.data_len) < 0)
		return ferry_error_set(err, errno, "write %s", f->name);
	XXH3_64bits_update(f->hash, d.data, d.data_len);
	f->offset += d.data_len;
	r->bytes_received += d.data_len;
	return 0;
}

/* Digests bytes [offset, offset + len) of the file as written, through a
 * populated read-only mapping (no copy, no per-page faults). */
static int hash_written(struct stream_file *f, uint64_t offset, size_t len, ferry_error_t *err)
{
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t map_off = offset & ~(page - 1);
	size_t delta = (size_t)(offset - map_off);
	uint8_t *map = mmap(NULL, delta + len, PROT_READ, MAP_SHARED | MAP_POPULATE, f->fd,
			    (off_t)map_off);
	if (map == MAP_FAILED)
		return ferry_error_set(err, errno, "map %s", f->name);
	XXH3_64bits_update(f->hash, map + delta, len);
	munmap(map, delta + len);
	return 0;
}

/* Why reading file data from the peer returned in (<= 0, errno set if < 0). */
static int receive_failed(ssize_t in, ferry_error_t *err)
{
	if (in == 0)
		return ferry_error_set(err, 0, "connection closed by peer in the middle of file data");
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return ferry_error_set(err, 0, "peer timed out while sending file data");
	return ferry_error_set(err, errno, "receive file data");
}

/* Plain TCP: moves len bytes from the socket into the file at f->offset with splice(2):
 * socket buffers to a pipe by reference, pipe to page cache in one copy, and
 * no trip through user space (this machine copies memory slowly). */
static int splice_into_file(struct stream_receiver *r, struct stream_file *f, int sock,
			    size_t len, ferry_error_t *err)
{
	if (r->pipe[0] < 0) {
		if (pipe2(r->pipe, O_CLOEXEC) < 0)
			return ferry_error_set(err, errno, "pipe");
		fcntl(r->pipe[1], F_SETPIPE_SZ, 1 << 20); /* best effort */
	}
	loff_t out = (loff_t)f->offset;
	size_t left = len;
	while (left > 0) {
		ssize_t in = splice(sock, NULL, r->pipe[1], NULL, left, SPLICE_F_MOVE | SPLICE_F_MORE);
		if (in < 0 && errno == EINTR)
			continue;
		if (in <= 0)
			return receive_failed(in, err);
		for (ssize_t moved = 0; moved < in;) {
			ssize_t n = splice(r->pipe[0], NULL, f->fd, &out, (size_t)(in - moved),
					   SPLICE_F_MOVE);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return ferry_error_set(err, n < 0 ? errno : EIO, "write %s", f->name);
			moved += n;
		}
		left -= (size_t)in;
	}
	return hash_written(f, f->offset, len, err);
}

/* TLS: the bytes must be decrypted in user space, so they are read into a
 * buffer, written at f->offset and digested on the way. */
static int copy_into_file(struct stream_receiver *r, struct stream_file *f, struct wire_conn *c,
			  size_t len, ferry_error_t *err)
{
	if (!r->buf && !(r->buf = malloc(RECV_BUFFER)))
		return ferry_error_set(err, ENOMEM, "receive file data");
	uint64_t out = f->offset;
	while (len > 0) {
		ssize_t in = wire_conn_read(c, r->buf, len < RECV_BUFFER ? len : RECV_BUFFER);
		if (in <= 0)
			return receive_failed(in, err);
		for (ssize_t done = 0; done < in;) {
			ssize_t n = pwrite(f->fd, r->buf + done, (size_t)(in - done), (off_t)out);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return ferry_error_set(err, n < 0 ? errno : EIO, "write %s", f->name);
			done += n;
			out += (uint64_t)n;
		}
		XXH3_64bits_update(f->hash, r->buf, (size_t)in);
		len -= (size_t)in;
	}
	return 0;
}

int stream_receiver_data_from(struct stream_receiver *r, struct wire_conn *c,
			      const struct wire_header *h, ferry_error_t *err)
{
	char name[WIRE_MAX_NAME + 1];
	struct wire_file_data d;
	if (wire_recv_file_meta(c, h, name, &d, err) < 0)
		return -1;
	struct stream_file *f = receiver_file(r, &d, err);
	if (!f)
		return -1;
	if (d.data_len) {
		int rc = wire_conn_is_tls(c) ? copy_into_file(r, f, c, d.data_len, err)
					     : splice_into_file(r, f, c->fd, d.data_len, err);
		if (rc < 0)
			return -1;
	}
	f->offset += d.data_len;
	r->bytes_received += d.data_len;
	return 0;
}

int stream_receiver_end(struct stream_receiver *r, json_object *m, ferry_error_t *err)
{
	json_object *space, *name, *size, *digest;
	if (!json_object_object_get_ex(m, "space", &space) ||
	    !json_object_object_get_ex(m, "name", &name) ||
	    !json_object_object_get_ex(m, "size", &size) ||
	    !json_object_object_get_ex(m, "xxh3", &digest) ||
	    !json_object_is_type(name, json_type_string) ||
	    !json_object_is_type(digest, json_type_string))
		return ferry_error_set(err, 0, "malformed FILE_END frame");
	int sp = json_object_get_int(space);
	const char *n = json_object_get_string(name);
	if (sp < 0 || sp >= SPACE_COUNT || !wire_name_is_safe(n, strlen(n)) ||
	    !name_allowed((uint8_t)sp, n, strlen(n)))
		return ferry_error_set(err, 0, "malformed FILE_END frame: bad space or name");
	struct stream_file *f = file_table_find(r->files, r->n_files, (uint8_t)sp, n, strlen(n));
	if (!f) { /* an empty file gets no data frames */
		f = file_table_add(&r->files, &r->n_files, &r->cap_files, (uint8_t)sp, n, strlen(n));
		if (!f || receiver_open(r, f, err) < 0)
			return f ? -1 : ferry_error_set(err, ENAMETOOLONG, "receive file");
	}
	char hex[17];
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)XXH3_64bits_digest(f->hash));
	if ((uint64_t)json_object_get_int64(size) != f->offset ||
	    strcmp(hex, json_object_get_string(digest)) != 0)
		return ferry_error_set(err, 0, "file %s arrived corrupted (size %llu, digest %s; "
				       "sender says %lld, %s)", n, (unsigned long long)f->offset, hex,
				       (long long)json_object_get_int64(size),
				       json_object_get_string(digest));
	f->ended = true;
	close(f->fd);
	f->fd = -1;
	return 0;
}

int stream_receiver_check_complete(const struct stream_receiver *r, ferry_error_t *err)
{
	for (size_t i = 0; i < r->n_files; i++)
		if (!r->files[i].ended)
			return ferry_error_set(err, 0, "file %s was not completed", r->files[i].name);
	return 0;
}

void stream_receiver_release(struct stream_receiver *r)
{
	file_table_release(r->files, r->n_files);
	r->files = NULL;
	r->n_files = r->cap_files = 0;
	for (int i = 0; i < 2; i++)
		if (r->pipe[i] >= 0)
			close(r->pipe[i]);
	r->pipe[0] = r->pipe[1] = -1;
	free(r->buf);
	r->buf = NULL;
}
