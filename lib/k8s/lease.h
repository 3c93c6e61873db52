/*
 * lease.h - leader election on a coordination.k8s.io/v1 Lease.
 *
 * The holder renews spec.renewTime every retry period; a candidate takes the
 * lease over only when the record (its resourceVersion) has not changed for
 * leaseDurationSeconds as measured by the candidate's own monotonic clock,
 * so clock skew between nodes cannot make two leaders.  Every write carries
 * the resourceVersion it read (optimistic concurrency): of two candidates
 * racing for an expired lease, the API server lets exactly one win (the
 * other gets 409 Conflict).  A leader that has not renewed for 2/3 of the
 * duration (the renew deadline) must stop acting (the controller exits);
 * with each lease request bounded to 1/3 of the duration (the client's
 * timeout_ms, set by the caller), it stops before a candidate, which waits
 * the whole duration from the last renewal it saw, can take over.
 */
#ifndef FERRY_K8S_LEASE_H
#define FERRY_K8S_LEASE_H

#include <stdbool.h>
#include <stdint.h>
#include "k8s/client.h"

struct k8s_lease {
	struct k8s_client *client;
	const char *namespace;
	const char *name;
	const char *identity;
	int duration_seconds;
	/* state */
	char observed_rv[64];      /* last resourceVersion seen */
	int64_t observed_at_ms;    /* monotonic time it was first seen */
	int64_t renewed_at_ms;     /* monotonic time of our last successful renewal */
	bool leader;
};

/* One election round: acquire or renew.  Returns 1 when this identity holds
 * the lease afterwards, 0 when another does, -1 with err when the API could
 * not be asked (a leader whose renewals fail past the duration must stop). */
int k8s_lease_try(struct k8s_lease *l, ferry_error_t *err);
/* Gives the lease up (holderIdentity cleared) so a successor need not wait. */
void k8s_lease_release(struct k8s_lease *l);

/* now as RFC 3339 with microseconds, Kubernetes' MicroTime ("...T..:..:..000000Z") */
void k8s_micro_time(char out[40]);
/* now as RFC 3339 with seconds, Kubernetes' Time */
void k8s_time(char out[32]);
int64_t k8s_monotonic_ms(void);

#endif
