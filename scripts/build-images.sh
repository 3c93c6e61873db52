#!/usr/bin/env bash
# build-images.sh — builds ferry's local container images (no registry needed).
#
#   scripts/build-images.sh            # as root, after `make -C workloads`
#
# Each image lands in ${FERRY_IMAGES:-/var/lib/ferry/images}/<name>/ as
#   rootfs/      the root filesystem (runc mounts /proc, /sys, /dev itself)
#   image.json   {"name","args","env","cwd","description"}; args = default command
#   .stamp       checksums of the inputs; the image is rebuilt only when they change
#
# Images:
#   busybox   static busybox + applet symlinks in /bin, passwd/group, /tmp
#   redis     Debian's redis-server + every library ldd lists (same paths,
#             dynamic loader included) + busybox; cwd /data
#   workload  busybox + memhog, counter, probe in /usr/local/bin
#
# Environment:
#   FERRY_IMAGES        output directory (default /var/lib/ferry/images)
#   FERRY_WORKLOAD_BIN  built workload binaries, relative to the repo root
#                       unless absolute (default build/workloads)
#
# Prints "build-images: <name> ok" for each image; idempotent.
set -euo pipefail
shopt -s inherit_errexit
umask 022

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
REPO_ROOT=$(cd "$(dirname "$SCRIPT")/.." && pwd)
IMAGES=${FERRY_IMAGES:-/var/lib/ferry/images}
WORKLOAD_BIN=${FERRY_WORKLOAD_BIN:-build/workloads}
[[ $WORKLOAD_BIN == /* ]] || WORKLOAD_BIN=$REPO_ROOT/$WORKLOAD_BIN
WORKLOAD_PROGS=(memhog counter probe)
PATH_ENV="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

die() { echo "build-images: $*" >&2; exit 1; }
log() { echo "build-images: $*" >&2; }

# ---------- inputs ----------

# Sets BUSYBOX and REDIS to the real paths of the host binaries.
find_host_binaries() {
    local bb r
    for bb in /bin/busybox /usr/bin/busybox ""; do
        [[ -n $bb && -x $bb ]] && break
    done
    [[ -n $bb ]] || die "busybox not found (apt-get install busybox-static)"
    BUSYBOX=$(readlink -f "$bb")
    r=$(command -v redis-server) || die "redis-server not found (apt-get install redis-server)"
    REDIS=$(readlink -f "$r")
}

# Absolute paths of the shared libraries (and loader) a binary needs.
# Call it in a plain assignment so that a failure stops the script.
shared_libs() {
    local out
    out=$(ldd "$1") || die "ldd $1 failed"
    if grep -q 'not found' <<<"$out"; then
        die "missing libraries for $1: $(grep 'not found' <<<"$out" | tr -s ' \t' ' ')"
    fi
    awk '$2 == "=>" && $3 ~ /^\// { print $3; next }
         $1 ~ /^\// { print $1 }' <<<"$out"
}

check_workload_bins() {
    local p
    for p in "${WORKLOAD_PROGS[@]}"; do
        [[ -x $WORKLOAD_BIN/$p ]] ||
            die "$WORKLOAD_BIN/$p missing: run 'make -C workloads' first (or set FERRY_WORKLOAD_BIN)"
    done
}

# Stamp text from "label host-path" lines on stdin: a hash of this recipe,
# then "<sha256> <label>" per input file.
stamp_of() {
    local label path sum
    echo "recipe $(sha256sum "$SCRIPT" | cut -d' ' -f1)"
    while read -r label path; do
        sum=$(sha256sum "$path" | cut -d' ' -f1)
        echo "$sum $label"
    done
}

# ---------- rootfs pieces ----------

base_rootfs() {
    local r=$1
    mkdir -p "$r"/{bin,etc,proc,sys,dev,tmp,root}
    chmod 1777 "$r/tmp"
    chmod 0700 "$r/root"
    cat >"$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
    cat >"$r/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
nobody:x:65534:
EOF
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$r/etc/hosts"
}

# busybox as /bin/busybox plus one symlink per applet in /bin (keeps existing files).
install_busybox() {
    local r=$1 applet
    install -m 0755 "$BUSYBOX" "$r/bin/busybox"
    for applet in $("$BUSYBOX" --list); do
        [[ -e $r/bin/$applet || -L $r/bin/$applet ]] || ln -s busybox "$r/bin/$applet"
    done
}

# Copies a host file (dereferenced) to the same path inside the rootfs.
copy_same_path() {
    local r=$1 f=$2
    mkdir -p "$r$(dirname "$f")"
    cp -L --preserve=mode "$f" "$r$f"
}

# ---------- images ----------

populate_busybox() {
    base_rootfs "$1"
    install_busybox "$1"
}

populate_redis() {
    local r=$1 lib libs
    libs=$(shared_libs "$REDIS")
    base_rootfs "$r"
    install_busybox "$r"
    mkdir -p "$r/data" "$r/usr/bin"
    install -m 0755 "$REDIS" "$r/usr/bin/redis-server"
    for lib in $libs; do
        copy_same_path "$r" "$lib"
    done
}

populate_workload() {
    local r=$1 p
    populate_busybox "$r"
    mkdir -p "$r/usr/local/bin"
    for p in "${WORKLOAD_PROGS[@]}"; do
        install -m 0755 "$WORKLOAD_BIN/$p" "$r/usr/local/bin/$p"
    done
}

# inputs_NAME: "label host-path" per input file of image NAME.
inputs_busybox() { echo "/bin/busybox $BUSYBOX"; }

inputs_redis() {
    local lib libs
    libs=$(shared_libs "$REDIS")
    inputs_busybox
    echo "/usr/bin/redis-server $REDIS"
    for lib in $libs; do echo "$lib $lib"; done
}

inputs_workload() {
    local p
    check_workload_bins
    inputs_busybox
    for p in "${WORKLOAD_PROGS[@]}"; do echo "/usr/local/bin/$p $WORKLOAD_BIN/$p"; done
}

image_json() {
    local name=$1 cwd=$2 desc=$3 args=$4
    jq -n --arg name "$name" --argjson args "$args" --arg path "$PATH_ENV" \
        --arg cwd "$cwd" --arg desc "$desc" \
        '{name: $name, args: $args, env: [$path, "HOME=/root", "TERM=xterm"],
          cwd: $cwd, description: $desc}'
}

# build_image NAME CWD DESCRIPTION ARGS_JSON
build_image() {
    local name=$1 cwd=$2 desc=$3 args=$4 dir=$IMAGES/$1 inputs stamp tmp
    inputs=$(inputs_"$name")
    stamp=$(stamp_of <<<"$inputs")
    if [[ -d $dir/rootfs && -f $dir/image.json && -f $dir/.stamp ]] &&
        [[ $(<"$dir/.stamp") == "$stamp" ]]; then
        echo "build-images: $name ok"
        return
    fi
    log "building $name"
    tmp=$IMAGES/.$name.new.$$
    CLEANUP+=("$tmp")
    rm -rf "$tmp"
    mkdir -p "$tmp/rootfs"
    populate_"$name" "$tmp/rootfs"
    image_json "$name" "$cwd" "$desc" "$args" >"$tmp/image.json"
    printf '%s\n' "$stamp" >"$tmp/.stamp"
    if [[ -e $dir ]]; then
        mv "$dir" "$IMAGES/.$name.old.$$"
        CLEANUP+=("$IMAGES/.$name.old.$$")
    fi
    mv "$tmp" "$dir"
    echo "build-images: $name ok"
}

CLEANUP=()
cleanup() { ((${#CLEANUP[@]} == 0)) || rm -rf "${CLEANUP[@]}"; }

main() {
    [[ $(id -u) == 0 ]] || die "must run as root"
    command -v jq >/dev/null || die "jq not found (apt-get install jq)"
    find_host_binaries
    mkdir -p "$IMAGES"
    exec 9>"$IMAGES/.lock"
    flock 9
    trap cleanup EXIT

    build_image busybox / "busybox-static shell and applets" \
        '["sh","-c","while true; do sleep 3600; done"]'
    build_image redis /data "Debian redis-server with its shared libraries, busybox sh" \
        '["redis-server","--bind","0.0.0.0","--protected-mode","no","--save","","--appendonly","no","--dir","/data"]'
    build_image workload / "busybox plus ferry test workloads (memhog, counter, probe)" \
        '["memhog","--mib","64"]'
}

main "$@"
