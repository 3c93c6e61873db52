#!/bin/bash
# Install ferry into the test cluster.
#   install-ferry.sh binaries   build/ferry -> /opt/ferry/bin/ferry, with its personalities
#                               ferry-runc (containerd runtime `ferry`) and ferry-cni, and the CNI
#                               bin dir /opt/ferry/cni/bin (ferry-cni + the loopback plugin containerd
#                               runs for every sandbox). Atomic per file: running pods are not disturbed.
#                               Also the agents' certificates (ferry pki, /var/lib/ferry/pki/<node>.crt).
#   install-ferry.sh objects    kubectl apply -f deploy/ (as a user would: RuntimeClass, agent
#                               DaemonSet), this cluster's agent settings, labels every node
#                               ferry.dev/agent=ready, waits for the agents' sockets.
#                               FERRY_AGENT=host runs the agents as host processes instead.
#                               Then the controller Deployment: its TLS Secret, the API server's
#                               address, waits for a leader.
# Idempotent; root.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
. "$HERE/common.sh"

binaries() {
  [ -x "$REPO/build/ferry" ] || make -C "$REPO" build/ferry >/dev/null
  mkdir -p "$FERRY_OPT/bin" "$FERRY_OPT/cni/bin" "$FERRY_CNI_DATA" /var/log/ferry
  install -m 0755 "$REPO/build/ferry" "$FERRY_OPT/bin/.ferry.new"
  mv -f "$FERRY_OPT/bin/.ferry.new" "$FERRY_OPT/bin/ferry"
  ln -sfn ferry "$FERRY_OPT/bin/ferry-runc"
  ln -sfn ferry "$FERRY_OPT/bin/ferry-cni"
  ln -sfn "$FERRY_OPT/bin/ferry" "$FERRY_OPT/cni/bin/ferry-cni"
  ln -sfn /usr/lib/cni/loopback "$FERRY_OPT/cni/bin/loopback"
  # the agents' TLS identities (mutual TLS on port 7070): the installation's CA (kept if there is
  # one), one certificate per node with role agent and the node's address
  "$FERRY_OPT/bin/ferry" pki init >/dev/null
  for n in $K8S_NODES; do
    [ -f "/var/lib/ferry/pki/$n.crt" ] ||
      "$FERRY_OPT/bin/ferry" pki issue --name "$n" --role agent --ip "$(node_ip "$n")" >/dev/null
  done
  # the controller's identity towards the agents: same CA, role controller
  [ -f /var/lib/ferry/pki/controller.crt ] ||
    "$FERRY_OPT/bin/ferry" pki issue --name controller --role controller >/dev/null
  log "ferry installed in $FERRY_OPT ($(sha256sum "$FERRY_OPT/bin/ferry" | cut -c1-12))"
}

objects() {
  # the host's network namespace, where this cluster's fabric routes live (its PID 1 cannot be
  # inspected here, so /proc/1/ns/net does not work): bind-mounted for the agents
  mkdir -p /run/ferry-k8s
  if ! mountpoint -q /run/ferry-k8s/host-netns 2>/dev/null; then
    touch /run/ferry-k8s/host-netns && mount --bind /proc/self/ns/net /run/ferry-k8s/host-netns
  fi
  "$HERE/kubectl.sh" apply -f "$REPO/deploy/"
  # this cluster's settings for the agent DaemonSet: per-node containerd state, the host netns
  # (PID 1 here cannot be inspected: the host's mount namespace is reached through a process of
  # this cluster that runs in it, etcd)
  local etcd; etcd=$(pid_alive etcd) || die "etcd is not running"
  "$HERE/kubectl.sh" -n ferry-system set env daemonset/ferry-agent \
    'FERRY_RUNC_ROOT=/run/k8s-cluster/$(NODE_NAME)/runc/k8s.io' \
    FERRY_HOST_NETNS=/run/ferry-k8s/host-netns FERRY_HOST_MNT="/proc/$etcd/ns/mnt" >/dev/null
  for n in $K8S_NODES; do
    "$HERE/kubectl.sh" label node "$n" ferry.dev/agent=ready --overwrite >/dev/null
  done
  if [ "${FERRY_AGENT:-daemonset}" = daemonset ]; then
    "$HERE/agents.sh" stop
    "$HERE/kubectl.sh" -n ferry-system patch daemonset/ferry-agent --type json \
      -p '[{"op":"remove","path":"/spec/template/spec/nodeSelector"}]' >/dev/null 2>&1 || true
    "$HERE/kubectl.sh" -n ferry-system rollout status daemonset/ferry-agent --timeout=120s >/dev/null
  else
    # FERRY_AGENT=host: the same agents as host processes (agents.sh), the DaemonSet kept off
    # every node by a node selector no node has (for debugging an agent outside Kubernetes)
    "$HERE/kubectl.sh" -n ferry-system patch daemonset/ferry-agent --type merge \
      -p '{"spec":{"template":{"spec":{"nodeSelector":{"ferry.dev/agent-daemonset":"on"}}}}}' >/dev/null
    "$HERE/kubectl.sh" -n ferry-system rollout status daemonset/ferry-agent --timeout=60s >/dev/null
    "$HERE/agents.sh" start
  fi
  for n in $K8S_NODES; do
    for i in $(seq 1 100); do [ -S "/run/ferry-k8s/$n.sock" ] && break; sleep 0.1; done
    [ -S "/run/ferry-k8s/$n.sock" ] || die "the ferry agent of $n has no socket"
  done
  controller
}

# The controller Deployment of deploy/controller.yaml, as docs/kubernetes.md installs it: its TLS
# Secret (controller certificate + the CA the agents' certificates come from), and this cluster's
# one difference: there is no kube-proxy, so the `kubernetes` Service IP (10.97.128.1) is not
# routed; the controller's own container env points its in-cluster config at the API server's
# real address (a container's env wins over the service env the kubelet injects). It still
# authenticates with its ServiceAccount token, i.e. with the RBAC of deploy/controller.yaml.
controller() {
  local pki=/var/lib/ferry/pki
  "$HERE/kubectl.sh" -n ferry-system create secret generic ferry-controller-pki \
    --from-file="$pki/controller.crt" --from-file="$pki/controller.key" --from-file="$pki/ca.crt" \
    --dry-run=client -o yaml | "$HERE/kubectl.sh" apply -f - >/dev/null
  "$HERE/kubectl.sh" -n ferry-system set env deployment/ferry-controller \
    KUBERNETES_SERVICE_HOST="$K8S_HOST_IP" KUBERNETES_SERVICE_PORT="$K8S_APISERVER_PORT" >/dev/null
  "$HERE/kubectl.sh" -n ferry-system rollout status deployment/ferry-controller --timeout=120s >/dev/null
  # one replica holds the Lease
  for i in $(seq 1 60); do
    "$HERE/kubectl.sh" -n ferry-system get lease ferry-controller \
      -o jsonpath='{.spec.holderIdentity}' 2>/dev/null | grep -q . && return 0
    sleep 1
  done
  die "no ferry controller took the Lease ferry-system/ferry-controller"
}

case "${1:-}" in
  binaries) binaries ;;
  objects) objects ;;
  *) echo "usage: $0 binaries|objects" >&2; exit 2 ;;
esac
