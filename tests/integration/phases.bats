#!/usr/bin/env bats
# The fault matrix: at each phase of a migration, in the mode under test, the
# link is cut, the source agent is killed or the target agent is killed
# (`--fault KIND@PHASE`, lib/migrate/fault.h: a real shutdown(2) or SIGKILL).
# After the agents restart (and recover), there is exactly one live copy, it
# serves with its memory intact, the pod IP is routed to it, and it is where
# the commit point says: on the source if the route had not moved, on the
# target if it had.  Pre-copy rounds (phase precopy) only run in pre-copy
# and hybrid mode, post-copy phases only in post-copy and hybrid mode; killing the
# source during post-copy loses the pod by design (README: post-copy), so it
# is not in the matrix.

load helpers

FAULT_MODE=${FAULT_MODE:-stop-copy}

setup() {
	start_memhog it-ph node1 64
	IP=$(field it-ph ip)
}

teardown() {
	restart_agents
	remove_all it-ph
}

# gateway the host routes the pod IP through
routed_to() { ip -4 route get "$IP" | grep -o 'via [0-9.]*' | cut -d' ' -f2; }
node_address() { ferry sandbox status --json | jq -r --arg n "$1" '.[] | select(.name == $n) | .address'; }
running_copies() { ferry ps --json | jq --arg n it-ph '[.[] | select(.name == $n and .state == "running")] | length'; }

settled() {
	[ ! -e /run/ferry/nodes/node2/incoming/it-ph ] &&
		[ "$(ferry ps --json | jq '[.[] | select(.name == "it-ph")] | length')" -eq 1 ]
}

# fault_case KIND PHASE OWNER
fault_case() {
	[[ $2 == postcopy && $FAULT_MODE != postcopy && $FAULT_MODE != hybrid ]] &&
		skip "post-copy phase in $FAULT_MODE mode"
	[[ $2 == precopy && $FAULT_MODE != precopy && $FAULT_MODE != hybrid ]] &&
		skip "pre-copy phase in $FAULT_MODE mode"
	local victim= kills=0
	case $1 in kill-source) victim=node1 ;; kill-target) victim=node2 ;; esac
	[ -n "$victim" ] && kills=$(grep -c "killing this agent" "/run/ferry/nodes/$victim/agent.log" || true)
	run ferry migrate it-ph --to node2 --mode "$FAULT_MODE" --json --fault "$1@$2"
	echo "migrate: $status $output"
	# the outcome is reported: a failure before the commit point, success after it
	if [ "$3" = node1 ]; then [ "$status" -ne 0 ]; else [ "$status" -eq 0 ]; fi
	# the fault really happened
	if [ -n "$victim" ]; then
		[ "$(grep -c "killing this agent" "/run/ferry/nodes/$victim/agent.log")" -gt "$kills" ]
	fi
	restart_agents
	# settled: the target has no migration in progress (its incoming marker is
	# gone: committed, abandoned or recovered) and one copy is left
	wait_for settled
	[ "$(running_copies)" -eq 1 ]
	[ "$(field it-ph node)" = "$3" ]
	[ "$(routed_to)" = "$(node_address "$3")" ]
	run memhog_cmd "$IP" VERIFY
	[[ "$output" == OK* ]]
}

@test "cut at prepare: one copy, on node1" {
	fault_case cut prepare node1
}

@test "cut at precopy: one copy, on node1" {
	fault_case cut precopy node1
}

@test "cut at freeze: one copy, on node1" {
	fault_case cut freeze node1
}

@test "cut at dump: one copy, on node1" {
	fault_case cut dump node1
}

@test "cut at rootfs: one copy, on node1" {
	fault_case cut rootfs node1
}

@test "cut at restore: one copy, on node1" {
	fault_case cut restore node1
}

@test "cut at commit: one copy, on node1" {
	fault_case cut commit node1
}

@test "cut at postcopy: one copy, on node2" {
	fault_case cut postcopy node2
}

@test "kill-source at prepare: one copy, on node1" {
	fault_case kill-source prepare node1
}

@test "kill-source at precopy: one copy, on node1" {
	fault_case kill-source precopy node1
}

@test "kill-source at freeze: one copy, on node1" {
	fault_case kill-source freeze node1
}

@test "kill-source at dump: one copy, on node1" {
	fault_case kill-source dump node1
}

@test "kill-source at rootfs: one copy, on node1" {
	fault_case kill-source rootfs node1
}

@test "kill-source at restore: one copy, on node1" {
	fault_case kill-source restore node1
}

@test "kill-source at commit: one copy, on node1" {
	fault_case kill-source commit node1
}

@test "kill-target at prepare: one copy, on node1" {
	fault_case kill-target prepare node1
}

@test "kill-target at precopy: one copy, on node1" {
	fault_case kill-target precopy node1
}

@test "kill-target at dump: one copy, on node1" {
	fault_case kill-target dump node1
}

@test "kill-target at rootfs: one copy, on node1" {
	fault_case kill-target rootfs node1
}

@test "kill-target at restore: one copy, on node1" {
	fault_case kill-target restore node1
}

@test "kill-target at commit: one copy, on node2" {
	fault_case kill-target commit node2
}

@test "kill-target at postcopy: one copy, on node2" {
	fault_case kill-target postcopy node2
}
