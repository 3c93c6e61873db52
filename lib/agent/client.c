/*
 * client.c - see client.h.
 */
#include "agent/client.h"
#include "sandbox/config.h"
#include "util/cleanup.h"
#include "wire/frame.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

static int connect_socket(const char *node, const char *path, ferry_error_t *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return ferry_error_set(err, ENAMETOOLONG, "socket path %s", path);
	strcpy(sa.sun_path, path);
	_cleanup_fd_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ferry_error_set(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return ferry_error_set(err, errno, "the agent of node %s is not reachable (%s)", node,
				       path);
	return take_fd(&fd);
}

json_object *client_call(const char *node, json_object *request, client_progress_fn on_progress,
			 void *data, ferry_error_t *err)
{
	char path[PATH_MAX];
	config_agent_socket(path, sizeof(path), node);
	return client_call_socket(node, path, request, on_progress, data, err);
}

json_object *client_call_socket(const char *node, const char *path, json_object *request,
				client_progress_fn on_progress, void *data, ferry_error_t *err)
{
	struct wire_frame f = { 0 };
	_cleanup_fd_ int fd = connect_socket(node, path, err);
	json_object *result = NULL;
	struct wire_conn c;
	wire_conn_init_plain(&c, fd);
	if (fd < 0 || wire_send_json(&c, WIRE_REQUEST, request, err) < 0)
		return NULL;
	for (;;) {
		if (wire_recv(&c, &f, err) < 0)
			break;
		if (f.type == WIRE_PROGRESS) {
			json_object *p = wire_frame_json(&f, NULL);
			if (p && on_progress)
				on_progress(p, data);
			json_object_put(p);
			continue;
		}
		if (f.type == WIRE_RESULT)
			result = wire_frame_json(&f, err);
		else if (f.type == WIRE_ERROR)
			wire_frame_error(&f, err);
		else
			ferry_error_set(err, 0, "protocol error: unexpected %s", wire_type_name(f.type));
		break;
	}
	wire_frame_release(&f);
	return result;
}
