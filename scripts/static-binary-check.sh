#!/usr/bin/env bash
# The static Linux binary an operator copies to a server (docs/deploy.md):
# builds firststep-adapter for x86_64-unknown-linux-musl (its C parts, ring
# and the bundled SQLite, compiled by Debian's musl-gcc, as .cargo/config.toml
# says), checks that it asks for no dynamic loader or shared library, starts
# it with the example practice on a free loopback port and expects 200 from
# /healthz and /v1/practice, and a backup of its live store. Then checks the
# systemd units in deploy/ with systemd-analyze, against the binary just built.
# --no-build: the binary is already built (scripts/test.sh builds it beside the native tests).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh

target=x86_64-unknown-linux-musl
binary="target/$target/release/firststep-adapter"
if [ "${1:-}" != --no-build ]; then
  cargo build --locked --release --target "$target" -p firststep-adapter
fi

fail() { echo "static-binary-check: $*" >&2; exit 1; }

# Static: no PT_INTERP (no dynamic loader) and no DT_NEEDED (no shared library).
program_headers=$(readelf --program-headers --wide "$binary")
grep -q 'LOAD' <<<"$program_headers" || fail "readelf could not read $binary"
if grep -q 'INTERP' <<<"$program_headers"; then fail "$binary asks for a dynamic loader"; fi
if readelf --dynamic "$binary" | grep -q '(NEEDED)'; then fail "$binary needs shared libraries"; fi
echo "$binary: $(file --brief "$binary")"
echo "size: $(stat --format=%s "$binary") bytes"

folder=$(mktemp -d)
adapter=
cleanup() {
  stop_adapter
  rm -rf "$folder"
}
trap cleanup EXIT

start_adapter "$binary" "$folder" --config examples/riverside-counselling.toml \
  --store "$folder/bookings.sqlite3" || fail "the static binary did not start"

for path in /healthz /v1/practice; do
  status=$(curl --silent --output "$folder/body" --write-out '%{http_code}' --max-time 10 "$url$path")
  [ "$status" = 200 ] || fail "GET $path answered $status: $(cat "$folder/body")"
  echo "GET $path: $status"
done
grep -q '"Riverside Counselling"' "$folder/body" || fail "/v1/practice does not name the example practice"

# The daily backup (deploy/firststep-backup.service) runs this binary while it serves.
"$binary" backup --config examples/riverside-counselling.toml --store "$folder/bookings.sqlite3" \
  --to "$folder/backup.sqlite3" || fail "backup of the live store failed"

# The units must load, and point at files that exist, on a systemd system.
if command -v systemd-analyze >/dev/null; then
  root="$folder/root"
  mkdir -p "$root/etc/systemd/system" "$root/usr/local/bin" "$root/bin" "$root/usr/bin" "$root/usr/lib/systemd"
  cp -r /usr/lib/systemd/system "$root/usr/lib/systemd/"
  cp "$binary" "$root/usr/local/bin/firststep-adapter"
  cp /bin/sh "$root/bin/sh"
  cp /usr/bin/find "$root/usr/bin/find"
  cp deploy/*.service deploy/*.timer "$root/etc/systemd/system/"
  units=$(cd deploy && ls *.service *.timer)
  # shellcheck disable=SC2086
  systemd-analyze verify --man=no --root="$root" $units || fail "systemd-analyze verify found problems in deploy/"
  # Exposure 0-10 (shown) against a threshold in tenths: the sandbox must stay tight.
  for unit in deploy/*.service; do
    systemd-analyze security --offline=yes --threshold=20 --root="$root" "$(basename "$unit")" | tail -1 \
      || fail "$unit: exposure above 2.0 (systemd-analyze security)"
  done
else
  echo "systemd-analyze is not installed: the units in deploy/ were not checked"
fi
echo "static-binary-check: ok"
