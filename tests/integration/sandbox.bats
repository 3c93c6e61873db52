#!/usr/bin/env bats
# The sandbox and plain container management: up/status/down, run/ps/logs/rm.
# Runs last (alphabetically): it tears the sandbox down.

load helpers

teardown() {
	remove_all it-env it-rootfs it-ps
}

@test "sandbox status lists nodes with address, agent pid and migration port" {
	run ferry sandbox status --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e 'length == 2 and all(.[]; .agent == "running" and .agent_pid > 0
		and .migration_port == 7070 and (.address | startswith("10.87.0.")))'
	echo "$output" | jq -e '[.[].name] == ["node1", "node2"]'
}

@test "sandbox up is idempotent and restarts a dead agent" {
	kill_agent node2
	run ferry sandbox up
	[ "$status" -eq 0 ]
	ferry sandbox status --json | jq -e 'all(.[]; .agent == "running")'
}

@test "run with -e and args; ps --json has name, node, ip, state, pid; logs; rm" {
	ferry run --node node2 --name it-env --image busybox -e GREETING=hello -- sh -c 'echo "$GREETING from $(hostname)"; sleep 600'
	wait_for bash -c "\"$FERRY\" logs it-env | grep -q 'hello from it-env'"
	run ferry ps --json
	echo "$output" | jq -e '.[] | select(.name == "it-env") | .node == "node2" and .state == "running"
		and .pid > 0 and (.ip | startswith("10.88."))'
	ip=$(field it-env ip)
	ping -c1 -W2 "$ip"
	ip netns exec ferry-node1 ping -c1 -W2 "$ip"
	ferry rm it-env
	[ "$(copies it-env)" -eq 0 ]
	run ferry rm it-env
	[ "$status" -ne 0 ]
}

@test "run --rootfs uses a plain directory as the image" {
	root=$BATS_TEST_TMPDIR/rootfs
	cp -a /var/lib/ferry/images/busybox/rootfs "$root"
	echo "from a plain directory" >"$root/marker"
	ferry run --node node1 --name it-rootfs --rootfs "$root" -- sh -c 'cat /marker; sleep 600'
	wait_for bash -c "\"$FERRY\" logs it-rootfs | grep -q 'from a plain directory'"
	ferry migrate it-rootfs --to node2 --mode stop-copy
	[ "$(field it-rootfs node)" = node2 ]
}

@test "the writable layer moves with the container" {
	ferry run --node node1 --name it-ps --image busybox -- sh -c 'echo layer-data >/etc/written; rm /etc/group; sleep 600'
	wait_for ip netns exec "fp-node1-it-ps" true
	sleep 1
	ferry migrate it-ps --to node2 --mode stop-copy
	upper=/var/lib/ferry/nodes/node2/containers/it-ps/upper
	[ "$(cat "$upper/etc/written")" = layer-data ]
	# the deletion travels as an overlay whiteout
	[ "$(stat -c %F "$upper/etc/group")" = "character special file" ]
	[ ! -e /var/lib/ferry/nodes/node2/containers/it-ps/rootfs/etc/group ]
}

@test "bad input to run: unknown image, unknown node, duplicate and invalid names" {
	run ferry run --node node1 --name it-ps --image no-such-image
	[ "$status" -ne 0 ]
	[[ "$output" == *"unknown image 'no-such-image'"* ]]
	run ferry run --node node9 --name it-ps --image busybox
	[ "$status" -ne 0 ]
	[[ "$output" == *"node9"* ]]
	run ferry run --node node1 --name '../evil' --image busybox
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid container name"* ]]
	ferry run --node node1 --name it-ps --image busybox
	run ferry run --node node2 --name it-ps --image busybox
	[ "$status" -ne 0 ]
	[[ "$output" == *"already exists on node1"* ]]
}

@test "sandbox down removes everything and is safe twice" {
	ferry run --node node1 --name it-ps --image busybox
	no_sanitizer_reports
	ferry sandbox down
	ferry sandbox down
	[ -z "$(ip netns list | grep -E '^(ferry-node|fp-)')" ]
	[ ! -e /sys/class/net/ferry0 ]
	[ -z "$(ip -o link show | grep -E ' (fn-|fv|fh)[0-9a-z]')" ]
	[ -z "$(ip route show | grep '^10\.88\.')" ]
	[ -z "$(pgrep -f 'ferry agent --node ')" ] # the sandbox's agents (not a cluster's --k8s ones)
	[ -z "$(pgrep -x ferry-logger)" ]
	[ ! -e /run/ferry/sandbox.json ] && [ ! -e /run/ferry/nodes/node1 ] && [ ! -e /run/ferry/ipam ]
	[ ! -e /var/lib/ferry/nodes/node1 ] && [ ! -e /dev/shm/ferry/node1 ]
	# nothing of the sandbox's nodes is left (another agent's files may be)
	[ -z "$(ls /var/lib/ferry/nodes /run/ferry/nodes /dev/shm/ferry 2>/dev/null | grep -E '^node[0-9]+$')" ]
	run ferry sandbox status
	[ "$status" -ne 0 ]
	[[ "$output" == *"no sandbox is running"* ]]
}
