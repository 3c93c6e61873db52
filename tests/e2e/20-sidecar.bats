#!/usr/bin/env bats
# A two-container pod: redis keeping its append-only file in a shared emptyDir, and a sidecar that
# talks to it over localhost on one TCP connection.  Both move together (one freeze for the whole
# pod): same IP, the sidecar's connection survives, the emptyDir's files come along (redis keeps
# appending to the same AOF), and the sidecar reads what redis wrote into the emptyDir.
load helpers

setup_file() {
  KC apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: e2e-pair, namespace: default, labels: {app: e2e-pair}}
spec:
  nodeName: k8s-node1
  runtimeClassName: ferry
  terminationGracePeriodSeconds: 1
  volumes:
  - {name: shared, emptyDir: {}}
  containers:
  - name: redis
    image: ferry.local/redis:7
    imagePullPolicy: Never
    command: [redis-server, --dir, /shared, --appendonly, "yes", --appendfsync, always, --save, "", --protected-mode, "no"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  - name: sidecar
    image: ferry.local/redis:7
    imagePullPolicy: Never
    command: [redis-cli, -h, 127.0.0.1, -r, "-1", -i, "0.05", INCR, hits]
    volumeMounts: [{name: shared, mountPath: /shared}]
YAML
  wait_pod_ready e2e-pair
}

teardown_file() {
  KC delete pod e2e-pair --grace-period=0 --force >/dev/null 2>&1 || true
  [ -n "$(cat "$BATS_FILE_TMPDIR/target" 2>/dev/null)" ] && \
    KC delete pod "$(cat "$BATS_FILE_TMPDIR/target")" --grace-period=0 --force >/dev/null 2>&1 || true
}

@test "a pod with a sidecar over localhost and a shared emptyDir migrates as one" {
  IP=$(pod_field e2e-pair .status.podIP)
  sleep 1
  client_before=$(KC exec e2e-pair -c redis -- redis-cli CLIENT LIST | grep 'cmd=incr' | grep -o 'id=[0-9]* addr=[^ ]*')
  hits_before=$(KC exec e2e-pair -c redis -- redis-cli GET hits)
  aof_before=$(KC exec e2e-pair -c sidecar -- sh -c 'cat /shared/appendonlydir/*.incr.aof | wc -c')
  [ "$hits_before" -gt 0 ] && [ "$aof_before" -gt 0 ]

  # through the controller (a bare pod: the controller deletes the source after the commit)
  controller_migrate default e2e-pair k8s-node2 || { cat "$BATS_FILE_TMPDIR/migrate.out"; false; }
  echo "$TARGET_POD" > "$BATS_FILE_TMPDIR/target"
  echo "# $(tail -1 "$BATS_FILE_TMPDIR/migrate.out")" >&3
  [ "$(pm_field "$PM" .status.phase)" = Succeeded ]
  [ "$(pm_field "$PM" .status.downtimeMs)" -gt 0 ]
  [ "$(pm_field "$PM" .status.bytesTransferred)" -gt 0 ]
  run KC get pod e2e-pair
  [ "$status" -ne 0 ]
  wait_pod_ready "$TARGET_POD"
  [ "$(pod_field "$TARGET_POD" .status.podIP)" = "$IP" ]
  [ "$(pod_field "$TARGET_POD" .spec.nodeName)" = k8s-node2 ]
  sleep 1
  client_after=$(KC exec "$TARGET_POD" -c redis -- redis-cli CLIENT LIST | grep 'cmd=incr' | grep -o 'id=[0-9]* addr=[^ ]*')
  echo "# sidecar connection before: $client_before; after: $client_after" >&3
  [ "$client_after" = "$client_before" ]
  hits_after=$(KC exec "$TARGET_POD" -c redis -- redis-cli GET hits)
  [ "$hits_after" -gt "$hits_before" ]
  # the AOF in the emptyDir came along and keeps growing, seen from the sidecar
  aof_after=$(KC exec "$TARGET_POD" -c sidecar -- sh -c 'cat /shared/appendonlydir/*.incr.aof | wc -c')
  [ "$aof_after" -gt "$aof_before" ]
  KC logs "$TARGET_POD" -c sidecar > "$BATS_FILE_TMPDIR/sidecar.log"
  ! grep -qv '^[0-9][0-9]*$' "$BATS_FILE_TMPDIR/sidecar.log" || false
}
