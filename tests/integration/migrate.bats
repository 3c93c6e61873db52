#!/usr/bin/env bats
# Live migration on the sandbox, end to end: real runc, CRIU, namespaces.

load helpers

teardown() {
	remove_all it-counter it-tcp it-redis it-pingpong
}

@test "a counting process keeps its count across a migration" {
	ferry run --node node1 --name it-counter --image workload -- counter --interval-ms 50
	sleep 1
	ferry migrate it-counter --to node2 --mode stop-copy
	sleep 1
	[ "$(field it-counter node)" = node2 ]
	run ferry logs it-counter
	# one unbroken sequence 1..N: never restarted, nothing repeated or skipped
	last=$(echo "$output" | tail -n1)
	[ "$last" -gt 30 ]
	[ "$(echo "$output" | grep -c '^1$')" -eq 1 ]
	[ "$(echo "$output" | awk 'NR != $1 { bad = 1 } END { print bad + 0 }')" -eq 0 ]
}

@test "an established TCP connection into the container survives" {
	start_memhog it-tcp node1 64
	ip=$(field it-tcp ip)
	probe_start "$ip" 7000 memhog
	ferry migrate it-tcp --to node2 --mode stop-copy
	sleep 0.5
	probe_stop
	[ "$(field it-tcp node)" = node2 ]
	[ "$(field it-tcp ip)" = "$ip" ]
	run memhog_cmd "$ip" VERIFY
	[[ "$output" == OK* ]]
}

@test "redis keeps its data" {
	ferry run --node node1 --name it-redis --image redis
	ip=$(field it-redis ip)
	wait_for redis-cli -h "$ip" ping
	for i in $(seq 200); do echo "SET k$i v$i"; done | redis-cli -h "$ip" >/dev/null
	redis-cli -h "$ip" set big "$(head -c 100000 /dev/zero | tr '\0' x)"
	ferry migrate it-redis --to node2 --mode stop-copy
	[ "$(redis-cli -h "$ip" dbsize)" -eq 201 ]
	[ "$(redis-cli -h "$ip" get k137)" = v137 ]
	[ "$(redis-cli -h "$ip" strlen big)" -eq 100000 ]
}

@test "a container migrates back and forth three times" {
	start_memhog it-pingpong node1 128
	ip=$(field it-pingpong ip)
	probe_start "$ip" 7000 memhog
	for round in 1 2 3; do
		ferry migrate it-pingpong --to node2 --mode stop-copy
		[ "$(field it-pingpong node)" = node2 ]
		ferry migrate it-pingpong --to node1 --mode stop-copy
		[ "$(field it-pingpong node)" = node1 ]
	done
	probe_stop
	run memhog_cmd "$ip" VERIFY
	[[ "$output" == OK* ]]
	[ "$(copies it-pingpong)" -eq 1 ]
}

@test "the JSON report carries every field" {
	ferry run --node node1 --name it-counter --image workload -- counter
	run ferry migrate it-counter --to node2 --mode stop-copy --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.name == "it-counter" and .from == "node1" and .to == "node2"
		and .mode == "stop-copy" and .result == "ok" and (.downtime_ms > 0)
		and (.total_ms >= .downtime_ms) and (.bytes_sent > 0)
		and ([.phases[].name] | index("dump") != null and index("commit") != null)
		and all(.phases[]; .start_ms >= 0 and .duration_ms >= 0)'
}

@test "auto mode: stop-and-copy for a small container, a live mode for a large one" {
	ferry run --node node1 --name it-counter --image workload -- counter
	run ferry migrate it-counter --to node2 --json
	echo "$output" | jq -e '.mode == "stop-copy" and (.plan | test("auto")) and .memory_bytes > 0'
	start_memhog it-tcp node1 256
	run ferry migrate it-tcp --to node2 --json
	# memhog rewrites 256 MiB/s: hybrid (or pre-copy if it ran slowly here,
	# post-copy if the sample caught it faster than the link; precopy.bats
	# checks the rule itself)
	echo "$output" | jq -e '(.mode == "hybrid" or .mode == "postcopy" or .mode == "precopy") and .result == "ok"
		and (.plan | test("over"))'
	run ferry migrate it-tcp --to node1 --json --max-downtime-ms 100000
	echo "$output" | jq -e '.mode == "stop-copy" and .result == "ok"'
	run memhog_cmd "$(field it-tcp ip)" VERIFY
	[[ "$output" == OK* ]]
}

@test "--max-bandwidth caps the image stream (never faster than the cap allows)" {
	start_memhog it-tcp node1 64
	run ferry migrate it-tcp --to node2 --mode stop-copy --max-bandwidth 400 --json
	[ "$status" -eq 0 ]
	# bytes at 400 Mbit/s take at least bytes / 50,000 ms; a lower bound, not a timing target
	echo "$output" | jq -e '.result == "ok" and
		([.phases[] | select(.name == "dump") | .duration_ms][0] >= (.bytes_sent / 50000 * 0.95))'
	run memhog_cmd "$(field it-tcp ip)" VERIFY
	[[ "$output" == OK* ]]
}
