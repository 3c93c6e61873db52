/*
 * peer.c - see peer.h.
 */
#include "migrate/peer.h"
#include "tls/pki.h"
#include "tls/session.h"
#include "util/cleanup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int connect_with_deadline(int fd, const struct sockaddr_in *sa, int timeout_ms,
				 ferry_error_t *err)
{
	int flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 && errno != EINPROGRESS)
		return ferry_error_set(err, errno, "connect");
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int n = poll(&p, 1, timeout_ms);
	if (n == 0)
		return ferry_error_set(err, ETIMEDOUT, "connect");
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	if (n < 0 || soerr)
		return ferry_error_set(err, n < 0 ? errno : soerr, "connect");
	fcntl(fd, F_SETFL, flags);
	return 0;
}

static json_object *hello(const struct node_info *self)
{
	json_object *h = json_object_new_object();
	json_object_object_add(h, "version", json_object_new_int(WIRE_VERSION));
	json_object_object_add(h, "node", json_object_new_string(self->name));
	return h;
}

/* TCP with a deadline and I/O timeouts, then mutual TLS: the server's
 * certificate must name `name` with the agent role.  Fills c. */
static int dial(const struct node *node, const char *name, const char *address, int port,
		struct wire_conn *c, ferry_error_t *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (port <= 0 || port > 65535 || inet_pton(AF_INET, address, &sa.sin_addr) != 1)
		return ferry_error_set(err, 0, "node %s has a bad address '%s:%d'", name, address,
				       port);
	_cleanup_fd_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0)
		return ferry_error_set(err, errno, "socket");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect_with_deadline(fd, &sa, PEER_CONNECT_TIMEOUT_MS, err) < 0 ||
	    wire_set_timeouts(fd, PEER_IO_TIMEOUT_MS, err) < 0)
		return ferry_error_prefix(err, "node %s (%s:%d) is unreachable", name, address, port);
	if (tls_connect(node->tls, fd, name, PKI_ROLE_AGENT, c, err) < 0)
		return ferry_error_prefix(err, "node %s (%s:%d)", name, address, port);
	take_fd(&fd); /* c owns it now */
	return 0;
}

int peer_connect_page_server(const struct node *node, const char *peer_name,
			     const char *address_port, struct wire_conn *c, ferry_error_t *err)
{
	char address[64];
	snprintf(address, sizeof(address), "%s", address_port);
	char *colon = strrchr(address, ':');
	if (!colon)
		return ferry_error_set(err, 0, "bad page server address '%s'", address_port);
	*colon = '\0';
	if (dial(node, peer_name, address, atoi(colon + 1), c, err) < 0)
		return ferry_error_prefix(err, "CRIU's page server on the source");
	return 0;
}

int peer_connect(const struct node *node, const struct node_info *to, struct wire_conn *c,
		 struct wire_frame *frame, ferry_error_t *err)
{
	if (dial(node, to->name, to->address, to->migration_port, c, err) < 0)
		return -1;
	_cleanup_json_ json_object *h = hello(&node->self);
	if (wire_send_json(c, WIRE_HELLO, h, err) < 0 ||
	    wire_expect(c, frame, WIRE_HELLO_OK, err) < 0) {
		wire_conn_close(c);
		return ferry_error_prefix(err, "handshake with node %s", to->name);
	}
	return 0;
}

int peer_accept_hello(struct wire_conn *c, const struct node_info *self, char peer_node[48],
		      struct wire_frame *frame, ferry_error_t *err)
{
	if (wire_expect(c, frame, WIRE_HELLO, err) < 0)
		return -1;
	_cleanup_json_ json_object *h = wire_frame_json(frame, err);
	json_object *v;
	if (!h)
		return -1;
	if (!json_object_object_get_ex(h, "version", &v) || json_object_get_int(v) != WIRE_VERSION)
		return ferry_error_set(err, 0, "peer speaks another protocol version");
	if (!json_object_object_get_ex(h, "node", &v))
		return ferry_error_set(err, 0, "malformed HELLO: no node");
	snprintf(peer_node, 48, "%s", json_object_get_string(v));
	/* a node speaks only for itself: its HELLO must name its certificate */
	if (strcmp(peer_node, c->peer_name))
		return ferry_error_set(err, 0, "peer with the certificate of '%s' says it is '%s'",
				       c->peer_name, peer_node);
	_cleanup_json_ json_object *ok = hello(self);
	return wire_send_json(c, WIRE_HELLO_OK, ok, err);
}
