#!/usr/bin/env bats
# A pod with an init container: the target pod's init container is not run again (ferry-runc makes
# it exit 0 at once), so its side effect in the shared emptyDir is there exactly once, and the app
# continues from its checkpoint (its counter file keeps growing from where it was).
load helpers

setup_file() {
  KC apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: e2e-init, namespace: default}
spec:
  nodeName: k8s-node1
  runtimeClassName: ferry
  terminationGracePeriodSeconds: 1
  volumes: [{name: work, emptyDir: {}}]
  initContainers:
  - name: setup
    image: ferry.local/busybox:1.35
    imagePullPolicy: Never
    command: [sh, -c, 'echo "init ran on $(hostname)" >> /work/init.log']
    volumeMounts: [{name: work, mountPath: /work}]
  containers:
  - name: app
    image: ferry.local/busybox:1.35
    imagePullPolicy: Never
    command: [sh, -c, 'i=0; while true; do i=$((i+1)); echo $i > /work/count; sleep 0.2; done']
    volumeMounts: [{name: work, mountPath: /work}]
YAML
  wait_pod_ready e2e-init
}

teardown_file() {
  KC delete pod e2e-init --grace-period=0 --force >/dev/null 2>&1 || true
  [ -n "$(cat "$BATS_FILE_TMPDIR/target" 2>/dev/null)" ] && \
    KC delete pod "$(cat "$BATS_FILE_TMPDIR/target")" --grace-period=0 --force >/dev/null 2>&1 || true
}

@test "init containers of the target pod are not run again" {
  sleep 4   # a restarted (not restored) app would start counting from 1 again
  count_before=$(KC exec e2e-init -c app -- cat /work/count)
  migrate_pod default e2e-init
  echo "$TARGET_POD" > "$BATS_FILE_TMPDIR/target"
  echo "# $(report_phases)" >&3
  wait_pod_ready "$TARGET_POD"
  [ "$(KC exec "$TARGET_POD" -c app -- grep -c 'init ran' /work/init.log)" = 1 ]
  [ "$(KC get pod "$TARGET_POD" -o jsonpath='{.status.initContainerStatuses[0].state.terminated.exitCode}')" = 0 ]
  count_after=$(KC exec "$TARGET_POD" -c app -- cat /work/count)
  [ "$count_after" -gt "$count_before" ]
  grep -q "init container of a restored pod: exits 0" /var/log/ferry/ferry-runc.log
}
