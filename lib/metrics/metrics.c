/*
 * metrics.c - see metrics.h.
 */
#include "metrics/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MAX_SERIES 32

static const double downtime_buckets[] = { 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
static const double duration_buckets[] = { 1, 2.5, 5, 10, 30, 60, 120, 300, 600 };
#define N_DOWN (sizeof(downtime_buckets) / sizeof(downtime_buckets[0]))
#define N_DUR (sizeof(duration_buckets) / sizeof(duration_buckets[0]))

struct histogram {
	uint64_t counts[16];
	uint64_t total;
	double sum;
};

struct state {
	pthread_mutex_t lock;
	struct {
		char phase[24];
		bool ok;
		uint64_t n;
	} series[MAX_SERIES];
	size_t nseries;
	struct histogram down, dur;
	uint64_t bytes;
	int64_t in_flight;
	int leader; /* -1: not a controller, no gauge */
};

static struct state local = { .lock = PTHREAD_MUTEX_INITIALIZER, .leader = -1 };
static struct state *m = &local;
static struct MHD_Daemon *daemon_;

int metrics_share_across_fork(ferry_error_t *err)
{
	pthread_mutexattr_t attr;
	if (m != &local)
		return 0;
	struct state *shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return ferry_error_set(err, errno, "metrics: shared mapping");
	memcpy(shared, &local, sizeof(*shared));
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&shared->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	m = shared;
	return 0;
}

/* A child that died holding the lock left figures half-updated at worst:
 * take the lock over rather than block every later migration. */
static void lock(void)
{
	if (pthread_mutex_lock(&m->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&m->lock);
}

static void unlock(void)
{
	pthread_mutex_unlock(&m->lock);
}

static void observe(struct histogram *h, const double *b, size_t nb, double v)
{
	for (size_t i = 0; i < nb; i++)
		if (v <= b[i])
			h->counts[i]++;
	h->total++;
	h->sum += v;
}

void metrics_migration_started(void)
{
	lock();
	m->in_flight++;
	unlock();
}

void metrics_migration_ended(const char *phase, bool succeeded, double duration_s,
			     double downtime_s, uint64_t bytes)
{
	lock();
	m->in_flight--;
	size_t i;
	for (i = 0; i < m->nseries; i++)
		if (m->series[i].ok == succeeded && !strcmp(m->series[i].phase, phase))
			break;
	if (i == m->nseries && m->nseries < MAX_SERIES) {
		snprintf(m->series[i].phase, sizeof(m->series[i].phase), "%s", phase);
		m->series[i].ok = succeeded;
		m->nseries++;
	}
	if (i < MAX_SERIES)
		m->series[i].n++;
	observe(&m->dur, duration_buckets, N_DUR, duration_s);
	if (succeeded)
		observe(&m->down, downtime_buckets, N_DOWN, downtime_s);
	m->bytes += bytes;
	unlock();
}

void metrics_set_leader(bool leader)
{
	lock();
	m->leader = leader;
	unlock();
}

static void render_histogram(FILE *f, const char *name, const char *help,
			     const struct histogram *h, const double *b, size_t nb)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (size_t i = 0; i < nb; i++)
		fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, b[i], (unsigned long long)h->counts[i]);
	fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %g\n%s_count %llu\n", name,
		(unsigned long long)h->total, name, h->sum, name, (unsigned long long)h->total);
}

char *metrics_render(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	lock();
	fprintf(f, "# HELP ferry_migrations_total Migrations that ended, by last phase and result.\n"
		   "# TYPE ferry_migrations_total counter\n");
	for (size_t i = 0; i < m->nseries; i++)
		fprintf(f, "ferry_migrations_total{phase=\"%s\",result=\"%s\"} %llu\n",
			m->series[i].phase, m->series[i].ok ? "succeeded" : "failed",
			(unsigned long long)m->series[i].n);
	render_histogram(f, "ferry_migration_downtime_seconds",
			 "Downtime of succeeded migrations (freeze to restored).", &m->down,
			 downtime_buckets, N_DOWN);
	render_histogram(f, "ferry_migration_duration_seconds",
			 "Duration of migrations, from acceptance to the end.", &m->dur,
			 duration_buckets, N_DUR);
	fprintf(f, "# HELP ferry_migration_bytes_total Bytes moved by migrations.\n"
		   "# TYPE ferry_migration_bytes_total counter\nferry_migration_bytes_total %llu\n",
		(unsigned long long)m->bytes);
	fprintf(f, "# HELP ferry_migrations_in_flight Migrations running now.\n"
		   "# TYPE ferry_migrations_in_flight gauge\nferry_migrations_in_flight %lld\n",
		(long long)m->in_flight);
	if (m->leader >= 0)
		fprintf(f, "# HELP ferry_controller_leader 1 while this controller holds the "
			   "lease.\n# TYPE ferry_controller_leader gauge\n"
			   "ferry_controller_leader %d\n", m->leader);
	unlock();
	fclose(f);
	return buf;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **state)
{
	struct MHD_Response *r;
	enum MHD_Result rc;
	if (strcmp(method, "GET"))
		return MHD_NO;
	if (strcmp(url, "/metrics")) {
		static const char nf[] = "not found: try /metrics\n";
		r = MHD_create_response_from_buffer(sizeof(nf) - 1, (void *)nf, MHD_RESPMEM_PERSISTENT);
		rc = MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, r);
	} else {
		char *page = metrics_render();
		if (!page)
			return MHD_NO;
		r = MHD_create_response_from_buffer(strlen(page), page, MHD_RESPMEM_MUST_FREE);
		MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
		rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
	}
	MHD_destroy_response(r);
	return rc;
}

int metrics_serve(const char *addr, ferry_error_t *err)
{
	if (!addr || !*addr)
		return 0;
	const char *colon = strrchr(addr, ':');
	char host[64] = "";
	if (!colon)
		return ferry_error_set(err, 0, "--metrics-addr %s: expected [HOST]:PORT", addr);
	int port = atoi(colon + 1);
	if (port <= 0 || port > 65535)
		return ferry_error_set(err, 0, "--metrics-addr %s: bad port", addr);
	snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (host[0] && inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return ferry_error_set(err, 0, "--metrics-addr %s: host must be an IPv4 address", addr);
	daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
				    (uint16_t)port, NULL, NULL, answer, NULL, MHD_OPTION_SOCK_ADDR,
				    (struct sockaddr *)&sa, MHD_OPTION_END);
	if (!daemon_)
		return ferry_error_set(err, 0, "cannot serve metrics on %s (port in use?)", addr);
	return 0;
}

void metrics_stop(void)
{
	if (daemon_)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
}
