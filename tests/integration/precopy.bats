#!/usr/bin/env bats
# Pre-copy (--mode precopy): memory is sent in rounds while the container
# runs (ferry's own dirty tracking: userfaultfd write-protect + PAGEMAP_SCAN),
# the freeze moves only what changed since the last round, and the target's
# CRIU serves the restored process from the pre-copied pages.  Correctness
# only: memory identical, the connection kept, failures before the commit
# leave the source serving, nothing left on the source after the commit.

load helpers

teardown() {
	remove_all it-prc it-prc-redis
}

@test "pre-copy: memory written during the migration arrives intact, connection kept" {
	start_memhog it-prc node1 256
	ip=$(field it-prc ip)
	probe_start "$ip" 7000 memhog
	run ferry migrate it-prc --to node2 --mode precopy --json
	echo "$output" | jq -c '{result, error, mode, downtime_ms, total_ms, precopy}'
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.mode == "precopy" and .result == "ok"
		and ([.phases[].name] | index("precopy") != null)
		and ([.phases[].name] | index("postcopy") == null)
		and (.precopy.rounds | length) >= 2
		and .precopy.rounds[0].bytes >= 200 * 1048576'
	probe_stop
	[ "$(field it-prc node)" = node2 ]
	run memhog_cmd "$ip" VERIFY
	[[ "$output" == OK* ]]
	[ "$(copies it-prc)" -eq 1 ]
	# the application goes on writing on the target
	first=$(memhog_cmd "$ip" COUNT)
	sleep 1
	second=$(memhog_cmd "$ip" COUNT)
	[ "$second" -gt "$first" ]
}

@test "pre-copy: there and back, memory intact both times" {
	memhog_there_and_back it-prc precopy
}

@test "pre-copy: redis keeps its data, there and back" {
	redis_there_and_back it-prc-redis precopy
}

@test "pre-copy: restore failing before the commit leaves the source serving, untracked" {
	failed_restore_leaves_source_untracked it-prc precopy
}

@test "pre-copy: connection cut during the rounds leaves the source serving" {
	failed_migration_leaves_source it-prc precopy cut@precopy
}

@test "pre-copy: transfer cut during the dump leaves the source serving" {
	failed_migration_leaves_source it-prc precopy cut-transfer
}

# auto_migrates_as RATE JQ: memhog (256 MiB, rewriting RATE MiB/s) migrated
# with the default mode (auto); its JSON report must satisfy JQ and the
# memory arrive intact
auto_migrates_as() {
	ferry run --node node1 --name it-prc --image workload -- memhog --mib 256 --rate-mib-s "$1"
	local ip
	ip=$(field it-prc ip)
	wait_for memhog_cmd "$ip" PING
	run ferry migrate it-prc --to node2 --json
	echo "$output" | jq -c '{mode, plan, result}'
	echo "$output" | jq -e "$2"
	run memhog_cmd "$ip" VERIFY
	[[ "$output" == OK* ]]
	remove_all it-prc
}

# by_rate: auto's rule for a container over the stop-and-copy budget, from
# the dirty rate its plan measured (lib/migrate/plan.h): pre-copy up to a
# quarter of the link (900 MB/s), hybrid below the link's rate, post-copy above
by_rate='(.plan | capture("writes (?<r>[0-9.]+) MB/s").r | tonumber) as $r
	| .mode == (if $r <= 225 then "precopy" elif $r < 900 then "hybrid" else "postcopy" end)'

@test "auto: pre-copy for a container that writes little, then by the measured dirty rate" {
	auto_migrates_as 0 '.mode == "precopy" and .result == "ok" and (.plan | test("writes"))'
	auto_migrates_as 400 ".result == \"ok\" and ($by_rate)"
	auto_migrates_as 4096 ".result == \"ok\" and ($by_rate)"
}

@test "pre-copy: memory mapped during the rounds arrives too (redis growing while it migrates)" {
	ferry run --node node1 --name it-prc-redis --image redis
	ip=$(field it-prc-redis ip)
	wait_for redis-cli -h "$ip" ping
	# a writer adds 100 KB values for 4 s: redis maps new memory all along
	python3 - "$ip" "$BATS_TEST_TMPDIR/written" <<'PY' &
import socket, sys, time
s = socket.create_connection((sys.argv[1], 6379))
i, t = 0, time.time()
while time.time() - t < 4:
    v = b"%d-" % i + b"x" * 100000
    k = b"k%d" % i
    s.sendall(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
    if not s.recv(16).startswith(b"+OK"):
        break
    i += 1
open(sys.argv[2], "w").write(str(i))
PY
	writer=$!
	sleep 0.5
	run ferry migrate it-prc-redis --to node2 --mode precopy --json
	echo "$output" | jq -c '{result, error, downtime_ms, precopy}'
	[ "$status" -eq 0 ]
	wait "$writer"
	n=$(cat "$BATS_TEST_TMPDIR/written")
	[ "$n" -gt 100 ]
	[ "$(redis-cli -h "$ip" dbsize)" -eq "$n" ]
	for k in 0 1 $((n / 2)) $((n - 1)); do
		v=$(redis-cli -h "$ip" get "k$k" | head -c 16)
		[[ $v == "$k-xxx"* ]]
	done
}
