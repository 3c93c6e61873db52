/*
 * preflight.c - see preflight.h.
 */
#include "sandbox/preflight.h"
#include "sandbox/config.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/proc.h"

#include <stdio.h>
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
