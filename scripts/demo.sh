#!/bin/bash
# demo.sh - `make demo`: a live redis moves from node1 to node2 while a client
# keeps talking to it over one TCP connection.  Exits non-zero if any check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
FERRY=build/ferry
PROBE=build/workloads/probe
NAME=demo-redis
KEYS=100000
WORK=$(mktemp -d /tmp/ferry-demo.XXXXXX)
PROBE_PID=

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { echo "demo: FAILED: $*" >&2; exit 1; }
cleanup() {
	[ -n "$PROBE_PID" ] && kill "$PROBE_PID" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

pod_ip() { "$FERRY" ps --json | jq -r --arg n "$NAME" '.[] | select(.name == $n) | .ip'; }
pod_node() { "$FERRY" ps --json | jq -r --arg n "$NAME" '.[] | select(.name == $n and .state == "running") | .node'; }

say "sandbox: two nodes, one agent each"
"$FERRY" sandbox up --nodes 2
"$FERRY" rm "$NAME" >/dev/null 2>&1 || true

say "redis on node1"
"$FERRY" run --node node1 --name "$NAME" --image redis
IP=$(pod_ip)
for _ in $(seq 100); do redis-cli -h "$IP" ping >/dev/null 2>&1 && break; sleep 0.1; done
awk -v n="$KEYS" 'BEGIN { for (i = 0; i < n; i++) {
	k = "key:" i; v = "value:" i
	printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v } }' |
	redis-cli -h "$IP" --pipe >/dev/null
echo "filled $(redis-cli -h "$IP" dbsize) keys; pod IP $IP"

say "client: one TCP connection from the host, a command every 5 ms"
"$PROBE" --addr "$IP:6379" --proto redis --op incr --interval-ms 5 --until-file "$WORK/stop" \
	>"$WORK/probe.json" &
PROBE_PID=$!
sleep 1

say "live migration node1 -> node2"
"$FERRY" migrate "$NAME" --to node2 --json >"$WORK/report.json" || true
sleep 1
touch "$WORK/stop"
wait "$PROBE_PID" || true
PROBE_PID=

jq -r '"mode \(.mode) (\(.plan))\nresult \(.result)\(if .error then ": " + .error else "" end)\ndowntime \(.downtime_ms) ms, total \(.total_ms) ms, \(.bytes_sent) bytes sent\nphases: \([.phases[] | "\(.name) \(.duration_ms)"] | join(", "))"' "$WORK/report.json"

say "checks"
[ "$(jq -r .result "$WORK/report.json")" = ok ] || fail "migration did not succeed"
[ "$(pod_node)" = node2 ] || fail "redis is not running on node2"
[ "$(pod_ip)" = "$IP" ] || fail "pod IP changed"
echo "ok  redis runs on node2 with the same IP $IP"
keys=$(redis-cli -h "$IP" --scan --pattern 'key:*' | wc -l)
[ "$keys" = "$KEYS" ] || fail "expected $KEYS keys, found $keys"
[ "$(redis-cli -h "$IP" get key:4242)" = value:4242 ] || fail "key:4242 has the wrong value"
echo "ok  all $KEYS keys present"
jq -e '.connection_broken == false and .reconnects == 0' "$WORK/probe.json" >/dev/null ||
	fail "the client's connection broke: $(cat "$WORK/probe.json")"
jq -e '.errors == 0' "$WORK/probe.json" >/dev/null || fail "the client saw errors: $(cat "$WORK/probe.json")"
echo "ok  the client's single TCP connection never broke and saw no error"
echo "    $(jq -r '"\(.requests) requests; longest gap seen by the client: \(.max_gap_ms) ms"' "$WORK/probe.json")"
echo
echo "demo: live migration succeeded"
