#!/usr/bin/env bash
# Soak and stress run of echo_server in both protocols (not run by CI):
#
#   bash benches/soak.sh                          # under a minute
#   CONNS=2000 bash benches/soak.sh               # a longer soak
#   SEED_BACKLOG=1 bash benches/soak.sh           # also the burst at --backlog 5 (about a minute more)
#
# 1. CPU per byte, line against raw, side by side: one connection streams
#    BULK bytes of ~100-byte lines; the figure is the server's on-CPU time
#    (the sum of /proc/PID/task/*/schedstat, in ns) across the stream, the
#    two protocols taking turns for REPEATS rounds; the ratio is of the sums.
# 2. A burst of BURST connects at once, each asking one line: answered and
#    when the last answer came (default backlog 1024; SEED_BACKLOG=1 adds
#    the seed's 5).
# 3. One line of ENDLESS bytes without a newline: VmRSS sampled while it
#    streams, and a bystander asked a line every 50 ms meanwhile.
# 4. The soak: CONNS clients, CONCURRENCY at a time, clean / half-close /
#    RST / slow-reader in turn, every echoed byte checked; connections lost,
#    corrupt bytes, and the server's descriptors and VmRSS before and after.
# Every server is stopped with SIGTERM and must exit 0 after its drain.
#
# Servers listen on 127.0.0.1:PORT (PORT, default 17100 and up); every
# process the script starts is stopped on exit. The load average is printed
# with each phase: timings move with it on a shared machine, counts do not.
set -euo pipefail

BULK=${BULK:-67108864}
REPEATS=${REPEATS:-3}
BURST=${BURST:-2000}
ENDLESS=${ENDLESS:-536870912}
CONNS=${CONNS:-800}
CONCURRENCY=${CONCURRENCY:-64}
PORT=${PORT:-17100}
SEED_BACKLOG=${SEED_BACKLOG:-0}

cd "$(dirname "$0")/.."
BIN=target/release/examples
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cargo build --release --example echo_server --example soak_client >&2

PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}
trap cleanup EXIT

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
cpu_ns() {
    local total=0 ns
    for f in /proc/"$1"/task/*/schedstat; do
        read -r ns _ <"$f"
        total=$((total + ns))
    done
    echo "$total"
}
rss_kib() { awk '/^VmRSS/ {print $2}' /proc/"$1"/status; }
fds() { find /proc/"$1"/fd -mindepth 1 | wc -l; }

# start PROTO [FLAGS...]: starts a server on the next port; sets SERVER and ADDR.
start() {
    local proto=$1
    shift
    PORT=$((PORT + 1))
    ADDR=127.0.0.1:$PORT
    "$BIN/echo_server" --proto "$proto" --addr "$ADDR" "$@" >"/tmp/soak-$PORT.log" &
    SERVER=$!
    PIDS+=("$SERVER")
    for _ in $(seq 100); do
        grep -q '^listening on' "/tmp/soak-$PORT.log" 2>/dev/null && return
        sleep 0.05
    done
    echo "echo_server did not start" >&2
    exit 1
}

# stop: SIGTERM, wait for the drain, check the exit status, print the summary.
stop() {
    kill -TERM "$SERVER"
    local status=0
    wait "$SERVER" || status=$?
    echo "  exit status $status; $(tail -1 "/tmp/soak-$PORT.log")"
    [ "$status" -eq 0 ] || exit 1
}

client() { "$BIN/soak_client" --addr "$ADDR" "$@"; }

echo "== 1. server CPU per byte, line vs raw ($BULK bytes of 100-byte lines, $REPEATS rounds) == load $(loadavg)"
declare -A CPU=([raw]=0 [line]=0)
for round in $(seq "$REPEATS"); do
    for proto in raw line; do
        start "$proto"
        before=$(cpu_ns "$SERVER")
        client --proto "$proto" --mode bulk --bytes "$BULK" --line 100 | sed 's/^/  /'
        ms=$(( ($(cpu_ns "$SERVER") - before) / 1000000 ))
        CPU[$proto]=$(( CPU[$proto] + ms ))
        echo "  round $round, $proto: server CPU $ms ms"
        stop
    done
done
awk -v l="${CPU[line]}" -v r="${CPU[raw]}" 'BEGIN { printf "  line/raw CPU ratio: %.2f\n", (r > 0 ? l / r : 0) }'

echo "== 2. burst of $BURST connects == load $(loadavg)"
backlogs=1024
[ "$SEED_BACKLOG" = 1 ] && backlogs="1024 5"
for backlog in $backlogs; do
    start line --backlog "$backlog"
    echo "  backlog $backlog:"
    client --mode burst --connections "$BURST" 2>/dev/null | sed 's/^/  /'
    stop
done

echo "== 3. one line of $ENDLESS bytes without a newline == load $(loadavg)"
start line
base=$(rss_kib "$SERVER")
client --proto line --mode endless --bytes "$ENDLESS" | sed 's/^/  /' &
streamer=$!
peak=$base
asked=0
while kill -0 "$streamer" 2>/dev/null; do
    r=$(rss_kib "$SERVER")
    [ "$r" -gt "$peak" ] && peak=$r
    # A bystander: one line, one answer.
    if timeout 5 "$BIN/soak_client" --addr "$ADDR" --mode burst --connections 1 | grep -q 'answered=1 '; then
        asked=$((asked + 1))
    fi
    sleep 0.05
done
wait "$streamer"
echo "  VmRSS ${base} KiB before, ${peak} KiB at most while it streamed; bystander answered $asked times"
stop

for proto in line raw; do
    echo "== 4. soak, $proto: $CONNS clients, $CONCURRENCY at a time == load $(loadavg)"
    start "$proto"
    echo "  before: fds $(fds "$SERVER"), VmRSS $(rss_kib "$SERVER") KiB"
    client --proto "$proto" --mode soak --connections "$CONNS" --concurrency "$CONCURRENCY" | sed 's/^/  /'
    sleep 0.5
    echo "  after:  fds $(fds "$SERVER"), VmRSS $(rss_kib "$SERVER") KiB"
    stop
done
echo "== done == load $(loadavg)"
