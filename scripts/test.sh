#!/usr/bin/env bash
# Sets up what is missing, then runs every check and test of First Step:
# format, lints, native tests (the API suite on SQLite, and again on
# PostgreSQL), the conformance kit against the adapter,
# browser tests in headless Chromium, the static
# binary, and the end-to-end tests (real Chromium, release-built widget, real
# adapter, behind Caddy too).
# Stops at the first failure with a non-zero exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
source scripts/env.sh

step "Format"
cargo fmt --all -- --check

step "Lints (native and wasm32)"
cargo clippy --locked --workspace --all-targets -- -D warnings
cargo clippy --locked -p firststep-widget --target wasm32-unknown-unknown --all-targets -- -D warnings

step "Native tests (the API suite on the SQLite store)"
cargo test --locked --workspace

step "Conformance kit against the adapter (firststep-conformance, SQLite store, writes allowed)"
scripts/conformance-check.sh --no-build   # the native tests built both binaries

# The API suite again, on PostgreSQL (its test binary starts and removes a
# throw-away cluster itself), in the background while the browser tests run:
# those mostly wait on Chromium, and most API tests wait on sockets. The
# binary is run directly, not through cargo, so the browser tests' cargo
# never waits for its lock. Its log is kept; its exit is checked below.
# Six tests at a time: they mostly wait (20 s of CPU in a 2-minute run on
# two at a time), and six finish in under a minute on this 2-core machine.
step "API suite on the PostgreSQL store (started in the background)"
api_tests=$(cargo test --locked -p firststep-adapter --test api --no-run 2>&1 \
    | sed -n 's/.*Executable tests\/api\/main.rs (\(.*\))$/\1/p')
[[ -n $api_tests ]] || { echo "cargo named no API test binary" >&2; exit 1; }
api_tests=$(realpath "$api_tests")
postgres_log=target/api-on-postgres.log
(cd crates/adapter && FIRSTSTEP_TEST_STORE=postgres exec "$api_tests" --test-threads=6) >"$postgres_log" 2>&1 &
postgres_suite=$!
# Stopped if a step before its result fails (its cluster goes with it).
trap 'kill "$postgres_suite" 2>/dev/null || true' EXIT
echo "running; its log: $postgres_log"

step "Browser tests (wasm-bindgen-test in headless Chromium)"
cargo test --locked -p firststep-widget --target wasm32-unknown-unknown

step "API suite on the PostgreSQL store (its result)"
if ! wait "$postgres_suite"; then
    tail -n 60 "$postgres_log"
    echo "the API suite failed on PostgreSQL; its whole log: $postgres_log" >&2
    exit 1
fi
trap - EXIT
grep '^test result:' "$postgres_log"

step "Release builds (widget by Trunk, adapter by cargo) and the widget's size budget"
trunk build --release
bench/size-budget.sh
cargo build --locked --release -p firststep-adapter
cargo build --locked -p firststep-adapter --example google_standin --example microsoft_standin   # the stand-ins of e2e/calendar-services.test.mjs

step "Static binary (x86_64-unknown-linux-musl: built, checked static, started; systemd units verified)"
# Sequential: on 2 cores a parallel build would only share the same CPUs (and cargo's lock).
scripts/static-binary-check.sh

step "End-to-end tests (playwright-core, Debian Chromium, real adapter)"
node --test e2e/
