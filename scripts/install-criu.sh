#!/usr/bin/env bash
# install-criu.sh - install Debian unstable's CRIU 4.2.x into a private prefix.
#
# Debian 12's criu (3.17) does not work on this kernel and Debian 13's (4.1) cannot
# dump inet sockets; sid's 4.2.x works but needs glibc >= 2.38.  So we fetch sid's
# criu together with its own libc and shared libraries, unpack them (dpkg-deb -x)
# under /opt/ferry/criu/root and start criu through that tree's own dynamic loader.
# The system's apt state, dpkg database and libc are never touched: apt runs with a
# private configuration, sources list, lists, cache and (empty) status file.
#
# Result:  /opt/ferry/bin/criu   (use as `runc --criu /opt/ferry/bin/criu ...`)
#          The wrapper passes `--network-lock nftables` ahead of the caller's arguments:
#          CRIU's default lock method execs iptables-restore, which this machine lacks
#          (nftables is there, and CRIU 4.2 drives it through libnftables).  runc 1.1
#          never sets a lock method, so without this every dump of a container with its
#          own network namespace fails.  A method given over RPC or in a config file
#          (runc's org.criu.config annotation, /etc/criu/runc.conf) still wins.
# Also:    raises fs.pipe-max-size to 16 MiB (CRIU lazy pages need it here, since
#          root lacks CAP_SYS_RESOURCE).
#
# Idempotent: when /opt/ferry/bin/criu already reports 4.2.x nothing is downloaded.
# Environment (all optional):
#   FERRY_CRIU_FORCE=1            reinstall even if 4.2.x is already present
#   FERRY_CRIU_MIRROR=URL         Debian mirror (default: the first Debian archive the
#                                 system's own apt sources use)
#   FERRY_CRIU_SUITE=NAME         suite (default sid)
#   FERRY_CRIU_ALLOW_UNSIGNED=1   last resort: accept the suite unsigned ([trusted=yes])
#                                 if no available keyring verifies it
set -euo pipefail

PREFIX=/opt/ferry/criu
ROOT=$PREFIX/root
STAGE=$PREFIX/root.new
APTDIR=$PREFIX/apt
DEBS=$APTDIR/debs
WRAPPER=/opt/ferry/bin/criu
system_mirror() {
    # the archive this machine's apt already uses (deb822 .sources or one-line lists)
    { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
      grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
          sed -E 's/\[[^]]*\]//' | awk '{print $2}'; } |
        grep -E "/debian/?$" | grep -v security | head -n1 || true
}
MIRROR=${FERRY_CRIU_MIRROR:-$(system_mirror)}
[ -n "$MIRROR" ] || { echo "install-criu: no Debian archive in the system's apt sources; set FERRY_CRIU_MIRROR" >&2; exit 1; }
SUITE=${FERRY_CRIU_SUITE:-sid}
SYS_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
PIPE_MAX=16777216
WANT_VERSION_RE='4\.2(\.[0-9]+)?'
NETWORK_LOCK=nftables

# Packages known to be needed; the loop below adds whatever else ld.so reports missing.
SEED_PKGS=(criu libcompel1 libc6 libnet9 libnl-3-200
    libgnutls30t64 libnftables1 libnftnl11 libxtables12 libjansson4 libprotobuf-c1
    libbsd0 libuuid1 libmd0 libp11-kit0 libidn2-0 libunistring5 libtasn1-6
    libnettle8t64 libhogweed6t64 libgmp10 libmnl0 libffi8 libgcc-s1)

say() { echo "install-criu: $*"; }
die() { echo "install-criu: ERROR: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root"
for tool in apt-get dpkg-deb flock find; do
    command -v "$tool" >/dev/null || die "missing required tool: $tool"
done
[[ $(dpkg --print-architecture) == amd64 ]] || die "only amd64 is supported"

mkdir -p "$PREFIX" "$(dirname "$WRAPPER")"
exec 9>"$PREFIX/.lock"
flock 9 || die "cannot lock $PREFIX/.lock"
trap 'rm -rf "$STAGE"' EXIT   # a half-built tree never survives; $ROOT is replaced atomically

installed_version() {
    # Prints e.g. "4.2.1" if the wrapper works, nothing otherwise.
    [[ -x $WRAPPER ]] || return 0
    "$WRAPPER" --version 2>/dev/null | sed -n 's/^Version: *\([0-9][0-9.]*\).*/\1/p' | head -n1 || true
}

raise_pipe_max() {
    local cur
    cur=$(cat /proc/sys/fs/pipe-max-size)
    if (( cur < PIPE_MAX )); then
        echo "$PIPE_MAX" >/proc/sys/fs/pipe-max-size ||
            die "cannot raise fs.pipe-max-size to $PIPE_MAX (lazy pages need it)"
        say "fs.pipe-max-size raised from $cur to $PIPE_MAX"
    else
        say "fs.pipe-max-size is $cur (>= $PIPE_MAX), left alone"
    fi
}

# ---------------------------------------------------------------- private apt
write_apt_conf() { # $1 = sources.list line
    mkdir -p "$APTDIR"/{etc/parts,lists/partial,cache/archives/partial,state} "$DEBS"
    : >"$APTDIR/state/status"
    echo "$1" >"$APTDIR/etc/sources.list"
    # Read through APT_CONFIG, with Dir::Etc::Parts/main pointing away from /etc/apt, so
    # no system apt.conf.d snippet (hooks, extra index targets, pins) applies to us.
    cat >"$APTDIR/apt.conf" <<EOF
Dir::Etc::Parts "$APTDIR/etc/parts";
Dir::Etc::main "/dev/null";
Dir::Etc::SourceList "$APTDIR/etc/sources.list";
Dir::Etc::SourceParts "/dev/null";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "/dev/null";
Dir::State "$APTDIR/state";
Dir::State::Lists "$APTDIR/lists";
Dir::State::status "$APTDIR/state/status";
Dir::Cache "$APTDIR/cache";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
// The archive mirrors reachable from these machines can serve a frozen snapshot
// whose Release file is past its Valid-Until; signatures are still checked.
Acquire::Check-Valid-Until "false";
Acquire::Check-Date "false";
APT::Architectures { "amd64"; };
APT::Sandbox::User "root";
EOF
}

papt() { # private apt-get; the -o options repeat the key settings explicitly
    APT_CONFIG="$APTDIR/apt.conf" apt-get -q \
        -o Dir::Etc::SourceList="$APTDIR/etc/sources.list" \
        -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$APTDIR/lists" \
        -o Dir::Cache="$APTDIR/cache" \
        "$@"
}

apt_update() { # $1 = options for the sources line, e.g. "signed-by=/x.gpg"
    # Returns 0 on success, 2 if the suite's signature could not be verified, 1 otherwise.
    write_apt_conf "deb [$1] $MIRROR $SUITE main"
    local log=$APTDIR/update.log
    if papt update >"$log" 2>&1 && ! grep -qE '^(E:|W: (GPG error|The repository|Failed))' "$log"; then
        return 0
    fi
    sed 's/^/    /' "$log" >&2
    if grep -qE 'NO_PUBKEY|EXPKEYSIG|KEYEXPIRED|GPG error|is not signed|signatures (were )?invalid|not signed' "$log"; then
        return 2
    fi
    return 1
}

setup_apt() {
    say "updating private apt lists for $SUITE ($MIRROR)"
    local rc=0
    apt_update "signed-by=$SYS_KEYRING" || rc=$?
    case $rc in
        0) return 0 ;;
        2) ;;
        *) die "apt-get update for $SUITE from $MIRROR failed (see above / $APTDIR/update.log)" ;;
    esac
    # The system keyring may predate the keys the suite is signed with.  Bootstrap
    # a newer debian-archive-keyring from trixie, which the Debian 12 keyring trusts.
    say "system keyring did not verify $SUITE; bootstrapping debian-archive-keyring from trixie"
    local kr=$APTDIR/keyring.gpg tmp
    if write_apt_conf "deb [signed-by=$SYS_KEYRING] $MIRROR trixie main" &&
        papt update >"$APTDIR/update.log" 2>&1 &&
        (cd "$DEBS" && rm -f debian-archive-keyring_*.deb &&
            papt download debian-archive-keyring >>"$APTDIR/update.log" 2>&1); then
        tmp=$(mktemp -d)
        dpkg-deb -x "$DEBS"/debian-archive-keyring_*.deb "$tmp"
        cp "$tmp/usr/share/keyrings/debian-archive-keyring.gpg" "$kr"
        rm -rf "$tmp"
        rm -f "$APTDIR"/lists/*_dists_trixie_* "$DEBS"/debian-archive-keyring_*.deb
        if apt_update "signed-by=$kr"; then
            say "using keyring from trixie's debian-archive-keyring ($kr)"
            return 0
        fi
    fi
    if [[ ${FERRY_CRIU_ALLOW_UNSIGNED:-0} == 1 ]]; then
        say "WARNING: no keyring verifies $SUITE; FERRY_CRIU_ALLOW_UNSIGNED=1, so using [trusted=yes]"
        apt_update "trusted=yes" && return 0
    fi
    die "apt-get update for $SUITE failed (see above / $APTDIR/update.log);" \
        "set FERRY_CRIU_ALLOW_UNSIGNED=1 to accept the suite unsigned as a last resort"
}

# ---------------------------------------------------------------- unpack tree
declare -A FETCHED=()

fetch_and_unpack() { # package names
    local p want=()
    for p in "$@"; do [[ -n ${FETCHED[$p]:-} ]] || want+=("$p"); done
    (( ${#want[@]} )) || return 0
    say "downloading ${#want[@]} package(s): ${want[*]}"
    if ! (cd "$DEBS" && papt download "${want[@]}" >>"$APTDIR/download.log" 2>&1); then
        # One bad name (e.g. a virtual package) fails the batch: retry one by one.
        for p in "${want[@]}"; do
            (cd "$DEBS" && papt download "$p" >>"$APTDIR/download.log" 2>&1) ||
                say "  (could not download $p, skipped)"
        done
    fi
    local deb name
    for deb in "$DEBS"/*.deb; do
        [[ -e $deb ]] || continue
        name=$(dpkg-deb -f "$deb" Package)
        [[ -n ${FETCHED[$name]:-} ]] && continue
        dpkg-deb -x "$deb" "$STAGE" || die "dpkg-deb -x $deb failed"
        FETCHED[$name]=$(dpkg-deb -f "$deb" Version)
    done
}

lib_dirs_rel() { # library directories present in the tree, relative to it
    local d
    for d in usr/lib/x86_64-linux-gnu lib/x86_64-linux-gnu usr/lib lib; do
        [[ -d $1/$d ]] && echo "$d"
    done
    return 0
}

libpath_for() { # $1 = tree root: colon-separated library path
    local d out=""
    while read -r d; do out+=${out:+:}$1/$d; done < <(lib_dirs_rel "$1")
    echo "$out"
}

loader_rel() { # path of the tree's real ld-linux (symlinks there are absolute), relative
    local f
    f=$(find "$1" -type f -name 'ld-linux-x86-64.so.2' | head -n1)
    [[ -n $f ]] && echo "${f#"$1"/}"
}

criu_rel() {
    local c
    for c in usr/sbin/criu sbin/criu usr/bin/criu; do
        [[ -f $1/$c ]] && { echo "$c"; return 0; }
    done
    return 0
}

missing_libs() { # sonames of criu that the tree's loader does not find inside the tree
    # (`ld.so --list` stops at the first missing library; the LD_TRACE_LOADED_OBJECTS
    # form, which is what ldd uses, lists them all.  A library found outside the tree
    # (the system's older build) counts as missing too.)
    local ld=$1/$(loader_rel "$1") criu=$1/$(criu_rel "$1")
    LD_TRACE_LOADED_OBJECTS=1 "$ld" --library-path "$(libpath_for "$1")" "$criu" 2>&1 |
        awk -v root="$1/" '$2 == "=>" && ($3 == "not" || index($3, root) != 1) {print $1}' |
        sort -u || true
}

lib_deps_of_fetched() { # lib* packages named in Depends/Pre-Depends of fetched debs
    local deb
    for deb in "$DEBS"/*.deb; do
        [[ -e $deb ]] || continue
        dpkg-deb -f "$deb" Depends Pre-Depends | sed 's/^[A-Za-z-]*: //'
    done | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' |
        grep -E '^lib' | sort -u || true
}

install_tree() {
    rm -rf "$STAGE" "$DEBS"
    mkdir -p "$STAGE"
    setup_apt
    mkdir -p "$DEBS"
    : >"$APTDIR/download.log"

    local round=0 missing candidates new p
    fetch_and_unpack "${SEED_PKGS[@]}"
    [[ -n ${FETCHED[criu]:-} ]] || die "criu was not downloaded (see $APTDIR/download.log)"
    [[ ${FETCHED[criu]} =~ ^$WANT_VERSION_RE ]] ||
        die "$SUITE has criu ${FETCHED[criu]}, expected 4.2.x (try FERRY_CRIU_MIRROR=<a Debian snapshot archive of a date that had 4.2.x>)"
    [[ -n $(loader_rel "$STAGE") ]] || die "no ld-linux-x86-64.so.2 in the unpacked libc6"
    [[ -n $(criu_rel "$STAGE") ]] || die "no criu binary in the unpacked criu package"

    while missing=$(missing_libs "$STAGE") && [[ -n $missing ]]; do
        round=$((round + 1))
        (( round <= 10 )) || die "libraries still missing after 10 rounds: $(echo $missing)"
        say "missing for criu: $(echo $missing)"
        candidates=$(lib_deps_of_fetched)
        new=()
        for p in $candidates; do [[ -n ${FETCHED[$p]:-} ]] || new+=("$p"); done
        (( ${#new[@]} )) || die "cannot find packages providing: $(echo $missing)"
        fetch_and_unpack "${new[@]}"
    done
    say "all shared libraries of criu resolve inside the private tree (${#FETCHED[@]} packages)"

    rm -rf "$ROOT.old"
    [[ -e $ROOT ]] && mv "$ROOT" "$ROOT.old"
    mv "$STAGE" "$ROOT"
    rm -rf "$ROOT.old" "$DEBS" "$APTDIR/cache" "$APTDIR/lists"
    for p in "${!FETCHED[@]}"; do echo "$p ${FETCHED[$p]}"; done | sort >"$PREFIX/packages.txt"
}

write_wrapper() {
    local ld criu lp tmp
    ld=$ROOT/$(loader_rel "$ROOT")
    criu=$ROOT/$(criu_rel "$ROOT")
    lp=$(libpath_for "$ROOT")
    tmp=$(mktemp "$WRAPPER.XXXXXX")
    printf '#!/bin/sh\nexec %s --library-path %s --argv0 criu %s --network-lock %s "$@"\n' \
        "$ld" "$lp" "$criu" "$NETWORK_LOCK" >"$tmp"
    chmod 0755 "$tmp"
    if cmp -s "$tmp" "$WRAPPER"; then
        rm -f "$tmp"
    else
        mv -f "$tmp" "$WRAPPER"
        say "wrote $WRAPPER"
    fi
}

# ---------------------------------------------------------------- main
ver=$(installed_version)
if [[ ${FERRY_CRIU_FORCE:-0} != 1 && $ver =~ ^$WANT_VERSION_RE$ ]]; then
    say "criu $ver already installed at $WRAPPER, skipping download"
    write_wrapper
else
    [[ -n $ver ]] && say "found criu $ver at $WRAPPER, reinstalling"
    say "installing criu 4.2.x from Debian $SUITE into $PREFIX"
    install_tree
    write_wrapper
    ver=$(installed_version)
    [[ $ver =~ ^$WANT_VERSION_RE$ ]] || die "$WRAPPER --version does not report 4.2.x (got '${ver}')"
    say "installed criu $ver: $WRAPPER"
fi

raise_pipe_max

say "running criu check"
if ! out=$("$WRAPPER" check 2>&1); then
    echo "$out" | sed 's/^/    /' >&2
    die "criu check failed"
fi
echo "$out" | sed 's/^/    /'
say "done in ${SECONDS}s"
