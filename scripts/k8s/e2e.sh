#!/bin/bash
# End-to-end tests of ferry on the real test cluster: cluster up (K8S_VERSION), ferry installed
# (binaries + kubectl apply -f deploy/: RuntimeClass, agent DaemonSet, controller Deployment),
# tests/e2e/*.bats, cluster down.
# usage: scripts/k8s/e2e.sh [VERSION]   (default $K8S_VERSION or 1.30.14)
#   FERRY_E2E_KEEP=1  leave the cluster up afterwards;  FERRY_E2E_FILTER=REGEX  bats --filter
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
. "$HERE/common.sh"
V="${1:-${K8S_VERSION:-1.30.14}}"
command -v bats >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bats >/dev/null; }
make -C "$REPO" build/ferry >/dev/null
"$HERE/cluster-up.sh" "$V"                     # installs ferry: binaries, kubectl apply -f deploy/
"$HERE/install-ferry.sh" binaries              # a cluster that was up: this build's ferry...
if [ "${FERRY_AGENT:-daemonset}" = daemonset ]; then  # ...and agents running it
  "$HERE/kubectl.sh" -n ferry-system rollout restart daemonset/ferry-agent >/dev/null
else
  "$HERE/agents.sh" stop
fi
"$HERE/kubectl.sh" -n ferry-system rollout restart deployment/ferry-controller >/dev/null  # this build
"$HERE/install-ferry.sh" objects >/dev/null   # waits for the agents, the controller and its leader
"$HERE/redis-image.sh"
rc=0
args=(); [ -n "${FERRY_E2E_FILTER:-}" ] && args=(--filter "$FERRY_E2E_FILTER")
log "e2e on Kubernetes $V"
bats --timing "${args[@]}" "$REPO/tests/e2e" || rc=$?
if [ "${FERRY_E2E_KEEP:-0}" != 1 ]; then "$HERE/cluster-down.sh"; fi
[ $rc = 0 ] && log "e2e $V: PASSED" || log "e2e $V: FAILED"
exit $rc
