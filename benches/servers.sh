# Sourced by compare.sh and scale.sh: the command line of each echo server
# under comparison, all serving raw echo. Needs BIN (the release examples),
# and BASE_BIN for `weft-base`, BINS_DIR for `weft-NAME`.

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
