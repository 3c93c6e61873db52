/*
 * images.c - `ferry images [--json]`: the local image store.
 */
#include "cmd/cmd.h"
#include "container/image.h"
#include "container/store.h"

#include <stdio.h>
#include <string.h>

int cmd_images(int argc, char **argv)
{
	ferry_error_t err = { 0 };
	json_object *list = image_list(&err);
	if (argc > 1 && !strcmp(argv[1], "--json")) {
		cmd_print_json(list);
	} else {
		printf("%-16s %s\n", "IMAGE", "DESCRIPTION");
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			json_object *im = json_object_array_get_idx(list, i);
			printf("%-16s %s\n", record_str(im, "name"), record_str(im, "description"));
		}
	}
	json_object_put(list);
	return 0;
}
