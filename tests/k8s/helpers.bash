# helpers.bash - shared by tests/k8s/*.bats: objects made through the real
# API server of scripts/k8s/apiserver-only.sh (no kubelets: Node status and
# Pod status are written through their status subresources, as a kubelet
# would).
ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
FERRY=${FERRY:-$ROOT/build/ferry}
KMIGRATE=${KMIGRATE:-$ROOT/build/kubectl-migrate}
APIONLY=$ROOT/scripts/k8s/apiserver-only.sh
export APIONLY_DIR=${APIONLY_DIR:-/var/lib/ferry/k8s-apionly}
export KUBECONFIG=$APIONLY_DIR/admin.kubeconfig
CTL_KUBECONFIG=$APIONLY_DIR/controller.kubeconfig
KUBECTL=${FERRY_K8S_CACHE:-/var/cache/ferry/k8s}/${K8S_VERSION:-1.30.14}/bin/kubectl
AGENT_PORT=17070
WEBHOOK_PORT=19443
PKI=$APIONLY_DIR/ferry-pki

k() { "$KUBECTL" "$@"; }

# mknode NAME [Ready=True] [agent=ready] [ip]
mknode() {
	local name=$1 ready=${2:-True} agent=${3:-ready} ip=${4:-127.0.0.1} labels=""
	[ "$agent" = none ] || labels="ferry.dev/agent: \"$agent\""
	k apply -f - >/dev/null <<EOY
apiVersion: v1
kind: Node
metadata:
  name: $name
  labels: {kubernetes.io/hostname: $name, $labels}
EOY
	k patch node "$name" --subresource=status --type=merge -p "{\"status\":{
		\"conditions\":[{\"type\":\"Ready\",\"status\":\"$ready\",\"reason\":\"Test\",\"message\":\"test\",
		  \"lastHeartbeatTime\":\"$(date -u +%FT%TZ)\",\"lastTransitionTime\":\"$(date -u +%FT%TZ)\"}],
		\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"$ip\"}],
		\"capacity\":{\"cpu\":\"2\",\"memory\":\"4Gi\",\"pods\":\"110\"},
		\"allocatable\":{\"cpu\":\"2\",\"memory\":\"4Gi\",\"pods\":\"110\"}}}" >/dev/null
	# the API server taints new nodes not-ready; the node lifecycle controller
	# (not running here) would lift it once the node reports Ready
	[ "$ready" != True ] || k taint node "$name" node.kubernetes.io/not-ready:NoSchedule- >/dev/null 2>&1 || true
}

# mkpod NAME NODE [runtimeClass=ferry] [extra spec YAML, indented 2] [labels JSON] [ownerReferences JSON]
mkpod() {
	local name=$1 node=$2 rc=${3:-ferry} extra=${4:-} labels=${5:-"{app: $1}"} owners=${6:-"[]"}
	local rcline="runtimeClassName: $rc"
	[ "$rc" = none ] && rcline=""
	k apply -f - >/dev/null <<EOY
apiVersion: v1
kind: Pod
metadata:
  name: $name
  labels: $labels
  ownerReferences: $owners
spec:
  nodeName: $node
  $rcline
  containers:
  - name: app
    image: ferry.local/busybox:1.35
    resources: {requests: {cpu: 100m, memory: 64Mi}}
$extra
EOY
	k patch pod "$name" --subresource=status --type=merge -p "{\"status\":{\"phase\":\"Running\",
		\"podIP\":\"10.96.1.$((RANDOM % 200 + 20))\",
		\"containerStatuses\":[{\"name\":\"app\",\"ready\":true,\"restartCount\":0,\"image\":\"x\",\"imageID\":\"\",
		  \"containerID\":\"containerd://$(printf '%064d' 7)\",\"state\":{\"running\":{}}}]}}" >/dev/null
}

# mkpm NAME POD [TARGET] [timeoutSeconds]
mkpm() {
	local target=""
	[ -n "${3:-}" ] && target="targetNode: $3"
	k apply -f - >/dev/null <<EOY
apiVersion: ferry.dev/v1alpha1
kind: PodMigration
metadata: {name: $1}
spec:
  podName: $2
  timeoutSeconds: ${4:-20}
  $target
EOY
}

pm_field() { k get pm "$1" -o "jsonpath={$2}"; }

# wait_phase PM PHASE [seconds]
wait_phase() {
	local i
	for ((i = 0; i < ${3:-30} * 10; i++)); do
		[ "$(pm_field "$1" .status.phase)" = "$2" ] && return 0
		sleep 0.1
	done
	echo "PodMigration $1: phase '$(pm_field "$1" .status.phase)' (wanted $2): $(pm_field "$1" .status.message)" >&2
	return 1
}

# start_controller NAME [args...]: background controller, log in $BATS_FILE_TMPDIR/NAME.log
start_controller() {
	local name=$1
	shift
	"$FERRY" controller --kubeconfig "$CTL_KUBECONFIG" --all-namespaces --identity "$name" \
		--lease-namespace ferry-system --lease-seconds 4 --agent-port "$AGENT_PORT" \
		--metrics-addr "" --pki "$PKI" "$@" >"$BATS_FILE_TMPDIR/$name.log" 2>&1 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/$name.pid"
}

stop_controller() {
	local f=$BATS_FILE_TMPDIR/$1.pid p
	[ -f "$f" ] || return 0
	p=$(cat "$f")
	kill -TERM "$p" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null || true
	rm -f "$f"
}

lease_holder() { k -n ferry-system get lease ferry-controller -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }

wait_holder() { # IDENTITY [seconds]
	local i
	for ((i = 0; i < ${2:-20} * 10; i++)); do
		[ "$(lease_holder)" = "$1" ] && return 0
		sleep 0.1
	done
	echo "lease holder is '$(lease_holder)', wanted $1" >&2
	return 1
}
