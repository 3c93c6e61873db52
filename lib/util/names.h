/*
 * names.h - validation of user-supplied names (containers, nodes, images).
 *
 * Names become path components, runc container ids and interface-name seeds,
 * so they are restricted before anything else sees them.
 */
#ifndef FERRY_NAMES_H
#define FERRY_NAMES_H

#include <stdbool.h>

#define NAME_MAX_LEN 40

/* 1..40 chars of [A-Za-z0-9_.-], not starting with '.' or '-'. */
bool name_is_valid(const char *name);

#endif
