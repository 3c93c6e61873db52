#!/bin/bash
# Build Kubernetes server binaries for one release from the Go module proxy.
# usage: scripts/k8s/build.sh VERSION            (e.g. 1.30.14)
# Result: /var/cache/ferry/k8s/VERSION/bin/{kube-apiserver,kube-controller-manager,kube-scheduler,kubelet,kubectl}
# A second run with the binaries present returns at once.
set -euo pipefail
V="${1:?usage: build.sh VERSION (e.g. 1.30.14)}"; V="${V#v}"
MINOR="${V#*.}"; MINOR="${MINOR%%.*}"; PATCHV="${V##*.}"
CACHE="${FERRY_K8S_CACHE:-/var/cache/ferry/k8s}/$V"
BIN="$CACHE/bin"; BUILD="$CACHE/build"
CMDS="kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl"
have_all() { for c in $CMDS; do [ -x "$BIN/$c" ] || return 1; done; }
if have_all; then echo "k8s $V: binaries cached in $BIN"; exit 0; fi

# Go toolchain per Kubernetes minor (the proxy serves golang.org/toolchain).
case "$MINOR" in
  2[4-6]) GOTC=go1.21.13 ;;   # go.mod says go 1.19/1.20; 1.26.x patches were built with go1.21
  2[7-9]) GOTC=go1.22.12 ;;
  30)     GOTC=go1.22.12 ;;   # go.mod: go 1.22.0
  3[1-2]) GOTC=go1.23.12 ;;
  *)      GOTC=auto ;;
esac
export GOTOOLCHAIN="${FERRY_K8S_GOTOOLCHAIN:-$GOTC}"
export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
GO=/usr/local/go/bin/go; command -v go >/dev/null && GO=$(command -v go)

mkdir -p "$BIN" "$BUILD"; cd "$BUILD"
t0=$(date +%s)
# Staging modules: read the replace block of k8s.io/kubernetes' own go.mod.
$GO mod download -json "k8s.io/kubernetes@v$V" > kmod.json
KMOD=$(sed -n 's/.*"GoMod": "\(.*\)",*/\1/p' kmod.json)
STAGING=$(awk '$2=="=>" && $3 ~ /^\.\/staging\// {print $1}' "$KMOD")
[ -n "$STAGING" ] || { echo "no staging replaces found in $KMOD" >&2; exit 1; }
{
  echo "module ferry.local/k8sbuild"
  echo
  echo "go $(awk '$1=="go"{print $2; exit}' "$KMOD")"
  echo
  echo "require k8s.io/kubernetes v$V"
  echo
  echo "replace ("
  for m in $STAGING; do echo "	$m => $m v0.$MINOR.$PATCHV"; done
  echo ")"
} > go.mod
# Non-staging replaces in kubernetes' go.mod (pins of third-party modules) must be copied too.
awk '/^replace \(/{r=1;next} r&&/^\)/{r=0} r && $2=="=>" && $3 !~ /^\.\// {print "replace " $0}' "$KMOD" >> go.mod || true
awk '/^replace [^(]/ && $4 !~ /^\.\// {print}' "$KMOD" >> go.mod || true
LD="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LD="$LD -X $p.gitVersion=v$V -X $p.gitMajor=1 -X $p.gitMinor=$MINOR -X $p.gitTreeState=clean -X $p.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
done
pkgs=""; for c in $CMDS; do pkgs="$pkgs k8s.io/kubernetes/cmd/$c"; done
echo "k8s $V: building with GOTOOLCHAIN=$GOTOOLCHAIN in $BUILD"
nice -n 10 $GO build -trimpath -ldflags "$LD" -o "$BIN/" $pkgs
t1=$(date +%s)
echo "k8s $V: built in $((t1-t0)) s -> $BIN" | tee "$CACHE/build-time.txt"
"$BIN/kubelet" --version
