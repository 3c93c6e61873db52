#!/usr/bin/env bats
# Load: 20 migrations in flight at once across the sandbox's nodes.  Each
# node takes at most FERRY_MAX_OUTGOING/INCOMING (2) at a time; the rest wait
# their turn ("queued" in their report).  All must succeed, each container
# alone on its target afterwards.

load helpers

teardown_file() {
	for i in $(seq 20); do ferry rm "it-load-$i" >/dev/null 2>&1 || true; done
	no_sanitizer_reports
}

@test "20 concurrent migrations: all succeed, queued beyond the per-node limit" {
	for i in $(seq 20); do
		from=node$((i % 2 + 1))
		ferry run --node "$from" --name "it-load-$i" --image workload -- counter --interval-ms 20 >/dev/null
	done
	sleep 1
	start=$(date +%s%N)
	pids=()
	for i in $(seq 20); do
		to=node$(((i + 1) % 2 + 1))
		ferry migrate "it-load-$i" --to "$to" --mode stop-copy --json \
			>"$BATS_TEST_TMPDIR/load-$i.json" 3>&- &
		pids+=($!)
	done
	failed=0
	for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
	elapsed_ms=$((($(date +%s%N) - start) / 1000000))
	queued=$(cat "$BATS_TEST_TMPDIR"/load-*.json | jq -s '[.[] | select([.phases[].name] | index("queued"))] | length')
	echo "20 migrations in ${elapsed_ms} ms, ${queued} waited in the queue, ${failed} failed" >&3
	[ "$failed" -eq 0 ]
	[ "$queued" -gt 0 ]
	for i in $(seq 20); do
		to=node$(((i + 1) % 2 + 1))
		[ "$(copies "it-load-$i")" -eq 1 ]
		[ "$(field "it-load-$i" node)" = "$to" ]
		[ "$(field "it-load-$i" state)" = running ]
	done
	# every counter kept counting through its move
	for i in 1 7 20; do
		run ferry logs "it-load-$i"
		[ "$(echo "$output" | grep -c '^1$')" -eq 1 ]
	done
}
