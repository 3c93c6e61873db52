#!/usr/bin/env bats
# A StatefulSet's redis pod (one replica, RuntimeClass ferry, its append-only file on the claim of
# its volumeClaimTemplate, bound to a ReadWriteMany hostPath volume both nodes mount) with a client
# pod holding one TCP connection to it migrates through the controller to the other node. The pod
# keeps its name (the controller deletes the source once the checkpoint is staged; the StatefulSet
# re-creates the pod and the controller's admission webhook binds it to the target node as a
# restore pod), its IP, its claim and the data on it, its memory (a key never written to disk, the
# INCR counter) and its client's connection; the StatefulSet ends at one ready replica.
load helpers

SHARED=/var/lib/ferry/k8s-shared/e2e-sts

setup_file() {
  # leftovers of an earlier run on a kept cluster (a Released PV would not bind the new claim)
  KC delete statefulset e2e-sts --ignore-not-found >/dev/null 2>&1 || true
  KC delete pvc data-e2e-sts-0 --ignore-not-found --timeout=60s >/dev/null 2>&1 || true
  KC delete pv e2e-sts-data --ignore-not-found --timeout=60s >/dev/null 2>&1 || true
  rm -rf "$SHARED"; mkdir -p "$SHARED"
  # the pod starts on k8s-node1 (k8s-node2 cordoned meanwhile)
  KC cordon k8s-node2 >/dev/null
  KC apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolume
metadata: {name: e2e-sts-data}
spec:
  capacity: {storage: 64Mi}
  accessModes: [ReadWriteMany]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ferry-shared
  claimRef: {namespace: default, name: data-e2e-sts-0}
  hostPath: {path: $SHARED, type: Directory}
---
apiVersion: v1
kind: Service
metadata: {name: e2e-sts, namespace: default}
spec:
  clusterIP: None
  selector: {app: e2e-sts}
  ports: [{port: 6379}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: e2e-sts, namespace: default}
spec:
  serviceName: e2e-sts
  replicas: 1
  selector: {matchLabels: {app: e2e-sts}}
  template:
    metadata: {labels: {app: e2e-sts}}
    spec:
      runtimeClassName: ferry
      terminationGracePeriodSeconds: 1
      containers:
      - name: redis
        image: ferry.local/redis:7
        imagePullPolicy: Never
        command: [redis-server, --dir, /data, --appendonly, "yes", --appendfsync, always, --save, "",
                  --protected-mode, "no"]
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteMany]
      storageClassName: ferry-shared
      resources: {requests: {storage: 64Mi}}
YAML
  KC rollout status statefulset/e2e-sts --timeout=120s >/dev/null || { KC uncordon k8s-node2; false; }
  KC uncordon k8s-node2 >/dev/null
  wait_pod_ready e2e-sts-0
  IP=$(pod_field e2e-sts-0 .status.podIP)
  start_redis_client e2e-sts-client "$IP"
  echo "$IP" > "$BATS_FILE_TMPDIR/ip"
}

teardown_file() {
  KC uncordon k8s-node2 >/dev/null 2>&1 || true
  [ -n "${FERRY_E2E_KEEP_PODS:-}" ] && return 0
  KC delete pod e2e-sts-client --grace-period=0 --force >/dev/null 2>&1 || true
  KC delete statefulset e2e-sts --wait=false >/dev/null 2>&1 || true
  KC delete pod e2e-sts-0 --grace-period=0 --force >/dev/null 2>&1 || true
  KC delete service e2e-sts >/dev/null 2>&1 || true
  KC delete pvc data-e2e-sts-0 --wait=false >/dev/null 2>&1 || true
  KC delete pv e2e-sts-data --wait=false >/dev/null 2>&1 || true
  rm -rf "$SHARED"
}

aof_bytes() { KC exec e2e-sts-0 -- sh -c 'cat /data/appendonlydir/*.incr.aof | wc -c'; }

@test "the leader registers its admission webhook (MutatingWebhookConfiguration at its pod IP)" {
  # (the controller was just restarted on this build: its new leader writes the configuration)
  for i in $(seq 1 60); do
    leader=$(KC -n ferry-system get lease ferry-controller -o jsonpath='{.spec.holderIdentity}')
    want="https://$(KC -n ferry-system get pod "${leader%_*}" -o jsonpath='{.status.podIP}' 2>/dev/null):9443/mutate-pods"
    url=$(KC get mutatingwebhookconfiguration ferry-controller -o jsonpath='{.webhooks[0].clientConfig.url}' 2>/dev/null || true)
    [ "$url" = "$want" ] && break
    sleep 0.5
  done
  echo "# leader ${leader%_*}: $url" >&3
  [ "$url" = "$want" ]
  [ "$(KC get mutatingwebhookconfiguration ferry-controller -o jsonpath='{.webhooks[0].failurePolicy}')" = Ignore ]
  [ -n "$(KC get mutatingwebhookconfiguration ferry-controller -o jsonpath='{.webhooks[0].clientConfig.caBundle}')" ]
}

@test "a StatefulSet pod migrates keeping its name, IP, claim, data, memory and its client's connection" {
  IP=$(cat "$BATS_FILE_TMPDIR/ip")
  [ "$(pod_field e2e-sts-0 .spec.nodeName)" = k8s-node1 ]
  uid_before=$(pod_field e2e-sts-0 .metadata.uid)
  claim_before=$(pod_field e2e-sts-0 '.spec.volumes[?(@.name=="data")].persistentVolumeClaim.claimName')
  [ "$claim_before" = data-e2e-sts-0 ]
  [ "$(KC get pvc data-e2e-sts-0 -o jsonpath='{.spec.volumeName}')" = e2e-sts-data ]
  # data on the claim, written from the pod (and the AOF redis keeps appending to there)
  KC exec e2e-sts-0 -- sh -c 'echo "written on $(hostname) before the move" > /data/before.txt'
  # redis picks a random run_id when it starts: the same one after the move means the process
  # was restored with its memory, not started again from its AOF
  run_id_before=$(KC exec e2e-sts-0 -- sh -c "redis-cli INFO server | sed -n 's/^run_id:\([0-9a-f]*\).*/\1/p'")
  sleep 1
  client_before=$(KC exec e2e-sts-0 -- redis-cli CLIENT LIST | grep 'cmd=incr' | grep -o 'id=[0-9]* addr=[^ ]*')
  hits_before=$(KC exec e2e-sts-0 -- redis-cli GET hits)
  aof_before=$(aof_bytes)
  [ -n "$client_before" ] && [ "$hits_before" -gt 0 ] && [ "$aof_before" -gt 0 ] && [ -n "$run_id_before" ]

  controller_migrate default e2e-sts-0 k8s-node2 || { cat "$BATS_FILE_TMPDIR/migrate.out"; false; }
  echo "# $(tail -1 "$BATS_FILE_TMPDIR/migrate.out")" >&3
  [ -n "$PM" ]
  [ "$(pm_field "$PM" .status.phase)" = Succeeded ]
  [ "$TARGET_POD" = e2e-sts-0 ]
  [ "$(pm_field "$PM" .status.sourceNode)" = k8s-node1 ]
  [ "$(pm_field "$PM" .status.targetNode)" = k8s-node2 ]
  [ "$(pm_field "$PM" .status.podIP)" = "$IP" ]
  [ "$(pm_field "$PM" .status.downtimeMs)" -gt 0 ]
  [ "$(pm_field "$PM" .status.bytesTransferred)" -gt 100000 ]
  [ "$(pm_field "$PM" '.status.conditions[?(@.type=="SourceDeleted")].status')" = True ]

  # the same name, now the StatefulSet's new pod, on the other node, with the same IP and claim
  wait_pod_ready e2e-sts-0
  [ "$(pod_field e2e-sts-0 .spec.nodeName)" = k8s-node2 ]
  [ "$(pod_field e2e-sts-0 .metadata.uid)" != "$uid_before" ]
  [ "$(pod_field e2e-sts-0 .status.podIP)" = "$IP" ]
  [ "$(pod_field e2e-sts-0 '.metadata.ownerReferences[0].kind')" = StatefulSet ]
  [ "$(pod_field e2e-sts-0 '.metadata.annotations.ferry\.dev/migration')" = "$PM" ]
  [ -z "$(pod_field e2e-sts-0 '.metadata.annotations.ferry\.dev/restore')" ]
  [ "$(pod_field e2e-sts-0 '.spec.volumes[?(@.name=="data")].persistentVolumeClaim.claimName')" = "$claim_before" ]
  [ "$(KC get pvc data-e2e-sts-0 -o jsonpath='{.spec.volumeName}')" = e2e-sts-data ]
  # the process was restored, not started again: same redis run_id, the same client connection
  # (same id and source port), the counter went on from where it was
  sleep 1
  [ "$(KC exec e2e-sts-0 -- sh -c "redis-cli INFO server | sed -n 's/^run_id:\([0-9a-f]*\).*/\1/p'")" = "$run_id_before" ]
  client_after=$(KC exec e2e-sts-0 -- redis-cli CLIENT LIST | grep 'cmd=incr' | grep -o 'id=[0-9]* addr=[^ ]*')
  echo "# client before: $client_before; after: $client_after" >&3
  [ "$client_after" = "$client_before" ]
  [ "$(KC exec e2e-sts-0 -- redis-cli GET hits)" -gt "$hits_before" ]
  KC logs e2e-sts-client > "$BATS_FILE_TMPDIR/client.log"
  ! grep -qv '^[0-9][0-9]*$' "$BATS_FILE_TMPDIR/client.log" || false
  awk 'NR > 1 && $1 != prev + 1 { bad = 1 } { prev = $1 } END { exit bad }' "$BATS_FILE_TMPDIR/client.log"
  # the data on the claim: what was written before is there, and redis keeps appending to it
  [ "$(KC exec e2e-sts-0 -- cat /data/before.txt)" = "written on e2e-sts-0 before the move" ]
  aof_after=$(aof_bytes)
  [ "$aof_after" -gt "$aof_before" ]
  # the StatefulSet is whole again: one replica, ready, this pod
  KC rollout status statefulset/e2e-sts --timeout=60s >/dev/null
  [ "$(KC get statefulset e2e-sts -o jsonpath='{.status.replicas}')" = 1 ]
  [ "$(KC get statefulset e2e-sts -o jsonpath='{.status.readyReplicas}')" = 1 ]
  [ "$(KC get pod -l app=e2e-sts -o jsonpath='{.items[*].metadata.name}')" = e2e-sts-0 ]
  # nothing of the pod runs on k8s-node1 any more
  wait_sandbox_gone k8s-node1 e2e-sts-0
}
