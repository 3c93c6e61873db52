/*
 * k8sagent.h - `ferry agent --k8s`: the node agent of a Kubernetes node.
 *
 * No sandbox topology: the node's name and address come from the command
 * line, peers' addresses from each request.  It listens on
 *   unix  /run/ferry-k8s/<node>.sock (root only): REQUEST {op: migrate-pod | ping}
 *   tcp   <address>:7070, mutual TLS (lib/tls; this node's certificate, role
 *         agent, from --pki-dir, default /var/lib/ferry/pki): HELLO, then
 *         PREPARE {kind: pod} from an agent's certificate, or REQUEST
 *         {op: migrate-pod} from the controller's; anything else is refused.
 * The commit moves the pod IP's route in the namespace --host-netns names
 * (default /proc/1/ns/net; the test cluster bind-mounts the host's at
 * /run/ferry-k8s/host-netns because PID 1 there cannot be inspected).
 * Each connection is served by a forked child, like the sandbox agent.
 */
#ifndef FERRY_K8SNODE_K8SAGENT_H
#define FERRY_K8SNODE_K8SAGENT_H

#include "k8snode/podmigrate.h"

#define K8SAGENT_SOCKET_DIR "/run/ferry-k8s"

void k8sagent_socket_path(const char *node, char out[108]);
int k8sagent_run(struct k8s_agent *a, ferry_error_t *err);

#endif
