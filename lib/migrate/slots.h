/*
 * slots.h - per-node limits on concurrent migrations (back-pressure).
 *
 * A node runs at most FERRY_MAX_OUTGOING (default 2) migrations out of it and
 * FERRY_MAX_INCOMING (default 2) into it at a time.  A slot is an flock on one
 * of N files under FERRY_STATE/nodes/<node>/slots/<kind>/, held by the
 * process serving the migration and released when it exits, even if it dies.
 * A migration beyond the limit waits its turn before anything is frozen; its
 * report shows the wait as a "queued" phase.
 */
#ifndef FERRY_SLOTS_H
#define FERRY_SLOTS_H

#include "util/error.h"

enum slot_kind { SLOT_OUTGOING, SLOT_INCOMING };

/* An fd holding a free slot, or -1 (errno_value 0 in err: all taken). */
int slot_try_acquire(const char *node, enum slot_kind kind, ferry_error_t *err);
int slot_limit(enum slot_kind kind);

#endif
