#!/usr/bin/env bash
# The conformance kit against the project's own adapter: builds both (debug),
# starts the adapter with the kit's practice (crates/conformance/tests/practice.toml) on a free loopback
# port with a fresh SQLite store, and runs
#   firststep-conformance URL --allow-writes --origin ORIGIN
# Fails when any check fails. Takes a second or two once built.
# --no-build: both binaries are built (scripts/test.sh's native tests leave
# them in target/debug/; a build here would differ in features and rebuild).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh

if [ "${1:-}" != --no-build ]; then
  cargo build --locked -p firststep-adapter -p firststep-conformance
fi

fail() { echo "conformance-check: $*" >&2; exit 1; }

folder=$(mktemp -d)
adapter=
cleanup() {
  stop_adapter
  rm -rf "$folder"
}
trap cleanup EXIT

start_adapter target/debug/firststep-adapter "$folder" \
  --config crates/conformance/tests/practice.toml --store "$folder/bookings.sqlite3" \
  || fail "the adapter did not start"

# The practice allows this origin (its [server] allowed_origins).
target/debug/firststep-conformance "$url" --allow-writes --origin https://practice.example.org
