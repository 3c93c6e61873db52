/*
 * agentcall.c - see agentcall.h.
 */
#include "controller/agentcall.h"
#include "k8s/lease.h"
#include "tls/pki.h"
#include "tls/session.h"
#include "util/cleanup.h"
#include "wire/conn.h"
#include "wire/frame.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int remaining_ms(const struct agentcall *a)
{
	int64_t left = a->deadline_ms - k8s_monotonic_ms();
	return left < 1 ? 0 : (left > 3600000 ? 3600000 : (int)left);
}

/* TCP connect bounded by the deadline (and 10 s). */
static int connect_agent(const struct agentcall *a, ferry_error_t *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
	char port[16];
	snprintf(port, sizeof(port), "%d", a->port);
	int rc = getaddrinfo(a->address, port, &hints, &res);
	if (rc)
		return ferry_error_set(err, 0, "agent address %s: %s", a->address, gai_strerror(rc));
	_cleanup_fd_ int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		freeaddrinfo(res);
		return ferry_error_set(err, errno, "socket");
	}
	rc = connect(fd, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (rc < 0 && errno != EINPROGRESS)
		return ferry_error_set(err, errno, "cannot reach the agent at %s:%d", a->address,
				       a->port);
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int wait = remaining_ms(a) < 10000 ? remaining_ms(a) : 10000;
	if (poll(&p, 1, wait) <= 0)
		return ferry_error_set(err, 0, "cannot reach the agent at %s:%d: timed out",
				       a->address, a->port);
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	if (soerr)
		return ferry_error_set(err, soerr, "cannot reach the agent at %s:%d", a->address,
				       a->port);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		return ferry_error_set(err, errno, "fcntl");
	return take_fd(&fd);
}

/* TCP, then the TLS handshake (bounded like every read); c owns the fd after. */
static int open_conn(const struct agentcall *a, struct wire_conn *c, ferry_error_t *err)
{
	_cleanup_fd_ int fd = connect_agent(a, err);
	int left = remaining_ms(a);
	if (fd < 0)
		return -1;
	if (wire_set_timeouts(fd, left > 0 ? left : 1, err) < 0 ||
	    tls_connect(a->tls, fd, a->node, PKI_ROLE_AGENT, c, err) < 0)
		return ferry_error_prefix(err, "agent of %s at %s:%d", a->node, a->address, a->port);
	take_fd(&fd);
	return 0;
}

/* One frame, waiting at most until the deadline. */
static int recv_frame(const struct agentcall *a, struct wire_conn *c, struct wire_frame *f,
		      const char *waiting, ferry_error_t *err)
{
	int left = remaining_ms(a);
	if (left <= 0 || wire_set_timeouts(c->fd, left, err) < 0 || wire_recv(c, f, err) < 0) {
		if (left <= 0 || strstr(err->message, "timed out"))
			return ferry_error_set(err, 0, "timed out waiting for the agent at %s (%s)",
					       a->address, waiting);
		return ferry_error_prefix(err, "agent at %s", a->address);
	}
	return 0;
}

static int hello(const struct agentcall *a, struct wire_conn *c, struct wire_frame *f,
		 ferry_error_t *err)
{
	_cleanup_json_ json_object *h = json_object_new_object();
	json_object_object_add(h, "version", json_object_new_int(WIRE_VERSION));
	/* the agent checks that HELLO names our certificate */
	json_object_object_add(h, "node", json_object_new_string(AGENTCALL_CERT_NAME));
	if (wire_send_json(c, WIRE_HELLO, h, err) < 0)
		return ferry_error_prefix(err, "agent at %s", a->address);
	if (recv_frame(a, c, f, "HELLO_OK", err) < 0)
		return -1;
	if (f->type == WIRE_ERROR)
		return wire_frame_error(f, err);
	if (f->type != WIRE_HELLO_OK)
		return ferry_error_set(err, 0, "agent at %s answered HELLO with %s", a->address,
				       wire_type_name(f->type));
	return 0;
}

json_object *agentcall_run(const struct agentcall *a, json_object *request, ferry_error_t *err)
{
	struct wire_frame f = { 0 };
	json_object *result = NULL;
	char last_phase[32] = "the first progress report";
	struct wire_conn c;
	if (open_conn(a, &c, err) < 0)
		return NULL;
	if (hello(a, &c, &f, err) < 0 || wire_send_json(&c, WIRE_REQUEST, request, err) < 0)
		goto out;
	for (;;) {
		if (recv_frame(a, &c, &f, last_phase, err) < 0)
			break;
		if (f.type == WIRE_PROGRESS) {
			_cleanup_json_ json_object *p = wire_frame_json(&f, NULL);
			json_object *ph;
			if (p && json_object_object_get_ex(p, "phase", &ph))
				snprintf(last_phase, sizeof(last_phase), "phase %s",
					 json_object_get_string(ph));
			if (p && a->on_progress)
				a->on_progress(p, a->data);
			continue;
		}
		if (f.type == WIRE_RESULT) {
			result = wire_frame_json(&f, err);
		} else if (f.type == WIRE_ERROR) {
			if (a->agent_error)
				*a->agent_error = true;
			wire_frame_error(&f, err);
		} else {
			ferry_error_set(err, 0, "protocol error: the agent sent %s",
					wire_type_name(f.type));
		}
		break;
	}
out:
	wire_frame_release(&f);
	wire_conn_close(&c);
	return result;
}
