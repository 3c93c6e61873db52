/*
 * image.c - see image.h.
 */
#include "container/image.h"
#include "sandbox/config.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/names.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

int image_load(const char *name, struct image *img, ferry_error_t *err)
{
	char path[PATH_MAX];
	memset(img, 0, sizeof(*img));
	if (!name_is_valid(name))
		return ferry_error_set(err, 0, "invalid image name '%s'", name ? name : "");
	snprintf(img->name, sizeof(img->name), "%s", name);
	snprintf(img->rootfs, sizeof(img->rootfs), "%s/%s/rootfs", config_get()->images_dir, name);
	snprintf(path, sizeof(path), "%s/%s/image.json", config_get()->images_dir, name);
	if (!fs_exists(path) || !fs_exists(img->rootfs))
		return ferry_error_set(err, 0, "unknown image '%s' (see `ferry images`)", name);
	_cleanup_free_ char *text = fs_read_file(path, NULL, err);
	if (!text)
		return -1;
	img->config = json_tokener_parse(text);
	if (!img->config || !json_object_is_type(img->config, json_type_object)) {
		image_release(img);
		return ferry_error_set(err, 0, "%s is malformed", path);
	}
	return 0;
}

void image_release(struct image *img)
{
	json_object_put(img->config);
	img->config = NULL;
}

json_object *image_list(ferry_error_t *err)
{
	_cleanup_dir_ DIR *d = opendir(config_get()->images_dir);
	json_object *list = json_object_new_array();
	if (!d)
		return list; /* no images built yet */
	struct dirent *de;
	while ((de = readdir(d))) {
		struct image img;
		if (de->d_name[0] == '.' || image_load(de->d_name, &img, NULL) < 0)
			continue;
		json_object *o = json_object_new_object();
		json_object *desc = NULL;
		json_object_object_get_ex(img.config, "description", &desc);
		json_object_object_add(o, "name", json_object_new_string(img.name));
		json_object_object_add(o, "description",
				       json_object_new_string(desc ? json_object_get_string(desc) : ""));
		json_object_array_add(list, o);
		image_release(&img);
	}
	(void)err;
	return list;
}
