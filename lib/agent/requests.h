/*
 * requests.h - the agent's control API, served on its unix socket.
 *
 * One REQUEST frame ({"op": ...}) per connection, answered by a RESULT or an
 * ERROR frame (migrate also streams PROGRESS frames first).  Only root may
 * call (SO_PEERCRED), since every operation acts as root on the node.
 *   ping                       -> {node, pid}
 *   ps                         -> {containers: [{name,node,ip,image,state,pid}]}
 *   run {name, image|rootfs, args?, env?}  -> container status
 *   rm {name}                  -> {removed}
 *   migrate {name, to, fault?} -> migration report
 */
#ifndef FERRY_REQUESTS_H
#define FERRY_REQUESTS_H

#include "sandbox/node.h"

/* Serves one control connection; always closes nothing (caller owns fd). */
void requests_serve(const struct node *node, int fd);

#endif
