#!/usr/bin/env bash
# One release adapter serving PRACTICES practices (default 1,000) from one
# folder (`serve --config-dir`), on one SQLite store, on 127.0.0.1:
#   1. start: time until it listens;
#   2. memory: VmRSS and VmHWM from /proc, beside one process with one practice;
#   3. idle cost: CPU seconds the process spends over IDLE seconds (default 60)
#      with nothing asked (the shared outbox and housekeeping rounds);
#   4. GET /p/{id}/v1/slots (14-day window) spread over 10 practices with wrk:
#      requests/s, p50 and p99; beside the one practice's GET /v1/slots.
# Each practice is the example's (examples/riverside-counselling.toml, its
# [practice], [[services]], [form] and [availability]), under its own name.
# Bounded: the load runs DURATION seconds (default 10).
# Run: bench/many-practices.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
PRACTICES=${PRACTICES:-1000}
DURATION=${DURATION:-10}
IDLE=${IDLE:-60}

command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
cargo build --locked --release -p firststep-adapter 2>&1 | tail -1

work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

# The example's practice without its [server] and what follows (mail, calendar).
sed '/^\[server\]/,$d' examples/riverside-counselling.toml > "$work/practice.part"
server='[server]
listen = "127.0.0.1:0"
bookings_per_minute = 100000000'
mkdir "$work/practices" "$work/one"
for i in $(seq -f '%04g' 1 "$PRACTICES"); do
  { sed "s/^name = \"Riverside Counselling\"/name = \"Practice $i\"/" "$work/practice.part"
    echo "$server"; } > "$work/practices/practice-$i.toml"
done
cp "$work/practices/practice-0001.toml" "$work/one/practice.toml"
target/release/firststep-adapter check-config --config-dir "$work/practices"

# Starts the adapter with "$@"; sets $pid and $base.
start() {
  local out="$work/out-$RANDOM"
  : > "$out"
  FIRSTSTEP_LOG=warn target/release/firststep-adapter serve --listen 127.0.0.1:0 "$@" > "$out" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 600); do grep -q 'listening on' "$out" && break; sleep 0.05; done
  base=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$out")
  [ -n "$base" ] || { echo "the adapter did not start"; exit 1; }
}
memory() { grep -E '^(VmRSS|VmHWM)' "/proc/$1/status" | tr -s ' \t' ' ' | tr '\n' ' '; }
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

from=$(date -u +%Y-%m-%dT%H:%M:%SZ)
to=$(date -u -d '+14 days' +%Y-%m-%dT%H:%M:%SZ)
slots="/v1/slots?service=free-consultation&from=$from&to=$to"
load() { wrk -t2 -c32 -d"${DURATION}s" --latency "$@" | grep -E 'Requests/sec|Latency  |50%|90%|99%|requests in|Non-2xx'; }

start --config "$work/one/practice.toml" --store "$work/one.sqlite3"
curl -sf "$base/v1/practice" > /dev/null
echo "== one practice (--config): $(memory "$pid")"
echo "GET /v1/slots, the same window, 2 threads, 32 connections, ${DURATION}s (for comparison)"
load "$base$slots"
kill "$pid"; wait "$pid" 2>/dev/null || true

began=$(date +%s.%N)
start --config-dir "$work/practices" --store "$work/bookings.sqlite3"
listening=$(date +%s.%N)
echo "== $PRACTICES practices (--config-dir): listening after $(echo "$listening - $began" | bc) s: $(memory "$pid")"
for i in $(seq -f '%04g' 1 "$PRACTICES"); do
  curl -sf -o /dev/null "$base/p/practice-$i$slots"
done
echo "after one slots request to each practice: $(memory "$pid")"

before=$(cpu_seconds "$pid")
sleep "$IDLE"
echo "idle ${IDLE} s: $(echo "$(cpu_seconds "$pid") - $before" | bc) CPU seconds"

count=$(curl -s "$base/p/practice-0001$slots" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["slots"]))')
cat > "$work/spread.lua" <<LUA
counter = 0
request = function()
  counter = counter + 1
  local practice = string.format("practice-%04d", (counter % 10) * math.floor($PRACTICES / 10) + 1)
  return wrk.format("GET", "/p/" .. practice .. "$slots")
end
LUA
echo "== GET /p/{id}/v1/slots over 10 practices, 14-day window ($count slots a response), 2 threads, 32 connections, ${DURATION}s"
load -s "$work/spread.lua" "$base"
echo "after the load: $(memory "$pid")"
