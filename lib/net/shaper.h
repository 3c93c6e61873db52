/*
 * shaper.h - caps the rate of the traffic one local TCP port sends.
 *
 * Post-copy memory leaves the source through CRIU's page server, a process
 * ferry does not write to, so `--max-bandwidth` cannot pace it the way it
 * paces ferry's own image stream.  The kernel can: an HTB class with the cap
 * as its rate and ceiling, and a u32 filter that sends the page server's
 * packets (its source port) into it.  Every other packet stays unclassified
 * and unshaped (HTB "default 0").  One class and filter per port, so
 * concurrent migrations from one node each get their own cap.
 */
#ifndef FERRY_NET_SHAPER_H
#define FERRY_NET_SHAPER_H

#include <stdint.h>
#include "util/error.h"

/* In the current network namespace: traffic from local TCP port `port` out
 * of `dev` is capped at bytes_per_s. */
int shaper_cap_sport(const char *dev, int port, uint64_t bytes_per_s, ferry_error_t *err);
/* Removes that cap (the root qdisc stays: it shapes nothing else). */
void shaper_uncap_sport(const char *dev, int port);

#endif
