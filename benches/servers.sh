# Sourced by compare.sh, scale.sh and cpu_split.sh: the command line of
# each echo server under comparison, all serving raw echo, and how to start
# and stop one. Needs BIN (the release examples), and BASE_BIN for
# `weft-base`, BINS_DIR for `weft-NAME`.

# server_cmd NAME: prints the command that starts server NAME.
server_cmd() {
    case $1 in
        # No cap and no idle timeout, like the baselines (the scale run holds
        # more idle connections than echo_server's default cap, for longer).
        weft) echo "$BIN/echo_server --proto raw --max-connections 1000000 --idle-timeout 0" ;;
        # A baseline build of weft (another commit's release examples), to
        # measure what a change bought side by side in one run, with the same
        # flags (BASE_FLAGS= for a baseline older than these flags).
        weft-base) echo "${BASE_BIN:?set BASE_BIN to the examples directory of the baseline build}/echo_server --proto raw ${BASE_FLAGS---max-connections 1000000 --idle-timeout 0}" ;;
        # Builds of other commits side by side: `weft-NAME` runs
        # $BINS_DIR/NAME/echo_server (same flags as weft-base).
        weft-?*) echo "${BINS_DIR:?set BINS_DIR to a directory of builds, one subdirectory per name}/${1#weft-}/echo_server --proto raw ${BASE_FLAGS---max-connections 1000000 --idle-timeout 0}" ;;
        mio) echo "$BIN/echo_mio --proto raw" ;;
        tokio) echo "$BIN/echo_tokio --proto raw" ;;
        threads) echo "$BIN/echo_threads --proto raw" ;;
        *) echo "unknown server $1" >&2; exit 2 ;;
    esac
}

# start_server NAME LOG [WRAPPER...]: starts server NAME (pinned to
# SERVER_CPU when that is set) on a free port, its stdout in LOG and its
# stderr in LOG.err; sets SPID and SADDR and adds SPID to PIDS (the caller's
# cleanup kills them). Exits if the server does not say where it listens.
start_server() {
    local name=$1 log=$2
    shift 2
    rm -f "$log" "$log.err"
    # shellcheck disable=SC2046
    ${SERVER_CPU:+taskset -c "$SERVER_CPU"} "$@" $(server_cmd "$name") --addr 127.0.0.1:0 >"$log" 2>"$log.err" &
    SPID=$!
    PIDS+=("$SPID")
    SADDR=
    for _ in $(seq 600); do
        SADDR=$(sed -n '1s/^listening on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$log" 2>/dev/null || true)
        [[ -n $SADDR ]] && return 0
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.05
    done
    echo "server $name did not report where it listens; its stderr:" >&2
    cat "$log.err" >&2
    exit 1
}

stop_server() {
    kill "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
}
