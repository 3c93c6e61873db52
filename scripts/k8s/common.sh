# Shared settings for scripts/k8s/*.sh (sourced).
K8S_STATE=${K8S_STATE:-/var/lib/ferry/k8s}        # certs, kubeconfigs, etcd data, node dirs, logs
K8S_RUN=${K8S_RUN:-/run/k8s-cluster}              # pid files, sockets, runtime state
K8S_CACHE=${FERRY_K8S_CACHE:-/var/cache/ferry/k8s} # built binaries and images (kept by cluster-down)
K8S_NODES=${K8S_NODES:-"k8s-node1 k8s-node2"}
K8S_BRIDGE=k8sbr0
K8S_HOST_IP=10.97.0.1                             # host end of the node bridge, apiserver address
K8S_NODE_NET=10.97.0.0/24
K8S_SERVICE_CIDR=10.97.128.0/24                   # first address 10.97.128.1 = kubernetes service
K8S_POD_CIDR=10.96.0.0/16                         # node i gets 10.96.i.0/24
K8S_APISERVER_PORT=6443
K8S_ETCD_CLIENT=127.0.0.1:23790
K8S_ETCD_PEER=127.0.0.1:23800
KUBECONFIG_ADMIN=$K8S_STATE/admin.kubeconfig
FERRY_OPT=${FERRY_OPT:-/opt/ferry}                # ferry-runc, ferry-cni (bin/), the CNI bin dir (cni/bin/)
FERRY_CNI_DATA=/var/lib/ferry/cni                 # ferry-cni's per-node address allocator

node_index() { echo "${1##*node}"; }                 # k8s-node2 -> 2
node_ip()    { echo "10.97.0.$((10 + $(node_index "$1")))"; }
node_cidr()  { echo "10.96.$(node_index "$1").0/24"; }
node_veth()  { echo "k8sv$(node_index "$1")"; }      # host end of the node's veth

log() { printf '%s [k8s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# pid file helpers: a pid counts as ours only if its exe is the binary we started
pid_alive() { # NAME -> prints pid if running
  local f="$K8S_RUN/pids/$1.pid" p exe
  [ -f "$f" ] || return 1
  read -r p exe < "$f" || return 1
  [ -n "$p" ] && [ -d "/proc/$p" ] || return 1
  local cur; cur=$(readlink "/proc/$p/exe" 2>/dev/null) || return 1
  # a binary replaced while running (install-ferry.sh) shows as "<path> (deleted)"
  [ "$cur" = "$exe" ] || [ "$cur" = "$exe (deleted)" ] || return 1
  echo "$p"
}
stop_proc() { # NAME [timeout_s]
  local p t=${2:-15} i
  p=$(pid_alive "$1") || { rm -f "$K8S_RUN/pids/$1.pid"; return 0; }
  kill -TERM "$p" 2>/dev/null || true
  for ((i = 0; i < t * 10; i++)); do [ -d "/proc/$p" ] || break; sleep 0.1; done
  [ -d "/proc/$p" ] && kill -KILL "$p" 2>/dev/null || true
  rm -f "$K8S_RUN/pids/$1.pid"
}
