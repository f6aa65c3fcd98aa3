#!/usr/bin/env bash
# Slots read and bookings made per second, by store and number of replicas,
# with the release adapter on 127.0.0.1:
#   1. one adapter on SQLite;
#   2. one adapter on PostgreSQL;
#   3. three adapters (replicas) on one PostgreSQL database.
# For each: GET /v1/slots for a 14-day window (32 connections in all), then
# POST /v1/bookings, each request for a slot of its own (8 connections in
# all, 9 with three replicas), fresh keys. Successful bookings/s is what the
# database holds afterwards divided by the run's length: every one was
# committed (SQLite fsyncs each; PostgreSQL runs with its defaults, fsync and
# synchronous_commit on).
# No load balancer: wrk cannot spread over several hosts, so with three
# replicas one wrk runs against each at the same time (a third of the
# connections each); their requests/s are added, their latencies the
# slowest wrk's. The booking runs take disjoint slots (each wrk thread its
# own slice of the sequence).
# The practice: open every day 09:00-17:00 UTC, 15-minute consultations
# booked at once, ten years ahead (116,800 slots, so the booking runs never
# run out), no per-address limit (all load comes from one address).
# PostgreSQL is a throw-away cluster (Debian's 15) in a temporary folder,
# reached through its Unix socket; as root it runs as the postgres user.
# Bounded: each run lasts DURATION seconds (default 10); about 1 min 30 s in all.
# Run: bench/stores-load.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
DURATION=${DURATION:-10}
PG=/usr/lib/postgresql/15/bin

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else sudo apt-get install -y wrk >/dev/null; fi
fi
cargo build --locked --release -p firststep-adapter 2>&1 | tail -1

work=$(mktemp -d)
chmod 711 "$work"  # the postgres user reaches its folder inside
adapters=()
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_all() {
  for pid in "${adapters[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  adapters=()
}
cleanup() {
  stop_all
  [ -d "$work/pg/data" ] && as_pg "$PG/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir "$work/pg"
[ "$(id -u)" = 0 ] && chown postgres: "$work/pg"
as_pg "$PG/initdb" -D "$work/pg/data" --username=postgres --auth=trust --encoding=UTF8 --locale=C >/dev/null
as_pg "$PG/pg_ctl" -D "$work/pg/data" -l "$work/pg/server.log" -w \
  -o "-k $work/pg -c listen_addresses= -c max_connections=200" start >/dev/null
psql_on() { psql -h "$work/pg" -U postgres -At "$@"; }
socket=$(printf %s "$work/pg" | sed 's#/#%2F#g')

cat > "$work/practice.toml" <<TOML
[practice]
name = "Load Practice"
time_zone = "UTC"
notice = "In a crisis, call your local emergency number."
privacy_url = "https://load.example.org/privacy"

[[services]]
id = "consultation"
title = "Consultation"
duration_minutes = 15
mode = "instant"

[availability]
step_minutes = 15
minimum_notice_minutes = 0
horizon_days = 3650

[availability.weekly]
monday = ["09:00-17:00"]
tuesday = ["09:00-17:00"]
wednesday = ["09:00-17:00"]
thursday = ["09:00-17:00"]
friday = ["09:00-17:00"]
saturday = ["09:00-17:00"]
sunday = ["09:00-17:00"]

[server]
allowed_origins = ["https://load.example.org"]
bookings_per_minute = 100000000
TOML

# Starts one adapter on store $1; its base URL is added to bases.
start_adapter() {
  local out="$work/out-$RANDOM"
  FIRSTSTEP_LOG=warn target/release/firststep-adapter serve --config "$work/practice.toml" \
    --store "$1" --listen 127.0.0.1:0 > "$out" &
  adapters+=($!)
  for _ in $(seq 100); do grep -qs 'listening on' "$out" && break; sleep 0.1; done
  bases+=("$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$out")")
}

from=$(date -u +%Y-%m-%dT%H:%M:%SZ)
to=$(date -u -d '+14 days' +%Y-%m-%dT%H:%M:%SZ)
first_day=$(date -u -d 'tomorrow 00:00' +%s)
slots_path="/v1/slots?service=consultation&from=$from&to=$to"

# Slot k of the sequence: day k/32 from tomorrow, 09:00 + 15 min * (k mod 32).
cat > "$work/book.lua" <<LUA
local first_day = $first_day
local threads = {}
function setup(thread)
  thread:set("offset", OFFSET + #threads)
  table.insert(threads, thread)
end
function init(args)
  counter = 0
  stride = STRIDE
end
request = function()
  local k = offset + counter * stride
  counter = counter + 1
  local t = first_day + math.floor(k / 32) * 86400 + 9 * 3600 + (k % 32) * 900
  local body = '{"service":"consultation","start":"' .. os.date("!%Y-%m-%dT%H:%M:%SZ", t) .. '","client":{"name":"Load Test","email":"load@example.org","phone":null},"client_time_zone":"UTC","note":null,"consent":true,"website":""}'
  return wrk.format("POST", "/v1/bookings", {["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "load-" .. offset .. "-" .. counter}, body)
end
LUA

# Runs wrk against each base URL at once, $1 threads and $2 connections
# each, with the rest of the arguments; prints requests/s added and the
# slowest p50 and p99 among them.
wrk_each() {
  local threads=$1 connections=$2 i=0; shift 2
  local pids=()
  for base in "${bases[@]}"; do
    local script=()
    if [ "$1" = book ]; then
      sed -e "s/OFFSET/$((i * threads))/" -e "s/STRIDE/$((${#bases[@]} * threads))/" \
        "$work/book.lua" > "$work/book-$i.lua"
      script=(-s "$work/book-$i.lua")
      url="$base"
    else
      url="$base$slots_path"
    fi
    wrk -t"$threads" -c"$connections" -d"${DURATION}s" --latency "${script[@]}" "$url" > "$work/wrk-$i" &
    pids+=($!); i=$((i + 1))
  done
  wait "${pids[@]}"
  cat "$work"/wrk-* | awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /[^m]s$/) return v * 1000; return v + 0 }
    /Requests\/sec/ { rps += $2 }
    / 50%/ { if (ms($2) > p50) p50 = ms($2) }
    / 99%/ { if (ms($2) > p99) p99 = ms($2) }
    /Non-2xx/ { bad += $NF }
    END { printf "%.0f requests/s, slowest p50 %.1f ms, p99 %.1f ms, non-2xx %d\n", rps, p50, p99, bad }'
  rm -f "$work"/wrk-*
}

# Runs both loads against ${bases[@]}; $1 counts the bookings stored.
measure() {
  local name=$1 count_bookings=$2 n=${#bases[@]}
  local slots
  slots=$(curl -s "${bases[0]}$slots_path" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["slots"]))')
  echo "== $name: GET /v1/slots, 14-day window ($slots slots a response), 32 connections, ${DURATION}s"
  if [ "$n" = 1 ]; then wrk_each 2 32 slots; else wrk_each 1 $((32 / n)) slots; fi
  echo "== $name: POST /v1/bookings, a slot each, $([ "$n" = 1 ] && echo 8 || echo $((3 * n))) connections, ${DURATION}s"
  if [ "$n" = 1 ]; then wrk_each 2 8 book; else wrk_each 1 3 book; fi
  local booked
  booked=$($count_bookings)
  echo "successful bookings: $booked stored, $(python3 -c "print(round($booked / $DURATION))")/s"
}

sqlite_count() { python3 -c "import sqlite3; print(sqlite3.connect('$work/bookings.sqlite3').execute('select count(*) from bookings').fetchone()[0])"; }
bases=(); start_adapter "$work/bookings.sqlite3"
measure "one adapter, SQLite" sqlite_count
stop_all

psql_on -c "CREATE DATABASE single" postgres >/dev/null
single_count() { psql_on -c "select count(*) from bookings" single; }
bases=(); start_adapter "postgres://postgres@$socket/single"
measure "one adapter, PostgreSQL" single_count
stop_all

psql_on -c "CREATE DATABASE replicas" postgres >/dev/null
replicas_count() { psql_on -c "select count(*) from bookings" replicas; }
bases=()
for _ in 1 2 3; do start_adapter "postgres://postgres@$socket/replicas"; done
measure "three replicas, PostgreSQL (one wrk each, figures added)" replicas_count
stop_all
