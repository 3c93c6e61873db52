#!/bin/bash
# kubectl of the running test cluster's version, with its admin kubeconfig.
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
V=$(cat "$K8S_STATE/version" 2>/dev/null) || die "no cluster is up (scripts/k8s/cluster-up.sh VERSION)"
exec "$K8S_CACHE/$V/bin/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"
