#!/usr/bin/env bats
# Hybrid (--mode hybrid): pre-copy rounds while the container runs, then a
# freeze that moves no memory at all: the pages written since the last round
# (and those mapped since tracking began) are dropped from the target's store
# and fetched from CRIU's page server on the source after the restore, the
# rest come from the store (lib/migrate/pagefetch.h).  Correctness only:
# memory identical, the connection kept, a failure before the commit leaves
# the source serving, the source freed once the target holds every page.

load helpers

teardown() {
	remove_all it-hy it-hy-redis
}

@test "hybrid: memory written during the migration arrives intact, connection kept" {
	ferry run --node node1 --name it-hy --image workload -- memhog --mib 256 --rate-mib-s 256
	ip=$(field it-hy ip)
	wait_for memhog_cmd "$ip" PING
	probe_start "$ip" 7000 memhog
	run ferry migrate it-hy --to node2 --mode hybrid --json
	echo "$output" | jq -c '{result, error, mode, downtime_ms, total_ms, precopy}'
	[ "$status" -eq 0 ]
	# rounds ran, the freeze sent no memory, what changed came after the restore
	echo "$output" | jq -e '.mode == "hybrid" and .result == "ok"
		and ([.phases[].name] | index("precopy") != null)
		and ([.phases[].name] | index("postcopy") != null)
		and (.precopy.rounds | length) >= 2
		and .precopy.rounds[0].bytes >= 200 * 1048576
		and .precopy.rest == "postcopy"
		and .precopy.final_bytes == 0 and .precopy.late_bytes == 0
		and .precopy.rest_bytes > 0'
	probe_stop
	[ "$(field it-hy node)" = node2 ]
	run memhog_cmd "$ip" VERIFY
	[[ "$output" == OK* ]]
	[ "$(copies it-hy)" -eq 1 ]
	# the pages the target lacked came from the source's page server
	grep -E "page fetch: [1-9][0-9]* bytes fetched from the source" \
		/run/ferry/nodes/node2/agent.log
	# the source's CRIU finished (the target holds every page): nothing of
	# the container is left on node1
	! pgrep -f "runc.*checkpoint.*it-hy"
	# the application goes on writing on the target
	first=$(memhog_cmd "$ip" COUNT)
	sleep 1
	second=$(memhog_cmd "$ip" COUNT)
	[ "$second" -gt "$first" ]
}

@test "hybrid: there and back, memory intact both times" {
	memhog_there_and_back it-hy hybrid
}

@test "hybrid: redis keeps its data, there and back" {
	redis_there_and_back it-hy-redis hybrid
}

@test "hybrid: restore failing before the commit leaves the source serving, untracked" {
	failed_restore_leaves_source_untracked it-hy hybrid
}

@test "hybrid: connection cut during the rounds leaves the source serving" {
	failed_migration_leaves_source it-hy hybrid cut@precopy
}

@test "hybrid: transfer cut during the dump leaves the source serving" {
	failed_migration_leaves_source it-hy hybrid cut-transfer
}
