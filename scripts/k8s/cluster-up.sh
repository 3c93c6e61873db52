#!/bin/bash
# Bring up a real Kubernetes test cluster on this machine:
#   etcd (Debian) + kube-apiserver + kube-controller-manager + kube-scheduler (built from the Go module proxy)
#   two worker nodes k8s-node1/k8s-node2, each in its own network namespace on bridge k8sbr0, each with
#   its own containerd (Debian 1.6, CRI, cgroupfs, Debian runc) and kubelet (cgroup v1, cgroupfs).
# usage: scripts/k8s/cluster-up.sh [VERSION]     (default 1.30.14; idempotent; root; no input)
# After it: export KUBECONFIG=/var/lib/ferry/k8s/admin.kubeconfig; scripts/k8s/kubectl.sh get nodes
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
. "$HERE/common.sh"
V="${1:-${K8S_VERSION:-1.30.14}}"; V="${V#v}"
MINOR="${V#*.}"; MINOR="${MINOR%%.*}"
[ "$(id -u)" = 0 ] || die "run as root"
T0=$(date +%s)

# A cluster of another version is taken down first (its etcd data does not carry over).
if [ -f "$K8S_STATE/version" ] && [ "$(cat "$K8S_STATE/version")" != "$V" ]; then
  log "cluster of version $(cat "$K8S_STATE/version") is up: taking it down first"
  "$HERE/cluster-down.sh"
fi

# ---- 0. packages -----------------------------------------------------------------------------
need=""
command -v containerd >/dev/null || need="$need containerd"
command -v etcd >/dev/null       || need="$need etcd-server"
[ -x /usr/lib/cni/bridge ]      || need="$need containernetworking-plugins"
command -v runc >/dev/null       || need="$need runc"
command -v openssl >/dev/null    || need="$need openssl"
command -v nsenter >/dev/null    || need="$need util-linux"
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q static || need="$need busybox-static"
command -v gcc >/dev/null        || need="$need gcc libc6-dev"
if [ -n "$need" ]; then
  log "installing:$need"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
# Debian's etcd package ships an init script; this cluster runs its own etcd.

# ---- 1. binaries -----------------------------------------------------------------------------
"$HERE/build.sh" "$V"
BIN="$K8S_CACHE/$V/bin"
mkdir -p "$K8S_STATE" "$K8S_RUN/pids" "$K8S_STATE/log"
echo "$V" > "$K8S_STATE/version"
# kubelets before 1.29 have no podLogsDir and log to the shared /var/log/pods: remember what was
# there before this cluster so that cluster-down removes only what the cluster added.
if [ "$MINOR" -lt 29 ] && [ ! -f "$K8S_STATE/var-log-pods.before" ]; then
  ls -A /var/log/pods 2>/dev/null > "$K8S_STATE/var-log-pods.before" || true
fi

# ---- 2. images (pause, busybox) --------------------------------------------------------------
IMG="$K8S_CACHE/images"; mkdir -p "$IMG"
PAUSE_REF=ferry.local/pause:3.9
BUSYBOX_REF=ferry.local/busybox:1.35
if [ ! -f "$IMG/pause.tar" ]; then
  d=$(mktemp -d); gcc -static -O2 -o "$d/pause" "$HERE/pause.c"; strip "$d/pause"
  "$HERE/make-image.sh" "$d" "$PAUSE_REF" "$IMG/pause.tar" '["/pause"]' >/dev/null; rm -rf "$d"
fi
if [ ! -f "$IMG/busybox.tar" ]; then
  d=$(mktemp -d); mkdir -p "$d/bin" "$d/etc" "$d/tmp" "$d/proc" "$d/sys" "$d/dev" "$d/root"
  cp /bin/busybox "$d/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$d/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$d/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' > "$d/etc/group"
  chmod 1777 "$d/tmp"
  "$HERE/make-image.sh" "$d" "$BUSYBOX_REF" "$IMG/busybox.tar" 'null' '["sh"]' >/dev/null; rm -rf "$d"
fi

# ---- 3. certificates and kubeconfigs ---------------------------------------------------------
PKI="$K8S_STATE/pki"; mkdir -p "$PKI"; chmod 700 "$PKI"
if [ ! -f "$PKI/ca.crt" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 3650 \
    -subj "/CN=ferry-k8s-ca" 2>/dev/null
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
fi
cert() { # NAME SUBJECT [SAN] [client|server|both]
  local n=$1 subj=$2 san=${3:-} use=${4:-client} ext
  [ -f "$PKI/$n.crt" ] && return 0
  case "$use" in
    client) ext="extendedKeyUsage=clientAuth" ;;
    server) ext="extendedKeyUsage=serverAuth" ;;
    *)      ext="extendedKeyUsage=serverAuth,clientAuth" ;;
  esac
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "$ext"
    [ -n "$san" ] && echo "subjectAltName=$san"
  } > "$PKI/$n.ext"
  openssl req -newkey rsa:2048 -nodes -keyout "$PKI/$n.key" -out "$PKI/$n.csr" -subj "$subj" 2>/dev/null
  openssl x509 -req -in "$PKI/$n.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -out "$PKI/$n.crt" -days 3650 -extfile "$PKI/$n.ext" 2>/dev/null
  rm -f "$PKI/$n.csr"
}
cert apiserver "/CN=kube-apiserver" \
  "IP:$K8S_HOST_IP,IP:127.0.0.1,IP:10.97.128.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" server
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
cert admin "/O=system:masters/CN=admin"
cert controller-manager "/CN=system:kube-controller-manager"
cert scheduler "/CN=system:kube-scheduler"
for n in $K8S_NODES; do
  cert "$n" "/O=system:nodes/CN=system:node:$n"
  cert "$n-serving" "/CN=$n" "IP:$(node_ip "$n"),DNS:$n" server
done
kubeconfig() { # FILE CERTNAME
  [ -f "$1" ] && return 0
  cat > "$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: ferry-k8s
  cluster:
    server: https://$K8S_HOST_IP:$K8S_APISERVER_PORT
    certificate-authority-data: $(base64 -w0 < "$PKI/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(base64 -w0 < "$PKI/$2.crt")
    client-key-data: $(base64 -w0 < "$PKI/$2.key")
contexts:
- name: ferry-k8s
  context: {cluster: ferry-k8s, user: $2}
current-context: ferry-k8s
KC
  chmod 600 "$1"
}
kubeconfig "$KUBECONFIG_ADMIN" admin
kubeconfig "$K8S_STATE/controller-manager.kubeconfig" controller-manager
kubeconfig "$K8S_STATE/scheduler.kubeconfig" scheduler
for n in $K8S_NODES; do mkdir -p "$K8S_STATE/$n"; kubeconfig "$K8S_STATE/$n/kubelet.kubeconfig" "$n"; done

# ---- 4. network: bridge k8sbr0 on the host, one netns per node -------------------------------
if ! ip link show "$K8S_BRIDGE" >/dev/null 2>&1; then
  ip link add "$K8S_BRIDGE" type bridge
fi
ip addr replace "$K8S_HOST_IP/24" dev "$K8S_BRIDGE"
ip link set "$K8S_BRIDGE" up
for n in $K8S_NODES; do
  [ -e "/run/netns/$n" ] || ip netns add "$n"
  veth=$(node_veth "$n")
  if ! ip link show "$veth" >/dev/null 2>&1; then
    ip link add "$veth" type veth peer name eth0 netns "$n"
  fi
  ip link set "$veth" master "$K8S_BRIDGE" up
  ip -n "$n" link set lo up
  ip -n "$n" addr replace "$(node_ip "$n")/24" dev eth0
  ip -n "$n" link set eth0 up
  ip -n "$n" route replace default via "$K8S_HOST_IP"
  ip netns exec "$n" sysctl -qw net.ipv4.ip_forward=1
  ip route replace "$(node_cidr "$n")" via "$(node_ip "$n")" dev "$K8S_BRIDGE"
done
[ "$(sysctl -n net.ipv4.ip_forward)" = 1 ] || sysctl -qw net.ipv4.ip_forward=1

# ---- process start helper --------------------------------------------------------------------
start_proc() { # NAME NETNS|- BINARY ARGS...
  local name=$1 ns=$2 bin; bin=$(readlink -f "$3"); shift 3
  if pid_alive "$name" >/dev/null; then return 0; fi
  log "starting $name"
  # the daemon keeps no descriptor of its caller beyond 0-2 (a caller's pipe, e.g. bats' output,
  # would otherwise stay open for the daemon's lifetime)
  (
    for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
    if [ "$ns" = - ]; then
      exec setsid "$bin" "$@" >> "$K8S_STATE/log/$name.log" 2>&1 < /dev/null
    else
      exec setsid nsenter --net="/run/netns/$ns" -- "$bin" "$@" >> "$K8S_STATE/log/$name.log" 2>&1 < /dev/null
    fi
  ) &
  echo "$! $bin" > "$K8S_RUN/pids/$name.pid"
}
wait_for() { # SECONDS DESCRIPTION COMMAND...
  local t=$1 what=$2 i; shift 2
  for ((i = 0; i < t * 2; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  die "timed out after ${t}s waiting for $what"
}

# ---- 5. control plane ------------------------------------------------------------------------
mkdir -p "$K8S_STATE/etcd"; chmod 700 "$K8S_STATE/etcd"
start_proc etcd - "$(command -v etcd)" --name ferry-k8s --data-dir "$K8S_STATE/etcd" \
  --listen-client-urls "http://$K8S_ETCD_CLIENT" --advertise-client-urls "http://$K8S_ETCD_CLIENT" \
  --listen-peer-urls "http://$K8S_ETCD_PEER" --initial-advertise-peer-urls "http://$K8S_ETCD_PEER" \
  --initial-cluster "ferry-k8s=http://$K8S_ETCD_PEER" --listen-metrics-urls "" 
wait_for 30 etcd curl -sf "http://$K8S_ETCD_CLIENT/health"

start_proc kube-apiserver - "$BIN/kube-apiserver" \
  --advertise-address="$K8S_HOST_IP" --bind-address="$K8S_HOST_IP" --secure-port="$K8S_APISERVER_PORT" \
  --etcd-servers="http://$K8S_ETCD_CLIENT" \
  --service-cluster-ip-range="$K8S_SERVICE_CIDR" --allow-privileged=true \
  --authorization-mode=Node,RBAC --client-ca-file="$PKI/ca.crt" \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$PKI/ca.crt" --kubelet-preferred-address-types=InternalIP \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --enable-bootstrap-token-auth=false --profiling=false --v=1
wait_for 90 kube-apiserver curl -sf --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
  "https://$K8S_HOST_IP:$K8S_APISERVER_PORT/readyz"

start_proc kube-controller-manager - "$BIN/kube-controller-manager" \
  --kubeconfig="$K8S_STATE/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$K8S_STATE/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$K8S_STATE/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
  --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --service-cluster-ip-range="$K8S_SERVICE_CIDR" --cluster-cidr="$K8S_POD_CIDR" --allocate-node-cidrs=false \
  --profiling=false --v=1
start_proc kube-scheduler - "$BIN/kube-scheduler" \
  --kubeconfig="$K8S_STATE/scheduler.kubeconfig" \
  --authentication-kubeconfig="$K8S_STATE/scheduler.kubeconfig" \
  --authorization-kubeconfig="$K8S_STATE/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --profiling=false --v=1

# ---- 6a. ferry's node binaries: /opt/ferry/bin/{ferry,ferry-runc,ferry-cni}, CNI bin dir ---------
"$HERE/install-ferry.sh" binaries

# ---- 6. worker nodes -------------------------------------------------------------------------
for n in $K8S_NODES; do
  ND="$K8S_STATE/$n"; NR="$K8S_RUN/$n"; mkdir -p "$ND/cni/net.d" "$ND/cni/ipam" "$ND/kubelet" "$ND/pods-log" "$NR"
  # CNI: ferry's own plugin (deploy/cni.conflist with this node's name and pod subnet): a veth and a
  # /32 per pod, addresses from a per-node allocator; a migration's target pod gets its source's IP.
  rm -f "$ND/cni/net.d/10-k8s-pod-net.conflist"
  sed -e "s|@NODE@|$n|" -e "s|@POD_CIDR@|$(node_cidr "$n")|" "$REPO/deploy/cni.conflist" \
    > "$ND/cni/net.d/10-ferry.conflist"
  cat > "$ND/containerd.toml" <<TOML
version = 2
root = "$ND/containerd"
state = "$NR/containerd"
[grpc]
  address = "$NR/containerd.sock"
[ttrpc]
  address = ""
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$ND/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_REF"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  netns_mounts_under_state_dir = true
  enable_selinux = false
  restrict_oom_score_adj = true   # root here lacks CAP_SYS_RESOURCE: pause (-998) would fail in runc init
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "${K8S_RUNC:-$(command -v runc)}"
        Root = "$NR/runc"
        SystemdCgroup = false
    # RuntimeClass ferry (deploy/runtimeclass.yaml): the same shim and runc root, through ferry-runc,
    # which sees the pod's ferry.dev/* annotations in each container's config.json
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.ferry]
      runtime_type = "io.containerd.runc.v2"
      pod_annotations = ["ferry.dev/*"]
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.ferry.options]
        BinaryName = "$FERRY_OPT/bin/ferry-runc"
        Root = "$NR/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$FERRY_OPT/cni/bin"
    conf_dir = "$ND/cni/net.d"
    max_conf_num = 1
TOML
  # cgroup v1 root of this node (kubelet --cgroup-root must exist): /<node> in every hierarchy
  for h in /sys/fs/cgroup/*/; do
    [ -d "$h$n" ] || mkdir "$h$n" 2>/dev/null || true
  done
  if [ -d /sys/fs/cgroup/cpuset/$n ]; then
    cat /sys/fs/cgroup/cpuset/cpuset.cpus > /sys/fs/cgroup/cpuset/$n/cpuset.cpus
    cat /sys/fs/cgroup/cpuset/cpuset.mems > /sys/fs/cgroup/cpuset/$n/cpuset.mems
  fi
  start_proc "containerd-$n" "$n" "$(command -v containerd)" --config "$ND/containerd.toml"
  wait_for 30 "containerd of $n" ctr -a "$NR/containerd.sock" version
  for img in pause busybox; do
    ref=$PAUSE_REF; [ $img = busybox ] && ref=$BUSYBOX_REF
    if ! ctr -a "$NR/containerd.sock" -n k8s.io images ls -q | grep -qx "$ref"; then
      ctr -a "$NR/containerd.sock" -n k8s.io images import "$IMG/$img.tar" >/dev/null
    fi
  done
  # KubeletConfiguration (v1beta1); fields this machine needs: cgroupfs on cgroup v1, swap tolerated,
  # own cgroup root and pod log dir per node, no eviction/image GC surprises on a shared disk.
  {
    cat <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $(node_ip "$n")
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: "$PKI/ca.crt"}
authorization: {mode: AlwaysAllow}
tlsCertFile: "$PKI/$n-serving.crt"
tlsPrivateKeyFile: "$PKI/$n-serving.key"
cgroupDriver: cgroupfs
cgroupRoot: /$n
cgroupsPerQOS: true
enforceNodeAllocatable: [pods]
failSwapOn: false
protectKernelDefaults: false
localStorageCapacityIsolation: false
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
podCIDR: $(node_cidr "$n")
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
serializeImagePulls: false
maxPods: 50
YAML
    if [ "$MINOR" -ge 29 ]; then echo "podLogsDir: $ND/pods-log"; fi
    if [ "$MINOR" -ge 31 ]; then echo "failCgroupV1: false"; fi
  } > "$ND/kubelet.yaml"
  extra=()
  if [ "$MINOR" -le 26 ]; then extra+=(--pod-infra-container-image="$PAUSE_REF"); fi
  start_proc "kubelet-$n" "$n" "$BIN/kubelet" \
    --config="$ND/kubelet.yaml" --kubeconfig="$ND/kubelet.kubeconfig" \
    --root-dir="$ND/kubelet" --cert-dir="$ND/kubelet/pki" \
    --container-runtime-endpoint="unix://$NR/containerd.sock" \
    --hostname-override="$n" --node-ip="$(node_ip "$n")" --v=1 "${extra[@]}"
done

# ---- 7. wait for the nodes -------------------------------------------------------------------
KC=("$BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN")
for n in $K8S_NODES; do
  wait_for 120 "node $n Ready" sh -c "'${KC[0]}' --kubeconfig '$KUBECONFIG_ADMIN' get node $n -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
done
wait_for 60 "service account default/default" "${KC[@]}" -n default get serviceaccount default
# ---- 8. ferry's cluster objects (RuntimeClass, ...), as a user would: kubectl apply -f deploy/ ----
"$HERE/install-ferry.sh" objects
T1=$(date +%s)
echo "$((T1 - T0))" > "$K8S_STATE/up-seconds"
log "cluster $V up in $((T1 - T0)) s; KUBECONFIG=$KUBECONFIG_ADMIN; kubectl: $BIN/kubectl"
"${KC[@]}" get nodes -o wide
