/*
 * tcprepair.h - taking a container's TCP sockets out of repair mode.
 *
 * CRIU puts every TCP socket of the dumped processes into repair mode while
 * it dumps them (a socket in repair mode sends nothing, not even a reset),
 * and takes them out again at the end of a --leave-running dump.  A CRIU
 * that is killed in between (a rollback that cannot wait for it) leaves them
 * there, and the source's connections would hang forever once resumed.  This
 * module fetches each socket of the container's processes with
 * pidfd_getfd(2) and turns repair mode off, the step CRIU did not get to.
 */
#ifndef FERRY_TCPREPAIR_H
#define FERRY_TCPREPAIR_H

#include "util/error.h"

/* procs_file: the cgroup.procs file of the container's cgroup.  Returns the
 * number of sockets released, or -1. */
int tcp_repair_release(const char *procs_file, ferry_error_t *err);

#endif
