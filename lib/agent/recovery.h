/*
 * recovery.h - what an agent does when it starts: finish or undo the
 * migrations its previous incarnation was part of.
 *
 * An agent killed in the middle of a migration leaves state behind: a source
 * container paused behind its traffic lock, a half-built target pod, scratch
 * images.  At start, before serving anything, the agent settles each one by
 * the rule that decides every migration: the host route of the pod IP.
 *   - a paused container whose pod IP is not routed to another node (it still
 *     points here, or at the vanished packet-hold device) was never handed
 *     over: its lock is lifted, the route restored, and it resumes;
 *   - a paused container whose pod IP is routed to another node was handed
 *     over (the commit happened): the local copy is removed;
 *   - a pod namespace or runc container with no record is a target that never
 *     got to restore: removed;
 *   - scratch directories are removed (their CRIU logs are kept).
 * Never two live copies, never none.
 */
#ifndef FERRY_RECOVERY_H
#define FERRY_RECOVERY_H

#include "sandbox/node.h"

void recovery_run(const struct node *n);

#endif
