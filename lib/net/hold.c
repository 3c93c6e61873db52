/*
 * hold.c - see hold.h.
 */
#include "net/hold.h"
#include "net/route.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xxhash.h>

struct held_packet {
	struct held_packet *next;
	size_t len;
	unsigned char data[];
};

static int write_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fs_write_all(fd, value, strlen(value));
	close(fd);
	return rc;
}

/* Runs in the host namespace: create the TUN device, bring it up, let it
 * take packets with local source addresses back in. */
static int create_tun(struct hold *h, ferry_error_t *err)
{
	struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI };
	char path[128];
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", h->ifname);
	h->tun_fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (h->tun_fd < 0 || ioctl(h->tun_fd, TUNSETIFF, &ifr) < 0)
		return ferry_error_set(err, errno, "create hold device %s", h->ifname);
	_cleanup_fd_ int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || ioctl(sock, SIOCGIFINDEX, &ifr) < 0)
		return ferry_error_set(err, errno, "index of %s", h->ifname);
	h->ifindex = (unsigned)ifr.ifr_ifindex;
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return ferry_error_set(err, errno, "flags of %s", h->ifname);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
		return ferry_error_set(err, errno, "bring up %s", h->ifname);
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/accept_local", h->ifname);
	if (write_sysctl(path, "1") < 0)
		return ferry_error_set(err, errno, "%s", path);
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter", h->ifname);
	if (write_sysctl(path, "0") < 0)
		return ferry_error_set(err, errno, "%s", path);
	return 0;
}

int hold_open(struct hold *h, int host_netns_fd, const char *pod_ip, ferry_error_t *err)
{
	memset(h, 0, sizeof(*h));
	h->tun_fd = h->stop_pipe[0] = h->stop_pipe[1] = -1;
	snprintf(h->ifname, sizeof(h->ifname), "fh%08x", XXH32(pod_ip, strlen(pod_ip), 0));
	_cleanup_fd_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || setns(host_netns_fd, CLONE_NEWNET) < 0)
		return ferry_error_set(err, errno, "enter host network namespace");
	int rc = create_tun(h, err);
	if (setns(self, CLONE_NEWNET) < 0)
		rc = ferry_error_set(err, errno, "return to own network namespace");
	if (rc == 0 && pipe2(h->stop_pipe, O_CLOEXEC) < 0)
		rc = ferry_error_set(err, errno, "pipe");
	if (rc < 0)
		hold_close(h);
	return rc;
}

static void keep_packet(struct hold *h, const unsigned char *data, size_t len)
{
	if (h->bytes + len > HOLD_MAX_BYTES) {
		h->dropped++;
		return;
	}
	struct held_packet *p = malloc(sizeof(*p) + len);
	if (!p) {
		h->dropped++;
		return;
	}
	p->next = NULL;
	p->len = len;
	memcpy(p->data, data, len);
	if (h->tail)
		h->tail->next = p;
	else
		h->head = p;
	h->tail = p;
	h->bytes += len;
	h->packets++;
}

static void *reader_main(void *arg)
{
	struct hold *h = arg;
	unsigned char buf[65536];
	struct pollfd p[2] = { { .fd = h->tun_fd, .events = POLLIN },
			       { .fd = h->stop_pipe[0], .events = POLLIN } };
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			ssize_t n = read(h->tun_fd, buf, sizeof(buf));
			if (n > 0)
				keep_packet(h, buf, (size_t)n);
			continue; /* drain everything before honouring stop */
		}
		if (p[1].revents)
			break;
	}
	return NULL;
}

int hold_engage(struct hold *h, int host_netns_fd, const char *pod_ip, ferry_error_t *err)
{
	int rc = pthread_create(&h->reader, NULL, reader_main, h);
	if (rc != 0)
		return ferry_error_set(err, rc, "start hold reader");
	h->reading = true;
	return route_replace_dev_v4(host_netns_fd, pod_ip, 32, h->ifindex, err);
}

static void stop_reader(struct hold *h)
{
	if (!h->reading)
		return;
	char c = 1;
	if (write(h->stop_pipe[1], &c, 1) != 1)
		log_warn("hold: cannot signal reader");
	pthread_join(h->reader, NULL);
	h->reading = false;
}

static void free_packets(struct hold *h)
{
	while (h->head) {
		struct held_packet *next = h->head->next;
		free(h->head);
		h->head = next;
	}
	h->tail = NULL;
}

int hold_release(struct hold *h, ferry_error_t *err)
{
	stop_reader(h);
	size_t failed = 0;
	for (struct held_packet *p = h->head; p; p = p->next)
		if (write(h->tun_fd, p->data, p->len) != (ssize_t)p->len)
			failed++;
	log_info("hold %s: released %zu packets (%zu bytes), %zu dropped, %zu not re-sent",
		 h->ifname, h->packets, h->bytes, h->dropped, failed);
	free_packets(h);
	(void)err;
	return 0;
}

void hold_close(struct hold *h)
{
	stop_reader(h);
	free_packets(h);
	/* a non-persistent TUN device disappears with its last fd, and its
	 * routes with it */
	if (h->tun_fd >= 0)
		close(h->tun_fd);
	for (int i = 0; i < 2; i++)
		if (h->stop_pipe[i] >= 0)
			close(h->stop_pipe[i]);
	h->tun_fd = h->stop_pipe[0] = h->stop_pipe[1] = -1;
}
