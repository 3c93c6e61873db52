/*
 * run.c - `ferry run --node N --name C (--image I | --rootfs DIR) [-e K=V]... [-- ARGS...]`.
 */
#include "cmd/cmd.h"
#include "agent/client.h"
#include "container/store.h"
#include "sandbox/config.h"
#include "sandbox/topology.h"
#include "util/fs.h"
#include "util/names.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define USAGE "ferry run --node NODE --name NAME (--image IMAGE | --rootfs DIR) [-e K=V]... [-- ARGS...]"

/* --rootfs DIR becomes a local image "rootfs-<name>" whose rootfs links to DIR. */
static int image_from_rootfs(const char *name, const char *dir, char image[48], ferry_error_t *err)
{
	char path[PATH_MAX], abs[PATH_MAX];
	if (!realpath(dir, abs))
		return ferry_error_set(err, 0, "--rootfs %s: no such directory", dir);
	snprintf(image, 48, "rootfs-%.30s", name);
	snprintf(path, sizeof(path), "%s/%s", config_get()->images_dir, image);
	if (fs_mkdir_p(path, 0755, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s/rootfs", config_get()->images_dir, image);
	unlink(path);
	if (symlink(abs, path) < 0)
		return ferry_error_set(err, 0, "link %s", path);
	static const char cfg[] = "{\"args\":[\"sh\"],\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:"
				  "/usr/sbin:/usr/bin:/sbin:/bin\"],\"cwd\":\"/\","
				  "\"description\":\"from --rootfs\"}";
	snprintf(path, sizeof(path), "%s/%s/image.json", config_get()->images_dir, image);
	return fs_write_file_atomic(path, cfg, strlen(cfg), err);
}

static json_object *strings_from(int argc, char **argv)
{
	json_object *a = json_object_new_array();
	for (int i = 0; i < argc; i++)
		json_object_array_add(a, json_object_new_string(argv[i]));
	return a;
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' }, { "name", required_argument, NULL, 'c' },
		{ "image", required_argument, NULL, 'i' }, { "rootfs", required_argument, NULL, 'r' },
		{ "env", required_argument, NULL, 'e' }, { 0 } };
	const char *node = NULL, *name = NULL, *image = NULL, *rootfs = NULL;
	char image_buf[48], where[48];
	ferry_error_t err = { 0 };
	json_object *env = json_object_new_array();
	int c;
	while ((c = getopt_long(argc, argv, "n:c:i:r:e:", opts, NULL)) != -1) {
		switch (c) {
		case 'n': node = optarg; break;
		case 'c': name = optarg; break;
		case 'i': image = optarg; break;
		case 'r': rootfs = optarg; break;
		case 'e': json_object_array_add(env, json_object_new_string(optarg)); break;
		default: json_object_put(env); return cmd_usage(USAGE);
		}
	}
	if (!node || !name || !image == !rootfs) {
		json_object_put(env);
		return cmd_usage(USAGE);
	}
	struct topology topo;
	if (topology_load(&topo, &err) < 0)
		goto fail;
	if (!topology_find(&topo, node) && ferry_error_set(&err, 0, "unknown node '%s'", node))
		goto fail;
	if (!name_is_valid(name) && ferry_error_set(&err, 0, "invalid container name '%s'", name))
		goto fail;
	if (cmd_find_container(name, where, &err) == 0 &&
	    ferry_error_set(&err, 0, "a container named %s already exists on %s", name, where))
		goto fail;
	ferry_error_clear(&err);
	if (rootfs && image_from_rootfs(name, rootfs, image_buf, &err) < 0)
		goto fail;
	json_object *req = cmd_request("run", name);
	json_object_object_add(req, "image", json_object_new_string(rootfs ? image_buf : image));
	json_object_object_add(req, "env", env);
	json_object_object_add(req, "args", strings_from(argc - optind, argv + optind));
	json_object *r = client_call(node, req, NULL, NULL, &err);
	json_object_put(req);
	if (!r)
		return cmd_fail(&err);
	printf("%s running on %s at %s\n", record_str(r, "name"), record_str(r, "node"),
	       record_str(r, "ip"));
	json_object_put(r);
	return 0;
fail:
	json_object_put(env);
	return cmd_fail(&err);
}
