#!/usr/bin/env bats
# controller.bats - `ferry controller`, kubectl-migrate and `ferry drain`
# against a real etcd + kube-apiserver 1.30.14 (scripts/k8s/apiserver-only.sh),
# with the RBAC of deploy/controller.yaml (the controller authenticates as
# its ServiceAccount).  APIONLY_KEEP=1 leaves the API server up afterwards.  There are no kubelets: Nodes and Pod status are
# written through the API; the source agent is tests/k8s/agent_peer.py, a
# scripted peer on the agent's wire protocol.  Run: make k8s-controller-test
load helpers

setup_file() {
	[ -x "$FERRY" ] || skip "build first (make)"
	[ -x "$KUBECTL" ] || skip "no kubectl in the build cache: scripts/k8s/build.sh 1.30.14"
	"$APIONLY" stop
	"$APIONLY" start >/dev/null
	k apply -f "$ROOT/deploy/crd.yaml" >/dev/null
	k apply -f "$ROOT/deploy/controller.yaml" >/dev/null
	k wait --for=condition=Established crd/podmigrations.ferry.dev --timeout=30s >/dev/null
	printf 'apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: ferry}\nhandler: ferry\n' |
		k apply -f - >/dev/null
	# the installation's CA, the controller's certificate, one agent certificate per node
	"$FERRY" pki init --dir "$PKI" >/dev/null
	"$FERRY" pki issue --name controller --role controller --dir "$PKI" --out "$PKI" >/dev/null
	for n in node1 node2 node5 node6; do
		"$FERRY" pki issue --name $n --role agent --ip 127.0.0.1 --dir "$PKI" --out "$PKI" >/dev/null
	done
	mknode node1
	mknode node2
	mknode node3 False
	mknode node4 True none
	start_controller c1 --metrics-addr 127.0.0.1:19464 --watch-timeout 5 \
		--webhook-ip 127.0.0.1 --webhook-port "$WEBHOOK_PORT"
	wait_holder c1
}

teardown_file() {
	for c in c1 c2 c3; do stop_controller $c; done
	stop_peer
	[ -n "${APIONLY_KEEP:-}" ] || "$APIONLY" stop
}

# start_peer MODE [CONNECTIONS] [NODE]: the scripted agent of NODE (default
# node1, the usual source), its files in $PEER
start_peer() {
	stop_peer
	PEER=$BATS_TEST_TMPDIR/peer
	rm -rf "$PEER"
	mkdir -p "$PEER"
	PEER_KUBECTL=$KUBECTL python3 "$BATS_TEST_DIRNAME/agent_peer.py" "$AGENT_PORT" "$1" "$PEER" "${2:-1}" \
		"$PKI" "${3:-node1}" \
		>"$PEER/log" 2>&1 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/peer.pid"
	for ((i = 0; i < 50; i++)); do [ -f "$PEER/listening" ] && return 0; sleep 0.1; done
	return 1
}

stop_peer() {
	local p
	p=$(cat "$BATS_FILE_TMPDIR/peer.pid" 2>/dev/null) || return 0
	kill "$p" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	rm -f "$BATS_FILE_TMPDIR/peer.pid"
}

# mkrs NAME: a ReplicaSet object (no controller-manager runs, so it makes no pods)
mkrs() {
	k apply -f - >/dev/null <<EOY
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: $1}
spec:
  replicas: 1
  selector: {matchLabels: {app: $1, pod-template-hash: abc12}}
  template:
    metadata: {labels: {app: $1, pod-template-hash: abc12}}
    spec: {containers: [{name: app, image: ferry.local/busybox:1.35}]}
EOY
	k get rs "$1" -o jsonpath='{.metadata.uid}'
}

# mksts NAME: a StatefulSet object (no controller-manager runs, so it makes no pods)
mksts() {
	k apply -f - >/dev/null <<EOY
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: $1}
spec:
  serviceName: $1
  replicas: 1
  selector: {matchLabels: {app: $1}}
  template:
    metadata: {labels: {app: $1}}
    spec: {runtimeClassName: ferry, containers: [{name: app, image: ferry.local/busybox:1.35}]}
EOY
	k get sts "$1" -o jsonpath='{.metadata.uid}'
}

# sts_pod STS UID: its pod STS-0 running on node1, and in $PEER/successor.yaml the pod its
# StatefulSet controller would create again (no node: the webhook picks it)
sts_pod() {
	local owner="[{apiVersion: apps/v1, kind: StatefulSet, name: $1, uid: $2, controller: true, blockOwnerDeletion: true}]"
	mkpod "$1-0" node1 ferry "" "{app: $1, statefulset.kubernetes.io/pod-name: $1-0}" "$owner"
	cat >"$PEER/successor.yaml" <<EOY
apiVersion: v1
kind: Pod
metadata:
  name: $1-0
  labels: {app: $1, statefulset.kubernetes.io/pod-name: $1-0}
  ownerReferences: $owner
spec:
  runtimeClassName: ferry
  hostname: $1-0
  containers: [{name: app, image: ferry.local/busybox:1.35}]
EOY
}

events_for() { k get events --field-selector "involvedObject.name=$1" -o jsonpath='{range .items[*]}{.reason}: {.message}{"\n"}{end}'; }

@test "unknown pod: Failed with a clear message and a Warning event" {
	mkpm pm-ghost ghost node2
	wait_phase pm-ghost Failed
	[ "$(pm_field pm-ghost .status.message)" = 'pod "ghost" not found in namespace default' ]
	events_for pm-ghost | grep -q 'Failed: pod "ghost" not found'
}

@test "unknown target node, the pod's own node, a NotReady node, a node without agent; a mode pods do not have" {
	mkpod v1 node1
	mkpm pm-nonode v1 nosuch
	mkpm pm-same v1 node1
	mkpm pm-notready v1 node3
	mkpm pm-noagent v1 node4
	k apply -f - >/dev/null <<EOY
apiVersion: ferry.dev/v1alpha1
kind: PodMigration
metadata: {name: pm-postcopy}
spec: {podName: v1, targetNode: node2, mode: postcopy, timeoutSeconds: 20}
EOY
	for p in pm-nonode pm-same pm-notready pm-noagent pm-postcopy; do wait_phase $p Failed; done
	pm_field pm-postcopy .status.message | grep -q '^spec.mode postcopy is not available for pods yet'
	[ "$(pm_field pm-nonode .status.message)" = 'target node "nosuch" not found' ]
	[ "$(pm_field pm-same .status.message)" = "target node node1 is the pod's own node" ]
	[ "$(pm_field pm-notready .status.message)" = "target node node3 is not Ready" ]
	pm_field pm-noagent .status.message | grep -q 'runs no ferry agent (label ferry.dev/agent=ready missing)'
	events_for v1 | grep -q 'MigrationFailed: target node "nosuch" not found'
	# nothing was made or marked: no second pod, no annotation on the source
	[ "$(k get pods -o name | grep -c '^pod/v1')" = 1 ]
	[ -z "$(k get pod v1 -o jsonpath='{.metadata.annotations.ferry\.dev/migrating}')" ]
}

@test "pods that cannot migrate: wrong RuntimeClass, hostPath, ReadWriteOnce claim, DaemonSet owner" {
	mkpod plain node1 none
	mkpod hp node1 ferry "  volumes: [{name: data, hostPath: {path: /srv/data}}]"
	k apply -f - >/dev/null <<EOY
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-rwo}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /srv/rwo}
  claimRef: {namespace: default, name: claim-rwo}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: claim-rwo}
spec:
  accessModes: [ReadWriteOnce]
  volumeName: pv-rwo
  resources: {requests: {storage: 1Gi}}
  storageClassName: ""
EOY
	mkpod rwo node1 ferry "  volumes: [{name: db, persistentVolumeClaim: {claimName: claim-rwo}}]"
	mkpod dsp node1 ferry "" "{app: dsp}" \
		'[{apiVersion: apps/v1, kind: DaemonSet, name: agent, uid: 00000000-0000-0000-0000-000000000001, controller: true}]'
	mkpm pm-plain plain node2
	mkpm pm-hp hp node2
	mkpm pm-rwo rwo node2
	mkpm pm-ds dsp node2
	for p in pm-plain pm-hp pm-rwo pm-ds; do wait_phase $p Failed; done
	pm_field pm-plain .status.message | grep -q 'pod plain does not run with RuntimeClass "ferry" (runtimeClassName: none)'
	pm_field pm-hp .status.message | grep -q 'volume data: hostPath /srv/data is local to the source node'
	pm_field pm-rwo .status.message | grep -q 'volume db: claim claim-rwo is bound to pv-rwo, which is not ReadWriteMany'
	pm_field pm-ds .status.message | grep -q 'controlled by DaemonSet agent; only ReplicaSet'
	events_for hp | grep -q 'MigrationFailed: pod hp cannot migrate: volume data: hostPath'
}

@test "target choice: an empty targetNode picks the only feasible node; none feasible is explained" {
	mkpod pick node1
	start_peer error
	mkpm pm-pick pick
	wait_phase pm-pick Failed
	[ "$(pm_field pm-pick .status.targetNode)" = node2 ]
	[ "$(pm_field pm-pick .status.sourceNode)" = node1 ]
	stop_peer
	# a pod that only fits a labelled node that does not exist
	mkpod picky node1 ferry "  nodeSelector: {disktype: ssd}"
	mkpm pm-picky picky
	wait_phase pm-picky Failed
	msg=$(pm_field pm-picky .status.message)
	echo "$msg"
	[[ "$msg" == "no feasible target node: "* ]]
	[[ "$msg" == *"node1 is the pod's own node"* ]]
	[[ "$msg" == *"node2 does not match the pod's nodeSelector"* ]]
	[[ "$msg" == *"node3 is not Ready"* ]]
}

@test "ReplicaSet pod: target pod held on the target node, agent request, hand-over after RESULT" {
	uid=$(mkrs web)
	mkpod web-abc12 node1 ferry "" "{app: web, pod-template-hash: abc12, tier: front}" \
		"[{apiVersion: apps/v1, kind: ReplicaSet, name: web, uid: $uid, controller: true, blockOwnerDeletion: true}]"
	ip=$(k get pod web-abc12 -o jsonpath='{.status.podIP}')
	start_peer ok
	touch "$PEER/gate"
	mkpm pm-web web-abc12 node2 30
	wait_phase pm-web Transferring
	target=$(pm_field pm-web .status.targetPod)
	[[ "$target" =~ ^web-abc12-[a-z0-9]{5}$ ]]
	# the target pod as the design wants it, before the commit
	[ "$(k get pod "$target" -o jsonpath='{.spec.nodeName}')" = node2 ]
	[ "$(k get pod "$target" -o jsonpath='{.spec.runtimeClassName}')" = ferry ]
	[ "$(k get pod "$target" -o jsonpath='{.metadata.annotations.ferry\.dev/migration}')" = pm-web ]
	[ "$(k get pod "$target" -o jsonpath='{.metadata.annotations.ferry\.dev/restore}')" = true ]
	[ "$(k get pod "$target" -o jsonpath='{.metadata.annotations.ferry\.dev/pod-ip}')" = "$ip" ]
	[ "$(k get pod "$target" -o jsonpath='{.metadata.annotations.ferry\.dev/source-pod}')" = web-abc12 ]
	[ -z "$(k get pod "$target" -o jsonpath='{.metadata.ownerReferences}')" ]
	[ -z "$(k get pod "$target" -o jsonpath='{.metadata.labels.app}')" ]
	[ "$(k get pod "$target" -o jsonpath='{.metadata.labels.ferry\.dev/held-app}')" = web ]
	[ "$(k get pod "$target" -o jsonpath='{.metadata.labels.ferry\.dev/held-pod-template-hash}')" = abc12 ]
	[ "$(k get pod "$target" -o jsonpath='{.metadata.labels.tier}')" = front ]
	[ "$(k get pod "$target" -o jsonpath='{.spec.hostname}')" = web-abc12 ]
	[ "$(k get pod web-abc12 -o jsonpath='{.metadata.annotations.ferry\.dev/migrating}')" = pm-web ]
	# what the source agent was asked
	req=$PEER/request-0.json
	[ "$(jq -r .request.op "$req")" = migrate-pod ]
	[ "$(jq -r .request.namespace "$req")" = default ]
	[ "$(jq -r .request.pod "$req")" = web-abc12 ]
	[ "$(jq -r .request.podIP "$req")" = "$ip" ]
	[ "$(jq -r .request.podUID "$req")" = "$(k get pod web-abc12 -o jsonpath='{.metadata.uid}')" ]
	[ "$(jq -r '.request.containers[0].name' "$req")" = app ]
	[ "$(jq -r '.request.containers[0].containerID' "$req")" = "$(printf '%064d' 7)" ]
	[ "$(jq -r .request.target.node "$req")" = node2 ]
	[ "$(jq -r .request.target.address "$req")" = 127.0.0.1 ]
	[ "$(jq -r .request.target.port "$req")" = "$AGENT_PORT" ]
	[ "$(jq -r .request.targetPod "$req")" = "$target" ]
	[ "$(jq -r .request.mode "$req")" = auto ]
	[ "$(jq -r .request.migration "$req")" = pm-web ]
	[ "$(jq -r .hello.version "$req")" = 1 ]
	[ "$(jq -r .hello.node "$req")" = controller ]
	# mutual TLS: the agent saw the controller's certificate
	[ "$(jq -r .peer.cn "$req")" = controller ]
	[ "$(jq -r .peer.ou "$req")" = controller ]
	touch "$PEER/go"
	wait_phase pm-web Succeeded
	[ "$(pm_field pm-web .status.downtimeMs)" = 123 ]
	[ "$(pm_field pm-web .status.bytesTransferred)" = 4567890 ]
	[ -n "$(pm_field pm-web .status.completionTime)" ]
	[ -n "$(pm_field pm-web .status.startTime)" ]
	pm_field pm-web '.status.conditions[?(@.type=="Committed")].status' | grep -qx True
	pm_field pm-web '.status.conditions[?(@.type=="Transferred")].status' | grep -qx True
	# hand-over: the source is gone, the target carries the owner's labels and reference
	run k get pod web-abc12
	[ "$status" -ne 0 ]
	[ "$(k get pod "$target" -o jsonpath='{.metadata.labels.app}')" = web ]
	[ "$(k get pod "$target" -o jsonpath='{.metadata.labels.pod-template-hash}')" = abc12 ]
	[ -z "$(k get pod "$target" -o jsonpath='{.metadata.labels.ferry\.dev/held-app}')" ]
	[ "$(k get pod "$target" -o jsonpath='{.metadata.ownerReferences[0].uid}')" = "$uid" ]
	[ "$(k get pod "$target" -o jsonpath='{.metadata.ownerReferences[0].controller}')" = true ]
	# restored: an ordinary pod now, which may migrate again
	[ -z "$(k get pod "$target" -o jsonpath='{.metadata.annotations.ferry\.dev/restore}')" ]
	events_for "$target" | grep -q '^Migrated: migrated to node2'
	k get pm pm-web | grep -E 'pm-web +Succeeded +web-abc12 +node2 +123'
}

@test "the agent fails: Failed with its message, target pod deleted, source unmarked and kept" {
	mkpod fails node1
	start_peer error
	mkpm pm-fails fails node2
	wait_phase pm-fails Failed
	[ "$(pm_field pm-fails .status.message)" = "criu dump: test failure" ]
	target=$(pm_field pm-fails .status.targetPod)
	[ -n "$target" ]
	run k get pod "$target"
	[ "$status" -ne 0 ]
	[ "$(k get pod fails -o jsonpath='{.status.phase}')" = Running ]
	[ -z "$(k get pod fails -o jsonpath='{.metadata.annotations.ferry\.dev/migrating}')" ]
	events_for fails | grep -q 'MigrationFailed: criu dump: test failure'
}

@test "a lost final report after the agent's commit: the hand-over still happens" {
	mkpod lost node1
	start_peer lost
	mkpm pm-lost lost node2
	wait_phase pm-lost Succeeded
	run k get pod lost
	[ "$status" -ne 0 ]
	target=$(pm_field pm-lost .status.targetPod)
	[ "$(k get pod "$target" -o jsonpath='{.spec.nodeName}')" = node2 ]
	pm_field pm-lost '.status.conditions[?(@.type=="Committed")].status' | grep -qx True
	events_for lost | grep -q '^ReportLost: the agent committed the migration but its final report was lost'
}

@test "the target pod never Ready: the hand-over waits up to spec.timeoutSeconds, then goes ahead with a warning" {
	mkpod nr node1
	start_peer notready
	mkpm pm-nr nr node2 8
	wait_phase pm-nr Restoring 10
	sleep 2
	# committed, but not handed over while the target is not Ready
	[ "$(pm_field pm-nr .status.phase)" = Restoring ]
	[ "$(pm_field pm-nr .status.message)" = "committed; waiting for the target pod to be Ready" ]
	k get pod nr >/dev/null
	wait_phase pm-nr Succeeded 15
	run k get pod nr
	[ "$status" -ne 0 ]
	events_for nr | grep -q '^TargetNotReady: target pod nr-.* was not Ready within spec.timeoutSeconds'
}

@test "timeout: a silent agent ends Failed after spec.timeoutSeconds; one pod, one migration at a time" {
	mkpod slow node1
	start_peer silent
	mkpm pm-slow slow node2 3
	mkpm pm-slow2 slow node2 3
	wait_phase pm-slow Failed 15
	wait_phase pm-slow2 Failed 15
	# whichever marked the pod first ran (and timed out); the other was refused
	first=pm-slow second=pm-slow2
	if [[ "$(pm_field pm-slow .status.message)" == *"already being migrated"* ]]; then
		first=pm-slow2 second=pm-slow
	fi
	[ "$(pm_field $second .status.message)" = "pod slow is already being migrated by $first" ]
	pm_field $first .status.message | grep -q 'timed out waiting for the agent at 127.0.0.1'
	run k get pod "$(pm_field $first .status.targetPod)"
	[ "$status" -ne 0 ]
	[ -z "$(k get pod slow -o jsonpath='{.metadata.annotations.ferry\.dev/migrating}')" ]
	stop_peer
}

@test "admission webhook: registered by the leader (URL, CA, Ignore, StatefulSet pods only); other pods pass unchanged" {
	for ((i = 0; i < 50; i++)); do
		url=$(k get mutatingwebhookconfiguration ferry-controller -o jsonpath='{.webhooks[0].clientConfig.url}' 2>/dev/null) || true
		[ -n "$url" ] && break
		sleep 0.1
	done
	[ "$url" = "https://127.0.0.1:$WEBHOOK_PORT/mutate-pods" ]
	w() { k get mutatingwebhookconfiguration ferry-controller -o jsonpath="{.webhooks[0].$1}"; }
	[ "$(w failurePolicy)" = Ignore ]
	[ "$(w sideEffects)" = None ]
	[ "$(w 'objectSelector.matchExpressions[0].key')" = statefulset.kubernetes.io/pod-name ]
	[ "$(w 'rules[0].operations[0]')" = CREATE ]
	# the caBundle is the CA of the certificate the controller serves
	w clientConfig.caBundle | base64 -d >"$BATS_TEST_TMPDIR/ca.pem"
	curl -sS --cacert "$BATS_TEST_TMPDIR/ca.pem" -X POST "$url" -H 'Content-Type: application/json' \
		-d '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","kind":{"kind":"Pod"},"resource":{"resource":"pods"},"namespace":"default","operation":"CREATE","object":{"metadata":{"name":"x"}}}}' \
		>"$BATS_TEST_TMPDIR/answer.json"
	[ "$(jq -r .response.uid "$BATS_TEST_TMPDIR/answer.json")" = u-1 ]
	[ "$(jq -r .response.allowed "$BATS_TEST_TMPDIR/answer.json")" = true ]
	[ "$(jq -r .response.patch "$BATS_TEST_TMPDIR/answer.json")" = null ]
	# a StatefulSet pod that is not being handed over is created as it is
	mkpod lone-0 node1 ferry "" "{app: lone, statefulset.kubernetes.io/pod-name: lone-0}"
	[ "$(k get pod lone-0 -o jsonpath='{.spec.nodeName}')" = node1 ]
	[ -z "$(k get pod lone-0 -o jsonpath='{.metadata.annotations.ferry\.dev/restore}')" ]
	k delete pod lone-0 --grace-period=0 --force >/dev/null 2>&1
}

@test "StatefulSet pod: source deleted once staged, the webhook binds its successor (same name) to the target as a restore pod, Succeeded" {
	uid=$(mksts web)
	start_peer sts
	sts_pod web "$uid"
	src_uid=$(k get pod web-0 -o jsonpath='{.metadata.uid}')
	ip=$(k get pod web-0 -o jsonpath='{.status.podIP}')
	mkpm pm-sts web-0 node2 30
	wait_phase pm-sts Succeeded
	# the agent was asked to defer the target pod, which keeps the name
	req=$PEER/request-0.json
	[ "$(jq -r .request.targetPod "$req")" = web-0 ]
	[ "$(jq -r .request.deferTarget "$req")" = true ]
	[ "$(jq -r .request.restoreTimeoutSeconds "$req")" -ge 10 ]
	# what the API server made of the StatefulSet's new pod: bound to the target, a restore pod
	s=$PEER/successor.json
	[ "$(jq -r .metadata.uid "$s")" != "$src_uid" ]
	[ "$(jq -r .spec.nodeName "$s")" = node2 ]
	[ "$(jq -r '.metadata.annotations["ferry.dev/restore"]' "$s")" = true ]
	[ "$(jq -r '.metadata.annotations["ferry.dev/pod-ip"]' "$s")" = "$ip" ]
	[ "$(jq -r '.metadata.annotations["ferry.dev/migration"]' "$s")" = pm-sts ]
	[ "$(jq -r '.metadata.annotations["ferry.dev/source-pod"]' "$s")" = web-0 ]
	grep -q "webhook: pod default/web-0 (PodMigration pm-sts): bound to node2" "$BATS_FILE_TMPDIR/c1.log"
	# after the commit: the successor is an ordinary pod, its owner unchanged
	[ "$(k get pod web-0 -o jsonpath='{.metadata.uid}')" = "$(jq -r .metadata.uid "$s")" ]
	[ -z "$(k get pod web-0 -o jsonpath='{.metadata.annotations.ferry\.dev/restore}')" ]
	[ "$(k get pod web-0 -o jsonpath='{.metadata.ownerReferences[0].uid}')" = "$uid" ]
	[ "$(pm_field pm-sts .status.targetPod)" = web-0 ]
	[ "$(pm_field pm-sts .status.downtimeMs)" = 321 ]
	pm_field pm-sts '.status.conditions[?(@.type=="SourceDeleted")].status' | grep -qx True
	pm_field pm-sts '.status.conditions[?(@.type=="Committed")].status' | grep -qx True
	# the hand-over entry is gone: the pod's next re-creation is left alone
	k delete pod web-0 --grace-period=0 --force >/dev/null 2>&1
	k create -f "$PEER/successor.yaml" >/dev/null
	[ -z "$(k get pod web-0 -o jsonpath='{.spec.nodeName}')" ]
	[ -z "$(k get pod web-0 -o jsonpath='{.metadata.annotations.ferry\.dev/restore}')" ]
	k delete pod web-0 --grace-period=0 --force >/dev/null 2>&1
}

@test "StatefulSet pod: the restore fails after the hand-over: Failed, memory state lost, the successor deleted for a fresh start" {
	uid=$(mksts db)
	start_peer sts-fail
	sts_pod db "$uid"
	mkpm pm-sts-fail db-0 node2 30
	wait_phase pm-sts-fail Failed
	msg=$(pm_field pm-sts-fail .status.message)
	echo "$msg"
	[[ "$msg" == *"deleted once its checkpoint was staged on node2"* ]]
	[[ "$msg" == *"restore of container app failed: test failure"* ]]
	[[ "$msg" == *"in-memory state is lost"* ]]
	[ "$(jq -r .spec.nodeName "$PEER/successor.json")" = node2 ]
	# the successor bound to node2 for the restore is gone (its StatefulSet would start it afresh)
	run k get pod db-0
	[ "$status" -ne 0 ]
}

@test "TLS: an agent with another node's certificate is refused; no certificate, no controller" {
	mkpod impostor node1
	start_peer ok 1 node2
	mkpm pm-impostor impostor node2
	wait_phase pm-impostor Failed
	pm_field pm-impostor .status.message | grep -q "peer presented the certificate of agent 'node2', not agent 'node1'"
	[ ! -f "$PEER/request-0.json" ]
	stop_peer
	run "$FERRY" controller --kubeconfig "$CTL_KUBECONFIG" --pki "$BATS_TEST_TMPDIR/none" --metrics-addr ""
	[ "$status" -eq 1 ]
	[[ "$output" == *"the controller's certificate for the agents"*"ferry pki issue --name controller --role controller"* ]]
}

@test "kubectl-migrate: created, --wait to Succeeded (exit 0), Failed (exit 1), bad usage (exit 2)" {
	mkpod km node1
	start_peer ok
	run "$KMIGRATE" km --to node2 --wait --timeout 30
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"podmigration.ferry.dev/km-"*" created"* ]]
	[[ "$output" == *": Transferring"* ]]
	[[ "$output" == *"Succeeded: pod km moved from node1 to node2 as km-"*"downtime 123 ms, 4.4 MiB transferred"* ]]
	run "$KMIGRATE" nosuchpod --to node2 --wait
	[ "$status" -eq 1 ]
	[[ "$output" == *'Failed: pod "nosuchpod" not found in namespace default'* ]]
	run "$KMIGRATE" --to node2
	[ "$status" -eq 2 ]
	run "$KMIGRATE" km --mode warp
	[ "$status" -eq 2 ]
	run "$KMIGRATE" Bad_Name
	[ "$status" -eq 1 ]
	[[ "$output" == *'"Bad_Name" is not a valid pod name'* ]]
	run "$KMIGRATE" x -n default --kubeconfig /nonexistent
	[ "$status" -eq 1 ]
	[[ "$output" == *"/nonexistent"* ]]
	mkpod km2 node1
	run "$KMIGRATE" km2 --to node2
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^podmigration.ferry.dev/km2-[a-z0-9]{5}\ created$ ]]
}

@test "ferry drain: one migration per ferry pod of the node, summary, exit status" {
	mknode node5
	mknode node6
	mkpod d1 node5
	mkpod d2 node5
	mkpod d-plain node5 none
	start_peer ok 2 node5
	run "$FERRY" drain node5 --timeout 30
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"default/d1: Succeeded: pod d1 moved from node5"* ]]
	[[ "$output" == *"default/d2: Succeeded: pod d2 moved from node5"* ]]
	[[ "$output" != *"d-plain"* ]]
	[[ "$output" == *"drain node5: 2 migrated, 0 failed"* ]]
	mkpod d3 node6
	start_peer error 1 node6
	run "$FERRY" drain node6 --timeout 30
	[ "$status" -eq 1 ]
	[[ "$output" == *"default/d3: Failed: criu dump: test failure"* ]]
	[[ "$output" == *"drain node6: 0 migrated, 1 failed"* ]]
	run "$FERRY" drain nosuchnode
	[ "$status" -eq 1 ]
	[[ "$output" == *'node "nosuchnode" not found'* ]]
	run "$FERRY" drain node3
	[ "$status" -eq 0 ]
	[[ "$output" == *"no running pod of RuntimeClass ferry on node3"* ]]
}

@test "metrics: counts by phase and result, histograms, bytes" {
	m=$(curl -sf http://127.0.0.1:19464/metrics)
	echo "$m" | grep -E '^ferry_migrations_total\{phase="Succeeded",result="succeeded"\} [1-9]'
	echo "$m" | grep -E '^ferry_migrations_total\{phase="Pending",result="failed"\} [1-9]'
	echo "$m" | grep -E '^ferry_migration_downtime_seconds_bucket\{le="0.25"\} [1-9]'
	echo "$m" | grep -E '^ferry_migration_duration_seconds_count [1-9]'
	echo "$m" | grep -E '^ferry_migration_bytes_total [1-9][0-9]{6}'
	echo "$m" | grep -qx 'ferry_controller_leader 1'
	run curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:19464/other
	[ "$output" = 404 ]
}

@test "watch: bookmarks arrive, and the watch resumes after the API server restarts" {
	grep -q 'bookmark at resourceVersion' "$BATS_FILE_TMPDIR/c1.log"
	# a leader must keep its lease through the outage: a controller with a long lease
	stop_controller c1
	start_controller c3 --lease-seconds 30 --watch-timeout 5
	wait_holder c3
	"$APIONLY" stop-apiserver
	sleep 2
	"$APIONLY" start-apiserver
	mkpm pm-after ghost2
	wait_phase pm-after Failed 30
	# backoff while it was down; then usually "410: relisting" (the restarted
	# server's watch cache starts after the last version the controller saw)
	grep -E 'reconnecting in [0-9]+ ms from resourceVersion' "$BATS_FILE_TMPDIR/c3.log"
	[ "$(pm_field pm-after .status.message)" = 'pod "ghost2" not found in namespace default' ]
}

@test "leader election: one leads, the other takes over when it dies; its leftovers end Failed" {
	stop_controller c3
	# a migration a dead leader left mid-way (no controller runs now)
	mkpm pm-orphan ghost5
	k patch pm pm-orphan --subresource=status --type=merge \
		-p '{"status":{"phase":"Transferring","message":"half done"}}' >/dev/null
	start_controller c1
	wait_holder c1
	wait_phase pm-orphan Failed
	pm_field pm-orphan .status.message | grep -q '^interrupted in phase Transferring: the controller running it stopped'
	# finished migrations stay as they are
	[ "$(pm_field pm-web .status.phase)" = Succeeded ]
	start_controller c2
	sleep 3
	[ "$(lease_holder)" = c1 ]
	mkpm pm-l1 ghost3
	wait_phase pm-l1 Failed
	grep -q 'default/pm-l1' "$BATS_FILE_TMPDIR/c1.log"
	! grep -q 'default/pm-l1' "$BATS_FILE_TMPDIR/c2.log" || false
	kill -KILL "$(cat "$BATS_FILE_TMPDIR/c1.pid")"
	wait_holder c2 20
	mkpm pm-l2 ghost4
	wait_phase pm-l2 Failed
	grep -q 'default/pm-l2: Failed' "$BATS_FILE_TMPDIR/c2.log"
	[ "$(k -n ferry-system get lease ferry-controller -o jsonpath='{.spec.leaseTransitions}')" -ge 1 ]
}
