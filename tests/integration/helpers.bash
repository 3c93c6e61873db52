# helpers.bash - shared by the integration suites: real runc, CRIU, network
# namespaces and agents, driven through the `ferry` CLI of this checkout.

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
FERRY=${FERRY_BIN:-$ROOT/build/ferry}
PROBE=$ROOT/build/workloads/probe

ferry() { "$FERRY" "$@"; }

# field NAME KEY: a field of the running (or only) copy of a container
field() {
	"$FERRY" ps --json | jq -r --arg n "$1" --arg k "$2" \
		'[.[] | select(.name == $n)] | (map(select(.state == "running")) + .)[0][$k] // empty'
}

# copies NAME: how many nodes list the container
copies() { "$FERRY" ps --json | jq --arg n "$1" '[.[] | select(.name == $n)] | length'; }

# wait_for CMD...: retries for up to 10 s
wait_for() {
	for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "timed out waiting for: $*" >&2
	return 1
}

# memhog_cmd IP LINE: one request to memhog's line protocol
memhog_cmd() {
	(exec 9<>"/dev/tcp/$1/7000" && printf '%s\n' "$2" >&9 && timeout 30 head -n1 <&9)
}

# memhog_cmd_timeout SECONDS IP LINE: like memhog_cmd, empty output when no
# answer comes in time (the container is frozen)
memhog_cmd_timeout() {
	timeout "$1" bash -c 'exec 9<>"/dev/tcp/$0/7000" && printf "%s\n" "$1" >&9 && head -n1 <&9' \
		"$2" "$3" 2>/dev/null || true
}

start_memhog() { # NAME NODE MIB
	ferry run --node "$2" --name "$1" --image workload -- memhog --mib "$3"
	wait_for memhog_cmd "$(field "$1" ip)" PING
}

# probe_start IP PORT PROTO: a client with one TCP connection, in the background
probe_start() {
	PROBE_STOP=$BATS_TEST_TMPDIR/probe.stop
	PROBE_OUT=$BATS_TEST_TMPDIR/probe.json
	"$PROBE" --addr "$1:$2" --proto "$3" --interval-ms 5 --until-file "$PROBE_STOP" >"$PROBE_OUT" 3>&- &
	PROBE_PID=$!
	sleep 0.5
}

# probe_stop: stops the client; fails unless its connection never broke
probe_stop() {
	touch "$PROBE_STOP"
	wait "$PROBE_PID" || true
	cat "$PROBE_OUT"
	jq -e '.connection_broken == false and .errors == 0' "$PROBE_OUT"
}

# redis_there_and_back NAME MODE: redis with 500 keys goes node1 -> node2 ->
# node1 in MODE and keeps every key
redis_there_and_back() {
	ferry run --node node1 --name "$1" --image redis
	local ip
	ip=$(field "$1" ip)
	wait_for redis-cli -h "$ip" ping
	for i in $(seq 500); do echo "SET k$i v$i"; done | redis-cli -h "$ip" >/dev/null
	ferry migrate "$1" --to node2 --mode "$2"
	ferry migrate "$1" --to node1 --mode "$2"
	[ "$(field "$1" node)" = node1 ]
	[ "$(redis-cli -h "$ip" dbsize)" -eq 500 ]
	[ "$(redis-cli -h "$ip" get k321)" = v321 ]
}

# memhog_there_and_back NAME MODE: memhog (64 MiB) goes node1 -> node2 ->
# node1 in MODE with its memory intact each time
memhog_there_and_back() {
	start_memhog "$1" node1 64
	local ip
	ip=$(field "$1" ip)
	ferry migrate "$1" --to node2 --mode "$2"
	run memhog_cmd "$ip" VERIFY
	[[ "$output" == OK* ]]
	ferry migrate "$1" --to node1 --mode "$2"
	[ "$(field "$1" node)" = node1 ]
	run memhog_cmd "$ip" VERIFY
	[[ "$output" == OK* ]]
}

# failed_restore_leaves_source_untracked NAME MODE: the restore fails on the
# target (pre-copy or hybrid); the source serves, its processes hold no
# userfaultfd, no CRIU page server is left, and it migrates fine afterwards
failed_restore_leaves_source_untracked() {
	failed_migration_leaves_source "$1" "$2" fail-restore probe
	local pid
	pid=$(ferry ps --json | jq -r --arg n "$1" '.[] | select(.name == $n) | .pid // empty')
	[ -n "$pid" ]
	[ "$(ls -l /proc/"$pid"/fd | grep -c userfaultfd || true)" -eq 0 ]
	! pgrep -f "runc.*checkpoint.*$1"
	ferry migrate "$1" --to node2 --mode "$2"
	[ "$(field "$1" node)" = node2 ]
	run memhog_cmd "$(field "$1" ip)" VERIFY
	[[ "$output" == OK* ]]
}

# failed_migration_leaves_source NAME MODE FAULT [probe]: memhog NAME (128
# MiB, node1) fails to migrate to node2 in MODE under --fault FAULT; it is
# still alone on node1 with its memory intact (and, with "probe", a client's
# TCP connection held through it never broke)
failed_migration_leaves_source() {
	start_memhog "$1" node1 128
	local ip
	ip=$(field "$1" ip)
	[ "${4:-}" = probe ] && probe_start "$ip" 7000 memhog
	run ferry migrate "$1" --to node2 --mode "$2" --json --fault "$3"
	[ "$status" -eq 1 ]
	echo "$output" | jq -e '.result == "failed"'
	[ "${4:-}" = probe ] && probe_stop
	[ "$(field "$1" node)" = node1 ]
	[ "$(copies "$1")" -eq 1 ]
	run memhog_cmd "$ip" VERIFY
	[[ "$output" == OK* ]]
}

agent_pid() { ferry sandbox status --json | jq -r --arg n "$1" '.[] | select(.name == $n) | .agent_pid'; }

# kill_agent NODE: kills a node's agent and every request it was serving
kill_agent() { kill -KILL -- "-$(agent_pid "$1")"; }

restart_agents() { ferry sandbox up >/dev/null; }

remove_all() { # every copy of each name, on whichever nodes hold one
	for n in "$@"; do
		for _ in 1 2 3; do ferry rm "$n" >/dev/null 2>&1 || break; done
	done
}

# no_sanitizer_reports: the agents' logs hold no ASan/UBSan report (with an
# ASan/UBSan build under test, FERRY_BIN=build/san/ferry)
no_sanitizer_reports() {
	! grep -sE "AddressSanitizer|LeakSanitizer|runtime error:" /run/ferry/nodes/*/agent.log
}

# Every suite runs on a two-node sandbox and ends by checking the agents'
# logs for sanitizer reports; a suite may override either.
setup_file() {
	"$FERRY" sandbox up --nodes 2 >/dev/null
}

teardown_file() {
	no_sanitizer_reports
}
