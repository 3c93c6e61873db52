/*
 * hold.h - holding a pod's incoming packets while it moves, instead of
 * dropping them.
 *
 * Dropped packets cost clients more than the freeze: TCP retransmits with
 * exponential backoff (0.2 s, 0.6 s, 1.4 s, ...), so a client whose request
 * was dropped waits for its next retransmission after the pod is back.  At
 * the freeze the source agent points the host route of the pod IP at a TUN
 * device of its own and keeps every packet that arrives (in order, up to a
 * bound).  After the commit (route moved to the target) it writes them back
 * into the host's stack, which routes them to the target: clients see the
 * freeze, not a backoff schedule.  If the migration rolls back, the packets
 * go back to the source the same way.
 *
 * The TUN device lives in the host namespace (where the fabric routes are);
 * its packets come back in with the host's own source addresses, hence
 * accept_local on it.
 */
#ifndef FERRY_HOLD_H
#define FERRY_HOLD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include "util/error.h"

#define HOLD_MAX_BYTES (64u << 20)

struct held_packet;

struct hold {
	int tun_fd;
	unsigned ifindex;
	char ifname[16];
	int stop_pipe[2];
	pthread_t reader;
	bool reading;
	struct held_packet *head, *tail;
	size_t bytes, packets, dropped;
};

/* Creates the TUN device in the host namespace (before any freeze). */
int hold_open(struct hold *h, int host_netns_fd, const char *pod_ip, ferry_error_t *err);
/* Starts keeping packets, then routes the pod IP to the device. */
int hold_engage(struct hold *h, int host_netns_fd, const char *pod_ip, ferry_error_t *err);
/* Stops keeping and writes every kept packet back into the host's stack
 * (call after the route points where they should go). */
int hold_release(struct hold *h, ferry_error_t *err);
/* Releases (drops) anything still kept and removes the device. */
void hold_close(struct hold *h);

#endif
