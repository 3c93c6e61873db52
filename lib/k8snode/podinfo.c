/*
 * podinfo.c - see podinfo.h.
 */
#include "k8snode/podinfo.h"
#include "k8snode/podrestore.h"
#include "k8snode/runcshim.h"
#include "util/cleanup.h"
#include "util/proc.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

static json_object *runc_list(const char *runc_root, ferry_error_t *err)
{
	char real[PATH_MAX];
	_cleanup_free_ char *out = NULL;
	if (runcshim_real_runc(real, err) < 0)
		return NULL;
	const char *argv[] = { real, "--root", runc_root, "list", "--format", "json", NULL };
	if (proc_run(argv, &out, err) < 0)
		return ferry_error_prefix(err, "runc list in %s", runc_root), NULL;
	json_object *list = json_tokener_parse(out && *out ? out : "[]");
	if (!list)
		return json_object_new_array(); /* runc prints "null" for none */
	return list;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v) : "";
}

int podinfo_find(const char *runc_root, const char *namespace, const char *pod,
		 struct pod_info *p, ferry_error_t *err)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->namespace, sizeof(p->namespace), "%s", namespace);
	snprintf(p->pod, sizeof(p->pod), "%s", pod);
	_cleanup_json_ json_object *list = runc_list(runc_root, err);
	if (!list)
		return -1;
	if (!json_object_is_type(list, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *e = json_object_array_get_idx(list, i), *v;
		struct cri_container c;
		ferry_error_t ignored = { 0 };
		const char *bundle = jstr(e, "bundle");
		if (podrestore_read(bundle, &c, &ignored) < 0 || strcmp(c.namespace, namespace) ||
		    strcmp(c.pod, pod))
			continue;
		const char *status = jstr(e, "status");
		pid_t pid = json_object_object_get_ex(e, "pid", &v) ? json_object_get_int(v) : 0;
		if (!strcmp(c.type, "sandbox")) {
			if (strcmp(status, "running"))
				continue; /* an old sandbox of the same pod */
			snprintf(p->sandbox_id, sizeof(p->sandbox_id), "%s", jstr(e, "id"));
			p->sandbox_pid = pid;
			continue;
		}
		if (strcmp(status, "running") && strcmp(status, "paused"))
			continue; /* exited init containers and old attempts */
		if (p->n == POD_MAX_CONTAINERS)
			return ferry_error_set(err, 0, "pod %s/%s has more than %d containers",
					       namespace, pod, POD_MAX_CONTAINERS);
		struct pod_container *pc = &p->c[p->n++];
		snprintf(pc->name, sizeof(pc->name), "%s", c.name);
		snprintf(pc->id, sizeof(pc->id), "%s", jstr(e, "id"));
		snprintf(pc->bundle, sizeof(pc->bundle), "%s", bundle);
		snprintf(pc->status, sizeof(pc->status), "%s", status);
		pc->pid = pid;
	}
	if (!p->sandbox_id[0])
		return ferry_error_set(err, 0, "pod %s/%s has no running sandbox on this node",
				       namespace, pod);
	return 0;
}

int podinfo_ip(const char *data_dir, const char *node, const char *namespace, const char *pod,
	       char ip[16], ferry_error_t *err)
{
	char dir[PATH_MAX], want[400], path[PATH_MAX + 300], line[600];
	snprintf(dir, sizeof(dir), "%s/%s", data_dir, node);
	snprintf(want, sizeof(want), "%s/%s", namespace, pod);
	_cleanup_dir_ DIR *d = opendir(dir);
	struct dirent *e;
	if (!d)
		return ferry_error_set(err, 0, "no ferry-cni allocations in %s", dir);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		_cleanup_file_ FILE *f = fopen(path, "re");
		if (!f || !fgets(line, sizeof(line), f) || !fgets(line, sizeof(line), f))
			continue;
		line[strcspn(line, "\n")] = 0;
		if (!strcmp(line, want) && strlen(e->d_name) < 16) {
			snprintf(ip, 16, "%s", e->d_name);
			return 0;
		}
	}
	return ferry_error_set(err, 0, "ferry-cni gave pod %s no address on %s", want, node);
}
