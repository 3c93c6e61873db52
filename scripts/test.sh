#!/bin/bash
# test.sh - `make test`: unit tests (valgrind-checked), the same unit tests
# under ASan/UBSan, the dirty-tracking test on a soft-dirty kernel in a VM, a short run of every fuzz target, then the integration
# suites on real runc/CRIU/namespaces, with the normal build and again with
# the ASan/UBSan build (agents included).
# Ends with one "N passed, N failed" line over everything; non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")/.."
total_pass=0
total_fail=0
record() { # LOG: adds the "... N passed, N failed" line of a step's output
	local line
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$1" | tail -n1)
	total_pass=$((total_pass + $(echo "$line" | sed -E 's/.*[^0-9]([0-9]+) passed.*/\1/;s/^([0-9]+) passed.*/\1/')))
	total_fail=$((total_fail + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')))
}
step() { # NAME CMD...
	local log
	log=$(mktemp)
	echo "=== $1"
	"${@:2}" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	if grep -qE '[0-9]+ passed, [0-9]+ failed' "$log"; then
		record "$log"
	elif [ "$rc" -ne 0 ]; then
		total_fail=$((total_fail + 1))
	fi
	[ "$rc" -ne 0 ] && echo "=== $1: FAILED (exit $rc)"
	rm -f "$log"
	return 0
}
step "unit tests (valgrind)" make -s unit
step "unit tests (ASan/UBSan)" env FERRY_NO_VALGRIND=1 make -s SAN=1 unit
step "dirty tracking with soft-dirty (Debian's kernel in a VM)" make -s test-softdirty
step "fuzz smoke (libFuzzer, 10 s per target)" make -s fuzz-smoke
step "integration" scripts/run-integration.sh
step "build (ASan/UBSan)" make -s SAN=1 build/san/ferry
step "integration (ASan/UBSan build)" env FERRY_BIN="$PWD/build/san/ferry" scripts/run-integration.sh
echo
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
