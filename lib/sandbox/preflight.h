/*
 * preflight.h - checks that the tools ferry drives are present and able:
 * runc runs, CRIU runs and passes `criu check`, the kernel features a
 * migration needs are there, and fs.pipe-max-size is large enough for CRIU's
 * page pipes (raised if not: root here lacks CAP_SYS_RESOURCE).
 */
#ifndef FERRY_PREFLIGHT_H
#define FERRY_PREFLIGHT_H

#include <json-c/json.h>
#include "util/error.h"

/* Returns 0 when everything needed is there; fills report (may be NULL) with
 * {runc, criu, features: {...}} */
int preflight_check(json_object **report, ferry_error_t *err);

#endif
