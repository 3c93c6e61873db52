/*
 * cniipam.c - see cniipam.h.
 */
#include "k8snode/cniipam.h"
#include "util/cleanup.h"
#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

/* owner of an address held after its pod migrated away; a migration back
 * to this node (a pod asking for exactly that address) takes it over */
#define HELD_PREFIX "migrated-to:"

struct ipam_dir {
	char path[PATH_MAX];
	int lock_fd;
};

static void ipam_close(struct ipam_dir *d)
{
	if (d->lock_fd >= 0)
		close(d->lock_fd); /* drops the flock */
}

static int ipam_open(const struct cni_config *cfg, struct ipam_dir *d, ferry_error_t *err)
{
	char lock[PATH_MAX + 8];
	d->lock_fd = -1;
	if ((size_t)snprintf(d->path, sizeof(d->path), "%s/%s", cfg->data_dir, cfg->node) >=
	    sizeof(d->path))
		return ferry_error_set(err, 0, "allocator path too long");
	if (fs_mkdir_p(d->path, 0700, err) < 0)
		return ferry_error_prefix(err, "allocator directory");
	snprintf(lock, sizeof(lock), "%s/.lock", d->path);
	d->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0)
		return ferry_error_set(err, errno, "open %s", lock);
	if (flock(d->lock_fd, LOCK_EX) < 0) {
		ipam_close(d);
		return ferry_error_set(err, errno, "lock %s", lock);
	}
	return 0;
}

static void owner_key(char *out, size_t size, const char *container_id, const char *ifname)
{
	snprintf(out, size, "%s/%s", container_id, ifname);
}

/* The owner line of dir/ip into owner ("" if the file is absent). */
static int read_owner(const struct ipam_dir *d, const char *ip, char *owner, size_t size)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s", d->path, ip);
	_cleanup_file_ FILE *f = fopen(path, "re");
	owner[0] = 0;
	if (!f)
		return errno == ENOENT ? 0 : -1;
	if (!fgets(owner, (int)size, f))
		owner[0] = 0;
	owner[strcspn(owner, "\n")] = 0;
	return 0;
}

static int write_owner(const struct ipam_dir *d, const char *ip, const char *key,
		       const char *pod, ferry_error_t *err)
{
	char path[PATH_MAX + 32], text[1024];
	snprintf(path, sizeof(path), "%s/%s", d->path, ip);
	int n = snprintf(text, sizeof(text), "%s\n%s\n", key, pod && *pod ? pod : "-");
	if (fs_replace_file(path, text, (size_t)n, err) < 0)
		return ferry_error_prefix(err, "record address %s", ip);
	return 0;
}

/* Finds the address owned by key; returns 1 if found. */
static int find_owned(const struct ipam_dir *d, const char *key, char ip[16])
{
	_cleanup_dir_ DIR *dir = opendir(d->path);
	struct dirent *e;
	char owner[600];
	uint32_t a;
	if (!dir)
		return 0;
	while ((e = readdir(dir))) {
		if (cni_parse_ipv4(e->d_name, &a) < 0)
			continue;
		if (read_owner(d, e->d_name, owner, sizeof(owner)) == 0 && !strcmp(owner, key)) {
			snprintf(ip, 16, "%s", e->d_name);
			return 1;
		}
	}
	return 0;
}

static uint32_t read_last(const struct ipam_dir *d)
{
	char path[PATH_MAX + 8], buf[32] = "";
	uint32_t a = 0;
	snprintf(path, sizeof(path), "%s/.last", d->path);
	_cleanup_file_ FILE *f = fopen(path, "re");
	if (f && fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = 0;
		if (cni_parse_ipv4(buf, &a) < 0)
			a = 0;
	}
	return a;
}

static int pick_fresh(const struct cni_config *cfg, const struct ipam_dir *d, char ip[16],
		      ferry_error_t *err)
{
	uint32_t size = 1u << (32 - cfg->prefix);
	uint32_t first = cfg->subnet + 2, last = cfg->subnet + size - 2; /* .1 and broadcast kept */
	uint32_t prev = read_last(d), n = last - first + 1;
	uint32_t start = (prev >= first && prev < last) ? prev + 1 : first;
	char cand[16], owner[600], path[PATH_MAX + 8];
	for (uint32_t i = 0; i < n; i++) {
		uint32_t a = first + (start - first + i) % n;
		cni_format_ipv4(a, cand);
		if (read_owner(d, cand, owner, sizeof(owner)) == 0 && !owner[0]) {
			snprintf(ip, 16, "%s", cand);
			snprintf(path, sizeof(path), "%s/.last", d->path);
			return fs_replace_file(path, cand, strlen(cand), err);
		}
	}
	return ferry_error_set(err, 0, "no free address left in %s's pod subnet", cfg->node);
}

int cniipam_assign(const struct cni_config *cfg, const char *container_id, const char *ifname,
		   const char *pod, char ip[16], ferry_error_t *err)
{
	struct ipam_dir d;
	char key[600], owner[600];
	owner_key(key, sizeof(key), container_id, ifname);
	if (ipam_open(cfg, &d, err) < 0)
		return -1;
	int rc = 0;
	if (find_owned(&d, key, ip)) {
		if (cfg->requested_ip[0] && strcmp(ip, cfg->requested_ip))
			rc = ferry_error_set(err, 0, "sandbox already has address %s, not the "
						     "requested %s", ip, cfg->requested_ip);
	} else if (cfg->requested_ip[0]) {
		if (read_owner(&d, cfg->requested_ip, owner, sizeof(owner)) < 0)
			rc = ferry_error_set(err, errno, "read allocation of %s", cfg->requested_ip);
		else if (owner[0] && strncmp(owner, HELD_PREFIX, strlen(HELD_PREFIX)))
			rc = ferry_error_set(err, 0, "requested address %s is in use on %s by %s",
					     cfg->requested_ip, cfg->node, owner);
		else
			snprintf(ip, 16, "%s", cfg->requested_ip);
		if (rc == 0)
			rc = write_owner(&d, ip, key, pod, err);
	} else {
		rc = pick_fresh(cfg, &d, ip, err);
		if (rc == 0)
			rc = write_owner(&d, ip, key, pod, err);
	}
	ipam_close(&d);
	return rc;
}

int cniipam_lookup(const struct cni_config *cfg, const char *container_id, const char *ifname,
		   char ip[16], ferry_error_t *err)
{
	struct ipam_dir d;
	char key[600];
	owner_key(key, sizeof(key), container_id, ifname);
	if (ipam_open(cfg, &d, err) < 0)
		return -1;
	int found = find_owned(&d, key, ip);
	ipam_close(&d);
	if (!found)
		return ferry_error_set(err, ENOENT, "no address recorded for %s", key);
	return 0;
}

int cniipam_release(const struct cni_config *cfg, const char *container_id, const char *ifname,
		    ferry_error_t *err)
{
	struct ipam_dir d;
	char key[600], ip[16], path[PATH_MAX + 32];
	owner_key(key, sizeof(key), container_id, ifname);
	if (ipam_open(cfg, &d, err) < 0)
		return -1;
	int rc = 0;
	while (find_owned(&d, key, ip)) {
		snprintf(path, sizeof(path), "%s/%s", d.path, ip);
		if (unlink(path) < 0 && errno != ENOENT) {
			rc = ferry_error_set(err, errno, "free %s", ip);
			break;
		}
	}
	ipam_close(&d);
	return rc;
}

int cniipam_hold(const struct cni_config *cfg, const char *ip, const char *what,
		 ferry_error_t *err)
{
	struct ipam_dir d;
	char key[600];
	uint32_t a;
	if (cni_parse_ipv4(ip, &a) < 0)
		return ferry_error_set(err, 0, "bad address %s", ip);
	snprintf(key, sizeof(key), HELD_PREFIX "%s", what);
	if (ipam_open(cfg, &d, err) < 0)
		return -1;
	int rc = write_owner(&d, ip, key, what, err);
	ipam_close(&d);
	return rc;
}

int cniipam_unhold(const struct cni_config *cfg, const char *ip, const char *what,
		   const char *owner_key, const char *pod, bool owner_alive, ferry_error_t *err)
{
	struct ipam_dir d;
	char held[600], owner[600], path[PATH_MAX + 32];
	uint32_t a;
	if (cni_parse_ipv4(ip, &a) < 0)
		return ferry_error_set(err, 0, "bad address %s", ip);
	snprintf(held, sizeof(held), HELD_PREFIX "%s", what);
	if (ipam_open(cfg, &d, err) < 0)
		return -1;
	int rc = 0;
	if (read_owner(&d, ip, owner, sizeof(owner)) == 0 && !strcmp(owner, held)) {
		snprintf(path, sizeof(path), "%s/%s", d.path, ip);
		if (owner_alive && owner_key[0])
			rc = write_owner(&d, ip, owner_key, pod, err);
		else if (unlink(path) < 0 && errno != ENOENT)
			rc = ferry_error_set(err, errno, "free %s", ip);
	}
	ipam_close(&d);
	return rc;
}

int cniipam_owner(const struct cni_config *cfg, const char *ip, char key[600], char pod[400],
		  ferry_error_t *err)
{
	struct ipam_dir d;
	char path[PATH_MAX + 32];
	uint32_t a;
	key[0] = pod[0] = 0;
	if (cni_parse_ipv4(ip, &a) < 0)
		return ferry_error_set(err, 0, "bad address %s", ip);
	if (ipam_open(cfg, &d, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", d.path, ip);
	FILE *f = fopen(path, "re");
	if (f) {
		if (fgets(key, 600, f) && fgets(pod, 400, f))
			pod[strcspn(pod, "\n")] = 0;
		key[strcspn(key, "\n")] = 0;
		fclose(f);
	}
	ipam_close(&d);
	return 0;
}
