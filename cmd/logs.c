/*
 * logs.c - `ferry logs NAME`: a container's stdout and stderr so far (the log
 * follows the container across migrations).
 */
#include "cmd/cmd.h"
#include "sandbox/config.h"
#include "util/fs.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

int cmd_logs(int argc, char **argv)
{
	char node[48], dir[PATH_MAX], path[PATH_MAX + 8];
	ferry_error_t err = { 0 };
	size_t len;
	if (argc != 2)
		return cmd_usage("ferry logs NAME");
	if (cmd_find_container(argv[1], node, &err) < 0)
		return cmd_fail(&err);
	snprintf(path, sizeof(path), "%s/log", config_container_dir(dir, sizeof(dir), node, argv[1]));
	char *text = fs_read_file(path, &len, &err);
	if (!text)
		return cmd_fail(&err);
	fwrite(text, 1, len, stdout);
	free(text);
	return 0;
}
