# helpers.bash - shared by tests/e2e/*.bats (run by scripts/k8s/e2e.sh against the test cluster,
# with ferry installed and its agents running).
REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
. "$REPO/scripts/k8s/common.sh"
FERRY=${FERRY:-$FERRY_OPT/bin/ferry}

KC() { "$REPO/scripts/k8s/kubectl.sh" "$@"; }

pod_field() { KC -n "${3:-default}" get pod "$1" -o jsonpath="{$2}"; }

other_node() { for n in $K8S_NODES; do [ "$n" != "$1" ] && { echo "$n"; return; }; done; }

# Runs a migration like the controller would (k8s-design steps 2, 4 and 6), with `ferry pod-migrate`:
# target pod, REQUEST to the source agent, then for a ReplicaSet pod the hand-over of the labels and
# owner to the target pod and the deletion of the source. Report JSON in $BATS_FILE_TMPDIR/report.json.
# usage: migrate_pod NAMESPACE POD [TARGET_NODE [EXTRA pod-migrate ARGS]]; sets TARGET_POD
migrate_pod() {
  local ns=$1 pod=$2 src to
  src=$(pod_field "$pod" .spec.nodeName "$ns")
  to=${3:-$(other_node "$src")}
  TARGET_POD=$("$REPO/scripts/k8s/target-pod.sh" "$ns" "$pod" "$to")
  "$FERRY" pod-migrate "${@:4}" --node "$src" "$ns/$pod" --to-node "$to" --to-address "$(node_ip "$to")" \
    --target-pod "$TARGET_POD" --json > "$BATS_FILE_TMPDIR/report.json"
}

# Step 6 for a ReplicaSet pod: deletion cost on the source, labels and owner back on the target
# (and its ferry.dev/restore annotation dropped, as the controller does), source deleted.
finish_replicaset_migration() {
  local ns=$1 pod=$2 target=$3 owner labels
  KC -n "$ns" annotate pod "$pod" controller.kubernetes.io/pod-deletion-cost=-2147483648 --overwrite >/dev/null
  owner=$(KC -n "$ns" get pod "$pod" -o jsonpath='{.metadata.ownerReferences}')
  # the source's labels back on the target, its held- copies removed (null in a merge patch)
  labels=$(KC -n "$ns" get pod "$target" -o json | python3 -c '
import json, sys
held = {k: None for k in json.load(sys.stdin)["metadata"].get("labels", {}) if k.startswith("ferry.dev/held-")}
src = json.loads(sys.argv[1]) or {}
print(json.dumps({**held, **src}))' "$(KC -n "$ns" get pod "$pod" -o jsonpath='{.metadata.labels}')")
  KC -n "$ns" patch pod "$target" --type merge -p "{\"metadata\":{\"labels\":$labels,\"ownerReferences\":$owner,
    \"annotations\":{\"ferry.dev/restore\":null}}}" >/dev/null
  KC -n "$ns" delete pod "$pod" --grace-period=0 --force >/dev/null 2>&1
}

# A migration through the controller (the in-cluster Deployment of deploy/controller.yaml):
# `kubectl migrate POD --to NODE --wait` (the kubectl-migrate plugin, found on the PATH by kubectl).
# Output in $BATS_FILE_TMPDIR/migrate.out; sets PM (the PodMigration) and TARGET_POD.
# usage: [MIGRATE_TIMEOUT=S] controller_migrate NAMESPACE POD [TARGET_NODE] (spec.timeoutSeconds,
# default 120); returns kubectl-migrate's exit status
controller_migrate() {
  local ns=$1 pod=$2 to rc=0
  to=${3:-$(other_node "$(pod_field "$pod" .spec.nodeName "$ns")")}
  PATH="$REPO/build:$PATH" KUBECONFIG=$KUBECONFIG_ADMIN \
    "$K8S_CACHE/$(cat "$K8S_STATE/version")/bin/kubectl" migrate "$pod" -n "$ns" --to "$to" --wait \
    --timeout "${MIGRATE_TIMEOUT:-120}" > "$BATS_FILE_TMPDIR/migrate.out" 2>&1 || rc=$?
  PM=$(sed -n 's|^podmigration.ferry.dev/\([^ ]*\) created$|\1|p' "$BATS_FILE_TMPDIR/migrate.out" | head -1)
  TARGET_POD=""
  [ -z "$PM" ] || TARGET_POD=$(pm_field "$PM" .status.targetPod "$ns")
  return $rc
}

pm_field() { KC -n "${3:-default}" get podmigration "$1" -o jsonpath="{$2}"; }

report() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$BATS_FILE_TMPDIR/report.json" "$1"; }

# The report's phases as "name=ms ..." for the test log.
report_phases() { report '" ".join("%s=%.1fms" % (p["name"], p["duration_ms"]) for p in r["phases"]) + " downtime=%sms bytes=%d" % (r["downtime_ms"], r["bytes_sent"])'; }

# wait_sandbox_gone NODE POD [seconds]: the kubelet has torn the pod's sandbox down on NODE (no
# runc container of NODE's containerd belongs to POD any more)
wait_sandbox_gone() {
  local i
  for ((i = 0; i < ${3:-60} * 2; i++)); do
    runc --root "$K8S_RUN/$1/runc/k8s.io" list -f json | python3 -c '
import json, sys
for c in json.load(sys.stdin) or []:
    try:
        a = json.load(open(c["bundle"] + "/config.json")).get("annotations", {})
    except OSError:
        continue
    if a.get("io.kubernetes.cri.sandbox-name") == sys.argv[1]:
        sys.exit(1)' "$2" && return 0
    sleep 0.5
  done
  echo "the sandbox of $2 is still on $1" >&2
  return 1
}

wait_pod_ready() { KC -n "${2:-default}" wait --for=condition=Ready pod "$1" --timeout="${3:-90}s" >/dev/null; }

# start_redis_client NAME IP: a pod on k8s-node1 holding one TCP connection to the redis at IP,
# INCR hits every 50 ms; its log is the replies, one number a line
start_redis_client() {
  KC apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1, namespace: default}
spec:
  nodeName: k8s-node1
  terminationGracePeriodSeconds: 1
  containers:
  - name: cli
    image: ferry.local/redis:7
    imagePullPolicy: Never
    command: [redis-cli, -h, "$2", -r, "-1", -i, "0.05", INCR, hits]
YAML
  wait_pod_ready "$1"
}
