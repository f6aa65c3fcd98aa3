#!/usr/bin/env bash
# Installs what this machine lacks to build, run and test First Step, and skips
# what is already there: safe to run any number of times. Everything comes from
# the package registries (crates.io, Debian, npm, PyPI); no tool downloads itself.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh

TRUNK_VERSION=0.21.14
RADICALE_VERSION=3.9.0
AIOSMTPD_VERSION=1.4.6

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# The version of a package as Cargo.lock pins it.
locked_version() {
  awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock
}

step "wasm32 target"
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

step "x86_64-unknown-linux-musl target (the static adapter binary)"
if ! rustup target list --installed | grep -qx x86_64-unknown-linux-musl; then
  rustup target add x86_64-unknown-linux-musl
fi

step "Trunk $TRUNK_VERSION"
if ! trunk --version 2>/dev/null | grep -qF "trunk $TRUNK_VERSION"; then
  # Trunk 0.22 needs a newer rustc than this machine's; a cold build takes ~12 min.
  cargo install --locked trunk --version "$TRUNK_VERSION"
fi

# wasm-bindgen's CLI must match the library in Cargo.lock exactly, or the
# generated JS and the wasm disagree at run time.
wasm_bindgen_version=$(locked_version wasm-bindgen)
trunk_pin=$(sed -n 's/^wasm_bindgen = "\(.*\)"/\1/p' Trunk.toml)
if [ "$wasm_bindgen_version" != "$trunk_pin" ]; then
  echo "Cargo.lock has wasm-bindgen $wasm_bindgen_version but Trunk.toml pins $trunk_pin:" \
       "make [tools] wasm_bindgen in Trunk.toml say $wasm_bindgen_version." >&2
  exit 1
fi
step "wasm-bindgen-cli $wasm_bindgen_version"
if ! wasm-bindgen --version 2>/dev/null | grep -qxF "wasm-bindgen $wasm_bindgen_version"; then
  # Not --locked: its lockfile pins a webpki-roots the registry mirror lacks.
  cargo install wasm-bindgen-cli --version "$wasm_bindgen_version"
fi

step "Debian: Chromium and ChromeDriver (browser tests), zopfli and brotli (compressed copies), musl-tools (static binary), Caddy (TLS proxy in e2e), lynx and tmux (the text-browser booking test), faketime (the journey e2e moves the adapter's clock)"
# Where systemd runs, Debian's caddy package also starts a caddy service on port 80;
# the tests do not use it (they start their own Caddy on a loopback port).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null || ! command -v zopfli >/dev/null \
   || ! command -v brotli >/dev/null \
   || ! command -v musl-gcc >/dev/null || ! command -v caddy >/dev/null \
   || ! command -v lynx >/dev/null || ! command -v tmux >/dev/null \
   || [ ! -e /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 ]; then
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    chromium chromium-driver zopfli brotli musl-tools caddy lynx tmux faketime
fi

step "Debian: PostgreSQL 15 with btree_gist (the PostgreSQL store's tests start a throw-away cluster of their own)"
if ! [ -x /usr/lib/postgresql/15/bin/postgres ] || ! [ -f /usr/share/postgresql/15/extension/btree_gist.control ]; then
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15
fi

step "npm packages (wasm-opt, playwright-core, axe-core)"
# A stamp beside node_modules remembers which package-lock.json it was made from.
if ! cmp -s package-lock.json node_modules/.installed-from-lock 2>/dev/null; then
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.installed-from-lock
fi
wasm-opt --version

step "Radicale $RADICALE_VERSION and aiosmtpd $AIOSMTPD_VERSION (CalDAV and SMTP servers for the tests, in .venv)"
if ! .venv/bin/radicale --version 2>/dev/null | grep -qxF "$RADICALE_VERSION" \
   || ! .venv/bin/pip show aiosmtpd 2>/dev/null | grep -qxF "Version: $AIOSMTPD_VERSION"; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "radicale==$RADICALE_VERSION" "aiosmtpd==$AIOSMTPD_VERSION"
fi

step "Rust crates"
# Trunk runs cargo with --offline, so every crate must be fetched beforehand.
cargo fetch --locked
