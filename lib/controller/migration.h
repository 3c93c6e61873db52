/*
 * migration.h - one PodMigration from acceptance to Succeeded or Failed.
 *
 * Runs in its own thread (the agent exchange blocks for seconds):
 *   Pending      accepted: startTime, condition Accepted
 *   validation   pod, volumes, owner, target node (chosen when not given);
 *                any refusal -> Failed, Warning event on the pod, nothing made
 *   Preparing    the source pod is marked ferry.dev/migrating (optimistic
 *                lock on its resourceVersion), the target pod is created on
 *                the target node (targetpod.h)
 *   agent        REQUEST migrate-pod to the source node's agent; its
 *                PROGRESS phases move status.phase (Transferring, Restoring)
 *   hand-over    after RESULT (the commit happened): ReplicaSet pods get
 *                deletion-cost -2^31 on the source, their labels and owner
 *                back on the target, then the source is deleted; bare pods:
 *                the source is deleted -> Succeeded with the figures
 * Before the commit any failure or the timeout deletes the target pod,
 * unmarks the source (which never stopped serving: the agent thaws it) and
 * ends Failed with the reason.
 * StatefulSet pods keep their name: no target pod is created; the agent is
 * asked to defer it (deferTarget), and on its PROGRESS staged the hand-over
 * entry goes into handover.h's table and the source pod is deleted; the
 * StatefulSet re-creates it and the admission webhook (webhook.h) binds it
 * to the target node as a restore pod.  A failure after that deletion ends
 * Failed saying the memory state is lost (docs/kubernetes.md).
 */
#ifndef FERRY_CONTROLLER_MIGRATION_H
#define FERRY_CONTROLLER_MIGRATION_H

#include <json-c/json.h>
#include <openssl/ssl.h>
#include "k8s/client.h"

struct migration_env {
	struct k8s_client *client;
	int agent_port;
	SSL_CTX *tls;              /* the controller's certificate, for the agents */
};

/* Runs the migration described by pm (borrowed) to its end. */
void migration_run(const struct migration_env *env, json_object *pm);

#endif
