/*
 * peer.h - agent-to-agent connections: connect with a deadline, exchange
 * HELLO (protocol version and node names) and set I/O timeouts, so that a
 * dead or unreachable peer is an error within seconds rather than a hang.
 */
#ifndef FERRY_PEER_H
#define FERRY_PEER_H

#include "sandbox/topology.h"
#include "util/error.h"
#include "wire/frame.h"

#define PEER_CONNECT_TIMEOUT_MS 3000
#define PEER_IO_TIMEOUT_MS 30000

/* Connects to node's migration port and completes the HELLO exchange. */
int peer_connect(const struct node_info *self, const struct node_info *to,
		 struct wire_frame *frame, ferry_error_t *err);
/* Server side: reads HELLO, answers HELLO_OK. Fills peer_node. */
int peer_accept_hello(int sock, const struct node_info *self, char peer_node[48],
		      struct wire_frame *frame, ferry_error_t *err);

#endif
