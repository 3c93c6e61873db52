/*
 * server.c - see server.h.
 */
#include "agent/server.h"
#include "agent/recovery.h"
#include "agent/requests.h"
#include "migrate/peer.h"
#include "migrate/target.h"
#include "net/netns.h"
#include "sandbox/config.h"
#include "sandbox/node.h"
#include "tls/pki.h"
#include "tls/session.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
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

static int listen_unix(const char *path, ferry_error_t *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return ferry_error_set(err, ENAMETOOLONG, "socket path %s", path);
	strcpy(sa.sun_path, path);
	_cleanup_fd_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 ||
	    listen(fd, 64) < 0)
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
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0)
		return ferry_error_set(err, errno, "listen on %s:%d", address, port);
	return take_fd(&fd);
}

/* What an authenticated peer may start: an agent a migration to this node,
 * the controller a control request. */
static void dispatch_peer(const struct node *n, struct wire_conn *c, const char *peer,
			  struct wire_frame *f)
{
	ferry_error_t err = { 0 };
	bool agent = !strcmp(c->peer_role, PKI_ROLE_AGENT);
	if (f->type == WIRE_PREPARE && agent) {
		if (migrate_target(n, c, peer, f, &err) < 0)
			log_warn("incoming migration failed: %s", err.message);
	} else if (f->type == WIRE_REQUEST && !agent) {
		requests_answer_frame(n, c, f);
	} else {
		log_warn("refused %s from %s %s", wire_type_name(f->type), c->peer_role, peer);
		wire_send_error(c, "permission denied: this peer may not send that request");
	}
}

/* One TCP connection: mutual TLS before anything is read, then HELLO, then
 * the peer's first frame decides what it is.  Owns fd. */
static void serve_peer(const struct node *n, int fd)
{
	ferry_error_t err = { 0 };
	struct wire_conn c;
	struct wire_frame f = { 0 };
	char peer[48];
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (wire_set_timeouts(fd, PEER_IO_TIMEOUT_MS, &err) < 0 ||
	    tls_accept(n->tls, fd, &c, &err) < 0) {
		log_warn("refused a connection: %s", err.message);
		close(fd);
		return;
	}
	if (peer_accept_hello(&c, &n->self, peer, &f, &err) < 0 || wire_recv(&c, &f, &err) < 0) {
		log_warn("connection from %s: %s", c.peer_name, err.message);
		wire_send_error(&c, err.message);
	} else {
		dispatch_peer(n, &c, peer, &f);
	}
	wire_frame_release(&f);
	wire_conn_close(&c);
}

/* Forks a child to serve one connection; the parent keeps listening. */
static void dispatch_connection(const struct node *n, int listener, int other, bool is_peer)
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
		if (is_peer) {
			serve_peer(n, fd);
		} else {
			requests_serve(n, fd);
			close(fd);
		}
		_exit(0);
	}
	if (pid < 0)
		log_error("fork: %s", strerror(errno));
	close(fd);
}

static void reap_children(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static void serve_forever(const struct node *n, int ctl, int peer)
{
	struct pollfd p[2] = { { .fd = ctl, .events = POLLIN }, { .fd = peer, .events = POLLIN } };
	while (!stop_requested) {
		int r = poll(p, 2, 500);
		reap_children();
		if (r <= 0)
			continue;
		if (p[0].revents & POLLIN)
			dispatch_connection(n, ctl, peer, false);
		if (p[1].revents & POLLIN)
			dispatch_connection(n, peer, ctl, true);
	}
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int agent_run(const char *node_name, ferry_error_t *err)
{
	struct node n;
	char sock_path[PATH_MAX], dir[PATH_MAX], pki[PATH_MAX];
	log_init("agent", LOG_INFO);
	if (node_init(&n, node_name, err) < 0)
		return -1;
	if (fs_mkdir_p(config_node_state_dir(dir, sizeof(dir), node_name), 0700, err) < 0 ||
	    config_write_criu_conf(node_name, err) < 0 ||
	    !(n.tls = tls_context_new(config_pki_dir(pki, sizeof(pki)), node_name, err)) ||
	    netns_enter(n.self.netns, err) < 0)
		return -1;
	install_signals();
	/* before listening: the processes recovery may leave running (a
	 * post-copy waiting for its pages) must not inherit the sockets */
	recovery_run(&n);
	config_agent_socket(sock_path, sizeof(sock_path), node_name);
	_cleanup_fd_ int ctl = listen_unix(sock_path, err);
	if (ctl < 0)
		return -1;
	_cleanup_fd_ int peer = listen_tcp(n.self.address, n.self.migration_port, err);
	if (peer < 0)
		return -1;
	log_info("agent for %s listening on %s and %s:%d", node_name, sock_path, n.self.address,
		 n.self.migration_port);
	serve_forever(&n, ctl, peer);
	unlink(sock_path);
	log_info("agent for %s stopped", node_name);
	return 0;
}
