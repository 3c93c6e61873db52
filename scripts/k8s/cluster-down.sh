#!/bin/bash
# Remove everything scripts/k8s/cluster-up.sh made: pods/containers, kubelets, containerds, control
# plane, etcd, mounts, cgroups, network namespaces, links, routes and state directories.
# Keeps the build cache (/var/cache/ferry/k8s). Idempotent; safe to run twice.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
[ "$(id -u)" = 0 ] || die "run as root"

shim_socks=""
# 1. kubelets first (so nothing restarts pods), then every container of each node's containerd.
for n in $K8S_NODES; do stop_proc "kubelet-$n" 20; done
"$(dirname "$0")/agents.sh" stop --all 2>/dev/null || true   # ferry agents (scripts/k8s/agents.sh)
for n in $K8S_NODES; do
  NR="$K8S_RUN/$n"
  RR="$NR/runc/k8s.io"
  for id in $(ls "$NR/containerd/io.containerd.runtime.v2.task/k8s.io" 2>/dev/null); do
    shim_socks="$shim_socks $(printf '%s' "$NR/containerd.sock/k8s.io/$id" | sha256sum | cut -d' ' -f1)"
  done
  if [ -d "$RR" ]; then
    for id in $(runc --root "$RR" list -q 2>/dev/null); do runc --root "$RR" kill "$id" KILL 2>/dev/null || true; done
    sleep 0.5
    for id in $(runc --root "$RR" list -q 2>/dev/null); do runc --root "$RR" delete -f "$id" 2>/dev/null || true; done
  fi
  # shims of this node's containerd: matched by their -address argument (our socket path)
  for p in /proc/[0-9]*; do
    c=$( { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null ) || continue
    case "$c" in *containerd-shim*"-address $NR/containerd.sock"*) kill -KILL "${p#/proc/}" 2>/dev/null || true ;; esac
  done
  stop_proc "containerd-$n" 20
done

# containerd 1.6 puts shim sockets in /run/containerd/s whatever its state dir, named
# sha256("<containerd address>/<namespace>/<task id>"): remove exactly ours (ids collected above),
# then the directories if they are empty (so never another containerd's).
for x in $shim_socks; do rm -f "/run/containerd/s/$x"; done
for d in /run/containerd/s /run/containerd/fifo /run/containerd/runc/k8s.io /run/containerd/runc /run/containerd; do
  rmdir "$d" 2>/dev/null || true
done

# 2. control plane
for p in kube-scheduler kube-controller-manager kube-apiserver etcd; do stop_proc "$p" 20; done

# 3. mounts under our directories (pod volumes, overlay snapshots, netns bind mounts, shm)
for i in 1 2 3; do
  m=$(awk -v a="$K8S_STATE/" -v b="$K8S_RUN/" 'index($2, a) == 1 || index($2, b) == 1 {print $2}' /proc/self/mounts | sort -r)
  [ -z "$m" ] && break
  for x in $m; do umount "$x" 2>/dev/null || umount -l "$x" 2>/dev/null || true; done
done

# 4. cgroups: /<node> in every v1 hierarchy (and the unified one), depth first
for n in $K8S_NODES; do
  for h in /sys/fs/cgroup/*/; do
    [ -d "$h$n" ] || continue
    find "$h$n" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
done

# 5. network
for n in $K8S_NODES; do
  ip route del "$(node_cidr "$n")" 2>/dev/null || true
  ip link del "$(node_veth "$n")" 2>/dev/null || true
  [ -e "/run/netns/$n" ] && ip netns del "$n" 2>/dev/null || true
done
ip link del "$K8S_BRIDGE" 2>/dev/null || true

# 6. files: state, runtime dirs, the kubelet's /var/log/containers links into our pod log dirs
# (kubelets before 1.29 have no podLogsDir and log to /var/log/pods/<ns>_<name>_<uid>: remove
# the directories of our pods, found by the pod UIDs in our kubelets' root dirs)
uids=""
for n in $K8S_NODES; do
  for d in "$K8S_STATE/$n/kubelet/pods"/*/; do [ -d "$d" ] && uids="$uids $(basename "$d")"; done
done
for u in $uids; do
  for d in /var/log/pods/*_"$u"; do [ -d "$d" ] && rm -rf "$d"; done
done
# ... and of pods already deleted (their UIDs are gone): whatever appeared in /var/log/pods since
# cluster-up listed it (only for those versions; no other kubelet runs on this machine)
if [ -f "$K8S_STATE/var-log-pods.before" ]; then
  for d in /var/log/pods/*; do
    [ -d "$d" ] || continue
    grep -qxF "$(basename "$d")" "$K8S_STATE/var-log-pods.before" || rm -rf "$d"
  done
fi
for l in /var/log/containers/*; do
  [ -L "$l" ] || continue
  t=$(readlink "$l")
  case "$t" in "$K8S_STATE"/*) rm -f "$l"; continue ;; esac
  case "$t" in /var/log/pods/*) [ -e "$l" ] || rm -f "$l" ;; esac   # dangling after the above
done
rm -rf "$K8S_RUN" "$K8S_STATE"
# ferry's node pieces that install-ferry.sh put there (allocator state of these nodes, binaries)
for n in $K8S_NODES; do
  rm -rf "${FERRY_CNI_DATA:?}/$n"
  rm -f "/var/lib/ferry/pki/$n.crt" "/var/lib/ferry/pki/$n.key"   # the agents' certificates (CA kept)
done
# (only the files install-ferry.sh made: /opt/ferry/bin also holds the CRIU wrapper of `make deps`)
rm -f "${FERRY_OPT:?}/bin/ferry" "$FERRY_OPT/bin/ferry-runc" "$FERRY_OPT/bin/ferry-cni"
rm -rf "$FERRY_OPT/cni"
log "cluster down"
