#!/bin/bash
# Run ferry's Kubernetes-mode agents on the test cluster's nodes as plain processes (until the
# DaemonSet in deploy/agent.yaml runs them): one per node, in the node's network namespace
# (nsenter --net, host mount and PID namespaces, like the node's kubelet).
#   agents.sh start | stop [--all: also the host netns mount] | status
# Logs: /var/lib/ferry/k8s/log/ferry-agent-<node>.log.  Sockets: /run/ferry-k8s/<node>.sock.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
case "${1:-}" in
  start)
    # the host's network namespace, where the fabric routes live, for the agents' commit step
    mkdir -p /run/ferry-k8s
    if ! mountpoint -q /run/ferry-k8s/host-netns 2>/dev/null; then
      touch /run/ferry-k8s/host-netns && mount --bind /proc/self/ns/net /run/ferry-k8s/host-netns
    fi
    for n in $K8S_NODES; do
      pid_alive "ferry-agent-$n" >/dev/null && continue
      log "starting ferry agent on $n"
      ( for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
        exec setsid nsenter --net="/run/netns/$n" -- "$FERRY_OPT/bin/ferry" agent --k8s --node "$n" \
        --address "$(node_ip "$n")" --runc-root "$K8S_RUN/$n/runc/k8s.io" --cni-data "$FERRY_CNI_DATA" \
        --host-netns /run/ferry-k8s/host-netns --metrics-addr ":9465" \
        >> "$K8S_STATE/log/ferry-agent-$n.log" 2>&1 < /dev/null ) &
      echo "$! $(readlink -f "$FERRY_OPT/bin/ferry")" > "$K8S_RUN/pids/ferry-agent-$n.pid"
    done
    for n in $K8S_NODES; do
      for i in $(seq 1 50); do [ -S "/run/ferry-k8s/$n.sock" ] && break; sleep 0.1; done
      [ -S "/run/ferry-k8s/$n.sock" ] || die "agent of $n did not start (see $K8S_STATE/log/ferry-agent-$n.log)"
    done ;;
  stop)
    # only the sockets of agents this script started: the DaemonSet's agents (started by the
    # `kubectl apply` just before install-ferry.sh calls this) own theirs
    for n in $K8S_NODES; do
      [ -f "$K8S_RUN/pids/ferry-agent-$n.pid" ] || continue
      stop_proc "ferry-agent-$n" 5; rm -f "/run/ferry-k8s/$n.sock"
    done
    if [ "${2:-}" = --all ]; then
      umount /run/ferry-k8s/host-netns 2>/dev/null || true; rm -f /run/ferry-k8s/host-netns
    fi ;;
  status)
    for n in $K8S_NODES; do
      if p=$(pid_alive "ferry-agent-$n"); then echo "$n: running (pid $p)"; else echo "$n: stopped"; fi
    done ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
