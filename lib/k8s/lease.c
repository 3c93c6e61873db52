/*
 * lease.c - see lease.h.
 */
#include "k8s/lease.h"
#include "util/cleanup.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

int64_t k8s_monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void k8s_micro_time(char out[40])
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	char base[24];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 40, "%s.%06ldZ", base, (long)tv.tv_usec);
}

void k8s_time(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *spec_str(json_object *lease, const char *key)
{
	json_object *spec, *v;
	if (json_object_object_get_ex(lease, "spec", &spec) && json_object_object_get_ex(spec, key, &v))
		return json_object_get_string(v);
	return NULL;
}

static const char *lease_rv(json_object *lease)
{
	json_object *md, *v;
	if (json_object_object_get_ex(lease, "metadata", &md) &&
	    json_object_object_get_ex(md, "resourceVersion", &v))
		return json_object_get_string(v);
	return "";
}

static void fill_spec(struct k8s_lease *l, json_object *spec, bool take_over)
{
	char now[40];
	k8s_micro_time(now);
	json_object_object_add(spec, "holderIdentity", json_object_new_string(l->identity));
	json_object_object_add(spec, "leaseDurationSeconds", json_object_new_int(l->duration_seconds));
	json_object_object_add(spec, "renewTime", json_object_new_string(now));
	if (take_over) {
		json_object *tr = NULL;
		json_object_object_get_ex(spec, "leaseTransitions", &tr);
		json_object_object_add(spec, "acquireTime", json_object_new_string(now));
		json_object_object_add(spec, "leaseTransitions",
				       json_object_new_int(tr ? json_object_get_int(tr) + 1 : 0));
	}
}

static int create_lease(struct k8s_lease *l, const char *path, ferry_error_t *err)
{
	_cleanup_json_ json_object *obj = json_object_new_object();
	json_object *md = json_object_new_object(), *spec = json_object_new_object();
	long status;
	json_object_object_add(obj, "apiVersion", json_object_new_string("coordination.k8s.io/v1"));
	json_object_object_add(obj, "kind", json_object_new_string("Lease"));
	json_object_object_add(md, "name", json_object_new_string(l->name));
	json_object_object_add(obj, "metadata", md);
	fill_spec(l, spec, true);
	json_object_object_add(obj, "spec", spec);
	_cleanup_json_ json_object *r = k8s_create(l->client, path, obj, &status, err);
	if (!r)
		return status == 409 ? (ferry_error_clear(err), 0) : -1;
	return 1;
}

static int write_lease(struct k8s_lease *l, const char *path, json_object *lease, bool take_over,
		       ferry_error_t *err)
{
	json_object *spec;
	long status;
	if (!json_object_object_get_ex(lease, "spec", &spec)) {
		spec = json_object_new_object();
		json_object_object_add(lease, "spec", spec);
	}
	fill_spec(l, spec, take_over);
	_cleanup_json_ json_object *r = k8s_replace(l->client, path, lease, &status, err);
	if (!r)
		return status == 409 ? (ferry_error_clear(err), 0) : -1;
	snprintf(l->observed_rv, sizeof(l->observed_rv), "%s", lease_rv(r));
	l->observed_at_ms = k8s_monotonic_ms();
	return 1;
}

static int try_once(struct k8s_lease *l, ferry_error_t *err)
{
	char path[1024], coll[1024];
	long status;
	k8s_path(coll, sizeof(coll), "coordination.k8s.io/v1", l->namespace, "leases", NULL);
	k8s_path(path, sizeof(path), "coordination.k8s.io/v1", l->namespace, "leases", l->name);
	_cleanup_json_ json_object *lease = k8s_get(l->client, path, &status, err);
	if (!lease)
		return status == 404 ? (ferry_error_clear(err), create_lease(l, coll, err)) : -1;
	const char *rv = lease_rv(lease), *holder = spec_str(lease, "holderIdentity");
	int64_t now = k8s_monotonic_ms();
	if (strcmp(rv, l->observed_rv)) {
		snprintf(l->observed_rv, sizeof(l->observed_rv), "%s", rv);
		l->observed_at_ms = now;
	}
	if (holder && !strcmp(holder, l->identity))
		return write_lease(l, path, lease, false, err);
	bool free_lease = !holder || !*holder;
	if (!free_lease && now - l->observed_at_ms < (int64_t)l->duration_seconds * 1000)
		return 0;
	log_info("lease %s/%s: %s, taking it over", l->namespace, l->name,
		 free_lease ? "released" : "expired");
	return write_lease(l, path, lease, true, err);
}

int k8s_lease_try(struct k8s_lease *l, ferry_error_t *err)
{
	int rc = try_once(l, err);
	bool was = l->leader;
	if (rc == 1)
		l->renewed_at_ms = k8s_monotonic_ms();
	if (rc >= 0)
		l->leader = rc == 1;
	else if (l->leader &&
		 k8s_monotonic_ms() - l->renewed_at_ms >= (int64_t)l->duration_seconds * 2000 / 3)
		l->leader = false; /* renew deadline passed: stop before anyone may take over */
	if (l->leader != was)
		log_info("lease %s/%s: %s is %s the leader", l->namespace, l->name, l->identity,
			 l->leader ? "now" : "no longer");
	return rc < 0 ? -1 : l->leader;
}

void k8s_lease_release(struct k8s_lease *l)
{
	char path[1024];
	ferry_error_t err = { 0 };
	if (!l->leader)
		return;
	k8s_path(path, sizeof(path), "coordination.k8s.io/v1", l->namespace, "leases", l->name);
	_cleanup_json_ json_object *lease = k8s_get(l->client, path, NULL, &err);
	json_object *spec;
	if (!lease || !json_object_object_get_ex(lease, "spec", &spec))
		return;
	const char *holder = spec_str(lease, "holderIdentity");
	if (!holder || strcmp(holder, l->identity))
		return;
	json_object_object_add(spec, "holderIdentity", NULL);
	_cleanup_json_ json_object *r = k8s_replace(l->client, path, lease, NULL, &err);
	l->leader = false;
}
