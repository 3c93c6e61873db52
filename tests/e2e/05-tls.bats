#!/usr/bin/env bats
# The agents' TCP port speaks mutual TLS only, and what a peer may send depends on the role in its
# certificate: an agent may not send the controller's REQUEST, a peer without a certificate does
# not get past the handshake, and nobody can act on the unix socket but root.
load helpers

@test "an agent certificate cannot send REQUEST to another agent" {
  run python3 "$BATS_TEST_DIRNAME/tls_peer.py" "$(node_ip k8s-node1)" 7070 k8s-node2 request
  echo "# $output" >&3
  [[ "$output" == "ERROR "*"permission denied"* ]]
}

@test "no client certificate: the TLS handshake fails" {
  run python3 "$BATS_TEST_DIRNAME/tls_peer.py" "$(node_ip k8s-node1)" 7070 none request
  echo "# $output" >&3
  [[ "$output" == "handshake failed"* || "$output" == "closed"* ]]
}

@test "the unix socket answers root only" {
  run setpriv --reuid=65534 --regid=65534 --clear-groups "$FERRY" pod-migrate --node k8s-node1 \
    default/x --to-node k8s-node2 --to-address "$(node_ip k8s-node2)" --target-pod y
  echo "# $output" >&3
  [ "$status" -ne 0 ]
  [[ "$output" == *"Permission denied"* || "$output" == *"permission denied"* ]]
}
