/*
 * metrics.h - ferry's Prometheus metrics (the controller's and the node
 * agent's) and their /metrics page.
 *
 *   ferry_migrations_total{phase,result}        counter: migrations that ended,
 *       by the last phase they reached and their result (succeeded|failed)
 *   ferry_migration_downtime_seconds            histogram (succeeded only)
 *   ferry_migration_duration_seconds            histogram (all that ended)
 *   ferry_migration_bytes_total                 counter: bytes moved
 *   ferry_migrations_in_flight                  gauge
 *   ferry_controller_leader                     gauge: 1 while leading (the
 *       controller only: absent until metrics_set_leader is called)
 *
 * Recording is thread-safe (one mutex); the page is rendered into a buffer
 * (pure, unit tested) and served by libmicrohttpd on --metrics-addr.  The
 * agent serves each migration in a forked child: metrics_share_across_fork
 * moves the figures into a shared mapping (a process-shared, robust mutex)
 * so that what a child records shows on the parent's page.
 */
#ifndef FERRY_CONTROLLER_METRICS_H
#define FERRY_CONTROLLER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/error.h"

/* Before the first fork: children's records reach this process's page. */
int metrics_share_across_fork(ferry_error_t *err);
void metrics_migration_started(void);
void metrics_migration_ended(const char *phase, bool succeeded, double duration_s,
			     double downtime_s, uint64_t bytes);
void metrics_set_leader(bool leader);
/* The text exposition format; returns a malloc'd string. */
char *metrics_render(void);

/* Serves /metrics on "[HOST]:PORT" (":9464" = all addresses); "" or NULL: off. */
int metrics_serve(const char *addr, ferry_error_t *err);
void metrics_stop(void);

#endif
