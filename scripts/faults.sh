#!/bin/bash
# faults.sh - `make faults`: the failure-injection suite in every migration
# mode (stop-copy, postcopy, precopy, hybrid): agents killed (target during the transfer,
# source mid-migration then restarted), CRIU killed during the dump, the
# source's or the target's disk full, the transfer cut, the restore failing,
# bad input (failures.bats); and the phase matrix (phases.bats): the link cut,
# the source agent or the target agent killed at each phase.  In every case:
# never two live copies, never none, the outcome reported.
# Ends with "N passed, N failed"; `make test` runs the stop-copy half.
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0
failed=0
for mode in ${FAULT_MODES:-stop-copy postcopy precopy hybrid}; do
	echo "=== faults, mode $mode"
	out=$(mktemp)
	FAULT_MODE=$mode FERRY_SUITES="tests/integration/failures.bats tests/integration/phases.bats" scripts/run-integration.sh |
		tee "$out"
	passed=$((passed + $(grep -c '^ok ' "$out")))
	failed=$((failed + $(grep -c '^not ok ' "$out")))
	rm -f "$out"
done
echo
echo "faults: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
