#!/usr/bin/env bash
# Sets up what is missing, builds the widget, and starts the adapter on the
# embedded default (SQLite) with the example practice, serving a demo practice
# page where a visitor can book. Stop it with Ctrl-C.
#   scripts/demo.sh                               # examples/riverside-counselling.toml
#   scripts/demo.sh examples/harbour-group-practice.toml  # a group practice (clinicians)
set -euo pipefail
given="${1:-}"
if [ -n "$given" ]; then given="$(realpath "$given")"; fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
config="${given:-examples/riverside-counselling.toml}"
scripts/setup.sh
source scripts/env.sh

step "Building the widget (Trunk, release)"
trunk build --release

step "Building the adapter"
cargo build --locked --release -p firststep-adapter

mkdir -p target/demo
if grep -q '^url = "http://127.0.0.1:5232/' "$config"; then
  # The group example keeps a clinician's calendar on CalDAV: a Radicale
  # here, its user and password the example's, stopped with the demo.
  step "Starting Radicale (CalDAV) on 127.0.0.1:5232 for the example's CalDAV calendar"
  export FIRSTSTEP_DEMO_CALDAV_PASSWORD=demo-password
  dav=target/demo/radicale
  mkdir -p "$dav"
  printf 'dana:%s\n' "$FIRSTSTEP_DEMO_CALDAV_PASSWORD" > "$dav/users"
  printf '[server]\nhosts = 127.0.0.1:5232\n[auth]\ntype = htpasswd\nhtpasswd_filename = %s\nhtpasswd_encryption = plain\n[storage]\nfilesystem_folder = %s\n[rights]\ntype = owner_only\n[logging]\nlevel = warning\n' \
    "$PWD/$dav/users" "$PWD/$dav/collections" > "$dav/config"
  .venv/bin/radicale --config "$dav/config" &
  trap 'kill $! 2>/dev/null' EXIT
  .venv/bin/python - <<'PY'
import base64, os, time, urllib.error, urllib.request
url = "http://127.0.0.1:5232/dana/work/"
auth = "Basic " + base64.b64encode(("dana:" + os.environ["FIRSTSTEP_DEMO_CALDAV_PASSWORD"]).encode()).decode()
for _ in range(100):
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="MKCALENDAR", headers={"Authorization": auth}))
        break
    except urllib.error.HTTPError:
        break  # there already, from an earlier demo
    except OSError:
        time.sleep(0.1)
PY
  run=""  # not exec: the trap stops Radicale when the adapter ends
else
  run=exec
fi
step "Starting the adapter: open the address below in a browser"
$run target/release/firststep-adapter serve \
  --config "$config" \
  --store target/demo/bookings.sqlite3 \
  --listen "${FIRSTSTEP_LISTEN:-127.0.0.1:8787}"
