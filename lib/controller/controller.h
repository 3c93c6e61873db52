/*
 * controller.h - `ferry controller`: the PodMigration controller process.
 *
 * Leader election first (Lease <lease-namespace>/ferry-controller): only the
 * leader watches PodMigrations and runs migrations, one thread each.  A
 * leader that cannot renew its lease within the lease duration exits (the
 * Deployment restarts it as a candidate), so two controllers never act at
 * once.  On SIGTERM/SIGINT the leader gives the lease up for a fast
 * hand-over.  A new leader that finds a migration left mid-way by its
 * predecessor (phase Preparing/Transferring/Restoring, not its own) marks it
 * Failed: only the agent knows whether that one committed, and the agent's
 * commit protocol keeps the workload whole either way.
 *
 * Every replica serves the pod admission webhook (webhookserver.h) on its
 * own address; the leader registers its own in the
 * MutatingWebhookConfiguration, retried until it is written.
 */
#ifndef FERRY_CONTROLLER_CONTROLLER_H
#define FERRY_CONTROLLER_CONTROLLER_H

#include "util/error.h"

struct controller_opts {
	const char *kubeconfig;
	const char *namespace;        /* NULL: all namespaces */
	const char *metrics_addr;     /* ":9464"; "" = off */
	const char *pki_dir;
	const char *identity;         /* lease holder identity; default hostname_pid */
	const char *lease_namespace;  /* default: the config's namespace */
	const char *lease_name;       /* default ferry-controller */
	int lease_seconds;            /* default 15 */
	int agent_port;               /* default 7070 */
	int watch_timeout;            /* server-side watch timeout, default 300 */
	const char *webhook_ip;       /* the address the API server calls (default $POD_IP);
				       * NULL/"" = no webhook: StatefulSet pods are refused */
	int webhook_port;             /* default 9443; 0 = no webhook */
};

int controller_run(const struct controller_opts *o, ferry_error_t *err);

#endif
