#!/bin/bash
# Build the e2e test image ferry.local/redis:7 (Debian's redis-server and redis-cli with the
# shared libraries they link, on top of a static busybox for a shell) and import it into every
# node's containerd. Cached in /var/cache/ferry/k8s/images/redis.tar. Idempotent; root.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
REF=ferry.local/redis:7
OUT="$K8S_CACHE/images/redis.tar"
command -v redis-server >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null; }
if [ ! -f "$OUT" ]; then
  d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
  mkdir -p "$d/bin" "$d/usr/bin" "$d/etc" "$d/tmp" "$d/data" "$d/proc" "$d/sys" "$d/dev"
  cp /bin/busybox "$d/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$d/bin/$a"; done
  for b in /usr/bin/redis-server /usr/bin/redis-cli; do
    cp "$b" "$d/usr/bin/"
    for lib in $(ldd "$b" | grep -o '/[^ ]*\.so[^ ]*'); do
      mkdir -p "$d$(dirname "$lib")"; cp -L "$lib" "$d$lib"
    done
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nredis:x:999:999::/data:/bin/false\n' > "$d/etc/passwd"
  printf 'root:x:0:\nredis:x:999:\n' > "$d/etc/group"
  chmod 1777 "$d/tmp"
  mkdir -p "$(dirname "$OUT")"
  "$HERE/make-image.sh" "$d" "$REF" "$OUT" 'null' '["redis-server"]' >/dev/null
fi
for n in $K8S_NODES; do
  sock="$K8S_RUN/$n/containerd.sock"
  ctr -a "$sock" -n k8s.io images ls -q | grep -qx "$REF" || ctr -a "$sock" -n k8s.io images import "$OUT" >/dev/null
done
log "image $REF on every node"
