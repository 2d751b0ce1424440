#!/usr/bin/env bash
# Side-by-side raw echo comparison: weft's echo_server against a hand-written
# mio loop, tokio's current-thread runtime and thread-per-connection std.
#
#   bash benches/compare.sh                  # the full run (about 16 minutes: 8 of load runs, 8 counted)
#   REPEATS=1 DURATION=2 bash benches/compare.sh   # a quick look
#
# Each server runs pinned to one core (SERVER_CPU, default 0) and echo_load to
# another (LOAD_CPU, default 1), for every connection count in CONNS and
# message size in SIZES, REPEATS times for DURATION seconds; the table shows
# the median of the repeats. Server CPU time is utime+stime from
# /proc/PID/stat across the load run (connection set-up included), memory is
# VmRSS (the last sample, every 0.1 s, while the load ran) and VmHWM from
# /proc/PID/status. The machine's load average is printed before and after:
# on a shared machine the timed figures move with it, the counted ones below
# do not.
#
# Then a counted pass with the fixed-count client echo_rounds: syscalls and
# context switches per round trip from `perf stat` tracepoints (when perf can
# open them; its task-clock gives a second, client-paced CPU figure) and
# user-space instructions per round trip from
# `valgrind --tool=callgrind` (when installed). Both take the difference of a
# short and a long run, so start-up and connection set-up cancel out.
# CACHE_SIM=1 adds callgrind's cache simulation: user-space L1 and
# last-level data misses per round trip, the deterministic view of what
# grows with the connection count.
#
# Servers listen on 127.0.0.1:0 and report their port; every process the
# script starts is stopped on exit. Raw results land in target/compare/.
set -euo pipefail

REPEATS=${REPEATS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-"1 100 1000"}
SIZES=${SIZES:-"64 4096"}
SERVERS=${SERVERS:-"weft mio tokio threads"}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
LOAD=${LOAD:-1}
DETERMINISTIC=${DETERMINISTIC:-1}
# echo_rounds rounds for the deterministic pass: (long - short) rounds are counted.
ROUNDS_SHORT=${ROUNDS_SHORT:-20}
ROUNDS_LONG=${ROUNDS_LONG:-220}

cd "$(dirname "$0")/.."
BIN=target/release/examples
OUT=target/compare/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
CLK_TCK=$(getconf CLK_TCK)

# 1,000 connections need ~1,000 descriptors on each side.
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

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

# ---- the timed load runs ---------------------------------------------------

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ $LOAD == 1 ]]; then
RAW=$OUT/load.csv
echo "server,conns,size,rep,rtt_per_s,p99_us,cpu_ns_per_rt,rss_kb,hwm_kb,errors" >"$RAW"
for conns in $CONNS; do
    for size in $SIZES; do
        for rep in $(seq "$REPEATS"); do
            for server in $SERVERS; do
                log=$OUT/$server-$conns-$size-$rep
                start_server "$server" "$log.server"
                sleep 0.2
                t0=$(cpu_ticks "$SPID")
                taskset -c "$LOAD_CPU" "$BIN/echo_load" --addr "$SADDR" --connections "$conns" \
                    --size "$size" --duration "$DURATION" >"$log.load" 2>&1 &
                lpid=$!
                PIDS+=("$lpid")
                # VmRSS as last seen while the load ran (read with builtins
                # only, so the sampling forks nothing on the load's core).
                rss=0
                while kill -0 "$lpid" 2>/dev/null; do
                    while read -r key value _; do
                        [[ $key == VmRSS: ]] && rss=$value
                    done <"/proc/$SPID/status"
                    sleep 0.1
                done
                wait "$lpid" || { echo "echo_load failed against $server:" >&2; cat "$log.load" >&2; exit 1; }
                t1=$(cpu_ticks "$SPID")
                hwm=$(status_kb "$SPID" VmHWM)
                stop_server
                result=$(grep '^RESULT' "$log.load" | tail -1)
                rtt=$(field rtt_per_s "$result")
                secs=$(field secs "$result")
                p99=$(field p99_us "$result")
                errors=$(field errors "$result")
                cpu=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v r="$rtt" -v s="$secs" \
                    'BEGIN {printf "%.0f", t * 1e9 / hz / (r * s)}')
                echo "$server,$conns,$size,$rep,$rtt,$p99,$cpu,$rss,$hwm,$errors" >>"$RAW"
                echo "$server conns=$conns size=$size rep=$rep: $rtt rt/s, p99 ${p99} us, ${cpu} ns CPU/rt, RSS ${rss} KiB, HWM ${hwm} KiB, errors $errors" >&2
            done
        done
    done
done

# Medians per (server, conns, size), then each as a ratio to mio's median.
median_table() {
    awk -F, -v servers="$SERVERS" '
        NR == 1 { next }
        { key = $1 "," $2 "," $3; n[key]++
          for (c = 5; c <= 10; c++) v[key, c, n[key]] = $c
          if (!(($2 "," $3) in seen)) { seen[$2 "," $3] = 1; order[++cases] = $2 "," $3 } }
        function median(key, c,    i, j, k, a, t) {
            k = n[key]; for (i = 1; i <= k; i++) a[i] = v[key, c, i] + 0
            for (i = 2; i <= k; i++) { t = a[i]; for (j = i - 1; j > 0 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
            return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
        }
        function ratio(x, base) { return base > 0 ? sprintf("%.2f", x / base) : "-" }
        END {
            ns = split(servers, s, " ")
            print "| server | conns | size | round trips/s | ×mio | p99 µs | ×mio | server CPU ns/rt | ×mio | RSS under load KiB | ×mio | HWM KiB | ×mio | errors |"
            print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
            for (o = 1; o <= cases; o++) {
                split(order[o], cs, ",")
                base = "mio," order[o]
                for (i = 1; i <= ns; i++) {
                    key = s[i] "," order[o]
                    if (!(key in n)) continue
                    line = "| " s[i] " | " cs[1] " | " cs[2]
                    for (c = 5; c <= 9; c++) {
                        m = median(key, c)
                        line = line " | " sprintf("%.0f", m) " | " ((base in n) ? ratio(m, median(base, c)) : "-")
                    }
                    print line " | " median(key, 10) " |"
                }
            }
        }' "$1"
}

echo
echo "## Load runs (median of $REPEATS × ${DURATION} s; raw: $RAW)"
echo
median_table "$RAW"
echo
echo "load average after the load runs: $(cut -d' ' -f1-3 /proc/loadavg)"
fi

# ---- the deterministic pass --------------------------------------------------

[[ $DETERMINISTIC == 1 ]] || exit 0

# rounds_run NAME CONNS SIZE ROUNDS LOG: one echo_rounds run against SADDR.
rounds_run() {
    taskset -c "$LOAD_CPU" "$BIN/echo_rounds" --addr "$SADDR" --connections "$2" --size "$3" \
        --rounds "$4" >"$5" 2>&1 || { echo "echo_rounds failed against $1:" >&2; cat "$5" >&2; exit 1; }
}

if perf stat -e raw_syscalls:sys_enter true >/dev/null 2>&1; then
    SYS=$OUT/syscalls.csv
    echo "server,conns,size,syscalls_per_rt,cswitch_per_rt,cpu_ns_per_rt" >"$SYS"
    for conns in $CONNS; do
        for size in $SIZES; do
            for server in $SERVERS; do
                log=$OUT/perf-$server-$conns-$size
                declare -A count=()
                for rounds in "$ROUNDS_SHORT" "$ROUNDS_LONG"; do
                    start_server "$server" "$log.server"
                    perf stat -x, -e raw_syscalls:sys_enter,context-switches,task-clock -p "$SPID" -o "$log.perf.$rounds" \
                        -- taskset -c "$LOAD_CPU" "$BIN/echo_rounds" --addr "$SADDR" --connections "$conns" \
                        --size "$size" --rounds "$rounds" >"$log.rounds.$rounds" 2>&1
                    stop_server
                    count[sys$rounds]=$(awk -F, '$3 == "raw_syscalls:sys_enter" {print $1}' "$log.perf.$rounds")
                    count[cs$rounds]=$(awk -F, '$3 == "context-switches" {print $1}' "$log.perf.$rounds")
                    # task-clock is in milliseconds
                    count[ms$rounds]=$(awk -F, '$3 == "task-clock" {print $1}' "$log.perf.$rounds")
                done
                awk -v a="${count[sys$ROUNDS_SHORT]}" -v b="${count[sys$ROUNDS_LONG]}" \
                    -v c="${count[cs$ROUNDS_SHORT]}" -v d="${count[cs$ROUNDS_LONG]}" \
                    -v e="${count[ms$ROUNDS_SHORT]}" -v f="${count[ms$ROUNDS_LONG]}" \
                    -v n=$((conns * (ROUNDS_LONG - ROUNDS_SHORT))) -v id="$server,$conns,$size" \
                    'BEGIN {printf "%s,%.2f,%.3f,%.0f\n", id, (b - a) / n, (d - c) / n, (f - e) * 1e6 / n}' >>"$SYS"
                unset count
            done
        done
    done
    echo
    echo "## Syscalls, context switches and CPU time per round trip (perf stat; echo_rounds, $ROUNDS_LONG − $ROUNDS_SHORT rounds; raw: $SYS)"
    echo
    echo "| server | conns | size | syscalls/rt | ×mio | context switches/rt | server CPU ns/rt (task-clock) | ×mio |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    awk -F, 'NR > 1 { row[NR] = $0; if ($1 == "mio") { s[$2 "," $3] = $4; t[$2 "," $3] = $6 } }
        END { for (i = 2; i <= NR; i++) { split(row[i], f, ",")
            k = f[2] "," f[3]
            printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", f[1], f[2], f[3], f[4],
                (s[k] > 0 ? sprintf("%.2f", f[4] / s[k]) : "-"), f[5], f[6],
                (t[k] > 0 ? sprintf("%.2f", f[6] / t[k]) : "-") } }' "$SYS"
else
    echo
    echo "(perf stat cannot open tracepoints here: no syscall counts)"
fi

if command -v valgrind >/dev/null; then
    IR=$OUT/instructions.csv
    echo "server,conns,size,instructions_per_rt" >"$IR"
    # Under callgrind everything is ~50× slower: 1,000 connections take minutes.
    CG_CONNS=${CG_CONNS:-"1 100"}
    for conns in $CG_CONNS; do
        for size in $SIZES; do
            for server in $SERVERS; do
                log=$OUT/cg-$server-$conns-$size
                declare -A ir=()
                for rounds in "$ROUNDS_SHORT" "$ROUNDS_LONG"; do
                    start_server "$server" "$log.server" valgrind --tool=callgrind \
                        ${CACHE_SIM:+--cache-sim=yes} --callgrind-out-file="$log.callgrind.$rounds"
                    rounds_run "$server" "$conns" "$size" "$rounds" "$log.rounds.$rounds"
                    stop_server
                    ir[$rounds]=$(awk '$1 == "totals:" {print $2}' "$log.callgrind.$rounds")
                    # With the cache simulation: D1mr D1mw DLmr DLmw.
                    miss[$rounds]=$(awk '$1 == "totals:" {print $6, $7, $9, $10}' "$log.callgrind.$rounds")
                done
                awk -v a="${ir[$ROUNDS_SHORT]}" -v b="${ir[$ROUNDS_LONG]}" \
                    -v n=$((conns * (ROUNDS_LONG - ROUNDS_SHORT))) -v id="$server,$conns,$size" \
                    'BEGIN {printf "%s,%.0f\n", id, (b - a) / n}' >>"$IR"
                if [ -n "${CACHE_SIM:-}" ]; then
                    awk -v a="${miss[$ROUNDS_SHORT]}" -v b="${miss[$ROUNDS_LONG]}" \
                        -v n=$((conns * (ROUNDS_LONG - ROUNDS_SHORT))) -v id="$server,$conns,$size" \
                        'BEGIN { split(a, x, " "); split(b, y, " ")
                            printf "%s,%.2f,%.2f\n", id, (y[1] + y[2] - x[1] - x[2]) / n, (y[3] + y[4] - x[3] - x[4]) / n }' >>"$OUT/misses.csv"
                fi
                unset ir
            done
        done
    done
    echo
    echo "## User-space instructions per round trip (callgrind; echo_rounds, $ROUNDS_LONG − $ROUNDS_SHORT rounds; raw: $IR)"
    echo
    echo "| server | conns | size | instructions/rt | ×mio |"
    echo "|---|---:|---:|---:|---:|"
    awk -F, 'NR > 1 { row[NR] = $0; if ($1 == "mio") m[$2 "," $3] = $4 }
        END { for (i = 2; i <= NR; i++) { split(row[i], f, ",")
            k = f[2] "," f[3]
            printf "| %s | %s | %s | %s | %s |\n", f[1], f[2], f[3], f[4], (m[k] > 0 ? sprintf("%.2f", f[4] / m[k]) : "-") } }' "$IR"
    if [ -n "${CACHE_SIM:-}" ]; then
        echo
        echo "## Simulated user-space data-cache misses per round trip (callgrind --cache-sim=yes; raw: $OUT/misses.csv)"
        echo
        echo "| server | conns | size | L1 data misses/rt | last-level data misses/rt |"
        echo "|---|---:|---:|---:|---:|"
        awk -F, '{ printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 }' "$OUT/misses.csv"
    fi
else
    echo
    echo "(valgrind not installed: no instruction counts)"
fi
