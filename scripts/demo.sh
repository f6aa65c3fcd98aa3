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
step "Starting the adapter: open the address below in a browser"
exec target/release/firststep-adapter serve \
  --config "$config" \
  --store target/demo/bookings.sqlite3 \
  --listen "${FIRSTSTEP_LISTEN:-127.0.0.1:8787}"
