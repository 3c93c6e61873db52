#!/usr/bin/env bats
# The target node's kubelet stops before the controller creates the target pod there: the
# migration fails before its commit point (the PodMigration ends Failed with a clear message), and
# the source pod keeps serving (same IP, route unchanged, its client's connection alive, nothing
# left frozen).  The kubelet is started again afterwards.
load helpers

setup_file() {
  KC apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: e2e-fail, namespace: default}
spec:
  nodeName: k8s-node1
  runtimeClassName: ferry
  terminationGracePeriodSeconds: 1
  containers:
  - name: redis
    image: ferry.local/redis:7
    imagePullPolicy: Never
    command: [redis-server, --save, "", --appendonly, "no", --protected-mode, "no"]
YAML
  wait_pod_ready e2e-fail
  IP=$(pod_field e2e-fail .status.podIP)
  start_redis_client e2e-fail-client "$IP"
}

teardown_file() {
  # restart the kubelet; 3>&- so that it does not hold bats' output pipe open
  "$REPO/scripts/k8s/cluster-up.sh" "$(cat "$K8S_STATE/version")" >/dev/null 2>&1 3>&- || true
  KC delete pod e2e-fail e2e-fail-client --grace-period=0 --force >/dev/null 2>&1 || true
  [ -n "$(cat "$BATS_FILE_TMPDIR/target" 2>/dev/null)" ] && \
    KC delete pod "$(cat "$BATS_FILE_TMPDIR/target")" --grace-period=0 --force >/dev/null 2>&1 || true
}

@test "target kubelet stopped midway: migration fails, the source keeps serving" {
  IP=$(pod_field e2e-fail .status.podIP)
  sleep 1
  client_before=$(KC exec e2e-fail -- redis-cli CLIENT LIST | grep 'cmd=incr' | grep -o 'id=[0-9]* addr=[^ ]*')
  hits_before=$(KC exec e2e-fail -- redis-cli GET hits)
  stop_proc kubelet-k8s-node2
  # through the controller (kubectl migrate --wait): the PodMigration ends Failed with the
  # agent's reason, kubectl-migrate exits 1, the target pod is deleted, the source unmarked
  rc=0
  # (spec.timeoutSeconds 50: the target agent waits 17 s for the target pod's sandbox)
  MIGRATE_TIMEOUT=50 controller_migrate default e2e-fail k8s-node2 || rc=$?
  echo "$TARGET_POD" > "$BATS_FILE_TMPDIR/target"
  echo "# kubectl migrate: exit $rc; $PM: $(pm_field "$PM" .status.phase): $(pm_field "$PM" .status.message)" >&3
  [ "$rc" -eq 1 ]
  [ -n "$PM" ] && [ -n "$TARGET_POD" ]
  [ "$(pm_field "$PM" .status.phase)" = Failed ]
  [[ "$(pm_field "$PM" .status.message)" == *"did not start"* ]]
  run KC get pod "$TARGET_POD"
  [ "$status" -ne 0 ]
  [ -z "$(pod_field e2e-fail '.metadata.annotations.ferry\.dev/migrating')" ]
  # nothing moved, nothing frozen: the route still leads to node1, the client still talks to it
  ! ip route show "$IP/32" | grep -q "via $(node_ip k8s-node2)" || false
  sleep 1
  [ "$(KC exec e2e-fail -- redis-cli PING)" = PONG ]
  client_after=$(KC exec e2e-fail -- redis-cli CLIENT LIST | grep 'cmd=incr' | grep -o 'id=[0-9]* addr=[^ ]*')
  [ "$client_after" = "$client_before" ]
  hits_after=$(KC exec e2e-fail -- redis-cli GET hits)
  [ "$hits_after" -gt "$hits_before" ]
  KC logs e2e-fail-client > "$BATS_FILE_TMPDIR/client.log"
  awk 'NR > 1 && $1 != prev + 1 { bad = 1 } { prev = $1 } END { exit bad }' "$BATS_FILE_TMPDIR/client.log"
}
