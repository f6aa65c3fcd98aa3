# Puts the project's own tools first on PATH: wasm-opt from npm's binaryen,
# Trunk and wasm-bindgen from cargo. Sourced by the other scripts.
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

# Prints a step heading, so a long log shows where it is.
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# Starts `BINARY serve ARGS… --listen 127.0.0.1:0` in the background, its
# output in FOLDER; sets $adapter (its pid) and $url once it says where it
# listens. Returns non-zero, with the reason on stderr, if it exits or takes
# over 30 s. Usage: start_adapter BINARY FOLDER ARGS…; stop_adapter stops it
# (call it from the script's EXIT trap).
start_adapter() {
  local binary=$1 folder=$2
  shift 2
  : >"$folder/stdout"   # there before the first look, whenever the background job opens it
  "$binary" serve "$@" --listen 127.0.0.1:0 >"$folder/stdout" 2>"$folder/stderr" &
  adapter=$!
  url=
  for _ in $(seq 300); do
    url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$folder/stdout")
    [ -n "$url" ] && return 0
    if ! kill -0 "$adapter" 2>/dev/null; then
      echo "the adapter exited: $(cat "$folder/stderr")" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "the adapter did not say where it listens within 30 s" >&2
  return 1
}

# Stops the adapter start_adapter started, if any, and waits for it.
stop_adapter() {
  if [ -n "${adapter:-}" ]; then
    kill -TERM "$adapter" 2>/dev/null || true
    wait "$adapter" 2>/dev/null || true
  fi
}
