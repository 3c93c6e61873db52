/*
 * names.h - the annotations, labels and names of ferry's Kubernetes objects
 * (the contract shared with the agent, ferry-runc and the CNI plugin; see
 * docs/kubernetes.md) and the pure helpers that derive target pod names and
 * held labels.
 */
#ifndef FERRY_CONTROLLER_NAMES_H
#define FERRY_CONTROLLER_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include "util/error.h"

#define FERRY_GROUP_VERSION "ferry.dev/v1alpha1"
#define FERRY_PM_RESOURCE "podmigrations"
#define FERRY_RUNTIME_CLASS "ferry"
#define FERRY_AGENT_LABEL "ferry.dev/agent"
#define FERRY_AGENT_READY "ready"
#define FERRY_ANN_MIGRATION "ferry.dev/migration"
#define FERRY_ANN_RESTORE "ferry.dev/restore"
#define FERRY_ANN_POD_IP "ferry.dev/pod-ip"
#define FERRY_ANN_SOURCE_POD "ferry.dev/source-pod"
#define FERRY_ANN_MIGRATING "ferry.dev/migrating"   /* on the source pod while a migration runs */
#define FERRY_ANN_SHARED "ferry.dev/shared"         /* "true" on a PV that every node mounts */
#define FERRY_HELD_PREFIX "ferry.dev/held-"
#define FERRY_DELETION_COST "controller.kubernetes.io/pod-deletion-cost"
#define FERRY_AGENT_PORT 7070

/* "<source>-<5 random [a-z0-9]>", the source truncated so the whole fits 63
 * characters (and does not end in '-'). rnd supplies 5 random bytes. */
int names_target_pod(const char *source, const unsigned char rnd[5], char out[64],
		     ferry_error_t *err);
/* The held form of a label key: "ferry.dev/held-" + key with '/' turned into
 * '_' (label names allow one '/'); -1 when the result would not be a valid
 * label key (name part over 63 characters). */
int names_held_label(const char *key, char *out, size_t size, ferry_error_t *err);
/* A new PodMigration name for a pod: "<pod>-<5 random>", at most 253. */
int names_migration(const char *pod, const unsigned char rnd[5], char *out, size_t size);
/* 5 random bytes from getrandom(2). */
void names_random(unsigned char rnd[5]);

#endif
