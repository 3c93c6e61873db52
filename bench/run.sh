#!/usr/bin/env bash
# bench/run.sh — downtime benchmark: ferry's live migration (stop-and-copy,
# post-copy, pre-copy and hybrid) versus the checkpoint/copy/restore route that Podman/CRI-O
# checkpoint tooling gives users.
#
#   bench/run.sh                      # as root; `make bench` runs it after deps/build/images
#   BENCH_SIZES="64 256" bench/run.sh
#   BENCH_SIZES=4096 BENCH_APPEND=1 bench/run.sh   # add 4 GiB to the previous results
#
# Once per run: the link throughput node1 -> node2 (iperf3, one TCP stream,
# netns ferry-node1 -> ferry-node2); memory size / throughput is the "ideal"
# transfer time each method's total time is compared with.
#
# For each memory size N (MiB) in ${BENCH_SIZES:-64 256 1024}, one method after
# the other (only one memhog container exists at a time):
#   stop-copy  memhog --mib N on node1; the probe (one TCP connection, PING every
#             5 ms) and the COUNT poller (bench/countpoll.py: a new connection
#             every 100 ms asking memhog for its completed sweeps) run from the
#             host; `ferry migrate NAME --to node2 --mode stop-copy --json`; stop
#             the probe and the poller, VERIFY the memory, remove the container.
#   postcopy  the same with --mode postcopy; the report's "postcopy" phase (after
#             the commit, the app runs on node2 while its pages still arrive) is
#             the window in which the COUNT samples show whether it makes progress.
#   precopy   the same with --mode precopy: memory sent in rounds while memhog
#             runs, the freeze moves the last dirty set; the report's rounds
#             (bytes, ms each) go into results.json and the table.
#   hybrid    the same with --mode hybrid: pre-copy rounds, a freeze that moves
#             no memory, the pages changed since the last round fetched from
#             the source after the restore (its "postcopy" phase).
#   baseline  a fresh identical container on node1 (started by ferry, so its pod
#             is laid out exactly like ferry's), then by hand:
#               prepare   target pod netns fp-node2-NAME (veth, same IP/32, routes as
#                         lib/net/podnet.c does) and a bundle whose config.json is
#                         node1's with node1->node2 in the netns path and cgroupsPath
#               checkpoint  runc checkpoint --tcp-established --file-locks (no
#                         --leave-running) into /dev/shm
#               copy      tar of the images + the overlay upper layer, over TCP
#                         (socat) from netns ferry-node1 to ferry-node2
#               restore   upper layer into the bundle, overlay mount, runc restore
#                         --tcp-established on node2's runc root
#               route     ip route replace IP/32 via node2's fabric address
#             then probe stop, VERIFY, cleanup (runc delete -f, umount, netns del).
#             No COUNT poller: a connection arriving while runc checkpoint has the
#             container frozen is "in flight" and CRIU refuses to dump it.
#   downtime  ferry: its report (freeze -> restore returned);
#             baseline: checkpoint start -> restore returned (same end point).
#   total     ferry: its report (for post-copy, up to the last page);
#             baseline: target preparation start -> route moved.
#
# Output: bench/results/results.json (every run with ferry's raw reports, the
#         probe reports and the COUNT samples), bench/results/table.md (also
#         printed), bench/results/downtime.png (bench/plot.py, /usr/bin/python3 +
#         matplotlib).
#
# Environment:
#   BENCH_SIZES         memory sizes in MiB (default "64 256 1024")
#   BENCH_METHODS       methods, in order (default "stop-copy postcopy precopy hybrid baseline")
#   BENCH_APPEND        1: merge into the existing results.json (runs of the same
#                       size are replaced) instead of starting afresh
#   BENCH_RESULTS       output directory (default bench/results)
#   BENCH_STEP_TIMEOUT  base timeout (s) for one step; large steps get +1 s per 8 MiB (default 60)
#   BENCH_PROBE_SETTLE  after a migration, how long (s) the probe may wait for its next reply
#                       (TCP retransmission backoff) before it is stopped (default 30 + 1 s per 32 MiB)
#   BENCH_MEMHOG_ARGS   extra memhog arguments (default none: it rewrites 256 MiB/s)
#   FERRY_RUNC, FERRY_CRIU, FERRY_STATE, FERRY_LIB, FERRY_IMAGES as for ferry itself.
#
# Exit status: 0 if every migration of every method succeeded and verified,
# 1 otherwise (results are still written for whatever ran).
set -euo pipefail
shopt -s inherit_errexit

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
REPO_ROOT=$(cd "$(dirname "$SCRIPT")/.." && pwd)
FERRY=$REPO_ROOT/build/ferry
STREAMCOST=$REPO_ROOT/build/bench/streamcost
PROBE=$REPO_ROOT/build/workloads/probe
PLOT=$REPO_ROOT/bench/plot.py
COUNTPOLL=$REPO_ROOT/bench/countpoll.py
PYTHON=/usr/bin/python3

SIZES=${BENCH_SIZES:-64 256 1024}
METHODS=${BENCH_METHODS:-stop-copy postcopy precopy hybrid baseline}
APPEND=${BENCH_APPEND:-0}
RESULTS=${BENCH_RESULTS:-$REPO_ROOT/bench/results}
STEP_TIMEOUT=${BENCH_STEP_TIMEOUT:-60}
PROBE_SETTLE=${BENCH_PROBE_SETTLE:-}
read -r -a MEMHOG_EXTRA <<<"${BENCH_MEMHOG_ARGS:-}"

RUNC=${FERRY_RUNC:-/usr/sbin/runc}
CRIU=${FERRY_CRIU:-/opt/ferry/bin/criu}
STATE=${FERRY_STATE:-/run/ferry}
LIB=${FERRY_LIB:-/var/lib/ferry}
IMAGES=${FERRY_IMAGES:-/var/lib/ferry/images}
SRC_NODE=node1
DST_NODE=node2
SRC_NETNS=ferry-node1
DST_NETNS=ferry-node2
POD_GATEWAY=169.254.1.1          # lib/net/podnet.h
COPY_PORT=7079                   # baseline transfer, on node2's fabric address
IPERF_PORT=7078                  # link throughput, on node2's fabric address
SCRATCH=/dev/shm/ferry-bench.$$  # checkpoint images (tmpfs)
BUNDLES=$LIB/bench.$$            # baseline target bundles (not in ferry's store)

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
# wall clock in ms with 3 decimals, without forking (EPOCHREALTIME has microseconds)
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo "${t:0:-3}.${t: -3}"; }
# step timeout for a size: base + 1 s per 8 MiB
tmo() { echo $((STEP_TIMEOUT + ${1:-0} / 8)); }

# ---------------------------------------------------------------- cleanup

CONTAINERS=()        # ferry containers this run created (removed on exit)
BASELINE_ACTIVE=()   # "name ip" of a baseline target that may exist on node2
PROBE_PID=
COUNT_PID=
RECV_PID=
IPERF_PID=

baseline_teardown() {
    local name=$1 ip=$2 b=$BUNDLES/$1
    timeout 30 "$RUNC" --root "$STATE/nodes/$DST_NODE/runc" delete -f "$name" >/dev/null 2>&1 || true
    if mountpoint -q "$b/rootfs" 2>/dev/null; then
        umount "$b/rootfs" 2>/dev/null || umount -l "$b/rootfs" 2>/dev/null || true
    fi
    [[ -e /run/netns/fp-$DST_NODE-$name ]] && ip netns del "fp-$DST_NODE-$name" 2>/dev/null || true
    # the /32 we moved to node2 (only if it still points there)
    [[ -n $ip ]] && ip route del "$ip/32" via "$(node_address "$DST_NODE")" 2>/dev/null || true
    rm -rf "$b" "$SCRATCH/$name"
}

# true while PID runs (a zombie, exited but not yet reaped, does not count)
alive() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
    [[ -n $st && $st != Z && $st != X ]]
}

# stop a background job of ours: TERM, up to 5 s, KILL; also its direct children
stop_bg() {
    local pid=$1
    [[ -n $pid ]] || return 0
    if alive "$pid"; then
        pkill -TERM -P "$pid" 2>/dev/null || true
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
        pkill -KILL -P "$pid" 2>/dev/null || true
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? c
    set +e
    stop_bg "$PROBE_PID"
    stop_bg "$COUNT_PID"
    stop_bg "$RECV_PID"
    stop_bg "$IPERF_PID"
    for c in "${BASELINE_ACTIVE[@]}"; do
        # shellcheck disable=SC2086
        baseline_teardown $c
    done
    for c in "${CONTAINERS[@]}"; do
        log "cleanup: removing $c"
        timeout 60 "$FERRY" rm "$c" >/dev/null 2>&1
    done
    rm -rf "$SCRATCH"
    rmdir "$BUNDLES" 2>/dev/null
    exit "$rc"
}

# ---------------------------------------------------------------- setup

node_address() { jq -r --arg n "$1" '.nodes[] | select(.name == $n) | .address' "$STATE/sandbox.json"; }

preflight() {
    [[ $(id -u) == 0 ]] || die "must run as root"
    local f
    for f in "$FERRY" "$PROBE"; do
        [[ -x $f ]] || die "$f missing: run 'make' first"
    done
    [[ -x $RUNC ]] || die "runc not found at $RUNC (make deps)"
    [[ -x $CRIU ]] || die "CRIU not found at $CRIU (make deps)"
    [[ -d $IMAGES/workload/rootfs ]] ||
        die "image 'workload' missing: run 'make images'"
    command -v jq >/dev/null || die "jq not found (make deps)"
    if ! command -v socat >/dev/null; then
        log "socat not found (the baseline's TCP copy needs it); installing it from Debian"
        timeout 300 env DEBIAN_FRONTEND=noninteractive apt-get install -y -q socat >/dev/null 2>&1 ||
            die "socat missing and 'apt-get install socat' failed"
    fi
    if ! command -v iperf3 >/dev/null; then
        log "iperf3 not found (the link throughput needs it); installing it from Debian"
        timeout 300 env DEBIAN_FRONTEND=noninteractive apt-get install -y -q iperf3 >/dev/null 2>&1 ||
            die "iperf3 missing and 'apt-get install iperf3' failed"
    fi
    "$PYTHON" -c 'import matplotlib' 2>/dev/null ||
        log "warning: $PYTHON has no matplotlib (python3-matplotlib): no plot"
    local s
    for s in $SIZES; do
        [[ $s =~ ^[1-9][0-9]*$ ]] || die "BENCH_SIZES: '$s' is not a size in MiB"
    done
    for s in $METHODS; do
        [[ $s =~ ^(stop-copy|postcopy|precopy|hybrid|baseline)$ ]] ||
            die "BENCH_METHODS: '$s' is not one of stop-copy, postcopy, precopy, hybrid, baseline"
    done
}

sandbox_up() {
    local out
    log "bringing the sandbox up"
    if ! out=$(timeout 120 "$FERRY" sandbox up 2>&1); then
        die "the sandbox could not come up ('ferry sandbox up' failed or timed out):
$out
(see $STATE/nodes/*/agent.log)"
    fi
    [[ -f $STATE/sandbox.json ]] || die "sandbox up reported success but $STATE/sandbox.json is missing"
    local n
    for n in "$SRC_NODE" "$DST_NODE"; do
        [[ -n $(node_address "$n") ]] || die "node $n is not in $STATE/sandbox.json: $out"
        [[ -e /run/netns/ferry-$n ]] || die "network namespace ferry-$n missing after sandbox up"
    done
    for n in "$SRC_NODE" "$DST_NODE"; do
        grep -Eq "^$n[[:space:]].*agent running" <<<"$out" ||
            die "the agent of $n is not running (see $STATE/nodes/$n/agent.log):
$out"
    done
}

# ---------------------------------------------------------------- helpers

# memhog line protocol over bash's /dev/tcp, one request, reply on stdout
memhog_request() {
    timeout "${3:-10}" bash -c 'exec 3<>"/dev/tcp/$0/7000" && printf "%s\n" "$1" >&3 &&
        IFS= read -r line <&3 && printf "%s\n" "$line"' "$1" "$2" 2>/dev/null | tr -d '\r'
}

wait_port() {
    local ip=$1 deadline=$((SECONDS + $2))
    while ((SECONDS < deadline)); do
        [[ $(memhog_request "$ip" PING 2) == PONG* ]] && return 0
        sleep 0.2
    done
    return 1
}

# All step functions run in the main shell (never inside $(...)), so the
# state the EXIT trap needs (CONTAINERS, BASELINE_ACTIVE, PROBE_PID) is
# always current.  They report a failure by returning 1 with the reason in ERR.

# start_container NAME SIZE -> IP
start_container() {
    local name=$1 size=$2 out
    CONTAINERS+=("$name")
    out=$(timeout "$(tmo)" "$FERRY" run --node "$SRC_NODE" --name "$name" --image workload \
        -- memhog --mib "$size" "${MEMHOG_EXTRA[@]}" 2>&1) ||
        { ERR="ferry run failed: $out"; return 1; }
    IP=$(timeout 30 "$FERRY" ps | awk -v n="$name" '$1 == n { print $3 }') || true
    [[ $IP =~ ^10\.88\. ]] || { ERR="no pod IP for $name: $out"; return 1; }
    wait_port "$IP" "$(tmo "$size")" ||
        { ERR="memhog in $name ($IP) never answered on port 7000"; return 1; }
}

remove_container() {
    local name=$1 c keep=()
    timeout 60 "$FERRY" rm "$name" >/dev/null 2>&1 || log "warning: ferry rm $name failed"
    for c in "${CONTAINERS[@]}"; do [[ $c == "$name" ]] || keep+=("$c"); done
    CONTAINERS=("${keep[@]}")
}

# probe_start IP SIZE TAG -> PROBE_PID
probe_start() {
    PROBE_STOP=$SCRATCH/$3.probe-stop
    PROBE_OUT=$SCRATCH/$3.probe.json
    rm -f "$PROBE_STOP"
    "$PROBE" --addr "$1:7000" --proto memhog --interval-ms 5 \
        --reply-timeout-ms "$(($(tmo "$2") * 1000))" --until-file "$PROBE_STOP" \
        >"$PROBE_OUT" 2>"$SCRATCH/$3.probe.err" &
    PROBE_PID=$!
    sleep 1   # steady state: a couple of hundred PINGs before the migration
    alive "$PROBE_PID" ||
        { ERR="probe exited early: $(cat "$PROBE_OUT" "$SCRATCH/$3.probe.err")"; PROBE_PID=; return 1; }
}

# probe_stop SIZE LAST_POSSIBLE_REPLY_MS -> PROBE_JSON (the probe's report, {} if none)
# The probe checks its stop file only between round trips, so after the
# migration it exits right after its next reply and its max_gap_ms then covers
# the whole outage, TCP retransmission backoff included.  If no reply comes
# within the settle time it is stopped with SIGTERM: "stalled" is set and
# gap_lower_bound_ms = stop time - LAST_POSSIBLE_REPLY_MS (when the service was
# frozen at the latest).
probe_stop() {
    local size=$1 frozen_ms=$2 settle t_kill="" stalled=false
    settle=${PROBE_SETTLE:-$((30 + size / 32))}
    touch "$PROBE_STOP"
    for _ in $(seq $((settle * 10))); do alive "$PROBE_PID" || break; sleep 0.1; done
    if alive "$PROBE_PID"; then
        stalled=true
        t_kill=$(now_ms)
        log "probe: no reply within ${settle} s after the migration, stopping it"
    fi
    stop_bg "$PROBE_PID"   # SIGTERM: it still prints its report
    PROBE_PID=
    PROBE_JSON=$(jq -c . "$PROBE_OUT" 2>/dev/null | tail -n1 | grep .) || PROBE_JSON='{}'
    PROBE_JSON=$(jq -c --argjson st "$stalled" --arg tk "$t_kill" --arg fz "$frozen_ms" '
        . + {stalled: $st, settle_s: '"$settle"',
             gap_lower_bound_ms: (if $st and $fz != "" then
                 (($tk | tonumber) - ($fz | tonumber)) * 10 | round / 10 else null end)}' <<<"$PROBE_JSON")
}

# count_start IP TAG -> COUNT_PID: memhog's COUNT, one new connection every 100 ms
count_start() {
    COUNT_STOP=$SCRATCH/$2.count-stop
    COUNT_OUT=$SCRATCH/$2.count.json
    rm -f "$COUNT_STOP" "$COUNT_OUT"
    "$PYTHON" "$COUNTPOLL" poll "$1" --out "$COUNT_OUT" --until-file "$COUNT_STOP" \
        --interval-ms 100 --timeout-s 10 2>"$SCRATCH/$2.count.err" &
    COUNT_PID=$!
}

# count_stop T0_MS TEND_MS [REPORT_FILE] -> COUNT_JSON (summary), COUNT_OUT (samples)
# Called after probe_stop; polls 0.5 s more so that requests sent after the
# migration returned are answered (the end point of "max interval without reply").
count_stop() {
    local args=(--t0 "$1" --t-end "${2:-$(now_ms)}")
    [[ -n ${3:-} && -s ${3:-} ]] && args+=(--report "$3")
    if [[ -z $COUNT_PID ]]; then COUNT_JSON='{"error": "COUNT poller not started"}'; return; fi
    sleep 0.5
    touch "$COUNT_STOP"
    for _ in $(seq 200); do alive "$COUNT_PID" || break; sleep 0.1; done
    stop_bg "$COUNT_PID"
    COUNT_PID=
    [[ -s $COUNT_OUT ]] || echo '{"samples": []}' >"$COUNT_OUT"
    COUNT_JSON=$("$PYTHON" "$COUNTPOLL" summarize "$COUNT_OUT" "${args[@]}" 2>&1 | tail -n1)
    jq -e . >/dev/null 2>&1 <<<"$COUNT_JSON" ||
        COUNT_JSON=$(jq -n --arg e "$COUNT_JSON" '{error: ("countpoll summarize: " + $e)}')
}

# measure_tls -> TLS_JSON: ferry's image stream over the fabric, plain TCP
# against mutual TLS, and one TLS connection against as many as there are
# cores, 1 GiB each, three times (bench/streamcost.c); the median
measure_tls() {
    local runs=() out streams
    streams=$(nproc)
    log "measuring what TLS costs the image stream, and $streams parallel streams (3 x 1 GiB)"
    for _ in 1 2 3; do
        out=$("$STREAMCOST" "$SRC_NETNS" "$DST_NETNS" "$(node_address "$DST_NODE")" \
            "$SRC_NODE" "$DST_NODE" 1024 "$streams" 2>&1) && runs+=("$out")
    done
    TLS_JSON=$(printf '%s\n' "${runs[@]}" | jq -sc '
        if length == 0 then {error: "streamcost failed"} else
        sort_by(.tls_over_plain) | .[length / 2 | floor] + {runs: length} end' 2>/dev/null) ||
        TLS_JSON='{"error": "streamcost failed"}'
    log "stream: $(jq -r '"plain \(.plain_mbytes_per_s) MB/s, TLS \(.tls_mbytes_per_s) MB/s (\(.tls_over_plain)x), \(.streams) TLS streams \(.parallel_tls_mbytes_per_s) MB/s (\(.parallel_over_single)x)"' <<<"$TLS_JSON")"
}

# measure_link -> LINK_JSON: iperf3, one TCP stream, netns ferry-node1 -> ferry-node2
measure_link() {
    local dst_addr out rc=0
    dst_addr=$(node_address "$DST_NODE")
    log "measuring the link $SRC_NODE -> $DST_NODE (iperf3, 5 s)"
    timeout 60 ip netns exec "$DST_NETNS" iperf3 -s -1 -B "$dst_addr" -p "$IPERF_PORT" \
        >"$SCRATCH/iperf3-server.log" 2>&1 &
    IPERF_PID=$!
    for _ in $(seq 50); do
        ip netns exec "$DST_NETNS" ss -Hltn "sport = :$IPERF_PORT" 2>/dev/null | grep -q . && break
        sleep 0.1
    done
    out=$(timeout 40 ip netns exec "$SRC_NETNS" iperf3 -c "$dst_addr" -p "$IPERF_PORT" -t 5 -J \
        2>&1) || rc=$?
    stop_bg "$IPERF_PID"
    IPERF_PID=
    LINK_JSON=$(jq -c --arg from "$SRC_NETNS" --arg to "$DST_NETNS" '
        {tool: "iperf3 -t 5, 1 TCP stream", from: $from, to: $to,
         bits_per_second: .end.sum_received.bits_per_second,
         sender_bits_per_second: .end.sum_sent.bits_per_second,
         retransmits: .end.sum_sent.retransmits, error: .error}' <<<"$out" 2>/dev/null) ||
        LINK_JSON=$(jq -nc --arg e "exit $rc: $out" '{bits_per_second: null, error: $e}')
    if [[ $(jq -r '.bits_per_second // 0 | . > 0' <<<"$LINK_JSON") != true ]]; then
        log "warning: link throughput not measured: $(jq -r '.error // "?"' <<<"$LINK_JSON" | head -c 300)"
        LINK_JSON=$(jq -c '.bits_per_second = null' <<<"$LINK_JSON")
    else
        log "link: $(jq -r '.bits_per_second / 1e9 * 100 | round / 100' <<<"$LINK_JSON") Gbit/s"
    fi
}

verify() {
    local r
    r=$(memhog_request "$1" VERIFY 60) || true
    echo "${r:-no reply}"
}

error_json() { jq -n --arg e "$1" '{result: "error", error: $e}'; }

# ---------------------------------------------------------------- ferry

# bench_ferry SIZE MODE -> JSON on stdout (MODE: stop-copy, postcopy, precopy or hybrid)
bench_ferry() {
    local size=$1 mode=$2 name report verify_line err rc=0 ip t0 t_end frozen
    name=fbench-$$-$1-$(case $mode in postcopy) echo pc ;; precopy) echo prc ;; hybrid) echo hy ;; *) echo sc ;; esac)
    log "[$size MiB] ferry $mode: starting $name"
    if ! start_container "$name" "$size"; then
        remove_container "$name"
        error_json "$ERR"
        return
    fi
    ip=$IP
    count_start "$ip" "$name"
    if ! probe_start "$ip" "$size" "$name"; then
        stop_bg "$COUNT_PID"; COUNT_PID=
        remove_container "$name"
        error_json "$ERR"
        return
    fi
    log "[$size MiB] ferry $mode: migrating $name ($ip) to $DST_NODE"
    t0=$(now_ms)
    timeout "$(tmo "$size")" "$FERRY" migrate "$name" --to "$DST_NODE" --mode "$mode" --json \
        >"$SCRATCH/$name.report.json" 2>"$SCRATCH/$name.migrate.err" || rc=$?
    t_end=$(now_ms)
    report=$(cat "$SCRATCH/$name.report.json")
    if [[ -z $report ]] || ! jq -e . >/dev/null 2>&1 <<<"$report"; then report='{}'; fi
    # the service answers no more once the freeze phase has ended (report clock ~ ours)
    frozen=$(jq -r --arg t0 "$t0" '[.phases[]? | select(.name == "freeze")][0]
        | if . == null then "" else (($t0 | tonumber) + .start_ms + .duration_ms | tostring) end' \
        <<<"$report" 2>/dev/null) || frozen=""
    probe_stop "$size" "$frozen"
    count_stop "$t0" "$t_end" "$SCRATCH/$name.report.json"
    verify_line=$(verify "$ip")
    err=$(cat "$SCRATCH/$name.migrate.err")
    ((rc != 124)) || err="ferry migrate timed out after $(tmo "$size") s. $err"
    if ((rc != 0)) || [[ $verify_line != OK* ]]; then   # keep the evidence
        mkdir -p "$RESULTS/logs/$name"
        cp -a "$STATE/nodes/$SRC_NODE/agent.log" "$RESULTS/logs/$name/$SRC_NODE.agent.log" 2>/dev/null || true
        cp -a "$STATE/nodes/$DST_NODE/agent.log" "$RESULTS/logs/$name/$DST_NODE.agent.log" 2>/dev/null || true
        cp -a "$SCRATCH/$name".* "$RESULTS/logs/$name/" 2>/dev/null || true
    fi
    remove_container "$name"
    jq -n --argjson r "$report" --argjson p "$PROBE_JSON" --arg v "$verify_line" \
        --arg e "$err" --argjson rc "$rc" --arg mode "$mode" \
        --argjson c "$COUNT_JSON" --slurpfile cs "$COUNT_OUT" '
        {result: (if $rc == 0 and ($r.result // "") == "ok" then "ok" else "failed" end),
         mode: $mode, exit_status: $rc,
         error: ((($r.error // "") + " " + $e) | gsub("^\\s+|\\s+$"; "") | if . == "" then null else . end),
         downtime_ms: $r.downtime_ms, total_ms: $r.total_ms, bytes_sent: $r.bytes_sent,
         held_packets: $r.held_packets,
         postcopy_ms: ([($r.phases // [])[] | select(.name == "postcopy") | .duration_ms][0]),
         precopy: $r.precopy,
         client_gap_ms: (if $p.stalled then null else $p.max_gap_ms end),
         client_gap_lower_bound_ms: $p.gap_lower_bound_ms, connection_broken: $p.connection_broken,
         verify: $v, verified: ($v | startswith("OK")),
         count: $c, probe: $p, phases: ($r.phases // []), report: $r,
         count_samples: ($cs[0].samples // [])}'
}

# ---------------------------------------------------------------- baseline

veth_suffix() { printf '%s' "$1" | md5sum | cut -c1-8; }

# the target pod on node2, as lib/net/podnet.c and lib/container/pod.c build it
baseline_prepare() {
    local name=$1 ip=$2 b=$BUNDLES/$1 ns=fp-$DST_NODE-$1 h
    h=$(veth_suffix "$DST_NODE/$name")
    mkdir -p "$b/upper" "$b/work" "$b/rootfs" &&
    jq --arg ns "/run/netns/$ns" --arg cg "/ferry/$DST_NODE/$name" '
        .linux.namespaces |= map(if .type == "network" then .path = $ns else . end)
        | .linux.cgroupsPath = $cg' \
        "$LIB/nodes/$SRC_NODE/containers/$name/config.json" >"$b/config.json" &&
    ip netns add "$ns" &&
    ip -n "$DST_NETNS" -batch - <<EOT &&
link add fb$h type veth peer name fc$h netns $ns
link set fb$h up
addr add $POD_GATEWAY/32 dev fb$h scope link
route replace $ip/32 dev fb$h scope link
EOT
    ip -n "$ns" -batch - <<EOT
link set lo up
link set fc$h name eth0
addr add $ip/32 dev eth0
link set eth0 up
route add $POD_GATEWAY dev eth0 scope link
route add default via $POD_GATEWAY dev eth0
EOT
}

# checkpoint images + upper layer, node1's netns -> node2's netns over TCP
baseline_copy() {
    local name=$1 size=$2 s=$SCRATCH/$1 dst_addr rc=0
    dst_addr=$(node_address "$DST_NODE")
    mkdir -p "$s/recv"
    (timeout "$(tmo "$size")" ip netns exec "$DST_NETNS" \
        socat -u -b 1048576 "TCP-LISTEN:$COPY_PORT,bind=$dst_addr,reuseaddr" - |
        tar -C "$s/recv" -xf -) &
    RECV_PID=$!
    tar -cf - -C "$s" images -C "$LIB/nodes/$SRC_NODE/containers/$name" upper |
        timeout "$(tmo "$size")" ip netns exec "$SRC_NETNS" \
            socat -u -b 1048576 - "TCP:$dst_addr:$COPY_PORT,retry=200,interval=0.01" || rc=1
    wait "$RECV_PID" || rc=1
    RECV_PID=
    ((rc == 0)) && [[ -f $s/recv/images/inventory.img && -f $s/recv/images/descriptors.json ]]
}

# the timed steps; sets STAGE, ERR and the T_* timestamps of bench_baseline
baseline_steps() {
    local name=$1 size=$2 ip=$3 s=$SCRATCH/$1 b=$BUNDLES/$1
    local r1=$STATE/nodes/$SRC_NODE/runc r2=$STATE/nodes/$DST_NODE/runc
    T_PREP=$(now_ms)
    STAGE=prepare
    baseline_prepare "$name" "$ip" 2>"$s/prepare.err" || { ERR=$(cat "$s/prepare.err"); return 1; }
    STAGE=checkpoint
    T_CK=$(now_ms)
    timeout "$(tmo "$size")" "$RUNC" --root "$r1" --criu "$CRIU" --log "$s/checkpoint.runc.log" \
        checkpoint --tcp-established --file-locks \
        --image-path "$s/images" --work-path "$s/work" "$name" 2>"$s/checkpoint.err" ||
        { ERR="runc checkpoint failed: $(cat "$s/checkpoint.err") (CRIU log: $s/work/dump.log)"; return 1; }
    T_CK_END=$(now_ms)
    IMAGE_BYTES=$(du -sb "$s/images" | cut -f1)
    STAGE=copy
    baseline_copy "$name" "$size" 2>"$s/copy.err" || { ERR="copy failed: $(cat "$s/copy.err")"; return 1; }
    T_CP_END=$(now_ms)
    STAGE=restore
    cp -a "$s/recv/upper/." "$b/upper/" || { ERR="copy of the upper layer into $b failed"; return 1; }
    mount -t overlay overlay \
        -o "lowerdir=$IMAGES/workload/rootfs,upperdir=$b/upper,workdir=$b/work" \
        "$b/rootfs" || { ERR="overlay mount at $b/rootfs failed"; return 1; }
    # stdio: fresh pipes; runc passes them to CRIU in place of the dumped ones
    timeout "$(tmo "$size")" "$RUNC" --root "$r2" --criu "$CRIU" --log "$s/restore.runc.log" \
        restore --detach --tcp-established --file-locks \
        --image-path "$s/recv/images" --work-path "$s/rwork" --bundle "$b" "$name" \
        </dev/null > >(exec cat >>"$b/log") 2>&1 ||
        { ERR="runc restore failed: $(grep -h level=error "$s/restore.runc.log" | tail -n2) (CRIU log: $s/rwork/restore.log)"; return 1; }
    T_RS_END=$(now_ms)
    STAGE=route
    ip route replace "$ip/32" via "$(node_address "$DST_NODE")" || { ERR="route switch failed"; return 1; }
    T_ROUTE_END=$(now_ms)
    STAGE=done
}

# bench_baseline SIZE -> JSON on stdout
bench_baseline() {
    local size=$1 name=fbench-$$-$1-b verify_line ip s=$SCRATCH/fbench-$$-$1-b
    local STAGE=start T_PREP="" T_CK="" T_CK_END="" T_CP_END="" T_RS_END="" T_ROUTE_END="" IMAGE_BYTES=0
    ERR=""
    log "[$size MiB] baseline: starting $name"
    if ! start_container "$name" "$size"; then
        remove_container "$name"
        error_json "$ERR"
        return
    fi
    ip=$IP
    if ! probe_start "$ip" "$size" "$name"; then
        remove_container "$name"
        error_json "$ERR"
        return
    fi
    BASELINE_ACTIVE+=("$name $ip")
    mkdir -p "$s/images" "$s/work" "$s/rwork"
    log "[$size MiB] baseline: checkpoint/copy/restore $name ($ip) to $DST_NODE"
    baseline_steps "$name" "$size" "$ip" || log "[$size MiB] baseline: failed at $STAGE: $ERR"
    probe_stop "$size" "$T_CK_END"   # CRIU froze the container before the checkpoint returned
    # No COUNT poller here: a connection that arrives while runc checkpoint has
    # the container frozen sits in the listen queue, and CRIU then refuses to
    # dump ("In-flight connection", --skip-in-flight, which runc does not offer).
    COUNT_JSON='{"skipped": "runc checkpoint fails on in-flight connections"}'
    COUNT_OUT=$SCRATCH/$name.count.json
    echo '{"samples": []}' >"$COUNT_OUT"
    verify_line=$(verify "$ip")
    if [[ $STAGE != done ]]; then   # keep the evidence
        mkdir -p "$RESULTS/logs/$name"
        cp -a "$s"/*.err "$s"/*.log "$s/work/dump.log" "$s/rwork/restore.log" \
            "$RESULTS/logs/$name/" 2>/dev/null || true
    fi
    baseline_teardown "$name" "$ip"
    BASELINE_ACTIVE=()
    remove_container "$name"
    jq -n --arg stage "$STAGE" --arg e "$ERR" --argjson p "$PROBE_JSON" --arg v "$verify_line" \
        --argjson c "$COUNT_JSON" --slurpfile cs "$COUNT_OUT" \
        --arg tp "$T_PREP" --arg tc "$T_CK" --arg tce "$T_CK_END" --arg tpe "$T_CP_END" \
        --arg tre "$T_RS_END" --arg tro "$T_ROUTE_END" --argjson bytes "$IMAGE_BYTES" '
        def d(a; b): if a == "" or b == "" then null
                     else ((b | tonumber) - (a | tonumber)) * 10 | round / 10 end;
        {result: (if $stage == "done" then "ok" else "failed" end), mode: "baseline",
         failed_stage: (if $stage == "done" then null else $stage end),
         error: (if $e == "" then null else $e end),
         downtime_ms: d($tc; $tre), total_ms: d($tp; $tro), bytes_sent: $bytes,
         client_gap_ms: (if $p.stalled then null else $p.max_gap_ms end),
         client_gap_lower_bound_ms: $p.gap_lower_bound_ms, connection_broken: $p.connection_broken,
         verify: $v, verified: ($v | startswith("OK")), count: $c, probe: $p,
         count_samples: ($cs[0].samples // []),
         phases: [{name: "prepare", duration_ms: d($tp; $tc)},
                  {name: "checkpoint", duration_ms: d($tc; $tce)},
                  {name: "copy", duration_ms: d($tce; $tpe)},
                  {name: "restore", duration_ms: d($tpe; $tre)},
                  {name: "route", duration_ms: d($tre; $tro)}]}'
}

# ---------------------------------------------------------------- output

# runs.jsonl: one line per (size, method); merged with $OLD_RESULTS (BENCH_APPEND)
write_results() {
    local runs_file=$1
    jq -s --arg sizes "$SIZES" --arg kernel "$(uname -r)" --arg criu "$("$CRIU" --version 2>/dev/null | head -n1)" \
        --arg runc "$("$RUNC" --version | head -n1)" --arg date "$(date -u +%FT%TZ)" \
        --argjson link "$LINK_JSON" --argjson tls "${TLS_JSON:-null}" --slurpfile old "$OLD_RESULTS" '
        ($sizes | split(" ") | map(select(. != "") | tonumber)) as $new
        | ([$old[0].runs[]? | select(.method != null and (.size_mib as $s | $new | index($s) | not))]
           + .) as $runs
        | {date: $date, kernel: $kernel, runc: $runc, criu: $criu, link: $link, tls_stream: $tls,
           sizes_mib: ($runs | map(.size_mib) | unique),
           methods: (["stop-copy", "postcopy", "precopy", "hybrid", "baseline"] as $all
                     | $all - ($all - ($runs | map(.method)))),
           runs: ($runs | sort_by(.size_mib))}' "$runs_file" >"$RESULTS/results.json.tmp"
    mv "$RESULTS/results.json.tmp" "$RESULTS/results.json"
}

write_table() {
    jq -r '
        def f: if . == null then "-" else (. * 10 | round / 10 | tostring) end;
        def x: if . == null then "-" else (. * 100 | round / 100 | tostring) + "x" end;
        def mlabel: if . == "baseline" then "baseline (runc checkpoint/copy/restore)" else "ferry " + . end;
        def order: {"stop-copy": 0, "postcopy": 1, "precopy": 2, "hybrid": 3, "baseline": 4}[.] // 9;
        def lazy: .method == "postcopy" or .method == "hybrid";
        def mib: . / 1048576 * 10 | round / 10 | tostring;
        def ok: .result == "ok";
        def val(k): if ok then (.[k] | f) else "FAIL" end;
        def gap: if ok | not then "FAIL (" + (.failed_stage // "migrate") + ")"
                 elif .connection_broken then (.client_gap_ms | f) + " (conn. broken)"
                 elif .probe.stalled then "> " + (.probe.gap_lower_bound_ms | f) + " (no reply in \(.probe.settle_s) s)"
                 else (.client_gap_ms | f) end;
        def verify: if .verified then "OK" elif ok then "FAILED: " + (.verify // "-") else (.verify // "-") end;
        (.runs | sort_by(.size_mib, (.method | order))) as $runs
        | ($runs | map(select(.method == "baseline" and ok) | {key: (.size_mib | tostring), value: .downtime_ms})
           | from_entries) as $bd
        | (.link.bits_per_second) as $bps
        | "Link \(.link.from // "ferry-node1") -> \(.link.to // "ferry-node2"): " +
          (if $bps then "\($bps / 1e9 * 100 | round / 100) Gbit/s (iperf3, 1 TCP stream)"
           else "not measured" end) +
          "; ideal = memory size / the throughput measured in the same run (link_bps of each run in results.json). \(.date), kernel \(.kernel).",
          "",
          (if .tls_stream.tls_over_plain then
             "Mutual TLS: the ferry image stream (1 GiB, fabric) runs at \(.tls_stream.tls_mbytes_per_s) MB/s over TLS against \(.tls_stream.plain_mbytes_per_s) MB/s plain (\(.tls_stream.tls_over_plain)x; median of \(.tls_stream.runs)); \(.tls_stream.streams) TLS streams at once: \(.tls_stream.parallel_tls_mbytes_per_s) MB/s (\(.tls_stream.parallel_over_single)x one stream). Every ferry migration below runs over one TLS stream."
           else "Mutual TLS: not measured" end),
          "",
          "| size MiB | method | downtime ms | client gap ms | total ms | total / ideal | vs baseline downtime | VERIFY |",
          "|---:|---|---:|---:|---:|---:|---:|---|",
          ($runs[] |
           "| \(.size_mib) | \(.method | mlabel) | \(val("downtime_ms")) | \(gap) | \(val("total_ms")) | \(if ok then (.total_over_ideal | x) else "-" end) | \(if ok and (.downtime_ms // 0) > 0 and $bd[.size_mib | tostring] != null then ($bd[.size_mib | tostring] / .downtime_ms | x) else "-" end) | \(verify) |"),
          "",
          "Application progress: memhog COUNT (completed sweeps; it rewrites 256 MiB/s) polled from the host with a new connection every 100 ms.",
          "",
          "| size MiB | method | post-copy phase ms | sweeps during migration | sweeps during post-copy | max interval without COUNT reply ms | same, within post-copy ms |",
          "|---:|---|---:|---:|---:|---:|---:|",
          ($runs[] |
           if .count.skipped then "| \(.size_mib) | \(.method | mlabel) | - | not polled (see below) | - | - | - |" else
           "| \(.size_mib) | \(.method | mlabel) | \(if lazy then val("postcopy_ms") else "-" end) | \(.count.sweeps_during_migration // "-") | \(if lazy then (.count.sweeps_during_postcopy // "-") else "-" end) | \(.count.max_no_reply_ms | f)\(if .count.max_no_reply_unbounded then " (no reply after)" else "" end) | \(if lazy then (.count.postcopy_max_no_reply_ms | f) else "-" end) |" end),
          "",
          "Pre-copy rounds (MiB sent while memhog runs, each round: what it wrote during the previous one), then what the freeze sent (pre-copy) or what was left to post-copy (hybrid):",
          "",
          "| size MiB | method | rounds: MiB (ms) | stop rule | frozen: MiB (ms) | after the dump MiB | left to post-copy MiB |",
          "|---:|---|---|---|---:|---:|---:|",
          ($runs[] | select((.method == "precopy" or .method == "hybrid") and .precopy != null) |
           "| \(.size_mib) | \(.method) | \([.precopy.rounds[] | "\(.bytes | mib) (\(.ms | f))"] | join(", ")) | \(.precopy.stop_reason) | \(.precopy.final_bytes | mib) (\(.precopy.final_ms | f)) | \(.precopy.late_bytes | mib) | \((.precopy.rest_bytes // 0) | mib) |"),
          "",
          "A sweep is one pass over all of memory (at 256 MiB/s: 0.25 s for 64 MiB, 4 s for 1 GiB, 16 s for 4 GiB), so from 1 GiB up a post-copy window is shorter than a sweep; there the interval between COUNT replies shows that the memhog loop (1 MiB of rewriting between requests) kept running.",
          "The baseline is not polled: a connection that arrives while runc checkpoint has the container frozen is in flight, and CRIU refuses to dump it."
    ' "$RESULTS/results.json" >"$RESULTS/table.md"
}

# ---------------------------------------------------------------- main

main() {
    preflight
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    sandbox_up
    mkdir -p "$RESULTS" "$SCRATCH" "$BUNDLES"
    rm -rf "$RESULTS/logs"
    OLD_RESULTS=$SCRATCH/old-results.json
    if [[ $APPEND == 1 && -s $RESULTS/results.json ]]; then
        cp "$RESULTS/results.json" "$OLD_RESULTS"
    else
        echo '{}' >"$OLD_RESULTS"
    fi
    local runs=$SCRATCH/runs.jsonl size m out failed=0 bps
    : >"$runs"
    measure_link
    measure_tls
    bps=$(jq '.bits_per_second' <<<"$LINK_JSON")
    for size in $SIZES; do
        for m in $METHODS; do
            out=$SCRATCH/$m-$size.json
            if [[ $m == baseline ]]; then bench_baseline "$size" >"$out"; else bench_ferry "$size" "$m" >"$out"; fi
            jq -c --argjson s "$size" --arg m "$m" --argjson bps "$bps" '
                (if $bps then $s * 8388608 / $bps * 1000 | . * 10 | round / 10 else null end) as $ideal
                | {size_mib: $s, method: $m, link_bps: $bps, ideal_ms: $ideal,
                   total_over_ideal: (if .total_ms and $ideal then (.total_ms / $ideal * 100 | round / 100) else null end)}
                  + .' "$out" 2>/dev/null >>"$runs" ||
                jq -c -n --argjson s "$size" --arg m "$m" '{size_mib: $s, method: $m, result: "error", error: "no result"}' >>"$runs"
            tail -n1 "$runs" | jq -r '"bench: [\(.size_mib) MiB] \(.method): \(.result) downtime \(.downtime_ms) ms, client gap \(.client_gap_ms) ms, total \(.total_ms) ms (\(.total_over_ideal)x ideal), verify \(.verify // "-")" +
                (if .method == "postcopy" or .method == "hybrid" then ", post-copy \(.postcopy_ms) ms" else "" end) +
                (if (.method == "precopy" or .method == "hybrid") and .precopy then ", rounds MiB \([.precopy.rounds[].bytes / 1048576 | round]), frozen \(.precopy.final_bytes / 1048576 | round) MiB, left to post-copy \((.precopy.rest_bytes // 0) / 1048576 | round) MiB" else "" end) +
                (if .count.skipped or .count == null then "" else
                 ", COUNT: \(.count.sweeps_during_migration) sweeps during the migration" +
                 (if .method == "postcopy" or .method == "hybrid" then " (\(.count.sweeps_during_postcopy) in post-copy)" else "" end) +
                 ", max \(.count.max_no_reply_ms) ms without reply" end) +
                (if .error then "; error: \(.error)" else "" end)' >&2
            tail -n1 "$runs" | jq -e '.result == "ok" and .verified' >/dev/null || failed=1
            write_results "$runs"   # partial results survive a later failure
            sleep 1
        done
    done
    write_table
    if ! timeout 120 "$PYTHON" "$PLOT" "$RESULTS/results.json" "$RESULTS/downtime.png"; then
        log "warning: plot failed (needs $PYTHON with matplotlib)"
        failed=1
    fi
    echo
    cat "$RESULTS/table.md"
    echo
    log "results: $RESULTS/results.json $RESULTS/table.md $RESULTS/downtime.png"
    ((failed == 0)) || log "some migrations failed or did not verify; see results.json (errors) and $RESULTS/logs/"
    return "$failed"
}

main "$@"
