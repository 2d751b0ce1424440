#!/usr/bin/env bash
# The scale run: resident memory per idle connection, and what weft's
# echo_server does at the kernel's memory-map limit.
#
#   bash benches/scale.sh
#   COUNTS="10000" SERVERS=weft MAP_DEMO=0 bash benches/scale.sh
#
# Part 1: for each server in SERVERS and each N in COUNTS, start the server,
# read VmRSS, open N connections with idle_clients (each echoes one 16-byte
# probe, then sits idle), read VmRSS again: (RSS_with_N - RSS_idle) / N.
# Each side needs N descriptors: the script raises `ulimit -n` to the hard
# limit and skips an N that does not fit, saying so. N is also capped by the
# ephemeral port range (one server port: net.ipv4.ip_local_port_range).
#
# Part 2 (MAP_DEMO=1, needs root): every green thread's stack is two kernel
# memory maps, and vm.max_map_count caps them. The script lowers the limit to
# DEMO_MAP_COUNT for the length of one run (it is restored on exit, whatever
# happens), opens DEMO_CONNS connections to weft's echo_server, and shows
# what the server says and whether it keeps serving the connections it had.
# Lowering it is system-wide: keep DEMO_MAP_COUNT far above what ordinary
# processes use (a compiler or linker uses a few thousand maps at most).
set -euo pipefail

COUNTS=${COUNTS-"10000 30000"}
SERVERS=${SERVERS-"weft mio tokio threads"}
MAP_DEMO=${MAP_DEMO:-1}
DEMO_MAP_COUNT=${DEMO_MAP_COUNT:-20000}
DEMO_CONNS=${DEMO_CONNS:-12000}

cd "$(dirname "$0")/.."
BIN=target/release/examples
OUT=target/scale/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)
read -r PORT_LO PORT_HI </proc/sys/net/ipv4/ip_local_port_range
PORTS=$((PORT_HI - PORT_LO + 1))

cargo build --release --examples >&2

PIDS=()
ORIGINAL_MAP_COUNT=
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [[ -n $ORIGINAL_MAP_COUNT ]]; then
        sysctl -qw vm.max_map_count="$ORIGINAL_MAP_COUNT" && echo "vm.max_map_count restored to $ORIGINAL_MAP_COUNT" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=benches/servers.sh
source "$(dirname "${BASH_SOURCE[0]}")/servers.sh"

status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# open_idle N LOG [TIMEOUT_S]: starts idle_clients against SADDR and waits until it holds
# its connections (or exits); sets CPID and RESULT.
open_idle() {
    rm -f "$2"
    "$BIN/idle_clients" --addr "$SADDR" --connections "$1" >"$2" 2>"$2.err" &
    CPID=$!
    PIDS+=("$CPID")
    local deadline=$((SECONDS + ${3:-600}))
    while ! grep -q '^holding' "$2" 2>/dev/null; do
        if ((SECONDS > deadline)); then
            echo "idle_clients did not finish within ${3:-600} s; stopping it" >&2
            kill "$CPID" 2>/dev/null || true
            break
        fi
        if ! kill -0 "$CPID" 2>/dev/null; then
            echo "idle_clients exited early:" >&2
            cat "$2.err" >&2
            break
        fi
        sleep 0.2
    done
    RESULT=$(grep '^RESULT' "$2" || echo "RESULT (none)")
}

echo "## Resident memory per idle connection"
echo
echo "| server | connections | result | RSS idle KiB | RSS with N KiB | per connection (bytes) | memory maps |"
echo "|---|---:|---|---:|---:|---:|---:|"
for n in $COUNTS; do
    for server in $SERVERS; do
        if ((n + 64 > FD_LIMIT)); then
            echo "| $server | $n | skipped: \`ulimit -n\` is $FD_LIMIT here (hard limit), each side needs $n + a few descriptors | | | | |"
            continue
        fi
        if ((n > PORTS)); then
            echo "| $server | $n | skipped: only $PORTS ephemeral ports to one server port (ip_local_port_range $PORT_LO–$PORT_HI) | | | | |"
            continue
        fi
        log=$OUT/$server-$n
        start_server "$server" "$log.server"
        sleep 0.3
        idle=$(status_kb "$SPID" VmRSS)
        open_idle "$n" "$log.clients"
        sleep 1
        if kill -0 "$SPID" 2>/dev/null; then
            with=$(status_kb "$SPID" VmRSS)
            maps=$(wc -l <"/proc/$SPID/maps")
            per=$(((with - idle) * 1024 / n))
        else
            with="(server exited)" maps=- per=-
        fi
        echo "| $server | $n | ${RESULT#RESULT } | $idle | $with | $per | $maps |"
        kill "$CPID" 2>/dev/null || true
        wait "$CPID" 2>/dev/null || true
        kill "$SPID" 2>/dev/null || true
        wait "$SPID" 2>/dev/null || true
    done
done

[[ $MAP_DEMO == 1 ]] || exit 0

echo
echo "## At the memory-map limit"
echo
if ((DEMO_CONNS + 64 > FD_LIMIT)); then
    echo "Skipped: \`ulimit -n\` is $FD_LIMIT, the demo needs $DEMO_CONNS descriptors per side."
    exit 0
fi
current=$(cat /proc/sys/vm/max_map_count)
if ! sysctl -qw vm.max_map_count="$current" 2>/dev/null; then
    echo "Skipped: vm.max_map_count cannot be changed here (needs root); it is $current."
    exit 0
fi
ORIGINAL_MAP_COUNT=$current
log=$OUT/maplimit
# As a user would run it: RUST_BACKTRACE unset (printing a backtrace needs
# memory maps too, which is exactly what has run out).
RUST_BACKTRACE=0 start_server weft "$log.server"
sysctl -qw vm.max_map_count="$DEMO_MAP_COUNT"
echo "vm.max_map_count lowered from $ORIGINAL_MAP_COUNT to $DEMO_MAP_COUNT; opening $DEMO_CONNS connections to echo_server."
echo
open_idle "$DEMO_CONNS" "$log.clients" 120
alive=yes
kill -0 "$SPID" 2>/dev/null || alive=no
maps=$( [[ $alive == yes ]] && wc -l <"/proc/$SPID/maps" || echo -)
sysctl -qw vm.max_map_count="$ORIGINAL_MAP_COUNT"
ORIGINAL_MAP_COUNT=
echo "- idle_clients: \`${RESULT}\`"
echo "- server still running: $alive; its memory maps: $maps"
echo "- vm.max_map_count restored to $(cat /proc/sys/vm/max_map_count)"
echo
lines=$(wc -l <"$log.server.err")
echo "The server's stderr ($lines lines$( ((lines > 12)) && echo ", first 6 and last 6"), colour codes removed):"
echo
echo '```text'
if ((lines > 12)); then
    head -6 "$log.server.err"
    echo ...
    tail -6 "$log.server.err"
else
    cat "$log.server.err"
fi | sed 's/\x1b\[[0-9;]*m//g'
echo '```'
if [[ $alive == yes ]]; then
    kill "$CPID" 2>/dev/null || true
    wait "$CPID" 2>/dev/null || true
    sleep 0.5
    echo
    if "$BIN/echo_rounds" --addr "$SADDR" --connections 10 --rounds 10 >"$log.after" 2>&1; then
        echo "After the clients closed and the limit was restored, 10 new connections echo 10 round trips each: ok."
    else
        echo "After the clients closed and the limit was restored, new connections failed: $(tail -1 "$log.after")"
    fi
fi
