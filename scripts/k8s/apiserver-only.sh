#!/bin/bash
# apiserver-only.sh - a throwaway Kubernetes control plane of two processes
# (Debian's etcd + kube-apiserver 1.30.14 from the build cache) for the
# controller's tests: no kubelets, no scheduler, no controller-manager, so
# pods bound with spec.nodeName stay Pending and Nodes are plain objects.
# It never touches the test cluster of cluster-up.sh (10.97.0.1:6443, etcd
# 127.0.0.1:23790/23800): everything listens on 127.0.0.1 on its own ports
# and lives in its own directory.
#
# usage: apiserver-only.sh start|stop|status|stop-apiserver|start-apiserver
#   start            etcd + apiserver, certificates (openssl) on first use,
#                    waits for /readyz; prints the admin kubeconfig path
#   stop             stops both and removes the directory
#   stop-apiserver / start-apiserver   only the apiserver (watch reconnect tests)
# Environment: APIONLY_DIR (default /var/lib/ferry/k8s-apionly),
#   APIONLY_PORT (16443), APIONLY_ETCD_PORT (23810; peer port +1),
#   K8S_VERSION (1.30.14).
set -euo pipefail
DIR=${APIONLY_DIR:-/var/lib/ferry/k8s-apionly}
PORT=${APIONLY_PORT:-16443}
ETCD_PORT=${APIONLY_ETCD_PORT:-23810}
VERSION=${K8S_VERSION:-1.30.14}
BIN=${FERRY_K8S_CACHE:-/var/cache/ferry/k8s}/$VERSION/bin
PKI=$DIR/pki
KUBECONFIG_ADMIN=$DIR/admin.kubeconfig

log() { printf '%s [apionly] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

alive() { # NAME: prints the pid if the process we started still runs
	local f=$DIR/run/$1.pid p
	[ -f "$f" ] || return 1
	p=$(cat "$f")
	[ -n "$p" ] && [ -d "/proc/$p" ] && grep -q "$1" "/proc/$p/cmdline" 2>/dev/null || return 1
	echo "$p"
}

stop_one() { # NAME
	local p i
	p=$(alive "$1") || { rm -f "$DIR/run/$1.pid"; return 0; }
	kill -TERM "$p" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do [ -d "/proc/$p" ] || break; sleep 0.1; done
	[ -d "/proc/$p" ] && kill -KILL "$p" 2>/dev/null || true
	rm -f "$DIR/run/$1.pid"
}

cert() { # NAME SUBJECT [SAN] : key + cert signed by the CA
	local name=$1 subj=$2 san=${3:-} ext
	openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
	openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
	ext=$PKI/$name.ext
	{
		echo "basicConstraints=CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		if [ -n "$san" ]; then
			echo "extendedKeyUsage=serverAuth"
			echo "subjectAltName=$san"
		else
			echo "extendedKeyUsage=clientAuth"
		fi
	} > "$ext"
	openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
		-CAcreateserial -days 30 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
	rm -f "$PKI/$name.csr" "$ext"
}

kubeconfig() { # NAME OUT : a kubeconfig for the client certificate NAME
	cat > "$2" <<EOC
apiVersion: v1
kind: Config
clusters:
- name: apionly
  cluster:
    server: https://127.0.0.1:$PORT
    certificate-authority-data: $(base64 -w0 < "$PKI/ca.crt")
users:
- name: $1
  user:
    client-certificate-data: $(base64 -w0 < "$PKI/$1.crt")
    client-key-data: $(base64 -w0 < "$PKI/$1.key")
contexts:
- name: $1@apionly
  context:
    cluster: apionly
    user: $1
    namespace: default
current-context: $1@apionly
EOC
}

make_pki() {
	[ -f "$PKI/ca.crt" ] && return 0
	mkdir -p "$PKI"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" \
		-days 30 -subj "/CN=ferry-apionly-ca" 2>/dev/null
	cert apiserver "/CN=kube-apiserver" "IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc"
	cert admin "/O=system:masters/CN=admin"
	# the controller's identity as in deploy/controller.yaml's ServiceAccount, so
	# the tests run the controller with exactly the RBAC rules shipped there
	cert controller "/CN=system:serviceaccount:ferry-system:ferry-controller"
	openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
	openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
	kubeconfig admin "$KUBECONFIG_ADMIN"
	kubeconfig controller "$DIR/controller.kubeconfig"
}

# daemon LOG CMD...: CMD in its own session, detached from every inherited fd
# (a test runner waits for the pipes it handed out to close)
daemon() {
	local logf=$1 fd
	shift
	(
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
		done
		exec setsid "$@"
	) > "$logf" 2>&1 < /dev/null &
}

start_etcd() {
	alive etcd >/dev/null && return 0
	mkdir -p "$DIR/etcd" "$DIR/run" "$DIR/log"
	daemon "$DIR/log/etcd.log" etcd --name apionly --data-dir "$DIR/etcd" \
		--listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
		--initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
		--initial-cluster "apionly=http://127.0.0.1:$((ETCD_PORT + 1))"
	echo $! > "$DIR/run/etcd.pid"
}

start_apiserver() {
	alive kube-apiserver >/dev/null && return 0
	[ -x "$BIN/kube-apiserver" ] || die "$BIN/kube-apiserver missing: run scripts/k8s/build.sh $VERSION"
	mkdir -p "$DIR/run" "$DIR/log"
	daemon "$DIR/log/kube-apiserver.log" "$BIN/kube-apiserver" \
		--etcd-servers "http://127.0.0.1:$ETCD_PORT" \
		--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$PORT" \
		--client-ca-file "$PKI/ca.crt" \
		--tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
		--service-account-issuer https://kubernetes.default.svc \
		--service-account-key-file "$PKI/sa.pub" \
		--service-account-signing-key-file "$PKI/sa.key" \
		--service-cluster-ip-range 10.99.0.0/24 \
		--authorization-mode RBAC \
		--disable-admission-plugins ServiceAccount \
		--profiling=false --cert-dir "$DIR/run"
	echo $! > "$DIR/run/kube-apiserver.pid"
	wait_ready
}

wait_ready() {
	local i
	for ((i = 0; i < 600; i++)); do
		if curl -sf --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
			"https://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; then
			log "kube-apiserver $VERSION ready on 127.0.0.1:$PORT"
			return 0
		fi
		alive kube-apiserver >/dev/null || die "kube-apiserver died: $(tail -5 "$DIR/log/kube-apiserver.log")"
		sleep 0.1
	done
	die "kube-apiserver not ready after 60 s (log $DIR/log/kube-apiserver.log)"
}

case "${1:-}" in
start)
	command -v etcd >/dev/null || die "etcd missing (apt-get install etcd-server)"
	make_pki
	start_etcd
	start_apiserver
	echo "$KUBECONFIG_ADMIN"
	;;
stop)
	stop_one kube-apiserver
	stop_one etcd
	rm -rf "$DIR"
	;;
stop-apiserver) stop_one kube-apiserver ;;
start-apiserver) start_apiserver ;;
status)
	for p in etcd kube-apiserver; do
		if pid=$(alive $p); then echo "$p running ($pid)"; else echo "$p stopped"; fi
	done
	;;
*) echo "usage: $0 start|stop|status|stop-apiserver|start-apiserver" >&2; exit 2 ;;
esac
