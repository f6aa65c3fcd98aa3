#!/usr/bin/env bash
# A load run against the release adapter on 127.0.0.1 with the example
# practice (weekday hours in New York) on a fresh store:
#   1. GET /v1/slots for a 14-day window (goal: >= 5,000 requests/s, p99 <= 10 ms);
#   2. POST /v1/bookings for random slots with fresh keys (every 201 is fsynced);
#   3. GET a widget file, gzipped, one request after another on one kept-alive
#      connection, as a browser fetches the widget (no request may wait for
#      the client's delayed ACK: p50 well under 1 ms here, not ~40 ms).
# Bounded: each run lasts DURATION seconds (default 10) and stops by itself.
# Run: bench/adapter-load.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
DURATION=${DURATION:-10}

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else sudo apt-get install -y wrk >/dev/null; fi
fi
cargo build --locked --release -p firststep-adapter 2>&1 | tail -1

work=$(mktemp -d)
trap 'kill "$adapter" 2>/dev/null; wait "$adapter" 2>/dev/null; rm -rf "$work"' EXIT
# The example practice, without the per-address limit (all load comes from one address).
sed -e 's/^bookings_per_minute = .*/bookings_per_minute = 100000000/' \
  -e "s#\"\.\./dist\"#\"$PWD/dist\"#" -e "s#\"\.\./demo\"#\"$PWD/demo\"#" \
  examples/riverside-counselling.toml > "$work/practice.toml"
FIRSTSTEP_LOG=warn target/release/firststep-adapter serve --config "$work/practice.toml" \
  --store "$work/bookings.sqlite3" --listen 127.0.0.1:0 > "$work/out" &
adapter=$!
for _ in $(seq 50); do grep -q 'listening on' "$work/out" && break; sleep 0.1; done
base=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/out")

from=$(date -u +%Y-%m-%dT%H:%M:%SZ)
to=$(date -u -d '+14 days' +%Y-%m-%dT%H:%M:%SZ)
slots_url="$base/v1/slots?service=free-consultation&from=$from&to=$to"
count=$(curl -s "$slots_url" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["slots"]))')

echo "== GET /v1/slots, 14-day window ($count slots a response), 2 threads, 32 connections, ${DURATION}s"
wrk -t2 -c32 -d"${DURATION}s" --latency "$slots_url" | grep -E 'Requests/sec|Latency  |50%|90%|99%|requests in|Non-2xx'

# Every open slot as a Lua table, for the booking run to pick from.
curl -s "$slots_url" | python3 -c '
import json, sys
starts = [s["start"] for s in json.load(sys.stdin)["slots"]]
print("starts = {" + ",".join(json.dumps(s) for s in starts) + "}")' > "$work/starts.lua"
cat > "$work/book.lua" <<LUA
dofile("$work/starts.lua")
counter = 0
statuses = {}
request = function()
  counter = counter + 1
  local start = starts[math.random(#starts)]
  local body = '{"service":"free-consultation","start":"' .. start .. '","client":{"name":"Load Test","email":"load@example.org","phone":"+1 555 0100"},"client_time_zone":"UTC","note":null,"consent":true,"website":""}'
  return wrk.format("POST", "/v1/bookings", {["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "load-" .. math.random(1e9) .. "-" .. counter}, body)
end
LUA
echo "== POST /v1/bookings, random open slots, fresh keys, 2 threads, 8 connections, ${DURATION}s"
wrk -t2 -c8 -d"${DURATION}s" --latency -s "$work/book.lua" "$base" | grep -E 'Requests/sec|Latency  |50%|90%|99%|requests in|Non-2xx'
booked=$(python3 -c "import sqlite3; print(sqlite3.connect('$work/bookings.sqlite3').execute('select count(*) from bookings').fetchone()[0])")
echo "bookings stored: $booked of $count slots (the rest of the requests were 409 slot_unavailable)"

echo "== GET /widget/element.js (gzip), 1 kept-alive connection, ${DURATION}s"
if [ -f dist/element.js ]; then
  wrk -t1 -c1 -d"${DURATION}s" --latency -H 'Accept-Encoding: gzip' "$base/widget/element.js" | grep -E 'Requests/sec|Latency  |50%|99%|Non-2xx'
else
  echo "(no dist/: run trunk build --release first)"
fi
