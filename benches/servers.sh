# Sourced by compare.sh and scale.sh: the command line of each echo server
# under comparison, all serving raw echo. Needs BIN (the release examples).

# server_cmd NAME: prints the command that starts server NAME.
server_cmd() {
    case $1 in
        # No cap and no idle timeout, like the baselines (the scale run holds
        # more idle connections than echo_server's default cap, for longer).
        weft) echo "$BIN/echo_server --proto raw --max-connections 1000000 --idle-timeout 0" ;;
        mio) echo "$BIN/echo_mio --proto raw" ;;
        tokio) echo "$BIN/echo_tokio --proto raw" ;;
        threads) echo "$BIN/echo_threads --proto raw" ;;
        *) echo "unknown server $1" >&2; exit 2 ;;
    esac
}
