#!/usr/bin/env bats
# A Deployment's redis pod with a client pod holding one TCP connection to the pod IP migrates to
# the other node: same IP, the connection unbroken (the same redis client id and source port keep
# sending), data intact (a 4 MB value hashes the same), and the ReplicaSet ends at one replica,
# the migrated pod.
load helpers

setup_file() {
  # the pod starts on k8s-node1 (k8s-node2 cordoned meanwhile): a nodeSelector would pin it there,
  # and the controller (like the target kubelet's admission) refuses a node it does not match
  KC cordon k8s-node2 >/dev/null
  KC apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: e2e-redis, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: e2e-redis}}
  template:
    metadata: {labels: {app: e2e-redis}}
    spec:
      runtimeClassName: ferry
      terminationGracePeriodSeconds: 1
      containers:
      - name: redis
        image: ferry.local/redis:7
        imagePullPolicy: Never
        command: [redis-server, --save, "", --appendonly, "no", --protected-mode, "no"]
YAML
  KC rollout status deployment/e2e-redis --timeout=90s >/dev/null || { KC uncordon k8s-node2; false; }
  KC uncordon k8s-node2 >/dev/null
  SRC=$(KC get pod -l app=e2e-redis -o jsonpath='{.items[0].metadata.name}')
  IP=$(pod_field "$SRC" .status.podIP)
  start_redis_client e2e-redis-client "$IP"
  KC exec "$SRC" -- sh -c 'head -c 3000000 /dev/urandom | base64 > /tmp/big && redis-cli -x SET big < /tmp/big >/dev/null'
  echo "$SRC" > "$BATS_FILE_TMPDIR/src"; echo "$IP" > "$BATS_FILE_TMPDIR/ip"
}

teardown_file() {
  KC uncordon k8s-node2 >/dev/null 2>&1 || true
  [ -n "${FERRY_E2E_KEEP_PODS:-}" ] && return 0
  KC delete deployment e2e-redis --wait=false >/dev/null 2>&1 || true
  KC delete pod e2e-redis-client --grace-period=0 --force >/dev/null 2>&1 || true
}

@test "redis pod migrates with its IP, its client's TCP connection and its data" {
  SRC=$(cat "$BATS_FILE_TMPDIR/src"); IP=$(cat "$BATS_FILE_TMPDIR/ip")
  sleep 1
  client_before=$(KC exec "$SRC" -- redis-cli CLIENT LIST | grep 'cmd=incr' | grep -o 'id=[0-9]* addr=[^ ]*')
  sum_before=$(KC exec "$SRC" -- sh -c 'redis-cli GET big | sha1sum')
  hits_before=$(KC exec "$SRC" -- redis-cli GET hits)
  [ -n "$client_before" ] && [ "$hits_before" -gt 0 ]

  controller_migrate default "$SRC" k8s-node2 || { cat "$BATS_FILE_TMPDIR/migrate.out"; false; }
  echo "# $(tail -1 "$BATS_FILE_TMPDIR/migrate.out")" >&3
  [ -n "$PM" ] && [ -n "$TARGET_POD" ]
  [ "$(pm_field "$PM" .status.phase)" = Succeeded ]
  [ "$(pm_field "$PM" .status.downtimeMs)" -gt 0 ]
  [ "$(pm_field "$PM" .status.bytesTransferred)" -gt 1000000 ]
  [ "$(pm_field "$PM" .status.sourceNode)" = k8s-node1 ]
  [ "$(pm_field "$PM" .status.targetNode)" = k8s-node2 ]
  [ "$(pm_field "$PM" .status.podIP)" = "$IP" ]
  # the source node's agent counts it on its Prometheus page (deploy/agent.yaml: :9465)
  curl -fsS "http://$(node_ip k8s-node1):9465/metrics" > "$BATS_FILE_TMPDIR/agent-metrics"
  grep -q '^ferry_migrations_total{phase="commit",result="succeeded"} [1-9]' "$BATS_FILE_TMPDIR/agent-metrics"
  grep -q '^ferry_migration_downtime_seconds_count [1-9]' "$BATS_FILE_TMPDIR/agent-metrics"
  grep -q '^ferry_migration_bytes_total [1-9]' "$BATS_FILE_TMPDIR/agent-metrics"

  [ "$(pod_field "$TARGET_POD" .spec.nodeName)" = k8s-node2 ]
  wait_pod_ready "$TARGET_POD"
  [ "$(pod_field "$TARGET_POD" .status.podIP)" = "$IP" ]
  sleep 1
  client_after=$(KC exec "$TARGET_POD" -- redis-cli CLIENT LIST | grep 'cmd=incr' | grep -o 'id=[0-9]* addr=[^ ]*')
  echo "# client before: $client_before; after: $client_after" >&3
  [ "$client_after" = "$client_before" ]
  [ "$(KC exec "$TARGET_POD" -- sh -c 'redis-cli GET big | sha1sum')" = "$sum_before" ]
  hits_after=$(KC exec "$TARGET_POD" -- redis-cli GET hits)
  [ "$hits_after" -gt "$hits_before" ]
  # the client saw every INCR answer in sequence: no error, no gap, no reconnect
  KC logs e2e-redis-client > "$BATS_FILE_TMPDIR/client.log"
  ! grep -qv '^[0-9][0-9]*$' "$BATS_FILE_TMPDIR/client.log" || false
  awk 'NR > 1 && $1 != prev + 1 { bad = 1 } { prev = $1 } END { exit bad }' "$BATS_FILE_TMPDIR/client.log"

  # the controller's hand-over: the source is gone, the ReplicaSet owns the migrated pod and the
  # Deployment is back at its one desired replica, that pod, Ready (and stays so)
  echo "$TARGET_POD" > "$BATS_FILE_TMPDIR/src"
  echo "$client_before" > "$BATS_FILE_TMPDIR/client"; echo "$sum_before" > "$BATS_FILE_TMPDIR/sum"
  run KC get pod "$SRC"
  [ "$status" -ne 0 ]
  sleep 3
  [ "$(KC get pod -l app=e2e-redis -o jsonpath='{.items[*].metadata.name}')" = "$TARGET_POD" ]
  [ "$(KC get deployment e2e-redis -o jsonpath='{.status.replicas}')" = 1 ]
  [ "$(KC get deployment e2e-redis -o jsonpath='{.status.readyReplicas}')" = 1 ]
  [ "$(KC get pod "$TARGET_POD" -o jsonpath='{.metadata.ownerReferences[0].kind}')" = ReplicaSet ]
  [ "$(KC get pod "$TARGET_POD" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
  [ -z "$(KC get pod "$TARGET_POD" -o jsonpath='{.metadata.labels.ferry\.dev/held-app}')" ]
  # the client's one connection is still the same after the hand-over
  client_after=$(KC exec "$TARGET_POD" -- redis-cli CLIENT LIST | grep 'cmd=incr' | grep -o 'id=[0-9]* addr=[^ ]*')
  [ "$client_after" = "$client_before" ]
  # the kubelet tears the deleted source pod's sandbox down on k8s-node1 (before the pod comes back)
  wait_sandbox_gone k8s-node1 "$SRC"
}

@test "... and back to its first node (the address it left there is taken back)" {
  SRC=$(cat "$BATS_FILE_TMPDIR/src"); IP=$(cat "$BATS_FILE_TMPDIR/ip")
  [ "$(pod_field "$SRC" .spec.nodeName)" = k8s-node2 ]
  hits_before=$(KC exec "$SRC" -- redis-cli GET hits)
  migrate_pod default "$SRC" k8s-node1
  echo "# $(report_phases)" >&3
  [ "$(report 'r["result"]')" = ok ]
  wait_pod_ready "$TARGET_POD"
  [ "$(pod_field "$TARGET_POD" .spec.nodeName)" = k8s-node1 ]
  [ "$(pod_field "$TARGET_POD" .status.podIP)" = "$IP" ]
  sleep 1
  client_after=$(KC exec "$TARGET_POD" -- redis-cli CLIENT LIST | grep 'cmd=incr' | grep -o 'id=[0-9]* addr=[^ ]*')
  echo "# client before: $(cat "$BATS_FILE_TMPDIR/client"); after: $client_after" >&3
  [ "$client_after" = "$(cat "$BATS_FILE_TMPDIR/client")" ]
  [ "$(KC exec "$TARGET_POD" -- sh -c 'redis-cli GET big | sha1sum')" = "$(cat "$BATS_FILE_TMPDIR/sum")" ]
  [ "$(KC exec "$TARGET_POD" -- redis-cli GET hits)" -gt "$hits_before" ]
  KC logs e2e-redis-client > "$BATS_FILE_TMPDIR/client.log"
  awk 'NR > 1 && $1 != prev + 1 { bad = 1 } { prev = $1 } END { exit bad }' "$BATS_FILE_TMPDIR/client.log"
  # (driven by `ferry pod-migrate`, so the source pod stays until the hand-over below)
  # the source node runs nothing of the pod any more, and would not restart it
  for i in $(seq 1 30); do
    [ -z "$(pod_field "$SRC" '.status.containerStatuses[0].state.running')" ] && break; sleep 0.5
  done
  [ -z "$(pod_field "$SRC" '.status.containerStatuses[0].state.running')" ]
  # ... and the kubelet says why (ferry-runc's error reaches containerd through runc's --log)
  for i in $(seq 1 30); do
    KC get events --field-selector "involvedObject.name=$SRC" -o jsonpath='{.items[*].message}' |
      grep -q "migrated away from this node by ferry" && break
    sleep 0.5
  done
  KC get events --field-selector "involvedObject.name=$SRC" -o jsonpath='{.items[*].message}' |
    grep -q "migrated away from this node by ferry"
  finish_replicaset_migration default "$SRC" "$TARGET_POD"
  sleep 3
  [ "$(KC get pod -l app=e2e-redis -o jsonpath='{.items[*].metadata.name}')" = "$TARGET_POD" ]
}

@test "the controller refuses a PodMigration for a pod or a node that does not exist: Failed, pod untouched" {
  SRC=$(KC get pod -l app=e2e-redis -o jsonpath='{.items[0].metadata.name}')
  [ -n "$SRC" ]
  KC delete podmigration e2e-ghost-pod e2e-ghost-node --ignore-not-found >/dev/null
  KC apply -f - >/dev/null <<YAML
apiVersion: ferry.dev/v1alpha1
kind: PodMigration
metadata: {name: e2e-ghost-pod, namespace: default}
spec: {podName: e2e-no-such-pod, targetNode: k8s-node2}
---
apiVersion: ferry.dev/v1alpha1
kind: PodMigration
metadata: {name: e2e-ghost-node, namespace: default}
spec: {podName: $SRC, targetNode: k8s-node9}
YAML
  for i in $(seq 1 60); do
    [ "$(pm_field e2e-ghost-pod .status.phase)" = Failed ] && [ "$(pm_field e2e-ghost-node .status.phase)" = Failed ] && break
    sleep 0.5
  done
  echo "# e2e-ghost-pod: $(pm_field e2e-ghost-pod .status.phase): $(pm_field e2e-ghost-pod .status.message)" >&3
  echo "# e2e-ghost-node: $(pm_field e2e-ghost-node .status.phase): $(pm_field e2e-ghost-node .status.message)" >&3
  [ "$(pm_field e2e-ghost-pod .status.phase)" = Failed ]
  [ "$(pm_field e2e-ghost-pod .status.message)" = 'pod "e2e-no-such-pod" not found in namespace default' ]
  [ "$(pm_field e2e-ghost-node .status.phase)" = Failed ]
  [ "$(pm_field e2e-ghost-node .status.message)" = 'target node "k8s-node9" not found' ]
  # nothing was created or marked; the pod still serves on its node
  [ -z "$(pm_field e2e-ghost-node .status.targetPod)" ]
  [ -z "$(pod_field "$SRC" '.metadata.annotations.ferry\.dev/migrating')" ]
  [ "$(KC get pod -l app=e2e-redis -o jsonpath='{.items[*].metadata.name}')" = "$SRC" ]
  [ "$(KC exec "$SRC" -- redis-cli PING)" = PONG ]
  KC delete podmigration e2e-ghost-pod e2e-ghost-node >/dev/null
}
