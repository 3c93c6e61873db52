/*
 * pmclient.h - the user's side of PodMigrations (kubectl-migrate, ferry
 * drain): create one, read it back, describe its state in a line.
 */
#ifndef FERRY_CONTROLLER_PMCLIENT_H
#define FERRY_CONTROLLER_PMCLIENT_H

#include <stdbool.h>
#include <json-c/json.h>
#include "k8s/client.h"

struct pm_request {
	const char *ns, *pod, *target_node, *mode;
	int timeout_seconds;       /* 0: the CRD default */
};

/* Creates a PodMigration named <pod>-<5 random>; returns it (new reference). */
json_object *pmclient_create(struct k8s_client *c, const struct pm_request *r, ferry_error_t *err);
json_object *pmclient_get(struct k8s_client *c, const char *ns, const char *name, ferry_error_t *err);
/* true once status.phase is Succeeded or Failed */
bool pmclient_done(json_object *pm);
/* "Succeeded: migrated web-1 to node2 as web-1-x7k2p (downtime 212 ms, 5.2 MiB)" */
void pmclient_summary(json_object *pm, char *out, size_t size);

#endif
