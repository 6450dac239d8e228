#!/usr/bin/env bash
# `make serve-bench`: starts the release trellis-serve on a free port of 127.0.0.1, measures it
# with wrk (scripts/serve-bench.lua) from 1 and then 32 connections, SECONDS each, and stops it
# with SIGTERM, which must end it with status 0.
# Usage: TRELLIS_SERVE_EXECUTABLE=BIN scripts/serve-bench.sh MODEL CONLL [SECONDS]
#   (SENTENCES=k: k sentences per request)
set -euo pipefail
model=$1
export CONLL=$2
seconds=${3:-10}
server_executable=${TRELLIS_SERVE_EXECUTABLE:?the trellis-serve binary to measure}
command -v wrk > /dev/null || { echo "serve-bench needs wrk (Debian: apt-get install wrk)" >&2; exit 1; }
log=$(mktemp)
"$server_executable" --model "$model" --port 0 > "$log" &
server=$!
trap 'kill "$server" 2> /dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 300); do
  grep -q "listening on" "$log" && break
  kill -0 "$server" || { echo "trellis-serve did not start" >&2; exit 1; }
  sleep 0.1
done
url=$(grep -o 'http://[^ ]*' "$log")
echo "trellis-serve --model $model at $url; sentences from $CONLL"
for connections in 1 32; do
  echo -n "$connections connection(s): "
  wrk -t "$((connections > 1 ? 2 : 1))" -c "$connections" -d "${seconds}s" \
    -s scripts/serve-bench.lua "$url" | tail -1
done
kill -TERM "$server"
status=0
wait "$server" || status=$?
trap 'rm -f "$log"' EXIT
[ "$status" -eq 0 ] || { echo "trellis-serve ended with status $status after SIGTERM" >&2; exit 1; }
