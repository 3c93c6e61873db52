/*
 * route.h - IPv4 host routes over rtnetlink (libmnl).
 *
 * Moving a pod's /32 route is the commit point of a migration: the moment the
 * fabric starts delivering the pod's traffic to the target node.  It is done
 * with one netlink request (RTM_NEWROUTE, NLM_F_REPLACE) so it is atomic and
 * costs microseconds, not a process start.  Every call takes the namespace to
 * act in as an fd (-1: the caller's own).
 */
#ifndef FERRY_ROUTE_H
#define FERRY_ROUTE_H

#include <net/if.h>
#include "util/error.h"

/* dst/plen via gateway (gateway != NULL) or on device ifname (gateway == NULL). */
int route_replace_v4(int netns_fd, const char *dst, int plen, const char *gateway,
		     const char *ifname, ferry_error_t *err);
/* dst/plen on the interface with index oif (in the target namespace). */
int route_replace_dev_v4(int netns_fd, const char *dst, int plen, unsigned oif,
			 ferry_error_t *err);
/* The gateway the namespace would use for dst ("" if directly connected). */
int route_lookup_gateway_v4(int netns_fd, const char *dst, char gateway[16], ferry_error_t *err);
/* The interface this namespace sends traffic for dst through. */
int route_lookup_dev_v4(const char *dst, char dev[IF_NAMESIZE], ferry_error_t *err);

#endif
