/*
 * streamcost.c - what mutual TLS costs ferry's image stream, measured on the
 * sandbox fabric with ferry's own code on both ends.
 *
 *   streamcost SRC_NETNS DST_NETNS DST_ADDR SRC_NODE DST_NODE MIB
 *
 * Writes a MIB-sized file of random bytes in /dev/shm, then sends it twice
 * from SRC_NETNS to DST_ADDR (a listener in DST_NETNS): once over plain TCP
 * (the receiver's splice path) and once over mutual TLS with the nodes'
 * certificates (the path agents use), each with stream_send_file and
 * stream_receiver_data_from, each received file checked with XXH3.  Prints
 * one JSON object: {bytes, plain_mbytes_per_s, tls_mbytes_per_s, ratio}.
 * bench/run.sh records it next to the iperf3 link figure.
 */
#include "migrate/stream.h"
#include "net/netns.h"
#include "sandbox/config.h"
#include "tls/session.h"
#include "util/clock.h"
#include "util/fs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define PORT 7079

static void die(const char *what, const ferry_error_t *err)
{
	fprintf(stderr, "streamcost: %s: %s\n", what, err && err->message[0] ? err->message : strerror(errno));
	exit(1);
}

static int listen_on(const char *addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, addr, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)
		die("listen", NULL);
	return fd;
}

/* Receives one file into dir; returns after its FILE_END checked out. */
static void receive_one(struct wire_conn *c, const char *dir)
{
	ferry_error_t err = { 0 };
	struct stream_receiver r;
	struct wire_frame f = { 0 };
	struct wire_header h;
	stream_receiver_init(&r);
	snprintf(r.roots[SPACE_IMAGES], sizeof(r.roots[0]), "%s", dir);
	for (;;) {
		if (wire_recv_header(c, &h, &err) < 0)
			die("receive", &err);
		if (h.type == WIRE_FILE_DATA) {
			if (stream_receiver_data_from(&r, c, &h, &err) < 0)
				die("receive data", &err);
			continue;
		}
		json_object *m = wire_recv_payload(c, &h, &f, &err) < 0 ? NULL : wire_frame_json(&f, &err);
		if (!m || stream_receiver_end(&r, m, &err) < 0)
			die("receive end", &err);
		json_object_put(m);
		break;
	}
	wire_send(c, WIRE_COMMIT, NULL, 0, &err); /* "all written": stops the clock */
	wire_frame_release(&f);
	stream_receiver_release(&r);
}

static void serve(const char *netns, const char *addr, const char *node, int ready_fd)
{
	ferry_error_t err = { 0 };
	char pki[PATH_MAX], dir[] = "/dev/shm/ferry-streamcost-rx-XXXXXX";
	if (netns_enter(netns, &err) < 0)
		die("enter netns", &err);
	SSL_CTX *ctx = tls_context_new(config_pki_dir(pki, sizeof(pki)), node, &err);
	if (!ctx || !mkdtemp(dir))
		die("server setup", &err);
	int l = listen_on(addr);
	(void)!write(ready_fd, "1", 1);
	for (int round = 0; round < 2; round++) {
		struct wire_conn c;
		int fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		wire_conn_init_plain(&c, fd);
		if (fd < 0 || (round == 1 && tls_accept(ctx, fd, &c, &err) < 0))
			die("accept", &err);
		receive_one(&c, dir);
		wire_conn_close(&c);
		char file[PATH_MAX + 16];
		snprintf(file, sizeof(file), "%s/payload", dir);
		unlink(file);
	}
	rmdir(dir);
	tls_context_free(ctx);
	exit(0);
}

static double send_one(SSL_CTX *ctx, const char *addr, const char *peer, const char *path)
{
	ferry_error_t err = { 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	struct wire_conn c;
	struct wire_frame f = { 0 };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, addr, &sa.sin_addr);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect", NULL);
	wire_conn_init_plain(&c, fd);
	if (ctx && tls_connect(ctx, fd, peer, NULL, &c, &err) < 0)
		die("TLS", &err);
	double start = clock_now_ms();
	uint64_t bytes = 0;
	if (stream_send_file(&c, SPACE_IMAGES, path, "payload", &bytes, &err) < 0 ||
	    wire_expect(&c, &f, WIRE_COMMIT, &err) < 0)
		die("send", &err);
	double ms = clock_now_ms() - start;
	wire_frame_release(&f);
	wire_conn_close(&c);
	return (double)bytes / 1e6 / (ms / 1000.0);
}

static void make_payload(const char *path, size_t mib)
{
	FILE *out = fopen(path, "we"), *rnd = fopen("/dev/urandom", "re");
	static char buf[1 << 20];
	if (!out || !rnd)
		die("payload", NULL);
	for (size_t i = 0; i < mib; i++)
		if (fread(buf, 1, sizeof(buf), rnd) != sizeof(buf) || fwrite(buf, 1, sizeof(buf), out) != sizeof(buf))
			die("payload", NULL);
	fclose(rnd);
	if (fclose(out) != 0)
		die("payload", NULL);
}

int main(int argc, char **argv)
{
	ferry_error_t err = { 0 };
	char pki[PATH_MAX], path[] = "/dev/shm/ferry-streamcost-tx";
	int ready[2];
	if (argc != 7) {
		fprintf(stderr, "usage: streamcost SRC_NETNS DST_NETNS DST_ADDR SRC_NODE DST_NODE MIB\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	size_t mib = (size_t)atoi(argv[6]);
	make_payload(path, mib);
	if (pipe(ready) < 0)
		die("pipe", NULL);
	pid_t server = fork();
	if (server == 0)
		serve(argv[2], argv[3], argv[5], ready[1]);
	char c;
	if (read(ready[0], &c, 1) != 1 || netns_enter(argv[1], &err) < 0)
		die("server start / enter netns", &err);
	SSL_CTX *ctx = tls_context_new(config_pki_dir(pki, sizeof(pki)), argv[4], &err);
	if (!ctx)
		die("client setup", &err);
	double plain = send_one(NULL, argv[3], argv[5], path);
	double tls = send_one(ctx, argv[3], argv[5], path);
	int status;
	waitpid(server, &status, 0);
	unlink(path);
	tls_context_free(ctx);
	printf("{\"bytes\": %zu, \"plain_mbytes_per_s\": %.1f, \"tls_mbytes_per_s\": %.1f, "
	       "\"tls_over_plain\": %.3f}\n", mib << 20, plain, tls, tls / plain);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
