#!/usr/bin/env bats
# Failures before the commit point leave the source running and serving with
# nothing lost; bad input gets a clear error and changes nothing.

load helpers

# FAULT_MODE: the migration mode under test (`make faults` runs each)
FAULT_MODE=${FAULT_MODE:-stop-copy}

setup() {
	start_memhog it-fail node1 128
	IP=$(field it-fail ip)
	memhog_cmd "$IP" PING
}

teardown() {
	restart_agents
	remove_all it-fail
}

# the source still runs on node1, serves, has its memory intact, and is alone
assert_source_serving() {
	[ "$(field it-fail node)" = node1 ]
	[ "$(field it-fail state)" = running ]
	[ "$(copies it-fail)" -eq 1 ]
	run memhog_cmd "$IP" VERIFY
	[[ "$output" == OK* ]]
}

# starts a stop-and-copy migration whose target stalls once data arrives,
# and returns (with $MIGRATION set to its pid) when the target has it
start_stalled_migration() {
	local log=/run/ferry/nodes/node2/agent.log
	SEEN=$(grep -c "incoming migration of it-fail" "$log" || true)
	ferry migrate it-fail --to node2 --mode "$FAULT_MODE" --json --fault stall-target \
		>"$BATS_TEST_TMPDIR/r.json" 3>&- &
	MIGRATION=$!
	wait_for target_has_it
	# the stall comes with the first image, after the freeze; pre-copy sends
	# memory first, for a while on a busy machine
	wait_for source_frozen
}

source_frozen() { [ "$(memhog_cmd_timeout 1 "$IP" PING)" = "" ]; }

target_has_it() {
	[ "$(grep -c "incoming migration of it-fail" /run/ferry/nodes/node2/agent.log)" -gt "$SEEN" ]
}

@test "target agent killed during the transfer: source keeps serving" {
	probe_start "$IP" 7000 memhog
	start_stalled_migration
	kill_agent node2
	local rc=0
	wait "$MIGRATION" || rc=$?
	[ "$rc" -eq 1 ] # the CLI's own exit status (not 127: no such child)
	jq -e '.result == "failed" and (.error | length > 0)' "$BATS_TEST_TMPDIR/r.json"
	probe_stop
	restart_agents
	assert_source_serving
}

@test "source agent killed mid-migration: restarted, it resumes the source" {
	probe_start "$IP" 7000 memhog
	start_stalled_migration
	# frozen: paused by ferry (stop-copy) or held stopped by CRIU (post-copy)
	[ "$(memhog_cmd_timeout 1 "$IP" PING)" = "" ]
	kill_agent node1
	local rc=0
	wait "$MIGRATION" || rc=$?
	[ "$rc" -eq 1 ] # the CLI's own exit status (not 127: no such child)
	restart_agents
	probe_stop
	assert_source_serving
	grep -q "recovery: it-fail was left paused" /run/ferry/nodes/node1/agent.log
}

@test "source agent daemon killed alone: its live migration finishes, recovery leaves it be" {
	start_stalled_migration
	kill -KILL "$(agent_pid node1)" # the daemon only: the migration's process lives on
	restart_agents
	grep -q "recovery: it-fail: container it-fail is busy with another operation; left to it" \
		/run/ferry/nodes/node1/agent.log
	wait "$MIGRATION" # the CLI's own exit status: 0
	jq -e '.result == "ok"' "$BATS_TEST_TMPDIR/r.json"
	[ "$(field it-fail node)" = node2 ]
	[ "$(copies it-fail)" -eq 1 ]
	run memhog_cmd "$IP" VERIFY
	[[ "$output" == OK* ]]
}

@test "CRIU killed during the dump: source keeps serving, connection intact" {
	probe_start "$IP" 7000 memhog
	run ferry migrate it-fail --to node2 --mode "$FAULT_MODE" --json --fault kill-criu
	[ "$status" -eq 1 ]
	echo "$output" | jq -e '.result == "failed"'
	probe_stop
	assert_source_serving
}

@test "target disk full while receiving: source keeps serving" {
	probe_start "$IP" 7000 memhog
	run ferry migrate it-fail --to node2 --mode "$FAULT_MODE" --json --fault fill-target-disk
	[ "$status" -eq 1 ]
	echo "$output" | jq -e '.result == "failed"'
	probe_stop
	assert_source_serving
	[ -z "$(grep /dev/shm/ferry /proc/mounts)" ]
}

@test "source disk full while dumping: source keeps serving" {
	probe_start "$IP" 7000 memhog
	run ferry migrate it-fail --to node2 --mode "$FAULT_MODE" --json --fault fill-source-disk
	[ "$status" -eq 1 ]
	echo "$output" | jq -e '.result == "failed"'
	probe_stop
	assert_source_serving
	[ -z "$(grep /dev/shm/ferry /proc/mounts)" ]
	[ "$(copies it-fail)" -eq 1 ]
}

@test "transfer cut: source keeps serving" {
	probe_start "$IP" 7000 memhog
	run ferry migrate it-fail --to node2 --mode "$FAULT_MODE" --json --fault cut-transfer
	[ "$status" -eq 1 ]
	echo "$output" | jq -e '.result == "failed" and (.error | test("cut"))'
	probe_stop
	assert_source_serving
}

@test "restore fails on the target: source keeps serving" {
	probe_start "$IP" 7000 memhog
	run ferry migrate it-fail --to node2 --mode "$FAULT_MODE" --json --fault fail-restore
	echo "$output" | jq -c '{result, error}'
	[ "$status" -eq 1 ]
	echo "$output" | jq -e '.result == "failed" and (.error | test("restore"))'
	probe_stop
	assert_source_serving
}

@test "unknown container: clear error, nothing changes" {
	run ferry migrate no-such-container --to node2
	[ "$status" -ne 0 ]
	[[ "$output" == *"no container named 'no-such-container'"* ]]
	assert_source_serving
}

@test "target equal to source: clear error, nothing changes" {
	run ferry migrate it-fail --to node1 --mode "$FAULT_MODE"
	[ "$status" -ne 0 ]
	[[ "$output" == *"already on node1"* ]]
	assert_source_serving
}

@test "unknown fault name: clear error, nothing changes" {
	run ferry migrate it-fail --to node2 --mode "$FAULT_MODE" --fault no-such-fault
	[ "$status" -ne 0 ]
	[[ "$output" == *"unknown fault 'no-such-fault'"* ]]
	assert_source_serving
}

@test "unknown node: clear error, nothing changes" {
	run ferry migrate it-fail --to node9 --mode "$FAULT_MODE"
	[ "$status" -ne 0 ]
	[[ "$output" == *"unknown target node 'node9'"* ]]
	assert_source_serving
}

@test "unreachable node: clear error, nothing changes" {
	kill_agent node2
	run ferry migrate it-fail --to node2 --mode "$FAULT_MODE"
	[ "$status" -ne 0 ]
	[[ "$output" == *"unreachable"* ]]
	assert_source_serving
}

@test "malformed frames are refused and the agent keeps serving" {
	# garbage to the migration port, from node1's namespace
	ip netns exec ferry-node1 bash -c 'printf "GARBAGE-NOT-A-FRAME" >/dev/tcp/10.87.0.12/7070'
	# a frame with a bad magic to the control socket gets an ERROR frame back
	run /usr/bin/python3 "$BATS_TEST_DIRNAME/send_frame.py" /run/ferry/nodes/node1/agent.sock bad-magic
	[[ "$output" == *"malformed frame"* ]]
	run /usr/bin/python3 "$BATS_TEST_DIRNAME/send_frame.py" /run/ferry/nodes/node1/agent.sock oversize
	[[ "$output" == *"exceeds"* ]]
	run /usr/bin/python3 "$BATS_TEST_DIRNAME/send_frame.py" /run/ferry/nodes/node1/agent.sock not-json
	[[ "$output" == *"malformed REQUEST frame"* ]]
	# the garbage never reached the protocol: it failed the TLS handshake
	wait_for grep -q "refused a connection: TLS handshake" /run/ferry/nodes/node2/agent.log
	# an authenticated peer's garbage is a malformed frame, answered with ERROR
	run /usr/bin/python3 "$BATS_TEST_DIRNAME/tlspeer.py" 10.87.0.12:7070 --ca /var/lib/ferry/pki/ca.crt \
		--cert /var/lib/ferry/pki/node1.crt --key /var/lib/ferry/pki/node1.key --hello node1 --garbage
	[[ "$output" == ERROR*"malformed frame"* ]]
	ferry migrate it-fail --to node2 --mode "$FAULT_MODE"
	[ "$(field it-fail node)" = node2 ]
	ferry migrate it-fail --to node1 --mode "$FAULT_MODE"
	assert_source_serving
}
