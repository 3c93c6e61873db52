#!/bin/bash
# Proof that the test cluster works: both nodes Ready, one busybox Pod per node (placed by the
# scheduler through a nodeSelector) of RuntimeClass ferry, and the two Pods reach each other by pod
# IP (ping both ways). Also checks that the containers went through ferry-runc (its log) and that
# the addresses came from ferry-cni (its allocator) as /32s on eth0.
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
  runtimeClassName: ferry
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
for p in "smoke-${nodes[0]}:$ip1" "smoke-${nodes[1]}:$ip2"; do
  pod=${p%%:*}; ip=${p#*:}; node=${pod#smoke-}
  cid=$(KC get pod "$pod" -o jsonpath='{.status.containerStatuses[0].containerID}'); cid=${cid#containerd://}
  if grep -q " create $cid " /var/log/ferry/ferry-runc.log 2>/dev/null; then
    echo "ferry-runc: created $pod's container ${cid:0:12}"
  else echo "ferry-runc: no create of $pod's container $cid in /var/log/ferry/ferry-runc.log"; rc=1; fi
  if [ -f "$FERRY_CNI_DATA/$node/$ip" ]; then
    echo "ferry-cni: $ip allocated on $node to $(head -1 "$FERRY_CNI_DATA/$node/$ip" | cut -c1-12)"
  else echo "ferry-cni: $ip not in $FERRY_CNI_DATA/$node"; rc=1; fi
  KC exec "$pod" -- ip -4 -o addr show dev eth0 | grep -q "inet $ip/32 " || { echo "$pod: eth0 lacks $ip/32"; rc=1; }
done
echo "+ kubectl exec smoke-${nodes[0]} -- ping -c 3 $ip2"
KC exec "smoke-${nodes[0]}" -- ping -c 3 -W 2 "$ip2" || rc=1
echo "+ kubectl exec smoke-${nodes[1]} -- ping -c 3 $ip1"
KC exec "smoke-${nodes[1]}" -- ping -c 3 -W 2 "$ip1" || rc=1
KC delete pod -l app=ferry-smoke --wait=true >/dev/null
[ $rc = 0 ] && echo "smoke: OK" || echo "smoke: FAILED"
exit $rc
