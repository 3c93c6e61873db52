#!/bin/sh
# run-unit.sh - runs each unit test binary given as an argument.
#
# Under valgrind (definite leaks and memory errors fail the binary) when it
# is installed and FERRY_NO_VALGRIND is unset; set FERRY_NO_VALGRIND=1 for
# sanitizer builds, which do not mix with valgrind.  Exits non-zero if any
# binary fails and ends with "N passed, N failed" (counting binaries).
passed=0
failed=0
failed_names=

if [ -z "${FERRY_NO_VALGRIND+set}" ] && command -v valgrind >/dev/null 2>&1; then
	use_valgrind=1
else
	use_valgrind=0
fi

for t in "$@"; do
	echo "== $t"
	if [ ! -x "$t" ]; then
		echo "   $t: not an executable" >&2
		rc=127
	elif [ "$use_valgrind" = 1 ]; then
		valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
			--quiet "$t"
		rc=$?
	else
		"$t"
		rc=$?
	fi
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
	else
		echo "   FAILED: $t (exit $rc)"
		failed=$((failed + 1))
		failed_names="$failed_names $t"
	fi
done

[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
