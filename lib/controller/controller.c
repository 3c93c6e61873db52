/*
 * controller.c - see controller.h.
 */
#include "controller/controller.h"
#include "controller/agentcall.h"
#include "metrics/metrics.h"
#include "controller/migration.h"
#include "controller/names.h"
#include "controller/webhookserver.h"
#include "k8s/client.h"
#include "k8s/lease.h"
#include "k8s/object.h"
#include "k8s/watch.h"
#include "tls/session.h"
#include "util/cleanup.h"
#include "util/log.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_INFLIGHT 256

static atomic_int stop_flag;

struct ctl {
	struct k8s_client client;
	struct migration_env env;
	struct k8s_watch watch;
	pthread_mutex_t lock;
	char inflight[MAX_INFLIGHT][320];
	char watch_path[512];
	bool webhook;              /* serving the admission webhook */
};

struct job {
	struct ctl *ctl;
	json_object *pm;
	char key[320];
};

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, 1);
}

/* Claims key; false if a worker already runs it or the table is full. */
static bool claim(struct ctl *c, const char *key)
{
	int free_slot = -1;
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < MAX_INFLIGHT; i++) {
		if (!strcmp(c->inflight[i], key)) {
			pthread_mutex_unlock(&c->lock);
			return false;
		}
		if (!c->inflight[i][0] && free_slot < 0)
			free_slot = i;
	}
	if (free_slot >= 0)
		snprintf(c->inflight[free_slot], sizeof(c->inflight[0]), "%s", key);
	pthread_mutex_unlock(&c->lock);
	return free_slot >= 0;
}

static void release(struct ctl *c, const char *key)
{
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < MAX_INFLIGHT; i++)
		if (!strcmp(c->inflight[i], key))
			c->inflight[i][0] = '\0';
	pthread_mutex_unlock(&c->lock);
}

/* The PodMigration as it is now (a watch event may be stale: the controller's
 * own earlier status write, delivered after the migration ended). */
static json_object *fresh(struct ctl *c, json_object *pm)
{
	char path[600];
	ferry_error_t err = { 0 };
	k8s_path(path, sizeof(path), FERRY_GROUP_VERSION, k8s_str(pm, "metadata.namespace"),
		 FERRY_PM_RESOURCE, k8s_str(pm, "metadata.name"));
	json_object *now = k8s_get(&c->client, path, NULL, &err);
	if (!now)
		log_warn("%s: %s", path, err.message);
	return now;
}

static bool is_new(json_object *pm)
{
	const char *phase = k8s_str(pm, "status.phase");
	return !k8s_at(pm, "metadata.deletionTimestamp") &&
	       (!phase || !*phase || !strcmp(phase, "Pending"));
}

static int inflight_count(struct ctl *c)
{
	int n = 0;
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < MAX_INFLIGHT; i++)
		n += c->inflight[i][0] != '\0';
	pthread_mutex_unlock(&c->lock);
	return n;
}

static void *worker(void *arg)
{
	struct job *j = arg;
	json_object *now = fresh(j->ctl, j->pm);
	if (now && is_new(now))
		migration_run(&j->ctl->env, now);
	json_object_put(now);
	release(j->ctl, j->key);
	json_object_put(j->pm);
	free(j);
	return NULL;
}

static void fail_orphan(struct ctl *c, json_object *stale, const char *phase)
{
	char path[600];
	ferry_error_t err = { 0 };
	char now[32];
	_cleanup_json_ json_object *pm = fresh(c, stale);
	const char *cur = pm ? k8s_str(pm, "status.phase") : NULL;
	if (!cur || strcmp(cur, phase))
		return; /* moved on since the event: not an orphan */
	k8s_time(now);
	k8s_path(path, sizeof(path) - 8, FERRY_GROUP_VERSION, k8s_str(pm, "metadata.namespace"),
		 FERRY_PM_RESOURCE, k8s_str(pm, "metadata.name"));
	strcat(path, "/status");
	json_object *patch = json_object_new_object(), *st = k8s_ensure(patch, "status");
	char msg[300];
	snprintf(msg, sizeof(msg), "interrupted in phase %s: the controller running it stopped; the "
				   "source agent either rolled back or committed, check the pods", phase);
	/* only if nobody wrote it since we read it */
	json_object_object_add(k8s_ensure(patch, "metadata"), "resourceVersion",
			       json_object_new_string(k8s_str(pm, "metadata.resourceVersion")));
	json_object_object_add(st, "phase", json_object_new_string("Failed"));
	json_object_object_add(st, "message", json_object_new_string(msg));
	json_object_object_add(st, "completionTime", json_object_new_string(now));
	json_object *r = k8s_merge_patch(&c->client, path, patch, NULL, &err);
	if (!r)
		log_warn("%s: %s", path, err.message);
	json_object_put(r);
	json_object_put(patch);
}

static void on_pm(const char *type, json_object *pm, void *data)
{
	struct ctl *c = data;
	const char *ns = k8s_str(pm, "metadata.namespace"), *name = k8s_str(pm, "metadata.name");
	const char *phase = k8s_str(pm, "status.phase");
	char key[320];
	if (!ns || !name || !strcmp(type, "DELETED") || k8s_at(pm, "metadata.deletionTimestamp"))
		return;
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
		return;
	if (phase && *phase && strcmp(phase, "Pending")) {
		if (claim(c, key)) { /* not ours: left over by a previous leader */
			fail_orphan(c, pm, phase);
			release(c, key);
		}
		return;
	}
	if (!claim(c, key))
		return;
	struct job *j = calloc(1, sizeof(*j));
	pthread_t t;
	if (!j) {
		release(c, key);
		return;
	}
	j->ctl = c;
	j->pm = json_object_get(pm);
	snprintf(j->key, sizeof(j->key), "%s", key);
	if (pthread_create(&t, NULL, worker, j) != 0) {
		log_error("%s: cannot start a worker thread", key);
		release(c, key);
		json_object_put(j->pm);
		free(j);
		return;
	}
	pthread_detach(t);
}

static void *watch_thread(void *arg)
{
	struct ctl *c = arg;
	k8s_watch_run(&c->watch);
	return NULL;
}

static void sleep_ms(int ms)
{
	for (int t = 0; t < ms && !atomic_load(&stop_flag); t += 50)
		nanosleep(&(struct timespec){ 0, 50 * 1000000L }, NULL);
}

static void default_identity(char *out, size_t size)
{
	char host[128] = "ferry";
	const char *pod = getenv("POD_NAME");
	gethostname(host, sizeof(host) - 1);
	snprintf(out, size, "%s_%d", pod && *pod ? pod : host, (int)getpid());
}

static int lead(struct ctl *c, struct k8s_lease *lease, ferry_error_t *err)
{
	pthread_t wt;
	bool watching = false;
	int retry_ms = lease->duration_seconds * 1000 / 5;
	bool registered = false;
	while (!atomic_load(&stop_flag)) {
		ferry_error_t e = { 0 };
		int rc = k8s_lease_try(lease, &e);
		if (rc < 0)
			log_warn("lease: %s", e.message);
		metrics_set_leader(lease->leader);
		/* the API server must call the leader's webhook: its hand-over
		 * table is the one the migrations fill */
		if (lease->leader && !registered && c->webhook) {
			ferry_error_t we = { 0 };
			registered = webhook_register(&c->client, &we) == 0;
			if (!registered)
				log_warn("webhook: %s", we.message);
		}
		if (lease->leader && !watching) {
			if (pthread_create(&wt, NULL, watch_thread, c) != 0)
				return ferry_error_set(err, 0, "cannot start the watch thread");
			watching = true;
		} else if (!lease->leader && watching) {
			/* lost the lease: stop acting at once (the process exits) */
			return ferry_error_set(err, 0, "lost the leader lease %s/%s; exiting so that "
						       "only one controller acts",
					       lease->namespace, lease->name);
		}
		sleep_ms(retry_ms > 500 ? retry_ms : 500);
	}
	if (watching)
		pthread_join(wt, NULL);
	/* let running migrations finish (bounded: the pod's grace period is 30 s),
	 * still renewing the lease so no successor acts on them meanwhile */
	for (int i = 0; i < 250 && lease->leader && inflight_count(c) > 0; i++) {
		ferry_error_t e = { 0 };
		if (i % 10 == 0 && k8s_lease_try(lease, &e) < 0)
			log_warn("lease: %s", e.message);
		if (i % 50 == 0)
			log_info("stopping: waiting for %d migration(s)", inflight_count(c));
		nanosleep(&(struct timespec){ 0, 100 * 1000000L }, NULL);
	}
	k8s_lease_release(lease);
	return 0;
}

int controller_run(const struct controller_opts *o, ferry_error_t *err)
{
	static struct ctl c; /* one per process; big (in-flight table) */
	char identity[256];
	memset(&c, 0, sizeof(c));
	pthread_mutex_init(&c.lock, NULL);
	if (k8s_client_init(&c.client, o->kubeconfig, err) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	SSL_CTX *tls = tls_context_new(o->pki_dir, AGENTCALL_CERT_NAME, err);
	if (!tls) {
		ferry_error_prefix(err, "the controller's certificate for the agents (make it with "
					"`ferry pki issue --name %s --role controller`)",
				   AGENTCALL_CERT_NAME);
		goto fail;
	}
	metrics_set_leader(false); /* the gauge is there from the start */
	if (metrics_serve(o->metrics_addr, err) < 0) {
		tls_context_free(tls);
		goto fail;
	}
	const char *wip = o->webhook_ip && *o->webhook_ip ? o->webhook_ip : getenv("POD_IP");
	if (o->webhook_port > 0 && wip && *wip) {
		/* not fatal: everything but StatefulSet pods works without it */
		ferry_error_t we = { 0 };
		c.webhook = webhook_server_start(wip, o->webhook_port, &we) == 0;
		if (!c.webhook)
			log_error("webhook: %s: StatefulSet pods cannot be migrated", we.message);
	} else {
		log_info("webhook: off (%s): StatefulSet pods cannot be migrated",
			 o->webhook_port > 0 ? "no --webhook-ip and no POD_IP" : "--webhook-port 0");
	}
	c.env = (struct migration_env){ .client = &c.client,
					.agent_port = o->agent_port > 0 ? o->agent_port : FERRY_AGENT_PORT,
					.tls = tls };
	k8s_path(c.watch_path, sizeof(c.watch_path), FERRY_GROUP_VERSION, o->namespace,
		 FERRY_PM_RESOURCE, NULL);
	c.watch = (struct k8s_watch){ .client = &c.client, .path = c.watch_path, .on_event = on_pm,
				      .data = &c, .stop = &stop_flag,
				      .timeout_seconds = o->watch_timeout };
	if (o->identity && *o->identity)
		snprintf(identity, sizeof(identity), "%s", o->identity);
	else
		default_identity(identity, sizeof(identity));
	/* the same server and credentials, with requests bounded to a third of
	 * the lease (see lease.h); the config is shared, freed once below */
	static struct k8s_client lease_client;
	lease_client = c.client;
	lease_client.timeout_ms = (o->lease_seconds > 0 ? o->lease_seconds : 15) * 1000L / 3;
	struct k8s_lease lease = {
		.client = &lease_client,
		.namespace = o->lease_namespace && *o->lease_namespace ? o->lease_namespace
								     : c.client.cfg.namespace,
		.name = o->lease_name && *o->lease_name ? o->lease_name : "ferry-controller",
		.identity = identity,
		.duration_seconds = o->lease_seconds > 0 ? o->lease_seconds : 15,
	};
	log_info("controller %s: server %s, watching %s, lease %s/%s", identity, c.client.cfg.server,
		 c.watch_path, lease.namespace, lease.name);
	int rc = lead(&c, &lease, err);
	metrics_stop();
	webhook_server_stop();
	/* detached workers may still use the context: it lives until exit */
	k8s_client_free(&c.client);
	return rc;
fail:
	k8s_client_free(&c.client);
	return -1;
}
