#!/usr/bin/env bash
# Regenerates the real ss / tshark output shown on the pages of lessons 06, 07
# and 10 (docs/captures/*.txt). Needs root or CAP_NET_RAW for tshark.
#   docs/captures/capture.sh            uses build/bin
#   BIN=build-asan/bin docs/captures/capture.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-build/bin}
OUT=docs/captures
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

port_of() { sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$1" | head -1; }
start() {  # start SERVER ARGS... : runs it, waits for its readiness line
    "$BIN/$1" "${@:2}" >"$tmp/server.out" 2>"$tmp/server.err" &
    SERVER=$!
    for _ in $(seq 50); do [ -n "$(port_of "$tmp/server.out")" ] && return; sleep 0.1; done
    echo "server $1 did not start" >&2; exit 1
}
tshark_start() {  # tshark_start PORT : records loopback traffic on PORT into $tmp/cap.pcapng
    tshark -i lo -f "port $1" -w "$tmp/cap.pcapng" >"$tmp/tshark.log" 2>&1 &
    TSHARK=$!
    for _ in $(seq 200); do grep -q "Capture started" "$tmp/tshark.log" && break; sleep 0.1; done
    sleep 0.3
}
tshark_stop() {
    sleep 0.3; kill -INT "$TSHARK"; wait "$TSHARK" || true
    # The packet list, one line each; the TCP timestamp options are cut for width.
    tshark -r "$tmp/cap.pcapng" -T fields -E separator=/t -e frame.number \
        -e frame.time_relative -e _ws.col.Info 2>/dev/null |
        sed -E 's/ TSval=[0-9]+ TSecr=[0-9]+//' |
        awk -F'\t' '{ printf "%3s %7.3f  %s\n", $1, $2, $3 }'  || true
}

# ---- lesson 06: the accept queue, seen by ss; a dropped SYN, seen by tshark
start backlog_server --port 0 --backlog 2
P=$(port_of "$tmp/server.out")
"$BIN/connect_many" --port "$P" --count 5 --timeout 4 --hold 1 >/dev/null 2>&1 &
CLIENT=$!
sleep 1.5
{
    echo "\$ ss -ltn 'sport = :$P'"
    ss -ltn "sport = :$P"
    echo
    echo "\$ ss -tan '( sport = :$P or dport = :$P )'"
    ss -tan "( sport = :$P or dport = :$P )"
} >"$OUT/06-ss.txt"
wait $CLIENT || true
kill $SERVER; wait $SERVER || true

start backlog_server --port 0 --backlog 1
P=$(port_of "$tmp/server.out")
tshark_start "$P"
"$BIN/connect_many" --port "$P" --count 3 --timeout 2.5 >"$tmp/client.out" 2>&1 || true
tshark_stop >"$OUT/06-tshark.txt"
kill $SERVER; wait $SERVER || true
{ echo "\$ connect_many --port $P --count 3 --timeout 2.5"; cat "$tmp/client.out"; } >"$OUT/06-connect-many.txt"

# ---- lesson 07: TIME_WAIT after the server closes first; the failed restart
P=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start reuse_server --port "$P"
tshark_start "$P"
"$BIN/connect_many" --port "$P" --count 1 --hold 0.2 >/dev/null 2>&1
tshark_stop >"$OUT/07-tshark.txt"
wait $SERVER || true
{
    echo "\$ ss -tan state time-wait 'sport = :$P'"
    ss -tan state time-wait "sport = :$P"
    echo
    echo "\$ reuse_server --port $P"
    "$BIN/reuse_server" --port "$P" 2>&1 || echo "(exit status $?)"
    echo
    echo "\$ reuse_server --port $P --reuse-address"
    "$BIN/reuse_server" --port "$P" --reuse-address 2>&1 || echo "(exit status $?)"
} >"$OUT/07-restart.txt"
# The fix: SO_REUSEADDR on every run, the first one included.
P=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start reuse_server --port "$P" --reuse-address
"$BIN/connect_many" --port "$P" --count 1 --hold 0.2 >/dev/null 2>&1
wait $SERVER || true
{
    echo "\$ reuse_server --port $P --reuse-address     # first run: a client came, we closed first"
    echo "\$ ss -tan state time-wait 'sport = :$P'"
    ss -tan state time-wait "sport = :$P"
    echo
    echo "\$ reuse_server --port $P --reuse-address     # restarted at once"
    timeout 3 "$BIN/reuse_server" --port "$P" --reuse-address 2>&1 || true
} >"$OUT/07-reuse.txt"

# ---- lesson 10: one send() with nobody reading
start slow_reader --port 0 --delay 1.5 --rcvbuf 65536
P=$(port_of "$tmp/server.out")
{
    echo "\$ bulk_sender --port $P --bytes 16777216 --mode send --sndbuf 65536 --timeout 0.3"
    "$BIN/bulk_sender" --port "$P" --bytes 16777216 --mode send --sndbuf 65536 --timeout 0.3 2>&1
    wait $SERVER || true
    echo
    echo "slow_reader --delay 1.5 --rcvbuf 65536, on its side:"
    cat "$tmp/server.out" "$tmp/server.err"
} >"$OUT/10-send.txt"
echo "wrote $OUT/06-ss.txt 06-tshark.txt 06-connect-many.txt 07-tshark.txt 07-restart.txt 07-reuse.txt 10-send.txt"
