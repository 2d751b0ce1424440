#!/usr/bin/env bash
# HAProxy in front of two weft echo servers, on loopback: the connection
# split, the load figures, and a rolling restart with no failed request.
#
#   bash deploy/haproxy/run.sh
#   CONNS=200 DURATION=5 PORT_BASE=17100 bash deploy/haproxy/run.sh
#
# 1. Installs HAProxy with apt-get if it is missing (needs root or sudo).
# 2. Starts two `echo_server --proto raw` on PORT_BASE+1 and PORT_BASE+2 and
#    HAProxy (deploy/haproxy/haproxy.cfg) on PORT_BASE, its admin socket on
#    PORT_BASE+9; waits until HAProxy's health checks see both up.
# 3. Drives echo_load through HAProxy (every echoed byte is checked) and
#    prints its figures and the per-backend split from `show stat`.
# 4. Rolling restart of echo1 while load runs: `set server weft/echo1 state
#    drain` (no new connections), wait until it has none open, SIGTERM it
#    (echo_server drains gracefully on SIGTERM; HAProxy has already moved
#    every connection away, so none is in flight either way), start it again,
#    wait for its health check, `set server weft/echo1 state ready`. Then a
#    last load run shows both backends serving again.
#
# Every process it starts is stopped on exit, whatever happens. It exits
# non-zero on any error: a process that does not start, a health check that
# does not pass, or any echo_load error (a reset, a short or wrong echo).
# Not part of CI. Raw logs land in target/haproxy/.
set -euo pipefail

CONNS=${CONNS:-100}
SIZE=${SIZE:-64}
DURATION=${DURATION:-3}
PORT_BASE=${PORT_BASE:-16100}

cd "$(dirname "$0")/../.."
HERE=deploy/haproxy
BIN=target/release/examples
OUT=target/haproxy/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"

export WEFT_FRONT=127.0.0.1:$PORT_BASE
export WEFT_BACKEND1=127.0.0.1:$((PORT_BASE + 1))
export WEFT_BACKEND2=127.0.0.1:$((PORT_BASE + 2))
export WEFT_ADMIN=127.0.0.1:$((PORT_BASE + 9))

say() { echo "== $*" >&2; }
die() { echo "run.sh: $*" >&2; exit 1; }

# ---- HAProxy itself ------------------------------------------------------------

if ! command -v haproxy >/dev/null; then
    say "installing haproxy with apt-get"
    SUDO=
    [[ $(id -u) == 0 ]] || SUDO=sudo
    $SUDO apt-get install -y haproxy >&2 || { $SUDO apt-get update >&2 && $SUDO apt-get install -y haproxy >&2; }
fi
haproxy -v | head -1 >&2
haproxy -c -q -f "$HERE/haproxy.cfg" || die "haproxy.cfg does not check"

cargo build --release --example echo_server --example echo_load >&2

declare -A PID=()
cleanup() {
    for name in "${!PID[@]}"; do
        kill "${PID[$name]}" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# port_free HOST:PORT: true when nothing accepts there.
port_free() { ! (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }
for addr in "$WEFT_FRONT" "$WEFT_BACKEND1" "$WEFT_BACKEND2" "$WEFT_ADMIN"; do
    port_free "$addr" || die "$addr is taken: choose another PORT_BASE"
done

# start_backend NAME ADDR: starts an echo_server and waits until it listens.
start_backend() {
    local name=$1 addr=$2 log=$OUT/$1.log
    "$BIN/echo_server" --proto raw --addr "$addr" >>"$log" 2>&1 &
    PID[$name]=$!
    for _ in $(seq 100); do
        grep -q "^listening on $addr" "$log" 2>/dev/null && return 0
        kill -0 "${PID[$name]}" 2>/dev/null || break
        sleep 0.05
    done
    tail -5 "$log" >&2
    die "$name did not start on $addr"
}

# admin COMMAND: one command on HAProxy's admin socket; prints the answer.
admin() {
    local answer
    exec 3<>"/dev/tcp/${WEFT_ADMIN%:*}/${WEFT_ADMIN##*:}" || die "no admin socket at $WEFT_ADMIN"
    printf '%s\n' "$1" >&3
    answer=$(cat <&3)
    exec 3<&-
    printf '%s\n' "$answer"
}

# stat SERVER COLUMN: one column of `show stat` for weft/SERVER
# (5 scur: open now, 8 stot: total, 18 status).
stat() { admin "show stat" | awk -F, -v s="$1" -v c="$2" '$1 == "weft" && $2 == s {print $c}'; }

# wait_status SERVER REGEX: waits (10 s at most) for the server's status.
wait_status() {
    local status=
    for _ in $(seq 200); do
        status=$(stat "$1" 18)
        [[ $status =~ $2 ]] && return 0
        sleep 0.05
    done
    die "weft/$1 is '$status', not '$2', after 10 s"
}

# wait_idle SERVER: waits (10 s at most) until it has no connection open.
wait_idle() {
    for _ in $(seq 200); do
        [[ $(stat "$1" 5) == 0 ]] && return 0
        sleep 0.05
    done
    die "weft/$1 still has $(stat "$1" 5) connections open after 10 s"
}

# load NAME [DURATION]: echo_load through HAProxy; fails on any error.
load() {
    local log=$OUT/load-$1.log result
    "$BIN/echo_load" --addr "$WEFT_FRONT" --connections "$CONNS" --size "$SIZE" \
        --duration "${2:-$DURATION}" >"$log" 2>&1 || { cat "$log" >&2; die "echo_load ($1) failed"; }
    result=$(grep '^RESULT' "$log" | tail -1)
    [[ -n $result ]] || { cat "$log" >&2; die "echo_load ($1) printed no RESULT"; }
    echo "$1: $result"
    [[ $result == *" errors=0"* ]] || die "echo_load ($1) saw errors"
}

# split LABEL: sessions per backend since the last call.
declare -A SEEN=([echo1]=0 [echo2]=0)
split() {
    local line="$1: sessions by backend:" total
    for s in echo1 echo2; do
        total=$(stat "$s" 8)
        line+=" $s $((total - SEEN[$s])) ($(stat "$s" 18))"
        SEEN[$s]=$total
    done
    echo "$line"
}

# ---- the run ---------------------------------------------------------------------

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
start_backend echo1 "$WEFT_BACKEND1"
start_backend echo2 "$WEFT_BACKEND2"
haproxy -db -f "$HERE/haproxy.cfg" >"$OUT/haproxy.log" 2>&1 &
PID[haproxy]=$!
for _ in $(seq 100); do
    port_free "$WEFT_ADMIN" || break
    kill -0 "${PID[haproxy]}" 2>/dev/null || { cat "$OUT/haproxy.log" >&2; die "haproxy did not start"; }
    sleep 0.05
done
wait_status echo1 '^UP'
wait_status echo2 '^UP'
split "health checks" >/dev/null # count from here on

say "load through HAProxy: $CONNS connections, $SIZE-byte messages, ${DURATION} s"
load both
split both

say "rolling restart of echo1 under load"
admin "set server weft/echo1 state drain" >/dev/null
wait_status echo1 '^DRAIN'
wait_idle echo1
load during-restart $((DURATION * 2)) >"$OUT/during-restart.result" &
PID[load]=$!
sleep 0.3
kill -TERM "${PID[echo1]}"
wait "${PID[echo1]}" 2>/dev/null || true
unset 'PID[echo1]'
wait_status echo1 'DOWN'
start_backend echo1 "$WEFT_BACKEND1"
wait_status echo1 '^DRAIN' # checks pass again; still no new connections
admin "set server weft/echo1 state ready" >/dev/null
wait_status echo1 '^UP'
wait "${PID[load]}" || die "the load during the restart failed: $(cat "$OUT/during-restart.result" 2>/dev/null)"
unset 'PID[load]'
cat "$OUT/during-restart.result"
split during-restart

say "after the restart"
load after
split after
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rolling restart: no failed request"
