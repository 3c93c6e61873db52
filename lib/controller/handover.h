/*
 * handover.h - the controller's table of StatefulSet pods being handed over
 * to a target node: what the admission webhook (webhook.h) reads when the
 * StatefulSet controller re-creates such a pod.
 *
 * A migration of a StatefulSet pod puts its entry (namespace, pod name,
 * target node, pod IP, PodMigration, the deleted source pod's UID) just
 * before it deletes the source pod, and drops it when the migration ends,
 * whatever the outcome.  Process-wide, guarded by a mutex: the migration
 * threads write it, the webhook's server threads read it.  Only the leader
 * runs migrations, and only the leader's address is registered with the API
 * server, so the table of the leader is the one that counts.
 */
#ifndef FERRY_CONTROLLER_HANDOVER_H
#define FERRY_CONTROLLER_HANDOVER_H

#include <stdbool.h>

#define HANDOVER_MAX 64

struct handover {
	char ns[64];
	char pod[254];
	char node[254];        /* where the re-created pod must run */
	char pod_ip[48];       /* the address it keeps */
	char migration[254];   /* the PodMigration */
	char source_uid[64];   /* the deleted source pod's UID */
};

/* Adds or replaces the entry of h->ns/h->pod; false if the table is full. */
bool handover_put(const struct handover *h);
/* Copies the entry of ns/pod into out; false if there is none. */
bool handover_get(const char *ns, const char *pod, struct handover *out);
/* Removes the entry of ns/pod if it belongs to migration (NULL: any). */
void handover_drop(const char *ns, const char *pod, const char *migration);

#endif
