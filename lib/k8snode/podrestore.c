/*
 * podrestore.c - see podrestore.h.
 */
#include "k8snode/podrestore.h"
#include "k8snode/staging.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT0_PATH "/.ferry-exit0"

static void write_marker(const char *path, const char *text);
#define CRIU_WRAPPER "/opt/ferry/bin/criu"

int podrestore_wait_ms(void)
{
	const char *s = getenv("FERRY_RESTORE_WAIT_SECONDS");
	long v = s ? strtol(s, NULL, 10) : 0;
	return (v > 0 && v < 3600 ? (int)v : 120) * 1000;
}

static void copy_annotation(json_object *ann, const char *key, char *out, size_t size)
{
	json_object *v;
	out[0] = 0;
	if (json_object_object_get_ex(ann, key, &v) && json_object_is_type(v, json_type_string))
		snprintf(out, size, "%s", json_object_get_string(v));
}

static json_object *read_config(const char *bundle, ferry_error_t *err)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	json_object *cfg = json_object_from_file(path);
	if (!cfg || !json_object_is_type(cfg, json_type_object)) {
		json_object_put(cfg);
		return ferry_error_set(err, 0, "%s: not a JSON object", path), NULL;
	}
	return cfg;
}

int podrestore_read(const char *bundle, struct cri_container *c, ferry_error_t *err)
{
	char restore[16];
	memset(c, 0, sizeof(*c));
	_cleanup_json_ json_object *cfg = read_config(bundle, err);
	json_object *ann;
	if (!cfg)
		return -1;
	if (!json_object_object_get_ex(cfg, "annotations", &ann) ||
	    !json_object_is_type(ann, json_type_object))
		return 0;
	copy_annotation(ann, ANN_CONTAINER_TYPE, c->type, sizeof(c->type));
	copy_annotation(ann, ANN_SANDBOX_ID, c->sandbox_id, sizeof(c->sandbox_id));
	copy_annotation(ann, ANN_SANDBOX_NAMESPACE, c->namespace, sizeof(c->namespace));
	copy_annotation(ann, ANN_SANDBOX_NAME, c->pod, sizeof(c->pod));
	copy_annotation(ann, ANN_CONTAINER_NAME, c->name, sizeof(c->name));
	copy_annotation(ann, ANN_FERRY_RESTORE, restore, sizeof(restore));
	c->restore = !strcmp(restore, "true");
	return 0;
}

static void restored_marker(const char *id, char out[PATH_MAX])
{
	snprintf(out, PATH_MAX, "%s/restored/%s", staging_state_dir(), id);
}

bool podrestore_was_restored(const char *id)
{
	char path[PATH_MAX];
	if (!id || !*id || strchr(id, '/'))
		return false;
	restored_marker(id, path);
	return fs_exists(path);
}

void podrestore_forget(const char *id)
{
	char path[PATH_MAX];
	if (id && *id && !strchr(id, '/')) {
		restored_marker(id, path);
		unlink(path);
	}
}

/* ---- init containers: exit 0 ------------------------------------------------------ */

/* A static x86-64 ELF of one page that runs exit_group(0): no libc, no
 * interpreter, so it runs in any image. */
static int write_exit0(const char *path, ferry_error_t *err)
{
	static const unsigned char code[] = {
		0x31, 0xff,                   /* xor edi, edi       */
		0xb8, 0xe7, 0x00, 0x00, 0x00, /* mov eax, 231       */
		0x0f, 0x05,                   /* syscall (exit_group) */
	};
	const Elf64_Addr base = 0x400000;
	unsigned char buf[sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + sizeof(code)];
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(*eh));
	memset(buf, 0, sizeof(buf));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = base + sizeof(*eh) + sizeof(*ph);
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	ph->p_type = PT_LOAD;
	ph->p_flags = PF_R | PF_X;
	ph->p_vaddr = ph->p_paddr = base;
	ph->p_filesz = ph->p_memsz = sizeof(buf);
	ph->p_align = 0x1000;
	memcpy(buf + sizeof(*eh) + sizeof(*ph), code, sizeof(code));
	if (fs_replace_file(path, buf, sizeof(buf), err) < 0)
		return -1;
	if (chmod(path, 0755) < 0)
		return ferry_error_set(err, errno, "chmod %s", path);
	return 0;
}

int podrestore_neutralize(const char *bundle, const struct cri_container *c, ferry_error_t *err)
{
	char dir[PATH_MAX], exe[PATH_MAX + 16], cfg_path[PATH_MAX];
	_cleanup_json_ json_object *cfg = read_config(bundle, err);
	json_object *process, *mounts;
	if (!cfg)
		return -1;
	snprintf(dir, sizeof(dir), "%s/exit0", staging_state_dir());
	snprintf(exe, sizeof(exe), "%s/exit0", dir);
	if (fs_mkdir_p(dir, 0755, err) < 0 || write_exit0(exe, err) < 0)
		return ferry_error_prefix(err, "exit-0 program");
	if (!json_object_object_get_ex(cfg, "process", &process) ||
	    !json_object_is_type(process, json_type_object))
		return ferry_error_set(err, 0, "%s/config.json has no process", bundle);
	json_object *args = json_object_new_array();
	json_object_array_add(args, json_object_new_string(EXIT0_PATH));
	json_object_object_add(process, "args", args);
	if (!json_object_object_get_ex(cfg, "mounts", &mounts) ||
	    !json_object_is_type(mounts, json_type_array)) {
		mounts = json_object_new_array();
		json_object_object_add(cfg, "mounts", mounts);
	}
	json_object *m = json_object_new_object(), *opts = json_object_new_array();
	json_object_object_add(m, "destination", json_object_new_string(EXIT0_PATH));
	json_object_object_add(m, "type", json_object_new_string("bind"));
	json_object_object_add(m, "source", json_object_new_string(exe));
	json_object_array_add(opts, json_object_new_string("bind"));
	json_object_array_add(opts, json_object_new_string("ro"));
	json_object_object_add(m, "options", opts);
	json_object_array_add(mounts, m);
	const char *text = json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN);
	snprintf(cfg_path, sizeof(cfg_path), "%s/config.json", bundle);
	if (fs_replace_file(cfg_path, text, strlen(text), err) < 0)
		return -1;
	log_info("%s/%s: init container %s of a restored pod exits 0", c->namespace, c->pod,
		 c->name);
	return 0;
}

/* ---- app containers: restore --------------------------------------------------------- */

/* The overlay upperdir mounted at <bundle>/rootfs (from /proc/self/mountinfo). */
static int find_upperdir(const char *bundle, char out[PATH_MAX], ferry_error_t *err)
{
	char rootfs[PATH_MAX + 8], real[PATH_MAX];
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", bundle);
	if (!realpath(rootfs, real))
		return ferry_error_set(err, errno, "%s", rootfs);
	_cleanup_file_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return ferry_error_set(err, errno, "/proc/self/mountinfo");
	int found = 0;
	while (getline(&line, &cap, f) > 0) {
		char mnt[PATH_MAX], *sep = strstr(line, " - overlay ");
		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 || strcmp(mnt, real))
			continue;
		char *up = strstr(sep, "upperdir=");
		if (!up)
			continue;
		up += 9;
		size_t n = strcspn(up, ", \n");
		if (n >= PATH_MAX)
			continue;
		memcpy(out, up, n);
		out[n] = 0;
		found = 1; /* the last one wins: the top of the stack */
	}
	return found ? 0 : ferry_error_set(err, 0, "no overlay mounted at %s", real);
}

static int run_wait(const char *const argv[], ferry_error_t *err)
{
	pid_t pid = fork();
	if (pid < 0)
		return ferry_error_set(err, errno, "fork");
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return ferry_error_set(err, errno, "wait for %s", argv[0]);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static int apply_rootfs(const char *cdir, const char *bundle, ferry_error_t *err)
{
	char tar[PATH_MAX + 16], upper[PATH_MAX];
	snprintf(tar, sizeof(tar), "%s/rootfs.tar", cdir);
	if (!fs_exists(tar))
		return 0;
	if (find_upperdir(bundle, upper, err) < 0)
		return -1;
	const char *argv[] = { "/bin/tar", "-C", upper, "--xattrs", "--xattrs-include=*",
			       "--numeric-owner", "-xpf", tar, NULL };
	int rc = run_wait(argv, err);
	if (rc != 0)
		return rc < 0 ? -1 : ferry_error_set(err, 0, "tar into %s exited %d", upper, rc);
	return 0;
}

/* argv: real runc, the call's global options, [--criu W], restore ..., id */
static int restore_argv(const struct runc_call *call, const char *real, const char *cdir,
			const char **argv, size_t max, char *img, char *work)
{
	size_t n = 0;
	argv[n++] = real;
	for (int i = 1; i < call->cmd_index && n < max - 24; i++)
		argv[n++] = call->argv[i];
	bool has_criu = false;
	for (int i = 1; i < call->cmd_index; i++)
		has_criu |= !strncmp(call->argv[i], "--criu", 6);
	if (!has_criu && access(CRIU_WRAPPER, X_OK) == 0) {
		argv[n++] = "--criu";
		argv[n++] = CRIU_WRAPPER;
	}
	snprintf(img, PATH_MAX, "%s/images", cdir);
	snprintf(work, PATH_MAX, "%s/work", cdir);
	argv[n++] = "restore";
	argv[n++] = "--detach";
	argv[n++] = "--tcp-established";
	argv[n++] = "--file-locks";
	argv[n++] = "--image-path";
	argv[n++] = img;
	argv[n++] = "--work-path";
	argv[n++] = work;
	argv[n++] = "--bundle";
	argv[n++] = call->bundle;
	if (call->pid_file) {
		argv[n++] = "--pid-file";
		argv[n++] = call->pid_file;
	}
	for (int i = call->cmd_index + 1; i < call->argc; i++) {
		if (!strcmp(call->argv[i], "--console-socket") && i + 1 < call->argc) {
			argv[n++] = "--console-socket";
			argv[n++] = call->argv[++i];
		} else if (!strcmp(call->argv[i], "--no-pivot") ||
			   !strcmp(call->argv[i], "--no-new-keyring")) {
			argv[n++] = call->argv[i];
		}
	}
	argv[n++] = call->id;
	argv[n] = NULL;
	return 0;
}

/* Unpacks the staged emptyDir volumes into the ones this container mounts,
 * once per volume (the pod's containers are created one after another). */
static int apply_empty_dirs(const char *pod_dir, const char *bundle, ferry_error_t *err)
{
	static const char mark[] = "/volumes/kubernetes.io~empty-dir/";
	char cfg_path[PATH_MAX + 16];
	snprintf(cfg_path, sizeof(cfg_path), "%s/config.json", bundle);
	_cleanup_json_ json_object *cfg = json_object_from_file(cfg_path);
	json_object *mounts, *v;
	if (!cfg || !json_object_object_get_ex(cfg, "mounts", &mounts) ||
	    !json_object_is_type(mounts, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(mounts); i++) {
		json_object *m = json_object_array_get_idx(mounts, i);
		if (!json_object_object_get_ex(m, "source", &v) || !json_object_is_type(v, json_type_string))
			continue;
		const char *src = json_object_get_string(v), *at = strstr(src, mark);
		if (!at || !at[strlen(mark)] || strchr(at + strlen(mark), '/'))
			continue;
		const char *name = at + strlen(mark);
		char tar[PATH_MAX + 300], done[PATH_MAX + 310];
		snprintf(tar, sizeof(tar), "%s/_emptydir/%s.tar", pod_dir, name);
		snprintf(done, sizeof(done), "%s.done", tar);
		if (!fs_exists(tar) || fs_exists(done))
			continue;
		const char *argv[] = { "/bin/tar", "-C", src, "--xattrs", "--xattrs-include=*",
				       "--numeric-owner", "-xpf", tar, NULL };
		int rc = run_wait(argv, err);
		if (rc != 0)
			return rc < 0 ? -1 : ferry_error_set(err, 0, "unpack emptyDir %s: tar exited %d",
							     name, rc);
		write_marker(done, "done\n");
	}
	return 0;
}

static void write_marker(const char *path, const char *text)
{
	ferry_error_t ignored = { 0 };
	fs_replace_file(path, text, strlen(text), &ignored);
}

int podrestore_create(const struct runc_call *call, const struct cri_container *c,
		      ferry_error_t *err)
{
	char pod_dir[PATH_MAX], cdir[PATH_MAX + 80], ready[PATH_MAX + 96], real[PATH_MAX];
	char img[PATH_MAX], work[PATH_MAX], marker[PATH_MAX + 96], text[256];
	const char *argv[160];
	if (!call->bundle || !call->id)
		return ferry_error_set(err, 0, "create without --bundle or container id");
	if (staging_pod_dir(c->namespace, c->pod, pod_dir, err) < 0)
		return -1;
	snprintf(cdir, sizeof(cdir), "%s/%s", pod_dir, c->name);
	snprintf(ready, sizeof(ready), "%s/ready", cdir);
	snprintf(marker, sizeof(marker), "%s/aborted", pod_dir);
	int w = staging_wait_either(ready, marker, podrestore_wait_ms(), err);
	if (w < 0)
		return ferry_error_prefix(err, "checkpoint of %s/%s container %s not staged",
					  c->namespace, c->pod, c->name);
	if (w == 1)
		return ferry_error_set(err, 0, "the migration to %s/%s was aborted: nothing to "
					       "restore", c->namespace, c->pod);
	if (runcshim_real_runc(real, err) < 0 || apply_rootfs(cdir, call->bundle, err) < 0 ||
	    apply_empty_dirs(pod_dir, call->bundle, err) < 0)
		return -1;
	restore_argv(call, real, cdir, argv, sizeof(argv) / sizeof(argv[0]), img, work);
	if (fs_mkdir_p(work, 0700, err) < 0)
		return -1;
	int rc = run_wait(argv, err);
	if (rc < 0)
		return -1;
	if (rc != 0) {
		snprintf(marker, sizeof(marker), "%s/failed", cdir);
		snprintf(text, sizeof(text), "runc restore exited %d (logs in %s)\n", rc, work);
		write_marker(marker, text);
		return rc;
	}
	char dir[PATH_MAX], path[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/restored", staging_state_dir());
	if (fs_mkdir_p(dir, 0700, err) == 0) {
		restored_marker(call->id, path);
		write_marker(path, c->name);
	}
	snprintf(marker, sizeof(marker), "%s/restored", cdir);
	snprintf(text, sizeof(text), "%s\n", call->id);
	write_marker(marker, text);
	log_info("%s/%s: container %s restored as %s", c->namespace, c->pod, c->name, call->id);
	return 0;
}
