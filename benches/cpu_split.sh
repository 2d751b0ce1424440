#!/usr/bin/env bash
# Where the server's CPU goes per echo round trip: user space against the
# kernel, for servers side by side, alternating, REPEATS times.
#
#   bash benches/cpu_split.sh                      # weft and mio, 1,000 connections
#   CONNS=100 ROUNDS=3000 SERVERS="weft mio tokio" bash benches/cpu_split.sh
#   BINS_DIR=/tmp/builds SERVERS="weft-abc123 weft mio" bash benches/cpu_split.sh
#
# Each run starts the server (pinned to SERVER_CPU, echo_rounds on LOAD_CPU),
# warms it with 20 rounds, then reads the server's utime and stime
# (/proc/PID/stat, in clock ticks) and its run time (/proc/PID/schedstat, in
# ns) around ROUNDS lock-step rounds over CONNS connections of 64 bytes.
# The user/system split is sampled at each tick, so one run of a few
# seconds carries ±15 % on the user figure; the means over REPEATS
# alternating runs are what to compare. The total (schedstat) is exact but
# moves with the kernel's share, which varies by ±20 % run to run on a
# shared machine. The load average is printed with every run.
#
# This is what showed that at 1,000 connections weft spends ~1.3 µs more
# user time per round trip than the mio loop while running only ~300 more
# instructions: the rest is stalls on task stacks and records that have
# left the cache (see BENCHMARKS.md, "Issue 14, third pass").

set -euo pipefail

REPEATS=${REPEATS:-5}
CONNS=${CONNS:-1000}
ROUNDS=${ROUNDS:-500}
SERVERS=${SERVERS:-"weft mio"}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}

cd "$(dirname "$0")/.."
BIN=target/release/examples
OUT=target/cpu_split/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
CLK_TCK=$(getconf CLK_TCK)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cargo build --release --examples >&2

PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=benches/servers.sh
source "$(dirname "${BASH_SOURCE[0]}")/servers.sh"

# run SERVER: one measured run; appends a row to runs.md.
run() {
    local log=$OUT/$1.log
    start_server "$1" "$log"
    rounds() {
        taskset -c "$LOAD_CPU" "$BIN/echo_rounds" --addr "$SADDR" --connections "$CONNS" \
            --size 64 --rounds "$1" >>"$log.rounds" 2>&1
    }
    rounds 20
    read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$SPID/stat")
    r0=$(awk '{print $1}' "/proc/$SPID/schedstat")
    rounds "$ROUNDS"
    read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$SPID/stat")
    r1=$(awk '{print $1}' "/proc/$SPID/schedstat")
    stop_server
    awk -v s="$1" -v u=$((u1 - u0)) -v k=$((s1 - s0)) -v r=$((r1 - r0)) -v n=$((CONNS * ROUNDS)) \
        -v t="$CLK_TCK" -v l="$(cut -d' ' -f1 /proc/loadavg)" \
        'BEGIN {printf "| %s | %.0f | %.0f | %.0f | %s |\n", s, u * 1e9 / t / n, k * 1e9 / t / n, r / n, l}' \
        | tee -a "$OUT/runs.md"
}

echo "## CPU per round trip, $CONNS connections × 64 B, $ROUNDS rounds, $REPEATS runs each (raw: $OUT/runs.md)"
echo
echo "| server | user ns/rt | system ns/rt | total ns/rt (schedstat) | load average |"
echo "|---|---:|---:|---:|---:|"
for _ in $(seq "$REPEATS"); do
    for server in $SERVERS; do
        run "$server"
    done
done
echo
echo "| server | mean user ns/rt | mean system ns/rt | mean total ns/rt |"
echo "|---|---:|---:|---:|"
awk -F'|' '{ s = $2; gsub(/ /, "", s); n[s]++; u[s] += $3; k[s] += $4; t[s] += $5; if (!(s in seen)) { seen[s] = 1; order[++m] = s } }
    END { for (i = 1; i <= m; i++) { s = order[i]; printf "| %s | %.0f | %.0f | %.0f |\n", s, u[s] / n[s], k[s] / n[s], t[s] / n[s] } }' "$OUT/runs.md"
