/*
 * netns.h - named network namespaces (/run/netns/NAME) and running the
 * iproute2/nftables tools inside them.
 *
 * Link and address plumbing happens outside any freeze, so it uses `ip -batch`
 * (one process per namespace and step) rather than hand-built netlink; the
 * one netlink operation on the critical path, moving a pod route, lives in
 * route.c.
 */
#ifndef FERRY_NETNS_H
#define FERRY_NETNS_H

#include <stdbool.h>
#include "util/error.h"

int netns_create(const char *name, ferry_error_t *err);
/* Deletes the namespace; a missing one is not an error. */
void netns_delete(const char *name);
bool netns_exists(const char *name);
/* Opens /run/netns/NAME (O_RDONLY|O_CLOEXEC). */
int netns_open(const char *name, ferry_error_t *err);
/* Moves the calling process into the namespace. */
int netns_enter(const char *name, ferry_error_t *err);
/* Runs `ip [-n NS] -batch -` with the given newline-separated commands. */
int netns_ip_batch(const char *ns, const char *commands, ferry_error_t *err);
/* Runs `ip -batch -` inside the namespace open as netns_fd (-1: the caller's
 * own), for namespaces known by a path rather than a name (a CNI_NETNS). */
int netns_ip_batch_fd(int netns_fd, const char *commands, ferry_error_t *err);
/* Runs `nft -f -` inside the namespace with the given ruleset text. */
int netns_nft(const char *ns, const char *ruleset, ferry_error_t *err);
/* The same inside the namespace open as netns_fd (a pod's /proc/PID/ns/net). */
int netns_nft_fd(int netns_fd, const char *ruleset, ferry_error_t *err);
/* Writes a sysctl (e.g. "net/ipv4/ip_forward") inside the namespace. */
int netns_sysctl(const char *ns, const char *key, const char *value, ferry_error_t *err);

#endif
