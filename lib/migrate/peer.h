/*
 * peer.h - agent-to-agent connections: connect with a deadline, mutual TLS,
 * exchange HELLO (protocol version and node names) and set I/O timeouts, so that a
 * dead or unreachable peer is an error within seconds rather than a hang.
 */
#ifndef FERRY_PEER_H
#define FERRY_PEER_H

#include "sandbox/node.h"
#include "sandbox/topology.h"
#include "util/error.h"
#include "wire/frame.h"

#define PEER_CONNECT_TIMEOUT_MS 3000
#define PEER_IO_TIMEOUT_MS 30000

/* Connects to node `to`'s migration port: mutual TLS (its certificate must
 * name it, with the agent role), then the HELLO exchange.  Fills c. */
int peer_connect(const struct node *node, const struct node_info *to, struct wire_conn *c,
		 struct wire_frame *frame, ferry_error_t *err);
/* Hybrid: connects to CRIU's page server on node peer_name at "a.b.c.d:port"
 * (it speaks mutual TLS with that node's certificate, see criu.conf). */
int peer_connect_page_server(const struct node *node, const char *peer_name,
			     const char *address_port, struct wire_conn *c, ferry_error_t *err);
/* Server side, after the TLS handshake: reads HELLO, which must name the
 * peer's certificate, answers HELLO_OK.  Fills peer_node. */
int peer_accept_hello(struct wire_conn *c, const struct node_info *self, char peer_node[48],
		      struct wire_frame *frame, ferry_error_t *err);

#endif
