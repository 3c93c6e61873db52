/*
 * runcshim.c - see runcshim.h.
 *
 * ferry-runc stays out of the way of everything it does not own: an unknown
 * option is assumed to take no value unless runc's own tables (below) say
 * otherwise, and whatever happens the real runc gets the original argv.
 */
#include "k8snode/runcshim.h"
#include "k8snode/podrestore.h"
#include "k8snode/staging.h"
#include "util/cleanup.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* runc's options that take a separate value (global and per command). */
static const char *const value_opts[] = {
	"--root", "--log", "--log-format", "--criu", "--rootless",
	"--bundle", "-b", "--console-socket", "--pid-file", "--preserve-fds",
	"--image-path", "--work-path", "--parent-path", "--page-server",
	"--manage-cgroups-mode", "--empty-ns", "--status-fd", "--lsm-profile",
	"--lsm-mount-context", "--process", "-p", "--cwd", "--env", "-e", "--user", "-u",
	"--additional-gids", "-g", "--process-label", "--apparmor", "--cap", "-c",
	"--cgroup", "--format", "-f", "--resources", "-r", "--interval", NULL,
};

static int takes_value(const char *opt)
{
	for (int i = 0; value_opts[i]; i++)
		if (!strcmp(opt, value_opts[i]))
			return 1;
	return 0;
}

/* "--name=value" or "--name value": returns the value for name, or NULL. */
static const char *option_value(char **argv, int argc, int *i, const char *name)
{
	size_t n = strlen(name);
	if (!strncmp(argv[*i], name, n) && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (!strcmp(argv[*i], name) && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

static void note_option(struct runc_call *c, char **argv, int argc, int *i)
{
	const char *v;
	int at = *i;
	if ((v = option_value(argv, argc, i, "--root")))
		c->root = v;
	else if ((v = option_value(argv, argc, i, "--log")))
		c->log = v;
	else if ((v = option_value(argv, argc, i, "--bundle")) ||
		 (v = option_value(argv, argc, i, "-b")))
		c->bundle = v;
	else if ((v = option_value(argv, argc, i, "--pid-file")))
		c->pid_file = v;
	else if (!strchr(argv[at], '=') && takes_value(argv[at]) && at + 1 < argc)
		(*i)++;
}

int runcshim_parse(int argc, char **argv, struct runc_call *c, ferry_error_t *err)
{
	memset(c, 0, sizeof(*c));
	c->argc = argc;
	c->argv = argv;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			if (c->command && !c->id && i + 1 < argc)
				c->id = argv[i + 1];
			break;
		}
		if (argv[i][0] == '-' && argv[i][1]) {
			note_option(c, argv, argc, &i);
			continue;
		}
		if (!c->command) {
			c->command = argv[i];
			c->cmd_index = i;
		} else if (!c->id) {
			c->id = argv[i];
		}
	}
	if (!c->command)
		return ferry_error_set(err, 0, "no runc command in the arguments");
	return 0;
}

int runcshim_real_runc(char path[PATH_MAX], ferry_error_t *err)
{
	static const char *const candidates[] = { "/usr/sbin/runc", "/usr/bin/runc",
						  "/usr/local/sbin/runc", "/usr/local/bin/runc",
						  NULL };
	char self[PATH_MAX] = "", real[PATH_MAX];
	const char *env = getenv("FERRY_REAL_RUNC");
	if (env && *env) {
		if (access(env, X_OK) < 0)
			return ferry_error_set(err, errno, "FERRY_REAL_RUNC=%s", env);
		snprintf(path, PATH_MAX, "%s", env);
		return 0;
	}
	if (!realpath("/proc/self/exe", self))
		self[0] = 0;
	for (int i = 0; candidates[i]; i++) {
		if (access(candidates[i], X_OK) < 0 || !realpath(candidates[i], real))
			continue;
		if (!strcmp(real, self))
			continue;
		snprintf(path, PATH_MAX, "%s", candidates[i]);
		return 0;
	}
	return ferry_error_set(err, 0, "no runc found (set FERRY_REAL_RUNC or install runc)");
}

/* Replaces this process with the real runc, same arguments. */
static int pass_through(const struct runc_call *c, ferry_error_t *err)
{
	char real[PATH_MAX];
	if (runcshim_real_runc(real, err) < 0)
		return -1;
	c->argv[0] = real;
	execv(real, c->argv);
	return ferry_error_set(err, errno, "exec %s", real);
}

/* One line per state-changing call into $FERRY_RUNC_LOG (default
 * /var/log/ferry/ferry-runc.log, if that directory exists): the record of
 * which containers went through ferry-runc and what it decided. */
static void audit(const struct runc_call *c, const char *decision)
{
	static const char *const logged[] = { "create", "start", "run", "delete", "checkpoint",
					      "restore", "pause", "resume", NULL };
	const char *path = getenv("FERRY_RUNC_LOG");
	int i;
	if (!c->command)
		return;
	for (i = 0; logged[i] && strcmp(logged[i], c->command); i++)
		;
	if (!logged[i])
		return;
	int fd = open(path && *path ? path : "/var/log/ferry/ferry-runc.log",
		      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return;
	char line[1024];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int n = snprintf(line, sizeof(line), "%lld.%03ld pid=%d %s %s root=%s bundle=%s: %s\n",
			 (long long)ts.tv_sec, ts.tv_nsec / 1000000, (int)getpid(), c->command,
			 c->id ? c->id : "-", c->root ? c->root : "-", c->bundle ? c->bundle : "-",
			 decision);
	if (n > 0)
		(void)!write(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	close(fd);
}

/* `create` of a Kubernetes container: refuse (pod migrated away), restore
 * (target pod), neutralize (init container of a target pod) or pass.
 * Returns an exit status, or -1 to pass the call through. */
static int on_create(const struct runc_call *call, ferry_error_t *err)
{
	struct cri_container c;
	char pod_dir[PATH_MAX], list[PATH_MAX + 16];
	if (!call->bundle || podrestore_read(call->bundle, &c, err) < 0 ||
	    strcmp(c.type, "container"))
		return -1; /* not a pod's container: runc decides */
	if (staging_is_migrated(c.sandbox_id)) {
		audit(call, "refused: pod migrated away");
		return ferry_error_set(err, 0, "pod %s/%s was migrated away from this node by "
					       "ferry: its container %s is not started here again",
				       c.namespace, c.pod, c.name), 1;
	}
	if (!c.restore)
		return -1;
	if (staging_pod_dir(c.namespace, c.pod, pod_dir, err) < 0)
		return 1;
	snprintf(list, sizeof(list), "%s/containers", pod_dir);
	if (staging_wait_for(list, podrestore_wait_ms(), err) < 0) {
		audit(call, "restore: nothing staged");
		return ferry_error_prefix(err, "restore pod %s/%s: no migration staged its "
					       "containers", c.namespace, c.pod), 1;
	}
	int listed = staging_lists_container(pod_dir, c.name, err);
	if (listed < 0)
		return 1;
	if (!listed) {
		if (podrestore_neutralize(call->bundle, &c, err) < 0)
			return 1;
		audit(call, "init container of a restored pod: exits 0");
		return -1;
	}
	int rc = podrestore_create(call, &c, err);
	audit(call, rc == 0 ? "restored from checkpoint" : "restore failed");
	if (rc > 0 && !ferry_error_is_set(err))
		ferry_error_set(err, 0, "runc restore of %s/%s container %s exited %d",
				c.namespace, c.pod, c.name, rc);
	return rc < 0 ? 1 : rc;
}

/* The error where containerd looks for runc's (--log, one JSON object a line,
 * as runc's --log-format json writes it), so the kubelet's event says why. */
static void report_error(const struct runc_call *c, const char *message)
{
	fprintf(stderr, "ferry-runc: %s\n", message);
	if (!c->log)
		return;
	_cleanup_json_ json_object *o = json_object_new_object();
	char when[64];
	time_t now = time(NULL);
	struct tm tm;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	json_object_object_add(o, "level", json_object_new_string("error"));
	json_object_object_add(o, "msg", json_object_new_string(message));
	json_object_object_add(o, "time", json_object_new_string(when));
	int fd = open(c->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	(void)!write(fd, text, strlen(text));
	(void)!write(fd, "\n", 1);
	close(fd);
}

int runcshim_main(int argc, char **argv)
{
	ferry_error_t err = { 0 };
	struct runc_call call;
	log_init("ferry-runc", getenv("FERRY_DEBUG") ? LOG_DEBUG : LOG_WARN);
	if (runcshim_parse(argc, argv, &call, &err) < 0) {
		/* `runc --version`, `runc --help` and the like: runc answers */
		memset(&call, 0, sizeof(call));
		call.argc = argc;
		call.argv = argv;
	}
	log_debug("%s %s (root %s, bundle %s)", call.command ? call.command : "-",
		  call.id ? call.id : "-", call.root ? call.root : "-",
		  call.bundle ? call.bundle : "-");
	if (call.command && !strcmp(call.command, "create")) {
		int rc = on_create(&call, &err);
		if (rc >= 0) {
			if (rc)
				report_error(&call, err.message);
			return rc;
		}
		ferry_error_clear(&err);
	} else if (call.command && !strcmp(call.command, "start") &&
		   podrestore_was_restored(call.id)) {
		audit(&call, "no-op: restored container already runs");
		return 0;
	} else if (call.command && !strcmp(call.command, "delete")) {
		podrestore_forget(call.id);
	}
	audit(&call, "pass-through");
	pass_through(&call, &err);
	report_error(&call, err.message);
	return 1;
}
