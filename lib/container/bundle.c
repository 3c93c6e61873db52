/*
 * bundle.c - see bundle.h: building config.json with json-c.
 */
#include "container/bundle.h"
#include "util/cleanup.h"
#include "util/fs.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static json_object *strings(const char *const *items)
{
	json_object *a = json_object_new_array();
	for (; *items; items++)
		json_object_array_add(a, json_object_new_string(*items));
	return a;
}

static json_object *mount(const char *dest, const char *type, const char *source,
			  const char *const *options)
{
	json_object *m = json_object_new_object();
	json_object_object_add(m, "destination", json_object_new_string(dest));
	json_object_object_add(m, "type", json_object_new_string(type));
	json_object_object_add(m, "source", json_object_new_string(source));
	json_object_object_add(m, "options", strings(options));
	return m;
}

static json_object *default_mounts(void)
{
	json_object *a = json_object_new_array();
	json_object_array_add(a, mount("/proc", "proc", "proc", (const char *[]){ NULL }));
	json_object_array_add(a, mount("/dev", "tmpfs", "tmpfs",
				       (const char *[]){ "nosuid", "strictatime", "mode=755",
							 "size=65536k", NULL }));
	json_object_array_add(a, mount("/dev/pts", "devpts", "devpts",
				       (const char *[]){ "nosuid", "noexec", "newinstance",
							 "ptmxmode=0666", "mode=0620", NULL }));
	json_object_array_add(a, mount("/dev/shm", "tmpfs", "shm",
				       (const char *[]){ "nosuid", "noexec", "nodev", "mode=1777",
							 "size=65536k", NULL }));
	json_object_array_add(a, mount("/dev/mqueue", "mqueue", "mqueue",
				       (const char *[]){ "nosuid", "noexec", "nodev", NULL }));
	json_object_array_add(a, mount("/sys", "sysfs", "sysfs",
				       (const char *[]){ "nosuid", "noexec", "nodev", "ro", NULL }));
	return a;
}

static json_object *capabilities(void)
{
	static const char *const caps[] = {
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
		"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
		"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE", NULL
	};
	json_object *c = json_object_new_object();
	json_object_object_add(c, "bounding", strings(caps));
	json_object_object_add(c, "effective", strings(caps));
	json_object_object_add(c, "permitted", strings(caps));
	return c;
}

static json_object *process(json_object *record)
{
	json_object *p = json_object_new_object(), *v;
	json_object *user = json_object_new_object();
	json_object_object_add(user, "uid", json_object_new_int(0));
	json_object_object_add(user, "gid", json_object_new_int(0));
	json_object_object_add(p, "terminal", json_object_new_boolean(0));
	json_object_object_add(p, "user", user);
	json_object_object_get_ex(record, "args", &v);
	json_object_object_add(p, "args", json_object_get(v));
	json_object_object_get_ex(record, "env", &v);
	json_object_object_add(p, "env", json_object_get(v));
	json_object_object_add(p, "cwd", json_object_new_string(
		json_object_object_get_ex(record, "cwd", &v) ? json_object_get_string(v) : "/"));
	json_object_object_add(p, "capabilities", capabilities());
	/* no rlimits: the agent's own limits are inherited (root here may not
	 * raise them: no CAP_SYS_RESOURCE) */
	json_object_object_add(p, "noNewPrivileges", json_object_new_boolean(1));
	return p;
}

static json_object *namespace(const char *type, const char *path)
{
	json_object *ns = json_object_new_object();
	json_object_object_add(ns, "type", json_object_new_string(type));
	if (path)
		json_object_object_add(ns, "path", json_object_new_string(path));
	return ns;
}

static json_object *linux_section(const struct bundle_params *p)
{
	static const char *const masked[] = { "/proc/kcore", "/proc/keys", "/proc/timer_list",
					      "/sys/firmware", NULL };
	static const char *const readonly[] = { "/proc/bus", "/proc/fs", "/proc/irq",
						"/proc/sys", "/proc/sysrq-trigger", NULL };
	json_object *l = json_object_new_object();
	json_object *ns = json_object_new_array();
	json_object_array_add(ns, namespace("pid", NULL));
	json_object_array_add(ns, namespace("ipc", NULL));
	json_object_array_add(ns, namespace("uts", NULL));
	json_object_array_add(ns, namespace("mount", NULL));
	json_object_array_add(ns, namespace("network", p->netns_path));
	json_object_object_add(l, "namespaces", ns);
	json_object_object_add(l, "cgroupsPath", json_object_new_string(p->cgroup_path));
	json_object_object_add(l, "maskedPaths", strings(masked));
	json_object_object_add(l, "readonlyPaths", strings(readonly));
	return l;
}

int bundle_write(const struct bundle_params *p, ferry_error_t *err)
{
	char path[PATH_MAX];
	json_object *v;
	_cleanup_json_ json_object *cfg = json_object_new_object();
	json_object *root = json_object_new_object();
	json_object_object_add(root, "path", json_object_new_string("rootfs"));
	json_object_object_add(root, "readonly", json_object_new_boolean(0));
	json_object_object_add(cfg, "ociVersion", json_object_new_string("1.0.2"));
	json_object_object_add(cfg, "process", process(p->record));
	json_object_object_add(cfg, "root", root);
	json_object_object_get_ex(p->record, "name", &v);
	json_object_object_add(cfg, "hostname", json_object_new_string(json_object_get_string(v)));
	json_object_object_add(cfg, "mounts", default_mounts());
	json_object_object_add(cfg, "linux", linux_section(p));
	if (p->criu_config) {
		json_object *ann = json_object_new_object();
		json_object_object_add(ann, "org.criu.config", json_object_new_string(p->criu_config));
		json_object_object_add(cfg, "annotations", ann);
	}
	snprintf(path, sizeof(path), "%s/config.json", p->dir);
	const char *text = json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PRETTY);
	return fs_write_file_atomic(path, text, strlen(text), err);
}
