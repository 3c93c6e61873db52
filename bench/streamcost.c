/*
 * streamcost.c - what mutual TLS costs ferry's image stream, measured on the
 * sandbox fabric with ferry's own code on both ends.
 *
 *   streamcost SRC_NETNS DST_NETNS DST_ADDR SRC_NODE DST_NODE MIB STREAMS
 *
 * Writes MIB of random bytes in /dev/shm as STREAMS files, then sends them
 * from SRC_NETNS to DST_ADDR (a listener in DST_NETNS) three ways: over one
 * plain TCP connection (the receiver's splice path), over one mutual-TLS
 * connection with the nodes' certificates (the path agents use), and over
 * STREAMS TLS connections at once (one process per connection on each side:
 * would parallel streams pay?).  Each file goes with stream_send_file and
 * stream_receiver_data_from and is checked with XXH3.  Prints one JSON
 * object: {bytes, streams, plain_mbytes_per_s, tls_mbytes_per_s,
 * tls_over_plain, parallel_tls_mbytes_per_s, parallel_over_single}.
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
#define PAYLOAD "/dev/shm/ferry-streamcost-tx"

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

static void serve(const char *netns, const char *addr, const char *node, int streams,
		  int ready_fd)
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
	for (int round = 0; round < 2 + streams; round++) {
		struct wire_conn c;
		int fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		wire_conn_init_plain(&c, fd);
		pid_t child = round >= 2 ? fork() : 0;
		if (child > 0) { /* parallel round: one receiver process per connection */
			close(fd);
			continue;
		}
		if (fd < 0 || (round >= 1 && tls_accept(ctx, fd, &c, &err) < 0))
			die("accept", &err);
		for (int i = 0; i < (round < 2 ? streams : 1); i++)
			receive_one(&c, dir);
		wire_conn_close(&c);
		if (child == 0 && round >= 2)
			exit(0);
	}
	while (wait(NULL) > 0)
		;
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
	tls_context_free(ctx);
	exit(0);
}

static int connect_to(SSL_CTX *ctx, const char *addr, const char *peer, struct wire_conn *c)
{
	ferry_error_t err = { 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, addr, &sa.sin_addr);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect", NULL);
	wire_conn_init_plain(c, fd);
	if (ctx && tls_connect(ctx, fd, peer, NULL, c, &err) < 0)
		die("TLS", &err);
	return 0;
}

/* Sends files [first, first + n) over c, each acknowledged by the receiver. */
static uint64_t send_files(struct wire_conn *c, int first, int n)
{
	ferry_error_t err = { 0 };
	struct wire_frame f = { 0 };
	uint64_t bytes = 0;
	for (int i = first; i < first + n; i++) {
		char path[64], name[32];
		snprintf(path, sizeof(path), "%s-%d", PAYLOAD, i);
		snprintf(name, sizeof(name), "payload-%d", i);
		if (stream_send_file(c, SPACE_IMAGES, path, name, &bytes, &err) < 0 ||
		    wire_expect(c, &f, WIRE_COMMIT, &err) < 0)
			die("send", &err);
	}
	wire_frame_release(&f);
	return bytes;
}

/* One connection carries every file: MB/s. */
static double send_serial(SSL_CTX *ctx, const char *addr, const char *peer, int streams)
{
	struct wire_conn c;
	connect_to(ctx, addr, peer, &c);
	double start = clock_now_ms();
	uint64_t bytes = send_files(&c, 0, streams);
	double ms = clock_now_ms() - start;
	wire_conn_close(&c);
	return (double)bytes / 1e6 / (ms / 1000.0);
}

/* One TLS connection and process per file, all at once: MB/s overall. */
static double send_parallel(SSL_CTX *ctx, const char *addr, const char *peer, int streams,
			    uint64_t total)
{
	struct wire_conn conns[64];
	for (int i = 0; i < streams; i++) /* handshakes first: only the transfer is timed */
		connect_to(ctx, addr, peer, &conns[i]);
	double start = clock_now_ms();
	for (int i = 0; i < streams; i++) {
		if (fork() == 0) {
			send_files(&conns[i], i, 1);
			exit(0);
		}
	}
	int status, failed = 0;
	while (wait(&status) > 0)
		failed |= !WIFEXITED(status) || WEXITSTATUS(status);
	double ms = clock_now_ms() - start;
	for (int i = 0; i < streams; i++)
		wire_conn_close(&conns[i]);
	if (failed)
		die("parallel send", NULL);
	return (double)total / 1e6 / (ms / 1000.0);
}

static void make_payload(size_t mib, int streams)
{
	FILE *rnd = fopen("/dev/urandom", "re");
	static char buf[1 << 20];
	for (int i = 0; i < streams; i++) {
		char path[64];
		snprintf(path, sizeof(path), "%s-%d", PAYLOAD, i);
		FILE *out = fopen(path, "we");
		if (!out || !rnd)
			die("payload", NULL);
		for (size_t m = 0; m < mib / (size_t)streams; m++)
			if (fread(buf, 1, sizeof(buf), rnd) != sizeof(buf) ||
			    fwrite(buf, 1, sizeof(buf), out) != sizeof(buf))
				die("payload", NULL);
		if (fclose(out) != 0)
			die("payload", NULL);
	}
	fclose(rnd);
}

static void remove_payload(int streams)
{
	for (int i = 0; i < streams; i++) {
		char path[64];
		snprintf(path, sizeof(path), "%s-%d", PAYLOAD, i);
		unlink(path);
	}
}

int main(int argc, char **argv)
{
	ferry_error_t err = { 0 };
	char pki[PATH_MAX];
	int ready[2];
	if (argc != 8 || atoi(argv[6]) < 1 || atoi(argv[7]) < 1 || atoi(argv[7]) > 64) {
		fprintf(stderr, "usage: streamcost SRC_NETNS DST_NETNS DST_ADDR SRC_NODE DST_NODE "
				"MIB STREAMS(1-64)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	int streams = atoi(argv[7]);
	size_t mib = (size_t)atoi(argv[6]) / (size_t)streams * (size_t)streams;
	make_payload(mib, streams);
	if (pipe(ready) < 0)
		die("pipe", NULL);
	pid_t server = fork();
	if (server == 0)
		serve(argv[2], argv[3], argv[5], streams, ready[1]);
	char c;
	if (read(ready[0], &c, 1) != 1 || netns_enter(argv[1], &err) < 0)
		die("server start / enter netns", &err);
	SSL_CTX *ctx = tls_context_new(config_pki_dir(pki, sizeof(pki)), argv[4], &err);
	if (!ctx)
		die("client setup", &err);
	double plain = send_serial(NULL, argv[3], argv[5], streams);
	double tls = send_serial(ctx, argv[3], argv[5], streams);
	double par = send_parallel(ctx, argv[3], argv[5], streams, (uint64_t)mib << 20);
	int status;
	waitpid(server, &status, 0);
	remove_payload(streams);
	tls_context_free(ctx);
	printf("{\"bytes\": %zu, \"streams\": %d, \"plain_mbytes_per_s\": %.1f, "
	       "\"tls_mbytes_per_s\": %.1f, \"tls_over_plain\": %.3f, "
	       "\"parallel_tls_mbytes_per_s\": %.1f, \"parallel_over_single\": %.3f}\n",
	       mib << 20, streams, plain, tls, tls / plain, par, par / tls);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
