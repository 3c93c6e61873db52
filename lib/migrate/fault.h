/*
 * fault.h - test-only fault injection for migrations (`ferry migrate --fault`).
 *
 * Each fault makes a real failure happen at a chosen point, so the failure
 * suites exercise the same code paths a crash or an outage would: a socket
 * shut down, CRIU or a whole agent killed with SIGKILL, a filesystem that is
 * really full.  A spec is either a plain name or KIND@PHASE:
 *
 *   cut-transfer          the connection to the target is shut down mid-dump
 *   kill-criu             runc and CRIU are killed mid-dump
 *   fill-source-disk      an 8 KiB tmpfs under the source's images
 *   fill-target-disk      a 64 KiB tmpfs under the target's images
 *   fail-restore          the target's restore fails (an image removed)
 *   stall-target          the target sleeps 10 s once data flows
 *   cut@PHASE             the source shuts the connection down as PHASE starts
 *   kill-source@PHASE     the source agent (its whole process group) is killed
 *                         as PHASE starts
 *   kill-target@PHASE     the target agent is killed when it reaches PHASE
 *
 * PHASE is one of the source's phases: prepare, freeze, dump, rootfs,
 * restore, commit, postcopy (kill-target: prepare, dump, rootfs, restore,
 * commit, postcopy, the points a target can see).  The spec travels to the
 * target in PREPARE.  Parsed once; the engine asks fault_at() at each point.
 */
#ifndef FERRY_MIGRATE_FAULT_H
#define FERRY_MIGRATE_FAULT_H

#include <stdbool.h>
#include "util/error.h"

enum fault_kind {
	FAULT_NONE,
	FAULT_CUT_TRANSFER,
	FAULT_KILL_CRIU,
	FAULT_FILL_SOURCE_DISK,
	FAULT_FILL_TARGET_DISK,
	FAULT_FAIL_RESTORE,
	FAULT_STALL_TARGET,
	FAULT_CUT_AT,
	FAULT_KILL_SOURCE_AT,
	FAULT_KILL_TARGET_AT,
};

struct fault {
	enum fault_kind kind;
	char phase[16];   /* for the KIND@PHASE faults */
	char spec[48];    /* as given, for PREPARE */
};

/* Parses spec ("" or NULL: no fault); a clear error for anything unknown. */
int fault_parse(const char *spec, struct fault *f, ferry_error_t *err);
bool fault_is(const struct fault *f, enum fault_kind kind);
/* True once for a KIND@PHASE fault when phase is reached (then disarmed). */
bool fault_at(struct fault *f, enum fault_kind kind, const char *phase);
/* Kills this agent: SIGKILL to the calling process's group (the agent and
 * its connection handlers, not the runc/CRIU sessions it started). */
void fault_kill_own_agent(void);

#endif
