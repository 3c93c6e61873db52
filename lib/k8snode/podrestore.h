/*
 * podrestore.h - what ferry-runc does instead of `runc create` for the
 * containers of a migration's target pod (annotation ferry.dev/restore), and
 * the facts about a container it reads from containerd's config.json.
 *
 *  - an app container (listed in the staging dir's `containers`): wait,
 *    bounded, for the agent to mark its checkpoint ready, lay the source's
 *    writable layer over the new overlay upperdir, then `runc restore
 *    --detach` with containerd's bundle, pid file, console socket and root;
 *    `start` of that container is then a no-op (it is already running).
 *  - any other container of the pod (init containers): its process becomes
 *    a tiny static program that exits 0, bind-mounted into the container,
 *    so the pod's init sequence completes at once without running again.
 */
#ifndef FERRY_K8SNODE_PODRESTORE_H
#define FERRY_K8SNODE_PODRESTORE_H

#include <stdbool.h>
#include "k8snode/runcshim.h"

#define POD_RESTORE_MAX 16

#define ANN_CONTAINER_TYPE "io.kubernetes.cri.container-type"
#define ANN_SANDBOX_ID "io.kubernetes.cri.sandbox-id"
#define ANN_SANDBOX_NAME "io.kubernetes.cri.sandbox-name"
#define ANN_SANDBOX_NAMESPACE "io.kubernetes.cri.sandbox-namespace"
#define ANN_CONTAINER_NAME "io.kubernetes.cri.container-name"
#define ANN_FERRY_RESTORE "ferry.dev/restore"

struct cri_container {
	char type[16];          /* "sandbox" or "container" ("" outside Kubernetes) */
	char sandbox_id[128];   /* for a sandbox: its own id */
	char namespace[64];
	char pod[256];
	char name[64];          /* container name ("" for a sandbox) */
	bool restore;           /* ferry.dev/restore = "true" */
};

/* Reads <bundle>/config.json's annotations. */
int podrestore_read(const char *bundle, struct cri_container *c, ferry_error_t *err);

/* Restore-on-create: returns runc restore's exit status (0 on success), or
 * -1 with err set before runc ran. */
int podrestore_create(const struct runc_call *call, const struct cri_container *c,
		      ferry_error_t *err);
/* Was container id restored by podrestore_create (<state>/restored/<id>)? */
bool podrestore_was_restored(const char *id);
/* Forgets that (at `delete`). */
void podrestore_forget(const char *id);
/* Makes the bundle's process an exit-0 program (init containers). */
int podrestore_neutralize(const char *bundle, const struct cri_container *c, ferry_error_t *err);
/* Seconds ferry-runc waits for the agent ($FERRY_RESTORE_WAIT_SECONDS, default 120) */
int podrestore_wait_ms(void);

#endif
