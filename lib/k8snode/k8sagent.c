/*
 * k8sagent.c - see k8sagent.h.
 */
#include "k8snode/k8sagent.h"
#include "metrics/metrics.h"
#include "migrate/peer.h"
#include "tls/pki.h"
#include "tls/session.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "wire/frame.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

void k8sagent_socket_path(const char *node, char out[108])
{
	snprintf(out, 108, "%s/%s.sock", K8SAGENT_SOCKET_DIR, node);
}

static int listen_unix(const char *path, ferry_error_t *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	_cleanup_fd_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 ||
	    listen(fd, 16) < 0)
		return ferry_error_set(err, errno, "listen on %s", path);
	return take_fd(&fd);
}

static int listen_tcp(const char *address, int port, ferry_error_t *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1;
	if (inet_pton(AF_INET, address, &sa.sin_addr) != 1)
		return ferry_error_set(err, EINVAL, "bad address %s", address);
	_cleanup_fd_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ferry_error_set(err, errno, "socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
		return ferry_error_set(err, errno, "listen on %s:%d", address, port);
	return take_fd(&fd);
}

static void reply(struct wire_conn *c, int rc, json_object *result, const ferry_error_t *err)
{
	ferry_error_t ignored = { 0 };
	if (rc < 0 && !result)
		wire_send_error(c, err->message);
	else
		wire_send_json(c, WIRE_RESULT, result, &ignored);
}

/* The source's view of one migration (the target's is the same migration). */
static void record_metrics(const struct migration_report *r, bool committed)
{
	const char *phase = r->n_phases > 0 && r->phases[r->n_phases - 1].name ?
				    r->phases[r->n_phases - 1].name : "prepare";
	double downtime_ms = r->running_at > r->freeze_at ? r->running_at - r->freeze_at : 0;
	double duration_ms = r->t_end > r->t0 ? r->t_end - r->t0 : 0;
	metrics_migration_ended(committed ? "commit" : phase, committed, duration_ms / 1000.0,
				downtime_ms / 1000.0, r->bytes_sent);
}

static void serve_request(const struct k8s_agent *a, struct wire_conn *c, json_object *req)
{
	ferry_error_t err = { 0 };
	json_object *op;
	const char *name = json_object_object_get_ex(req, "op", &op) ? json_object_get_string(op) : "";
	if (!strcmp(name, "ping")) {
		_cleanup_json_ json_object *r = json_object_new_object();
		json_object_object_add(r, "node", json_object_new_string(a->node));
		json_object_object_add(r, "mode", json_object_new_string("k8s"));
		reply(c, 0, r, &err);
		return;
	}
	if (strcmp(name, "migrate-pod")) {
		ferry_error_set(&err, 0, "unknown op \"%s\" (migrate-pod, ping)", name);
		reply(c, -1, NULL, &err);
		return;
	}
	struct migration_report report;
	metrics_migration_started();
	int rc = podmigrate_source(a, req, c, &report, &err);
	log_info("migrate-pod %s -> %s: %s", report.name, report.to, rc == 0 ? "committed" : err.message);
	record_metrics(&report, rc == 0);
	if (rc < 0) {
		reply(c, -1, NULL, &err);
		return;
	}
	_cleanup_json_ json_object *r = report_to_json(&report);
	reply(c, 0, r, &err);
}

/* After HELLO (TCP) or at once (unix socket): the first frame decides.
 * tcp: an agent may start a migration to this node (PREPARE), the
 * controller a request; unix (root only): requests. */
static void serve_frame(const struct k8s_agent *a, struct wire_conn *c, bool tcp,
			const char *peer, struct wire_frame *f, ferry_error_t *err)
{
	if (wire_recv(c, f, err) < 0)
		return;
	_cleanup_json_ json_object *msg = wire_frame_json(f, err);
	if (!msg)
		return;
	bool agent = tcp && !strcmp(c->peer_role, PKI_ROLE_AGENT);
	bool controller = tcp && !strcmp(c->peer_role, PKI_ROLE_CONTROLLER);
	if (f->type == WIRE_REQUEST && (!tcp || controller)) {
		serve_request(a, c, msg);
	} else if (f->type == WIRE_PREPARE && agent) {
		if (podmigrate_target(a, c, msg, err) < 0)
			ferry_error_prefix(err, "incoming pod migration from %s", peer);
	} else {
		ferry_error_set(err, 0, "permission denied: %s %s may not send %s",
				tcp ? c->peer_role : "local", peer, wire_type_name(f->type));
		wire_send_error(c, err->message);
	}
}

static bool peer_is_root(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == 0;
}

/* Serves one connection; owns fd. */
static void serve(const struct k8s_agent *a, int fd, bool tcp)
{
	ferry_error_t err = { 0 };
	struct wire_frame f = { 0 };
	struct wire_conn c;
	char peer[48] = "local";
	struct node_info self = { 0 };
	snprintf(self.name, sizeof(self.name), "%s", a->node);
	if (tcp) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (wire_set_timeouts(fd, PEER_IO_TIMEOUT_MS, &err) < 0 ||
		    tls_accept(a->tls, fd, &c, &err) < 0) {
			log_warn("refused a connection: %s", err.message);
			close(fd);
			return;
		}
		if (peer_accept_hello(&c, &self, peer, &f, &err) == 0)
			serve_frame(a, &c, tcp, peer, &f, &err);
		else
			wire_send_error(&c, err.message);
	} else {
		wire_conn_init_plain(&c, fd);
		if (peer_is_root(fd))
			serve_frame(a, &c, tcp, peer, &f, &err);
		else
			wire_send_error(&c, "permission denied: root only");
	}
	if (ferry_error_is_set(&err))
		log_warn("connection from %s: %s", peer, err.message);
	wire_frame_release(&f);
	wire_conn_close(&c);
}

static void dispatch(const struct k8s_agent *a, int listener, int other, bool tcp)
{
	int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		close(listener);
		close(other);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		serve(a, fd, tcp);
		_exit(0);
	}
	if (pid < 0)
		log_error("fork: %s", strerror(errno));
	close(fd);
}

int k8sagent_run(struct k8s_agent *a, ferry_error_t *err)
{
	char sock_path[108];
	log_init("agent-k8s", LOG_INFO);
	if (fs_mkdir_p(K8SAGENT_SOCKET_DIR, 0700, err) < 0)
		return -1;
	a->host_netns_fd = open(a->host_netns, O_RDONLY | O_CLOEXEC);
	if (a->host_netns_fd < 0)
		return ferry_error_set(err, errno, "open %s (the network namespace of the fabric "
					       "routes; see --host-netns)", a->host_netns);
	a->tls = tls_context_new(a->pki_dir, a->node, err);
	if (!a->tls)
		return ferry_error_prefix(err, "TLS identity of %s (ferry pki issue --name %s "
					       "--role agent --ip %s)", a->node, a->node, a->address);
	k8sagent_socket_path(a->node, sock_path);
	_cleanup_fd_ int ctl = listen_unix(sock_path, err);
	if (ctl < 0)
		return -1;
	_cleanup_fd_ int tcp = listen_tcp(a->address, a->port, err);
	if (tcp < 0)
		return -1;
	if (a->metrics_addr[0] &&
	    (metrics_share_across_fork(err) < 0 || metrics_serve(a->metrics_addr, err) < 0))
		return -1;
	struct sigaction sa = { .sa_handler = on_stop };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_info("k8s agent for %s on %s and %s:%d (runc root %s)", a->node, sock_path, a->address,
		 a->port, a->runc_root);
	struct pollfd p[2] = { { .fd = ctl, .events = POLLIN }, { .fd = tcp, .events = POLLIN } };
	while (!stop_requested) {
		int r = poll(p, 2, 500);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (r <= 0)
			continue;
		if (p[0].revents & POLLIN)
			dispatch(a, ctl, tcp, false);
		if (p[1].revents & POLLIN)
			dispatch(a, tcp, ctl, true);
	}
	unlink(sock_path);
	log_info("k8s agent for %s stopped", a->node);
	return 0;
}
