#!/usr/bin/env bash
# Sets up what is missing, then runs every check and test of First Step:
# format, lints, native tests, the conformance kit against the adapter,
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

step "Native tests"
cargo test --locked --workspace

step "Conformance kit against the adapter (firststep-conformance, SQLite store, writes allowed)"
scripts/conformance-check.sh --no-build   # the native tests built both binaries

step "Browser tests (wasm-bindgen-test in headless Chromium)"
cargo test --locked -p firststep-widget --target wasm32-unknown-unknown

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
