/*
 * preflight.c - see preflight.h.
 */
#include "sandbox/preflight.h"
#include "sandbox/config.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/proc.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PIPE_MAX_WANTED 16777216

static char *first_line(char *s)
{
	s[strcspn(s, "\n")] = '\0';
	return s;
}

static int tool_version(const char *tool, const char *what, char *out, size_t len,
			ferry_error_t *err)
{
	_cleanup_free_ char *text = NULL;
	const char *argv[] = { tool, "--version", NULL };
	if (access(tool, X_OK) < 0)
		return ferry_error_set(err, 0, "%s not found at %s (run `make deps`, or set %s)", what,
				       tool, !strcmp(what, "runc") ? "FERRY_RUNC" : "FERRY_CRIU");
	if (proc_run(argv, &text, err) < 0)
		return ferry_error_prefix(err, "%s does not run", what);
	snprintf(out, len, "%s", first_line(text));
	return 0;
}

static int criu_feature(const char *feature, ferry_error_t *err)
{
	const char *argv[] = { config_get()->criu, "check", "--feature", feature, NULL };
	if (proc_run(argv, NULL, err) < 0)
		return ferry_error_prefix(err, "CRIU feature %s is missing", feature);
	return 0;
}

static void raise_pipe_max(void)
{
	_cleanup_free_ char *cur = fs_read_file("/proc/sys/fs/pipe-max-size", NULL, NULL);
	if (cur && atol(cur) < PIPE_MAX_WANTED) {
		char v[32];
		int n = snprintf(v, sizeof(v), "%d\n", PIPE_MAX_WANTED);
		FILE *f = fopen("/proc/sys/fs/pipe-max-size", "w");
		if (f) {
			fwrite(v, 1, (size_t)n, f);
			fclose(f);
		}
	}
}

/*
 * CRIU probes the kernel (about 40 ms here) on every run unless it finds its
 * cache, /run/criu.kdat, which it only writes when /run is a tmpfs.  Where
 * /run is not (as on this project's machines), make the cache once in a
 * private mount namespace with a tmpfs /run and put it in place: each dump,
 * restore and lazy-pages daemon then starts that much sooner, inside the
 * freeze.  Best effort; it is remade at every `sandbox up`.
 */
static void prime_kdat_cache(void)
{
	struct statfs st;
	if (statfs("/run", &st) == 0 && st.f_type == TMPFS_MAGIC)
		return; /* CRIU keeps its own cache there */
	char script[512];
	snprintf(script, sizeof(script),
		 "mount -t tmpfs -o size=4m tmpfs /run && \"%s\" check >/dev/null 2>&1 && "
		 "cat /run/criu.kdat", config_get()->criu);
	const char *argv[] = { "unshare", "--mount", "--propagation", "private", "sh", "-c", script,
			       NULL };
	int fd = open("/run/.criu.kdat.ferry", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	struct proc_opts opts = { .stdin_fd = -1, .stdout_fd = fd, .stderr_fd = -1 };
	struct proc p;
	ferry_error_t err = { 0 };
	int rc = proc_spawn(argv, &opts, &p, &err);
	if (rc == 0)
		rc = proc_finish(&p, NULL, &err);
	struct stat size;
	if (rc == 0 && fstat(fd, &size) == 0 && size.st_size > 0)
		rename("/run/.criu.kdat.ferry", "/run/criu.kdat");
	else
		unlink("/run/.criu.kdat.ferry");
	close(fd);
}

int preflight_check(json_object **report, ferry_error_t *err)
{
	static const char *const required[] = { "tcp_half_closed", "network_lock_nftables", NULL };
	char runc_v[128], criu_v[128];
	if (geteuid() != 0)
		return ferry_error_set(err, 0, "ferry must run as root");
	if (tool_version(config_get()->runc, "runc", runc_v, sizeof(runc_v), err) < 0 ||
	    tool_version(config_get()->criu, "CRIU", criu_v, sizeof(criu_v), err) < 0)
		return -1;
	const char *check[] = { config_get()->criu, "check", NULL };
	if (proc_run(check, NULL, err) < 0)
		return ferry_error_prefix(err, "`criu check` fails on this kernel");
	json_object *features = json_object_new_object();
	for (const char *const *f = required; *f; f++) {
		if (criu_feature(*f, err) < 0) {
			json_object_put(features);
			return -1;
		}
		json_object_object_add(features, *f, json_object_new_boolean(1));
	}
	raise_pipe_max();
	prime_kdat_cache();
	if (report) {
		*report = json_object_new_object();
		json_object_object_add(*report, "runc", json_object_new_string(runc_v));
		json_object_object_add(*report, "criu", json_object_new_string(criu_v));
		json_object_object_add(*report, "features", features);
	} else {
		json_object_put(features);
	}
	return 0;
}
