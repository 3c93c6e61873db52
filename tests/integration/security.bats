#!/usr/bin/env bats
# Who may talk to an agent: mutual TLS on the migration port, the peer's role
# from its certificate, root only on the unix socket; and the data in transit
# is encrypted (agent streams and CRIU's page server).

load helpers

PKI=/var/lib/ferry/pki
TLSPEER="/usr/bin/python3 $BATS_TEST_DIRNAME/tlspeer.py"

node_addr() { ferry sandbox status --json | jq -r --arg n "$1" '.[] | select(.name == $n) | .address'; }

setup() {
	ADDR=$(node_addr node1):7070
}

teardown() {
	remove_all it-sec
}

@test "a peer that does not speak TLS is refused before any frame is read" {
	run $TLSPEER "$ADDR" --plain
	[[ "$output" == REFUSED* || "$output" == CLOSED ]]
	grep -q "refused a connection: TLS handshake" "/run/ferry/nodes/node1/agent.log"
}

@test "a TLS peer without a client certificate is refused" {
	run $TLSPEER "$ADDR" --ca "$PKI/ca.crt"
	[[ "$output" == REFUSED* ]]
}

@test "a certificate from another CA is refused" {
	other=$BATS_TEST_TMPDIR/other
	ferry pki init --dir "$other"
	ferry pki issue --dir "$other" --name node2 --role agent
	run $TLSPEER "$ADDR" --ca "$PKI/ca.crt" --cert "$other/node2.crt" --key "$other/node2.key" --hello node2
	[[ "$output" == REFUSED* || "$output" == CLOSED ]]
	grep -q "peer certificate rejected\|certificate verify failed\|TLS handshake" "/run/ferry/nodes/node1/agent.log"
}

@test "an agent may only speak for the node its certificate names" {
	run $TLSPEER "$ADDR" --ca "$PKI/ca.crt" --cert "$PKI/node2.crt" --key "$PKI/node2.key" --hello node2
	[[ "$output" == HELLO_OK* ]]
	run $TLSPEER "$ADDR" --ca "$PKI/ca.crt" --cert "$PKI/node2.crt" --key "$PKI/node2.key" --hello node3
	[[ "$output" == *"certificate of 'node2' says it is 'node3'"* ]]
}

@test "only a controller certificate may send control requests over TCP" {
	run $TLSPEER "$ADDR" --ca "$PKI/ca.crt" --cert "$PKI/node2.crt" --key "$PKI/node2.key" \
		--hello node2 --request '{"op":"ping"}'
	[[ "$output" == ERROR*"permission denied"* ]]
	ferry pki issue --name controller --role controller --out "$BATS_TEST_TMPDIR"
	run $TLSPEER "$ADDR" --ca "$PKI/ca.crt" --cert "$BATS_TEST_TMPDIR/controller.crt" \
		--key "$BATS_TEST_TMPDIR/controller.key" --hello controller --request '{"op":"ping"}'
	[[ "$output" == RESULT* ]]
	echo "${output#RESULT }" | jq -e '.node == "node1"'
	# and a controller may not pose as a migration source
	run $TLSPEER "$ADDR" --ca "$PKI/ca.crt" --cert "$BATS_TEST_TMPDIR/controller.crt" \
		--key "$BATS_TEST_TMPDIR/controller.key" --hello controller --prepare '{"record":{}}'
	[[ "$output" == ERROR*"permission denied"* ]]
}

@test "the control socket refuses callers other than root" {
	sock=/run/ferry/nodes/node1/agent.sock
	# open the path to an unprivileged user so the agent's own check answers
	chmod 0711 /run/ferry /run/ferry/nodes /run/ferry/nodes/node1
	chmod 0666 "$sock"
	run setpriv --reuid=65534 --regid=65534 --clear-groups \
		/usr/bin/python3 -c 'import socket,sys
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print(s.recv(200))' "$sock"
	chmod 0600 "$sock"
	chmod 0700 /run/ferry /run/ferry/nodes /run/ferry/nodes/node1
	[[ "$output" == *"permission denied: only root"* ]]
}

@test "images cross the fabric encrypted; the page server of a post-copy uses TLS" {
	marker=ferry-plaintext-marker-$RANDOM$RANDOM
	ferry run --node node1 --name it-sec --image busybox -e "SECRET=$marker" -- \
		sh -c 'echo "$SECRET" > /secret.txt; exec sleep 600'
	wait_for bash -c "\"$FERRY\" logs it-sec >/dev/null"
	sleep 0.5
	stop=$BATS_TEST_TMPDIR/stop
	/usr/bin/python3 "$BATS_TEST_DIRNAME/sniff.py" fn-node1 "$BATS_TEST_TMPDIR/cap" "$stop" \
		>"$BATS_TEST_TMPDIR/seen" &
	sniffer=$!
	sleep 0.3
	ferry migrate it-sec --to node2 --mode stop-copy --json >"$BATS_TEST_TMPDIR/report"
	touch "$stop"; wait "$sniffer"
	jq -e '.result == "ok"' "$BATS_TEST_TMPDIR/report"
	# the capture saw the whole migration (images, the writable layer with
	# /secret.txt, the environment in memory) but not the marker in clear
	[ "$(cat "$BATS_TEST_TMPDIR/seen")" -gt "$(jq .bytes_sent "$BATS_TEST_TMPDIR/report")" ]
	! grep -qa "$marker" "$BATS_TEST_TMPDIR/cap" || false
	ferry rm it-sec
	start_memhog it-sec node1 64
	run ferry migrate it-sec --to node2 --mode postcopy
	[ "$status" -eq 0 ]
	grep -q "tls: TLS handshake completed" /run/ferry/nodes/node1/criu-logs/it-sec/dump.log
	memhog_cmd "$(field it-sec ip)" PING | grep -q PONG
}
