/*
 * lazy.c - see lazy.h.
 */
#include "container/lazy.h"
#include "sandbox/config.h"
#include "util/fs.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

static int split_address(const char *page_server, char ip[64], char port[16], ferry_error_t *err)
{
	const char *colon = strrchr(page_server, ':');
	if (!colon || colon == page_server || (size_t)(colon - page_server) >= 64 ||
	    strlen(colon + 1) == 0 || strlen(colon + 1) >= 16)
		return ferry_error_set(err, 0, "bad page server address '%s'", page_server);
	memcpy(ip, page_server, (size_t)(colon - page_server));
	ip[colon - page_server] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

static int wait_listening(const char *work_dir, struct proc *p, ferry_error_t *err)
{
	char sock[PATH_MAX];
	snprintf(sock, sizeof(sock), "%s/lazy-pages.socket", work_dir);
	/* this wait is inside the freeze: poll finely (5 s at most) */
	for (int i = 0; i < 5000; i++) {
		if (fs_exists(sock))
			return 0;
		if (waitpid(p->pid, NULL, WNOHANG) == p->pid)
			return ferry_error_set(err, 0, "CRIU lazy-pages daemon exited (see %s/lazy-pages.log)",
					       work_dir);
		struct timespec ts = { 0, 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	lazy_daemon_kill(p);
	return ferry_error_set(err, 0, "CRIU lazy-pages daemon did not start listening");
}

int lazy_daemon_start(const char *image_dir, const char *work_dir, const char *page_server,
		      const char *criu_conf, struct proc *p, ferry_error_t *err)
{
	char ip[64], port[16];
	const char *argv[24];
	int n = 0;
	if (split_address(page_server, ip, port, err) < 0)
		return -1;
	argv[n++] = config_get()->criu;
	argv[n++] = "lazy-pages";
	if (criu_conf) { /* the node's: TLS to the source's page server */
		argv[n++] = "--config";
		argv[n++] = criu_conf;
	}
	argv[n++] = "--page-server";
	argv[n++] = "--address";
	argv[n++] = ip;
	argv[n++] = "--port";
	argv[n++] = port;
	argv[n++] = "--images-dir";
	argv[n++] = image_dir;
	argv[n++] = "--work-dir";
	argv[n++] = work_dir;
	argv[n++] = "--log-file";
	argv[n++] = "lazy-pages.log";
	if (getenv("FERRY_DEBUG")) /* CRIU's most verbose log (it slows the transfer down) */
		argv[n++] = "-v4";
	argv[n] = NULL;
	struct proc_opts opts = { .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1,
				  .new_session = true };
	if (proc_spawn(argv, &opts, p, err) < 0)
		return -1;
	return wait_listening(work_dir, p, err);
}

void lazy_daemon_kill(struct proc *p)
{
	if (p->pid <= 0)
		return;
	kill(-p->pid, SIGKILL);
	ferry_error_t ignore = { 0 };
	proc_finish(p, NULL, &ignore);
	p->pid = 0;
}
