/*
 * requests.h - the agent's control API, served on its unix socket.
 *
 * One REQUEST frame ({"op": ...}) per connection, answered by a RESULT or an
 * ERROR frame (migrate also streams PROGRESS frames first).  Two kinds of
 * caller reach it: root on the node through the unix socket (checked with
 * SO_PEERCRED, since every operation acts as root on the node), and the
 * controller over TCP with a certificate of the controller role (the agent
 * server checks that before it hands the frame here).
 *   ping                       -> {node, pid}
 *   ps                         -> {containers: [{name,node,ip,image,state,pid}]}
 *   run {name, image|rootfs, args?, env?}  -> container status
 *   rm {name}                  -> {removed}
 *   migrate {name, to, fault?} -> migration report
 */
#ifndef FERRY_REQUESTS_H
#define FERRY_REQUESTS_H

#include "sandbox/node.h"
#include "wire/frame.h"

/* Serves one unix-socket control connection; closes nothing (caller owns fd). */
void requests_serve(const struct node *node, int fd);
/* Answers the REQUEST frame f that arrived on c from an authorised caller. */
void requests_answer_frame(const struct node *node, struct wire_conn *c, struct wire_frame *f);

#endif
