/*
 * gen_corpus.c - writes the seed corpora in tests/fuzz/corpus/<target>/:
 * valid frames (with correct digests) built with the real encoder for the
 * wire targets, and valid records and sandbox.json files for the JSON ones.
 * `make -C tests/fuzz corpus` rebuilds and reruns it; the output is committed.
 *
 * Usage: gen_corpus <corpus dir>
 */
#include "wire/frame.h"
#include "migrate/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

/* must match FUZZ_MOUNT in fuzz_receiver.c */
#define CANARY "/tmp/ferry-fuzz-receiver/canary"

static const char *out_dir;
static int fd = -1;

static void die(const char *what)
{
	fprintf(stderr, "gen_corpus: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void begin(const char *target, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", out_dir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die(path);
	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, target, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die(path);
}

static void end(void)
{
	close(fd);
	fd = -1;
}

static void text(const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		die("write");
}

static void json(uint8_t type, const char *s)
{
	if (wire_send(fd, type, s, (uint32_t)strlen(s), NULL) < 0)
		die("write frame");
}

static void file_data(uint8_t space, const char *name, uint64_t off, const char *data)
{
	if (wire_send_file_data(fd, space, name, off, data, strlen(data), NULL) < 0)
		die("write frame");
}

static void file_end(uint8_t space, const char *name, const char *content)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "{\"space\":%u,\"name\":\"%s\",\"size\":%zu,\"xxh3\":\"%016llx\"}",
		 space, name, strlen(content),
		 (unsigned long long)XXH3_64bits(content, strlen(content)));
	json(WIRE_FILE_END, buf);
}

/* a whole file in one or two FILE_DATA frames plus its FILE_END */
static void whole_file(uint8_t space, const char *name, const char *content, size_t split)
{
	char first[256];
	size_t len = strlen(content);
	if (split && split < len) {
		snprintf(first, sizeof(first), "%.*s", (int)split, content);
		file_data(space, name, 0, first);
		file_data(space, name, split, content + split);
	} else if (len) {
		file_data(space, name, 0, content);
	}
	file_end(space, name, content);
}

static void entry(const char *name, const char *type, int mode, const char *extra)
{
	char buf[1024];
	snprintf(buf, sizeof(buf),
		 "{\"name\":\"%s\",\"type\":\"%s\",\"mode\":%d,\"uid\":0,\"gid\":0,\"rdev\":0%s%s}",
		 name, type, mode, extra ? "," : "", extra ? extra : "");
	json(WIRE_ENTRY, buf);
}

static void wire_seeds(void)
{
	const char *t = "fuzz_wire_frame";
	begin(t, "hello");
	json(WIRE_HELLO, "{\"version\":1,\"node\":\"node1\"}");
	end();
	begin(t, "request-progress-result");
	json(WIRE_REQUEST, "{\"op\":\"migrate\",\"name\":\"redis\",\"to\":\"node2\"}");
	json(WIRE_PROGRESS, "{\"phase\":\"dump\",\"bytes\":4096}");
	json(WIRE_RESULT, "{\"ok\":true,\"downtime_ms\":42}");
	end();
	begin(t, "error");
	json(WIRE_ERROR, "{\"error\":\"no container 'redis' on node1\"}");
	end();
	begin(t, "file-data");
	file_data(SPACE_IMAGES, "pages-1.img", 0, "0123456789abcdef");
	file_data(SPACE_IMAGES, "pages-1.img", 16, "ghij");
	file_end(SPACE_IMAGES, "pages-1.img", "0123456789abcdefghij");
	end();
	begin(t, "entry-dump-done");
	entry("etc/hosts", "file", 0644, "\"xattrs\":{}");
	json(WIRE_DUMP_DONE, "{}");
	json(WIRE_COMMIT, "{}");
	end();
	begin(t, "empty-payloads");
	json(WIRE_PREPARED, "");
	json(WIRE_ABORT, "{\"error\":\"source rolled back\"}");
	end();
}

static void receiver_seeds(void)
{
	const char *t = "fuzz_receiver";
	begin(t, "images");
	whole_file(SPACE_IMAGES, "inventory.img", "inventory image bytes", 0);
	whole_file(SPACE_IMAGES, "pages-1.img", "page data, sent in two frames", 10);
	whole_file(SPACE_IMAGES, "empty.img", "", 0);
	json(WIRE_DUMP_DONE, "{}");
	end();
	begin(t, "rootfs-tree");
	entry("etc", "dir", 0755, "\"xattrs\":{\"trusted.overlay.opaque\":\"79\"}");
	entry("etc/hosts", "file", 0644, "\"xattrs\":{\"user.note\":\"6869\"}");
	whole_file(SPACE_ROOTFS, "etc/hosts", "127.0.0.1 localhost\n", 5);
	entry("etc/localtime", "symlink", 0777, "\"target\":\"/usr/share/zoneinfo/UTC\"");
	entry("etc/fifo", "fifo", 0600, NULL);
	entry("gone", "whiteout", 0, NULL);
	entry("dev", "dir", 0755, NULL);
	entry("dev/null", "chardev", 0666, "\"rdev\":259");
	entry("dev/loop0", "blockdev", 0660, "\"rdev\":1792");
	end();
	begin(t, "logs");
	whole_file(SPACE_LOGS, "log", "redis ready to accept connections\n", 0);
	whole_file(SPACE_LOGS, "upper/var-log", "written through the logs space\n", 0);
	end();
	/* one escape attempt per seed: the first error ends an input */
	begin(t, "escape-relative-dir");
	entry("up", "symlink", 0777, "\"target\":\"../../../canary\"");
	entry("up/x", "dir", 0755, NULL);
	end();
	begin(t, "escape-absolute-file");
	entry("abs", "symlink", 0777, "\"target\":\"" CANARY "\"");
	entry("abs/y", "file", 0644, NULL);
	end();
	begin(t, "escape-absolute-data");
	entry("abs", "symlink", 0777, "\"target\":\"" CANARY "\"");
	whole_file(SPACE_ROOTFS, "abs/z", "escaped", 0);
	end();
	begin(t, "escape-final-symlink");
	entry("last", "symlink", 0777, "\"target\":\"" CANARY "/w\"");
	whole_file(SPACE_ROOTFS, "last", "escaped", 0);
	end();
	begin(t, "escape-logs-into-images");
	whole_file(SPACE_LOGS, "../images/x", "escaped", 0);
	end();
	begin(t, "fifo-then-data");
	entry("fifo", "fifo", 0600, NULL);
	whole_file(SPACE_ROOTFS, "fifo", "into a fifo?", 0);
	end();
	begin(t, "symlink-then-dir");
	entry("link", "symlink", 0777, "\"target\":\"" CANARY "\"");
	entry("link", "dir", 0755, "\"xattrs\":{\"user.a\":\"00\"}");
	end();

	/* regressions: inputs that broke the receiver once (see each fix) */
	begin(t, "regress-xattr-null"); /* strlen(NULL) in hex_decode */
	entry("d", "dir", 0755, "\"xattrs\":{\"user.a\":null}");
	end();
	begin(t, "regress-symlink-null-target"); /* symlinkat(NULL, ...) */
	entry("s", "symlink", 0777, "\"target\":null");
	end();
	begin(t, "regress-device-then-data"); /* receiver_open opened the device */
	entry("null", "chardev", 0666, "\"rdev\":259");
	whole_file(SPACE_ROOTFS, "null", "x", 0);
	end();
	begin(t, "regress-device-then-file"); /* create_node "file" opened the device */
	entry("null", "chardev", 0666, "\"rdev\":259");
	entry("null", "file", 0644, NULL);
	end();
	begin(t, "regress-logs-config-json"); /* the logs space overwrote the bundle */
	whole_file(SPACE_LOGS, "config.json", "{\"process\":{}}", 0);
	end();
}

static void record_seeds(void)
{
	const char *t = "fuzz_json_record";
	begin(t, "redis");
	text("{\"name\":\"redis\",\"image\":\"redis\",\"node\":\"node1\",\"ip\":\"10.88.0.5\","
	     "\"args\":[\"/usr/bin/redis-server\",\"--port\",\"6379\"],"
	     "\"env\":[\"PATH=/usr/local/bin:/usr/bin:/bin\",\"HOME=/root\"],\"cwd\":\"/data\"}");
	end();
	begin(t, "minimal");
	text("{\"name\":\"a\",\"image\":\"busybox\",\"ip\":\"10.88.1.2\",\"args\":[\"sh\"],"
	     "\"env\":[]}");
	end();
	begin(t, "regress-cwd-null"); /* json_object_new_string(NULL) in bundle_write */
	text("{\"name\":\"a\",\"image\":\"busybox\",\"ip\":\"10.88.1.2\",\"args\":[\"sh\"],"
	     "\"env\":[],\"cwd\":null}");
	end();
	begin(t, "pretty");
	text("{\n  \"name\": \"web-1\",\n  \"image\": \"nginx_1.25\",\n  \"node\": \"node2\",\n"
	     "  \"ip\": \"10.88.0.17\",\n  \"args\": [ \"nginx\", \"-g\", \"daemon off;\" ],\n"
	     "  \"env\": [ \"A=\\u00e9\" ],\n  \"cwd\": \"/\"\n}\n");
	end();
}

static void topology_seeds(void)
{
	const char *t = "fuzz_topology";
	begin(t, "two-nodes");
	text("{\n  \"nodes\": [\n"
	     "    { \"name\": \"node1\", \"address\": \"10.87.0.11\", \"netns\": \"ferry-node1\","
	     " \"migration_port\": 7070, \"agent_pid\": 1234 },\n"
	     "    { \"name\": \"node2\", \"address\": \"10.87.0.12\", \"netns\": \"ferry-node2\","
	     " \"migration_port\": 7070, \"agent_pid\": 1240 }\n  ]\n}\n");
	end();
	begin(t, "defaults");
	text("{\"nodes\":[{\"name\":\"n\",\"address\":\"10.87.0.10\",\"netns\":\"ferry-n\"}]}");
	end();
	begin(t, "empty");
	text("{\"nodes\":[]}");
	end();
	begin(t, "sixteen");
	text("{\"nodes\":[");
	for (int i = 1; i <= 16; i++) {
		char buf[256];
		snprintf(buf, sizeof(buf),
			 "%s{\"name\":\"node%d\",\"address\":\"10.87.0.%d\",\"netns\":\"ferry-node%d\","
			 "\"migration_port\":%d,\"agent_pid\":%d}",
			 i > 1 ? "," : "", i, 10 + i, i, 7070 + i, 100 * i);
		text(buf);
	}
	text("]}");
	end();
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus <corpus dir>\n");
		return 2;
	}
	out_dir = argv[1];
	if (mkdir(out_dir, 0755) < 0 && errno != EEXIST)
		die(out_dir);
	wire_seeds();
	receiver_seeds();
	record_seeds();
	topology_seeds();
	return 0;
}
