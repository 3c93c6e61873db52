#!/bin/bash
# run-integration.sh - the integration suites (bats) on a fresh sandbox, with
# real runc, CRIU, namespaces and agents.  Prints a TAP stream and a closing
# "N passed, N failed" line; exits non-zero on any failure.  FERRY_BIN picks
# the binary under test (e.g. build/san/ferry, the ASan/UBSan build).
set -uo pipefail
cd "$(dirname "$0")/.."
SUITES=${FERRY_SUITES:-tests/integration/*.bats}
"${FERRY_BIN:-build/ferry}" sandbox down >/dev/null 2>&1 || true
out=$(mktemp)
bats --tap $SUITES | tee "$out"
rc=${PIPESTATUS[0]}

"${FERRY_BIN:-build/ferry}" sandbox down >/dev/null 2>&1 || true
passed=$(grep -c '^ok ' "$out" || true)
failed=$(grep -c '^not ok ' "$out" || true)
rm -f "$out"
echo "integration: $passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
