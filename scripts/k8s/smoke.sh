#!/bin/bash
# Proof that the test cluster works: both nodes Ready, one busybox Pod per node (placed by the
# scheduler through a nodeSelector), and the two Pods reach each other by pod IP (ping both ways).
# usage: scripts/k8s/smoke.sh   (after cluster-up.sh; leaves no pods behind)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
KC() { "$HERE/kubectl.sh" "$@"; }
KC get nodes -o wide
nodes=($K8S_NODES)
for n in "${nodes[@]}"; do
  KC apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: smoke-$n, namespace: default, labels: {app: ferry-smoke}}
spec:
  nodeSelector: {kubernetes.io/hostname: $n}
  terminationGracePeriodSeconds: 1
  containers:
  - name: bb
    image: ferry.local/busybox:1.35
    imagePullPolicy: Never
    command: [sleep, "100000"]
YAML
done
KC wait --for=condition=Ready pod -l app=ferry-smoke --timeout=120s >/dev/null
KC get pods -o wide -l app=ferry-smoke
ip1=$(KC get pod "smoke-${nodes[0]}" -o jsonpath='{.status.podIP}')
ip2=$(KC get pod "smoke-${nodes[1]}" -o jsonpath='{.status.podIP}')
rc=0
echo "+ kubectl exec smoke-${nodes[0]} -- ping -c 3 $ip2"
KC exec "smoke-${nodes[0]}" -- ping -c 3 -W 2 "$ip2" || rc=1
echo "+ kubectl exec smoke-${nodes[1]} -- ping -c 3 $ip1"
KC exec "smoke-${nodes[1]}" -- ping -c 3 -W 2 "$ip1" || rc=1
KC delete pod -l app=ferry-smoke --wait=true >/dev/null
[ $rc = 0 ] && echo "smoke: OK" || echo "smoke: FAILED"
exit $rc
