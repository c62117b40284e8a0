#!/usr/bin/env bash
# http_wrk.sh: requests per second of lesson 19's http_server, measured with wrk.
#
#   harness/bench/http_wrk.sh [BIN_DIR] [SECONDS] [CONNECTIONS]
#
# Starts http_server on a free loopback port, serving lessons/19-http-hello/www,
# lets wrk hammer /hello.txt (small: measures per-request cost) and /logo.png
# over keep-alive connections, prints wrk's report and one summary line, and
# stops the server with SIGTERM (it must exit 0).
set -euo pipefail

root_dir=$(cd "$(dirname "$0")/../.." && pwd)
bin_dir=${1:-$root_dir/build/bin}
seconds=${2:-5}
connections=${3:-50}

command -v wrk >/dev/null || { echo "error: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[[ -x $bin_dir/http_server ]] || { echo "error: $bin_dir/http_server is not built" >&2; exit 1; }

out=$(mktemp)
"$bin_dir/http_server" --port 0 --root "$root_dir/lessons/19-http-hello/www" >"$out" 2>/dev/null &
server=$!
trap 'kill -TERM $server 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 50); do grep -q '^listening on' "$out" && break; sleep 0.1; done
port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out")
[[ -n $port ]] || { echo "error: http_server did not start" >&2; exit 1; }

summary=()
for path in /hello.txt /logo.png; do
    echo "== wrk -t2 -c$connections -d${seconds}s http://127.0.0.1:$port$path"
    report=$(wrk -t2 -c"$connections" -d"${seconds}s" "http://127.0.0.1:$port$path")
    echo "$report"
    summary+=("$path $(awk '/^Requests\/sec:/ {print $2}' <<<"$report") req/s")
done

kill -TERM $server
wait $server && status=0 || status=$?
trap 'rm -f "$out"' EXIT
echo "== http_server: ${summary[*]} (server exit status $status)"
exit $status
