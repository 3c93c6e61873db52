#!/bin/bash
# deps.sh - installs everything ferry needs on a Debian 12 machine, as root,
# idempotently: Debian packages, a CRIU that works on this kernel (Debian
# sid's 4.2.1 in a private prefix, see scripts/install-criu.sh), and the
# pipe size limit CRIU's page pipes need.
set -euo pipefail

PACKAGES=(
	build-essential pkg-config git
	runc iproute2 nftables iputils-arping iputils-ping procps
	libjson-c-dev libmnl-dev libxxhash-dev libzstd-dev
	libcmocka-dev bats valgrind clang libclang-rt-14-dev
	redis-server redis-tools busybox-static
	python3 python3-matplotlib jq socat iperf3
	libcurl4-openssl-dev libyaml-dev libmicrohttpd-dev libssl-dev etcd-server openssl curl
)

log() { echo "deps: $*"; }

missing=()
for pkg in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$pkg")
	fi
done
if ((${#missing[@]})); then
	log "installing ${missing[*]}"
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
# the redis-server package may start a system service; ferry needs none
if command -v systemctl >/dev/null 2>&1; then
	systemctl disable --now redis-server >/dev/null 2>&1 || true
fi

"$(dirname "$0")/install-criu.sh"

if (($(cat /proc/sys/fs/pipe-max-size) < 16777216)); then
	echo 16777216 >/proc/sys/fs/pipe-max-size
fi
log "ok"
