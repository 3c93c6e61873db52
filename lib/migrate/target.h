/*
 * target.h - the target side of a migration: one incoming peer connection.
 *
 * The target prepares the pod (network namespace with the pod's IP, traffic
 * held by a lock, bundle), receives images, writable layer and log, restores
 * with runc, reports RESTORED and waits for the source's COMMIT before it
 * lets traffic flow.  Without a COMMIT it removes what it built, unless the
 * pod's host route already points here (the source committed and the
 * connection failed afterwards): the route is the record of ownership.
 */
#ifndef FERRY_TARGET_H
#define FERRY_TARGET_H

#include "sandbox/node.h"
#include "util/error.h"
#include "wire/frame.h"

/* Serves one migration whose PREPARE frame the caller has read from conn
 * (after HELLO) and hands over in prepare_frame.  peer names the source. */
int migrate_target(const struct node *node, struct wire_conn *conn, const char *peer,
		   struct wire_frame *prepare_frame, ferry_error_t *err);

#endif
