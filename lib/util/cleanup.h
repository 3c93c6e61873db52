/*
 * cleanup.h - scope-bound release of fds, heap memory and json objects.
 *
 * `_cleanup_fd_ int fd = open(...)` closes fd when it leaves scope, unless the
 * code hands ownership on with take_fd()/take_ptr().  This keeps the many
 * early-return error paths of the migration engine leak-free without goto
 * ladders.
 */
#ifndef FERRY_CLEANUP_H
#define FERRY_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>
#include <json-c/json.h>

static inline void cleanup_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
static inline void cleanup_free(void *p)
{
	free(*(void **)p);
}
static inline void cleanup_file(FILE **f)
{
	if (*f)
		fclose(*f);
}
static inline void cleanup_dir(DIR **d)
{
	if (*d)
		closedir(*d);
}
static inline void cleanup_json(json_object **j)
{
	if (*j)
		json_object_put(*j);
}

#define _cleanup_fd_   __attribute__((cleanup(cleanup_fd)))
#define _cleanup_free_ __attribute__((cleanup(cleanup_free)))
#define _cleanup_file_ __attribute__((cleanup(cleanup_file)))
#define _cleanup_dir_  __attribute__((cleanup(cleanup_dir)))
#define _cleanup_json_ __attribute__((cleanup(cleanup_json)))

static inline int take_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

static inline void *take_ptr_impl(void **p)
{
	void *v = *p;
	*p = NULL;
	return v;
}
#define take_ptr(p) take_ptr_impl((void **)&(p))

#endif
