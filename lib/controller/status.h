/*
 * status.h - the status of one PodMigration, owned and written by the
 * controller through the status subresource.
 *
 * The controller keeps the whole status object in memory and sends it as a
 * JSON merge patch to .../podmigrations/NAME/status on every change, so the
 * conditions list (replaced as a whole by a merge patch) is always complete.
 * A condition's lastTransitionTime moves only when its status changes.
 */
#ifndef FERRY_CONTROLLER_STATUS_H
#define FERRY_CONTROLLER_STATUS_H

#include <stdbool.h>
#include <json-c/json.h>
#include "k8s/client.h"

struct pm_status {
	struct k8s_client *client;
	char path[512];            /* .../podmigrations/NAME/status */
	json_object *status;
};

/* existing: the object's current status (borrowed, copied) or NULL. */
void pm_status_init(struct pm_status *s, struct k8s_client *c, const char *ns, const char *name,
		    json_object *existing);
void pm_status_free(struct pm_status *s);
void pm_status_str(struct pm_status *s, const char *key, const char *value);
void pm_status_int(struct pm_status *s, const char *key, int64_t value);
void pm_status_condition(struct pm_status *s, const char *type, bool ok, const char *reason,
			 const char *message);
const char *pm_status_phase(struct pm_status *s);
/* Sets phase (and message when not NULL) and writes the status. */
int pm_status_write(struct pm_status *s, const char *phase, const char *message,
		    ferry_error_t *err);

#endif
