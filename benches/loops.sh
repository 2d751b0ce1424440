#!/usr/bin/env bash
# 1 loop vs N loops: `echo_server --proto raw --threads N` (weft::Loops, one
# Server on its own SO_REUSEPORT listener per loop) under echo_load, side by
# side in one run, with the server's CPU time per round trip and the load
# average.
#
#   bash benches/loops.sh                                  # 1 vs 2 loops, 100 and 1000 connections
#   LOOPS="1 2" CONNS=100 REPEATS=1 DURATION=2 bash benches/loops.sh   # a quick look
#   PIN=1 bash benches/loops.sh                            # loops pinned to cores
#
# The configurations alternate within each repeat (1, 2, 1, 2, ...), so a
# change in the machine's load hits them alike; the table shows the median
# of the repeats. Server CPU is utime+stime from /proc/PID/stat across the
# load run, over the round trips done. echo_load runs unpinned with
# LOAD_THREADS threads: on a 2-core machine it shares the cores with the
# server, which is the honest setting for "does a second loop help here".
# Per-loop connection counts (the kernel's split) come from the server's
# own `loop I: accepted N, ...` lines, printed when SIGTERM has drained it. Raw results land in target/loops/.
set -euo pipefail

REPEATS=${REPEATS:-3}
DURATION=${DURATION:-3}
CONNS=${CONNS:-"100 1000"}
SIZE=${SIZE:-64}
LOOPS=${LOOPS:-"1 2"}
LOAD_THREADS=${LOAD_THREADS:-2}
PIN=${PIN:-0}

cd "$(dirname "$0")/.."
BIN=target/release/examples
OUT=target/loops/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
CLK_TCK=$(getconf CLK_TCK)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

cargo build --release --example echo_server --example echo_load >&2

PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pin_flag=()
[[ $PIN == 1 ]] && pin_flag=(--pin)

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

RAW=$OUT/loops.csv
echo "loops,conns,rep,rtt_per_s,p99_us,cpu_ns_per_rt,errors,split,load1" >"$RAW"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for conns in $CONNS; do
    for rep in $(seq "$REPEATS"); do
        for n in $LOOPS; do
            log=$OUT/loops$n-$conns-$rep
            "$BIN/echo_server" --proto raw --threads "$n" --max-connections 1000000 --idle-timeout 0 \
                --addr 127.0.0.1:0 "${pin_flag[@]}" >"$log.server" 2>&1 &
            spid=$!
            PIDS+=("$spid")
            addr=
            for _ in $(seq 200); do
                addr=$(sed -n '1s/^listening on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$log.server")
                [[ -n $addr ]] && break
                sleep 0.05
            done
            [[ -n $addr ]] || { echo "echo_server did not start:" >&2; cat "$log.server" >&2; exit 1; }
            t0=$(cpu_ticks "$spid")
            "$BIN/echo_load" --addr "$addr" --connections "$conns" --size "$SIZE" \
                --duration "$DURATION" --threads "$LOAD_THREADS" >"$log.load" 2>&1 \
                || { echo "echo_load failed:" >&2; cat "$log.load" >&2; exit 1; }
            t1=$(cpu_ticks "$spid")
            kill "$spid" # SIGTERM: the loops drain and print their summaries
            wait "$spid" 2>/dev/null || true
            result=$(grep '^RESULT' "$log.load" | tail -1)
            rtt=$(field rtt_per_s "$result")
            secs=$(field secs "$result")
            cpu=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v r="$rtt" -v s="$secs" \
                'BEGIN {printf "%.0f", t * 1e9 / hz / (r * s)}')
            split=$(awk '/^loop [0-9]+: accepted / {i = $2; sub(":", "", i); c[i] = $4; sub(",", "", c[i])} END {s = ""; for (i = 0; i in c; i++) s = s (i ? "/" : "") c[i]; print s}' "$log.server")
            load1=$(cut -d' ' -f1 /proc/loadavg)
            echo "$n,$conns,$rep,$rtt,$(field p99_us "$result"),$cpu,$(field errors "$result"),$split,$load1" >>"$RAW"
            echo "loops=$n conns=$conns rep=$rep: $rtt rt/s, p99 $(field p99_us "$result") us, $cpu ns CPU/rt, split $split, load $load1" >&2
        done
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| loops | conns | round trips/s (median) | ×1 loop | p99 µs | server CPU ns/rt | errors | split (last run) |"
echo "|---:|---:|---:|---:|---:|---:|---:|---|"
awk -F, '
    NR == 1 { next }
    { key = $1 "," $2; n[key]++; r[key, n[key]] = $4; p[key, n[key]] = $5; c[key, n[key]] = $6
      e[key] += $7; sp[key] = $8
      if (!(key in seen)) { seen[key] = 1; order[++k] = key } }
    function med(a, key,    i, j, t, m, v) {
        m = n[key]; for (i = 1; i <= m; i++) v[i] = a[key, i] + 0
        for (i = 2; i <= m; i++) { t = v[i]; for (j = i - 1; j > 0 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
        return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
    }
    END {
        for (i = 1; i <= k; i++) {
            split(order[i], f, ",")
            base = "1," f[2]
            rt = med(r, order[i])
            ratio = (base in n) ? sprintf("%.2f", rt / med(r, base)) : "-"
            printf "| %s | %s | %.0f | %s | %.0f | %.0f | %d | %s |\n", f[1], f[2], rt, ratio, med(p, order[i]), med(c, order[i]), e[order[i]], sp[order[i]]
        }
    }' "$RAW"
