/*
 * fuzz_oci_runtime.c - libFuzzer target for what ferry-runc reads from
 * containerd: its command line (lib/k8snode/runcshim.c runcshim_parse) and
 * the OCI bundle's config.json with the CRI and ferry.dev annotations
 * (lib/k8snode/podrestore.c podrestore_read), which decide whether a
 * container is passed to runc, refused, or restored from a checkpoint.
 *
 * Input: config.json's bytes, a NUL, then the argv strings, NUL-separated
 * (argv[0] is supplied).  Checks, for every input:
 *  - the parsed call points into the argv it was given: command is
 *    argv[cmd_index], and id, root, bundle, log and pid_file are each an
 *    argv string or the value part of one "--opt=value";
 *  - every field read from config.json is NUL-terminated within its buffer,
 *    restore is set only by ferry.dev/restore == "true";
 *  - the staging directory derived from the pod's namespace and name (where
 *    ferry-runc looks for the checkpoint) is <state>/incoming/<ns>_<pod>
 *    with no '/' or ".." component smuggled in; the sandbox id never names
 *    a path outside <state>/migrated (staging_is_migrated rejects '/').
 */
#include "fuzz.h"
#include "k8snode/podrestore.h"
#include "k8snode/runcshim.h"
#include "k8snode/staging.h"

#include <fcntl.h>

#define MAX_ARGS 64

static char bundle_dir[PATH_MAX];
static char state_dir[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = fuzz_tempdir("oci");
	snprintf(bundle_dir, sizeof(bundle_dir), "%s/bundle", tmp);
	snprintf(state_dir, sizeof(state_dir), "%s/state", tmp);
	FUZZ_CHECK(mkdir(bundle_dir, 0700) == 0 && mkdir(state_dir, 0700) == 0);
	setenv("FERRY_K8S_STATE", state_dir, 1);
	return 0;
}

/* p is one of argv[1..argc-1] or points just after the '=' of one. */
static void check_points_into(const char *p, int argc, char **argv)
{
	if (!p)
		return;
	for (int i = 1; i < argc; i++) {
		if (p == argv[i])
			return;
		const char *eq = strchr(argv[i], '=');
		if (eq && p == eq + 1)
			return;
	}
	FUZZ_CHECK(!"a parsed field points outside argv");
}

static void fuzz_argv(const char *data, size_t size)
{
	char *copy = malloc(size + 1), *argv[MAX_ARGS + 1];
	int argc = 0;
	FUZZ_CHECK(copy);
	memcpy(copy, data, size);
	copy[size] = 0;
	argv[argc++] = "ferry-runc";
	for (char *s = copy; s < copy + size + 1 && argc < MAX_ARGS; s += strlen(s) + 1)
		argv[argc++] = s;
	argv[argc] = NULL;
	struct runc_call c;
	ferry_error_t err = { 0 };
	if (runcshim_parse(argc, argv, &c, &err) == 0) {
		FUZZ_CHECK(c.command && c.cmd_index > 0 && c.cmd_index < argc);
		FUZZ_CHECK(c.command == argv[c.cmd_index]);
		check_points_into(c.id, argc, argv);
		check_points_into(c.root, argc, argv);
		check_points_into(c.bundle, argc, argv);
		check_points_into(c.log, argc, argv);
		check_points_into(c.pid_file, argc, argv);
	} else {
		FUZZ_CHECK(err.message[0] && !c.command);
	}
	free(copy);
}

static void check_staging_dir(const struct cri_container *c)
{
	char dir[PATH_MAX], prefix[PATH_MAX];
	ferry_error_t err = { 0 };
	if (staging_pod_dir(c->namespace, c->pod, dir, &err) < 0) {
		FUZZ_CHECK(err.message[0]);
		return;
	}
	snprintf(prefix, sizeof(prefix), "%s/incoming/", state_dir);
	FUZZ_CHECK(!strncmp(dir, prefix, strlen(prefix)));
	const char *leaf = dir + strlen(prefix);
	FUZZ_CHECK(!strchr(leaf, '/') && leaf[0] != '.' && !strstr(leaf, "/.."));
}

static void fuzz_config(const char *data, size_t size)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/config.json", bundle_dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
	close(fd);
	struct cri_container c;
	ferry_error_t err = { 0 };
	if (podrestore_read(bundle_dir, &c, &err) < 0) {
		FUZZ_CHECK(err.message[0]);
		return;
	}
	FUZZ_CHECK(strnlen(c.type, sizeof(c.type)) < sizeof(c.type));
	FUZZ_CHECK(strnlen(c.sandbox_id, sizeof(c.sandbox_id)) < sizeof(c.sandbox_id));
	FUZZ_CHECK(strnlen(c.namespace, sizeof(c.namespace)) < sizeof(c.namespace));
	FUZZ_CHECK(strnlen(c.pod, sizeof(c.pod)) < sizeof(c.pod));
	FUZZ_CHECK(strnlen(c.name, sizeof(c.name)) < sizeof(c.name));
	FUZZ_CHECK(!c.restore || strstr(data, "true"));
	/* nothing is marked migrated in this state dir: whatever the id says */
	FUZZ_CHECK(!staging_is_migrated(c.sandbox_id));
	check_staging_dir(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nul = memchr(text, 0, size);
	size_t cfg_len = nul ? (size_t)(nul - text) : size;
	char *cfg = malloc(cfg_len + 1);
	FUZZ_CHECK(cfg);
	memcpy(cfg, text, cfg_len);
	cfg[cfg_len] = 0;
	fuzz_config(cfg, cfg_len);
	free(cfg);
	if (nul)
		fuzz_argv(nul + 1, size - cfg_len - 1);
	return 0;
}
