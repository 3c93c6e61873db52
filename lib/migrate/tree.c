/*
 * tree.c - see tree.h.
 */
#include "migrate/tree.h"
#include "migrate/stream.h"
#include "util/beneath.h"
#include "util/cleanup.h"
#include "wire/frame.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

/* ---- sending ---- */

static json_object *hex_string(const uint8_t *data, size_t len)
{
	char *hex = malloc(len * 2 + 1);
	if (!hex)
		return NULL;
	for (size_t i = 0; i < len; i++)
		sprintf(hex + 2 * i, "%02x", data[i]);
	hex[len * 2] = '\0';
	json_object *s = json_object_new_string(hex);
	free(hex);
	return s;
}

static json_object *read_xattrs(const char *path)
{
	char names[4096];
	uint8_t value[4096];
	json_object *x = json_object_new_object();
	ssize_t len = llistxattr(path, names, sizeof(names));
	for (ssize_t off = 0; len > 0 && off < len; off += (ssize_t)strlen(names + off) + 1) {
		ssize_t vlen = lgetxattr(path, names + off, value, sizeof(value));
		if (vlen >= 0)
			json_object_object_add(x, names + off, hex_string(value, (size_t)vlen));
	}
	return x;
}

static const char *entry_type(const struct stat *st)
{
	if (S_ISDIR(st->st_mode))
		return "dir";
	if (S_ISREG(st->st_mode))
		return "file";
	if (S_ISLNK(st->st_mode))
		return "symlink";
	if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0))
		return "whiteout";
	if (S_ISCHR(st->st_mode))
		return "chardev";
	if (S_ISBLK(st->st_mode))
		return "blockdev";
	if (S_ISFIFO(st->st_mode))
		return "fifo";
	return NULL; /* sockets are recreated by CRIU, not copied */
}

static int send_entry(struct wire_conn *conn, const char *path, const char *name, const struct stat *st,
		      ferry_error_t *err)
{
	const char *type = entry_type(st);
	if (!type)
		return 0;
	_cleanup_json_ json_object *e = json_object_new_object();
	json_object_object_add(e, "name", json_object_new_string(name));
	json_object_object_add(e, "type", json_object_new_string(type));
	json_object_object_add(e, "mode", json_object_new_int(st->st_mode & 07777));
	json_object_object_add(e, "uid", json_object_new_int((int)st->st_uid));
	json_object_object_add(e, "gid", json_object_new_int((int)st->st_gid));
	json_object_object_add(e, "rdev", json_object_new_int64((int64_t)st->st_rdev));
	if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			return ferry_error_set(err, errno, "readlink %s", path);
		target[n] = '\0';
		json_object_object_add(e, "target", json_object_new_string(target));
	}
	json_object_object_add(e, "xattrs", read_xattrs(path));
	return wire_send_json(conn, WIRE_ENTRY, e, err);
}

static int walk(struct wire_conn *conn, const char *root, const char *rel, uint64_t *bytes, ferry_error_t *err)
{
	char dirpath[PATH_MAX];
	snprintf(dirpath, sizeof(dirpath), "%s%s%s", root, rel[0] ? "/" : "", rel);
	_cleanup_dir_ DIR *d = opendir(dirpath);
	if (!d)
		return ferry_error_set(err, errno, "open %s", dirpath);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char path[PATH_MAX], name[PATH_MAX];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dirpath, de->d_name);
		snprintf(name, sizeof(name), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
		if (lstat(path, &st) < 0)
			return ferry_error_set(err, errno, "stat %s", path);
		if (send_entry(conn, path, name, &st, err) < 0)
			return -1;
		if (S_ISREG(st.st_mode) &&
		    stream_send_file(conn, SPACE_ROOTFS, path, name, bytes, err) < 0)
			return -1;
		if (S_ISDIR(st.st_mode) && walk(conn, root, name, bytes, err) < 0)
			return -1;
	}
	return 0;
}

int tree_send(struct wire_conn *conn, const char *root, uint64_t *bytes, ferry_error_t *err)
{
	return walk(conn, root, "", bytes, err);
}

/* ---- receiving ---- */

static int hex_decode(const char *hex, uint8_t *out, size_t cap)
{
	size_t len = strlen(hex);
	if (len % 2 || len / 2 > cap)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return (int)(len / 2);
}

static int apply_xattrs(int fd, json_object *xattrs, ferry_error_t *err)
{
	uint8_t value[4096];
	if (!xattrs || !json_object_is_type(xattrs, json_type_object))
		return 0;
	json_object_object_foreach(xattrs, key, val)
	{
		if (!json_object_is_type(val, json_type_string))
			return ferry_error_set(err, 0, "malformed xattr %s", key);
		int len = hex_decode(json_object_get_string(val), value, sizeof(value));
		if (len < 0)
			return ferry_error_set(err, 0, "malformed xattr %s", key);
		if (fsetxattr(fd, key, value, (size_t)len, 0) < 0)
			return ferry_error_set(err, errno, "set xattr %s", key);
	}
	return 0;
}

static int create_node(int parent, const char *base, const char *type, json_object *e,
		       mode_t mode, ferry_error_t *err)
{
	json_object *v;
	dev_t rdev = json_object_object_get_ex(e, "rdev", &v) ? (dev_t)json_object_get_int64(v) : 0;
	int rc = 0;
	if (!strcmp(type, "dir"))
		rc = mkdirat(parent, base, 0700);
	else if (!strcmp(type, "file")) {
		rc = openat(parent, base,
			    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
		if (rc >= 0)
			rc = close(rc);
	}
	else if (!strcmp(type, "symlink"))
		rc = json_object_object_get_ex(e, "target", &v) &&
				     json_object_is_type(v, json_type_string) ?
			     symlinkat(json_object_get_string(v), parent, base) : (errno = EINVAL, -1);
	else if (!strcmp(type, "whiteout"))
		rc = mknodat(parent, base, S_IFCHR, makedev(0, 0));
	else if (!strcmp(type, "chardev"))
		rc = mknodat(parent, base, S_IFCHR | mode, rdev);
	else if (!strcmp(type, "blockdev"))
		rc = mknodat(parent, base, S_IFBLK | mode, rdev);
	else if (!strcmp(type, "fifo"))
		rc = mknodat(parent, base, S_IFIFO | mode, 0);
	else
		return ferry_error_set(err, 0, "malformed ENTRY: unknown type %s", type);
	struct stat st;
	/* an existing directory is fine; anything else there (a symlink!) is not */
	if (rc < 0 && !(errno == EEXIST && !strcmp(type, "dir") &&
			fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)))
		return ferry_error_set(err, errno, "create %s", base);
	return 0;
}

static int set_owner_mode(int parent, const char *base, const char *type, json_object *e,
			  ferry_error_t *err)
{
	json_object *uid, *gid, *mode, *xattrs = NULL;
	json_object_object_get_ex(e, "uid", &uid);
	json_object_object_get_ex(e, "gid", &gid);
	json_object_object_get_ex(e, "mode", &mode);
	json_object_object_get_ex(e, "xattrs", &xattrs);
	if (fchownat(parent, base, (uid_t)json_object_get_int(uid), (gid_t)json_object_get_int(gid),
		     AT_SYMLINK_NOFOLLOW) < 0)
		return ferry_error_set(err, errno, "chown %s", base);
	if (!strcmp(type, "symlink"))
		return 0;
	if (fchmodat(parent, base, (mode_t)json_object_get_int(mode) & 07777, 0) < 0)
		return ferry_error_set(err, errno, "chmod %s", base);
	if (strcmp(type, "dir") && strcmp(type, "file"))
		return 0;
	_cleanup_fd_ int fd = openat(parent, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ferry_error_set(err, errno, "open %s", base);
	return apply_xattrs(fd, xattrs, err);
}

int tree_apply_entry(const char *root, json_object *e, ferry_error_t *err)
{
	json_object *name, *type, *uid, *gid, *mode;
	if (!json_object_object_get_ex(e, "name", &name) ||
	    !json_object_object_get_ex(e, "type", &type) ||
	    !json_object_object_get_ex(e, "uid", &uid) ||
	    !json_object_object_get_ex(e, "gid", &gid) ||
	    !json_object_object_get_ex(e, "mode", &mode) ||
	    !json_object_is_type(name, json_type_string) ||
	    !json_object_is_type(type, json_type_string))
		return ferry_error_set(err, 0, "malformed ENTRY frame");
	const char *n = json_object_get_string(name);
	const char *t = json_object_get_string(type);
	if (!wire_name_is_safe(n, strlen(n)))
		return ferry_error_set(err, 0, "malformed ENTRY frame: unsafe name");
	_cleanup_fd_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return ferry_error_set(err, errno, "open %s", root);
	const char *base;
	_cleanup_fd_ int parent = beneath_parent(rootfd, n, &base);
	if (parent < 0)
		return ferry_error_set(err, errno, "resolve parent of %s", n);
	/* O_PATH parents cannot be used with *at calls that create: reopen */
	_cleanup_fd_ int dir = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return ferry_error_set(err, errno, "open parent of %s", n);
	mode_t m = (mode_t)json_object_get_int(mode) & 07777;
	if (create_node(dir, base, t, e, m, err) < 0 || set_owner_mode(dir, base, t, e, err) < 0)
		return ferry_error_prefix(err, "rootfs entry %s", n);
	return 0;
}
