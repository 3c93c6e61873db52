/*
 * staging.c - see staging.h.
 */
#include "k8snode/staging.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *staging_state_dir(void)
{
	const char *s = getenv("FERRY_K8S_STATE");
	return s && *s == '/' ? s : STAGING_STATE_DEFAULT;
}

/* DNS-1123 label/subdomain characters only: no '/', no "..", no '_' */
static bool k8s_name(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 253 || s[0] == '.')
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-' ||
		      *s == '.'))
			return false;
	return true;
}

int staging_pod_dir(const char *namespace, const char *pod, char out[PATH_MAX],
		    ferry_error_t *err)
{
	if (!namespace || !pod || !k8s_name(namespace) || !k8s_name(pod))
		return ferry_error_set(err, 0, "\"%s/%s\" is not a namespace/pod name",
				       namespace ? namespace : "", pod ? pod : "");
	snprintf(out, PATH_MAX, "%s/incoming/%s_%s", staging_state_dir(), namespace, pod);
	return 0;
}

int staging_lists_container(const char *pod_dir, const char *name, ferry_error_t *err)
{
	char path[PATH_MAX + 16], line[256];
	snprintf(path, sizeof(path), "%s/containers", pod_dir);
	_cleanup_file_ FILE *f = fopen(path, "re");
	if (!f)
		return ferry_error_set(err, errno, "%s", path);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strcmp(line, name))
			return 1;
	}
	return 0;
}

static void migrated_path(const char *sandbox_id, char out[PATH_MAX])
{
	snprintf(out, PATH_MAX, "%s/migrated/%s", staging_state_dir(), sandbox_id);
}

int staging_mark_migrated(const char *sandbox_id, ferry_error_t *err)
{
	char dir[PATH_MAX], path[PATH_MAX];
	if (!sandbox_id[0] || strchr(sandbox_id, '/') || sandbox_id[0] == '.')
		return ferry_error_set(err, 0, "bad sandbox id \"%s\"", sandbox_id);
	snprintf(dir, sizeof(dir), "%s/migrated", staging_state_dir());
	if (fs_mkdir_p(dir, 0700, err) < 0)
		return -1;
	migrated_path(sandbox_id, path);
	return fs_write_file_atomic(path, "migrated\n", 9, err);
}

bool staging_is_migrated(const char *sandbox_id)
{
	char path[PATH_MAX];
	if (!sandbox_id || !sandbox_id[0] || strchr(sandbox_id, '/'))
		return false;
	migrated_path(sandbox_id, path);
	return fs_exists(path);
}

int staging_wait_for(const char *path, int timeout_ms, ferry_error_t *err)
{
	return staging_wait_either(path, NULL, timeout_ms, err);
}

int staging_wait_either(const char *path, const char *stop, int timeout_ms, ferry_error_t *err)
{
	struct timespec step = { 0, 20 * 1000 * 1000 };
	double until = clock_now_ms() + timeout_ms;
	for (;;) {
		if (fs_exists(path))
			return 0;
		if (stop && fs_exists(stop))
			return 1;
		if (clock_now_ms() >= until)
			return ferry_error_set(err, ETIMEDOUT, "waited %d s for %s",
					       timeout_ms / 1000, path);
		nanosleep(&step, NULL);
	}
}
