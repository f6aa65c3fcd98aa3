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
  if [ -n "$adapter" ]; then kill -TERM "$adapter" 2>/dev/null || true; wait "$adapter" 2>/dev/null || true; fi
  rm -rf "$folder"
}
trap cleanup EXIT

target/debug/firststep-adapter serve --config crates/conformance/tests/practice.toml \
  --store "$folder/bookings.sqlite3" --listen 127.0.0.1:0 >"$folder/stdout" 2>"$folder/stderr" &
adapter=$!
url=
for _ in $(seq 300); do
  url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$folder/stdout")
  [ -n "$url" ] && break
  kill -0 "$adapter" 2>/dev/null || fail "the adapter exited: $(cat "$folder/stderr")"
  sleep 0.1
done
[ -n "$url" ] || fail "the adapter did not say where it listens within 30 s"

# The practice allows this origin (its [server] allowed_origins).
target/debug/firststep-conformance "$url" --allow-writes --origin https://practice.example.org
