/*
 * image.h - the local image store: FERRY_IMAGES/<name>/{rootfs/,image.json}.
 *
 * No registry is reachable from ferry's machines, so images are built locally
 * (scripts/build-images.sh) into plain directories used read-only as the lower
 * layer of each container's overlay.  image.json holds the default command,
 * environment and working directory.
 */
#ifndef FERRY_IMAGE_H
#define FERRY_IMAGE_H

#include <limits.h>
#include <json-c/json.h>
#include "util/error.h"

struct image {
	char name[48];
	char rootfs[PATH_MAX];
	json_object *config; /* image.json, owned */
};

int image_load(const char *name, struct image *img, ferry_error_t *err);
void image_release(struct image *img);
/* A JSON array of {name, description, size_bytes?}. */
json_object *image_list(ferry_error_t *err);

#endif
