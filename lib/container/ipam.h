/*
 * ipam.h - pod IP allocation for the sandbox (10.88.0.0/16).
 *
 * One file per allocated address under FERRY_STATE/ipam, named after the
 * address and holding the owning container's name; allocation is serialised
 * by an flock on FERRY_STATE/ipam/.lock, which is enough on one machine.  A
 * migration keeps the address (the same container name owns it throughout).
 * On a real cluster this is the CNI plugin's IPAM's job.
 */
#ifndef FERRY_IPAM_H
#define FERRY_IPAM_H

#include "util/error.h"

int ipam_allocate(const char *owner, char ip[16], ferry_error_t *err);
void ipam_release(const char *ip);
/* The address owned by `owner`, if any (returns 0 and fills ip). */
int ipam_lookup(const char *owner, char ip[16]);

#endif
