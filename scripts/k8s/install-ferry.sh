#!/bin/bash
# Install ferry into the test cluster.
#   install-ferry.sh binaries   build/ferry -> /opt/ferry/bin/ferry, with its personalities
#                               ferry-runc (containerd runtime `ferry`) and ferry-cni, and the CNI
#                               bin dir /opt/ferry/cni/bin (ferry-cni + the loopback plugin containerd
#                               runs for every sandbox). Atomic per file: running pods are not disturbed.
#   install-ferry.sh objects    kubectl apply -f deploy/ (as a user would), then labels every node
#                               ferry.dev/agent=ready
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
  log "ferry installed in $FERRY_OPT ($(sha256sum "$FERRY_OPT/bin/ferry" | cut -c1-12))"
}

objects() {
  "$HERE/kubectl.sh" apply -f "$REPO/deploy/"
  for n in $K8S_NODES; do
    "$HERE/kubectl.sh" label node "$n" ferry.dev/agent=ready --overwrite >/dev/null
  done
}

case "${1:-}" in
  binaries) binaries ;;
  objects) objects ;;
  *) echo "usage: $0 binaries|objects" >&2; exit 2 ;;
esac
